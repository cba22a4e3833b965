"""Model-predictive control through a differentiable model of KS: the model-based use of the surrogates.

At every env step, from the observed state u_0, a sequence of H actions is optimised by projected
Adam on the predicted cost (receding horizon; Camacho & Bordons, *Model Predictive Control*, 2007),

    min_{a_0..a_{H-1} in [-1, 1]^m}  (1/H) sum_{k=1..H} c(u_k, a_{k-1}) + rho |a_{k-1}|^2 / m,
    u_k = G(u_{k-1}, a_{k-1}),

and a_0 is applied; the rest of the sequence, shifted by one, warm-starts the next step. G is a
surrogate of ``chaoscontrol surrogate train`` (any full-state family; gradients by autograd) or,
with ``surrogate="solver"``, :class:`DifferentiableKS`, the env's own ETDRK4 scheme written in torch
(a perfect-model MPC). The stage cost c is the env's: rms(u - u*)^2 for the target objective (the
square keeps the gradient smooth at the target), D + P_f for the dissipation objective (Zeng & Graham
2021). MPC needs the full state (``observe="full"``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from chaoscontrol.solvers.actuation import forcing_law
from chaoscontrol.solvers.etdrk4 import etdrk4_coefficients
from chaoscontrol.surrogates.spectral_ops import KSFourier


class DifferentiableKS(nn.Module):
    """One control interval of forced KS, ``frame_skip`` ETDRK4 steps of size ``dt``, in torch float64.

    The same scheme and coefficients as the Numba solver (:mod:`chaoscontrol.solvers.ks`), with
    f = clip(a) @ ``forcing_shapes`` held over the interval; differentiable in u and a.

    :param L: domain length.
    :param N: grid points.
    :param dt: solver step.
    :param frame_skip: solver steps per interval.
    :param forcing_shapes: mean-removed actuator shapes times max_forcing, (n_act, N).
    """

    def __init__(self, L: float, N: int, dt: float, frame_skip: int, forcing_shapes: np.ndarray) -> None:
        super().__init__()
        self.fourier = KSFourier(L, N, dt)
        # KSFourier keeps float32 buffers for the surrogates; the exact model needs the float64 weights themselves
        k = 2.0 * math.pi / L * np.arange(N // 2 + 1)
        for name, row in zip(("E", "E2", "Q", "f1", "f2", "f3"), etdrk4_coefficients(k**2 - k**4, dt)):
            setattr(self.fourier, name, torch.as_tensor(row, dtype=torch.float64))
        k_odd = k.copy()
        k_odd[-1] = 0.0
        self.fourier.k_odd = torch.as_tensor(k_odd, dtype=torch.float64)
        self.frame_skip = int(frame_skip)
        self.register_buffer("forcing_shapes", torch.as_tensor(np.asarray(forcing_shapes), dtype=torch.float64))

    @classmethod
    def from_env(cls, template: Any) -> DifferentiableKS:
        """The dynamics of a ``KSControlEnv``."""
        return cls(template.config.L, template.config.N, template.config.dt, template.frame_skip, scaled_forcing_basis(template))

    def forward(self, u: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        fo = self.fourier
        fhat = fo.rfft(forcing_law(a, self.forcing_shapes, 1.0))  # the shapes carry max_forcing

        def nonlinear(v: torch.Tensor) -> torch.Tensor:
            w = fo.irfft(v)
            return fo.derivative(fo.rfft(-0.5 * w * w)) + fhat

        v = fo.rfft(u)
        for _ in range(self.frame_skip):
            v = fo.etdrk4_step(v, nonlinear)
        return fo.irfft(v)


def scaled_forcing_basis(template: Any) -> np.ndarray:
    """The env's forcing of unit actions, max_forcing * (psi_j - mean psi_j), (n_act, N): f = forcing_law(a, basis, 1)."""
    return template.forcing_fields(np.eye(template.action_space.shape[0]))


def load_mpc_model(surrogate: str | None, template: Any) -> nn.Module:
    """The differentiable model of an MPC: ``"solver"`` or a full-state surrogate checkpoint matching the env.

    :raises ValueError: if ``surrogate`` is missing, is not a checkpoint, was trained on another env
        configuration, or predicts sensor readings rather than the state.
    """
    if surrogate is None:
        raise ValueError(
            "MPC needs a differentiable model of the dynamics: give surrogate='PATH.pt' (a full-state checkpoint of "
            "'chaoscontrol surrogate train') or surrogate='solver' (the env's ETDRK4 solver written in torch)"
        )
    if surrogate == "solver":
        return DifferentiableKS.from_env(template)
    from chaoscontrol.surrogates.base import Surrogate
    from chaoscontrol.surrogates.train import load_surrogate

    model, _ = load_surrogate(surrogate, expect_env_config=template.config_dict())
    if not isinstance(model, Surrogate):
        raise ValueError(
            f"surrogate {surrogate!r} is a {model.config.family!r} model, which predicts sensor readings, not the state; "
            "MPC needs a full-state surrogate (e.g. spectral, corrected, node)"
        )
    for p in model.parameters():
        p.requires_grad_(False)
    return model


