"""Sensor and actuator perturbations: single-env wrappers, batch models, vector-env adapters (issue 4).

Every check compares a wrapped env with a bare env seeded identically: the
wrappers own their generators, so the bare env's states are the wrapped env's
states and ``wrapped obs - bare obs`` is exactly the perturbation.
"""

from __future__ import annotations

import copy
import pickle

import gymnasium as gym
import numpy as np
import pytest

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.envs import perturbations as P
from chaoscontrol.envs.perturbation_wrappers import (
    PERTURBATIONS,
    ActuatorFault,
    ActuatorGainError,
    ActuatorNoise,
    DelayedObservation,
    GaussianSensorNoise,
    PerturbationWrapper,
    SensorBias,
    SensorDrift,
    SensorDropout,
    SensorQuantization,
    SensorSubset,
    VectorPerturbation,
    make_perturbation,
    perturb_vector_env,
)
from chaoscontrol.solvers.attractor import attractor_rms

ENV_ID = "KS-Control-v0"
BURN_IN = 20.0  # time units: enough to leave the smooth initial condition, cheap


@pytest.fixture(scope="module")
def rms() -> float:
    return attractor_rms(22.0, 64, 0.05)


def _make(**kwargs) -> gym.Env:
    kwargs.setdefault("burn_in", BURN_IN)
    return gym.make(ENV_ID, **kwargs)


def _actions(n: int, seed: int = 0, n_act: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (n, n_act)).astype(np.float32)


def _paired_obs(wrapped: gym.Env, bare: gym.Env, actions: np.ndarray, seed: int, options=None):
    """Observations (T + 1, ...) of the wrapped and the bare env from the same seed and actions."""
    ow, _ = wrapped.reset(seed=seed, options=options)
    ob, _ = bare.reset(seed=seed, options=options)
    obs_w, obs_b = [ow], [ob]
    for a in actions:
        obs_w.append(wrapped.step(a)[0])
        obs_b.append(bare.step(a)[0])
    return np.array(obs_w), np.array(obs_b)


def _zero_state_obs(wrapped: gym.Env, steps: int, seed: int | None) -> np.ndarray:
    """Observations from u0 = 0 under zero actions: the bare readings are exactly 0, so these are the perturbation."""
    n = wrapped.unwrapped.config.N
    out = [wrapped.reset(seed=seed, options={"u0": np.zeros(n)})[0]]
    for _ in range(steps):
        out.append(wrapped.step(np.zeros(4, dtype=np.float32))[0])
    return np.array(out, dtype=np.float64)


# --------------------------------------------------------------------------- Gaussian sensor noise


def test_gaussian_noise_statistics_relative(rms):
    sigma = 0.2
    obs_w, obs_b = _paired_obs(GaussianSensorNoise(_make(), sigma), _make(), _actions(600, seed=1), seed=3)
    noise = (obs_w.astype(np.float64) - obs_b).ravel()
    n = noise.size
    expected = sigma * rms
    assert abs(noise.mean()) < 4 * expected / np.sqrt(n)
    assert noise.std() == pytest.approx(expected, rel=5 / np.sqrt(2 * n))
    # i.i.d. across sensors and steps: no correlation between consecutive steps
    per_step = obs_w.astype(np.float64) - obs_b
    lag1 = np.corrcoef(per_step[1:].ravel(), per_step[:-1].ravel())[0, 1]
    assert abs(lag1) < 4 / np.sqrt(n)


def test_gaussian_noise_absolute_sigma(rms):
    sigma = 0.3
    wrapped = GaussianSensorNoise(_make(), sigma, relative=False)
    obs_w, obs_b = _paired_obs(wrapped, _make(), _actions(400, seed=2), seed=4)
    noise = (obs_w.astype(np.float64) - obs_b).ravel()
    assert abs(noise.mean()) < 4 * sigma / np.sqrt(noise.size)
    assert noise.std() == pytest.approx(sigma, rel=5 / np.sqrt(2 * noise.size))
    assert abs(noise.std() - sigma * rms) > 0.1 * sigma  # not scaled by rms(u)


@pytest.mark.parametrize("relative", [True, False])
def test_gaussian_noise_sigma_zero_is_identity(relative):
    wrapped = GaussianSensorNoise(_make(), 0.0, relative=relative)
    obs_w, obs_b = _paired_obs(wrapped, _make(), _actions(30), seed=5)
    assert obs_w.dtype == obs_b.dtype == np.float32
    assert np.array_equal(obs_w, obs_b)


