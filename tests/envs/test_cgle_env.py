"""CGLE-Control-v0: what only this system has — phase-invariant objectives, the (2, N) field and complex u0,
Re/Im sensors, complex and real forcing, its keywords. The generic env contract runs over every registered id
elsewhere (tests/envs/test_env_contract.py)."""

from __future__ import annotations

import math
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import chaoscontrol  # noqa: F401  (registers the ids)
from chaoscontrol.envs.cgle import CGLEControlEnv
from chaoscontrol.solvers.cgle_waves import plane_wave

ENV_ID = "CGLE-Control-v0"
L, N = 8.0 * math.pi, 64
X = L * np.arange(N) / N
FAST = {"burn_in": 5.0}


def _make(**kwargs) -> CGLEControlEnv:
    return gym.make(ENV_ID, **{**FAST, **kwargs}).unwrapped


def _step_zero(env: CGLEControlEnv):
    return env.step(np.zeros(env.action_space.shape, dtype=np.float32))


# ---------------------------------------------------------------- registration, spaces, checkers


def test_registered_with_its_defaults():
    spec = gym.spec(ENV_ID)
    assert spec.max_episode_steps == 400
    env = gym.make(ENV_ID, **FAST)
    assert env.action_space.shape == (32,) and env.observation_space.shape == (32,)
    assert env.observation_space.high[0] == np.float32(10.0)
    d = env.unwrapped.dynamics
    assert (d.config.alpha, d.config.beta, d.config.L, d.config.N, d.config.dt) == (2.0, -2.0, L, N, 0.05)
    assert env.unwrapped.config_dict()["forcing"] == "complex"
    assert isinstance(gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", **FAST).unwrapped,
                      gym.vector.VectorEnv)


