"""Speed benchmark of the batched ``KS-Control-v0`` environments (env-steps per second).

Run from the repository root::

    .venv/bin/python benchmarks/bench_vector.py            # ~50 s on a quiet machine (2-3 min if shared)
    .venv/bin/python benchmarks/bench_vector.py --quick    # ~12 s: 3 repeats, half the samples,
                                                           # no DummyVecEnv, no B=256 with resets
    .venv/bin/python benchmarks/bench_vector.py --json runs/bench_vector.json

One env-step is one control interval of one system (frame_skip = 5 solver
steps); a batched step of B envs counts B env-steps. What is timed, for
B = 1, 8, 64, 256 (see docs/performance.md, "Batched environments"):

- (a) ``gym.make_vec("KS-Control-v0", num_envs=B, vectorization_mode="vector_entry_point")``,
  i.e. :class:`chaoscontrol.envs.ks_vector.KSControlVectorEnv` (``env.step``);
- (b) SB3's :class:`chaoscontrol.agents.KSVecEnv` (``step`` = ``step_async`` + ``step_wait``);
- (c) one ``gym.make("KS-Control-v0")`` looped in Python (the B = 1 reference);
- (d) SB3's ``DummyVecEnv`` of B ``gym.make("KS-Control-v0")`` (B = 8 and 64);
- (k) the kernel alone: ``ks_control_interval_batch`` on B states (no env);

each in two ways:

- "steps only": no time limit (``max_episode_steps=None``; for the single env
  and DummyVecEnv a TimeLimit of 10**9 steps), so no reset ever happens;
- "with resets": the default 400-step episodes and the default burn_in = 100
  (2,000 solver steps per reset), autoreset included. Each repeat times exactly
  one episode cycle per env, measured directly: 400 step calls (SB3, DummyVecEnv,
  single env + its ``reset()``) or 401 (the Gymnasium vector env, whose
  NEXT_STEP autoreset spends one extra step call on the reset); 400 env-steps
  per env are counted in both cases.

Also the thread scaling at B = 64 (``numba.set_num_threads(1)`` against
``numba.get_num_threads()``, alternating every 10 steps so that both see the
same machine state) of the Gymnasium vector env and of the kernel, the
Python overhead per batched step (env call minus kernel call), and the reset
cost derived from the two ways (cycle time minus 400 steps-only steps).

Every repeat runs all measurements once, in turn (round robin); derived rows
are computed within each repeat; the table shows the median, min and max over
repeats. Everything is compiled and warmed up first; actions are drawn once
from a seeded ``np.random.default_rng``; all envs start from states on the
attractor; the garbage collector is off while timing; clocks are
``time.perf_counter``. Load checks: thread CPU time over wall time of the
single-threaded timings (well below 100 %: this process was descheduled), and,
from ``/proc/stat``, the CPU that everything else on the machine used while
each repeat ran, in % of one core, and the host's steal time. Numba's
threads wait for each other at the end of every parallel call, so on a 2-core
machine any other busy process (the "other processes" row well above 0) makes
the 2-thread timings slow and erratic, often slower than 1 thread.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import gymnasium as gym
import numba
import numpy as np

from _common import QUIET_OTHERS, OtherLoad, ThreadCpuShare, benchmark_args, cpu_line, gc_paused  # benchmarks/_common.py
from _common import goals_line, goals_section, json_payload, measure, package_version, print_table, quiet_repeats, write_json

import chaoscontrol  # noqa: F401  (registers KS-Control-v0)
from chaoscontrol.agents import KSVecEnv

ENV_ID = "KS-Control-v0"
EPISODE_STEPS = 400  # TimeLimit of KS-Control-v0
FRAME_SKIP = 5  # solver steps per env step (the env's default)
BATCHES = (1, 8, 64, 256)
DUMMY_BATCHES = (8, 64)
THREAD_B = 64
THREAD_CHUNK = 10  # steps per thread setting when 1 and N threads alternate
GOAL_B = 64
NO_LIMIT = 10**9  # TimeLimit for "steps only" single envs: never reached

#: Goals: (row key, comparison, threshold).
GOALS = {
    f"gym_s_{GOAL_B}": (">=", 100_000.0),
    f"sb3_s_{GOAL_B}": (">=", 100_000.0),
    "thread_ratio_env": (">=", 1.6),
}


def _check_finite(name: str, u: np.ndarray) -> None:
    if not np.all(np.isfinite(u)):
        raise RuntimeError(f"{name}: state is no longer finite")


class Bench:
    """Environments, inputs and timed blocks of all measurements."""

    def __init__(self, quick: bool, seed: int = 0) -> None:
        self.quick = quick
        self.seed = seed
        scale = 2 if quick else 1
        #: batched steps per repeat for the "steps only" timings (about 50-100 ms each on an idle machine)
        self.n_steps = {1: 500 // scale, 8: 300 // scale, 64: 150 // scale, 256: 50 // scale}
        self.n_single = 1000 // scale
        self.n_dummy = {8: 200 // scale, 64: 40 // scale}
        self.dummy_batches = () if quick else DUMMY_BATCHES
        #: batch sizes timed "with resets" (--quick leaves out B = 256: its cycle alone takes 1-2 s per repeat)
        self.reset_batches = tuple(b for b in BATCHES if not (quick and b > GOAL_B))
        self.n_threads = numba.get_num_threads()

        rng = np.random.default_rng(seed)
        bmax = max(BATCHES)
        n_act = 4
        n_rows = max(EPISODE_STEPS + 1, self.n_single, *self.n_steps.values(), *self.n_dummy.values())
        self.actions = rng.uniform(-1.0, 1.0, (n_rows, bmax, n_act)).astype(np.float32)
        self.actions64 = self.actions.astype(np.float64)  # what the env passes to the kernel

        # Start states on the attractor: one batched burn-in (the steps-only B = 256 env's seeded reset),
        # then every env starts from rows of it (reset option u0), so set-up runs no further burn-in.
        mk = lambda b, **kw: gym.make_vec(ENV_ID, num_envs=b, vectorization_mode="vector_entry_point", **kw)  # noqa: E731
        self.gym_s = {bmax: mk(bmax, max_episode_steps=None)}
        self.gym_s[bmax].reset(seed=seed)
        u0 = self.gym_s[bmax].unwrapped.u

        def u0_rows(b: int) -> np.ndarray:
            return u0[:b].copy()

        # (a) Gymnasium vector env
        for b in BATCHES:
            if b not in self.gym_s:
                self.gym_s[b] = mk(b, max_episode_steps=None)
                self.gym_s[b].reset(seed=seed, options={"u0": u0_rows(b)})
        self.gym_r = {}
        for b in self.reset_batches:
            self.gym_r[b] = mk(b)  # default: 400-step episodes, burn_in 100, NEXT_STEP autoreset
            self.gym_r[b].reset(seed=seed, options={"u0": u0_rows(b)})

        # (b) SB3 KSVecEnv
        def sb3(b: int, **kw) -> KSVecEnv:
            env = KSVecEnv(num_envs=b, **kw)
            env.seed(seed)
            env.set_options([{"u0": row} for row in u0_rows(b)])
            env.reset()
            return env

        self.sb3_s = {b: sb3(b, max_episode_steps=None) for b in BATCHES}
        self.sb3_r = {b: sb3(b) for b in self.reset_batches}

        # (c) single env looped in Python
        self.single_s = gym.make(ENV_ID, max_episode_steps=NO_LIMIT)
        self.single_s.reset(seed=seed, options={"u0": u0[0]})
        self.single_r = gym.make(ENV_ID)
        self.single_r.reset(seed=seed, options={"u0": u0[0]})

        # (d) SB3 DummyVecEnv of single envs
        self.dummy_s, self.dummy_r = {}, {}
        if self.dummy_batches:
            from stable_baselines3.common.vec_env import DummyVecEnv

            def dummy(b: int, limit: int | None) -> DummyVecEnv:
                env = DummyVecEnv([lambda: gym.make(ENV_ID, max_episode_steps=limit) for _ in range(b)])
                env.seed(seed)
                env.set_options([{"u0": row} for row in u0_rows(b)])
                env.reset()
                return env

            self.dummy_s = {b: dummy(b, NO_LIMIT) for b in self.dummy_batches}
            self.dummy_r = {b: dummy(b, None) for b in self.dummy_batches}

        # (k) kernel alone, on copies of the steps-only env's arrays
        t = self.gym_s[bmax].unwrapped.template
        self.kernel_dynamics = t.dynamics
        self.kernel_state = {}
        for b in BATCHES:
            e = self.gym_s[b].unwrapped
            self.kernel_state[b] = (e._states.copy(), e._fields.copy(), e._diag.copy())

    # ------------------------------------------------------------------ warm-up

    def warm_up(self) -> None:
        """Compile (or load from numba's cache) and run every code path once, autoreset included."""
        for b in BATCHES:
            # short episodes and a short burn-in: the autoreset paths (batched burn-in) at every B
            env = gym.make_vec(ENV_ID, num_envs=b, vectorization_mode="vector_entry_point", max_episode_steps=2, burn_in=0.5)
            env.reset(seed=self.seed)
            venv = KSVecEnv(num_envs=b, max_episode_steps=2, burn_in=0.5)
            venv.reset()
            for a in self.actions[:5, :b]:
                env.step(a)
                venv.step(a)
            env.close()
            venv.close()
        saved = dict(self.n_steps), self.n_single, dict(self.n_dummy)
        self.n_steps = dict.fromkeys(self.n_steps, 3)
        self.n_single = 3
        self.n_dummy = dict.fromkeys(self.n_dummy, 3)
        try:
            self.time_all(with_resets=False)
        finally:
            self.n_steps, self.n_single, self.n_dummy = saved

    # ------------------------------------------------------------------ timed blocks

    def t_gym(self, env, b: int, n: int, start: int = 0) -> float:
        """Seconds for ``n`` batched steps of a Gymnasium vector env (actions from row ``start``)."""
        step = env.step
        acts = self.actions[start : start + n, :b]
        assert len(acts) == n, "not enough pre-generated actions"
        n_term = 0
        t0 = time.perf_counter()
        for a in acts:
            _, _, terminated, _, _ = step(a)
            n_term += terminated.any()
        elapsed = time.perf_counter() - t0
        if n_term:
            raise RuntimeError(f"blow-up in the Gymnasium vector env (B={b}) during the benchmark")
        return elapsed

    def t_sb3(self, env, b: int, n: int) -> float:
        """Seconds for ``n`` batched steps of an SB3 VecEnv (KSVecEnv or DummyVecEnv)."""
        step = env.step
        acts = self.actions[:n, :b]
        assert len(acts) == n, "not enough pre-generated actions"
        n_term = 0
        t0 = time.perf_counter()
        for a in acts:
            _, _, dones, infos = step(a)
            if dones.any():
                n_term += sum(not info["TimeLimit.truncated"] for info in infos)
        elapsed = time.perf_counter() - t0
        if n_term:
            raise RuntimeError(f"blow-up in an SB3 VecEnv (B={b}) during the benchmark")
        return elapsed

    def t_single(self, env, n: int) -> float:
        """Seconds for ``n`` steps of one env looped in Python, resetting when an episode ends."""
        step, reset = env.step, env.reset
        acts = self.actions[:n, 0]
        assert len(acts) == n, "not enough pre-generated actions"
        n_term = 0
        t0 = time.perf_counter()
        for a in acts:
            _, _, terminated, truncated, _ = step(a)
            if terminated or truncated:
                n_term += terminated
                reset()
        elapsed = time.perf_counter() - t0
        if n_term:
            raise RuntimeError("blow-up in the single env during the benchmark")
        return elapsed

    def t_kernel(self, b: int, n: int, start: int = 0) -> float:
        """Seconds for ``n`` calls of ks_control_interval_batch on B states (actions already float64)."""
        v, u, d = self.kernel_state[b]
        advance = self.kernel_dynamics.advance
        acts = self.actions64[start : start + n, :b]
        assert len(acts) == n, "not enough pre-generated actions"
        t0 = time.perf_counter()
        for a in acts:
            advance(v, u, a, d)
        return time.perf_counter() - t0

    def time_all(self, with_resets: bool = True) -> dict[str, float]:
        """One repeat of every measurement; returns the figures of this repeat."""
        r: dict[str, float] = {}
        single_threaded = ThreadCpuShare()

        def thread_pair(fn: Callable[..., float], *args) -> tuple[float, float]:
            """Seconds per step with numba's threads and with 1 thread, interleaved in chunks of THREAD_CHUNK
            steps so that both see the same machine state."""
            t_nt = t_1t = 0.0
            n_chunks = max(1, self.n_steps[THREAD_B] // THREAD_CHUNK)
            try:
                for i in range(n_chunks):
                    start = (i * THREAD_CHUNK) % (EPISODE_STEPS + 1 - THREAD_CHUNK)
                    numba.set_num_threads(1)
                    t_1t += fn(*args, THREAD_CHUNK, start)
                    numba.set_num_threads(self.n_threads)
                    t_nt += fn(*args, THREAD_CHUNK, start)
            finally:
                numba.set_num_threads(self.n_threads)
            n = n_chunks * THREAD_CHUNK
            return t_nt / n, t_1t / n

        # CPU used by everything else on this machine (other processes, the kernel) while this repeat ran
        with OtherLoad() as load, gc_paused():
            # ---- steps only
            n = self.n_single
            r["single_s"] = n / single_threaded(self.t_single, self.single_s, n)
            t_step: dict[str, float] = {}  # seconds per batched step, steps only
            for b in BATCHES:
                n = self.n_steps[b]
                one = single_threaded if b <= 8 else (lambda fn, *a: fn(*a))
                t_step[f"gym_{b}"] = one(self.t_gym, self.gym_s[b], b, n) / n
                t_step[f"sb3_{b}"] = one(self.t_sb3, self.sb3_s[b], b, n) / n
                t_step[f"kernel_{b}"] = one(self.t_kernel, b, n) / n
            for b in self.dummy_batches:
                n = self.n_dummy[b]
                t_step[f"dummy_{b}"] = single_threaded(self.t_sb3, self.dummy_s[b], b, n) / n
            # ---- thread scaling at B = 64: 1 thread and numba's threads, alternating
            t_gym_nt, t_gym_1t = thread_pair(self.t_gym, self.gym_s[THREAD_B], THREAD_B)
            t_kernel_nt, t_kernel_1t = thread_pair(self.t_kernel, THREAD_B)
            # ---- with resets: one whole episode cycle per env
            t_cycle: dict[str, float] = {}
            if with_resets:
                t_cycle["single"] = single_threaded(self.t_single, self.single_r, EPISODE_STEPS)
                for b in self.reset_batches:
                    one = single_threaded if b <= 8 else (lambda fn, *a: fn(*a))
                    t_cycle[f"gym_{b}"] = one(self.t_gym, self.gym_r[b], b, EPISODE_STEPS + 1)  # NEXT_STEP: +1 call
                    t_cycle[f"sb3_{b}"] = one(self.t_sb3, self.sb3_r[b], b, EPISODE_STEPS)
                for b in self.dummy_batches:
                    t_cycle[f"dummy_{b}"] = single_threaded(self.t_sb3, self.dummy_r[b], b, EPISODE_STEPS)
        r["others_cpu"], r["steal"] = load.others_cpu, load.steal

        # ---- rates and derived figures, within this repeat
        for key, t in t_step.items():
            kind, b = key.rsplit("_", 1)
            r[f"{kind}_s_{b}"] = int(b) / t
        r["gym_nt_64"] = THREAD_B / t_gym_nt
        r["gym_1t_64"] = THREAD_B / t_gym_1t
        r["thread_ratio_env"] = t_gym_1t / t_gym_nt
        r["kernel_1t_64"] = THREAD_B / t_kernel_1t
        r["kernel_nt_64"] = THREAD_B / t_kernel_nt
        r["thread_ratio_kernel"] = t_kernel_1t / t_kernel_nt
        for b in BATCHES:
            r[f"kernel_us_{b}"] = t_step[f"kernel_{b}"] * 1e6
            r[f"gym_over_{b}"] = (t_step[f"gym_{b}"] - t_step[f"kernel_{b}"]) * 1e6
            r[f"sb3_over_{b}"] = (t_step[f"sb3_{b}"] - t_step[f"kernel_{b}"]) * 1e6
            r[f"gym_over_share_{b}"] = 100.0 * (t_step[f"gym_{b}"] - t_step[f"kernel_{b}"]) / t_step[f"gym_{b}"]
        r["speedup_64"] = r[f"gym_s_{GOAL_B}"] / r["single_s"]
        r["speedup_256"] = r["gym_s_256"] / r["single_s"]
        if with_resets:
            r["single_r"] = EPISODE_STEPS / t_cycle["single"]
            r["single_reset_ms"] = (t_cycle["single"] - EPISODE_STEPS / r["single_s"]) * 1e3
            r["single_ep_ms"] = EPISODE_STEPS / r["single_s"] * 1e3
            for key, t in t_cycle.items():
                if key == "single":
                    continue
                kind, b = key.rsplit("_", 1)
                r[f"{kind}_r_{b}"] = EPISODE_STEPS * int(b) / t
            for b in self.reset_batches:
                # per env: the cycle minus 400 steps-only steps (for NEXT_STEP this includes the extra step call)
                r[f"gym_reset_ms_{b}"] = (t_cycle[f"gym_{b}"] - EPISODE_STEPS * t_step[f"gym_{b}"]) / b * 1e3
                r[f"gym_ep_ms_{b}"] = EPISODE_STEPS * t_step[f"gym_{b}"] / b * 1e3
        r["cpu_share"] = single_threaded.percent

        for name, envs in (("gym steps-only", self.gym_s), ("gym with resets", self.gym_r)):
            for b, env in envs.items():
                _check_finite(f"{name} B={b}", env.unwrapped.u)
        for b, (v, _, _) in self.kernel_state.items():
            _check_finite(f"kernel B={b}", v)
        return r


# --------------------------------------------------------------------------- report


def rows(b: Bench, keys: set[str]) -> list[tuple[str | None, str, str, int]]:
    """(key, label, unit, decimals) in table order; a key of None is a heading."""
    nt = b.n_threads
    out: list[tuple[str | None, str, str, int]] = [(None, "steps only (no time limit, no resets)", "", 0)]
    out.append(("single_s", "c  single env gym.make, Python loop", "env-steps/s", 0))
    for bb in BATCHES:
        out.append((f"gym_s_{bb}", f"a  gym.make_vec vector_entry_point, B={bb}", "env-steps/s", 0))
    for bb in BATCHES:
        out.append((f"sb3_s_{bb}", f"b  SB3 KSVecEnv, B={bb}", "env-steps/s", 0))
    for bb in b.dummy_batches:
        out.append((f"dummy_s_{bb}", f"d  SB3 DummyVecEnv of single envs, B={bb}", "env-steps/s", 0))
    for bb in BATCHES:
        out.append((f"kernel_s_{bb}", f"k  kernel ks_control_interval_batch, B={bb}", "env-steps/s", 0))
    out.append(("speedup_64", f"   a B={GOAL_B} / c (single env)", "x", 1))
    out.append(("speedup_256", "   a B=256 / c (single env)", "x", 1))
    out.append((None, f"threads at B={THREAD_B} (steps only; 1 and {nt} threads alternate every {THREAD_CHUNK} steps)", "", 0))
    out.append(("gym_nt_64", f"a  gym.make_vec, B={THREAD_B}, {nt} threads", "env-steps/s", 0))
    out.append(("gym_1t_64", f"a  gym.make_vec, B={THREAD_B}, 1 thread", "env-steps/s", 0))
    out.append(("thread_ratio_env", f"   ratio {nt} threads / 1 thread (env)", "x", 2))
    out.append(("kernel_nt_64", f"k  kernel, B={THREAD_B}, {nt} threads", "env-steps/s", 0))
    out.append(("kernel_1t_64", f"k  kernel, B={THREAD_B}, 1 thread", "env-steps/s", 0))
    out.append(("thread_ratio_kernel", f"   ratio {nt} threads / 1 thread (kernel)", "x", 2))
    out.append((None, "where the time goes, per batched step (steps only)", "", 0))
    for bb in BATCHES:
        out.append((f"kernel_us_{bb}", f"k  kernel call, B={bb}", "us/call", 1))
    for bb in BATCHES:
        out.append((f"gym_over_{bb}", f"   a - k: Python overhead, B={bb}", "us/step", 1))
    for bb in BATCHES:
        out.append((f"gym_over_share_{bb}", f"   a - k share of a, B={bb}", "%", 0))
    for bb in BATCHES:
        out.append((f"sb3_over_{bb}", f"   b - k: Python overhead, B={bb}", "us/step", 1))
    if "single_r" in keys:
        out.append((None, f"with resets ({EPISODE_STEPS}-step episodes, burn_in=100: 2000 solver steps per reset)", "", 0))
        out.append(("single_r", "c  single env gym.make, Python loop", "env-steps/s", 0))
        for bb in b.reset_batches:
            out.append((f"gym_r_{bb}", f"a  gym.make_vec vector_entry_point, B={bb}", "env-steps/s", 0))
        for bb in b.reset_batches:
            out.append((f"sb3_r_{bb}", f"b  SB3 KSVecEnv, B={bb}", "env-steps/s", 0))
        for bb in b.dummy_batches:
            out.append((f"dummy_r_{bb}", f"d  SB3 DummyVecEnv of single envs, B={bb}", "env-steps/s", 0))
        out.append(("single_reset_ms", "c  reset cost per env (cycle - 400 steps)", "ms/reset", 2))
        out.append(("single_ep_ms", "c  400 steps (steps only), per env", "ms", 2))
        for bb in b.reset_batches:
            out.append((f"gym_reset_ms_{bb}", f"a  reset cost per env, B={bb}", "ms/reset", 3))
            out.append((f"gym_ep_ms_{bb}", f"a  400 steps (steps only) per env, B={bb}", "ms", 3))
    out.append((None, "load checks", "", 0))
    out.append(("cpu_share", "thread CPU / wall, single-threaded timings", "%", 0))
    out.append(("others_cpu", "CPU of other processes during the repeat, % of 1 core", "%", 0))
    out.append(("steal", "CPU stolen by the host (steal) during the repeat", "%", 0))
    return out


def main(argv: list[str] | None = None) -> int:
    args, repeats = benchmark_args(__doc__, 5, "half the samples, 3 repeats, no DummyVecEnv, no B=256 with resets (10-15 s)", argv)
    bench, run = measure(lambda: Bench(quick=args.quick, seed=args.seed), repeats)
    info = run.machine
    info["stable_baselines3"] = package_version("stable-baselines3")
    for var in ("OMP_WAIT_POLICY", "NUMBA_THREADING_LAYER"):
        info[var] = os.environ.get(var, "unset")

    print(f"chaoscontrol batched-env benchmark  {run.started:%Y-%m-%d %H:%M} UTC  repeats={repeats}{'  (--quick)' if args.quick else ''}")
    print(
        f"{ENV_ID}: frame_skip={FRAME_SKIP} (one env-step = {FRAME_SKIP} solver steps), KS L=22 N=64 dt=0.05, "
        f"4 actuators, 8 sensors; rates count B env-steps per batched step"
    )
    print(cpu_line(info))
    print(
        f"python {info['python']}, numpy {info['numpy']}, numba {info['numba']} "
        f"({info['numba_num_threads']} threads, {info['numba_threading_layer']} layer), "
        f"rocket-fft {info['rocket_fft']}, gymnasium {info['gymnasium']}, stable-baselines3 {info['stable_baselines3']}"
    )
    print(
        f"NUMBA_NUM_THREADS={info['NUMBA_NUM_THREADS']}, NUMBA_THREADING_LAYER={info['NUMBA_THREADING_LAYER']}, "
        f"OMP_WAIT_POLICY={info['OMP_WAIT_POLICY']}"
    )
    print()
    results = print_table(rows(bench, set(run.samples)), run.samples, GOALS, 56, 12)
    print()
    print(
        goals_line(GOALS, results)
        + f"  (judged on the medians; env-steps/s goals on the steps-only rates at B={GOAL_B}, "
        f"thread scaling on the Gymnasium vector env at B={THREAD_B})"
    )
    quiet = quiet_repeats(run.samples)
    print(
        f"{quiet} of {repeats} repeats ran on a quiet machine (other processes < {QUIET_OTHERS:.0f} % of one core)"
        + ("." if quiet == repeats else "; in the others the 2-thread figures can be several times too slow "
           "(see docs/performance.md).")
    )
    d = run.durations
    print(f"set-up {d['setup_s']:.1f} s, warm-up {d['warm_up_s']:.1f} s, total {d['total_s']:.1f} s.")

    if args.json is not None:
        sizes = {
            "steps_only_batched_steps_per_repeat": {str(k): v for k, v in bench.n_steps.items()},
            "single_env_steps_per_repeat": bench.n_single,
            "dummy_batched_steps_per_repeat": {str(k): v for k, v in bench.n_dummy.items() if k in bench.dummy_batches},
            "with_resets": "one episode cycle per env and repeat (400 step calls; 401 for the Gymnasium vector env)",
        }
        config = {"env": ENV_ID, "frame_skip": FRAME_SKIP, "episode_steps": EPISODE_STEPS, "batches": list(BATCHES)}
        write_json(args.json, json_payload(
            run.started, argv, info, results, repeats=repeats, quick=args.quick, config=config, sizes=sizes,
            goals=goals_section(GOALS, results), quiet_repeats=quiet, **d,
        ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
