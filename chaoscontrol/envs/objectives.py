"""Objectives: the reward of a batch of systems at the end of a control interval.

An objective maps the fields (B, *field_shape) and the dynamics' diagnostics
(B, n_diag + 1) to rewards (B,) and, where it has one, an info value per system
(its ``info_key``). Blow-ups are the env's business (it overwrites their reward
with ``-blowup_penalty``).

- :class:`DiagnosticCost`: r = -(sum of named diagnostics), e.g. the KS
  dissipation objective r = -(D + P_f) of Zeng & Graham (2021);
- :class:`TargetDistance`: r = -rms(u - u*), the distance to a target state
  (an equilibrium, Bucci et al. 2019); 0 exactly at the target.
"""

from __future__ import annotations

import numpy as np

from chaoscontrol.solvers.diagnostics import rms_distance_rows


class DiagnosticCost:
    """r = -(sum of the diagnostics ``names``), in the order given.

    :param names: diagnostics to add up (names of the dynamics' ``diagnostic_names``).
    :param diagnostic_names: the dynamics' diagnostic names (the columns of ``diag``).
    """

    info_key: str | None = None

    def __init__(self, names: tuple[str, ...], diagnostic_names: tuple[str, ...]) -> None:
        unknown = [n for n in names if n not in diagnostic_names]
        if unknown:
            raise ValueError(f"objective diagnostics {unknown} are not among the dynamics' {list(diagnostic_names)}")
        self.names = tuple(names)
        self.columns = tuple(diagnostic_names.index(n) for n in names)

    def __call__(self, fields: np.ndarray, diag: np.ndarray) -> tuple[np.ndarray, None]:
        """Rewards (B,) of the diagnostics ``diag`` (B, n_diag + 1)."""
        total = diag[:, self.columns[0]]
        for c in self.columns[1:]:
            total = total + diag[:, c]
        return -total, None

    def one(self, field: np.ndarray, diag: list[float]) -> tuple[float, None]:
        """The reward of one system from its diagnostics row as Python floats (the single env's path)."""
        total = diag[self.columns[0]]
        for c in self.columns[1:]:
            total = total + diag[c]
        return -total, None


class TargetDistance:
    """r = -rms(u - u*); the info value is the distance rms(u - u*).

    :param target: the target field u*, float64 (*field_shape); made read-only.
    """

    info_key = "target_distance"

    def __init__(self, target: np.ndarray) -> None:
        self.target = target

    def __call__(self, fields: np.ndarray, diag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rewards and distances (B,) of ``fields`` (B, N)."""
        distance = rms_distance_rows(fields, self.target)
        return -distance, distance

    def one(self, field: np.ndarray, diag: list[float]) -> tuple[float, float]:
        """Reward and distance of one field (N,), as Python floats (the single env's path)."""
        distance = float(rms_distance_rows(field.reshape(1, -1), self.target)[0])
        return -distance, distance


__all__ = ["DiagnosticCost", "TargetDistance"]
