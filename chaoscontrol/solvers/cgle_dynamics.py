r"""The actuated complex Ginzburg-Landau equation as a :class:`~chaoscontrol.solvers.dynamics.Dynamics`.

.. math:: A_t = A + (1 + i\alpha) A_{xx} - (1 + i\beta)|A|^2 A + f, \qquad
          f = \text{max\_forcing} \sum_c \operatorname{clip}(a_c, -1, 1)\, \phi_c(x),

on [0, L) periodic, by Fourier pseudo-spectral ETDRK4 (:mod:`chaoscontrol.solvers.cgle`).
One control interval is ``frame_skip`` solver steps of ``dt`` with the action
held constant: one Numba call,
:func:`~chaoscontrol.solvers.cgle_control.cgle_control_interval_batch`.

Actuation: n Gaussian actuators psi_j(x) = exp(-d(x, x_j)^2 / (2 sigma^2)) with
peak 1 at x_j = (2j + 1) L / (2n), the geometry of KS (Bucci et al. 2019;
:mod:`chaoscontrol.solvers.actuation`). A is complex, and so is the forcing:

- ``forcing="complex"`` (default): two channels per actuator, phi_j = psi_j
  (on Re A) and phi_{n+j} = i psi_j (on Im A), so n_act = 2n and the actions are
  (a_1^re .. a_n^re, a_1^im .. a_n^im). The equation is invariant under the
  phase rotation A -> A e^{i phi} and the uniform oscillation rotates at
  frequency beta; only a complex forcing acts on every phase with the same
  authority, as the phase-invariant objectives need;
- ``forcing="real"``: one channel per actuator, phi_j = psi_j on Re A (n_act = n),
  the cheaper and harder problem of a real actuator.

The mean of the forcing is not removed (no conserved quantity to protect).
States are FFT coefficients of A (complex128, (N,)); fields are float64 (2, N),
row 0 Re A and row 1 Im A on the grid. Diagnostics are those of
:mod:`chaoscontrol.solvers.cgle_control` and max|A|.

Random starts (:meth:`CGLEDynamics.random_states`): the uniform state plus a
small smooth complex perturbation, A(x, 0) = 1 + 0.01 sum_{|m| <= 4}
c_m e^{2 pi i m x / L} / 3, c_m = (xi_m + i eta_m) / sqrt(2), xi, eta ~ N(0, 1)
from the system's own generator (rms 0.01 in expectation), run unforced for
``burn_in`` time units (rounded to whole solver steps) through the
Benjamin-Feir instability onto the turbulent attractor, all rows in one batched
call.
"""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from typing import Any, Sequence

import numpy as np

from chaoscontrol.solvers.actuation import actuator_centres, forcing_law, gaussian_actuator_shapes, resolve_positions
from chaoscontrol.solvers.cgle import CGLEConfig, cgle_coefficients
from chaoscontrol.solvers.cgle_control import (
    CGLE_DIAGNOSTICS,
    N_DIAG,
    cgle_control_interval,
    cgle_control_interval_batch,
    cgle_field_rows,
)
from chaoscontrol.validation import check_int, check_non_negative, check_positive

#: Forcing modes: two channels (Re, Im) per actuator, or one on Re A.
FORCINGS = ("complex", "real")
#: The env keywords that configure the dynamics besides the equation and grid (alpha, beta, L, N, dt).
ENV_KWARGS = ("frame_skip", "actuators", "actuator_width", "forcing", "max_forcing", "burn_in")
#: Equation and grid keywords with their defaults, those of CGLEConfig (the Benjamin-Feir-unstable point).
GRID_DEFAULTS = {f.name: f.default for f in dataclass_fields(CGLEConfig) if f.repr}
#: Largest |m| of the random start's perturbation, and its rms amplitude.
START_MODES, START_AMPLITUDE = 4, 0.01


