"""Surrogate-vs-truth evaluation: prediction time, long-run statistics, rewards, symmetry, speed.

``chaoscontrol surrogate evaluate --model M --out DIR`` writes ``DIR/report.json``,
``DIR/report.md`` and PNG figures:

- **Error growth** along held-out forced trajectories (random piecewise-constant
  actuation from states on the attractor, generated afresh from ``seed``):
  e(t) = rms(u_model - u_true) / rms_attractor(u); the valid prediction time is
  the first t with e > 0.5, in Lyapunov times (lambda = 0.048 at L = 22),
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
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chaoscontrol.io import atomic_path, write_json_atomic
from chaoscontrol.surrogates.threads import torch_threads_kept
from chaoscontrol.validation import check_int, check_positive

LYAPUNOV_EXPONENT = 0.048
VPT_THRESHOLD = 0.5


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


def _truth_env(env_config: dict[str, Any], n: int):
    from chaoscontrol.envs.ks_vector import KSControlVectorEnv

    keys = ("L", "N", "dt", "frame_skip", "actuators", "actuator_width", "max_forcing")
    return KSControlVectorEnv(num_envs=n, max_episode_steps=None, autoreset_mode="Disabled", **{k: env_config[k] for k in keys})


def _random_actions(rng: np.random.Generator, n: int, steps: int, n_act: int, hold: int) -> np.ndarray:
    held = rng.uniform(-1.0, 1.0, (n, -(-steps // hold), n_act))
    return np.repeat(held, hold, axis=1)[:, :steps]


def _truth_rollout(venv, u0: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """States (n, S + 1, N) and dissipation rewards (n, S) of the truth from u0 under actions."""
    venv.reset(options={"u0": u0})
    states = [venv.u]
    rewards = []
    for k in range(actions.shape[1]):
        _, r, _, _, _ = venv.step(actions[:, k])
        states.append(venv.u)
        rewards.append(r)
    return np.stack(states, axis=1), np.stack(rewards, axis=1)


def _model_rollout(model, u0: np.ndarray, actions: np.ndarray, threshold: float) -> np.ndarray:
    """States (n, S + 1, N) of the model; rows that exceed ``threshold`` or go non-finite become NaN from then on."""
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


def _budget(states: np.ndarray, L: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Energy, dissipation and the time-mean energy spectrum |v_m|^2 of states (..., N)."""
    n = states.shape[-1]
    v = np.fft.rfft(states, axis=-1) / n
    k = 2.0 * np.pi / L * np.arange(v.shape[-1])
    w = np.full(v.shape[-1], 2.0)
    w[0] = w[-1] = 1.0
    power = np.abs(v) ** 2
    energy = 0.5 * (w * power).sum(axis=-1)
    dissipation = (w * k**4 * power).sum(axis=-1)
    return energy, dissipation, np.nanmean(power.reshape(-1, v.shape[-1]), axis=0)


def _throughput(fn, batch: int, repeats: int = 5) -> float:
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return batch / best


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


def shift_equivariance_error(model, x: np.ndarray, a: np.ndarray, shift: int) -> float:
    """||T M(x, a) - M(T x, T a)|| / ||M(x, a)||, T the roll of the last axis by ``shift`` (one actuator spacing)
    and of the actions by one actuator; x and a are batches in the model's input layout."""
    xt = torch.as_tensor(x, dtype=torch.float32)
    at = torch.as_tensor(a, dtype=torch.float32)
    with torch.no_grad():
        lhs = torch.roll(model(xt, at), shift, -1)
        rhs = model(torch.roll(xt, shift, -1), torch.roll(at, 1, -1))
    return float((lhs - rhs).norm() / lhs.norm())


def speed_figures(model, x: np.ndarray, action_shape: tuple[int, ...], venv, states: np.ndarray) -> dict[str, float]:
    """Transitions per second of the model (inputs: rows of ``x``, zero actions of ``action_shape``) and of the
    Numba truth (from ``states``), at batch 1 and 256, measured in the same call."""
    speeds = {}
    for b in (1, 256):
        xb = torch.as_tensor(np.resize(x, (b, *x.shape[1:])), dtype=torch.float32)
        ab = torch.zeros(b, *action_shape)
        with torch.no_grad():
            speeds[f"model_transitions_per_s_batch{b}"] = _throughput(lambda: model(xb, ab), b)
        speeds[f"truth_transitions_per_s_batch{b}"] = truth_throughput(venv, states, b)
    return speeds


def truth_throughput(venv, states: np.ndarray, batch: int) -> float:
    """Transitions per second of the Numba truth (one control interval of ``venv``'s template) at ``batch``."""
    from chaoscontrol.solvers.control import ks_control_interval_batch

    n = states.shape[-1]
    vb = np.fft.rfft(np.resize(states, (batch, n)), axis=-1)
    t = venv.template
    a64, uo, do = np.zeros((batch, t.action_space.shape[0])), np.zeros((batch, n)), np.zeros((batch, 5))
    with torch_threads_kept():
        return _throughput(
            lambda: ks_control_interval_batch(vb.copy(), a64, t._forcing_basis, t.max_forcing, t._coeffs, t.frame_skip, t._k, uo, do), batch
        )


