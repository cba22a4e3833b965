r"""The actuated Kuramoto-Sivashinsky equation as a :class:`~chaoscontrol.solvers.dynamics.Dynamics`.

.. math:: u_t + u u_x + u_{xx} + u_{xxxx} = f(x, t), \qquad
          f = \text{max\_forcing} \sum_j \operatorname{clip}(a_j) (\psi_j - \langle\psi_j\rangle),

on [0, L) periodic, by Fourier pseudo-spectral ETDRK4 (:mod:`chaoscontrol.solvers.ks`)
with Gaussian actuators psi_j (Bucci et al. 2019; :mod:`chaoscontrol.solvers.actuation`).
One control interval is ``frame_skip`` solver steps of ``dt`` with the action
held constant: one Numba call, :func:`~chaoscontrol.solvers.control.ks_control_interval_batch`.

The object owns, computed once: the ETDRK4 coefficients, the wavenumbers, the
actuator profiles and their spectral forcing basis, ``max_forcing``,
``frame_skip`` and the burn-in; the forcing law is
:func:`~chaoscontrol.solvers.actuation.forcing_law`. States are rfft
coefficients (complex128, (M,) = (N/2 + 1,)), fields u on the grid (float64,
(N,)); diagnostics are the energy budget (E, P, D, P_f) of
:mod:`chaoscontrol.solvers.diagnostics` and max|u|.

Random starts (:meth:`KSDynamics.random_states`): u(x, 0) = sum_{q=1..4} A_q
cos(2 pi q x / L + phi_q), A_q ~ U(-1, 1), phi_q ~ U(0, 2 pi) from the system's
own generator, run unforced for ``burn_in`` time units (rounded to whole solver
steps) onto the attractor, all rows in one batched call.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from chaoscontrol.solvers.actuation import (
    actuator_centres,
    forcing_basis_spectral,
    forcing_law,
    gaussian_actuator_shapes,
    mean_free_shapes,
    resolve_positions,
)
from chaoscontrol.solvers.control import N_DIAG, ks_control_interval, ks_control_interval_batch
from chaoscontrol.solvers.diagnostics import ks_energy_budget
from chaoscontrol.solvers.ks import KSConfig, ks_coefficients, ks_etdrk4_steps_batch
from chaoscontrol.validation import check_int, check_non_negative, check_positive

#: Names of the KS diagnostics columns (before max|u|).
KS_DIAGNOSTICS = ("energy", "production", "dissipation", "power")
#: Measured leading Lyapunov exponents (1 / time unit) of unforced KS, each with the configuration it holds for:
#: ~0.048 at L = 22 (Cvitanovic, Davidchack & Siminos 2010; docs/physics.md), 0.088 at L = 66 and 0.091 at L = 100
#: (docs/systems.md, "large-domain KS"). Read by code that counts time in Lyapunov times (surrogate evaluation).
LYAPUNOV_EXPONENTS: tuple[tuple[dict[str, float], float], ...] = (({"L": 22.0}, 0.048), ({"L": 66.0}, 0.088),
                                                                    ({"L": 100.0}, 0.091))
#: The env keywords that configure the dynamics besides the grid (L, N, dt).
ENV_KWARGS = ("frame_skip", "actuators", "actuator_width", "max_forcing", "burn_in")


class KSDynamics:
    """Actuated KS on a periodic grid, advanced one control interval at a time (see the module docstring).

    :param config: the grid and solver step (L, N, dt) of :class:`~chaoscontrol.solvers.ks.KSConfig`.
    :param frame_skip: solver steps per control interval, >= 1.
    :param actuators: a count (evenly spaced, centres (2j + 1) L / (2n)) or a sequence of centres in [0, L).
    :param actuator_width: Gaussian width sigma of the actuators, > 0.
    :param max_forcing: forcing amplitude multiplying the clipped actions, >= 0.
    :param burn_in: unforced time units run from a random start, >= 0.
    :raises ValueError: naming the argument, for any invalid value.
    """

    diagnostic_names = KS_DIAGNOSTICS
    state_dtype = np.dtype(np.complex128)

    def __init__(
        self,
        config: KSConfig | None = None,
        frame_skip: int = 5,
        actuators: int | Sequence[float] = 4,
        actuator_width: float = 0.4,
        max_forcing: float = 0.5,
        burn_in: float = 100.0,
    ) -> None:
        self.config = KSConfig() if config is None else config
        if not isinstance(self.config, KSConfig):
            raise ValueError(f"config must be a KSConfig, got {type(config).__name__}")
        self.frame_skip = check_int("frame_skip", frame_skip)
        self.actuator_positions = resolve_positions("actuators", actuators, self.config.L, self.config.N, actuator_centres)
        self.actuator_width = check_positive("actuator_width", actuator_width)
        self.max_forcing = check_non_negative("max_forcing", max_forcing)
        self.burn_in = check_non_negative("burn_in", burn_in)
        cfg = self.config
        self.coeffs = ks_coefficients(cfg)
        """ETDRK4 coefficients, (7, M)."""
        self.k = cfg.k
        """Wavenumbers, (M,)."""
        self.actuator_shapes = gaussian_actuator_shapes(cfg.x, cfg.L, self.actuator_positions, self.actuator_width)
        """Actuator profiles psi_j on the grid (peak 1, mean not removed), (n_act, N)."""
        self.forcing_shapes = mean_free_shapes(self.actuator_shapes)
        """Grid basis of the forcing law, psi_j - <psi_j>, (n_act, N)."""
        self.forcing_basis = forcing_basis_spectral(self.actuator_shapes)
        """Spectral basis of the forcing law, rfft(psi_j) with the mean mode zero, (n_act, M)."""
        self.state_shape = (cfg.n_modes,)
        self.field_shape = (cfg.N,)
        self.n_actions = int(self.actuator_positions.size)
        self.control_dt = self.frame_skip * cfg.dt
        self._zero_forcing = np.zeros((1, cfg.n_modes), dtype=np.complex128)

    @classmethod
    def from_env_kwargs(cls, kwargs: dict[str, Any]) -> KSDynamics:
        """The dynamics of ``KS-Control-v0`` keywords (L, N, dt, frame_skip, actuators, actuator_width,
        max_forcing, burn_in; the others are ignored), each checked with an error naming it."""
        grid = {"L": 22.0, "N": 64, "dt": 0.05}
        grid.update({k: kwargs[k] for k in grid if k in kwargs})
        config = KSConfig(L=check_positive("L", grid["L"]), N=grid["N"], dt=check_positive("dt", grid["dt"]))
        return cls(config, **{k: kwargs[k] for k in ENV_KWARGS if k in kwargs})

    # ------------------------------------------------------------------ the protocol

    @property
    def burn_in_steps(self) -> int:
        """Solver steps of the burn-in (``burn_in / dt``, rounded)."""
        return int(round(self.burn_in / self.config.dt))

    def random_start(self, rng: np.random.Generator) -> np.ndarray:
        """One spectral random smooth state sum_{q=1..4} A_q cos(2 pi q x / L + phi_q), before burn-in, (M,)."""
        cfg = self.config
        q = np.arange(1, 5)
        amp = rng.uniform(-1.0, 1.0, q.size)
        phase = rng.uniform(0.0, 2.0 * np.pi, q.size)
        u = np.cos(2.0 * np.pi / cfg.L * np.outer(cfg.x, q) + phase) @ amp
        return np.fft.rfft(u)

    def random_states(self, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        """Random starts (:meth:`random_start`) run unforced for ``burn_in`` together, (len(rngs), M)."""
        v = np.stack([self.random_start(rng) for rng in rngs])
        if self.burn_in_steps:
            ks_etdrk4_steps_batch(v, self._zero_rows(v.shape[0]), self.coeffs, self.burn_in_steps)
        return v

    def states_from_fields(self, fields: np.ndarray) -> np.ndarray:
        """rfft of each row of ``fields`` (B, N), (B, M)."""
        return np.fft.rfft(fields, axis=-1)

    def fields_from_states(self, states: np.ndarray) -> np.ndarray:
        """irfft of each row of ``states`` (B, M) onto the grid, (B, N)."""
        return np.fft.irfft(states, self.config.N, axis=-1)

    def unforced_diagnostics(self, states: np.ndarray) -> np.ndarray:
        """(E, P, D, 0) of each row of ``states`` (B, M), (B, 4)."""
        zero = self._zero_forcing[0]
        return np.array([ks_energy_budget(v, zero, self.k) for v in states]).reshape(len(states), len(KS_DIAGNOSTICS))

    def advance(self, states: np.ndarray, fields: np.ndarray, actions: np.ndarray, diag_out: np.ndarray) -> int:
        """One control interval of every row, in place (one Numba call); see :class:`~chaoscontrol.solvers.dynamics.Dynamics`.

        ``fields`` is only written (u at the end of the interval). A batch of one
        row takes the single-state kernel, which gives the same bits with the
        least call overhead.
        """
        if states.shape[0] == 1:
            return -1 if self.advance_one(states[0], fields[0], actions[0], diag_out[0]) else 0
        return ks_control_interval_batch(
            states, actions, self.forcing_basis, self.max_forcing, self.coeffs, self.frame_skip, self.k, fields, diag_out
        )

    def advance_one(self, state: np.ndarray, field: np.ndarray, action: np.ndarray, diag: np.ndarray) -> bool:
        """One system's control interval with 1-D arrays (the single env's path): False if ``action`` is not finite."""
        return ks_control_interval(
            state, action, self.forcing_basis, self.max_forcing, self.coeffs, self.frame_skip, self.k, field, diag
        )

    def forcing_fields(self, actions: np.ndarray) -> np.ndarray:
        """The forcing f on the grid for actions (..., n_act), clipped as in :meth:`advance`: (..., N)."""
        return forcing_law(np.asarray(actions, dtype=np.float64), self.forcing_shapes, self.max_forcing)

    def config_dict(self) -> dict[str, Any]:
        """L, N, dt, frame_skip, actuators (positions), actuator_width, max_forcing, burn_in as JSON values."""
        return {
            "L": self.config.L,
            "N": self.config.N,
            "dt": self.config.dt,
            "frame_skip": self.frame_skip,
            "actuators": self.actuator_positions.tolist(),
            "actuator_width": self.actuator_width,
            "max_forcing": self.max_forcing,
            "burn_in": self.burn_in,
        }

    # ------------------------------------------------------------------ helpers

    def _zero_rows(self, rows: int) -> np.ndarray:
        return np.zeros((rows, self.config.n_modes), dtype=np.complex128)

    def __repr__(self) -> str:
        c = self.config
        return (f"KSDynamics(L={c.L:g}, N={c.N}, dt={c.dt:g}, frame_skip={self.frame_skip}, "
                f"actuators={self.n_actions}, max_forcing={self.max_forcing:g})")


__all__ = ["KSDynamics", "KS_DIAGNOSTICS", "N_DIAG"]
