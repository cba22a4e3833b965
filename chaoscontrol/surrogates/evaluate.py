"""Surrogate-vs-truth evaluation: prediction time, long-run statistics, rewards, symmetry, speed.

``chaoscontrol surrogate evaluate --model M --out DIR`` writes ``DIR/report.json``,
``DIR/report.md`` and PNG figures:

- **Error growth** along held-out forced trajectories (random piecewise-constant
  actuation from states on the attractor, generated afresh from ``seed``):
  e(t) = rms(u_model - u_true) / rms_attractor(u); the valid prediction time is
  the first t with e > 0.5, in Lyapunov times (lambda = 0.048 at L = 22, 0.088 at L = 66, 0.091 at L = 100:
  :func:`~chaoscontrol.surrogates.metrics.lyapunov_exponent`; L = 22's where none was measured),
  median and quartiles over the initial conditions (runs that never cross
  count at the horizon: the quartiles are then lower bounds).
- **Free runs** (``free_time`` time units, unforced and randomly forced, from the
  same initial states): fraction that blow up, mean energy and dissipation,
  energy spectrum and PDFs of u and u_x, model against truth.
- **Reward agreement**: the correlation of per-step dissipation rewards of model
  and truth under the same action sequences, over the first Lyapunov time of
  the error-growth runs.
- **Shift-equivariance error**: ||T(M(u, a)) - M(T u, T a)|| / ||M(u, a)|| for the
  shift T by one actuator spacing, averaged over attractor states.
- **Size and speed**: parameters; transitions per second at batch 1 and 256 for
  the model (torch, CPU) and for the Numba truth, measured in the same run.

The quantities are defined in :mod:`chaoscontrol.surrogates.metrics`, the truth runs in
:mod:`chaoscontrol.surrogates.truth_runs`; a ``partial`` checkpoint is handed to
:func:`chaoscontrol.surrogates.evaluate_partial.evaluate_partial` (sensor space), a checkpoint of another system
than KS (its ``env_id``, e.g. ``Lorenz63-Control-v0``) to :func:`chaoscontrol.surrogates.evaluate_system.evaluate_system`
(valid prediction time in that system's Lyapunov times, free-run blow-ups, speed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chaoscontrol.io import atomic_path, write_json_atomic
from chaoscontrol.solvers.attractor import attractor_rms
from chaoscontrol.surrogates import metrics
from chaoscontrol.surrogates.evaluate_partial import evaluate_partial
from chaoscontrol.surrogates.evaluate_system import evaluate_system, model_rollout
from chaoscontrol.surrogates.threads import torch_threads_kept
from chaoscontrol.surrogates.truth_runs import held_random_actions, is_ks, truth_env, truth_rollout, truth_vector_env
from chaoscontrol.validation import check_int, check_positive


@dataclass(frozen=True)
class EvaluateArgs:
    """Arguments of ``chaoscontrol surrogate evaluate``."""

    model: str = "runs/surrogate/model.pt"
    """Surrogate checkpoint."""
    out: str = "runs/surrogate/eval"
    """Output folder."""
    n_initial: int = 100
    """Initial conditions for the error growth (and free runs)."""
    horizon_lyapunov: float = 8.0
    """Length of the error-growth runs in Lyapunov times."""
    free_time: float = 1000.0
    """Length of the free runs (time units)."""
    n_free: int = 100
    """Free runs per forcing (unforced and randomly forced)."""
    hold: int = 4
    """Env steps each random action is held."""
    seed: int = 0
    """Seed of initial states and actions."""

    def __post_init__(self) -> None:
        for name in ("n_initial", "n_free", "hold"):
            check_int(name, getattr(self, name))
        for name in ("horizon_lyapunov", "free_time"):
            check_positive(name, getattr(self, name))
        if not Path(self.model).is_file():
            raise ValueError(f"surrogate checkpoint {self.model!r} does not exist")


def evaluate_surrogate(args: EvaluateArgs, progress: bool = True) -> dict[str, Any]:
    """Run the evaluation of ``args``; writes the report and returns the JSON dict."""
    from tqdm.auto import tqdm

    from chaoscontrol.surrogates.train import load_surrogate

    model, env_config = load_surrogate(args.model)
    if not is_ks(truth_env(model.env_id, env_config)):  # another system: its flat state, its Lyapunov time
        return evaluate_system(model, env_config, args, progress=progress)
    if model.config.family == "partial":  # a sensor-space model, evaluated in sensor space
        return evaluate_partial(model, env_config, args, progress=progress)
    L, N = env_config["L"], env_config["N"]
    interval = env_config["frame_skip"] * env_config["dt"]
    with torch_threads_kept():  # Numba's parallel kernels would change torch's thread count
        rms = attractor_rms(L, N, env_config["dt"])
        venv = truth_vector_env(env_config, args.n_initial, model.env_id)
    exponent = metrics.lyapunov_exponent(venv.template) or metrics.LYAPUNOV_EXPONENT
    n_act = venv.single_action_space.shape[0]
    threshold = venv.template.blowup_threshold
    rng = np.random.default_rng([args.seed, 5])
    with torch_threads_kept():
        venv.reset(seed=args.seed)
    u0 = venv.u
    bar = tqdm(total=4, desc="evaluate", disable=not progress)

    # 1. error growth and valid prediction time
    steps = metrics.error_growth_steps(args.horizon_lyapunov, interval, exponent)
    actions = held_random_actions(rng, args.n_initial, steps, n_act, args.hold)
    with torch_threads_kept():
        truth, truth_rewards = truth_rollout(venv, u0, actions)
    pred = model_rollout(model, u0, actions, threshold)
    err = np.sqrt(np.mean((pred - truth) ** 2, axis=-1)) / rms
    err = np.where(np.isfinite(err), err, np.inf)
    t_lyap = metrics.lyapunov_times(steps, interval, exponent)
    bar.update()

    # 2. reward agreement over the first Lyapunov time
    k1 = metrics.one_lyapunov_time_steps(interval, exponent)
    model_rewards = metrics.dissipation_rewards(pred[:, 1 : k1 + 1], venv.template.forcing_fields(actions[:, :k1]), L)
    corr = metrics.finite_correlation(model_rewards, truth_rewards[:, :k1])
    corr = float("nan") if corr is None else corr
    bar.update()

    # 3. free runs, unforced and randomly forced
    n_free = min(args.n_free, args.n_initial)
    free_steps = int(round(args.free_time / interval))
    free: dict[str, dict[str, Any]] = {}
    venv_free = truth_vector_env(env_config, n_free, model.env_id)
    for kind in ("unforced", "forced"):
        if kind == "unforced":
            acts = np.zeros((n_free, free_steps, n_act))
        else:
            acts = held_random_actions(rng, n_free, free_steps, n_act, args.hold)
        with torch_threads_kept():
            t_states, _ = truth_rollout(venv_free, u0[:n_free], acts)
        m_states = model_rollout(model, u0[:n_free], acts, threshold)
        blown = ~np.all(np.isfinite(m_states), axis=(1, 2))
        burn = free_steps // 10
        e_t, d_t, spec_t = metrics.energy_statistics(t_states[:, burn:], L)
        e_m, d_m, spec_m = metrics.energy_statistics(m_states[:, burn:], L)
        ux = lambda s: np.fft.irfft(1j * 2 * np.pi / L * np.arange(N // 2 + 1) * np.fft.rfft(s, axis=-1), N, axis=-1)  # noqa: E731
        free[kind] = {
            "blowup_fraction": float(blown.mean()),
            "energy_truth": float(np.nanmean(e_t)), "energy_model": float(np.nanmean(e_m)) if (~blown).any() else None,
            "dissipation_truth": float(np.nanmean(d_t)), "dissipation_model": float(np.nanmean(d_m)) if (~blown).any() else None,
            "_spectra": (spec_t, spec_m), "_u": (t_states[:, burn:].ravel(), m_states[:, burn:].ravel()),
            "_ux": (ux(t_states[:, burn:]).ravel(), ux(np.nan_to_num(m_states[:, burn:])).ravel()),
        }
    bar.update()

    # 4. equivariance, size, speed
    equivariance = metrics.shift_equivariance_error(model, truth[:, 0], actions[:, 0], N // n_act)
    speeds = metrics.speed_figures(model, truth[:, 0], (n_act,), venv, truth[:, 0])
    bar.update()
    bar.close()

    forced = free["forced"]
    report = {
        "model": str(args.model),
        "env_id": model.env_id,
        "family": model.config.family,
        "config": model.config.to_dict(),
        "lyapunov_exponent": exponent,
        **metrics.prediction_summary(err, t_lyap),
        "blowup_fraction": float(max(free["unforced"]["blowup_fraction"], forced["blowup_fraction"])),
        "mean_dissipation_model": forced["dissipation_model"],
        "mean_dissipation_truth": forced["dissipation_truth"],
        "free_runs": {k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in free.items()},
        **metrics.report_tail(model, corr, equivariance, speeds, args),
    }
    out = metrics.write_report(args.out, report)
    _figures(out, t_lyap, err, free)
    _markdown(out / "report.md", report)
    return report


def _figures(out: Path, t_lyap: np.ndarray, err: np.ndarray, free: dict[str, Any]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    metrics.error_growth_figure(out / "error_growth.png", t_lyap, err, "rms error / rms(u)")
    fig = Figure(figsize=(12, 3.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    for col, kind in enumerate(("unforced", "forced")):
        spec_t, spec_m = free[kind]["_spectra"]
        ax = fig.add_subplot(1, 3, col + 1)
        ax.semilogy(spec_t, label="truth")
        ax.semilogy(spec_m, label="model")
        ax.set_xlabel("wavenumber index")
        ax.set_title(f"energy spectrum ({kind})")
        ax.legend()
    ax = fig.add_subplot(1, 3, 3)
    ut, um = free["forced"]["_u"]
    bins = np.linspace(-4, 4, 81)
    ax.hist(ut, bins, density=True, histtype="step", label="u truth")
    ax.hist(um[np.isfinite(um)], bins, density=True, histtype="step", label="u model")
    uxt, uxm = free["forced"]["_ux"]
    ax.hist(uxt, bins, density=True, histtype="step", label="u_x truth")
    ax.hist(uxm, bins, density=True, histtype="step", label="u_x model")
    ax.set_title("PDFs (forced free runs)")
    ax.legend(fontsize=7)
    with atomic_path(out / "statistics.png") as tmp:
        fig.savefig(tmp, format="png")


def _markdown(path: Path, r: dict[str, Any]) -> None:
    fr = r["free_runs"]
    text = f"""# Surrogate evaluation: {r['family']}

