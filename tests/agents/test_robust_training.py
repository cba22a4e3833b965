"""Robust training: random-level noise injection, symmetry reduction and augmentation, adversarial training.

Covers :mod:`chaoscontrol.agents.robust_training`, :class:`~chaoscontrol.envs.perturbations.RandomisedGaussianNoise`
(``noise-random``), the new ``make_vec_env`` / ``AgentTrainArgs`` options, ``load_agent`` of a symmetry-reduced
run and the command line. Budgets are tiny (2-3 envs, 20-step episodes, a few hundred env steps, 16x16
networks): these tests check the machinery, not that the agents learn.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3 import PPO

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.apps import cli
from chaoscontrol.agents.training import loop
from chaoscontrol.agents.env_stack import find_wrapper, make_vec_env
from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent
from chaoscontrol.agents.policies import load_agent, symmetry_reduced_policy
from chaoscontrol.agents.robust_training import SymmetryAugmentedReplayBuffer
from chaoscontrol.agents.vec_wrappers import VecAdversarialTraining, VecPerturbation, VecSymmetryReduced
from chaoscontrol.agents.training import EVAL_SEED_OFFSET, AgentTrainArgs, train_agent
from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.envs.perturbation_wrappers import PerturbationWrapper, make_perturbation
from chaoscontrol.envs.perturbations import RandomisedGaussianNoise
from chaoscontrol.envs.symmetry import (
    KSSymmetry,
    SymmetryReducedObservation,
    canonical_indices,
    symmetric_transitions,
    transform_rows,
)
from chaoscontrol.solvers.attractor import attractor_rms

from tiny_runs import ENV_KWARGS, NET, OFF_HP, PPO_HP, STEPS, targs

RMS = attractor_rms(22.0, 64, 0.05)




def symmetry(**env_kwargs) -> KSSymmetry:
    return KSSymmetry.from_env(KSControlEnv(**{**ENV_KWARGS, **env_kwargs}))


def identity_index(sym: KSSymmetry) -> int:
    return sym.elements.index((0, 0))


# ================================================================================ 1. noise with a random level


def _episodes_of_noise(model: RandomisedGaussianNoise, rngs, episodes: int, steps: int, width: int):
    """Noise on zeros: (episodes, steps, B, width), and the model's sigmas at every step (episodes, steps, B)."""
    b = len(rngs)
    noise = np.empty((episodes, steps, b, width))
    sigmas = np.empty((episodes, steps, b))
    for e in range(episodes):
        for t in range(steps):
            new = np.full(b, t == 0)
            noise[e, t] = model.apply(np.zeros((b, width)), new, rngs)
            sigmas[e, t] = model.sigmas
    return noise, sigmas


def test_random_noise_level_is_drawn_per_episode_and_held_within_it():
    max_sigma = 0.7
    model = RandomisedGaussianNoise(max_sigma)
    rngs = [np.random.default_rng(i) for i in range(3)]
    noise, sigmas = _episodes_of_noise(model, rngs, episodes=6, steps=5, width=4000)
    emp = noise.std(axis=3)  # (episodes, steps, B): the std over a wide vector at every step
    # the level the model reports is the one of the noise, at every step
    np.testing.assert_allclose(emp, sigmas, rtol=0.05, atol=1e-12)
    # constant within an episode: the reported level and the empirical one
    assert np.all(sigmas == sigmas[:, :1, :])
    per_episode = emp.mean(axis=1)  # (episodes, B)
    spread = np.abs(emp - per_episode[:, None, :])
    assert np.all(spread <= 0.05 * per_episode[:, None, :] + 1e-12), spread.max()
    # a new level every episode, in [0, max_sigma], different between episodes and between envs
    levels = sigmas[:, 0, :]
    assert np.all((levels >= 0) & (levels <= max_sigma))
    assert np.unique(levels).size == levels.size
    assert np.all((per_episode >= 0) & (per_episode <= max_sigma * 1.05))
    assert np.ptp(per_episode[:, 0]) > 0.1 * max_sigma
    # the noise is fresh every step (not one vector repeated over the episode)
    assert not np.allclose(noise[0, 0], noise[0, 1])


def test_random_noise_redraws_only_for_the_envs_that_start_an_episode():
    model = RandomisedGaussianNoise(1.0)
    rngs = [np.random.default_rng(10 + i) for i in range(3)]
    x = np.zeros((3, 2000))
    model.apply(x, np.ones(3, dtype=bool), rngs)
    before = model.sigmas.copy()
    out = model.apply(x, np.array([True, False, True]), rngs)
    after = model.sigmas.copy()
    assert after[1] == before[1] and after[0] != before[0] and after[2] != before[2]
    np.testing.assert_allclose(out.std(axis=1), after, rtol=0.06)


