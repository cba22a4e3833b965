"""`chaoscontrol train` and `chaoscontrol evaluate`: a tiny run end to end, resume, Ctrl-C, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.apps import cli
from chaoscontrol.agents.training import loop

HP = '{"n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 2, "policy_kwargs": {"net_arch": [16, 16]}}'
ENV_KWARGS = '{"burn_in": 10.0}'


def train_argv(out: Path, *extra: str, timesteps: int = 64) -> list[str]:
    return ["train", "--algo", "ppo", "--timesteps", str(timesteps), "--out", str(out), "--hyperparams", HP,
            "--max-episode-steps", "20", "--eval-freq", "32", "--eval-episodes", "2", "--checkpoint-freq", "32",
            "--env-kwargs", ENV_KWARGS, "--no-progress", *extra]


def state_of(out: Path) -> dict:
    """``state`` and ``timesteps`` of the run's ``status.json`` (the rest of the heartbeat is tested in test_training)."""
    status = json.loads((out / "status.json").read_text())
    return {"state": status["state"], "timesteps": status["timesteps"]}


def one_error_line(capsys, *words: str) -> str:
    captured = capsys.readouterr()
    lines = [x for x in captured.err.splitlines() if x.strip()]
    assert len(lines) == 1, captured.err
    assert "error" in lines[0] and "Traceback" not in captured.err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory) -> Path:
    """A tiny PPO run made with the command line."""
    out = tmp_path_factory.mktemp("cli") / "ppo"
    assert cli.main(train_argv(out)) == 0
    return out


