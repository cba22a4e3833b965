"""The end-to-end pipeline (``chaoscontrol demo``) at a tiny size: every step runs, the report is written, a rerun skips."""

from __future__ import annotations

import json

import pytest

from chaoscontrol.apps.pipeline import run_pipeline
from chaoscontrol.apps.pipeline_args import PipelineArgs

TINY = dict(
    timesteps=128, hyperparams={"n_envs": 2, "n_steps": 32, "batch_size": 32, "policy_kwargs": {"net_arch": [8, 8]}},
    max_episode_steps=24, simulate_time=5.0, burn_in=5.0, dataset_trajectories=4, dataset_steps=20,
    surrogate_kwargs={"width": 4, "depth": 1}, surrogate_minutes=0.05, surrogate_epochs=2, eval_episodes=3,
    noise_levels=(0.0, 0.3), robustness_episodes=2, surrogate_eval_initial=3, surrogate_eval_lyapunov=0.3,
    surrogate_free_time=5.0, progress=False,
)


def test_tiny_pipeline_runs_end_to_end_and_resumes(tmp_path, capsys):
    out = tmp_path / "demo"
    report = run_pipeline(PipelineArgs(out=str(out), **TINY))
    text = report.read_text()
    for row in ("PPO trained on the truth", "PPO trained on the surrogate", "no control", "random actions"):
        assert f"| {row} |" in text
    # every figure the report links to exists
    for rel in ("robustness/robustness.png", "agent_truth_s0/eval/evaluation.png", "agent_surrogate_s0/eval/evaluation.png",
                "simulate/space_time.png", "surrogate/eval/report.md"):
        assert (out / rel).is_file(), rel
    # the surrogate-trained agent was trained on the surrogate and evaluated on the truth
    cfg = json.loads((out / "agent_surrogate_s0" / "config.json").read_text())
    assert cfg["args"]["surrogate"] == str(out / "surrogate" / "model.pt")
    ev = json.loads((out / "agent_surrogate_s0" / "eval" / "evaluation.json").read_text())
    assert ev["trained_on_surrogate"] == cfg["args"]["surrogate"]
    # no control against itself: improvement exactly 0, same cost
    zero = json.loads((out / "baselines" / "zero" / "evaluation.json").read_text())
    assert zero["improvement"] == 0.0 and zero["mean_cost_second_half"] == pytest.approx(zero["no_control_cost_second_half"])
    # the classical baseline is evaluated beside the agents and reported
    lqg = json.loads((out / "baselines" / "lqg" / "evaluation.json").read_text())
    assert lqg["model"] == "lqg" and lqg["episodes"] == TINY["eval_episodes"]
    assert "LQG about E1" in (out / "report.md").read_text()
    # the robustness sweep covers the requested levels
    levels = {float(line.split(",")[0]) for line in (out / "robustness" / "robustness.csv").read_text().splitlines()[1:]}
    assert levels == {0.0, 0.3}
    walls = json.loads((out / "wall.json").read_text())
    assert {"simulate", "dataset", "surrogate training", "agent on the truth, seed 0"} <= set(walls)
    # a rerun skips every step and rewrites the same report
    capsys.readouterr()
    mtime = (out / "agent_truth_s0" / "model.zip").stat().st_mtime
    run_pipeline(PipelineArgs(out=str(out), **TINY))
    log = capsys.readouterr().out
    assert log.count("done earlier, skipped") == len(walls) == 12, log
    assert not any(line.endswith(" ...") for line in log.splitlines()), log  # no step ran again
    assert (out / "agent_truth_s0" / "model.zip").stat().st_mtime == mtime


@pytest.mark.parametrize(
    "kwargs, name",
    [({"algo": "a2c"}, "algo"), ({"seeds": ()}, "seeds"), ({"timesteps": 0}, "timesteps"),
     ({"surrogate_family": "nope"}, "family"), ({"dataset_trajectories": 2}, "dataset_trajectories"),
     ({"surrogate_minutes": 0.0}, "surrogate_minutes")],
)
def test_pipeline_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PipelineArgs(**kwargs)
