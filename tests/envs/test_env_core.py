"""The env core runs any Dynamics: a second system is a dynamics class plus a spec.

A linear ODE with an exact solution, x' = -lam x + B clip(a), stands in for a
new system: the env core gives it Gymnasium's contract (both checkers clean,
seeding, blow-up termination, reset options) and the batched core reproduces
the single env bit for bit. The physics is checked against the closed form
x(t + T) = e^{-lam T} x + (1 - e^{-lam T}) / lam * B clip(a).
"""

from __future__ import annotations

import math
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from chaoscontrol.envs.core import ControlEnv
from chaoscontrol.envs.objectives import DiagnosticCost, TargetDistance
from chaoscontrol.envs.observation import FullField
from chaoscontrol.envs.vector_core import ControlVectorEnv
from chaoscontrol.solvers.dynamics import Dynamics


class LinearDecay:
    """x' = -lam x + B clip(a) on R^n, advanced exactly over one interval T (the Dynamics protocol)."""

    diagnostic_names = ("energy", "power")
    state_dtype = np.dtype(np.float64)

    def __init__(self, n: int = 3, n_act: int = 2, lam: float = 0.5, interval: float = 0.2, spread: float = 2.0) -> None:
        self.state_shape = self.field_shape = (n,)
        self.n_actions = n_act
        self.control_dt = interval
        self.lam = lam
        self.spread = spread
        self.B = np.arange(1.0, n * n_act + 1).reshape(n, n_act) / (n * n_act)
        self.decay = math.exp(-lam * interval)

    def random_states(self, rngs):
        return np.stack([rng.uniform(-self.spread, self.spread, self.state_shape) for rng in rngs])

    def states_from_fields(self, fields):
        return np.array(fields, dtype=np.float64)

    def fields_from_states(self, states):
        return np.array(states, dtype=np.float64)

    def unforced_diagnostics(self, states):
        return np.stack([0.5 * (states**2).sum(axis=1), np.zeros(len(states))], axis=1)

    def forcing_fields(self, actions):
        return np.clip(actions, -1.0, 1.0) @ self.B.T

    def advance(self, states, fields, actions, diag_out):
        bad = np.flatnonzero(~np.isfinite(actions).all(axis=1))
        if bad.size:
            return int(bad[0])
        f = self.forcing_fields(actions)
        states[:] = self.decay * states + (1.0 - self.decay) / self.lam * f
        fields[:] = states
        diag_out[:, 0] = 0.5 * (states**2).sum(axis=1)
        diag_out[:, 1] = (states * f).sum(axis=1)
        diag_out[:, -1] = np.where(np.isfinite(states).all(axis=1), np.abs(states).max(axis=1), np.inf)
        return -1

    def config_dict(self):
        return {"lam": self.lam, "interval": self.control_dt}


def make_env(objective: str = "cost", **kwargs) -> ControlEnv:
    dyn = LinearDecay(**kwargs)
    goal = DiagnosticCost(("energy",), dyn.diagnostic_names) if objective == "cost" else TargetDistance(np.zeros(3))
    return ControlEnv(dyn, FullField(3, 10.0), goal, blowup_threshold=10.0, blowup_penalty=50.0)


def test_linear_dynamics_satisfies_the_protocol():
    assert isinstance(LinearDecay(), Dynamics)


def test_gymnasium_checker_is_clean():
    env = gym.wrappers.TimeLimit(make_env(), 20)
    check_env(env.unwrapped, skip_render_check=True)


def test_step_is_the_exact_solution_and_reward_is_the_objective():
    env = make_env()
    obs, info = env.reset(seed=0)
    x0 = env.u
    assert info["energy"] == pytest.approx(0.5 * (x0**2).sum()) and info["power"] == 0.0
    a = np.array([0.4, -3.0], dtype=np.float32)
    obs, reward, terminated, truncated, info = env.step(a)
    dyn = env.dynamics
    expected = dyn.decay * x0 + (1 - dyn.decay) / dyn.lam * (dyn.B @ np.clip(a.astype(np.float64), -1, 1))
    np.testing.assert_allclose(env.u, expected, rtol=1e-15, atol=1e-15)
    assert reward == pytest.approx(-0.5 * (expected**2).sum(), rel=1e-14)
    assert not terminated and not truncated and info["t"] == pytest.approx(0.2)
    np.testing.assert_array_equal(obs, expected.astype(np.float32))


