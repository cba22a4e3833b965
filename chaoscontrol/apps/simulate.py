"""Simulate KS with and without actuation: space-time plots and energy statistics.

The main job of ``make demo`` (``chaoscontrol simulate``): one initial state on the
attractor, evolved once per actuation mode (``zero``: unforced; ``random``: the
actuators driven by i.i.d. uniform actions held for ``hold`` env steps), through
the ``KS-Control-v0`` environment itself, so the numbers are exactly what an
agent would see.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.envs.rollout import rollout
from chaoscontrol.io import atomic_path, git_hash, write_json_atomic

Actuation = Literal["zero", "random"]
ACTUATIONS: tuple[str, ...] = get_args(Actuation)


@dataclass(frozen=True)
class SimulateArgs:
    """Arguments of ``chaoscontrol simulate``."""

    out: str = "runs/simulate"
    """Output folder (created); receives ``space_time.png`` and ``summary.json``."""
    t_end: float = 200.0
    """Simulated time after burn-in, in time units (a Lyapunov time is ~21 at L = 22)."""
    actuation: tuple[Actuation, ...] = ACTUATIONS
    """Actuation modes to run from the same initial state: ``zero`` and/or ``random``."""
    hold: int = 4
    """Env steps each random action is held for."""
    seed: int = 0
    """Seed of the initial state and of the random actions."""
    L: float = 22.0
    """Domain length."""
    N: int = 64
    """Grid points."""
    dt: float = 0.05
    """Solver time step."""
    frame_skip: int = 5
    """Solver steps per env step (control interval = frame_skip * dt)."""
    max_forcing: float = 0.5
    """Forcing amplitude at action 1."""
    burn_in: float = 100.0
    """Unforced time run before t = 0 so the start is on the attractor."""
    progress: bool = field(default=True, repr=False)
    """Show a progress bar."""

    def __post_init__(self) -> None:
        if not self.actuation or any(a not in ACTUATIONS for a in self.actuation):
            raise ValueError(f"actuation must be a non-empty subset of {ACTUATIONS}, got {self.actuation!r}")
        if not (np.isfinite(self.t_end) and self.t_end > 0):
            raise ValueError(f"t_end must be positive and finite, got {self.t_end!r}")
        interval = self.frame_skip * self.dt
        if self.t_end < interval:
            raise ValueError(f"t_end must be at least one control interval (frame_skip * dt = {interval:g}), got {self.t_end!r}")
        if self.hold < 1:
            raise ValueError(f"hold must be >= 1, got {self.hold!r}")


def _stats(x: np.ndarray) -> dict[str, float | int | None]:
    """Mean, std, min, max over the finite values (a blow-up step is not finite); None if there are none."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": None, "std": None, "min": None, "max": None, "samples": 0}
    return {"mean": float(np.mean(x)), "std": float(np.std(x)), "min": float(np.min(x)), "max": float(np.max(x)),
            "samples": int(x.size)}


def _rms(history: np.ndarray) -> float | None:
    """rms of u over the finite snapshots of ``history`` (T, N)."""
    finite = history[np.all(np.isfinite(history), axis=1)]
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

    # one env of the batched KS-Control-v0 (bit for bit the single env), run by the shared rollout loop
    venv = KSControlVectorEnv(
        num_envs=1, max_episode_steps=None, autoreset_mode="Disabled",
        L=args.L, N=args.N, dt=args.dt, frame_skip=args.frame_skip, max_forcing=args.max_forcing, burn_in=args.burn_in,
    )
    env = venv.template
    n_steps = int(round(args.t_end / (args.frame_skip * args.dt)))
    keys = ("energy", "production", "dissipation", "power")
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
    summary = {
        "config": asdict(args) | {"actuation": list(args.actuation)},
        "package_version": _version(),
        "git_hash": git_hash(),
        "python": platform.python_version(),
        "env_steps_per_run": n_steps,
        "control_interval": args.frame_skip * args.dt,
        "wall_time_s": wall,
        "runs": {
            mode: {
                "blowup": bool(run["blowup"]),
                "rms_u": _rms(run["history"]),
                **{key: _stats(run[key]) for key in ("energy", "production", "dissipation", "power")},
            }
            for mode, run in runs.items()
        },
        "reference_unforced_L22": {"energy_mean": 0.70, "dissipation_mean": 0.91, "rms_u": 1.17},
    }
    write_json_atomic(out / "summary.json", summary)
    _plot(runs, env, args, out / "space_time.png")
    return summary


def _plot(runs: dict, env: KSControlEnv, args: SimulateArgs, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from chaoscontrol.envs.rendering import draw_space_time

    modes = list(runs)
    vmax = max(float(np.max(np.abs(run["history"]))) for run in runs.values())
    fig = Figure(figsize=(4.2 * len(modes) + 1.0, 7.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, len(modes), height_ratios=[3.0, 1.0, 1.0])
    interval = args.frame_skip * args.dt
    for col, mode in enumerate(modes):
        run = runs[mode]
        t_end = interval * (run["history"].shape[0] - 1)
        ax = fig.add_subplot(grid[0, col])
        im = draw_space_time(
            ax, run["history"], args.L, 0.0, t_end, env.actuator_positions, env.sensor_positions, vmax=vmax,
            title=f"{mode} actuation" + (" (blow-up)" if run["blowup"] else ""),
        )
        t = interval * np.arange(1, run["dissipation"].size + 1)
        ax2 = fig.add_subplot(grid[1, col])
        ax2.plot(t, run["dissipation"], lw=0.8, label="D")
        ax2.plot(t, run["production"], lw=0.8, label="P")
        ax2.plot(t, run["energy"], lw=0.8, label="E")
        ax2.set_xlim(0, t_end)
        ax2.legend(loc="upper right", fontsize=7, ncol=3)
        ax2.set_ylabel("budget")
        ax3 = fig.add_subplot(grid[2, col])
        ax3.step(interval * np.arange(run["actions"].shape[0]), run["actions"], lw=0.6, where="post")
        ax3.set_xlim(0, t_end)
        ax3.set_ylim(-1.05, 1.05)
        ax3.set_ylabel("actions")
        ax3.set_xlabel("t")
    fig.colorbar(im, ax=fig.axes[0 :: 3], fraction=0.03, label="u")
    fig.suptitle(f"KS, L={args.L:g}, N={args.N}, seed={args.seed}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def _version() -> str:
    from chaoscontrol import __version__

    return __version__


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run_simulation(SimulateArgs()), indent=2))
