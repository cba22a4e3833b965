"""Speed benchmark of the KS solver kernels and of the ``KS-Control-v0`` environment.

Run from the repository root::

    .venv/bin/python benchmarks/bench_solver.py            # 5-10 s (first run: + numba compile)
    .venv/bin/python benchmarks/bench_solver.py --quick    # 2-4 s, smaller samples
    .venv/bin/python benchmarks/bench_solver.py --json runs/bench.json

What is timed (KS at L = 22, N = 64, dt = 0.05; see docs/performance.md):

1. ``ks_etdrk4_steps`` on one state, as one call of many steps and as 5-step
   calls (the env's control interval), plus an empty call (``n_steps=0``);
2. ``ks_etdrk4_steps_batch`` on 256 states, with numba's threads and with one;
3. the plain-NumPy ``ks_etdrk4_step_reference`` and the ratio NumPy / Numba;
4. ``env.step`` through ``gym.make("KS-Control-v0")`` and on ``env.unwrapped``
   with seeded random actions (only the step loop is timed), ``env.reset``
   (default burn_in = 100), and the rate of whole 400-step episodes with resets;
5. one ``ks_control_interval`` call (5 solver steps + read-out);
6. one rocket-fft real FFT (c2r / r2c) at N = 64 inside Numba, as the kernel
   calls it (8 per ETDRK4 step), to show where the solver time goes.

The last row is a load check: the thread CPU time over the wall time of the
single-threaded timings; well below 100 % means another process shared the CPU
and the wall-clock figures are inflated.

Every repeat runs all the measurements once, in turn (round robin), so that a
change of machine load hits them all alike; ratios and overheads are computed
within each repeat. The table shows the median, min and max over repeats.
Everything is compiled (or loaded from numba's cache) and warmed up before
timing; the garbage collector is off while timing; clocks are
``time.perf_counter``.
"""

from __future__ import annotations

import sys
import time

import gymnasium as gym
import numba
import numpy as np
from rocket_fft import c2r, r2c

from _common import ThreadCpuShare, benchmark_args, cpu_line, gc_paused, goals_line, goals_section  # benchmarks/_common.py
from _common import json_payload, measure, print_table, write_json

import chaoscontrol  # noqa: F401  (registers KS-Control-v0)
from chaoscontrol.solvers.control import N_DIAG
from chaoscontrol.solvers.ks import (
    KSConfig,
    ks_coefficients,
    ks_etdrk4_step_reference,
    ks_etdrk4_steps,
    ks_etdrk4_steps_batch,
)

ENV_ID = "KS-Control-v0"
EPISODE_STEPS = 400  # TimeLimit of KS-Control-v0
FRAME_SKIP = 5  # solver steps per env step (the env's default)
BATCH = 256

#: Goals: (row key, comparison, threshold).
GOALS = {
    "steps_long": ("<=", 4.0),
    "env_make": (">=", 25_000.0),
    "ratio_numpy": (">=", 15.0),
}


# --------------------------------------------------------------------------- FFT probe


@numba.njit(cache=True)
def fft_round_trips(v: np.ndarray, u: np.ndarray, n_pairs: int) -> None:
    """``n_pairs`` times c2r then r2c of ``v`` (N/2+1 modes) through ``u`` (N points), as in the KS kernel."""
    axes = np.zeros(1, dtype=np.int64)
    for _ in range(n_pairs):
        c2r(v, u, axes, False, 1.0 / u.size, 1)
        r2c(u, v, axes, True, 1.0, 1)


# --------------------------------------------------------------------------- set-up


