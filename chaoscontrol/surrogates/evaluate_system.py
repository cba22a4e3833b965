"""Evaluation of a flat-state surrogate of a system other than KS (CGLE, Lorenz-63, Lorenz-96, ...) against its truth,
with the definitions of the KS evaluation (:mod:`chaoscontrol.surrogates.metrics`) and its truth runs
(:mod:`chaoscontrol.surrogates.truth_runs`).

Called by :func:`~chaoscontrol.surrogates.evaluate.evaluate_surrogate` when the checkpoint's ``env_id`` is not a KS id.
The model steps the field flattened to a vector (CGLE: Re A then Im A):

- **error growth** along forced trajectories (random piecewise-constant actions from states on the attractor):
  e(t) = rms(u_model - u_true) / s, s the rms of the training states (the model's ``u_scale``); the valid prediction
  time is the first t with e > :data:`~chaoscontrol.surrogates.metrics.VPT_THRESHOLD`, in Lyapunov times of the
  system's measured leading exponent (:func:`~chaoscontrol.surrogates.metrics.lyapunov_exponent`: Lorenz-63 0.9064,
  Lorenz-96 1.686, CGLE 0.27 at their defaults), or in time units where none was measured
  (``lyapunov_exponent`` null in the report);
- **free runs** (``free_time``, unforced and randomly forced): the fraction that blow up and the mean of u^2 / 2 over
  the components, model against truth;
- parameters and speed (transitions per second of model and Numba truth, batch 1 and 256).

What only a KS field has (energy budget, spectra, shift equivariance) is not measured here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from chaoscontrol.io import atomic_path
from chaoscontrol.surrogates import metrics
from chaoscontrol.surrogates.threads import torch_threads_kept
from chaoscontrol.surrogates.truth_runs import held_random_actions, truth_rollout, truth_vector_env


def model_rollout(model: Any, u0: np.ndarray, actions: np.ndarray, threshold: float) -> np.ndarray:
    """States (n, S + 1, N) of the model from u0 (n, N); rows that exceed ``threshold`` or go non-finite become NaN
    from then on.

    :param model: a full-state surrogate.
    :param u0: initial states (n, N) (flattened fields).
    :param actions: actions (n, S, n_act).
    :param threshold: the env's blow-up threshold on max|u|.
    """
    states = np.full((u0.shape[0], actions.shape[1] + 1, u0.shape[1]), np.nan)
    states[:, 0] = u0
    u = torch.as_tensor(u0, dtype=torch.float32)
    with torch.no_grad():
        for k in range(actions.shape[1]):
            u = model(u, torch.as_tensor(actions[:, k], dtype=torch.float32))
            bad = ~torch.isfinite(u).all(dim=-1) | (u.abs().amax(dim=-1) > threshold)
            u = torch.where(bad[:, None], torch.full_like(u, float("nan")), u)
            states[:, k + 1] = u.double().numpy()
    return states


def evaluate_system(model: Any, env_config: dict[str, Any], args: Any, progress: bool = True) -> dict[str, Any]:
    """Evaluate a flat-state surrogate of a system other than KS (see the module docstring); writes the report into
    ``args.out`` and returns it.

    :param model: a loaded full-state surrogate (its ``env_id`` the system).
    :param env_config: the env configuration it was trained on.
    :param args: the :class:`~chaoscontrol.surrogates.evaluate.EvaluateArgs` of the run (sizes, seed, output folder).
    :param progress: show a progress bar.
    """
    from tqdm.auto import tqdm

    env_id = model.env_id
    with torch_threads_kept():  # Numba's parallel kernels would change torch's thread count
        venv = truth_vector_env(env_config, args.n_initial, env_id)
        venv.reset(seed=args.seed)
    template = venv.template
    interval = template.dynamics.control_dt
    exponent = metrics.lyapunov_exponent(template)
    unit = 1.0 if exponent is None else exponent  # time units where no exponent was measured
    n_act = venv.single_action_space.shape[0]
    threshold = template.blowup_threshold
    scale = float(model.u_scale)
    rng = np.random.default_rng([args.seed, 5])
    u0 = venv.u
    n = u0.shape[0]
    bar = tqdm(total=3, desc=f"evaluate ({env_id})", disable=not progress)

    # 1. error growth and valid prediction time
    steps = metrics.error_growth_steps(args.horizon_lyapunov, interval, unit)
    actions = held_random_actions(rng, n, steps, n_act, args.hold)
    with torch_threads_kept():
        truth, _ = truth_rollout(venv, u0, actions)
    truth = truth.reshape(n, steps + 1, -1)
    pred = model_rollout(model, truth[:, 0], actions, threshold)
    err = np.sqrt(np.mean((pred - truth) ** 2, axis=-1)) / scale
    err = np.where(np.isfinite(err), err, np.inf)
    t_lyap = metrics.lyapunov_times(steps, interval, unit)
    bar.update()

    # 2. free runs, unforced and randomly forced
    n_free = min(args.n_free, n)
    free_steps = int(round(args.free_time / interval))
    venv_free = truth_vector_env(env_config, n_free, env_id)
    free: dict[str, dict[str, Any]] = {}
    for kind in ("unforced", "forced"):
        acts = (np.zeros((n_free, free_steps, n_act)) if kind == "unforced"
                else held_random_actions(rng, n_free, free_steps, n_act, args.hold))
        with torch_threads_kept():
            t_states, _ = truth_rollout(venv_free, u0[:n_free], acts)
        m_states = model_rollout(model, truth[:n_free, 0], acts, threshold)
        blown = ~np.all(np.isfinite(m_states), axis=(1, 2))
        burn = free_steps // 10
        free[kind] = {
            "blowup_fraction": float(blown.mean()),
            "mean_square_half_truth": float(0.5 * np.mean(t_states[:, burn:] ** 2)),
            "mean_square_half_model": float(0.5 * np.mean(m_states[~blown, burn:] ** 2)) if (~blown).any() else None,
        }
    bar.update()

    # 3. size and speed
    speeds = metrics.speed_figures(model, truth[:, 0], (n_act,), venv, u0)
    bar.update()
    bar.close()

    report = {
        "model": str(args.model),
        "env_id": env_id,
        "family": model.config.family,
        "config": model.config.to_dict(),
        "lyapunov_exponent": exponent,
        "time_unit": "Lyapunov times" if exponent is not None else "time units (no measured Lyapunov exponent)",
        **metrics.prediction_summary(err, t_lyap),
        "blowup_fraction": float(max(free["unforced"]["blowup_fraction"], free["forced"]["blowup_fraction"])),
        "mean_dissipation_model": None,  # a KS quantity: not measured here (the comparison table shows n/a)
        "mean_dissipation_truth": None,
        "free_runs": free,
        **metrics.report_tail(model, None, None, speeds, args),
    }
    out = metrics.write_report(args.out, report)
    metrics.error_growth_figure(out / "error_growth.png", t_lyap, err, "rms error / rms(u) of the training data")
    _markdown(out / "report.md", report)
    return report


def _markdown(path: Path, r: dict[str, Any]) -> None:
    fr = r["free_runs"]
    text = f"""# Surrogate evaluation: {r['family']} on {r['env_id']}

