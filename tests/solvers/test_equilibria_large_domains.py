"""The named KS equilibria at any L (chaoscontrol.solvers.equilibria.ks_equilibrium) and the Newton solver beneath.

Physics checked: the exact Jacobian gives Newton's quadratic convergence; at every registered L each name is a root
of the steady equation to 1e-10 and a fixed point of the ETDRK4 map the env steps with; copies of the L = 22 family
are exact where L / 22 is an integer; the names stay distinct (a branch that changes its dominant wavenumber is
refused, not returned under another name's state).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from chaoscontrol.envs.registration import ENV_SPECS
from chaoscontrol.solvers.diagnostics import energy_budget
from chaoscontrol.solvers.equilibria import FAMILY, ks_equilibria, ks_equilibrium, ks_equilibrium_names, ks_residual
from chaoscontrol.solvers.ks import KSConfig, ks_coefficients, ks_etdrk4_steps, to_physical, to_spectral
from chaoscontrol.solvers.ks_newton import newton_equilibrium, periodic_copies

#: (L, N) of every registered KS id.
GRIDS = {i: (float(s.get("kwargs", {}).get("L", 22.0)), int(s.get("kwargs", {}).get("N", 64)))
         for i, s in ENV_SPECS.items() if i.startswith("KS-")}
LARGE = sorted(i for i, (L, _) in GRIDS.items() if L > 22.0)
#: Energies of E1, E2, E3 at L = 22 (Cvitanovic, Davidchack & Siminos 2010).
ENERGIES_22 = {"E1": 0.2609, "E2": 0.4382, "E3": 1.5876}


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_newton_with_the_exact_jacobian_converges_quadratically(name):
    """|F| at step k + 1 is at most C |F|^2 at step k (C = 100) above the round-off floor; a linearly converging
    solver (|F| shrinking by a constant factor) fails this at |F| ~ 1e-4."""
    x = np.arange(64) / 64
    guess = ks_equilibrium(name) + 0.01 * (np.sin(2 * np.pi * x) + np.sin(6 * np.pi * x))
    _, history = newton_equilibrium(guess, 22.0)
    assert history[0] > 1e-2 and min(history) < 1e-10 and len(history) <= 7, history
    pairs = [(a, b) for a, b in zip(history, history[1:]) if b > 1e-10]
    assert len(pairs) >= 2, history
    for a, b in pairs:
        assert b <= 100.0 * a * a, history


@pytest.mark.parametrize("env_id", LARGE)
def test_every_name_is_an_equilibrium_of_the_registered_grid(env_id, capsys):
    L, N = GRIDS[env_id]
    found = {}
    for name in FAMILY:
        start = time.perf_counter()
        found[name] = ks_equilibrium(name, L, N)
        took = time.perf_counter() - start
        with capsys.disabled():
            print(f"\n{env_id}: {name} resolved in {took:.3f} s (L={L:g}, N={N})", end="")
        u = found[name]
        assert u.shape == (N,) and np.max(np.abs(u)) > 0.3
        assert np.max(np.abs(ks_residual(u, L))) < 1e-10, name
        # its dominant wavenumber is q per cell of length L / c
        c = max(1, round(L / 22.0))
        assert int(np.argmax(np.abs(np.fft.rfft(u))[1:])) + 1 == c * FAMILY[name], name
    names = sorted(found)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.max(np.abs(found[a] - found[b])) > 0.1, (a, b)
    assert ks_equilibrium_names(L, N) == tuple(FAMILY)


@pytest.mark.parametrize("env_id", LARGE)
def test_each_name_is_a_fixed_point_of_the_etdrk4_map(env_id):
    """A root of the semi-discrete steady equation is a fixed point of the exponential integrator: 40 unforced
    solver steps (2 time units) move it by round-off only, although E1-E3 are unstable (growth <= e^0.6)."""
    L, N = GRIDS[env_id]
    coeffs = ks_coefficients(KSConfig(L, N, 0.05))
    for name in FAMILY:
        u = ks_equilibrium(name, L, N)
        v = to_spectral(u)
        ks_etdrk4_steps(v, np.zeros_like(v), coeffs, 40)
        assert np.max(np.abs(to_physical(v, N) - u)) < 1e-9, name


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_where_l_is_a_multiple_of_22_a_name_is_copies_of_the_l22_equilibrium(name):
    """At L = 66 on N = 192 (the L = 22 grid spacing) the copies are exact: Newton keeps them to round-off."""
    u = ks_equilibrium(name, 66.0, 192)
    np.testing.assert_allclose(u, np.tile(ks_equilibrium(name, 22.0, 64), 3), rtol=0, atol=1e-10)
    assert energy_budget(u, None, 66.0)["energy"] == pytest.approx(ENERGIES_22[name], abs=1e-4)
    assert np.max(np.abs(periodic_copies(ks_equilibrium(name), 3, 192) - u)) < 1e-10


def test_the_l22_names_are_the_literature_family_of_the_generic_search():
    generic = ks_equilibria(22.0, 64)
    for name in FAMILY:
        np.testing.assert_array_equal(ks_equilibrium(name, 22.0, 64), generic[name])


def test_a_branch_that_changes_its_dominant_wavenumber_is_refused():
    """E1 of L = 22 continued to L = 30 ends on an equilibrium dominated by wavenumber 4 (the same as E2's): refused,
    so that two names never give one state."""
    with pytest.raises(ValueError, match=r"E1 at L=30.*dominant wavenumber per cell is 4, not 1"):
        ks_equilibrium("E1", 30.0, 64)
    assert ks_equilibrium_names(30.0, 64) == ("E3",)


def test_a_branch_that_ends_fails_fast_and_clearly():
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"no equilibrium E3 at L=15.*branch ends or turns"):
        ks_equilibrium("E3", 15.0, 32)  # E3 is born from u = 0 at L = 6 pi
    assert time.perf_counter() - start < 30.0  # generous on a loaded machine; measured ~0.1 s


@pytest.mark.parametrize("bad", [np.array([]), ["E1"], None, 1, "E4", "e1"])
def test_a_bad_name_is_a_value_error_naming_it(bad):
    with pytest.raises(ValueError, match=r"^name must be one of \('E1', 'E2', 'E3'\)"):
        ks_equilibrium(bad, 66.0, 128)


def test_results_are_fresh_copies_of_a_cache():
    first = ks_equilibrium("E2", 66.0, 128)
    reference = first.copy()
    first[:] = 7.0
    np.testing.assert_array_equal(ks_equilibrium("E2", 66.0, 128), reference)
