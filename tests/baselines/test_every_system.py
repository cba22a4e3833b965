"""LQR/LQG on every registered system (issue 16): the generic linearisation against closed forms, the targets,
the co-rotating frame of CGLE's uniform oscillation, the nonlinear closed loops and the refusals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import chaoscontrol  # noqa: F401 - registers the envs
from chaoscontrol.baselines import make_baseline
from chaoscontrol.baselines.control_map import control_map
from chaoscontrol.baselines.linear_control import LQGController, LQRController
from chaoscontrol.baselines.linearization import linearise, zero_mean_basis
from chaoscontrol.baselines.phase_frame import best_rotation, phase_symmetry, rotate_halves
from chaoscontrol.baselines.set_points import resolve_set_point
from chaoscontrol.envs.perturbation_wrappers import VectorPerturbation, make_perturbation
from chaoscontrol.envs.registration import make_env, make_vector_env


def rk4_factor(z: np.ndarray) -> np.ndarray:
    """RK4's stability polynomial R(z) = 1 + z + z^2/2 + z^3/6 + z^4/24: one step of the linear ODE x' = lambda x."""
    return 1.0 + z + z**2 / 2.0 + z**3 / 6.0 + z**4 / 24.0


def assert_same_spectrum(got: np.ndarray, expected: np.ndarray, atol: float) -> None:
    """The two multisets of eigenvalues agree, matched one to one (Hungarian assignment on |difference|)."""
    assert got.size == expected.size
    rows, cols = linear_sum_assignment(np.abs(got[:, None] - expected[None, :]))
    assert np.max(np.abs(got[rows] - expected[cols])) < atol, np.max(np.abs(got[rows] - expected[cols]))


def rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.asarray(x) ** 2, axis=-1))


# ============================================================ 1. the batched linearisation


def test_batched_linearisation_equals_the_loop_of_single_env_steps_on_ks():
    """The pre-issue-16 algorithm (one env step per probe, along the zero-mean Fourier basis) gives the same map."""
    env = make_env("KS-Control-v0", objective="target", target="E1")
    m = linearise(env, env.target)
    u_star, eps, n_act = env.target, 1e-5, 4
    phi = zero_mean_basis(64)

    def step(u, a):
        env.reset(options={"u0": u})
        env.step(a)
        return env.u

    zero = np.zeros(n_act)
    A = np.stack([(step(u_star + eps * p, zero) - step(u_star - eps * p, zero)) @ phi / (2 * eps) for p in phi.T], axis=1)
    B = np.stack([(step(u_star, eps * e) - step(u_star, -eps * e)) @ phi / (2 * eps) for e in np.eye(n_act)], axis=1)
    # the bases differ (any orthonormal basis of the zero-mean fields): compare the operators on the grid
    np.testing.assert_allclose(m.basis @ m.A @ m.basis.T, phi @ A @ phi.T, rtol=0, atol=1e-8)
    np.testing.assert_allclose(m.basis @ m.B, phi @ B, rtol=0, atol=1e-8)
    np.testing.assert_allclose(m.removed[:, 0] ** 2, np.full(64, 1 / 64), rtol=0, atol=1e-9)  # the spatial mean


@pytest.mark.parametrize("env_id", ["Lorenz63-Control-v0", "Lorenz96-Control-v0", "CGLE-Control-v0"])
def test_only_ks_has_a_conserved_unactuated_direction(env_id):
    env = make_env(env_id)
    u_star, relative = resolve_set_point(env, None)
    m = linearise(env, u_star, relative=relative)
    assert m.removed.shape[1] == 0
    assert m.A.shape[0] == u_star.size - (1 if relative else 0)  # the co-rotating frame drops the phase


@pytest.mark.parametrize("target", ["C+", "C-", "origin"])
def test_lorenz63_map_eigenvalues_are_rk4_of_the_closed_form_spectrum(target):
    """C+-: lambda^3 + (sigma + beta + 1) lambda^2 + beta (sigma + r) lambda + 2 sigma beta (r - 1) = 0; origin:
    -beta and lambda^2 + (sigma + 1) lambda + sigma (1 - r) = 0. The map of 5 RK4 steps linearised at a fixed
    point is R(h J)^5 exactly, so its eigenvalues are R(h lambda)^5 (-> exp(lambda T) as h -> 0)."""
    env = make_env("Lorenz63-Control-v0", target=target)
    s, r, b = env.config.sigma, env.config.rho, env.config.beta
    h, steps = env.config.dt, env.truth.frame_skip
    if target == "origin":
        lam = np.concatenate([[-b], np.roots([1.0, s + 1.0, s * (1.0 - r)])])
    else:
        lam = np.roots([1.0, s + b + 1.0, b * (s + r), 2.0 * s * b * (r - 1.0)])
    m = linearise(env, env.target)
    assert_same_spectrum(m.eigenvalues(), rk4_factor(h * lam) ** steps, atol=1e-8)
    assert_same_spectrum(m.eigenvalues(), np.exp(lam * h * steps), atol=1e-5)  # RK4's error, O(h^4)
    assert np.max(np.abs(m.eigenvalues())) > 1.0  # every fixed point is unstable


def test_lorenz96_map_eigenvalues_at_x_equal_f_are_the_circulant_ones():
    """J_ij = F (delta_{j,i+1} - delta_{j,i-2}) - delta_ij at x = F: eigenvalues -1 + F (e^{i k theta} - e^{-2 i k theta})
    on the Fourier modes e^{i k theta j}, theta = 2 pi / K."""
    env = make_env("Lorenz96-Control-v0", objective="target")
    K, F, h, steps = env.config.K, env.config.F, env.config.dt, env.truth.frame_skip
    np.testing.assert_array_equal(env.target, np.full(K, F))
    k = np.arange(K)
    lam = -1.0 + F * (np.exp(2j * np.pi * k / K) - np.exp(-4j * np.pi * k / K))
    m = linearise(env, env.target)
    assert_same_spectrum(m.eigenvalues(), rk4_factor(h * lam) ** steps, atol=1e-8)
    assert np.max(lam.real) == pytest.approx(np.log(np.max(np.abs(m.eigenvalues()))) / (h * steps), rel=1e-3)


# ============================================================ 2. targets


@pytest.mark.parametrize("env_id, kwargs, expected", [
    ("Lorenz96-Control-v0", {"objective": "energy"}, lambda env: np.full(40, 8.0)),
    ("Lorenz63-Control-v0", {"objective": "avoid"}, lambda env: env.fixed_points["C+"]),
    ("Lorenz63-Control-v0", {"target": "C-"}, lambda env: env.fixed_points["C-"]),
    ("CGLE-Control-v0", {"objective": "defects"}, lambda env: np.concatenate([np.ones(64), np.zeros(64)])),
])
def test_the_target_is_the_envs_or_its_default(env_id, kwargs, expected):
    env = make_env(env_id, **kwargs)
    u_star, relative = resolve_set_point(env, None)
    np.testing.assert_array_equal(u_star, expected(env))
    assert relative == env_id.startswith("CGLE")


def test_a_named_target_is_resolved_by_the_env():
    env = make_env("Lorenz63-Control-v0", objective="avoid")
    np.testing.assert_array_equal(resolve_set_point(env, "origin")[0], np.zeros(3))
    with pytest.raises(ValueError, match="E1"):
        resolve_set_point(env, "E1")


# ============================================================ 3. CGLE: the co-rotating frame


def test_phase_equivariance_is_detected_only_with_complex_forcing():
    assert phase_symmetry(make_env("CGLE-Control-v0"))
    assert not phase_symmetry(make_env("CGLE-Control-v0", forcing="real"))
    assert not phase_symmetry(make_env("Lorenz63-Control-v0"))
    with pytest.raises(ValueError, match="not a target"):
        make_baseline("lqg", make_vector_env("CGLE-Control-v0", num_envs=1, forcing="real"))


@pytest.fixture(scope="module")
def cgle_full():
    env = make_env("CGLE-Control-v0", observe="full")
    return env, linearise(env, resolve_set_point(env, None)[0], relative=True)


def test_the_uniform_oscillation_turns_by_minus_beta_t(cgle_full):
    env, m = cgle_full
    wrapped = np.angle(np.exp(-1j * env.config.beta * env.dynamics.control_dt))
    assert m.frame.theta == pytest.approx(wrapped, abs=1e-12)
    assert m.fixed_point_residual < 1e-12


def test_the_co_rotating_model_predicts_the_phase_normalised_map_to_second_order(cgle_full):
    """G(u, a) = R_{-phi(obs F(u, a))} F(u, a) from u = u* + Phi zeta: zeta' = A zeta + B a + O(size^2)."""
    env, m = cgle_full
    rng = np.random.default_rng(3)
    zeta, a_dir = rng.standard_normal(m.A.shape[0]), rng.uniform(-1.0, 1.0, env.dynamics.n_actions)
    errors = []
    for size in (1e-3, 5e-4):
        z, a = size * zeta / rms(m.basis @ zeta), size * a_dir
        image = control_map(env.dynamics, (m.u_star + m.basis @ z).reshape(1, 2, -1), a[None]).reshape(1, -1)
        y = env.observer(image, False).astype(np.float64)  # float32 sensors: the phase is read as the controller reads it
        normalised = rotate_halves(image, -m.frame.observation_phase(y))[0]
        linear = m.A @ z + m.B @ a
        assert np.linalg.norm(linear) > size
        errors.append(np.max(np.abs((normalised - m.u_star) @ m.basis - linear)))
    assert errors[0] < 1e-5  # vs entries of A z + B a up to ~5e-4
    assert errors[0] / errors[1] == pytest.approx(4.0, rel=0.15)


