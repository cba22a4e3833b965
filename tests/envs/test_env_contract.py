"""The env contract, run over every registered chaoscontrol id: a new system cannot skip a test.

Every id of ``chaoscontrol.envs.registration.ENV_SPECS`` must: pass Gymnasium's and
SB3's env checkers; have bounded spaces; give bit-identical rollouts for the same
seed and actions; truncate at the TimeLimit and never report the horizon as
``terminated``; terminate (never raise) on a blow-up with ``info["blowup"]``;
raise ``ValueError`` naming the argument for bad actions and bad keywords;
pickle mid-episode and continue identically; and give per-env bit-identical
results through ``gym.make_vec(..., vectorization_mode="vector_entry_point")``,
through an autoreset. Each id accepts ``burn_in`` and ``blowup_threshold``
(short burn-ins keep this file fast).
"""

from __future__ import annotations

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import chaoscontrol  # noqa: F401  (registers the envs)
from chaoscontrol.envs.registration import ENV_SPECS

ENV_IDS = sorted(ENV_SPECS)
FAST = {"burn_in": 1.0}


def _make(env_id: str, **kwargs) -> gym.Env:
    return gym.make(env_id, **{**FAST, **kwargs})


def _actions(env: gym.Env, n: int, seed: int = 0) -> np.ndarray:
    shape = env.action_space.shape
    return np.random.default_rng(seed).uniform(-1.2, 1.2, (n, *shape)).astype(np.float32)


def _rollout(env: gym.Env, actions: np.ndarray, seed: int) -> list:
    obs, info = env.reset(seed=seed)
    out = [(obs, 0.0, False, False, info, env.unwrapped.u)]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((obs, reward, terminated, truncated, info, env.unwrapped.u))
        if terminated or truncated:
            break
    return out


def _same(r1: list, r2: list) -> None:
    assert len(r1) == len(r2)
    for (o1, rw1, te1, tr1, i1, u1), (o2, rw2, te2, tr2, i2, u2) in zip(r1, r2):
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(u1, u2)
        assert rw1 == rw2 and te1 == te2 and tr1 == tr2
        assert i1.keys() == i2.keys()
        for key in i1:
            np.testing.assert_array_equal(i1[key], i2[key], err_msg=key)


def test_every_id_is_registered_with_both_entry_points():
    assert "KS-Control-v0" in ENV_IDS
    for env_id in ENV_IDS:
        spec = gym.spec(env_id)
        assert spec.entry_point is not None and spec.vector_entry_point is not None, env_id
        assert spec.max_episode_steps is not None and spec.max_episode_steps > 0, env_id


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_both_checkers_are_clean(env_id):
    env = _make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checker warning fails the test
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped, warn=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spaces_are_bounded_float32_boxes(env_id):
    env = _make(env_id)
    for space in (env.observation_space, env.action_space):
        assert isinstance(space, gym.spaces.Box) and space.dtype == np.float32
        assert np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))
    assert np.all(env.action_space.low == -1.0) and np.all(env.action_space.high == 1.0)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_and_actions_give_bit_identical_rollouts(env_id):
    actions = _actions(_make(env_id), 15)
    r1 = _rollout(_make(env_id), actions, seed=11)
    r2 = _rollout(_make(env_id), actions, seed=11)
    _same(r1, r2)
    assert not np.array_equal(r1[0][5], r1[-1][5]), "the rollout should move the state"
    r3 = _rollout(_make(env_id), actions, seed=12)
    assert not np.array_equal(r1[0][5], r3[0][5]), "different seeds should give different starts"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_time_limit_truncates_and_is_never_terminated(env_id):
    env = _make(env_id, max_episode_steps=6)
    env.reset(seed=0)
    flags = [env.step(np.zeros(env.action_space.shape, np.float32))[2:4] for _ in range(6)]
    assert flags[-1] == (False, True)
    assert all(f == (False, False) for f in flags[:-1])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_blowup_terminates_with_the_penalty_and_never_raises(env_id):
    env = _make(env_id, blowup_threshold=1e-3, blowup_penalty=7.0)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(np.ones(env.action_space.shape, np.float32))
    assert terminated and not truncated and info["blowup"] is True and reward == -7.0
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_bad_actions_raise_value_error(env_id):
    env = _make(env_id)
    env.reset(seed=0)
    shape = env.action_space.shape
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((shape[0] + 1,), np.float32))
    bad = np.zeros(shape, np.float32)
    bad[0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        env.step(bad)
    with pytest.raises(ValueError, match="real"):
        env.step(np.zeros(shape) + 1j)
    env.step(np.full(shape, 5.0, np.float32))  # out of range: clipped, not an error


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_unsupported_render_mode_names_the_supported_ones(env_id):
    with pytest.raises(ValueError, match="render_mode"):
        gym.make(env_id, render_mode="human", **FAST)


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize(("key", "value"), [("blowup_threshold", -1.0), ("burn_in", -5.0), ("blowup_threshold", "x")])
def test_bad_keywords_raise_value_error_naming_them(env_id, key, value):
    with pytest.raises(ValueError, match=key):
        gym.make(env_id, **{**FAST, key: value})


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_bad_reset_options_raise_value_error(env_id):
    env = _make(env_id)
    with pytest.raises(ValueError, match="unknown keys"):
        env.reset(options={"nonsense": 1})
    with pytest.raises(ValueError, match="u0"):
        env.reset(options={"u0": np.zeros(3 + int(np.prod(env.unwrapped.u.shape)))})


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_reset_to_u0_is_exact(env_id):
    env = _make(env_id)
    env.reset(seed=3)
    env.step(np.zeros(env.action_space.shape, np.float32))
    u = env.unwrapped.u
    env.reset(seed=4, options={"u0": u})
    np.testing.assert_array_equal(env.unwrapped.u, u)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_mid_episode_continues_identically(env_id):
    env = _make(env_id)
    actions = _actions(env, 6, seed=5)
    env.reset(seed=2)
    for a in actions[:3]:
        env.step(a)
    clone = pickle.loads(pickle.dumps(env))
    for a in actions[3:]:
        o1, r1, *_ = env.step(a)
        o2, r2, *_ = clone.step(a)
        np.testing.assert_array_equal(o1, o2)
        assert r1 == r2
    np.testing.assert_array_equal(env.unwrapped.u, clone.unwrapped.u)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_entry_point_equals_single_envs_bit_for_bit(env_id):
    b, limit = 3, 4
    venv = gym.make_vec(env_id, num_envs=b, vectorization_mode="vector_entry_point", max_episode_steps=limit, **FAST)
    singles = [_make(env_id, max_episode_steps=limit) for _ in range(b)]
    obs_b, _ = venv.reset(seed=21)
    for i, env in enumerate(singles):
        obs, _ = env.reset(seed=21 + i)
        np.testing.assert_array_equal(obs_b[i], obs)
    actions = np.random.default_rng(3).uniform(-1, 1, (limit + 3, b, *venv.single_action_space.shape)).astype(np.float32)
    pending = [False] * b
    for k, a in enumerate(actions):
        ob, rb, tb, trb, _ = venv.step(a)
        for i, env in enumerate(singles):
            if pending[i]:  # NEXT_STEP autoreset: this step resets env i
                o, r, te, tr = env.reset()[0], 0.0, False, False
                pending[i] = False
            else:
                o, r, te, tr, _ = env.step(a[i])
                pending[i] = te or tr
            np.testing.assert_array_equal(ob[i], o, err_msg=f"{env_id} step {k} env {i}")
            assert (rb[i], tb[i], trb[i]) == (r, te, tr), f"{env_id} step {k} env {i}"
