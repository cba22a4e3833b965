"""``latent``: an autoencoder to a low-dimensional latent space with a forced neural ODE there.

After Linot & Graham (2020, "Deep learning to discover and predict dynamics on
an inertial manifold", Phys. Rev. E 101, 062209) and Zeng, Linot & Graham (2022,
"Data-driven control of spatiotemporal chaos with reduced-order neural ODE-based
models and reinforcement learning", Proc. R. Soc. A 478, 20220297), who used a
latent dimension of 8-12 for KS at L = 22:

    h = E(u),   dh/dt = g(h, f)  over the interval (fixed-step RK4),   u_next = mean(u) + D(h_next),

with g an MLP (GELU) that takes the forcing field f(x) as an input, and E, D
Linot & Graham's hybrid of principal components and a learned correction:

    c = B^T (u - mean u) / s,   E(u) = c_{1..d} + e(c),   D(h) = s (B_{:, 1..d} h + r(h)),

B the orthonormal principal directions of the training states (:meth:`LatentSurrogate.fit_basis`,
called by the training before the first epoch; the identity until then), s = rms(u), and e,
r MLPs whose output layers start at zero, so the untrained autoencoder is the
projection on the d leading principal components. The
state u is re-encoded at every interval, so the model is an ordinary
(u, a) -> u_next surrogate that the env and the evaluation can step; its
accuracy is bounded below by the autoencoder's reconstruction error
``D(E(u)) - u``. As Linot & Graham do, the autoencoder can be trained alone first
(:meth:`LatentSurrogate.reconstruction_loss`, ``--pretrain-epochs``); the rollout
loss then trains it along with the dynamics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from chaoscontrol.surrogates.base import Surrogate, SurrogateConfig, mlp, remove_mean
from chaoscontrol.validation import check_int, check_positive


@dataclass(frozen=True)
class LatentConfig(SurrogateConfig):
    """``latent``: autoencoder to ``latent_dim`` values and a forced neural ODE in the latent space."""

    family: ClassVar[str] = "latent"
    latent_dim: int = 12
    """Latent dimension."""
    width: int = 64
    """Hidden width of the encoder, decoder and latent vector field."""
    step_size: float = 0.125
    """RK4 step of the latent ODE."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("latent_dim", self.latent_dim)
        if self.latent_dim > self.N:
            raise ValueError(f"latent_dim must be at most N = {self.N}, got {self.latent_dim}")
        check_positive("step_size", self.step_size)


class LatentSurrogate(Surrogate):
    """Encode, integrate dh/dt = g(h, f) by RK4 over the interval, decode."""

    config_class = LatentConfig

    def __init__(self, config: LatentConfig, forcing_shapes, u_scale: float = 1.0) -> None:
        super().__init__(config, forcing_shapes, u_scale)
        c = config
        self.register_buffer("basis", torch.eye(c.N))
        self.encoder = mlp(c.N, c.latent_dim, c.width, c.depth)
        self.decoder = mlp(c.latent_dim, c.N, c.width, c.depth)
        # starts with a frozen latent state: u_next = D(E(u))
        self.vector_field = mlp(c.latent_dim + c.N, c.latent_dim, c.width, c.depth)

    def fit_basis(self, states: np.ndarray | torch.Tensor) -> np.ndarray:
        """Set B to the principal directions of ``states`` (..., N) (mean removed per state), by decreasing variance.

        :return: the fraction of the variance that each direction carries, (N,).
        """
        x = torch.as_tensor(np.asarray(states), dtype=torch.float64).reshape(-1, self.config.N)
        if x.shape[0] < 2:
            raise ValueError(f"fit_basis needs at least 2 states, got {x.shape[0]}")
        x = x - x.mean(dim=-1, keepdim=True)
        _, sing, vh = torch.linalg.svd(x, full_matrices=True)
        self.basis.copy_(vh.T.to(self.basis.dtype))
        var = torch.zeros(self.config.N, dtype=torch.float64)
        var[: sing.numel()] = sing**2
        return (var / var.sum()).numpy()

    def fit_to_data(self, states: np.ndarray) -> None:
        """Before training: the principal directions of the training states (:meth:`fit_basis`)."""
        self.fit_basis(states)

    def encode(self, u: torch.Tensor) -> torch.Tensor:
        """Latent state (..., latent_dim) of u (..., N): leading principal coefficients plus a learned correction."""
        c = (remove_mean(u) / self.u_scale) @ self.basis
        return c[..., : self.config.latent_dim] + self.encoder(c)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Mean-free field (..., N) of a latent state."""
        linear = h @ self.basis[:, : self.config.latent_dim].T
        return self.u_scale * remove_mean(linear + self.decoder(h))

    def latent_step(self, h: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """RK4 over the interval of dh/dt = g(h, f / max|f|)."""
        c = self.config
        n = max(1, int(math.ceil(c.interval / c.step_size - 1e-9)))
        dt = c.interval / n
        f_in = f / self.f_scale

        def g(x: torch.Tensor) -> torch.Tensor:
            return self.vector_field(torch.cat([x, f_in], dim=-1))

        for _ in range(n):
            k1 = g(h)
            k2 = g(h + 0.5 * dt * k1)
            k3 = g(h + 0.5 * dt * k2)
            k4 = g(h + dt * k3)
            h = h + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return h

    def reconstruction_loss(self, u: torch.Tensor) -> torch.Tensor:
        """< (D(E(u)) - (u - mean u))^2 > / rms(u)^2: the autoencoder's error (pretraining, ``pretrain_epochs``)."""
        return torch.mean((self.decode(self.encode(u)) - remove_mean(u)) ** 2) / self.u_scale**2

    def increment(self, u, f):
        return self.decode(self.latent_step(self.encode(u), f)) - remove_mean(u)


__all__ = ["LatentConfig", "LatentSurrogate"]
