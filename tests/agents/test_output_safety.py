"""Nothing replaced silently (issue 20): ``evaluate --out`` and ``train --out`` refuse what is there unless told.

- ``evaluate``: an existing evaluation (``evaluation.json`` or ``.png``) is kept unless ``--overwrite``.
- ``train``: a folder that holds a run (finished or stopped), the start of another run, or files of no training run is
  refused unless ``--resume`` (the same run) or ``--overwrite`` (its run files removed first, other files kept); the
  start of this same run that never reached a checkpoint is started again.
"""

from __future__ import annotations

import json

import pytest

from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent
from chaoscontrol.agents.training import train_agent
from chaoscontrol.apps import cli

from tiny_runs import ENV_KWARGS, targs

SMALL = dict(timesteps=64, eval_freq=32, checkpoint_freq=32)


def _evaluate(out, **kwargs):
    args = dict(model="zero", episodes=1, max_episode_steps=3, env_kwargs=ENV_KWARGS, out=str(out))
    return evaluate_agent(AgentEvaluateArgs(**{**args, **kwargs}), progress=False)


def test_evaluate_refuses_to_replace_an_evaluation_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "eval"
    _evaluate(out)
    before = {name: (out / name).read_bytes() for name in ("evaluation.json", "evaluation.png")}
    with pytest.raises(ValueError) as info:
        _evaluate(out, seed=1)
    assert "--overwrite" in str(info.value) and "evaluation.json" in str(info.value) and "--resume" not in str(info.value)
    assert {name: (out / name).read_bytes() for name in before} == before
    (out / "evaluation.json").unlink()  # a figure alone is an evaluation too
    with pytest.raises(ValueError, match="--overwrite"):
        _evaluate(out, seed=1)
    report = _evaluate(out, seed=1, overwrite=True)
    assert json.loads((out / "evaluation.json").read_text())["seed"] == report["seed"] == 1
    argv = ["evaluate", "--model", "zero", "--episodes", "1", "--max-episode-steps", "3", "--env-kwargs",
            json.dumps(ENV_KWARGS), "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and "--overwrite" in err[0]
    assert cli.main([*argv, "--overwrite"]) == 0


def _rows(out):
    return [json.loads(x)["timesteps"] for x in (out / "evaluations.jsonl").read_text().splitlines()]


def test_train_refuses_a_foreign_folder_and_overwrite_keeps_what_is_not_a_run(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError) as info:
        train_agent(targs(out, **SMALL))
    assert "--overwrite" in str(info.value) and "--resume" not in str(info.value) and "no training run" in str(info.value)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    (out / "config.json").write_text(json.dumps({"args": {"policy": "zero", "levels": [0.1]}}))  # a robustness sweep's
    with pytest.raises(ValueError, match="not the config.json of a training run"):
        train_agent(targs(out, **SMALL), resume=True)
    train_agent(targs(out, overwrite=True, **SMALL))
    assert (out / "notes.txt").read_text() == "mine" and (out / "model.zip").is_file()


def test_train_overwrite_replaces_a_finished_run_and_resume_with_overwrite_is_refused(tmp_path):
    out = tmp_path / "run"
    train_agent(targs(out, **SMALL))
    with pytest.raises(ValueError) as info:
        train_agent(targs(out, seed=1, **SMALL))
    assert "--resume" in str(info.value) and "--overwrite" in str(info.value) and "finished" in str(info.value)
    with pytest.raises(ValueError, match="not both"):
        train_agent(targs(out, overwrite=True, **SMALL), resume=True)
    assert _rows(out) == [32, 64] and sorted(p.name for p in (out / "checkpoints").glob("*.zip")) == ["step_32.zip", "step_64.zip"]
    train_agent(targs(out, seed=1, overwrite=True, timesteps=32, eval_freq=64, checkpoint_freq=64))  # one PPO update: 64 steps
    config = json.loads((out / "config.json").read_text())
    assert config["args"]["seed"] == 1 and "sessions" not in config
    assert _rows(out) == [64]  # the old run's evaluations are gone, not appended to
    assert sorted(p.name for p in (out / "checkpoints").glob("*.zip")) == ["step_64.zip"]


def test_the_start_of_the_same_run_is_started_again_but_not_another_runs(tmp_path):
    """A run stopped before its first checkpoint left config.json (and evaluations): the same command starts it
    again (as the demo pipeline does), from a clean folder; other arguments are refused (nothing to --resume)."""
    out = tmp_path / "run"
    train_agent(targs(out, **SMALL))
    for path in [*(out / "checkpoints").iterdir(), *out.glob("model*"), *out.glob("best_model*")]:
        path.unlink()
    (out / "status.json").unlink()
    with pytest.raises(ValueError) as info:
        train_agent(targs(out, seed=3, **SMALL))
    assert "seed" in str(info.value) and "--overwrite" in str(info.value) and "--resume" not in str(info.value)
    train_agent(targs(out, **SMALL))
    assert _rows(out) == [32, 64]