def test_gaussian_noise_seeding():
    actions = _actions(20)

    def noise(seed):
        ow, ob = _paired_obs(GaussianSensorNoise(_make(), 0.1), _make(), actions, seed=seed)
        return ow.astype(np.float64) - ob

    a, b, c = noise(11), noise(11), noise(12)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.all(np.abs(a) > 0)


def test_noise_wrapper_leaves_the_env_unchanged():
    """Initial conditions and trajectory under the same actions are the bare env's, bit for bit."""
    wrapped, bare = GaussianSensorNoise(_make(), 0.5), _make()
    wrapped.reset(seed=21)
    bare.reset(seed=21)
    assert np.array_equal(wrapped.unwrapped.u, bare.unwrapped.u)
    for a in _actions(25, seed=9):
        _, rw, tw, trw, iw = wrapped.step(a)
        _, rb, tb, trb, ib = bare.step(a)
        assert np.array_equal(wrapped.unwrapped.u, bare.unwrapped.u)
        assert (rw, tw, trw, iw) == (rb, tb, trb, ib)
    # an unseeded reset continues the env's stream exactly as the bare env's
    wrapped.reset()
    bare.reset()
    assert np.array_equal(wrapped.unwrapped.u, bare.unwrapped.u)


def test_unseeded_reset_continues_the_noise_stream():
    wrapped, bare = GaussianSensorNoise(_make(), 0.1), _make()
    actions = _actions(10)
    ep1_w, ep1_b = _paired_obs(wrapped, bare, actions, seed=8)
    # second episode without a seed, on both
    ow, ob = [wrapped.reset()[0]], [bare.reset()[0]]
    for a in actions:
        ow.append(wrapped.step(a)[0])
        ob.append(bare.step(a)[0])
    noise1 = ep1_w.astype(np.float64) - ep1_b
    noise2 = np.array(ow, dtype=np.float64) - np.array(ob)
    assert not np.allclose(noise1, noise2)
    # and it is the continuation of the seeded stream: the same two episodes again give the same noise
    wrapped2, bare2 = GaussianSensorNoise(_make(), 0.1), _make()
    _paired_obs(wrapped2, bare2, actions, seed=8)
    ow2, ob2 = [wrapped2.reset()[0]], [bare2.reset()[0]]
    for a in actions:
        ow2.append(wrapped2.step(a)[0])
        ob2.append(bare2.step(a)[0])
    assert np.array_equal(np.array(ow2, dtype=np.float64) - np.array(ob2), noise2)


# --------------------------------------------------------------------------- bias and drift


def test_bias_constant_within_episode_redrawn_at_reset():
    sigma = 0.3
    wrapped, bare = SensorBias(_make(), sigma), _make()
    ow, ob = _paired_obs(wrapped, bare, _actions(15), seed=1)
    bias = ow.astype(np.float64) - ob
    assert np.allclose(bias, bias[0], atol=1e-5)  # float32 rounding only
    assert np.all(np.abs(bias[0]) > 1e-4)
    ow2, ob2 = _paired_obs(wrapped, bare, _actions(5), seed=2)
    bias2 = ow2.astype(np.float64) - ob2
    assert np.allclose(bias2, bias2[0], atol=1e-5)
    assert not np.allclose(bias2[0], bias[0], atol=1e-3)


def test_bias_statistics_over_episodes(rms):
    sigma = 0.2
    wrapped = SensorBias(_make(), sigma)
    draws = [_zero_state_obs(wrapped, 1, seed=None if k else 0) for k in range(300)]
    bias = np.array([d[0] for d in draws])  # (episodes, sensors)
    assert np.array_equal(np.array([d[1] for d in draws]), bias)  # constant along the episode
    n = bias.size
    assert abs(bias.mean()) < 4 * sigma * rms / np.sqrt(n)
    assert bias.std() == pytest.approx(sigma * rms, rel=5 / np.sqrt(2 * n))


