"""Lorenz-63 physics and kernels: fixed points, RK4 order, Lyapunov exponents, kernel = reference, batch = single.

Reference numbers: the fixed points and their eigenvalues in closed form; the
exponent sum -(sigma + 1 + beta) (constant divergence); Sprott's exponents
(0.9056, 0, -14.5723). ``scripts/lorenz_physics.py`` runs the longer
convergence studies recorded in docs/systems.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from chaoscontrol.solvers.lorenz63 import (
    L63_MIN_BLOCK_ROWS,
    Lorenz63Config,
    _control_blocks,
    lorenz63_control_interval,
    lorenz63_control_interval_batch,
    lorenz63_jacobian,
    lorenz63_jvp,
    lorenz63_rhs,
    lorenz63_rk4_reference,
    lorenz63_tangent_qr,
)
from chaoscontrol.solvers.lorenz63_dynamics import Lorenz63Dynamics
from chaoscontrol.solvers.lyapunov_ode import kaplan_yorke_dimension, lyapunov_spectrum

CFG = Lorenz63Config()
ALL = np.arange(3)
SPROTT = (0.9056, 0.0, -14.5723)


@pytest.fixture(scope="module")
def on_attractor() -> np.ndarray:
    """16 states on the attractor (random starts after the default burn-in of 10 time units), (16, 3)."""
    states = Lorenz63Dynamics().random_states([np.random.default_rng(s) for s in range(16)])
    states.setflags(write=False)
    return states


def advance(x: np.ndarray, dt: float, total: float, actions=None, controlled=ALL, max_forcing=0.0):
    """The kernel run for ``total`` time units at step dt in one interval: (states, fields, diagnostics)."""
    x = np.array(x, dtype=np.float64)
    actions = np.zeros((len(x), controlled.size)) if actions is None else actions
    fields, diag = np.empty_like(x), np.empty((len(x), 3))
    assert lorenz63_control_interval_batch(x, actions, controlled, max_forcing, Lorenz63Config(dt=dt).params, dt,
                                           int(round(total / dt)), fields, diag) == -1
    return x, fields, diag


# --------------------------------------------------------------------------- fixed points


def test_fixed_points_are_the_closed_forms():
    c = np.sqrt(CFG.beta * (CFG.rho - 1.0))
    points = CFG.fixed_points()
    np.testing.assert_allclose(points["C+"], [c, c, 27.0], rtol=1e-15)
    np.testing.assert_allclose(points["C-"], [-c, -c, 27.0], rtol=1e-15)
    out = np.empty(3)
    for p in points.values():
        lorenz63_rhs(p, CFG.params, out)
        assert np.abs(out).max() < 1e-13
    assert set(Lorenz63Config(rho=0.5).fixed_points()) == {"origin"}


def test_jacobian_eigenvalues_at_the_fixed_points_are_the_characteristic_roots():
    """At C+-: lambda^3 + (s + b + 1) lambda^2 + b (s + r) lambda + 2 s b (r - 1); at the origin -b and the roots of
    lambda^2 + (s + 1) lambda - s (r - 1)."""
    s, r, b = CFG.sigma, CFG.rho, CFG.beta
    poly = CFG.characteristic_polynomial()
    np.testing.assert_allclose(poly, [1.0, s + b + 1.0, b * (s + r), 2.0 * s * b * (r - 1.0)])
    for name in ("C+", "C-"):
        jac = lorenz63_jacobian(CFG.fixed_points()[name], CFG)
        np.testing.assert_allclose(np.poly(jac), poly, rtol=1e-12)
        eig = np.sort_complex(np.linalg.eigvals(jac))
        np.testing.assert_allclose(eig, np.sort_complex(np.roots(poly)), rtol=1e-12)
        np.testing.assert_allclose(eig, [-13.854578, 0.093956 - 10.194505j, 0.093956 + 10.194505j], atol=1e-6)
    disc = np.sqrt((s + 1.0) ** 2 + 4.0 * s * (r - 1.0))
    eig0 = np.sort(np.linalg.eigvals(lorenz63_jacobian(np.zeros(3), CFG)).real)
    np.testing.assert_allclose(eig0, [(-(s + 1.0) - disc) / 2.0, -b, (-(s + 1.0) + disc) / 2.0], rtol=1e-12)


def test_jvp_is_the_jacobian_and_the_derivative_of_the_rhs(on_attractor):
    rng = np.random.default_rng(3)
    out, plus, minus = np.empty(3), np.empty(3), np.empty(3)
    for x in on_attractor[:4]:
        v = rng.standard_normal(3)
        lorenz63_jvp(x, v, CFG.params, out)
        np.testing.assert_allclose(out, lorenz63_jacobian(x, CFG) @ v, rtol=1e-14, atol=1e-12)
        h = 1e-6
        lorenz63_rhs(x + h * v, CFG.params, plus)
        lorenz63_rhs(x - h * v, CFG.params, minus)
        np.testing.assert_allclose((plus - minus) / (2 * h), out, rtol=1e-7, atol=1e-6)
        assert np.trace(lorenz63_jacobian(x, CFG)) == pytest.approx(CFG.divergence, rel=1e-15)


# --------------------------------------------------------------------------- scheme


def test_kernel_is_the_numpy_reference_bit_for_bit(on_attractor):
    """Same operations in the same order: equal bits, forcing on a subset of components, actions clipped."""
    controlled = np.array([2, 0])
    actions = np.random.default_rng(0).uniform(-1.5, 1.5, (16, 2))
    x, fields, diag = advance(on_attractor, CFG.dt, 0.37, actions, controlled, max_forcing=7.0)
    forcing = np.zeros((16, 3))
    forcing[:, controlled] = 7.0 * np.clip(actions, -1.0, 1.0)
    ref = lorenz63_rk4_reference(on_attractor, forcing, CFG, 37)
    np.testing.assert_array_equal(x, ref)
    np.testing.assert_array_equal(fields, x)
    np.testing.assert_allclose(diag[:, 0], 0.5 * (ref**2).sum(axis=1), rtol=1e-14)
    np.testing.assert_allclose(diag[:, 1], (ref * forcing).sum(axis=1), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(diag[:, 2], np.abs(ref).max(axis=1))


def test_rk4_is_fourth_order(on_attractor):
    """Over 0.2 time units (before the chaos amplifies the error unevenly) halving dt divides the error by ~16."""
    ref = advance(on_attractor, 0.01 / 64, 0.2)[0]
    errors = [np.abs(advance(on_attractor, dt, 0.2)[0] - ref).max() for dt in (0.02, 0.01, 0.005, 0.0025)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 14.0) & (ratios < 18.5)), (errors, ratios)
    assert errors[1] < 1e-4 * np.abs(ref).max()  # the default step: ~1e-6 of the attractor's size here


def test_a_batch_gives_every_row_the_bits_of_the_row_alone(on_attractor):
    """Whatever the split into blocks (one block, the threads' blocks, ragged blocks of 7)."""
    rng = np.random.default_rng(1)
    batch = 3 * L63_MIN_BLOCK_ROWS + 5
    x0 = on_attractor[rng.integers(0, 16, batch)] + rng.normal(0.0, 1.0, (batch, 3))
    actions = rng.uniform(-1.3, 1.3, (batch, 3))
    args = (ALL, 10.0, CFG.params, CFG.dt, 5)
    together, fields, diag = x0.copy(), np.empty((batch, 3)), np.empty((batch, 3))
    assert lorenz63_control_interval_batch(together, actions, *args, fields, diag) == -1
    ragged, fields7, diag7 = x0.copy(), np.empty((batch, 3)), np.empty((batch, 3))
    _control_blocks(ragged, actions, *args, fields7, diag7, 7)
    np.testing.assert_array_equal(ragged, together)
    np.testing.assert_array_equal(diag7, diag)
    for i in (0, 1, batch // 2, batch - 1):
        one, field, d = x0[i].copy(), np.empty(3), np.empty(3)
        assert lorenz63_control_interval(one, actions[i], *args, field, d)
        np.testing.assert_array_equal(one, together[i])
        np.testing.assert_array_equal(field, fields[i])
        np.testing.assert_array_equal(d, diag[i])


def test_a_non_finite_action_changes_nothing_and_names_its_row(on_attractor):
    x = np.array(on_attractor[:5])
    actions = np.zeros((5, 3))
    actions[3, 1] = np.inf
    assert lorenz63_control_interval_batch(x, actions, ALL, 1.0, CFG.params, CFG.dt, 5, np.empty((5, 3)),
                                           np.empty((5, 3))) == 3
    np.testing.assert_array_equal(x, on_attractor[:5])
    one = x[0].copy()
    assert not lorenz63_control_interval(one, np.array([0.0, np.nan, 0.0]), ALL, 1.0, CFG.params, CFG.dt, 5,
                                         np.empty(3), np.empty(3))
    np.testing.assert_array_equal(one, x[0])


def test_a_non_finite_state_reads_as_infinite_max_abs():
    x = np.array([[np.nan, 1.0, 1.0], [1.0, 2.0, 3.0]])
    _, _, diag = advance(x, CFG.dt, 0.05)
    assert diag[0, 2] == np.inf and np.isfinite(diag[1, 2])


# --------------------------------------------------------------------------- Lyapunov exponents


def test_lyapunov_exponents_sum_to_the_divergence_up_to_the_scheme_error(on_attractor):
    """sum lambda_i = (1/T) log|det DPhi| exactly (QR with all 3 vectors), and det of the RK4 map differs from
    exp(dt tr J) at O(dt^5) a step: the sum is off -(sigma + 1 + beta) by 1.0e-4 at dt = 0.01 (measured),
    falling as dt^4 (to 6.2e-6 at 0.005). Tolerance 2e-4: twice the scheme's error, independent of T."""
    errors = {}
    for dt in (0.01, 0.005):
        run = lyapunov_spectrum(lorenz63_tangent_qr, CFG.params, on_attractor[0], dt, 20.0, renorm_steps=5)
        errors[dt] = run.exponents.sum() - CFG.divergence
    assert abs(errors[0.01]) < 2e-4
    assert 10.0 < errors[0.01] / errors[0.005] < 22.0


def test_leading_exponent_is_sprotts_within_two_percent(on_attractor):
    """T = 10^4 (10^6 RK4 steps, ~0.2 s): statistical error ~0.001 (batch means, scripts/lorenz_physics.py), so
    2 % (0.018) is ~15 standard errors; the measured value is 0.904 (-0.2 %)."""
    run = lyapunov_spectrum(lorenz63_tangent_qr, CFG.params, on_attractor[1], CFG.dt, 1.0e4,
                            renorm_steps=10, transient_time=10.0)
    lam = run.exponents
    assert lam[0] == pytest.approx(SPROTT[0], rel=0.02)
    assert abs(lam[1]) < 0.01  # the flow's direction
    assert lam[2] == pytest.approx(SPROTT[2], rel=0.02)
    assert run.standard_error()[0] < 0.005
    assert kaplan_yorke_dimension(lam) == pytest.approx(2.062, abs=0.003)
