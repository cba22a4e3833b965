"""A replay buffer's transitions as plain arrays (``.npz``, read with ``allow_pickle=False``) instead of SB3's pickle.

Only the filled rows are written (all of them once the buffer has wrapped), with the write position and the
``full`` flag; a resumed run puts them into the fresh buffer its model made, which has the run's size and class
(:class:`~chaoscontrol.agents.robust_training.SymmetryAugmentedReplayBuffer` included).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: The arrays of an SB3 ``ReplayBuffer``, (buffer_size, n_envs, ...) each; ``next_observations`` is absent with
#: ``optimize_memory_usage``.
BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def save_replay_buffer(buffer: Any, path: str | Path) -> None:
    """Write the filled rows of ``buffer`` to ``path`` (``.npz``; not atomic: write into a temporary of ``atomic_path``).

    :param buffer: an SB3 ``ReplayBuffer``.
    :param path: the file.
    """
    rows = buffer.buffer_size if buffer.full else buffer.pos
    arrays = {name: getattr(buffer, name)[:rows] for name in BUFFER_ARRAYS if getattr(buffer, name, None) is not None}
    with open(path, "wb") as fh:
        np.savez(fh, pos=np.int64(buffer.pos), full=np.bool_(buffer.full), **arrays)


def load_replay_buffer(buffer: Any, path: str | Path) -> None:
    """Put the transitions of ``path`` into ``buffer`` (a fresh buffer of the same size, env count and spaces).

    :param buffer: the SB3 ``ReplayBuffer`` to fill.
    :param path: a file of :func:`save_replay_buffer`.
    :raises ValueError: naming the file if it is unreadable or does not fit ``buffer``.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            pos, full = int(data["pos"]), bool(data["full"])
            arrays = {name: data[name] for name in BUFFER_ARRAYS if getattr(buffer, name, None) is not None}
    except Exception as exc:  # noqa: BLE001 - any failure to read is the file's fault
        raise ValueError(f"replay buffer {str(path)!r} is unreadable: {exc}") from exc
    rows = buffer.buffer_size if full else pos
    for name, array in arrays.items():
        target = getattr(buffer, name)
        if array.shape != (rows, *target.shape[1:]) or not 0 <= pos <= buffer.buffer_size:
            raise ValueError(f"replay buffer {str(path)!r}: {name} has shape {array.shape}, the run's buffer needs "
                             f"({rows}, {', '.join(map(str, target.shape[1:]))})")
    for name, array in arrays.items():
        getattr(buffer, name)[:rows] = array
    buffer.pos, buffer.full = pos % buffer.buffer_size, full


__all__ = ["BUFFER_ARRAYS", "load_replay_buffer", "save_replay_buffer"]
