"""Run-folder files: atomic writes (a temporary file in the same folder, then ``os.replace``), the temporaries a
killed writer leaves, the refusal of an existing output, and provenance."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=_temporary_suffix(path), dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def _temporary_suffix(path: Path) -> str:
    return ".tmp" + path.suffix


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of :func:`atomic_path` for ``path`` (``.NAME.*.tmp.SUFFIX`` next to it).

    A writer killed inside ``atomic_path`` (SIGKILL, a crash of the machine) leaves its temporary behind; a command
    that writes ``path`` calls this when it starts, so that they do not pile up. Run it only while no other process
    writes ``path``: its temporary would go too.

    :param path: the output whose temporaries go.
    :return: the files removed.
    """
    path = Path(path)
    pattern = glob.escape(_temporary_prefix(path)) + "*" + glob.escape(_temporary_suffix(path))
    stale = sorted(path.parent.glob(pattern)) if path.parent.is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


def refuse_existing_output(
    path: str | os.PathLike,
    *,
    present: bool | None = None,
    resume: bool = False,
    overwrite: bool = False,
    resumable: bool = True,
    what: str = "output",
) -> None:
    """Refuse to write a command's result where one is already, unless the command was told ``--resume`` or
    ``--overwrite``: the one check of every command that writes a result, so that nothing is replaced silently.

    :param path: the output (a file or run folder, or the file in it that shows a run is there), named in the error.
    :param present: whether a result (or a state to continue) is at ``path``; default: whether ``path`` exists.
    :param resume: the command continues what is there (``--resume``); then something must be there.
    :param overwrite: the command replaces what is there (``--overwrite``).
    :param resumable: whether the command has ``--resume`` for this output (the error offers it then).
    :param what: what the output is, for the error (``"dataset file"``).
    :raises ValueError: naming ``path`` and the flag to pass: both ``resume`` and ``overwrite``; something present
        and neither; ``resume`` with nothing present.
    """
    path = Path(path)
    present = path.exists() if present is None else present
    if resume and overwrite:
        raise ValueError("pass --resume (continue) or --overwrite (start again), not both")
    if present and not (resume or overwrite):
        flags = "--resume to continue it, --overwrite to replace it," if resumable else "--overwrite to replace it"
        raise ValueError(f"{what} {str(path)!r} already exists; pass {flags} or choose another --out")
    if resume and not present:
        raise ValueError(f"cannot resume: {str(path)!r} does not exist")


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented, strict JSON (no NaN/inf) to ``path`` atomically."""
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def git_hash() -> str | None:
    """The commit of the source checkout the package runs from, or None (not a checkout, or no git)."""
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None