def test_the_lqr_action_rotates_with_the_state(cgle_full):
    """Equivariance of the controller: a(R_psi y) = R_psi a(y) (y near the orbit, no clipping)."""
    env, m = cgle_full
    ctrl = LQRController(m)
    rng = np.random.default_rng(4)
    u = m.u_star + 1e-4 * m.basis @ rng.standard_normal(m.A.shape[0])
    psi = 2.1
    a = ctrl(u[None])
    assert 0 < np.max(np.abs(a)) < 1.0
    np.testing.assert_allclose(ctrl(rotate_halves(u, psi)[None]), rotate_halves(a, psi), rtol=0, atol=1e-10)


# ============================================================ 4. the nonlinear closed loops


CLOSED_LOOPS = [  # (id, env keywords, spec, steps, initial rms deviation)
    ("Lorenz63-Control-v0", {}, "lqr", 300, 0.5),  # C+ grows slowly: e^{0.094 t}
    ("Lorenz63-Control-v0", {}, "lqg", 300, 0.5),
    ("Lorenz96-Control-v0", {"observe": "full", "objective": "target"}, "lqr", 100, 0.05),
    ("Lorenz96-Control-v0", {"objective": "target"}, "lqg", 200, 0.05),  # estimator radius 0.93
    ("CGLE-Control-v0", {"observe": "full"}, "lqr", 100, 0.01),
    ("CGLE-Control-v0", {}, "lqg", 100, 0.01),
]


