"""KS-Control-v0: initial states, rewards, actions, blow-up, sensors and conservation.

Reference values are computed here independently of the env's kernels (NumPy FFTs
on ``env.unwrapped.u`` and forcing built from the actuator definition).
"""

from __future__ import annotations

import copy
import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.envs import KSControlEnv
from chaoscontrol.solvers import ks_equilibrium

ENV_ID = "KS-Control-v0"
L, N = 22.0, 64
X = L * np.arange(N) / N
SENSOR_IDX = np.arange(8) * (N // 8)


def band_limited(seed: int, n_modes: int = 6, amp: float = 1.0, mean: float = 0.0, x=X, length=L) -> np.ndarray:
    """A smooth random periodic state sum_q a_q cos(2 pi q x / L + phi_q) (+ mean)."""
    rng = np.random.default_rng(seed)
    q = np.arange(1, n_modes + 1)
    a = rng.uniform(-amp, amp, q.size)
    phi = rng.uniform(0, 2 * np.pi, q.size)
    return mean + np.cos(2 * np.pi / length * np.outer(x, q) + phi) @ a


def gaussians(positions, width, x=X, length=L) -> np.ndarray:
    d = np.abs(np.asarray(x)[None, :] - np.asarray(positions, dtype=float)[:, None]) % length
    d = np.minimum(d, length - d)
    return np.exp(-(d**2) / (2.0 * width**2))


def forcing(action, positions, width=0.4, max_forcing=0.5, x=X, length=L) -> np.ndarray:
    a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
    f = max_forcing * (a @ gaussians(positions, width, x, length))
    return f - f.mean()


def budget(u: np.ndarray, f: np.ndarray, length: float = L) -> dict[str, float]:
    """<u^2>/2, <u_x^2>, <u_xx^2>, <u f> with spectral derivatives (u_x without the Nyquist mode)."""
    n = u.size
    v = np.fft.rfft(u)
    k = 2 * np.pi / length * np.arange(v.size)
    kx = k.copy()
    kx[-1] = 0.0
    ux = np.fft.irfft(1j * kx * v, n)
    uxx = np.fft.irfft(-(k**2) * v, n)
    return {
        "energy": 0.5 * np.mean(u**2),
        "production": np.mean(ux**2),
        "dissipation": np.mean(uxx**2),
        "power": np.mean(u * f),
    }


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


# ---------------------------------------------------------------- u0 option


@pytest.mark.parametrize("observe", ["sensors", "full"])
def test_u0_is_set_exactly_and_copied(observe):
    env = gym.make(ENV_ID, observe=observe)  # default burn-in must not touch a given u0
    u0 = band_limited(0, amp=1.3)
    keep = u0.copy()
    obs, info = env.reset(seed=1, options={"u0": u0})
    u = env.unwrapped.u
    assert u.dtype == np.float64 and np.array_equal(u, u0)
    expected_obs = (u0[SENSOR_IDX] if observe == "sensors" else u0).astype(np.float32)
    assert np.array_equal(obs, expected_obs)
    assert info["t"] == 0.0
    ref = budget(u0, np.zeros(N))
    for key in ("energy", "production", "dissipation"):
        assert info[key] == pytest.approx(ref[key], rel=1e-12, abs=1e-14)
    # mutating the caller's array does not reach the env, and vice versa
    u0[:] = 7.0
    assert np.array_equal(env.unwrapped.u, keep)
    env.step(np.ones(4))
    assert np.array_equal(u0, np.full(N, 7.0))


def test_u0_accepts_lists_and_float32():
    env = gym.make(ENV_ID, burn_in=0.0)
    u0 = band_limited(2)
    env.reset(options={"u0": u0.tolist()})
    assert np.array_equal(env.unwrapped.u, u0)
    u32 = u0.astype(np.float32)
    env.reset(options={"u0": u32})
    assert np.array_equal(env.unwrapped.u, u32.astype(np.float64))


@given(u0=arrays(np.float64, N, elements=st.floats(-50.0, 50.0, allow_nan=False, allow_infinity=False)))
@settings(max_examples=25, deadline=None)
def test_u0_exact_for_arbitrary_states(u0):
    env = KSControlEnv(burn_in=0.0)
    obs, _ = env.reset(options={"u0": u0})
    assert np.array_equal(env.u, u0)
    assert np.array_equal(obs, u0[SENSOR_IDX].astype(np.float32))
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(np.zeros(N - 1), id="short"),
        pytest.param(np.zeros(N + 2), id="long"),
        pytest.param(np.zeros((1, N)), id="2d"),
        pytest.param(np.zeros(8), id="sensor-sized"),
        pytest.param(np.where(np.arange(N) == 5, np.nan, 0.0), id="nan"),
        pytest.param(np.where(np.arange(N) == 5, np.inf, 0.0), id="inf"),
    ],
)
def test_invalid_u0_raises(bad):
    env = KSControlEnv(burn_in=0.0)
    env.reset(seed=0)
    before = env.u
    with pytest.raises(ValueError, match="u0"):
        env.reset(options={"u0": bad})
    with pytest.raises(ValueError, match="u0"):
        gym.make(ENV_ID, burn_in=0.0).reset(options={"u0": bad})
    assert np.array_equal(env.u, before)


