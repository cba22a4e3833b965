"""Evaluation of a ``partial`` (sensor-space) model against the truth, with the definitions of the full-state evaluation
(:mod:`chaoscontrol.surrogates.metrics`) and its truth runs (:mod:`chaoscontrol.surrogates.truth_runs`).

Called by :func:`~chaoscontrol.surrogates.evaluate.evaluate_surrogate` for a
``partial`` checkpoint. The truth runs W - 1 intervals first to fill the
model's window with true readings; from then on the model predicts the
readings alone:

- **error growth**: e(t) = rms over the sensors of (y_model - y_true), divided
  by rms(u) on the attractor (as for the state); the valid prediction time is
  the first t with e > 0.5, in Lyapunov times (the full-state VPT and this one
  agree when the sensors sample u fairly, but they are not the same quantity);
- **free runs** of the readings (unforced and randomly forced): blow-up
  fraction and the sensor energy <y^2>/2, model against truth; with
  ``estimate_state``, the mean dissipation of the model's state estimates
  along its free runs against the truth's;
- **state estimate error** (``estimate_state``): rms(u_hat - u) / rms(u) of the
  estimate of u_n from a true window;
- **reward agreement** (``estimate_state``): the correlation of the dissipation
  reward computed from the estimates with the truth's, over the first
  Lyapunov time;
- **shift-equivariance**, parameters and speed as for the full-state models
  (equivariance needs evenly spaced sensors, a multiple of the actuators).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from chaoscontrol.io import atomic_path
from chaoscontrol.solvers.attractor import attractor_rms
from chaoscontrol.surrogates import metrics
from chaoscontrol.surrogates.threads import torch_threads_kept
from chaoscontrol.surrogates.truth_runs import held_random_actions, truth_rollout, truth_vector_env


def _sensor_rollout(
    model, y_window: np.ndarray, actions: np.ndarray, threshold: float, estimates: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Readings (n, H, S) predicted from true windows (n, W, S) under actions (n, W - 1 + H, n_act).

    Rows that exceed ``threshold`` or go non-finite become NaN from then on. With ``estimates``,
    also the state estimates (n, H, N) of the states after each predicted step.
    """
    w = model.config.window
    h = actions.shape[1] - (w - 1)
    n, s = y_window.shape[0], y_window.shape[2]
    preds = np.full((n, h, s), np.nan)
    ests = np.full((n, h, model.config.N), np.nan) if estimates else None
    window = torch.as_tensor(y_window, dtype=torch.float32)
    acts = torch.as_tensor(actions, dtype=torch.float32)
    with torch.no_grad():
        for k in range(h):
            y = model(window, acts[:, k : k + w])
            bad = ~torch.isfinite(y).all(dim=-1) | (y.abs().amax(dim=-1) > threshold)
            y = torch.where(bad[:, None], torch.full_like(y, float("nan")), y)
            preds[:, k] = y.double().numpy()
            window = torch.cat([window[:, 1:], y[:, None]], dim=1)
            if estimates:
                ests[:, k] = model.estimate(window, acts[:, k + 1 : k + w]).double().numpy()
    return preds, ests


