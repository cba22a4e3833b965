"""Equilibria of large KS domains as copies of the L = 22 family (chaoscontrol.solvers.ks_tiled_equilibria)."""

from __future__ import annotations

import numpy as np
import pytest

from chaoscontrol.solvers.diagnostics import energy_budget
from chaoscontrol.solvers.equilibria import _grid_to_sine, _sine_to_grid, ks_equilibria, ks_residual
from chaoscontrol.solvers.ks_tiled_equilibria import (
    nearest_copies,
    periodic_copies,
    refine_equilibrium,
    sine_jacobian,
    tiled_equilibria,
    tiled_equilibrium,
)

#: Energies of E1, E2, E3 at L = 22 (Cvitanovic, Davidchack & Siminos 2010).
ENERGIES_22 = {"E1": 0.2609, "E2": 0.4382, "E3": 1.5876}


@pytest.mark.parametrize("name", sorted(ENERGIES_22))
def test_three_exact_copies_are_an_equilibrium_at_l66(name):
    u = periodic_copies(ks_equilibria(22.0, 64)[name], 3, 192)  # the same grid spacing: copies are exact
    assert np.max(np.abs(ks_residual(u, 66.0))) < 1e-10
    assert energy_budget(u, None, 66.0)["energy"] == pytest.approx(ENERGIES_22[name], abs=1e-4)


@pytest.mark.parametrize("name", sorted(ENERGIES_22))
def test_copies_on_the_registered_l66_grid_keep_the_l22_energies(name):
    u = tiled_equilibrium(name, 66.0, 128)
    assert u.shape == (128,)
    assert np.max(np.abs(ks_residual(u, 66.0))) < 1e-9
    assert energy_budget(u, None, 66.0)["energy"] == pytest.approx(ENERGIES_22[name], abs=1e-4)
    v = np.fft.rfft(u)
    # 3 identical cells, up to the aliasing of the unde-aliased products (128 is not a multiple of 3)
    assert np.all(np.abs(v[np.arange(v.size) % 3 != 0]) < 1e-6 * np.abs(v).max())
    u[:] = 0.0  # a fresh copy each call: the cache is not touched
    assert np.max(np.abs(tiled_equilibrium(name, 66.0, 128))) > 0.5


def test_l100_copies_continue_the_family_to_the_cell_length():
    assert nearest_copies(66.0) == 3 and nearest_copies(100.0) == 5 and nearest_copies(10.0) == 1
    found = tiled_equilibria(100.0, 256)
    assert sorted(found) == ["E1x5", "E2x5", "E3x5"]
    for u in found.values():
        assert np.max(np.abs(ks_residual(u, 100.0))) < 1e-9
        v = np.fft.rfft(u)
        assert np.all(np.abs(v[np.arange(v.size) % 5 != 0]) < 1e-8 * np.abs(v).max())  # 5 identical cells
    cell = tiled_equilibrium("E1", 20.0, 64, copies=1)  # the continued E1 on one cell of length 20
    assert energy_budget(found["E1x5"], None, 100.0)["energy"] == pytest.approx(energy_budget(cell, None, 20.0)["energy"], rel=1e-6)


def test_sine_jacobian_is_the_derivative_of_the_residual():
    u = ks_equilibria(22.0, 64)["E2"] + 0.1 * np.sin(2 * np.pi * 5 * np.arange(64) / 64)
    b = _grid_to_sine(u)
    jac = sine_jacobian(b, 22.0, 64)
    h = 1e-5
    for j in (0, 4, 20):
        e = np.zeros_like(b)
        e[j] = h
        fd = (_grid_to_sine(ks_residual(_sine_to_grid(b + e, 22.0, 64), 22.0))
              - _grid_to_sine(ks_residual(_sine_to_grid(b - e, 22.0, 64), 22.0))) / (2 * h)
        np.testing.assert_allclose(jac[:, j], fd, atol=1e-6)


def test_refine_fails_clearly_from_a_bad_guess():
    with pytest.raises(ValueError, match="Newton"):
        refine_equilibrium(np.zeros(64), 22.0)


@pytest.mark.parametrize(("args", "name"), [(("E4", 66.0, 128), "name"), (("E1", -1.0, 128), "L"),
                                            (("E1", 66.0, 127), "N"), (("E1", 66.0, 128, 0), "copies")])
def test_bad_arguments_raise_naming_them(args, name):
    with pytest.raises(ValueError, match=name):
        tiled_equilibrium(*args)
