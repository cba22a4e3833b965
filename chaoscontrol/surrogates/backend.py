"""A trained surrogate as the dynamics of `KS-Control-v0` (single and batched).

``gym.make("KS-Control-v0", surrogate="runs/node/model.pt")`` replaces the
Numba solver by the surrogate for every control interval; observations,
rewards, info, wrappers and spaces are the env's own, computed from the
surrogate's state. The checkpoint must come from the same dynamics
configuration (L, N, dt, frame_skip, actuators, width, max_forcing): otherwise
the constructor raises, saying what differs. A surrogate that diverges (NaN,
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
from typing import Any

import numpy as np
import torch

from chaoscontrol.solvers.diagnostics import ks_energy_budget
from chaoscontrol.surrogates.base import Surrogate
from chaoscontrol.surrogates.train import load_surrogate


class SurrogateDynamics:
    """Advances grid states (B, N) over one control interval with a surrogate, in float64 in and out.

    :param path: checkpoint written by ``chaoscontrol surrogate train``.
    :param env_config: the env's ``config_dict()``; the checkpoint must match its dynamics keys.
    """

    def __init__(self, path: str, env_config: dict[str, Any]) -> None:
        self.path = str(path)
        self.model, self.env_config = load_surrogate(path, expect_env_config=env_config)
        if not isinstance(self.model, Surrogate):
            raise ValueError(
                f"surrogate checkpoint {self.path!r} is a {self.model.config.family!r} model, which predicts sensor readings, "
                "not the state; the env needs a full-state family (e.g. spectral, corrected, node)"
            )
        self.converged: bool | None = None
        self._check_solver()

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
        return {"path": self.path, "env_config": self.env_config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self.model, self.env_config = load_surrogate(self.path, expect_env_config=state["env_config"])
        self.converged = None

    def advance_model(self, u: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The model's next states (float64); sets ``converged`` for implicit models (None for explicit ones)."""
        with torch.no_grad():
            out = self.model(torch.as_tensor(u, dtype=torch.float32), torch.as_tensor(actions, dtype=torch.float32))
        if hasattr(self.model, "last_residual"):
            self.converged = bool(self.model.last_residual <= self.model.config.tol)
        return out.double().numpy()

    def advance(
        self, u: np.ndarray, actions: np.ndarray, forcing_basis: np.ndarray, max_forcing: float, k: np.ndarray, diag_out: np.ndarray
    ) -> np.ndarray:
        """New grid states for ``u`` (B, N) under ``actions`` (B, n_act), writing (E, P, D, P_f, max|u|) to ``diag_out``.

        Rows whose result is not finite get max|u| = inf (a blow-up); a model error marks every row so.
        """
        try:
            u_next = self.advance_model(u, actions)
        except Exception:  # noqa: BLE001 - a failing surrogate ends the episode, it never raises in step
            u_next = np.full_like(u, np.nan)
        v = np.fft.rfft(u_next, axis=-1)
        fhat = (max_forcing * np.clip(actions, -1.0, 1.0)) @ forcing_basis
        for i in range(u.shape[0]):
            finite = bool(np.all(np.isfinite(u_next[i])))
            if finite:
                diag_out[i, :4] = ks_energy_budget(v[i], fhat[i], k)
                diag_out[i, 4] = float(np.max(np.abs(u_next[i])))
            else:
                diag_out[i, :4] = math.nan
                diag_out[i, 4] = math.inf
        return u_next

