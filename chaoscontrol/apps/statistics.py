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
points). Every bootstrap takes a seed: the numpy ``Generator`` it builds from it is owned by the call, so a
result is reproducible and no global RNG is touched.
"""

from __future__ import annotations

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
    check_int("reps", reps)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _seeded_interval(scores: np.ndarray, func, reps: int, confidence: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """rliable's stratified bootstrap (runs resampled within each task) of ``func`` on a (runs, tasks) matrix, with
    its point estimate and percentile interval, drawn from a generator made from ``seed``.

    rliable 1.2's ``StratifiedBootstrap.update_indices`` draws from numpy's global RNG (``np.random.choice``) and
    ignores its ``random_state``; the subclass draws from the bootstrap's own generator instead (arch's
    ``generator``, seeded here), so that the interval is reproducible and nothing global is touched.
    """
    from rliable.library import StratifiedBootstrap

    class Seeded(StratifiedBootstrap):
        def update_indices(self):
            indices = self.generator.integers(0, self._num_items, self._args_shape)
            return (indices, *self._strata_indices)

    bootstrap = Seeded(scores, seed=np.random.default_rng(seed))
    return np.asarray(func(scores)), np.asarray(bootstrap.conf_int(func, reps=reps, size=confidence, method="percentile"))


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
    from rliable import metrics

    _check_bootstrap(reps, confidence)
    check_int("seed", seed, minimum=0)
    out = {}
    for name, given in scores.items():
        x = _matrix(f"scores[{name!r}]", given)
        p, ci = _seeded_interval(x, lambda s: np.array([metrics.aggregate_iqm(s), metrics.aggregate_mean(s)]), reps,
                                 confidence, seed)
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
    from rliable import metrics

    _check_bootstrap(reps, confidence)
    a, b = _matrix("x", x), _matrix("y", y)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x and y must have the same tasks, got {a.shape[1]} and {b.shape[1]}")
    from rliable.library import StratifiedIndependentBootstrap

    class Seeded(StratifiedIndependentBootstrap):  # rliable 1.2 draws from the global RNG here too (see _seeded_interval)
        def _get_indices(self, num_runs, array_shape, strata_indices):
            return (self.generator.integers(0, num_runs, array_shape), *strata_indices)

    def func(s: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.array([metrics.probability_of_improvement(s, t)])

    ci = Seeded(a, b, seed=np.random.default_rng(seed)).conf_int(func, reps=reps, size=confidence, method="percentile")
    return Estimate(float(func(a, b)[0]), float(ci[0, 0]), float(ci[1, 0]))


def performance_profile(scores: np.ndarray, taus: np.ndarray, reps: int = DEFAULT_REPS, seed: int = 0,
                        confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The run-score distribution F(tau) = fraction of runs with score > tau (averaged over tasks), with
    stratified-bootstrap bands (rliable's ``score_distributions``, seeded).

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
    points, cis = _seeded_interval(x, lambda s: library.score_distributions(s, t), reps, confidence, seed)
    return points.astype(float), cis.astype(float)


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
    from rliable import metrics

    _check_bootstrap(reps, confidence)
    x = _matrix("curves", curves)
    points, cis = _seeded_interval(x, lambda s: np.array([metrics.aggregate_iqm(s[:, [j]]) for j in range(s.shape[1])]),
                                   reps, confidence, seed)
    return points.astype(float), cis.astype(float)


__all__ = ["DEFAULT_REPS", "Estimate", "aggregate_estimates", "curve_bands", "iqm", "performance_profile",
           "probability_of_improvement"]
