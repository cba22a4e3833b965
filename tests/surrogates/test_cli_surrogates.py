"""`chaoscontrol dataset generate` and `chaoscontrol surrogate train` end to end, and their bad arguments."""

from __future__ import annotations

import json

import pytest
import torch

from chaoscontrol.apps.cli import main
from chaoscontrol.surrogates.dataset import load_dataset


def _gen_args(out, *extra):
    return ["dataset", "generate", "--out", str(out), "--trajectories", "4", "--steps", "6", "--seed", "2",
            "--fractions", "0.5", "0.25", "0.25", "--no-progress", *extra]


def _train_args(data, out, *extra):
    return ["surrogate", "train", "--model", "resnet", "--data", str(data), "--out", str(out),
            "--model-kwargs", '{"width": 16, "depth": 1, "substeps": 1}', "--horizon", "2", "--warmup-epochs", "1",
            "--epochs", "2", "--windows-per-epoch", "16", "--batch-size", "8", "--no-progress", *extra]


def test_dataset_generate_and_train_end_to_end(tmp_path, capsys):
    data = tmp_path / "d.h5"
    assert main(_gen_args(data, "--actuation", "ou")) == 0
    assert "wrote" in capsys.readouterr().out
    loaded = load_dataset(data)
    assert loaded.states.shape == (4, 7, 64)
    assert loaded.spec["actuation"] == "ou"
    out = tmp_path / "run"
    assert main(_train_args(data, out)) == 0
    assert "model.pt" in capsys.readouterr().out
    for name in ("model.pt", "checkpoint.pt", "history.json"):
        assert (out / name).is_file()
    assert torch.load(out / "model.pt", weights_only=True)["config"]["family"] == "resnet"
    assert main(_train_args(data, out, "--epochs", "3", "--resume")) == 0
    assert [h["epoch"] for h in json.loads((out / "history.json").read_text())] == [1, 2, 3]


def test_dataset_generate_env_kwargs(tmp_path):
    data = tmp_path / "l.h5"
    assert main(_gen_args(data, "--env-kwargs", '{"max_forcing": 0.25, "burn_in": 10}')) == 0
    assert load_dataset(data).env_config["max_forcing"] == 0.25


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--trajectories", "0"], "trajectories"),
        (["--steps", "-3"], "steps"),
        (["--hold", "0"], "hold"),
        (["--actuation", "sine"], "actuation"),
        (["--ou-sigma", "-1"], "ou_sigma"),
        (["--fractions", "0.5", "0.5", "0.5"], "fractions"),
        (["--batch", "0"], "batch"),
        (["--env-kwargs", "{not json"], "--env-kwargs"),
        (["--env-kwargs", '{"L": -1}'], "L"),
    ],
)
def test_dataset_generate_bad_arguments(tmp_path, capsys, extra, named):
    out = tmp_path / "bad.h5"
    assert main(_gen_args(out, *extra)) == 2
    err = capsys.readouterr().err
    assert "dataset generate: error" in err and named in err
    assert not out.exists()


def test_dataset_generate_unknown_env_kwarg(tmp_path, capsys):
    """An unknown env keyword is a usage error (exit 2 naming it), not a traceback."""
    out = tmp_path / "bad.h5"
    assert main(_gen_args(out, "--env-kwargs", '{"bogus_key": 1}')) == 2
    assert "bogus_key" in capsys.readouterr().err
    assert not out.exists()


def test_argparse_type_errors_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(_gen_args(tmp_path / "x.h5", "--trajectories", "many"))
    assert info.value.code == 2
    assert "--trajectories" in capsys.readouterr().err


@pytest.fixture(scope="module")
def cli_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli") / "d.h5"
    assert main(_gen_args(data)) == 0
    return data


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--model", "mlp"], "mlp"),
        (["--horizon", "0"], "horizon"),
        (["--epochs", "0"], "epochs"),
        (["--lr", "-1"], "lr"),
        (["--clip-grad", "0"], "clip_grad"),
        (["--warmup-epochs", "-1"], "warmup_epochs"),
        (["--max-minutes", "0"], "max_minutes"),
        (["--model-kwargs", '{"bogus": 1}'], "bogus"),
        (["--model-kwargs", "[1, 2"], "--model-kwargs"),
        (["--horizon", "50"], "horizon"),
        (["--resume"], "checkpoint.pt"),
    ],
)
def test_surrogate_train_bad_arguments(cli_data, tmp_path, capsys, extra, named):
    assert main(_train_args(cli_data, tmp_path / "o", *extra)) == 2
    err = capsys.readouterr().err
    assert "surrogate train: error" in err and named in err


def test_surrogate_train_missing_data(tmp_path, capsys):
    assert main(_train_args(tmp_path / "none.h5", tmp_path / "o")) == 2
    assert "none.h5" in capsys.readouterr().err


def test_dataset_generate_refuses_an_existing_out_unless_overwrite(tmp_path, capsys):
    data = tmp_path / "d.h5"
    assert main(_gen_args(data)) == 0
    capsys.readouterr()
    before = data.read_bytes()
    assert main(_gen_args(data, "--seed", "5")) == 2
    err = capsys.readouterr().err
    assert "dataset generate: error" in err and str(data) in err and "--overwrite" in err
    assert data.read_bytes() == before
    assert main(_gen_args(data, "--seed", "5", "--overwrite")) == 0
    assert load_dataset(data).spec["seed"] == 5


def test_dataset_generate_help_shows_resume_and_overwrite(capsys):
    with pytest.raises(SystemExit) as info:
        main(["dataset", "generate", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "--overwrite" in text and "--resume" in text


def test_dataset_generate_too_few_trajectories_for_the_splits(tmp_path, capsys):
    """``--trajectories 4`` with the default fractions: refused at generation, not later by ``surrogate train``."""
    out = tmp_path / "few.h5"
    argv = ["dataset", "generate", "--out", str(out), "--trajectories", "4", "--steps", "2", "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--trajectories" in err and "--fractions" in err and "validation" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_surrogate_train_refuses_a_finished_out_unless_resume_or_overwrite(cli_data, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_train_args(cli_data, out)) == 0
    capsys.readouterr()
    files = {name: (out / name).read_bytes() for name in ("model.pt", "checkpoint.pt", "history.json")}
    assert main(_train_args(cli_data, out, "--epochs", "1")) == 2
    err = capsys.readouterr().err
    assert "surrogate train: error" in err and str(out) in err and "--resume" in err and "--overwrite" in err
    assert {name: (out / name).read_bytes() for name in files} == files
    assert main(_train_args(cli_data, out, "--epochs", "1", "--overwrite")) == 0
    assert [h["epoch"] for h in json.loads((out / "history.json").read_text())] == [1]
    assert main(_train_args(cli_data, out, "--epochs", "2", "--resume")) == 0
    assert [h["epoch"] for h in json.loads((out / "history.json").read_text())] == [1, 2]


def test_surrogate_train_help_shows_overwrite(capsys):
    with pytest.raises(SystemExit):
        main(["surrogate", "train", "--help"])
    assert "--overwrite" in capsys.readouterr().out