class Bench:
    """State, inputs and timed blocks of all measurements."""

    def __init__(self, quick: bool, seed: int = 0) -> None:
        scale = 4 if quick else 1
        self.n_long = 20_000 // scale  # steps per long call
        self.n_short_calls = 2_000 // scale  # 5-step calls per repeat
        self.n_empty_calls = 2_000 // scale
        self.n_batch_steps = 100 // scale  # steps per batch call (x 256 states)
        self.n_batch_steps_1t = 40 // scale
        self.n_ref = 200 // scale  # NumPy reference steps per repeat
        self.n_episodes = 2 if not quick else 1  # 400-step episodes per repeat (each env)
        self.n_interval_calls = 2_000 // scale
        self.n_fft_pairs = 20_000 // scale

        self.cfg = KSConfig(L=22.0, N=64, dt=0.05)
        self.coeffs = ks_coefficients(self.cfg)
        rng = np.random.default_rng(seed)

        # A state on the attractor: random smooth start, 100 time units unforced.
        x = self.cfg.x
        u0 = sum(rng.uniform(-1, 1) * np.cos(2 * np.pi * q * x / self.cfg.L + rng.uniform(0, 2 * np.pi)) for q in range(1, 5))
        v = np.fft.rfft(u0)
        self.fhat = np.zeros(self.cfg.n_modes, dtype=np.complex128)
        ks_etdrk4_steps(v, self.fhat, self.coeffs, 2000)
        self.v = v.copy()  # single state for 1a/1b
        self.v_empty = v.copy()
        self.v_ref = v.copy()

        # Batch: 256 different states on the attractor.
        vb = np.empty((BATCH, self.cfg.n_modes), dtype=np.complex128)
        for i in range(BATCH):
            vb[i] = v
            vb[i, 1:5] += 1e-3 * (rng.standard_normal(4) + 1j * rng.standard_normal(4))
        self.fhat_b = np.zeros_like(vb)
        ks_etdrk4_steps_batch(vb, self.fhat_b, self.coeffs, 200)
        self.vb = vb
        self.n_threads = numba.get_num_threads()

        # Environments: gym.make (TimeLimit + OrderEnforcing + PassiveEnvChecker) and a bare one.
        self.env = gym.make(ENV_ID)
        self.env_bare = gym.make(ENV_ID).unwrapped
        self.env_seed = seed
        n_act = self.env.action_space.shape[0]
        self.actions = rng.uniform(-1.0, 1.0, (EPISODE_STEPS, n_act)).astype(np.float32)
        self._env_seeded = {id(self.env): False, id(self.env_bare): False}

        # Direct ks_control_interval call through the env's dynamics (KSDynamics.advance_one).
        self.ci_dynamics = self.env_bare.dynamics
        self.ci_v = v.copy()
        self.ci_u = np.zeros(self.cfg.N)
        self.ci_diag = np.zeros(N_DIAG)
        self.ci_actions = rng.uniform(-1.0, 1.0, (self.n_interval_calls, n_act))

        # FFT probe: a spectral state and its grid workspace.
        self.fft_v = v.copy()
        self.fft_u = np.zeros(self.cfg.N)

    # ------------------------------------------------------------------ warm-up

    def warm_up(self) -> None:
        """Compile (or load from cache) every kernel and touch every code path once."""
        v = self.v.copy()
        ks_etdrk4_steps(v, self.fhat, self.coeffs, FRAME_SKIP)
        ks_etdrk4_steps(v, self.fhat, self.coeffs, 0)
        vb = self.vb[:8].copy()
        ks_etdrk4_steps_batch(vb, self.fhat_b[:8], self.coeffs, 2)
        ks_etdrk4_step_reference(v, self.fhat, self.coeffs)
        self.ci_dynamics.advance_one(self.ci_v.copy(), self.ci_u, self.ci_actions[0], self.ci_diag)
        fft_round_trips(self.fft_v, self.fft_u, 1)
        for env in (self.env, self.env_bare):
            self._reset(env)
            for a in self.actions[:10]:
                env.step(a)
        # one round of everything at small size
        self.time_all(warm=True)

    # ------------------------------------------------------------------ timed blocks

    def t_steps_long(self) -> float:
        """us per solver step, one call of n_long steps."""
        t0 = time.perf_counter()
        ks_etdrk4_steps(self.v, self.fhat, self.coeffs, self.n_long)
        return (time.perf_counter() - t0) / self.n_long * 1e6

    def t_steps_short(self) -> float:
        """us per 5-step call (Python loop of n_short_calls calls)."""
        v, f, c, n = self.v, self.fhat, self.coeffs, FRAME_SKIP
        t0 = time.perf_counter()
        for _ in range(self.n_short_calls):
            ks_etdrk4_steps(v, f, c, n)
        return (time.perf_counter() - t0) / self.n_short_calls * 1e6

    def t_steps_empty(self) -> float:
        """us per ks_etdrk4_steps call with n_steps = 0 (dispatch + workspace)."""
        v, f, c = self.v_empty, self.fhat, self.coeffs
        t0 = time.perf_counter()
        for _ in range(self.n_empty_calls):
            ks_etdrk4_steps(v, f, c, 0)
        return (time.perf_counter() - t0) / self.n_empty_calls * 1e6

    def t_batch(self, threads: int, n_steps: int) -> float:
        """us per solver step per state for the batch kernel with ``threads`` threads."""
        numba.set_num_threads(threads)
        try:
            t0 = time.perf_counter()
            ks_etdrk4_steps_batch(self.vb, self.fhat_b, self.coeffs, n_steps)
            elapsed = time.perf_counter() - t0
        finally:
            numba.set_num_threads(self.n_threads)
        return elapsed / (n_steps * BATCH) * 1e6

    def t_reference(self) -> float:
        """us per NumPy reference step."""
        v, f, c = self.v_ref, self.fhat, self.coeffs
        t0 = time.perf_counter()
        for _ in range(self.n_ref):
            v = ks_etdrk4_step_reference(v, f, c)
        elapsed = time.perf_counter() - t0
        self.v_ref = v
        return elapsed / self.n_ref * 1e6

    def _reset(self, env) -> None:
        if not self._env_seeded[id(env)]:
            env.reset(seed=self.env_seed)
            self._env_seeded[id(env)] = True
        else:
            env.reset()

    def t_episodes(self, env, n_episodes: int, n_steps: int = EPISODE_STEPS) -> tuple[float, float, float]:
        """(step time, reset time, steps) summed over ``n_episodes`` episodes of ``n_steps`` steps."""
        t_step = 0.0
        t_reset = 0.0
        actions = self.actions[:n_steps]
        step = env.step
        for _ in range(n_episodes):
            t0 = time.perf_counter()
            self._reset(env)
            t1 = time.perf_counter()
            for a in actions:
                _, _, terminated, truncated, _ = step(a)
            t2 = time.perf_counter()
            t_reset += t1 - t0
            t_step += t2 - t1
            if terminated:
                raise RuntimeError("blow-up during the benchmark episode")
            if n_steps == EPISODE_STEPS and env is self.env and not truncated:
                raise RuntimeError("expected truncation at the end of a 400-step episode")
        return t_step, t_reset, n_episodes * n_steps

    def t_interval(self) -> float:
        """us per ks_control_interval call (5 solver steps + read-out)."""
        v, u, d = self.ci_v, self.ci_u, self.ci_diag
        advance_one = self.ci_dynamics.advance_one
        acts = self.ci_actions
        t0 = time.perf_counter()
        for a in acts:
            advance_one(v, u, a, d)
        return (time.perf_counter() - t0) / acts.shape[0] * 1e6

    def t_fft(self) -> float:
        """us per real FFT (mean of c2r and r2c) at N = 64 inside Numba."""
        t0 = time.perf_counter()
        fft_round_trips(self.fft_v, self.fft_u, self.n_fft_pairs)
        return (time.perf_counter() - t0) / (2 * self.n_fft_pairs) * 1e6

    # ------------------------------------------------------------------ one repeat

    def time_all(self, warm: bool = False) -> dict[str, float]:
        """One round of every measurement; returns the figures of this repeat."""
        if warm:  # tiny sizes, results discarded
            saved = (self.n_long, self.n_short_calls, self.n_empty_calls, self.n_ref, self.n_interval_calls)
            self.n_long, self.n_short_calls, self.n_empty_calls, self.n_ref, self.n_interval_calls = 500, 50, 50, 5, 50
        r: dict[str, float] = {}
        single = ThreadCpuShare()  # thread CPU time and wall time of the single-threaded blocks
        try:
            with gc_paused():
                r["steps_long"] = single(self.t_steps_long)
                r["call_short"] = single(self.t_steps_short)
                r["call_empty"] = single(self.t_steps_empty)
                r["fft"] = single(self.t_fft) if not warm else 0.0
                nb = 2 if warm else self.n_batch_steps
                r["batch"] = self.t_batch(self.n_threads, nb)
                r["batch_1t"] = single(self.t_batch, 1, 1 if warm else self.n_batch_steps_1t)
                r["reference"] = single(self.t_reference)
                n_ep, n_st = (1, 20) if warm else (self.n_episodes, EPISODE_STEPS)
                ts, tr, ns = single(self.t_episodes, self.env, n_ep, n_st)
                r["env_make"] = ns / ts
                r["reset_ms"] = tr / n_ep * 1e3
                r["env_make_with_reset"] = ns / (ts + tr)
                ts_b, _, ns_b = single(self.t_episodes, self.env_bare, n_ep, n_st)
                r["env_bare"] = ns_b / ts_b
                r["interval"] = single(self.t_interval)
        finally:
            if warm:
                self.n_long, self.n_short_calls, self.n_empty_calls, self.n_ref, self.n_interval_calls = saved
        r["cpu_share"] = single.percent
        r["fft_step"] = 8.0 * r["fft"]
        r["fft_share"] = 100.0 * r["fft_step"] / r["steps_long"]
        # derived, within this repeat
        r["steps_short"] = r["call_short"] / FRAME_SKIP
        r["call_overhead"] = r["call_short"] - FRAME_SKIP * r["steps_long"]
        r["batch_speedup"] = r["batch_1t"] / r["batch"]
        r["ratio_numpy"] = r["reference"] / r["steps_long"]
        r["ratio_numpy_short"] = r["reference"] / r["steps_short"]
        r["wrapper_us"] = 1e6 / r["env_make"] - 1e6 / r["env_bare"]
        r["env_python_us"] = 1e6 / r["env_bare"] - r["interval"]
        r["interval_overhead"] = r["interval"] - r["call_short"]
        for name, arr in (("v", self.v), ("vb", self.vb), ("v_ref", self.v_ref), ("ci_v", self.ci_v)):
            if not np.all(np.isfinite(arr)):
                raise RuntimeError(f"state {name} is no longer finite")
        return r