def test_target_objective_reports_its_distance():
    env = make_env("target")
    _, info = env.reset(options={"u0": np.array([3.0, 0.0, 4.0])})
    assert info["target_distance"] == pytest.approx(5.0 / math.sqrt(3.0))
    _, reward, *_ , info = env.step(np.zeros(2, dtype=np.float32))
    assert reward == pytest.approx(-info["target_distance"]) and info["target_distance"] > 0


def test_blowup_terminates_with_the_penalty():
    env = make_env(lam=-20.0)  # an unstable "system": grows by e^4 per interval
    env.reset(options={"u0": np.array([1.0, 1.0, 1.0])})
    for _ in range(3):
        _, reward, terminated, truncated, info = env.step(np.zeros(2, dtype=np.float32))
        if terminated:
            break
    assert terminated and not truncated and info["blowup"] and reward == -50.0


@pytest.mark.parametrize(
    ("action", "match"), [(np.zeros(3), "shape"), (np.array([np.nan, 0.0]), "finite")]
)
def test_bad_actions_raise_value_error(action, match):
    env = make_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)


def test_bad_reset_options_raise_value_error():
    env = make_env()
    with pytest.raises(ValueError, match="shape"):
        env.reset(options={"u0": np.zeros(4)})
    with pytest.raises(ValueError, match="blowup_threshold"):
        env.reset(options={"u0": np.full(3, 11.0)})
    with pytest.raises(ValueError, match="unknown keys"):
        env.reset(options={"x0": np.zeros(3)})


def test_batched_core_equals_single_envs_bit_for_bit():
    b, steps = 4, 12
    venv = ControlVectorEnv(make_env(), num_envs=b, max_episode_steps=5)
    singles = [gym.wrappers.TimeLimit(make_env(), 5) for _ in range(b)]
    obs_b, _ = venv.reset(seed=7)
    obs_s = [env.reset(seed=7 + i)[0] for i, env in enumerate(singles)]
    np.testing.assert_array_equal(obs_b, np.stack(obs_s))
    actions = np.random.default_rng(1).uniform(-1.5, 1.5, (steps, b, 2))
    pending = [False] * b
    for k in range(steps):
        ob, rb, tb, trb, ib = venv.step(actions[k])
        for i, env in enumerate(singles):
            if pending[i]:  # NEXT_STEP autoreset: this step resets env i
                o, _ = env.reset()
                r, te, tr = 0.0, False, False
                pending[i] = False
            else:
                o, r, te, tr, _ = env.step(actions[k, i])
                pending[i] = te or tr
            np.testing.assert_array_equal(ob[i], o, err_msg=f"step {k} env {i}")
            assert rb[i] == r and tb[i] == te and trb[i] == tr
    assert trb.any() or ib["reset"].any()  # the comparison went through a time limit


def test_pickle_round_trip_continues_identically():
    env = make_env()
    env.reset(seed=3)
    env.step(np.ones(2, dtype=np.float32))
    clone = pickle.loads(pickle.dumps(env))
    a = np.array([0.2, -0.1], dtype=np.float32)
    assert env.step(a)[1] == clone.step(a)[1]
    np.testing.assert_array_equal(env.u, clone.u)


def test_index_sensors_pick_flat_entries_and_refuse_bad_indices():
    from chaoscontrol.envs.observation import IndexSensors

    sensors = IndexSensors(np.array([2, 0]), 3, 5.0)
    fields = np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 60.0]])
    np.testing.assert_array_equal(sensors(fields, False), np.array([[3.0, 1.0], [60.0, 4.0]], dtype=np.float32))
    np.testing.assert_array_equal(sensors(fields, np.array([False, True])), [[3.0, 1.0], [5.0, 4.0]])
    np.testing.assert_array_equal(sensors(fields[0], False), np.array([3.0, 1.0], dtype=np.float32))
    for bad in ([3], [1, 1], [], [0.5]):
        with pytest.raises(ValueError, match="sensors"):
            IndexSensors(np.array(bad), 3, 5.0)
