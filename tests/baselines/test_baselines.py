"""Classical baselines (:mod:`chaoscontrol.baselines`): the linearised KS map, LQR, the Kalman filter of LQG, MPC
through the differentiable solver, and their use in ``evaluate`` and the robustness harness.

The physics is checked against physics: the linearisation against the nonlinear map and the stability
exponents of Cvitanovic, Davidchack & Siminos (2010, SIAM J. Appl. Dyn. Syst. 9, 1), the controllers against
the nonlinear KS they are meant to control, the torch solver against the Numba one.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math

import numpy as np
import pytest
import torch

import chaoscontrol  # noqa: F401 - registers KS-Control-v0
from chaoscontrol.apps import cli
from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent
from chaoscontrol.agents.policies import check_policy_spec, make_policy
from chaoscontrol.agents.robustness import RobustnessArgs, run_robustness
from chaoscontrol.baselines import BASELINES, make_baseline, parse_baseline
from chaoscontrol.baselines.linear_control import LQGController, LQRController, dlqr, steady_kalman_gain
from chaoscontrol.baselines.control_map import control_map
from chaoscontrol.baselines.linearization import (
    linearise,
    spectral_radius,
    uncontrollable_modes,
    zero_mean_basis,
)
from chaoscontrol.baselines.mpc import DifferentiableKS, MPCController
from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.envs.perturbation_wrappers import VectorPerturbation, make_perturbation
from chaoscontrol.solvers.equilibria import ks_equilibrium

L, N = 22.0, 64
INTERVAL = 0.25  # control interval of the default env: frame_skip 5 x dt 0.05
N_ACT = 4

# Leading stability exponents mu (continuous time) of the equilibria at L = 22,
# Cvitanovic, Davidchack & Siminos (2010), Table 2 / section 4: (real part, |imaginary part|).
LEADING_EXPONENT = {"E1": (0.1308, 0.3341), "E2": (0.1390, 0.2384), "E3": (0.0933, 0.0)}
EXPONENT_TOL = 2e-3

MPC_SPEC = 'mpc:{"surrogate": "solver", "horizon": 4, "iterations": 5}'




def target_env(name: str, observe: str = "full") -> KSControlEnv:
    return KSControlEnv(objective="target", target=name, observe=observe)


@pytest.fixture(scope="module")
def models() -> dict:
    """Linearisations about E1, E2, E3 (full state observed: C = Phi)."""
    out = {}
    for name in ("E1", "E2", "E3"):
        env = target_env(name)
        out[name] = linearise(env, env.target)
    return out


@pytest.fixture(scope="module")
def sensor_model_e1():
    """The linearisation about E1 of the default (8-sensor) env."""
    env = target_env("E1", observe="sensors")
    return linearise(env, env.target)


def smooth_perturbation(rng: np.random.Generator, x: np.ndarray, rms: float) -> np.ndarray:
    """A zero-mean field of wavenumbers 1..4 with random amplitudes and phases, scaled to ``rms``."""
    q = np.arange(1, 5)
    p = np.cos(2.0 * np.pi / L * np.outer(x, q) + rng.uniform(0.0, 2.0 * np.pi, q.size)) @ rng.standard_normal(q.size)
    p -= p.mean()
    return rms * p / np.sqrt(np.mean(p**2))


def rms(x: np.ndarray, axis=-1) -> np.ndarray:
    return np.sqrt(np.mean(np.asarray(x) ** 2, axis=axis))


# ============================================================ 1. the zero-mean basis


@pytest.mark.parametrize("n", [4, 8, 64])
def test_zero_mean_basis_is_orthonormal_and_mean_free(n):
    phi = zero_mean_basis(n)
    assert phi.shape == (n, n - 1)
    np.testing.assert_allclose(phi.T @ phi, np.eye(n - 1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(phi.sum(axis=0), 0.0, rtol=0, atol=1e-12)
    # together with the constant mode it spans everything: the projector is I - 11^T / n
    np.testing.assert_allclose(phi @ phi.T, np.eye(n) - np.ones((n, n)) / n, rtol=0, atol=1e-12)
    # ordered by wavenumber: column 2m-2 is cos(2 pi m j / n) up to normalisation, the last one is Nyquist
    j = np.arange(n)
    np.testing.assert_allclose(phi[:, 0], np.sqrt(2.0 / n) * np.cos(2.0 * np.pi * j / n), atol=1e-12)
    np.testing.assert_allclose(np.abs(phi[:, -1]), 1.0 / np.sqrt(n), atol=1e-12)
    np.testing.assert_allclose(phi[1:, -1], -phi[:-1, -1], atol=1e-12)


@pytest.mark.parametrize("n", [7, 63, 2])
def test_zero_mean_basis_rejects_odd_or_tiny_n(n):
    with pytest.raises(ValueError, match="even"):
        zero_mean_basis(n)


# ============================================================ 2. the linearisation


@pytest.mark.parametrize("name", ["E1", "E2", "E3"])
def test_equilibria_are_fixed_points_of_the_map(models, name):
    m = models[name]
    assert m.fixed_point_residual < 1e-10
    assert m.A.shape == (N - 1, N - 1) and m.B.shape == (N - 1, N_ACT) and m.C.shape == (N, N - 1)  # C is the observer's: here the full field
    np.testing.assert_array_equal(m.u_star, ks_equilibrium(name, L, N))


@pytest.mark.parametrize("name", ["E1", "E2", "E3"])
def test_leading_stability_exponent_matches_cvitanovic_davidchack_siminos(models, name):
    env = target_env(name)
    assert env.frame_skip * env.config.dt == pytest.approx(INTERVAL)
    lam = models[name].eigenvalues()
    mu = np.log(lam.astype(np.complex128)) / INTERVAL
    lead = mu[np.argmax(mu.real)]
    re, im = LEADING_EXPONENT[name]
    assert lead.real == pytest.approx(re, abs=EXPONENT_TOL), mu[:4]
    assert abs(lead.imag) == pytest.approx(im, abs=EXPONENT_TOL), mu[:4]
    if im:  # a complex pair: both members present
        assert np.min(np.abs(mu - np.conj(lead))) < 1e-8
    # the open loop is unstable: |lambda| = exp(mu_max * 0.25) > 1
    assert np.abs(lam[0]) == pytest.approx(math.exp(re * INTERVAL), abs=EXPONENT_TOL * INTERVAL)


@pytest.mark.parametrize("name", ["E1", "E2", "E3"])
def test_translation_is_a_marginal_mode(models, name):
    """KS is translation invariant: the shift u*_x of the equilibrium is an eigenvector of A with eigenvalue 1."""
    m = models[name]
    k = 2.0 * np.pi / L * np.fft.rfftfreq(N, 1.0 / N)
    u_x = np.fft.irfft(1j * k * np.fft.rfft(m.u_star), N)
    z = u_x @ m.basis
    np.testing.assert_allclose(m.A @ z, z, rtol=0, atol=1e-7 * np.linalg.norm(z))


@pytest.mark.parametrize("name", ["E1", "E2"])
def test_linear_model_predicts_the_nonlinear_map_to_second_order(models, name):
    m = models[name]
    dynamics = target_env(name).dynamics
    rng = np.random.default_rng(7)
    direction = rng.standard_normal(N - 1)
    a_dir = rng.uniform(-1.0, 1.0, N_ACT)
    errors = []
    for size in (1e-4, 5e-5):
        dz = size * direction / rms(m.basis @ direction)  # rms of the grid perturbation = size
        a = size * a_dir
        u_next = control_map(dynamics, (m.u_star + m.basis @ dz)[None], a[None])[0]
        linear = m.A @ dz + m.B @ a
        assert np.linalg.norm(linear) > size  # the prediction is not trivially small (errors are 1e4 x smaller)
        errors.append(np.max(np.abs((u_next - m.u_star) @ m.basis - linear)))
        # the spatial mean is conserved: nothing outside the basis
        assert abs(np.mean(u_next - m.u_star)) < 1e-14
    assert errors[0] < 1e-8
    assert errors[0] / errors[1] == pytest.approx(4.0, rel=0.1)  # the remainder is quadratic


def test_target_that_is_not_an_equilibrium_is_refused():
    x = L * np.arange(N) / N
    sine = np.sin(2.0 * np.pi * x / L)
    env = KSControlEnv(objective="target", target=sine, observe="full")
    with pytest.raises(ValueError, match="not an equilibrium"):
        linearise(env, env.target)
    venv = KSControlVectorEnv(num_envs=1, max_episode_steps=5, objective="target", target=sine, observe="full", burn_in=0.0)
    with pytest.raises(ValueError, match="not an equilibrium"):
        make_baseline("lqr", venv)
    with pytest.raises(ValueError, match="shape"):
        linearise(env, np.zeros(N + 2))


# ============================================================ 3. the LQR design


@pytest.mark.parametrize("name", ["E1", "E2", "E3"])
def test_lqr_stabilises_the_linearised_map(models, name):
    m = models[name]
    n = m.A.shape[0]
    assert uncontrollable_modes(m.A, m.B) == []
    design = dlqr(m.A, m.B, np.eye(n), np.eye(N_ACT))
    assert design.open_loop_radius > 1.0
    assert design.open_loop_radius == pytest.approx(spectral_radius(m.A))
    assert design.closed_loop_radius < 1.0
    assert design.closed_loop_radius == pytest.approx(spectral_radius(m.A - m.B @ design.K), abs=1e-12)
    # K satisfies the Riccati equation it came from
    P, K = design.P, design.K
    np.testing.assert_allclose(m.A.T @ P @ m.A - m.A.T @ P @ m.B @ K + np.eye(n), P, rtol=0, atol=1e-8 * np.abs(P).max())


def test_dlqr_without_actuators_cannot_stabilise(models):
    m = models["E1"]
    with pytest.raises(ValueError, match="cannot stabilise"):
        dlqr(m.A, np.zeros_like(m.B), np.eye(m.A.shape[0]), np.eye(N_ACT))


def test_lqr_controller_rejects_bad_inputs(models):
    with pytest.raises(ValueError, match="action_cost"):
        LQRController(models["E1"], action_cost=0.0)
    with pytest.raises(ValueError, match="full state"):
        LQRController(models["E1"])(np.zeros((2, 8)))


# ============================================================ 4. LQR on the nonlinear KS


def test_lqr_holds_the_nonlinear_ks_at_e1_which_is_unstable_without_control():
    steps, b = 200, 4
    venv = KSControlVectorEnv(num_envs=b, max_episode_steps=steps, autoreset_mode="Disabled", objective="target",
                              target="E1", observe="full")
    e1 = ks_equilibrium("E1", L, N)
    rng = np.random.default_rng(1)
    u0 = np.array([e1 + smooth_perturbation(rng, venv.template.config.x, 0.1) for _ in range(b)])
    np.testing.assert_allclose(rms(u0 - e1), 0.1)
    final = {}
    for policy in ("lqr", "zero"):
        obs, info = venv.reset(options={"u0": u0})
        np.testing.assert_allclose(info["target_distance"], 0.1, rtol=1e-9)
        act = make_baseline("lqr", venv) if policy == "lqr" else (lambda o: np.zeros((b, N_ACT)))
        for _ in range(steps):
            a = act(obs)
            assert a.shape == (b, N_ACT) and np.all(np.abs(a) <= 1.0)
            obs, _, terminated, _, info = venv.step(a)
            assert not terminated.any()
        final[policy] = np.asarray(info["target_distance"])
        np.testing.assert_allclose(final[policy], rms(venv.u - e1), rtol=1e-9)
    assert np.all(final["lqr"] < 1e-3), final
    assert np.all(final["zero"] > 0.1), final  # E1 is unstable: the free flow leaves it


# ============================================================ 5. the Kalman filter of LQG


@pytest.mark.parametrize("mode", ["closed-loop", "open-loop-zero", "open-loop-random"])
def test_kalman_estimate_converges_on_the_noise_free_linear_system(sensor_model_e1, mode):
    """On z_{n+1} = A z_n + B a_n, y_n = y* + C z_n the estimate converges to z, whatever the actions.

    closed-loop: the controller's own actions; open-loop: gain K = 0 (so the controller returns 0) and, for
    "random", actions in [-1, 1] told to the filter as its previous action (the open loop then grows ~e^{0.13 t}).
    """
    m = sensor_model_e1
    ctrl = LQGController(m)
    assert ctrl.gain.shape == (N - 1, 8) and ctrl.estimator_radius < 1.0
    if mode != "closed-loop":
        ctrl.design = dataclasses.replace(ctrl.design, K=np.zeros_like(ctrl.design.K))
    rng = np.random.default_rng(3)
    z = 0.03 * rng.standard_normal((3, N - 1))
    err0 = np.linalg.norm(z, axis=1)  # the filter starts at z = 0
    assert ctrl.estimate() is None
    for _ in range(300):
        a = ctrl(z @ m.C.T + m.y_star)
        assert a.shape == (3, N_ACT)
        if mode == "open-loop-random":
            a = rng.uniform(-1.0, 1.0, (3, N_ACT))
            ctrl._a = a
        err = np.linalg.norm(ctrl._z - z, axis=1)
        z_now = z
        z = z @ m.A.T + a @ m.B.T
    assert np.all(err < 1e-3 * err0), err / err0
    # estimate() is the grid state of the estimate
    np.testing.assert_allclose(ctrl.estimate(), m.u_star + z_now @ m.basis.T, rtol=0, atol=1e-3 * err0.max())
    size = np.linalg.norm(z, axis=1) / err0
    if mode == "closed-loop":
        assert np.all(size < 1e-3)  # LQG stabilises the linear system
    else:
        assert np.all(size > 10.0)  # the open loop grew: the filter tracked a moving, growing state
    ctrl.reset()
    assert ctrl.estimate() is None


def test_kalman_gain_without_sensors_is_refused(sensor_model_e1):
    m = sensor_model_e1
    n = m.A.shape[0]
    with pytest.raises(ValueError, match="do not observe"):
        steady_kalman_gain(m.A, np.zeros_like(m.C), 1e-4 * np.eye(n), 1e-2 * np.eye(m.C.shape[0]))


def test_lqg_rejects_bad_noise_and_wrong_sensor_count(sensor_model_e1):
    with pytest.raises(ValueError, match="sensor_noise"):
        LQGController(sensor_model_e1, sensor_noise=0.0)
    with pytest.raises(ValueError, match="built for 8 observations"):
        LQGController(sensor_model_e1)(np.zeros((2, 4)))


# ============================================================ 6. make_baseline


def test_parse_baseline():
    assert BASELINES == ("lqr", "lqg", "mpc")
    assert parse_baseline("zero") is None and parse_baseline("model.zip") is None and parse_baseline(3) is None
    assert parse_baseline("lqr") == ("lqr", {})
    assert parse_baseline('lqg:{"sensor_noise": 0.05}') == ("lqg", {"sensor_noise": 0.05})
    with pytest.raises(ValueError, match="JSON object"):
        parse_baseline("lqr:[1]")


def test_make_baseline_errors():
    sensors = KSControlVectorEnv(num_envs=2, max_episode_steps=5, objective="target", target="E1", burn_in=0.0)
    full = KSControlVectorEnv(num_envs=2, max_episode_steps=5, objective="target", target="E1", observe="full", burn_in=0.0)
    for spec in ("lqr", MPC_SPEC):
        with pytest.raises(ValueError, match="observe='full'"):
            make_baseline(spec, sensors)
    assert isinstance(make_baseline("lqg", full), LQGController)  # any linear sensors, the full field included
    with pytest.raises(ValueError, match="foo"):
        make_baseline('lqr:{"foo": 1}', full)
    with pytest.raises(ValueError, match="JSON"):
        make_baseline("lqr:{bad", full)
    with pytest.raises(ValueError, match="differentiable"):
        make_baseline("mpc", full)
    with pytest.raises(ValueError, match="one of"):
        make_baseline("pid", full)
    with pytest.raises(ValueError, match="batched envs"):
        make_baseline("lqr", object())
    assert isinstance(make_baseline("lqr", full), LQRController)
    assert isinstance(make_baseline("lqg", sensors), LQGController)


def test_make_baseline_target_keyword_and_dissipation_default():
    diss = KSControlVectorEnv(num_envs=1, max_episode_steps=5, observe="full", burn_in=0.0)
    ctrl = make_baseline("lqr", diss)  # dissipation objective: about E1
    np.testing.assert_array_equal(ctrl.model.u_star, ks_equilibrium("E1", L, N))
    ctrl = make_baseline('lqr:{"target": "E3", "action_cost": 10.0}', diss)
    np.testing.assert_array_equal(ctrl.model.u_star, ks_equilibrium("E3", L, N))
    # a larger action cost gives a smaller gain
    gentle, firm = ctrl.design.K, make_baseline('lqr:{"target": "E3"}', diss).design.K
    assert np.linalg.norm(gentle) < np.linalg.norm(firm)


def test_lqg_on_a_sensor_subset_uses_those_sensors_and_holds_e1(sensor_model_e1):
    b, steps = 4, 200
    venv = KSControlVectorEnv(num_envs=b, max_episode_steps=steps, autoreset_mode="Disabled", objective="target", target="E1")
    env = VectorPerturbation(venv, *make_perturbation("subset", 0, venv, indices=[0, 2, 4, 6]))
    ctrl = make_baseline("lqg", env)
    assert ctrl.model.C.shape == (4, N - 1)
    np.testing.assert_array_equal(ctrl.model.C, sensor_model_e1.C[[0, 2, 4, 6]])
    np.testing.assert_array_equal(ctrl.model.y_star, sensor_model_e1.y_star[[0, 2, 4, 6]])
    act, model = make_policy("lqg", env, seed=0)
    assert model is None and act.model.C.shape == (4, N - 1)
    e1 = ks_equilibrium("E1", L, N)
    rng = np.random.default_rng(5)
    obs, info = env.reset(options={"u0": np.array([e1 + smooth_perturbation(rng, venv.template.config.x, 0.05)
                                                   for _ in range(b)])})
    assert obs.shape == (b, 4)
    for _ in range(steps):
        obs, _, _, _, info = env.step(ctrl(obs))
    assert np.all(info["target_distance"] < 1e-3), info["target_distance"]
    # the estimate of the full state from 4 sensors is right, too
    assert np.max(np.abs(ctrl.estimate() - venv.u)) < 1e-2


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, str]:
    """Untrained ``partial`` (sensor space) and "perfect" ``spectral`` (flux -u^2/2) checkpoints of the default env."""
    from chaoscontrol.surrogates.models import build_model, make_config
    from chaoscontrol.surrogates.train import save_surrogate

    env = KSControlEnv()
    shapes = env.forcing_fields(np.eye(N_ACT))
    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    partial = build_model(make_config("partial", window=3, width=16, depth=1, estimate_state=True), shapes, 1.2)
    save_surrogate(partial, env.config_dict(), folder / "partial.pt")
    torch.manual_seed(0)
    spectral = build_model(make_config("spectral", kernel_size=5, quadratic=True, width=16, depth=1), shapes, 1.185)
    with torch.no_grad():
        for p in spectral.flux.parameters():
            p.zero_()
        spectral.flux.skip.weight[0, 2, 2] = -0.5  # G = -u^2 / 2: the true KS flux
    save_surrogate(spectral, env.config_dict(), folder / "spectral.pt")
    return {"partial": str(folder / "partial.pt"), "spectral": str(folder / "spectral.pt")}


def test_mpc_refuses_a_sensor_space_checkpoint(checkpoints):
    venv = KSControlVectorEnv(num_envs=1, max_episode_steps=5, observe="full", burn_in=0.0)
    with pytest.raises(ValueError, match="sensor readings"):
        make_baseline(f'mpc:{{"surrogate": {json.dumps(checkpoints["partial"])}}}', venv)
    with pytest.raises(ValueError, match="does not exist"):
        make_baseline('mpc:{"surrogate": "missing.pt"}', venv)


def test_mpc_on_a_full_state_checkpoint(checkpoints):
    venv = KSControlVectorEnv(num_envs=2, max_episode_steps=5, objective="target", target="E2", observe="full")
    ctrl = make_baseline(f'mpc:{{"surrogate": {json.dumps(checkpoints["spectral"])}, "horizon": 2, "iterations": 3}}', venv)
    assert isinstance(ctrl, MPCController) and ctrl.dtype == torch.float32
    assert not any(p.requires_grad for p in ctrl.model.parameters())
    obs, _ = venv.reset(seed=0)
    u0 = torch.as_tensor(np.asarray(obs, dtype=np.float64), dtype=torch.float32)
    # the "perfect" spectral surrogate predicts what the torch solver does (float32 accuracy)
    solver = DifferentiableKS.from_env(venv.template)
    a = torch.tensor([[0.5, -0.3, 0.2, 1.0], [-1.0, 0.0, 0.7, -0.2]])
    with torch.no_grad():
        pred = ctrl.model(u0, a).double().numpy()
        truth = solver(u0.double(), a.double()).numpy()
    assert np.max(np.abs(pred - truth)) < 1e-3 * np.max(np.abs(truth))
    actions = ctrl(obs)
    assert actions.shape == (2, N_ACT) and np.all(np.abs(actions) <= 1.0) and np.any(actions != 0.0)
    # receding horizon: the first action of the optimised plan is the one applied
    np.testing.assert_array_equal(actions, ctrl._plan[:, 0].numpy().astype(np.float64))
    assert not torch.equal(ctrl._plan[:, 0], ctrl._plan[:, -1])
    with torch.no_grad():
        planned = ctrl.predicted_cost(u0, ctrl._plan.float())
        idle = ctrl.predicted_cost(u0, torch.zeros_like(ctrl._plan.float()))
    assert torch.all(planned < idle)


# ============================================================ 7. the differentiable solver


def truth_step(template: KSControlEnv, u: np.ndarray, a: np.ndarray) -> np.ndarray:
    return control_map(template.dynamics, u[None], a[None])[0]


def attractor_states(n: int) -> np.ndarray:
    env = KSControlEnv(burn_in=50.0)
    out = []
    for seed in range(n):
        env.reset(seed=seed)
        out.append(env.u)
    return np.array(out)


def test_differentiable_ks_step_equals_the_numba_solver():
    """One forward call of the torch solver is the env's Numba step, to round-off, clipping included."""
    template = KSControlEnv(observe="full")
    model = DifferentiableKS.from_env(template)
    assert model.frame_skip == template.frame_skip
    rng = np.random.default_rng(11)
    u = attractor_states(3)
    a = rng.uniform(-1.0, 1.0, (3, N_ACT))
    a[2] = [1.7, -3.0, 0.2, 0.5]  # clipped to [-1, 1] by both
    truth = np.array([truth_step(template, u[i], a[i]) for i in range(3)])
    with torch.no_grad():
        pred = model(torch.as_tensor(u), torch.as_tensor(a)).numpy()
    assert pred.dtype == np.float64
    assert np.max(np.abs(truth - u)) > 1e-2  # the step moves the state
    assert np.max(np.abs(pred - truth)) < 1e-10


