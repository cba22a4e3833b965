"""Sensor and actuator perturbation models acting on batches of B environments.

A model holds per-environment state as arrays with a leading axis B and maps a
batch of observations (B, n_obs) or actions (B, n_act) to perturbed ones:

    model.apply(x, new_episode, rngs) -> x'

``new_episode`` (bool (B,)) flags the environments whose episode starts with
this observation (a reset) or this action (the first step after a reset): their
state (bias, drift, delay line, last valid reading, stuck value, gains) is drawn
again. ``rngs`` holds one ``np.random.Generator`` per environment, owned by the
wrapper and derived from that environment's reset seed (never the global
stream, never the environment's own): so a perturbation never changes the
initial conditions, and env i of a batch sees exactly the noise of a single
environment seeded like env i.

The same model serves the single-environment wrappers (B = 1,
:mod:`chaoscontrol.envs.perturbation_wrappers`), the Gymnasium vector-env
wrappers and the SB3 ``VecEnvWrapper`` (:mod:`chaoscontrol.agents.vec_wrappers.perturbation`).

Amplitudes are absolute (in units of u for sensors, of the action in [-1, 1]
for actuators). The wrappers convert the usual relative sensor levels (a fraction
of the attractor's rms(u), :func:`~chaoscontrol.solvers.attractor.attractor_rms`) before building a model.
"""

from __future__ import annotations

import math
import zlib
from typing import Sequence

import numpy as np
from gymnasium import spaces

from chaoscontrol.validation import check_int, check_non_negative, is_int


def derived_generator(seed: int | None, tag: str) -> np.random.Generator:
    """A generator for the perturbation ``tag`` of an environment reset with ``seed``.

    ``seed=None`` gives a generator from fresh OS entropy (as an unseeded reset).
    """
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, zlib.crc32(tag.encode())])


def _probability(name: str, value: float) -> float:
    value = float(value)
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return value


