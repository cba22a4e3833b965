"""Batched KS-Control-v0 (``gym.make_vec(..., vectorization_mode="vector_entry_point")``).

The reference everywhere is Gymnasium's own ``SyncVectorEnv`` over single
``KS-Control-v0`` envs (``vectorization_mode="sync"``): the batched env must
reproduce it bit for bit (observations, rewards, flags, every info array, resets),
in each autoreset mode, with per-env seeding s + i.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.envs import KSControlVectorEnv

ENV_ID = "KS-Control-v0"
N = 64
BURN_IN = 2.0  # short burn-in keeps resets cheap; the parity does not depend on it
EXTRA_BATCHED_INFO = {"reset"}  # the batched env's NEXT_STEP reset mask (not in SyncVectorEnv's info)

#: max_forcing and threshold at which full actions blow a state up (max|u| > 10) in a few steps
FINITE_BLOWUP = {"max_forcing": 50.0, "blowup_threshold": 10.0}
#: max_forcing at which full actions give a non-finite state within one step
NAN_BLOWUP = {"max_forcing": 1e4}


def make_batched(num_envs, max_episode_steps=15, autoreset_mode=AutoresetMode.NEXT_STEP, **kwargs):
    kwargs.setdefault("burn_in", BURN_IN)
    return gym.make_vec(
        ENV_ID,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        max_episode_steps=max_episode_steps,
        autoreset_mode=autoreset_mode,
        **kwargs,
    )


def make_sync(num_envs, max_episode_steps=15, autoreset_mode=AutoresetMode.NEXT_STEP, **kwargs):
    kwargs.setdefault("burn_in", BURN_IN)
    return gym.make_vec(
        ENV_ID,
        num_envs=num_envs,
        vectorization_mode="sync",
        max_episode_steps=max_episode_steps,
        vector_kwargs={"autoreset_mode": autoreset_mode},
        **kwargs,
    )


def make_single(max_episode_steps=15, **kwargs):
    kwargs.setdefault("burn_in", BURN_IN)
    return gym.make(ENV_ID, max_episode_steps=max_episode_steps, **kwargs)


def _same_array(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return all(_same_value(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def _same_value(x, y) -> bool:
    if x is None or y is None:
        return x is None and y is None
    return _same_array(x, y)


def assert_same_infos(batched: dict, sync: dict, where: str = "", skip=("final_obs", "final_info")) -> None:
    """Every info array (and its mask) of the sync env is in the batched info, bit for bit."""
    keys = {k for k in sync if k.lstrip("_") not in skip}
    extra = {k.lstrip("_") for k in batched if k not in sync} - set(skip)
    assert extra <= EXTRA_BATCHED_INFO, f"{where}: unexpected info keys {extra}"
    for key in keys:
        assert key in batched, f"{where}: info key {key!r} missing"
        assert _same_array(batched[key], sync[key]), f"{where}: info[{key!r}] {batched[key]} != {sync[key]}"


def assert_same_step(rb, rs, where: str = "") -> None:
    ob, rwb, teb, trb, ib = rb
    os_, rws, tes, trs, is_ = rs
    assert _same_array(ob, os_), f"{where}: observations differ"
    assert _same_array(rwb, rws), f"{where}: rewards differ {rwb} != {rws}"
    assert _same_array(teb, tes), f"{where}: terminated differ {teb} != {tes}"
    assert _same_array(trb, trs), f"{where}: truncated differ {trb} != {trs}"
    assert_same_infos(ib, is_, where)


def _actions(rng, num_envs, n_act=4, scale=1.2):
    return rng.uniform(-scale, scale, (num_envs, n_act)).astype(np.float32)


# =============================================================================== parity


PARITY_CASES = [
    pytest.param({}, 1, id="dissipation-sensors-B1"),
    pytest.param({}, 5, id="dissipation-sensors-B5"),
    pytest.param({}, 17, id="dissipation-sensors-B17"),
    pytest.param({"objective": "target", "target": "E1", "observe": "full"}, 4, id="target-E1-full"),
    pytest.param(
        {"sensors": [0.3, 5.1, 11.7, 17.05, 21.9], "actuators": [1.0, 7.5, 15.2]}, 3, id="offgrid-sensors-3-actuators"
    ),
    pytest.param(
        {"objective": "target", "target": "E2", "dt": 0.04, "frame_skip": 3, "burn_in": 1.0, "max_forcing": 1.0},
        3,
        id="target-E2-dt-frame_skip",
    ),
]


@pytest.mark.parametrize(("kwargs", "num_envs"), PARITY_CASES)
def test_parity_with_sync_vector_env_across_episode_boundaries(kwargs, num_envs):
    k_steps, horizon = 15, 40  # episodes end at steps 15 and 31 (NEXT_STEP: one reset step after each)
    batched = make_batched(num_envs, k_steps, **kwargs)
    sync = make_sync(num_envs, k_steps, **kwargs)
    n_act = batched.single_action_space.shape[0]
    (ob, ib), (os_, is_) = batched.reset(seed=321), sync.reset(seed=321)
    assert _same_array(ob, os_), "reset observations differ"
    assert_same_infos(ib, is_, "reset")
    rng = np.random.default_rng(2024)
    n_truncated = 0
    for step in range(horizon):
        actions = _actions(rng, num_envs, n_act)
        rb, rs = batched.step(actions), sync.step(actions)
        assert_same_step(rb, rs, f"step {step}")
        states = np.stack([e.unwrapped.u for e in sync.envs])
        assert np.array_equal(batched.unwrapped.u, states), f"state, step {step}"
        n_truncated += int(rb[3].all())
        assert not rb[2].any()
    assert n_truncated == 2  # two episode boundaries crossed by every env
    # the trajectory went somewhere and the envs are different systems
    assert not np.array_equal(rb[0][0], ob[0])
    if num_envs > 1:
        assert not np.array_equal(rb[0][0], rb[0][1])


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param(FINITE_BLOWUP, id="runaway-state"),
        pytest.param(NAN_BLOWUP, id="non-finite-state"),
        pytest.param({"objective": "target", **NAN_BLOWUP}, id="non-finite-state-target"),
    ],
)
def test_blowup_in_one_env_matches_sync_and_leaves_the_others_undisturbed(kwargs):
    num_envs, k_steps, horizon, blow = 3, 9, 30, 1
    runs = {
        "batched": make_batched(num_envs, k_steps, **kwargs),
        "sync": make_sync(num_envs, k_steps, **kwargs),
        "without": make_batched(num_envs - 1, k_steps, **kwargs),  # envs 0 and 2 alone, same seeds
    }
    out = {name: [] for name in runs}
    runs["batched"].reset(seed=40)
    runs["sync"].reset(seed=40)
    runs["without"].reset(seed=[40, 42])
    rng = np.random.default_rng(5)
    for step in range(horizon):
        actions = _actions(rng, num_envs, scale=0.02)
        if step >= 2:
            actions[blow] = [1.0, -1.0, 1.0, -1.0]
        out["batched"].append(runs["batched"].step(actions))
        out["sync"].append(runs["sync"].step(actions))
        out["without"].append(runs["without"].step(actions[[0, 2]]))
    n_blowups = 0
    for step, (rb, rs, rw) in enumerate(zip(out["batched"], out["sync"], out["without"])):
        assert_same_step(rb, rs, f"step {step}")
        obs, rewards, terminated, truncated, info = rb
        assert np.array_equal(terminated, info["blowup"])
        assert not terminated[[0, 2]].any(), "only the driven env may blow up"
        n_blowups += int(terminated[blow])
        if terminated[blow]:
            assert rewards[blow] == -1000.0
            assert np.all(np.isfinite(obs)) and runs["batched"].observation_space.contains(obs)
        # envs 0 and 2 are exactly as in a run without env 1
        ow, rww, tew, trw, iw = rw
        assert np.array_equal(obs[[0, 2]], ow) and np.array_equal(rewards[[0, 2]], rww)
        assert np.array_equal(terminated[[0, 2]], tew) and np.array_equal(truncated[[0, 2]], trw)
        for key in (k for k in iw if not k.startswith("_") and k != "reset"):
            assert np.array_equal(info[key][[0, 2]], iw[key]), f"step {step}: info[{key!r}]"
        if "target_distance" in info and terminated[blow]:
            assert info["target_distance"][blow] == np.inf
    assert n_blowups >= 2  # env 1 blew up, was reset and blew up again


# =============================================================================== seeding


def _single_reset_states(seeds, n_resets=1, **kwargs):
    """State and obs of single envs after reset(seed) and n_resets - 1 further unseeded resets."""
    states, observations = [], []
    for seed in seeds:
        env = make_single(**kwargs)
        obs, _ = env.reset(seed=seed)
        for _ in range(n_resets - 1):
            obs, _ = env.reset()
        states.append(env.unwrapped.u)
        observations.append(obs)
    return np.stack(states), np.stack(observations)


def test_reset_seed_s_gives_env_i_the_seed_s_plus_i():
    env = make_batched(4)
    obs, _ = env.reset(seed=100)
    u_ref, obs_ref = _single_reset_states([100, 101, 102, 103])
    assert np.array_equal(env.unwrapped.u, u_ref)
    assert np.array_equal(obs, obs_ref)
    assert env.unwrapped.episode_seeds == [100, 101, 102, 103]
    assert len({row.tobytes() for row in env.unwrapped.u}) == 4


def test_reset_with_a_seed_list_and_none_entries_continuing_the_stream():
    env = make_batched(3)
    env.reset(seed=0)
    obs, _ = env.reset(seed=[5, None, 9])
    u5, _ = _single_reset_states([5])
    u1, _ = _single_reset_states([1], n_resets=2)  # env 1: seed 1, then one unseeded reset
    u9, _ = _single_reset_states([9])
    assert np.array_equal(env.unwrapped.u, np.concatenate([u5, u1, u9]))
    assert env.unwrapped.episode_seeds == [5, 1, 9]


def test_unseeded_resets_continue_each_envs_stream():
    env = make_batched(3)
    env.reset(seed=77)
    env.step(np.zeros((3, 4)))
    env.reset()
    env.reset()
    u_ref, obs_ref = _single_reset_states([77, 78, 79], n_resets=3)
    assert np.array_equal(env.unwrapped.u, u_ref)
    # and the same seed again reproduces the first reset, whatever happened since
    env.reset(seed=77)
    assert np.array_equal(env.unwrapped.u, _single_reset_states([77, 78, 79])[0])


def test_first_unseeded_reset_draws_per_env_seeds_that_reproduce_the_states():
    env = make_batched(3)
    env.reset()
    seeds = env.unwrapped.episode_seeds
    assert all(isinstance(s, int) for s in seeds) and len(set(seeds)) == 3
    assert np.array_equal(env.unwrapped.u, _single_reset_states(seeds)[0])


def test_seed_list_of_the_wrong_length_is_a_value_error():
    env = make_batched(3)
    with pytest.raises(ValueError, match="3"):
        env.reset(seed=[1, 2])


# =============================================================================== autoreset modes


def test_next_step_autoreset_semantics_and_ignored_nan_action():
    num_envs, k_steps = 3, 4
    env = make_batched(num_envs, k_steps, **NAN_BLOWUP)
    env.reset(seed=10)
    dt_step = 5 * 0.05
    # step 1: env 1 blows up (non-finite state), the others take tiny actions
    actions = np.zeros((num_envs, 4), dtype=np.float32)
    actions[1] = 1.0
    obs, rewards, terminated, truncated, info = env.step(actions)
    assert terminated.tolist() == [False, True, False] and info["blowup"].tolist() == [False, True, False]
    assert not info["reset"].any()
    # step 2: env 1 is reset; its NaN action is ignored
    actions = np.zeros((num_envs, 4), dtype=np.float32)
    actions[1] = np.nan
    obs, rewards, terminated, truncated, info = env.step(actions)
    assert info["reset"].tolist() == [False, True, False]
    assert rewards[1] == 0.0 and not terminated[1] and not truncated[1]
    assert info["t"].tolist() == [2 * dt_step, 0.0, 2 * dt_step]
    assert not info["blowup"].any()
    single = make_single(k_steps, **NAN_BLOWUP)
    single.reset(seed=11)
    single.step(np.ones(4))
    obs_reset, info_reset = single.reset()
    assert np.array_equal(obs[1], obs_reset) and np.array_equal(env.unwrapped.u[1], single.unwrapped.u)
    for key, value in info_reset.items():
        assert info[key][1] == value, key
    # after the reset step a NaN action of env 1 is an error again
    bad = np.zeros((num_envs, 4))
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="env 1"):
        env.step(bad)
    # truncation of envs 0 and 2 at k_steps, then their reset step ignores NaN actions too
    for _ in range(k_steps - 2):
        obs, rewards, terminated, truncated, info = env.step(np.zeros((num_envs, 4)))
    assert truncated.tolist() == [True, False, True] and not terminated.any()
    actions = np.zeros((num_envs, 4))
    actions[[0, 2]] = np.nan
    obs, rewards, terminated, truncated, info = env.step(actions)
    assert info["reset"].tolist() == [True, False, True]
    assert rewards[0] == rewards[2] == 0.0 and not truncated.any()


def test_same_step_autoreset_matches_sync_and_returns_reset_observations():
    num_envs, k_steps, mode = 3, 7, AutoresetMode.SAME_STEP
    batched = make_batched(num_envs, k_steps, mode, **FINITE_BLOWUP)
    sync = make_sync(num_envs, k_steps, mode, **FINITE_BLOWUP)
    assert batched.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    batched.reset(seed=1)
    sync.reset(seed=1)
    rng = np.random.default_rng(0)
    n_final = 0
    for step in range(20):
        actions = _actions(rng, num_envs, scale=0.05)
        if step >= 2:
            actions[1] = [1.0, -1.0, 1.0, -1.0]
        rb, rs = batched.step(actions), sync.step(actions)
        assert_same_step(rb, rs, f"step {step}")
        obs, rewards, terminated, truncated, info = rb
        ended = terminated | truncated
        assert ("final_obs" in info) == ended.any() == ("final_obs" in rs[4])
        if ended.any():
            n_final += 1
            assert np.array_equal(info["_final_obs"], ended)
            assert _same_array(info["final_obs"], rs[4]["final_obs"])
            for i in np.flatnonzero(ended):
                assert info["t"][i] == 0.0  # the returned obs and info are the reset's
                assert not np.array_equal(obs[i], info["final_obs"][i])
                assert info["final_info"]["t"][i] == rs[4]["final_info"]["t"][i] > 0.0
                assert info["final_info"]["blowup"][i] == terminated[i]
    assert n_final >= 3


def test_same_step_final_info_masks_flag_only_the_ended_envs_as_in_gymnasium():
    """``final_info`` follows Gymnasium's convention: ``_key`` masks True only for the ended envs."""
    num_envs, k_steps, mode = 3, 7, AutoresetMode.SAME_STEP
    batched = make_batched(num_envs, k_steps, mode, **FINITE_BLOWUP)
    sync = make_sync(num_envs, k_steps, mode, **FINITE_BLOWUP)
    batched.reset(seed=1)
    sync.reset(seed=1)
    actions = np.zeros((num_envs, 4), dtype=np.float32)
    actions[1] = [1.0, -1.0, 1.0, -1.0]
    for step in range(6):
        rb, rs = batched.step(actions), sync.step(actions)
        if "final_info" in rs[4]:
            break
    ended = rb[2] | rb[3]
    assert ended.tolist() == [False, True, False]
    fb, fs = rb[4]["final_info"], rs[4]["final_info"]
    for key in (k for k in fs if k.startswith("_")):
        assert np.array_equal(fb[key], ended), f"final_info[{key!r}] = {fb[key]}, expected the ended mask {ended}"
    for key in (k for k in fs if not k.startswith("_")):
        assert _same_array(fb[key][ended], fs[key][ended]), key


