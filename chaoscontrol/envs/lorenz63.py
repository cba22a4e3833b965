"""`Lorenz63-Control-v0`: control of the chaotic Lorenz-63 system.

The spec over the env core: :class:`Lorenz63ControlEnv` parses its keywords
into a :class:`~chaoscontrol.solvers.lorenz63_dynamics.Lorenz63Dynamics`, an
observer of some components (:mod:`chaoscontrol.envs.observation`) and an
objective (reach and hold a fixed point, :class:`~chaoscontrol.envs.objectives.TargetDistance`,
or stay out of a wing, :class:`HalfSpaceIntrusion`); stepping, resets, rewards
and termination are :class:`~chaoscontrol.envs.core.ControlEnv`'s.
``Lorenz63ControlVectorEnv`` is the batched env (one Numba call per step).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from chaoscontrol.envs.core import ControlEnv, EntryPoint
from chaoscontrol.envs.spec_helpers import RenderHistory, check_choice, matching_dynamics, resolve_target
from chaoscontrol.envs.objectives import TargetDistance
from chaoscontrol.envs.observation import FullField, IndexSensors
from chaoscontrol.envs.vector_core import VectorEntryPoint
from chaoscontrol.solvers.dynamics import Dynamics
from chaoscontrol.solvers.lorenz63_dynamics import Lorenz63Dynamics
from chaoscontrol.solvers.ode_support import resolve_indices
from chaoscontrol.validation import check_positive

OBJECTIVES = ("target", "avoid")
TARGETS = ("C+", "C-", "origin")
#: The wing each ``region`` names: (component, sign) of the half-space sign * x_component > 0.
REGIONS = {"C-": (0, -1.0), "C+": (0, 1.0)}
#: The keys of ``config_dict`` that fix the dynamics (a given ``dynamics`` must match them).
DYNAMICS_KEYS = ("sigma", "rho", "beta", "dt", "frame_skip", "controlled", "max_forcing")


class HalfSpaceIntrusion:
    """r = -max(0, sign * u_c): how deep the state is inside the half-space {sign * u_c > 0}.

    0 everywhere outside the region, growing linearly inside; the info value
    ``intrusion`` is the depth. For Lorenz-63 the half-space x < 0 (component 0,
    sign -1) holds the wing around C-, so the objective is to keep the chaotic
    motion off that wing (no lobe switching).

    :param component: the index c of the field component.
    :param sign: +1 or -1.
    """

    info_key = "intrusion"

    def __init__(self, component: int, sign: float) -> None:
        self.component = int(component)
        self.sign = float(sign)

    def __call__(self, fields: np.ndarray, diag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rewards and depths (B,) of ``fields`` (B, n)."""
        depth = np.maximum(0.0, self.sign * fields[:, self.component])
        return -depth, depth

    def one(self, field: np.ndarray, diag: list[float]) -> tuple[float, float]:
        """Reward and depth of one field, as Python floats (the single env's path)."""
        depth = max(0.0, self.sign * float(field[self.component]))
        return -depth, depth


