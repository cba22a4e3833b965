"""The Kolmogorov-flow solver against exact physics: steady and decaying exact solutions, the order of the scheme,
the NumPy reference.

- the laminar flow omega_L = -(Re / n) cos(n y) is steady (1e-10 after 500 steps);
- a single Laplacian eigenfunction omega = cos(k x) cos(l y) of the unforced equation decays exactly as
  exp(-(k^2 + l^2) t / Re - alpha t) (its advection u . grad omega vanishes identically);
- fourth-order convergence in dt of ETDRK4 on a smooth nonlinear, forced and actuated solution;
- the Numba kernel against the NumPy reference, every row of a block bit for bit as that state alone, the
  diagnostics against their grid definitions.
"""

from __future__ import annotations

import numpy as np
import pytest

from chaoscontrol.solvers.kolmogorov import (
    KolmogorovConfig,
    dealias,
    kolmogorov_coefficients,
    kolmogorov_etdrk4_step_reference,
    kolmogorov_etdrk4_steps_rows,
    kolmogorov_forcing,
    kolmogorov_operators,
    laminar_vorticity,
    to_physical,
    to_spectral,
)
from chaoscontrol.solvers.kolmogorov_control import kolmogorov_diagnostics_reference
from chaoscontrol.solvers.kolmogorov_dynamics import KolmogorovDynamics

N32 = 32


def _advance(config: KolmogorovConfig, w0: np.ndarray, fhat: np.ndarray, n_steps: int) -> np.ndarray:
    """Grid vorticity after ``n_steps`` of the kernel from grid fields w0 (B, N, N) with spectral forcing fhat."""
    w = dealias(to_spectral(w0), config)
    f = np.ascontiguousarray(np.broadcast_to(fhat, w.shape))
    kolmogorov_etdrk4_steps_rows(w, f, kolmogorov_coefficients(config), kolmogorov_operators(config), n_steps)
    return to_physical(w)


def _smooth_field(config: KolmogorovConfig, rng: np.random.Generator, modes: int = 3, rms: float = 2.0) -> np.ndarray:
    """A smooth random vorticity (Fourier modes max(|kx|, |ky|) <= ``modes``), zero mean, of the given rms."""
    x = config.x
    w = np.zeros((config.N, config.N))
    for kx in range(-modes, modes + 1):
        for ky in range(-modes, modes + 1):
            if kx or ky:
                a, b = rng.standard_normal(2)
                phase = kx * x[None, :] + ky * x[:, None]
                w += a * np.cos(phase) + b * np.sin(phase)
    return rms * w / np.sqrt(np.mean(w**2))


@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_laminar_flow_is_steady(alpha):
    cfg = KolmogorovConfig(N=N32, alpha=alpha)
    wl = laminar_vorticity(cfg)
    # omega_L = -(Re / n) cos(n y) at alpha = 0 (Chandler & Kerswell 2013)
    if alpha == 0.0:
        np.testing.assert_allclose(wl[:, 0], -(cfg.Re / cfg.n) * np.cos(cfg.n * cfg.x), atol=1e-13)
    w = _advance(cfg, wl[None], to_spectral(kolmogorov_forcing(cfg)), 500)
    assert np.max(np.abs(w[0] - wl)) < 1e-10
    # and a perturbed one is not (the check can fail): the flow moves away
    w = _advance(cfg, wl[None] + 1e-3 * np.sin(cfg.x)[None, None, :], to_spectral(kolmogorov_forcing(cfg)), 500)
    assert np.max(np.abs(w[0] - wl)) > 1e-2


@pytest.mark.parametrize(("k", "l", "alpha"), [(1, 0, 0.0), (2, 3, 0.0), (3, 1, 0.25)])
def test_single_eigenfunction_decays_exactly(k, l, alpha):
    cfg = KolmogorovConfig(N=N32, alpha=alpha, chi=0.0, dt=0.05)
    x = cfg.x
    w0 = 3.0 * np.cos(k * x)[None, :] * np.cos(l * x)[:, None]
    n_steps = 400
    t = n_steps * cfg.dt
    w = _advance(cfg, w0[None], np.zeros((N32, cfg.n_modes), complex), n_steps)[0]
    expected = w0 * np.exp(-(k**2 + l**2) * t / cfg.Re - alpha * t)
    assert np.max(np.abs(w - expected)) < 1e-10
    assert np.max(np.abs(expected - w0)) > 0.1  # it did decay measurably