def test_drift_is_a_random_walk(rms):
    sigma = 0.05
    s = sigma * rms
    wrapped = SensorDrift(_make(), sigma)
    walk = _zero_state_obs(wrapped, 400, seed=7)  # (T + 1, sensors)
    assert np.array_equal(walk[0], np.zeros(8))  # starts at 0 at reset
    inc = np.diff(walk, axis=0)
    n = inc.size
    assert abs(inc.mean()) < 4 * s / np.sqrt(n)
    assert inc.std() == pytest.approx(s, rel=5 / np.sqrt(2 * n))
    lag1 = np.corrcoef(inc[1:].ravel(), inc[:-1].ravel())[0, 1]
    assert abs(lag1) < 4 / np.sqrt(n)  # independent increments
    # a new episode starts again from 0
    again = _zero_state_obs(wrapped, 3, seed=None)
    assert np.array_equal(again[0], np.zeros(8))
    assert not np.array_equal(again[1], walk[1])


def test_drift_variance_grows_linearly(rms):
    s = 0.1 * rms
    wrapped = SensorDrift(_make(), 0.1)
    walks = np.array([_zero_state_obs(wrapped, 40, seed=100 if k == 0 else None) for k in range(80)])  # (E, T+1, 8)
    var = (walks**2).mean(axis=(0, 2))  # E[d_t^2] = t s^2 (mean 0)
    n = walks.shape[0] * walks.shape[2]
    for t in (5, 10, 20, 40):
        assert var[t] == pytest.approx(t * s**2, rel=6 / np.sqrt(n)), t
    slope = np.polyfit(np.arange(41), var, 1)[0]
    assert slope == pytest.approx(s**2, rel=0.2)


def test_drift_and_bias_sigma_zero_are_identity():
    for cls in (SensorBias, SensorDrift):
        ow, ob = _paired_obs(cls(_make(), 0.0), _make(), _actions(10), seed=3)
        assert np.array_equal(ow, ob), cls.__name__


# --------------------------------------------------------------------------- quantisation


def test_quantization(rms):
    res = 0.25
    wrapped = SensorQuantization(_make(), res)
    ow, ob = _paired_obs(wrapped, _make(), _actions(40), seed=2)
    step = res * rms
    ratio = ow.astype(np.float64) / step
    assert np.allclose(ratio, np.round(ratio), atol=1e-4)  # multiples of the resolution
    assert np.max(np.abs(ow.astype(np.float64) - ob)) <= step / 2 + 1e-5
    assert len(np.unique(ow)) < ow.size / 4  # actually coarse
    # absolute resolution
    ow_abs, ob_abs = _paired_obs(SensorQuantization(_make(), 0.5, relative=False), _make(), _actions(10), seed=2)
    assert np.allclose(ow_abs * 2, np.round(ow_abs * 2), atol=1e-5)
    assert np.max(np.abs(ow_abs.astype(np.float64) - ob_abs)) <= 0.25 + 1e-5
    # resolution 0 is the identity
    ow0, ob0 = _paired_obs(SensorQuantization(_make(), 0.0), _make(), _actions(10), seed=2)
    assert np.array_equal(ow0, ob0)


# --------------------------------------------------------------------------- dropout


def test_dropout_rate_and_mask():
    p = 0.3
    wrapped = SensorDropout(_make(), p, fill="zero", append_mask=True)
    assert wrapped.observation_space.shape == (16,)
    assert np.all(wrapped.observation_space.low[8:] == 0) and np.all(wrapped.observation_space.high[8:] == 1)
    ow, ob = _paired_obs(wrapped, _make(), _actions(500, seed=4), seed=6)
    assert all(wrapped.observation_space.contains(o) for o in ow[:5])
    readings, mask = ow[:, :8], ow[:, 8:]
    assert set(np.unique(mask)) <= {0.0, 1.0}
    missing = mask == 0
    n = mask.size
    assert missing.mean() == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n))
    assert np.array_equal(readings[~missing], ob[~missing])  # valid readings untouched
    assert np.all(readings[missing] == 0.0)  # fill="zero"


def test_dropout_fill_last_repeats_previous_valid_value():
    wrapped = SensorDropout(_make(), 0.5, fill="last", append_mask=True)
    ow, ob = _paired_obs(wrapped, _make(), _actions(200, seed=5), seed=7)
    readings, mask = ow[:, :8], ow[:, 8:]
    assert 0.3 < (mask == 0).mean() < 0.7
    previous = np.zeros(8, dtype=np.float32)  # before the first valid reading of an episode: 0
    for t in range(len(ow)):
        expected = np.where(mask[t] == 1, ob[t], previous)
        assert np.array_equal(readings[t], expected), t
        previous = readings[t]
    # the next episode starts afresh (no carry-over of the last valid values)
    o_new = wrapped.reset(seed=99)[0]
    b_new = _make().reset(seed=99)[0]
    assert np.array_equal(o_new[:8], np.where(o_new[8:] == 1, b_new, 0.0))


