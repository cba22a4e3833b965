"""The figure of ``chaoscontrol evaluate``: episode 0 without and with control, and its actions, for any system.

How a field history (T, *field_shape) is drawn depends on the field's shape only:

- a 1-D field of more than 3 values (KS, Lorenz-96): a space-time diagram (position, or site index, across; time up),
  with the actuators and sensors where the env has positions (KS);
- a complex field stored as (2, N) real and imaginary parts (CGLE): the space-time diagram of the modulus |A|;
- a state of at most 3 values (Lorenz-63): each component against time;
- any other shape (2-D fields): the field's rms over the domain against time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from chaoscontrol.io import atomic_path


def _field_kind(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return "components" if shape[0] <= 3 else "space-time"
    if len(shape) == 2 and shape[0] == 2:
        return "modulus"
    return "rms"


def _draw(ax: Any, history: np.ndarray, template: Any, interval: float, vmax: float, title: str) -> Any:
    """Draw one history on ``ax`` (module docstring); returns the image artist of a space-time diagram, or None."""
    from chaoscontrol.envs.rendering import draw_space_time

    kind = _field_kind(history.shape[1:])
    t1 = (history.shape[0] - 1) * interval
    extent = float(getattr(getattr(template, "config", None), "L", history.shape[-1]))
    if kind == "space-time":
        return draw_space_time(ax, history, extent, 0.0, t1, getattr(template, "actuator_positions", None),
                               getattr(template, "sensor_positions", None), vmax=vmax, title=title)
    if kind == "modulus":  # |A| >= 0: a sequential map from 0
        im = ax.imshow(np.hypot(history[:, 0], history[:, 1]), origin="lower", aspect="auto", cmap="viridis", vmin=0.0,
                       vmax=vmax if np.isfinite(vmax) and vmax > 0 else 1.0, extent=(0.0, extent, 0.0, t1 if t1 > 0 else 1e-9),
                       interpolation="nearest")
        ax.set_xlabel("x")
        ax.set_ylabel("t")
        ax.set_title(title)
        return im
    t = np.arange(history.shape[0]) * interval
    if kind == "components":
        for j in range(history.shape[1]):
            ax.plot(t, history[:, j], lw=0.8, label=f"x{j + 1}")
        ax.legend(fontsize=7)
    else:
        ax.plot(t, np.sqrt(np.mean(history.reshape(history.shape[0], -1) ** 2, axis=1)), lw=0.8)
        ax.set_ylabel("rms of the field")
    ax.set_xlabel("t")
    ax.set_title(title)
    return None


def evaluation_figure(path: Path, controlled: dict, free: dict, template: Any, label: str) -> None:
    """Write the figure (module docstring) atomically to ``path``.

    :param path: the PNG.
    :param controlled: the controlled episodes (``history`` of episode 0's fields, ``actions`` (T, n_act)).
    :param free: the uncontrolled episodes (``history``).
    :param template: an env of the evaluation (its control interval, domain and actuator/sensor positions).
    :param label: the controller, for the title.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    interval = template.dynamics.control_dt
    fig = Figure(figsize=(12, 4.2), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    kind = _field_kind(free["history"].shape[1:])
    reference = free["history"] if kind != "modulus" else np.hypot(free["history"][:, 0], free["history"][:, 1])
    vmax = float(np.nanmax(np.abs(reference)))
    im = ax = None
    for col, (run, title) in enumerate(((free, "no control"), (controlled, f"controlled: {Path(label).name}"))):
        ax = fig.add_subplot(1, 3, col + 1)
        im = _draw(ax, run["history"], template, interval, vmax, title)
    if im is not None:
        fig.colorbar(im, ax=ax, label="|A|" if kind == "modulus" else "u")
    ax = fig.add_subplot(1, 3, 3)
    a = controlled["actions"]
    t = np.arange(a.shape[0]) * interval
    for j in range(a.shape[1] if a.ndim == 2 else 0):
        ax.plot(t, a[:, j], lw=0.8, label=f"a{j + 1}")
    ax.set_xlabel("t")
    ax.set_ylabel("action (episode 0)")
    ax.set_ylim(-1.05, 1.05)
    if a.ndim == 2 and a.shape[1] <= 12:
        ax.legend(fontsize=7, ncol=2)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


__all__ = ["evaluation_figure"]