def test_unknown_option_raises():
    env = gym.make(ENV_ID, burn_in=0.0)
    with pytest.raises(ValueError, match="u_0|options"):
        env.reset(options={"u_0": np.zeros(N)})
    with pytest.raises(ValueError, match="options"):
        env.reset(options={"u0": np.zeros(N), "noise": 0.1})
    obs, _ = env.reset(options={})  # an empty dict is fine
    assert obs.shape == (8,)


# ---------------------------------------------------------------- target objective


@pytest.mark.parametrize("name", ["E1", "E2", "E3"])
def test_target_equilibrium_is_a_zero_reward_fixed_point(name):
    env = gym.make(ENV_ID, burn_in=0.0, objective="target", target=name)
    u_star = ks_equilibrium(name, 22.0, 64)
    assert np.array_equal(env.unwrapped.target, u_star)
    _, info = env.reset(options={"u0": u_star})
    assert info["target_distance"] == 0.0
    for _ in range(4):
        _, reward, terminated, truncated, info = env.step(np.zeros(4))
        assert abs(reward) < 1e-6 and info["target_distance"] < 1e-6
        assert not terminated and not truncated
    np.testing.assert_allclose(env.unwrapped.u, u_star, rtol=0, atol=1e-8)


def test_target_default_is_e1_and_equilibria_differ():
    env = gym.make(ENV_ID, burn_in=0.0, objective="target")
    e1, e2 = ks_equilibrium("E1", 22.0, 64), ks_equilibrium("E2", 22.0, 64)
    assert np.array_equal(env.unwrapped.target, e1)
    _, info = env.reset(options={"u0": e2})
    assert info["target_distance"] == pytest.approx(rms(e2 - e1), rel=1e-12)
    assert info["target_distance"] > 0.1
    _, reward, *_ = env.step(np.zeros(4))
    assert reward == pytest.approx(-rms(env.unwrapped.u - e1), rel=1e-12)


def test_target_array_reward_is_minus_rms_distance():
    target = band_limited(7, amp=0.8)
    target_keep = target.copy()
    env = gym.make(ENV_ID, burn_in=0.0, objective="target", target=target)
    target[:] = 0.0  # the env keeps its own copy
    assert np.array_equal(env.unwrapped.target, target_keep)
    _, info = env.reset(options={"u0": target_keep})
    assert info["target_distance"] == 0.0
    rng = np.random.default_rng(5)
    env.reset(seed=5)
    for _ in range(10):
        _, reward, _, _, info = env.step(rng.uniform(-1, 1, 4))
        expected = rms(env.unwrapped.u - target_keep)
        assert reward == pytest.approx(-expected, rel=1e-12)
        assert info["target_distance"] == pytest.approx(expected, rel=1e-12)
        assert reward < 0
        # no dissipation term sneaks into the target reward
        assert reward != pytest.approx(-(info["dissipation"] + info["power"]), rel=1e-6)


