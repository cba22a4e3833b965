"""The harness's CSV: one row per episode, appended and synced row by row, and read back to resume a sweep."""

from __future__ import annotations

import csv
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

#: The per-episode metric beside the return: the mean dissipation of a system that has a ``dissipation``
#: diagnostic (KS), else the mean cost, -reward, per step (both over the steps before a blow-up).
METRICS = ("dissipation", "cost")
CSV_COLUMNS = ("level", "seed", "episode", "return", "mean_dissipation", "blowup")
"""The columns of a sweep whose metric is the dissipation (:func:`csv_columns` of the others)."""


def csv_columns(metric: str = "dissipation") -> tuple[str, ...]:
    """The CSV columns of a sweep whose per-episode metric is ``metric`` (one of :data:`METRICS`).

    :param metric: ``dissipation`` or ``cost``.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    return ("level", "seed", "episode", "return", f"mean_{metric}", "blowup")


def csv_metric(columns: tuple[str, ...] | list[str] | None) -> str:
    """The metric of a CSV with these columns.

    :param columns: the header of a harness CSV.
    :raises ValueError: if it is no header of :func:`csv_columns`.
    """
    for metric in METRICS:
        if tuple(columns or ()) == csv_columns(metric):
            return metric
    raise ValueError(f"columns {list(columns or ())} are not a robustness CSV's, e.g. {list(CSV_COLUMNS)}")


def _drop_partial_last_line(path: Path) -> None:
    """Remove a last line cut short by an interruption (no final newline)."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as fh:
            fh.truncate(data.rfind(b"\n") + 1)


def completed_rows(path: Path, metric: str = "dissipation") -> dict[float, set[int]]:
    """Episodes already written, per level (complete rows only); a line cut short by an interruption is removed.

    :param path: the CSV (it may not exist yet).
    :param metric: the sweep's metric (:data:`METRICS`).
    :raises ValueError: if the file has other columns than :func:`csv_columns` of ``metric``.
    """
    done: dict[float, set[int]] = {}
    if not path.exists():
        return done
    _drop_partial_last_line(path)
    columns = csv_columns(metric)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != columns:
            raise ValueError(f"{path} exists with columns {reader.fieldnames}, expected {list(columns)}")
        for row in reader:
            try:
                float(row["return"]), float(row[columns[4]]), int(row["blowup"])
                done.setdefault(float(row["level"]), set()).add(int(row["episode"]))
            except (TypeError, ValueError):
                continue
    return done


@contextmanager
def row_appender(path: Path, metric: str = "dissipation") -> Iterator[Callable[[dict[str, Any]], None]]:
    """A function that appends one row to the CSV (header first for a new file), flushed and synced to disk.

    :param path: the CSV.
    :param metric: the sweep's metric (:data:`METRICS`): the columns are :func:`csv_columns` of it.
    """
    new_file = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=csv_columns(metric))
        if new_file:
            writer.writeheader()
            fh.flush()

        def append(row: dict[str, Any]) -> None:
            writer.writerow(row)
            fh.flush()
            os.fsync(fh.fileno())

        yield append


__all__ = ["CSV_COLUMNS", "METRICS", "completed_rows", "csv_columns", "csv_metric", "row_appender"]
