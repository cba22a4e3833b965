r"""Controlled Lorenz-96 as a :class:`~chaoscontrol.solvers.dynamics.Dynamics`.

.. math:: \dot x_i = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F + f_i, \qquad
          f_{s_j} = \text{max\_forcing}\, \operatorname{clip}(a_j, -1, 1),

by RK4 (:mod:`chaoscontrol.solvers.lorenz96`) on K periodic sites, actuated
at the sites s_j (``actuators``); one control interval is ``frame_skip``
steps of ``dt`` with the action held constant, one Numba call. States and
fields are the same float64 (K,) vectors. Diagnostics, with <.> the average
over sites: ``energy`` <x^2>/2, ``mean`` <x>, ``variance`` <(x - <x>)^2> (the
spatial variance: 0 exactly for a uniform state such as x_i = F, ~13 on the
attractor at F = 8), ``power`` <x f>; dE/dt = -2E + F m + P. Then max|x|.

Random starts (:meth:`Lorenz96Dynamics.random_states`): x_i = F + N(0, 1) from
the system's own generator, run unforced for ``burn_in`` time units (rounded to
whole steps). The damping forgets a start at rate 1 and the default 10 time
units are 17 Lyapunov times, so a start is on the attractor.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from chaoscontrol.solvers.lorenz96 import (
    L96_N_DIAG,
    Lorenz96Config,
    lorenz96_control_interval,
    lorenz96_control_interval_batch,
    lorenz96_diagnostics,
)
from chaoscontrol.solvers.ode_dynamics import ForcedODEDynamics
from chaoscontrol.solvers.ode_support import resolve_indices
from chaoscontrol.validation import check_int, is_int

#: Names of the Lorenz-96 diagnostics columns (before max|x|).
L96_DIAGNOSTICS = ("energy", "mean", "variance", "power")
#: Measured leading Lyapunov exponent (1 / time unit) with the parameters it holds for: 1.686 at K = 40, F = 8
#: (QR method, docs/systems.md; the literature's ~1.7). Read by code that counts time in Lyapunov times.
LYAPUNOV_EXPONENTS: tuple[tuple[dict[str, float], float], ...] = (({"K": 40, "F": 8.0}, 1.686),)
#: Default spacing of the actuated sites (every 5th: 8 at K = 40).
ACTUATOR_STRIDE = 5


def resolve_sites(name: str, value: int | Sequence[int] | None, K: int, stride: int) -> np.ndarray:
    """Sites of a lattice of K from a count n (evenly spaced, floor(j K / n)), a sequence, or None (n = K // stride:
    every ``stride``-th site when K is a multiple).

    :raises ValueError: naming ``name`` for a count outside [1, K] or bad indices.
    """
    if value is None:
        value = max(1, K // stride)
    if is_int(value):
        count = check_int(name, value)
        if count > K:
            raise ValueError(f"{name} must be a count in [1, {K}] or a sequence of sites, got {value!r}")
        return resolve_indices(name, [j * K // count for j in range(count)], K)
    return resolve_indices(name, value, K)


class Lorenz96Dynamics(ForcedODEDynamics):
    """Lorenz-96 with bounded additive forcing at some sites (see the module docstring).

    :param config: size, forcing and RK4 step (:class:`~chaoscontrol.solvers.lorenz96.Lorenz96Config`).
    :param frame_skip: RK4 steps per control interval, >= 1.
    :param actuators: actuated sites: a count (evenly spaced), a sequence of distinct sites, or None (every 5th).
    :param max_forcing: forcing amplitude multiplying the clipped actions, >= 0.
    :param burn_in: unforced time units run from a random start, >= 0.
    :raises ValueError: naming the argument, for any invalid value.
    """

    diagnostic_names = L96_DIAGNOSTICS
    batch_kernel = staticmethod(lorenz96_control_interval_batch)
    single_kernel = staticmethod(lorenz96_control_interval)

    def __init__(
        self,
        config: Lorenz96Config | None = None,
        frame_skip: int = 5,
        actuators: int | Sequence[int] | None = None,
        max_forcing: float = 8.0,
        burn_in: float = 10.0,
    ) -> None:
        self.config = Lorenz96Config() if config is None else config
        if not isinstance(self.config, Lorenz96Config):
            raise ValueError(f"config must be a Lorenz96Config, got {type(config).__name__}")
        c = self.config
        sites = resolve_sites("actuators", actuators, c.K, ACTUATOR_STRIDE)
        super().__init__(c.K, sites, c.F, c.dt, frame_skip, max_forcing, burn_in)

    @classmethod
    def from_env_kwargs(cls, kwargs: dict[str, Any]) -> Lorenz96Dynamics:
        """The dynamics of ``Lorenz96-Control-v0`` keywords (K, F, dt, frame_skip, actuators, max_forcing,
        burn_in; others ignored), each checked with an error naming it."""
        params = {k: kwargs[k] for k in ("K", "F", "dt") if k in kwargs}
        rest = {k: kwargs[k] for k in ("frame_skip", "actuators", "max_forcing", "burn_in") if k in kwargs}
        return cls(Lorenz96Config(**params), **rest)

    @property
    def sites(self) -> np.ndarray:
        """The site each action forces, (n_act,)."""
        return self.forced_indices

    def random_start(self, rng: np.random.Generator) -> np.ndarray:
        """One start before burn-in, x_i = F + N(0, 1), (K,)."""
        return self.config.F + rng.standard_normal(self.config.K)

    def unforced_diagnostics(self, states: np.ndarray) -> np.ndarray:
        """(E, m, V, 0) of each row of ``states`` (B, K), (B, 4)."""
        out = np.empty((len(states), L96_N_DIAG))
        zero = np.zeros(self.n_actions)
        for row, x in zip(out, np.asarray(states, dtype=np.float64)):
            lorenz96_diagnostics(np.ascontiguousarray(x), self.sites, zero, row)
        return out[:, : len(L96_DIAGNOSTICS)].copy()

    def config_dict(self) -> dict[str, Any]:
        """K, F, dt, frame_skip, actuators (sites), max_forcing, burn_in as JSON values."""
        c = self.config
        return {
            "K": c.K,
            "F": c.F,
            "dt": c.dt,
            "frame_skip": self.frame_skip,
            "actuators": self.sites.tolist(),
            "max_forcing": self.max_forcing,
            "burn_in": self.burn_in,
        }

    def __repr__(self) -> str:
        c = self.config
        return (f"Lorenz96Dynamics(K={c.K}, F={c.F:g}, dt={c.dt:g}, frame_skip={self.frame_skip}, "
                f"actuators={self.n_actions}, max_forcing={self.max_forcing:g})")


__all__ = ["L96_DIAGNOSTICS", "Lorenz96Dynamics", "resolve_sites"]
