"""What the surrogate evaluations measure, defined once for the full-state and the sensor-space evaluation.

- the **normalised error** e(t) (an rms error divided by rms(u) on the attractor) and its summary,
  the **valid prediction time**: the first t with e > :data:`VPT_THRESHOLD`, in Lyapunov times
  (1 / lambda, lambda the system's measured leading exponent, :func:`lyapunov_exponent`), median and quartiles over
  the runs;
- the **energy statistics** of grid states (energy, dissipation, mean spectrum) and the
  **dissipation rewards** they imply under a forcing;
- the **shift-equivariance error** of a model;
- the **speed** of a model and of the Numba truth (transitions per second);
- the number format and the error-growth figure of the reports.

Used by :mod:`chaoscontrol.surrogates.evaluate` and :mod:`chaoscontrol.surrogates.evaluate_partial`;
the truth runs they compare with are in :mod:`chaoscontrol.surrogates.truth_runs`.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chaoscontrol.io import atomic_path
from chaoscontrol.solvers.ks_dynamics import LYAPUNOV_EXPONENTS as KS_LYAPUNOV_EXPONENTS
from chaoscontrol.surrogates.threads import torch_threads_kept

#: Leading Lyapunov exponent of KS at L = 22 (1 / time units): the default unit of the prediction times.
LYAPUNOV_EXPONENT = KS_LYAPUNOV_EXPONENTS[0][1]
#: Normalised error above which a prediction no longer counts as valid.
VPT_THRESHOLD = 0.5


def lyapunov_exponent(env: Any) -> float | None:
    """The measured leading Lyapunov exponent of an env's system at its configuration, or None where none was measured.

    A system declares its measured exponents where it is defined, as ``LYAPUNOV_EXPONENTS``: (reference parameters,
    exponent) pairs in the module of its dynamics class (KS, Lorenz-63, Lorenz-96) or of its env class (CGLE); the
    first whose parameters all equal the env's ``config_dict()`` values holds.

    :param env: a bare truth env (e.g. a vector env's ``template``).
    """
    config = env.config_dict()
    for owner in (type(env.dynamics), type(env)):
        for reference, value in getattr(sys.modules.get(owner.__module__), "LYAPUNOV_EXPONENTS", ()):
            if all(k in config and np.isclose(config[k], v, rtol=1e-9, atol=0.0) for k, v in reference.items()):
                return float(value)
    return None


def error_growth_steps(horizon_lyapunov: float, interval: float, exponent: float = LYAPUNOV_EXPONENT) -> int:
    """Control intervals of an error-growth run of ``horizon_lyapunov`` Lyapunov times.

    :param horizon_lyapunov: the run's length in Lyapunov times.
    :param interval: the control interval (time units).
    :param exponent: the leading Lyapunov exponent (1 / time units).
    """
    return int(math.ceil(horizon_lyapunov / exponent / interval))


def lyapunov_times(steps: int, interval: float, exponent: float = LYAPUNOV_EXPONENT) -> np.ndarray:
    """The times 0, 1, ..., ``steps`` control intervals in Lyapunov times.

    :param steps: the last interval.
    :param interval: the control interval (time units).
    :param exponent: the leading Lyapunov exponent (1 / time units).
    """
    return np.arange(steps + 1) * interval * exponent


def one_lyapunov_time_steps(interval: float, exponent: float = LYAPUNOV_EXPONENT) -> int:
    """Control intervals in one Lyapunov time (at least 2): the window of the reward agreement.

    :param interval: the control interval (time units).
    :param exponent: the leading Lyapunov exponent (1 / time units).
    """
    return max(2, int(round(1.0 / exponent / interval)))


def prediction_summary(err: np.ndarray, t_lyap: np.ndarray) -> dict[str, float]:
    """Valid prediction time (first t with e > VPT_THRESHOLD; runs that never cross count at the horizon) and one-step error.

    :param err: normalised errors (runs, times), e = 0 at t = 0, inf after a blow-up.
    :param t_lyap: the times in Lyapunov times.
    """
    crossed = err > VPT_THRESHOLD
    vpt = np.where(crossed.any(axis=1), t_lyap[np.argmax(crossed, axis=1)], t_lyap[-1])
    return {
        "vpt_lyapunov_median": float(np.median(vpt)),
        "vpt_lyapunov_q25": float(np.quantile(vpt, 0.25)),
        "vpt_lyapunov_q75": float(np.quantile(vpt, 0.75)),
        "vpt_censored_fraction": float(np.mean(~crossed.any(axis=1))),
        "one_step_error": float(np.median(err[:, 1])),
    }


def energy_statistics(states: np.ndarray, L: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Energy, dissipation and the time-mean energy spectrum |v_m|^2 of grid states.

    :param states: grid values (..., N) on [0, L).
    :param L: domain length.
    :return: energy (...), dissipation (...) and the spectrum (N // 2 + 1,), NaN states left out of its mean.
    """
    n = states.shape[-1]
    v = np.fft.rfft(states, axis=-1) / n
    k = 2.0 * np.pi / L * np.arange(v.shape[-1])
    w = np.full(v.shape[-1], 2.0)
    w[0] = w[-1] = 1.0
    power = np.abs(v) ** 2
    energy = 0.5 * (w * power).sum(axis=-1)
    dissipation = (w * k**4 * power).sum(axis=-1)
    return energy, dissipation, np.nanmean(power.reshape(-1, v.shape[-1]), axis=0)


def dissipation_rewards(states: np.ndarray, forcing: np.ndarray, L: float) -> np.ndarray:
    """The env's dissipation reward -(D + <u f>) of grid states (..., N) under forcing fields of the same shape.

    :param states: grid values (..., N).
    :param forcing: the forcing field of each state's interval (..., N).
    :param L: domain length.
    """
    _, dissipation, _ = energy_statistics(states, L)
    return -(dissipation + np.mean(states * forcing, axis=-1))


def finite_correlation(model: np.ndarray, truth: np.ndarray) -> float | None:
    """Pearson correlation over the entries where ``model`` is finite, or None with fewer than three.

    :param model: the model's values (any shape).
    :param truth: the truth's values, same shape.
    """
    ok = np.isfinite(model)
    return float(np.corrcoef(model[ok], truth[ok])[0, 1]) if ok.sum() > 2 else None


def shift_equivariance_error(model: Any, x: np.ndarray, a: np.ndarray, shift: int) -> float:
    """||T M(x, a) - M(T x, T a)|| / ||M(x, a)||, T the roll of the last axis by ``shift`` (one actuator spacing)
    and of the actions by one actuator.

    :param model: a surrogate, called as ``model(x, a)``.
    :param x: a batch of inputs in the model's layout (states or windows of readings).
    :param a: the batch of actions in the model's layout.
    :param shift: the roll of the last axis of ``x`` equal to one actuator spacing.
    """
    xt = torch.as_tensor(x, dtype=torch.float32)
    at = torch.as_tensor(a, dtype=torch.float32)
    with torch.no_grad():
        lhs = torch.roll(model(xt, at), shift, -1)
        rhs = model(torch.roll(xt, shift, -1), torch.roll(at, 1, -1))
    return float((lhs - rhs).norm() / lhs.norm())


def throughput(fn: Callable[[], Any], batch: int, repeats: int = 5) -> float:
    """Items per second of ``fn``, one call handling ``batch`` items: the best of ``repeats`` timed calls after one untimed.

    :param fn: the call to time.
    :param batch: items per call.
    :param repeats: timed calls.
    """
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return batch / best


def truth_throughput(venv: Any, states: np.ndarray, batch: int) -> float:
    """Transitions per second of the Numba truth (one control interval of ``venv``'s template's dynamics) at ``batch``.

    :param venv: the truth vector env of any system (its template's dynamics are timed).
    :param states: fields (n, *F), repeated or cut to ``batch`` rows.
    :param batch: states per call.
    """
    dynamics = venv.template.dynamics
    shape = tuple(dynamics.field_shape)
    vb = dynamics.states_from_fields(np.resize(states, (batch, *shape)))
    a64, uo = np.zeros((batch, dynamics.n_actions)), np.zeros((batch, *shape))
    do = np.zeros((batch, len(dynamics.diagnostic_names) + 1))
    with torch_threads_kept():
        return throughput(lambda: dynamics.advance(vb.copy(), uo, a64, do), batch)


def speed_figures(model: Any, x: np.ndarray, action_shape: tuple[int, ...], venv: Any, states: np.ndarray) -> dict[str, float]:
    """Transitions per second of the model and of the Numba truth, at batch 1 and 256, measured in the same call.

    :param model: the surrogate (called on float32 tensors under ``torch.no_grad()``).
    :param x: model inputs (rows repeated or cut to the batch).
    :param action_shape: the shape of one action input of the model (zeros are passed).
    :param venv: the truth vector env.
    :param states: fields the truth starts from (n, *F).
    :return: ``model_transitions_per_s_batch{1,256}`` and ``truth_transitions_per_s_batch{1,256}``.
    """
    speeds = {}
    for b in (1, 256):
        xb = torch.as_tensor(np.resize(x, (b, *x.shape[1:])), dtype=torch.float32)
        ab = torch.zeros(b, *action_shape)
        with torch.no_grad():
            speeds[f"model_transitions_per_s_batch{b}"] = throughput(lambda: model(xb, ab), b)
        speeds[f"truth_transitions_per_s_batch{b}"] = truth_throughput(venv, states, b)
    return speeds


def report_tail(model: Any, correlation: float | None, equivariance: float, speeds: dict[str, float], args: Any) -> dict[str, Any]:
    """The keys every evaluation report ends with: reward correlation, shift-equivariance error, parameters, speeds, args.

    :param model: the evaluated surrogate (its ``n_parameters()``).
    :param correlation: :func:`finite_correlation` of model and truth rewards.
    :param equivariance: :func:`shift_equivariance_error`.
    :param speeds: :func:`speed_figures`.
    :param args: the evaluation's argument dataclass.
    """
    from dataclasses import asdict

    return {"reward_correlation": correlation, "shift_equivariance_error": equivariance, "params": model.n_parameters(),
            **speeds, "args": asdict(args)}


def write_report(out: str | Path, report: dict[str, Any]) -> Path:
    """Create the output folder ``out`` and write ``report.json`` atomically; returns the folder."""
    from chaoscontrol.io import write_json_atomic

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "report.json", report)
    return folder


