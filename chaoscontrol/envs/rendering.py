"""Space-time diagrams of KS histories as RGB arrays and figures (matplotlib, no pyplot state)."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def draw_space_time(
    ax,
    history: np.ndarray,
    L: float,
    t0: float,
    t1: float,
    actuator_positions: np.ndarray | None = None,
    sensor_positions: np.ndarray | None = None,
    vmax: float | None = None,
    title: str | None = None,
):
    """Draw u(x, t) (rows of ``history`` are times) on a matplotlib Axes, x horizontal, t vertical.

    Actuator centres are marked by red dashed lines and triangles, sensors by white dots.

    :return: the image artist (for a colour bar).
    """
    vmax = float(np.nanmax(np.abs(history))) if vmax is None else vmax
    vmax = vmax if np.isfinite(vmax) and vmax > 0 else 1.0
    im = ax.imshow(
        history,
        origin="lower",
        aspect="auto",
        cmap="RdBu_r",
        vmin=-vmax,
        vmax=vmax,
        extent=(0.0, L, t0, t1 if t1 > t0 else t0 + 1e-9),
        interpolation="nearest",
    )
    if actuator_positions is not None:
        for x in actuator_positions:
            ax.axvline(x, color="tab:red", lw=0.8, ls="--", alpha=0.8)
        ax.plot(actuator_positions, np.full(len(actuator_positions), t1), "v", color="tab:red", ms=7, clip_on=False)
    if sensor_positions is not None:
        ax.plot(sensor_positions, np.full(len(sensor_positions), t0), "o", mfc="white", mec="black", ms=5, clip_on=False)
    ax.set_xlabel("x")
    ax.set_ylabel("t")
    if title:
        ax.set_title(title)
    return im


def space_time_rgb(
    history: np.ndarray,
    L: float,
    dt_frame: float,
    t_end: float,
    actuator_positions: np.ndarray | None = None,
    sensor_positions: np.ndarray | None = None,
    size: tuple[float, float] = (4.0, 4.0),
    dpi: int = 100,
) -> np.ndarray:
    """Render a space-time diagram of ``history`` (T, N) ending at ``t_end`` as uint8 RGB (H, W, 3)."""
    fig = Figure(figsize=size, dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    t0 = t_end - dt_frame * (history.shape[0] - 1)
    im = draw_space_time(ax, history, L, t0, t_end, actuator_positions, sensor_positions, title="u(x, t)")
    fig.colorbar(im, ax=ax, fraction=0.05)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
