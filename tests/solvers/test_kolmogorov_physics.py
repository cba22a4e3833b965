"""Kolmogorov-flow physics: the energy budget closes to the scheme's order, and the laminar flow's linear
instability measured in the nonlinear solver agrees with the eigenvalue of the operator assembled in Fourier space.

- dE/dt = P_K + P_a - D - 2 alpha E (chaoscontrol.solvers.kolmogorov_control): the residual
  E(T) - E(0) - int_0^T (P_K + P_a - D - 2 alpha E) dt, the integral by Simpson's rule on the solver steps, falls
  as dt^4 (ETDRK4 and Simpson are both fourth order; the de-aliased advection does no work exactly);
- at n = 4, Re = 40 the laminar flow is unstable: the leading eigenvalue of the linearised operator
  (chaoscontrol.solvers.kolmogorov_stability, real, k_x = 2) is the growth rate of a small multiple of its
  eigenmode in the nonlinear solver, to 1e-5 relative (measured ~5e-8).
"""

from __future__ import annotations

import numpy as np
import pytest

from chaoscontrol.solvers.kolmogorov import (
    OP_INV_K2,
    KolmogorovConfig,
    dealias,
    kolmogorov_coefficients,
    kolmogorov_etdrk4_steps_rows,
    kolmogorov_forcing,
    kolmogorov_operators,
    laminar_vorticity,
    to_physical,
    to_spectral,
)
from chaoscontrol.solvers.kolmogorov_control import (
    DIAG_DISSIPATION,
    DIAG_ENERGY,
    DIAG_FORCING_POWER,
    DIAG_POWER,
    kolmogorov_diagnostics_rows,
)
from chaoscontrol.solvers.kolmogorov_dynamics import KolmogorovDynamics
from chaoscontrol.solvers.kolmogorov_stability import growth_rates, laminar_operator, leading_mode

N32 = 32
ALPHA = 0.1


def _budget_residual(dt: float, t_end: float = 0.8) -> tuple[float, float]:
    """(residual of the energy budget over [0, t_end], |E(t_end) - E(0)|) at solver step dt."""
    cfg = KolmogorovConfig(N=N32, dt=dt, alpha=ALPHA)
    dyn = KolmogorovDynamics(cfg, actuators=4, frame_skip=1, burn_in=0.0)
    rng = np.random.default_rng(7)
    w0 = 0.5 * laminar_vorticity(cfg) + to_physical(dyn.random_start(rng)) - laminar_vorticity(cfg)
    w0 += 2.0 * np.sin(2 * cfg.x)[None, :] * np.cos(cfg.x)[:, None]
    states = dyn.states_from_fields(w0[None])
    action = np.array([[0.9, -0.6, 0.3, -1.0]])
    fa = np.ascontiguousarray((dyn.max_forcing * action @ dyn.forcing_basis).reshape(states.shape))
    diag = np.empty((1, 6))
    kolmogorov_diagnostics_rows(states, fa, dyn.forcing_hat, dyn.laminar_hat, dyn.ops[OP_INV_K2], cfg.nu,
                                to_physical(states), diag)
    rows = [diag[0].copy()]
    fields = np.empty((1, N32, N32))
    for _ in range(int(round(t_end / dt))):
        dyn.advance(states, fields, action, diag)
        rows.append(diag[0].copy())
    d = np.array(rows)
    energy = d[:, DIAG_ENERGY]
    rhs = d[:, DIAG_FORCING_POWER] + d[:, DIAG_POWER] - d[:, DIAG_DISSIPATION] - 2.0 * ALPHA * energy
    simpson = dt / 3.0 * (rhs[0] + rhs[-1] + 4.0 * rhs[1:-1:2].sum() + 2.0 * rhs[2:-1:2].sum())
    return abs(energy[-1] - energy[0] - simpson), abs(energy[-1] - energy[0])


def test_energy_budget_closes_to_fourth_order_in_dt():
    results = [_budget_residual(dt) for dt in (0.02, 0.01, 0.005)]
    residuals = np.array([r for r, _ in results])
    orders = np.log2(residuals[:-1] / residuals[1:])
    print("energy budget residuals", residuals, "orders", orders, "|dE|", results[-1][1])
    assert np.all(orders > 3.5), (residuals, orders)
    assert results[-1][1] > 0.1 and residuals[-1] < 1e-6 * results[-1][1]  # E changed; the budget holds


def test_laminar_operator_couples_ky_to_ky_plus_minus_n_only():
    cfg = KolmogorovConfig(N=N32)
    q, op = laminar_operator(cfg, 1)
    rows, cols = np.nonzero(op)
    assert set(np.abs(q[rows] - q[cols]).tolist()) <= {0, cfg.n}
    with pytest.raises(ValueError, match="kx"):
        laminar_operator(cfg, cfg.kmax + 1)
    # unforced, the operator is the diagonal of viscous decay: every mode stable
    assert np.all(growth_rates(KolmogorovConfig(N=N32, chi=0.0)) < 0)


def test_laminar_instability_growth_rate_matches_the_nonlinear_solver():
    cfg = KolmogorovConfig(N=N32)
    sigma, kx, mode = leading_mode(cfg)
    assert sigma.real > 1.0 and kx == 2  # unstable (n = 4, Re = 40)
    wl = laminar_vorticity(cfg)
    eps, t_end = 1e-8, 3.0
    w = dealias(to_spectral(wl + eps * mode)[None], cfg)
    d0 = np.sqrt(np.mean((to_physical(w)[0] - wl) ** 2))
    fk = to_spectral(kolmogorov_forcing(cfg))[None].copy()
    kolmogorov_etdrk4_steps_rows(w, fk, kolmogorov_coefficients(cfg), kolmogorov_operators(cfg),
                                 int(round(t_end / cfg.dt)))
    d1 = np.sqrt(np.mean((to_physical(w)[0] - wl) ** 2))
    measured = np.log(d1 / d0) / t_end
    print("growth rate: eigenvalue", sigma.real, "solver", measured)
    assert abs(measured - sigma.real) < 1e-5 * sigma.real