def format_value(x: float | None) -> str:
    """A report number to 4 significant digits; ``n/a`` for None, NaN or inf.

    :param x: the number, or None where it was not measured.
    """
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.4g}"


def error_growth_figure(path: Path, t_lyap: np.ndarray, err: np.ndarray, ylabel: str) -> None:
    """Median and quartiles of the normalised error e(t) against Lyapunov times, with the VPT threshold (PNG).

    :param path: the PNG file (written atomically).
    :param t_lyap: the times in Lyapunov times.
    :param err: normalised errors (runs, times); inf (blow-ups) is left out.
    :param ylabel: the y-axis label.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    finite = np.where(np.isfinite(err), err, np.nan)
    ax.plot(t_lyap, np.nanmedian(finite, axis=0), color="tab:blue", label="median")
    ax.fill_between(t_lyap, np.nanquantile(finite, 0.25, axis=0), np.nanquantile(finite, 0.75, axis=0), alpha=0.3, label="quartiles")
    ax.axhline(VPT_THRESHOLD, color="k", ls="--", lw=0.8)
    ax.set_xlabel("t (Lyapunov times)")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.5)
    ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


__all__ = [
    "LYAPUNOV_EXPONENT",
    "VPT_THRESHOLD",
    "dissipation_rewards",
    "energy_statistics",
    "error_growth_figure",
    "error_growth_steps",
    "finite_correlation",
    "format_value",
    "lyapunov_exponent",
    "lyapunov_times",
    "one_lyapunov_time_steps",
    "prediction_summary",
    "shift_equivariance_error",
    "speed_figures",
    "throughput",
    "truth_throughput",
]
