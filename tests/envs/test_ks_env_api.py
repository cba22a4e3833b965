"""KS-Control-v0: API contract (docs/design.md section 4) — checkers, registration, spaces, infos, rendering."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env as gym_check_env

import chaoscontrol
from chaoscontrol.envs import KSControlEnv

ENV_ID = "KS-Control-v0"
L, N = 22.0, 64
INFO_KEYS = {"t", "energy", "production", "dissipation", "power", "blowup"}

CHECKER_CASES = [
    pytest.param({"observe": "sensors"}, id="sensors"),
    pytest.param({"observe": "full"}, id="full"),
    pytest.param({"objective": "target"}, id="target"),
    pytest.param({"objective": "target", "observe": "full", "target": "E2"}, id="target-E2-full"),
]


# ---------------------------------------------------------------- environment checkers


@pytest.mark.parametrize("kwargs", CHECKER_CASES)
def test_gymnasium_check_env_passes_without_any_warning(kwargs):
    env = gym.make(ENV_ID, burn_in=2.0, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning (spaces, obs, determinism, render) fails the test
        gym_check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize("kwargs", CHECKER_CASES)
def test_sb3_check_env_emits_no_warning(kwargs):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(ENV_ID, burn_in=2.0, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(env, warn=True)
    assert [str(w.message) for w in caught] == []
    env.close()


def test_gymnasium_check_env_with_render_mode_rgb_array():
    env = gym.make(ENV_ID, burn_in=0.0, render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped)
    env.close()


# ---------------------------------------------------------------- registration and defaults


def test_registration_in_a_fresh_interpreter():
    """`import chaoscontrol` registers the env; the `module:id` form imports it by itself."""
    code = textwrap.dedent(
        """
        import gymnasium as gym
        assert "KS-Control-v0" not in gym.registry
        env = gym.make("chaoscontrol:KS-Control-v0", burn_in=0.0)
        assert type(env.unwrapped).__name__ == "KSControlEnv"
        import chaoscontrol
        env2 = gym.make("KS-Control-v0", burn_in=0.0)
        obs, info = env2.reset(seed=0)
        env2.step(env2.action_space.sample())
        venv = gym.make_vec("KS-Control-v0", num_envs=2, vectorization_mode="vector_entry_point", burn_in=0.0)
        venv.reset(seed=0)
        import sys
        assert "torch" not in sys.modules, "the env without a surrogate must not import torch"
        print("OK", obs.shape, env2.spec.max_episode_steps)
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "OK (8,) 400" in res.stdout


def test_registered_spec():
    spec = gym.spec(ENV_ID)
    assert spec.max_episode_steps == 400
    assert spec.entry_point == "chaoscontrol.surrogates.registered_envs:make_ks_control_env"
    assert spec.vector_entry_point == "chaoscontrol.surrogates.registered_envs:make_ks_control_vector_env"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # re-registering would warn "Overriding environment"
        chaoscontrol.register_envs()
    assert gym.spec(ENV_ID) is spec


def test_make_with_module_prefix():
    env = gym.make("chaoscontrol:KS-Control-v0", burn_in=0.0)
    assert isinstance(env.unwrapped, KSControlEnv)
    assert env.spec.max_episode_steps == 400


def test_default_case():
    env = gym.make(ENV_ID)
    ks = env.unwrapped
    assert isinstance(ks, KSControlEnv)
    assert ks.config.L == 22.0 and ks.config.N == 64 and ks.config.dt == 0.05
    assert ks.frame_skip == 5
    assert ks.max_forcing == 0.5
    assert ks.actuator_width == 0.4
    assert ks.objective == "dissipation" and ks.target is None
    assert ks.observe == "sensors"
    assert ks.burn_in == 100.0
    assert ks.render_mode is None
    np.testing.assert_allclose(ks.actuator_positions, [2.75, 8.25, 13.75, 19.25], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ks.sensor_positions, 22.0 * np.arange(8) / 8, rtol=0, atol=1e-12)
    # Gaussian actuators, peak 1, sigma 0.4, periodic distance
    x = L * np.arange(N) / N
    d = np.abs(x[None, :] - ks.actuator_positions[:, None])
    d = np.minimum(d, L - d)
    np.testing.assert_allclose(ks.actuator_shapes, np.exp(-(d**2) / (2 * 0.4**2)), rtol=1e-13, atol=1e-15)
    assert ks.actuator_shapes.shape == (4, N)


def test_default_spaces():
    env = gym.make(ENV_ID, burn_in=0.0)
    assert env.action_space == spaces.Box(-1.0, 1.0, (4,), np.float32)
    assert env.action_space.dtype == np.float32
    obs_space = env.observation_space
    assert isinstance(obs_space, spaces.Box)
    assert obs_space.shape == (8,) and obs_space.dtype == np.float32
    assert obs_space.is_bounded("both")
    assert np.all(np.isfinite(obs_space.low)) and np.all(np.isfinite(obs_space.high))
    np.testing.assert_array_equal(obs_space.low, -obs_space.high)
    np.testing.assert_array_equal(obs_space.high, np.full(8, env.unwrapped.blowup_threshold, np.float32))
    assert np.all(obs_space.high > 0)


