r"""Controlled Lorenz-63 as a :class:`~chaoscontrol.solvers.dynamics.Dynamics`.

.. math:: \dot x = \sigma (y - x) + f_x,\quad \dot y = x (\rho - z) - y + f_y,\quad \dot z = x y - \beta z + f_z,
          \qquad f_c = \text{max\_forcing}\, \operatorname{clip}(a_j, -1, 1) \text{ for } c = \text{controlled}_j,

by RK4 (:mod:`chaoscontrol.solvers.lorenz63`); one control interval is
``frame_skip`` steps of ``dt`` with the action held constant, one Numba call.
States and fields are the same float64 (3,) vectors (x, y, z). Diagnostics:
``energy`` |x|^2 / 2 (the nonlinear terms conserve it), ``power`` x . f (the
actuators' work rate), then max|x| for blow-up detection.

Random starts (:meth:`Lorenz63Dynamics.random_states`): x ~ U(-15, 15),
y ~ U(-20, 20), z ~ U(5, 45) from the system's own generator, run unforced for
``burn_in`` time units (rounded to whole steps). The attractor pulls states in
at ~14.6 per time unit (the third exponent) and the default 10 time units are
9 Lyapunov times, so a start is on the attractor and forgets its box.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from chaoscontrol.solvers.lorenz63 import (
    Lorenz63Config,
    lorenz63_control_interval,
    lorenz63_control_interval_batch,
)
from chaoscontrol.solvers.ode_dynamics import ForcedODEDynamics
from chaoscontrol.solvers.ode_support import resolve_indices

#: Names of the Lorenz-63 diagnostics columns (before max|x|).
L63_DIAGNOSTICS = ("energy", "power")
#: Measured leading Lyapunov exponent (1 / time unit) with the parameters it holds for: 0.9064 at the classical
#: sigma = 10, rho = 28, beta = 8/3 (QR method, docs/systems.md; Sprott's 0.9056). Read by code that counts time in
#: Lyapunov times (surrogate evaluation).
LYAPUNOV_EXPONENTS: tuple[tuple[dict[str, float], float], ...] = (({"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}, 0.9064),)
#: Names of the components, in state order.
L63_COMPONENTS = ("x", "y", "z")


class Lorenz63Dynamics(ForcedODEDynamics):
    """Lorenz-63 with additive bounded forcing on some components (see the module docstring).

    :param config: parameters and RK4 step (:class:`~chaoscontrol.solvers.lorenz63.Lorenz63Config`).
    :param frame_skip: RK4 steps per control interval, >= 1.
    :param controlled: the components (0 = x, 1 = y, 2 = z) forced by the actions, in action order; distinct.
    :param max_forcing: forcing amplitude multiplying the clipped actions, >= 0.
    :param burn_in: unforced time units run from a random start, >= 0.
    :raises ValueError: naming the argument, for any invalid value.
    """

    diagnostic_names = L63_DIAGNOSTICS
    batch_kernel = staticmethod(lorenz63_control_interval_batch)
    single_kernel = staticmethod(lorenz63_control_interval)

    def __init__(
        self,
        config: Lorenz63Config | None = None,
        frame_skip: int = 5,
        controlled: Sequence[int] = (0, 1, 2),
        max_forcing: float = 10.0,
        burn_in: float = 10.0,
    ) -> None:
        self.config = Lorenz63Config() if config is None else config
        if not isinstance(self.config, Lorenz63Config):
            raise ValueError(f"config must be a Lorenz63Config, got {type(config).__name__}")
        params = self.config.params
        params.setflags(write=False)
        super().__init__(3, resolve_indices("controlled", controlled, 3), params, self.config.dt, frame_skip,
                         max_forcing, burn_in)

    @classmethod
    def from_env_kwargs(cls, kwargs: dict[str, Any]) -> Lorenz63Dynamics:
        """The dynamics of ``Lorenz63-Control-v0`` keywords (sigma, rho, beta, dt, frame_skip, controlled,
        max_forcing, burn_in; others ignored), each checked with an error naming it."""
        params = {k: kwargs[k] for k in ("sigma", "rho", "beta", "dt") if k in kwargs}
        rest = {k: kwargs[k] for k in ("frame_skip", "controlled", "max_forcing", "burn_in") if k in kwargs}
        return cls(Lorenz63Config(**params), **rest)

    @property
    def controlled(self) -> np.ndarray:
        """The component each action forces (0 = x, 1 = y, 2 = z), (n_act,)."""
        return self.forced_indices

    def random_start(self, rng: np.random.Generator) -> np.ndarray:
        """One start before burn-in, (U(-15, 15), U(-20, 20), U(5, 45)), (3,)."""
        return rng.uniform((-15.0, -20.0, 5.0), (15.0, 20.0, 45.0))

    def unforced_diagnostics(self, states: np.ndarray) -> np.ndarray:
        """(|x|^2 / 2, 0) of each row of ``states`` (B, 3), (B, 2)."""
        energy = 0.5 * (states[:, 0] * states[:, 0] + states[:, 1] * states[:, 1] + states[:, 2] * states[:, 2])
        return np.stack([energy, np.zeros(len(states))], axis=1)

    def config_dict(self) -> dict[str, Any]:
        """sigma, rho, beta, dt, frame_skip, controlled, max_forcing, burn_in as JSON values."""
        c = self.config
        return {
            "sigma": c.sigma,
            "rho": c.rho,
            "beta": c.beta,
            "dt": c.dt,
            "frame_skip": self.frame_skip,
            "controlled": self.controlled.tolist(),
            "max_forcing": self.max_forcing,
            "burn_in": self.burn_in,
        }

    def __repr__(self) -> str:
        c = self.config
        return (f"Lorenz63Dynamics(sigma={c.sigma:g}, rho={c.rho:g}, beta={c.beta:g}, dt={c.dt:g}, "
                f"frame_skip={self.frame_skip}, controlled={self.controlled.tolist()}, max_forcing={self.max_forcing:g})")


__all__ = ["L63_COMPONENTS", "L63_DIAGNOSTICS", "Lorenz63Dynamics"]
