"""The project's own policy files, read without unpickling; an SB3 zip or pickle only with ``trust_pickle``.

An SB3 ``.zip`` is decoded with cloudpickle and a ``vecnormalize*.pkl`` with ``pickle``: reading either runs whatever
code its author put in it. So every time a run saves a model (``OUT/model``, ``OUT/best_model``,
``OUT/checkpoints/step_<n>``; call it ``STEM``) it also writes, next to ``STEM.zip``:

- ``STEM.policy.json``: what the policy is (:func:`~chaoscontrol.agents.policies.description.describe_policy`: the
  algorithm, the policy class and its keywords, the spaces), the step counters, what a loader needs of the run
  (``run``: the env id and keywords and ``symmetry_reduced`` of its symmetry frame, the ``residual`` baseline,
  ``normalize``), and the names and SHA-256 of the two files below;
- ``STEM.policy.pt``: the weights, ``model.get_parameters()`` (the policy's and the optimisers' state dicts) and
  SB3's torch variables (SAC's ``log_ent_coef``), tensors only, read with ``torch.load(..., weights_only=True)``;
- ``STEM.vecnormalize.npz`` (``normalize: true`` only): the ``VecNormalize`` statistics as arrays
  (:mod:`~chaoscontrol.agents.policies.normalisation`), read with ``allow_pickle=False``.

Loaders read these by default; without them (an SB3 zip from elsewhere, or a run saved before they were written)
they refuse with an error naming ``--trust-pickle`` (``trust_pickle=True``), which allows the SB3 zip and pickles.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from chaoscontrol.agents.policies.description import build_policy, describe_policy
from chaoscontrol.agents.policies.normalisation import NormalisationStatistics, read_normalisation
from chaoscontrol.agents.policies.run_files import run_config
from chaoscontrol.agents.systems import DEFAULT_ENV_ID
from chaoscontrol.io import atomic_path, write_json_atomic

DESCRIPTION_SUFFIX = ".policy.json"
WEIGHTS_SUFFIX = ".policy.pt"
NORMALISATION_SUFFIX = ".vecnormalize.npz"
FORMAT = "chaoscontrol-policy"
VERSION = 1
#: The flag (and keyword ``trust_pickle``) that allows unpickling an SB3 zip or a pickle.
TRUST_FLAG = "--trust-pickle"


def policy_stem(path: str | Path) -> Path:
    """``OUT/model`` for ``OUT/model.zip`` (or for ``OUT/model.policy.json``)."""
    path = Path(path)
    name = path.name
    for suffix in (".zip", DESCRIPTION_SUFFIX):
        if name.endswith(suffix):
            return path.with_name(name[: -len(suffix)])
    return path


def policy_file(path: str | Path, suffix: str) -> Path:
    """The file with ``suffix`` (:data:`DESCRIPTION_SUFFIX`...) that belongs to the model file ``path``."""
    stem = policy_stem(path)
    return stem.with_name(stem.name + suffix)


def has_policy_files(path: str | Path) -> bool:
    """Whether the model file ``path`` has its description (``STEM.policy.json``) beside it."""
    return policy_file(path, DESCRIPTION_SUFFIX).is_file()


def untrusted_error(path: str | Path, what: str = "policy") -> ValueError:
    """The refusal to unpickle ``path``, naming :data:`TRUST_FLAG`.

    :param path: the SB3 zip or pickle.
    :param what: what it is, for the message.
    """
    return ValueError(f"{what} {str(path)!r} has no {policy_file(path, DESCRIPTION_SUFFIX).name} beside it (not saved by "
                      f"chaoscontrol, or before it wrote one): reading its SB3 zip and pickles would run any code they "
                      f"hold; pass {TRUST_FLAG} (trust_pickle=True) only if you trust the file")


def run_metadata(args: Mapping[str, Any], normalize: bool) -> dict[str, Any]:
    """What a loader needs of a policy's run (the ``run`` of a description).

    :param args: the run's arguments (``AgentTrainArgs`` as a dict, or ``config.json``'s ``args``).
    :param normalize: whether the run normalised its observations.
    """
    return {"env_id": args.get("env_id") or DEFAULT_ENV_ID, "env_kwargs": dict(args.get("env_kwargs") or {}),
            "symmetry_reduced": bool(args.get("symmetry_reduced")), "residual": args.get("residual"),
            "normalize": bool(normalize)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_policy_files(model: Any, stem: str | Path, venv: Any = None, run: Mapping[str, Any] | None = None) -> Path:
    """Write the policy files of ``model`` at ``stem`` (module docstring), each atomically, the description last.

    :param model: the SB3 algorithm.
    :param stem: the path without suffix (``OUT/model``), or the model's ``.zip`` path.
    :param venv: its training env: the statistics of a ``VecNormalize`` are saved.
    :param run: the run's :func:`run_metadata` (default: none, a policy without normalisation, frame or residual).
    :return: the description's path.
    :raises TypeError: a policy that cannot be described (naming the keyword).
    """
    import torch
    from stable_baselines3 import __version__ as sb3_version
    from stable_baselines3.common.save_util import recursive_getattr
    from stable_baselines3.common.vec_env import VecNormalize

    description = describe_policy(model.policy)
    files: dict[str, Any] = {"normalisation": None}
    if isinstance(venv, VecNormalize):
        path = policy_file(stem, NORMALISATION_SUFFIX)
        with atomic_path(path) as tmp:
            NormalisationStatistics.of(venv).save(tmp)
        files["normalisation"] = {"name": path.name, "sha256": _sha256(path)}
    variables = {}
    for name in model._get_torch_save_params()[1]:
        value = recursive_getattr(model, name)
        if value is not None:
            variables[name] = value.detach().cpu().clone()
    path = policy_file(stem, WEIGHTS_SUFFIX)
    with atomic_path(path) as tmp:
        torch.save({"parameters": model.get_parameters(), "variables": variables}, tmp)
    files["weights"] = {"name": path.name, "sha256": _sha256(path)}
    document = {
        "format": FORMAT, "version": VERSION, "algo": type(model).__name__.lower(), **description,
        "num_timesteps": int(model.num_timesteps),
        "counters": {"n_updates": int(getattr(model, "_n_updates", 0)), "episode_num": int(getattr(model, "_episode_num", 0))},
        "run": dict(run or {}), "files": files, "stable_baselines3": sb3_version,
    }
    path = policy_file(stem, DESCRIPTION_SUFFIX)
    write_json_atomic(path, document)
    return path


@dataclass(frozen=True)
class LoadedModel:
    """A model read from its policy files: what acting, checking spaces and attacking need of an SB3 algorithm
    (``policy``, ``predict``, the spaces, ``num_timesteps``), without its training state."""

    policy: Any
    """The SB3 policy network with its weights (evaluation mode, CPU)."""
    algo: str
    """The algorithm that trained it (``ppo``, ``sac``, ``td3``, ``ddpg``)."""
    num_timesteps: int
    """Env steps it was trained for."""

    @property
    def observation_space(self) -> Any:
        """The policy's observation space."""
        return self.policy.observation_space

    @property
    def action_space(self) -> Any:
        """The policy's action space."""
        return self.policy.action_space

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False) -> tuple[Any, Any]:
        """``policy.predict``, as the SB3 algorithm's ``predict`` calls it."""
        return self.policy.predict(observation, state, episode_start, deterministic)


