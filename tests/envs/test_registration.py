"""The registry helpers: every id built by name, as gym.make / gym.make_vec build it."""

import gymnasium as gym
import numpy as np
import pytest

import chaoscontrol  # noqa: F401  (registers the ids)
from chaoscontrol.envs.registration import ENV_SPECS, check_env_id, default_max_episode_steps, make_env, make_vector_env


@pytest.mark.parametrize("env_id", sorted(ENV_SPECS))
def test_make_env_matches_gym_make(env_id):
    bare = make_env(env_id)
    made = gym.make(env_id)
    assert type(bare) is type(made.unwrapped)
    assert bare.observation_space == made.observation_space and bare.action_space == made.action_space
    a, _ = bare.reset(seed=3)
    b, _ = made.reset(seed=3)
    np.testing.assert_array_equal(a, b)
    made.close()


@pytest.mark.parametrize("env_id", sorted(ENV_SPECS))
def test_make_vector_env_matches_gym_make_vec(env_id):
    ours = make_vector_env(env_id, 2)
    theirs = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    assert type(ours) is type(theirs)
    assert ours.single_observation_space == theirs.single_observation_space
    a, _ = ours.reset(seed=5)
    b, _ = theirs.reset(seed=5)
    np.testing.assert_array_equal(a, b)
    assert default_max_episode_steps(env_id) == ENV_SPECS[env_id]["max_episode_steps"]


def test_registered_defaults_are_overridden_by_keywords():
    assert make_env("KS-L66-Control-v0").action_space.shape == (12,)
    assert make_env("KS-L66-Control-v0", actuators=6).action_space.shape == (6,)


@pytest.mark.parametrize("bad", ["KS-Control-v1", "", None, 3])
def test_unknown_id_is_a_value_error_naming_the_ids(bad):
    with pytest.raises(ValueError, match="env_id must be one of .*KS-Control-v0"):
        check_env_id(bad)
    with pytest.raises(ValueError, match="env_id"):
        make_env(bad)


def test_unknown_keyword_names_the_id_and_the_keyword():
    with pytest.raises(ValueError, match="Lorenz63-Control-v0.*bogus"):
        make_env("Lorenz63-Control-v0", bogus=1)
    with pytest.raises(ValueError, match="Lorenz96-Control-v0.*bogus"):
        make_vector_env("Lorenz96-Control-v0", 2, bogus=1)
