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
  the suite: >= 1 for every ODE and 1-D system; a larger KS proportionally to its cost per FFT; no goal for a
  system of more dimensions);
- ``FFT pair`` (the 1-D spectral ids: a complex state of N/2 + 1 modes is a real FFT of size N, one of N modes
  a complex FFT): one inverse and one forward rocket-fft transform of the id's kind and size inside Numba, on a
  block of 32 rows as the kernels call them (us per row, thread CPU time); ``vs KS per FFT``: ``vs KS`` times this cost over
  KS-Control-v0's, the goal of the large-domain KS ids (>= 1: as fast as KS once the dearer transform is paid for).

Actions are uniform in [-1, 1] from a generator seeded with ``--seed``; every env is reset once with that seed
before timing (its burn-in is not timed). A blow-up during the timed steps (an autoreset with a burn-in) is
counted and printed. The harness (round-robin repeats, medians, gc off, machine information) is
``benchmarks/_common.py``.
"""

from __future__ import annotations

import sys
import time

import gymnasium as gym
import numba
import numpy as np
from _common import (
    benchmark_args,
    cpu_line,
    gc_paused,
    goals_line,
    goals_section,
    json_payload,
    measure,
    print_table,
    write_json,
)

import chaoscontrol  # noqa: F401  (registers the envs)
from chaoscontrol.envs.registration import ENV_SPECS
from rocket_fft import c2c, c2r, r2c

REFERENCE = "KS-Control-v0"
SINGLE_STEPS = 200
BATCH_STEPS = 50
FFT_ROWS, FFT_PAIRS = 32, 200


@numba.njit(cache=True)
def _fft_pairs(grid: np.ndarray, modes: np.ndarray, cgrid: np.ndarray, pairs: int) -> None:
    """``pairs`` times an inverse then a forward FFT of ``modes`` (R, M): real onto ``grid`` (R, N) if it has rows,
    else complex onto ``cgrid`` (R, N)."""
    axes = np.array([1], dtype=np.int64)
    real = grid.shape[0] > 0
    n = grid.shape[1] if real else cgrid.shape[1]
    for _ in range(pairs):
        if real:
            c2r(modes, grid, axes, False, 1.0 / n, 1)
            r2c(grid, modes, axes, True, 1.0, 1)
        else:
            c2c(modes, cgrid, axes, False, 1.0 / n, 1)
            c2c(cgrid, modes, axes, True, 1.0, 1)


def fft_kind(env: gym.Env) -> tuple[int, bool] | None:
    """(N, real) of a spectral id's transform, from its dynamics' state (N/2 + 1 complex modes: real FFT of size N;
    N complex modes: complex FFT), or None (not a spectral state)."""
    dyn = env.unwrapped.dynamics
    n = getattr(getattr(dyn, "config", None), "N", None)
    if n is None or np.dtype(dyn.state_dtype).kind != "c" or len(dyn.state_shape) != 1:
        return None
    modes = dyn.state_shape[-1]
    return (n, True) if modes == n // 2 + 1 else (n, False) if modes == n else None


def is_large_ks(env_id: str, fft: tuple[int, bool] | None) -> bool:
    """A KS id on a larger grid than KS-Control-v0's: its goal is per FFT."""
    return env_id.startswith("KS-") and env_id != REFERENCE and fft is not None and fft[1]


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
        self.ffts = {i: fft_kind(env) for i, env in self.single.items()}
        self.fft_buffers = {}
        for i, kind in self.ffts.items():
            if kind is not None:
                n, real = kind
                grid = rng.standard_normal((FFT_ROWS, n))
                modes = np.fft.rfft(grid) if real else np.fft.fft(grid)
                self.fft_buffers[i] = (grid if real else grid[:0], modes, np.empty(grid.shape, complex), real)

    def warm_up(self) -> None:
        for i, env in self.single.items():
            for a in self.actions[i][:5]:
                env.step(a)
        for key, venv in self.vector.items():
            for a in self.vec_actions[key][:3]:
                venv.step(a)
        for grid, modes, cgrid, _ in self.fft_buffers.values():
            _fft_pairs(grid, modes, cgrid, 1)

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

    def _fft(self, i: str) -> float:
        grid, modes, cgrid, _ = self.fft_buffers[i]
        t0 = time.thread_time()  # one thread: its CPU time, which other processes disturb less than the wall clock
        _fft_pairs(grid, modes, cgrid, FFT_PAIRS)
        return (time.thread_time() - t0) / (FFT_PAIRS * FFT_ROWS) * 1e6

    def time_all(self) -> dict[str, float]:
        out: dict[str, float] = {}
        with gc_paused():
            for i in self.ids:
                out[f"{i}/single"] = self._single(i)
                for b in self.batches:
                    out[f"{i}/B={b}"] = self._batched(i, b)
                if i in self.fft_buffers:
                    out[f"{i}/fft"] = self._fft(i)
        bmax = max(self.batches)
        for i in self.ids:
            out[f"{i}/vs_ks"] = out[f"{i}/B={bmax}"] / out[f"{REFERENCE}/B={bmax}"]
            if i in self.fft_buffers:
                out[f"{i}/vs_ks_per_fft"] = out[f"{i}/vs_ks"] * out[f"{i}/fft"] / out[f"{REFERENCE}/fft"]
        return out

    def goals(self) -> dict[str, tuple[str, float]]:
        """``vs KS >= 1`` for every 1-D system and ODE (a state of one axis) but KS itself; per FFT for the
        large-domain KS ids. Systems of more dimensions have no goal here."""
        return {(f"{i}/vs_ks_per_fft" if is_large_ks(i, self.ffts[i]) else f"{i}/vs_ks"): (">=", 1.0)
                for i in self.ids if i != REFERENCE and len(self.single[i].unwrapped.dynamics.state_shape) == 1}


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
        if bench.ffts[i] is not None:
            n, real = bench.ffts[i]
            label = f"  FFT pair, {'real' if real else 'complex'} N={n}, {FFT_ROWS} rows"
            rows.append((f"{i}/fft", label, "us/row", 3))
            rows.append((f"{i}/vs_ks_per_fft", "  vs KS per FFT (vs KS x FFT cost ratio)", "x", 2))
    goals = bench.goals()
    results = print_table(rows, run.samples, goals, 44, 12)
    print(goals_line(goals, results))
    blown = {i: n for i, n in bench.blowups.items() if n}
    if blown:
        print(f"blow-ups during the timed steps (autoreset with burn-in): {blown}")
    if args.json is not None:
        write_json(args.json, json_payload(run.started, argv, run.machine, results, repeats=repeats, ids=ids,
                                           batches=args.batches, blowups=bench.blowups,
                                           goals=goals_section(goals, results), **run.durations))
    return 0


if __name__ == "__main__":
    sys.exit(main())