@dataclass(frozen=True)
class SavedPolicy:
    """The policy files of one save, read and checked (nothing unpickled)."""

    path: Path
    """The description file."""
    description: dict[str, Any]
    """Its contents."""
    parameters: dict[str, Any]
    """State dicts by name: ``policy``, and the optimisers' (``policy.optimizer``, ``actor.optimizer``...)."""
    variables: dict[str, Any]
    """SB3's torch variables (SAC's ``log_ent_coef``)."""
    normalisation: NormalisationStatistics | None
    """The ``VecNormalize`` statistics, if the run normalised."""

    @property
    def run(self) -> dict[str, Any]:
        """The run's :func:`run_metadata` (empty for a loose policy)."""
        return dict(self.description.get("run") or {})

    def model(self) -> LoadedModel:
        """The model with its policy network rebuilt and its weights loaded.

        :raises ValueError: naming the description if it does not describe a network its weights fit.
        """
        try:
            policy = build_policy(self.description, self.parameters["policy"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"policy {str(self.path)!r}: cannot rebuild the network: {exc}") from exc
        return LoadedModel(policy, str(self.description.get("algo")), int(self.description.get("num_timesteps", 0)))


def read_description(path: str | Path) -> dict[str, Any]:
    """The description of the model file ``path`` (its ``STEM.policy.json``).

    :raises ValueError: naming the file if it is missing, not JSON or not a policy description.
    """
    file = policy_file(path, DESCRIPTION_SUFFIX)
    try:
        document = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"policy description {str(file)!r} is unreadable: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{str(file)!r} is not a chaoscontrol policy description (format {FORMAT!r})")
    if document.get("version") != VERSION:
        raise ValueError(f"policy description {str(file)!r} has version {document.get('version')!r}; this version reads {VERSION}")
    return document


