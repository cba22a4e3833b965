"""Lorenz-96 physics and kernels: steady state, energy identity, RK4 order, Lyapunov exponents, kernel = reference,
batch = single.

Exact properties: x_i = F is a fixed point with the eigenvalues F (e^{i theta} - e^{-2 i theta}) - 1; tr J = -K,
so the exponents sum to -K; the advection conserves energy, dE/dt = -2E + F <x> + <x f>. The leading exponent at
K = 40, F = 8 (literature ~1.7) is 1.686 +- 0.006 over T = 10^4 (``scripts/lorenz_physics.py``, docs/systems.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from chaoscontrol.solvers.lorenz96 import (
    L96_MIN_BLOCK_ROWS,
    Lorenz96Config,
    _control_blocks,
    lorenz96_control_interval,
    lorenz96_control_interval_batch,
    lorenz96_diagnostics,
    lorenz96_jacobian,
    lorenz96_jvp,
    lorenz96_rhs,
    lorenz96_rk4_reference,
    lorenz96_tangent_qr,
)
from chaoscontrol.solvers.lorenz96_dynamics import Lorenz96Dynamics
from chaoscontrol.solvers.lyapunov_ode import lyapunov_spectrum

CFG = Lorenz96Config()
K, F = CFG.K, CFG.F
SITES = np.arange(0, K, 5)
FORCING = np.full(K, F)
#: lambda_1 over T = 10^4 at dt = 0.01 (scripts/lorenz_physics.py), standard error 0.006.
LEADING = 1.686


@pytest.fixture(scope="module")
def on_attractor() -> np.ndarray:
    """8 states on the attractor (random starts after the default burn-in of 10 time units), (8, K)."""
    states = Lorenz96Dynamics().random_states([np.random.default_rng(s) for s in range(8)])
    states.setflags(write=False)
    return states


def advance(x: np.ndarray, dt: float, total: float, actions=None, max_forcing: float = 0.0):
    """The kernel run for ``total`` time units at step dt in one interval: (states, fields, diagnostics)."""
    x = np.array(x, dtype=np.float64)
    actions = np.zeros((len(x), SITES.size)) if actions is None else actions
    fields, diag = np.empty_like(x), np.empty((len(x), 5))
    assert lorenz96_control_interval_batch(x, actions, SITES, max_forcing, F, dt, int(round(total / dt)), fields,
                                           diag) == -1
    return x, fields, diag


# --------------------------------------------------------------------------- exact properties


def test_the_uniform_state_is_a_fixed_point_with_the_closed_form_eigenvalues():
    out = np.empty(K)
    lorenz96_rhs(CFG.steady_state, FORCING, out)
    np.testing.assert_array_equal(out, 0.0)
    x, _, _ = advance(CFG.steady_state[None], CFG.dt, 1.0)
    np.testing.assert_array_equal(x[0], F)  # RK4 of a zero slope: exactly still
    rates = np.linalg.eigvals(lorenz96_jacobian(CFG.steady_state))
    closed = CFG.steady_state_rates()
    assert np.abs(rates[:, None] - closed[None, :]).min(axis=0).max() < 1e-12
    assert closed.real.max() == pytest.approx(9.0 * F / 8.0 - 1.0, abs=0.06)  # 7.944 at theta = 2 pi 8/40
    assert int((closed.real > 0).sum()) == 24


def test_the_steady_state_is_linearly_controllable_from_every_fifth_site():
    """PBH: rank [J - lambda I, B] = K at every eigenvalue; its smallest singular value is 0.445 (all 40 eigenvalues
    are distinct and every Fourier mode has a component at every site, so even one site would do: 0.154)."""
    jac = lorenz96_jacobian(CFG.steady_state)
    inputs = np.zeros((K, SITES.size))
    inputs[SITES, np.arange(SITES.size)] = 1.0
    margins = [np.linalg.svd(np.hstack([jac - z * np.eye(K), inputs]), compute_uv=False)[-1]
               for z in np.linalg.eigvals(jac)]
    assert min(margins) > 0.4


def test_jvp_is_the_jacobian_and_the_derivative_of_the_rhs(on_attractor):
    rng = np.random.default_rng(3)
    out, plus, minus = np.empty(K), np.empty(K), np.empty(K)
    for x in on_attractor[:3]:
        v = rng.standard_normal(K)
        lorenz96_jvp(x, v, FORCING, out)
        jac = lorenz96_jacobian(x)
        np.testing.assert_allclose(out, jac @ v, rtol=1e-13, atol=1e-12)
        h = 1e-6
        lorenz96_rhs(x + h * v, FORCING, plus)
        lorenz96_rhs(x - h * v, FORCING, minus)
        np.testing.assert_allclose((plus - minus) / (2 * h), out, rtol=1e-7, atol=1e-6)
        assert np.trace(jac) == -K


def test_the_energy_budget_of_the_rhs_is_exact(on_attractor):
    """sum x_i (x_{i+1} - x_{i-2}) x_{i-1} = 0, so <x dx/dt> = dE/dt = -2E + F <x> + <x f>."""
    rng = np.random.default_rng(4)
    out, diag = np.empty(K), np.empty(5)
    for x in on_attractor[:3]:
        f = np.zeros(K)
        f[SITES] = rng.uniform(-8.0, 8.0, SITES.size)
        lorenz96_rhs(x, FORCING + f, out)
        lorenz96_diagnostics(x, SITES, f[SITES], diag)
        energy, mean, variance, power = diag[:4]
        assert np.mean(x * out) == pytest.approx(-2.0 * energy + F * mean + power, rel=1e-12, abs=1e-12)
        assert variance == pytest.approx(2.0 * energy - mean**2, rel=1e-12)
        assert diag[4] == np.abs(x).max()


# --------------------------------------------------------------------------- scheme


def test_kernel_is_the_numpy_reference_bit_for_bit(on_attractor):
    """Same operations in the same order: equal bits (forcing at every 5th site, actions clipped)."""
    actions = np.random.default_rng(0).uniform(-1.5, 1.5, (8, SITES.size))
    x, fields, diag = advance(on_attractor, CFG.dt, 0.37, actions, max_forcing=8.0)
    forcing = np.full((8, K), F)
    forcing[:, SITES] = F + 8.0 * np.clip(actions, -1.0, 1.0)
    ref = lorenz96_rk4_reference(on_attractor, forcing, CFG.dt, 37)
    np.testing.assert_array_equal(x, ref)
    np.testing.assert_array_equal(fields, x)
    np.testing.assert_allclose(diag[:, 0], 0.5 * (ref**2).mean(axis=1), rtol=1e-13)
    np.testing.assert_allclose(diag[:, 1], ref.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(diag[:, 2], ref.var(axis=1), rtol=1e-12)
    np.testing.assert_allclose(diag[:, 3], (ref * (forcing - F)).mean(axis=1), rtol=1e-12, atol=1e-13)


def test_rk4_is_fourth_order(on_attractor):
    """Over one time unit halving dt divides the error by ~16; at dt = 0.01 it is ~1e-5 of the state's size."""
    ref = advance(on_attractor, 0.01 / 16, 1.0)[0]
    errors = [np.abs(advance(on_attractor, dt, 1.0)[0] - ref).max() for dt in (0.04, 0.02, 0.01, 0.005)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 14.0) & (ratios < 18.5)), (errors, ratios)
    assert errors[2] < 2e-5 * np.abs(ref).max()