def test_random_noise_levels_are_uniform():
    max_sigma = 2.0
    model = RandomisedGaussianNoise(max_sigma)
    rngs = [np.random.default_rng(100 + i) for i in range(4)]
    levels = []
    for _ in range(100):  # 400 episodes of one step each (4 envs)
        model.apply(np.zeros((4, 3)), np.ones(4, dtype=bool), rngs)
        levels.append(model.sigmas.copy())
    levels = np.concatenate(levels)
    assert levels.size == 400 and np.all((levels >= 0) & (levels <= max_sigma))
    assert levels.mean() == pytest.approx(max_sigma / 2, abs=0.05 * max_sigma)
    assert levels.std() == pytest.approx(max_sigma / np.sqrt(12), rel=0.1)
    quarters = np.histogram(levels, bins=4, range=(0, max_sigma))[0] / levels.size
    np.testing.assert_allclose(quarters, 0.25, atol=0.07)


def test_random_noise_is_deterministic_for_a_seed():
    def run(seeds):
        model = RandomisedGaussianNoise(0.5)
        return _episodes_of_noise(model, [np.random.default_rng(s) for s in seeds], episodes=3, steps=4, width=16)

    a, sa = run([1, 2])
    b, sb = run([1, 2])
    c, sc = run([3, 4])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sa, sb)
    assert not np.allclose(a, c) and not np.allclose(sa, sc)


def test_noise_random_perturbation_is_relative_to_rms_u():
    env = gym.make("KS-Control-v0", **ENV_KWARGS)
    model, target = make_perturbation("noise-random", 0.5, env)
    plain, _ = make_perturbation("noise", 0.5, env)
    assert isinstance(model, RandomisedGaussianNoise) and target == "observation"
    assert model.max_sigma == pytest.approx(plain.sigma) and model.max_sigma == pytest.approx(0.5 * RMS)
    absolute, _ = make_perturbation("noise-random", 0.5, env, relative=False)
    assert absolute.max_sigma == pytest.approx(0.5)


def test_noise_random_wrapper_new_level_per_episode_and_seeded():
    def rollout(seed: int, episodes: int = 3):
        clean = gym.make("KS-Control-v0", max_episode_steps=STEPS, **ENV_KWARGS)
        noisy = PerturbationWrapper(gym.make("KS-Control-v0", max_episode_steps=STEPS, **ENV_KWARGS),
                                    make_perturbation("noise-random", 0.5, clean)[0], "observation")
        diffs, levels = [], []
        for e in range(episodes):
            s = seed if e == 0 else None
            o_clean, _ = clean.reset(seed=s)
            o_noisy, _ = noisy.reset(seed=s)
            diffs.append([o_noisy - o_clean])
            levels.append([noisy.perturbation.sigmas[0]])
            for _ in range(5):
                a = np.full(4, 0.3)
                diffs[-1].append(noisy.step(a)[0] - clean.step(a)[0])
                levels[-1].append(noisy.perturbation.sigmas[0])
        return np.array(diffs), np.array(levels)

    d, lev = rollout(3)
    assert np.all(lev == lev[:, :1]) and np.unique(lev[:, 0]).size == 3
    assert np.all((lev >= 0) & (lev <= 0.5 * RMS))
    assert np.all(np.abs(d).max(axis=(1, 2)) > 0)
    d2, lev2 = rollout(3)
    np.testing.assert_array_equal(d, d2)
    np.testing.assert_array_equal(lev, lev2)
    d3, lev3 = rollout(4)
    assert not np.allclose(d, d3) and not np.array_equal(lev, lev3)


# ================================================================================ 2. canonical frames in batch


def _fallback_rows(n: int, rng) -> np.ndarray:
    """Rows whose first harmonic vanishes (pure second or third harmonics, with random phases), and zeros."""
    x = np.arange(n)
    rows = [np.cos(2 * 2 * np.pi * x / n + rng.uniform(0, 2 * np.pi)) * rng.uniform(0.5, 2) for _ in range(4)]
    rows += [np.sin(3 * 2 * np.pi * x / n + rng.uniform(0, 2 * np.pi)) for _ in range(2)]
    rows.append(np.zeros(n))
    return np.array(rows)


