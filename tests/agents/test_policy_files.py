"""Loading a file runs no code (issue 20, item 2): the project's policy files are read without unpickling; an SB3 zip
or pickle needs ``--trust-pickle`` / ``trust_pickle=True``.

Crafted payloads are pickles whose ``__reduce__`` creates a marker file: the default load path must refuse them,
naming ``--trust-pickle``, without creating the marker; with trust they are read (the marker appears). The project's
own saved policies load without trust and act as the SB3 model does, for PPO and SAC, with and without ``normalize``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.agents.env_stack import make_vec_env
from chaoscontrol.agents.policies import load_agent, load_sb3_model, make_policy, save_policy_files
from chaoscontrol.agents.robustness import RobustnessArgs, run_robustness
from chaoscontrol.agents.training import train_agent
from chaoscontrol.apps import cli
from chaoscontrol.envs.ks_vector import KSControlVectorEnv

from tiny_runs import ENV_KWARGS, OFF_HP, PPO_HP, STEPS, targs

POLICY_FILES = ("policy.json", "policy.pt", "vecnormalize.npz")


class Marker:
    """Unpickling this creates ``path`` (and gives back the object pickled in ``then``, or 0)."""

    def __init__(self, path: Path, then: bytes | None = None) -> None:
        self.path, self.then = path, then

    def __reduce__(self):
        touch = f"__import__('pathlib').Path({str(self.path)!r}).touch()"
        rest = "0" if self.then is None else f"__import__('pickle').loads({self.then!r})"
        return eval, (f"({touch}, {rest})[1]",)


def with_payload(zip_path: Path, marker: Path) -> None:
    """Add to the ``data`` of an SB3 zip an entry that SB3 decodes with cloudpickle: a :class:`Marker`."""
    with zipfile.ZipFile(zip_path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members["data"])
    data["extra"] = {":type:": "<class 'int'>", ":serialized:": base64.b64encode(cloudpickle.dumps(Marker(marker))).decode()}
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def drop_policy_files(stem: Path) -> None:
    """Make a saved model look like one written before the policy files existed."""
    for suffix in POLICY_FILES:
        stem.with_name(f"{stem.name}.{suffix}").unlink(missing_ok=True)


def observations(n: int = 3) -> np.ndarray:
    return make_vec_env(ENV_KWARGS, n, 7, max_episode_steps=STEPS).reset()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[tuple[str, bool], Path]:
    """Tiny runs (64 steps, checkpoints and evaluations every 32) of PPO and SAC, with and without ``normalize``."""
    root = tmp_path_factory.mktemp("runs")
    made = {}
    for algo in ("ppo", "sac"):
        for normalize in (False, True):
            out = root / f"{algo}_{normalize}"
            hp = {**(PPO_HP if algo == "ppo" else OFF_HP), "normalize": normalize}
            train_agent(targs(out, algo, timesteps=64, eval_freq=32, checkpoint_freq=32, hyperparams=hp))
            made[algo, normalize] = out
    return made


@pytest.fixture
def loose_ppo(tmp_path) -> tuple[Path, PPO]:
    """An untrained PPO saved loose (no run folder) as an SB3 zip and as policy files."""
    model = PPO("MlpPolicy", make_vec_env(ENV_KWARGS, 2, 0, max_episode_steps=STEPS), n_steps=32, batch_size=32,
                policy_kwargs={"net_arch": [8]}, seed=0, device="cpu")
    path = tmp_path / "ppo.zip"
    model.save(path)
    save_policy_files(model, path)
    return path, model


# ================================================================================ the project's own policies


@pytest.mark.parametrize("normalize", [False, True], ids=["plain", "normalize"])
@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_own_policies_load_without_trust_and_act_as_the_sb3_model(runs, algo, normalize, monkeypatch):
    out = runs[algo, normalize]
    obs = observations()
    for path, pkl in ((out / "model.zip", out / "vecnormalize.pkl"),
                      (out / "checkpoints" / "step_64.zip", out / "checkpoints" / "vecnormalize_64.pkl")):
        with monkeypatch.context() as m:  # the default path unpickles nothing
            m.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load called"))
            m.setattr(cloudpickle, "loads", lambda *a, **k: pytest.fail("cloudpickle.loads called"))
            act, model = load_agent(path)
        sb3 = load_sb3_model(path, trust_pickle=True)
        assert model.num_timesteps == sb3.num_timesteps == 64 and model.algo == algo
        seen = obs
        if normalize:
            seen = VecNormalize.load(str(pkl), make_vec_env(ENV_KWARGS, 2, 0, max_episode_steps=STEPS)).normalize_obs(obs)
            assert not np.array_equal(seen, obs)
        expected = sb3.predict(seen, deterministic=True)[0]
        np.testing.assert_array_equal(act(obs), expected)
        # the same through the factory, against a vector env of the run's configuration
        venv = KSControlVectorEnv(num_envs=3, max_episode_steps=STEPS, **ENV_KWARGS)
        np.testing.assert_array_equal(make_policy(str(path), venv, seed=0)[0](obs), expected)
    best, _ = load_agent(out / "best_model.zip")  # with the statistics of its own evaluation
    assert best(obs).shape == (3, 4)
    assert (out / "best_model.vecnormalize.npz").is_file() == normalize


def test_a_run_saved_before_the_policy_files_needs_trust(runs, tmp_path):
    out = tmp_path / "old"
    shutil.copytree(runs["ppo", True], out)
    safe, _ = load_agent(out / "model.zip")
    drop_policy_files(out / "model")
    with pytest.raises(ValueError, match="--trust-pickle"):
        load_agent(out / "model.zip")
    trusted, model = load_agent(out / "model.zip", trust_pickle=True)  # SB3's zip and vecnormalize.pkl
    assert isinstance(model, PPO)
    obs = observations()
    np.testing.assert_array_equal(trusted(obs), safe(obs))


# ================================================================================ crafted payloads


def test_crafted_model_zip_is_not_run_by_evaluate(loose_ppo, tmp_path, capsys):
    path, _ = loose_ppo
    drop_policy_files(tmp_path / "ppo")  # an SB3 zip from elsewhere
    marker = tmp_path / "pwned"
    with_payload(path, marker)
    argv = ["evaluate", "--model", str(path), "--episodes", "1", "--max-episode-steps", "3", "--env-kwargs",
            json.dumps(ENV_KWARGS), "--out", str(tmp_path / "eval"), "--no-progress"]
    assert cli.main(argv) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and "--trust-pickle" in err[0] and "ppo.zip" in err[0]
    assert not marker.exists() and not (tmp_path / "eval").exists()
    for load in (lambda: load_agent(path), lambda: load_sb3_model(path),
                 lambda: run_robustness(RobustnessArgs(policy=str(path), levels=(0.0,), episodes=1, max_episode_steps=3,
                                                       env_kwargs=ENV_KWARGS, out=str(tmp_path / "rob"), progress=False)),
                 lambda: run_robustness(RobustnessArgs(policy=str(path), perturbation="adversarial", levels=(0.0,), episodes=1,
                                                       max_episode_steps=3, env_kwargs=ENV_KWARGS, out=str(tmp_path / "rob"),
                                                       progress=False))):
        with pytest.raises(ValueError, match="--trust-pickle"):
            load()
    assert not marker.exists() and not (tmp_path / "rob").exists()
    # with trust, the file is read: its payload runs
    assert cli.main([*argv, "--trust-pickle"]) == 0
    assert marker.exists() and (tmp_path / "eval" / "evaluation.json").is_file()


def test_crafted_actuation_zip_is_not_run_by_dataset_generate(loose_ppo, tmp_path, capsys):
    path, _ = loose_ppo
    drop_policy_files(tmp_path / "ppo")
    marker = tmp_path / "pwned"
    with_payload(path, marker)
    argv = ["dataset", "generate", "--out", str(tmp_path / "d.h5"), "--trajectories", "2", "--steps", "2",
            "--fractions", "0.5", "0.5", "0.0", "--actuation", str(path), "--env-kwargs", json.dumps(ENV_KWARGS), "--no-progress"]
    assert cli.main(argv) == 2
    assert "--trust-pickle" in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "d.h5").exists()


def test_crafted_vecnormalize_pickle_is_read_only_with_trust(runs, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(runs["ppo", True], out)
    marker = tmp_path / "pwned"
    real = (out / "vecnormalize.pkl").read_bytes()
    (out / "vecnormalize.pkl").write_bytes(pickle.dumps(Marker(marker, then=real)))
    obs = observations()
    safe, _ = load_agent(out / "model.zip")  # the arrays of model.vecnormalize.npz: the pickle is never opened
    expected = safe(obs)
    assert not marker.exists()
    drop_policy_files(out / "model")
    with pytest.raises(ValueError, match="--trust-pickle"):
        load_agent(out / "model.zip")
    assert not marker.exists()
    trusted, _ = load_agent(out / "model.zip", trust_pickle=True)
    assert marker.exists()
    np.testing.assert_array_equal(trusted(obs), expected)


def test_crafted_checkpoint_is_resumed_only_with_trust(runs, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(runs["ppo", False], out)
    for n in (32, 64):
        drop_policy_files(out / "checkpoints" / f"step_{n}")  # checkpoints of an earlier version
    marker = tmp_path / "pwned"
    with_payload(out / "checkpoints" / "step_64.zip", marker)
    config_before = (out / "config.json").read_text()
    same = dict(timesteps=128, eval_freq=32, checkpoint_freq=32, hyperparams={**PPO_HP, "normalize": False})
    with pytest.raises(ValueError, match="--trust-pickle"):
        train_agent(targs(out, **same), resume=True)
    assert not marker.exists() and (out / "config.json").read_text() == config_before
    train_agent(targs(out, **same, trust_pickle=True), resume=True)
    assert marker.exists() and json.loads((out / "status.json").read_text())["timesteps"] == 128


def test_policy_files_name_only_known_classes_and_hold_only_tensors(loose_ppo, tmp_path):
    path, _ = loose_ppo
    description = tmp_path / "ppo.policy.json"
    good = json.loads(description.read_text())
    for key, value, word in (("policy_class", "builtins.eval", "builtins.eval"),
                             ("policy_kwargs", {**good["policy_kwargs"], "activation_fn": {"__class__": "os.system"}}, "os.system")):
        description.write_text(json.dumps({**good, key: value}))
        with pytest.raises(ValueError, match=word):
            load_agent(path)
    description.write_text(json.dumps(good))
    # weights that are a pickle of something else: torch's weights_only refuses them, the payload does not run
    marker = tmp_path / "pwned"
    weights = tmp_path / "ppo.policy.pt"
    torch.save({"parameters": {"policy": Marker(marker)}}, weights)
    with pytest.raises(ValueError, match="SHA-256"):  # not the file it was saved with
        load_agent(path)
    good["files"]["weights"]["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    description.write_text(json.dumps(good))
    with pytest.raises(ValueError, match="ppo.policy"):
        load_agent(path)
    assert not marker.exists()