def test_differentiable_ks_jacobians_are_the_linearisation(models):
    """Autograd Jacobians of the torch step at (E1, 0) equal A and B of the finite-difference linearisation of
    the Numba solver (in the zero-mean basis), up to the finite-difference error."""
    m = models["E1"]
    model = DifferentiableKS.from_env(target_env("E1"))
    u_star = torch.as_tensor(m.u_star)
    a0 = torch.zeros(N_ACT, dtype=torch.float64)
    J_u, J_a = torch.autograd.functional.jacobian(lambda u, a: model(u[None], a[None])[0], (u_star, a0))
    phi = m.basis
    np.testing.assert_allclose(phi.T @ J_a.numpy(), m.B, rtol=0, atol=1e-5 * np.abs(m.B).max())
    np.testing.assert_allclose(phi.T @ J_u.numpy() @ phi, m.A, rtol=0, atol=1e-5 * np.abs(m.A).max())


def test_differentiable_ks_gradient_matches_finite_differences():
    model = DifferentiableKS.from_env(KSControlEnv())
    u = torch.as_tensor(attractor_states(1))
    a = torch.tensor([[0.3, -0.6, 0.1, 0.8]], dtype=torch.float64, requires_grad=True)
    u_in = u.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda uu, aa: model(uu, aa), (u_in, a), eps=1e-6, atol=1e-6)


