"""KS-Control-v0: determinism, seeding, pickling and vectorised execution under SB3."""

from __future__ import annotations

import copy
import pickle

import gymnasium as gym
import numpy as np
import pytest

import chaoscontrol  # noqa: F401  (registers the env)

ENV_ID = "KS-Control-v0"


def _rollout(env, actions):
    out = []
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((obs, reward, terminated, truncated, info, env.unwrapped.u))
    return out


def _assert_same_rollout(r1, r2):
    assert len(r1) == len(r2)
    for (o1, rw1, te1, tr1, i1, u1), (o2, rw2, te2, tr2, i2, u2) in zip(r1, r2):
        assert np.array_equal(o1, o2)
        assert o1.dtype == o2.dtype
        assert rw1 == rw2
        assert (te1, tr1) == (te2, tr2)
        assert i1 == i2
        assert np.array_equal(u1, u2)


@pytest.mark.parametrize("kwargs", [{}, {"objective": "target", "observe": "full"}])
def test_same_seed_same_actions_bit_identical(kwargs):
    actions = np.random.default_rng(42).uniform(-1.2, 1.2, (50, 4)).astype(np.float32)
    runs = []
    for _ in range(2):
        env = gym.make(ENV_ID, burn_in=5.0, **kwargs)
        obs0, info0 = env.reset(seed=123)
        runs.append((obs0, info0, env.unwrapped.u, _rollout(env, actions)))
    (o1, i1, u1, r1), (o2, i2, u2, r2) = runs
    assert np.array_equal(o1, o2) and i1 == i2 and np.array_equal(u1, u2)
    _assert_same_rollout(r1, r2)
    # the rollout actually went somewhere (the comparison is not trivially of constant data)
    assert not np.array_equal(r1[0][5], r1[-1][5])


def test_different_seeds_give_different_initial_states():
    env = gym.make(ENV_ID, burn_in=5.0)
    states = []
    for seed in (0, 1, 2):
        env.reset(seed=seed)
        states.append(env.unwrapped.u)
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.allclose(states[i], states[j], atol=1e-3)


def test_reset_with_seed_is_independent_of_history():
    env = gym.make(ENV_ID, burn_in=5.0)
    env.reset(seed=9)
    for _ in range(7):
        env.step(np.ones(4))
    env.reset()
    obs_a, info_a = env.reset(seed=77)
    fresh = gym.make(ENV_ID, burn_in=5.0)
    obs_b, info_b = fresh.reset(seed=77)
    assert np.array_equal(obs_a, obs_b) and info_a == info_b
    assert np.array_equal(env.unwrapped.u, fresh.unwrapped.u)


def test_unseeded_reset_continues_the_rng_stream():
    env_a = gym.make(ENV_ID, burn_in=2.0)
    env_b = gym.make(ENV_ID, burn_in=2.0)
    first_a, _ = env_a.reset(seed=2024)
    first_b, _ = env_b.reset(seed=2024)
    second_a, _ = env_a.reset()
    second_b, _ = env_b.reset()
    third_a, _ = env_a.reset()
    third_b, _ = env_b.reset()
    assert np.array_equal(first_a, first_b)
    assert np.array_equal(second_a, second_b)
    assert np.array_equal(third_a, third_b)
    assert np.array_equal(env_a.unwrapped.u, env_b.unwrapped.u)
    # the stream advanced: the unseeded resets are new initial states
    assert not np.allclose(first_a, second_a, atol=1e-3)
    assert not np.allclose(second_a, third_a, atol=1e-3)


def test_unseeded_resets_of_fresh_envs_differ():
    """Without any seed the initial state is random (not a fixed default)."""
    u = []
    for _ in range(2):
        env = gym.make(ENV_ID, burn_in=0.0)
        env.reset()
        u.append(env.unwrapped.u)
    assert not np.allclose(u[0], u[1], atol=1e-3)


# ---------------------------------------------------------------- pickle / deepcopy


@pytest.mark.parametrize("method", ["pickle", "deepcopy"])
def test_copy_mid_episode_continues_identically(method):
    env = gym.make(ENV_ID, burn_in=3.0, max_episode_steps=12, render_mode="rgb_array")
    env.reset(seed=31)
    rng = np.random.default_rng(3)
    for _ in range(5):
        env.step(rng.uniform(-1, 1, 4).astype(np.float32))
    clone = pickle.loads(pickle.dumps(env)) if method == "pickle" else copy.deepcopy(env)
    assert clone is not env and clone.unwrapped is not env.unwrapped
    assert np.array_equal(clone.unwrapped.u, env.unwrapped.u)
    assert clone.unwrapped.t == env.unwrapped.t
    actions = rng.uniform(-1, 1, (7, 4)).astype(np.float32)
    r_env, r_clone = _rollout(env, actions), _rollout(clone, actions)
    _assert_same_rollout(r_env, r_clone)
    # the TimeLimit state travelled too: both truncate at step 12 (5 + 7)
    assert r_env[-1][3] is True and r_clone[-1][3] is True
    assert not any(step[3] for step in r_clone[:-1])
    # the render history and the RNG travelled as well
    assert np.array_equal(env.render(), clone.render())
    o1, _ = env.reset()
    o2, _ = clone.reset()
    assert np.array_equal(o1, o2)


