"""The CGLE solver against the exact physics: plane waves, their linear stability, the order of the scheme.

- plane waves A = sqrt(1 - q^2) exp(i(qx - omega t)), omega = beta + (alpha - beta) q^2, solve the PDE and
  are advanced exactly (1e-10 over 2000 steps at the default dt: the plane-wave splitting of
  chaoscontrol.solvers.cgle makes the explicit part vanish on them);
- growth rates of small perturbations of the uniform state and of plane waves measured from the solver
  against the eigenvalues of the linearised equation (chaoscontrol.solvers.cgle_waves): unstable when
  1 + alpha beta < 0 (Benjamin-Feir-Newell), stable when > 0 except beyond the Eckhaus wavenumber;
- fourth-order convergence in dt on the turbulent attractor, with a forcing held constant;
- the Numba kernels against the NumPy reference, and every row of a batch bit for bit as that state alone.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from chaoscontrol.solvers.cgle import (
    CGLEConfig,
    cgle_coefficients,
    cgle_etdrk4_step_reference,
    cgle_etdrk4_steps,
    cgle_etdrk4_steps_rows,
    cgle_split_rates,
    etdrk4_coefficients_complex,
    plane_wave_shift,
    shifted_modes,
    to_physical,
    to_spectral,
)
from chaoscontrol.solvers.cgle_control import (
    CGLE_BLOCK_ROWS,
    N_DIAG,
    cgle_control_interval,
    cgle_control_interval_batch,
    cgle_diagnostics_reference,
)
from chaoscontrol.solvers.cgle_dynamics import CGLEDynamics
from chaoscontrol.solvers.cgle_waves import (
    benjamin_feir_band,
    benjamin_feir_unstable,
    eckhaus_wavenumber,
    measured_growth_rate,
    plane_wave,
    plane_wave_frequency,
    plane_wave_growth_rates,
    uniform_growth_rate,
)
from chaoscontrol.solvers.dynamics import DIAG_MAX_ABS, Dynamics
from chaoscontrol.solvers.etdrk4 import etdrk4_coefficients

L = 8.0 * math.pi
N = 64


@pytest.fixture(scope="module")
def dyn() -> CGLEDynamics:
    return CGLEDynamics(burn_in=50.0)


@pytest.fixture(scope="module")
def attractor(dyn) -> np.ndarray:
    """4 spectral states on the default (alpha = 2, beta = -2) attractor, read-only."""
    v = dyn.random_states([np.random.default_rng(s) for s in range(4)])
    v.setflags(write=False)
    return v


# --------------------------------------------------------------------------- ETDRK4 weights of complex rates


def test_complex_weights_of_real_rates_are_the_real_weights():
    rates = np.array([-300.0, -20.0, -1.0, -1e-6, 0.0, 1e-6, 1.0])
    np.testing.assert_allclose(etdrk4_coefficients_complex(rates, 0.05), etdrk4_coefficients(rates, 0.05),
                               rtol=1e-12, atol=1e-16)


def test_complex_weights_match_the_direct_formulas_away_from_zero():
    h = 0.05
    c = np.array([-60.0 - 130.0j, -3.0 + 40.0j, 25.0 - 25.0j, 1.0 - 60.0j])
    z = h * c
    ez = np.exp(z)
    direct = np.stack([ez, np.exp(z / 2), (np.exp(z / 2) - 1) / c,
                       h * (-4 - z + ez * (4 - 3 * z + z**2)) / z**3,
                       h * (2 + z + ez * (z - 2)) / z**3,
                       h * (-4 - 3 * z - z**2 + ez * (4 - z)) / z**3])
    np.testing.assert_allclose(etdrk4_coefficients_complex(c, h), direct, rtol=1e-12)


def test_complex_weights_have_the_rk4_limit_at_small_rates():
    w = etdrk4_coefficients_complex(np.array([1e-9j, -1e-9 + 1e-9j]), 0.05)
    np.testing.assert_allclose(w[2], 0.025, rtol=1e-9)
    for row in (3, 4, 5):
        np.testing.assert_allclose(w[row], 0.05 / 6, rtol=1e-9)


# --------------------------------------------------------------------------- plane waves


@pytest.mark.parametrize("alpha, beta", [(2.0, -2.0), (-1.0, 0.5)])
@pytest.mark.parametrize("p", [0, 1, -3])
def test_plane_waves_solve_the_pde(alpha, beta, p):
    """The closed form (frequency and sign convention) against the PDE itself, A_t = -i omega A."""
    cfg = CGLEConfig(alpha=alpha, beta=beta, L=L, N=N)
    q = 2.0 * np.pi * p / L
    a = plane_wave(cfg.x, 0.7, q, alpha, beta)
    a_xx = np.fft.ifft(-(cfg.k**2) * np.fft.fft(a))
    rhs = a + (1 + 1j * alpha) * a_xx - (1 + 1j * beta) * np.abs(a) ** 2 * a
    np.testing.assert_allclose(rhs, -1j * plane_wave_frequency(alpha, beta, q) * a, atol=1e-12)


@pytest.mark.parametrize("alpha, beta", [(2.0, -2.0), (-1.0, 0.5)])
@pytest.mark.parametrize("p", [0, 1, 2, -3])
def test_plane_waves_are_advanced_exactly_over_many_steps(alpha, beta, p):
    """400 steps (t = 20) at the default dt: every wave here but (-1, 0.5, p = 1) is unstable, and round-off
    (1e-16) grows by at most e^{0.43 t} ~ 5e3 in that time (the uniform state keeps its round-off in mode 0)."""
    cfg = CGLEConfig(alpha=alpha, beta=beta, L=L, N=N)
    q = 2.0 * np.pi * p / L
    v = to_spectral(plane_wave(cfg.x, 0.0, q, alpha, beta))
    n_steps = 400
    cgle_etdrk4_steps(v, np.zeros_like(v), cgle_coefficients(cfg), cfg.nonlinear_coefficient, n_steps)
    a = to_physical(v)
    assert np.abs(a - plane_wave(cfg.x, n_steps * cfg.dt, q, alpha, beta)).max() < 1e-10
    assert np.abs(np.abs(a) - math.sqrt(1 - q * q)).max() < 1e-10


def test_a_stable_plane_wave_stays_exact_for_ten_thousand_steps():
    cfg = CGLEConfig(alpha=-1.0, beta=0.5, L=L, N=N)  # 1 + alpha beta = 0.5 > 0, q = 0.25 < q_E = 0.41
    q = 2.0 * np.pi / L
    v = to_spectral(plane_wave(cfg.x, 0.0, q, cfg.alpha, cfg.beta))
    cgle_etdrk4_steps(v, np.zeros_like(v), cgle_coefficients(cfg), cfg.nonlinear_coefficient, 10_000)
    assert np.abs(to_physical(v) - plane_wave(cfg.x, 10_000 * cfg.dt, q, cfg.alpha, cfg.beta)).max() < 1e-10


def test_the_split_rates_are_the_plane_wave_frequencies():
    cfg = CGLEConfig()
    band = np.abs(cfg.k) < 1
    np.testing.assert_allclose(cgle_split_rates(cfg)[band],
                               -1j * plane_wave_frequency(cfg.alpha, cfg.beta, cfg.k[band]), atol=1e-14)


# --------------------------------------------------------------------------- linear stability


def test_closed_form_uniform_rates_are_the_eigenvalues_and_bound_the_band():
    for alpha, beta in [(2.0, -2.0), (2.0, -0.75), (2.0, 0.5)]:
        for k in (0.1, 0.4, 0.8, 1.2):
            assert uniform_growth_rate(alpha, beta, k) == pytest.approx(
                plane_wave_growth_rates(alpha, beta, 0.0, k)[0][0].real, abs=1e-13)
        kb = benjamin_feir_band(alpha, beta)
        assert (kb > 0) == benjamin_feir_unstable(alpha, beta)
        if kb > 0:
            assert uniform_growth_rate(alpha, beta, 0.99 * kb) > 0 > uniform_growth_rate(alpha, beta, 1.01 * kb)
        else:
            assert np.all(uniform_growth_rate(alpha, beta, np.linspace(0.01, 3.0, 300)) < 0)


def test_eckhaus_wavenumber_is_where_long_waves_turn_unstable():
    for alpha, beta in [(2.0, 0.5), (-1.0, 0.5), (0.5, 0.5)]:
        qe = eckhaus_wavenumber(alpha, beta)
        assert plane_wave_growth_rates(alpha, beta, 0.98 * qe, 0.01)[0][0].real < 0
        assert plane_wave_growth_rates(alpha, beta, 1.02 * qe, 0.01)[0][0].real > 0
    assert eckhaus_wavenumber(2.0, -2.0) == 0.0


# (alpha, beta, p, m): the uniform state (p = 0) or a plane wave p, perturbed at wavenumber 2 pi m / L = m / 4.
GROWTH_CASES = [
    pytest.param(2.0, -2.0, 0, 1, id="BF-unstable-uniform-k0.25"),
    pytest.param(2.0, -2.0, 0, 2, id="BF-unstable-uniform-k0.5"),
    pytest.param(2.0, -2.0, 0, 4, id="BF-unstable-uniform-k1"),
    pytest.param(2.0, -2.0, 0, 5, id="BF-unstable-uniform-k1.25-stable"),
    pytest.param(2.0, -2.0, 1, 2, id="BF-unstable-wave-q0.25"),
    pytest.param(2.0, 0.5, 0, 2, id="BF-stable-uniform-k0.5"),
    pytest.param(2.0, 0.5, 1, 1, id="BF-stable-wave-q0.25-stable"),
    pytest.param(2.0, 0.5, 3, 1, id="BF-stable-wave-q0.75-Eckhaus-unstable"),
]


@pytest.mark.parametrize("alpha, beta, p, m", GROWTH_CASES)
def test_measured_growth_rates_match_the_dispersion_relation(alpha, beta, p, m):
    measured, theory = measured_growth_rate(CGLEConfig(alpha=alpha, beta=beta, L=L, N=N), p, m)
    assert measured.real == pytest.approx(theory.real, abs=5e-5)
    assert measured.imag == pytest.approx(theory.imag, abs=1e-4)  # the frequency as well
    rate, q, k = measured.real, p / 4.0, m / 4.0
    if p == 0:  # the Benjamin-Feir-Newell criterion decides the uniform state's fate
        assert (rate > 0) == (benjamin_feir_unstable(alpha, beta) and k < benjamin_feir_band(alpha, beta))
    elif not benjamin_feir_unstable(alpha, beta):
        assert (rate > 0) == (abs(q) > eckhaus_wavenumber(alpha, beta))


# --------------------------------------------------------------------------- order and kernels


def test_fourth_order_in_dt_on_the_attractor_with_forcing(dyn, attractor):
    v0 = attractor[:2].copy()
    fhat = np.ascontiguousarray(dyn.forcing_basis[np.array([0, 5])] * 0.3 + dyn.forcing_basis[np.array([20, 9])] * 0.2)
    t_end = 1.0

    def run(dt: float) -> np.ndarray:
        cfg = CGLEConfig(dt=dt)
        coeffs = cgle_coefficients(cfg)
        out = []
        for v, f in zip(v0, fhat):
            w = v.copy()
            cgle_etdrk4_steps(w, f, coeffs, cfg.nonlinear_coefficient, int(round(t_end / dt)))
            out.append(to_physical(w))
        return np.array(out)

    ref = run(0.1 / 16)
    errors = [np.abs(run(dt) - ref).max() for dt in (0.1, 0.05, 0.025)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 3.6) & (orders < 4.4)), (errors, orders)
    assert errors[1] < 5e-5  # the default dt = 0.05


def test_kernel_matches_the_numpy_reference(dyn, attractor):
    v = np.array(attractor)
    fhat = 0.4 * dyn.forcing_basis[:4] + 0.1j * dyn.forcing_basis[4:8]
    ref = cgle_etdrk4_step_reference(v, fhat, dyn.coeffs, dyn.g)
    for i in range(len(v)):
        w = v[i].copy()
        cgle_etdrk4_steps(w, fhat[i].copy(), dyn.coeffs, dyn.g, 1)
        np.testing.assert_allclose(w, ref[i], rtol=0, atol=1e-13 * np.abs(ref[i]).max())


def test_the_shift_acts_on_exactly_the_plane_wave_modes_and_a_strided_forcing_gives_the_same_bits(dyn, attractor):
    # s_k = 1 - k^2 > 0 exactly for |k| < 1 (the plane waves that exist); L = 8 pi: k = m / 4, |m| <= 3.
    for cfg in (CGLEConfig(), CGLEConfig(L=30.0, N=32)):
        k = cfg.k
        np.testing.assert_array_equal(shifted_modes(cgle_coefficients(cfg)[6]), np.flatnonzero(np.abs(k) < 1.0))
        assert np.all(plane_wave_shift(cfg)[np.abs(k) >= 1.0] == 0.0)
    np.testing.assert_array_equal(shifted_modes(dyn.coeffs[6]), [0, 1, 2, 3, N - 3, N - 2, N - 1])
    fhat = 0.3 * dyn.forcing_basis[:4]
    strided = np.empty((4, 2 * N), dtype=np.complex128)[:, ::2]
    strided[:] = fhat
    w1, w2 = np.array(attractor), np.array(attractor)
    cgle_etdrk4_steps_rows(w1, fhat, dyn.coeffs, dyn.g, 3)
    cgle_etdrk4_steps_rows(w2, strided, dyn.coeffs, dyn.g, 3)
    assert np.array_equal(w1, w2) and not np.array_equal(w1, attractor)


def test_diagnostics_match_the_numpy_reference_and_the_forcing_law(dyn, attractor):
    actions = np.random.default_rng(3).uniform(-1.4, 1.4, (4, dyn.n_actions))
    v = np.array(attractor)
    fields, diag = np.zeros((4, 2, N)), np.zeros((4, N_DIAG))
    assert dyn.advance(v, fields, actions, diag) == -1
    f = dyn.forcing_fields(actions)
    ref = cgle_diagnostics_reference(fields[:, 0] + 1j * fields[:, 1], f[:, 0] + 1j * f[:, 1])
    np.testing.assert_allclose(diag, ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fields, dyn.fields_from_states(v), atol=1e-15)


def _states_and_actions(dyn: CGLEDynamics, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    m = np.arange(-6, 7)
    c = rng.standard_normal((batch, m.size)) + 1j * rng.standard_normal((batch, m.size))
    a = 0.5 + 0.3 * np.exp(2j * np.pi / L * np.outer(dyn.config.x, m)) @ c.T / np.sqrt(m.size)
    return to_spectral(a.T), rng.uniform(-1.3, 1.3, (batch, dyn.n_actions))


@pytest.mark.parametrize("batch", [1, 3, 17, 70, 2 * CGLE_BLOCK_ROWS + 3])  # the last in blocks of CGLE_BLOCK_ROWS
def test_batch_rows_are_bit_identical_to_single_systems(dyn, batch):
    v0, actions = _states_and_actions(dyn, batch, seed=batch)
    args = (dyn.forcing_basis, dyn.max_forcing, dyn.coeffs, dyn.g, dyn.frame_skip)
    v, fields, diag = v0.copy(), np.zeros((batch, 2, N)), np.zeros((batch, N_DIAG))
    assert cgle_control_interval_batch(v, actions, *args, fields, diag) == -1
    for i in range(batch):
        vi, fi, di = v0[i].copy(), np.zeros((2, N)), np.zeros(N_DIAG)
        assert cgle_control_interval(vi, actions[i], *args, fi, di)
        assert np.array_equal(vi, v[i]) and np.array_equal(fi, fields[i]) and np.array_equal(di, diag[i]), i
    assert not np.array_equal(v, v0)


def test_a_non_finite_action_changes_nothing_and_names_its_row(dyn):
    v0, actions = _states_and_actions(dyn, 5, seed=1)
    actions[3, 7] = np.inf
    v = v0.copy()
    assert dyn.advance(v, np.zeros((5, 2, N)), actions, np.zeros((5, N_DIAG))) == 3
    np.testing.assert_array_equal(v, v0)
    assert not dyn.advance_one(v[3], np.zeros((2, N)), actions[3], np.zeros(N_DIAG))


# --------------------------------------------------------------------------- the dynamics object


def test_dynamics_satisfies_the_protocol_and_round_trips_fields(dyn, attractor):
    assert isinstance(dyn, Dynamics)
    assert dyn.state_shape == (N,) and dyn.field_shape == (2, N) and dyn.n_actions == 32
    assert dyn.control_dt == pytest.approx(0.25)
    fields = dyn.fields_from_states(attractor)
    np.testing.assert_allclose(dyn.states_from_fields(fields), attractor, atol=1e-12)
    real = CGLEDynamics(forcing="real", actuators=4, burn_in=0.0)
    assert real.n_actions == 4 and np.all(real.forcing_fields(np.ones(4))[1] == 0.0)


def test_random_states_depend_on_each_generator_alone_and_reach_turbulence(dyn, attractor):
    alone = dyn.random_states([np.random.default_rng(2)])
    np.testing.assert_array_equal(alone[0], attractor[2])
    d = dyn.unforced_diagnostics(attractor)
    assert d.shape == (4, 5) and np.all(d[:, 4] == 0.0)
    assert np.all(d[:, 1] > 0.3) and np.all(d[:, 2] > 0.1)  # far from the uniform state, amplitude turbulence


def test_the_uniform_oscillation_is_held_by_zero_forcing_and_blowup_is_flagged(dyn):
    v = to_spectral(np.full((1, N), np.exp(0.4j)))
    fields, diag = np.zeros((1, 2, N)), np.zeros((1, N_DIAG))
    for _ in range(40):
        dyn.advance(v, fields, np.zeros((1, dyn.n_actions)), diag)
    assert diag[0, 1] < 1e-12 and diag[0, 2] < 1e-12 and diag[0, DIAG_MAX_ABS] == pytest.approx(1.0, abs=1e-12)
    v[0, 3] = np.nan
    dyn.advance(v, fields, np.zeros((1, dyn.n_actions)), diag)
    assert diag[0, DIAG_MAX_ABS] == math.inf