@pytest.mark.parametrize("env_kwargs, n_elements", [
    ({}, 8),
    ({"observe": "full"}, 8),
    ({"objective": "target", "target": "E1"}, 2),
])
def test_canonical_indices_agree_with_canonical_element(env_kwargs, n_elements):
    sym = symmetry(**env_kwargs)
    assert len(sym.elements) == n_elements
    rng = np.random.default_rng(0)
    obs = np.concatenate([rng.standard_normal((40, sym.n_obs)), _fallback_rows(sym.n_obs, rng)])
    obs = obs[rng.permutation(obs.shape[0])]  # fallback rows scattered through the batch
    ring = np.exp(-2j * np.pi * np.arange(sym.n_obs) / sym.n_obs)
    assert np.sum(np.abs(obs @ ring) < 1e-9) == 7  # the fallback rows are in there
    idx = canonical_indices(sym, obs)
    assert idx.shape == (obs.shape[0],)
    expected = [sym.elements.index(sym.canonical_element(row)) for row in obs]
    assert idx.tolist() == expected
    # the float32 observations of an env give the same frames
    obs32 = obs.astype(np.float32)
    assert canonical_indices(sym, obs32).tolist() == [sym.elements.index(sym.canonical_element(r)) for r in obs32]


@pytest.mark.parametrize("env_kwargs", [{}, {"observe": "full"}])
def test_transform_rows_matches_elementwise_and_inverse_undoes_it(env_kwargs):
    sym = symmetry(**env_kwargs)
    rng = np.random.default_rng(1)
    obs = rng.standard_normal((30, sym.n_obs))
    act = rng.uniform(-1, 1, (30, 4))
    idx = rng.integers(0, len(sym.elements), 30)
    t_obs = transform_rows(sym, obs, idx, "observation")
    t_act = transform_rows(sym, act, idx, "action")
    for i in range(30):
        g = sym.elements[idx[i]]
        np.testing.assert_array_equal(t_obs[i], sym.transform_observation(obs[i], g))
        np.testing.assert_array_equal(t_act[i], sym.transform_action(act[i], g))
    np.testing.assert_array_equal(transform_rows(sym, t_obs, idx, "observation", inverse=True), obs)
    np.testing.assert_array_equal(transform_rows(sym, t_act, idx, "action", inverse=True), act)
    assert not np.array_equal(t_obs, obs) and not np.array_equal(t_act, act)


# ================================================================================ 3. the batched reduction


def test_vec_symmetry_reduced_matches_the_single_env_wrapper():
    n, steps, limit = 3, 22, 10  # two time limits: auto-resets and terminal observations on the way
    venv = make_vec_env(ENV_KWARGS, n_envs=n, seed=0, symmetry_reduced=True, max_episode_steps=limit)
    reduced = find_wrapper(venv, VecSymmetryReduced)
    assert reduced is not None
    sym = reduced.symmetry
    singles = [SymmetryReducedObservation(gym.make("KS-Control-v0", max_episode_steps=limit, **ENV_KWARGS)) for _ in range(n)]
    obs = venv.reset()
    single_obs = np.array([env.reset(seed=i)[0] for i, env in enumerate(singles)])  # make_vec_env: env i seeded 0 + i
    np.testing.assert_array_equal(obs, single_obs)
    rng = np.random.default_rng(5)
    frames, terminals = [], 0
    for _ in range(steps):
        a = rng.uniform(-1, 1, (n, 4)).astype(np.float32)
        obs, rewards, dones, infos = venv.step(a)
        expected_obs, expected_r = [], []
        for i, env in enumerate(singles):
            o, r, terminated, truncated, info = env.step(a[i])
            expected_r.append(r)
            assert bool(dones[i]) == (terminated or truncated)
            if terminated or truncated:
                terminals += 1
                np.testing.assert_array_equal(infos[i]["terminal_observation"], o)
                assert canonical_indices(sym, infos[i]["terminal_observation"][None])[0] == identity_index(sym)
                o, info = env.reset()
            frames.append(info["symmetry"])
            expected_obs.append(o)
        assert obs.dtype == np.float32
        np.testing.assert_array_equal(obs, np.array(expected_obs))
        np.testing.assert_allclose(rewards, expected_r, rtol=1e-6)
        # reduced observations are invariant: their own canonical frame is the identity
        assert np.all(canonical_indices(sym, obs) == identity_index(sym))
    assert terminals == 2 * n
    assert len(set(frames)) > 1  # the reduction did act (not every observation was canonical already)
    venv.close()


def test_vec_symmetry_reduced_maps_actions_back_to_the_lab_frame():
    """The action the env below receives is T_g^-1 of the agent's, g the canonical frame of the last observation."""
    n = 3
    venv = make_vec_env(ENV_KWARGS, n_envs=n, seed=4, symmetry_reduced=True, max_episode_steps=STEPS)
    reduced = find_wrapper(venv, VecSymmetryReduced)
    sym = reduced.symmetry
    inner = reduced.venv
    raw, sent = [], []
    real_reset, real_async, real_wait = inner.reset, inner.step_async, inner.step_wait

    def spy_reset():
        raw.append(real_reset())
        return raw[-1]

    def spy_async(actions):
        sent.append(np.array(actions))
        real_async(actions)

    def spy_wait():
        out = real_wait()
        raw.append(out[0])
        return out

    inner.reset, inner.step_async, inner.step_wait = spy_reset, spy_async, spy_wait
    obs = venv.reset()
    rng = np.random.default_rng(0)
    inverses = set()
    for _ in range(6):
        idx = canonical_indices(sym, raw[-1])
        np.testing.assert_array_equal(obs, transform_rows(sym, raw[-1], idx, "observation").astype(np.float32))
        inverses |= {sym.inverse(sym.elements[k]) != sym.elements[k] for k in idx}
        a = rng.uniform(-1, 1, (n, 4))
        obs = venv.step(a)[0]
        np.testing.assert_allclose(sent[-1], transform_rows(sym, a, idx, "action", inverse=True), rtol=0, atol=1e-12)
    assert True in inverses  # some frame was a shift with g^-1 != g: the inverse mattered
    venv.close()


