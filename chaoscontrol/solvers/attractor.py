"""Statistics of the unforced KS attractor that the layers above use as a unit of u.

The sensor-noise levels of the perturbation wrappers, the surrogates' input scale and the
surrogate evaluations' normalised errors are all given relative to :func:`attractor_rms`.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from chaoscontrol.solvers.ks import KSConfig, ks_coefficients, ks_etdrk4_steps_batch, to_physical, to_spectral


@functools.lru_cache(maxsize=32)
def attractor_rms(L: float = 22.0, N: int = 64, dt: float = 0.05) -> float:
    """rms(u) on the unforced KS attractor at (L, N, dt), averaged over 16 trajectories x 400 time units.

    Deterministic (fixed seed); cached. At L = 22 this is ~1.18 (the literature: ~1.17).

    :param L: domain length.
    :param N: grid points.
    :param dt: solver time step.
    :return: sqrt(<u^2>) averaged over space, time and trajectories.
    """
    cfg = KSConfig(L=float(L), N=int(N), dt=float(dt))
    rng = np.random.default_rng(20190351)
    q = np.arange(1, 5)
    u0 = np.stack(
        [np.cos(2 * np.pi / cfg.L * np.outer(cfg.x, q) + rng.uniform(0, 2 * np.pi, 4)) @ rng.uniform(-1, 1, 4) for _ in range(16)]
    )
    v = to_spectral(u0)
    zero = np.zeros_like(v)
    coeffs = ks_coefficients(cfg)
    steps = max(1, int(round(1.0 / cfg.dt)))
    ks_etdrk4_steps_batch(v, zero, coeffs, 100 * steps)
    total = 0.0
    for _ in range(400):
        ks_etdrk4_steps_batch(v, zero, coeffs, steps)
        total += float(np.mean(to_physical(v, cfg.N) ** 2))
    return math.sqrt(total / 400)


__all__ = ["attractor_rms"]
