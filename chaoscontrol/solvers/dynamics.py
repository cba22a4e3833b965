"""The dynamics protocol: what an environment needs from a controlled system.

An environment (:class:`chaoscontrol.envs.core.ControlEnv`) is a thin layer
over a *dynamics object*: the numerical system it controls, advanced one
control interval at a time over a batch of B systems. The env owns the
episode (time, seeding, observation, reward, termination); the dynamics owns
the physics (state representation, scheme and its coefficients, actuation and
its forcing law, diagnostics). A new system is a new class with these members
plus an env spec (:mod:`chaoscontrol.envs.ks_control` is the worked example,
``docs/design.md`` walks through adding one).

Two arrays describe B systems:

- ``states`` (B, *state_shape), ``state_dtype``: what the scheme advances (for
  KS the rfft coefficients, complex128);
- ``fields`` (B, *field_shape), float64: the physical field that sensors,
  rewards, reset options (``u0``) and users see (for KS u on the grid).

Both are kept by the env and updated in place by :meth:`Dynamics.advance`, so
that neither is ever recomputed from the other by a round trip that would cost
bits. The diagnostics array ``diag`` (B, len(diagnostic_names) + 1) holds the
named physical diagnostics at the end of the interval and, in its last column
(:data:`DIAG_MAX_ABS`), max |field|: +inf when the state is not finite, which
the env reads as a blow-up.

Random number generators are owned by the caller (one per system, see
:meth:`Dynamics.random_states`); a dynamics object holds no RNG and no mutable
state besides caches of constants, so one object serves any number of envs.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

#: Column of the diagnostics array holding max|field| (+inf if not finite): the last one.
DIAG_MAX_ABS = -1


@runtime_checkable
class Dynamics(Protocol):
    """A controlled dynamical system, advanced over batches of states (see the module docstring)."""

    state_shape: tuple[int, ...]
    """Shape of one system's internal state."""
    state_dtype: np.dtype
    """dtype of the internal state."""
    field_shape: tuple[int, ...]
    """Shape of one system's physical field (float64)."""
    n_actions: int
    """Number of actuators; actions are (B, n_actions) in [-1, 1] (clipped by the dynamics)."""
    control_dt: float
    """Physical time of one :meth:`advance`."""
    diagnostic_names: tuple[str, ...]
    """Names of the diagnostics columns before max|field| (they become ``info`` keys)."""

    def random_states(self, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        """Random starting states on the attractor, one per generator, (len(rngs), *state_shape).

        Each generator is drawn from in order and only by its own row, so a
        system's start depends on its generator alone (batched resets equal
        single ones).
        """

    def states_from_fields(self, fields: np.ndarray) -> np.ndarray:
        """Internal states of the physical fields (B, *field_shape)."""

    def fields_from_states(self, states: np.ndarray) -> np.ndarray:
        """Physical fields of the internal states (B, *state_shape)."""

    def unforced_diagnostics(self, states: np.ndarray) -> np.ndarray:
        """The named diagnostics of states without forcing, (B, len(diagnostic_names))."""

    def advance(self, states: np.ndarray, fields: np.ndarray, actions: np.ndarray, diag_out: np.ndarray) -> int:
        """Advance B systems over one control interval, in place.

        :param states: (B, *state_shape); overwritten.
        :param fields: (B, *field_shape), consistent with ``states``; overwritten.
        :param actions: float64 (B, n_actions), held constant over the interval.
        :param diag_out: receives the diagnostics at the end, (B, len(diagnostic_names) + 1).
        :return: -1, or the index of the first row whose action is not finite (then nothing is changed).
        """

    def forcing_fields(self, actions: np.ndarray) -> np.ndarray:
        """The forcing of ``actions`` (..., n_actions) on the field, (..., *field_shape)."""

    # Optional: ``advance_one(state, field, action, diag) -> bool``, one system with 1-D arrays
    # (True if done, False if the action is not finite), bit-identical to a batch of one row. The
    # single env uses it when present, to keep its per-step overhead at one kernel call.

    def config_dict(self) -> dict[str, Any]:
        """The dynamics' configuration as plain JSON values (checkpoints and datasets record it)."""


__all__ = ["DIAG_MAX_ABS", "Dynamics"]