Checkpoint `{r['model']}`, {r['params']} parameters. Regenerate: `chaoscontrol surrogate evaluate --model {r['model']} --out {path.parent}`.

| quantity | value |
|---|---|
| valid prediction time (Lyapunov times), median [q25, q75] | {r['vpt_lyapunov_median']:.2f} [{r['vpt_lyapunov_q25']:.2f}, {r['vpt_lyapunov_q75']:.2f}] |
| one-step error rms(u_model - u_true) / rms(u), median | {r['one_step_error']:.2e} |
| runs that never crossed e = {metrics.VPT_THRESHOLD} (censored) | {r['vpt_censored_fraction']:.0%} |
| free-run blow-up fraction (worst of unforced, forced) | {r['blowup_fraction']:.0%} |
| mean dissipation, forced free runs: model / truth | {metrics.format_value(fr['forced']['dissipation_model'])} / {metrics.format_value(fr['forced']['dissipation_truth'])} |
| mean dissipation, unforced free runs: model / truth | {metrics.format_value(fr['unforced']['dissipation_model'])} / {metrics.format_value(fr['unforced']['dissipation_truth'])} |
| reward correlation (first Lyapunov time) | {metrics.format_value(r['reward_correlation'])} |
| shift-equivariance error | {r['shift_equivariance_error']:.2e} |
| transitions/s, batch 1: model / truth | {r['model_transitions_per_s_batch1']:,.0f} / {r['truth_transitions_per_s_batch1']:,.0f} |
| transitions/s, batch 256: model / truth | {r['model_transitions_per_s_batch256']:,.0f} / {r['truth_transitions_per_s_batch256']:,.0f} |

