"""The Lyapunov spectrum by the QR method with finite-difference tangent maps (chaoscontrol.solvers.lyapunov_spectrum).

What is checked, and why these checks:

- a linear map with known exponents (a rotation-scaling block and a non-normal coupling): exact;
- KS at the uniform equilibrium u = c: the tangent map is exp(tau (L - c d/dx)), so the exponents
  are the linear rates k^2 - k^4 (Galilean invariance: c only adds a phase), each twice (cos and
  sin) and 0 for the mean (c = 1, not 0: at u = 0 the decaying modes underflow to subnormal
  numbers, which are slow);
- KS at L = 22 on the attractor: the leading exponent agrees with the two-trajectory method
  (chaoscontrol.solvers.lyapunov) along the same trajectory, lies near 0.048 (Cvitanovic,
  Davidchack & Siminos 2010), and the next two are the zero exponents of the time and space
  translations;
- the finite-difference step eps changes the leading exponents by far less than their statistical error;
- the sum identity: the divergence of the semi-discrete (pseudo-spectral) KS ODE is the trace of
  its linear part, sum (k^2 - k^4) over the real degrees of freedom, exactly, aliased products or
  not (the nonlinear Jacobian -(u d)_x has a zero diagonal). The identity is not checked on the
  computed spectrum: the hyper-diffusive exponents (down to -10^4 at N = 64) lie far below the
  resolution floor of any finite-difference tangent map (module docstring).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from chaoscontrol.solvers.dynamics import Dynamics
from chaoscontrol.solvers.equilibria import ks_residual
from chaoscontrol.solvers.ks import KSConfig, ks_linear_rates
from chaoscontrol.solvers.ks_dynamics import KSDynamics
from chaoscontrol.solvers.lyapunov import leading_lyapunov_exponent
from chaoscontrol.solvers.lyapunov_spectrum import LyapunovSpectrum, lyapunov_spectrum, uniform_direction

TAU = 0.1


class LinearMapDynamics:
    """x -> M x per interval (a minimal Dynamics): exponents log|eigenvalues of M| / tau when M is block triangular."""

    state_dtype = np.dtype(np.float64)
    n_actions = 1
    diagnostic_names = ()

    def __init__(self, matrix: np.ndarray, control_dt: float = TAU) -> None:
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self.state_shape = self.field_shape = (self.matrix.shape[0],)
        self.control_dt = control_dt

    def random_states(self, rngs):
        return np.stack([rng.standard_normal(self.state_shape) for rng in rngs])

    def states_from_fields(self, fields):
        return np.array(fields, dtype=np.float64)

    fields_from_states = states_from_fields

    def unforced_diagnostics(self, states):
        return np.zeros((len(states), 0))

    def advance(self, states, fields, actions, diag_out):
        with np.errstate(over="ignore", invalid="ignore"):
            states[:] = states @ self.matrix.T
        fields[:] = states
        diag_out[:, -1] = np.where(np.isfinite(states).all(axis=1), np.abs(states).max(axis=1), np.inf)
        return -1

    def forcing_fields(self, actions):
        return np.zeros((*np.shape(actions)[:-1], *self.field_shape))

    def config_dict(self):
        return {"matrix": self.matrix.tolist()}


def rotation_scaling_map(rates: tuple[float, float, float], angle: float = 0.7) -> np.ndarray:
    """A 4 x 4 block upper-triangular map: rate rates[0] twice (rotation by angle), then rates[1], rates[2]."""
    m = np.zeros((4, 4))
    r = math.exp(rates[0] * TAU)
    m[:2, :2] = r * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    m[2, 2] = math.exp(rates[1] * TAU)
    m[3, 3] = math.exp(rates[2] * TAU)
    m[:2, 2:] = [[0.8, -0.3], [0.5, 1.1]]  # non-normal coupling
    m[2, 3] = 0.9
    return m


@pytest.fixture(scope="module", autouse=True)
def one_numba_thread():
    """Batches of 4-13 rows: on a shared, loaded 2-core machine Numba's threads cost 3x more than they save."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