def test_vec_symmetry_reduced_needs_the_bare_observation_ring():
    with pytest.raises(ValueError, match="symmetry"):
        make_vec_env(ENV_KWARGS, 2, 0, wrappers=("subset:0",), symmetry_reduced=True, max_episode_steps=STEPS)
    # the same perturbation after a plain stack is fine
    make_vec_env(ENV_KWARGS, 2, 0, wrappers=("subset:0",), max_episode_steps=STEPS).close()


# ================================================================================ 4. the reduced policy


def _linear_policy(n_obs: int, seed: int = 0):
    w = np.random.default_rng(seed).standard_normal((n_obs, 4))
    b = np.random.default_rng(seed + 1).standard_normal(4)
    return lambda obs: np.tanh(np.asarray(obs) @ w + b)


@pytest.mark.parametrize("env_kwargs", [{}, {"observe": "full"}, {"objective": "target", "target": "E1"}])
def test_symmetry_reduced_policy_is_equivariant(env_kwargs):
    sym = symmetry(**env_kwargs)
    act = _linear_policy(sym.n_obs)
    policy = symmetry_reduced_policy(act, sym)
    obs = np.random.default_rng(2).standard_normal((12, sym.n_obs))
    base = policy(obs)
    assert base.shape == (12, 4)
    raw_equivariant = True
    for g in sym.elements:
        np.testing.assert_allclose(policy(sym.transform_observation(obs, g)), sym.transform_action(base, g), atol=1e-12,
                                   err_msg=str(g))
        raw_equivariant &= np.allclose(act(sym.transform_observation(obs, g)), sym.transform_action(act(obs), g))
    assert not raw_equivariant  # the test is not trivial: act alone is not equivariant
    # on canonical observations the reduced policy is act itself
    canonical = transform_rows(sym, obs, canonical_indices(sym, obs), "observation")
    np.testing.assert_allclose(policy(canonical), act(canonical), atol=1e-12)
    assert not np.allclose(policy(obs), act(obs))


# ================================================================================ 5. the augmented replay buffer


def test_symmetry_augmented_replay_buffer_stores_every_copy():
    sym = symmetry()
    n_envs, g = 2, len(sym.elements)
    space = spaces.Box(-10, 10, (sym.n_obs,), np.float32)
    act_space = spaces.Box(-1, 1, (4,), np.float32)
    buf = SymmetryAugmentedReplayBuffer(400, space, act_space, device="cpu", n_envs=n_envs, symmetry=sym)
    rng = np.random.default_rng(3)

    def batch():
        return (rng.standard_normal((n_envs, sym.n_obs)).astype(np.float32), rng.standard_normal((n_envs, sym.n_obs)).astype(np.float32),
                rng.uniform(-1, 1, (n_envs, 4)).astype(np.float32), rng.standard_normal(n_envs).astype(np.float32))

    assert buf.size() == 0
    obs, next_obs, action, reward = batch()
    done = np.array([False, True])
    buf.add(obs, next_obs, action, reward, done, [{}, {"TimeLimit.truncated": True}])
    # one add of n_envs transitions stores n_envs * |G|: |G| slots of n_envs each (SB3 counts slots per env)
    assert buf.size() == g and buf.size() * buf.n_envs == n_envs * g
    copies = list(symmetric_transitions(sym, obs, action, reward, next_obs, done))
    assert len(copies) == g
    for k, (o, a, r, o2, d) in enumerate(copies):
        np.testing.assert_allclose(buf.observations[k], o, rtol=0, atol=1e-7)
        np.testing.assert_allclose(buf.actions[k], a, rtol=0, atol=1e-7)
        np.testing.assert_allclose(buf.next_observations[k], o2, rtol=0, atol=1e-7)
        np.testing.assert_array_equal(buf.rewards[k], reward)
        np.testing.assert_array_equal(buf.dones[k], done)
        np.testing.assert_array_equal(buf.timeouts[k], [False, True])
    assert len({buf.observations[k].tobytes() for k in range(g)}) == g  # all different copies
    buf.add(*batch(), np.zeros(n_envs, dtype=bool), [{}, {}])
    assert buf.size() == 2 * g
    sample = buf.sample(16)
    assert sample.observations.shape == (16, sym.n_obs)