# ---------------------------------------------------------------- dissipation objective


@pytest.mark.parametrize(
    ("kwargs", "positions"),
    [
        pytest.param({}, [2.75, 8.25, 13.75, 19.25], id="default"),
        pytest.param({"actuators": [0.3, 10.0, 21.9], "actuator_width": 0.7, "max_forcing": 1.3},
                     [0.3, 10.0, 21.9], id="custom"),
    ],
)
def test_dissipation_reward_matches_independent_budget(kwargs, positions):
    width = kwargs.get("actuator_width", 0.4)
    max_forcing = kwargs.get("max_forcing", 0.5)
    env = gym.make(ENV_ID, burn_in=5.0, **kwargs)
    n_act = len(positions)
    np.testing.assert_allclose(env.unwrapped.actuator_shapes, gaussians(positions, width), rtol=1e-13, atol=1e-15)
    env.reset(seed=8)
    rng = np.random.default_rng(8)
    for i in range(15):
        action = rng.uniform(-1.5, 1.5, n_act)  # partly out of range: the power uses clipped actions
        _, reward, terminated, _, info = env.step(action)
        assert not terminated
        u = env.unwrapped.u
        ref = budget(u, forcing(action, positions, width, max_forcing))
        for key in ("energy", "production", "dissipation", "power"):
            assert info[key] == pytest.approx(ref[key], rel=1e-10, abs=1e-10), key
        assert reward == -(info["dissipation"] + info["power"])
        assert reward == pytest.approx(-(ref["dissipation"] + ref["power"]), rel=1e-10, abs=1e-10)
        assert abs(info["power"]) > 0


def test_power_is_exactly_zero_for_zero_actions():
    env = gym.make(ENV_ID, burn_in=5.0)
    env.reset(seed=1)
    for _ in range(5):
        _, reward, _, _, info = env.step(np.zeros(4, np.float32))
        assert info["power"] == 0.0
        assert reward == -info["dissipation"]
        assert info["dissipation"] == pytest.approx(budget(env.unwrapped.u, np.zeros(N))["dissipation"], rel=1e-10)


def test_max_forcing_zero_makes_actions_irrelevant():
    env_a = KSControlEnv(burn_in=0.0, max_forcing=0.0)
    env_b = KSControlEnv(burn_in=0.0, max_forcing=0.0)
    u0 = band_limited(4)
    env_a.reset(options={"u0": u0})
    env_b.reset(options={"u0": u0})
    _, r_a, *_ = env_a.step(np.ones(4))
    _, r_b, *_ = env_b.step(np.zeros(4))
    assert np.array_equal(env_a.u, env_b.u) and r_a == r_b


# ---------------------------------------------------------------- actions


def _env_at(u0, **kwargs) -> KSControlEnv:
    env = KSControlEnv(burn_in=0.0, **kwargs)
    env.reset(seed=0, options={"u0": u0})
    return env


