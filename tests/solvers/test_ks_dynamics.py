"""KSDynamics: the KS solver behind the Dynamics protocol (one object, batched, bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest

from chaoscontrol.solvers import KSConfig, ks_energy_budget
from chaoscontrol.solvers.control import ks_control_interval_batch
from chaoscontrol.solvers.dynamics import DIAG_MAX_ABS, Dynamics
from chaoscontrol.solvers.ks_dynamics import KSDynamics


@pytest.fixture(scope="module")
def dyn() -> KSDynamics:
    return KSDynamics(burn_in=5.0)


def test_satisfies_the_protocol(dyn):
    assert isinstance(dyn, Dynamics)
    assert dyn.state_shape == (33,) and dyn.field_shape == (64,) and dyn.n_actions == 4
    assert dyn.control_dt == pytest.approx(0.25)
    assert dyn.diagnostic_names == ("energy", "production", "dissipation", "power")


def test_advance_is_the_kernel_and_a_single_row_gives_the_same_bits(dyn):
    rngs = [np.random.default_rng(s) for s in range(5)]
    states = dyn.random_states(rngs)
    fields = dyn.fields_from_states(states)
    actions = np.random.default_rng(9).uniform(-1.5, 1.5, (5, 4))
    ref_v, ref_u, ref_d = states.copy(), np.zeros((5, 64)), np.zeros((5, 5))
    ks_control_interval_batch(ref_v, actions, dyn.forcing_basis, dyn.max_forcing, dyn.coeffs, dyn.frame_skip, dyn.k,
                              ref_u, ref_d)
    diag = np.zeros((5, 5))
    assert dyn.advance(states, fields, actions, diag) == -1
    np.testing.assert_array_equal(states, ref_v)
    np.testing.assert_array_equal(fields, ref_u)
    np.testing.assert_array_equal(diag, ref_d)
    one_v, one_u, one_d = ref_v[2].copy(), np.zeros(64), np.zeros(5)
    batch_v, batch_u, batch_d = ref_v.copy(), np.zeros((5, 64)), np.zeros((5, 5))
    assert dyn.advance_one(one_v, one_u, actions[2], one_d)
    dyn.advance(batch_v, batch_u, actions, batch_d)
    np.testing.assert_array_equal(one_v, batch_v[2])
    np.testing.assert_array_equal(one_d, batch_d[2])


def test_diagnostics_are_the_energy_budget_under_the_forcing_law(dyn):
    states = dyn.random_states([np.random.default_rng(0)])
    fields = dyn.fields_from_states(states)
    a = np.array([[0.3, -0.7, 2.0, 0.1]])
    diag = np.zeros((1, 5))
    dyn.advance(states, fields, a, diag)
    fhat = np.fft.rfft(dyn.forcing_fields(a), axis=-1)
    np.testing.assert_allclose(diag[0, :4], ks_energy_budget(states[0], fhat[0], dyn.k), rtol=1e-12, atol=1e-14)
    assert diag[0, DIAG_MAX_ABS] == pytest.approx(np.abs(fields).max())


def test_a_non_finite_action_changes_nothing_and_names_its_row(dyn):
    states = dyn.random_states([np.random.default_rng(s) for s in range(3)])
    fields, before = dyn.fields_from_states(states), states.copy()
    actions = np.zeros((3, 4))
    actions[1, 2] = np.nan
    assert dyn.advance(states, fields, actions, np.zeros((3, 5))) == 1
    np.testing.assert_array_equal(states, before)


def test_random_states_depend_on_each_generator_alone(dyn):
    together = dyn.random_states([np.random.default_rng(s) for s in (4, 5, 6)])
    alone = dyn.random_states([np.random.default_rng(5)])
    np.testing.assert_array_equal(together[1], alone[0])
    u = dyn.fields_from_states(together)
    assert np.abs(u.mean(axis=1)).max() < 1e-12  # the mean of u stays 0


def test_unforced_diagnostics_have_no_power(dyn):
    states = dyn.random_states([np.random.default_rng(1), np.random.default_rng(2)])
    d = dyn.unforced_diagnostics(states)
    assert d.shape == (2, 4) and np.all(d[:, 3] == 0.0) and np.all(d[:, :3] > 0)


def test_from_env_kwargs_checks_each_argument():
    dyn = KSDynamics.from_env_kwargs({"L": 20.0, "N": 32, "frame_skip": 3, "objective": "target"})
    assert dyn.config == KSConfig(L=20.0, N=32) and dyn.frame_skip == 3
    assert dyn.config_dict()["actuators"] == pytest.approx([2.5, 7.5, 12.5, 17.5])
    for kwargs, name in [({"L": -1.0}, "L"), ({"dt": 0.0}, "dt"), ({"N": 7}, "N"), ({"frame_skip": 0}, "frame_skip"),
                         ({"actuators": 0}, "actuators"), ({"actuator_width": -0.1}, "actuator_width"),
                         ({"max_forcing": float("nan")}, "max_forcing"), ({"burn_in": -1}, "burn_in")]:
        with pytest.raises(ValueError, match=name):
            KSDynamics.from_env_kwargs(kwargs)
    with pytest.raises(ValueError, match="config"):
        KSDynamics(config={"L": 22.0})
