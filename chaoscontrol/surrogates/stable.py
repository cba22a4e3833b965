"""``stable_resnet``: the stable architectures of Haber & Ruthotto (2017) as surrogates.

Haber & Ruthotto ("Stable architectures for deep neural networks", Inverse
Problems 34, 014004, 2018; arXiv 2017) read a ResNet as the forward-Euler
discretisation of an ODE in the hidden state and make its forward propagation
stable by construction:

- **antisymmetric**: y_(j+1) = y_j + h tanh((W_j - W_j^T - gamma I) y_j + b_j). The
  matrix W - W^T has purely imaginary eigenvalues, so the linearised layer map
  neither grows nor decays beyond the small damping gamma (their eq. 3.10);
- **hamiltonian** (the Verlet network, their eq. 3.13, 3.14):
  z_(j+1/2) = z_(j-1/2) - h tanh(K_j^T y_j + b_j),  y_(j+1) = y_j + h tanh(K_j z_(j+1/2) + b_j),
  with z_(-1/2) = 0. It is a symplectic, exactly reversible scheme.

As a surrogate: [u / rms(u), f / max|f|] (2N values) is lifted linearly to the
hidden state y_0 of ``width`` values, propagated through ``depth`` stable
layers with h = ``hidden_time`` / ``depth``, and read out linearly to the
increment u_next - u (mean removed by the base class). The read-out starts at
zero, so the untrained model is the identity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from chaoscontrol.surrogates.base import Surrogate, SurrogateConfig
from chaoscontrol.validation import check_non_negative, check_positive

VARIANTS = ("antisymmetric", "hamiltonian")


@dataclass(frozen=True)
class StableResNetConfig(SurrogateConfig):
    """``stable_resnet``: antisymmetric or Hamiltonian (Verlet) layers in a lifted hidden state."""

    family: ClassVar[str] = "stable_resnet"
    variant: str = "antisymmetric"
    """``antisymmetric`` or ``hamiltonian``."""
    width: int = 80
    """Hidden state size (80 with depth 4 has about the parameters of the default ``resnet``)."""
    depth: int = 4
    """Stable layers."""
    gamma: float = 0.01
    """Damping of the antisymmetric layers (gamma I subtracted)."""
    hidden_time: float = 1.0
    """Total hidden time; each layer's step is hidden_time / depth."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        check_non_negative("gamma", self.gamma)
        check_positive("hidden_time", self.hidden_time)


class StableResNetSurrogate(Surrogate):
    """Haber & Ruthotto's antisymmetric or Hamiltonian ResNet between a linear lift and a linear read-out."""

    config_class = StableResNetConfig

    def __init__(self, config: StableResNetConfig, forcing_shapes, u_scale: float = 1.0) -> None:
        super().__init__(config, forcing_shapes, u_scale)
        m = config.width
        self.lift = nn.Linear(2 * config.N, m)
        self.weights = nn.Parameter(torch.randn(config.depth, m, m) / math.sqrt(m))
        self.biases = nn.Parameter(torch.zeros(config.depth, m))
        if config.variant == "hamiltonian":
            self.biases_z = nn.Parameter(torch.zeros(config.depth, m))
        self.readout = nn.Linear(m, config.N)
        nn.init.zeros_(self.readout.weight)
        nn.init.zeros_(self.readout.bias)

    def layer_matrix(self, j: int) -> torch.Tensor:
        """The antisymmetric layer's matrix W_j - W_j^T - gamma I."""
        w = self.weights[j]
        return w - w.T - self.config.gamma * torch.eye(w.shape[0], dtype=w.dtype, device=w.device)

    def hidden(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Propagate the lifted state y_0 (B, width) through the layers: (y_depth, z_(depth-1/2) or None)."""
        c = self.config
        h = c.hidden_time / c.depth
        if c.variant == "antisymmetric":
            for j in range(c.depth):
                y = y + h * torch.tanh(y @ self.layer_matrix(j).T + self.biases[j])
            return y, None
        z = torch.zeros_like(y)
        for j in range(c.depth):
            k = self.weights[j]
            z = z - h * torch.tanh(y @ k + self.biases_z[j])  # K^T y
            y = y + h * torch.tanh(z @ k.T + self.biases[j])  # K z
        return y, z

    def increment(self, u, f):
        x = torch.cat([u / self.u_scale, f / self.f_scale], dim=-1)
        y, _ = self.hidden(self.lift(x))
        return self.u_scale * self.readout(y)


__all__ = ["VARIANTS", "StableResNetConfig", "StableResNetSurrogate"]