class Lorenz63ControlEnv(RenderHistory, ControlEnv):
    r"""Control of the chaotic Lorenz-63 system with bounded additive forcing.

    ## Description

    The Lorenz (1963) system, a truncation of Rayleigh-Benard convection,

    .. math:: \dot x = \sigma (y - x) + f_x,\quad \dot y = x (\rho - z) - y + f_y,\quad \dot z = x y - \beta z + f_z,

    is chaotic at sigma = 10, rho = 28, beta = 8/3 (Lyapunov exponents 0.906,
    0, -14.57; Sprott). It has three unstable fixed points: the origin (a
    saddle) and C+- = (+-c, +-c, rho - 1), c = sqrt(beta (rho - 1)) = 8.485,
    unstable foci (eigenvalues -13.85 and 0.094 +- 10.19 i) at the centres of
    the two wings. The agent forces some of the three equations; the state is
    advanced by RK4 (``chaoscontrol.solvers.lorenz63``, step ``dt``), one env
    step being ``frame_skip`` RK4 steps with the action held constant.

    ## Action Space

    ``Box(-1, 1, (n_act,), float32)``, n_act = len(``controlled``) (3 by
    default): the forcing of component ``controlled[j]`` (0 = x, 1 = y, 2 = z)
    is f = max_forcing * a_j, the other components get none. Actions outside
    [-1, 1] are clipped; NaN/inf or a wrong shape raise ``ValueError``.

    ## Observation Space

    ``Box(-b, b, (n_sens,), float32)``: the components ``sensors`` of the state
    (all three by default), b = ``blowup_threshold``. The full float64 state is
    ``env.unwrapped.u`` (a copy).

    ## Rewards

    Computed from the state at the end of the step:

    - ``objective="target"`` (default): r = -rms(u - u*), u* the fixed point
      ``target`` = ``"C+"`` (default), ``"C-"``, ``"origin"`` (of these sigma, rho,
      beta) or an array of shape (3,). r = 0 exactly at the target; the info key
      is ``target_distance``. Reach and hold: the unforced attractor passes by
      C+- (mean distance ~10), so the agent must catch the state and hold it on
      the unstable focus.
    - ``objective="avoid"``: stay out of a wing, r = -max(0, -x) for
      ``region="C-"`` (default: the half-space x < 0 that holds the wing around
      C-) or r = -max(0, x) for ``region="C+"``; 0 while the state is on the
      allowed side, the info key ``intrusion`` the depth. The uncontrolled
      system switches wings at random every few time units (~3.2 per step on
      average); holding C+- satisfies it, so does any motion kept on one wing.

    On a blow-up the reward is ``-blowup_penalty``.

    ## Starting State

    ``reset(seed=s, options={"u0": u0})`` sets the state to ``u0`` (shape (3,))
    exactly (max|u0| <= ``blowup_threshold``). Without ``u0``, (x, y, z) ~
    (U(-15, 15), U(-20, 20), U(5, 45)) from ``self.np_random`` is run unforced
    for ``burn_in`` time units (rounded to whole steps), so that the episode
    starts on the attractor.

    ## Episode End

    - Truncation: the time limit, ``max_episode_steps=400`` at registration
      (20 time units at the defaults: 18 Lyapunov times, ~30 turns around a
      wing); never reported as ``terminated``.
    - Termination: only on blow-up, a non-finite state or max|u| >
      ``blowup_threshold``, with ``info["blowup"] = True``. With bounded forcing
      the flow stays in a trapping ellipsoid (max|u| ~ 50 at the defaults, under
      any actions), so this guards the numerics only.

    ``info`` holds ``t``, ``energy`` |u|^2 / 2, ``power`` u . f (the actuators'
    work rate), ``blowup`` and ``target_distance`` or ``intrusion``.

    ## Arguments

    ``gym.make("Lorenz63-Control-v0", sigma=10.0, rho=28.0, beta=8/3, dt=0.01,
    frame_skip=5, controlled=(0, 1, 2), sensors=(0, 1, 2), max_forcing=10.0,
    objective="target", target=None, region=None, burn_in=10.0,
    blowup_threshold=100.0, blowup_penalty=10000.0, render_mode=None,
    render_history=500)``. ``target`` is only for ``objective="target"``
    (default ``"C+"``), ``region`` only for ``objective="avoid"`` (default
    ``"C-"``); ``"C+"``/``"C-"`` need rho > 1. ``max_forcing=10`` is a tenth of
    the right-hand side's scale on the attractor (|sigma (y - x)| up to ~100):
    enough for proportional feedback on (x, y), or on y alone, to reach and hold
    C+ from the attractor, too little to overpower the flow. ``blowup_penalty`` exceeds the cost of a whole
    uncontrolled episode (~4,000 for C+), so ending one by a blow-up never pays.
    ``KSControlEnv``-style ``dynamics=d`` (keyword only) steps any
    :class:`~chaoscontrol.solvers.dynamics.Dynamics` whose ``config_dict``
    matches the keywords (e.g. a learned surrogate). Invalid arguments raise
    ``ValueError`` naming the argument. ``render_mode="rgb_array"`` draws the
    (x, z) projection of the last ``render_history`` steps with the fixed points.

    ## Version History

    - v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        sigma: float = 10.0,
        rho: float = 28.0,
        beta: float = 8.0 / 3.0,
        dt: float = 0.01,
        frame_skip: int = 5,
        controlled: Sequence[int] = (0, 1, 2),
        sensors: Sequence[int] = (0, 1, 2),
        max_forcing: float = 10.0,
        objective: str = "target",
        target: str | np.ndarray | None = None,
        region: str | None = None,
        burn_in: float = 10.0,
        blowup_threshold: float = 100.0,
        blowup_penalty: float = 10000.0,
        render_mode: str | None = None,
        render_history: int = 500,
        *,
        dynamics: Dynamics | None = None,
    ) -> None:
        truth = Lorenz63Dynamics.from_env_kwargs(dict(sigma=sigma, rho=rho, beta=beta, dt=dt, frame_skip=frame_skip,
                                                      controlled=controlled, max_forcing=max_forcing, burn_in=burn_in))
        self.truth = truth
        """The Lorenz-63 solver of this configuration (resets start on its attractor, whatever ``dynamics`` steps)."""
        self.config = truth.config
        self.sensors = resolve_indices("sensors", sensors, 3)
        self.objective = check_choice("objective", objective, OBJECTIVES)
        self.target = resolve_target(self.objective, target, TARGETS, self.config.fixed_points(), (3,),
                                     f"rho={self.config.rho!r}, beta={self.config.beta!r}")
        self.region = self._resolve_region(region)
        self._init_render(render_mode, render_history)
        bound = check_positive("blowup_threshold", blowup_threshold)
        observer = FullField(3, bound) if self.sensors.tolist() == [0, 1, 2] else IndexSensors(self.sensors, 3, bound)
        goal = TargetDistance(self.target) if self.target is not None else HalfSpaceIntrusion(*REGIONS[self.region])
        super().__init__(matching_dynamics(dynamics, truth, DYNAMICS_KEYS), observer, goal, blowup_threshold,
                         blowup_penalty)

    # ------------------------------------------------------------------ configuration

    @property
    def controlled(self) -> np.ndarray:
        """The component each action forces, (n_act,)."""
        return self.truth.controlled

    @property
    def fixed_points(self) -> dict[str, np.ndarray]:
        """The unforced fixed points of these parameters (``origin``, and ``C+``, ``C-`` for rho > 1)."""
        return self.config.fixed_points()

    def config_dict(self) -> dict[str, Any]:
        """The resolved configuration as plain JSON values (datasets and checkpoints record it)."""
        return {
            **self.truth.config_dict(),
            "sensors": self.sensors.tolist(),
            "objective": self.objective,
            "target": None if self.target is None else self.target.tolist(),
            "region": self.region,
            "blowup_threshold": self.blowup_threshold,
            "blowup_penalty": self.blowup_penalty,
        }

    def _render_rgb(self, history: np.ndarray) -> np.ndarray:
        from chaoscontrol.envs.lorenz_rendering import lorenz63_phase_rgb

        return lorenz63_phase_rgb(history, self.fixed_points, self.target)

    # ------------------------------------------------------------------ helpers

    def _resolve_region(self, region: str | None) -> str | None:
        if self.objective != "avoid":
            if region is not None:
                raise ValueError(f"region is only used with objective='avoid' (objective={self.objective!r})")
            return None
        return check_choice("region", "C-" if region is None else region, tuple(REGIONS))


#: The batched env: ``gym.make_vec("Lorenz63-Control-v0", num_envs=B, vectorization_mode="vector_entry_point")``.
#: The registered entry points (``EntryPoint``: an unsupported ``render_mode`` is this env's ValueError).
make_lorenz63_control_env = EntryPoint(Lorenz63ControlEnv)
Lorenz63ControlVectorEnv = VectorEntryPoint(Lorenz63ControlEnv)

__all__ = ["HalfSpaceIntrusion", "Lorenz63ControlEnv", "Lorenz63ControlVectorEnv"]
