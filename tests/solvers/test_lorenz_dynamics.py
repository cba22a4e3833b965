"""Lorenz63Dynamics and Lorenz96Dynamics: the kernels behind the Dynamics protocol (one object, batched, bit for bit).

Both sit on ForcedODEDynamics (solvers/ode_dynamics.py); each case runs on both systems.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from chaoscontrol.solvers.dynamics import DIAG_MAX_ABS, Dynamics
from chaoscontrol.solvers.lorenz63 import Lorenz63Config, lorenz63_rk4_reference
from chaoscontrol.solvers.lorenz63_dynamics import Lorenz63Dynamics
from chaoscontrol.solvers.lorenz96 import Lorenz96Config, lorenz96_rk4_reference
from chaoscontrol.solvers.lorenz96_dynamics import Lorenz96Dynamics


def reference(dyn, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """One control interval of the NumPy reference under the dynamics' own forcing law."""
    f = dyn.forcing_fields(actions)
    if isinstance(dyn, Lorenz63Dynamics):
        return lorenz63_rk4_reference(states, f, dyn.config, dyn.frame_skip)
    return lorenz96_rk4_reference(states, dyn.config.F + f, dyn.config.dt, dyn.frame_skip)


@pytest.fixture(params=["lorenz63", "lorenz96"], scope="module")
def dyn(request):
    if request.param == "lorenz63":
        return Lorenz63Dynamics(controlled=(2, 0), max_forcing=6.0, burn_in=2.0)
    return Lorenz96Dynamics(Lorenz96Config(K=20), actuators=(1, 7, 13), max_forcing=5.0, burn_in=2.0)


def test_satisfies_the_protocol(dyn):
    assert isinstance(dyn, Dynamics)
    n = dyn.state_shape[0]
    assert dyn.field_shape == dyn.state_shape and dyn.state_dtype == np.float64
    assert dyn.n_actions == (2 if n == 3 else 3)
    assert dyn.control_dt == pytest.approx(5 * dyn.config.dt)
    assert dyn.diagnostic_names == (("energy", "power") if n == 3 else ("energy", "mean", "variance", "power"))
    json.dumps(dyn.config_dict())
    assert repr(dyn).startswith(type(dyn).__name__)


def test_advance_is_the_reference_under_the_forcing_law_and_one_row_gives_the_same_bits(dyn):
    states = dyn.random_states([np.random.default_rng(s) for s in range(5)])
    fields = dyn.fields_from_states(states)
    actions = np.random.default_rng(9).uniform(-1.5, 1.5, (5, dyn.n_actions))
    expected = reference(dyn, states, actions)
    start = states.copy()
    diag = np.zeros((5, len(dyn.diagnostic_names) + 1))
    assert dyn.advance(states, fields, actions, diag) == -1
    np.testing.assert_array_equal(states, expected)
    np.testing.assert_array_equal(fields, expected)
    np.testing.assert_array_equal(diag[:, DIAG_MAX_ABS], np.abs(expected).max(axis=1))
    one, field, d = start[3].copy(), np.zeros(dyn.field_shape), np.zeros(diag.shape[1])
    assert dyn.advance_one(one, field, actions[3], d)
    np.testing.assert_array_equal(one, states[3])
    np.testing.assert_array_equal(d, diag[3])


def test_the_forcing_law_acts_on_the_named_components_only(dyn):
    a = np.array([[0.5, -3.0, 0.25][: dyn.n_actions]])
    f = dyn.forcing_fields(a)[0]
    idx = dyn.forced_indices
    np.testing.assert_array_equal(f[idx], dyn.max_forcing * np.clip(a[0], -1.0, 1.0))
    assert np.count_nonzero(f) == idx.size
    assert dyn.forcing_fields(np.zeros((2, 4, dyn.n_actions))).shape == (2, 4, *dyn.field_shape)


