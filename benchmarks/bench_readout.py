"""The off-grid sensor read-out of a batched env: the Numba row product against BLAS's, in one run.

    .venv/bin/python benchmarks/bench_readout.py                         # KS-L100-Control-v0, 64 envs
    .venv/bin/python benchmarks/bench_readout.py --env KS-L66-Control-v0 --num-envs 256 --repeats 9

Times a whole batched ``step`` (the parallel Numba kernel, then the read-out of the off-grid sensors) with the
observer's product done by :func:`chaoscontrol.solvers.actuation.interpolate_rows` (what the env does) and by
``fields @ matrix.T`` (OpenBLAS, what it did before), alternating the two within each repeat, best of 5 rounds of
20 steps each; the table gives the medians over repeats. Right after a parallel Numba kernel OpenBLAS's threads
contend with Numba's on a small machine; the ratio shows what that costs here.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def step_ms(venv, actions: np.ndarray, rounds: int = 5, steps: int = 20) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(steps):
            venv.step(actions)
        best = min(best, (time.perf_counter() - t0) / steps)
    return best * 1e3


def main() -> int:
    import chaoscontrol  # noqa: F401
    from chaoscontrol.envs.observation import PointSensors
    from chaoscontrol.envs.registration import make_vector_env

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="KS-L100-Control-v0", help="a registered id with off-grid point sensors")
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    venv = make_vector_env(args.env, args.num_envs, max_episode_steps=None, autoreset_mode="Disabled", burn_in=1.0)
    observer = venv.template.observer
    if not isinstance(observer, PointSensors) or observer.matrix is None:
        p.error(f"{args.env}'s sensors lie on grid points: there is no product to time")
    venv.reset(seed=0)
    actions = np.zeros((args.num_envs, venv.single_action_space.shape[0]))
    numba_call = type(observer).__call__

    def blas_call(self, fields, clip):
        return np.clip((fields @ self.matrix.T).astype(np.float32), -self.bound, self.bound)

    rows = {"numba": [], "blas": []}
    for _ in range(args.repeats):
        for name, call in (("numba", numba_call), ("blas", blas_call)):
            observer.__class__ = type("Timed", (PointSensors,), {"__call__": call})
            step_ms(venv, actions, rounds=1, steps=3)  # warm
            rows[name].append(step_ms(venv, actions))
    observer.__class__ = PointSensors
    n, b = statistics.median(rows["numba"]), statistics.median(rows["blas"])
    print(f"{args.env}, {args.num_envs} envs, {args.repeats} repeats (medians of the best of 5 x 20 steps)")
    print(f"batched step with the Numba read-out: {n:.2f} ms ({n / args.num_envs * 1e3:.1f} us per env-step)")
    print(f"batched step with the BLAS read-out:  {b:.2f} ms ({b / args.num_envs * 1e3:.1f} us per env-step)")
    print(f"BLAS / Numba: {b / n:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
