"""`Lorenz63-Control-v0`: targets, the avoid objective, subsets of actuators and sensors, keywords, batching.

The contract common to every registered id (spaces, seeding, truncation, checkers) is the lead's generic test;
here is what only Lorenz-63 has.
"""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import chaoscontrol  # noqa: F401  (registers the ids)
from chaoscontrol.envs.lorenz63 import Lorenz63ControlEnv
from chaoscontrol.solvers.lorenz63 import Lorenz63Config, lorenz63_rk4_reference
from chaoscontrol.solvers.lorenz63_dynamics import Lorenz63Dynamics

ID = "Lorenz63-Control-v0"
CFG = Lorenz63Config()
C_PLUS = CFG.fixed_points()["C+"]


def rollout(env, actions, seed):
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((obs, reward, terminated, info.get("target_distance", info.get("intrusion"))))
    return out


def test_defaults_hold_c_plus_as_the_target():
    env = gym.make(ID)
    assert env.spec.max_episode_steps == 400
    assert env.action_space.shape == (3,) and env.observation_space.shape == (3,)
    obs, info = env.reset(seed=0)
    u = env.unwrapped.u
    np.testing.assert_array_equal(obs, u.astype(np.float32))
    assert info["target_distance"] == pytest.approx(np.sqrt(np.mean((u - C_PLUS) ** 2)))
    _, reward, terminated, truncated, info = env.step(np.zeros(3, dtype=np.float32))
    assert reward == -info["target_distance"] and not terminated and not truncated
    assert set(info) == {"t", "energy", "power", "blowup", "target_distance"}
    assert info["t"] == pytest.approx(0.05)


@pytest.mark.parametrize("target, point", [("C+", C_PLUS), ("C-", CFG.fixed_points()["C-"]), ("origin", np.zeros(3)),
                                           ([1.0, -2.0, 3.0], np.array([1.0, -2.0, 3.0]))])
def test_targets_are_the_fixed_points_or_an_array(target, point):
    env = Lorenz63ControlEnv(target=target)
    np.testing.assert_array_equal(env.target, point)
    _, info = env.reset(options={"u0": point})
    assert info["target_distance"] == 0.0
    _, reward, *_ = env.step(np.zeros(3, dtype=np.float32))
    assert reward <= 0.0 and (target not in ("C+", "C-", "origin") or reward > -1e-12)  # a fixed point stays


def test_proportional_feedback_on_two_components_reaches_and_holds_c_plus():
    """The target is reachable with the default bounds: a = -2 (u - C+) / max_forcing on (x, y) from the attractor."""
    env = gym.make(ID, controlled=(0, 1))
    env.reset(seed=3)
    for _ in range(300):
        a = -2.0 * (env.unwrapped.u - C_PLUS)[:2] / 10.0
        _, reward, terminated, _, info = env.step(a.astype(np.float32))
        assert not terminated
    assert info["target_distance"] < 1e-4


def test_forcing_acts_on_the_controlled_components_in_action_order():
    env = Lorenz63ControlEnv(controlled=(2, 0), max_forcing=4.0)
    assert env.action_space.shape == (2,)
    u0 = np.array([1.0, 2.0, 20.0])
    env.reset(options={"u0": u0})
    env.step(np.array([0.5, -2.0], dtype=np.float32))
    expected = lorenz63_rk4_reference(u0, np.array([-4.0, 0.0, 2.0]), CFG, 5)
    np.testing.assert_array_equal(env.unwrapped.u, expected)


def test_sensors_pick_components_in_their_order():
    env = Lorenz63ControlEnv(sensors=(2, 0))
    assert env.observation_space.shape == (2,)
    obs, _ = env.reset(seed=1)
    u = env.unwrapped.u
    np.testing.assert_array_equal(obs, np.array([u[2], u[0]], dtype=np.float32))