def test_dropout_without_mask_keeps_the_space():
    bare = _make()
    wrapped = SensorDropout(_make(), 0.4, fill="zero")
    assert wrapped.observation_space == bare.observation_space
    ow, ob = _paired_obs(wrapped, bare, _actions(100), seed=8)
    assert ow.shape == ob.shape
    zeroed = ow != ob
    assert np.all(ow[zeroed] == 0.0)
    assert 0.2 < (ow == 0).mean() < 0.6


@pytest.mark.parametrize("fill", ["last", "zero"])
def test_dropout_extremes(fill):
    ow, ob = _paired_obs(SensorDropout(_make(), 0.0, fill=fill, append_mask=True), _make(), _actions(20), seed=1)
    assert np.array_equal(ow[:, :8], ob) and np.all(ow[:, 8:] == 1.0)
    ow0, ob0 = _paired_obs(SensorDropout(_make(), 0.0, fill=fill), _make(), _actions(20), seed=1)
    assert np.array_equal(ow0, ob0)
    ow1, _ = _paired_obs(SensorDropout(_make(), 1.0, fill=fill, append_mask=True), _make(), _actions(20), seed=1)
    assert np.all(ow1 == 0.0)  # every reading missing, nothing valid to repeat, mask all 0


# --------------------------------------------------------------------------- delay and subset


@pytest.mark.parametrize("k", [1, 3])
def test_delay_semantics(k):
    wrapped = DelayedObservation(_make(), k)
    ow, ob = _paired_obs(wrapped, _make(), _actions(20), seed=2)
    for t in range(len(ow)):
        assert np.array_equal(ow[t], ob[max(t - k, 0)]), t
    # the delay line restarts with the new episode
    ow2, ob2 = _paired_obs(wrapped, _make(), _actions(6, seed=3), seed=5)
    for t in range(len(ow2)):
        assert np.array_equal(ow2[t], ob2[max(t - k, 0)]), t


def test_delay_zero_is_identity():
    ow, ob = _paired_obs(DelayedObservation(_make(), 0), _make(), _actions(10), seed=2)
    assert np.array_equal(ow, ob)


def test_subset_picks_sensors():
    idx = [6, 1, 3]
    bare = _make()
    wrapped = SensorSubset(_make(), idx)
    assert wrapped.observation_space.shape == (3,)
    assert np.array_equal(wrapped.observation_space.low, bare.observation_space.low[idx])
    assert wrapped.observation_space.dtype == np.float32
    ow, ob = _paired_obs(wrapped, bare, _actions(10), seed=2)
    assert np.array_equal(ow, ob[:, idx])
    # full-state observations: a few grid points
    ow_f, ob_f = _paired_obs(SensorSubset(_make(observe="full"), [0, 63]), _make(observe="full"), _actions(5), seed=2)
    assert np.array_equal(ow_f, ob_f[:, [0, 63]])


def test_dead_sensors_read_zero_and_keep_the_observation_size():
    from chaoscontrol.envs.perturbation_wrappers import PerturbationWrapper, make_perturbation

    bare = _make()
    model, target = make_perturbation("dead-sensors", 0.0, bare, indices=[1, 5])
    assert target == "observation"
    wrapped = PerturbationWrapper(_make(), model, target)
    assert wrapped.observation_space == bare.observation_space
    ow, ob = _paired_obs(wrapped, bare, _actions(10), seed=2)
    assert np.all(ow[:, [1, 5]] == 0.0) and np.any(ob[:, [1, 5]] != 0.0)
    keep = [0, 2, 3, 4, 6, 7]
    assert np.array_equal(ow[:, keep], ob[:, keep])
    with pytest.raises(ValueError, match="indices"):
        make_perturbation("dead-sensors", 0.0, bare, indices=[8])


# --------------------------------------------------------------------------- actuators


def _paired_states(wrapped, bare, actions, applied, seed):
    """Step the wrapped env with ``actions`` and the bare env with ``applied``; states must be equal bit for bit."""
    wrapped.reset(seed=seed)
    bare.reset(seed=seed)
    for t, (a, b) in enumerate(zip(actions, applied)):
        rw = wrapped.step(a)[1]
        rb = bare.step(b)[1]
        assert np.array_equal(wrapped.unwrapped.u, bare.unwrapped.u), t
        assert rw == rb


