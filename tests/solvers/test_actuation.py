"""Gaussian actuators, point sensors and trigonometric interpolation on the periodic grid."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaoscontrol.solvers import (
    actuator_centres,
    forcing_basis_spectral,
    fourier_interpolation_matrix,
    gaussian_actuator_shapes,
    sensor_positions,
    to_physical,
)

L = 22.0
N = 64
SIGMA = 0.4


def _grid(n: int, length: float = L) -> np.ndarray:
    return length * np.arange(n) / n


def _periodic_gaussian(x: np.ndarray, centre: float, length: float, sigma: float) -> np.ndarray:
    """exp(-d^2 / 2 sigma^2) with d the distance to the nearest periodic image of the centre."""
    images = centre + length * np.array([-1.0, 0.0, 1.0])
    d = np.min(np.abs(np.asarray(x)[..., None] - images), axis=-1)
    return np.exp(-(d**2) / (2.0 * sigma**2))


def test_actuator_centres_and_sensor_positions() -> None:
    np.testing.assert_allclose(actuator_centres(L, 4), np.array([1, 3, 5, 7]) * L / 8, rtol=1e-15)
    np.testing.assert_allclose(sensor_positions(L, 8), np.arange(8) * L / 8, rtol=1e-15)
    np.testing.assert_allclose(actuator_centres(10.0, 1), [5.0])
    with pytest.raises(ValueError, match="actuators"):
        actuator_centres(L, 0)
    with pytest.raises(ValueError, match="sensors"):
        sensor_positions(L, 0)


def test_shapes_peak_one_at_on_grid_centres() -> None:
    x = _grid(N)
    centres = actuator_centres(L, 4)
    shapes = gaussian_actuator_shapes(x, L, centres, SIGMA)
    assert shapes.shape == (4, N)
    # At L = 22, N = 64 the centres (2j+1)L/8 are grid points 8, 24, 40, 56.
    idx = np.array([8, 24, 40, 56])
    np.testing.assert_allclose(x[idx], centres, rtol=1e-14)
    assert np.all(np.argmax(shapes, axis=1) == idx)
    np.testing.assert_allclose(shapes[np.arange(4), idx], 1.0, rtol=1e-15)
    assert np.all(shapes <= 1.0) and np.all(shapes > 0.0)
    np.testing.assert_allclose(shapes, [_periodic_gaussian(x, c, L, SIGMA) for c in centres], rtol=1e-14, atol=0)


def test_shape_wraps_around_the_periodic_boundary() -> None:
    x = _grid(N)
    centre = 0.1
    psi = gaussian_actuator_shapes(x, L, np.array([centre]), SIGMA)[0]
    # The point x = L - 0.2 is at periodic distance 0.3 from the centre, not L - 0.3.
    near_end = gaussian_actuator_shapes(np.array([L - 0.2]), L, np.array([centre]), SIGMA)[0, 0]
    assert near_end == pytest.approx(np.exp(-(0.3**2) / (2 * SIGMA**2)), rel=1e-14)
    # Mirror symmetry about the centre on the circle: psi(c + s) = psi(c - s).
    s = np.linspace(0.0, L / 2, 37)
    left = gaussian_actuator_shapes(np.mod(centre - s, L), L, np.array([centre]), SIGMA)[0]
    right = gaussian_actuator_shapes(np.mod(centre + s, L), L, np.array([centre]), SIGMA)[0]
    np.testing.assert_allclose(left, right, rtol=1e-12, atol=1e-15)
    assert np.all(left[s < 1.0] > 1e-3)  # the comparison covers the bulk, not only the tails
    # Grid points just below L carry the wrapped tail.
    assert psi[-1] > 0.5 and psi[-1] == pytest.approx(np.exp(-((L - x[-1] + centre) ** 2) / (2 * SIGMA**2)))


def test_width_from_second_moment_and_half_maximum() -> None:
    n_fine = 4096
    x = _grid(n_fine)
    centre = 7.3
    psi = gaussian_actuator_shapes(x, L, np.array([centre]), SIGMA)[0]
    d = np.minimum(np.abs(x - centre), L - np.abs(x - centre))
    second_moment = np.sum(d**2 * psi) / np.sum(psi)
    assert np.sqrt(second_moment) == pytest.approx(SIGMA, rel=1e-9)
    # Full width at half maximum 2 sqrt(2 ln 2) sigma, from the grid by linear interpolation.
    above = np.flatnonzero(psi >= 0.5)
    i0, i1 = above[0], above[-1]
    x_left = np.interp(0.5, [psi[i0 - 1], psi[i0]], [x[i0 - 1], x[i0]])
    x_right = np.interp(0.5, [psi[i1 + 1], psi[i1]], [x[i1 + 1], x[i1]])
    assert x_right - x_left == pytest.approx(2 * np.sqrt(2 * np.log(2)) * SIGMA, rel=1e-4)


@pytest.mark.parametrize("sigma", [0.0, -0.4, float("nan"), float("inf")])
def test_rejects_bad_width(sigma: float) -> None:
    with pytest.raises(ValueError, match="width"):
        gaussian_actuator_shapes(_grid(N), L, actuator_centres(L, 4), sigma)


def test_forcing_basis_is_mean_free_rfft_of_shapes() -> None:
    shapes = gaussian_actuator_shapes(_grid(N), L, actuator_centres(L, 4), SIGMA)
    basis = forcing_basis_spectral(shapes)
    assert basis.shape == (4, N // 2 + 1) and basis.dtype == np.complex128
    assert np.all(basis[:, 0] == 0)
    rng = np.random.default_rng(5)
    a = rng.uniform(-1.0, 1.0, 4)
    f = to_physical(0.5 * a @ basis, N)
    expected = 0.5 * (a @ shapes)
    expected -= expected.mean()
    np.testing.assert_allclose(f, expected, rtol=0, atol=1e-14)
    assert abs(f.mean()) < 1e-15


# --------------------------------------------------------------------------- interpolation


def test_interpolation_is_identity_at_grid_points() -> None:
    x = _grid(N)
    w = fourier_interpolation_matrix(N, L, x)
    np.testing.assert_allclose(w, np.eye(N), rtol=0, atol=1e-12)
    rng = np.random.default_rng(6)
    u = rng.standard_normal(N)  # not band-limited: includes the Nyquist mode
    sensors = sensor_positions(L, 8)
    ws = fourier_interpolation_matrix(N, L, sensors)
    np.testing.assert_allclose(ws @ u, u[::8], rtol=0, atol=1e-12)


def test_interpolation_is_exact_for_band_limited_functions_off_grid() -> None:
    rng = np.random.default_rng(7)
    points = rng.uniform(0.0, L, 50)
    kx = 2.0 * np.pi / L
    w = fourier_interpolation_matrix(N, L, points)
    x = _grid(N)
    g = np.sin(3 * kx * x)
    np.testing.assert_allclose(w @ g, np.sin(3 * kx * points), rtol=0, atol=1e-12)
    g2 = 0.3 + np.cos(kx * x + 0.4) - 0.7 * np.sin(31 * kx * x)
    np.testing.assert_allclose(w @ g2, 0.3 + np.cos(kx * points + 0.4) - 0.7 * np.sin(31 * kx * points), atol=1e-12)
    # The Nyquist mode (-1)^j is interpolated by its cosine cos(N/2 k x).
    nyq = (-1.0) ** np.arange(N)
    np.testing.assert_allclose(w @ nyq, np.cos(N / 2 * kx * points), atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    n_grid=st.sampled_from([8, 16, 32, 64]),
    length=st.floats(1.0, 100.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_interpolation_property(n_grid: int, length: float, seed: int) -> None:
    """Random trigonometric polynomials of degree < N/2 are reproduced at random points;
    constants are reproduced (rows sum to 1)."""
    rng = np.random.default_rng(seed)
    m = np.arange(n_grid // 2)  # strictly below the Nyquist mode
    a = rng.standard_normal(m.size)
    b = rng.standard_normal(m.size)
    kx = 2.0 * np.pi / length

    def poly(x: np.ndarray) -> np.ndarray:
        return np.cos(kx * np.outer(x, m)) @ a + np.sin(kx * np.outer(x, m)) @ b

    points = rng.uniform(0.0, length, 20)
    w = fourier_interpolation_matrix(n_grid, length, points)
    assert w.shape == (20, n_grid)
    scale = np.sum(np.abs(a)) + np.sum(np.abs(b))
    np.testing.assert_allclose(w @ poly(_grid(n_grid, length)), poly(points), rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- the forcing law, written once


def test_forcing_law_is_the_formula_on_the_grid_and_in_fourier_space() -> None:
    """f = max_forcing * sum_j clip(a_j) (psi_j - <psi_j>): the array form, the Numba form, both bases."""
    from chaoscontrol.solvers.actuation import forcing_law, mean_free_shapes, spectral_forcing_rows

    x = 22.0 * np.arange(64) / 64
    shapes = gaussian_actuator_shapes(x, 22.0, actuator_centres(22.0, 4), 0.4)
    actions = np.random.default_rng(3).uniform(-1.7, 1.7, (5, 4))
    explicit = np.zeros((5, 64))
    for r in range(5):
        for j in range(4):
            explicit[r] += 0.5 * min(1.0, max(-1.0, actions[r, j])) * (shapes[j] - shapes[j].mean())
    grid = forcing_law(actions, mean_free_shapes(shapes), 0.5)
    np.testing.assert_allclose(grid, explicit, rtol=0, atol=1e-14)
    assert np.abs(grid.mean(axis=1)).max() < 1e-15  # mean-free: the mean of u is conserved
    fhat = np.empty((5, 33), dtype=np.complex128)
    spectral_forcing_rows(actions, forcing_basis_spectral(shapes), 0.5, fhat)
    np.testing.assert_allclose(np.fft.irfft(fhat, 64, axis=-1), explicit, rtol=0, atol=1e-13)
    np.testing.assert_allclose(forcing_law(actions, forcing_basis_spectral(shapes), 0.5), fhat, rtol=0, atol=1e-13)


def test_forcing_law_serves_torch_tensors_with_gradients() -> None:
    import torch
    from chaoscontrol.solvers.actuation import forcing_law, mean_free_shapes

    x = 22.0 * np.arange(64) / 64
    shapes = mean_free_shapes(gaussian_actuator_shapes(x, 22.0, actuator_centres(22.0, 4), 0.4))
    a = torch.tensor([[0.3, -2.0, 0.9, 1.5]], dtype=torch.float64, requires_grad=True)
    f = forcing_law(a, torch.as_tensor(shapes), 0.5)
    np.testing.assert_allclose(f.detach().numpy(), forcing_law(a.detach().numpy(), shapes, 0.5), rtol=0, atol=1e-15)
    f.sum().backward()
    grad = a.grad.numpy()[0]
    assert grad[1] == 0.0 and grad[3] == 0.0  # clipped actions carry no gradient
    np.testing.assert_allclose(grad[[0, 2]], 0.5 * shapes[[0, 2]].sum(axis=1), atol=1e-12)


def test_interpolate_rows_reads_a_trigonometric_polynomial_exactly_and_matches_the_matrix_product():
    from chaoscontrol.solvers.actuation import fourier_interpolation_matrix, interpolate_rows

    L, N = 100.0, 256
    x = np.arange(N) * L / N
    points = np.random.default_rng(1).uniform(0, L, 36)
    k = 2 * np.pi / L
    fields = np.stack([np.cos(3 * k * x) + 0.5 * np.sin(17 * k * x + 0.3 * b) for b in range(5)])
    exact = np.stack([np.cos(3 * k * points) + 0.5 * np.sin(17 * k * points + 0.3 * b) for b in range(5)])
    W = fourier_interpolation_matrix(N, L, points)
    got = interpolate_rows(fields, W)
    np.testing.assert_allclose(got, exact, atol=1e-12)  # band-limited: the interpolant is the function
    np.testing.assert_allclose(got, fields @ W.T, rtol=0, atol=1e-13)
    for b in range(5):  # a row alone reads what it reads in the batch, to the last bit
        np.testing.assert_array_equal(interpolate_rows(fields[b : b + 1], W)[0], got[b])