def test_symmetry_augmented_replay_buffer_refuses_other_observations():
    sym = symmetry()
    act_space = spaces.Box(-1, 1, (4,), np.float32)
    with pytest.raises(ValueError, match="8"):
        SymmetryAugmentedReplayBuffer(100, spaces.Box(-1, 1, (16,), np.float32), act_space, device="cpu", symmetry=sym)
    with pytest.raises(ValueError, match="optimize_memory_usage"):
        SymmetryAugmentedReplayBuffer(100, spaces.Box(-1, 1, (8,), np.float32), act_space, device="cpu", symmetry=sym,
                                      optimize_memory_usage=True, handle_timeout_termination=False)


# ================================================================================ 6. adversarial training


def _tiny_ppo(venv) -> PPO:
    return PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, policy_kwargs=NET, device="cpu", seed=0, verbose=0)


def test_vec_adversarial_training_attacks_within_eps_once_attached():
    n, eps = 3, 0.1
    clean = make_vec_env(ENV_KWARGS, n, 0, max_episode_steps=STEPS)
    adv = VecAdversarialTraining(make_vec_env(ENV_KWARGS, n, 0, max_episode_steps=STEPS), eps=eps, fraction=1.0, seed=0)
    np.testing.assert_array_equal(adv.reset(), clean.reset())  # not attached: unchanged
    a = np.full((n, 4), 0.2, dtype=np.float32)
    np.testing.assert_array_equal(adv.step(a)[0], clean.step(a)[0])
    assert adv.attacked == 0
    adv.attach(_tiny_ppo(adv))
    before = adv.attacked
    rng = np.random.default_rng(0)
    biggest = 0.0
    for k in range(4):
        a = rng.uniform(-1, 1, (n, 4)).astype(np.float32)
        o_adv, r_adv, _, _ = adv.step(a)
        o_clean, r_clean, _, _ = clean.step(a)
        np.testing.assert_array_equal(r_adv, r_clean)  # the dynamics are untouched
        dist = np.abs(o_adv - o_clean).max(axis=1)
        assert np.all(dist <= eps * (1 + 1e-5)), dist
        assert np.all(dist > 0), dist  # fraction 1: every observation attacked
        biggest = max(biggest, dist.max())
        assert adv.attacked == before + n * (k + 1)
    assert biggest > 0.5 * eps  # the attack uses its budget
    clean.close()
    adv.close()


def test_vec_adversarial_training_fraction_zero_leaves_observations_clean():
    clean = make_vec_env(ENV_KWARGS, 2, 0, max_episode_steps=STEPS)
    adv = VecAdversarialTraining(make_vec_env(ENV_KWARGS, 2, 0, max_episode_steps=STEPS), eps=0.1, fraction=0.0)
    adv.attach(_tiny_ppo(adv))
    np.testing.assert_array_equal(adv.reset(), clean.reset())
    for _ in range(3):
        a = np.full((2, 4), -0.4, dtype=np.float32)
        np.testing.assert_array_equal(adv.step(a)[0], clean.step(a)[0])
    assert adv.attacked == 0


def test_vec_adversarial_training_partial_fraction():
    n = 4
    clean = make_vec_env(ENV_KWARGS, n, 0, max_episode_steps=STEPS)
    adv = VecAdversarialTraining(make_vec_env(ENV_KWARGS, n, 0, max_episode_steps=STEPS), eps=0.2, fraction=0.5, seed=1)
    adv.attach(_tiny_ppo(adv))
    changed = int(np.sum(np.any(adv.reset() != clean.reset(), axis=1)))  # the reset's observations count too
    for _ in range(10):
        a = np.zeros((n, 4), dtype=np.float32)
        changed += int(np.sum(np.any(adv.step(a)[0] != clean.step(a)[0], axis=1)))
    assert changed == adv.attacked
    assert 0.2 * 11 * n < adv.attacked < 0.8 * 11 * n


@pytest.mark.parametrize("kwargs", [dict(eps=-0.1), dict(eps=float("nan")), dict(eps=float("inf")),
                                    dict(eps=0.1, fraction=1.5), dict(eps=0.1, fraction=-0.1)])
def test_vec_adversarial_training_bad_arguments(kwargs):
    venv = make_vec_env(ENV_KWARGS, 1, 0, max_episode_steps=STEPS)
    with pytest.raises(ValueError, match="eps" if "fraction" not in kwargs else "fraction"):
        VecAdversarialTraining(venv, **kwargs)


# ================================================================================ 7. training with each option


