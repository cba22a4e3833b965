"""The files that belong to a saved model: its run folder, the run's ``config.json`` and its normalisation statistics.

A model trained with ``normalize: true`` has its pickled ``VecNormalize`` statistics next to it (SB3's form, read
only with ``trust_pickle``): ``OUT/vecnormalize.pkl`` for ``model.zip`` and ``best_model.zip``,
``checkpoints/vecnormalize_<n>.pkl`` for ``checkpoints/step_<n>.zip``. The same statistics as arrays belong to the
project's own policy files (:mod:`~chaoscontrol.agents.policies.saved`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any


def run_folder(path: str | Path) -> Path | None:
    """The run folder of a model file (the folder with ``config.json``), or None for a loose file.

    :param path: a model file, ``OUT/model.zip`` or ``OUT/checkpoints/step_<n>.zip``.
    """
    path = Path(path).resolve()
    for folder in (path.parent, path.parent.parent):
        if (folder / "config.json").is_file():
            return folder
    return None


def run_config(path: str | Path) -> dict[str, Any] | None:
    """``config.json`` of the model's run folder, or None.

    :param path: a model file.
    """
    folder = run_folder(path)
    return json.loads((folder / "config.json").read_text()) if folder is not None else None


def normalisation_file(path: str | Path) -> Path | None:
    """The ``VecNormalize`` statistics that belong to a model file, or None.

    :param path: a model file.
    """
    path = Path(path)
    match = re.fullmatch(r"step_(\d+)\.zip", path.name)
    candidate = path.parent / f"vecnormalize_{match.group(1)}.pkl" if match else path.parent / "vecnormalize.pkl"
    return candidate if candidate.is_file() else None


__all__ = ["normalisation_file", "run_config", "run_folder"]
