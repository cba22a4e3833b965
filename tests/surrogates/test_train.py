"""Training and checkpoints: files, load round trip, weights_only payload, resume, refusals, argument validation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import chaoscontrol.surrogates.train as train_mod
from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset
from chaoscontrol.surrogates.models import build_model, config_from_dict, make_config
from chaoscontrol.surrogates.train import CHECKPOINT_KEYS, TrainArgs, load_surrogate, save_surrogate, train_surrogate

from .conftest import TINY, perturb_last_layer, tiny_args


def test_train_writes_files(trained_dir):
    for name in ("model.pt", "checkpoint.pt", "history.json", "args.json"):
        assert (trained_dir / name).is_file(), name
    history = json.loads((trained_dir / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    for h in history:
        assert math.isfinite(h["train_loss"]) and math.isfinite(h["val_loss"]) and h["lr"] > 0
    assert json.loads((trained_dir / "args.json").read_text())["family"] == "conv"
    assert not [p for p in trained_dir.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".")]


def test_model_file_is_weights_only_with_exact_keys(model_path, dataset_path):
    payload = torch.load(model_path, map_location="cpu", weights_only=True)
    assert set(payload) == {*CHECKPOINT_KEYS, "env_id"} == {"config", "state_dict", "env_config", "normalisation", "env_id"}
    assert payload["env_id"] == "KS-Control-v0"
    assert payload["config"]["family"] == "conv" and payload["config"]["width"] == 16
    assert payload["env_config"]["L"] == 22.0
    assert payload["normalisation"]["u_scale"] > 0
    assert all(isinstance(v, torch.Tensor) for v in payload["state_dict"].values())


def test_load_surrogate_matches_payload(model_path):
    model, env_config = load_surrogate(model_path)
    assert not model.training
    payload = torch.load(model_path, map_location="cpu", weights_only=True)
    assert env_config == payload["env_config"]
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, payload["state_dict"][k], rtol=0, atol=0)
    twin = build_model(config_from_dict(payload["config"]), payload["state_dict"]["forcing_shapes"].numpy(), payload["normalisation"]["u_scale"])
    twin.load_state_dict(payload["state_dict"])
    g = torch.Generator().manual_seed(0)
    u, a = torch.randn(3, 64, generator=g), torch.rand(3, 4, generator=g) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(model(u, a), twin(u, a), rtol=0, atol=0)
    # the trained model is not the identity any more
    with torch.no_grad():
        assert not torch.allclose(model(u, a), u, atol=1e-6)


@pytest.mark.parametrize("family", ["resnet", "node", "conv"])
def test_save_load_round_trip(tmp_path, family):
    env = KSControlEnv()
    torch.manual_seed(0)
    model = build_model(make_config(family, **TINY), env.forcing_fields(np.eye(4)), 1.3)
    perturb_last_layer(model)
    path = tmp_path / "m.pt"
    save_surrogate(model, env.config_dict(), path)
    loaded, cfg = load_surrogate(path, expect_env_config=env.config_dict())
    assert loaded.config == model.config
    assert float(loaded.u_scale) == pytest.approx(1.3)
    g = torch.Generator().manual_seed(1)
    u, a = torch.randn(4, 64, generator=g), torch.rand(4, 4, generator=g) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(loaded(u, a), model(u, a), rtol=0, atol=0)


def _final_state(out):
    return torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)


def test_resume_after_interruption_equals_uninterrupted(dataset_path, tmp_path, monkeypatch):
    full = tmp_path / "full"
    train_surrogate(tiny_args(dataset_path, full, epochs=3))

    # a run of 3 epochs killed after the checkpoint of epoch 2 was written
    cut = tmp_path / "cut"
    original = train_mod.write_json_atomic
    calls = {"history": 0}

    def write(path, data):
        if str(path).endswith("history.json"):
            calls["history"] += 1
            if calls["history"] == 2:
                raise KeyboardInterrupt
        return original(path, data)

    monkeypatch.setattr(train_mod, "write_json_atomic", write)
    with pytest.raises(KeyboardInterrupt):
        train_surrogate(tiny_args(dataset_path, cut, epochs=3))
    monkeypatch.setattr(train_mod, "write_json_atomic", original)
    assert _final_state(cut)["epoch"] == 2
    torch.manual_seed(999)  # the global generator state must not matter on resume
    np.random.seed(999)
    train_surrogate(tiny_args(dataset_path, cut, epochs=3), resume=True)

    history = json.loads((cut / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    ref = json.loads((full / "history.json").read_text())
    for a, b in zip(history, ref):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-6)
    sa, sb = _final_state(cut)["model"], _final_state(full)["model"]
    for k in sb:
        torch.testing.assert_close(sa[k], sb[k], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_resume_extending_epochs(dataset_path, tmp_path, noise):
    """Train 2 epochs, then resume to 3: history 1, 2, 3 and the same model as an uninterrupted 3-epoch run."""
    two = tmp_path / "two"
    train_surrogate(tiny_args(dataset_path, two, epochs=2, input_noise=noise))
    train_surrogate(tiny_args(dataset_path, two, epochs=3, input_noise=noise), resume=True)
    history = json.loads((two / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    full = tmp_path / "full"
    train_surrogate(tiny_args(dataset_path, full, epochs=3, input_noise=noise))
    ref = json.loads((full / "history.json").read_text())
    assert [h["train_loss"] for h in history] == pytest.approx([h["train_loss"] for h in ref], rel=1e-6)
    assert [h["lr"] for h in history] == pytest.approx([h["lr"] for h in ref], rel=1e-9)
    sa, sb = _final_state(two)["model"], _final_state(full)["model"]
    for k in sb:
        torch.testing.assert_close(sa[k], sb[k], rtol=1e-6, atol=1e-7)


def test_resume_without_checkpoint_refused(dataset_path, tmp_path):
    with pytest.raises(ValueError, match="checkpoint.pt"):
        train_surrogate(tiny_args(dataset_path, tmp_path / "empty"), resume=True)


def test_resume_from_another_family_refused(dataset_path, trained_dir, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(trained_dir, out)
    with pytest.raises(ValueError, match="another run"):
        train_surrogate(tiny_args(dataset_path, out, family="resnet", epochs=3), resume=True)


def test_mismatch_refused(model_path):
    with pytest.raises(ValueError) as info:
        load_surrogate(model_path, expect_env_config=KSControlEnv(L=20.0).config_dict())
    msg = str(info.value)
    assert str(model_path) in msg and "L" in msg and "20.0" in msg and "22.0" in msg
    with pytest.raises(ValueError, match="frame_skip"):
        load_surrogate(model_path, expect_env_config=KSControlEnv(frame_skip=4).config_dict())


def test_unknown_family_refused(model_path, tmp_path):
    payload = torch.load(model_path, map_location="cpu", weights_only=True)
    payload["config"]["family"] = "transformer"
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)
    with pytest.raises(ValueError) as info:
        load_surrogate(bad)
    assert "transformer" in str(info.value) and "bad.pt" in str(info.value)


def test_missing_keys_refused(model_path, tmp_path):
    payload = torch.load(model_path, map_location="cpu", weights_only=True)
    del payload["normalisation"]
    bad = tmp_path / "nokeys.pt"
    torch.save(payload, bad)
    with pytest.raises(ValueError, match="nokeys.pt"):
        load_surrogate(bad)


def test_missing_and_garbage_checkpoint_refused(tmp_path):
    with pytest.raises(ValueError, match="nowhere.pt"):
        load_surrogate(tmp_path / "nowhere.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all" * 10)
    with pytest.raises(ValueError, match="garbage.pt"):
        load_surrogate(garbage)


def test_horizon_longer_than_trajectories_refused_before_the_run_folder_is_made(dataset_path, tmp_path):
    with pytest.raises(ValueError, match="horizon"):
        train_surrogate(tiny_args(dataset_path, tmp_path / "h", horizon=50))
    assert not (tmp_path / "h").exists()


def test_a_dataset_without_validation_is_refused_before_the_run_folder_is_made(tmp_path):
    data = generate_dataset(DatasetSpec(n_trajectories=2, steps=4, fractions=(1.0, 0.0, 0.0)), tmp_path / "d.h5", progress=False)
    with pytest.raises(ValueError, match="no validation"):
        train_surrogate(tiny_args(data, tmp_path / "v"))
    assert not (tmp_path / "v").exists()


def test_a_finished_run_is_refused_unless_resume_or_overwrite(dataset_path, tmp_path):
    out = tmp_path / "run"
    train_surrogate(tiny_args(dataset_path, out, epochs=2))
    (out / "eval").mkdir()  # what else is in the folder is not the run's: --overwrite keeps it
    files = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(ValueError) as info:
        train_surrogate(tiny_args(dataset_path, out, epochs=1))
    msg = str(info.value)
    assert str(out / "checkpoint.pt") in msg and "--resume" in msg and "--overwrite" in msg
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == files
    with pytest.raises(ValueError, match="not both"):
        train_surrogate(tiny_args(dataset_path, out, epochs=1, overwrite=True), resume=True)
    train_surrogate(tiny_args(dataset_path, out, epochs=1, overwrite=True))
    assert [h["epoch"] for h in json.loads((out / "history.json").read_text())] == [1]
    assert _final_state(out)["epoch"] == 1 and (out / "eval").is_dir()
    fresh = tmp_path / "fresh"
    train_surrogate(tiny_args(dataset_path, fresh, epochs=1))
    for k, v in _final_state(fresh)["model"].items():  # a fresh run, as if the folder had been empty
        torch.testing.assert_close(_final_state(out)["model"][k], v, rtol=1e-6, atol=1e-7)


def test_a_folder_without_a_run_is_not_refused(dataset_path, tmp_path):
    out = tmp_path / "other"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    train_surrogate(tiny_args(dataset_path, out, epochs=1))
    assert (out / "notes.txt").read_text() == "mine" and (out / "model.pt").is_file()


def test_missing_dataset_refused(tmp_path):
    with pytest.raises(ValueError, match="nodata.h5"):
        train_surrogate(tiny_args(tmp_path / "nodata.h5", tmp_path / "o"))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"family": "mlp"}, "family"),
        ({"horizon": 0}, "horizon"),
        ({"epochs": 0}, "epochs"),
        ({"windows_per_epoch": True}, "windows_per_epoch"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"patience": -1}, "patience"),
        ({"warmup_epochs": -1}, "warmup_epochs"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"clip_grad": -1.0}, "clip_grad"),
        ({"max_minutes": 0.0}, "max_minutes"),
        ({"max_minutes": float("nan")}, "max_minutes"),
        ({"model_kwargs": {"bogus": 3}}, "bogus"),
        ({"model_kwargs": {"width": 0}}, "width"),
        ({"model_kwargs": {"N": 32}}, "may not set"),
        ({"model_kwargs": {"interval": 0.5}}, "interval"),
        ({"val_windows": 0}, "val_windows"),
        ({"input_noise": -0.1}, "input_noise"),
        ({"input_noise": float("nan")}, "input_noise"),
    ],
)
def test_train_args_bad_values(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TrainArgs(**kwargs)


def test_finished_flag_and_wall_time(dataset_path, tmp_path):
    """The checkpoint says why training stopped; wall time accumulates over resumed sessions."""
    out = tmp_path / "run"
    train_surrogate(tiny_args(dataset_path, out, epochs=2))
    assert _final_state(out)["finished"] == "epochs"
    first = json.loads((out / "history.json").read_text())
    train_surrogate(tiny_args(dataset_path, out, epochs=3), resume=True)
    history = json.loads((out / "history.json").read_text())
    walls = [h["wall_s"] for h in history]
    assert walls[:2] == [h["wall_s"] for h in first]
    assert all(b > a for a, b in zip(walls, walls[1:])), walls
    budget = tmp_path / "budget"
    train_surrogate(tiny_args(dataset_path, budget, epochs=50, max_minutes=1e-6))
    state = _final_state(budget)
    assert state["finished"] == "max_minutes" and state["epoch"] == 1


def test_torch_threads_kept_restores_the_count():
    from chaoscontrol.surrogates.threads import torch_threads_kept

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with torch_threads_kept() as kept:
            torch.set_num_threads(2)  # what Numba's OpenMP layer does to the process
            assert torch.get_num_threads() == 2
        assert kept == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_input_noise_changes_training(dataset_path, tmp_path):
    """The noise is really applied: the same run with noise has different training losses, same validation data."""
    a, b = tmp_path / "a", tmp_path / "b"
    train_surrogate(tiny_args(dataset_path, a, epochs=2))
    train_surrogate(tiny_args(dataset_path, b, epochs=2, input_noise=0.2))
    ha = json.loads((a / "history.json").read_text())
    hb = json.loads((b / "history.json").read_text())
    assert hb[0]["train_loss"] > 1.5 * ha[0]["train_loss"], (ha[0], hb[0])


def test_latent_pretraining_trains_the_autoencoder(dataset_path, tmp_path):
    """--pretrain-epochs minimises the reconstruction loss first (its training loss falls), with no early stop meanwhile."""
    from chaoscontrol.surrogates.dataset import load_dataset

    kw = dict(family="latent", model_kwargs={"latent_dim": 6, "width": 16, "depth": 1}, lr=1e-2, windows_per_epoch=64)
    torch.manual_seed(0)
    pre = tmp_path / "pre"
    train_surrogate(tiny_args(dataset_path, pre, epochs=22, **kw, pretrain_epochs=20, warmup_epochs=1, patience=2))
    state = _final_state(pre)
    assert state["epoch"] == 22 and state["finished"] == "epochs"  # patience 2 did not stop the 20 pretraining epochs
    history = json.loads((pre / "history.json").read_text())
    first, last = history[0]["train_loss"], history[19]["train_loss"]
    assert last < first / 3, (first, last)
    # the pretraining loss is the reconstruction error on training states
    model, _ = load_surrogate(pre / "model.pt")
    u = torch.as_tensor(load_dataset(dataset_path, "train").states[:, 0], dtype=torch.float32)
    with torch.no_grad():
        assert 0 < float(model.reconstruction_loss(u)) < first
    assert not torch.allclose(model.basis, torch.eye(64))  # training set the principal components (fit_basis)


def test_pretraining_needs_an_autoencoder():
    with pytest.raises(ValueError, match="pretrain_epochs"):
        TrainArgs(family="conv", pretrain_epochs=3)
    with pytest.raises(ValueError, match="pretrain_epochs"):
        TrainArgs(family="latent", pretrain_epochs=-1)
