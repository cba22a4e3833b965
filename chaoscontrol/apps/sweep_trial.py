"""One trial of a sweep: a ``train`` run and an ``evaluate`` run in the trial's folder, resumable.

The folder ``OUT/trials/<id>/`` holds

- ``trial.json``: the trial's configuration (:meth:`~chaoscontrol.apps.sweep_spec.Trial.record`), written first;
- ``train/``: the training run folder (``chaoscontrol train``: config.json, checkpoints, evaluations.jsonl, model.zip);
- ``evaluation/evaluation.json``: the final evaluation on the truth (``chaoscontrol evaluate``);
- ``trial.log``: what the trial's process printed.

:func:`trial_stage` says where a trial stands from its files alone, so that a sweep run again skips a finished
trial (its evaluation exists and its ``trial.json`` is this trial's), evaluates a trained one, resumes an interrupted
training from its newest checkpoint (``train --resume``) and starts the others. The trial runs in a process of its
own (``python -m chaoscontrol.apps.sweep_trial FOLDER``), whose thread counts are set before torch and Numba load.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from chaoscontrol.apps.sweep_spec import Trial
from chaoscontrol.io import write_json_atomic

#: The stages of a trial, as :func:`trial_stage` reads them from its folder.
STAGES = ("new", "resume", "evaluate", "done", "foreign")


def train_args(trial: Trial, folder: Path, resources: dict[str, Any]) -> Any:
    """The trial's ``AgentTrainArgs`` (checked when made), training into ``folder/train``.

    :param trial: the trial.
    :param folder: its folder.
    :param resources: the spec's resources (the thread counts).
    """
    from chaoscontrol.agents.training import AgentTrainArgs

    c, t = trial.config, trial.config["train"]
    return AgentTrainArgs(algo=c["algo"], env_id=c["env_id"], env_kwargs=dict(c["env_kwargs"]), surrogate=c["surrogate"],
                          wrappers=tuple(c["wrappers"]), seed=trial.seed, timesteps=t["timesteps"], out=str(folder / "train"),
                          config=t["config"], hyperparams=dict(c["hyperparams"]), max_episode_steps=t["max_episode_steps"],
                          eval_freq=t["eval_freq"], eval_episodes=t["eval_episodes"], checkpoint_freq=t["checkpoint_freq"],
                          progress=False, torch_threads=resources["torch_threads"], numba_threads=resources["numba_threads"])


def evaluate_args(trial: Trial, folder: Path) -> Any:
    """The trial's ``AgentEvaluateArgs``: the final model on the truth, into ``folder/evaluation``.

    :param trial: the trial.
    :param folder: its folder.
    """
    from chaoscontrol.agents.evaluation import AgentEvaluateArgs

    e = trial.config["evaluation"]
    return AgentEvaluateArgs(model=str(folder / "train" / "model.zip"), episodes=e["episodes"], seed=e["seed"],
                             out=str(folder / "evaluation"), max_episode_steps=trial.config["train"]["max_episode_steps"],
                             overwrite=True)


def check_trial(trial: Trial, folder: Path, resources: dict[str, Any]) -> None:
    """Build the trial's arguments and resolve its hyper-parameters: what can be checked without running it.

    :raises ValueError: naming the trial and the argument at fault.
    """
    try:
        args = train_args(trial, folder, resources)
        args.resolved_hyperparams()
        evaluate_args(trial, folder)
    except ValueError as exc:
        raise ValueError(f"trial {trial.id}: {exc}") from None


def trial_stage(trial: Trial, folder: Path) -> str:
    """Where the trial in ``folder`` stands (one of :data:`STAGES`), from its files.

    - ``foreign``: ``trial.json`` there is another trial's (nothing is run: the sweep reports it);
    - ``done``: its evaluation is written;
    - ``evaluate``: its training finished (status ``finished`` and ``model.zip``);
    - ``resume``: its training has a checkpoint;
    - ``new``: nothing to continue.

    :param trial: the trial.
    :param folder: its folder.
    """
    record = folder / "trial.json"
    if record.is_file():
        try:
            if json.loads(record.read_text()) != json.loads(json.dumps(trial.record())):
                return "foreign"
        except ValueError:
            return "foreign"
    if (folder / "evaluation" / "evaluation.json").is_file() and record.is_file():
        return "done"
    train = folder / "train"
    status = train / "status.json"
    try:
        state = json.loads(status.read_text()).get("state") if status.is_file() else None
    except ValueError:
        state = None
    if state == "finished" and (train / "model.zip").is_file():
        return "evaluate"
    checkpoints = train / "checkpoints"
    if checkpoints.is_dir() and any(checkpoints.iterdir()):
        return "resume"
    return "new"


def _wait_for_earlier_process(train: Path, timeout_s: float = 180.0) -> None:
    """Wait while an earlier process of this trial (a sweep killed a moment ago) still trains in ``train``: it
    writes its checkpoint on the SIGTERM it got when its parent died, and then stops."""
    import time

    from chaoscontrol.agents.training.status import read_status

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            status = read_status(train)
        except ValueError:
            return
        if status is None or not status.live:
            return
        time.sleep(1.0)


def run_trial(folder: Path) -> dict[str, Any]:
    """Run the trial recorded in ``folder/trial.json`` from its stage to the end (in this process).

    :param folder: the trial's folder (``trial.json`` and ``resources.json`` written by the sweep).
    :return: ``{"stage": the stage it started from, "evaluation": the evaluation's summary}``.
    """
    from chaoscontrol.agents.evaluation import evaluate_agent
    from chaoscontrol.agents.training import train_agent

    record = json.loads((folder / "trial.json").read_text())
    trial = Trial(record["experiment"], record["seed"], record["config"])
    resources = json.loads((folder / "resources.json").read_text())
    stage = trial_stage(trial, folder)
    if stage == "foreign":
        raise ValueError(f"{folder}/trial.json is not trial {trial.id}'s")
    if stage in ("new", "resume"):
        args = train_args(trial, folder, resources)
        _wait_for_earlier_process(Path(args.out))
        if stage == "new":  # a start without a checkpoint is started again
            from dataclasses import replace

            args = replace(args, overwrite=True)
        train_agent(args, resume=stage == "resume")
    if stage != "done":
        evaluate_agent(evaluate_args(trial, folder), progress=False)
    report = json.loads((folder / "evaluation" / "evaluation.json").read_text())
    return {"stage": stage, "evaluation": {k: report.get(k) for k in ("improvement", "success_rate", "mean_return", "blowups")}}


def main(argv: list[str] | None = None) -> int:
    """``python -m chaoscontrol.apps.sweep_trial FOLDER``: run one trial; its result goes to ``FOLDER/result.json``.

    :param argv: ``[FOLDER]`` (default ``sys.argv[1:]``).
    :return: 0 when the trial finished, 130 interrupted, 1 failed (the error in ``result.json``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    folder = Path(argv[0])
    try:
        result = {"state": "done", **run_trial(folder)}
        status = 0
    except KeyboardInterrupt:
        result, status = {"state": "interrupted", "error": "interrupted (a checkpoint was written)"}, 130
    except Exception as exc:  # noqa: BLE001 - a failed trial is reported, never raised into the sweep
        import traceback

        traceback.print_exc()
        result, status = {"state": "failed", "error": f"{type(exc).__name__}: {exc}"}, 1
    write_json_atomic(folder / "result.json", result)
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