def test_actuator_dead():
    actions = _actions(15)
    applied = actions.copy()
    applied[:, 2] = 0.0
    _paired_states(ActuatorFault(_make(), index=2, mode="dead"), _make(), actions, applied, seed=1)


def test_actuator_stuck_holds_first_action_of_each_episode():
    wrapped, bare = ActuatorFault(_make(), index=1, mode="stuck"), _make()
    for seed, aseed in ((1, 0), (2, 1)):
        actions = _actions(12, seed=aseed)
        applied = actions.copy()
        applied[:, 1] = actions[0, 1]
        _paired_states(wrapped, bare, actions, applied, seed=seed)
    # the held value is really a different one in the second episode
    assert _actions(12, seed=0)[0, 1] != _actions(12, seed=1)[0, 1]


def test_actuator_stuck_at_given_value():
    actions = _actions(10)
    applied = actions.astype(np.float64)  # the held value 0.7 in float64, as the wrapper applies it
    applied[:, 3] = 0.7
    _paired_states(ActuatorFault(_make(), index=3, mode="stuck", value=0.7), _make(), actions, applied, seed=4)


def test_actuator_fixed_gains():
    gains = np.array([0.5, -1.0, 2.0, 0.0])
    actions = _actions(12)
    applied = gains * actions.astype(np.float64)  # the env clips 2 * a to [-1, 1] itself
    _paired_states(ActuatorGainError(_make(), sigma=0.0, gains=gains), _make(), actions, applied, seed=3)


def test_actuator_random_gains_redrawn_per_episode():
    sigma = 0.3
    wrapped, bare = ActuatorGainError(_make(), sigma=sigma), _make()
    for seed in (5, 6):
        g = 1.0 + sigma * P.derived_generator(seed, P.GainError.tag).standard_normal(4)
        actions = _actions(8, seed=seed)
        _paired_states(wrapped, bare, actions, g * actions.astype(np.float64), seed=seed)


def test_actuator_noise():
    sigma = 0.2
    actions = _actions(15)
    rng = P.derived_generator(7, P.GaussianNoise.tag)
    applied = np.array([a.astype(np.float64) + sigma * rng.standard_normal(4) for a in actions])
    _paired_states(ActuatorNoise(_make(), sigma), _make(), actions, applied, seed=7)
    # different seed, different noise
    rng2 = P.derived_generator(8, P.GaussianNoise.tag)
    assert not np.allclose(rng2.standard_normal(4), P.derived_generator(7, P.GaussianNoise.tag).standard_normal(4))


def test_actuator_perturbations_do_not_touch_observations_or_the_initial_state():
    for wrapped in (ActuatorNoise(_make(), 0.5), ActuatorGainError(_make(), 0.5), ActuatorFault(_make(), 0)):
        assert wrapped.observation_space == _make().observation_space
        ow, _ = wrapped.reset(seed=12)
        ob, _ = _make().reset(seed=12)
        assert np.array_equal(ow, ob)


def test_actuator_noise_sigma_zero_is_identity():
    actions = _actions(10)
    _paired_states(ActuatorNoise(_make(), 0.0), _make(), actions, actions, seed=2)
    _paired_states(ActuatorGainError(_make(), 0.0), _make(), actions, actions, seed=2)


# --------------------------------------------------------------------------- batch == single

B, K = 3, 4
LEVELS = {"delay": 2, "dropout": 0.3}
CASES = [(name, {}) for name in PERTURBATIONS] + [
    ("dropout", {"fill": "zero", "append_mask": True}),
    ("subset", {"indices": [7, 2]}),
    ("actuator-fault", {"index": 3, "mode": "stuck"}),
    ("actuator-gain", {"gains": [1.0, 0.5, -1.0, 2.0]}),
    ("noise", {"relative": False}),
]
CASE_IDS = [f"{n}-{'-'.join(map(str, kw))}" if kw else n for n, kw in CASES]


def _level(name):
    return LEVELS.get(name, 0.3)