class MPCController:
    """Receding-horizon control of batched full states (B, N) by gradient through ``model``.

    :param model: (u (B, N), a (B, n_act)) -> u_next, differentiable (:func:`load_mpc_model`).
    :param template: the env (``KSControlEnv``) whose objective and target define the cost.
    :param horizon: predicted intervals H.
    :param iterations: Adam iterations per env step.
    :param lr: Adam step size (action units).
    :param action_cost: rho, weight of the mean squared action.
    :param target: equilibrium of the target cost (default: the env's target); ignored for dissipation.
    """

    def __init__(self, model: nn.Module, template: Any, horizon: int = 8, iterations: int = 10, lr: float = 0.2,
                 action_cost: float = 0.0, target: np.ndarray | None = None) -> None:
        from chaoscontrol.validation import check_int

        self.horizon = check_int("horizon", horizon)
        self.iterations = check_int("iterations", iterations)
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be > 0, got {lr!r}")
        if not (math.isfinite(action_cost) and action_cost >= 0):
            raise ValueError(f"action_cost must be >= 0, got {action_cost!r}")
        self.model = model
        self.lr, self.action_cost = float(lr), float(action_cost)
        self.objective = template.objective
        self.n_grid = template.config.N
        self.n_act = template.action_space.shape[0]
        self.dtype = torch.float64 if isinstance(model, DifferentiableKS) else torch.float32
        u_star = target if target is not None else template.target
        self.u_star = None if u_star is None else torch.tensor(np.array(u_star, dtype=np.float64), dtype=self.dtype)
        if self.objective == "target" and self.u_star is None:
            raise ValueError("MPC on the target objective needs a target state")
        k = 2.0 * math.pi / template.config.L * np.arange(self.n_grid // 2 + 1)
        self._k2 = torch.as_tensor(k**2, dtype=self.dtype)
        self._shapes = torch.as_tensor(scaled_forcing_basis(template), dtype=self.dtype)
        self._plan: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the warm start (new episodes)."""
        self._plan = None

    def reset_rows(self, rows: np.ndarray) -> None:
        """Forget the warm start of the envs ``rows`` (bool mask) whose episodes ended."""
        if self._plan is not None:
            self._plan[torch.as_tensor(np.asarray(rows, dtype=bool))] = 0.0

    def stage_cost(self, u: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """c(u_k, a_{k-1}) per row: rms(u - u*)^2, or D + P_f under f = clip(a) @ shapes."""
        if self.objective == "target":
            return torch.mean((u - self.u_star) ** 2, dim=-1)
        u_xx = torch.fft.irfft(-self._k2 * torch.fft.rfft(u, dim=-1), n=self.n_grid, dim=-1)
        f = forcing_law(a, self._shapes, 1.0)
        return torch.mean(u_xx**2, dim=-1) + torch.mean(u * f, dim=-1)

    def predicted_cost(self, u0: torch.Tensor, plan: torch.Tensor) -> torch.Tensor:
        """Mean stage cost plus action penalty over the horizon, per row, for actions ``plan`` (B, H, n_act)."""
        u, total = u0, torch.zeros(u0.shape[0], dtype=self.dtype)
        for k in range(plan.shape[1]):
            u = self.model(u, plan[:, k]).to(self.dtype)
            total = total + self.stage_cost(u, plan[:, k]) + self.action_cost * torch.mean(plan[:, k] ** 2, dim=-1)
        return total / plan.shape[1]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64)
        if obs.shape[-1] != self.n_grid:
            raise ValueError(
                f"MPC needs the full state ({self.n_grid} grid values) as observation, got {obs.shape[-1]} entries; "
                "make the env with observe='full'"
            )
        b = obs.shape[0]
        u0 = torch.as_tensor(obs, dtype=self.dtype)
        if self._plan is None or self._plan.shape[0] != b:
            plan = torch.zeros(b, self.horizon, self.n_act, dtype=self.dtype)
        else:
            plan = torch.cat([self._plan[:, 1:], self._plan[:, -1:]], dim=1)
        plan = plan.clone().requires_grad_(True)
        opt = torch.optim.Adam([plan], lr=self.lr)
        with torch.enable_grad():
            for _ in range(self.iterations):
                opt.zero_grad()
                self.predicted_cost(u0, plan).sum().backward()
                opt.step()
                with torch.no_grad():
                    plan.clamp_(-1.0, 1.0)
        self._plan = plan.detach()
        return self._plan[:, 0].numpy().astype(np.float64)


__all__ = ["DifferentiableKS", "MPCController", "load_mpc_model", "scaled_forcing_basis"]