# ============================================================ 8. MPC


def run_policy(venv: KSControlVectorEnv, act, seed: int, steps: int) -> tuple[np.ndarray, dict]:
    obs, _ = venv.reset(seed=seed)
    cost = np.zeros(venv.num_envs)
    for _ in range(steps):
        obs, reward, terminated, _, info = venv.step(act(obs))
        assert not terminated.any()
        cost -= reward
    return cost, info


@pytest.mark.parametrize("objective", ["dissipation", "target"])
def test_mpc_with_the_solver_lowers_the_cost(objective):
    b, steps = 4, 20
    kwargs = {"objective": objective, "observe": "full"} | ({"target": "E2"} if objective == "target" else {})
    venv = KSControlVectorEnv(num_envs=b, max_episode_steps=steps, autoreset_mode="Disabled", **kwargs)
    ctrl = make_baseline(MPC_SPEC, venv)
    assert isinstance(ctrl, MPCController) and ctrl.horizon == 4 and ctrl.iterations == 5
    cost, info = run_policy(venv, ctrl, seed=5, steps=steps)
    free_cost, free_info = run_policy(venv, lambda o: np.zeros((b, N_ACT)), seed=5, steps=steps)
    assert np.all(cost < free_cost), (cost, free_cost)
    if objective == "dissipation":
        assert np.all(np.isfinite(cost))
    else:
        assert np.all(info["target_distance"] < free_info["target_distance"]), (info["target_distance"],
                                                                                 free_info["target_distance"])


