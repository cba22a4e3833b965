"""`Lorenz96-Control-v0`: control of the chaotic Lorenz-96 model with actuators at some sites.

The spec over the env core: :class:`Lorenz96ControlEnv` parses its keywords
into a :class:`~chaoscontrol.solvers.lorenz96_dynamics.Lorenz96Dynamics`, site
sensors or the full state (:mod:`chaoscontrol.envs.observation`) and a
diagnostic cost or the distance to the steady state
(:mod:`chaoscontrol.envs.objectives`); stepping, resets, rewards and
termination are :class:`~chaoscontrol.envs.core.ControlEnv`'s.
``Lorenz96ControlVectorEnv`` is the batched env (one Numba call per step).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from chaoscontrol.envs.core import ControlEnv, EntryPoint
from chaoscontrol.envs.spec_helpers import RenderHistory, check_choice, matching_dynamics, resolve_target
from chaoscontrol.envs.objectives import DiagnosticCost, TargetDistance
from chaoscontrol.envs.observation import FullField, IndexSensors
from chaoscontrol.envs.vector_core import VectorEntryPoint
from chaoscontrol.solvers.dynamics import Dynamics
from chaoscontrol.solvers.lorenz96_dynamics import Lorenz96Dynamics, resolve_sites
from chaoscontrol.validation import check_positive

#: Objectives: a diagnostic to reduce (its name), or the distance to a target.
OBJECTIVES = ("variance", "energy", "target")
OBSERVATIONS = ("sensors", "full")
TARGETS = ("steady",)
#: Default spacing of the sensed sites (every 2nd: 20 at K = 40).
SENSOR_STRIDE = 2
#: The keys of ``config_dict`` that fix the dynamics (a given ``dynamics`` must match them).
DYNAMICS_KEYS = ("K", "F", "dt", "frame_skip", "actuators", "max_forcing")


class Lorenz96ControlEnv(RenderHistory, ControlEnv):
    r"""Control of the chaotic Lorenz-96 model with bounded forcing at a few sites.

    ## Description

    The Lorenz (1996) model of an atmospheric quantity at K sites on a latitude circle,

    .. math:: \dot x_i = (x_{i+1} - x_{i-2})\, x_{i-1} - x_i + F + f_i, \qquad i \text{ periodic},

    has energy-conserving advection, damping and constant forcing F; at K = 40,
    F = 8 it is extensively chaotic (leading Lyapunov exponent ~1.7, 13-14
    positive exponents, Kaplan-Yorke dimension ~27). The agent forces the sites
    ``actuators`` and observes the sites ``sensors``; the model is advanced by
    RK4 (``chaoscontrol.solvers.lorenz96``, step ``dt``), one env step being
    ``frame_skip`` RK4 steps with the action held constant.

    ## Action Space

    ``Box(-1, 1, (n_act,), float32)``, n_act = 8 by default: the forcing at site
    s_j is f = max_forcing * a_j, the other sites get none. The default sites
    are every 5th, s_j = 5j. Actions outside [-1, 1] are clipped; NaN/inf or a
    wrong shape raise ``ValueError``.

    ## Observation Space

    ``observe="sensors"`` (default): ``Box(-b, b, (n_sens,), float32)``, x at the
    sites ``sensors`` (every 2nd by default: 20 at K = 40). ``observe="full"``:
    ``Box(-b, b, (K,), float32)``, every site. b = ``blowup_threshold``. The full
    float64 state is ``env.unwrapped.u`` (a copy).

    ## Rewards

    Computed from the state at the end of the step, with <.> the average over sites:

    - ``objective="variance"`` (default): r = -V, V = <(x - <x>)^2> the spatial
      variance, the energy of the fluctuations about the site mean (~13 on the
      attractor at F = 8; 0 exactly for a uniform state, of which x_i = F is the
      only steady one);
    - ``objective="energy"``: r = -E, E = <x^2>/2 (~9 on the attractor); the
      nonlinear term conserves it, dE/dt = -2E + F <x> + <x f>, so it is lowered
      only by working against the forcing F;
    - ``objective="target"``: r = -rms(x - x*), x* = ``target``: ``"steady"``
      (default, x_i = F: the unstable uniform steady state, whose fastest mode
      grows at 9F/8 - 1 = 8 per time unit, 7.94 at F = 8, K = 40) or an array
      of shape (K,).
      r = 0 exactly at the target; the info key is ``target_distance``.

    On a blow-up the reward is ``-blowup_penalty``.

    ## Starting State

    ``reset(seed=s, options={"u0": u0})`` sets the state to ``u0`` (shape (K,))
    exactly (max|u0| <= ``blowup_threshold``). Without ``u0``, x_i = F + N(0, 1)
    from ``self.np_random`` is run unforced for ``burn_in`` time units (rounded
    to whole steps), so that the episode starts on the attractor.

    ## Episode End

    - Truncation: the time limit, ``max_episode_steps=400`` at registration
      (20 time units at the defaults: 34 Lyapunov times); never reported as
      ``terminated``.
    - Termination: only on blow-up, a non-finite state or max|x| >
      ``blowup_threshold``, with ``info["blowup"] = True``. With bounded forcing
      the energy stays bounded (sqrt(2E) <= |F| + max_forcing), so this guards
      the numerics only.

    ``info`` holds ``t``, ``energy``, ``mean`` <x>, ``variance``, ``power``
    <x f>, ``blowup`` and, for the target objective, ``target_distance``.

    ## Arguments

    ``gym.make("Lorenz96-Control-v0", K=40, F=8.0, dt=0.01, frame_skip=5,
    actuators=None, sensors=None, observe="sensors", max_forcing=8.0,
    objective="variance", target=None, burn_in=10.0, blowup_threshold=100.0,
    blowup_penalty=10000.0, render_mode=None, render_history=200)``.
    ``K`` is an integer in [4, 65536] (``chaoscontrol.solvers.lorenz96.MAX_SITES``);
    integer keywords are at most 2**31 - 1 (``chaoscontrol.validation.MAX_INT``).
    ``actuators`` and ``sensors`` take a count n (sites floor(j K / n)), a
    sequence of distinct sites, or None (every 5th / every 2nd site).
    ``max_forcing=8`` equals F: an actuator can cancel or double the forcing
    at its site. ``target`` is only for ``objective="target"``. The blow-up
    penalty exceeds the cost of a whole uncontrolled episode (~5,000 for the
    variance). ``dynamics=d`` (keyword only) steps any
    :class:`~chaoscontrol.solvers.dynamics.Dynamics` whose ``config_dict``
    matches the keywords (e.g. a learned surrogate). Invalid arguments raise
    ``ValueError`` naming the argument. ``render_mode="rgb_array"`` renders the
    space-time diagram of the last ``render_history`` steps (site i spans
    [i, i + 1)), actuators in red, sensors in white.

    ## Version History

    - v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        K: int = 40,
        F: float = 8.0,
        dt: float = 0.01,
        frame_skip: int = 5,
        actuators: int | Sequence[int] | None = None,
        sensors: int | Sequence[int] | None = None,
        observe: str = "sensors",
        max_forcing: float = 8.0,
        objective: str = "variance",
        target: str | np.ndarray | None = None,
        burn_in: float = 10.0,
        blowup_threshold: float = 100.0,
        blowup_penalty: float = 10000.0,
        render_mode: str | None = None,
        render_history: int = 200,
        *,
        dynamics: Dynamics | None = None,
    ) -> None:
        truth = Lorenz96Dynamics.from_env_kwargs(dict(K=K, F=F, dt=dt, frame_skip=frame_skip, actuators=actuators,
                                                      max_forcing=max_forcing, burn_in=burn_in))
        self.truth = truth
        """The Lorenz-96 solver of this configuration (resets start on its attractor, whatever ``dynamics`` steps)."""
        self.config = truth.config
        K = self.config.K
        self.sensors = resolve_sites("sensors", sensors, K, SENSOR_STRIDE)
        self.observe = check_choice("observe", observe, OBSERVATIONS)
        self.objective = check_choice("objective", objective, OBJECTIVES)
        self.target = resolve_target(self.objective, target, TARGETS, {"steady": self.config.steady_state}, (K,))
        self._init_render(render_mode, render_history)
        bound = check_positive("blowup_threshold", blowup_threshold)
        observer = IndexSensors(self.sensors, K, bound) if self.observe == "sensors" else FullField(K, bound)
        goal = (TargetDistance(self.target) if self.target is not None
                else DiagnosticCost((self.objective,), truth.diagnostic_names))
        super().__init__(matching_dynamics(dynamics, truth, DYNAMICS_KEYS), observer, goal, blowup_threshold,
                         blowup_penalty)

    # ------------------------------------------------------------------ configuration

    @property
    def actuator_sites(self) -> np.ndarray:
        """The site each action forces, (n_act,)."""
        return self.truth.sites

    def config_dict(self) -> dict[str, Any]:
        """The resolved configuration as plain JSON values (datasets and checkpoints record it)."""
        return {
            **self.truth.config_dict(),
            "sensors": self.sensors.tolist(),
            "observe": self.observe,
            "objective": self.objective,
            "target": None if self.target is None else self.target.tolist(),
            "blowup_threshold": self.blowup_threshold,
            "blowup_penalty": self.blowup_penalty,
        }

    def _render_rgb(self, history: np.ndarray) -> np.ndarray:
        from chaoscontrol.envs.rendering import space_time_rgb

        return space_time_rgb(history, L=float(self.config.K), dt_frame=self.dynamics.control_dt, t_end=self._t,
                              actuator_positions=self.actuator_sites + 0.5, sensor_positions=self.sensors + 0.5)


#: The batched env: ``gym.make_vec("Lorenz96-Control-v0", num_envs=B, vectorization_mode="vector_entry_point")``.
#: The registered entry points (``EntryPoint``: an unsupported ``render_mode`` is this env's ValueError).
make_lorenz96_control_env = EntryPoint(Lorenz96ControlEnv)
Lorenz96ControlVectorEnv = VectorEntryPoint(Lorenz96ControlEnv)

__all__ = ["Lorenz96ControlEnv", "Lorenz96ControlVectorEnv"]
