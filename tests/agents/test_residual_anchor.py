"""The anchored residual policy (``--residual-anchor``): zero correction at the baseline's rest observation.

A residual that is not zero at the equilibrium moves the closed loop's fixed point (the trained E3 agent
of docs/results.md settled 0.14 from E3 in every episode). These tests check that the anchored policy's
mean action vanishes at o* whatever its weights, that the equilibrium stays a fixed point of the nonlinear
closed loop while a biased residual moves it, that saved runs reload and resume with the anchor, and that
the combinations it cannot honour are refused before training.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from chaoscontrol.apps import cli
from chaoscontrol.agents.env_stack import find_wrapper, make_vec_env
from chaoscontrol.agents.policies import load_agent, make_policy, residual_policy
from chaoscontrol.agents.residual import AnchoredResidualPolicy, rest_observation
from chaoscontrol.agents.training import train_agent
from chaoscontrol.agents.vec_wrappers import VecResidualControl
from chaoscontrol.baselines import make_baseline
from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from tiny_runs import ENV_KWARGS, PPO_HP, targs

E3 = {"objective": "target", "target": "E3"}


def _randomise(policy: torch.nn.Module, seed: int, scale: float = 0.5) -> None:
    """Large random weights, so that an un-anchored head would give O(1) actions everywhere."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in policy.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=gen))


def _model(venv, anchor) -> PPO:
    return PPO(AnchoredResidualPolicy, venv, n_steps=16, batch_size=16, seed=0, device="cpu",
               policy_kwargs={"net_arch": [16, 16], "anchor_obs": [float(x) for x in anchor]})


def test_rest_observation_is_what_the_baseline_reads_at_its_equilibrium():
    env = KSControlVectorEnv(num_envs=1, **E3)
    lqg = make_baseline("lqg", env)
    y_star = rest_observation(lqg)
    np.testing.assert_allclose(y_star, env.template.observe_states(env.template.target, clip=False), atol=1e-6)
    lqg.reset()
    np.testing.assert_allclose(lqg(y_star[None]), 0.0, atol=1e-12)  # at rest there
    full = KSControlVectorEnv(num_envs=1, observe="full", **E3)
    np.testing.assert_allclose(rest_observation(make_baseline("lqr", full)), full.template.target)
    with pytest.raises(ValueError, match="residual_anchor needs a linear baseline"):
        rest_observation(lambda obs: obs)


def test_anchored_mean_action_is_zero_at_the_anchor_only():
    venv = make_vec_env({**E3, **ENV_KWARGS}, 2, 0, max_episode_steps=10, residual="lqg")
    anchor = rest_observation(find_wrapper(venv, VecResidualControl).controller)
    model = _model(venv, anchor)
    _randomise(model.policy, 0)
    at_anchor = model.predict(anchor[None].astype(np.float32), deterministic=True)[0]
    np.testing.assert_allclose(at_anchor, 0.0, atol=1e-6)
    away = model.predict(anchor[None].astype(np.float32) + 0.3, deterministic=True)[0]
    assert np.abs(away).max() > 0.05  # the network itself is far from zero
    # the stochastic policy is centred on the anchored mean: its log-prob peaks at 0 at the anchor
    obs_t = torch.as_tensor(anchor[None], dtype=torch.float32)
    dist = model.policy.get_distribution(obs_t)
    np.testing.assert_allclose(dist.distribution.mean.detach().numpy(), 0.0, atol=1e-6)
    venv.close()


def test_the_equilibrium_stays_a_fixed_point_of_the_anchored_closed_loop():
    """Nonlinear KS from E3 exactly, LQG + a residual with random weights: anchored stays at E3, un-anchored leaves it."""
    venv = make_vec_env({**E3, **ENV_KWARGS}, 1, 0, max_episode_steps=10, residual="lqg")
    anchor = rest_observation(find_wrapper(venv, VecResidualControl).controller)
    model = _model(venv, anchor)
    _randomise(model.policy, 1)
    anchored = lambda o: model.predict(o, deterministic=True)[0]  # noqa: E731
    biased = lambda o: anchored(o) + model.policy.anchor_mean().detach().numpy()  # noqa: E731 - the plain head mu(o)
    distances = {}
    for name, agent in (("anchored", anchored), ("biased", biased)):
        env = KSControlVectorEnv(num_envs=1, max_episode_steps=200, **E3)
        obs, _ = env.reset(seed=0, options={"u0": env.template.target})
        policy = residual_policy(agent, make_baseline("lqg", env))
        for _ in range(40):
            obs, *_ = env.step(policy(obs))
        distances[name] = float(np.sqrt(np.mean((env.u[0] - env.template.target) ** 2)))
        env.close()
    assert distances["anchored"] < 1e-5
    assert distances["biased"] > 1e-2
    venv.close()