def test_train_then_evaluate(cli_run, tmp_path, capsys):
    out = cli_run
    assert (out / "model.zip").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["args"]["env_kwargs"] == {"burn_in": 10.0} and config["args"]["timesteps"] == 64
    assert config["hyperparams"]["n_envs"] == 2 and config["hyperparams"]["n_steps"] == 32
    assert config["args"]["progress"] is False and config["args"]["wrappers"] == []
    assert state_of(out) == {"state": "finished", "timesteps": 64}
    rows = [json.loads(x) for x in (out / "evaluations.jsonl").read_text().splitlines()]
    assert [r["timesteps"] for r in rows] == [32, 64]

    ev = tmp_path / "eval"
    rc = cli.main(["evaluate", "--model", str(out / "model.zip"), "--episodes", "2", "--max-episode-steps", "20",
                   "--out", str(ev), "--no-progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "evaluation.json" in printed and "improvement" in printed
    report = json.loads((ev / "evaluation.json").read_text())
    assert report["env_kwargs"] == {"burn_in": 10.0}  # from the run folder, not the default burn-in
    assert report["model"] == str(out / "model.zip") and report["episodes"] == 2 and report["wrappers"] == []
    assert (ev / "evaluation.png").is_file()


def test_evaluate_options_override_the_run(cli_run, tmp_path):
    ev = tmp_path / "eval"
    rc = cli.main(["evaluate", "--model", str(cli_run / "model.zip"), "--episodes", "1", "--max-episode-steps", "20",
                   "--env-kwargs", '{"burn_in": 5.0}', "--wrap", "noise:0.1", "--perturbation", "actuator-noise",
                   "--level", "0.2", "--seed", "3", "--out", str(ev), "--no-progress"])
    assert rc == 0
    report = json.loads((ev / "evaluation.json").read_text())
    assert report["env_kwargs"] == {"burn_in": 5.0} and report["wrappers"] == ["noise:0.1"]
    assert report["perturbation"] == {"name": "actuator-noise", "level": 0.2} and report["seed"] == 3
    assert report["mean_return_ci95"] is None  # one episode
    rc = cli.main(["evaluate", "--model", "zero", "--episodes", "2", "--max-episode-steps", "20", "--env-kwargs", ENV_KWARGS,
                   "--wrap", "none", "--out", str(tmp_path / "zero"), "--no-progress"])
    assert rc == 0
    report = json.loads((tmp_path / "zero" / "evaluation.json").read_text())
    assert report["wrappers"] == [] and report["improvement"] == 0.0


def test_train_again_needs_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(train_argv(out, timesteps=32)) == 0
    capsys.readouterr()
    assert cli.main(train_argv(out, timesteps=64)) == 2
    one_error_line(capsys, "--resume")
    assert cli.main(train_argv(out, "--resume", timesteps=64)) == 0
    assert state_of(out) == {"state": "finished", "timesteps": 64}
    assert json.loads((out / "config.json").read_text())["args"]["timesteps"] == 64  # the resume's --timesteps
    assert cli.main(train_argv(out, "--resume", "--seed", "1", timesteps=96)) == 2
    one_error_line(capsys, "seed")


def test_ctrl_c_returns_130_and_says_resume(tmp_path, monkeypatch, capsys):
    real = loop.RunCallback

    def interrupting(*args, **kwargs):
        cb = real(*args, **kwargs)
        on_step = cb._on_step

        def _on_step():
            on_step()
            if cb.model.num_timesteps >= 40:
                raise KeyboardInterrupt
            return True

        cb._on_step = _on_step
        return cb

    monkeypatch.setattr(loop, "RunCallback", interrupting)
    out = tmp_path / "run"
    assert cli.main(train_argv(out, timesteps=128)) == 130
    assert "--resume" in capsys.readouterr().err
    assert state_of(out) == {"state": "interrupted", "timesteps": 40}
    assert (out / "checkpoints" / "step_40.zip").is_file()
    monkeypatch.setattr(loop, "RunCallback", real)
    assert cli.main(train_argv(out, "--resume", timesteps=128)) == 0
    assert json.loads((out / "status.json").read_text())["state"] == "finished"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("--algo", "a2c"), ("algo", "a2c")),
        (("--wrap", "sideways:0.1"), ("wrapper spec", "sideways")),
        (("--wrap", "noise:abc"), ("wrapper spec", "abc")),
        (("--hyperparams", '{"learning_rat": 0.001}'), ("learning_rat",)),
        (("--hyperparams", '{"n_envs": 0}'), ("n_envs",)),
        (("--hyperparams", "[1, 2]"), ("--hyperparams",)),
        (("--hyperparams", '{"policy_kwargs": [16, 16]}'), ("policy_kwargs",)),
        (("--env-kwargs", "{bad"), ("--env-kwargs",)),
        (("--env-kwargs", '{"sensor": 4}'), ("env_kwargs", "sensor")),
        (("--env", "KS-Other-v0"), ("env id",)),
        (("--config", "missing.yaml"), ("missing.yaml",)),
        (("--surrogate", "missing.pt"), ("missing.pt",)),
        (("--timesteps", "0"), ("timesteps",)),
    ],
)
def test_train_bad_argument_is_one_line_and_exit_2(tmp_path, capsys, change, words):
    out = tmp_path / "bad"
    argv = train_argv(out)
    flag, value = change
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    assert cli.main(argv) == 2
    line = one_error_line(capsys, *words)
    assert line.startswith("chaoscontrol train: error:")
    assert not (out / "config.json").exists()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--model", "missing.zip"], ("model", "missing.zip")),
        (["--model", "policy.pt"], ("model", "policy.pt")),
        (["--episodes", "0"], ("episodes",)),
        (["--wrap", "sideways:1"], ("sideways",)),
        (["--level", "-1", "--perturbation", "noise"], ("level",)),
        (["--perturbation", "sideways"], ("sideways",)),
        (["--env-kwargs", "[1]"], ("--env-kwargs",)),
    ],
)
def test_evaluate_bad_argument_is_one_line_and_exit_2(tmp_path, capsys, argv, words):
    out = tmp_path / "bad"
    options = {"--model": "zero", "--max-episode-steps": "5", "--episodes": "1", "--env-kwargs": ENV_KWARGS,
               "--out": str(out)}
    options.update(dict(zip(argv[::2], argv[1::2])))
    rc = cli.main(["evaluate", *(x for kv in options.items() for x in kv), "--no-progress"])
    assert rc == 2
    line = one_error_line(capsys, *words)
    assert line.startswith("chaoscontrol evaluate: error:")
    assert not (out / "evaluation.json").exists()
