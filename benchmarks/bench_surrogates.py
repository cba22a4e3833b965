"""Speed benchmark of trained surrogate checkpoints against the Numba truth (transitions per second).

Run from the repository root::

    .venv/bin/python benchmarks/bench_surrogates.py runs/study/*/model.pt   # ~10 s + 2 s per model
    .venv/bin/python benchmarks/bench_surrogates.py runs/study/spectral/model.pt --quick   # ~8 s
    .venv/bin/python benchmarks/bench_surrogates.py A/model.pt B/model.pt --batches 1 64 256 \\
        --json runs/bench_surrogates.json
    NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_surrogates.py M/model.pt   # truth on 1 thread too

The checkpoints are ``model.pt`` files written by ``chaoscontrol surrogate
train`` (read with :func:`chaoscontrol.surrogates.train.load_surrogate`); all
of them must share one dynamics configuration (L, N, dt, frame_skip, actuators,
actuator_width, max_forcing), which sets the truth they are compared with.
One transition is one control interval (frame_skip solver steps) of one
system; a call on B states counts B transitions. What is timed, for every
batch size B (``--batches``, default 1 256):

- (m) every checkpoint: ``with torch.no_grad(): model(u, a)`` on float32
  tensors, u (B, N) = B states on the attractor (the same every call) and
  a (B, n_act) uniform in [-1, 1] (8 batches drawn once, used in turn);
- (k) the truth kernel: ``ks_control_interval_batch`` called as
  :func:`chaoscontrol.surrogates.metrics.truth_throughput` calls it for the
  surrogate evaluation's speed figures: on a fresh copy (``.copy()``, timed) of the spectra of the same
  B states each call, the same actions in float64, and the env's forcing basis,
  max_forcing, coefficients, frame_skip and wavenumbers;
- (e) the truth env: ``KSControlVectorEnv(num_envs=B, max_episode_steps=None,
  autoreset_mode="Disabled").step(actions)`` with the same actions (float32),
  its state evolving (env-steps per second);
- the ratio m / k, computed within each repeat: the surrogate's speed-up over
  the truth kernel, measured against a reference timed in the same run.

The attractor states come from one ``KSControlVectorEnv`` at the largest B,
reset with ``--seed`` (burn-in as configured); the smaller B take its first rows.

Threads: ``--torch-threads T`` calls ``torch.set_num_threads(T)`` at start
(default 1, so that the model runs on one core, like the truth kernel at B = 1
and the single-threaded truth under ``NUMBA_NUM_THREADS=1``; 0 keeps the
process's default, i.e. OMP_NUM_THREADS or the number of cores). The truth
runs on numba's threads (``NUMBA_NUM_THREADS``, default all cores); at B = 256
it therefore uses all cores unless NUMBA_NUM_THREADS=1 is set, so with the
defaults the ratio at B = 256 compares one torch thread against all of numba's.
Numba's OpenMP layer changes torch's thread count when its first parallel
kernel runs, so every truth call (set-up, warm-up and timing) runs inside
:func:`chaoscontrol.surrogates.threads.torch_threads_kept`; the header prints
both thread counts, and the script checks that torch's stayed as set.

Sampling: during the warm-up every measurement is calibrated to a fixed number
of calls that takes at least ~0.2 s (0.05 s with ``--quick``); every repeat
then runs all measurements once, in turn (round robin), so that a change of
machine load hits them all alike; the table shows the median, min and max over
repeats. The garbage collector is off while timing; clocks are
``time.perf_counter``. Load check: from ``/proc/stat``, the CPU that
everything else on the machine used while each repeat ran (% of one core).

Caveat: these are CPU figures, measured on a shared 2-core machine where other
jobs (training runs) often run; read the medians, and prefer the ratio rows,
whose two sides are timed in the same repeat, over the absolute rates, which
move with the load. Nothing here runs on a GPU.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
import torch

from _common import (  # benchmarks/_common.py (the script's folder)
    QUIET_OTHERS,
    OtherLoad,
    benchmark_parser,
    cpu_line,
    gc_paused,
    json_payload,
    measure,
    parse_benchmark_args,
    print_table,
    quiet_repeats,
    write_json,
)

from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.solvers.control import N_DIAG
from chaoscontrol.surrogates.dataset import DYNAMICS_KEYS
from chaoscontrol.surrogates.threads import torch_threads_kept
from chaoscontrol.surrogates.train import load_surrogate

DEFAULT_BATCHES = (1, 256)
N_ACTION_BATCHES = 8  # action batches drawn once per B, used in turn
TARGET_S = 0.2  # seconds per measurement and repeat (at least, approximately)
TARGET_QUICK_S = 0.05
DEFAULT_REPEATS = 5
MAX_CALLS = 1 << 20


# --------------------------------------------------------------------------- command line


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    return parse


def _add_own_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("models", nargs="+", type=Path, metavar="MODEL",
                   help="surrogate checkpoints (model.pt of `chaoscontrol surrogate train`), one dynamics configuration")
    p.add_argument("--batches", nargs="+", type=_int_at_least(1), default=list(DEFAULT_BATCHES), metavar="B",
                   help=f"batch sizes (default {' '.join(map(str, DEFAULT_BATCHES))}; give them after the models)")
    p.add_argument("--torch-threads", type=_int_at_least(0), default=1, metavar="T",
                   help="torch.set_num_threads(T) at start (default 1: the model on one core; 0 keeps the process's default)")


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, int, argparse.ArgumentParser]:
    """The benchmark arguments (benchmarks/_common.py) with this script's checkpoints, ``--batches`` and ``--torch-threads``.

    :return: (args, repeats, the parser, for errors found after parsing).
    """
    parser = benchmark_parser(__doc__, DEFAULT_REPEATS, "calls of ~0.05 s instead of ~0.2 s, 3 repeats", _add_own_arguments)
    args, repeats = parse_benchmark_args(parser, argv)
    args.batches = list(dict.fromkeys(args.batches))  # drop repeats, keep the order
    return args, repeats, parser


def load_models(paths: list[Path], parser: argparse.ArgumentParser) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Load every checkpoint (all on the first one's dynamics configuration); a bad file is a parser error."""
    models: list[dict[str, Any]] = []
    env_config: dict[str, Any] | None = None
    for path in paths:
        if not path.is_file():
            parser.error(f"argument MODEL: surrogate checkpoint {str(path)!r} does not exist")
        try:
            model, cfg = load_surrogate(path, expect_env_config=env_config)
        except ValueError as exc:
            msg = str(exc)
            if env_config is not None and "another configuration" in msg:
                msg += f" (the first checkpoint, {str(paths[0])!r}, sets the configuration)"
            parser.error(f"argument MODEL: {msg}")
        if env_config is None:
            env_config = cfg
        models.append({
            "path": str(path), "model": model, "family": model.config.family,
            "params": model.n_parameters(), "config": model.config.to_dict(),
        })
    assert env_config is not None
    # Row labels: family and parent folder; the whole path where two would read the same.
    labels = [f"{m['family']} ({Path(m['path']).parent})" for m in models]
    for m, label in zip(models, labels):
        m["label"] = label if labels.count(label) == 1 else f"{m['family']} ({m['path']})"
    return models, env_config


