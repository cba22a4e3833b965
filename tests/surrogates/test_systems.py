"""The data side on every registered system that is not KS (issue 16): ``dataset generate --env``, ``surrogate train``
of a family that applies, ``surrogate evaluate``, and the refusals (a family that does not apply, a checkpoint of
another system given to a KS env). Tiny sizes: a few short trajectories, 2 epochs of a narrow ``resnet``.
"""

from __future__ import annotations

import json

import gymnasium as gym
import h5py
import numpy as np
import pytest
import torch

import chaoscontrol  # noqa: F401 - registers the envs
from chaoscontrol.apps.cli import main
from chaoscontrol.envs.registration import ENV_SPECS, make_env
from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset, load_dataset
from chaoscontrol.surrogates.models import KS_ONLY, families_for
from chaoscontrol.surrogates.train import TrainArgs, load_surrogate, train_surrogate

#: The systems that are not KS: ids whose entry point is not KS-Control-v0's.
OTHER_IDS = sorted(i for i, s in ENV_SPECS.items() if s["entry_point"] != ENV_SPECS["KS-Control-v0"]["entry_point"])
#: The measured leading Lyapunov exponents (docs/systems.md) at the registered defaults.
EXPONENTS = {"Lorenz63-Control-v0": 0.9064, "Lorenz96-Control-v0": 1.686, "CGLE-Control-v0": 0.27}
#: The systems whose evaluation fits a unit test: states of at most 256 values (the truth of a 2-D field, e.g.
#: Kolmogorov-Control-v0 at 64 x 64, takes ~50 s for the evaluation's burn-ins and batch-256 speed figures; its
#: evaluation is the same code, run by hand: chaoscontrol surrogate evaluate --model ...).
SMALL_IDS = [i for i in OTHER_IDS if int(np.prod(make_env(i).dynamics.field_shape)) <= 256]
ENV_KWARGS = {"burn_in": 1.0}
DATA_ARGV = ["--trajectories", "4", "--steps", "6", "--seed", "2", "--hold", "2", "--fractions", "0.5", "0.25", "0.25",
             "--env-kwargs", json.dumps(ENV_KWARGS), "--no-progress"]
TRAIN_ARGV = ["--model", "resnet", "--model-kwargs", json.dumps({"width": 8, "depth": 1}), "--horizon", "2",
              "--warmup-epochs", "1", "--epochs", "2", "--windows-per-epoch", "16", "--batch-size", "8", "--no-progress"]


@pytest.fixture(scope="module", params=OTHER_IDS)
def system_run(request, tmp_path_factory):
    """(env_id, dataset path, checkpoint path): a tiny dataset and a tiny resnet of one system, by the command line."""
    env_id = request.param
    folder = tmp_path_factory.mktemp(env_id)
    data = folder / "data.h5"
    assert main(["dataset", "generate", "--env", env_id, *DATA_ARGV, "--out", str(data)]) == 0
    torch.set_num_threads(1)
    assert main(["surrogate", "train", *TRAIN_ARGV, "--data", str(data), "--out", str(folder / "run")]) == 0
    return env_id, data, folder / "run" / "model.pt"


def test_dataset_holds_the_systems_trajectories(system_run):
    """Fields of the system's shape, recorded id and configuration, and each stored step the env's own step."""
    env_id, path, _ = system_run
    data = load_dataset(path)
    env = make_env(env_id, **ENV_KWARGS)
    shape = tuple(env.dynamics.field_shape)
    assert data.env_id == env_id and data.spec["env_id"] == env_id
    assert data.states.shape == (4, 7, *shape) and data.forcing.shape == (4, 6, *shape)
    assert data.env_config == env.config_dict()
    np.testing.assert_array_equal(data.forcing, env.forcing_fields(data.actions))
    for i in (0, 3):  # trajectory i starts from env seed seed + i and follows the env under its recorded actions
        env.reset(seed=2 + i)
        np.testing.assert_array_equal(data.states[i, 0], env.u)
        for k in range(6):
            _, reward, *_ = env.step(data.actions[i, k])
            np.testing.assert_array_equal(data.states[i, k + 1], env.u)
            assert data.rewards[i, k] == reward


def test_checkpoint_records_the_system_and_its_flat_state(system_run):
    env_id, _, model_path = system_run
    payload = torch.load(model_path, map_location="cpu", weights_only=True)
    assert payload["env_id"] == env_id
    model, env_config = load_surrogate(model_path)
    env = make_env(env_id, **ENV_KWARGS)
    assert model.env_id == env_id and env_config == env.config_dict()
    assert model.config.N == int(np.prod(env.dynamics.field_shape)) and model.config.conserve_mean is False
    assert model.config.interval == pytest.approx(env.dynamics.control_dt)
    # the forcing inside the model is the env's, flattened
    a = np.random.default_rng(0).uniform(-1.5, 1.5, (5, env.action_space.shape[0]))
    np.testing.assert_allclose(model.forcing(torch.as_tensor(a, dtype=torch.float32)).numpy(),
                               env.forcing_fields(a).reshape(5, -1), rtol=1e-6, atol=1e-6)


