"""What the two Lorenz env specs share: batch parity in non-default configurations, and rendering.

The batched Lorenz envs (one Numba call a step) reproduce single envs bit for bit:
env i of ``gym.make_vec(ID, vectorization_mode="vector_entry_point")`` reset with seed s reproduces a single env
reset with seed s + i: observations, rewards, flags and diagnostics. Batches cross the kernels' block sizes
(Lorenz-96 blocks of 8 rows at least), so rows of different blocks are compared too.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import chaoscontrol  # noqa: F401  (registers the ids)

CASES = [
    ("Lorenz63-Control-v0", {}, "energy"),
    ("Lorenz63-Control-v0", {"objective": "avoid", "sensors": (0, 2), "controlled": (1,)}, "power"),
    ("Lorenz96-Control-v0", {}, "variance"),
    ("Lorenz96-Control-v0", {"objective": "target", "actuators": 4, "sensors": (1, 2, 3), "K": 24}, "mean"),
]


@pytest.mark.parametrize("env_id, kwargs, key", CASES)
def test_vector_env_reproduces_single_envs_bit_for_bit(env_id, kwargs, key):
    b, steps = 19, 30
    venv = gym.make_vec(env_id, num_envs=b, vectorization_mode="vector_entry_point", **kwargs)
    n_act = venv.single_action_space.shape[0]
    actions = np.random.default_rng(0).uniform(-1.2, 1.2, (steps, b, n_act)).astype(np.float32)
    obs, _ = venv.reset(seed=200)
    singles = [gym.make(env_id, **kwargs) for _ in range(b)]
    np.testing.assert_array_equal(obs, np.array([env.reset(seed=200 + i)[0] for i, env in enumerate(singles)]))
    for t in range(steps):
        obs, rewards, terminated, truncated, infos = venv.step(actions[t])
        for i, env in enumerate(singles):
            o, r, te, tr, info = env.step(actions[t, i])
            np.testing.assert_array_equal(obs[i], o)
            assert rewards[i] == r and terminated[i] == te and truncated[i] == tr
            assert infos[key][i] == info[key]


@pytest.mark.parametrize("env_id", ["Lorenz63-Control-v0", "Lorenz96-Control-v0"])
def test_render_draws_the_kept_history(env_id):
    env = gym.make(env_id, render_mode="rgb_array", render_history=30)
    env.reset(seed=0)
    for _ in range(40):
        env.step(env.action_space.sample())
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert len(env.unwrapped._history) == 30
    with pytest.warns(UserWarning, match="render_mode"):
        assert gym.make(env_id).unwrapped.render() is None