def test_disabled_autoreset_with_reset_mask_matches_sync():
    num_envs, k_steps, mode = 3, 6, AutoresetMode.DISABLED
    batched = make_batched(num_envs, k_steps, mode, **FINITE_BLOWUP)
    sync = make_sync(num_envs, k_steps, mode, **FINITE_BLOWUP)
    assert batched.metadata["autoreset_mode"] == AutoresetMode.DISABLED
    assert_same_infos(batched.reset(seed=3)[1], sync.reset(seed=3)[1], "reset")
    rng = np.random.default_rng(1)
    n_partial = 0
    for step in range(25):
        actions = _actions(rng, num_envs, scale=0.05)
        if step >= 2:
            actions[2] = [1.0, -1.0, 1.0, -1.0]
        rb, rs = batched.step(actions), sync.step(actions)
        assert_same_step(rb, rs, f"step {step}")
        assert not rb[4]["reset"].any()
        ended = rb[2] | rb[3]
        if ended.any():
            n_partial += int(not ended.all())
            u_before = batched.unwrapped.u
            seed = 1000 if n_partial == 1 else None  # a seeded partial reset: env i gets 1000 + i
            ob, ib = batched.reset(seed=seed, options={"reset_mask": ended.copy()})
            os_, is_ = sync.reset(seed=seed, options={"reset_mask": ended.copy()})
            assert np.array_equal(ob, os_), f"reset after step {step}"
            assert_same_infos(ib, is_, f"reset after step {step}")
            assert np.array_equal(batched.unwrapped.u[~ended], u_before[~ended])  # others unchanged
            assert np.array_equal(ib["_t"], ended)
    assert n_partial >= 2


