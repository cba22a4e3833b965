"""A/B of ``KSVecEnv``'s info-dict conversion: one mask reduction (now) against one ``.all()`` per key (before).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_info_dicts.py          # ~5 s
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_info_dicts.py --quick  # 3 repeats

SB3 needs one info dict per env and step, built from the Gymnasium vector info of 16 envs (the PPO batch of
configs/ppo.yaml) after one real step of the dissipation env. Both conversions are timed on the same info,
interleaved repeat by repeat (the round robin of benchmarks/_common.py, garbage collector off); the figure is
the median over repeats of the per-repeat ratio before / now.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from _common import benchmark_args, gc_paused, measure, report_ab

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


def _add_own_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--envs", type=int, default=16, help="(default: %(default)s)")
    p.add_argument("--calls", type=int, default=2000, help="conversions per timed repeat (default: %(default)s)")


class Bench:
    """The info of one real step of ``envs`` envs, converted both ways, one timed block of each per repeat."""

    def __init__(self, envs: int, calls: int, seed: int) -> None:
        self.envs = envs
        self.calls = calls
        env = make_ks_vec_env(envs, seed=seed, objective="dissipation", max_episode_steps=400)
        env.reset()
        *_, info = env.engine.step(np.zeros((envs, env.action_space.shape[0]), np.float32))
        info["TimeLimit.truncated"] = np.zeros(envs, dtype=bool)
        if per_key_masks(info, envs) != _info_dicts(info, envs):
            raise SystemExit("the two conversions disagree")
        self.info = info

    def t_convert(self, convert: Callable[[dict[str, Any], int], list[dict[str, Any]]]) -> float:
        """Seconds per conversion."""
        start = time.perf_counter()
        for _ in range(self.calls):
            convert(self.info, self.envs)
        return (time.perf_counter() - start) / self.calls

    def warm_up(self) -> None:
        """Nothing to compile: the first repeat is timed like the others."""

    def time_all(self) -> dict[str, float]:
        """One repeat: before, then now; µs per conversion and the ratio before / now of this repeat."""
        with gc_paused():
            before = self.t_convert(per_key_masks)
            now = self.t_convert(_info_dicts)
        return {"before_us": 1e6 * before, "now_us": 1e6 * now, "ratio": before / now}


def main(argv: list[str] | None = None) -> int:
    args, repeats = benchmark_args(__doc__, 21, "3 repeats", argv, _add_own_arguments)
    _, run = measure(lambda: Bench(args.envs, args.calls, args.seed), repeats)
    rows = [
        ("before_us", f"one .all() per key, {args.envs} envs", "µs/conversion", 1),
        ("now_us", f"one mask reduction, {args.envs} envs", "µs/conversion", 1),
        ("ratio", "   before / now (within each repeat)", "x", 2),
    ]
    report_ab(rows, run, args, argv, "before / now", {"envs": args.envs, "calls": args.calls})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