# --------------------------------------------------------------------------- report


def rows(b: Bench) -> list[tuple[str, str, str, int]]:
    """(key, label, unit, decimals) in table order."""
    nt = b.n_threads
    return [
        ("steps_long", f"1a ks_etdrk4_steps, 1 state, {b.n_long} steps/call", "us/step", 2),
        ("steps_short", "1b ks_etdrk4_steps, 1 state, 5 steps/call", "us/step", 2),
        ("call_short", "   the same per 5-step call", "us/call", 2),
        ("call_empty", "1c ks_etdrk4_steps call, n_steps=0", "us/call", 2),
        ("call_overhead", "   overhead per call: 1b/call - 5 x 1a", "us/call", 2),
        ("batch", f"2a ks_etdrk4_steps_batch, B={BATCH}, {nt} thread(s)", "us/step/state", 2),
        ("batch_1t", f"2b ks_etdrk4_steps_batch, B={BATCH}, 1 thread", "us/step/state", 2),
        ("batch_speedup", f"   thread speed-up 2b / 2a ({nt} threads)", "x", 2),
        ("reference", "3  ks_etdrk4_step_reference (NumPy), 1 state", "us/step", 1),
        ("ratio_numpy", "   ratio NumPy / Numba (3 / 1a)", "x", 1),
        ("ratio_numpy_short", "   ratio NumPy / Numba 5-step calls (3 / 1b)", "x", 1),
        ("env_make", f"4a env.step, gym.make('{ENV_ID}')", "steps/s", 0),
        ("env_bare", "4b env.unwrapped.step", "steps/s", 0),
        ("wrapper_us", "   wrapper cost per step: 1/4a - 1/4b", "us/step", 2),
        ("env_python_us", "   env Python cost per step: 1/4b - 5", "us/step", 2),
        ("reset_ms", "4c env.reset (burn_in=100: 2000 solver steps)", "ms/reset", 2),
        ("env_make_with_reset", "4d gym.make, 400-step episodes incl. reset", "steps/s", 0),
        ("interval", "5  ks_control_interval (5 steps + read-out)", "us/call", 2),
        ("interval_overhead", "   5 - 1b/call (forcing, read-out, args)", "us/call", 2),
        ("fft", "6  rocket-fft c2r/r2c at N=64 in Numba", "us/FFT", 3),
        ("fft_step", "   8 FFTs (one ETDRK4 step)", "us/step", 2),
        ("fft_share", "   share of 1a spent in the 8 FFTs", "%", 0),
        ("cpu_share", "load check: CPU time / wall time, 1-thread timings", "%", 0),
    ]


