"""The part of the ODE systems' :class:`~chaoscontrol.solvers.dynamics.Dynamics` that does not depend on the ODE.

An ODE system here has one float64 vector (n,) as both its state and its
field, is forced additively at some of its components,
f_{c_j} = max_forcing * clip(a_j, -1, 1), and is advanced over a control
interval by two Numba kernels of one signature,
``kernel(x, actions, forced, max_forcing, params, dt, n_steps, field_out, diag_out)``:
one for a batch (returns -1 or the first bad row) and one for a single state
with 1-D arrays (returns False for a bad action). :class:`ForcedODEDynamics`
holds what follows from that: resets with a burn-in through the batch kernel,
the (identity) field maps, ``advance``, ``advance_one`` and the forcing law.
Lorenz-63 (:mod:`chaoscontrol.solvers.lorenz63_dynamics`) and Lorenz-96
(:mod:`chaoscontrol.solvers.lorenz96_dynamics`) add their parameters, random
start, diagnostics and configuration.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from chaoscontrol.validation import check_int, check_non_negative


class ForcedODEDynamics:
    """Base of an ODE dynamics forced at some components (see the module docstring).

    :param n: the state size.
    :param forced: the component each action forces, distinct, int64 (n_act,).
    :param params: the kernels' ``params`` argument (the ODE's parameters).
    :param dt: the solver step.
    :param frame_skip: solver steps per control interval, >= 1.
    :param max_forcing: forcing amplitude multiplying the clipped actions, >= 0.
    :param burn_in: unforced time units run from a random start, >= 0.
    """

    state_dtype = np.dtype(np.float64)
    diagnostic_names: tuple[str, ...] = ()
    #: The batch kernel (B rows), returning -1 or the first row with a non-finite action.
    batch_kernel: Callable[..., int]
    #: The single-state kernel (1-D arrays), returning False for a non-finite action.
    single_kernel: Callable[..., bool]

    def __init__(self, n: int, forced: np.ndarray, params: Any, dt: float, frame_skip: int, max_forcing: float,
                 burn_in: float) -> None:
        self.state_shape = (int(n),)
        self.field_shape = (int(n),)
        self.forced_indices = forced
        self.frame_skip = check_int("frame_skip", frame_skip)
        self.max_forcing = check_non_negative("max_forcing", max_forcing)
        self.burn_in = check_non_negative("burn_in", burn_in)
        self.n_actions = int(forced.size)
        self.control_dt = self.frame_skip * dt
        self._params = params
        self._dt = dt

    def random_start(self, rng: np.random.Generator) -> np.ndarray:
        """One start before burn-in, (n,) (the system's own law)."""
        raise NotImplementedError

    @property
    def burn_in_steps(self) -> int:
        """Solver steps of the burn-in (``burn_in / dt``, rounded)."""
        return int(round(self.burn_in / self._dt))

    def random_states(self, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        """Random starts (:meth:`random_start`, one per generator) run unforced for ``burn_in`` together, (B, n)."""
        x = np.stack([self.random_start(rng) for rng in rngs])
        if self.burn_in_steps:
            rows = x.shape[0]
            self.batch_kernel(x, np.zeros((rows, self.n_actions)), self.forced_indices, 0.0, self._params, self._dt,
                              self.burn_in_steps, np.empty_like(x), np.empty((rows, len(self.diagnostic_names) + 1)))
        return x

    def states_from_fields(self, fields: np.ndarray) -> np.ndarray:
        """The states of ``fields`` (B, n): a float64 copy (state and field are the same vector)."""
        return np.array(fields, dtype=np.float64)

    def fields_from_states(self, states: np.ndarray) -> np.ndarray:
        """The fields of ``states`` (B, n): a float64 copy."""
        return np.array(states, dtype=np.float64)

    def advance(self, states: np.ndarray, fields: np.ndarray, actions: np.ndarray, diag_out: np.ndarray) -> int:
        """One control interval of every row, in place (one Numba call); see :class:`~chaoscontrol.solvers.dynamics.Dynamics`."""
        return self.batch_kernel(states, actions, self.forced_indices, self.max_forcing, self._params, self._dt,
                                 self.frame_skip, fields, diag_out)

    def advance_one(self, state: np.ndarray, field: np.ndarray, action: np.ndarray, diag: np.ndarray) -> bool:
        """One system's control interval with 1-D arrays (the single env's path): False if ``action`` is not finite."""
        return self.single_kernel(state, action, self.forced_indices, self.max_forcing, self._params, self._dt,
                                  self.frame_skip, field, diag)

    def forcing_fields(self, actions: np.ndarray) -> np.ndarray:
        """The control forcing f of actions (..., n_act), clipped as in :meth:`advance`: (..., n)."""
        a = np.asarray(actions, dtype=np.float64)
        f = np.zeros((*a.shape[:-1], *self.field_shape))
        f[..., self.forced_indices] = self.max_forcing * np.clip(a, -1.0, 1.0)
        return f


__all__ = ["ForcedODEDynamics"]
