"""Pictures of Lorenz-63 trajectories: the (x, z) projection with the fixed points (matplotlib, no pyplot state).

Lorenz-96 histories are space-time diagrams (:func:`chaoscontrol.envs.rendering.space_time_rgb`, sites as x).
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def draw_lorenz63_phase(ax, history: np.ndarray, points: dict[str, np.ndarray], title: str | None = None,
                        highlight: np.ndarray | None = None) -> None:
    """Draw the (x, z) projection of ``history`` (T, 3) on a matplotlib Axes, the fixed points ``points`` marked.

    :param highlight: a point to mark in red (the target), or None.
    """
    ax.plot(history[:, 0], history[:, 2], lw=0.5, color="tab:blue")
    ax.plot(history[-1, 0], history[-1, 2], "o", color="tab:blue", ms=4)
    for name, p in points.items():
        ax.plot(p[0], p[2], "k+", ms=8)
        ax.annotate(name, (p[0], p[2]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if highlight is not None:
        ax.plot(highlight[0], highlight[2], "x", color="tab:red", ms=9, mew=2)
    ax.set_xlabel("x")
    ax.set_ylabel("z")
    if title:
        ax.set_title(title)


def lorenz63_phase_rgb(history: np.ndarray, points: dict[str, np.ndarray], highlight: np.ndarray | None = None,
                       size: tuple[float, float] = (4.0, 4.0), dpi: int = 100) -> np.ndarray:
    """The (x, z) picture of ``history`` (T, 3) as uint8 RGB (H, W, 3)."""
    fig = Figure(figsize=size, dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    draw_lorenz63_phase(ax, history, points, "Lorenz-63 (x, z)", highlight)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


__all__ = ["draw_lorenz63_phase", "lorenz63_phase_rgb"]
