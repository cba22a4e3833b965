"""KSVecEnv: the batched KS kernel behind SB3's VecEnv interface.

The reference is SB3's ``DummyVecEnv`` over single ``KS-Control-v0`` envs: same
seeds and actions give the same observations, float32 rewards, dones and info
dicts (``terminal_observation``, ``TimeLimit.truncated``) bit for bit.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor, VecNormalize

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.agents import KSVecEnv, make_ks_vec_env

ENV_ID = "KS-Control-v0"
N = 64
BURN_IN = 2.0
FINITE_BLOWUP = {"max_forcing": 50.0, "blowup_threshold": 10.0}


def make_pair(num_envs, max_episode_steps, **kwargs):
    kwargs.setdefault("burn_in", BURN_IN)
    ks = KSVecEnv(num_envs=num_envs, max_episode_steps=max_episode_steps, **kwargs)
    dummy = DummyVecEnv([lambda: gym.make(ENV_ID, max_episode_steps=max_episode_steps, **kwargs)] * num_envs)
    return ks, dummy


def assert_same_info_dicts(infos_a, infos_b, where=""):
    assert len(infos_a) == len(infos_b)
    for i, (a, b) in enumerate(zip(infos_a, infos_b)):
        assert set(a) == set(b), f"{where}: env {i} info keys {set(a) ^ set(b)}"
        for key in b:
            va, vb = a[key], b[key]
            if isinstance(vb, np.ndarray):
                assert isinstance(va, np.ndarray) and va.dtype == vb.dtype, f"{where}: env {i} info[{key!r}] dtype"
                assert np.array_equal(va, vb), f"{where}: env {i} info[{key!r}]"
            else:
                assert type(va) is type(vb), f"{where}: env {i} info[{key!r}] type {type(va)} != {type(vb)}"
                assert va == vb or (va != va and vb != vb), f"{where}: env {i} info[{key!r}] {va} != {vb}"


def assert_same_vec_step(ra, rb, where=""):
    (oa, rwa, da, ia), (ob, rwb, db, ib) = ra, rb
    assert oa.dtype == ob.dtype == np.float32 and np.array_equal(oa, ob), f"{where}: observations"
    assert rwa.dtype == rwb.dtype == np.float32 and np.array_equal(rwa, rwb), f"{where}: rewards {rwa} != {rwb}"
    assert da.dtype == db.dtype == np.bool_ and np.array_equal(da, db), f"{where}: dones {da} != {db}"
    assert_same_info_dicts(ia, ib, where)


# =============================================================================== parity with DummyVecEnv


@pytest.mark.parametrize(
    ("kwargs", "driven"),
    [
        pytest.param({}, None, id="dissipation"),
        pytest.param({"objective": "target", "target": "E1", "observe": "full"}, None, id="target-E1-full"),
        pytest.param({"sensors": [0.3, 5.1, 11.7, 21.9]}, None, id="offgrid-sensors"),
        pytest.param(FINITE_BLOWUP, 1, id="blowup-in-env-1"),
    ],
)
def test_parity_with_dummy_vec_env_across_episode_boundaries(kwargs, driven):
    num_envs, k_steps, horizon = 3, 8, 30
    ks, dummy = make_pair(num_envs, k_steps, **kwargs)
    assert ks.seed(11) == dummy.seed(11)
    oa, ob = ks.reset(), dummy.reset()
    assert np.array_equal(oa, ob) and oa.dtype == ob.dtype
    assert_same_info_dicts(ks.reset_infos, dummy.reset_infos, "reset")
    rng = np.random.default_rng(3)
    n_done = n_time_limit = n_blowup = 0
    for step in range(horizon):
        actions = rng.uniform(-1.2, 1.2, (num_envs, 4)).astype(np.float32)
        if driven is not None:
            actions[np.arange(num_envs) != driven] *= 0.02
            if step >= 2:
                actions[driven] = [1.0, -1.0, 1.0, -1.0]
        ra, rb = ks.step(actions), dummy.step(actions)
        assert_same_vec_step(ra, rb, f"step {step}")
        assert_same_info_dicts(ks.reset_infos, dummy.reset_infos, f"reset infos, step {step}")
        assert np.array_equal(np.stack(ks.get_attr("u")), np.stack(dummy.get_attr("u"))), f"state, step {step}"
        for i, info in enumerate(ra[3]):
            if ra[2][i]:
                n_done += 1
                n_time_limit += info["TimeLimit.truncated"]
                n_blowup += info["blowup"]
                assert info["TimeLimit.truncated"] != info["blowup"]
                assert not np.array_equal(info["terminal_observation"], ra[0][i])  # obs is the reset's
    if driven is None:
        assert n_done == num_envs * (horizon // k_steps) == n_time_limit
    else:
        assert n_blowup >= 2 and n_time_limit >= 2  # env 1 blew up; the others reached the time limit


def test_second_reset_without_seed_continues_the_streams_as_dummy_vec_env():
    ks, dummy = make_pair(2, 5)
    ks.seed(0)
    dummy.seed(0)
    ks.reset(), dummy.reset()
    assert np.array_equal(ks.reset(), dummy.reset())
    assert np.array_equal(np.stack(ks.get_attr("u")), np.stack(dummy.get_attr("u")))


def test_set_options_u0_honoured_at_the_next_reset_only():
    num_envs = 3
    ks, dummy = make_pair(num_envs, 5)
    u0 = 1.5 * np.sin(2 * np.pi * 3 * np.arange(N) / N)
    for env in (ks, dummy):
        env.seed(5)
        env.set_options({"u0": u0})
    oa, ob = ks.reset(), dummy.reset()
    assert np.array_equal(oa, ob)
    assert_same_info_dicts(ks.reset_infos, dummy.reset_infos, "reset")
    for u in ks.get_attr("u"):
        assert np.array_equal(u, u0)
    # options are consumed by the reset: the next one is a random start again
    assert np.array_equal(ks.reset(), dummy.reset())
    assert not np.array_equal(ks.get_attr("u")[0], u0)
    # autoresets never use them either
    for env in (ks, dummy):
        env.set_options({"u0": u0})
        env.reset()
    for step in range(5):
        actions = np.zeros((num_envs, 4), dtype=np.float32)
        assert_same_vec_step(ks.step(actions), dummy.step(actions), f"step {step}")


@pytest.mark.parametrize("given", [[True, False, False], [False, True, True]])
def test_set_options_u0_for_some_envs_matches_dummy_vec_env(given):
    """u0 for a subset: the others start at random; observations inside the space, as DummyVecEnv's.

    The threshold is below the attractor's amplitude, so random-start observations
    are clipped into the observation space by the single env.
    """
    kwargs = {"blowup_threshold": 1.0, "burn_in": 0.0}
    ks, dummy = make_pair(3, 5, **kwargs)
    u0 = 0.5 * np.sin(2 * np.pi * np.arange(N) / N)
    options = [{"u0": u0} if g else {} for g in given]
    for env in (ks, dummy):
        env.seed(3)
        env.set_options(options)
    oa, ob = ks.reset(), dummy.reset()
    assert np.abs(ob).max() == 1.0  # clipped random starts: the comparison is not trivial
    for i, g in enumerate(given):
        if g:
            assert np.array_equal(ks.get_attr("u", i)[0], u0)
    assert all(ks.observation_space.contains(row) for row in oa)  # SB3 spaces are per env
    assert np.array_equal(oa, ob)
    assert_same_info_dicts(ks.reset_infos, dummy.reset_infos, "reset")


def test_make_ks_vec_env_is_reproducible_from_its_seed():
    def rollout(seed):
        env = make_ks_vec_env(3, seed=seed, max_episode_steps=4, burn_in=BURN_IN)
        out = [env.reset()]
        rng = np.random.default_rng(0)
        for _ in range(9):
            obs, rewards, dones, infos = env.step(rng.uniform(-1, 1, (3, 4)))
            out += [obs, rewards, dones]
        return out, env.get_attr("episode_seeds")

    (a, seeds_a), (b, _), (c, _) = rollout(8), rollout(8), rollout(9)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert seeds_a == [8, 9, 10]
    env = make_ks_vec_env(2, max_episode_steps=4, burn_in=BURN_IN)
    assert isinstance(env, KSVecEnv) and isinstance(env, VecEnv)
    assert env.num_envs == 2 and env.engine.max_episode_steps == 4


# =============================================================================== VecEnv methods


def test_get_attr_set_attr_env_method_env_is_wrapped():
    num_envs = 3
    ks, dummy = make_pair(num_envs, 5)
    ks.seed(1)
    dummy.seed(1)
    ks.reset(), dummy.reset()
    # per-env state, as DummyVecEnv's envs
    u = ks.get_attr("u")
    assert len(u) == num_envs and all(x.shape == (N,) and x.dtype == np.float64 for x in u)
    assert all(np.array_equal(a, b) for a, b in zip(u, dummy.get_attr("u")))
    assert len({x.tobytes() for x in u}) == num_envs
    assert [x.tobytes() for x in ks.get_attr("u", [2, 0])] == [u[2].tobytes(), u[0].tobytes()]
    u[0][:] = 0.0  # a copy: the env is not changed
    assert not np.array_equal(ks.get_attr("u", 0)[0], u[0])
    ks.step(np.zeros((num_envs, 4)))
    assert ks.get_attr("t") == [0.25] * num_envs
    # shared configuration
    assert ks.get_attr("max_forcing") == dummy.get_attr("max_forcing") == [0.5] * num_envs
    assert ks.get_attr("max_forcing", [1]) == [0.5]
    # set_attr must address all envs; then it changes the dynamics of all of them
    with pytest.raises(ValueError, match="all envs"):
        ks.set_attr("max_forcing", 0.1, indices=[0])
    with pytest.raises(ValueError):
        ks.set_attr("u", np.zeros(N))
    ks.set_attr("max_forcing", 0.1)
    assert ks.get_attr("max_forcing") == [0.1] * num_envs
    ref, _ = make_pair(num_envs, 5, max_forcing=0.1)
    for env in (ks, ref):
        env.seed(4)
        env.reset()
    actions = np.full((num_envs, 4), 0.9, dtype=np.float32)
    assert_same_vec_step(ks.step(actions), ref.step(actions), "after set_attr")
    # env_method: on the shared configuration, one result per addressed env
    states = np.zeros((2, N))
    out = ks.env_method("observe_states", states, False, indices=[0, 2])
    assert len(out) == 2 and all(np.array_equal(o, np.zeros((2, 8), dtype=np.float32)) for o in out)
    assert len(ks.env_method("observe_states", states, False)) == num_envs
    # no per-env wrappers
    assert ks.env_is_wrapped(Monitor) == [False] * num_envs
    assert ks.env_is_wrapped(Monitor, indices=[1]) == [False]


def test_step_wait_without_step_async_is_an_error_and_bad_actions_name_the_env():
    ks = make_ks_vec_env(3, seed=0, max_episode_steps=5, burn_in=BURN_IN)
    ks.reset()
    with pytest.raises(RuntimeError):
        ks.step_wait()
    actions = np.zeros((3, 4))
    actions[2, 3] = np.inf
    u = np.stack(ks.get_attr("u"))
    with pytest.raises(ValueError, match="env 2"):
        ks.step(actions)
    assert np.array_equal(np.stack(ks.get_attr("u")), u)
    with pytest.raises(ValueError, match="shape"):
        ks.step(np.zeros((2, 4)))
    ks.set_options([{}, {"foo": 1}, {}])
    with pytest.raises(ValueError, match="env 1"):
        ks.reset()


# =============================================================================== SB3 wrappers and algorithms


def test_vec_monitor_reports_episode_returns_and_lengths():
    num_envs, k_steps = 3, 6
    env = VecMonitor(make_ks_vec_env(num_envs, seed=2, max_episode_steps=k_steps, burn_in=BURN_IN))
    env.reset()
    returns = np.zeros(num_envs)
    rng = np.random.default_rng(0)
    n_episodes = 0
    for _ in range(2 * k_steps):
        obs, rewards, dones, infos = env.step(rng.uniform(-1, 1, (num_envs, 4)))
        returns += rewards
        for i in np.flatnonzero(dones):
            n_episodes += 1
            assert infos[i]["episode"]["l"] == k_steps
            assert infos[i]["episode"]["r"] == pytest.approx(returns[i], rel=1e-5, abs=1e-5)
            returns[i] = 0.0
    assert n_episodes == 2 * num_envs


def test_vec_normalize_normalises_observations_and_rewards():
    num_envs = 4
    raw = make_ks_vec_env(num_envs, seed=6, max_episode_steps=5, burn_in=BURN_IN)
    env = VecNormalize(make_ks_vec_env(num_envs, seed=6, max_episode_steps=5, burn_in=BURN_IN), gamma=0.99)
    obs_raw, obs = raw.reset(), env.reset()
    assert np.array_equal(env.get_original_obs(), obs_raw)
    rng = np.random.default_rng(1)
    for step in range(12):
        actions = rng.uniform(-1, 1, (num_envs, 4))
        obs_raw, rew_raw, done_raw, info_raw = raw.step(actions)
        obs, rew, done, info = env.step(actions)
        assert np.array_equal(env.get_original_obs(), obs_raw)
        assert np.array_equal(env.get_original_reward(), rew_raw)
        assert np.array_equal(done, done_raw)
        rms = env.obs_rms
        expected = np.clip((obs_raw - rms.mean) / np.sqrt(rms.var + env.epsilon), -env.clip_obs, env.clip_obs)
        assert np.allclose(obs, expected, rtol=1e-5, atol=1e-5)
        for i in np.flatnonzero(done):
            term = info_raw[i]["terminal_observation"]
            assert np.allclose(info[i]["terminal_observation"], env.normalize_obs(term), rtol=1e-5, atol=1e-5)
    assert env.obs_rms.count > 12 * num_envs
    assert np.all(np.abs(env.obs_rms.mean) > 0)
    # observations are normalised: of order one and not the raw ones
    assert not np.allclose(obs, obs_raw)
    assert np.abs(obs).mean() < 3.0


def test_ppo_learns_and_evaluate_policy_runs_on_ksvecenv():
    from stable_baselines3 import PPO
    from stable_baselines3.common.evaluation import evaluate_policy

    k_steps = 16
    env = VecNormalize(VecMonitor(make_ks_vec_env(4, seed=0, max_episode_steps=k_steps, burn_in=BURN_IN)))
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=32, n_epochs=2, policy_kwargs=dict(net_arch=[16]),
                seed=0, device="cpu")
    model.learn(total_timesteps=128)
    assert model.num_timesteps == 128
    assert env.obs_rms.count > 128
    env.training = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rewards, lengths = evaluate_policy(model, env, n_eval_episodes=4, return_episode_rewards=True)
    assert len(rewards) == 4 and list(lengths) == [k_steps] * 4
    assert all(np.isfinite(r) and r < 0 for r in rewards)  # dissipation + power > 0 on the attractor


def test_sac_learns_on_ksvecenv():
    from stable_baselines3 import SAC

    env = make_ks_vec_env(2, seed=0, max_episode_steps=16, burn_in=BURN_IN)
    model = SAC("MlpPolicy", env, learning_starts=32, batch_size=32, policy_kwargs=dict(net_arch=[16]),
                seed=0, device="cpu")
    model.learn(total_timesteps=64)
    assert model.num_timesteps == 64
    assert model.replay_buffer.size() * env.num_envs >= 64 - env.num_envs
    action, _ = model.predict(env.reset(), deterministic=True)
    assert action.shape == (2, 4) and np.all(np.abs(action) <= 1.0)
