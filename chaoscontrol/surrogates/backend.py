"""A trained surrogate as a :class:`~chaoscontrol.solvers.dynamics.Dynamics` of `KS-Control-v0`.

``gym.make("KS-Control-v0", surrogate="runs/node/model.pt")`` (through
:mod:`chaoscontrol.surrogates.registered_envs`) hands the env a
:class:`SurrogateDynamics` in place of the Numba solver for every control
interval; random resets still come from the true KS dynamics. Observations,
rewards, info, wrappers and spaces are the env's own, computed from the
surrogate's state. The checkpoint must be of KS (a checkpoint of another system is
refused, naming both ids) and come from the same dynamics configuration (L, N, dt,
frame_skip, actuators, width, max_forcing): otherwise the constructor raises,
saying what differs. A surrogate that diverges (NaN,
inf, or max|u| above ``blowup_threshold``) ends the episode like a blow-up; an
error inside the model is reported the same way (``info["blowup"]``), never
raised from ``step``. An implicit (``deq``) model whose solver does not reach its
tolerance is refused at construction when it fails on a typical state, and
reported in ``info["surrogate_converged"]`` (False) at every step where it fails
(the key is present only for implicit models; in the vector env it is the same
for the whole batch, which is solved together).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from chaoscontrol.solvers.actuation import spectral_forcing_rows
from chaoscontrol.solvers.diagnostics import ks_energy_budget
from chaoscontrol.solvers.ks_dynamics import KSDynamics
from chaoscontrol.surrogates.base import Surrogate
from chaoscontrol.surrogates.dataset import DEFAULT_ENV_ID as KS_ENV_ID
from chaoscontrol.surrogates.train import load_surrogate


class SurrogateDynamics:
    """A full-state surrogate advancing grid states over one control interval (the Dynamics protocol).

    States are the true dynamics' (rfft coefficients), so that resets,
    ``u0`` and the reset diagnostics are the solver's; :meth:`advance` feeds
    the grid fields to the model in float32 and writes its float64 output
    back to both arrays.

    :param path: checkpoint written by ``chaoscontrol surrogate train``.
    :param truth: the KS dynamics of the env's keywords; the checkpoint must match its configuration.
    """

    def __init__(self, path: str, truth: KSDynamics) -> None:
        self.path = str(path)
        self.truth = truth
        self.model, self.env_config = load_surrogate(path, expect_env_config=truth.config_dict(), expect_env_id=KS_ENV_ID)
        if not isinstance(self.model, Surrogate):
            raise ValueError(
                f"surrogate checkpoint {self.path!r} is a {self.model.config.family!r} model, which predicts sensor readings, "
                "not the state; the env needs a full-state family (e.g. spectral, corrected, node)"
            )
        self._copy_shape_attributes()
        self.converged: bool | None = None
        self._check_solver()

    def _copy_shape_attributes(self) -> None:
        t = self.truth
        self.state_shape, self.state_dtype, self.field_shape = t.state_shape, t.state_dtype, t.field_shape
        self.n_actions, self.control_dt, self.diagnostic_names = t.n_actions, t.control_dt, t.diagnostic_names

    def _check_solver(self) -> None:
        """An implicit (``deq``) model must converge on a typical state within its iteration budget, or it is refused."""
        if not hasattr(self.model, "last_residual"):
            return
        c = self.model.config
        x = np.arange(c.N) * c.L / c.N
        u = float(self.model.u_scale) * np.sqrt(2.0) * np.sin(2 * np.pi * x / c.L + 0.3)
        self.advance_model(u[None], np.zeros((1, c.n_actuators)))
        if not self.converged:
            raise ValueError(
                f"surrogate checkpoint {self.path!r}: its implicit solver ({c.solver}) did not converge on a typical state "
                f"within max_iter={c.max_iter} (relative residual {self.model.last_residual:.2e} > tol={c.tol:g}); "
                "retrain with a larger max_iter or tol"
            )

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "truth": self.truth}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self.truth = state["truth"]
        self.model, self.env_config = load_surrogate(self.path, expect_env_config=self.truth.config_dict(), expect_env_id=KS_ENV_ID)
        self._copy_shape_attributes()
        self.converged = None

    # ------------------------------------------------------------------ the protocol

    def random_states(self, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        """The true dynamics' random starts (on the true attractor)."""
        return self.truth.random_states(rngs)

    def states_from_fields(self, fields: np.ndarray) -> np.ndarray:
        return self.truth.states_from_fields(fields)

    def fields_from_states(self, states: np.ndarray) -> np.ndarray:
        return self.truth.fields_from_states(states)

    def unforced_diagnostics(self, states: np.ndarray) -> np.ndarray:
        return self.truth.unforced_diagnostics(states)

    def forcing_fields(self, actions: np.ndarray) -> np.ndarray:
        return self.truth.forcing_fields(actions)

    def config_dict(self) -> dict[str, Any]:
        """The true dynamics' configuration (the checkpoint was checked against it)."""
        return self.truth.config_dict()

    def step_info(self) -> dict[str, bool]:
        """``{"surrogate_converged": ...}`` after a step of an implicit model, else nothing."""
        return {} if self.converged is None else {"surrogate_converged": self.converged}

    def advance_model(self, u: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The model's next states (float64); sets ``converged`` for implicit models (None for explicit ones)."""
        with torch.no_grad():
            out = self.model(torch.as_tensor(u, dtype=torch.float32), torch.as_tensor(actions, dtype=torch.float32))
        if hasattr(self.model, "last_residual"):
            self.converged = bool(self.model.last_residual <= self.model.config.tol)
        return out.double().numpy()

    def advance(self, states: np.ndarray, fields: np.ndarray, actions: np.ndarray, diag_out: np.ndarray) -> int:
        """New fields (and their rfft states) for ``fields`` (B, N) under ``actions`` (B, n_act), in place.

        Writes (E, P, D, P_f, max|u|) to ``diag_out``. Rows whose result is not
        finite get max|u| = inf (a blow-up); a model error marks every row so.

        :return: -1, or the first row whose action is not finite (nothing changed).
        """
        finite_rows = np.isfinite(actions).all(axis=1)
        if not finite_rows.all():
            return int(np.flatnonzero(~finite_rows)[0])
        try:
            u_next = self.advance_model(fields, actions)
        except Exception:  # noqa: BLE001 - a failing surrogate ends the episode, it never raises in step
            u_next = np.full_like(fields, np.nan)
        fields[:] = u_next
        states[:] = np.fft.rfft(u_next, axis=-1)
        fhat = np.empty_like(states)
        spectral_forcing_rows(actions, self.truth.forcing_basis, self.truth.max_forcing, fhat)
        k = self.truth.k
        for i in range(fields.shape[0]):
            if bool(np.all(np.isfinite(u_next[i]))):
                diag_out[i, :4] = ks_energy_budget(states[i], fhat[i], k)
                diag_out[i, 4] = float(np.max(np.abs(u_next[i])))
            else:
                diag_out[i, :4] = math.nan
                diag_out[i, 4] = math.inf
        return -1