def evaluate_surrogate(args: EvaluateArgs, progress: bool = True) -> dict[str, Any]:
    """Run the evaluation of ``args``; writes the report and returns the JSON dict."""
    from tqdm.auto import tqdm

    from chaoscontrol.envs.perturbations import attractor_rms
    from chaoscontrol.surrogates.train import load_surrogate

    model, env_config = load_surrogate(args.model)
    if model.config.family == "partial":  # a sensor-space model, evaluated in sensor space
        from chaoscontrol.surrogates.evaluate_partial import evaluate_partial

        return evaluate_partial(model, env_config, args, progress=progress)
    L, N = env_config["L"], env_config["N"]
    interval = env_config["frame_skip"] * env_config["dt"]
    with torch_threads_kept():  # Numba's parallel kernels would change torch's thread count
        rms = attractor_rms(L, N, env_config["dt"])
        venv = _truth_env(env_config, args.n_initial)
    n_act = venv.single_action_space.shape[0]
    threshold = venv.template.blowup_threshold
    rng = np.random.default_rng([args.seed, 5])
    with torch_threads_kept():
        venv.reset(seed=args.seed)
    u0 = venv.u
    bar = tqdm(total=4, desc="evaluate", disable=not progress)

    # 1. error growth and valid prediction time
    steps = int(math.ceil(args.horizon_lyapunov / LYAPUNOV_EXPONENT / interval))
    actions = _random_actions(rng, args.n_initial, steps, n_act, args.hold)
    with torch_threads_kept():
        truth, truth_rewards = _truth_rollout(venv, u0, actions)
    pred = _model_rollout(model, u0, actions, threshold)
    err = np.sqrt(np.mean((pred - truth) ** 2, axis=-1)) / rms
    err = np.where(np.isfinite(err), err, np.inf)
    t_lyap = np.arange(steps + 1) * interval * LYAPUNOV_EXPONENT
    bar.update()

    # 2. reward agreement over the first Lyapunov time
    k1 = max(2, int(round(1.0 / LYAPUNOV_EXPONENT / interval)))
    f = venv.template.forcing_fields(actions[:, :k1])
    e_m, d_m, _ = _budget(pred[:, 1 : k1 + 1], L)
    model_rewards = -(d_m + np.mean(pred[:, 1 : k1 + 1] * f, axis=-1))
    ok = np.isfinite(model_rewards)
    corr = float(np.corrcoef(model_rewards[ok], truth_rewards[:, :k1][ok])[0, 1]) if ok.sum() > 2 else float("nan")
    bar.update()

    # 3. free runs, unforced and randomly forced
    n_free = min(args.n_free, args.n_initial)
    free_steps = int(round(args.free_time / interval))
    free: dict[str, dict[str, Any]] = {}
    venv_free = _truth_env(env_config, n_free)
    for kind in ("unforced", "forced"):
        acts = np.zeros((n_free, free_steps, n_act)) if kind == "unforced" else _random_actions(rng, n_free, free_steps, n_act, args.hold)
        with torch_threads_kept():
            t_states, _ = _truth_rollout(venv_free, u0[:n_free], acts)
        m_states = _model_rollout(model, u0[:n_free], acts, threshold)
        blown = ~np.all(np.isfinite(m_states), axis=(1, 2))
        burn = free_steps // 10
        e_t, d_t, spec_t = _budget(t_states[:, burn:], L)
        e_m, d_m, spec_m = _budget(m_states[:, burn:], L)
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
    equivariance = shift_equivariance_error(model, truth[:, 0], actions[:, 0], N // n_act)
    speeds = speed_figures(model, truth[:, 0], (n_act,), venv, truth[:, 0])
    bar.update()
    bar.close()

    forced = free["forced"]
    report = {
        "model": str(args.model),
        "family": model.config.family,
        "config": model.config.to_dict(),
        **prediction_summary(err, t_lyap),
        "blowup_fraction": float(max(free["unforced"]["blowup_fraction"], forced["blowup_fraction"])),
        "mean_dissipation_model": forced["dissipation_model"],
        "mean_dissipation_truth": forced["dissipation_truth"],
        "free_runs": {k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in free.items()},
        "reward_correlation": corr,
        "shift_equivariance_error": equivariance,
        "params": model.n_parameters(),
        **speeds,
        "args": asdict(args),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "report.json", report)
    _figures(out, t_lyap, err, free)
    _markdown(out / "report.md", report)
    return report


def error_growth_figure(path: Path, t_lyap: np.ndarray, err: np.ndarray, ylabel: str) -> None:
    """Median and quartiles of the normalised error e(t) (runs, times) against Lyapunov times, with the VPT threshold."""
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


def _figures(out: Path, t_lyap: np.ndarray, err: np.ndarray, free: dict[str, Any]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    error_growth_figure(out / "error_growth.png", t_lyap, err, "rms error / rms(u)")
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
| runs that never crossed e = {VPT_THRESHOLD} (censored) | {r['vpt_censored_fraction']:.0%} |
| free-run blow-up fraction (worst of unforced, forced) | {r['blowup_fraction']:.0%} |
| mean dissipation, forced free runs: model / truth | {_f(fr['forced']['dissipation_model'])} / {_f(fr['forced']['dissipation_truth'])} |
| mean dissipation, unforced free runs: model / truth | {_f(fr['unforced']['dissipation_model'])} / {_f(fr['unforced']['dissipation_truth'])} |
| reward correlation (first Lyapunov time) | {_f(r['reward_correlation'])} |
| shift-equivariance error | {r['shift_equivariance_error']:.2e} |
| transitions/s, batch 1: model / truth | {r['model_transitions_per_s_batch1']:,.0f} / {r['truth_transitions_per_s_batch1']:,.0f} |
| transitions/s, batch 256: model / truth | {r['model_transitions_per_s_batch256']:,.0f} / {r['truth_transitions_per_s_batch256']:,.0f} |

![error growth](error_growth.png)

![statistics](statistics.png)
"""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _f(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.4g}"


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
        f"{_f(r['mean_dissipation_model'])} / {_f(r['mean_dissipation_truth'])} | {_f(r['reward_correlation'])} | "
        f"{_f(r['shift_equivariance_error'])} | {r['model_transitions_per_s_batch256']:,.0f} |"
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
