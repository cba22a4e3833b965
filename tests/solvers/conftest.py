"""Shared fixtures of the solver tests: states on the L = 22 KS attractor."""

from __future__ import annotations

import numpy as np
import pytest

from chaoscontrol.solvers import KSConfig, ks_coefficients, ks_etdrk4_steps_batch, to_physical, to_spectral

#: Default case of docs/design.md section 6.
L22 = 22.0
N64 = 64
DT = 0.05
BURN_IN_TIME = 200.0
N_TRAJECTORIES = 8


@pytest.fixture(scope="session")
def default_config() -> KSConfig:
    return KSConfig(L22, N64, DT)


@pytest.fixture(scope="session")
def attractor_states(default_config: KSConfig) -> np.ndarray:
    """8 grid states on the unforced L = 22 attractor (read-only, shape (8, 64)).

    Random smooth initial conditions (wavenumbers 1..4, seeded), then a burn-in of
    t = 200 (about 10 Lyapunov times) with the Numba batch kernel.
    """
    cfg = default_config
    rng = np.random.default_rng(20240611)
    q = np.arange(1, 5)
    amp = 0.3 * rng.standard_normal((N_TRAJECTORIES, q.size))
    phase = rng.uniform(0.0, 2.0 * np.pi, (N_TRAJECTORIES, q.size))
    kx = 2.0 * np.pi / cfg.L * np.outer(q, cfg.x)  # (4, N)
    u0 = np.einsum("bq,bqn->bn", amp, np.cos(kx[None, :, :] + phase[:, :, None]))
    v = to_spectral(u0)
    ks_etdrk4_steps_batch(v, np.zeros_like(v), ks_coefficients(cfg), int(round(BURN_IN_TIME / cfg.dt)))
    u = to_physical(v, cfg.N)
    assert np.all(np.isfinite(u))
    u.setflags(write=False)
    return u