def _single_wrapped(name, kwargs):
    env = gym.make(ENV_ID, burn_in=BURN_IN, max_episode_steps=K)
    return PerturbationWrapper(env, *make_perturbation(name, _level(name), env, **dict(kwargs)))


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=CASE_IDS)
def test_vector_perturbation_matches_single_wrapped_envs(name, kwargs):
    vec = perturb_vector_env(
        gym.make_vec(ENV_ID, num_envs=B, vectorization_mode="vector_entry_point", max_episode_steps=K, burn_in=BURN_IN),
        name, _level(name), **dict(kwargs),
    )
    ref = gym.vector.SyncVectorEnv([lambda: _single_wrapped(name, kwargs) for _ in range(B)])
    assert vec.single_observation_space == ref.single_observation_space
    o1, _ = vec.reset(seed=40)
    o2, _ = ref.reset(seed=40)
    assert np.array_equal(o1, o2)
    base = np.array([e.unwrapped.u for e in ref.envs])
    rng = np.random.default_rng(0)
    ended = 0
    for t in range(3 * K + 1):
        a = rng.uniform(-1, 1, (B, 4)).astype(np.float32)
        r1 = vec.step(a)
        r2 = ref.step(a)
        for x, y in zip(r1[:4], r2[:4]):
            assert np.array_equal(x, y), (t, x, y)
        assert r1[0].dtype == r2[0].dtype == np.float32
        assert np.array_equal(vec.unwrapped.u, np.array([e.unwrapped.u for e in ref.envs])), t
        ended += int(np.sum(r1[2] | r1[3]))
    assert ended >= 2 * B  # really crossed autoresets
    assert not np.array_equal(base, vec.unwrapped.u)


@pytest.mark.parametrize("name", ["noise", "dropout", "delay", "actuator-noise", "actuator-fault"])
def test_vector_perturbation_same_step_autoreset(name):
    """SAME_STEP autoreset: final observations are perturbed like any other, the new episode starts afresh."""
    kwargs = {"mode": "stuck"} if name == "actuator-fault" else {}
    vec = perturb_vector_env(
        gym.make_vec(ENV_ID, num_envs=B, vectorization_mode="vector_entry_point", max_episode_steps=K,
                     burn_in=BURN_IN, autoreset_mode="SameStep"),
        name, _level(name), **kwargs,
    )
    ref = gym.vector.SyncVectorEnv([lambda: _single_wrapped(name, kwargs) for _ in range(B)],
                                   autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    o1, _ = vec.reset(seed=3)
    o2, _ = ref.reset(seed=3)
    assert np.array_equal(o1, o2)
    rng = np.random.default_rng(1)
    for t in range(3 * K):
        a = rng.uniform(-1, 1, (B, 4)).astype(np.float32)
        r1 = vec.step(a)
        r2 = ref.step(a)
        for x, y in zip(r1[:4], r2[:4]):
            assert np.array_equal(x, y), t
        if r1[3].any():
            for i in np.flatnonzero(r1[3]):
                assert np.array_equal(r1[4]["final_obs"][i], r2[4]["final_obs"][i]), t


def test_vector_perturbation_rejects_bad_target():
    env = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", burn_in=BURN_IN)
    with pytest.raises(ValueError, match="target"):
        VectorPerturbation(env, P.GaussianNoise(0.1), "reward")
    with pytest.raises(ValueError, match="target"):
        PerturbationWrapper(_make(), P.GaussianNoise(0.1), "reward")
    with pytest.raises(ValueError, match="perturbation"):
        make_perturbation("wind", 0.1, env)


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=CASE_IDS)
def test_sb3_vec_perturbation_matches_dummy_vec_env(name, kwargs):
    from stable_baselines3.common.vec_env import DummyVecEnv

    from chaoscontrol.agents import KSVecEnv
    from chaoscontrol.agents.vec_wrappers import perturb_vec_env

    vec = perturb_vec_env(KSVecEnv(num_envs=B, max_episode_steps=K, burn_in=BURN_IN), name, _level(name), **dict(kwargs))
    ref = DummyVecEnv([lambda: _single_wrapped(name, kwargs) for _ in range(B)])
    assert vec.observation_space == ref.observation_space
    vec.seed(17)
    ref.seed(17)
    assert np.array_equal(vec.reset(), ref.reset())
    rng = np.random.default_rng(2)
    n_terminal = 0
    for t in range(3 * K):
        a = rng.uniform(-1, 1, (B, 4)).astype(np.float32)
        obs1, rew1, done1, info1 = vec.step(a)
        obs2, rew2, done2, info2 = ref.step(a)
        assert np.array_equal(obs1, obs2), t
        assert np.array_equal(rew1, rew2) and np.array_equal(done1, done2), t
        for i in range(B):
            assert info1[i]["TimeLimit.truncated"] == info2[i]["TimeLimit.truncated"]
            assert ("terminal_observation" in info1[i]) == ("terminal_observation" in info2[i])
            if "terminal_observation" in info1[i]:
                n_terminal += 1
                assert np.array_equal(info1[i]["terminal_observation"], info2[i]["terminal_observation"]), (t, i)
    assert n_terminal >= 2 * B
    # an unseeded reset continues every stream alike
    assert np.array_equal(vec.reset(), ref.reset())
    for t in range(2):
        a = rng.uniform(-1, 1, (B, 4)).astype(np.float32)
        assert np.array_equal(vec.step(a)[0], ref.step(a)[0]), t


