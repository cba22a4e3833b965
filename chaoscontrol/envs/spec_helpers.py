"""What the env specs of the systems share: keyword checks, a given dynamics, the render history.

- :func:`check_choice` (:mod:`chaoscontrol.validation`'s): a keyword among named choices, or a ``ValueError``
  naming it;
- :func:`resolve_target`: the ``target`` keyword, a named state or an array;
- :func:`matching_dynamics`: the dynamics an env steps (its solver, or a given
  one whose configuration matches the keywords, e.g. a learned surrogate's);
- :class:`RenderHistory`: the last fields of an episode, kept only when a
  ``render_mode`` is set (hooks of :class:`~chaoscontrol.envs.core.ControlEnv`).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Sequence

import gymnasium as gym
import numpy as np

from chaoscontrol.solvers.dynamics import Dynamics
from chaoscontrol.validation import check_choice, check_int

#: The render modes of the Lorenz envs.
RENDER_MODES = ("rgb_array",)


def resolve_target(objective: str, target: str | np.ndarray | None, names: Sequence[str],
                   available: dict[str, np.ndarray], shape: tuple[int, ...], parameters: str = "") -> np.ndarray | None:
    """The read-only target field of the ``target`` keyword, or None when ``objective`` is not ``"target"``.

    :param target: one of ``names`` (None: the first), or a finite array of ``shape``.
    :param available: the named states this configuration has (a name of ``names`` may be missing, e.g. C+-
        of Lorenz-63 for rho <= 1).
    :param parameters: the keywords the named states depend on, for the error (``"rho=0.5"``).
    :raises ValueError: naming ``target`` (and ``parameters``).
    """
    if objective != "target":
        if target is not None:
            raise ValueError(f"target is only used with objective='target' (objective={objective!r})")
        return None
    target = names[0] if target is None else target
    if isinstance(target, str):
        check_choice("target", target, names)
        if target not in available:
            where = f" ({parameters})" if parameters else ""
            raise ValueError(f"target={target!r} does not exist for these parameters{where}; they have {sorted(available)}")
        value = np.array(available[target], dtype=np.float64)
    else:
        try:
            value = np.array(target, dtype=np.float64)
        except (TypeError, ValueError):
            value = np.empty(0)
        if value.shape != tuple(shape) or not np.all(np.isfinite(value)):
            raise ValueError(f"target must be one of {tuple(names)} or a finite array of shape {tuple(shape)}, "
                             f"got {target!r}")
    value.setflags(write=False)
    return value


def matching_dynamics(dynamics: Dynamics | None, truth: Any, keys: Sequence[str]) -> Any:
    """``truth`` if ``dynamics`` is None, else ``dynamics`` once its ``config_dict`` agrees with the truth's on ``keys``.

    :raises ValueError: naming the keys that differ.
    """
    if dynamics is None:
        return truth
    if not isinstance(dynamics, Dynamics):
        raise ValueError(f"dynamics must implement the Dynamics protocol (chaoscontrol.solvers.dynamics), "
                         f"got {type(dynamics).__name__}")
    expected, actual = truth.config_dict(), dynamics.config_dict()
    differ = [f"{k}: {actual.get(k)!r} != {expected[k]!r}" for k in keys if actual.get(k) != expected[k]]
    if differ:
        raise ValueError(f"dynamics does not match the env's configuration ({'; '.join(differ)})")
    return dynamics


def sensor_spec_config(env: Any) -> dict[str, Any]:
    """The configuration of a spec with point sensors as plain JSON values: its dynamics' configuration, then
    ``sensors`` (positions), ``objective``, ``observe``, ``blowup_threshold`` and ``blowup_penalty``.

    :param env: a :class:`~chaoscontrol.envs.core.ControlEnv` spec with ``sensor_positions``, ``objective``, ``observe``.
    """
    return {**env.dynamics.config_dict(), "sensors": env.sensor_positions.tolist(), "objective": env.objective,
            "observe": env.observe, "blowup_threshold": env.blowup_threshold, "blowup_penalty": env.blowup_penalty}


class RenderHistory:
    """The last ``render_history`` fields of an episode, for ``render()``; kept only with a ``render_mode``.

    Mixed into a :class:`~chaoscontrol.envs.core.ControlEnv` subclass, before it:
    call :meth:`_init_render` in ``__init__``; the env core calls the hooks.
    """

    render_mode: str | None
    _field: np.ndarray

    def _init_render(self, render_mode: str | None, render_history: int) -> None:
        if render_mode is not None and (not isinstance(render_mode, str) or render_mode not in RENDER_MODES):
            raise ValueError(f"render_mode must be None or one of {list(RENDER_MODES)}, got {render_mode!r}")
        self.render_mode = render_mode
        self._history: deque[np.ndarray] = deque(maxlen=check_int("render_history", render_history, minimum=2))

    def _on_reset(self) -> None:
        self._history.clear()
        if self.render_mode is not None:
            self._history.append(self._field.copy())

    def _on_step(self) -> None:
        if self.render_mode is not None:
            self._history.append(self._field.copy())

    def _history_array(self) -> np.ndarray:
        """The kept fields as (T, *field_shape), at least the current one."""
        return np.array(self._history) if self._history else self._field[None].copy()

    def render(self) -> np.ndarray | None:
        """The picture of the kept history as uint8 RGB (H, W, 3) (:meth:`_render_rgb`); None without a render_mode."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' to gym.make")
            return None
        return self._render_rgb(self._history_array())

    def _render_rgb(self, history: np.ndarray) -> np.ndarray:
        raise NotImplementedError


__all__ = ["RENDER_MODES", "RenderHistory", "check_choice", "matching_dynamics", "resolve_target"]
