"""The control-interval map F(u, a) of any :class:`~chaoscontrol.solvers.dynamics.Dynamics`, batched."""

from __future__ import annotations

from typing import Any

import numpy as np


def control_map(dynamics: Any, fields: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """F(u, a) for a batch: the fields after one control interval from ``fields`` (B, *field_shape) under
    ``actions`` (B, n_act), in one ``advance`` call.

    :param dynamics: a :class:`~chaoscontrol.solvers.dynamics.Dynamics`.
    :param fields: start fields, float64.
    :param actions: actions, float64.
    """
    out = np.array(fields, dtype=np.float64)
    states = np.ascontiguousarray(dynamics.states_from_fields(out), dtype=dynamics.state_dtype)
    diag = np.zeros((out.shape[0], len(dynamics.diagnostic_names) + 1))
    bad = dynamics.advance(states, out, np.ascontiguousarray(actions, dtype=np.float64), diag)
    if bad >= 0:
        raise ValueError(f"actions must be finite, row {bad} is not")
    return out


__all__ = ["control_map"]
