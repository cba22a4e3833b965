"""``partial``: what a user with only the sensors can learn, a model in sensor space.

A controller that sees 8 point sensors (Bucci et al. 2019) cannot step a
full-state surrogate. This family learns the dynamics of the readings
themselves from a window of the last W readings and actions, a
delay-embedding model in the spirit of Takens' theorem (the embedding that
Zeng & Graham 2021 and the partial-observation controllers of Bucci et al.
rely on):

    y_{n+1} = y_n + s M(y_{n-W+1..n} / s, a_{n-W+1..n}),

y the readings (u at the sensor positions, by Fourier interpolation of the
grid, exact at grid points), s = rms(u) on the attractor, M an MLP whose output
layer starts at zero (the untrained model predicts persistence, y_{n+1} = y_n).
Optionally (``estimate_state``) a second MLP estimates the full state from the
readings and the past actions,

    u_n ~ s E(y_{n-W+1..n} / s, a_{n-W+1..n-1})   (mean removed),

which is what an observer (and so an output-feedback controller) needs; it is
trained on the same windows with the state error added to the loss.

The model is not a (u, a) -> u_next surrogate: the surrogate env refuses it,
and the evaluation measures it in sensor space (error growth and valid
prediction time of the readings, with the same normalisation by rms(u) and the
same threshold, free runs of the readings, and, with ``estimate_state``, the
dissipation of the state estimates).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from chaoscontrol.solvers.actuation import fourier_interpolation_matrix
from chaoscontrol.surrogates.base import SurrogateConfig, SurrogateModule, mlp, remove_mean
from chaoscontrol.validation import check_int


@dataclass(frozen=True)
class PartialConfig(SurrogateConfig):
    """``partial``: readings and actions of the last ``window`` intervals -> next readings (and a state estimate)."""

    family: ClassVar[str] = "partial"
    window: int = 8
    """W: intervals of readings and actions the model sees (delay embedding length)."""
    sensors: tuple[float, ...] = ()
    """Sensor positions in [0, L); empty: 8 evenly spaced at i L / 8 (the env's default). Training sets them from the dataset."""
    estimate_state: bool = False
    """Also learn a full-state estimate from the window (an observer)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("window", self.window)
        positions = tuple(float(x) for x in self.sensors) if len(self.sensors) else tuple(i * self.L / 8 for i in range(8))
        if any(not (math.isfinite(x) and 0 <= x < self.L) for x in positions):
            raise ValueError(f"sensors must be positions in [0, L = {self.L}), got {list(self.sensors)}")
        object.__setattr__(self, "sensors", positions)
        if not isinstance(self.estimate_state, bool):
            raise ValueError(f"estimate_state must be True or False, got {self.estimate_state!r}")
        if self.cutoff:
            raise ValueError("cutoff does not apply to the partial family (it predicts readings, not a field); leave it 0")

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, **{**asdict(self), "sensors": list(self.sensors)}}


class PartialSurrogate(SurrogateModule):
    """Delay-embedding model of the sensor readings (and optionally an observer of the state).

    :param config: a :class:`PartialConfig`.
    :param forcing_shapes: (n_act, N) actuator fields (kept for the checkpoint format; the model sees the actions).
    :param u_scale: rms(u) on the attractor.
    """

    config_class: ClassVar[type[SurrogateConfig]] = PartialConfig

    def __init__(self, config: PartialConfig, forcing_shapes: np.ndarray | torch.Tensor, u_scale: float = 1.0) -> None:
        super().__init__(config, forcing_shapes, u_scale)
        sensing = fourier_interpolation_matrix(config.N, config.L, np.asarray(config.sensors))
        self.register_buffer("sensing", torch.as_tensor(sensing, dtype=torch.float32))
        c, s, na = config, len(config.sensors), config.n_actuators
        self.dynamics = mlp(c.window * (s + na), s, c.width, c.depth)
        self.observer = mlp(c.window * s + (c.window - 1) * na, c.N, c.width, c.depth, zero_last=False) if c.estimate_state else None

    @property
    def n_sensors(self) -> int:
        return len(self.config.sensors)

    @property
    def context(self) -> int:
        """States a training window needs before its first prediction (W)."""
        return self.config.window

    def readings(self, u: torch.Tensor) -> torch.Tensor:
        """Sensor readings (..., n_sensors) of grid states (..., N)."""
        return u @ self.sensing.T

    def _check(self, y: torch.Tensor, a: torch.Tensor, n_actions: int) -> None:
        w, s, na = self.config.window, self.n_sensors, self.config.n_actuators
        if y.ndim != 3 or y.shape[1:] != (w, s) or a.ndim != 3 or a.shape[1:] != (n_actions, na) or a.shape[0] != y.shape[0]:
            raise ValueError(
                f"expected readings (B, {w}, {s}) and actions (B, {n_actions}, {na}), got {tuple(y.shape)}, {tuple(a.shape)}"
            )

    def forward(self, y_window: torch.Tensor, a_window: torch.Tensor) -> torch.Tensor:
        """Next readings (B, n_sensors) from readings (B, W, n_sensors) and actions (B, W, n_act) (the last one a_n)."""
        self._check(y_window, a_window, self.config.window)
        x = torch.cat([(y_window / self.u_scale).flatten(1), a_window.clamp(-1.0, 1.0).flatten(1)], dim=-1)
        return y_window[:, -1] + self.u_scale * self.dynamics(x)

    def estimate(self, y_window: torch.Tensor, a_past: torch.Tensor) -> torch.Tensor:
        """Mean-free full-state estimate (B, N) of u_n from readings up to n (B, W, S) and actions a_{n-W+1..n-1} (B, W-1, n_act)."""
        if self.observer is None:
            raise ValueError("this partial model has no state estimate (trained with estimate_state=False)")
        self._check(y_window, a_past, self.config.window - 1)
        x = torch.cat([(y_window / self.u_scale).flatten(1), a_past.clamp(-1.0, 1.0).flatten(1)], dim=-1)
        return self.u_scale * remove_mean(self.observer(x))

    def rollout(self, readings: torch.Tensor, actions: torch.Tensor, estimates: bool = False):
        """Free prediction of H readings from a true window.

        :param readings: y_{n-W+1..n}, (B, W, S).
        :param actions: a_{n-W+1..n+H-1}, (B, W - 1 + H, n_act).
        :param estimates: also return the state estimates of u_{n+1..n+H} from the predicted windows.
        :return: predicted y_{n+1..n+H} (B, H, S), and with ``estimates`` the estimates (B, H, N).
        """
        w = self.config.window
        h = actions.shape[1] - (w - 1)
        if h < 1:
            raise ValueError(f"actions must cover at least the window W = {w} intervals, got {actions.shape[1]}")
        window, preds, ests = readings, [], []
        for k in range(h):
            y_next = self(window, actions[:, k : k + w])
            preds.append(y_next)
            window = torch.cat([window[:, 1:], y_next[:, None]], dim=1)
            if estimates:
                ests.append(self.estimate(window, actions[:, k + 1 : k + w]))
        pred = torch.stack(preds, dim=1)
        return (pred, torch.stack(ests, dim=1)) if estimates else pred

    def window_loss(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Training loss on true full-state windows: states (B, W + H, N), actions (B, W - 1 + H, n_act).

        Mean squared rollout error of the H predicted readings, plus (``estimate_state``) the mean squared
        error of the estimate of u_n from the true window, both in units of rms(u)^2.
        """
        w = self.config.window
        y = self.readings(states)
        pred = self.rollout(y[:, :w], actions)
        loss = torch.mean((pred - y[:, w:]) ** 2)
        if self.observer is not None:
            est = self.estimate(y[:, :w], actions[:, : w - 1])
            loss = loss + torch.mean((est - remove_mean(states[:, w - 1])) ** 2)
        return loss / self.u_scale**2

__all__ = ["PartialConfig", "PartialSurrogate"]
