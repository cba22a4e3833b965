"""The harness's figure: return and the metric (mean dissipation, or mean cost) against the level, with 95%
confidence bands."""

from __future__ import annotations

import os

import numpy as np

from chaoscontrol.agents.robustness.summary import summarise
from chaoscontrol.io import atomic_path


def plot_robustness(csv_path: str | os.PathLike, png_path: str | os.PathLike, title: str = "") -> None:
    """Return and the metric against the level with 95% confidence bands, written atomically to ``png_path``.

    :param csv_path: a harness CSV.
    :param png_path: the PNG to write.
    :param title: the figure's title.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    summary = summarise(csv_path)
    levels = np.array(list(summary))
    fig = Figure(figsize=(9, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    metric = next(iter(summary.values()))["metric"] if summary else "dissipation"
    metric_label = "mean dissipation D" if metric == "dissipation" else "mean cost per step (-reward)"
    for col, (key, label) in enumerate((("return", "episode return"), (metric, metric_label))):
        ax = fig.add_subplot(1, 2, col + 1)
        mean = np.array([summary[lv][f"{key}_mean"] for lv in levels])
        half = np.array([summary[lv][f"{key}_ci95"] for lv in levels])
        ax.plot(levels, mean, "o-", color="tab:blue")
        ax.fill_between(levels, mean - half, mean + half, color="tab:blue", alpha=0.25, label="95% CI")
        ax.set_xlabel("perturbation level")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    fig.suptitle(title)
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png")


__all__ = ["plot_robustness"]