def test_the_mean_is_free_to_change_outside_ks(system_run):
    """KS conserves its mean mode, the other systems do not: their models must be able to change it."""
    _, _, model_path = system_run
    model, _ = load_surrogate(model_path)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
        u = torch.randn(3, model.config.N, generator=torch.Generator().manual_seed(1))
        a = torch.zeros(3, model.config.n_actuators)
        assert (model(u, a).mean(dim=-1) - u.mean(dim=-1)).abs().max() > 1e-4


@pytest.mark.parametrize("system_run", SMALL_IDS, indirect=True)
def test_evaluate_measures_prediction_time_in_the_systems_lyapunov_times(system_run, tmp_path, capsys):
    env_id, _, model_path = system_run
    out = tmp_path / "eval"
    argv = ["surrogate", "evaluate", "--model", str(model_path), "--out", str(out), "--n-initial", "3", "--n-free", "2",
            "--free-time", "0.5", "--horizon-lyapunov", "0.5", "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["env_id"] == env_id and report["family"] == "resnet"
    if env_id in EXPONENTS:
        assert report["lyapunov_exponent"] == EXPONENTS[env_id]
    unit = report["lyapunov_exponent"] or 1.0
    interval = make_env(env_id).dynamics.control_dt
    horizon = np.ceil(0.5 / unit / interval) * interval * unit  # the run's length, in Lyapunov times
    assert 0 < report["vpt_lyapunov_q25"] <= report["vpt_lyapunov_median"] <= report["vpt_lyapunov_q75"] <= horizon + 1e-12
    assert np.isfinite(report["one_step_error"]) and report["one_step_error"] > 0
    assert 0.0 <= report["blowup_fraction"] <= 1.0
    assert (out / "error_growth.png").stat().st_size > 1000 and env_id in (out / "report.md").read_text()


@pytest.mark.parametrize("family", sorted(KS_ONLY))
def test_a_family_that_builds_in_ks_is_refused_with_the_reason(system_run, tmp_path, family):
    env_id, data, _ = system_run
    out = tmp_path / "run"
    with pytest.raises(ValueError) as info:
        train_surrogate(TrainArgs(family=family, data=str(data), out=str(out), progress=False))
    msg = str(info.value)
    assert repr(family) in msg and env_id in msg and KS_ONLY[family] in msg and "resnet" in msg
    assert not out.exists()


def test_a_spectral_cutoff_is_refused_outside_ks(system_run, tmp_path):
    env_id, data, _ = system_run
    with pytest.raises(ValueError, match=f"cutoff must be 0 for {env_id}"):
        train_surrogate(TrainArgs(family="node", data=str(data), out=str(tmp_path / "r"), model_kwargs={"cutoff": 4},
                                  progress=False))


def test_a_ks_env_refuses_a_checkpoint_of_another_system_naming_both(system_run):
    env_id, _, model_path = system_run
    with pytest.raises(ValueError) as info:
        gym.make("KS-Control-v0", surrogate=str(model_path))
    assert env_id in str(info.value) and "KS-Control-v0" in str(info.value)


def test_families_for_other_systems_are_the_flat_state_ones():
    assert families_for(False) == ["deq", "node", "resnet", "stable_resnet"]
    assert set(families_for(True)) == set(families_for(False)) | set(KS_ONLY)


def test_a_dataset_without_env_id_is_ks_and_resumes_as_such(tmp_path):
    """Files written before ``env_id`` existed are of KS-Control-v0: a resume of the KS spec accepts them, another
    system's is refused naming env_id."""
    spec = DatasetSpec(n_trajectories=2, steps=2, seed=1, fractions=(0.5, 0.5, 0.0), env_kwargs={"burn_in": 1.0})
    path = generate_dataset(spec, tmp_path / "ks.h5", progress=False)
    with h5py.File(path, "r+") as h5:
        old = json.loads(h5.attrs["spec"])
        del old["env_id"]
        h5.attrs["spec"] = json.dumps(old)
    assert load_dataset(path).env_id == "KS-Control-v0"
    assert generate_dataset(spec, path, progress=False, resume=True) == path
    other = DatasetSpec(n_trajectories=2, steps=2, seed=1, fractions=(0.5, 0.5, 0.0), env_kwargs={"burn_in": 1.0},
                        env_id="Lorenz63-Control-v0")
    with pytest.raises(ValueError, match="env_id: 'KS-Control-v0' there, 'Lorenz63-Control-v0' now"):
        generate_dataset(other, path, progress=False, resume=True)


def test_an_unknown_env_id_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="env_id must be one of"):
        DatasetSpec(env_id="Nope-v0")


def test_a_ks_checkpoint_without_env_id_is_ks_and_still_steps_the_ks_env(model_path, tmp_path):
    """Checkpoints written before ``env_id`` existed are of KS-Control-v0: the KS env loads them as before, and a
    caller that expects another system refuses them, naming both ids."""
    payload = torch.load(model_path, map_location="cpu", weights_only=True)
    del payload["env_id"]
    old = tmp_path / "old.pt"
    torch.save(payload, old)
    model, _ = load_surrogate(old)
    assert model.env_id == "KS-Control-v0"
    env = gym.make("KS-Control-v0", surrogate=str(old))
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert np.isfinite(info["energy"]) and not terminated
    with pytest.raises(ValueError, match="trained on KS-Control-v0, not on Lorenz63-Control-v0"):
        load_surrogate(old, expect_env_id="Lorenz63-Control-v0")
    load_surrogate(old, expect_env_id="KS-L66-Control-v0")  # the same system: the configuration check decides