def test_mpc_argument_checks():
    venv = KSControlVectorEnv(num_envs=1, max_episode_steps=5, observe="full", burn_in=0.0)
    with pytest.raises(ValueError, match="lr"):
        make_baseline('mpc:{"surrogate": "solver", "lr": -1}', venv)
    with pytest.raises(ValueError, match="horizon"):
        make_baseline('mpc:{"surrogate": "solver", "horizon": 0}', venv)


# ============================================================ 9. end to end


def test_evaluate_agent_with_lqr(tmp_path):
    out = tmp_path / "eval"
    report = evaluate_agent(AgentEvaluateArgs(model="lqr", env_kwargs={"objective": "target", "target": "E2", "observe": "full"},
                                              episodes=2, max_episode_steps=20, out=str(out)), progress=False)
    saved = json.loads((out / "evaluation.json").read_text())
    assert saved["model"] == "lqr" and saved["objective"] == "target"
    assert isinstance(saved["success_rate"], float) and 0.0 <= saved["success_rate"] <= 1.0
    assert len(saved["final_target_distance"]) == 2
    assert saved["success_rate"] == report["success_rate"]
    assert (out / "evaluation.png").stat().st_size > 1000


def test_robustness_harness_with_lqg(tmp_path):
    args = RobustnessArgs(policy="lqg", perturbation="noise", levels=(0.0, 0.1), episodes=2, max_episode_steps=10,
                          env_kwargs={"objective": "target", "target": "E1"}, out=str(tmp_path / "rob"), progress=False)
    path = run_robustness(args)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    assert sorted((float(r["level"]), int(r["episode"])) for r in rows) == [(0.0, 0), (0.0, 1), (0.1, 0), (0.1, 1)]
    assert all(math.isfinite(float(r["return"])) and float(r["return"]) < 0 for r in rows)


