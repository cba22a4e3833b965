"""ETDRK4 weights from the Kassam-Trefethen contour integral against their limits,
Taylor series and the direct Cox-Matthews formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chaoscontrol.solvers import etdrk4_coefficients
from chaoscontrol.solvers.etdrk4 import ROW_E, ROW_E2, ROW_F1, ROW_F2, ROW_F3, ROW_Q


def _phi(k: int, z: float, terms: int = 60) -> float:
    """phi_k(z) = sum_j z^j / (j + k)!  (no cancellation for |z| <= 3)."""
    return math.fsum(z**j / math.factorial(j + k) for j in range(terms))


def _phi1(z: float) -> float:
    """(e^z - 1)/z without cancellation (and without underflow for tiny z)."""
    return math.expm1(z) / z if abs(z) > 1e-4 else 1.0 + z / 2.0 + z * z / 6.0 + z**3 / 24.0


def _series_weights(c: float, h: float) -> tuple[float, float, float, float]:
    """Q, f1, f2, f3 of Cox & Matthews (2002) via phi functions (Hochbruck-Ostermann form)."""
    z = h * c
    q = 0.5 * h * _phi(1, 0.5 * z)
    f1 = h * (_phi(1, z) - 3.0 * _phi(2, z) + 4.0 * _phi(3, z))
    f2 = h * (_phi(2, z) - 2.0 * _phi(3, z))
    f3 = h * (-_phi(2, z) + 4.0 * _phi(3, z))
    return q, f1, f2, f3


def _direct_weights(c: float, h: float) -> tuple[float, float, float, float]:
    """Cox & Matthews (2002) eq. (26) as written; accurate when |h c| is not small."""
    z = h * c
    ez = math.exp(z)
    q = (math.exp(z / 2.0) - 1.0) / c
    f1 = h * (-4.0 - z + ez * (4.0 - 3.0 * z + z * z)) / z**3
    f2 = h * (2.0 + z + ez * (z - 2.0)) / z**3
    f3 = h * (-4.0 - 3.0 * z - z * z + ez * (4.0 - z)) / z**3
    return q, f1, f2, f3


@pytest.mark.parametrize("h", [0.05, 0.25, 1.0])
def test_zero_rate_limit_is_classical_rk4(h: float) -> None:
    w = etdrk4_coefficients(np.array([0.0]), h)[:, 0]
    assert w[ROW_E] == 1.0 and w[ROW_E2] == 1.0
    assert w[ROW_Q] == pytest.approx(h / 2, rel=1e-14)
    for row in (ROW_F1, ROW_F2, ROW_F3):
        assert w[row] == pytest.approx(h / 6, rel=1e-13)


def test_weights_match_series_for_small_and_moderate_rates() -> None:
    h = 0.05
    z = np.array([-3.0, -1.0, -0.3, -1e-3, -1e-8, 1e-8, 1e-3, 0.3, 1.0, 3.0])
    w = etdrk4_coefficients(z / h, h)
    for i, zi in enumerate(z):
        expected = _series_weights(zi / h, h)
        got = w[[ROW_Q, ROW_F1, ROW_F2, ROW_F3], i]
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0, err_msg=f"z={zi}")
        assert w[ROW_E, i] == pytest.approx(math.exp(zi), rel=1e-15)
        assert w[ROW_E2, i] == pytest.approx(math.exp(zi / 2), rel=1e-15)


def test_weights_match_direct_formulas_for_moderate_and_large_rates() -> None:
    h = 0.05
    z = np.array([-400.0, -60.0, -5.0, -2.0, -1.0, 1.0, 2.0, 5.0])
    w = etdrk4_coefficients(z / h, h)
    for i, zi in enumerate(z):
        expected = _direct_weights(zi / h, h)
        got = w[[ROW_Q, ROW_F1, ROW_F2, ROW_F3], i]
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=0, err_msg=f"z={zi}")


@settings(max_examples=50, deadline=None)
@given(h=st.floats(1e-4, 1.0), z=st.floats(-500.0, 5.0))
@example(h=1.0, z=5e-324)
@example(h=0.05, z=0.0)
@example(h=1e-4, z=-500.0)
def test_weights_integrate_constant_forcing_exactly(h: float, z: float) -> None:
    """For constant N the scheme gives e^{hc} v + (e^{hc} - 1)/c N, i.e.
    f1 + 4 f2 + f3 = h phi_1(hc) and Q = (h/2) phi_1(hc/2)."""
    c = z / h
    w = etdrk4_coefficients(np.array([c]), h)[:, 0]
    h_phi1 = h * _phi1(z)
    h_phi1_half = 0.5 * h * _phi1(z / 2)
    total = w[ROW_F1] + 4.0 * w[ROW_F2] + w[ROW_F3]
    assert total == pytest.approx(h_phi1, rel=1e-11, abs=1e-15 * h)
    assert w[ROW_Q] == pytest.approx(h_phi1_half, rel=1e-11, abs=1e-15 * h)


@pytest.mark.parametrize("h", [0.0, -0.05, float("nan"), float("inf"), -float("inf")])
def test_rejects_bad_step(h: float) -> None:
    with pytest.raises(ValueError, match=r"\bh\b"):
        etdrk4_coefficients(np.array([0.0, -1.0]), h)


def test_rejects_bad_shapes_and_contour() -> None:
    with pytest.raises(ValueError, match="linear"):
        etdrk4_coefficients(np.zeros((2, 3)), 0.1)
    with pytest.raises(ValueError, match="n_contour"):
        etdrk4_coefficients(np.zeros(3), 0.1, n_contour=4)


def test_output_shape_and_dtype() -> None:
    w = etdrk4_coefficients(np.linspace(-100.0, 0.3, 17), 0.05)
    assert w.shape == (6, 17) and w.dtype == np.float64 and np.all(np.isfinite(w))
