"""Equilibria E1, E2, E3 of KS at L = 22 against Cvitanovic, Davidchack & Siminos (2010)."""

from __future__ import annotations

import numpy as np
import pytest

from chaoscontrol.solvers import (
    KSConfig,
    energy_budget,
    ks_coefficients,
    ks_equilibria,
    ks_equilibrium,
    ks_etdrk4_steps,
    ks_residual,
    to_physical,
    to_spectral,
)

L = 22.0
N = 64

# (energy <u^2>/2, dissipation <u_xx^2>, dominant wavenumber), CDS 2010 / docs/design.md section 6.
LITERATURE = {
    "E1": (0.2609, 0.203, 1),
    "E2": (0.4382, 0.541, 2),
    "E3": (1.5876, 2.557, 3),
}


@pytest.fixture(scope="module")
def equilibria() -> dict[str, np.ndarray]:
    return ks_equilibria(L, N)


def test_residual_of_known_solutions() -> None:
    """ks_residual is F(u) = -u u_x - u_xx - u_xxxx: zero for u = const, and
    for u = a sin(kx) it is a (k^2 - k^4) sin(kx) - (a^2 k / 2) sin(2kx)."""
    x = L * np.arange(N) / N
    np.testing.assert_allclose(ks_residual(np.full(N, 0.7), L), 0.0, atol=1e-14)
    k = 2.0 * np.pi * 3 / L
    a = 0.6
    expected = a * (k**2 - k**4) * np.sin(k * x) - 0.5 * a**2 * k * np.sin(2 * k * x)
    # Round-off of the k^4 ~ 7e3 hyper-diffusion on FFT noise is ~1e-12.
    np.testing.assert_allclose(ks_residual(a * np.sin(k * x), L), expected, rtol=0, atol=1e-11)


def test_e1_e2_e3_match_literature(equilibria: dict[str, np.ndarray]) -> None:
    assert {"E1", "E2", "E3"} <= set(equilibria)
    for name, (energy, dissipation, q) in LITERATURE.items():
        u = equilibria[name]
        assert u.shape == (N,) and u.dtype == np.float64
        budget = energy_budget(u, None, L)
        assert budget["energy"] == pytest.approx(energy, abs=1e-3), name
        assert budget["dissipation"] == pytest.approx(dissipation, abs=2e-3), name
        # Steady state: dE/dt = P - D = 0.
        assert budget["production"] == pytest.approx(budget["dissipation"], rel=1e-9), name
        assert np.max(np.abs(ks_residual(u, L))) < 1e-8, name
        spectrum = np.abs(np.fft.rfft(u))
        assert int(np.argmax(spectrum)) == q, name
        # Antisymmetric subspace u(-x) = -u(x), zero mean.
        np.testing.assert_allclose(u[(-np.arange(N)) % N], -u, atol=1e-12)


def test_equilibria_are_distinct(equilibria: dict[str, np.ndarray]) -> None:
    names = ["E1", "E2", "E3"]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.max(np.abs(equilibria[a] - equilibria[b])) > 0.1


@pytest.mark.parametrize("name", ["E1", "E2", "E3"])
def test_equilibrium_is_a_fixed_point_of_the_time_stepper(name: str) -> None:
    cfg = KSConfig(L, N, 0.05)
    u = ks_equilibrium(name, L, N)
    v = to_spectral(u)
    ks_etdrk4_steps(v, np.zeros_like(v), ks_coefficients(cfg), 20)
    assert np.max(np.abs(to_physical(v, N) - u)) < 1e-6


def test_two_cell_equilibrium_is_one_cell_equilibrium_of_half_domain(equilibria: dict[str, np.ndarray]) -> None:
    """A solution on [0, 11) repeated twice solves KS on [0, 22): E2(L=22) is the equilibrium of dominant
    wavenumber 1 at L = 11 (the generic search's "E1" there) tiled (up to the quarter-domain shift that flips the
    sign of the sine modes)."""
    e1_half = ks_equilibria(L / 2, N // 2)["E1"]
    tiled = np.tile(e1_half, 2)
    e2 = equilibria["E2"]
    mismatch = min(np.max(np.abs(tiled - e2)), np.max(np.abs(np.roll(tiled, N // 4) - e2)))
    assert mismatch < 1e-8
    assert energy_budget(e1_half, None, L / 2)["energy"] == pytest.approx(LITERATURE["E2"][0], abs=1e-3)


def test_unknown_names_raise() -> None:
    for name in ("E4", "E0", "bogus", "e1"):
        with pytest.raises(ValueError):
            ks_equilibrium(name, L, N)


def test_missing_equilibrium_raises() -> None:
    # At L = 15 only wavenumbers 1 and 2 are linearly unstable: there is no E3.
    with pytest.raises(ValueError, match="E3"):
        ks_equilibrium("E3", 15.0, 32)


@pytest.mark.parametrize(
    ("kwargs", "arg"),
    [
        ({"L": 0.0}, "L"),
        ({"L": -22.0}, "L"),
        ({"L": float("nan")}, "L"),
        ({"L": float("inf")}, "L"),
        ({"N": 63}, "N"),
        ({"N": 4}, "N"),
        ({"N": 64.0}, "N"),
    ],
)
def test_invalid_grid_raises_naming_the_argument(kwargs: dict, arg: str) -> None:
    args = {"L": L, "N": N} | kwargs
    with pytest.raises(ValueError, match=rf"\b{arg}\b"):
        ks_equilibria(**args)
    with pytest.raises(ValueError, match=rf"\b{arg}\b"):
        ks_equilibrium("E1", **args)


def test_results_are_fresh_copies() -> None:
    first = ks_equilibria(L, N)
    reference = {name: u.copy() for name, u in first.items()}
    for u in first.values():
        u[:] = 123.0
    second = ks_equilibria(L, N)
    for name, u in reference.items():
        np.testing.assert_array_equal(second[name], u)
    single = ks_equilibrium("E2", L, N)
    single *= -5.0
    np.testing.assert_array_equal(ks_equilibrium("E2", L, N), reference["E2"])
