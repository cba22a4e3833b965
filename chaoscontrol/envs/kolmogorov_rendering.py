"""Vorticity snapshots of the Kolmogorov flow as RGB arrays and figures (matplotlib, no pyplot state)."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def draw_vorticity(ax, omega: np.ndarray, actuators: np.ndarray | None = None, sensors: np.ndarray | None = None,
                   vmax: float | None = None, title: str | None = None):
    """Draw omega(x, y) (axis 0 y, axis 1 x) on [0, 2 pi)^2 on a matplotlib Axes; jets as red crosses, sensors
    as white dots.

    :param omega: vorticity on the grid, (N, N).
    :param actuators: jet centres (x, y), (n, 2), or None.
    :param sensors: sensor positions (x, y), (m, 2), or None.
    :param vmax: colour range [-vmax, vmax] (default max|omega|).
    :return: the image artist (for a colour bar).
    """
    finite = omega[np.isfinite(omega)]
    vmax = float(np.max(np.abs(finite))) if vmax is None and finite.size else (1.0 if vmax is None else vmax)
    vmax = vmax if np.isfinite(vmax) and vmax > 0 else 1.0
    two_pi = 2.0 * np.pi
    im = ax.imshow(np.nan_to_num(omega), origin="lower", cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                   extent=(0.0, two_pi, 0.0, two_pi), interpolation="bilinear")
    if actuators is not None:
        ax.plot(actuators[:, 0], actuators[:, 1], "x", color="tab:red", ms=7, mew=2)
    if sensors is not None:
        ax.plot(sensors[:, 0], sensors[:, 1], "o", mfc="white", mec="black", ms=3)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if title:
        ax.set_title(title)
    return im


def vorticity_rgb(omega: np.ndarray, actuators: np.ndarray | None = None, sensors: np.ndarray | None = None,
                  title: str = "vorticity", size: tuple[float, float] = (4.0, 3.6), dpi: int = 100) -> np.ndarray:
    """A vorticity snapshot (:func:`draw_vorticity`) as uint8 RGB (H, W, 3)."""
    fig = Figure(figsize=size, dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    im = draw_vorticity(ax, omega, actuators, sensors, title=title)
    fig.colorbar(im, ax=ax, fraction=0.05)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


__all__ = ["draw_vorticity", "vorticity_rgb"]