def test_avoid_keeps_the_state_out_of_the_c_minus_wing():
    env = Lorenz63ControlEnv(objective="avoid")
    assert env.region == "C-" and env.target is None
    _, info = env.reset(options={"u0": np.array([-3.0, -1.0, 20.0])})
    assert info["intrusion"] == 3.0
    env.reset(options={"u0": C_PLUS})
    _, reward, _, _, info = env.step(np.zeros(3, dtype=np.float32))
    assert reward == 0.0 and info["intrusion"] == 0.0
    right = Lorenz63ControlEnv(objective="avoid", region="C+")
    _, info = right.reset(options={"u0": C_PLUS})
    assert info["intrusion"] == pytest.approx(C_PLUS[0])
    _, reward, _, _, info = right.step(np.zeros(3, dtype=np.float32))
    assert reward == -info["intrusion"] == pytest.approx(-right.unwrapped.u[0])


def test_uncontrolled_trajectories_visit_both_wings():
    env = Lorenz63ControlEnv(objective="avoid")
    env.reset(seed=0)
    intrusions = [env.step(np.zeros(3, dtype=np.float32))[4]["intrusion"] for _ in range(400)]
    assert 0.2 < np.mean(np.array(intrusions) > 0) < 0.8


def test_a_blowup_terminates_with_the_penalty():
    env = Lorenz63ControlEnv(blowup_threshold=30.0, blowup_penalty=77.0)
    env.reset(options={"u0": np.array([1.0, 1.0, 25.0])})
    for _ in range(400):
        obs, reward, terminated, truncated, info = env.step(np.zeros(3, dtype=np.float32))
        if terminated:
            break
    assert terminated and info["blowup"] and reward == -77.0 and np.abs(obs).max() <= 30.0


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"objective": "hold"}, "objective"),
        ({"target": "C0"}, "target"),
        ({"target": [1.0, 2.0]}, "target"),
        ({"target": [0.0, np.nan, 0.0]}, "target"),
        ({"objective": "avoid", "target": "C+"}, "target"),
        ({"region": "C-"}, "region"),
        ({"objective": "avoid", "region": "left"}, "region"),
        ({"rho": 0.5}, "target"),
        ({"sensors": (3,)}, "sensors"),
        ({"sensors": ()}, "sensors"),
        ({"controlled": (0, 0)}, "controlled"),
        ({"sigma": -1.0}, "sigma"),
        ({"dt": 0.0}, "dt"),
        ({"frame_skip": 0}, "frame_skip"),
        ({"max_forcing": -1.0}, "max_forcing"),
        ({"burn_in": -1.0}, "burn_in"),
        ({"blowup_threshold": 0.0}, "blowup_threshold"),
        ({"blowup_penalty": -1.0}, "blowup_penalty"),
        ({"render_mode": "human"}, "render_mode"),
        ({"render_history": 1}, "render_history"),
        ({"dynamics": Lorenz63Dynamics(max_forcing=3.0)}, "max_forcing"),
    ],
)
def test_bad_keywords_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Lorenz63ControlEnv(**kwargs)


def test_bad_actions_are_named():
    env = Lorenz63ControlEnv(controlled=(1,))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan], dtype=np.float32))


def test_a_matching_dynamics_steps_the_env():
    dyn = Lorenz63Dynamics(controlled=(1,))
    env = Lorenz63ControlEnv(controlled=(1,), dynamics=dyn)
    assert env.dynamics is dyn and env.truth is not dyn


def test_same_seed_same_bits_and_pickling_mid_episode():
    actions = np.random.default_rng(5).uniform(-1, 1, (30, 3)).astype(np.float32)
    a, b = rollout(Lorenz63ControlEnv(), actions, 11), rollout(Lorenz63ControlEnv(), actions, 11)
    np.testing.assert_array_equal(a[0], b[0])
    for x, y in zip(a[1:], b[1:]):
        np.testing.assert_array_equal(x[0], y[0])
        assert x[1:] == y[1:]
    env = Lorenz63ControlEnv(objective="avoid")
    env.reset(seed=2)
    env.step(actions[0])
    twin = pickle.loads(pickle.dumps(env))
    for a_ in actions[1:10]:
        np.testing.assert_array_equal(env.step(a_)[0], twin.step(a_)[0])
    np.testing.assert_array_equal(env.unwrapped.u, twin.unwrapped.u)


def test_both_checkers_pass_on_a_subset_configuration():
    check_env(Lorenz63ControlEnv(objective="avoid", sensors=(0,), controlled=(0, 2)), skip_render_check=True)
    sb3_check_env(Lorenz63ControlEnv(target="origin", sensors=(1, 2)), warn=True)