class StackSpy:
    """Replaces ``loop.make_vec_env``: builds the stack and keeps it."""

    def __init__(self) -> None:
        self.stacks: list = []

    def __call__(self, *args, **kwargs):
        venv = make_vec_env(*args, **kwargs)
        self.stacks.append((args, kwargs, venv))
        return venv


@pytest.fixture(scope="module")
def reduced_run(tmp_path_factory) -> Path:
    """A tiny symmetry-reduced PPO run."""
    out = tmp_path_factory.mktemp("robust") / "reduced"
    mp = pytest.MonkeyPatch()
    spy = StackSpy()
    mp.setattr(loop, "make_vec_env", spy)
    try:
        train_agent(targs(out, symmetry_reduced=True))
    finally:
        mp.undo()
    built = [venv for _, kwargs, venv in spy.stacks if kwargs.get("symmetry_reduced")]
    # the training stack and the evaluation stack both reduce
    assert len(built) >= 2 and all(find_wrapper(v, VecSymmetryReduced) is not None for v in built)
    return out


def test_train_ppo_symmetry_reduced(reduced_run):
    out = reduced_run
    config = json.loads((out / "config.json").read_text())
    assert config["args"]["symmetry_reduced"] is True
    assert {k: json.loads((out / "status.json").read_text())[k] for k in ("state", "timesteps")} == {"state": "finished", "timesteps": 192}
    rows = [json.loads(x) for x in (out / "evaluations.jsonl").read_text().splitlines() if x.strip()]
    assert [r["timesteps"] for r in rows] == [64, 128, 192] and all(np.isfinite(r["mean_return"]) for r in rows)


def test_load_agent_of_a_reduced_run_is_equivariant_and_evaluates(reduced_run, tmp_path):
    path = reduced_run / "model.zip"
    act, model = load_agent(path)
    sym = symmetry()
    obs = np.random.default_rng(7).standard_normal((6, sym.n_obs)).astype(np.float32) * RMS
    base = np.asarray(act(obs))
    assert base.shape == (6, 4)
    raw = model.predict(obs, deterministic=True)[0]
    raw_equivariant = True
    for g in sym.elements:
        gobs = sym.transform_observation(obs, g)
        np.testing.assert_allclose(act(gobs), sym.transform_action(base, g), atol=1e-6, err_msg=str(g))
        raw_equivariant &= np.allclose(model.predict(gobs, deterministic=True)[0], sym.transform_action(raw, g), atol=1e-6)
    assert not raw_equivariant  # the bare network is not: load_agent must have wrapped it
    canonical = transform_rows(sym, obs, canonical_indices(sym, obs), "observation").astype(np.float32)
    np.testing.assert_allclose(act(canonical), model.predict(canonical, deterministic=True)[0], atol=1e-6)

    # evaluate_agent on the episodes of the run's last evaluation gives the same return: the policy is the trained one
    report = evaluate_agent(AgentEvaluateArgs(model=str(path), episodes=2, seed=EVAL_SEED_OFFSET, max_episode_steps=STEPS,
                                              out=str(tmp_path / "eval")), progress=False)
    assert report["blowups"] == 0 and np.isfinite(report["mean_return"])
    last = [json.loads(x) for x in (reduced_run / "evaluations.jsonl").read_text().splitlines() if x.strip()][-1]
    assert report["mean_return"] == pytest.approx(last["mean_return"], rel=1e-4)


def test_resume_with_another_symmetry_reduction_is_refused(reduced_run):
    status = (reduced_run / "status.json").read_text()
    with pytest.raises(ValueError) as info:
        train_agent(targs(reduced_run, timesteps=256, symmetry_reduced=False), resume=True)
    assert "symmetry_reduced" in str(info.value) and "resume" in str(info.value)
    assert (reduced_run / "status.json").read_text() == status


def test_train_ppo_with_random_noise_injection(tmp_path, monkeypatch):
    spy = StackSpy()
    monkeypatch.setattr(loop, "make_vec_env", spy)
    out = tmp_path / "noise"
    train_agent(targs(out, wrappers=("noise-random:0.5",), timesteps=128, eval_freq=0))
    assert json.loads((out / "status.json").read_text())["state"] == "finished" and (out / "model.zip").is_file()
    (train_venv,) = [v for a, _, v in spy.stacks if a[1] == 2 and a[2] == 0]  # (the evaluation stack: seed + 1e6)
    pert = find_wrapper(train_venv, VecPerturbation)
    assert isinstance(pert.perturbation, RandomisedGaussianNoise)
    assert pert.perturbation.max_sigma == pytest.approx(0.5 * RMS)
    assert np.all((pert.perturbation.sigmas >= 0) & (pert.perturbation.sigmas <= 0.5 * RMS))


