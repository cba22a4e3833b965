"""Distance to the target over time for residual agents with and without the anchor: docs/figures/residual_anchor_E3.png.

    .venv/bin/python scripts/plot_anchor.py                      # E3, the runs of scripts/reproduce.py, ~1 min
    .venv/bin/python scripts/plot_anchor.py --target E1 --episodes 8 --out /tmp/e1.png

Each agent runs ``--episodes`` episodes on the truth from env seeds 10000 + e (the evaluation's initial states);
the figure shows rms(u - u*) at every control step, one thin line per episode, and the 0.1 success threshold.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def distances(model: Path, target: str, episodes: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Times (steps + 1,) and rms distances to the target (episodes, steps + 1) under the agent of ``model`` (a run's ``model.zip``)."""
    from chaoscontrol.agents.policies import make_policy
    from chaoscontrol.envs.ks_vector import KSControlVectorEnv
    from chaoscontrol.solvers.diagnostics import rms_distance_rows

    env = KSControlVectorEnv(num_envs=episodes, max_episode_steps=None, autoreset_mode="Disabled",
                             objective="target", target=target)
    act, _ = make_policy(str(model), env, seed=0)  # the agent plus the run's baseline (LQG)
    obs, _ = env.reset(seed=[10_000 + e for e in range(episodes)])
    out = [rms_distance_rows(env.u, env.template.target)]
    for _ in range(steps):
        obs, *_ = env.step(np.asarray(act(obs), dtype=np.float32))
        out.append(rms_distance_rows(env.u, env.template.target))
    interval = env.template.frame_skip * env.template.config.dt  # time of one control step
    env.close()
    return np.arange(steps + 1) * interval, np.array(out).T


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", default="E3", choices=["E1", "E2", "E3"])
    p.add_argument("--runs", default="runs/reproduce", help="folder of scripts/reproduce.py's runs (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="training seed of the runs shown (default: %(default)s)")
    p.add_argument("--episodes", type=int, default=8, help="(default: %(default)s)")
    p.add_argument("--steps", type=int, default=400, help="control steps per episode (default: %(default)s)")
    p.add_argument("--out", default=None, help="PNG (default: docs/figures/residual_anchor_<target>.png)")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from chaoscontrol.io import atomic_path

    runs = ROOT / args.runs
    agents = {"residual PPO on LQG": runs / f"ppo_target_{args.target}_residual" / f"s{args.seed}" / "model.zip",
              "anchored residual PPO on LQG": runs / f"ppo_target_{args.target}_anchored" / f"s{args.seed}" / "model.zip"}
    for name, path in agents.items():
        if not path.is_file():
            p.error(f"{name}: {path} does not exist; train it with scripts/reproduce.py first")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, (name, path) in zip(axes, agents.items()):
        t, d = distances(path, args.target, args.episodes, args.steps)
        for row in d:
            ax.semilogy(t, np.maximum(row, 1e-8), lw=0.8)
        ax.axhline(0.1, color="k", ls="--", lw=0.8, label="success threshold 0.1")
        ax.set_title(f"{name}, seed {args.seed}\nfinal distance: median {np.median(d[:, -1]):.2g}", fontsize=9)
        ax.set_xlabel("t")
    axes[0].set_ylabel(f"rms(u - {args.target})")
    axes[0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    out = Path(args.out) if args.out else ROOT / "docs" / "figures" / f"residual_anchor_{args.target}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
