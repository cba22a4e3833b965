"""A/B speed of the env against another commit, in one run: single env.step/s, batched env-steps/s, surrogate env.

    .venv/bin/python benchmarks/bench_ab.py --ref 18df285          # the commit before the env-core redesign
    .venv/bin/python benchmarks/bench_ab.py --ref HEAD~3 --repeats 9 --json runs/ab.json

The reference commit's package is exported (``git archive``) into a temporary
folder; each repeat runs one child process per tree, alternating A, B, B, A,
..., each with ``PYTHONPATH`` on its tree, so that machine load hits both. A
child compiles (or loads from Numba's cache) and warms up everything first,
then times, as the best of 7 rounds (3 for the surrogate; one round alone is tens of milliseconds):

- ``single``: ``env.step`` through ``gym.make("KS-Control-v0")``, 2 x 400 steps of
  fixed random actions (steps/s);
- ``batched``: ``gym.make_vec(..., num_envs=64, vectorization_mode="vector_entry_point")``,
  200 steps (env-steps/s);
- ``surrogate``: ``gym.make("KS-Control-v0", surrogate=CKPT)`` for an untrained
  ``spectral`` surrogate written once for the run (steps/s; the weights do not
  change the cost).

The table gives, per measurement, the median over repeats of each tree's rate and
of the per-repeat ratio new / ref (within a repeat the two runs are adjacent).
Threads: ``NUMBA_NUM_THREADS``/``OMP_NUM_THREADS`` are passed through as set; run with
``OMP_NUM_THREADS=1`` on a shared machine (two torch threads contending with other processes
make the surrogate's figure mostly a measure of the load).
The repeats, the machine information and the ``--json`` document are those of
benchmarks/_common.py (the children turn the garbage collector off themselves).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import benchmark_args, fmt, json_payload, load_average, machine_info, round_robin, write_json

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import gc, json, sys, time
import numpy as np
import gymnasium as gym
import chaoscontrol

ckpt, seed = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(seed)
actions = rng.uniform(-1, 1, (400, 4)).astype(np.float32)
vec_actions = rng.uniform(-1, 1, (200, 64, 4))

def single(env, episodes=2):
    t = 0.0
    for _ in range(episodes):
        env.reset(seed=seed)
        t0 = time.perf_counter()
        for a in actions:
            env.step(a)
        t += time.perf_counter() - t0
    return episodes * len(actions) / t

def batched(venv):
    venv.reset(seed=seed)
    t0 = time.perf_counter()
    for a in vec_actions:
        venv.step(a)
    return vec_actions.shape[0] * vec_actions.shape[1] / (time.perf_counter() - t0)

envs = {
    "single": gym.make("KS-Control-v0"),
    "batched": gym.make_vec("KS-Control-v0", num_envs=64, vectorization_mode="vector_entry_point", max_episode_steps=None),
    "surrogate": gym.make("KS-Control-v0", surrogate=ckpt),
}
single(envs["single"], 1); batched(envs["batched"]); single(envs["surrogate"], 1)  # warm-up
gc.disable()
# Best of ROUNDS timed rounds per measurement: one round is tens of milliseconds, so a single one mostly measures
# whether the process kept its core; the best round is the cost of the code (as timeit's min).
ROUNDS = 7
out = {"single": max(single(envs["single"]) for _ in range(ROUNDS)),
       "batched": max(batched(envs["batched"]) for _ in range(ROUNDS)),
       "surrogate": max(single(envs["surrogate"], 1) for _ in range(3))}
print(json.dumps(out))
"""


def export_tree(rev: str, dest: Path) -> Path:
    """The package of commit ``rev`` exported into ``dest`` (``git archive``)."""
    archive = subprocess.run(["git", "archive", rev, "chaoscontrol"], cwd=ROOT, capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"error: --ref {rev!r} is not a commit of this repository: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def write_checkpoint(path: Path) -> None:
    """An untrained spectral surrogate of the default env (the cost of a call does not depend on the weights)."""
    import numpy as np

    from chaoscontrol.envs.ks_control import KSControlEnv
    from chaoscontrol.solvers.attractor import attractor_rms
    from chaoscontrol.surrogates.models import build_model, make_config
    from chaoscontrol.surrogates.train import save_surrogate

    env = KSControlEnv()
    model = build_model(make_config("spectral"), env.forcing_fields(np.eye(env.dynamics.n_actions)), attractor_rms())
    save_surrogate(model, env.config_dict(), path)


def run_child(tree: Path, ckpt: Path, seed: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    res = subprocess.run([sys.executable, "-c", CHILD, str(ckpt), str(seed)], env=env, capture_output=True, text=True,
                         timeout=600, cwd=tree)
    if res.returncode != 0:
        raise SystemExit(f"error: the benchmark child failed in {tree}:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    args, repeats = benchmark_args(
        __doc__, 7, "3 repeats", argv,
        add_arguments=lambda p: p.add_argument("--ref", default="18df285", help="the reference commit (default 18df285)"),
    )
    names = ("single", "batched", "surrogate")
    started, load_before = dt.datetime.now(dt.timezone.utc), load_average()
    with tempfile.TemporaryDirectory(prefix="bench_ab_") as tmp:
        tmp = Path(tmp)
        trees = {"ref": export_tree(args.ref, Path(tempfile.mkdtemp(dir=tmp))), "new": ROOT}
        ckpt = tmp / "spectral.pt"
        write_checkpoint(ckpt)
        counter = itertools.count()

        def one_repeat() -> dict[str, float]:
            """Both trees, in the order A, B then B, A: the figures of this repeat as ``tree/name``."""
            r = next(counter)
            out = {}
            for tree in (("ref", "new") if r % 2 == 0 else ("new", "ref")):
                out.update({f"{tree}/{name}": value for name, value in run_child(trees[tree], ckpt, args.seed).items()})
            print(f"repeat {r + 1}/{repeats} done", file=sys.stderr)
            return out

        flat = round_robin(one_repeat, repeats)
    samples = {tree: {n: flat[f"{tree}/{n}"] for n in names} for tree in ("ref", "new")}
    results = {}
    print(f"A/B against {args.ref}, {repeats} repeats (medians)")
    print(f"{'measurement':<12} {'unit':<14} {'ref':>10} {'new':>10} {'new/ref':>8} {'min':>6} {'max':>6}")
    for name in names:
        ratios = [n / o for n, o in zip(samples["new"][name], samples["ref"][name])]
        ref_med, new_med, ratio = (statistics.median(samples["ref"][name]), statistics.median(samples["new"][name]),
                                   statistics.median(ratios))
        unit = "env-steps/s" if name == "batched" else "steps/s"
        print(f"{name:<12} {unit:<14} {fmt(ref_med, 0):>10} {fmt(new_med, 0):>10} {ratio:>8.3f} {min(ratios):>6.3f} "
              f"{max(ratios):>6.3f}")
        results[name] = {"unit": unit, "ref": samples["ref"][name], "new": samples["new"][name], "ratios": ratios,
                         "ref_median": ref_med, "new_median": new_med, "ratio_median": ratio}
    if args.json is not None:
        write_json(args.json, json_payload(started, argv, machine_info(load_before), results, ref=args.ref, repeats=repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