def test_reset_mask_returns_the_last_observation_of_the_envs_not_reset():
    """Envs outside ``reset_mask`` keep their observation (inside the space), as in SyncVectorEnv.

    With a threshold below the attractor's amplitude, reset observations are
    clipped into the observation space; a partial reset must not return them unclipped.
    """
    kwargs = {"blowup_threshold": 1.0, "burn_in": 0.0}
    mode = AutoresetMode.DISABLED
    batched = make_batched(2, 5, mode, **kwargs)
    sync = make_sync(2, 5, mode, **kwargs)
    first, _ = batched.reset(seed=0)
    assert np.array_equal(first, sync.reset(seed=0)[0])
    assert np.abs(first).max() == 1.0  # clipped: the parity below is not trivial
    mask = np.array([True, False])
    ob, _ = batched.reset(options={"reset_mask": mask.copy()})
    os_, _ = sync.reset(options={"reset_mask": mask.copy()})
    assert np.array_equal(ob[1], first[1])
    assert batched.observation_space.contains(ob)
    assert np.array_equal(ob, os_)


def test_reset_mask_in_next_step_mode_cancels_the_pending_autoreset_of_those_envs():
    env = make_batched(2, 3)
    env.reset(seed=0)
    for _ in range(3):
        _, _, _, truncated, _ = env.step(np.zeros((2, 4)))
    assert truncated.all()
    env.reset(seed=[50, None], options={"reset_mask": np.array([True, False])})
    assert np.array_equal(env.unwrapped.u[0], _single_reset_states([50])[0][0])
    obs, rewards, terminated, truncated, info = env.step(np.zeros((2, 4)))
    assert info["reset"].tolist() == [False, True]
    assert info["t"][0] > 0.0 and info["t"][1] == 0.0