def _checked(folder: Path, entry: Any, what: str) -> Path:
    """The file of a description's ``files`` entry, after checking its SHA-256."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or Path(entry["name"]).name != entry["name"]:
        raise ValueError(f"its {what} entry {entry!r} is not a file name beside it")
    path = folder / entry["name"]
    if not path.is_file():
        raise ValueError(f"its {what} {str(path)!r} is missing")
    if _sha256(path) != entry.get("sha256"):
        raise ValueError(f"its {what} {str(path)!r} is not the file it was saved with (SHA-256 differs: corrupt or replaced)")
    return path


def read_policy_files(path: str | Path) -> SavedPolicy:
    """The policy files of the model file ``path`` (``OUT/model.zip`` or its ``.policy.json``), read without unpickling.

    :raises ValueError: naming the file at fault: missing, unreadable, corrupt (SHA-256), or not tensors only.
    """
    import torch

    document = read_description(path)
    file = policy_file(path, DESCRIPTION_SUFFIX)
    files = document.get("files") or {}
    try:
        weights = _checked(file.parent, files.get("weights"), "weights")
        payload = torch.load(weights, map_location="cpu", weights_only=True)
        if not (isinstance(payload, dict) and isinstance(payload.get("parameters"), dict) and "policy" in payload["parameters"]):
            raise ValueError(f"its weights {str(weights)!r} hold no policy state dict")
        normalisation = None
        if files.get("normalisation") is not None:
            normalisation = read_normalisation(_checked(file.parent, files["normalisation"], "VecNormalize statistics"))
    except ValueError as exc:
        raise ValueError(f"policy {str(file)!r}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - torch's refusals (weights_only) and read errors are the file's fault
        raise ValueError(f"policy {str(file)!r}: its weights are unreadable as tensors: {exc}") from exc
    if (document.get("run") or {}).get("normalize") and normalisation is None:
        raise ValueError(f"policy {str(file)!r} was trained with normalize=true but names no VecNormalize statistics")
    return SavedPolicy(file, document, dict(payload["parameters"]), dict(payload.get("variables") or {}), normalisation)


def policy_run(path: str | Path) -> dict[str, Any]:
    """What a loader needs of the run of the model file ``path``: its description's ``run``, else (a model without
    one) from its run folder's ``config.json``, else nothing.

    :param path: a model file.
    """
    if has_policy_files(path):
        return dict(read_description(path).get("run") or {})
    config = run_config(path)
    if not config:
        return {}
    return run_metadata(config.get("args") or {}, bool((config.get("hyperparams") or {}).get("normalize")))


__all__ = ["DESCRIPTION_SUFFIX", "NORMALISATION_SUFFIX", "TRUST_FLAG", "WEIGHTS_SUFFIX", "LoadedModel", "SavedPolicy", "has_policy_files",
           "policy_file", "policy_run", "policy_stem", "read_description", "read_policy_files", "run_metadata",
           "save_policy_files", "untrusted_error"]
