"""Datasets under a policy's actions: the caller resolves the policy (one fresh per batch), the CLI wires an SB3 .zip."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

from chaoscontrol.apps.cli import main
from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset, load_dataset

ENV = {"burn_in": 10.0}


@pytest.fixture
def policy_file(tmp_path):
    """An SB3 .zip of an untrained PPO on the default env (the file's existence is all DatasetSpec checks)."""
    path = tmp_path / "policy.zip"
    from chaoscontrol.agents.policies import save_policy_files

    model = PPO("MlpPolicy", gym.make("KS-Control-v0", burn_in=10.0), seed=0, device="cpu")
    model.save(path)
    save_policy_files(model, path)  # the files the default, pickle-free load path reads
    return path


def test_a_policy_actuation_needs_its_resolved_policy(tmp_path, policy_file):
    spec = DatasetSpec(n_trajectories=2, steps=2, actuation=str(policy_file), fractions=(0.5, 0.5, 0.0), env_kwargs=ENV)
    with pytest.raises(ValueError, match="policy_for"):
        generate_dataset(spec, tmp_path / "d.h5", progress=False)
    assert not (tmp_path / "d.h5").exists()


def test_one_fresh_policy_per_batch_acting_on_the_observations(tmp_path, policy_file):
    """A stateful policy (its action grows with its calls) gives every trajectory the same actions, however batched."""
    built = []

    def policy_for(venv):
        built.append(venv.num_envs)
        calls = itertools.count()

        def act(obs):
            k = next(calls)
            return np.full((obs.shape[0], 4), 0.25 * min(k, 3)) + 0.1 * obs[:, :4]

        return act

    spec = DatasetSpec(n_trajectories=5, steps=6, actuation=str(policy_file), seed=1, fractions=(0.6, 0.2, 0.2), env_kwargs=ENV)
    data = load_dataset(generate_dataset(spec, tmp_path / "b2.h5", batch=2, progress=False, policy_for=policy_for))
    assert built == [2, 2, 1]
    readings = data.states[:, :-1, ::8]  # the 8 sensors sit on every 8th grid point
    expected = np.clip(0.25 * np.minimum(np.arange(6), 3)[None, :, None] + 0.1 * readings[..., :4], -1.0, 1.0)
    np.testing.assert_allclose(data.actions, expected, rtol=0, atol=1e-6)
    again = load_dataset(generate_dataset(spec, tmp_path / "b5.h5", batch=5, progress=False, policy_for=policy_for))
    np.testing.assert_array_equal(again.actions, data.actions)
    np.testing.assert_array_equal(again.states, data.states)


def test_cli_generates_a_dataset_under_an_sb3_policy(tmp_path, policy_file, capsys):
    """``--actuation PATH.zip``: the stored actions are the model's deterministic actions on the env's observations."""
    out = tmp_path / "policy.h5"
    argv = ["dataset", "generate", "--out", str(out), "--trajectories", "3", "--steps", "4", "--seed", "2",
            "--batch", "2", "--fractions", "0.4", "0.3", "0.3", "--actuation", str(policy_file), "--env-kwargs", '{"burn_in": 10.0}', "--no-progress"]
    assert main(argv) == 0
    assert "actuation" in capsys.readouterr().out
    data = load_dataset(out)
    assert data.spec["actuation"] == str(policy_file)
    model = PPO.load(policy_file, device="cpu")
    venv = KSControlVectorEnv(num_envs=3, max_episode_steps=None, autoreset_mode="Disabled", **ENV)
    obs, _ = venv.reset(seed=[2, 3, 4])
    np.testing.assert_array_equal(venv.u, data.states[:, 0])
    for k in range(4):
        expected = np.clip(model.predict(obs, deterministic=True)[0], -1.0, 1.0)
        np.testing.assert_allclose(data.actions[:, k], expected, rtol=1e-5, atol=1e-6)
        obs, *_ = venv.step(data.actions[:, k])
