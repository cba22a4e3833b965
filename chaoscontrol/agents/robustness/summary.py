"""Per level of a harness CSV: episodes, means and 95% confidence half-widths of return and dissipation, blow-ups."""

from __future__ import annotations

import csv
import math
import os

import numpy as np


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
    """Per level: n, mean and 95% half-width of return and mean dissipation, blow-up fraction.

    :param csv_path: a harness CSV (:data:`~chaoscontrol.agents.robustness.csv_rows.CSV_COLUMNS`).
    """
    rows: dict[float, list[tuple[float, float, int]]] = {}
    with open(csv_path, newline="") as fh:
        for row in csv.DictReader(fh):
            rows.setdefault(float(row["level"]), []).append(
                (float(row["return"]), float(row["mean_dissipation"]), int(row["blowup"]))
            )
    out = {}
    for level in sorted(rows):
        arr = np.array(rows[level], dtype=np.float64)
        (ret, ret_half), (dis, dis_half) = (mean_ci95(arr[:, col]) for col in (0, 1))
        out[level] = {
            "n": arr.shape[0],
            "return_mean": ret,
            "return_ci95": ret_half,
            "dissipation_mean": dis,
            "dissipation_ci95": dis_half,
            "blowup_fraction": float(arr[:, 2].mean()),
        }
    return out


__all__ = ["mean_ci95", "summarise"]