def test_anchored_run_saves_reloads_and_resumes_with_its_anchor(tmp_path):
    out = tmp_path / "anchored"
    hp = {**PPO_HP, "learning_rate": 0.01}
    args = targs(out, env_kwargs={**E3, **ENV_KWARGS}, residual="lqg", residual_anchor=True, hyperparams=hp)
    train_agent(args)
    act, model = load_agent(out / "model.zip")
    assert isinstance(model.policy, AnchoredResidualPolicy)
    anchor = model.policy.anchor_obs.numpy()
    np.testing.assert_allclose(anchor[0], KSControlEnv(**E3).observe_states(KSControlEnv(**E3).target, clip=False), atol=1e-6)
    np.testing.assert_allclose(model.predict(anchor, deterministic=True)[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(act(anchor), 0.0, atol=1e-6)
    composite, _ = make_policy(str(out / "model.zip"), KSControlVectorEnv(num_envs=1, **E3), seed=0)
    np.testing.assert_allclose(composite(anchor), 0.0, atol=1e-6)  # LQG at rest + anchored residual
    assert np.abs(composite(anchor + 0.3)).max() > 1e-3  # and acting away from it
    longer = targs(out, env_kwargs={**E3, **ENV_KWARGS}, residual="lqg", residual_anchor=True, hyperparams=hp, timesteps=320)
    train_agent(longer, resume=True)
    _, resumed = load_agent(out / "model.zip")
    assert resumed.num_timesteps >= 320 and isinstance(resumed.policy, AnchoredResidualPolicy)
    # resuming with the anchor switched off is a different run
    with pytest.raises(ValueError, match="residual_anchor"):
        train_agent(targs(out, env_kwargs={**E3, **ENV_KWARGS}, residual="lqg", hyperparams=hp, timesteps=400), resume=True)


def test_a_run_from_before_the_option_resumes_with_its_default(tmp_path):
    out = tmp_path / "old"
    train_agent(targs(out))
    config = json.loads((out / "config.json").read_text())
    del config["args"]["residual_anchor"]  # written by a version without the option
    (out / "config.json").write_text(json.dumps(config))
    train_agent(targs(out, timesteps=256), resume=True)
    assert json.loads((out / "status.json").read_text())["timesteps"] >= 256


@pytest.mark.parametrize("kwargs, reason", [
    ({}, "give residual"),
    ({"residual": "lqg", "algo": "sac"}, "PPO policy"),
    ({"residual": "lqg", "symmetry_reduced": True}, "symmetry"),
    ({"residual": "lqg", "hyperparams": {**PPO_HP, "normalize": True}}, "normalize: false"),
    ({"residual": "lqg", "hyperparams": {**PPO_HP, "use_sde": True}}, "use_sde"),
])
def test_anchor_refuses_what_it_cannot_honour(tmp_path, kwargs, reason):
    with pytest.raises(ValueError, match=reason):
        train_agent(targs(tmp_path / "x", env_kwargs={**E3, **ENV_KWARGS}, residual_anchor=True, **kwargs))
    assert not (tmp_path / "x").exists()


def test_policy_refuses_a_wrong_anchor():
    venv = make_vec_env({**E3, **ENV_KWARGS}, 1, 0, max_episode_steps=10)
    with pytest.raises(ValueError, match="anchor_obs must be finite with the observation shape"):
        _model(venv, np.zeros(3))
    with pytest.raises(ValueError, match="anchor_obs"):
        _model(venv, np.full(venv.observation_space.shape, np.nan))
    venv.close()


def test_cli_trains_an_anchored_residual(tmp_path, capsys):
    out = tmp_path / "cli"
    code = cli.main(["train", "--algo", "ppo", "--env-kwargs", json.dumps({**E3, **ENV_KWARGS}), "--timesteps", "64",
                     "--hyperparams", json.dumps(PPO_HP), "--max-episode-steps", "20", "--eval-freq", "0",
                     "--checkpoint-freq", "64", "--residual", "lqg", "--residual-anchor", "--no-progress", "--out", str(out)])
    assert code == 0
    assert json.loads((out / "config.json").read_text())["args"]["residual_anchor"] is True
    code = cli.main(["train", "--algo", "ppo", "--env-kwargs", json.dumps(E3), "--timesteps", "64", "--residual-anchor",
                     "--out", str(tmp_path / "bad")])
    assert code != 0
    assert "residual_anchor" in capsys.readouterr().err