![error growth](error_growth.png)

![statistics](statistics.png)
"""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def compare_surrogates(models: list[str], out: str, progress: bool = True, **kwargs: Any) -> list[dict[str, Any]]:
    """Evaluate several checkpoints (each into ``out/<i>-<family>/``) and write ``out/compare.md`` and ``compare.png``.

    :param models: checkpoint paths.
    :param out: output folder.
    :param kwargs: the other :class:`EvaluateArgs` fields (same for every model).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not models:
        raise ValueError("models must name at least one checkpoint")
    args = [EvaluateArgs(model=m, out=str(Path(out) / f"{i}"), **kwargs) for i, m in enumerate(models)]  # all checked first
    reports = [evaluate_surrogate(a, progress=progress) for a in args]
    rows = [
        f"| {i} | {r['family']} | `{r['model']}` | {r['params']} | {r['one_step_error']:.1e} | {r['vpt_lyapunov_median']:.2f} "
        f"[{r['vpt_lyapunov_q25']:.2f}, {r['vpt_lyapunov_q75']:.2f}] | {r['blowup_fraction']:.0%} | "
        f"{metrics.format_value(r['mean_dissipation_model'])} / {metrics.format_value(r['mean_dissipation_truth'])} | {metrics.format_value(r['reward_correlation'])} | "
        f"{metrics.format_value(r['shift_equivariance_error'])} | {r['model_transitions_per_s_batch256']:,.0f} |"
        for i, r in enumerate(reports)
    ]
    text = (
        "# Surrogate comparison\n\n"
        f"Regenerate: `chaoscontrol surrogate compare {' '.join(models)} --out {out}`.\n\n"
        "| # | family | checkpoint | params | one-step error | VPT median [q25, q75] (Lyapunov times) | blow-ups | D model / truth (forced) "
        "| reward corr. | shift-equiv. error | transitions/s (batch 256) |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n![comparison](compare.png)\n"
    )
    Path(out).mkdir(parents=True, exist_ok=True)
    with atomic_path(Path(out) / "compare.md") as tmp:
        tmp.write_text(text)
    fig = Figure(figsize=(8, 3.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 2, 1)
    med = np.array([r["vpt_lyapunov_median"] for r in reports])
    lo = med - np.array([r["vpt_lyapunov_q25"] for r in reports])
    hi = np.array([r["vpt_lyapunov_q75"] for r in reports]) - med
    labels = [f"{i}:{r['family']}" for i, r in enumerate(reports)]
    ax.bar(labels, med, yerr=[lo, hi], capsize=4)
    ax.set_ylabel("valid prediction time (Lyapunov times)")
    ax = fig.add_subplot(1, 2, 2)
    ratio = [
        (r["mean_dissipation_model"] / r["mean_dissipation_truth"]) if r["mean_dissipation_model"] is not None else np.nan
        for r in reports
    ]
    ax.bar(labels, ratio)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_ylabel("free-run dissipation, model / truth")
    with atomic_path(Path(out) / "compare.png") as tmp:
        fig.savefig(tmp, format="png")
    write_json_atomic(Path(out) / "compare.json", [{k: v for k, v in r.items() if k != "args"} for r in reports])
    return reports


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(evaluate_surrogate(EvaluateArgs()), indent=2))