def test_copies_are_independent():
    env = gym.make(ENV_ID, burn_in=0.0)
    env.reset(seed=0)
    clone = copy.deepcopy(env)
    before = clone.unwrapped.u
    env.step(np.ones(4))
    assert np.array_equal(clone.unwrapped.u, before)
    assert not np.array_equal(env.unwrapped.u, before)


def test_unwrapped_env_pickles():
    env = gym.make(ENV_ID, burn_in=0.0, objective="target", target="E1").unwrapped
    env.reset(seed=4)
    env.step(np.full(4, 0.3))
    clone = pickle.loads(pickle.dumps(env))
    np.testing.assert_array_equal(clone.target, env.target)
    a = np.array([0.1, -0.4, 0.9, -1.0])
    assert env.step(a)[1] == clone.step(a)[1]
    assert np.array_equal(env.u, clone.u)


# ---------------------------------------------------------------- SB3 vector envs


def _single_env_reference(seed, actions, burn_in):
    env = gym.make(ENV_ID, burn_in=burn_in)
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for a in actions:
        obs, *_ = env.step(a)
        out.append(obs)
    return out


@pytest.mark.parametrize("vec", ["dummy", "subproc-fork"])
def test_sb3_vec_envs_match_single_env(vec):
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    burn_in = 2.0
    if vec == "dummy":
        venv = make_vec_env(ENV_ID, n_envs=2, seed=10, vec_env_cls=DummyVecEnv, env_kwargs={"burn_in": burn_in})
    else:
        venv = make_vec_env(
            ENV_ID, n_envs=2, seed=10, vec_env_cls=SubprocVecEnv, vec_env_kwargs={"start_method": "fork"},
            env_kwargs={"burn_in": burn_in},
        )
    try:
        assert venv.num_envs == 2
        assert venv.observation_space.shape == (8,) and venv.action_space.shape == (4,)
        actions = np.random.default_rng(0).uniform(-1, 1, (4, 2, 4)).astype(np.float32)
        obs = venv.reset()
        assert obs.shape == (2, 8) and obs.dtype == np.float32
        history = [obs]
        for a in actions:
            obs, rewards, dones, infos = venv.step(a)
            assert obs.shape == (2, 8) and rewards.shape == (2,) and dones.shape == (2,)
            assert np.all(np.isfinite(rewards)) and not dones.any()
            assert all({"t", "energy", "dissipation", "power"} <= set(info) for info in infos)
            history.append(obs)
    finally:
        venv.close()
    # make_vec_env seeds env i with seed + i: each member reproduces the single env
    for i in range(2):
        ref = _single_env_reference(10 + i, actions[:, i], burn_in)
        for o_vec, o_ref in zip(history, ref):
            assert np.array_equal(np.asarray(o_vec)[i], o_ref)
    assert not np.array_equal(history[-1][0], history[-1][1])


def test_sb3_subproc_vec_env_with_env_fns():
    from stable_baselines3.common.vec_env import SubprocVecEnv

    venv = SubprocVecEnv(
        [lambda: gym.make(ENV_ID, burn_in=0.0, observe="full"), lambda: gym.make(ENV_ID, burn_in=0.0, observe="full")],
        start_method="fork",
    )
    try:
        venv.seed(0)
        obs = venv.reset()
        assert obs.shape == (2, 64)
        obs, rewards, dones, _ = venv.step(np.zeros((2, 4), np.float32))
        assert obs.shape == (2, 64) and np.all(np.isfinite(obs)) and rewards.shape == (2,)
    finally:
        venv.close()


def test_gymnasium_sync_vector_env_matches_single_env():
    venv = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="sync", burn_in=2.0)
    obs, infos = venv.reset(seed=[4, 5])
    assert obs.shape == (2, 8) and obs.dtype == np.float32
    actions = np.random.default_rng(2).uniform(-1, 1, (3, 2, 4)).astype(np.float32)
    history = [obs]
    for a in actions:
        obs, rewards, terminated, truncated, infos = venv.step(a)
        assert rewards.shape == (2,) and not terminated.any() and not truncated.any()
        history.append(obs)
    venv.close()
    for i, seed in enumerate((4, 5)):
        ref = _single_env_reference(seed, actions[:, i], 2.0)
        for o_vec, o_ref in zip(history, ref):
            assert np.array_equal(o_vec[i], o_ref)
