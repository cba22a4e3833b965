"""``deq``: an implicit (deep equilibrium) step, the implicit-Euler reading of a network.

Each of ``substeps`` steps over the interval solves the backward-Euler equation

    z = u + h F(z, f),        h = interval / substeps,

for z with a learned right-hand side F (an MLP, as in ``resnet``), i.e. the
equilibrium z* = G(z*, u, f) of a weight-tied layer (Bai, Kolter & Koltun 2019,
"Deep equilibrium models", NeurIPS). The forward solve is Anderson acceleration
(Walker & Ni 2011) or plain Picard iteration, without autograd; gradients come
from implicit differentiation: for a loss gradient g at z*, the backward pass
solves the linear fixed point  y = (dG/dz)^T y + g  with the same solver and
passes y on through one differentiable application of G (Bai et al., sec. 3.1).
Memory is therefore independent of the number of solver iterations.

:func:`fixed_point` and :func:`implicit_layer` are generic; the surrogate uses
them on G(z) = u + h F(z, f).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch

from chaoscontrol.surrogates.base import Surrogate, SurrogateConfig, mlp
from chaoscontrol.validation import check_int, check_positive

SOLVERS = ("anderson", "picard")


def fixed_point(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    solver: str = "anderson",
    max_iter: int = 40,
    tol: float = 1e-5,
    memory: int = 5,
    lam: float = 1e-4,
) -> tuple[torch.Tensor, float, int]:
    """Solve x = fn(x) for a batch x (B, D) from x0.

    :param fn: the map; called on (B, D) tensors.
    :param x0: starting point (B, D).
    :param solver: ``anderson`` (Anderson acceleration, mixing 1) or ``picard`` (x <- fn(x)).
    :param max_iter: iteration limit.
    :param tol: stop when max over rows of ||fn(x) - x|| / (||fn(x)|| + 1e-8) < tol.
    :param memory: Anderson's history length.
    :param lam: Anderson's Tikhonov regularisation, relative to the mean squared residual of the history.
    :return: (x, relative residual reached, iterations used).
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")

    def residual(x: torch.Tensor, fx: torch.Tensor) -> float:
        return float(((fx - x).norm(dim=-1) / (fx.norm(dim=-1) + 1e-8)).max())

    if solver == "picard":
        x = x0
        for it in range(1, max_iter + 1):
            fx = fn(x)
            res = residual(x, fx)
            x = fx
            if res < tol:
                break
        return x, res, it
    b, d = x0.shape
    m = max(2, memory)
    xs = torch.zeros(b, m, d, dtype=x0.dtype, device=x0.device)
    fs = torch.zeros_like(xs)
    xs[:, 0], fs[:, 0] = x0, fn(x0)
    xs[:, 1], fs[:, 1] = fs[:, 0], fn(fs[:, 0])
    res = residual(xs[:, 1], fs[:, 1])
    hmat = torch.zeros(b, m + 1, m + 1, dtype=x0.dtype, device=x0.device)
    hmat[:, 0, 1:] = hmat[:, 1:, 0] = 1.0
    rhs = torch.zeros(b, m + 1, 1, dtype=x0.dtype, device=x0.device)
    rhs[:, 0] = 1.0
    k, it = 1, 2
    for it in range(2, max_iter + 1):
        if res < tol:
            break
        n = min(it, m)
        g = fs[:, :n] - xs[:, :n]
        gram = g @ g.transpose(1, 2)
        scale = gram.diagonal(dim1=1, dim2=2).mean(dim=-1).clamp_min(1e-30)[:, None, None]  # lam relative to |g|^2
        hmat[:, 1 : n + 1, 1 : n + 1] = gram + lam * scale * torch.eye(n, dtype=x0.dtype, device=x0.device)
        alpha = torch.linalg.solve(hmat[:, : n + 1, : n + 1], rhs[:, : n + 1])[:, 1 : n + 1, 0]
        k = it % m
        xs[:, k] = (alpha[:, None] @ fs[:, :n])[:, 0]
        fs[:, k] = fn(xs[:, k])
        res = residual(xs[:, k], fs[:, k])
    return fs[:, k], res, it


def implicit_layer(
    fn: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, **solver_kwargs
) -> tuple[torch.Tensor, float]:
    """The fixed point x* = fn(x*), differentiable by implicit differentiation (see the module docstring).

    :return: (x*, forward relative residual).
    """
    with torch.no_grad():
        x, res, _ = fixed_point(fn, x0, **solver_kwargs)
    if not torch.is_grad_enabled():
        return x, res
    x = fn(x.detach())  # one differentiable application: gradients reach fn's parameters and inputs
    if x.requires_grad:
        x_star = x.detach().requires_grad_()
        f_star = fn(x_star)

        def backward_hook(grad: torch.Tensor) -> torch.Tensor:
            def adjoint(y: torch.Tensor) -> torch.Tensor:
                return torch.autograd.grad(f_star, x_star, y, retain_graph=True)[0] + grad

            with torch.enable_grad():
                y, _, _ = fixed_point(adjoint, grad, **solver_kwargs)
            return y

        x.register_hook(backward_hook)
    return x, res


@dataclass(frozen=True)
class DEQConfig(SurrogateConfig):
    """``deq``: backward-Euler steps z = u + h F(z, f) solved to equilibrium, implicit gradients."""

    family: ClassVar[str] = "deq"
    substeps: int = 1
    """Implicit steps per interval."""
    solver: str = "anderson"
    """``anderson`` or ``picard``."""
    max_iter: int = 40
    """Solver iterations (forward and backward)."""
    tol: float = 1e-5
    """Solver tolerance (relative residual)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("substeps", self.substeps)
        check_int("max_iter", self.max_iter)
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        check_positive("tol", self.tol)


class DEQSurrogate(Surrogate):
    """Implicit-Euler steps with a learned right-hand side, solved by :func:`implicit_layer`.

    ``last_residual`` holds the largest forward residual of the last call (a diagnostic).
    """

    config_class = DEQConfig

    def __init__(self, config: DEQConfig, forcing_shapes, u_scale: float = 1.0) -> None:
        super().__init__(config, forcing_shapes, u_scale)
        self.rhs = mlp(2 * config.N, config.N, config.width, config.depth)
        self.last_residual = 0.0

    def increment(self, u, f):
        c = self.config
        h = c.interval / c.substeps
        lead = u.shape[:-1]
        x = u.reshape(-1, c.N)
        f_in = f.reshape(-1, c.N) / self.f_scale
        worst = 0.0
        for _ in range(c.substeps):
            start = x

            def step(z: torch.Tensor, start: torch.Tensor = start) -> torch.Tensor:
                return start + h * self.u_scale * self.centred(self.rhs(torch.cat([z / self.u_scale, f_in], dim=-1)))

            x, res = implicit_layer(step, start, solver=c.solver, max_iter=c.max_iter, tol=c.tol)
            worst = max(worst, res)
        self.last_residual = worst
        return (x - u.reshape(-1, c.N)).reshape(*lead, c.N)


__all__ = ["DEQConfig", "DEQSurrogate", "SOLVERS", "fixed_point", "implicit_layer"]