@pytest.mark.parametrize(
    ("raw", "clipped"),
    [
        ([5.0, 5.0, 5.0, 5.0], [1.0, 1.0, 1.0, 1.0]),
        ([5.0, -3.0, 0.5, -0.25], [1.0, -1.0, 0.5, -0.25]),
        ([-1e30, 1e30, 1.0000001, -1.0000001], [-1.0, 1.0, 1.0, -1.0]),
    ],
)
def test_out_of_range_actions_are_clipped(raw, clipped):
    u0 = band_limited(3)
    env_raw, env_clip, env_half = _env_at(u0), _env_at(u0), _env_at(u0)
    obs_raw, r_raw, _, _, info_raw = env_raw.step(np.array(raw))
    obs_clip, r_clip, _, _, info_clip = env_clip.step(np.array(clipped))
    assert np.array_equal(env_raw.u, env_clip.u)
    assert np.array_equal(obs_raw, obs_clip) and r_raw == r_clip and info_raw == info_clip
    # the action has an effect, so the equality above is not vacuous
    env_half.step(np.array(clipped) * 0.5)
    assert not np.allclose(env_half.u, env_clip.u, atol=1e-6)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param([np.nan, 0.0, 0.0, 0.0], id="nan"),
        pytest.param([0.0, 0.0, np.inf, 0.0], id="inf"),
        pytest.param([0.0, -np.inf, 0.0, 0.0], id="-inf"),
        pytest.param(np.array([0.0, 0.0, 0.0, np.nan], np.float32), id="nan32"),
        pytest.param([0.0, 0.0, 0.0], id="short"),
        pytest.param([0.0] * 5, id="long"),
        pytest.param(np.zeros((1, 4)), id="2d"),
        pytest.param(np.zeros((4, 1)), id="column"),
        pytest.param(0.5, id="scalar"),
    ],
)
def test_invalid_actions_raise_and_leave_the_state_unchanged(bad):
    u0 = band_limited(6)
    env = _env_at(u0)
    env.step(np.full(4, 0.2))
    reference = copy.deepcopy(env)
    u_before, t_before = env.u, env.t
    with pytest.raises(ValueError, match="action"):
        env.step(bad)
    assert np.array_equal(env.u, u_before) and env.t == t_before
    # the env is still usable and continues exactly as if the bad call never happened
    a = np.array([0.3, -0.7, 0.1, 0.9])
    obs, r, *_ = env.step(a)
    obs_ref, r_ref, *_ = reference.step(a)
    assert np.array_equal(env.u, reference.u) and np.array_equal(obs, obs_ref) and r == r_ref


def test_invalid_action_through_gym_make_wrappers():
    env = gym.make(ENV_ID, burn_in=0.0)
    env.reset(seed=0)
    before = env.unwrapped.u
    with pytest.raises(ValueError, match="action"):
        env.step([np.nan, 0, 0, 0])
    with pytest.raises(ValueError, match="action"):
        env.step(np.zeros(3, np.float32))
    assert np.array_equal(env.unwrapped.u, before)


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(np.array([0.5, -0.25, 1.0, 0.0], np.float32), id="float32"),
        pytest.param(np.array([0.5, -0.25, 1.0, 0.0], np.float64), id="float64"),
        pytest.param([0.5, -0.25, 1.0, 0.0], id="list"),
        pytest.param((0.5, -0.25, 1.0, 0.0), id="tuple"),
        pytest.param(np.array([0.5, -0.25, 1.0, 0.0], np.float16), id="float16"),
    ],
)
def test_action_types_accepted(action):
    u0 = band_limited(9)
    env, ref = _env_at(u0), _env_at(u0)
    obs, reward, terminated, truncated, _ = env.step(action)
    ref.step(np.array([0.5, -0.25, 1.0, 0.0]))
    assert np.array_equal(env.u, ref.u)
    assert obs.dtype == np.float32 and isinstance(reward, float)
    assert terminated is False and truncated is False


def test_integer_list_action_accepted():
    u0 = band_limited(9)
    env, ref = _env_at(u0), _env_at(u0)
    env.step([1, 0, -1, 0])
    ref.step(np.array([1.0, 0.0, -1.0, 0.0]))
    assert np.array_equal(env.u, ref.u)


def test_action_array_is_not_modified():
    env = _env_at(band_limited(1))
    a = np.array([3.0, -2.0, 0.5, np.float64(1.5)])
    keep = a.copy()
    env.step(a)
    assert np.array_equal(a, keep)


_BASE_ENV = {}


def _base_env(observe: str) -> KSControlEnv:
    if observe not in _BASE_ENV:
        env = KSControlEnv(burn_in=20.0, observe=observe)
        env.reset(seed=13)
        _BASE_ENV[observe] = env
    return _BASE_ENV[observe]


@given(
    actions=arrays(np.float64, (3, 4), elements=st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False)),
    observe=st.sampled_from(["sensors", "full"]),
)
@settings(max_examples=30, deadline=None)
def test_random_valid_actions_keep_observation_in_space(actions, observe):
    env = copy.deepcopy(_base_env(observe))
    twin = copy.deepcopy(env)
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        assert env.observation_space.contains(obs)
        assert np.isfinite(reward) and not terminated and not truncated and not info["blowup"]
        # clipping is exactly what happens to out-of-range actions
        twin.step(np.clip(a, -1.0, 1.0))
        assert np.array_equal(env.u, twin.u)