class CGLEDynamics:
    """Actuated CGLE on a periodic grid, advanced one control interval at a time (see the module docstring).

    :param config: the equation and grid (alpha, beta, L, N, dt) of :class:`~chaoscontrol.solvers.cgle.CGLEConfig`;
        default :data:`GRID_DEFAULTS`.
    :param frame_skip: solver steps per control interval, >= 1.
    :param actuators: a count (evenly spaced, centres (2j + 1) L / (2n)) or a sequence of centres in [0, L).
    :param actuator_width: Gaussian width sigma of the actuators, > 0.
    :param forcing: ``"complex"`` (two channels per actuator) or ``"real"`` (one, on Re A).
    :param max_forcing: forcing amplitude multiplying the clipped actions, >= 0.
    :param burn_in: unforced time units run from a random start, >= 0.
    :raises ValueError: naming the argument, for any invalid value.
    """

    diagnostic_names = CGLE_DIAGNOSTICS
    state_dtype = np.dtype(np.complex128)

    def __init__(
        self,
        config: CGLEConfig | None = None,
        frame_skip: int = 5,
        actuators: int | Sequence[float] = 16,
        actuator_width: float = 0.4,
        forcing: str = "complex",
        max_forcing: float = 0.5,
        burn_in: float = 100.0,
    ) -> None:
        self.config = CGLEConfig() if config is None else config
        if not isinstance(self.config, CGLEConfig):
            raise ValueError(f"config must be a CGLEConfig, got {type(config).__name__}")
        cfg = self.config
        if cfg.N < 2 * START_MODES + 2:
            raise ValueError(f"N must be >= {2 * START_MODES + 2} for the random starts, got {cfg.N}")
        self.frame_skip = check_int("frame_skip", frame_skip)
        self.actuator_positions = resolve_positions("actuators", actuators, cfg.L, cfg.N, actuator_centres)
        self.actuator_width = check_positive("actuator_width", actuator_width)
        if forcing not in FORCINGS:
            raise ValueError(f"forcing must be one of {FORCINGS}, got {forcing!r}")
        self.forcing = forcing
        self.max_forcing = check_non_negative("max_forcing", max_forcing)
        self.burn_in = check_non_negative("burn_in", burn_in)
        self.coeffs = cgle_coefficients(cfg)
        """ETDRK4 coefficients and the plane-wave shift, complex128 (7, N)."""
        self.g = cfg.nonlinear_coefficient
        """The nonlinear coefficient -(1 + i beta)."""
        self.actuator_shapes = gaussian_actuator_shapes(cfg.x, cfg.L, self.actuator_positions, self.actuator_width)
        """Actuator profiles psi_j on the grid (peak 1), (n, N)."""
        shapes = self.actuator_shapes.astype(np.complex128)
        self.channel_shapes = np.concatenate([shapes, 1j * shapes]) if forcing == "complex" else shapes
        """Complex channel profiles phi_c on the grid (the grid basis of the forcing law), (n_act, N)."""
        self.channel_shapes.setflags(write=False)
        self.forcing_basis = np.fft.fft(self.channel_shapes, axis=-1)
        """FFT of the channel profiles (the spectral basis of the forcing law), (n_act, N)."""
        self.forcing_basis.setflags(write=False)
        self.state_shape = (cfg.N,)
        self.field_shape = (2, cfg.N)
        self.n_actions = int(self.channel_shapes.shape[0])
        self.control_dt = self.frame_skip * cfg.dt

    @classmethod
    def from_env_kwargs(cls, kwargs: dict[str, Any]) -> CGLEDynamics:
        """The dynamics of ``CGLE-Control-v0`` keywords (alpha, beta, L, N, dt and :data:`ENV_KWARGS`; the others
        are ignored), each checked with an error naming it."""
        grid = dict(GRID_DEFAULTS)
        grid.update({k: kwargs[k] for k in grid if k in kwargs})
        return cls(CGLEConfig(**grid), **{k: kwargs[k] for k in ENV_KWARGS if k in kwargs})

    # ------------------------------------------------------------------ the protocol

    @property
    def burn_in_steps(self) -> int:
        """Solver steps of the burn-in (``burn_in / dt``, rounded)."""
        return int(round(self.burn_in / self.config.dt))

    def random_start(self, rng: np.random.Generator) -> np.ndarray:
        """One spectral random start (module docstring), before burn-in, complex128 (N,)."""
        cfg = self.config
        m = np.arange(-START_MODES, START_MODES + 1)
        c = (rng.standard_normal(m.size) + 1j * rng.standard_normal(m.size)) / np.sqrt(2.0 * m.size)
        a = 1.0 + START_AMPLITUDE * (np.exp(2j * np.pi / cfg.L * np.outer(cfg.x, m)) @ c)
        return np.fft.fft(a)

    def random_states(self, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        """Random starts (:meth:`random_start`) run unforced for ``burn_in`` together, (len(rngs), N)."""
        v = np.stack([self.random_start(rng) for rng in rngs])
        if self.burn_in_steps:
            self.run_unforced(v, self.burn_in_steps)
        return v

    def run_unforced(self, states: np.ndarray, n_steps: int) -> np.ndarray:
        """Advance ``states`` (B, N) by ``n_steps`` unforced solver steps in place (one batched call); the fields
        (B, 2, N) at the end."""
        b = states.shape[0]
        fields = np.empty((b, *self.field_shape))
        cgle_control_interval_batch(states, np.zeros((b, self.n_actions)), self.forcing_basis, 0.0, self.coeffs,
                                    self.g, int(n_steps), fields, np.empty((b, N_DIAG)))
        return fields

    def states_from_fields(self, fields: np.ndarray) -> np.ndarray:
        """FFT of A = Re + i Im of each field (B, 2, N), (B, N)."""
        return np.fft.fft(fields[..., 0, :] + 1j * fields[..., 1, :], axis=-1)

    def fields_from_states(self, states: np.ndarray) -> np.ndarray:
        """(Re A, Im A) of each state (B, N), (B, 2, N)."""
        a = np.fft.ifft(states, axis=-1)
        return np.stack([a.real, a.imag], axis=-2)

    def unforced_diagnostics(self, states: np.ndarray) -> np.ndarray:
        """The diagnostics of each row of ``states`` (B, N) without forcing (power 0), (B, 5)."""
        v = np.ascontiguousarray(states, dtype=np.complex128)
        diag = np.empty((v.shape[0], N_DIAG))
        cgle_field_rows(v, np.zeros_like(v), np.empty((v.shape[0], 2, v.shape[1])), diag)
        return diag[:, : len(CGLE_DIAGNOSTICS)]

    def advance(self, states: np.ndarray, fields: np.ndarray, actions: np.ndarray, diag_out: np.ndarray) -> int:
        """One control interval of every row, in place (one Numba call); see :class:`~chaoscontrol.solvers.dynamics.Dynamics`.

        ``fields`` is only written (Re A, Im A at the end of the interval). A batch
        of one row takes the single-state kernel (same bits, least overhead).
        """
        if states.shape[0] == 1:
            return -1 if self.advance_one(states[0], fields[0], actions[0], diag_out[0]) else 0
        return cgle_control_interval_batch(states, actions, self.forcing_basis, self.max_forcing, self.coeffs, self.g,
                                           self.frame_skip, fields, diag_out)

    def advance_one(self, state: np.ndarray, field: np.ndarray, action: np.ndarray, diag: np.ndarray) -> bool:
        """One system's control interval with 1-D arrays (the single env's path): False if ``action`` is not finite."""
        return cgle_control_interval(state, action, self.forcing_basis, self.max_forcing, self.coeffs, self.g,
                                     self.frame_skip, field, diag)

    def forcing_fields(self, actions: np.ndarray) -> np.ndarray:
        """The forcing (Re f, Im f) on the grid for actions (..., n_act), clipped as in :meth:`advance`: (..., 2, N)."""
        f = forcing_law(np.asarray(actions, dtype=np.float64), self.channel_shapes, self.max_forcing)
        return np.stack([f.real, f.imag], axis=-2)

    def config_dict(self) -> dict[str, Any]:
        """alpha, beta, L, N, dt, frame_skip, actuators (positions), actuator_width, forcing, max_forcing, burn_in."""
        c = self.config
        return {
            "alpha": c.alpha,
            "beta": c.beta,
            "L": c.L,
            "N": c.N,
            "dt": c.dt,
            "frame_skip": self.frame_skip,
            "actuators": self.actuator_positions.tolist(),
            "actuator_width": self.actuator_width,
            "forcing": self.forcing,
            "max_forcing": self.max_forcing,
            "burn_in": self.burn_in,
        }

    def __repr__(self) -> str:
        c = self.config
        return (f"CGLEDynamics(alpha={c.alpha:g}, beta={c.beta:g}, L={c.L:g}, N={c.N}, dt={c.dt:g}, "
                f"frame_skip={self.frame_skip}, actuators={self.actuator_positions.size}, forcing={self.forcing!r}, "
                f"max_forcing={self.max_forcing:g})")


__all__ = ["CGLEDynamics", "CGLE_DIAGNOSTICS", "FORCINGS", "GRID_DEFAULTS"]
