"""Energy budget E, P, D, P_f against physical-space quadrature, and dE/dt = P - D + P_f
along forced trajectories."""

from __future__ import annotations

import numpy as np
import pytest

from chaoscontrol.solvers import (
    KSConfig,
    actuator_centres,
    energy_budget,
    forcing_basis_spectral,
    gaussian_actuator_shapes,
    ks_coefficients,
    ks_energy_budget,
    ks_etdrk4_steps,
    to_physical,
    to_spectral,
)

L = 22.0
N = 64


def _as_tuple(budget: dict[str, float]) -> tuple[float, float, float, float]:
    return budget["energy"], budget["production"], budget["dissipation"], budget["power"]


def test_budget_of_trig_polynomial_matches_analytic_derivatives() -> None:
    x = L * np.arange(N) / N
    k1 = 2.0 * np.pi / L
    u = 0.4 + 0.8 * np.sin(k1 * x) + 0.5 * np.cos(3 * k1 * x + 0.3) - 0.2 * np.sin(7 * k1 * x)
    u_x = 0.8 * k1 * np.cos(k1 * x) - 1.5 * k1 * np.sin(3 * k1 * x + 0.3) - 1.4 * k1 * np.cos(7 * k1 * x)
    u_xx = -0.8 * k1**2 * np.sin(k1 * x) - 4.5 * k1**2 * np.cos(3 * k1 * x + 0.3) + 9.8 * k1**2 * np.sin(7 * k1 * x)
    f = 0.1 + 0.3 * np.cos(2 * k1 * x) + 0.25 * np.sin(3 * k1 * x)
    # Grid means are exact for these products (degree < N).
    expected = (np.mean(u**2) / 2, np.mean(u_x**2), np.mean(u_xx**2), np.mean(u * f))
    # Closed form of the energy as an independent check of the quadrature itself.
    assert expected[0] == pytest.approx((0.4**2 + (0.8**2 + 0.5**2 + 0.2**2) / 2) / 2, rel=1e-14)

    got = _as_tuple(energy_budget(u, f, L))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    got_kernel = ks_energy_budget(np.fft.rfft(u), np.fft.rfft(f), 2.0 * np.pi / L * np.arange(N // 2 + 1))
    np.testing.assert_allclose(got_kernel, expected, rtol=1e-12, atol=0)
    no_forcing = energy_budget(u, None, L)
    assert no_forcing["power"] == 0.0
    np.testing.assert_allclose(_as_tuple(no_forcing)[:3], expected[:3], rtol=1e-12)


@pytest.mark.parametrize("n_grid", [16, 64, 128])
def test_budget_of_random_state_matches_spectral_derivatives(n_grid: int) -> None:
    """A generic (not band-limited) state: derivatives by complex FFT, with no u_x Nyquist
    component (the odd derivative of the Nyquist mode is zero, as in the solver)."""
    rng = np.random.default_rng(8 + n_grid)
    length = 13.7
    u = rng.standard_normal(n_grid) + 0.3
    f = rng.standard_normal(n_grid)
    k = 2.0 * np.pi / length * np.fft.fftfreq(n_grid, 1.0 / n_grid)
    k_odd = k.copy()
    k_odd[n_grid // 2] = 0.0
    uhat = np.fft.fft(u)
    u_x = np.fft.ifft(1j * k_odd * uhat)
    u_xx = np.fft.ifft(-(k**2) * uhat)
    assert np.max(np.abs(u_x.imag)) < 1e-10 and np.max(np.abs(u_xx.imag)) < 1e-9
    expected = (np.mean(u**2) / 2, np.mean(u_x.real**2), np.mean(u_xx.real**2), np.mean(u * f))
    np.testing.assert_allclose(_as_tuple(energy_budget(u, f, length)), expected, rtol=1e-12, atol=0)


def test_energy_rate_equals_production_minus_dissipation_plus_power(attractor_states: np.ndarray) -> None:
    """dE/dt by a five-point central difference in time along forced trajectories.

    The stencil's truncation error is (h^4 / 30) |E^(5)| and the solver's O(h^5) per step,
    so the residual must be O(h^4): small (tolerance h^4 (P + D), with E^(5) ~ (P + D)
    times O(1) rates) and shrinking by ~16 when h halves. The forcing is switched on one
    time unit before the stencil: right after a switch the stiff modes relax at rates up
    to |k^2 - k^4| ~ 7000 and E^(5) is huge.
    """
    rng = np.random.default_rng(9)
    shapes = gaussian_actuator_shapes(L * np.arange(N) / N, L, actuator_centres(L, 4), 0.4)
    basis = forcing_basis_spectral(shapes)
    k = 2.0 * np.pi / L * np.arange(N // 2 + 1)
    t_centre = 0.04
    coeffs_settle = ks_coefficients(KSConfig(L, N, 0.05))
    for u_attractor in attractor_states[:4]:
        fhat = 0.5 * rng.uniform(-1.0, 1.0, 4) @ basis
        v_settled = to_spectral(np.array(u_attractor))
        ks_etdrk4_steps(v_settled, fhat, coeffs_settle, 20)
        residuals = []
        for h in (0.02, 0.01):
            coeffs = ks_coefficients(KSConfig(L, N, h))
            v = v_settled.copy()
            ks_etdrk4_steps(v, fhat, coeffs, int(round((t_centre - 2 * h) / h)))
            energies = []
            for i in range(5):
                if i == 2:
                    e, p, d, pf = ks_energy_budget(v, fhat, k)
                energies.append(ks_energy_budget(v, fhat, k)[0])
                ks_etdrk4_steps(v, fhat, coeffs, 1)
            e_m2, e_m1, _, e_p1, e_p2 = energies
            de_dt = (e_m2 - 8.0 * e_m1 + 8.0 * e_p1 - e_p2) / (12.0 * h)
            rhs = p - d + pf
            assert abs(pf) > 1e-3  # the forcing does work
            assert abs(de_dt - rhs) < h**4 * (p + d), (h, de_dt, rhs)
            residuals.append(abs(de_dt - rhs))
        assert residuals[1] < residuals[0] / 8.0, residuals


def test_budget_matches_physical_state_on_attractor(attractor_states: np.ndarray) -> None:
    """energy_budget (grid values) and ks_energy_budget (spectral) agree, and P_f = <u f>."""
    rng = np.random.default_rng(10)
    shapes = gaussian_actuator_shapes(L * np.arange(N) / N, L, actuator_centres(L, 4), 0.4)
    fhat = 0.5 * rng.uniform(-1.0, 1.0, 4) @ forcing_basis_spectral(shapes)
    f = to_physical(fhat, N)
    k = 2.0 * np.pi / L * np.arange(N // 2 + 1)
    for u in attractor_states:
        from_grid = _as_tuple(energy_budget(u, f, L))
        np.testing.assert_allclose(ks_energy_budget(to_spectral(u), fhat, k), from_grid, rtol=1e-12, atol=1e-15)
        assert from_grid[3] == pytest.approx(np.mean(u * f), rel=1e-12, abs=1e-15)
