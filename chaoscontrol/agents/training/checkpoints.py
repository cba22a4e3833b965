"""Checkpoints of a training run, and resuming from the newest readable one.

Every ``checkpoint_freq`` steps, on Ctrl-C or SIGTERM and on a crash, a run writes, at ``checkpoints/step_<n>``:
``step_<n>.replay.npz`` (off-policy algorithms: the replay buffer as arrays), ``vecnormalize_<n>.pkl`` and
``step_<n>.vecnormalize.npz`` (with ``normalize``), the policy files ``step_<n>.policy.pt`` / ``.policy.json``
(:mod:`~chaoscontrol.agents.policies.saved`: weights and optimiser states, tensors only) and SB3's
``step_<n>.zip``, each atomically and the ``.zip`` last, so a checkpoint is complete when its ``.zip`` exists; the
two newest are kept.

``--resume`` continues from the newest checkpoint with its replay buffer, normalisation statistics, optimiser
states and step counters, to the (possibly larger) ``timesteps``, if the arguments that shape the run
(:data:`RESUME_KEYS`) are the run's. It reads nothing by unpickling: the model is made afresh from the run's
arguments, as a new run makes it, and the checkpoint's tensors and arrays are put into it. A checkpoint without
policy files (written before they existed) is SB3's zip and pickles, which a resume reads only with
``--trust-pickle``. A checkpoint that cannot be read (a truncated or corrupt file) is moved to
``checkpoints/unreadable/step_<n>/`` with a warning, and the run resumes from the previous one.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any, Callable, Mapping

from chaoscontrol.agents.hyperparams import Hyperparams
from chaoscontrol.agents.policies.saved import has_policy_files, read_policy_files, save_policy_files, untrusted_error
from chaoscontrol.agents.training.args import AgentTrainArgs
from chaoscontrol.agents.training.replay_files import load_replay_buffer, save_replay_buffer
from chaoscontrol.agents.training.run_folder import run_arguments
from chaoscontrol.agents.training.status import read_status
from chaoscontrol.io import atomic_path, refuse_existing_output

#: Args that must agree between a run and its resumption.
RESUME_KEYS = ("algo", "env_id", "env_kwargs", "surrogate", "wrappers", "seed", "config", "hyperparams", "max_episode_steps",
               "symmetry_reduced", "symmetry_augment", "adversarial_eps", "adversarial_fraction", "adversarial_attack", "residual",
               "residual_anchor")
#: Defaults of the arguments, for runs whose config.json predates an argument (it resumes with the default).
ARG_DEFAULTS = {f.name: f.default for f in fields(AgentTrainArgs) if f.default is not MISSING}
#: Where the files of an unreadable checkpoint go (inside ``checkpoints/``).
UNREADABLE = "unreadable"


def checkpoint_steps(folder: Path) -> list[int]:
    """Steps of the complete checkpoints (their ``.zip`` exists; it is written last), ascending."""
    steps = []
    for path in folder.glob("step_*.zip"):
        match = re.fullmatch(r"step_(\d+)\.zip", path.name)
        if match:
            steps.append(int(match.group(1)))
    return sorted(steps)


def checkpoint_files(folder: Path, n: int) -> list[Path]:
    """The files of checkpoint ``n`` that exist (this version's and those of earlier versions)."""
    return sorted({*folder.glob(f"step_{n}.*"), *(folder / name for name in (f"replay_{n}.pkl", f"vecnormalize_{n}.pkl")
                                                     if (folder / name).exists())})


def save_checkpoint(model: Any, venv: Any, folder: Path, keep: int = 2, run: Mapping[str, Any] | None = None) -> Path:
    """Write replay buffer, normalisation statistics, policy files and model (in that order, each atomically) at the
    model's step, and remove all but the ``keep`` newest checkpoints.

    :param model: the SB3 model.
    :param venv: its training env (a ``VecNormalize`` has its statistics saved).
    :param folder: the run's ``checkpoints`` folder.
    :param keep: how many of the newest checkpoints are kept.
    :param run: the run's :func:`~chaoscontrol.agents.policies.saved.run_metadata`, for the policy description.
    :return: the path of the checkpoint's ``.zip``.
    """
    from stable_baselines3.common.vec_env import VecNormalize

    folder.mkdir(parents=True, exist_ok=True)
    n = int(model.num_timesteps)
    if getattr(model, "replay_buffer", None) is not None:
        with atomic_path(folder / f"step_{n}.replay.npz") as tmp:
            save_replay_buffer(model.replay_buffer, tmp)
    if isinstance(venv, VecNormalize):
        with atomic_path(folder / f"vecnormalize_{n}.pkl") as tmp:
            venv.save(tmp)
    save_policy_files(model, folder / f"step_{n}", venv, run)
    with atomic_path(folder / f"step_{n}.zip") as tmp:
        model.save(tmp)
    for old in checkpoint_steps(folder)[:-keep]:
        for path in checkpoint_files(folder, old):
            path.unlink(missing_ok=True)
    return folder / f"step_{n}.zip"


def has_checkpoint(out: str | Path) -> bool:
    """Whether the run folder ``out`` has a complete checkpoint to ``--resume`` from.

    :param out: the run folder.
    """
    return bool(checkpoint_steps(Path(out) / "checkpoints"))


def check_run_folder(args: AgentTrainArgs, resume: bool) -> None:
    """Whether the run of ``args`` may start in its folder, while no other process trains it there:

    - a new run: into a missing or empty folder, or one that holds only the start of this same run (its
      ``config.json`` with the same arguments, no checkpoint and no final model: it is started again);
    - ``--overwrite`` (``args.overwrite``): into any folder (the files of the run there are removed by
      :func:`~chaoscontrol.agents.training.run_folder.clear_run_folder` before anything is written);
    - ``--resume``: the run there, with the same arguments (:data:`RESUME_KEYS`), from its newest checkpoint.

    :param args: the run's arguments.
    :param resume: whether the run continues from its newest checkpoint.
    :raises ValueError: a run that another live process trains (:mod:`~chaoscontrol.agents.training.status`);
        ``--resume`` with ``--overwrite``; a new run into a folder that holds a run (finished, stopped, or with other
        arguments) or files of no training run, naming ``--resume`` and ``--overwrite``; a resume of a folder that
        holds no training run, whose arguments differ from the run's (naming the keys) or with no checkpoint.
    """
    import os

    out = Path(args.out)
    if resume and args.overwrite:
        refuse_existing_output(out, present=True, resume=True, overwrite=True)
    try:
        status = read_status(out)
    except ValueError:
        if not args.overwrite:
            raise
        status = None  # an unreadable status.json of a folder to be replaced
    if status is not None and status.live and status.pid != os.getpid():
        raise ValueError(f"{str(out)!r} is being trained now by pid {status.pid} on {status.host} (status.json: running, "
                         "heartbeat fresh); wait for it, or stop that process, before starting or resuming the run")
    if not resume:
        if args.overwrite:
            return
        held, resumable = _held_run(out, args, status)
        if held is not None:
            refuse_existing_output(out, present=True, what=f"run folder ({held})", resumable=resumable)
        return
    diffs = _differing_keys(run_arguments(out), args)
    if diffs:
        raise ValueError(f"cannot resume {str(out)!r} with other arguments: {diffs} differ")
    if not checkpoint_steps(out / "checkpoints"):
        raise ValueError(f"cannot resume: no checkpoint in {str(out / 'checkpoints')!r}")


def _held_run(out: Path, args: AgentTrainArgs, status: Any) -> tuple[str | None, bool]:
    """What in ``out`` a new run of ``args`` would replace (None if there is nothing to lose), and whether
    ``--resume`` could continue it (a run with a checkpoint), for the refusal."""
    if not out.is_dir() or not any(out.iterdir()):
        return None, False
    if checkpoint_steps(out / "checkpoints") or (out / "model.zip").exists():
        return "a run, " + (status.describe() if status is not None else "no status"), True
    try:
        previous = run_arguments(out)
    except ValueError:
        return "files of no training run", False
    diffs = _differing_keys(previous, args)
    return (f"the start of another run: {diffs} differ", False) if diffs else (None, False)


def _differing_keys(previous: Mapping[str, Any], args: AgentTrainArgs) -> list[str]:
    """The :data:`RESUME_KEYS` in which a run's recorded arguments ``previous`` and ``args`` differ."""
    now = json.loads(json.dumps(asdict(args)))
    return [k for k in RESUME_KEYS if previous.get(k, ARG_DEFAULTS.get(k)) != now.get(k)]


def load_checkpoint(args: AgentTrainArgs, hp: Hyperparams, venv: Any, new_model: Callable[[Any], Any],
                    trust_pickle: bool = False) -> tuple[Any, Any, Path]:
    """The model of the newest readable checkpoint of the run of ``args``, on ``venv``, with its replay buffer,
    statistics and counters (module docstring).

    :param args: the run's arguments.
    :param hp: its hyper-parameters.
    :param venv: a fresh training stack of the run; it is reseeded (fresh episodes, not the first ones again).
    :param new_model: makes the run's model, untrained, on a training stack (as a new run does).
    :param trust_pickle: allow a checkpoint without policy files (SB3's zip and pickles) to be unpickled.
    :return: (model, training env, the checkpoint's ``.zip``), the env with the checkpoint's statistics if any.
    :raises ValueError: a checkpoint that would have to be unpickled without ``trust_pickle`` (naming
        ``--trust-pickle``), or no readable checkpoint.
    """
    folder = Path(args.out) / "checkpoints"
    for n in reversed(checkpoint_steps(folder)):
        path = folder / f"step_{n}.zip"
        if not (has_policy_files(path) or trust_pickle):
            raise untrusted_error(path, "checkpoint")
        try:
            if has_policy_files(path):
                model, loaded = _restore(folder, n, hp, venv, new_model)
            else:
                model, loaded = _unpickle(folder, n, args, hp, venv)
        except Exception as exc:  # noqa: BLE001 - whatever fails to read, the previous checkpoint may be sound
            aside = _set_aside(folder, n)
            warnings.warn(f"checkpoint {str(path)!r} is unreadable ({exc}); its files were moved to {str(aside)!r} and the "
                          "run resumes from the previous checkpoint", RuntimeWarning, stacklevel=2)
            continue
        loaded.seed(args.seed + n)
        return model, loaded, path
    raise ValueError(f"cannot resume: no readable checkpoint in {str(folder)!r}")


def _set_aside(folder: Path, n: int) -> Path:
    """Move the files of checkpoint ``n`` into a new folder ``checkpoints/unreadable/step_<n>[.k]``; return it."""
    aside = folder / UNREADABLE / f"step_{n}"
    k = 0
    while aside.exists():
        k += 1
        aside = folder / UNREADABLE / f"step_{n}.{k}"
    aside.mkdir(parents=True)
    for file in checkpoint_files(folder, n):
        shutil.move(str(file), str(aside / file.name))
    return aside


def _restore(folder: Path, n: int, hp: Hyperparams, venv: Any, new_model: Callable[[Any], Any]) -> tuple[Any, Any]:
    """Checkpoint ``n`` from its policy files and arrays, into a model made afresh on ``venv``."""
    from stable_baselines3.common.save_util import recursive_setattr

    saved = read_policy_files(folder / f"step_{n}.zip")
    model = new_model(venv)
    model.set_parameters(saved.parameters, exact_match=True, device="cpu")
    for name, value in saved.variables.items():
        recursive_setattr(model, f"{name}.data", value.data)
    if getattr(model, "replay_buffer", None) is not None:
        load_replay_buffer(model.replay_buffer, folder / f"step_{n}.replay.npz")
    model.num_timesteps = int(saved.description["num_timesteps"])
    counters = saved.description.get("counters") or {}
    model._n_updates, model._episode_num = int(counters.get("n_updates", 0)), int(counters.get("episode_num", 0))
    if getattr(model, "use_sde", False):
        model.policy.reset_noise()
    if hp.normalize:
        if saved.normalisation is None:
            raise ValueError(f"{str(saved.path)!r} names no VecNormalize statistics")
        saved.normalisation.apply_to(venv)
    return model, venv


def _unpickle(folder: Path, n: int, args: AgentTrainArgs, hp: Hyperparams, venv: Any) -> tuple[Any, Any]:
    """Checkpoint ``n`` from SB3's zip and pickles (a checkpoint of an earlier version; trusted by the caller)."""
    from stable_baselines3.common.vec_env import VecNormalize

    from chaoscontrol.agents.hyperparams import algorithm_class

    if hp.normalize:
        venv = VecNormalize.load(str(folder / f"vecnormalize_{n}.pkl"), venv.venv)
    noise = {"action_noise": hp.constructor_kwargs(venv.action_space.shape[0])["action_noise"]} if hp.action_noise else {}
    model = algorithm_class(args.algo).load(folder / f"step_{n}.zip", env=venv, device="cpu",
                                            tensorboard_log=str(Path(args.out) / "tb"), **noise)
    if (folder / f"replay_{n}.pkl").exists():
        model.load_replay_buffer(folder / f"replay_{n}.pkl")
    return model, venv


__all__ = ["ARG_DEFAULTS", "RESUME_KEYS", "UNREADABLE", "check_run_folder", "checkpoint_files", "checkpoint_steps",
           "has_checkpoint", "load_checkpoint", "save_checkpoint"]