def test_train_ppo_adversarial(tmp_path, monkeypatch):
    spy = StackSpy()
    monkeypatch.setattr(loop, "make_vec_env", spy)
    out = tmp_path / "adv"
    train_agent(targs(out, adversarial_eps=0.1, timesteps=128, eval_freq=0))
    assert json.loads((out / "status.json").read_text())["state"] == "finished" and (out / "model.zip").is_file()
    advs = [find_wrapper(v, VecAdversarialTraining) for _, _, v in spy.stacks]
    advs = [a for a in advs if a is not None]
    assert len(advs) == 1  # training only: evaluation stays clean
    adv = advs[0]
    assert adv.eps == pytest.approx(0.1 * RMS) and adv.fraction == 0.5 and adv.attack is not None
    assert 0.25 * 130 < adv.attacked < 0.75 * 130  # about half of the 128 + 2 observations (steps and the reset)


def test_train_sac_symmetry_augmented_fills_the_buffer_g_times(tmp_path):
    out = tmp_path / "sac"
    timesteps = 120
    train_agent(targs(out, "sac", symmetry_augment=True, timesteps=timesteps, eval_freq=0, checkpoint_freq=1000))
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    with np.load(out / "checkpoints" / f"step_{timesteps}.replay.npz", allow_pickle=False) as data:
        buf = SimpleNamespace(**{k: data[k] for k in data.files})  # the filled rows, as arrays
    sym = symmetry()
    g = len(sym.elements)
    assert g == 8 and int(buf.pos) == buf.observations.shape[0] and not buf.full
    assert int(buf.pos) == g * timesteps // OFF_HP["n_envs"]  # 60 env steps of 2 envs, each stored 8 times
    for start in (0, g * 10):  # the first transition and another one
        for k, elem in enumerate(sym.elements):
            np.testing.assert_allclose(buf.observations[start + k], sym.transform_observation(buf.observations[start], elem), atol=1e-7)
            np.testing.assert_allclose(buf.next_observations[start + k],
                                       sym.transform_observation(buf.next_observations[start], elem), atol=1e-7)
            np.testing.assert_allclose(buf.actions[start + k], sym.transform_action(buf.actions[start], elem), atol=1e-7)
            np.testing.assert_array_equal(buf.rewards[start + k], buf.rewards[start])


def test_robust_training_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="symmetry_augment"):
        AgentTrainArgs(algo="ppo", symmetry_augment=True, out=str(tmp_path / "a"))
    with pytest.raises(ValueError, match="adversarial_attack"):
        AgentTrainArgs(adversarial_eps=0.1, adversarial_attack="bim", out=str(tmp_path / "b"))
    with pytest.raises(ValueError, match="adversarial_eps"):
        AgentTrainArgs(adversarial_eps=-0.1, out=str(tmp_path / "c"))
    with pytest.raises(ValueError, match="adversarial_fraction"):
        AgentTrainArgs(adversarial_eps=0.1, adversarial_fraction=1.5, out=str(tmp_path / "d"))
    with pytest.raises(ValueError, match="symmetry"):
        train_agent(targs(tmp_path / "e", wrappers=("subset:0",), symmetry_reduced=True))
    assert not any(tmp_path.iterdir())  # nothing written


# ================================================================================ 8. command line


HP = json.dumps(PPO_HP)


def train_argv(out: Path, *extra: str, timesteps: int = 64) -> list[str]:
    return ["train", "--algo", "ppo", "--timesteps", str(timesteps), "--out", str(out), "--hyperparams", HP,
            "--max-episode-steps", "20", "--eval-freq", "32", "--eval-episodes", "2", "--checkpoint-freq", "32",
            "--env-kwargs", json.dumps(ENV_KWARGS), "--no-progress", *extra]


