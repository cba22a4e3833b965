"""The numerical-scheme families ``stable_resnet`` and ``deq``: the properties their constructions promise.

- antisymmetric layers: the layer matrix has eigenvalues -gamma + i omega, and the
  linearised layer does not amplify perturbations beyond O(h^2) (a plain matrix does, at O(h));
- the Hamiltonian (Verlet) network is exactly reversible: the test inverts it;
- :func:`fixed_point` solves contractions, Anderson against Picard;
- :func:`implicit_layer`'s implicit gradients equal those of unrolled Picard iterations;
- the ``deq`` output solves its backward-Euler equation;
- the parameter counts that make the study's comparison an equal-parameter one.

Every property check is paired with a case that must fail it, so the tolerances are known to discriminate.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.surrogates.base import remove_mean
from chaoscontrol.surrogates.implicit import fixed_point
from chaoscontrol.surrogates.models import build_model, make_config

from .conftest import last_layer, perturb_last_layer

ENV = KSControlEnv()
N = ENV.config.N
N_ACT = ENV.action_space.shape[0]
SHAPES = ENV.forcing_fields(np.eye(N_ACT))
U_SCALE = 1.2
REPO = Path(__file__).resolve().parents[2]


def stable_model(variant: str, seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    return build_model(make_config("stable_resnet", variant=variant, **{"width": 16, "depth": 2, **kwargs}), SHAPES, U_SCALE)


def deq_model(seed: int = 0, std: float = 1.0, **kwargs):
    """A deq model whose zero-initialised output layer has random weights (std ``std``): not the identity."""
    torch.manual_seed(seed)
    model = build_model(make_config("deq", **{"width": 32, "depth": 2, **kwargs}), SHAPES, U_SCALE)
    g = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        model.rhs[-1].weight.copy_(std * torch.randn(model.rhs[-1].weight.shape, generator=g))
        model.rhs[-1].bias.copy_(0.1 * torch.randn(model.rhs[-1].bias.shape, generator=g))
    return model


def random_batch(b: int = 4, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    u = 1.5 * torch.randn(b, N, generator=g) + 0.3
    a = 2.0 * torch.rand(b, N_ACT, generator=g) - 1.0
    return u, a


def randomise(*params: torch.Tensor, seed: int = 0, std: float = 1.0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in params:
            p.copy_(std * torch.randn(p.shape, generator=g))


def rel(x: torch.Tensor, ref: torch.Tensor) -> float:
    return float((x - ref).norm() / ref.norm())


def test_perturb_last_layer_hits_the_readouts():
    """The generic tests perturb the last nn.Linear in modules(): that must be each family's zero-initialised output layer."""
    for variant in ("antisymmetric", "hamiltonian"):
        model = stable_model(variant)
        assert last_layer(model) is model.readout
        assert float(model.readout.weight.detach().abs().max()) == 0.0
        perturb_last_layer(model)
        u, a = random_batch()
        with torch.no_grad():
            assert not torch.allclose(model(u, a), u, atol=1e-3)
    model = build_model(make_config("deq", width=16, depth=1), SHAPES, U_SCALE)
    assert last_layer(model) is model.rhs[-1]
    assert float(model.rhs[-1].weight.detach().abs().max()) == 0.0


# -- antisymmetric layers


@pytest.mark.parametrize("gamma", [0.0, 0.01, 0.5])
def test_antisymmetric_layer_matrix_has_real_part_minus_gamma(gamma):
    model = stable_model("antisymmetric", gamma=gamma, depth=3)
    randomise(model.weights, seed=3)
    for j in range(model.config.depth):
        matrix = model.layer_matrix(j).detach()
        # W - W^T is exactly antisymmetric in float32 too; eigenvalues in float64 of those very entries
        eig = torch.linalg.eigvals(matrix.double())
        assert float((eig.real + gamma).abs().max()) < 1e-5, eig
        assert float(eig.imag.abs().max()) > 1.0  # not a vacuous check: the eigenvalues are far from the real axis
        # the test can fail: a plain matrix of the same entries has real parts spread far from -gamma
        plain = torch.linalg.eigvals(model.weights[j].detach().double())
        assert float((plain.real + gamma).abs().max()) > 0.5