def evaluate_partial(model: Any, env_config: dict[str, Any], args: Any, progress: bool = True) -> dict[str, Any]:
    """Evaluate a ``partial`` model (see the module docstring); writes the report into ``args.out`` and returns it.

    :param model: a loaded :class:`~chaoscontrol.surrogates.partial.PartialSurrogate`.
    :param env_config: the env configuration it was trained on.
    :param args: the :class:`~chaoscontrol.surrogates.evaluate.EvaluateArgs` of the run (sizes, seed, output folder).
    :param progress: show a progress bar.
    """
    from tqdm.auto import tqdm

    L, N = env_config["L"], env_config["N"]
    interval = env_config["frame_skip"] * env_config["dt"]
    w = model.config.window
    has_est = model.observer is not None
    sensing = model.sensing.double().numpy()
    with torch_threads_kept():
        rms = attractor_rms(L, N, env_config["dt"])
        venv = truth_vector_env(env_config, args.n_initial)
        venv.reset(seed=args.seed)
    exponent = metrics.lyapunov_exponent(venv.template) or metrics.LYAPUNOV_EXPONENT
    n_act = venv.single_action_space.shape[0]
    threshold = venv.template.blowup_threshold
    rng = np.random.default_rng([args.seed, 5])
    u0 = venv.u
    bar = tqdm(total=4, desc="evaluate (sensor space)", disable=not progress)

    # 1. error growth of the readings, from true windows
    steps = metrics.error_growth_steps(args.horizon_lyapunov, interval, exponent)
    actions = held_random_actions(rng, args.n_initial, w - 1 + steps, n_act, args.hold)
    with torch_threads_kept():
        truth, truth_rewards = truth_rollout(venv, u0, actions)  # (n, W + steps, N)
    y_true = truth @ sensing.T
    pred, est = _sensor_rollout(model, y_true[:, :w], actions, threshold, has_est)
    err = np.sqrt(np.mean((pred - y_true[:, w:]) ** 2, axis=-1)) / rms
    err = np.concatenate([np.zeros((err.shape[0], 1)), np.where(np.isfinite(err), err, np.inf)], axis=1)
    t_lyap = metrics.lyapunov_times(steps, interval, exponent)
    estimate_error, corr = None, None
    if has_est:
        with torch.no_grad():
            est0 = model.estimate(
                torch.as_tensor(y_true[:, :w], dtype=torch.float32), torch.as_tensor(actions[:, : w - 1], dtype=torch.float32)
            ).double().numpy()
        u_n = truth[:, w - 1] - truth[:, w - 1].mean(axis=-1, keepdims=True)
        estimate_error = float(np.median(np.sqrt(np.mean((est0 - u_n) ** 2, axis=-1)) / rms))
        k1 = metrics.one_lyapunov_time_steps(interval, exponent)
        model_rewards = metrics.dissipation_rewards(est[:, :k1], venv.template.forcing_fields(actions[:, w - 1 : w - 1 + k1]), L)
        corr = metrics.finite_correlation(model_rewards, truth_rewards[:, w - 1 : w - 1 + k1])
    bar.update()

    # 2. free runs of the readings
    n_free = min(args.n_free, args.n_initial)
    free_steps = int(round(args.free_time / interval))
    venv_free = truth_vector_env(env_config, n_free)
    free: dict[str, dict[str, Any]] = {}
    for kind in ("unforced", "forced"):
        shape = (n_free, w - 1 + free_steps, n_act)
        acts = np.zeros(shape) if kind == "unforced" else held_random_actions(rng, n_free, shape[1], n_act, args.hold)
        with torch_threads_kept():
            t_states, _ = truth_rollout(venv_free, u0[:n_free], acts)
        t_y = t_states @ sensing.T
        m_y, m_est = _sensor_rollout(model, t_y[:, :w], acts, threshold, has_est)
        blown = ~np.all(np.isfinite(m_y), axis=(1, 2))
        burn = free_steps // 10
        _, d_t, _ = metrics.energy_statistics(t_states[:, w + burn :], L)
        ok = ~blown
        free[kind] = {
            "blowup_fraction": float(blown.mean()),
            "sensor_energy_truth": float(0.5 * np.mean(t_y[:, w + burn :] ** 2)),
            "sensor_energy_model": float(0.5 * np.mean(m_y[ok, burn:] ** 2)) if ok.any() else None,
            "dissipation_truth": float(np.nanmean(d_t)),
            "dissipation_model": float(np.nanmean(metrics.energy_statistics(m_est[ok, burn:], L)[1])) if has_est and ok.any() else None,
        }
    bar.update()

    # 3. equivariance: shift by one actuator spacing = n_sensors / n_act sensors (evenly spaced sensors only)
    s = model.n_sensors
    spacing = np.diff(np.asarray(model.config.sensors + (model.config.sensors[0] + L,)))
    equivariance = None
    if s % n_act == 0 and np.allclose(spacing, L / s) and np.isclose(model.config.sensors[0] % (L / s), 0.0):
        equivariance = metrics.shift_equivariance_error(model, y_true[:, :w], actions[:, :w], s // n_act)
    bar.update()

    # 4. size and speed
    speeds = metrics.speed_figures(model, y_true[:, :w], (w, n_act), venv, truth[:, 0])
    bar.update()
    bar.close()

    report = {
        "model": str(args.model),
        "family": model.config.family,
        "space": "sensors",
        "config": model.config.to_dict(),
        **metrics.prediction_summary(err, t_lyap),
        "blowup_fraction": float(max(free["unforced"]["blowup_fraction"], free["forced"]["blowup_fraction"])),
        "mean_dissipation_model": free["forced"]["dissipation_model"],
        "mean_dissipation_truth": free["forced"]["dissipation_truth"],
        "state_estimate_error": estimate_error,
        "free_runs": free,
        **metrics.report_tail(model, corr, equivariance, speeds, args),
    }
    out = metrics.write_report(args.out, report)
    metrics.error_growth_figure(out / "error_growth.png", t_lyap, err, "rms sensor error / rms(u)")
    _markdown(out / "report.md", report)
    return report


def _markdown(path: Path, r: dict[str, Any]) -> None:
    fr = r["free_runs"]
    text = f"""# Surrogate evaluation: {r['family']} (sensor space)

Checkpoint `{r['model']}`, {r['params']} parameters, window {r['config']['window']}, {len(r['config']['sensors'])} sensors.
Regenerate: `chaoscontrol surrogate evaluate --model {r['model']} --out {path.parent}`.
Errors are those of the sensor readings, in units of rms(u) on the attractor.

| quantity | value |
|---|---|
| valid prediction time of the readings (Lyapunov times), median [q25, q75] | {r['vpt_lyapunov_median']:.2f} [{r['vpt_lyapunov_q25']:.2f}, {r['vpt_lyapunov_q75']:.2f}] |
| one-step error rms(y_model - y_true) / rms(u), median | {r['one_step_error']:.2e} |
| runs that never crossed e = {metrics.VPT_THRESHOLD} (censored) | {r['vpt_censored_fraction']:.0%} |
| free-run blow-up fraction (worst of unforced, forced) | {r['blowup_fraction']:.0%} |
| sensor energy, forced free runs: model / truth | {metrics.format_value(fr['forced']['sensor_energy_model'])} / {metrics.format_value(fr['forced']['sensor_energy_truth'])} |
| sensor energy, unforced free runs: model / truth | {metrics.format_value(fr['unforced']['sensor_energy_model'])} / {metrics.format_value(fr['unforced']['sensor_energy_truth'])} |
| state estimate error rms(u_hat - u) / rms(u), median | {metrics.format_value(r['state_estimate_error'])} |
| mean dissipation of the estimates, forced free runs: model / truth | {metrics.format_value(fr['forced']['dissipation_model'])} / {metrics.format_value(fr['forced']['dissipation_truth'])} |
| reward correlation (estimates, first Lyapunov time) | {metrics.format_value(r['reward_correlation'])} |
| shift-equivariance error | {metrics.format_value(r['shift_equivariance_error'])} |
| transitions/s, batch 1: model / truth | {r['model_transitions_per_s_batch1']:,.0f} / {r['truth_transitions_per_s_batch1']:,.0f} |
| transitions/s, batch 256: model / truth | {r['model_transitions_per_s_batch256']:,.0f} / {r['truth_transitions_per_s_batch256']:,.0f} |

![error growth](error_growth.png)
"""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


__all__ = ["evaluate_partial"]
