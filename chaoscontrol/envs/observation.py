"""Observation operators: what the agent sees of a batch of physical fields.

An observer maps fields (B, *field_shape) (or one field) to float32
observations (B, n_obs), C-contiguous, bounded by ``bound`` (the env's blow-up
threshold). Rows flagged by ``clip`` (after a blow-up) have NaN set to 0 and
are clipped into the observation space. Two operators serve every system:

- :class:`FullField`: the whole field, flattened;
- :class:`IndexSensors`: chosen entries of the flattened field (components of an
  ODE state, sites of a lattice);
- :class:`PointSensors`: values at points of a periodic 1-D grid, picked when
  they lie on grid points, else by trigonometric (Fourier) interpolation,
  which is exact at grid points (interpolated values can overshoot the field's
  max slightly, so they are always clipped).
"""

from __future__ import annotations

import numpy as np

from chaoscontrol.solvers.actuation import fourier_interpolation_matrix, grid_indices, interpolate_rows


def _fix_rows(obs: np.ndarray, clip: bool | np.ndarray, bound: float) -> np.ndarray:
    """``obs`` with NaN set to 0 and values clipped to [-bound, bound] in the rows flagged by ``clip``."""
    if clip is False or (clip is not True and not clip.any()):
        return obs
    fixed = np.clip(np.nan_to_num(obs, nan=0.0), -bound, bound)
    return fixed if clip is True else np.where(np.asarray(clip)[:, None], fixed, obs)


class FullField:
    """The whole field as the observation (``observe="full"``).

    :param field_size: number of values of one field.
    :param bound: observation bound.
    """

    def __init__(self, field_size: int, bound: float) -> None:
        self.n_obs = int(field_size)
        self.bound = float(bound)

    def __call__(self, fields: np.ndarray, clip: bool | np.ndarray) -> np.ndarray:
        """Float32 observations of ``fields`` (..., field_size)."""
        return _fix_rows(fields.astype(np.float32), clip, self.bound)


class IndexSensors:
    """Chosen entries of the flattened field as the observation.

    :param indices: flat indices into one field, (n_sens,), each in [0, field_size).
    :param field_size: number of values of one field.
    :param bound: observation bound.
    :raises ValueError: naming ``sensors`` for indices out of range, repeated, or not 1-D integers.
    """

    def __init__(self, indices: np.ndarray, field_size: int, bound: float) -> None:
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"sensors must be a non-empty 1-D sequence of integer indices, got {indices!r}")
        if idx.min() < 0 or idx.max() >= field_size or np.unique(idx).size != idx.size:
            raise ValueError(f"sensors must be distinct indices in [0, {field_size}), got {idx.tolist()}")
        self.index = idx.astype(np.int64)
        self.n_obs = int(idx.size)
        self.bound = float(bound)

    def __call__(self, fields: np.ndarray, clip: bool | np.ndarray) -> np.ndarray:
        """Float32 readings of ``fields`` (..., *field_shape) at the flat indices."""
        flat = fields.reshape(-1) if fields.ndim == 1 else fields.reshape(fields.shape[0], -1)
        picked = flat[self.index] if fields.ndim == 1 else flat[:, self.index]
        obs = np.ascontiguousarray(picked, dtype=np.float32)
        if clip is False:
            return obs
        return _fix_rows(obs, clip, self.bound)


class PointSensors:
    """Point values of a periodic 1-D field at ``positions`` (``observe="sensors"``).

    :param positions: sensor positions in [0, L), (n_sens,).
    :param L: domain length.
    :param N: grid points.
    :param bound: observation bound.
    """

    def __init__(self, positions: np.ndarray, L: float, N: int, bound: float) -> None:
        self.positions = np.asarray(positions, dtype=np.float64)
        self.n_obs = int(self.positions.size)
        self.bound = float(bound)
        self.index = grid_indices(self.positions, L, N)
        """Grid indices of the sensors when they all lie on grid points, else None."""
        self.matrix = None if self.index is not None else fourier_interpolation_matrix(N, L, self.positions)
        """The Fourier interpolation matrix (n_sens, N) for off-grid sensors, else None."""

    def __call__(self, fields: np.ndarray, clip: bool | np.ndarray) -> np.ndarray:
        """Float32 sensor readings of ``fields`` (..., N)."""
        if self.index is not None:
            picked = fields[self.index] if fields.ndim == 1 else fields[:, self.index]
            obs = np.ascontiguousarray(picked, dtype=np.float32)
            if clip is False:  # the common case, without a call
                return obs
        else:
            rows = np.ascontiguousarray(fields, dtype=np.float64).reshape(-1, self.matrix.shape[1])
            obs = interpolate_rows(rows, self.matrix).astype(np.float32).reshape(*fields.shape[:-1], self.n_obs)
            clip = True
        return _fix_rows(obs, clip, self.bound)


__all__ = ["FullField", "IndexSensors", "PointSensors"]