def test_antisymmetric_layer_does_not_amplify():
    """Spectral radius of the layer Jacobian <= sqrt(1 + h^2 ||A||^2); a plain matrix breaks it at first order in h.

    Layer: Phi(y) = y + h tanh(A y + b), A = W - W^T - gamma I. Jacobian J = I + h D A with
    D = diag(tanh'(A y + b)), 0 < D_ii <= 1. D A is similar to D^(1/2) A D^(1/2) = D^(1/2) (W - W^T) D^(1/2) - gamma D,
    an antisymmetric matrix minus a positive semi-definite one, so for each eigenpair (mu, v) of it
    Re mu = Re(v* M v) / |v|^2 = -gamma v* D v / |v|^2 <= 0, and |mu| <= ||D^(1/2) A D^(1/2)|| <= ||A||.
    Each eigenvalue 1 + h mu of J therefore has |1 + h mu|^2 = 1 + 2 h Re mu + h^2 |mu|^2 <= 1 + h^2 ||A||^2.
    This bounds the spectral radius (growth along eigen-directions, Haber & Ruthotto's criterion), not the
    norm ||J||: D and W - W^T do not commute, so one step can stretch some d by 1 + O(h). For a plain
    (non-antisymmetric) P, D P has eigenvalues with Re mu > 0 and rho(I + h D P) ~ 1 + h Re mu: first order in h.
    """
    h = 0.01  # small, so that the O(h) growth of a plain matrix stands clear of the O(h^2) allowance
    model = stable_model("antisymmetric", hidden_time=2 * h, depth=2, gamma=0.0)
    randomise(model.biases, seed=5, std=0.5)  # D varies along the diagonal (with b = 0 and y ~ 0 it would be ~I)
    assert model.config.hidden_time / model.config.depth == h

    def layer(y: torch.Tensor, matrix: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return y + h * torch.tanh(y @ matrix.T + b)

    ys = torch.randn(4, 16, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    with torch.no_grad():  # the layer used here is the model's: composing it reproduces model.hidden
        y = ys.float()
        for j in range(model.config.depth):
            y = layer(y, model.layer_matrix(j), model.biases[j])
        torch.testing.assert_close(model.hidden(ys.float())[0], y, rtol=0, atol=1e-6)
    for j in range(model.config.depth):
        matrix = model.layer_matrix(j).detach().double()
        plain = model.weights[j].detach().double()  # same size and scale, not antisymmetric
        b = model.biases[j].detach().double()
        bound = float(np.sqrt(1.0 + h**2 * float(torch.linalg.matrix_norm(matrix, 2)) ** 2))
        for y in ys:
            jac = torch.autograd.functional.jacobian(lambda v: layer(v, matrix, b), y)
            d = 1.0 - torch.tanh(matrix @ y + b) ** 2
            assert float(torch.linalg.eigvals(d[:, None] * matrix).real.max()) < 1e-10  # Re mu <= 0 (gamma = 0: = 0)
            rho = float(torch.linalg.eigvals(jac).abs().max())
            assert rho <= bound + 1e-12, (rho, bound)
            jac_plain = torch.autograd.functional.jacobian(lambda v: layer(v, plain, b), y)
            rho_plain = float(torch.linalg.eigvals(jac_plain).abs().max())
            bound_plain = float(np.sqrt(1.0 + h**2 * float(torch.linalg.matrix_norm(plain, 2)) ** 2))
            # measured: rho_plain - 1 ~ 5e-3 against an allowance bound_plain - 1 ~ 1e-4
            assert rho_plain > bound_plain + 1e-3, (rho_plain, bound_plain)


# -- Hamiltonian (Verlet) network


def verlet_inverse(model, y: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the layers backwards: y_j = y_(j+1) - h tanh(K_j z_(j+1/2) + b_j), z_(j-1/2) = z_(j+1/2) + h tanh(K_j^T y_j + b'_j)."""
    h = model.config.hidden_time / model.config.depth
    for j in reversed(range(model.config.depth)):
        k = model.weights[j]
        y = y - h * torch.tanh(z @ k.T + model.biases[j])  # K z (row vectors: z @ K^T)
        z = z + h * torch.tanh(y @ k + model.biases_z[j])  # K^T y
    return y, z


@pytest.mark.parametrize("depth", [1, 4])
def test_hamiltonian_network_is_exactly_reversible(depth):
    model = stable_model("hamiltonian", depth=depth, hidden_time=float(depth))  # h = 1
    randomise(model.weights, model.biases, model.biases_z, seed=7)  # entries of size ~1, tanh well into saturation
    u, a = random_batch(6)
    with torch.no_grad():
        y0 = model.lift(torch.cat([u / model.u_scale, model.forcing(a) / model.f_scale], dim=-1))
        y_end, z_end = model.hidden(y0)
        assert z_end is not None
        assert float((y_end - y0).abs().max()) > 0.5  # the map is far from the identity
        y_back, z_back = verlet_inverse(model, y_end, z_end)
    # measured: ~1e-7 for depth 1, ~1e-5 for depth 4 (float32 round-off through saturated tanh layers with h = 1)
    torch.testing.assert_close(y_back, y0, rtol=0, atol=1e-4)
    torch.testing.assert_close(z_back, torch.zeros_like(z_back), rtol=0, atol=1e-4)
    # the check can fail: the same inverse with K and K^T exchanged does not recover the input
    with torch.no_grad():
        wrong = model.weights.data.transpose(1, 2).clone()
        model.weights.data.copy_(wrong)
        y_bad, z_bad = verlet_inverse(model, y_end, z_end)
    assert float((y_bad - y0).abs().max()) > 1e-2 or float(z_bad.abs().max()) > 1e-2


# -- fixed_point


def contraction(d: int, norm: float, seed: int, symmetric: bool) -> torch.Tensor:
    """A (d, d) float64 matrix of spectral norm ``norm``: symmetric with eigenvalues in [0, norm], or Gaussian rescaled."""
    g = torch.Generator().manual_seed(seed)
    if symmetric:
        q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
        return q @ torch.diag(torch.linspace(0.0, norm, d, dtype=torch.float64)) @ q.T
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    return norm * a / torch.linalg.matrix_norm(a, 2)


@pytest.mark.parametrize("solver", ["anderson", "picard"])
@pytest.mark.parametrize("symmetric", [True, False])
def test_fixed_point_solves_a_linear_contraction(solver, symmetric):
    d = 20
    a64 = contraction(d, 0.5, seed=1, symmetric=symmetric)
    assert abs(float(torch.linalg.matrix_norm(a64, 2)) - 0.5) < 1e-12
    b64 = torch.randn(3, d, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    exact = torch.linalg.solve(torch.eye(d, dtype=torch.float64) - a64, b64.T).T
    a, b = a64.float(), b64.float()  # in the models' precision
    x, res, it = fixed_point(lambda x: x @ a.T + b, torch.zeros_like(b), solver=solver, max_iter=200, tol=1e-6)
    assert res < 1e-6 and it < 200, (res, it)
    assert float((x.double() - exact).abs().max()) < 1e-4
    assert float(exact.abs().max()) > 1.0  # zero (the starting point) is far from the answer


def anderson_and_picard_iterations(lam: float | None) -> tuple[int, int]:
    """Iterations to relative residual 1e-7 on x = A x + b, A symmetric with eigenvalues in [0, 0.9] (d = 32)."""
    d = 32
    a = contraction(d, 0.9, seed=4, symmetric=True)
    b = torch.randn(2, d, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    exact = torch.linalg.solve(torch.eye(d, dtype=torch.float64) - a, b.T).T
    kwargs = {} if lam is None else {"lam": lam}
    counts = []
    for solver, extra in (("anderson", kwargs), ("picard", {})):
        x, res, it = fixed_point(lambda x: x @ a.T + b, torch.zeros_like(b), solver=solver, max_iter=1000, tol=1e-7, **extra)
        assert res < 1e-7, (solver, res, it)
        assert float((x - exact).abs().max()) < 1e-4, solver
        counts.append(it)
    return counts[0], counts[1]


def test_anderson_needs_fewer_iterations_than_picard():
    """With a negligible regularisation Anderson (memory 5) beats Picard at contraction factor 0.9 (measured: 32 vs 130)."""
    anderson, picard = anderson_and_picard_iterations(lam=1e-12)
    assert anderson < picard / 2, (anderson, picard)


def test_anderson_with_the_default_regularisation_needs_fewer_iterations_than_picard():
    """The default lam is relative to the residuals, so it stays small at any residual scale (it was absolute once: 250 vs 130)."""
    anderson, picard = anderson_and_picard_iterations(lam=None)
    assert anderson < picard, (anderson, picard)


def test_fixed_point_rejects_a_bad_solver():
    with pytest.raises(ValueError, match="solver"):
        fixed_point(lambda x: 0.5 * x, torch.ones(1, 3), solver="newton")


# -- implicit_layer and the deq model


def unrolled_deq(model, u: torch.Tensor, a: torch.Tensor, iterations: int = 300) -> torch.Tensor:
    """The deq output by plain Picard iterations of z <- u + h u_scale remove_mean(rhs([z / u_scale, f / f_scale])), autograd through all."""
    c = model.config
    assert c.substeps == 1 and c.cutoff == 0
    h = c.interval
    f_in = model.forcing(a) / model.f_scale
    z = u
    for _ in range(iterations):
        z = u + h * model.u_scale * remove_mean(model.rhs(torch.cat([z / model.u_scale, f_in], dim=-1)))
    return u + remove_mean(z - u)


def test_implicit_gradients_equal_unrolled_gradients():
    model = deq_model()  # the map z -> u + h F(z, f) contracts by ~0.3 here (its Jacobian's norm), so the adjoint matters
    u, a = random_batch(4)
    params = list(model.parameters())

    def grads(out_fn):
        uu = u.clone().requires_grad_()
        loss = (out_fn(uu) ** 2).sum()
        return torch.autograd.grad(loss, [uu, *params])

    implicit = grads(lambda uu: model(uu, a))
    unrolled = grads(lambda uu: unrolled_deq(model, uu, a))
    with torch.no_grad():
        torch.testing.assert_close(unrolled_deq(model, u, a, 300), unrolled_deq(model, u, a, 301), rtol=0, atol=1e-6)
    names = ["u"] + [name for name, _ in model.named_parameters()]
    errors = {name: rel(gi, gu) for name, gi, gu in zip(names, implicit, unrolled)}
    assert max(errors.values()) < 1e-4, errors  # measured: ~1e-6
    # the check can fail: backpropagating through the last application only (no adjoint solve) is off by far more
    with torch.no_grad():
        z_star = model(u, a)

    def one_step(uu):
        f_in = model.forcing(a) / model.f_scale
        return uu + model.config.interval * model.u_scale * remove_mean(model.rhs(torch.cat([z_star / model.u_scale, f_in], dim=-1)))

    naive = grads(one_step)
    naive_errors = [rel(gn, gu) for gn, gu in zip(naive, unrolled)]
    assert min(naive_errors) > 2e-2, naive_errors  # measured: ~0.1


def test_deq_output_solves_its_equation():
    model = deq_model()
    u, a = random_batch(5, seed=2)
    out = model(u, a)
    assert out.requires_grad
    c = model.config
    with torch.no_grad():
        f_in = model.forcing(a) / model.f_scale

        def rhs_step(z: torch.Tensor) -> torch.Tensor:
            return u + c.interval * model.u_scale * remove_mean(model.rhs(torch.cat([z / model.u_scale, f_in], dim=-1)))

        residual = ((out - rhs_step(out)).norm(dim=-1) / out.norm(dim=-1)).max()
        assert float(residual) < 1e-4, float(residual)
        assert model.last_residual < c.tol
        # the equation is not trivially satisfied: the input u is far from solving it
        assert float(((u - rhs_step(u)).norm(dim=-1) / u.norm(dim=-1)).max()) > 1e-2


def test_deq_substeps_are_repeated_implicit_steps():
    """substeps = 2 over the interval is two calls of the one-substep model over half the interval (same weights)."""
    two = deq_model(substeps=2, tol=1e-7)
    half = build_model(make_config("deq", width=32, depth=2, interval=0.125, tol=1e-7), SHAPES, U_SCALE)
    half.load_state_dict(two.state_dict())
    u, a = random_batch(3, seed=4)
    with torch.no_grad():
        out = two(u, a)
        twice = half(half(u, a), a)
        once = half(u, a)
    torch.testing.assert_close(out, twice, rtol=0, atol=1e-5)
    assert not torch.allclose(out, once, atol=1e-3)


def test_deq_without_grad_registers_no_hook_and_gives_the_same_output(monkeypatch):
    model = deq_model()
    u, a = random_batch(3, seed=5)
    calls = []
    original = torch.Tensor.register_hook

    def counting(self, hook):
        calls.append(hook)
        return original(self, hook)

    monkeypatch.setattr(torch.Tensor, "register_hook", counting)
    with torch.no_grad():
        quiet = model(u, a)
    assert calls == [] and not quiet.requires_grad
    loud = model(u, a)
    assert len(calls) == 1 and loud.requires_grad
    # with grad the output is one more application of the map past the solver's answer: equal to ~ tol * |u|
    torch.testing.assert_close(quiet, loud.detach(), rtol=0, atol=1e-4)


# -- the study's equal-parameter comparison


def study_runs() -> dict:
    path = REPO / "scripts" / "surrogate_study.py"
    spec = importlib.util.spec_from_file_location("surrogate_study_for_tests", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return {run.name: run for run in module.STUDY}


def test_study_parameter_counts_are_equal_within_ten_percent():
    runs = study_runs()
    full, third = 41_280, 41_280 / 3

    def n_params(name: str) -> int:
        run = runs[name]
        config = make_config(run.family, N=N, n_actuators=N_ACT, **run.model_kwargs)
        return build_model(config, SHAPES, U_SCALE).n_parameters()

    assert n_params("resnet") == full  # the reference: two hidden layers of 128
    counts = {name: n_params(name) for name in ("stable_antisym", "stable_hamiltonian", "deq")}
    assert all(abs(n - full) <= 0.1 * full for n in counts.values()), counts
    counts = {name: n_params(name) for name in ("resnet_third", "stable_antisym_third", "deq_third")}
    assert all(abs(n - third) <= 0.1 * third for n in counts.values()), counts