def test_cli_train_symmetry_reduced_adversarial(tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli.main(train_argv(out, "--symmetry-reduced", "--adversarial-eps", "0.1")) == 0
    config = json.loads((out / "config.json").read_text())["args"]
    assert config["symmetry_reduced"] is True and config["adversarial_eps"] == 0.1 and config["symmetry_augment"] is False
    assert {k: json.loads((out / "status.json").read_text())[k] for k in ("state", "timesteps")} == {"state": "finished", "timesteps": 64}
    assert (out / "model.zip").is_file()
    assert "model.zip" in capsys.readouterr().out


def test_cli_symmetry_augment_with_ppo_is_an_error(tmp_path, capsys):
    out = tmp_path / "bad"
    assert cli.main(train_argv(out, "--symmetry-augment")) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and "error" in err[0] and "symmetry_augment" in err[0]
    assert not out.exists()


# ================================================================================ attacks through the reduction


def test_attack_on_a_reduced_policy_is_computed_in_its_canonical_frame(reduced_run):
    """With ``frame``, the delta is T_g^-1 of the attack on the canonical observation; same norm budget."""
    from chaoscontrol.agents.adversarial import AdversarialPerturbation
    from chaoscontrol.agents.policies import policy_frame

    path = reduced_run / "model.zip"
    frame = policy_frame(str(path))
    assert isinstance(frame, KSSymmetry) and len(frame.elements) == 8
    _, model = load_agent(path)
    obs = np.random.default_rng(3).standard_normal((5, frame.n_obs)).astype(np.float32) * RMS
    eps = 0.1
    framed = AdversarialPerturbation(model, eps, frame=frame).perturbation(obs, [np.random.default_rng(0)] * 5)
    idx = canonical_indices(frame, obs)
    bare = AdversarialPerturbation(model, eps).perturbation(transform_rows(frame, obs, idx, "observation"),
                                                              [np.random.default_rng(0)] * 5)
    np.testing.assert_allclose(framed, transform_rows(frame, bare, idx, "observation", inverse=True), atol=1e-7)
    assert np.all(np.abs(framed).max(axis=1) <= eps * (1 + 1e-6))
    assert any(frame.elements[k] != (0, 0) for k in idx)  # the test is not trivial: some rows are moved
    assert policy_frame("zero") is None


# ================================================================================ residual RL


def test_residual_control_adds_the_baseline_and_restarts_its_filter(tmp_path):
    from chaoscontrol.agents.vec_wrappers import VecResidualControl
    from chaoscontrol.baselines import make_baseline
    from chaoscontrol.envs.ks_vector import KSControlVectorEnv

    kwargs = {"objective": "target", "target": "E1", "burn_in": 10.0}
    stack = make_vec_env(kwargs, 2, 0, max_episode_steps=5, residual="lqg")
    res = find_wrapper(stack, VecResidualControl)
    assert res is not None
    sent = []
    inner_async = res.venv.step_async
    res.venv.step_async = lambda a: (sent.append(np.array(a)), inner_async(a))[1]
    # the same LQG run by hand on the same observations
    ref_env = KSControlVectorEnv(num_envs=2, max_episode_steps=5, autoreset_mode="Disabled", **kwargs)
    ref = make_baseline("lqg", ref_env)
    obs = stack.reset()
    residual = np.array([[0.1, -0.2, 0.0, 0.3], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    for k in range(5):
        expected = np.clip(ref(obs) + residual, -1, 1)
        obs, _, dones, _ = stack.step(residual)
        np.testing.assert_allclose(sent[-1], expected, atol=1e-12)
    assert dones.all()  # the time limit ended both episodes: their filters restart
    assert np.all(res.controller._z == 0) and np.all(res.controller._a == 0)
    stack.close()


def test_residual_run_is_evaluated_with_its_baseline(tmp_path):
    kwargs = {"objective": "target", "target": "E1", "burn_in": 10.0}
    out = tmp_path / "res"
    train_agent(targs(out, env_kwargs=kwargs, residual="lqg"))
    zero_agent = evaluate_agent(AgentEvaluateArgs(model=str(out / "model.zip"), episodes=2, seed=5, max_episode_steps=STEPS,
                                                  out=str(tmp_path / "e1")), progress=False)
    lqg = evaluate_agent(AgentEvaluateArgs(model="lqg", env_kwargs=kwargs, episodes=2, seed=5, max_episode_steps=STEPS,
                                           out=str(tmp_path / "e2")), progress=False)
    # a barely trained residual changes LQG's actions only a little: the costs are close, and not those of no control
    assert zero_agent["mean_cost_second_half"] == pytest.approx(lqg["mean_cost_second_half"], rel=0.2)
    with pytest.raises(ValueError, match="residual"):
        targs(tmp_path / "bad", residual="pid")


@pytest.mark.parametrize("kwargs", [{"wrappers": ("actuator-fault:0:{\"index\": 1}",)}, {"residual": "lqg"},
                                    {"wrappers": ("subset:0",)}])
def test_symmetry_augmentation_refuses_what_breaks_the_symmetry(tmp_path, kwargs):
    env_kwargs = {"objective": "target", "target": "E1"} if "residual" in kwargs else {}
    with pytest.raises(ValueError, match="symmetry_augment"):
        train_agent(targs(tmp_path / "x", algo="sac", symmetry_augment=True, env_kwargs=env_kwargs, **kwargs))
    assert not (tmp_path / "x").exists()


def test_symmetry_reduced_policy_takes_a_single_observation():
    sym = symmetry()
    act = _linear_policy(sym.n_obs)
    policy = symmetry_reduced_policy(act, sym)
    obs = np.random.default_rng(1).standard_normal((3, sym.n_obs))
    np.testing.assert_allclose(policy(obs[1]), policy(obs)[1])