def main(argv: list[str] | None = None) -> int:
    args, repeats = benchmark_args(__doc__, 7, "smaller samples and 3 repeats (a few seconds)", argv)
    bench, run = measure(lambda: Bench(quick=args.quick, seed=args.seed), repeats)
    info = run.machine

    print(f"chaoscontrol speed benchmark  {run.started:%Y-%m-%d %H:%M} UTC  repeats={repeats}{'  (--quick)' if args.quick else ''}")
    print(f"KS L={bench.cfg.L:g} N={bench.cfg.N} dt={bench.cfg.dt:g}; env {ENV_ID}: frame_skip={FRAME_SKIP}, 4 actuators, 8 sensors")
    print(cpu_line(info))
    print(
        f"python {info['python']}, numpy {info['numpy']}, numba {info['numba']} "
        f"({info['numba_num_threads']} threads, {info['numba_threading_layer']} layer), "
        f"rocket-fft {info['rocket_fft']} ({info['rocket_fft_simd']} build), gymnasium {info['gymnasium']}"
    )
    print()
    results = print_table(rows(bench), run.samples, GOALS, 50, 14)
    print()
    print(goals_line(GOALS, results) + "  (judged on the medians)")
    print(
        f"warm-up {run.durations['warm_up_s']:.1f} s, total {run.durations['total_s']:.1f} s. A load check well below 100 % "
        "means the CPU was shared during the timings (see docs/performance.md)."
    )

    if args.json is not None:
        sizes = {
            "steps_per_long_call": bench.n_long,
            "short_calls_per_repeat": bench.n_short_calls,
            "batch_steps_per_call": bench.n_batch_steps,
            "batch_steps_per_call_1_thread": bench.n_batch_steps_1t,
            "reference_steps_per_repeat": bench.n_ref,
            "episodes_per_repeat": bench.n_episodes,
            "interval_calls_per_repeat": bench.n_interval_calls,
            "fft_pairs_per_repeat": bench.n_fft_pairs,
        }
        config = {"L": bench.cfg.L, "N": bench.cfg.N, "dt": bench.cfg.dt, "frame_skip": FRAME_SKIP, "batch": BATCH}
        write_json(args.json, json_payload(
            run.started, argv, info, results, repeats=repeats, quick=args.quick, config=config, sizes=sizes,
            goals=goals_section(GOALS, results), **run.durations,
        ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
