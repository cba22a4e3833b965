"""The run folder of a training run (``chaoscontrol train --out DIR``): its files, written and read back.

- ``config.json``: the arguments, the resolved hyper-parameters, the env configuration, the seed, the
  package version and the git hash; a resume replaces the arguments by its own (its ``timesteps``...) and adds a
  line to ``sessions``;
- ``checkpoints/``: the checkpoints (:mod:`~chaoscontrol.agents.training.checkpoints`);
- ``evaluations.jsonl``: one line per evaluation on the **truth** env (``eval_episodes`` episodes, fixed
  seeds, deterministic actions, the training wrappers): steps, mean and std of the return, mean cost over
  the second half, wall time;
- ``best_model.zip`` (best evaluation so far) and ``model.zip`` (final), SB3's files, each with the policy files
  that are read without unpickling (``best_model.policy.json``, ``.policy.pt``, and ``.vecnormalize.npz`` with
  ``normalize``; :mod:`~chaoscontrol.agents.policies.saved`); ``vecnormalize.pkl``, SB3's statistics of the
  final model;
- ``tb/``: TensorBoard logs; ``timing.json``: wall time, time inside the env, and their ratio;
- ``status.json``: the heartbeat of the run (:mod:`~chaoscontrol.agents.training.status`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from chaoscontrol.agents.policies.saved import save_policy_files
from chaoscontrol.io import atomic_path, git_hash, write_json_atomic


def write_config(out: Path, args: Any, hyperparams: dict[str, Any], env_config: dict[str, Any]) -> None:
    """Write ``config.json``: what the run is, to resume it and to evaluate its policy as it was trained.

    :param out: the run folder.
    :param args: the run's :class:`~chaoscontrol.agents.training.args.AgentTrainArgs`.
    :param hyperparams: the resolved hyper-parameters.
    :param env_config: the env's configuration.
    """
    import torch

    from chaoscontrol import __version__

    write_json_atomic(out / "config.json", {
        "args": asdict(args), "hyperparams": hyperparams, "env_config": env_config, "seed": args.seed,
        "package_version": __version__, "git_hash": git_hash(), "torch_threads": torch.get_num_threads(),
    })


def record_resume(out: Path, args: Any, from_step: int) -> None:
    """Record a resume in ``config.json``: its arguments replace the run's (the keys that shape the run are equal;
    ``timesteps`` and the frequencies may differ), and ``sessions`` gets a line (the step it resumed from, its
    ``timesteps``, version and git hash).

    :param out: the run folder.
    :param args: the resume's :class:`~chaoscontrol.agents.training.args.AgentTrainArgs`.
    :param from_step: the step of the checkpoint it resumed from.
    """
    from chaoscontrol import __version__

    config = json.loads((out / "config.json").read_text())
    sessions = list(config.get("sessions") or [{"from_step": 0, "timesteps": config["args"].get("timesteps"),
                                                 "package_version": config.get("package_version"), "git_hash": config.get("git_hash")}])
    sessions.append({"from_step": int(from_step), "timesteps": args.timesteps, "package_version": __version__, "git_hash": git_hash()})
    write_json_atomic(out / "config.json", {**config, "args": asdict(args), "sessions": sessions})


def run_arguments(out: str | Path) -> dict[str, Any]:
    """The arguments the run in ``out`` was started with (``config.json``).

    :param out: the run folder.
    :raises ValueError: there is no ``config.json``, or it is not a training run's (no ``args`` of ``train``).
    """
    path = Path(out) / "config.json"
    if not path.is_file():
        raise ValueError(f"cannot resume: {str(path)!r} does not exist")
    try:
        config = json.loads(path.read_text())
        args = config["args"]
        if not (isinstance(args, dict) and "algo" in args and "timesteps" in args):
            raise KeyError("args")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{str(path)!r} is not the config.json of a training run ({exc!r}); choose another --out") from exc
    return args


#: What a run writes in its folder (files and folders, glob patterns): what ``--overwrite`` removes.
RUN_FILES = ("config.json", "status.json", "timing.json", "evaluations.jsonl", "vecnormalize.pkl", "model.zip", "model.*.*",
             "best_model.zip", "best_model.*.*", "checkpoints", "tb")


def clear_run_folder(out: Path) -> None:
    """Remove the files of a run from ``out`` (:data:`RUN_FILES`; anything else there is left alone).

    :param out: the run folder (it may not exist).
    """
    import shutil

    for pattern in RUN_FILES:
        for path in out.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def append_evaluation(out: Path, row: dict[str, Any]) -> None:
    """Append one evaluation's line to ``evaluations.jsonl``.

    :param out: the run folder.
    :param row: the evaluation (steps, returns, cost, wall time).
    """
    with open(out / "evaluations.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")


def evaluation_rows(out: Path) -> list[dict[str, Any]]:
    """The lines of ``out/evaluations.jsonl`` (none if it does not exist).

    :param out: the run folder.
    """
    path = out / "evaluations.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def read_timing(out: Path) -> dict[str, float]:
    """Wall and env seconds of the run's earlier sessions (``timing.json``; zeros if there is none).

    :param out: the run folder.
    """
    timing = {"wall_s": 0.0, "env_s": 0.0}
    if (out / "timing.json").exists():
        timing.update(json.loads((out / "timing.json").read_text()))
    return timing


def write_timing(out: Path, wall_s: float, env_s: float, steps: int) -> None:
    """Write ``timing.json``: wall time, time inside the env, their ratio and the step counter, summed over sessions.

    :param out: the run folder.
    :param wall_s: wall seconds.
    :param env_s: seconds inside the env.
    :param steps: env steps done.
    """
    write_json_atomic(out / "timing.json", {"wall_s": wall_s, "env_s": env_s, "env_fraction": env_s / wall_s if wall_s else None,
                                            "timesteps": steps})


def save_best_model(model: Any, out: Path, venv: Any = None, run: dict[str, Any] | None = None) -> None:
    """Write ``best_model.zip`` and its policy files (with the statistics of a ``VecNormalize`` ``venv`` now), each
    atomically.

    :param model: the SB3 model.
    :param out: the run folder.
    :param venv: its training env.
    :param run: the run's :func:`~chaoscontrol.agents.policies.saved.run_metadata`.
    """
    save_policy_files(model, out / "best_model", venv, run)
    with atomic_path(out / "best_model.zip") as tmp:
        model.save(tmp)


def save_final_model(model: Any, venv: Any, out: Path, run: dict[str, Any] | None = None) -> Path:
    """Write ``model.zip``, its policy files and, for a ``VecNormalize`` training env, ``vecnormalize.pkl`` (each
    atomically, ``model.zip`` last).

    :param model: the SB3 model.
    :param venv: its training env.
    :param out: the run folder.
    :param run: the run's :func:`~chaoscontrol.agents.policies.saved.run_metadata`.
    :return: the path of ``model.zip``.
    """
    from stable_baselines3.common.vec_env import VecNormalize

    if isinstance(venv, VecNormalize):
        with atomic_path(out / "vecnormalize.pkl") as tmp:
            venv.save(tmp)
    save_policy_files(model, out / "model", venv, run)
    with atomic_path(out / "model.zip") as tmp:
        model.save(tmp)
    return out / "model.zip"


__all__ = ["RUN_FILES", "append_evaluation", "clear_run_folder", "evaluation_rows", "read_timing", "record_resume", "run_arguments", "save_best_model",
           "save_final_model", "write_config", "write_timing"]