@pytest.mark.parametrize("name", ["noise", "bias", "delay", "dropout", "actuator-noise", "actuator-fault"])
def test_vector_perturbation_partial_resets(name):
    """Autoreset disabled: reset(options={"reset_mask": m}) starts new episodes of the model for the masked envs only."""
    kwargs = {"mode": "stuck"} if name == "actuator-fault" else {}
    vec = perturb_vector_env(
        gym.make_vec(ENV_ID, num_envs=B, vectorization_mode="vector_entry_point", max_episode_steps=None,
                     burn_in=BURN_IN, autoreset_mode="Disabled"),
        name, _level(name), **kwargs,
    )
    singles = []
    for _ in range(B):
        env = gym.make(ENV_ID, burn_in=BURN_IN, max_episode_steps=None)
        singles.append(PerturbationWrapper(env, *make_perturbation(name, _level(name), env, **kwargs)))
    obs, _ = vec.reset(seed=10)
    assert np.array_equal(obs, np.array([s.reset(seed=10 + i)[0] for i, s in enumerate(singles)]))
    rng = np.random.default_rng(0)
    masks = {4: [True, False, True], 9: [False, True, False]}
    for t in range(12):
        if t in masks:
            mask = np.array(masks[t])
            obs, _ = vec.reset(options={"reset_mask": mask})
            ref = [s.reset()[0] if m else prev for s, m, prev in zip(singles, mask, ref)]
            assert np.array_equal(obs, np.array(ref)), t
        a = rng.uniform(-1, 1, (B, 4)).astype(np.float32)
        obs = vec.step(a)[0]
        ref = [s.step(a[i])[0] for i, s in enumerate(singles)]
        assert np.array_equal(obs, np.array(ref)), t
        assert np.array_equal(vec.unwrapped.u, np.array([s.unwrapped.u for s in singles])), t


# --------------------------------------------------------------------------- composition and pickling


def _stack(env):
    env = GaussianSensorNoise(env, 0.2)
    env = ActuatorNoise(env, 0.1)
    env = DelayedObservation(env, 2)
    return SensorSubset(env, [0, 3, 5])


def test_wrappers_compose():
    """Subset(Delay(ActuatorNoise(Noise(env)))) == the subset of the delayed noisy observations of the inner stack."""
    full = _stack(_make())
    inner = ActuatorNoise(GaussianSensorNoise(_make(), 0.2), 0.1)
    assert full.observation_space.shape == (3,)
    actions = _actions(12)
    of, oi = _paired_obs(full, inner, actions, seed=31)
    for t in range(len(of)):
        assert np.array_equal(of[t], oi[max(t - 2, 0)][[0, 3, 5]]), t
    assert np.array_equal(full.unwrapped.u, inner.unwrapped.u)
    # and the noise layer really acts
    bare_obs = _paired_obs(ActuatorNoise(_make(), 0.1), _make(), actions, seed=31)[0]
    assert not np.allclose(oi, bare_obs)


def test_wrapper_stack_pickles_mid_episode():
    env = SensorDropout(SensorDrift(_stack(_make()), 0.05), 0.2, append_mask=True)
    env = ActuatorFault(ActuatorGainError(env, 0.2), index=1, mode="stuck")
    env.reset(seed=5)
    actions = _actions(20, seed=3)
    for a in actions[:7]:
        env.step(a)
    clone = pickle.loads(pickle.dumps(env))
    twin = copy.deepcopy(env)
    for a in actions[7:]:
        r = env.step(a)
        for other in (clone, twin):
            s = other.step(a)
            assert np.array_equal(r[0], s[0]) and r[1:4] == s[1:4]
            assert np.array_equal(env.unwrapped.u, other.unwrapped.u)
    # and after the next (unseeded) reset the streams still agree
    assert np.array_equal(env.reset()[0], clone.reset()[0])