def test_no_time_limit_with_max_episode_steps_none():
    env = make_batched(2, None)
    assert env.unwrapped.max_episode_steps is None
    env.reset(seed=0)
    for _ in range(30):
        _, _, terminated, truncated, _ = env.step(np.zeros((2, 4)))
        assert not truncated.any() and not terminated.any()


# =============================================================================== checks, spaces, API


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"observe": "full"},
        {"actuators": 3, "sensors": [0.5, 3.3]},
        {"objective": "target", "blowup_threshold": 20.0},
    ],
)
def test_spaces_are_the_batched_single_env_spaces(kwargs):
    num_envs = 5
    env = make_batched(num_envs, **kwargs)
    single = make_single(**kwargs)
    assert env.num_envs == num_envs
    assert env.single_observation_space == single.observation_space
    assert env.single_action_space == single.action_space
    assert env.observation_space == batch_space(single.observation_space, num_envs)
    assert env.action_space == batch_space(single.action_space, num_envs)
    for space, n in ((env.observation_space, single.observation_space.shape[0]),
                     (env.action_space, single.action_space.shape[0])):
        assert isinstance(space, spaces.Box) and space.shape == (num_envs, n) and space.dtype == np.float32
    assert np.all(env.action_space.low == -1.0) and np.all(env.action_space.high == 1.0)
    assert np.all(env.observation_space.high == np.float32(kwargs.get("blowup_threshold", 100.0)))
    assert isinstance(env.metadata["autoreset_mode"], AutoresetMode)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP


def test_make_vec_reset_step_close_emit_no_warning_and_data_lie_in_the_spaces():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point", burn_in=BURN_IN)
        assert isinstance(env, KSControlVectorEnv) and env.unwrapped is env
        assert env.spec is not None and env.spec.id == ENV_ID
        assert env.unwrapped.max_episode_steps == 400  # the registration's time limit
        obs, info = env.reset(seed=0)
        assert obs.dtype == np.float32 and env.observation_space.contains(obs)
        env.action_space.seed(0)
        for _ in range(5):
            obs, rewards, terminated, truncated, info = env.step(env.action_space.sample())
            assert env.observation_space.contains(obs)
            assert rewards.shape == (3,) and rewards.dtype == np.float64
            assert terminated.dtype == np.bool_ and truncated.dtype == np.bool_
            assert terminated.shape == truncated.shape == (3,)
            for key, value in info.items():
                assert isinstance(value, np.ndarray) and value.shape == (3,), key
        env.close()


@pytest.mark.parametrize("kwargs", [{}, {"objective": "target", "observe": "full"}])
def test_gymnasium_check_environments_match_with_one_env(kwargs):
    """Gymnasium's own matcher (``gymnasium.utils.env_match``; it compares flags as scalars, so B = 1)."""
    from gymnasium.utils.env_match import check_environments_match

    check_environments_match(
        make_sync(1, 10, **kwargs), make_batched(1, 10, **kwargs), num_steps=35, seed=7, info_comparison="superset"
    )


