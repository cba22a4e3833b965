"""`Kolmogorov-Control-v0`: control of 2-D Kolmogorov flow in its chaotic regime.

The spec over the env core: :class:`KolmogorovControlEnv` parses its keywords
into a :class:`~chaoscontrol.solvers.kolmogorov_dynamics.KolmogorovDynamics`,
vorticity probes on the grid (:class:`~chaoscontrol.envs.observation.IndexSensors`)
and one of two objectives (:class:`~chaoscontrol.envs.objectives.DiagnosticCost`
on diagnostics of the dynamics); stepping, resets, rewards and termination are
:class:`~chaoscontrol.envs.core.ControlEnv`'s. The batched env is
:data:`KolmogorovControlVectorEnv`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from chaoscontrol.envs.core import ControlEnv, EntryPoint
from chaoscontrol.envs.objectives import DiagnosticCost
from chaoscontrol.envs.observation import IndexSensors
from chaoscontrol.envs.spec_helpers import RenderHistory, check_choice, sensor_spec_config
from chaoscontrol.envs.vector_core import VectorEntryPoint
from chaoscontrol.solvers.kolmogorov_dynamics import GRID_DEFAULTS, KolmogorovDynamics, resolve_points
from chaoscontrol.validation import check_positive, is_int

#: Objectives and the diagnostics each one minimises (their sum).
OBJECTIVES = {"dissipation": ("dissipation", "power"), "laminar": ("laminar_distance",)}
OBSERVATIONS = ("sensors", "full")
#: Most sensors per direction of a lattice.
MAX_SENSOR_LATTICE = 32


def sensor_points(spec: int | Sequence[Sequence[float]], N: int) -> tuple[np.ndarray, np.ndarray]:
    """Probe positions and their flat grid indices of the ``sensors`` keyword.

    A count m is the m x m lattice of the grid points nearest to (2 pi i / m, 2 pi j / m); (x, y) pairs are read at
    their nearest grid points. The points must be distinct.

    :return: positions (x, y) of the grid points used, float64 (p, 2), and flat indices j N + i into a field (N, N).
    :raises ValueError: naming ``sensors``.
    """
    if is_int(spec):
        if not 1 <= spec <= min(MAX_SENSOR_LATTICE, N):
            raise ValueError(f"sensors must be a lattice count in 1..{min(MAX_SENSOR_LATTICE, N)} or (x, y) pairs, "
                             f"got {spec!r}")
        c = 2.0 * np.pi * np.arange(int(spec)) / int(spec)
        xx, yy = np.meshgrid(c, c)
        pts = np.stack([xx.ravel(), yy.ravel()], axis=1)
    elif isinstance(spec, (str, bytes, bool, np.bool_, dict)) or np.isscalar(spec):
        raise ValueError(f"sensors must be a lattice count or (x, y) pairs, got {spec!r}")
    else:
        pts = resolve_points("sensors", spec, N * N)
    ij = np.rint(pts * N / (2.0 * np.pi)).astype(np.int64) % N
    index = ij[:, 1] * N + ij[:, 0]
    if np.unique(index).size != index.size:
        raise ValueError(f"sensors must fall on distinct grid points of the {N} x {N} grid")
    return 2.0 * np.pi * ij / N, index


class GridProbes:
    """Entries of a 2-D field (N, N) (or a batch (B, N, N)) at flat grid indices:
    :class:`~chaoscontrol.envs.observation.IndexSensors` on the flattened field.

    :param index: flat indices j N + i, (p,).
    :param N: grid points per direction.
    :param bound: observation bound.
    """

    def __init__(self, index: np.ndarray, N: int, bound: float) -> None:
        self.size = int(N) * int(N)
        self.probes = IndexSensors(index, self.size, bound)
        self.n_obs = self.probes.n_obs

    def __call__(self, fields: np.ndarray, clip: bool | np.ndarray) -> np.ndarray:
        """Float32 readings of fields (N, N) or (B, N, N): (p,) or (B, p)."""
        flat = fields.reshape(self.size) if fields.ndim == 2 else fields.reshape(fields.shape[0], self.size)
        return self.probes(flat, clip)


class KolmogorovControlEnv(RenderHistory, ControlEnv):
    r"""Control of 2-D Kolmogorov flow (incompressible Navier-Stokes on the 2 pi-periodic square) in its chaotic regime.

    ## Description

    The vorticity equation with Kolmogorov forcing on [0, 2 pi)^2,

    .. math:: \omega_t + \mathbf u\cdot\nabla\omega = \frac{1}{Re}\nabla^2\omega - \alpha\omega - \chi n\cos(n y)
              + f_a(x, y, t), \qquad \mathbf u = (\psi_y, -\psi_x),\ \nabla^2\psi = -\omega,

    the curl of Navier-Stokes driven by the body force chi sin(n y) e_x
    (Chandler & Kerswell 2013, J. Fluid Mech. 722, 554: chi = 1, Re = 1/nu).
    At the default n = 4, Re = 40 the laminar flow u_L = (Re / n^2) sin(n y)
    (omega_L = -(Re / n) cos(n y)) is an exact, linearly unstable steady state
    and the flow is chaotic, with bursts of high dissipation. Solved by Fourier
    pseudo-spectral ETDRK4 with 2/3 de-aliasing on N x N points
    (``chaoscontrol.solvers.kolmogorov``); one env step is ``frame_skip`` solver
    steps of size ``dt`` (by default 10 steps of 0.02: 0.2 time units) with the
    action held constant.

    ## Action Space

    ``Box(-1, 1, (n_act,), float32)``, one amplitude per jet (8 by default):
    f_a = max_forcing * sum_j clip(a_j, -1, 1) g_j(x, y), g_j a Gaussian of
    width ``actuator_width`` and peak 1 around (x_j, y_j), mean removed. A count
    n places the centres at x_j = y_j = 2 pi (j + 1/2) / n. Actions outside
    [-1, 1] are clipped; NaN/inf or a wrong shape raise ``ValueError``.

    ## Observation Space

    ``observe="sensors"`` (default): ``Box(-b, b, (p,), float32)``, omega at p
    probes: a count m is the m x m lattice of grid points nearest to
    (2 pi i / m, 2 pi j / m) (6 x 6 = 36 by default, clear of the jet centres), in
    row-major order (y slow, x fast). ``observe="full"``: ``Box(-b, b, (N^2,),
    float32)``, omega on the grid flattened (axis 0 y). b = ``blowup_threshold``.
    The full float64 field is ``env.unwrapped.u``, a copy of shape (N, N)
    (``u[j, i] = omega(x_i, y_j)``).

    ## Rewards

    From the state at the end of the step, with <.> the space average:

    - ``objective="dissipation"`` (default): r = -(D + P_a), D = <omega^2> / Re the
      dissipation rate and P_a = <psi f_a> the actuator power (the energy
      budget dE/dt = P_K + P_a - D - 2 alpha E): lower the dissipation without
      paying for it in actuation, as the KS dissipation objective does;
    - ``objective="laminar"``: r = -rms(omega - omega_L), reach and hold the
      laminar state; r = 0 exactly on it.

    On a blow-up the reward is ``-blowup_penalty``.

    ## Starting State

    ``reset(seed=s, options={"u0": omega0})`` sets the field exactly (a float64
    (N, N) vorticity; the solver state drops its mean and the modes beyond the
    2/3 rule). Without ``u0``: omega_L plus a smooth random perturbation (Fourier
    modes max(|k_x|, |k_y|) <= 4, standard normal coefficients from
    ``self.np_random``, rms 0.1), run unactuated for ``burn_in`` time units
    (rounded to whole solver steps) through the laminar instability onto the
    chaotic attractor (the instability grows at 2.35 per time unit and the
    laminar distance reaches its attractor level after ~3 time units; the
    default 50 is measured in ``docs/systems.md``).

    ## Episode End

    - Truncation: the time limit, ``max_episode_steps=500`` at registration
      (100 time units: ~12 Lyapunov times, lambda_1 = 0.12 measured at 64^2,
      and ~18 turnover times 2 pi / rms(u), rms(u) = 1.16 on the attractor);
      never reported as ``terminated``.
    - Termination: only on blow-up, a non-finite state or max|omega| >
      ``blowup_threshold``; then ``info["blowup"] = True``. A blow-up never raises.

    ``info`` holds ``t`` (time since reset), ``energy`` <|u|^2>/2,
    ``dissipation`` D, ``forcing_power`` P_K = <u . chi sin(n y) e_x>, ``power``
    P_a, ``laminar_distance`` rms(omega - omega_L) and ``blowup``.

    ## Arguments

    ``gym.make("Kolmogorov-Control-v0", Re=40.0, n=4, alpha=0.0, chi=1.0, N=64,
    dt=None, frame_skip=None, actuators=8, sensors=6, actuator_width=0.5,
    max_forcing=1.0, objective="dissipation", observe="sensors", burn_in=50.0,
    blowup_threshold=200.0, blowup_penalty=100.0, render_mode=None)``.
    ``N`` is even in [8, 512] (32 for quick tests, 128 to resolve further);
    ``dt=None`` is 0.02 at N <= 64 and 0.02 * 64 / N above; ``frame_skip=None``
    is round(0.2 / dt). ``actuators`` takes a count or (x, y) pairs, ``sensors``
    a lattice count or (x, y) pairs (read at the nearest grid points).
    ``render_mode="rgb_array"`` draws the current vorticity with the jets and
    probes. ``max_forcing`` is the peak vorticity forcing of a jet: sustained
    full actuation at max_forcing = 2 or more drives the default grid past its
    step-size limit (a numerical blow-up, reported as one; ``docs/systems.md``),
    so pass a smaller ``dt`` with a larger ``max_forcing``. Invalid arguments
    raise ``ValueError`` naming the argument.

    ## Version History

    - v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        Re: float = GRID_DEFAULTS["Re"],
        n: int = GRID_DEFAULTS["n"],
        alpha: float = GRID_DEFAULTS["alpha"],
        chi: float = GRID_DEFAULTS["chi"],
        N: int = GRID_DEFAULTS["N"],
        dt: float | None = GRID_DEFAULTS["dt"],
        frame_skip: int | None = None,
        actuators: int | Sequence[Sequence[float]] = 8,
        sensors: int | Sequence[Sequence[float]] = 6,
        actuator_width: float = 0.5,
        max_forcing: float = 1.0,
        objective: str = "dissipation",
        observe: str = "sensors",
        burn_in: float = 50.0,
        blowup_threshold: float = 200.0,
        blowup_penalty: float = 100.0,
        render_mode: str | None = None,
    ) -> None:
        dynamics = KolmogorovDynamics.from_env_kwargs(dict(
            Re=Re, n=n, alpha=alpha, chi=chi, N=N, dt=dt, frame_skip=frame_skip, actuators=actuators,
            actuator_width=actuator_width, max_forcing=max_forcing, burn_in=burn_in))
        cfg = dynamics.config
        self.config = cfg
        self.objective = check_choice("objective", objective, tuple(OBJECTIVES))
        self.observe = check_choice("observe", observe, OBSERVATIONS)
        self.sensor_positions, index = sensor_points(sensors, cfg.N)
        """Probe positions (x, y) on the grid, float64 (p, 2) (also for observe="full", for the picture)."""
        self._init_render(render_mode, 2)
        bound = check_positive("blowup_threshold", blowup_threshold)  # also the observation bound
        observer = GridProbes(index if observe == "sensors" else np.arange(cfg.N * cfg.N), cfg.N, bound)
        goal = DiagnosticCost(OBJECTIVES[objective], dynamics.diagnostic_names)
        super().__init__(dynamics, observer, goal, blowup_threshold, blowup_penalty)

    @property
    def laminar(self) -> np.ndarray:
        """The laminar vorticity omega_L on the grid, float64 (N, N), read-only."""
        return self.dynamics.laminar

    def _render_rgb(self, history: np.ndarray) -> np.ndarray:
        from chaoscontrol.envs.kolmogorov_rendering import vorticity_rgb

        return vorticity_rgb(history[-1], self.dynamics.actuator_positions, self.sensor_positions,
                             title=f"vorticity, t = {self.t:.1f}")

    def config_dict(self) -> dict[str, Any]:
        """The resolved configuration as plain JSON values (datasets and checkpoints record it)."""
        return sensor_spec_config(self)


#: The registered entry points (``EntryPoint``: an unsupported ``render_mode`` is this env's ValueError).
make_kolmogorov_control_env = EntryPoint(KolmogorovControlEnv)
#: The batched `Kolmogorov-Control-v0` (``gym.make_vec(..., vectorization_mode="vector_entry_point")``).
KolmogorovControlVectorEnv = VectorEntryPoint(KolmogorovControlEnv)

__all__ = ["GridProbes", "KolmogorovControlEnv", "KolmogorovControlVectorEnv", "OBJECTIVES", "sensor_points"]