Checkpoint `{r['model']}`, {r['params']} parameters. Regenerate: `chaoscontrol surrogate evaluate --model {r['model']} --out {path.parent}`.
Times in {r['time_unit']} (leading Lyapunov exponent {metrics.format_value(r['lyapunov_exponent'])}); errors in units of
the rms of the training states.

| quantity | value |
|---|---|
| valid prediction time, median [q25, q75] | {r['vpt_lyapunov_median']:.2f} [{r['vpt_lyapunov_q25']:.2f}, {r['vpt_lyapunov_q75']:.2f}] |
| one-step error rms(u_model - u_true) / rms(u), median | {r['one_step_error']:.2e} |
| runs that never crossed e = {metrics.VPT_THRESHOLD} (censored) | {r['vpt_censored_fraction']:.0%} |
| free-run blow-up fraction (worst of unforced, forced) | {r['blowup_fraction']:.0%} |
| mean u^2 / 2, forced free runs: model / truth | {metrics.format_value(fr['forced']['mean_square_half_model'])} / {metrics.format_value(fr['forced']['mean_square_half_truth'])} |
| mean u^2 / 2, unforced free runs: model / truth | {metrics.format_value(fr['unforced']['mean_square_half_model'])} / {metrics.format_value(fr['unforced']['mean_square_half_truth'])} |
| transitions/s, batch 1: model / truth | {r['model_transitions_per_s_batch1']:,.0f} / {r['truth_transitions_per_s_batch1']:,.0f} |
| transitions/s, batch 256: model / truth | {r['model_transitions_per_s_batch256']:,.0f} / {r['truth_transitions_per_s_batch256']:,.0f} |

![error growth](error_growth.png)
"""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


__all__ = ["evaluate_system", "model_rollout"]