def test_vector_entry_point_is_the_default_vectorization_mode():
    env = gym.make_vec(ENV_ID, num_envs=2, burn_in=BURN_IN)
    assert isinstance(env, KSControlVectorEnv)


def test_returned_data_are_not_reused_between_steps():
    """As Gymnasium's ``check_returned_data_not_reused``: a later step never overwrites earlier returns."""
    env = make_batched(3, observe="full")
    obs0, info0 = env.reset(seed=0)
    kept = [(obs0.copy(), {k: v.copy() for k, v in info0.items()}, obs0, info0)]
    r1 = env.step(np.full((3, 4), 0.5))
    kept.append(tuple(x.copy() for x in r1[:4]) + (r1,))
    env.step(np.full((3, 4), -0.5))
    env.reset(seed=1)
    obs_copy, info_copy, obs, info = kept[0]
    assert np.array_equal(obs, obs_copy) and all(np.array_equal(info[k], info_copy[k]) for k in info)
    copies, returned = kept[1][:4], kept[1][4]
    for c, r in zip(copies, returned[:4]):
        assert np.array_equal(c, r)
    # the observation is the state, as float32, in full-observation mode
    env2 = make_batched(2, observe="full")
    obs, _ = env2.reset(seed=4)
    obs, *_ = env2.step(np.zeros((2, 4)))
    assert np.array_equal(obs, env2.unwrapped.u.astype(np.float32))


