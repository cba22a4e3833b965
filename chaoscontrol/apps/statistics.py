"""The project's RL statistics (one home): IQM and mean with stratified-bootstrap intervals, probability of
improvement, performance profiles and learning-curve bands, through rliable.

Agarwal, Schwarzer, Castro, Courville & Bellemare (2021), "Deep reinforcement learning at the edge of the
statistical precipice", NeurIPS: with few runs, report the **interquartile mean** (IQM: the mean of the middle 50 %
of the run scores, pooled over tasks, trimming 25 % at each end) and the **mean**, each with a 95 % **stratified
bootstrap** confidence interval (runs resampled with replacement within each task, percentile interval); the
**probability of improvement** P(X > Y) = (1/M) sum_m (1/(N K)) sum_{i,j} S(x_{m,i}, y_{m,j}) with S = 1 if
x > y, 1/2 if equal, 0 otherwise (a Mann-Whitney U statistic per task m); and **performance profiles**
F(tau) = fraction of runs whose score exceeds tau (averaged over tasks).

Scores are matrices of shape (runs, tasks) (a 1-D array is one task); a learning curve is (runs, evaluation
points). Every bootstrap takes a seed: the numpy ``RandomState`` it builds from it is owned by the call, so a
result is reproducible and no global RNG is touched.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from chaoscontrol.validation import check_int

#: Bootstrap replications by default (rliable's examples use 2,000 for profiles and 50,000 for aggregates).
DEFAULT_REPS = 2000


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval."""

    value: float
    """The point estimate (on the data as given)."""
    low: float
    """The lower end of the interval."""
    high: float
    """The upper end of the interval."""

    def to_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def _matrix(name: str, scores: np.ndarray | Sequence[float]) -> np.ndarray:
    """Scores as a finite (runs, tasks) float matrix; a 1-D array is one task."""
    x = np.asarray(scores, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty (runs, tasks) matrix or a 1-D array of run scores, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite (a blown-up or missing run has no score: leave it out or give it one)")
    return x


def _check_bootstrap(reps: int, confidence: float) -> None:
    # arch (rliable's bootstrap) warns that a RandomState argument is deprecated; it is still used as given
    warnings.filterwarnings("ignore", message="random_state is deprecated", category=FutureWarning)
    check_int("reps", reps)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def iqm(scores: np.ndarray | Sequence[float]) -> float:
    """The interquartile mean of the run scores (rliable's ``aggregate_iqm``: scipy's 25 %-trimmed mean of the
    pooled scores).

    :param scores: (runs, tasks) or (runs,).
    """
    from rliable import metrics

    return float(metrics.aggregate_iqm(_matrix("scores", scores)))


def aggregate_estimates(scores: Mapping[str, np.ndarray], reps: int = DEFAULT_REPS, seed: int = 0,
                        confidence: float = 0.95) -> dict[str, dict[str, Estimate]]:
    """IQM and mean of each experiment's run scores with stratified-bootstrap percentile intervals.

    :param scores: experiment name -> (runs, tasks) or (runs,) scores.
    :param reps: bootstrap replications.
    :param seed: seed of each experiment's bootstrap (the same for each, so one experiment's interval does not
        depend on the others).
    :param confidence: coverage of the interval.
    :return: name -> {"iqm": Estimate, "mean": Estimate}.
    """
    from rliable import library, metrics

    _check_bootstrap(reps, confidence)
    check_int("seed", seed, minimum=0)
    out = {}
    for name, given in scores.items():
        x = _matrix(f"scores[{name!r}]", given)
        points, cis = library.get_interval_estimates(
            {name: x}, lambda s: np.array([metrics.aggregate_iqm(s), metrics.aggregate_mean(s)]), reps=reps,
            confidence_interval_size=confidence, random_state=np.random.RandomState(seed))
        p, ci = points[name], cis[name]
        out[name] = {k: Estimate(float(p[i]), float(ci[0, i]), float(ci[1, i])) for i, k in enumerate(("iqm", "mean"))}
    return out


def probability_of_improvement(x: np.ndarray, y: np.ndarray, reps: int = DEFAULT_REPS, seed: int = 0,
                               confidence: float = 0.95) -> Estimate:
    """P(X > Y): the probability that a run of X scores higher than a run of Y on a task, averaged over tasks, with
    an independent stratified-bootstrap interval (X and Y resampled separately).

    :param x: (runs, tasks) or (runs,) scores of X.
    :param y: (runs, tasks) or (runs,) scores of Y, the same tasks.
    :param reps: bootstrap replications.
    :param seed: the bootstrap's seed.
    :param confidence: coverage of the interval.
    """
    from rliable import library, metrics

    _check_bootstrap(reps, confidence)
    a, b = _matrix("x", x), _matrix("y", y)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x and y must have the same tasks, got {a.shape[1]} and {b.shape[1]}")
    points, cis = library.get_interval_estimates(
        {"x>y": (a, b)}, lambda s, t: np.array([metrics.probability_of_improvement(s, t)]), reps=reps,
        confidence_interval_size=confidence, random_state=np.random.RandomState(seed))
    return Estimate(float(points["x>y"][0]), float(cis["x>y"][0, 0]), float(cis["x>y"][1, 0]))


def performance_profile(scores: np.ndarray, taus: np.ndarray, reps: int = DEFAULT_REPS, seed: int = 0,
                        confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The run-score distribution F(tau) = fraction of runs with score > tau (averaged over tasks), with
    stratified-bootstrap bands (rliable's ``score_distributions`` through ``get_interval_estimates``, seeded).

    :param scores: (runs, tasks) or (runs,).
    :param taus: thresholds.
    :param reps: bootstrap replications.
    :param seed: the bootstrap's seed.
    :param confidence: coverage of the bands.
    :return: the profile (len(taus),) and its bands (2, len(taus)).
    """
    from rliable import library

    _check_bootstrap(reps, confidence)
    x, t = _matrix("scores", scores), np.asarray(taus, dtype=float)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"taus must be a non-empty 1-D array, got shape {t.shape}")
    points, cis = library.get_interval_estimates(
        {"p": x}, lambda s: library.average_score_distributions(s, t), reps=reps, confidence_interval_size=confidence,
        random_state=np.random.RandomState(seed))
    return np.asarray(points["p"], dtype=float), np.asarray(cis["p"], dtype=float)


def curve_bands(curves: np.ndarray, reps: int = DEFAULT_REPS, seed: int = 0,
                confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The IQM across runs at each evaluation point of a learning curve, with stratified-bootstrap bands (the runs
    resampled at each point).

    :param curves: (runs, points): the runs' scores at common evaluation points.
    :param reps: bootstrap replications.
    :param seed: the bootstrap's seed.
    :param confidence: coverage of the bands.
    :return: the IQM (points,) and its bands (2, points).
    """
    from rliable import library, metrics

    _check_bootstrap(reps, confidence)
    x = _matrix("curves", curves)
    points, cis = library.get_interval_estimates(
        {"c": x}, lambda s: np.array([metrics.aggregate_iqm(s[:, [j]]) for j in range(s.shape[1])]), reps=reps,
        confidence_interval_size=confidence, random_state=np.random.RandomState(seed))
    return np.asarray(points["c"], dtype=float), np.asarray(cis["c"], dtype=float)


__all__ = ["DEFAULT_REPS", "Estimate", "aggregate_estimates", "curve_bands", "iqm", "performance_profile",
           "probability_of_improvement"]
