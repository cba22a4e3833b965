"""Speed of every registered system, in one run: single env.step/s and batched env-steps/s, next to KS.

    .venv/bin/python benchmarks/bench_systems.py                    # every registered id, 5 repeats
    .venv/bin/python benchmarks/bench_systems.py --quick --ids KS-Control-v0 Lorenz63-Control-v0
    .venv/bin/python benchmarks/bench_systems.py --json runs/bench_systems.json

For each id (defaults of the registration):

- ``single``: ``env.step`` through ``gym.make(id)`` (TimeLimit, OrderEnforcing, PassiveEnvChecker), 200 steps of
  fixed random actions per repeat, the time limit lifted (steps/s);
- ``B=b``: ``gym.make_vec(id, num_envs=b, vectorization_mode="vector_entry_point", max_episode_steps=None)``,
  50 steps per repeat (env-steps/s: steps x b / s), b in ``--batches``;
- ``vs KS``: the batched rate at the largest b over KS-Control-v0's at the same b, within each repeat (the goal of
  the suite: >= 1 for every ODE and 1-D system; a larger KS proportionally to its cost per FFT).

Actions are uniform in [-1, 1] from a generator seeded with ``--seed``; every env is reset once with that seed
before timing (its burn-in is not timed). A blow-up during the timed steps (an autoreset with a burn-in) is
counted and printed. The harness (round-robin repeats, medians, gc off, machine information) is
``benchmarks/_common.py``.
"""

from __future__ import annotations

import sys
import time

import gymnasium as gym
import numpy as np
from _common import benchmark_args, cpu_line, gc_paused, json_payload, measure, print_table, write_json

import chaoscontrol  # noqa: F401  (registers the envs)
from chaoscontrol.envs.registration import ENV_SPECS

REFERENCE = "KS-Control-v0"
SINGLE_STEPS = 200
BATCH_STEPS = 50


class SystemsBenchmark:
    """One single env and one batched env per batch size, for each id."""

    def __init__(self, ids: list[str], batches: list[int], seed: int) -> None:
        self.ids, self.batches = ids, batches
        self.single = {i: gym.make(i, max_episode_steps=None) for i in ids}
        self.vector = {(i, b): gym.make_vec(i, num_envs=b, vectorization_mode="vector_entry_point", max_episode_steps=None)
                       for i in ids for b in batches}
        rng = np.random.default_rng(seed)
        self.actions = {i: rng.uniform(-1, 1, (SINGLE_STEPS, *env.action_space.shape)).astype(np.float32)
                        for i, env in self.single.items()}
        self.vec_actions = {(i, b): rng.uniform(-1, 1, (BATCH_STEPS, b, *self.single[i].action_space.shape))
                            for i in ids for b in batches}
        for env in self.single.values():
            env.reset(seed=seed)
        for venv in self.vector.values():
            venv.reset(seed=seed)
        self.blowups = {i: 0 for i in ids}

    def warm_up(self) -> None:
        for i, env in self.single.items():
            for a in self.actions[i][:5]:
                env.step(a)
        for key, venv in self.vector.items():
            for a in self.vec_actions[key][:3]:
                venv.step(a)

    def _single(self, i: str) -> float:
        env, acts = self.single[i], self.actions[i]
        t0 = time.perf_counter()
        for a in acts:
            if env.step(a)[2]:
                self.blowups[i] += 1
                env.reset()
        return len(acts) / (time.perf_counter() - t0)

    def _batched(self, i: str, b: int) -> float:
        venv, acts = self.vector[(i, b)], self.vec_actions[(i, b)]
        t0 = time.perf_counter()
        for a in acts:
            self.blowups[i] += int(venv.step(a)[2].sum())
        return acts.shape[0] * b / (time.perf_counter() - t0)

    def time_all(self) -> dict[str, float]:
        out: dict[str, float] = {}
        with gc_paused():
            for i in self.ids:
                out[f"{i}/single"] = self._single(i)
                for b in self.batches:
                    out[f"{i}/B={b}"] = self._batched(i, b)
        bmax = max(self.batches)
        if REFERENCE in self.ids:
            for i in self.ids:
                out[f"{i}/vs_ks"] = out[f"{i}/B={bmax}"] / out[f"{REFERENCE}/B={bmax}"]
        return out


def main(argv: list[str] | None = None) -> int:
    def add(p):
        p.add_argument("--ids", nargs="+", default=None, help="env ids (default: every registered chaoscontrol id)")
        p.add_argument("--batches", nargs="+", type=int, default=[1, 64, 256], help="batch sizes (default 1 64 256)")

    args, repeats = benchmark_args(__doc__, 5, "3 repeats", argv, add_arguments=add)
    ids = args.ids or sorted(ENV_SPECS)
    unknown = [i for i in ids if i not in ENV_SPECS]
    if unknown:
        raise SystemExit(f"error: --ids {unknown} are not registered; known: {sorted(ENV_SPECS)}")
    if REFERENCE not in ids:
        ids = [REFERENCE, *ids]
    if any(b < 1 for b in args.batches):
        raise SystemExit(f"error: --batches must be >= 1, got {args.batches}")
    bench, run = measure(lambda: SystemsBenchmark(ids, sorted(args.batches), args.seed), repeats)
    print(f"chaoscontrol systems benchmark  {run.started:%Y-%m-%d %H:%M} UTC  repeats={repeats}")
    print(cpu_line(run.machine))
    rows: list = []
    for i in ids:
        rows.append((None, i, "", 0))
        rows.append((f"{i}/single", "  single env.step (gym.make)", "steps/s", 0))
        for b in sorted(args.batches):
            rows.append((f"{i}/B={b}", f"  make_vec vector_entry_point, B={b}", "env-steps/s", 0))
        rows.append((f"{i}/vs_ks", f"  vs KS-Control-v0 at B={max(args.batches)}", "x", 2))
    results = print_table(rows, run.samples, {}, 44, 12)
    blown = {i: n for i, n in bench.blowups.items() if n}
    if blown:
        print(f"blow-ups during the timed steps (autoreset with burn-in): {blown}")
    if args.json is not None:
        write_json(args.json, json_payload(run.started, argv, run.machine, results, repeats=repeats, ids=ids,
                                           batches=args.batches, blowups=bench.blowups, **run.durations))
    return 0


if __name__ == "__main__":
    sys.exit(main())