class Perturbation:
    """Base class: a perturbation of a batch of observations or actions (see module docstring).

    ``apply(x, new_episode, rngs, rows)`` perturbs the rows ``rows`` of the batch
    (default: all; ``x`` and ``new_episode`` then hold just those rows and
    ``rngs`` is the generator list of the whole batch). The state arrays are
    allocated on the first call with all rows.
    """

    #: Name used to derive the generators (one stream per kind of perturbation).
    tag = "perturbation"

    def transform_space(self, space: spaces.Box) -> spaces.Box:
        """The space of the perturbed values (default: unchanged)."""
        return space

    def apply(
        self,
        x: np.ndarray,
        new_episode: np.ndarray,
        rngs: Sequence[np.random.Generator],
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """Perturb ``x`` (R, n), the rows ``rows`` of the batch; returns a new array."""
        self._full = rows is None
        rows = np.arange(x.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
        return self._apply(x, np.asarray(new_episode, dtype=bool), [rngs[i] for i in rows], rows)

    def _apply(self, x: np.ndarray, new: np.ndarray, rngs: list, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _state(self, name: str, rows: np.ndarray, shape: tuple[int, ...], fill: float = 0.0) -> np.ndarray:
        """The state array ``name`` of the whole batch, allocated (with ``fill``) by a call that covers all rows.

        ``shape`` is the shape for the rows of this call; a call with all rows
        (``self._full``) re-allocates when the batch shape changed.
        """
        arr = getattr(self, name, None)
        if self._full and (arr is None or arr.shape != shape):
            arr = np.full(shape, fill)
            setattr(self, name, arr)
        elif arr is None or arr.shape[1:] != shape[1:]:
            raise RuntimeError(f"{type(self).__name__}: the first call must cover the whole batch")
        return arr


class GaussianNoise(Perturbation):
    """x' = x + sigma * xi, xi ~ N(0, 1) i.i.d. per entry and step."""

    tag = "gaussian-noise"

    def __init__(self, sigma: float) -> None:
        self.sigma = check_non_negative("sigma", sigma)

    def _apply(self, x, new, rngs, rows):
        if self.sigma == 0.0:
            return x.copy()
        noise = np.stack([rng.standard_normal(x.shape[1]) for rng in rngs])
        return (x + self.sigma * noise).astype(x.dtype)


class RandomisedGaussianNoise(Perturbation):
    """x' = x + sigma_e * xi with the level sigma_e ~ U(0, max_sigma) drawn once per episode, xi ~ N(0, 1) per entry and step.

    Noise injection with a random strength, for training: in the spirit of Pinot et al. (2019, "Theoretical
    evidence for adversarial robustness through randomization", NeurIPS), the policy is trained on a
    distribution of perturbation levels rather than one, so that it does not specialise to a single noise
    level. The current levels are in ``sigmas`` (one per env of the batch).
    """

    tag = "randomised-gaussian-noise"

    def __init__(self, max_sigma: float) -> None:
        self.max_sigma = check_non_negative("max_sigma", max_sigma)
        self.sigmas: np.ndarray | None = None

    def _apply(self, x, new, rngs, rows):
        sigmas = self._state("sigmas", rows, (x.shape[0],))
        for j in np.flatnonzero(new):
            sigmas[rows[j]] = self.max_sigma * rngs[j].uniform()
        noise = np.stack([rng.standard_normal(x.shape[1]) for rng in rngs])
        return (x + sigmas[rows, None] * noise).astype(x.dtype)


class ConstantBias(Perturbation):
    """x' = x + b, b ~ N(0, sigma^2) per entry, drawn once per episode."""

    tag = "constant-bias"

    def __init__(self, sigma: float) -> None:
        self.sigma = check_non_negative("sigma", sigma)
        self.bias: np.ndarray | None = None

    def _apply(self, x, new, rngs, rows):
        bias = self._state("bias", rows, x.shape)
        for j in np.flatnonzero(new):
            bias[rows[j]] = self.sigma * rngs[j].standard_normal(x.shape[1])
        return (x + bias[rows]).astype(x.dtype)


class RandomWalkDrift(Perturbation):
    """x'_t = x_t + d_t with d_0 = 0 and d_{t+1} = d_t + sigma * xi_t: a slow random-walk drift per entry."""

    tag = "random-walk-drift"

    def __init__(self, sigma: float) -> None:
        self.sigma = check_non_negative("sigma", sigma)
        self.drift: np.ndarray | None = None

    def _apply(self, x, new, rngs, rows):
        drift = self._state("drift", rows, x.shape)
        for j, i in enumerate(rows):
            if new[j]:
                drift[i] = 0.0
            else:
                drift[i] += self.sigma * rngs[j].standard_normal(x.shape[1])
        return (x + drift[rows]).astype(x.dtype)


class Dropout(Perturbation):
    """Each entry missing with probability p, replaced by its last valid value (``fill="last"``) or 0.

    With ``append_mask`` the observation gains n entries: 1 where the reading is
    valid, 0 where it is missing. At the start of an episode the last valid value
    is 0 for ``"last"`` too.
    """

    tag = "dropout"

    def __init__(self, p: float, fill: str = "last", append_mask: bool = False) -> None:
        self.p = _probability("p", p)
        if fill not in ("last", "zero"):
            raise ValueError(f"fill must be 'last' or 'zero', got {fill!r}")
        self.fill = fill
        self.append_mask = bool(append_mask)
        self.last: np.ndarray | None = None

    def transform_space(self, space: spaces.Box) -> spaces.Box:
        if not self.append_mask:
            return space
        low = np.concatenate([space.low, np.zeros(space.shape, dtype=space.dtype)])
        high = np.concatenate([space.high, np.ones(space.shape, dtype=space.dtype)])
        return spaces.Box(low, high, dtype=space.dtype)

    def _apply(self, x, new, rngs, rows):
        last = self._state("last", rows, x.shape)
        last[rows[new]] = 0.0
        valid = np.stack([rng.random(x.shape[1]) >= self.p for rng in rngs])
        replacement = last[rows] if self.fill == "last" else np.zeros(x.shape)
        out = np.where(valid, x, replacement).astype(x.dtype)
        last[rows] = out
        if self.append_mask:
            out = np.concatenate([out, valid.astype(x.dtype)], axis=1)
        return out


class Quantization(Perturbation):
    """x' = resolution * round(x / resolution); resolution 0 is the identity."""

    tag = "quantization"

    def __init__(self, resolution: float) -> None:
        self.resolution = check_non_negative("resolution", resolution)

    def _apply(self, x, new, rngs, rows):
        if self.resolution == 0.0:
            return x.copy()
        return (self.resolution * np.round(x / self.resolution)).astype(x.dtype)


class Delay(Perturbation):
    """x'_t = x_{t-k}: readings arrive k steps late; during the first k steps of an episode, x'_t = x_0."""

    tag = "delay"

    def __init__(self, k: int) -> None:
        self.k = check_int("k", k, minimum=0)
        self.line: np.ndarray | None = None  # (B, k + 1, n): the last k + 1 readings, oldest first

    def _apply(self, x, new, rngs, rows):
        if self.k == 0:
            return x.copy()
        line = self._state("line", rows, (x.shape[0], self.k + 1, x.shape[1]))
        window = line[rows]
        window[:, :-1] = window[:, 1:]
        window[:, -1] = x
        window[new] = x[new][:, None, :]
        line[rows] = window
        return window[:, 0].astype(x.dtype)


class Subset(Perturbation):
    """Keep only the entries ``indices`` (fewer sensors)."""

    tag = "subset"

    def __init__(self, indices: Sequence[int], n: int) -> None:
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
            raise ValueError(f"indices must be a non-empty 1-D sequence of integers, got {indices!r}")
        if np.any(idx < 0) or np.any(idx >= n) or np.unique(idx).size != idx.size:
            raise ValueError(f"indices must be distinct and within 0..{n - 1}, got {idx.tolist()}")
        self.indices = idx.astype(np.int64)

    def transform_space(self, space: spaces.Box) -> spaces.Box:
        return spaces.Box(space.low[self.indices], space.high[self.indices], dtype=space.dtype)

    def _apply(self, x, new, rngs, rows):
        return x[:, self.indices].copy()


class DeadSensors(Perturbation):
    """The entries ``indices`` read 0 (failed sensors); the observation keeps its size, so a policy trained on all
    the sensors runs with fewer working ones."""

    tag = "dead-sensors"

    def __init__(self, indices: Sequence[int], n: int) -> None:
        self.indices = Subset(indices, n).indices

    def _apply(self, x, new, rngs, rows):
        out = x.copy()
        out[:, self.indices] = 0.0
        return out


class GainError(Perturbation):
    """a' = g * a with gains g per actuator: fixed (``gains``) times a draw per episode, 1 + N(0, sigma^2).

    ``n``, the number of actuators, lets the constructor check the length of ``gains``.
    """

    tag = "gain-error"

    def __init__(self, sigma: float = 0.0, gains: Sequence[float] | float | None = None, n: int | None = None) -> None:
        self.sigma = check_non_negative("sigma", sigma)
        self.fixed = None if gains is None else np.atleast_1d(np.asarray(gains, dtype=np.float64))
        if self.fixed is not None and (self.fixed.ndim != 1 or not np.all(np.isfinite(self.fixed))):
            raise ValueError(f"gains must be a finite number or 1-D sequence, got {gains!r}")
        if self.fixed is not None and n is not None and self.fixed.size not in (1, n):
            raise ValueError(f"gains must have 1 or {n} entries (one per actuator), got {self.fixed.size}")
        self.gains: np.ndarray | None = None

    def _apply(self, x, new, rngs, rows):
        gains = self._state("gains", rows, x.shape, fill=1.0)
        for j in np.flatnonzero(new):
            g = 1.0 + self.sigma * rngs[j].standard_normal(x.shape[1])
            gains[rows[j]] = g if self.fixed is None else g * self.fixed
        return (gains[rows] * x).astype(x.dtype)


class StuckActuator(Perturbation):
    """Actuator ``index`` fails: ``mode="dead"`` outputs 0; ``mode="stuck"`` holds ``value`` (default: its first action)."""

    tag = "stuck-actuator"

    def __init__(self, index: int, n: int, mode: str = "dead", value: float | None = None) -> None:
        if not is_int(index) or not 0 <= index < n:
            raise ValueError(f"index must be an actuator index in 0..{n - 1}, got {index!r}")
        if mode not in ("dead", "stuck"):
            raise ValueError(f"mode must be 'dead' or 'stuck', got {mode!r}")
        if value is not None and not (math.isfinite(value) and -1.0 <= value <= 1.0):
            raise ValueError(f"value must be in [-1, 1], got {value!r}")
        self.index, self.mode, self.value = int(index), mode, value
        self.held: np.ndarray | None = None

    def _apply(self, x, new, rngs, rows):
        out = x.copy()
        if self.mode == "dead":
            out[:, self.index] = 0.0
            return out
        held = self._state("held", rows, (x.shape[0],))
        first = x[:, self.index] if self.value is None else np.full(x.shape[0], self.value)
        held[rows[new]] = first[new]
        out[:, self.index] = held[rows]
        return out