# --------------------------------------------------------------------------- set-up


class Bench:
    """Truth envs, inputs, call counts and timed blocks of all measurements."""

    def __init__(self, models: list[dict[str, Any]], env_config: dict[str, Any], batches: list[int], quick: bool, seed: int) -> None:
        self.models = models
        self.batches = batches
        self.target_s = TARGET_QUICK_S if quick else TARGET_S
        self.env_kwargs = {k: env_config[k] for k in DYNAMICS_KEYS}

        bmax = max(batches)
        self.venvs: dict[int, KSControlVectorEnv] = {}
        with torch_threads_kept():  # the burn-in runs numba's parallel kernel
            big = KSControlVectorEnv(num_envs=bmax, max_episode_steps=None, autoreset_mode="Disabled", **self.env_kwargs)
            big.reset(seed=seed)
            u0 = big.u
            for b in batches:
                if b == bmax:
                    self.venvs[b] = big
                else:
                    env = KSControlVectorEnv(num_envs=b, max_episode_steps=None, autoreset_mode="Disabled", **self.env_kwargs)
                    env.reset(seed=seed, options={"u0": u0[:b]})
                    self.venvs[b] = env
        t = big.template
        self.n_act = big.single_action_space.shape[0]
        self.N = u0.shape[1]
        self.truth = t.truth  # the KS dynamics whose advance is timed
        self.interval = t.frame_skip * env_config["dt"]

        rng = np.random.default_rng([seed, 7])
        self.actions32: dict[int, np.ndarray] = {}
        self.actions64: dict[int, np.ndarray] = {}
        self.actions_t: dict[int, list[torch.Tensor]] = {}
        self.u_t: dict[int, torch.Tensor] = {}
        self.v0: dict[int, np.ndarray] = {}
        self.out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for b in batches:
            a = rng.uniform(-1.0, 1.0, (N_ACTION_BATCHES, b, self.n_act))
            self.actions32[b] = a.astype(np.float32)
            self.actions64[b] = a.astype(np.float32).astype(np.float64)  # the same values the env passes on
            self.actions_t[b] = [torch.from_numpy(x.copy()) for x in self.actions32[b]]
            self.u_t[b] = torch.as_tensor(u0[:b], dtype=torch.float32)
            self.v0[b] = np.fft.rfft(u0[:b], axis=-1)
            self.out[b] = (np.zeros((b, self.N)), np.zeros((b, N_DIAG)))
        #: calls per repeat of each measurement, set by :meth:`warm_up`
        self.n_calls: dict[str, int] = {}

    # ------------------------------------------------------------------ timed blocks

    def t_model(self, i: int, b: int, n: int) -> float:
        """Seconds for ``n`` calls of model ``i`` on B states."""
        model = self.models[i]["model"]
        u, acts = self.u_t[b], self.actions_t[b]
        k = len(acts)
        with torch.no_grad():
            t0 = time.perf_counter()
            for j in range(n):
                model(u, acts[j % k])
            return time.perf_counter() - t0

    def t_kernel(self, b: int, n: int) -> float:
        """Seconds for ``n`` calls of ks_control_interval_batch on copies of the B start states."""
        v0, acts = self.v0[b], self.actions64[b]
        uo, do = self.out[b]
        advance = self.truth.advance
        k = len(acts)
        with torch_threads_kept():
            t0 = time.perf_counter()
            for j in range(n):
                advance(v0.copy(), uo, acts[j % k], do)
            elapsed = time.perf_counter() - t0
        if not np.all(np.isfinite(uo)):
            raise RuntimeError(f"truth kernel B={b}: state is not finite")
        return elapsed

    def t_env(self, b: int, n: int) -> float:
        """Seconds for ``n`` steps of the truth vector env of B envs."""
        env, acts = self.venvs[b], self.actions32[b]
        step = env.step
        k = len(acts)
        n_term = 0
        with torch_threads_kept():
            t0 = time.perf_counter()
            for j in range(n):
                _, _, terminated, _, _ = step(acts[j % k])
                n_term += terminated.any()
            elapsed = time.perf_counter() - t0
        if n_term:
            raise RuntimeError(f"blow-up in the truth env (B={b}) during the benchmark")
        return elapsed

    def measurements(self) -> list[tuple[str, int, Callable[[int], float]]]:
        """(key, B, timed block of n calls) in round-robin order: per B the kernel, the env, then every model."""
        out: list[tuple[str, int, Callable[[int], float]]] = []
        for b in self.batches:
            out.append((f"kernel_{b}", b, lambda n, b=b: self.t_kernel(b, n)))
            out.append((f"env_{b}", b, lambda n, b=b: self.t_env(b, n)))
            for i in range(len(self.models)):
                out.append((f"model{i}_{b}", b, lambda n, i=i, b=b: self.t_model(i, b, n)))
        return out

    # ------------------------------------------------------------------ warm-up

    def warm_up(self) -> None:
        """Compile (or load from numba's cache), run every block, and fix its calls per repeat (>= target_s)."""
        for key, _, fn in self.measurements():
            fn(2)
            n = 1
            while True:
                t = fn(n)
                if t >= self.target_s / 4 or n >= MAX_CALLS:
                    break
                n *= 2
            self.n_calls[key] = max(1, min(MAX_CALLS, math.ceil(n * self.target_s / max(t, 1e-9))))

    # ------------------------------------------------------------------ one repeat

    def time_all(self) -> dict[str, float]:
        """One repeat of every measurement; returns the figures of this repeat."""
        r: dict[str, float] = {}
        with OtherLoad() as load, gc_paused():
            for key, b, fn in self.measurements():
                n = self.n_calls[key]
                r[f"{key}_s"] = n * b / fn(n)
        r["others_cpu"] = load.others_cpu
        for b in self.batches:
            for i in range(len(self.models)):
                r[f"ratio{i}_{b}"] = r[f"model{i}_{b}_s"] / r[f"kernel_{b}_s"]
        return r


