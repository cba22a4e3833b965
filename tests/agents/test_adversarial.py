"""Adversarial observations (FGSM/PGD) against small fixed SB3 policies (issue 4).

The policies are untrained (fixed by their seed): an untrained network is a
valid fixed small policy, and the attack must beat random perturbations of the
same size on the quantity it maximises.
"""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
import torch

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.agents.adversarial import AdversarialObservation, AdversarialPerturbation
from chaoscontrol.agents.policies import check_model_spaces
from chaoscontrol.envs import perturbations as P
from chaoscontrol.envs.perturbation_wrappers import VectorPerturbation
from chaoscontrol.solvers.attractor import attractor_rms

ENV_ID = "KS-Control-v0"
BURN_IN = 20.0
POLICY_KWARGS = dict(net_arch=[16])


def _make(**kwargs) -> gym.Env:
    kwargs.setdefault("burn_in", BURN_IN)
    return gym.make(ENV_ID, **kwargs)


def _build(algo: str, **env_kwargs):
    from stable_baselines3 import PPO, SAC, TD3

    torch.manual_seed(0)
    env = _make(**env_kwargs)
    if algo == "ppo":
        return PPO("MlpPolicy", env, n_steps=64, batch_size=32, policy_kwargs=dict(POLICY_KWARGS), seed=0, device="cpu")
    cls = SAC if algo == "sac" else TD3
    return cls("MlpPolicy", env, buffer_size=100, learning_starts=10, policy_kwargs=dict(POLICY_KWARGS), seed=0, device="cpu")


@pytest.fixture(scope="module")
def models():
    return {name: _build(name) for name in ("ppo", "sac", "td3")}


@pytest.fixture(scope="module")
def observations() -> np.ndarray:
    """48 observations from three seeded attractor trajectories (float32, (48, 8))."""
    env = _make()
    rng = np.random.default_rng(0)
    out = []
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        for _ in range(16):
            out.append(obs)
            obs = env.step(rng.uniform(-1, 1, 4).astype(np.float32))[0]
    return np.array(out, dtype=np.float32)