def test_gymnasium_vector_wrappers_record_episode_statistics_and_dict_info_to_list():
    from gymnasium.wrappers.vector import DictInfoToList, RecordEpisodeStatistics

    k_steps = 5
    env = DictInfoToList(RecordEpisodeStatistics(make_batched(3, k_steps)))
    env.reset(seed=0)
    returns = np.zeros(3)
    rng = np.random.default_rng(0)
    n_episodes = 0
    for _ in range(2 * k_steps + 1):
        obs, rewards, terminated, truncated, infos = env.step(_actions(rng, 3))
        assert isinstance(infos, list) and len(infos) == 3
        returns += rewards
        for i, info in enumerate(infos):
            assert set(info) >= {"t", "energy", "dissipation", "power", "blowup"}
            if "episode" in info:
                n_episodes += 1
                assert info["episode"]["l"] == k_steps
                assert info["episode"]["r"] == pytest.approx(returns[i], rel=1e-12)
                returns[i] = 0.0
    assert n_episodes == 6


# =============================================================================== bad input


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4,), (3, 4, 1), (12,), (3, 5)])
def test_actions_of_the_wrong_shape_are_a_value_error(shape):
    env = make_batched(3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(shape))


@pytest.mark.parametrize("bad_env", [0, 2, 4])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nonfinite_action_names_the_env_and_moves_no_env(bad_env, value):
    env = make_batched(5)
    env.reset(seed=0)
    env.step(np.zeros((5, 4)))
    u, t = env.unwrapped.u, env.unwrapped._t.copy()
    actions = np.full((5, 4), 0.3)
    actions[bad_env, 1] = value
    with pytest.raises(ValueError, match=f"env {bad_env}\\b"):
        env.step(actions)
    assert np.array_equal(env.unwrapped.u, u) and np.array_equal(env.unwrapped._t, t)
    # the env is still usable, and continues as if the bad call never happened
    ref = make_batched(5)
    ref.reset(seed=0)
    ref.step(np.zeros((5, 4)))
    good = np.full((5, 4), 0.3)
    assert_same_step(env.step(good), ref.step(good), "after the rejected step")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_envs": 0}, "num_envs"),
        ({"num_envs": -2}, "num_envs"),
        ({"num_envs": 2.0}, "num_envs"),
        ({"num_envs": True}, "num_envs"),
        ({"max_episode_steps": 0}, "max_episode_steps"),
        ({"max_episode_steps": 2.5}, "max_episode_steps"),
        ({"max_episode_steps": "10"}, "max_episode_steps"),
        ({"autoreset_mode": "foo"}, "autoreset_mode"),
        ({"render_mode": "rgb_array"}, "render_mode"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_vector_arguments_are_value_errors_naming_the_argument(kwargs, name):
    args = {"num_envs": 2, **kwargs}
    with pytest.raises(ValueError, match=name):
        KSControlVectorEnv(burn_in=BURN_IN, **args)
    with pytest.raises(ValueError, match=name):
        gym.make_vec(ENV_ID, vectorization_mode="vector_entry_point", burn_in=BURN_IN, **args)


@pytest.mark.parametrize(
    "kwargs",
    [{"N": 63}, {"L": -1.0}, {"dt": 0.0}, {"frame_skip": 0}, {"objective": "energy"}, {"observe": "partial"},
     {"actuators": 0}, {"sensors": [30.0]}, {"target": "E1"}, {"max_forcing": -1.0}],
)
def test_invalid_env_kwargs_raise_the_single_envs_value_error(kwargs):
    with pytest.raises(ValueError) as single_error:
        gym.make(ENV_ID, **kwargs)
    with pytest.raises(ValueError) as batched_error:
        make_batched(2, **kwargs)
    assert str(batched_error.value) == str(single_error.value)


def test_string_autoreset_modes_are_accepted():
    for mode in AutoresetMode:
        env = make_batched(2, autoreset_mode=mode.value)
        assert env.metadata["autoreset_mode"] is mode


@pytest.mark.parametrize(
    "options",
    [
        {"foo": 1},
        {"u0": np.zeros(N), "seed": 3},
        {"reset_mask": np.ones(2, dtype=bool)},
        {"reset_mask": np.ones(3, dtype=np.int64)},
        {"reset_mask": np.ones((3, 1), dtype=bool)},
        {"u0": np.zeros(N - 1)},
        {"u0": np.zeros((2, N))},
        {"u0": np.zeros((3, N, 1))},
        {"u0": np.full(N, np.nan)},
        {"u0": np.full(N, 200.0)},
    ],
)
def test_bad_reset_options_are_value_errors(options):
    env = make_batched(3)
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.reset(options=options)


def test_rejected_u0_leaves_every_env_unchanged():
    """One invalid row of ``u0`` (here the last) is an error before any env is reset."""
    env = make_batched(3)
    env.reset(seed=0)
    env.step(np.zeros((3, 4)))
    u, t = env.unwrapped.u, env.unwrapped._t.copy()
    u0 = np.zeros((3, N))
    u0[2, 5] = np.nan
    with pytest.raises(ValueError):
        env.reset(options={"u0": u0})
    assert np.array_equal(env.unwrapped.u, u)
    assert np.array_equal(env.unwrapped._t, t)


# =============================================================================== u0 option


def _smooth_state(scale: float, q: int, phase: float = 0.0) -> np.ndarray:
    x = 22.0 * np.arange(N) / N
    return scale * np.sin(2 * np.pi * q * x / 22.0 + phase)


def test_u0_of_shape_n_is_broadcast_to_every_env_exactly_as_sync():
    u0 = _smooth_state(1.3, 2, 0.4)
    batched, sync = make_batched(3), make_sync(3)
    ob, ib = batched.reset(seed=0, options={"u0": u0})
    os_, is_ = sync.reset(seed=0, options={"u0": u0})
    assert np.array_equal(batched.unwrapped.u, np.broadcast_to(u0, (3, N)))
    assert np.array_equal(ob, os_)
    assert_same_infos(ib, is_, "reset")
    actions = np.random.default_rng(0).uniform(-1, 1, (3, 4))
    assert_same_step(batched.step(actions), sync.step(actions), "first step")


def test_u0_of_shape_b_n_sets_each_env_exactly():
    u0 = np.stack([_smooth_state(0.5 + i, i + 1, 0.1 * i) for i in range(3)]).astype(np.float32)
    env = make_batched(3, observe="full")
    obs, info = env.reset(options={"u0": u0})
    u = env.unwrapped.u
    assert u.dtype == np.float64 and u.shape == (3, N)
    assert np.array_equal(u, u0.astype(np.float64))
    assert np.array_equal(obs, u0)
    assert info["t"].tolist() == [0.0] * 3
    assert np.allclose(info["energy"], 0.5 * np.mean(u**2, axis=1), rtol=1e-12)
    single = make_single()
    for i in range(3):
        _, info_i = single.reset(options={"u0": u0[i]})
        assert all(info[k][i] == v for k, v in info_i.items())


def test_u0_with_reset_mask_sets_only_the_masked_envs():
    env = make_batched(3)
    env.reset(seed=0)
    u_before = env.unwrapped.u
    u0 = np.stack([_smooth_state(1.0, i + 1) for i in range(3)])
    mask = np.array([False, True, True])
    env.reset(options={"u0": u0, "reset_mask": mask})
    assert np.array_equal(env.unwrapped.u[0], u_before[0])
    assert np.array_equal(env.unwrapped.u[1:], u0[1:])


# =============================================================================== pickling


def test_pickled_vector_env_continues_identically():
    import pickle

    env = make_batched(3, 4)
    env.reset(seed=0)
    env.step(np.full((3, 4), 0.2))
    clone = pickle.loads(pickle.dumps(env))
    rng = np.random.default_rng(0)
    for step in range(6):  # crosses an autoreset: the generators were pickled too
        actions = _actions(rng, 3)
        assert_same_step(env.step(actions), clone.step(actions), f"step {step}")
