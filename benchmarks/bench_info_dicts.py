"""A/B of ``KSVecEnv``'s info-dict conversion: one mask reduction (now) against one ``.all()`` per key (before).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_info_dicts.py          # ~5 s

SB3 needs one info dict per env and step, built from the Gymnasium vector info of 16 envs (the PPO batch of
configs/ppo.yaml) after one real step of the dissipation env. Both conversions are timed on the same info,
interleaved repeat by repeat; the figure is the median over repeats of the per-repeat ratio before / now.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chaoscontrol.agents.vec_env import _info_dicts, make_ks_vec_env  # noqa: E402


def per_key_masks(info_arrays: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """The conversion before the change, common case only (every env has every key)."""
    keys = [k for k in info_arrays if not k.startswith("_") and k not in ("reset", "final_obs", "final_info")]
    columns = [np.asarray(info_arrays[k]).tolist() for k in keys]
    masks = [info_arrays.get(f"_{k}") for k in keys]
    if not all(m is None or m.all() for m in masks):
        raise ValueError("the benchmark's info must have every key for every env")
    return [dict(zip(keys, row)) for row in zip(*columns)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", type=int, default=16, help="(default: %(default)s)")
    p.add_argument("--calls", type=int, default=2000, help="conversions per timed repeat (default: %(default)s)")
    p.add_argument("--repeats", type=int, default=21, help="(default: %(default)s)")
    args = p.parse_args(argv)
    env = make_ks_vec_env(args.envs, seed=0, objective="dissipation", max_episode_steps=400)
    env.reset()
    *_, info = env.engine.step(np.zeros((args.envs, env.action_space.shape[0]), np.float32))
    info["TimeLimit.truncated"] = np.zeros(args.envs, dtype=bool)
    if per_key_masks(info, args.envs) != _info_dicts(info, args.envs):
        raise SystemExit("the two conversions disagree")
    times: dict[str, list[float]] = {"before": [], "now": []}
    for _ in range(args.repeats):
        for name, convert in (("before", per_key_masks), ("now", _info_dicts)):
            start = time.perf_counter()
            for _ in range(args.calls):
                convert(info, args.envs)
            times[name].append((time.perf_counter() - start) / args.calls)
    for name, t in times.items():
        print(f"{name:6s} median {1e6 * np.median(t):.1f} µs per conversion of {args.envs} envs")
    ratio = np.median(np.array(times["before"]) / np.array(times["now"]))
    print(f"before / now: {ratio:.2f} (median of {args.repeats} interleaved repeats)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