def test_policy_spec_checks(tmp_path):
    with pytest.raises(ValueError, match="adversarial"):
        RobustnessArgs(policy="lqr", perturbation="adversarial", levels=(0.1,), episodes=2, max_episode_steps=10,
                       env_kwargs={"observe": "full"}, out=str(tmp_path / "adv"), progress=False)
    with pytest.raises(ValueError, match="model"):
        check_policy_spec("model", "lqz")
    with pytest.raises(ValueError, match=r"^policy: .*foo"):
        check_policy_spec("policy", 'lqr:{"foo": 1}')
    for ok in ("zero", "random", "lqr", "lqg", 'mpc:{"surrogate": "solver"}'):
        check_policy_spec("model", ok)
    with pytest.raises(ValueError, match="model"):
        AgentEvaluateArgs(model="mpc:{bad", out=str(tmp_path / "x"))


def test_cli_evaluate_with_baselines(tmp_path, capsys):
    env_kwargs = json.dumps({"objective": "target", "target": "E2", "observe": "full", "burn_in": 10.0})
    out = tmp_path / "cli"
    rc = cli.main(["evaluate", "--model", "lqr", "--episodes", "1", "--max-episode-steps", "5", "--env-kwargs", env_kwargs,
                   "--out", str(out), "--no-progress"])
    assert rc == 0
    assert json.loads((out / "evaluation.json").read_text())["model"] == "lqr"
    capsys.readouterr()
    bad = tmp_path / "bad"
    rc = cli.main(["evaluate", "--model", "mpc:{bad", "--episodes", "1", "--max-episode-steps", "5", "--env-kwargs", env_kwargs,
                   "--out", str(bad), "--no-progress"])
    assert rc == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("chaoscontrol evaluate: error:") and "mpc:{bad" in err[0]
    assert not (bad / "evaluation.json").exists()


# ------------------------------------------------------------------------------------------ basin of attraction


def test_basin_lqr_catches_small_perturbations_that_no_control_lets_grow():
    from chaoscontrol.baselines.basin import basin_of_attraction, smooth_perturbations

    fields = smooth_perturbations(64, 0.3, 5, np.random.default_rng(0))
    np.testing.assert_allclose(np.sqrt(np.mean(fields**2, axis=1)), 0.3)
    np.testing.assert_allclose(fields.mean(axis=1), 0.0, atol=1e-12)
    kwargs = {"objective": "target", "target": "E1", "observe": "full"}
    lqr = basin_of_attraction("lqr", kwargs, (0.05, 0.2), episodes=3, steps=200)
    free = basin_of_attraction("zero", kwargs, (0.05,), episodes=3, steps=200)
    assert [r["success_rate"] for r in lqr] == [1.0, 1.0]
    assert free[0]["success_rate"] == 0.0 and free[0]["median_final_distance"] > 0.1  # E1 is unstable
    with pytest.raises(ValueError, match="objective='target'"):
        basin_of_attraction("lqr", {"observe": "full"}, (0.1,))
    with pytest.raises(ValueError, match="radii"):
        basin_of_attraction("lqr", kwargs, (-1.0,))