@pytest.mark.parametrize("kwargs", [
    pytest.param({"observe": "full", "objective": "defects"}, id="full-defects"),
    pytest.param({"forcing": "real", "sensors": [0.3, 5.0, 11.1]}, id="real-offgrid-sensors"),
])
def test_both_checkers_pass_on_the_other_configurations(kwargs):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(ENV_ID, **FAST, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(env, warn=True)
    assert [str(w.message) for w in caught] == []


# ---------------------------------------------------------------- field, u0 and observations


def test_complex_u0_is_the_field_a_and_equals_its_real_form():
    a0 = 0.8 * np.exp(1j * 2 * np.pi * 2 * X / L) + 0.1
    env = _make()
    obs_c, info_c = env.reset(seed=0, options={"u0": a0})
    np.testing.assert_array_equal(env.A, a0)
    np.testing.assert_array_equal(env.u, np.stack([a0.real, a0.imag]))
    other = _make()
    obs_r, info_r = other.reset(options={"u0": np.stack([a0.real, a0.imag])})
    np.testing.assert_array_equal(obs_c, obs_r)
    assert info_c == info_r
    np.testing.assert_array_equal(_step_zero(env)[0], _step_zero(other)[0])


@pytest.mark.parametrize("u0, match", [
    (np.ones(N), r"options\['u0'\] must have shape \(2, 64\)"),
    (np.ones((2, N), dtype=complex), r"options\['u0'\] as a complex field A must have shape \(64,\)"),
    (np.full((2, N), np.nan), r"options\['u0'\] must be finite"),
    (np.full((2, N), 8.0), r"max\|A\| = 11.3 above blowup_threshold=10"),  # |Re|, |Im| < 10 but |A| > 10
])
def test_bad_u0_raise_value_errors_naming_it(u0, match):
    with pytest.raises(ValueError, match=match):
        _make().reset(options={"u0": u0})


def test_the_batched_env_takes_real_fields_and_refuses_complex_ones():
    venv = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point", **FAST)
    a0 = plane_wave(X, 0.0, 0.25, 2.0, -2.0)
    venv.reset(options={"u0": np.stack([a0.real, a0.imag])})
    np.testing.assert_array_equal(venv.unwrapped.u[2], np.stack([a0.real, a0.imag]))
    with pytest.raises(ValueError, match=r"options\['u0'\] must (have shape|be real)"), warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        venv.reset(options={"u0": a0})


def test_sensors_read_re_then_im_and_full_is_re_then_im_on_the_grid():
    env = _make(sensors=8)
    obs, _ = env.reset(seed=3)
    idx = np.arange(8) * (N // 8)
    np.testing.assert_array_equal(obs, np.concatenate([env.u[0, idx], env.u[1, idx]]).astype(np.float32))
    full = _make(observe="full")
    obs, _ = full.reset(seed=3)
    np.testing.assert_array_equal(obs, full.u.reshape(-1).astype(np.float32))
    off = _make(sensors=[1.0, 7.3])  # off the grid: the Fourier interpolant of Re A and Im A
    obs, _ = off.reset(seed=3)
    a_hat = np.fft.fft(off.A) / N
    k = 2 * np.pi / L * np.fft.fftfreq(N, 1.0 / N)
    k[N // 2] = 0.0  # the Nyquist mode by its cosine, as the interpolation matrix does
    nyq = a_hat[N // 2] * np.cos(np.pi * N / L * np.array([1.0, 7.3]))
    exact = np.exp(1j * np.outer([1.0, 7.3], k)) @ np.where(np.arange(N) == N // 2, 0, a_hat) + nyq
    np.testing.assert_allclose(obs, np.concatenate([exact.real, exact.imag]), atol=1e-5)


# ---------------------------------------------------------------- objectives


def test_uniform_objective_is_zero_on_any_phase_of_the_uniform_state_and_held_exactly():
    env = _make()
    _, info = env.reset(options={"u0": np.full(N, np.exp(1.1j))})
    assert info["uniform_distance"] < 1e-14
    for _ in range(20):
        _, reward, terminated, _, info = _step_zero(env)
    assert -reward == info["uniform_distance"] < 1e-12 and not terminated
    assert np.abs(np.abs(env.A) - 1.0).max() < 1e-12


def test_objectives_are_phase_invariant_and_distinguish_plane_waves():
    wave = plane_wave(X, 0.0, 0.5, 2.0, -2.0)
    rewards = {}
    for objective in ("uniform", "defects"):
        for phase in (0.0, 2.0):
            env = _make(objective=objective)
            env.reset(options={"u0": wave * np.exp(1j * phase)})
            rewards[objective, phase] = _step_zero(env)[1]
    assert rewards["uniform", 0.0] == pytest.approx(rewards["uniform", 2.0], abs=1e-12)
    assert rewards["defects", 0.0] == pytest.approx(rewards["defects", 2.0], abs=1e-12)
    assert rewards["defects", 0.0] > -1e-10  # a plane wave has no amplitude fluctuation...
    assert rewards["uniform", 0.0] < -0.5  # ...but is far from the uniform oscillation


def test_rewards_are_the_named_diagnostics_on_the_attractor():
    for objective, key in (("uniform", "uniform_distance"), ("defects", "amplitude_fluctuation")):
        env = _make(objective=objective, burn_in=50.0)
        env.reset(seed=1)
        env.action_space.seed(1)
        _, reward, _, _, info = env.step(env.action_space.sample())
        assert reward == -info[key] < -0.05
        a = env.A
        assert info["intensity"] == pytest.approx(np.mean(np.abs(a) ** 2), rel=1e-12)
        assert info["min_amplitude"] == pytest.approx(np.abs(a).min(), rel=1e-12)


def test_proportional_feedback_reaches_the_uniform_state_with_the_default_actuation():
    """The target is reachable: a = -(A(x_j) - e^{i arg<A>}) / max_forcing at the actuators, from the attractor."""
    env = gym.make(ENV_ID, burn_in=50.0).unwrapped
    start = env.reset(seed=0)[1]["uniform_distance"]
    centres = np.rint(env.dynamics.actuator_positions * N / L).astype(int)
    for _ in range(200):
        a = env.A
        err = a[centres] - a.mean() / abs(a.mean())
        _, reward, _, _, info = env.step(np.concatenate([-err.real, -err.imag]) / env.dynamics.max_forcing)
    assert start > 0.5 and info["uniform_distance"] < 1e-3


# ---------------------------------------------------------------- forcing, keywords, actions, copies


def test_real_forcing_has_one_channel_per_actuator_on_re_a():
    env = _make(forcing="real", actuators=5)
    assert env.action_space.shape == (5,)
    f = env.forcing_fields(np.ones(5))
    assert np.all(f[1] == 0.0) and f[0].max() > 0.4
    cplx = _make(actuators=5)
    f = cplx.forcing_fields(np.r_[np.zeros(5), np.ones(5)])  # the imaginary channels
    assert np.all(f[0] == 0.0) and f[1].max() > 0.4


@pytest.mark.parametrize("kwargs, name", [
    ({"alpha": math.nan}, "alpha"), ({"beta": "2"}, "beta"), ({"L": -1.0}, "L"), ({"N": 63}, "N"), ({"N": 8}, "N"),
    ({"dt": 0.0}, "dt"), ({"frame_skip": 0}, "frame_skip"), ({"actuators": 0}, "actuators"),
    ({"sensors": [30.0]}, "sensors"), ({"actuator_width": -0.1}, "actuator_width"), ({"forcing": "imag"}, "forcing"),
    ({"max_forcing": -1.0}, "max_forcing"), ({"objective": "target"}, "objective"), ({"observe": "amp"}, "observe"),
    ({"burn_in": -1.0}, "burn_in"), ({"blowup_threshold": 0.0}, "blowup_threshold"),
    ({"blowup_penalty": math.inf}, "blowup_penalty"), ({"render_mode": "rgb_array"}, "render_mode"),
])
def test_bad_keywords_raise_value_errors_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CGLEControlEnv(**kwargs)


def test_bad_actions_raise_value_errors():
    env = _make()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(16))
    a = np.zeros(32)
    a[4] = np.nan
    with pytest.raises(ValueError, match="finite"):
        env.step(a)


def test_seeded_and_pickled_episodes_are_bit_identical():
    actions = np.random.default_rng(5).uniform(-1, 1, (6, 32))
    env, twin = _make(), _make()
    env.reset(seed=11)
    twin.reset(seed=11)
    for a in actions[:3]:
        env.step(a)
        twin.step(a)
    copy = pickle.loads(pickle.dumps(env))
    for a in actions[3:]:
        out, out_twin, out_copy = env.step(a), twin.step(a), copy.step(a)
        assert out[1] == out_twin[1] == out_copy[1]
        assert out[4] == out_twin[4] == out_copy[4]
    np.testing.assert_array_equal(env.u, copy.u)
    np.testing.assert_array_equal(env.u, twin.u)


def test_batched_envs_reproduce_single_envs_bit_for_bit():
    b = 4
    venv = gym.make_vec(ENV_ID, num_envs=b, vectorization_mode="vector_entry_point", forcing="real", **FAST)
    singles = [_make(forcing="real") for _ in range(b)]
    obs, _ = venv.reset(seed=7)
    np.testing.assert_array_equal(obs, np.array([s.reset(seed=7 + i)[0] for i, s in enumerate(singles)]))
    for a in np.random.default_rng(2).uniform(-1.2, 1.2, (5, b, 16)):
        obs, rewards, _, _, infos = venv.step(a)
        for i, s in enumerate(singles):
            o, r, _, _, info = s.step(a[i])
            assert np.array_equal(obs[i], o) and rewards[i] == r and infos["min_amplitude"][i] == info["min_amplitude"]
