"""Trained policies as plain functions obs -> actions, with the run's observation normalisation applied.

A policy trained with ``symmetry_reduced`` is wrapped so that it sees observations in their canonical frame
(:func:`~chaoscontrol.agents.robust_training.symmetry_reduced_policy`). A policy trained with ``normalize: true`` sees ``VecNormalize``-scaled observations;
its statistics are saved next to it (``OUT/vecnormalize.pkl`` for ``model.zip`` and
``best_model.zip``, ``checkpoints/vecnormalize_<n>.pkl`` for ``checkpoints/step_<n>.zip``).
:func:`load_agent` finds and applies them, so that evaluation, the robustness
harness and dataset generation feed the policy what it was trained on.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np


def run_folder(path: str | Path) -> Path | None:
    """The run folder of a model file (the folder with ``config.json``), or None for a loose file."""
    path = Path(path).resolve()
    for folder in (path.parent, path.parent.parent):
        if (folder / "config.json").is_file():
            return folder
    return None


def run_config(path: str | Path) -> dict[str, Any] | None:
    """``config.json`` of the model's run folder, or None."""
    folder = run_folder(path)
    return json.loads((folder / "config.json").read_text()) if folder is not None else None


def normalisation_file(path: str | Path) -> Path | None:
    """The ``VecNormalize`` statistics that belong to a model file, or None."""
    path = Path(path)
    match = re.fullmatch(r"step_(\d+)\.zip", path.name)
    candidate = path.parent / f"vecnormalize_{match.group(1)}.pkl" if match else path.parent / "vecnormalize.pkl"
    return candidate if candidate.is_file() else None


def load_agent(path: str | Path, deterministic: bool = True) -> tuple[Callable[[np.ndarray], np.ndarray], Any]:
    """(act(obs) -> actions, the SB3 model) for an SB3 ``.zip``, with its run's observation normalisation.

    :raises ValueError: naming the file if it is not an SB3 model, or if the run used normalisation and its
        statistics are missing.
    """
    from chaoscontrol.agents.robustness import load_sb3_model

    model = load_sb3_model(path)
    config = run_config(path)
    normalize = bool(config and config.get("hyperparams", {}).get("normalize"))
    stats = normalisation_file(path)
    if normalize and stats is None:
        raise ValueError(f"policy {str(path)!r} was trained with normalize=true but its VecNormalize statistics are missing")
    if stats is None:
        def act(obs: np.ndarray) -> np.ndarray:
            return model.predict(obs, deterministic=deterministic)[0]
    else:
        with open(stats, "rb") as fh:
            vec_normalize = pickle.load(fh)  # noqa: S301 - our own run folder

        def act(obs: np.ndarray) -> np.ndarray:
            return model.predict(vec_normalize.normalize_obs(np.asarray(obs)), deterministic=deterministic)[0]

    from chaoscontrol.agents.adversarial import policy_frame

    frame = policy_frame(str(path))
    if frame is not None:
        from chaoscontrol.agents.robust_training import symmetry_reduced_policy

        return symmetry_reduced_policy(act, frame), model
    return act, model


__all__ = ["load_agent", "normalisation_file", "run_config", "run_folder"]
