"""`CGLE-Control-v0`: control of the 1-D complex Ginzburg-Landau equation in its turbulent regime.

The CGLE spec over the env core: :class:`CGLEControlEnv` parses its keywords
into a :class:`~chaoscontrol.solvers.cgle_dynamics.CGLEDynamics`, sensors of
Re A and Im A (:class:`ReImPointSensors`, :class:`ReImFullField`) and one of
two phase-invariant objectives (:class:`~chaoscontrol.envs.objectives.DiagnosticCost`
on a diagnostic of the dynamics); stepping, resets, rewards and termination
are :class:`~chaoscontrol.envs.core.ControlEnv`'s. The batched env is
:data:`CGLEControlVectorEnv`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from chaoscontrol.envs.core import ControlEnv, EntryPoint
from chaoscontrol.envs.objectives import DiagnosticCost
from chaoscontrol.envs.observation import FullField, PointSensors
from chaoscontrol.envs.spec_helpers import sensor_spec_config
from chaoscontrol.envs.vector_core import VectorEntryPoint
from chaoscontrol.solvers.actuation import resolve_positions, sensor_positions
from chaoscontrol.solvers.cgle_dynamics import FORCINGS, GRID_DEFAULTS, CGLEDynamics
from chaoscontrol.validation import check_choice, check_positive

#: Objectives and the diagnostic each one minimises.
OBJECTIVES = {"uniform": "uniform_distance", "defects": "amplitude_fluctuation"}
OBSERVATIONS = ("sensors", "full")
#: Measured leading Lyapunov exponent (1 / time unit) with the parameters it holds for: ~0.27 in the defect turbulence
#: at alpha = 2, beta = -2, L = 8 pi (docs/systems.md). Read by code that counts time in Lyapunov times.
LYAPUNOV_EXPONENTS: tuple[tuple[dict[str, float], float], ...] = (({"alpha": 2.0, "beta": -2.0, "L": 8.0 * np.pi}, 0.27),)


class ReImPointSensors:
    """Re A and Im A at points of the periodic grid: observations (Re A(x_1..x_m), Im A(x_1..x_m)).

    :class:`~chaoscontrol.envs.observation.PointSensors` on each of the two rows of a
    field (2, N) (grid points picked, others by Fourier interpolation).

    :param positions: sensor positions in [0, L), (m,).
    :param L: domain length.
    :param N: grid points.
    :param bound: observation bound.
    """

    def __init__(self, positions: np.ndarray, L: float, N: int, bound: float) -> None:
        self.points = PointSensors(positions, L, N, bound)
        self.positions = self.points.positions
        self.n_obs = 2 * self.points.n_obs
        self.n = int(N)

    def __call__(self, fields: np.ndarray, clip: bool | np.ndarray) -> np.ndarray:
        """Float32 readings of fields (2, N) or (B, 2, N): (2m,) or (B, 2m)."""
        if fields.ndim == 2:
            return self.points(fields, clip).reshape(self.n_obs)
        rows = fields.reshape(-1, self.n)
        row_clip = clip if isinstance(clip, bool) else np.repeat(np.asarray(clip), 2)
        return self.points(rows, row_clip).reshape(fields.shape[0], self.n_obs)


class ReImFullField:
    """The whole field as the observation: (Re A on the grid, Im A on the grid), 2N values.

    :param N: grid points.
    :param bound: observation bound.
    """

    def __init__(self, N: int, bound: float) -> None:
        self.full = FullField(2 * N, bound)
        self.n_obs = self.full.n_obs

    def __call__(self, fields: np.ndarray, clip: bool | np.ndarray) -> np.ndarray:
        """Float32 observations of fields (2, N) or (B, 2, N): (2N,) or (B, 2N)."""
        flat = fields.reshape(self.n_obs) if fields.ndim == 2 else fields.reshape(fields.shape[0], self.n_obs)
        return self.full(flat, clip)


class CGLEControlEnv(ControlEnv):
    r"""Control of the 1-D complex Ginzburg-Landau equation in the Benjamin-Feir-unstable (turbulent) regime.

    ## Description

    The forced complex Ginzburg-Landau equation (CGLE) on a periodic domain [0, L),

    .. math:: A_t = A + (1 + i\alpha) A_{xx} - (1 + i\beta) |A|^2 A + f(x, t),

    is the normal form of an extended system near a supercritical Hopf
    bifurcation (Aranson & Kramer 2002, Rev. Mod. Phys. 74, 99). Its uniform
    oscillation A = exp(-i beta t) and plane waves are exact solutions, all
    unstable when 1 + alpha beta < 0 (Benjamin-Feir-Newell). The default
    alpha = 2, beta = -2 (1 + alpha beta = -3) is defect turbulence (Shraiman et
    al. 1992, Physica D 57, 241; Chate 1994, Nonlinearity 7, 185): phase slips
    where |A| drops to 0, leading Lyapunov exponent ~0.27. At L = 8 pi the
    uniform state has 8 unstable Fourier modes (|k| < 1.095) and the slip rate
    per unit length equals that of larger domains (``docs/systems.md``). The
    equation is solved by Fourier pseudo-spectral ETDRK4 in complex arithmetic
    (``chaoscontrol.solvers.cgle``); one env step is ``frame_skip`` solver steps
    of size ``dt`` with the action held constant.

    ## Action Space

    ``Box(-1, 1, (n_act,), float32)``: ``forcing="complex"`` (default) gives two
    channels per actuator, n_act = 2 n (32 by default, n = 16), actions
    (a_1^re .. a_n^re, a_1^im .. a_n^im) and forcing
    f(x) = max_forcing * sum_j (a_j^re + i a_j^im) psi_j(x); ``forcing="real"``
    one channel per actuator on Re A, n_act = n, f(x) = max_forcing * sum_j a_j psi_j(x).
    psi_j(x) = exp(-d(x, x_j)^2 / (2 actuator_width^2)), peak 1, centres
    x_j = (2j + 1) L / (2n). The mean of f is not removed. 16 actuators by
    default: the unstable band |k| < 1.095 holds k = m / 4, m = 1..4, and n evenly
    spaced actuators cannot force the mode m = n / 2 in one of its two phases
    (with n = 8, cos(x) vanishes at every centre), so n >= 9 is needed to
    stabilise the uniform state; 16 gives two actuators per shortest unstable
    wavelength. Actions outside [-1, 1] are clipped; NaN/inf or a wrong shape
    raise ``ValueError``.

    ## Observation Space

    ``observe="sensors"`` (default): ``Box(-b, b, (2 n_sens,), float32)``,
    (Re A(x_1..x_m), Im A(x_1..x_m)) at the sensor positions x_i = i L / n_sens
    (16 by default), by Fourier interpolation (exact at grid points).
    ``observe="full"``: ``Box(-b, b, (2N,), float32)``, Re A then Im A on the
    grid. b = ``blowup_threshold``. The full float64 state is
    ``env.unwrapped.u``, a copy of shape (2, N) (row 0 Re A, row 1 Im A), and
    ``env.unwrapped.A``, the complex field (N,).

    ## Rewards

    Computed from the state at the end of the step, phase-invariant (the
    equation is invariant under A -> A e^{i phi}), with <.> the space average:

    - ``objective="uniform"`` (default): r = -d_U, d_U = min_phi rms(A - e^{i phi})
      = sqrt(<|A - <A>|^2> + (|<A>| - 1)^2), the distance to the orbit of the
      uniform oscillation |A| = 1: reach and hold it. r = 0 exactly on it;
    - ``objective="defects"``: r = -sigma, sigma = rms(|A| - <|A|>), the amplitude
      fluctuation: suppress defects and amplitude turbulence. r = 0 exactly on
      every plane wave (the only unforced states of constant modulus), any
      winding number.

    On a blow-up the reward is ``-blowup_penalty``. No action cost (``info["power"]``
    reports the actuator power).

    ## Starting State

    ``reset(seed=s, options={"u0": u0})`` sets the state exactly: ``u0`` is a real
    array (2, N) (Re A, Im A), or a complex array (N,) (A itself; single env
    only, the batched env takes real (2, N) or (B, 2, N)). Without ``u0``, the
    uniform state plus a small smooth complex perturbation, A(x, 0) = 1 + 0.01
    sum_{|m| <= 4} c_m e^{2 pi i m x / L} / 3, c_m complex standard normal from
    ``self.np_random``, is run unforced for ``burn_in`` time units (rounded to
    whole solver steps) through the Benjamin-Feir instability onto the
    turbulent attractor. A ``u0`` with max|A| above ``blowup_threshold`` is a
    ``ValueError``.

    ## Episode End

    - Truncation: the time limit, ``max_episode_steps=400`` at registration
      (100 time units: ~27 Lyapunov times, 50 e-folding times of the fastest
      Benjamin-Feir mode, ~32 periods of the uniform oscillation); never
      reported as ``terminated``.
    - Termination: only on blow-up, a non-finite state or max|A| > ``blowup_threshold``;
      then ``info["blowup"] = True``. A blow-up never raises.

    ``info`` holds ``t`` (time since reset), ``intensity`` <|A|^2>,
    ``uniform_distance`` d_U, ``amplitude_fluctuation`` sigma,
    ``min_amplitude`` min|A| (near 0 at a defect), ``power`` <Re(conj(A) f)> and
    ``blowup``.

    ## Arguments

    ``gym.make("CGLE-Control-v0", alpha=2.0, beta=-2.0, L=8*pi, N=64, dt=0.05,
    frame_skip=5, actuators=16, sensors=16, actuator_width=0.4, forcing="complex",
    max_forcing=0.5, objective="uniform", observe="sensors", burn_in=100.0,
    blowup_threshold=10.0, blowup_penalty=1000.0)``. ``actuators`` and
    ``sensors`` take a count or a sequence of positions in [0, L). ``N`` is even
    and >= 10. Invalid arguments raise ``ValueError`` naming the argument. No
    render modes.

    ## Version History

    - v0: initial version.
    """

    metadata = {"render_modes": [], "render_fps": 20}

    def __init__(
        self,
        alpha: float = GRID_DEFAULTS["alpha"],
        beta: float = GRID_DEFAULTS["beta"],
        L: float = GRID_DEFAULTS["L"],
        N: int = GRID_DEFAULTS["N"],
        dt: float = GRID_DEFAULTS["dt"],
        frame_skip: int = 5,
        actuators: int | Sequence[float] = 16,
        sensors: int | Sequence[float] = 16,
        actuator_width: float = 0.4,
        forcing: str = "complex",
        max_forcing: float = 0.5,
        objective: str = "uniform",
        observe: str = "sensors",
        burn_in: float = 100.0,
        blowup_threshold: float = 10.0,
        blowup_penalty: float = 1000.0,
        render_mode: str | None = None,
    ) -> None:
        for name, value, allowed in (("objective", objective, tuple(OBJECTIVES)), ("observe", observe, OBSERVATIONS),
                                     ("forcing", forcing, FORCINGS)):
            check_choice(name, value, allowed)  # before any use: an array would make `in` ambiguous
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (CGLE-Control-v0 has no render modes), got {render_mode!r}")
        dynamics = CGLEDynamics.from_env_kwargs(dict(
            alpha=alpha, beta=beta, L=L, N=N, dt=dt, frame_skip=frame_skip, actuators=actuators,
            actuator_width=actuator_width, forcing=forcing, max_forcing=max_forcing, burn_in=burn_in))
        cfg = dynamics.config
        self.config = cfg
        self.sensor_positions = resolve_positions("sensors", sensors, cfg.L, cfg.N, sensor_positions)
        self.objective, self.observe, self.render_mode = objective, observe, render_mode
        bound = check_positive("blowup_threshold", blowup_threshold)  # also the observation bound
        observer = (ReImPointSensors(self.sensor_positions, cfg.L, cfg.N, bound) if observe == "sensors"
                    else ReImFullField(cfg.N, bound))
        goal = DiagnosticCost((OBJECTIVES[objective],), dynamics.diagnostic_names)
        super().__init__(dynamics, observer, goal, blowup_threshold, blowup_penalty)

    # ------------------------------------------------------------------ the CGLE configuration

    @property
    def A(self) -> np.ndarray:
        """A copy of the complex field A on the grid, complex128 (N,)."""
        return self._field[0] + 1j * self._field[1]

    def parse_reset_options(self, options: dict[str, Any] | None) -> np.ndarray | None:
        """The validated ``u0`` (float64 (2, N)) of reset ``options``, or None; a complex (N,) ``u0`` is A itself."""
        if isinstance(options, dict) and options.get("u0") is not None:
            u0 = np.asarray(options["u0"])
            if np.iscomplexobj(u0):
                n = self.config.N
                if u0.shape != (n,):
                    raise ValueError(f"options['u0'] as a complex field A must have shape ({n},), got {u0.shape}")
                options = {**options, "u0": np.stack([u0.real, u0.imag])}
        u0 = super().parse_reset_options(options)
        if u0 is not None:
            amax = float(np.max(np.hypot(u0[0], u0[1])))
            if amax > self.blowup_threshold:
                raise ValueError(f"options['u0'] has max|A| = {amax:.3g} above blowup_threshold={self.blowup_threshold:g}")
        return u0

    def config_dict(self) -> dict[str, Any]:
        """The resolved configuration as plain JSON values (datasets and checkpoints record it)."""
        return sensor_spec_config(self)


#: The batched `CGLE-Control-v0` (``gym.make_vec(..., vectorization_mode="vector_entry_point")``).
#: The registered entry points (``EntryPoint``: an unsupported ``render_mode`` is this env's ValueError).
make_cgle_control_env = EntryPoint(CGLEControlEnv)
CGLEControlVectorEnv = VectorEntryPoint(CGLEControlEnv)

__all__ = ["CGLEControlEnv", "CGLEControlVectorEnv", "ReImFullField", "ReImPointSensors"]