@pytest.fixture(scope="module")
def ks22() -> KSDynamics:
    return KSDynamics(KSConfig(22.0, 64, 0.05))


def test_linear_map_has_its_known_exponents():
    dynamics = LinearMapDynamics(rotation_scaling_map((0.1, -0.5, -2.0)))
    assert isinstance(dynamics, Dynamics)
    res = lyapunov_spectrum(dynamics, np.ones(4), 4, 500, transient_intervals=300, eps=1e-3)
    np.testing.assert_allclose(res.exponents, [0.1, 0.1, -0.5, -2.0], atol=2e-3)
    assert math.isclose(res.exponents.sum(), 2 * 0.1 - 0.5 - 2.0, abs_tol=1e-9)  # the trace of log M / tau
    assert res.time == pytest.approx(500 * TAU)
    assert res.running().shape == (500, 4)


def test_ks_exponents_at_a_uniform_equilibrium_are_the_linear_rates(ks22):
    rates = ks_linear_rates(ks22.config)
    expected = np.sort(np.concatenate([rates[1:-1], rates[1:-1], [0.0, rates[-1]]]))[::-1][:12]
    uniform = ks22.states_from_fields(np.ones((1, 64)))[0]
    res = lyapunov_spectrum(ks22, uniform, 12, 400, transient_intervals=400)
    np.testing.assert_allclose(res.exponents, expected, atol=0.01)
    # Partial sums over groups separated by wide gaps do not depend on the frame's alignment inside a group.
    for j in (4, 6, 7, 9, 11):
        assert res.exponents[:j].sum() == pytest.approx(expected[:j].sum(), abs=1e-4)
    assert res.floor < expected[-1] - 50


@pytest.fixture(scope="module")
def ks22_spectrum(ks22: KSDynamics, attractor_states: np.ndarray) -> tuple[LyapunovSpectrum, float]:
    """5 exponents in the mean-free subspace along one L = 22 trajectory (t = 1000), and the two-trajectory estimate.

    Both start from random perturbations at t = 0 and average to t = 1025 (the QR method from
    t = 25, after aligning its frame): their difference is the transient of the two-trajectory
    start, about log(projection on the leading direction) / T.
    """
    u0 = attractor_states[0]
    state = ks22.states_from_fields(u0[None, :])[0]
    res = lyapunov_spectrum(ks22, state, 5, 4000, transient_intervals=100, exclude=uniform_direction(64))
    two = leading_lyapunov_exponent(ks22.config, u0, 1025.0)[0]
    return res, float(two)


def test_ks_leading_exponent_agrees_with_the_two_trajectory_method(ks22_spectrum):
    res, two = ks22_spectrum
    lam1 = res.exponents[0]
    assert abs(lam1 - two) < 0.003
    assert 0.03 < lam1 < 0.07  # ~0.048 (Cvitanovic et al. 2010); docs/physics.md: 0.047-0.056 per trajectory
    assert res.n_positive() == 1


def test_ks_translation_symmetries_give_zero_exponents(ks22_spectrum):
    res, _ = ks22_spectrum
    lam = res.exponents
    assert np.all(np.abs(lam[1:3]) < 0.015)  # time and space translation
    assert lam[4] < -0.1
    assert np.all(np.diff(lam) < 0.01)  # descending, up to the statistical error of near-equal ones


def test_ks_exponents_do_not_depend_on_eps(ks22, attractor_states):
    state = ks22.states_from_fields(attractor_states[1][None, :])[0]
    scale = float(np.linalg.norm(attractor_states[1]))
    runs = [lyapunov_spectrum(ks22, state, 3, 400, exclude=uniform_direction(64), eps=rel * scale) for rel in (1e-5, 1e-7)]
    np.testing.assert_allclose(runs[0].exponents, runs[1].exponents, atol=1e-3)