# --------------------------------------------------------------------------- report


def rows(bench: Bench) -> list[tuple[str | None, str, str, int]]:
    """(key, label, unit, decimals) in table order; a key of None is a heading."""
    out: list[tuple[str | None, str, str, int]] = []
    for b in bench.batches:
        out.append((None, f"B={b}", "", 0))
        out.append((f"kernel_{b}_s", f"k  truth kernel ks_control_interval_batch, B={b}", "transitions/s", 0))
        out.append((f"env_{b}_s", f"e  truth env KSControlVectorEnv.step, B={b}", "env-steps/s", 0))
        for i, m in enumerate(bench.models):
            out.append((f"model{i}_{b}_s", f"m  {m['label']}, B={b}", "transitions/s", 0))
        for i, m in enumerate(bench.models):
            out.append((f"ratio{i}_{b}", f"   m / k: {m['label']}, B={b}", "x", 3))
    out.append((None, "load check", "", 0))
    out.append(("others_cpu", "CPU of other processes during the repeat, % of 1 core", "%", 0))
    return out


def main(argv: list[str] | None = None) -> int:
    args, repeats, parser = parse_args(argv)
    models, env_config = load_models(args.models, parser)  # a bad checkpoint stops here, before any work
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    torch_threads = torch.get_num_threads()

    bench, run = measure(lambda: Bench(models, env_config, args.batches, quick=args.quick, seed=args.seed), repeats)
    if torch.get_num_threads() != torch_threads:
        raise RuntimeError(f"torch's thread count changed from {torch_threads} to {torch.get_num_threads()} while timing")
    info = run.machine
    info["torch"] = torch.__version__
    info["torch_num_threads"] = torch_threads
    info["torch_threads_source"] = "--torch-threads" if args.torch_threads else "process default"
    for var in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "NUMBA_THREADING_LAYER"):
        info[var] = os.environ.get(var, "unset")

    ec = env_config
    print(f"chaoscontrol surrogate speed benchmark  {run.started:%Y-%m-%d %H:%M} UTC  repeats={repeats}{'  (--quick)' if args.quick else ''}")
    print(
        f"truth: KS L={ec['L']:g} N={ec['N']} dt={ec['dt']:g}, frame_skip={ec['frame_skip']} (one transition = "
        f"{bench.interval:g} time units), {bench.n_act} actuators, width {ec['actuator_width']:g}, "
        f"max_forcing {ec['max_forcing']:g}; rates count B transitions per call"
    )
    print("models:")
    for m in models:
        print(f"  {m['label']}: {m['params']:,} parameters  ({m['path']})")
    print(cpu_line(info))
    print(
        f"python {info['python']}, numpy {info['numpy']}, numba {info['numba']}, torch {info['torch']}, "
        f"rocket-fft {info['rocket_fft']}"
    )
    print(
        f"threads: torch {torch_threads} ({info['torch_threads_source']}), numba {info['numba_num_threads']} "
        f"({info['numba_threading_layer']} layer); OMP_NUM_THREADS={info['OMP_NUM_THREADS']}, "
        f"NUMBA_NUM_THREADS={info['NUMBA_NUM_THREADS']}"
    )
    print()
    label_width = max(56, *(len(label) for _, label, _, _ in rows(bench)))
    results = print_table(rows(bench), run.samples, {}, label_width, 14)
    print()
    quiet = quiet_repeats(run.samples)
    print(
        f"{quiet} of {repeats} repeats ran on a quiet machine (other processes < {QUIET_OTHERS:.0f} % of one core); "
        "CPU figures on a shared machine: read the medians and the m / k ratios."
    )
    d = run.durations
    print(f"set-up {d['setup_s']:.1f} s, warm-up {d['warm_up_s']:.1f} s, total {d['total_s']:.1f} s.")

    if args.json is not None:
        config = {
            "env": {k: env_config[k] for k in DYNAMICS_KEYS},
            "batches": bench.batches,
            "torch_threads": torch_threads,
            "numba_threads": numba.get_num_threads(),
            "seed": args.seed,
        }
        sizes = {
            "calls_per_repeat": dict(bench.n_calls),
            "target_s_per_measurement": bench.target_s,
            "action_batches": N_ACTION_BATCHES,
        }
        write_json(args.json, json_payload(
            run.started, argv, info, results, repeats=repeats, quick=args.quick, config=config,
            models=[{k: m[k] for k in ("path", "label", "family", "params", "config")} for m in models],
            sizes=sizes, quiet_repeats=quiet, **d,
        ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