def _clean_action(model, obs: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        if hasattr(model.policy, "get_distribution"):
            return model.policy.get_distribution(obs).distribution.mean
        try:
            return model.policy.actor(obs, deterministic=True)
        except TypeError:
            return model.policy.actor(obs)


def _objective(pert: AdversarialPerturbation, model, obs: np.ndarray, delta: np.ndarray) -> np.ndarray:
    clean = torch.as_tensor(obs, dtype=torch.float32)
    perturbed = clean + torch.as_tensor(delta, dtype=torch.float32)
    with torch.no_grad():
        return pert.objective_value(clean, perturbed, _clean_action(model, clean)).numpy().astype(np.float64)


def _random_deltas(norm: str, eps: float, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Random perturbations of norm exactly eps: corners of the cube (linf) or points on the sphere (l2)."""
    if norm == "linf":
        return eps * rng.choice([-1.0, 1.0], size=shape)
    d = rng.standard_normal(shape)
    return eps * d / np.linalg.norm(d, axis=-1, keepdims=True)


def _rngs(n: int, seed: int = 0) -> list[np.random.Generator]:
    return [np.random.default_rng([seed, i]) for i in range(n)]


CASES = [
    (algo, objective, attack, norm)
    for algo, objective in (("ppo", "action"), ("ppo", "value"), ("sac", "q"), ("td3", "q"), ("sac", "action"))
    for attack in ("fgsm", "pgd")
    for norm in ("linf", "l2")
]


@pytest.mark.parametrize(("algo", "objective", "attack", "norm"), CASES, ids=["-".join(c) for c in CASES])
def test_attack_beats_random_perturbations_of_the_same_size(models, observations, algo, objective, attack, norm):
    model = models[algo]
    eps = 0.3 if norm == "linf" else 0.6
    pert = AdversarialPerturbation(model, eps, norm=norm, attack=attack, objective=objective, steps=10)
    assert pert.objective == objective
    n = observations.shape[0]
    delta = pert.perturbation(observations, _rngs(n))
    assert delta.shape == observations.shape
    # inside the ball
    if norm == "linf":
        assert np.max(np.abs(delta)) <= eps + 1e-6
    else:
        assert np.max(np.linalg.norm(delta, axis=-1)) <= eps + 1e-6
    assert np.all(np.abs(delta).max(axis=-1) > 0)
    j_attack = _objective(pert, model, observations, delta)
    j_clean = _objective(pert, model, observations, np.zeros_like(delta))
    draws = 64  # random perturbations per observation, evaluated in one batch
    tiled = np.tile(observations, (draws, 1))
    random_deltas = _random_deltas(norm, eps, tiled.shape, np.random.default_rng(1))
    j_random = _objective(pert, model, tiled, random_deltas).reshape(draws, n).mean(axis=0)
    # the attacked quantity is higher than under random perturbations of the same norm: on average over the batch ...
    assert j_attack.mean() > j_random.mean()
    gain = j_attack - j_clean
    assert gain.mean() > 1.5 * (j_random - j_clean).mean() if objective == "action" else gain.mean() > 0
    # ... and for most observations
    assert np.mean(j_attack > j_random) >= 0.8
    if objective == "q":  # J = -Q: the attack lowers the critic's value of the action taken
        assert (-j_attack).mean() < (-j_clean).mean()


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_at_least_as_strong_as_fgsm_on_average(models, observations, norm):
    model = models["td3"]
    eps = 0.3
    n = observations.shape[0]
    fgsm = AdversarialPerturbation(model, eps, norm=norm, attack="fgsm")
    pgd = AdversarialPerturbation(model, eps, norm=norm, attack="pgd", steps=20)
    j_fgsm = _objective(fgsm, model, observations, fgsm.perturbation(observations, _rngs(n)))
    j_pgd = _objective(pgd, model, observations, pgd.perturbation(observations, _rngs(n)))
    assert j_pgd.mean() >= j_fgsm.mean() - 1e-6


def test_auto_objective(models):
    assert AdversarialPerturbation(models["ppo"], 0.1).objective == "action"
    assert AdversarialPerturbation(models["sac"], 0.1).objective == "q"
    assert AdversarialPerturbation(models["td3"], 0.1).objective == "q"
    assert AdversarialPerturbation(models["ppo"].policy, 0.1).objective == "action"  # a bare policy works too


@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_eps_zero_is_identity(models, observations, algo):
    pert = AdversarialPerturbation(models[algo], 0.0)
    out = pert.apply(observations, np.ones(len(observations), dtype=bool), _rngs(len(observations)))
    assert np.array_equal(out, observations) and out.dtype == observations.dtype
    actions = np.random.default_rng(0).uniform(-1, 1, (8, 4)).astype(np.float32)
    wrapped, bare = AdversarialObservation(_make(), models[algo], eps=0.0), _make()
    assert np.array_equal(wrapped.reset(seed=3)[0], bare.reset(seed=3)[0])
    for a in actions:
        assert np.array_equal(wrapped.step(a)[0], bare.step(a)[0])


def test_attack_is_reproducible_from_the_seed(models, observations):
    pert = AdversarialPerturbation(models["ppo"], 0.2, attack="pgd", norm="l2")
    d1 = pert.perturbation(observations, _rngs(len(observations), seed=5))
    d2 = pert.perturbation(observations, _rngs(len(observations), seed=5))
    d3 = pert.perturbation(observations, _rngs(len(observations), seed=6))
    assert np.array_equal(d1, d2)
    assert not np.array_equal(d1, d3)


def test_attack_leaves_the_policy_mode_alone(models, observations):
    policy = models["ppo"].policy
    policy.set_training_mode(True)
    AdversarialPerturbation(models["ppo"], 0.2).perturbation(observations, _rngs(len(observations)))
    assert policy.training
    assert all(p.grad is None or torch.all(p.grad == 0) for p in policy.parameters())
    policy.set_training_mode(False)


@pytest.mark.parametrize(("algo", "norm"), [("ppo", "linf"), ("td3", "l2")])
def test_adversarial_wrapper_runs_an_episode(models, algo, norm):
    model = models[algo]
    eps = 0.1
    radius = eps * attractor_rms(22.0, 64, 0.05)  # relative to rms(u) by default
    wrapped = AdversarialObservation(_make(max_episode_steps=12), model, eps=eps, norm=norm)
    bare = _make(max_episode_steps=12)
    obs, _ = wrapped.reset(seed=4)
    bare_obs, _ = bare.reset(seed=4)
    steps, truncated = 0, False
    while not truncated:
        diff = obs.astype(np.float64) - bare_obs
        size = np.max(np.abs(diff)) if norm == "linf" else np.linalg.norm(diff)
        assert 0 < size <= radius + 1e-5
        assert wrapped.observation_space.contains(obs)
        action, _ = model.predict(obs, deterministic=True)
        obs, r, terminated, truncated, _ = wrapped.step(action)
        bare_obs, rb, _, _, _ = bare.step(action)
        assert r == rb and np.array_equal(wrapped.unwrapped.u, bare.unwrapped.u)
        assert not terminated
        steps += 1
    assert steps == 12
    # pickles mid-episode with its model and continues identically
    wrapped.reset(seed=5)
    wrapped.step(np.zeros(4, dtype=np.float32))
    clone = pickle.loads(pickle.dumps(wrapped))
    a = np.full(4, 0.3, dtype=np.float32)
    assert np.array_equal(wrapped.step(a)[0], clone.step(a)[0])


def test_adversarial_in_batch_matches_single_wrapped_envs(models):
    """VectorPerturbation with the attack: env i sees the attack of a single wrapped env seeded s + i."""
    model = models["ppo"]
    b, k, eps = 3, 5, 0.2
    vec = VectorPerturbation(
        gym.make_vec(ENV_ID, num_envs=b, vectorization_mode="vector_entry_point", max_episode_steps=k, burn_in=BURN_IN),
        AdversarialPerturbation(model, eps), "observation",
    )
    ref = gym.vector.SyncVectorEnv(
        [lambda: AdversarialObservation(_make(max_episode_steps=k), model, eps=eps, relative=False) for _ in range(b)]
    )
    bare = gym.make_vec(ENV_ID, num_envs=b, vectorization_mode="vector_entry_point", max_episode_steps=k, burn_in=BURN_IN)
    o1, _ = vec.reset(seed=9)
    o2, _ = ref.reset(seed=9)
    o3, _ = bare.reset(seed=9)
    rng = np.random.default_rng(0)
    for t in range(2 * k + 2):
        np.testing.assert_allclose(o1, o2, rtol=0, atol=1e-5, err_msg=str(t))
        assert np.max(np.abs(o1.astype(np.float64) - o3)) <= eps + 1e-5
        assert not np.array_equal(o1, o3)
        a = rng.uniform(-1, 1, (b, 4)).astype(np.float32)
        o1, r1, te1, tr1, _ = vec.step(a)
        o2, r2, te2, tr2, _ = ref.step(a)
        o3, *_ = bare.step(a)
        assert np.array_equal(r1, r2) and np.array_equal(tr1, tr2) and np.array_equal(te1, te2)


def test_adversarial_with_the_sb3_vec_env(models):
    from chaoscontrol.agents import KSVecEnv
    from chaoscontrol.agents.vec_wrappers import VecPerturbation

    model = models["sac"]
    venv = VecPerturbation(KSVecEnv(num_envs=2, max_episode_steps=4, burn_in=BURN_IN), AdversarialPerturbation(model, 0.2), "observation")
    bare = KSVecEnv(num_envs=2, max_episode_steps=4, burn_in=BURN_IN)
    venv.seed(3)
    bare.seed(3)
    obs, obs_b = venv.reset(), bare.reset()
    for _ in range(6):
        assert 0 < np.max(np.abs(obs - obs_b)) <= 0.2 + 1e-5
        actions, _ = model.predict(obs, deterministic=True)
        obs, _, dones, infos = venv.step(actions)
        obs_b, _, dones_b, infos_b = bare.step(actions)
        assert np.array_equal(dones, dones_b)
        for i in np.flatnonzero(dones):
            assert 0 < np.max(np.abs(infos[i]["terminal_observation"] - infos_b[i]["terminal_observation"])) <= 0.2 + 1e-5


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"eps": -0.1}, "eps"),
        ({"eps": float("nan")}, "eps"),
        ({"eps": 0.1, "norm": "l1"}, "norm"),
        ({"eps": 0.1, "attack": "cw"}, "attack"),
        ({"eps": 0.1, "objective": "kl"}, "objective"),
        ({"eps": 0.1, "steps": 0}, "steps"),
        ({"eps": 0.1, "steps": 2.5}, "steps"),
    ],
)
def test_bad_arguments(models, kwargs, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        AdversarialPerturbation(models["ppo"], **kwargs)
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        AdversarialObservation(_make(), models["ppo"], **kwargs)


def test_objective_must_suit_the_algorithm(models):
    with pytest.raises(ValueError, match="'q'"):
        AdversarialPerturbation(models["ppo"], 0.1, objective="q")
    with pytest.raises(ValueError, match="'value'"):
        AdversarialPerturbation(models["sac"], 0.1, objective="value")
    with pytest.raises(ValueError, match="model"):
        AdversarialPerturbation(object(), 0.1)


def test_model_with_mismatched_spaces_is_rejected(models):
    full_obs = _build("ppo", observe="full")
    with pytest.raises(ValueError, match="model"):
        AdversarialObservation(_make(), full_obs, eps=0.1)
    with pytest.raises(ValueError, match="model"):
        AdversarialObservation(_make(observe="full"), models["ppo"], eps=0.1)
    two_actuators = _make(actuators=2)
    with pytest.raises(ValueError, match="model"):
        AdversarialObservation(two_actuators, models["td3"], eps=0.1)
    with pytest.raises(ValueError, match="model"):
        check_model_spaces(full_obs, _make().observation_space, _make().action_space)
    check_model_spaces(full_obs, _make(observe="full").observation_space, _make().action_space)  # matching: fine
