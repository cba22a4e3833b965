"""Checkpoints of a training run, and resuming from the newest.

Every ``checkpoint_freq`` steps, on Ctrl-C or SIGTERM and on a crash, a run writes ``checkpoints/step_<n>.zip``
(and ``replay_<n>.pkl`` for off-policy algorithms, ``vecnormalize_<n>.pkl`` with ``normalize``), each atomically and
the ``.zip`` last, so a checkpoint is complete when its ``.zip`` exists; the two newest are kept. ``--resume``
continues from the newest with its replay buffer, normalisation statistics and step counter, to the (possibly
larger) ``timesteps``, if the arguments that shape the run (:data:`RESUME_KEYS`) are the run's.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any

from chaoscontrol.agents.hyperparams import Hyperparams
from chaoscontrol.agents.training.run_folder import run_arguments
from chaoscontrol.agents.training.args import AgentTrainArgs
from chaoscontrol.io import atomic_path

#: Args that must agree between a run and its resumption.
RESUME_KEYS = ("algo", "env_id", "env_kwargs", "surrogate", "wrappers", "seed", "config", "hyperparams", "max_episode_steps",
               "symmetry_reduced", "symmetry_augment", "adversarial_eps", "adversarial_fraction", "adversarial_attack", "residual",
               "residual_anchor")
#: Defaults of the arguments, for runs whose config.json predates an argument (it resumes with the default).
ARG_DEFAULTS = {f.name: f.default for f in fields(AgentTrainArgs) if f.default is not MISSING}


def checkpoint_steps(folder: Path) -> list[int]:
    """Steps of the complete checkpoints (their ``.zip`` exists; it is written last), ascending."""
    steps = []
    for path in folder.glob("step_*.zip"):
        match = re.fullmatch(r"step_(\d+)\.zip", path.name)
        if match:
            steps.append(int(match.group(1)))
    return sorted(steps)


def save_checkpoint(model: Any, venv: Any, folder: Path, keep: int = 2) -> Path:
    """Write replay buffer, normalisation statistics and model (in that order, each atomically) at the model's step.

    :param model: the SB3 model.
    :param venv: its training env (a ``VecNormalize`` has its statistics saved).
    :param folder: the run's ``checkpoints`` folder.
    :param keep: how many of the newest checkpoints are kept.
    :return: the path of the checkpoint's ``.zip``.
    """
    from stable_baselines3.common.vec_env import VecNormalize

    folder.mkdir(parents=True, exist_ok=True)
    n = int(model.num_timesteps)
    if hasattr(model, "replay_buffer") and model.replay_buffer is not None:
        with atomic_path(folder / f"replay_{n}.pkl") as tmp:
            model.save_replay_buffer(tmp)
    if isinstance(venv, VecNormalize):
        with atomic_path(folder / f"vecnormalize_{n}.pkl") as tmp:
            venv.save(tmp)
    with atomic_path(folder / f"step_{n}.zip") as tmp:
        model.save(tmp)
    for old in checkpoint_steps(folder)[:-keep]:
        for name in (f"step_{old}.zip", f"replay_{old}.pkl", f"vecnormalize_{old}.pkl"):
            (folder / name).unlink(missing_ok=True)
    return folder / f"step_{n}.zip"


def has_checkpoint(out: str | Path) -> bool:
    """Whether the run folder ``out`` has a complete checkpoint to ``--resume`` from.

    :param out: the run folder.
    """
    return bool(checkpoint_steps(Path(out) / "checkpoints"))


def check_run_folder(args: AgentTrainArgs, resume: bool) -> None:
    """Whether the run of ``args`` may start in its folder: a new run in a folder without one, or a resume of the run
    there, with the same arguments.

    :param args: the run's arguments.
    :param resume: whether the run continues from its newest checkpoint.
    :raises ValueError: a new run into a folder that already holds one, or a resume whose arguments differ from the
        run's (naming the keys), or with no checkpoint to resume from.
    """
    out = Path(args.out)
    if not resume:
        if checkpoint_steps(out / "checkpoints") or (out / "model.zip").exists():
            raise ValueError(f"{str(out)!r} already holds a run; pass --resume to continue it or choose another --out")
        return
    previous = run_arguments(out)
    now = json.loads(json.dumps(asdict(args)))
    diffs = [k for k in RESUME_KEYS if previous.get(k, ARG_DEFAULTS.get(k)) != now.get(k)]
    if diffs:
        raise ValueError(f"cannot resume {str(out)!r} with other arguments: {diffs} differ")
    if not checkpoint_steps(out / "checkpoints"):
        raise ValueError(f"cannot resume: no checkpoint in {str(out / 'checkpoints')!r}")


def load_checkpoint(cls: Any, args: AgentTrainArgs, hp: Hyperparams, venv: Any) -> tuple[Any, Any]:
    """The model of the newest checkpoint of the run of ``args``, on ``venv``, with its replay buffer and statistics.

    :param cls: the SB3 algorithm class.
    :param args: the run's arguments.
    :param hp: its hyper-parameters.
    :param venv: a fresh training stack of the run; it is reseeded (fresh episodes, not the first ones again).
    :return: (model, training env), the env with the checkpoint's normalisation statistics if any.
    """
    from stable_baselines3.common.vec_env import VecNormalize

    out = Path(args.out)
    folder = out / "checkpoints"
    n = checkpoint_steps(folder)[-1]
    venv.seed(args.seed + n)
    if hp.normalize:
        venv = VecNormalize.load(str(folder / f"vecnormalize_{n}.pkl"), venv.venv)
    noise = {"action_noise": hp.constructor_kwargs(venv.action_space.shape[0])["action_noise"]} if hp.action_noise else {}
    model = cls.load(folder / f"step_{n}.zip", env=venv, device="cpu", tensorboard_log=str(out / "tb"), **noise)
    if (folder / f"replay_{n}.pkl").exists():
        model.load_replay_buffer(folder / f"replay_{n}.pkl")
    return model, venv


__all__ = ["ARG_DEFAULTS", "RESUME_KEYS", "check_run_folder", "checkpoint_steps", "has_checkpoint", "load_checkpoint",
           "save_checkpoint"]