def test_fourth_order_in_dt_on_a_nonlinear_forced_solution():
    base = KolmogorovConfig(N=N32, dt=0.1)
    dyn = KolmogorovDynamics(base, actuators=4, frame_skip=1)
    w0 = laminar_vorticity(base) * 0.3 + _smooth_field(base, np.random.default_rng(4))
    forcing = dealias(to_spectral(kolmogorov_forcing(base) + dyn.forcing_fields(np.array([0.5, -1.0, 0.25, 0.8]))),
                      base)
    t_end = 1.0

    def solve(dt):
        cfg = KolmogorovConfig(N=N32, dt=dt)
        return _advance(cfg, w0[None], forcing, int(round(t_end / dt)))[0]

    reference = solve(0.1 / 64)
    errors = [np.max(np.abs(solve(dt) - reference)) for dt in (0.1, 0.05, 0.025)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    print("ETDRK4 errors", errors, "orders", orders)
    assert np.all(orders > 3.6) and np.all(orders < 4.6), (errors, orders)
    assert np.max(np.abs(reference - w0)) > 1.0  # a nonlinear evolution, not a near-steady one


def test_kernel_matches_numpy_reference_and_blocks_give_the_same_bits():
    cfg = KolmogorovConfig(N=N32)
    rng = np.random.default_rng(0)
    w = dealias(to_spectral(np.stack([_smooth_field(cfg, rng, modes=8, rms=5.0) for _ in range(3)])), cfg)
    fhat = to_spectral(kolmogorov_forcing(cfg)) + dealias(to_spectral(rng.standard_normal((3, N32, N32))), cfg)
    coeffs, ops = kolmogorov_coefficients(cfg), kolmogorov_operators(cfg)
    ref = kolmogorov_etdrk4_step_reference(w, fhat, coeffs, cfg)
    block = w.copy()
    kolmogorov_etdrk4_steps_rows(block, fhat.copy(), coeffs, ops, 1)
    assert np.max(np.abs(block - ref)) <= 1e-13 * np.max(np.abs(ref))
    assert np.max(np.abs(ref - w)) > 1e-3 * np.max(np.abs(w))  # the step did something
    for i in range(3):
        one = w[i : i + 1].copy()
        kolmogorov_etdrk4_steps_rows(one, fhat[i : i + 1].copy(), coeffs, ops, 1)
        np.testing.assert_array_equal(one, block[i : i + 1])


def test_diagnostics_match_their_grid_definitions():
    cfg = KolmogorovConfig(N=N32, alpha=0.1)
    dyn = KolmogorovDynamics(cfg, actuators=4, burn_in=0.0)
    rng = np.random.default_rng(1)
    fields = np.stack([_smooth_field(cfg, rng, modes=6) + laminar_vorticity(cfg) for _ in range(2)])
    states = dyn.states_from_fields(fields)
    actions = rng.uniform(-1, 1, (2, 4))
    diag = np.empty((2, 6))
    out = np.empty((2, N32, N32))
    dyn.advance(states, out, actions, diag)
    ref = kolmogorov_diagnostics_reference(out, dyn.forcing_fields(actions), kolmogorov_forcing(cfg),
                                           laminar_vorticity(cfg), cfg.Re)
    np.testing.assert_allclose(diag, ref, rtol=1e-10, atol=1e-12)
    # the laminar state: E = A^2 / 4, D = (A n)^2 / (2 Re) with A = Re / n^2 at alpha = 0 (E = 1.5625, D = 1.25)
    lam = KolmogorovDynamics(KolmogorovConfig(N=N32), burn_in=0.0)
    e, d, pk, pa, dist = lam.unforced_diagnostics(lam.states_from_fields(lam.laminar[None]))[0]
    np.testing.assert_allclose([e, d, pk, pa, dist], [2.5**2 / 4, 10.0**2 / 2 / 40.0, 1.25, 0.0, 0.0], atol=1e-12)
