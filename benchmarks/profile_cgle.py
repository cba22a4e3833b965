"""Where CGLE-Control-v0's control interval spends its time, next to KS-Control-v0's (one thread, per state).

    .venv/bin/python benchmarks/profile_cgle.py              # 9 repeats, about 10 s
    .venv/bin/python benchmarks/profile_cgle.py --repeats 3

Both at their registered defaults: N = 64, dt = 0.05, frame_skip = 5 (5 ETDRK4 steps of 8 FFTs each per env step,
and one inverse FFT for the read-out). KS's transforms are real (33 modes), CGLE's complex (64 modes). Each part
is timed on a block of rows as the batch kernel runs it (CGLE: ``CGLE_BLOCK_ROWS``, KS: 32, the default block),
in thread CPU time (which other processes disturb less than the wall clock), round robin over the repeats; the
table gives medians (us per state and control interval) and, within each repeat, the shares and the ratio to KS.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numba
import numpy as np
from rocket_fft import c2c

from chaoscontrol.solvers.actuation import spectral_forcing_rows
from chaoscontrol.solvers.blocks import MAX_BLOCK_ROWS
from chaoscontrol.solvers.cgle import cgle_etdrk4_steps_rows
from chaoscontrol.solvers.cgle_control import CGLE_BLOCK_ROWS, N_DIAG, cgle_control_rows, cgle_field_rows
from chaoscontrol.solvers.cgle_dynamics import CGLEDynamics
from chaoscontrol.solvers.control import ks_control_rows
from chaoscontrol.solvers.ks import ks_etdrk4_steps_rows
from chaoscontrol.solvers.ks_dynamics import KSDynamics


@numba.njit(cache=True)
def _cgle_step_ffts(v: np.ndarray, n_steps: int) -> None:
    """The 8 complex FFTs of ``n_steps`` CGLE steps on a block (R, N), nothing else."""
    axes = np.array([1], dtype=np.int64)
    phys = np.empty_like(v)
    out = np.empty_like(v)
    n = v.shape[1]
    for _ in range(n_steps):
        for _stage in range(4):
            c2c(v, phys, axes, False, 1.0 / n, 1)
            c2c(phys, out, axes, True, 1.0, 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=9)
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    cg, ks = CGLEDynamics(burn_in=20.0), KSDynamics(burn_in=20.0)
    rc, rk = CGLE_BLOCK_ROWS, MAX_BLOCK_ROWS
    rng = np.random.default_rng(0)
    v0 = cg.random_states([np.random.default_rng(i) for i in range(rc)])
    vk0 = ks.random_states([np.random.default_rng(i) for i in range(rk)])
    ac, ak = rng.uniform(-1, 1, (rc, cg.n_actions)), rng.uniform(-1, 1, (rk, ks.n_actions))
    fields, diag, fhat = np.empty((rc, 2, cg.config.N)), np.empty((rc, N_DIAG)), np.empty_like(v0)
    u, dk = np.empty((rk, ks.config.N)), np.empty((rk, 5))
    spectral_forcing_rows(ac, cg.forcing_basis, cg.max_forcing, fhat)
    fk = np.zeros_like(vk0)
    n_steps = cg.frame_skip
    v, w = v0.copy(), vk0.copy()
    parts = {
        "CGLE interval (cgle_control_rows)": (rc, lambda: cgle_control_rows(
            v, ac, cg.forcing_basis, cg.max_forcing, cg.coeffs, cg.g, n_steps, fields, diag)),
        "  forcing law (spectral_forcing_rows, 32 channels)": (rc, lambda: spectral_forcing_rows(
            ac, cg.forcing_basis.view(np.float64), cg.max_forcing, fhat.view(np.float64))),
        "  5 ETDRK4 steps (cgle_etdrk4_steps_rows)": (rc, lambda: cgle_etdrk4_steps_rows(
            v, fhat, cg.coeffs, cg.g, n_steps)),
        "    their 40 complex FFTs alone": (rc, lambda: _cgle_step_ffts(v, n_steps)),
        "  field and diagnostics (cgle_field_rows)": (rc, lambda: cgle_field_rows(v, fhat, fields, diag)),
    }
    ks_parts = {
        "KS interval (ks_control_rows)": (rk, lambda: ks_control_rows(
            w, ak, ks.forcing_basis, ks.max_forcing, ks.coeffs, n_steps, ks.k, u, dk)),
        "  5 ETDRK4 steps (ks_etdrk4_steps_rows)": (rk, lambda: ks_etdrk4_steps_rows(w, fk, ks.coeffs, n_steps)),
    }
    parts.update(ks_parts)
    calls = 20
    samples: dict[str, list[float]] = {k: [] for k in parts}
    for _ in range(args.repeats + 1):  # the first round compiles and warms up, not kept
        for name, (rows, f) in parts.items():
            t0 = time.thread_time()
            for _ in range(calls):
                f()
            samples[name].append((time.thread_time() - t0) / (calls * rows) * 1e6)
    samples = {k: s[1:] for k, s in samples.items()}
    cgle_total, ks_total = samples["CGLE interval (cgle_control_rows)"], samples["KS interval (ks_control_rows)"]
    print(f"CGLE N={cg.config.N} (complex FFTs), blocks of {rc}; KS N={ks.config.N} (real FFTs), blocks of {rk}; "
          f"frame_skip {n_steps}, 1 thread, {args.repeats} repeats")
    print(f"{'part':<52} {'us/state':>9} {'share':>7} {'vs KS interval':>15}")
    for name, s in samples.items():
        total = ks_total if name in ks_parts else cgle_total
        share = statistics.median(x / t for x, t in zip(s, total))
        vs_ks = statistics.median(x / k for x, k in zip(s, ks_total))
        print(f"{name:<52} {statistics.median(s):9.2f} {100 * share:6.0f}% {vs_ks:14.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
