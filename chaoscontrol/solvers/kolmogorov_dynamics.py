r"""The actuated 2-D Kolmogorov flow as a :class:`~chaoscontrol.solvers.dynamics.Dynamics`.

.. math:: \omega_t + \mathbf u \cdot \nabla\omega = \frac{1}{Re}\nabla^2\omega - \alpha\omega - \chi n \cos(n y)
          + \text{max\_forcing} \sum_j \operatorname{clip}(a_j, -1, 1)\, g_j(x, y)

on [0, 2 pi)^2 by Fourier pseudo-spectral ETDRK4 (:mod:`chaoscontrol.solvers.kolmogorov`).
One control interval is ``frame_skip`` solver steps of ``dt`` with the action
held constant: one Numba call,
:func:`~chaoscontrol.solvers.kolmogorov_control.kolmogorov_control_interval_batch`.

Actuation: n localized vortical body forces ("jets"), Gaussians of width
sigma (peak 1) around fixed centres with the periodic distance in x and y,

.. math:: g_j(x, y) = P\Big[\exp\big(-(d(x, x_j)^2 + d(y, y_j)^2) / (2\sigma^2)\big) - \langle\cdot\rangle\Big],

the mean removed (the mean vorticity is zero) and de-aliased (P, the 2/3
rule), so the forcing law of :mod:`chaoscontrol.solvers.actuation` applies as
written. A count n places the centres on the diagonal,
x_j = y_j = 2 pi (j + 1/2) / n (one jet in each of n horizontal and n vertical
bands; with the default n = 8 and forcing wavenumber 4 the centres sit at the
zero crossings of omega_L, where the laminar shear is largest); a sequence of
(x, y) pairs places them anywhere.

States are rfft2 coefficients of omega (complex128 (N, N/2 + 1)), fields omega
on the grid (float64 (N, N), axis 0 y, axis 1 x). Diagnostics are those of
:mod:`chaoscontrol.solvers.kolmogorov_control` and max|omega|.

Random starts (:meth:`KolmogorovDynamics.random_states`): the laminar state
plus a smooth random perturbation, omega_0 = omega_L + p, p a combination of the
Fourier modes max(|k_x|, |k_y|) <= 4 with standard normal coefficients from the
system's own generator, scaled to rms(p) = 0.1 (1.4 % of rms(omega_L) at the
defaults), run for ``burn_in`` time units (rounded to whole solver steps)
unactuated through the laminar flow's instability onto the chaotic attractor,
all rows in one batched call. At the defaults the laminar distance reaches
its attractor level after ~3 time units (growth rate 2.35); the default
burn-in of 50 (~6 Lyapunov times) is measured in ``docs/systems.md``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from chaoscontrol.solvers.actuation import forcing_law
from chaoscontrol.solvers.kolmogorov import (
    OP_INV_K2,
    KolmogorovConfig,
    dealias,
    kolmogorov_coefficients,
    kolmogorov_forcing,
    kolmogorov_operators,
    laminar_vorticity,
    to_physical,
    to_spectral,
)
from chaoscontrol.solvers.kolmogorov_control import (
    KOLMOGOROV_DIAGNOSTICS,
    N_DIAG,
    kolmogorov_control_interval,
    kolmogorov_control_interval_batch,
    kolmogorov_diagnostics_rows,
)
from chaoscontrol.validation import check_int, check_non_negative, check_positive, is_int

#: The physical time of one control interval when ``frame_skip`` is not given (frame_skip = round(0.2 / dt)).
CONTROL_DT = 0.2
#: Largest wavenumber of the random start's perturbation, and its rms.
START_MODES, START_AMPLITUDE = 4, 0.1
#: Most jets accepted.
MAX_ACTUATORS = 64
#: Equation and grid keywords with their defaults, those of KolmogorovConfig.
GRID_DEFAULTS = {"Re": 40.0, "n": 4, "alpha": 0.0, "chi": 1.0, "N": 64, "dt": None}
#: The env keywords that configure the dynamics besides the equation and grid.
ENV_KWARGS = ("frame_skip", "actuators", "actuator_width", "max_forcing", "burn_in")
#: Measured leading Lyapunov exponent (1 / time unit) with the parameters it holds for: 0.124 +- 0.010 at n = 4,
#: Re = 40 on 64^2 (scripts/kolmogorov_physics.py, docs/systems.md). Read by code that counts time in Lyapunov times.
LYAPUNOV_EXPONENTS: tuple[tuple[dict[str, float], float], ...] = (
    ({"Re": 40.0, "n": 4, "alpha": 0.0, "chi": 1.0, "N": 64}, 0.124),)


def periodic_distance_2pi(x: np.ndarray, centre: float) -> np.ndarray:
    """Distance on the circle of circumference 2 pi between ``x`` and ``centre``."""
    d = np.mod(x - centre, 2.0 * np.pi)
    return np.minimum(d, 2.0 * np.pi - d)


def resolve_points(name: str, spec: Any, maximum: int) -> np.ndarray:
    """(x, y) positions in [0, 2 pi)^2 of a sequence of pairs, float64 (n, 2); ``ValueError`` naming ``name``.

    :param name: the argument, for the error message.
    :param spec: a sequence of 1..``maximum`` pairs (x, y).
    :param maximum: most points accepted.
    """
    try:
        pts = np.array(spec, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{name} must be a count or a sequence of (x, y) pairs in [0, 2 pi)^2, got {spec!r}") from exc
    if pts.ndim != 2 or pts.shape[1] != 2 or not 1 <= pts.shape[0] <= maximum:
        raise ValueError(f"{name} must be a count or a sequence of 1..{maximum} (x, y) pairs, got shape {pts.shape}")
    if not np.all(np.isfinite(pts)) or np.any(pts < 0) or np.any(pts >= 2.0 * np.pi):
        raise ValueError(f"{name} positions must lie in [0, 2 pi)^2, got {pts.tolist()}")
    return pts


def jet_centres(spec: int | Sequence[Sequence[float]]) -> np.ndarray:
    """Jet centres of the ``actuators`` keyword: a count n (the diagonal x_j = y_j = 2 pi (j + 1/2) / n) or
    (x, y) pairs; float64 (n, 2)."""
    if is_int(spec):
        if not 1 <= spec <= MAX_ACTUATORS:
            raise ValueError(f"actuators must be a count in 1..{MAX_ACTUATORS} or (x, y) pairs, got {spec!r}")
        c = 2.0 * np.pi * (np.arange(int(spec)) + 0.5) / int(spec)
        return np.stack([c, c], axis=1)
    if isinstance(spec, (str, bytes, bool, np.bool_, dict)) or np.isscalar(spec):
        raise ValueError(f"actuators must be a count in 1..{MAX_ACTUATORS} or (x, y) pairs, got {spec!r}")
    return resolve_points("actuators", spec, MAX_ACTUATORS)


def jet_shapes(config: KolmogorovConfig, centres: np.ndarray, sigma: float) -> np.ndarray:
    """The jets' vortical profiles g_j on the grid (mean-free, de-aliased), float64 (n, N, N)."""
    x = config.x
    shapes = np.stack([np.exp(-(periodic_distance_2pi(x, cx)[None, :] ** 2 + periodic_distance_2pi(x, cy)[:, None] ** 2)
                              / (2.0 * sigma**2)) for cx, cy in centres])
    return to_physical(dealias(to_spectral(shapes), config))


