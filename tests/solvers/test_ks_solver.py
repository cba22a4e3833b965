"""The KS configuration, coefficients and ETDRK4 kernels against analytic solutions,
convergence order, the NumPy reference scheme and mean conservation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaoscontrol.solvers import (
    KSConfig,
    actuator_centres,
    forcing_basis_spectral,
    gaussian_actuator_shapes,
    ks_coefficients,
    ks_etdrk4_step_reference,
    ks_etdrk4_steps,
    ks_etdrk4_steps_batch,
    ks_linear_rates,
    to_physical,
    to_spectral,
)
from chaoscontrol.solvers.actuation import forcing_law
from chaoscontrol.solvers.ks import ROW_G

L = 22.0
N = 64


def _actuator_forcing(cfg: KSConfig, actions: np.ndarray, max_forcing: float = 0.5) -> np.ndarray:
    """Spectral forcing max_forcing * a @ basis of the 4 Gaussian actuators (sigma = 0.4)."""
    shapes = gaussian_actuator_shapes(cfg.x, cfg.L, actuator_centres(cfg.L, 4), 0.4)
    return forcing_law(np.atleast_2d(actions), forcing_basis_spectral(shapes), max_forcing)


def _linear_only_coefficients(cfg: KSConfig) -> np.ndarray:
    coeffs = ks_coefficients(cfg).copy()
    coeffs[ROW_G] = 0.0
    coeffs.setflags(write=False)
    return coeffs


# --------------------------------------------------------------------------- KSConfig


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"L": 0.0}, "L"),
        ({"L": -22.0}, "L"),
        ({"L": float("nan")}, "L"),
        ({"L": float("inf")}, "L"),
        ({"L": "22"}, "L"),
        ({"N": 63}, "N"),
        ({"N": 6}, "N"),
        ({"N": 0}, "N"),
        ({"N": -64}, "N"),
        ({"N": 64.0}, "N"),
        ({"N": True}, "N"),
        ({"dt": 0.0}, "dt"),
        ({"dt": -0.05}, "dt"),
        ({"dt": float("nan")}, "dt"),
        ({"dt": float("inf")}, "dt"),
    ],
)
def test_config_rejects_invalid_values_naming_the_argument(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        KSConfig(**kwargs)


def test_config_grid_and_wavenumbers() -> None:
    cfg = KSConfig(L=22.0, N=64, dt=0.05)
    assert cfg.n_modes == 33
    np.testing.assert_allclose(cfg.x, np.linspace(0.0, 22.0, 64, endpoint=False), rtol=0, atol=1e-14)
    np.testing.assert_allclose(cfg.k, 2.0 * np.pi * np.arange(33) / 22.0, rtol=1e-15)
    k = cfg.k
    np.testing.assert_allclose(ks_linear_rates(cfg), k**2 - k**4, rtol=1e-14)
    # Smallest valid grid and an integer L are fine.
    assert KSConfig(L=10, N=8, dt=1).n_modes == 5


def test_ks_coefficients_rows_are_the_ks_operator() -> None:
    cfg = KSConfig(L, N, 0.05)
    coeffs = ks_coefficients(cfg)
    assert coeffs.shape == (7, 33) and coeffs.dtype == np.float64
    assert not coeffs.flags.writeable
    k = cfg.k
    c = k**2 - k**4
    np.testing.assert_allclose(coeffs[0], np.exp(0.05 * c), rtol=1e-14, atol=0)
    np.testing.assert_allclose(coeffs[1], np.exp(0.025 * c), rtol=1e-14, atol=0)
    expected_g = -0.5 * k
    expected_g[-1] = 0.0  # no odd derivative of the Nyquist mode
    np.testing.assert_allclose(coeffs[ROW_G], expected_g, rtol=1e-15, atol=0)


def test_transforms_round_trip() -> None:
    rng = np.random.default_rng(0)
    u = rng.standard_normal((3, N))
    v = to_spectral(u)
    assert v.shape == (3, N // 2 + 1)
    np.testing.assert_allclose(to_physical(v, N), u, rtol=0, atol=1e-14)


# --------------------------------------------------------------------------- 1. linear theory


def test_linear_part_is_exact_exponential_for_all_modes() -> None:
    """Nonlinearity zeroed: v_m(t) = exp((k^2 - k^4) t) v_m(0), growing and decaying modes."""
    cfg = KSConfig(L, N, 0.05)
    coeffs = _linear_only_coefficients(cfg)
    rng = np.random.default_rng(1)
    v0 = to_spectral(rng.standard_normal(N))
    v = v0.copy()
    n_steps = 40  # t = 2
    ks_etdrk4_steps(v, np.zeros_like(v), coeffs, n_steps)
    t = n_steps * cfg.dt
    rates = ks_linear_rates(cfg)
    exact = np.exp(rates * t) * v0
    # Modes 0..8: neutral (m=0), unstable (1..3, k<1) and stable (4..8, k>1, decaying to ~1e-19).
    assert rates[0] == 0 and np.all(rates[1:4] > 0) and np.all(rates[4:9] < 0)
    for m in range(9):
        assert abs(v[m] - exact[m]) <= 1e-12 * abs(exact[m]), m
    # The rest (decayed below 1e-19 of the initial size) agree absolutely.
    np.testing.assert_allclose(v, exact, rtol=1e-12, atol=1e-12 * np.max(np.abs(v0)))


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 6])
def test_tiny_single_mode_follows_linear_theory(m: int) -> None:
    """Full nonlinear solver, amplitude 1e-7: the nonlinearity is a 1e-7 relative effect."""
    cfg = KSConfig(L, N, 0.05)
    coeffs = ks_coefficients(cfg)
    phase = 0.7 * m
    u0 = 1e-7 * np.cos(cfg.k[m] * cfg.x + phase)
    v0 = to_spectral(u0)
    v = v0.copy()
    ks_etdrk4_steps(v, np.zeros_like(v), coeffs, 40)
    linear = np.exp(ks_linear_rates(cfg) * 2.0) * v0
    err = np.max(np.abs(v - linear)) / np.max(np.abs(linear))
    assert err < 1e-5


def test_constant_forcing_without_nonlinearity_is_exact() -> None:
    """v' = c v + fhat: v(t) = e^{ct} v0 + (e^{ct} - 1)/c fhat (c != 0), v0 + t fhat (c = 0).

    ETDRK4 integrates a constant nonlinear term exactly (f1 + 4 f2 + f3 = (e^{hc} - 1)/c).
    """
    cfg = KSConfig(L, N, 0.05)
    coeffs = _linear_only_coefficients(cfg)
    rng = np.random.default_rng(2)
    v0 = to_spectral(rng.standard_normal(N))
    fhat = to_spectral(rng.standard_normal(N))  # includes a nonzero mean component
    assert abs(fhat[0]) > 0.1
    v = v0.copy()
    n_steps = 60
    ks_etdrk4_steps(v, fhat, coeffs, n_steps)
    t = n_steps * cfg.dt
    c = ks_linear_rates(cfg)
    exact = np.empty_like(v0)
    exact[0] = v0[0] + t * fhat[0]
    exact[1:] = np.exp(c[1:] * t) * v0[1:] + np.expm1(c[1:] * t) / c[1:] * fhat[1:]
    scale = np.max(np.abs(exact))
    np.testing.assert_allclose(v, exact, rtol=1e-10, atol=1e-12 * scale)
    # Stiff modes relax to the steady response -fhat/c.
    np.testing.assert_allclose(v[20:], -fhat[20:] / c[20:], rtol=1e-10)


# --------------------------------------------------------------------------- 2. convergence


def _convergence_errors(n_grid: int, t_final: float, dts: list[float], ref_div: int):
    length = L
    x = length * np.arange(n_grid) / n_grid
    s = 2.0 * np.pi * x / length
    u0 = np.cos(s) * (1.0 + np.sin(s))
    fhat = to_spectral(0.3 * np.cos(2.0 * s) + 0.2 * np.sin(3.0 * s))
    fhat[0] = 0.0

    def solve(dt: float) -> np.ndarray:
        n_steps = int(round(t_final / dt))
        assert math.isclose(n_steps * dt, t_final, rel_tol=1e-12)
        v = to_spectral(u0)
        ks_etdrk4_steps(v, fhat, ks_coefficients(KSConfig(length, n_grid, dt)), n_steps)
        return to_physical(v, n_grid)

    ref = solve(dts[-1] / ref_div)
    ref_finer = solve(dts[-1] / (2 * ref_div))
    errs = np.array([np.max(np.abs(solve(dt) - ref)) for dt in dts])
    return errs, np.max(np.abs(ref - ref_finer))


def test_fourth_order_convergence_in_dt() -> None:
    """Forced nonlinear KS, L = 22, N = 64: error ~ dt^4.

    Cox-Matthews ETDRK4 shows the known stiff order reduction for h |c| ~ 1 (measured
    slope ~3 for dt = 0.2 ... 0.025 at N = 64); the steps below are in the asymptotic
    regime. The reference uses dt/4 of the smallest step: finer references accumulate
    round-off (~1e-11 after 3e4 steps) comparable to the smallest error.
    """
    dts = [0.02, 0.01, 0.005, 0.0025]
    errs, ref_uncertainty = _convergence_errors(N, t_final=8.0, dts=dts, ref_div=4)
    assert errs[-1] > 1e-11, errs  # well above round-off
    assert ref_uncertainty < 0.05 * errs[-1], (ref_uncertainty, errs)
    slope = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    assert 3.5 <= slope <= 4.5, (slope, errs)
    local_orders = np.log2(errs[:-1] / errs[1:])
    assert 3.5 <= local_orders[-1] <= 4.5, local_orders


def test_fourth_order_convergence_nonstiff_grid() -> None:
    """On a coarse grid (N = 16, max h|c| < 1) the classical order 4 shows cleanly."""
    dts = [0.04, 0.02, 0.01, 0.005]
    errs, ref_uncertainty = _convergence_errors(16, t_final=4.0, dts=dts, ref_div=4)
    assert errs[-1] > 1e-11, errs
    assert ref_uncertainty < 0.05 * errs[-1], (ref_uncertainty, errs)
    slope = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    assert 3.8 <= slope <= 4.2, (slope, errs)


# --------------------------------------------------------------------------- 3. kernel == reference


def _reference_steps(v: np.ndarray, fhat: np.ndarray, coeffs: np.ndarray, n_steps: int) -> np.ndarray:
    for _ in range(n_steps):
        v = ks_etdrk4_step_reference(v, fhat, coeffs)
    return v


def _rel_grid_error(v: np.ndarray, v_ref: np.ndarray, n: int) -> np.ndarray:
    u = to_physical(v, n)
    u_ref = to_physical(v_ref, n)
    return np.max(np.abs(u - u_ref), axis=-1) / np.max(np.abs(u_ref), axis=-1)


def test_numba_kernels_match_numpy_reference(attractor_states: np.ndarray) -> None:
    cfg = KSConfig(L, N, 0.05)
    coeffs = ks_coefficients(cfg)
    rng = np.random.default_rng(3)
    batch = 4
    u0 = np.array(attractor_states[:batch])
    actions = rng.uniform(-1.0, 1.0, (batch, 4))
    fhat = _actuator_forcing(cfg, actions)
    n_steps = 200
    v0 = to_spectral(u0)
    v_ref = _reference_steps(v0.copy(), fhat, coeffs, n_steps)

    v_batch = v0.copy()
    ks_etdrk4_steps_batch(v_batch, fhat, coeffs, n_steps)
    assert np.all(_rel_grid_error(v_batch, v_ref, N) < 1e-12)

    for i in range(batch):
        v_single = v0[i].copy()
        ks_etdrk4_steps(v_single, fhat[i], coeffs, n_steps)
        assert _rel_grid_error(v_single, v_ref[i], N) < 1e-12
        assert _rel_grid_error(v_single, v_batch[i], N) < 1e-12

    # The forcing is not negligible over this horizon, so the comparison sees it.
    v_unforced = _reference_steps(v0.copy(), np.zeros_like(fhat), coeffs, n_steps)
    assert np.all(_rel_grid_error(v_unforced, v_ref, N) > 1e-3)


@settings(max_examples=25, deadline=None)
@given(
    n_grid=st.sampled_from([8, 16, 32, 64]),
    length=st.floats(4.0, 60.0),
    dt=st.floats(1e-3, 0.2),
    n_steps=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_kernel_equals_reference_property(n_grid: int, length: float, dt: float, n_steps: int, seed: int) -> None:
    cfg = KSConfig(length, n_grid, dt)
    coeffs = ks_coefficients(cfg)
    rng = np.random.default_rng(seed)
    m = np.arange(cfg.n_modes)
    decay = np.exp(-0.5 * m)
    v0 = to_spectral(rng.standard_normal((2, n_grid))) * decay
    v0 *= 2.0 / np.max(np.abs(to_physical(v0, n_grid)), axis=-1, keepdims=True)
    fhat = to_spectral(rng.uniform(-1.0, 1.0, (2, n_grid))) * decay
    fhat[:, 0] = 0.0
    v_ref = _reference_steps(v0.copy(), fhat, coeffs, n_steps)
    assert np.all(np.isfinite(v_ref))
    v = v0.copy()
    ks_etdrk4_steps_batch(v, fhat, coeffs, n_steps)
    assert np.all(_rel_grid_error(v, v_ref, n_grid) < 1e-12)


# --------------------------------------------------------------------------- 4. mean conservation


@pytest.mark.parametrize("mean", [0.0, 0.7])
def test_mean_is_conserved_with_forcing(attractor_states: np.ndarray, mean: float) -> None:
    cfg = KSConfig(L, N, 0.05)
    coeffs = ks_coefficients(cfg)
    rng = np.random.default_rng(4)
    u0 = np.array(attractor_states[:2]) + mean
    fhat = _actuator_forcing(cfg, rng.uniform(-1.0, 1.0, (2, 4)))
    assert np.all(fhat[:, 0] == 0)  # the forcing basis has its mean removed
    v0 = to_spectral(u0)
    v = v0.copy()
    ks_etdrk4_steps_batch(v, fhat, coeffs, 2000)
    np.testing.assert_allclose(v[:, 0], v0[:, 0], rtol=0, atol=1e-12 * N)
    np.testing.assert_allclose(to_physical(v, N).mean(axis=1), mean, rtol=0, atol=1e-12)
    w = v0[0].copy()
    ks_etdrk4_steps(w, fhat[0], coeffs, 2000)
    assert abs(w[0] - v0[0, 0]) <= 1e-12 * N
    # Non-vacuous: the state itself changed completely.
    assert np.max(np.abs(to_physical(v, N) - u0)) > 0.5