def test_wrappers_record_constructor_args():
    env = gym.make(ENV_ID, burn_in=BURN_IN, max_episode_steps=10)
    env = GaussianSensorNoise(SensorDropout(env, 0.2, fill="zero", append_mask=True), 0.05, relative=False)
    wrappers = env.spec.additional_wrappers
    assert [w.name for w in wrappers[-2:]] == ["SensorDropout", "GaussianSensorNoise"]
    assert wrappers[-1].kwargs == {"sigma": 0.05, "relative": False}
    assert wrappers[-2].kwargs == {"p": 0.2, "fill": "zero", "append_mask": True}
    remade = gym.make(env.spec)
    assert np.array_equal(remade.reset(seed=4)[0], env.reset(seed=4)[0])


# --------------------------------------------------------------------------- bad input

NAN = float("nan")

BAD = [
    (lambda e: GaussianSensorNoise(e, -0.1), "sigma"),
    (lambda e: GaussianSensorNoise(e, NAN), "sigma"),
    (lambda e: GaussianSensorNoise(e, -0.1, relative=False), "sigma"),
    (lambda e: SensorBias(e, -1.0), "sigma"),
    (lambda e: SensorDrift(e, float("inf")), "sigma"),
    (lambda e: SensorQuantization(e, -0.5), "resolution"),
    (lambda e: SensorDropout(e, -0.1), "p"),
    (lambda e: SensorDropout(e, 1.5), "p"),
    (lambda e: SensorDropout(e, NAN), "p"),
    (lambda e: SensorDropout(e, 0.1, fill="mean"), "fill"),
    (lambda e: SensorSubset(e, []), "indices"),
    (lambda e: SensorSubset(e, [8]), "indices"),
    (lambda e: SensorSubset(e, [-1, 2]), "indices"),
    (lambda e: SensorSubset(e, [1, 1]), "indices"),
    (lambda e: SensorSubset(e, [0.5, 1.0]), "indices"),
    (lambda e: SensorSubset(e, [[0, 1]]), "indices"),
    (lambda e: DelayedObservation(e, -1), "k"),
    (lambda e: DelayedObservation(e, 1.5), "k"),
    (lambda e: DelayedObservation(e, True), "k"),
    (lambda e: ActuatorNoise(e, -0.1), "sigma"),
    (lambda e: ActuatorGainError(e, -0.1), "sigma"),
    (lambda e: ActuatorGainError(e, 0.0, gains=[1.0, NAN, 1.0, 1.0]), "gains"),
    (lambda e: ActuatorGainError(e, 0.0, gains=[1.0, 2.0, 3.0]), "gains"),  # 3 gains for 4 actuators
    (lambda e: ActuatorFault(e, index=4), "index"),
    (lambda e: ActuatorFault(e, index=-1), "index"),
    (lambda e: ActuatorFault(e, index=1.0), "index"),
    (lambda e: ActuatorFault(e, index=0, mode="broken"), "mode"),
    (lambda e: ActuatorFault(e, index=0, mode="stuck", value=2.0), "value"),
    (lambda e: ActuatorFault(e, index=0, mode="stuck", value=NAN), "value"),
    (lambda e: make_perturbation("delay", 0.5, e), "level"),
    (lambda e: make_perturbation("noise", -0.1, e), "level"),
    (lambda e: make_perturbation("dropout", 1.2, e), "p"),
    (lambda e: make_perturbation("subset", 0.0, e, indices=[9]), "indices"),
]


@pytest.mark.parametrize(("build", "name"), BAD, ids=[f"{i}-{n}" for i, (_, n) in enumerate(BAD)])
def test_bad_arguments_raise_at_construction(build, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        build(_make())


def test_relative_levels_need_a_ks_env():
    env = gym.make("Pendulum-v1")
    with pytest.raises(ValueError, match="relative"):
        GaussianSensorNoise(env, 0.1)
    wrapped = GaussianSensorNoise(env, 0.1, relative=False)  # absolute levels work on any Box env
    assert wrapped.reset(seed=0)[0].shape == (3,)
