"""`KS-Control-v0`: control of the chaotic forced Kuramoto-Sivashinsky equation.

The KS spec over the env core: :class:`KSControlEnv` parses its keywords into
a :class:`~chaoscontrol.solvers.ks_dynamics.KSDynamics`, point sensors or the
full field (:mod:`chaoscontrol.envs.observation`) and the dissipation or target
objective (:mod:`chaoscontrol.envs.objectives`), and adds the space-time
rendering; stepping, resets, rewards and termination are
:class:`~chaoscontrol.envs.core.ControlEnv`'s.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from chaoscontrol.envs.core import ControlEnv
from chaoscontrol.envs.objectives import DiagnosticCost, TargetDistance
from chaoscontrol.envs.observation import FullField, PointSensors
from chaoscontrol.envs.spec_helpers import RenderHistory, matching_dynamics
from chaoscontrol.solvers.actuation import resolve_positions, sensor_positions
from chaoscontrol.solvers.dynamics import Dynamics
from chaoscontrol.solvers.equilibria import FAMILY, ks_equilibrium, ks_equilibrium_names
from chaoscontrol.solvers.ks_dynamics import KSDynamics
from chaoscontrol.validation import check_choice, check_non_negative, check_positive

OBJECTIVES = ("dissipation", "target")
OBSERVATIONS = ("sensors", "full")
#: The named targets: the L = 22 family of equilibria, defined at every L by ``ks_equilibrium``.
TARGETS = tuple(FAMILY)


class KSControlEnv(RenderHistory, ControlEnv):
    r"""Control of the chaotic Kuramoto-Sivashinsky equation with localised actuators.

    ## Description

    The forced Kuramoto-Sivashinsky (KS) equation on a periodic domain [0, L),

    .. math:: u_t + u u_x + u_{xx} + u_{xxxx} = f(x, t),

    is a model of chaotic flame fronts and thin films; at L = 22 it is chaotic
    with one positive Lyapunov exponent (~0.048). The agent actuates the system
    through ``actuators`` Gaussian jets and observes it through ``sensors``
    point sensors, as in Bucci et al. (2019, Proc. R. Soc. A 475, 20190351) and
    Zeng & Graham (2021, Phys. Rev. E 104, 014210). The equation is solved by
    Fourier pseudo-spectral ETDRK4 (``chaoscontrol.solvers.ks``); one env step
    is ``frame_skip`` solver steps of size ``dt`` with the action held constant.

    ## Action Space

    ``Box(-1, 1, (n_act,), float32)``, n_act = 4 by default: the amplitudes a_j of
    the actuators. The forcing is f(x) = max_forcing * sum_j a_j psi_j(x) minus its
    spatial mean, psi_j(x) = exp(-d(x, x_j)^2 / (2 actuator_width^2)), centres
    x_j = (2j + 1) L / (2 n_act). Actions outside [-1, 1] are clipped; NaN/inf or
    a wrong shape raise ``ValueError``.

    ## Observation Space

    ``observe="sensors"`` (default): ``Box(-b, b, (n_sens,), float32)``, u at the
    sensor positions x_i = i L / n_sens (8 by default), by Fourier interpolation
    (exact at grid points). ``observe="full"``: ``Box(-b, b, (N,), float32)``, u on
    the grid. b = ``blowup_threshold``. The full float64 state is
    ``env.unwrapped.u`` (a copy).

    ## Rewards

    Computed from the state at the end of the step, under the forcing f of the step:

    - ``objective="dissipation"``: r = -(D + P_f), dissipation D = <u_xx^2> plus
      actuation power P_f = <u f> (Zeng & Graham 2021), <.> the space average;
    - ``objective="target"``: r = -rms(u - u*), u* a named equilibrium of
      unforced KS at this L and N or a user array of shape (N,) (Bucci et al.
      2019). r = 0 exactly at the target.

    The names ``"E1"``, ``"E2"``, ``"E3"`` are the L = 22 equilibria of
    Cvitanovic, Davidchack & Siminos (2010) (energies 0.2609, 0.4382, 1.5876),
    and at any L the name E<q> means c = max(1, round(L / 22)) cells of E<q>
    (``chaoscontrol.solvers.equilibria.ks_equilibrium``): where L / 22 is an
    integer, the L = 22 equilibrium repeated c times (an exact equilibrium: 3
    copies at L = 66); otherwise E<q> continued in L from 22 to the cell length
    L / c by Newton's method (5 cells of length 20 at L = 100). Each is
    re-solved by Newton at (L, N) to max |F(u)| <= 1e-10 (F the steady equation
    of the solver's discretisation, so u* is a fixed point of the unforced
    steps) and must keep its dominant wavenumber q per cell; a name whose
    branch does not reach L / c (no E1 or E2 at L = 30, no E3 at L = 15) is a
    ``ValueError`` naming ``target`` and the names available there. Resolution
    takes milliseconds at L = 22 and 66 and under a second at L = 100.

    On a blow-up the reward is ``-blowup_penalty``.

    ## Starting State

    ``reset(seed=s, options={"u0": u0})`` sets the state to ``u0`` (shape (N,))
    exactly. Without ``u0``, u(x, 0) = sum_{q=1..4} A_q cos(2 pi q x / L + phi_q),
    A_q ~ U(-1, 1), phi_q ~ U(0, 2 pi) from ``self.np_random``, is run unforced for
    ``burn_in`` time units (rounded to whole solver steps) so that the episode
    starts on the attractor. A ``u0`` with max|u0| above ``blowup_threshold`` is
    a ``ValueError``. The
    spatial mean of u is conserved (0 for random starts).

    ## Episode End

    - Truncation: the time limit, ``max_episode_steps=400`` at registration
      (100 time units); never reported as ``terminated``.
    - Termination: only on blow-up, a non-finite state or max|u| > ``blowup_threshold``;
      then ``info["blowup"] = True``. A blow-up never raises.

    ``info`` holds ``t`` (time since reset), ``energy`` <u^2>/2, ``production``
    <u_x^2>, ``dissipation`` <u_xx^2>, ``power`` <u f>, ``blowup`` and, for the
    target objective, ``target_distance`` rms(u - u*).

    ## Arguments

    ``gym.make("KS-Control-v0", L=22.0, N=64, dt=0.05, frame_skip=5, actuators=4,
    sensors=8, actuator_width=0.4, max_forcing=0.5, objective="dissipation",
    target=None, observe="sensors", burn_in=100.0, blowup_threshold=100.0,
    blowup_penalty=1000.0, render_mode=None, render_history=200, surrogate=None)``.
    ``surrogate`` (a checkpoint of ``chaoscontrol surrogate train``) replaces the
    solver by the learned model for every step (resets still start on the true
    attractor); it must come from the same L, N, dt, frame_skip, actuators and
    max_forcing, and a diverging surrogate ends the episode as a blow-up. It is
    resolved by the registered entry point
    (:func:`chaoscontrol.surrogates.registered_envs.make_ks_control_env`), which
    hands the class its ``dynamics``: ``KSControlEnv(..., dynamics=d)`` runs any
    :class:`~chaoscontrol.solvers.dynamics.Dynamics` whose configuration matches
    the keywords (``env.dynamics`` is the one in use).
    ``actuators`` and ``sensors`` take a count or a sequence of positions in
    [0, L). ``target`` (``"E1"``, ``"E2"``, ``"E3"``, see Rewards, or an array) is only for
    ``objective="target"``, where it defaults to ``"E1"``. Invalid arguments
    raise ``ValueError`` naming the argument. ``render_mode="rgb_array"`` renders
    the space-time diagram of the last ``render_history`` steps with the
    actuator (red) and sensor (white) positions marked.

    ## Version History

    - v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        L: float = 22.0,
        N: int = 64,
        dt: float = 0.05,
        frame_skip: int = 5,
        actuators: int | Sequence[float] = 4,
        sensors: int | Sequence[float] = 8,
        actuator_width: float = 0.4,
        max_forcing: float = 0.5,
        objective: str = "dissipation",
        target: str | np.ndarray | None = None,
        observe: str = "sensors",
        burn_in: float = 100.0,
        blowup_threshold: float = 100.0,
        blowup_penalty: float = 1000.0,
        render_mode: str | None = None,
        render_history: int = 200,
        surrogate: str | None = None,
        *,
        dynamics: Dynamics | None = None,
    ) -> None:
        truth = KSDynamics.from_env_kwargs(dict(L=L, N=N, dt=dt, frame_skip=frame_skip, actuators=actuators,
                                                actuator_width=actuator_width, max_forcing=max_forcing, burn_in=burn_in))
        self.sensor_positions = resolve_positions("sensors", sensors, L, N, sensor_positions)
        self.objective = check_choice("objective", objective, OBJECTIVES)
        self.observe = check_choice("observe", observe, OBSERVATIONS)
        self._init_render(render_mode, render_history)
        self.truth = truth
        """The KS solver of this configuration (resets start on its attractor, whatever ``dynamics`` steps)."""
        self.config = truth.config
        self.target = self._resolve_target(target)
        self.surrogate = _resolve_surrogate(surrogate, dynamics, truth)
        bound = check_positive("blowup_threshold", blowup_threshold)  # also the observation bound
        cfg = self.config
        observer = PointSensors(self.sensor_positions, cfg.L, cfg.N, bound) if observe == "sensors" else FullField(cfg.N, bound)
        goal = (DiagnosticCost(("dissipation", "power"), truth.diagnostic_names) if self.target is None
                else TargetDistance(self.target))
        super().__init__(matching_dynamics(dynamics, truth, DYNAMICS_KEYS), observer, goal, blowup_threshold,
                         blowup_penalty)

    # ------------------------------------------------------------------ the KS configuration

    @property
    def frame_skip(self) -> int:
        """Solver steps per env step."""
        return self.truth.frame_skip

    @property
    def actuator_positions(self) -> np.ndarray:
        """Actuator centres in [0, L), (n_act,)."""
        return self.truth.actuator_positions

    @property
    def actuator_width(self) -> float:
        """Gaussian width of the actuators."""
        return self.truth.actuator_width

    @property
    def actuator_shapes(self) -> np.ndarray:
        """Actuator profiles psi_j on the grid (peak 1, mean not removed), (n_act, N)."""
        return self.truth.actuator_shapes

    @property
    def max_forcing(self) -> float:
        """Forcing amplitude multiplying the clipped actions (settable: it changes the KS dynamics' forcing)."""
        return self.truth.max_forcing

    @max_forcing.setter
    def max_forcing(self, value: float) -> None:
        self.truth.max_forcing = check_non_negative("max_forcing", value)

    @property
    def burn_in(self) -> float:
        """Unforced time units run from a random start."""
        return self.truth.burn_in

    def config_dict(self) -> dict[str, Any]:
        """The resolved configuration as plain JSON values (datasets and checkpoints record it)."""
        d = self.truth.config_dict()
        return {
            "L": d["L"],
            "N": d["N"],
            "dt": d["dt"],
            "frame_skip": d["frame_skip"],
            "actuators": d["actuators"],
            "sensors": self.sensor_positions.tolist(),
            "actuator_width": d["actuator_width"],
            "max_forcing": d["max_forcing"],
            "objective": self.objective,
            "target": None if self.target is None else self.target.tolist(),
            "observe": self.observe,
            "burn_in": d["burn_in"],
            "blowup_threshold": self.blowup_threshold,
            "blowup_penalty": self.blowup_penalty,
            "surrogate": self.surrogate,
        }

    # ------------------------------------------------------------------ rendering

    def _render_rgb(self, history: np.ndarray) -> np.ndarray:
        """The space-time diagram of the kept fields, actuators (red) and sensors (white) marked."""
        from chaoscontrol.envs.rendering import space_time_rgb

        return space_time_rgb(
            history,
            L=self.config.L,
            dt_frame=self.frame_skip * self.config.dt,
            t_end=self._t,
            actuator_positions=self.actuator_positions,
            sensor_positions=self.sensor_positions,
        )

    # ------------------------------------------------------------------ helpers

    def _resolve_target(self, target: str | np.ndarray | None) -> np.ndarray | None:
        cfg = self.config
        if self.objective != "target":
            if target is not None:
                raise ValueError(f"target is only used with objective='target' (objective={self.objective!r})")
            return None
        if target is None:
            target = "E1"
        if isinstance(target, str):
            check_choice("target", target, TARGETS)
            try:
                u_star = ks_equilibrium(target, cfg.L, cfg.N)
            except ValueError as exc:
                available = ks_equilibrium_names(cfg.L, cfg.N)
                raise ValueError(f"target={target!r} is not available at L={cfg.L:g}, N={cfg.N}; available here: "
                                 f"{list(available)} or an array of shape ({cfg.N},) ({exc})") from exc
        else:
            try:
                u_star = np.array(target, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"target must be one of {TARGETS} or an array of shape ({cfg.N},), got {target!r}") from exc
            if u_star.shape != (cfg.N,) or not np.all(np.isfinite(u_star)):
                raise ValueError(f"target must be one of {TARGETS} or a finite array of shape ({cfg.N},), "
                                 f"got an array of shape {u_star.shape}")
        u_star.setflags(write=False)
        return u_star


#: The keys of ``config_dict`` that fix the dynamics (a surrogate must match them).
DYNAMICS_KEYS = ("L", "N", "dt", "frame_skip", "actuators", "actuator_width", "max_forcing")


def _resolve_surrogate(surrogate: str | None, dynamics: Dynamics | None, truth: KSDynamics) -> str | None:
    """The recorded surrogate path (a checkpoint is loaded by the entry point, which passes ``dynamics``)."""
    if dynamics is None and surrogate is not None:
        raise ValueError(
            f"surrogate={surrogate!r}: a surrogate checkpoint is loaded by gym.make('KS-Control-v0', surrogate=...) "
            "(or chaoscontrol.surrogates.registered_envs.make_ks_control_env); KSControlEnv itself takes dynamics="
        )
    return None if surrogate is None else str(surrogate)
