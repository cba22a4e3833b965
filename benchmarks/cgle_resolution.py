"""Is CGLE-Control-v0's default N = 64 more resolution than the dynamics needs? (its cost is per FFT of size N)

    .venv/bin/python benchmarks/cgle_resolution.py                 # about 1 min on 2 cores
    .venv/bin/python benchmarks/cgle_resolution.py --quick         # fewer and shorter trajectories

At the registered defaults (alpha = 2, beta = -2, L = 8 pi, dt = 0.05), unforced, for N in ``--grids``:

1. the spectrum: the time-averaged power per Fourier mode on the attractor at the finest N, and the share of
   the power beyond the Nyquist mode of each coarser N (what that N cannot hold);
2. the trajectory error of the grid: one state on the attractor (at the finest N), truncated to each N and run
   for t = 1 (``--horizon``); the max error of A on the coarse grid against the finest N (the grids nest), next to
   the time-step error at dt = 0.05 over the same t (the finest N at dt / 4 as reference);
3. the attractor averages <|A|^2>, <d_U>, <sigma> (and their standard errors over trajectories) at each N.

The default N is not changed by this script: it reports the convergence (``docs/performance.md``).
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from chaoscontrol.solvers.cgle import CGLEConfig, to_physical
from chaoscontrol.solvers.cgle_dynamics import CGLEDynamics

SAMPLE_EVERY = 5  # solver steps between samples of the averages (0.25 time units)


def resample(v: np.ndarray, n: int) -> np.ndarray:
    """The spectral states v (B, M) truncated or zero-padded to n modes, scaled so that the grid values agree."""
    m = v.shape[-1]
    out = np.zeros((*v.shape[:-1], n), dtype=np.complex128)
    h = min(m, n) // 2
    out[..., :h] = v[..., :h]
    out[..., n - h + 1:] = v[..., m - h + 1:]  # the Nyquist mode of the coarser grid dropped
    return out * (n / m)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--grids", nargs="+", type=int, default=[32, 48, 64, 96, 192],
                   help="N values; the largest is the reference")
    p.add_argument("--trajectories", type=int, default=16)
    p.add_argument("--time", type=float, default=400.0, help="averaging time per trajectory after the burn-in")
    p.add_argument("--horizon", type=float, default=1.0, help="time of the trajectory-error test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="4 trajectories, time 100")
    args = p.parse_args(argv)
    if args.quick:
        args.trajectories, args.time = 4, 100.0
    grids = sorted(args.grids)
    if any(n % 2 or n < 10 for n in grids):
        raise SystemExit(f"error: --grids must be even and >= 10, got {grids}")
    fine = grids[-1]
    dyn = {n: CGLEDynamics(CGLEConfig(N=n), burn_in=100.0) for n in grids}
    cfg = dyn[fine].config

    # 1. spectrum at the finest N
    rngs = [np.random.default_rng([args.seed, i]) for i in range(args.trajectories)]
    v = dyn[fine].random_states(rngs)
    n_samples = int(round(args.time / (SAMPLE_EVERY * cfg.dt)))
    power = np.zeros(fine)
    for _ in range(n_samples):
        dyn[fine].run_unforced(v, SAMPLE_EVERY)
        power += np.mean(np.abs(v / fine) ** 2, axis=0)
    power /= n_samples
    m = np.abs(np.fft.fftfreq(fine, 1.0 / fine))
    print(f"CGLE resolution at alpha={cfg.alpha:g}, beta={cfg.beta:g}, L={cfg.L:.4g}, dt={cfg.dt:g}; "
          f"reference N={fine}")
    print(f"1. time-averaged spectrum ({args.trajectories} trajectories x t={args.time:g}): power share beyond the "
          "Nyquist mode of N, and the power of the mode |m| = N/2 over the peak")
    for n in grids[:-1]:
        share = power[m >= n // 2].sum() / power.sum()
        print(f"   N={n:4d}: beyond {share:9.2e}   at |m| = N/2: {power[m == n // 2].max() / power.max():9.2e}")

    # 2. trajectory error of the grid over the horizon, against the time-step error
    v0 = v[:1].copy()
    steps = int(round(args.horizon / cfg.dt))
    ref = v0.copy()
    dyn[fine].run_unforced(ref, steps)
    a_ref = to_physical(ref)[0]
    print(f"2. max |A_N - A_ref| on the N grid after t={args.horizon:g} from one attractor state (|A| ~ 1)")
    for n in grids[:-1]:
        w = resample(v0, n)
        dyn[n].run_unforced(w, steps)
        err = np.abs(to_physical(w)[0] - a_ref[:: fine // n]).max() if fine % n == 0 else math.nan
        print(f"   N={n:4d}: {err:9.2e}")
    fine_dt = CGLEDynamics(CGLEConfig(N=fine, dt=cfg.dt / 4), burn_in=0.0)
    ref4 = v0.copy()
    fine_dt.run_unforced(ref4, 4 * steps)
    dt_error = np.abs(a_ref - to_physical(ref4)[0]).max()
    print(f"   time-step error at dt={cfg.dt:g} (N={fine} against dt/4): {dt_error:9.2e}")

    # 3. attractor averages
    print(f"3. attractor averages ({args.trajectories} trajectories x t={args.time:g} after burn-in 100, "
          "± standard error)")
    for n in grids:
        states = dyn[n].random_states(rngs)
        sums = np.zeros((args.trajectories, 3))
        for _ in range(n_samples):
            dyn[n].run_unforced(states, SAMPLE_EVERY)
            d = dyn[n].unforced_diagnostics(states)
            sums += d[:, :3]
        means = sums / n_samples
        mu, se = means.mean(axis=0), means.std(axis=0, ddof=1) / math.sqrt(args.trajectories)
        print(f"   N={n:4d}: <|A|^2> {mu[0]:.4f} ± {se[0]:.4f}   <d_U> {mu[1]:.4f} ± {se[1]:.4f}   "
              f"<sigma> {mu[2]:.4f} ± {se[2]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