def test_power_is_the_work_rate_of_the_forcing(dyn):
    states = dyn.random_states([np.random.default_rng(1)])
    fields = states.copy()
    a = np.full((1, dyn.n_actions), 0.7)
    diag = np.zeros((1, len(dyn.diagnostic_names) + 1))
    dyn.advance(states, fields, a, diag)
    work = (states * dyn.forcing_fields(a)).sum(axis=1)
    scale = 1.0 if isinstance(dyn, Lorenz63Dynamics) else 1.0 / dyn.state_shape[0]  # L96: the site average
    power = dyn.diagnostic_names.index("power")
    np.testing.assert_allclose(diag[:, power], scale * work, rtol=1e-12)
    unforced = dyn.unforced_diagnostics(states)
    np.testing.assert_allclose(unforced[:, 0], diag[:, 0], rtol=1e-14)
    assert unforced.shape == (1, len(dyn.diagnostic_names)) and np.all(unforced[:, power] == 0.0)


def test_a_non_finite_action_changes_nothing_and_names_its_row(dyn):
    states = dyn.random_states([np.random.default_rng(s) for s in range(3)])
    before = states.copy()
    actions = np.zeros((3, dyn.n_actions))
    actions[1, 0] = np.nan
    assert dyn.advance(states, states.copy(), actions, np.zeros((3, len(dyn.diagnostic_names) + 1))) == 1
    np.testing.assert_array_equal(states, before)


def test_random_states_depend_on_each_generator_alone_and_lie_on_the_attractor(dyn):
    together = dyn.random_states([np.random.default_rng(s) for s in (4, 5, 6)])
    alone = dyn.random_states([np.random.default_rng(5)])
    np.testing.assert_array_equal(together[1], alone[0])
    assert np.all(np.isfinite(together)) and np.abs(together).max() < 50.0
    assert dyn.burn_in_steps == 200


def test_fields_and_states_are_copies(dyn):
    x = np.ones((2, *dyn.state_shape))
    for convert in (dyn.states_from_fields, dyn.fields_from_states):
        y = convert(x)
        assert y.dtype == np.float64 and not np.shares_memory(x, y)
        np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: Lorenz63Config(sigma=0.0), "sigma"),
        (lambda: Lorenz63Config(rho=float("nan")), "rho"),
        (lambda: Lorenz63Config(beta=-1.0), "beta"),
        (lambda: Lorenz63Config(dt=0.0), "dt"),
        (lambda: Lorenz63Dynamics(frame_skip=0), "frame_skip"),
        (lambda: Lorenz63Dynamics(controlled=(0, 0)), "controlled"),
        (lambda: Lorenz63Dynamics(controlled=(3,)), "controlled"),
        (lambda: Lorenz63Dynamics(controlled=()), "controlled"),
        (lambda: Lorenz63Dynamics(controlled="x"), "controlled"),
        (lambda: Lorenz63Dynamics(controlled=1), "controlled"),
        (lambda: Lorenz63Dynamics(max_forcing=-1.0), "max_forcing"),
        (lambda: Lorenz63Dynamics(burn_in=float("inf")), "burn_in"),
        (lambda: Lorenz63Dynamics(config={"sigma": 10}), "config"),
        (lambda: Lorenz96Config(K=3), "K"),
        (lambda: Lorenz96Config(F=float("inf")), "F"),
        (lambda: Lorenz96Config(dt=-0.01), "dt"),
        (lambda: Lorenz96Dynamics(actuators=0), "actuators"),
        (lambda: Lorenz96Dynamics(actuators=41), "actuators"),
        (lambda: Lorenz96Dynamics(actuators=(0, 40)), "actuators"),
        (lambda: Lorenz96Dynamics(actuators=(2, 2)), "actuators"),
        (lambda: Lorenz96Dynamics(actuators=2.5), "actuators"),
        (lambda: Lorenz96Dynamics(frame_skip=1.5), "frame_skip"),
        (lambda: Lorenz96Dynamics(max_forcing=float("nan")), "max_forcing"),
    ],
)
def test_bad_arguments_are_named(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_default_sites_are_every_fifth_and_counts_are_evenly_spaced():
    assert Lorenz96Dynamics().sites.tolist() == list(range(0, 40, 5))
    assert Lorenz96Dynamics(Lorenz96Config(K=12)).sites.tolist() == [0, 6]
    assert Lorenz96Dynamics(actuators=3).sites.tolist() == [0, 13, 26]
    assert Lorenz96Dynamics(actuators=[9, 2]).sites.tolist() == [9, 2]
    assert Lorenz63Dynamics().controlled.tolist() == [0, 1, 2]