@pytest.mark.parametrize(
    ("kwargs", "n_act", "n_obs"),
    [
        ({"observe": "full"}, 4, 64),
        ({"observe": "full", "N": 32}, 4, 32),
        ({"actuators": 3, "sensors": 5}, 3, 5),
        ({"actuators": [1.0, 2.0], "sensors": [0.0, 3.3, 7.1]}, 2, 3),
    ],
)
def test_space_shapes_follow_arguments(kwargs, n_act, n_obs):
    env = gym.make(ENV_ID, burn_in=0.0, blowup_threshold=37.5, **kwargs)
    assert env.action_space == spaces.Box(-1.0, 1.0, (n_act,), np.float32)
    assert env.observation_space == spaces.Box(-37.5, 37.5, (n_obs,), np.float32)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (n_obs,) and obs.dtype == np.float32
    obs, *_ = env.step(env.action_space.sample())
    assert obs.shape == (n_obs,) and obs.dtype == np.float32


def test_episode_truncated_exactly_at_step_400_with_zero_actions():
    env = gym.make(ENV_ID)  # default burn-in: the episode runs on the attractor
    obs, _ = env.reset(seed=5)
    zero = np.zeros(4, dtype=np.float32)
    for k in range(1, 401):
        obs, reward, terminated, truncated, info = env.step(zero)
        assert not terminated, f"terminated at step {k}"
        assert not info["blowup"]
        assert np.isfinite(reward)
        if k < 400:
            assert not truncated, f"truncated early at step {k}"
    assert truncated is True
    assert terminated is False
    assert info["t"] == pytest.approx(100.0, abs=1e-9)


# ---------------------------------------------------------------- infos and observations


def test_info_keys_and_time():
    env = gym.make(ENV_ID, burn_in=1.0)
    obs, info = env.reset(seed=3)
    assert INFO_KEYS <= set(info)
    assert info["t"] == 0.0 and info["power"] == 0.0 and info["blowup"] is False
    rng = np.random.default_rng(0)
    for k in range(1, 9):
        obs, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, 4).astype(np.float32))
        assert INFO_KEYS <= set(info)
        assert info["t"] == pytest.approx(0.25 * k, abs=1e-12)
        assert info["blowup"] is False
        for key in ("energy", "production", "dissipation", "power"):
            assert isinstance(info[key], float) and np.isfinite(info[key])
        assert info["energy"] > 0 and info["dissipation"] > 0 and info["production"] > 0
    # a reset starts the clock again
    _, info = env.reset(seed=3)
    assert info["t"] == 0.0


def test_info_t_follows_dt_and_frame_skip():
    env = gym.make(ENV_ID, burn_in=0.0, dt=0.02, frame_skip=3)
    env.reset(seed=0)
    for k in range(1, 4):
        _, _, _, _, info = env.step(np.zeros(4))
    assert info["t"] == pytest.approx(3 * 0.06, abs=1e-12)


def test_target_info_has_target_distance():
    env = gym.make(ENV_ID, burn_in=0.0, objective="target")
    _, info = env.reset(seed=0)
    assert "target_distance" in info and info["target_distance"] > 0
    _, reward, _, _, info = env.step(np.zeros(4))
    assert info["target_distance"] == -reward


@pytest.mark.parametrize("observe", ["sensors", "full"])
def test_observation_is_from_after_the_action(observe):
    env = gym.make(ENV_ID, burn_in=2.0, observe=observe)
    ks = env.unwrapped
    idx = np.arange(8) * 8 if observe == "sensors" else np.arange(N)
    obs, _ = env.reset(seed=11)
    np.testing.assert_array_equal(obs, ks.u[idx].astype(np.float32))
    rng = np.random.default_rng(1)
    for _ in range(5):
        before = ks.u
        obs, *_ = env.step(rng.uniform(-1, 1, 4))
        after = ks.u
        assert not np.array_equal(after, before)
        np.testing.assert_array_equal(obs, after[idx].astype(np.float32))
        assert not np.array_equal(obs, before[idx].astype(np.float32))


def test_state_property_is_a_float64_copy():
    env = gym.make(ENV_ID, burn_in=0.0)
    env.reset(seed=0)
    ks = env.unwrapped
    u = ks.u
    assert u.dtype == np.float64 and u.shape == (N,)
    saved = u.copy()
    u[:] = 123.0
    np.testing.assert_array_equal(ks.u, saved)
    assert ks.u is not ks.u


# ---------------------------------------------------------------- rendering


def test_render_rgb_array():
    env = gym.make(ENV_ID, burn_in=2.0, render_mode="rgb_array")
    env.reset(seed=0)
    frame0 = env.render()
    assert isinstance(frame0, np.ndarray)
    assert frame0.dtype == np.uint8 and frame0.ndim == 3 and frame0.shape[2] == 3
    assert frame0.shape[0] > 50 and frame0.shape[1] > 50
    assert len(np.unique(frame0.reshape(-1, 3), axis=0)) > 10  # not a uniform image
    for _ in range(10):
        env.step(env.action_space.sample())
    frame1 = env.render()
    assert frame1.dtype == np.uint8 and frame1.ndim == 3 and frame1.shape[2] == 3
    assert len(np.unique(frame1.reshape(-1, 3), axis=0)) > 10
    assert frame1.shape == frame0.shape
    assert not np.array_equal(frame1, frame0)  # the space-time history grew


def test_render_without_render_mode_returns_none():
    env = gym.make(ENV_ID, burn_in=0.0)
    env.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert env.render() is None


def test_render_after_blowup_does_not_raise():
    env = gym.make(ENV_ID, burn_in=0.0, max_forcing=1e6, render_mode="rgb_array")
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(np.ones(4))
    assert terminated and info["blowup"]
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