def test_divergence_of_the_semi_discrete_ks_ode_is_the_trace_of_its_linear_part(attractor_states):
    cfg = KSConfig(22.0, 64, 0.05)
    rates = ks_linear_rates(cfg)
    real_dofs = np.full(rates.size, 2.0)
    real_dofs[0] = real_dofs[-1] = 1.0  # the mean and the Nyquist mode are real
    eye = np.eye(cfg.N)
    h = 1e-4
    for u in (np.array(attractor_states[2]), attractor_states[2] + 0.3):  # any mean: the diagonal of (u d)_x is zero
        # Central differences are exact for the quadratic right-hand side (up to round-off).
        trace = sum((ks_residual(u + h * eye[j], cfg.L)[j] - ks_residual(u - h * eye[j], cfg.L)[j]) / (2 * h)
                    for j in range(cfg.N))
        assert trace == pytest.approx(float(real_dofs @ rates), rel=1e-8)


def test_spectrum_summaries():
    log_growth = np.tile([0.1, 0.0, -0.05, -0.2], (20, 1)) * TAU
    log_growth[::2, 1] += 0.01  # a fluctuating neutral exponent
    log_growth[1::2, 1] -= 0.01
    res = LyapunovSpectrum(log_growth.sum(axis=0) / (20 * TAU), log_growth, TAU, 1e-6, -200.0)
    assert res.kaplan_yorke_dimension() == pytest.approx(3 + 0.05 / 0.2)
    assert res.n_positive() == 1
    np.testing.assert_allclose(res.block_estimates(10)[:, 0], 0.1)
    assert res.standard_error(10)[0] == pytest.approx(0.0, abs=1e-12)


def test_excluded_directions_are_projected_out(ks22, attractor_states):
    assert uniform_direction(16).shape == (1, 16) and np.linalg.norm(uniform_direction(16)) == pytest.approx(1.0)
    state = ks22.states_from_fields(attractor_states[3][None, :])[0]
    with_mean = lyapunov_spectrum(ks22, state, 5, 40)
    mean_free = lyapunov_spectrum(ks22, state, 5, 40, exclude=uniform_direction(64))
    assert not np.allclose(with_mean.exponents, mean_free.exponents)  # the neutral mean exponent is one of the 5
    with pytest.raises(ValueError, match="n_exponents"):
        lyapunov_spectrum(ks22, state, 64, 1, exclude=uniform_direction(64))  # 63 mean-free directions


def test_a_diverging_trajectory_raises():
    dynamics = LinearMapDynamics(np.eye(2) * 1e200)
    with pytest.raises(FloatingPointError, match="finite"):
        lyapunov_spectrum(dynamics, np.ones(2), 2, 10)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_exponents": 5}, "n_exponents"),
        ({"n_exponents": 0}, "n_exponents"),
        ({"n_intervals": 0}, "n_intervals"),
        ({"transient_intervals": -1}, "transient_intervals"),
        ({"eps": 0.0}, "eps"),
        ({"eps": float("nan")}, "eps"),
        ({"action": np.array([np.nan])}, "action"),
        ({"action": np.zeros(2)}, "action"),
        ({"exclude": np.ones((2, 4))}, "exclude"),
        ({"exclude": np.eye(3)}, "exclude"),
        ({"exclude": np.eye(4)}, "exclude"),
        ({"state": np.ones(3)}, "state"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs, name):
    dynamics = LinearMapDynamics(rotation_scaling_map((0.1, -0.5, -2.0)))
    args = {"state": np.ones(4), "n_exponents": 2, "n_intervals": 5, **kwargs}
    with pytest.raises(ValueError, match=name):
        lyapunov_spectrum(dynamics, args.pop("state"), args.pop("n_exponents"), args.pop("n_intervals"), **args)