def test_a_batch_gives_every_row_the_bits_of_the_row_alone(on_attractor):
    """Whatever the split into blocks (one block, the threads' blocks, ragged blocks of 3)."""
    rng = np.random.default_rng(1)
    batch = 4 * L96_MIN_BLOCK_ROWS + 3
    x0 = on_attractor[rng.integers(0, 8, batch)] + rng.normal(0.0, 0.5, (batch, K))
    actions = rng.uniform(-1.3, 1.3, (batch, SITES.size))
    args = (SITES, 8.0, F, CFG.dt, 5)
    together, fields, diag = x0.copy(), np.empty((batch, K)), np.empty((batch, 5))
    assert lorenz96_control_interval_batch(together, actions, *args, fields, diag) == -1
    ragged, fields3, diag3 = x0.copy(), np.empty((batch, K)), np.empty((batch, 5))
    _control_blocks(ragged, actions, *args, fields3, diag3, 3)
    np.testing.assert_array_equal(ragged, together)
    np.testing.assert_array_equal(diag3, diag)
    for i in (0, 1, batch // 2, batch - 1):
        one, field, d = x0[i].copy(), np.empty(K), np.empty(5)
        assert lorenz96_control_interval(one, actions[i], *args, field, d)
        np.testing.assert_array_equal(one, together[i])
        np.testing.assert_array_equal(field, fields[i])
        np.testing.assert_array_equal(d, diag[i])


def test_a_non_finite_action_changes_nothing_and_names_its_row(on_attractor):
    x = np.array(on_attractor[:4])
    actions = np.zeros((4, SITES.size))
    actions[2, 5] = -np.inf
    assert lorenz96_control_interval_batch(x, actions, SITES, 1.0, F, CFG.dt, 5, np.empty((4, K)),
                                           np.empty((4, 5))) == 2
    np.testing.assert_array_equal(x, on_attractor[:4])
    one = x[0].copy()
    assert not lorenz96_control_interval(one, actions[2], SITES, 1.0, F, CFG.dt, 5, np.empty(K), np.empty(5))
    np.testing.assert_array_equal(one, x[0])


def test_a_non_finite_state_reads_as_infinite_max_abs(on_attractor):
    x = np.array(on_attractor[:2])
    x[0, 7] = np.nan
    _, _, diag = advance(x, CFG.dt, 0.05)
    assert diag[0, 4] == np.inf and np.isfinite(diag[1, 4])


# --------------------------------------------------------------------------- Lyapunov exponents


def test_lyapunov_exponents_sum_to_minus_k(on_attractor):
    """All 40 exponents: the sum is (1/T) log|det DPhi|, exactly -K for the flow; the RK4 map's determinant is off
    by O(dt^4) per unit time: +2.5e-5 at dt = 0.01 (measured, any T), tolerance 1e-4."""
    run = lyapunov_spectrum(lorenz96_tangent_qr, FORCING, on_attractor[0], CFG.dt, 10.0)
    assert run.exponents.sum() == pytest.approx(-K, abs=1e-4)


def test_leading_exponent_converges_in_time_and_step(on_attractor):
    """T = 1000 (SE ~0.02) at dt = 0.01 and 0.02: both within 4 SE of the T = 10^4 value and of each other; the
    literature's ~1.7 within 5 %."""
    estimates = {}
    for dt in (0.01, 0.02):
        run = lyapunov_spectrum(lorenz96_tangent_qr, FORCING, on_attractor[1], dt, 1000.0, n_exponents=1,
                                renorm_steps=int(round(0.1 / dt)), transient_time=10.0)
        estimates[dt] = run.exponents[0]
        assert run.standard_error()[0] < 0.04
        assert estimates[dt] == pytest.approx(LEADING, abs=0.08)
        assert estimates[dt] == pytest.approx(1.7, rel=0.05)
    assert abs(estimates[0.01] - estimates[0.02]) < 0.1
