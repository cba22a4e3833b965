"""The QR method on the tangent-linear RK4 (solvers/lyapunov_ode.py), checked where the answer is exact.

At a fixed point x* the trajectory stays put and the tangent map of one RK4 step is the constant matrix
P4(dt J), P4(z) = 1 + z + z^2/2 + z^3/6 + z^4/24: the exponents of the RK4 map are log|P4(dt mu_i)| / dt for the
eigenvalues mu_i of J(x*), and their sum log|det P4(dt J)| / dt at any T.
"""

from __future__ import annotations

import numpy as np
import pytest

from chaoscontrol.solvers.lorenz63 import Lorenz63Config, lorenz63_jacobian, lorenz63_tangent_qr
from chaoscontrol.solvers.lorenz96 import Lorenz96Config, lorenz96_jacobian, lorenz96_tangent_qr
from chaoscontrol.solvers.lyapunov_ode import LyapunovRun, kaplan_yorke_dimension, lyapunov_spectrum


def rk4_polynomial(z):
    """The stability polynomial of classical RK4."""
    return 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24


def test_at_the_lorenz63_origin_the_exponents_are_those_of_the_rk4_map():
    cfg = Lorenz63Config()
    mu = np.linalg.eigvals(lorenz63_jacobian(np.zeros(3), cfg)).real  # 11.83, -2.67, -22.83
    expected = np.sort(np.log(np.abs(rk4_polynomial(cfg.dt * mu))) / cfg.dt)[::-1]
    run = lyapunov_spectrum(lorenz63_tangent_qr, cfg.params, np.zeros(3), cfg.dt, 20.0, transient_time=5.0)
    np.testing.assert_array_equal(run.final_state, 0.0)
    # the z axis is an exact invariant direction here, so the unit start vector e_3 never mixes: compare sorted
    np.testing.assert_allclose(np.sort(run.exponents)[::-1], expected, rtol=1e-10)
    assert expected[0] == pytest.approx(mu.max(), rel=1e-3)  # the RK4 map's rate is the flow's to O(dt^4)


def test_at_the_lorenz96_steady_state_the_sum_is_the_log_determinant_of_the_rk4_map():
    cfg = Lorenz96Config()
    jac = cfg.dt * lorenz96_jacobian(cfg.steady_state)
    step = np.eye(cfg.K) + jac + jac @ jac / 2 + jac @ jac @ jac / 6 + jac @ jac @ jac @ jac / 24
    expected = np.linalg.slogdet(step)[1] / cfg.dt
    run = lyapunov_spectrum(lorenz96_tangent_qr, np.full(cfg.K, cfg.F), cfg.steady_state, cfg.dt, 3.0)
    assert run.exponents.sum() == pytest.approx(expected, rel=1e-10)
    assert expected == pytest.approx(-cfg.K, abs=1e-3)


def test_running_estimates_end_at_the_exponents_and_blocks_give_an_error():
    cfg = Lorenz63Config()
    run = lyapunov_spectrum(lorenz63_tangent_qr, cfg.params, np.array([1.0, 1.0, 20.0]), cfg.dt, 50.0,
                            n_exponents=2, renorm_steps=5, transient_time=1.0)
    assert run.log_growth.shape == (1000, 2) and run.interval == pytest.approx(0.05)
    assert run.total_time == pytest.approx(50.0)
    times, estimates = run.running(10)
    assert np.all(np.diff(times) > 0) and times[-1] == pytest.approx(50.0)
    np.testing.assert_allclose(estimates[-1], run.exponents, rtol=1e-12)
    assert run.standard_error(10).shape == (2,) and np.all(run.standard_error(10) > 0)
    with pytest.raises(ValueError, match="n_blocks"):
        run.standard_error(1)


def test_kaplan_yorke_dimension():
    assert kaplan_yorke_dimension(np.array([0.9056, 0.0, -14.5723])) == pytest.approx(2.06214, abs=1e-5)
    assert kaplan_yorke_dimension(np.array([-1.0, -2.0])) == 0.0
    assert kaplan_yorke_dimension(np.array([1.0, 0.5])) == 2.0
    assert kaplan_yorke_dimension(np.array([-3.0, 1.0, 0.0])) == pytest.approx(2.0 + 1.0 / 3.0)  # sorted first


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_exponents": 4}, "n_exponents"),
        ({"n_exponents": 0}, "n_exponents"),
        ({"dt": 0.0}, "dt"),
        ({"total_time": -1.0}, "total_time"),
        ({"renorm_steps": 0}, "renorm_steps"),
        ({"transient_time": -1.0}, "transient_time"),
    ],
)
def test_bad_arguments_are_named(kwargs, name):
    args = {"dt": 0.01, "total_time": 1.0} | kwargs
    with pytest.raises(ValueError, match=name):
        lyapunov_spectrum(lorenz63_tangent_qr, Lorenz63Config().params, np.ones(3), **args)


def test_a_run_is_a_frozen_record():
    run = LyapunovRun(np.zeros((4, 1)), 0.5, np.zeros(3))
    assert run.total_time == 2.0
    with pytest.raises(AttributeError):
        run.interval = 1.0  # type: ignore[misc]
