"""Per level of a harness CSV: episodes, means and 95% confidence half-widths of return and of the metric (mean
dissipation, or mean cost), blow-ups."""

from __future__ import annotations

import csv
import math
import os

import numpy as np

from chaoscontrol.agents.robustness.csv_rows import csv_metric


def mean_ci95(values: np.ndarray) -> tuple[float, float]:
    """Mean and 95% half-width (1.96 standard errors) over the finite values; (nan, 0) if none.

    :param values: one value per episode.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), 0.0
    half = 1.96 * finite.std(ddof=1) / math.sqrt(finite.size) if finite.size > 1 else 0.0
    return float(finite.mean()), float(half)


def summarise(csv_path: str | os.PathLike) -> dict[float, dict[str, float]]:
    """Per level: n, mean and 95% half-width of the return and of the metric, blow-up fraction.

    The metric's keys are ``<metric>_mean`` and ``<metric>_ci95`` (``dissipation_mean``... for KS, ``cost_mean``...
    elsewhere) and, the same values under one name for every system, ``metric_mean`` and ``metric_ci95``;
    ``metric`` names it.

    :param csv_path: a harness CSV (:func:`~chaoscontrol.agents.robustness.csv_rows.csv_columns`).
    :raises ValueError: a file that is not a harness CSV.
    """
    rows: dict[float, list[tuple[float, float, int]]] = {}
    with open(csv_path, newline="") as fh:
        reader = csv.DictReader(fh)
        metric = csv_metric(reader.fieldnames)
        for row in reader:
            rows.setdefault(float(row["level"]), []).append(
                (float(row["return"]), float(row[f"mean_{metric}"]), int(row["blowup"]))
            )
    out = {}
    for level in sorted(rows):
        arr = np.array(rows[level], dtype=np.float64)
        (ret, ret_half), (value, value_half) = (mean_ci95(arr[:, col]) for col in (0, 1))
        out[level] = {
            "n": arr.shape[0],
            "return_mean": ret,
            "return_ci95": ret_half,
            f"{metric}_mean": value,
            f"{metric}_ci95": value_half,
            "blowup_fraction": float(arr[:, 2].mean()),
            "metric": metric,
            "metric_mean": value,
            "metric_ci95": value_half,
        }
    return out


__all__ = ["mean_ci95", "summarise"]
