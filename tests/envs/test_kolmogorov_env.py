"""What only `Kolmogorov-Control-v0` has (the contract itself is tests/envs/test_env_contract.py): its rewards are
the energy-budget and laminar-distance diagnostics, the laminar state is held with zero actuation, the probes and
jets sit where documented, the picture, and bad keywords named."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import chaoscontrol  # noqa: F401  (registers the envs)
from chaoscontrol.envs.kolmogorov import KolmogorovControlEnv, sensor_points

SMALL = {"N": 32, "burn_in": 1.0}


def test_rewards_are_minus_dissipation_plus_power_or_minus_laminar_distance():
    env = KolmogorovControlEnv(**SMALL)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.full(env.action_space.shape, 0.7, np.float32))
    assert reward == -(info["dissipation"] + info["power"]) and info["power"] != 0.0
    env = KolmogorovControlEnv(objective="laminar", **SMALL)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.zeros(env.action_space.shape, np.float32))
    assert reward == -info["laminar_distance"] and reward < -1e-3


def test_laminar_state_is_held_with_zero_reward_and_its_budget():
    env = KolmogorovControlEnv(objective="laminar", **SMALL)
    env.reset(seed=0, options={"u0": env.unwrapped.laminar})
    for _ in range(5):
        _, reward, terminated, _, info = env.step(np.zeros(env.action_space.shape, np.float32))
    assert abs(reward) < 1e-10 and not terminated
    # on the laminar state the Kolmogorov force's input balances the dissipation: P_K = D = Re / (2 n^2) = 1.25
    assert info["forcing_power"] == pytest.approx(1.25, abs=1e-10) and info["dissipation"] == pytest.approx(1.25, abs=1e-10)


def test_probes_and_jets_are_where_documented():
    env = KolmogorovControlEnv(**SMALL)
    pos, index = sensor_points(6, 64)
    assert index.size == 36 and np.max(np.abs(pos - np.round(pos * 64 / (2 * np.pi)) * 2 * np.pi / 64)) < 1e-12
    env.reset(seed=1)
    _, idx = sensor_points(6, 32)
    np.testing.assert_array_equal(env.observer(env.unwrapped.u, False), env.unwrapped.u.ravel()[idx].astype(np.float32))
    c = 2 * np.pi * (np.arange(8) + 0.5) / 8
    np.testing.assert_allclose(env.dynamics.actuator_positions, np.stack([c, c], axis=1))
    # each jet's forcing peaks at its centre
    f = env.dynamics.forcing_fields(np.eye(8))
    for j in range(8):
        jy, ix = np.unravel_index(np.argmax(f[j]), f[j].shape)
        assert np.hypot(ix * 2 * np.pi / 32 - c[j], jy * 2 * np.pi / 32 - c[j]) < 2 * np.pi / 32
    full = KolmogorovControlEnv(observe="full", **SMALL)
    assert full.observation_space.shape == (32 * 32,)


def test_render_draws_the_vorticity():
    env = gym.make("Kolmogorov-Control-v0", render_mode="rgb_array", **SMALL)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 10


def test_batched_env_matches_single_env_on_the_dissipation_objective():
    venv = gym.make_vec("Kolmogorov-Control-v0", num_envs=2, vectorization_mode="vector_entry_point", **SMALL)
    obs, _ = venv.reset(seed=3)
    acts = np.random.default_rng(0).uniform(-1, 1, (2, 8)).astype(np.float32)
    ob, rb, *_ = venv.step(acts)
    for i in range(2):
        env = gym.make("Kolmogorov-Control-v0", **SMALL)
        o, _ = env.reset(seed=3 + i)
        np.testing.assert_array_equal(o, obs[i])
        o, r, *_ = env.step(acts[i])
        np.testing.assert_array_equal(o, ob[i])
        assert r == rb[i]


@pytest.mark.parametrize(("key", "value"), [
    ("Re", 0.0), ("n", 0), ("n", 11), ("N", 30 + 1), ("N", 1024), ("dt", 0.0), ("dt", 1e-6), ("alpha", -1.0),
    ("chi", float("nan")), ("frame_skip", 0), ("actuators", 0), ("actuators", [[0.0, 7.0]]), ("actuators", "x"),
    ("sensors", 0), ("sensors", [[1.0, 1.0], [1.0, 1.0]]), ("actuator_width", 0.0), ("max_forcing", -1.0),
    ("objective", "nope"), ("observe", "nope"), ("render_mode", "human"), ("burn_in", 1e9),
])
def test_bad_keywords_name_the_argument(key, value):
    with pytest.raises(ValueError, match=key):
        KolmogorovControlEnv(**{**SMALL, key: value})
