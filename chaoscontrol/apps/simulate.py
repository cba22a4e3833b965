"""Simulate a registered system with and without actuation: a state plot and statistics of its diagnostics.

The main job of ``make demo`` (``chaoscontrol simulate``): one initial state on the
attractor, evolved once per actuation mode (``zero``: unforced; ``random``: the
actuators driven by i.i.d. uniform actions held for ``hold`` env steps), through
the environment ``env_id`` itself (``KS-Control-v0`` by default, any registered id
by ``--env``), so the numbers are exactly what an agent would see.

The plot (``space_time.png``) follows the shape of the system's field
(``env.dynamics.field_shape``): KS, a space-time diagram of u with its energy budget
(as it always was); another real 1-D field of more than 3 values (Lorenz-96), a
space-time diagram over its index; a complex field stored as (Re, Im) rows, shape
(2, N) (CGLE), a space-time diagram of |A|; a state of at most 3 components
(Lorenz-63), the time series of each component; any other shape (a 2-D field), the
rms of the field over time. Under each, the diagnostics and the actions.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from chaoscontrol.envs.registration import check_env_id, make_vector_env
from chaoscontrol.envs.rollout import rollout
from chaoscontrol.io import atomic_path, git_hash, write_json_atomic
from chaoscontrol.solvers.ks_dynamics import KSDynamics

Actuation = Literal["zero", "random"]
ACTUATIONS: tuple[str, ...] = get_args(Actuation)


@dataclass(frozen=True)
class SimulateArgs:
    """Arguments of ``chaoscontrol simulate``."""

    out: str = "runs/simulate"
    """Output folder (created); receives ``space_time.png`` and ``summary.json``."""
    env_id: str = "KS-Control-v0"
    """The registered system (any id of chaoscontrol.envs.registration.ENV_SPECS)."""
    t_end: float = 200.0
    """Simulated time after burn-in, in time units (a Lyapunov time is ~21 at L = 22)."""
    actuation: tuple[Actuation, ...] = ACTUATIONS
    """Actuation modes to run from the same initial state: ``zero`` and/or ``random``."""
    hold: int = 4
    """Env steps each random action is held for."""
    seed: int = 0
    """Seed of the initial state and of the random actions."""
    L: float | None = None
    """Domain length (KS, CGLE; None: the env's default, 22 for KS-Control-v0)."""
    N: int | None = None
    """Grid points (KS, CGLE; None: the env's default, 64 for KS-Control-v0)."""
    dt: float | None = None
    """Solver time step (None: the env's default, 0.05 for KS-Control-v0)."""
    frame_skip: int | None = None
    """Solver steps per env step (control interval = frame_skip * dt; None: the env's default, 5)."""
    max_forcing: float | None = None
    """Forcing amplitude at action 1 (None: the env's default, 0.5 for KS-Control-v0)."""
    burn_in: float | None = None
    """Unforced time run before t = 0 so the start is on the attractor (None: the env's default, 100 for KS)."""
    env_kwargs: dict = field(default_factory=dict)
    """More keywords of the env (e.g. {"K": 20} for Lorenz96-Control-v0)."""
    progress: bool = field(default=True, repr=False)
    """Show a progress bar."""

    def __post_init__(self) -> None:
        if not self.actuation or any(a not in ACTUATIONS for a in self.actuation):
            raise ValueError(f"actuation must be a non-empty subset of {ACTUATIONS}, got {self.actuation!r}")
        if not (np.isfinite(self.t_end) and self.t_end > 0):
            raise ValueError(f"t_end must be positive and finite, got {self.t_end!r}")
        if self.hold < 1:
            raise ValueError(f"hold must be >= 1, got {self.hold!r}")
        check_env_id(self.env_id)
        if not isinstance(self.env_kwargs, dict):
            raise ValueError(f"env_kwargs must be a dict, got {type(self.env_kwargs).__name__}")

    def env_keywords(self) -> dict:
        """The env's keywords: the flags given (not None) over ``env_kwargs``."""
        given = {k: getattr(self, k) for k in ENV_FLAGS if getattr(self, k) is not None}
        return {**self.env_kwargs, **given}


#: The fields of :class:`SimulateArgs` that are env keywords (None: the env's default).
ENV_FLAGS = ("L", "N", "dt", "frame_skip", "max_forcing", "burn_in")


def _stats(x: np.ndarray) -> dict[str, float | int | None]:
    """Mean, std, min, max over the finite values (a blow-up step is not finite); None if there are none."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": None, "std": None, "min": None, "max": None, "samples": 0}
    return {"mean": float(np.mean(x)), "std": float(np.std(x)), "min": float(np.min(x)), "max": float(np.max(x)),
            "samples": int(x.size)}


def _rms(history: np.ndarray) -> float | None:
    """rms of the field over the finite snapshots of ``history`` (T, *F)."""
    finite = history[np.all(np.isfinite(history.reshape(history.shape[0], -1)), axis=1)]
    return float(np.sqrt(np.mean(finite**2))) if finite.size else None


def _actuation_policy(mode: str, hold: int, seed: int, n_act: int):
    """obs -> actions (1, n_act) of an actuation mode: zeros, or i.i.d. uniform actions each held for ``hold`` steps."""
    rng = np.random.default_rng([seed, 1])
    held = np.zeros((1, n_act))
    steps = 0

    def act(obs: np.ndarray) -> np.ndarray:
        nonlocal held, steps
        if mode == "random" and steps % hold == 0:
            held = rng.uniform(-1.0, 1.0, (1, n_act))
        steps += 1
        return held

    return act


def run_simulation(args: SimulateArgs) -> dict:
    """Run every actuation mode of ``args`` and write the plot and the summary.

    :param args: the simulation arguments.
    :return: the summary (also written to ``<out>/summary.json``).
    """
    from tqdm.auto import tqdm

    # one env of the batched env (bit for bit the single env), run by the shared rollout loop
    venv = make_vector_env(args.env_id, 1, max_episode_steps=None, autoreset_mode="Disabled", **args.env_keywords())
    env = venv.template
    interval = env.dynamics.control_dt
    if args.t_end < interval:
        raise ValueError(f"t_end must be at least one control interval ({interval:g} for {args.env_id}), got {args.t_end!r}")
    n_steps = int(round(args.t_end / interval))
    keys = tuple(env.dynamics.diagnostic_names)
    is_ks = isinstance(env.dynamics, KSDynamics)
    runs: dict[str, dict[str, np.ndarray]] = {}
    start = time.perf_counter()
    bar = tqdm(total=n_steps * len(args.actuation), desc="simulate", unit="step", disable=not args.progress)
    for mode in args.actuation:
        act = _actuation_policy(mode, args.hold, args.seed, env.action_space.shape[0])
        run = rollout(venv, act, n_steps, seed=args.seed, info_keys=keys, snapshot=lambda: venv.u[0])
        bar.update(run.steps)
        runs[mode] = {"history": np.array(run.snapshots), "actions": run.actions[0], "blowup": bool(run.terminated[0].any()),
                      **{key: run.infos[key][0] for key in keys}}
    bar.close()
    wall = time.perf_counter() - start

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    resolved = env.config_dict()  # the env's defaults where a flag was not given
    config = asdict(args) | {k: resolved[k] for k in ENV_FLAGS if getattr(args, k) is None and k in resolved}
    summary = {
        "config": config | {"actuation": list(args.actuation)},
        "package_version": _version(),
        "git_hash": git_hash(),
        "python": platform.python_version(),
        "env_steps_per_run": n_steps,
        "control_interval": interval,
        "wall_time_s": wall,
        "runs": {
            mode: {
                "blowup": bool(run["blowup"]),
                "rms_u": _rms(run["history"]),
                **{key: _stats(run[key]) for key in keys},
            }
            for mode, run in runs.items()
        },
    }
    if is_ks:
        summary["reference_unforced_L22"] = {"energy_mean": 0.70, "dissipation_mean": 0.91, "rms_u": 1.17}
    write_json_atomic(out / "summary.json", summary)
    if is_ks:
        _plot(runs, env, args, config, out / "space_time.png")
    else:
        _plot_any(runs, env, args, keys, out / "space_time.png")
    return summary


def _plot(runs: dict, env: Any, args: SimulateArgs, config: dict, path: Path) -> None:
    """KS: the space-time diagram of u (actuators and sensors marked), the energy budget and the actions."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from chaoscontrol.envs.rendering import draw_space_time

    modes = list(runs)
    vmax = max(float(np.max(np.abs(run["history"]))) for run in runs.values())
    fig = Figure(figsize=(4.2 * len(modes) + 1.0, 7.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, len(modes), height_ratios=[3.0, 1.0, 1.0])
    interval = env.dynamics.control_dt
    for col, mode in enumerate(modes):
        run = runs[mode]
        t_end = interval * (run["history"].shape[0] - 1)
        ax = fig.add_subplot(grid[0, col])
        im = draw_space_time(
            ax, run["history"], config["L"], 0.0, t_end, env.actuator_positions, env.sensor_positions, vmax=vmax,
            title=f"{mode} actuation" + (" (blow-up)" if run["blowup"] else ""),
        )
        _series_and_actions(fig, grid, col, run, interval, t_end, {"D": "dissipation", "P": "production", "E": "energy"},
                            "budget")
    fig.colorbar(im, ax=fig.axes[0 :: 3], fraction=0.03, label="u")
    fig.suptitle(f"KS, L={config['L']:g}, N={config['N']}, seed={args.seed}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def _series_and_actions(fig: Any, grid: Any, col: int, run: dict, interval: float, t_end: float, series: dict[str, str],
                        ylabel: str) -> None:
    """Rows 1 and 2 of a column: the diagnostics ``series`` (label -> key of ``run``) and the actions, against t."""
    ax2 = fig.add_subplot(grid[1, col])
    for label, key in series.items():
        ax2.plot(interval * np.arange(1, run[key].size + 1), run[key], lw=0.8, label=label)
    ax2.set_xlim(0, t_end)
    ax2.legend(loc="upper right", fontsize=7, ncol=3)
    ax2.set_ylabel(ylabel)
    ax3 = fig.add_subplot(grid[2, col])
    ax3.step(interval * np.arange(run["actions"].shape[0]), run["actions"], lw=0.6, where="post")
    ax3.set_xlim(0, t_end)
    ax3.set_ylim(-1.05, 1.05)
    ax3.set_ylabel("actions")
    ax3.set_xlabel("t")


def state_picture(history: np.ndarray) -> tuple[str, np.ndarray, str]:
    """How a trajectory of fields (T, *F) is drawn: (kind, values, label).

    ``"space-time"`` with (T, n) values for a real 1-D field of more than 3 values, or |A| (T, N) of a complex field
    stored as (Re, Im) rows (F = (2, N)); ``"components"`` with (T, n) for a state of at most 3 components;
    ``"rms"`` with the rms (T,) of the field over its points otherwise.

    :param history: the fields, times first.
    """
    shape = history.shape[1:]
    if len(shape) == 1 and shape[0] > 3:
        return "space-time", history, "u"
    if len(shape) == 1:
        return "components", history, "component"
    if len(shape) == 2 and shape[0] == 2:
        return "space-time", np.hypot(history[:, 0], history[:, 1]), "|A|"
    return "rms", np.sqrt(np.mean(history.reshape(history.shape[0], -1) ** 2, axis=1)), "rms of the field"


def _plot_any(runs: dict, env: Any, args: SimulateArgs, keys: tuple[str, ...], path: Path) -> None:
    """Any other system: the state picture of :func:`state_picture`, the diagnostics and the actions."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    modes = list(runs)
    fig = Figure(figsize=(4.2 * len(modes) + 1.0, 7.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, len(modes), height_ratios=[3.0, 1.0, 1.0])
    interval = env.dynamics.control_dt
    pictures = {mode: state_picture(run["history"]) for mode, run in runs.items()}
    finite = [np.abs(v[np.isfinite(v)]) for _, v, _ in pictures.values()]
    vmax = max((float(f.max()) for f in finite if f.size), default=1.0) or 1.0
    image = None
    for col, mode in enumerate(modes):
        run, (kind, values, label) = runs[mode], pictures[mode]
        t = interval * np.arange(values.shape[0])
        t_end = t[-1] if t.size > 1 else interval
        ax = fig.add_subplot(grid[0, col])
        if kind == "space-time":
            signed = bool(np.nanmin(values) < 0)
            image = ax.imshow(values, origin="lower", aspect="auto", cmap="RdBu_r" if signed else "viridis",
                              vmin=-vmax if signed else 0.0, vmax=vmax, extent=(0, values.shape[1], 0, t_end),
                              interpolation="nearest")
            ax.set_xlabel("site" if label == "u" else "grid point")
            ax.set_ylabel("t")
        else:
            names = [f"{label} {i}" for i in range(values.shape[1])] if kind == "components" else [label]
            ax.plot(t, values.reshape(values.shape[0], -1), lw=0.8, label=names)
            ax.set_xlim(0, t_end)
            ax.set_xlabel("t")
            ax.legend(loc="upper right", fontsize=7, ncol=3)
        ax.set_title(f"{mode} actuation" + (" (blow-up)" if run["blowup"] else ""))
        _series_and_actions(fig, grid, col, run, interval, t_end, {key: key for key in keys}, "diagnostics")
    if image is not None:
        fig.colorbar(image, ax=fig.axes[0 :: 3], fraction=0.03, label=pictures[modes[0]][2])
    fig.suptitle(f"{args.env_id}, seed={args.seed}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def _version() -> str:
    from chaoscontrol import __version__

    return __version__


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run_simulation(SimulateArgs()), indent=2))
