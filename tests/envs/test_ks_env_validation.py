"""KS-Control-v0: every invalid constructor argument raises ValueError naming the argument."""

from __future__ import annotations

import re
import warnings

import gymnasium as gym
import numpy as np
import pytest

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.envs import KSControlEnv

NAN = float("nan")
INF = float("inf")

INVALID = [
    # (kwargs, argument name that the message must start with)
    ({"L": 0.0}, "L"),
    ({"L": -22.0}, "L"),
    ({"L": NAN}, "L"),
    ({"L": INF}, "L"),
    ({"L": "22"}, "L"),
    ({"L": None}, "L"),
    ({"N": 63}, "N"),
    ({"N": 6}, "N"),
    ({"N": 0}, "N"),
    ({"N": 64.0}, "N"),
    ({"N": True}, "N"),
    ({"N": 8, "sensors": 16}, "sensors"),
    ({"N": 8, "actuators": 9}, "actuators"),
    ({"actuators": 0}, "actuators"),
    ({"actuators": -2}, "actuators"),
    ({"actuators": []}, "actuators"),
    ({"actuators": True}, "actuators"),
    ({"actuators": [1.0, 22.0]}, "actuators"),
    ({"actuators": [-0.1, 3.0]}, "actuators"),
    ({"actuators": [NAN]}, "actuators"),
    ({"actuators": [[1.0, 2.0]]}, "actuators"),
    ({"actuators": "abc"}, "actuators"),
    ({"sensors": 0}, "sensors"),
    ({"sensors": [23.0]}, "sensors"),
    ({"sensors": [0.0, INF]}, "sensors"),
    ({"sensors": np.zeros((2, 2))}, "sensors"),
    ({"actuator_width": -0.4}, "actuator_width"),
    ({"actuator_width": 0.0}, "actuator_width"),
    ({"actuator_width": NAN}, "actuator_width"),
    ({"dt": 0.0}, "dt"),
    ({"dt": -0.05}, "dt"),
    ({"dt": NAN}, "dt"),
    ({"frame_skip": 0}, "frame_skip"),
    ({"frame_skip": -5}, "frame_skip"),
    ({"frame_skip": 2.5}, "frame_skip"),
    ({"max_forcing": -0.1}, "max_forcing"),
    ({"max_forcing": INF}, "max_forcing"),
    ({"objective": "energy"}, "objective"),
    ({"objective": None}, "objective"),
    ({"objective": "target", "target": "E7"}, "target"),
    ({"objective": "target", "target": "e1"}, "target"),
    ({"objective": "target", "target": np.zeros(63)}, "target"),
    ({"objective": "target", "target": np.zeros((64, 1))}, "target"),
    ({"objective": "target", "target": np.full(64, NAN)}, "target"),
    ({"target": "E1"}, "target"),  # target with objective="dissipation"
    ({"target": np.zeros(64)}, "target"),
    ({"observe": "pixels"}, "observe"),
    ({"burn_in": -1.0}, "burn_in"),
    ({"burn_in": NAN}, "burn_in"),
    ({"render_mode": "human"}, "render_mode"),
    ({"render_mode": "rgb"}, "render_mode"),
    ({"blowup_threshold": 0.0}, "blowup_threshold"),
    ({"blowup_penalty": -1.0}, "blowup_penalty"),
    ({"render_history": 1}, "render_history"),
]


def _id(case):
    kwargs, _ = case
    return ",".join(f"{k}={v!r}"[:30] for k, v in kwargs.items())


@pytest.mark.parametrize(("kwargs", "name"), INVALID, ids=[_id(c) for c in INVALID])
def test_invalid_argument_raises_value_error_naming_it(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{re.escape(name)}\b"):
        KSControlEnv(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"N": 63}, "N"), ({"objective": "energy"}, "objective"), ({"render_mode": "ansi"}, "render_mode")],
)
def test_invalid_argument_through_gym_make(kwargs, name):
    # (gym.make itself maps render_mode="human" onto HumanRendering, so "ansi" is used here;
    # it warns that the mode is not declared before the env raises.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=rf"^{re.escape(name)}\b"):
            gym.make("KS-Control-v0", **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"L": 10.0, "target": "E3"}, id="E3-absent-at-L10"),
        pytest.param({"L": 5.0}, id="no-equilibrium-at-L5"),
    ],
)
def test_unavailable_target_equilibrium_names_the_target_argument(kwargs):
    """A valid name whose equilibrium does not exist at this L is an invalid `target` for this env."""
    with pytest.raises(ValueError, match=r"\btarget\b"):
        KSControlEnv(objective="target", burn_in=0.0, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"L": 22, "N": 32, "dt": 0.1, "frame_skip": 1},
        {"N": np.int64(48), "frame_skip": np.int64(2)},
        {"actuators": 1, "sensors": 64},
        {"actuators": (0.0, 21.999), "sensors": np.array([0.0, 11.0])},
        {"max_forcing": 0.0, "burn_in": 0.0, "blowup_penalty": 0.0},
        {"objective": "target", "target": [0.0] * 64},
        {"render_mode": "rgb_array", "render_history": 2},
    ],
)
def test_valid_edge_arguments_are_accepted(kwargs):
    env = KSControlEnv(**kwargs)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    obs, reward, terminated, truncated, _ = env.step(np.zeros(env.action_space.shape))
    assert np.isfinite(reward) and not terminated and not truncated


def test_complex_actions_and_u0_are_refused_not_truncated():
    """A complex array would lose its imaginary part in the float64 cast: it is a ValueError instead."""
    import gymnasium as gym

    env = gym.make("KS-Control-v0", burn_in=0.0)
    with pytest.raises(ValueError, match="real"):
        env.reset(options={"u0": np.zeros(64) + 0.1j})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="real"):
        env.step(np.zeros(4) + 0.5j)
    venv = gym.make_vec("KS-Control-v0", num_envs=2, vectorization_mode="vector_entry_point", burn_in=0.0)
    with pytest.raises(ValueError, match="real"):
        venv.reset(options={"u0": np.zeros((2, 64)) + 0.1j})
    venv.reset(seed=0)
    with pytest.raises(ValueError, match="real"):
        venv.step(np.zeros((2, 4)) + 0.5j)