def phase_distance(model, fields: np.ndarray) -> np.ndarray:
    u = fields.reshape(fields.shape[0], -1)
    if model.frame is not None:
        u = np.stack([rotate_halves(row, -best_rotation(model.u_star, row)) for row in u])
    return rms(u - model.u_star)


@pytest.mark.parametrize("env_id, kwargs, spec, steps, size", CLOSED_LOOPS)
def test_the_baseline_holds_the_unstable_target_that_the_free_flow_leaves(env_id, kwargs, spec, steps, size):
    b = 2
    venv = make_vector_env(env_id, num_envs=b, max_episode_steps=steps + 1, autoreset_mode="Disabled", **kwargs)
    ctrl = make_baseline(spec, venv)
    assert isinstance(ctrl, LQRController if spec == "lqr" else LQGController)
    m = ctrl.model
    delta = np.random.default_rng(0).standard_normal((b, m.basis.shape[1])) @ m.basis.T
    u0 = (m.u_star + size * delta / rms(delta)[:, None]).reshape(b, *venv.unwrapped.dynamics.field_shape)
    final = {}
    for policy in (spec, "zero"):
        obs, _ = venv.reset(options={"u0": u0})
        act = ctrl if policy == spec else (lambda o: np.zeros((b, m.B.shape[1])))
        for _ in range(steps):
            obs, _, terminated, _, _ = venv.step(act(obs))
            assert not terminated.any()
        final[policy] = phase_distance(m, venv.unwrapped.u)
    assert np.all(final[spec] < 1e-3 * size), final
    assert np.all(final["zero"] > 2 * size), final


def test_lqg_on_a_cgle_sensor_subset_keeps_re_im_pairs():
    venv = make_vector_env("CGLE-Control-v0", num_envs=1, max_episode_steps=5)
    kept = [16, 0, 19, 3]  # Im and Re of sensors 0 and 3 (Re A at rows i, Im A at rows 16 + i), in this order
    ctrl = make_baseline("lqg", VectorPerturbation(venv, *make_perturbation("subset", 0, venv, indices=kept)))
    m = ctrl.model
    assert m.C.shape[0] == 4
    # rotating the state rotates the kept readings as the frame says, and their phase is the angle
    rotated = m.sensor_matrix @ rotate_halves(m.u_star, 0.4)
    np.testing.assert_allclose(m.frame.rotate_observations(m.y_star[None], 0.4)[0], rotated, rtol=0, atol=1e-6)
    assert m.frame.observation_phase(rotated[None])[0] == pytest.approx(0.4, abs=1e-6)
    with pytest.raises(ValueError, match="Re and Im"):
        make_baseline("lqg", VectorPerturbation(venv, *make_perturbation("subset", 0, venv, indices=[0, 3, 16])))


# ============================================================ 5. refusals


def test_refusals_name_the_reason():
    l63 = lambda **kw: make_vector_env("Lorenz63-Control-v0", num_envs=1, max_episode_steps=5, **kw)  # noqa: E731
    with pytest.raises(ValueError, match="KS envs only"):
        make_baseline('mpc:{"surrogate": "solver"}', l63())
    with pytest.raises(ValueError, match="full state"):
        make_baseline("lqr", make_vector_env("Lorenz96-Control-v0", num_envs=1, max_episode_steps=5))
    # at the origin the unstable mode lives in (x, y): z alone neither moves nor sees it
    with pytest.raises(ValueError, match="cannot stabilise"):
        make_baseline("lqr", l63(target="origin", controlled=(2,)))
    with pytest.raises(ValueError, match="do not observe"):
        make_baseline("lqg", l63(target="origin", sensors=(2,)))
    with pytest.raises(ValueError, match="not an equilibrium"):
        make_baseline("lqr", l63(target=np.array([1.0, 1.0, 1.0])))
    with pytest.raises(ValueError, match="steady"):
        make_baseline('lqr:{"target": "C+"}', make_vector_env("Lorenz96-Control-v0", num_envs=1, observe="full"))