class KolmogorovDynamics:
    """Actuated Kolmogorov flow on the periodic square, advanced one control interval at a time (module docstring).

    :param config: the equation and grid (Re, n, alpha, chi, N, dt) of
        :class:`~chaoscontrol.solvers.kolmogorov.KolmogorovConfig`; default :data:`GRID_DEFAULTS`.
    :param frame_skip: solver steps per control interval, >= 1; None: round(:data:`CONTROL_DT` / dt).
    :param actuators: a count in 1..64 (on the diagonal) or a sequence of (x, y) centres in [0, 2 pi)^2.
    :param actuator_width: Gaussian width sigma of the jets, in (0, pi].
    :param max_forcing: forcing amplitude multiplying the clipped actions (peak vorticity forcing of a jet), >= 0.
    :param burn_in: unactuated time units run from a random start, >= 0.
    :raises ValueError: naming the argument, for any invalid value.
    """

    diagnostic_names = KOLMOGOROV_DIAGNOSTICS
    state_dtype = np.dtype(np.complex128)

    def __init__(
        self,
        config: KolmogorovConfig | None = None,
        frame_skip: int | None = None,
        actuators: int | Sequence[Sequence[float]] = 8,
        actuator_width: float = 0.5,
        max_forcing: float = 1.0,
        burn_in: float = 50.0,
    ) -> None:
        self.config = KolmogorovConfig() if config is None else config
        if not isinstance(self.config, KolmogorovConfig):
            raise ValueError(f"config must be a KolmogorovConfig, got {type(config).__name__}")
        cfg = self.config
        if frame_skip is None:
            frame_skip = max(1, int(round(CONTROL_DT / cfg.dt)))
        self.frame_skip = check_int("frame_skip", frame_skip)
        if self.frame_skip > 10_000:
            raise ValueError(f"frame_skip must be an integer in [1, 10000], got {frame_skip!r}")
        self.actuator_positions = jet_centres(actuators)
        """Jet centres (x_j, y_j), float64 (n, 2)."""
        self.actuator_width = check_positive("actuator_width", actuator_width)
        if self.actuator_width > np.pi:
            raise ValueError(f"actuator_width must be in (0, pi], got {actuator_width!r}")
        self.max_forcing = check_non_negative("max_forcing", max_forcing)
        self.burn_in = check_non_negative("burn_in", burn_in)
        if self.burn_in > 1e5:
            raise ValueError(f"burn_in must be in [0, 1e5] time units, got {burn_in!r}")
        self.coeffs = kolmogorov_coefficients(cfg)
        """ETDRK4 weights, float64 (6, N, M)."""
        self.ops = kolmogorov_operators(cfg)
        """k_x, k_y, 1/|k|^2 and the 2/3-rule mask, float64 (4, N, M)."""
        self.laminar = laminar_vorticity(cfg)
        """omega_L on the grid, float64 (N, N), read-only."""
        self.laminar.setflags(write=False)
        self.forcing_hat = to_spectral(kolmogorov_forcing(cfg))
        """rfft2 of the Kolmogorov vorticity forcing, complex128 (N, M)."""
        self.laminar_hat = to_spectral(self.laminar)
        """rfft2 of omega_L, complex128 (N, M)."""
        self.jet_shapes = jet_shapes(cfg, self.actuator_positions, self.actuator_width)
        """The jets' profiles g_j on the grid (mean-free, de-aliased), float64 (n, N, N)."""
        self.jet_shapes.setflags(write=False)
        n_act = self.jet_shapes.shape[0]
        self.forcing_basis = dealias(to_spectral(self.jet_shapes), cfg).reshape(n_act, -1)
        """rfft2 of the jet profiles, flattened (the spectral basis of the forcing law), complex128 (n, N * M)."""
        for a in (self.forcing_hat, self.laminar_hat, self.forcing_basis):
            a.setflags(write=False)
        self.state_shape = (cfg.N, cfg.n_modes)
        self.field_shape = (cfg.N, cfg.N)
        self.n_actions = int(n_act)
        self.control_dt = self.frame_skip * cfg.dt

    @classmethod
    def from_env_kwargs(cls, kwargs: dict[str, Any]) -> KolmogorovDynamics:
        """The dynamics of ``Kolmogorov-Control-v0`` keywords (Re, n, alpha, chi, N, dt and :data:`ENV_KWARGS`;
        the others are ignored), each checked with an error naming it."""
        grid = dict(GRID_DEFAULTS)
        grid.update({k: kwargs[k] for k in grid if k in kwargs})
        return cls(KolmogorovConfig(**grid), **{k: kwargs[k] for k in ENV_KWARGS if k in kwargs})

    # ------------------------------------------------------------------ the protocol

    @property
    def burn_in_steps(self) -> int:
        """Solver steps of the burn-in (``burn_in / dt``, rounded)."""
        return int(round(self.burn_in / self.config.dt))

    def random_start(self, rng: np.random.Generator) -> np.ndarray:
        """One spectral random start (module docstring), before burn-in, complex128 (N, M)."""
        cfg = self.config
        kx, ky = self.ops[0], self.ops[1]
        low = (np.abs(kx) <= START_MODES) & (np.abs(ky) <= START_MODES)
        coeffs = np.zeros(self.state_shape, dtype=np.complex128)
        coeffs[low] = rng.standard_normal(int(low.sum())) + 1j * rng.standard_normal(int(low.sum()))
        coeffs[0, 0] = 0.0
        p = to_physical(coeffs)
        p *= START_AMPLITUDE / np.sqrt(np.mean(p**2))
        return dealias(to_spectral(self.laminar + p), cfg)

    def random_states(self, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        """Random starts (:meth:`random_start`) run unactuated for ``burn_in`` together, (len(rngs), N, M)."""
        w = np.stack([self.random_start(rng) for rng in rngs])
        if self.burn_in_steps:
            self.run_unforced(w, self.burn_in_steps)
        return w

    def run_unforced(self, states: np.ndarray, n_steps: int) -> np.ndarray:
        """Advance ``states`` (B, N, M) by ``n_steps`` unactuated solver steps in place (one batched call); the
        fields (B, N, N) at the end."""
        b = states.shape[0]
        fields = np.empty((b, *self.field_shape))
        self._batch(states, np.zeros((b, self.n_actions)), 0.0, int(n_steps), fields, np.empty((b, N_DIAG)))
        return fields

    def states_from_fields(self, fields: np.ndarray) -> np.ndarray:
        """De-aliased rfft2 of vorticity fields (B, N, N), (B, N, M) (the mean and the modes beyond the 2/3 rule
        dropped)."""
        return dealias(to_spectral(np.asarray(fields, dtype=np.float64)), self.config)

    def fields_from_states(self, states: np.ndarray) -> np.ndarray:
        """Vorticity on the grid of states (B, N, M), (B, N, N)."""
        return to_physical(states)

    def unforced_diagnostics(self, states: np.ndarray) -> np.ndarray:
        """The diagnostics of each state (B, N, M) without actuation (power 0), (B, 5)."""
        w = np.ascontiguousarray(states, dtype=np.complex128)
        diag = np.empty((w.shape[0], N_DIAG))
        kolmogorov_diagnostics_rows(w, np.zeros_like(w), self.forcing_hat, self.laminar_hat, self.ops[OP_INV_K2],
                                    self.config.nu, np.ascontiguousarray(to_physical(w)), diag)
        return diag[:, : len(KOLMOGOROV_DIAGNOSTICS)]

    def _batch(self, states, actions, max_forcing, n_steps, fields, diag_out) -> int:
        return kolmogorov_control_interval_batch(states, actions, self.forcing_basis, max_forcing, self.forcing_hat,
                                                 self.laminar_hat, self.coeffs, self.ops, self.config.nu, n_steps,
                                                 fields, diag_out)

    def advance(self, states: np.ndarray, fields: np.ndarray, actions: np.ndarray, diag_out: np.ndarray) -> int:
        """One control interval of every row, in place (one Numba call); see
        :class:`~chaoscontrol.solvers.dynamics.Dynamics`. ``fields`` is only written."""
        if states.shape[0] == 1:
            return -1 if self.advance_one(states[0], fields[0], actions[0], diag_out[0]) else 0
        return self._batch(states, actions, self.max_forcing, self.frame_skip, fields, diag_out)

    def advance_one(self, state: np.ndarray, field: np.ndarray, action: np.ndarray, diag: np.ndarray) -> bool:
        """One system's control interval with unbatched arrays (the single env's path): False if ``action`` is
        not finite."""
        return kolmogorov_control_interval(state, action, self.forcing_basis, self.max_forcing, self.forcing_hat,
                                           self.laminar_hat, self.coeffs, self.ops, self.config.nu, self.frame_skip,
                                           field, diag)

    def forcing_fields(self, actions: np.ndarray) -> np.ndarray:
        """The actuation f_a on the grid for actions (..., n_act), clipped as in :meth:`advance`: (..., N, N)."""
        n = self.config.N
        flat = self.jet_shapes.reshape(self.n_actions, n * n)
        f = forcing_law(np.asarray(actions, dtype=np.float64), flat, self.max_forcing)
        return f.reshape(*f.shape[:-1], n, n)

    def config_dict(self) -> dict[str, Any]:
        """Re, n, alpha, chi, N, dt, frame_skip, actuators (centres), actuator_width, max_forcing, burn_in."""
        c = self.config
        return {
            "Re": c.Re,
            "n": c.n,
            "alpha": c.alpha,
            "chi": c.chi,
            "N": c.N,
            "dt": c.dt,
            "frame_skip": self.frame_skip,
            "actuators": self.actuator_positions.tolist(),
            "actuator_width": self.actuator_width,
            "max_forcing": self.max_forcing,
            "burn_in": self.burn_in,
        }

    def __repr__(self) -> str:
        c = self.config
        return (f"KolmogorovDynamics(Re={c.Re:g}, n={c.n}, alpha={c.alpha:g}, N={c.N}, dt={c.dt:g}, "
                f"frame_skip={self.frame_skip}, actuators={self.n_actions}, max_forcing={self.max_forcing:g})")


__all__ = ["CONTROL_DT", "GRID_DEFAULTS", "KolmogorovDynamics", "LYAPUNOV_EXPONENTS", "jet_centres", "jet_shapes", "resolve_points"]