# ---------------------------------------------------------------- blow-up


BLOWUP_CASES = [
    pytest.param({"max_forcing": 1e6}, None, id="huge-forcing"),
    pytest.param({"max_forcing": 1e6, "observe": "full"}, None, id="huge-forcing-full"),
    pytest.param({"max_forcing": 1e6, "sensors": [0.1, 3.3, 7.0, 15.2]}, None, id="huge-forcing-offgrid"),
    pytest.param({"max_forcing": 1e6, "objective": "target"}, None, id="huge-forcing-target"),
    pytest.param({}, "90sin", id="huge-u0"),
    pytest.param({"blowup_threshold": 0.5}, "small", id="small-threshold"),
    pytest.param({"blowup_threshold": 0.5, "observe": "full"}, "small", id="small-threshold-full"),
]


@pytest.mark.parametrize(("kwargs", "start"), BLOWUP_CASES)
def test_blowup_terminates_cleanly(kwargs, start):
    env = gym.make(ENV_ID, burn_in=5.0, blowup_penalty=123.0, **kwargs)
    if start == "90sin":
        options = {"u0": 90.0 * np.sin(2 * np.pi * X / L)}
    elif start == "small":
        options = {"u0": 0.45 * np.sin(2 * np.pi * 3 * X / L)}
    else:
        options = None
    obs, _ = env.reset(seed=0, options=options)
    assert env.observation_space.contains(obs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no runtime overflow warnings, no checker warnings
        for k in range(1, 101):
            obs, reward, terminated, truncated, info = env.step(np.ones(env.action_space.shape))
            if terminated or truncated:
                break
    assert terminated is True and truncated is False, f"no blow-up after {k} steps"
    assert info["blowup"] is True
    assert reward == -123.0 and math.isfinite(reward)
    assert obs.dtype == np.float32 and np.all(np.isfinite(obs))
    assert env.observation_space.contains(obs)
    assert info["t"] == pytest.approx(0.25 * k)
    if start == "small":  # finite runaway state: the observation is clipped to the threshold
        assert np.max(np.abs(env.unwrapped.u)) > 0.5
        assert np.max(np.abs(obs)) <= np.float32(0.5)


def test_no_blowup_within_threshold_on_attractor():
    env = gym.make(ENV_ID, burn_in=20.0, max_forcing=1.0)
    env.reset(seed=3)
    rng = np.random.default_rng(3)
    for _ in range(40):
        _, _, terminated, _, info = env.step(rng.uniform(-1, 1, 4))
        assert not terminated and info["blowup"] is False


@pytest.mark.parametrize(
    ("kwargs", "options"),
    [
        pytest.param({}, {"u0": 200.0 * np.sin(2 * np.pi * X / L)}, id="u0-above-threshold"),
        pytest.param({"blowup_threshold": 0.5}, None, id="random-start-above-small-threshold"),
    ],
)
def test_reset_observation_is_inside_the_observation_space(kwargs, options):
    """The observation space is Box(-b, b): reset must not return an observation outside it.

    A u0 beyond the blow-up threshold may instead be rejected with a ValueError naming u0.
    """
    env = KSControlEnv(burn_in=0.0, **kwargs)
    try:
        obs, _ = env.reset(seed=0, options=options)
    except ValueError as exc:
        assert options is not None and "u0" in str(exc)
        return
    assert env.observation_space.contains(obs), f"reset obs max |obs| = {np.max(np.abs(obs))} outside the space"


# ---------------------------------------------------------------- sensors and actuators as positions


def test_off_grid_sensors_interpolate_band_limited_fields():
    positions = [0.1, 1.3, 5.0, 7.77, 12.345, 21.9]
    env = gym.make(ENV_ID, burn_in=0.0, sensors=positions)
    np.testing.assert_array_equal(env.unwrapped.sensor_positions, positions)
    xs = np.array(positions)

    def field(x):
        return (np.sin(2 * np.pi * x / L) + 0.5 * np.cos(2 * np.pi * 3 * x / L + 0.4)
                - 0.2 * np.sin(2 * np.pi * 11 * x / L) + 0.3 * np.cos(2 * np.pi * 32 * x / L))

    obs, _ = env.reset(options={"u0": field(X)})
    assert obs.shape == (6,) and obs.dtype == np.float32
    np.testing.assert_allclose(obs, field(xs), rtol=0, atol=2e-6)
    # the values really are interpolated, not read at the nearest grid point
    nearest = field(X)[np.rint(xs * N / L).astype(int) % N]
    assert np.max(np.abs(nearest - field(xs))) > 0.05
    # after a step: still the interpolant of the current state
    obs, *_ = env.step(np.zeros(4))
    u = env.unwrapped.u
    v = np.fft.rfft(u)
    m = np.arange(v.size)
    w = np.where((m == 0) | (m == N // 2), 1.0, 2.0)
    interp = (w * (v[None, :] * np.exp(2j * np.pi / L * np.outer(xs, m))).real).sum(axis=1) / N
    np.testing.assert_allclose(obs, interp, rtol=0, atol=2e-6)


def test_on_grid_sensor_positions_read_grid_values_exactly():
    positions = [0.0, 5.5, 11.0, 22.0 * 45 / 64]
    env = gym.make(ENV_ID, burn_in=0.0, sensors=positions)
    u0 = band_limited(12) + 0.01 * np.random.default_rng(1).standard_normal(N)  # not band-limited
    obs, _ = env.reset(options={"u0": u0})
    assert np.array_equal(obs, u0[[0, 16, 32, 45]].astype(np.float32))


def test_sensor_count_off_grid_and_custom_L():
    env = gym.make(ENV_ID, burn_in=0.0, L=30.0, N=48, sensors=5, actuators=3)
    x = 30.0 * np.arange(48) / 48
    np.testing.assert_allclose(env.unwrapped.sensor_positions, 30.0 * np.arange(5) / 5, atol=1e-12)
    np.testing.assert_allclose(env.unwrapped.actuator_positions, 30.0 * (2 * np.arange(3) + 1) / 6, atol=1e-12)
    u0 = np.sin(2 * np.pi * 2 * x / 30.0 + 0.3)
    obs, _ = env.reset(options={"u0": u0})
    np.testing.assert_allclose(obs, np.sin(2 * np.pi * 2 * env.unwrapped.sensor_positions / 30.0 + 0.3), atol=2e-6)


def test_actuators_as_positions_place_the_forcing():
    env = KSControlEnv(burn_in=0.0, actuators=[5.5])
    assert env.action_space.shape == (1,)
    env.reset(options={"u0": np.zeros(N)})
    env.step(np.array([1.0]))
    u = env.u
    # from rest, the response to a single positive jet peaks at the jet
    assert abs(X[np.argmax(u)] - 5.5) < 0.5
    assert u[16] > 0.05 and abs(u[48]) < 0.2 * u[16]  # far from the jet only the mean removal is felt


# ---------------------------------------------------------------- conservation


@pytest.mark.parametrize("mean", [0.0, 0.37])
def test_mean_conserved_under_actuation(mean):
    env = KSControlEnv(burn_in=0.0, max_forcing=1.0)
    u0 = band_limited(21, mean=mean)
    env.reset(options={"u0": u0})
    m0 = np.mean(u0)
    rng = np.random.default_rng(21)
    for _ in range(100):
        _, _, terminated, _, _ = env.step(rng.uniform(-1, 1, 4))
        assert not terminated
        assert abs(np.mean(env.u) - m0) < 1e-12


def test_random_start_has_zero_mean():
    env = KSControlEnv(burn_in=5.0)
    env.reset(seed=17)
    assert abs(np.mean(env.u)) < 1e-12
    rng = np.random.default_rng(0)
    for _ in range(20):
        env.step(rng.uniform(-1, 1, 4))
    assert abs(np.mean(env.u)) < 1e-12
