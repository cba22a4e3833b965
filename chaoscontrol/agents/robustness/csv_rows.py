"""The harness's CSV: one row per episode, appended and synced row by row, and read back to resume a sweep."""

from __future__ import annotations

import csv
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

CSV_COLUMNS = ("level", "seed", "episode", "return", "mean_dissipation", "blowup")


def _drop_partial_last_line(path: Path) -> None:
    """Remove a last line cut short by an interruption (no final newline)."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as fh:
            fh.truncate(data.rfind(b"\n") + 1)


def completed_rows(path: Path) -> dict[float, set[int]]:
    """Episodes already written, per level (complete rows only); a line cut short by an interruption is removed.

    :param path: the CSV (it may not exist yet).
    :raises ValueError: if the file has other columns than :data:`CSV_COLUMNS`.
    """
    done: dict[float, set[int]] = {}
    if not path.exists():
        return done
    _drop_partial_last_line(path)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
            raise ValueError(f"{path} exists with columns {reader.fieldnames}, expected {list(CSV_COLUMNS)}")
        for row in reader:
            try:
                float(row["return"]), float(row["mean_dissipation"]), int(row["blowup"])
                done.setdefault(float(row["level"]), set()).add(int(row["episode"]))
            except (TypeError, ValueError):
                continue
    return done


@contextmanager
def row_appender(path: Path) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A function that appends one row to the CSV (header first for a new file), flushed and synced to disk.

    :param path: the CSV.
    """
    new_file = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        if new_file:
            writer.writeheader()
            fh.flush()

        def append(row: dict[str, Any]) -> None:
            writer.writerow(row)
            fh.flush()
            os.fsync(fh.fileno())

        yield append


__all__ = ["CSV_COLUMNS", "completed_rows", "row_appender"]
