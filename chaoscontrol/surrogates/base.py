"""The common ground of every surrogate family: the config base class, the model base class and small building blocks.

A surrogate maps (u_n, a_n) -> u_(n+1) over one control interval; see
:mod:`chaoscontrol.surrogates.models` for the families and their registry. u is the system's field flattened to a
vector of ``N`` values (KS: u on its grid; CGLE: (Re A, Im A); Lorenz-63: (x, y, z)); the KS mean mode is conserved,
so for KS every update has its spatial mean removed (``conserve_mean``), for the other systems nothing is removed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from chaoscontrol.solvers.actuation import forcing_law
from chaoscontrol.surrogates.spectral_ops import truncate
from chaoscontrol.validation import check_int, check_positive, is_int


@dataclass(frozen=True)
class SurrogateConfig:
    """Configuration shared by all families."""

    family: ClassVar[str] = "base"
    N: int = 64
    """Grid points (of a KS field), or the size of the flattened state of another system."""
    n_actuators: int = 4
    """Actuators (the action dimension)."""
    interval: float = 0.25
    """Control interval (time units) one forward call advances."""
    width: int = 128
    """Hidden width (MLP units or conv channels)."""
    depth: int = 2
    """Hidden layers of F (or conv layers)."""
    L: float = 22.0
    """Domain length (used by the Fourier-based families)."""
    cutoff: int = 0
    """Spectral truncation of the output: Fourier modes above this index are zeroed (0 keeps all)."""
    conserve_mean: bool = True
    """Remove the spatial mean of every update, so that mean(u) is conserved exactly (KS conserves its mean mode);
    training sets it from the dataset's system (False for every system but KS)."""

    def __post_init__(self) -> None:
        for name in ("N", "n_actuators", "width", "depth"):
            check_int(name, getattr(self, name))
        check_int("cutoff", self.cutoff, minimum=0)
        for name in ("interval", "L"):
            check_positive(name, getattr(self, name))
        if not isinstance(self.conserve_mean, bool):
            raise ValueError(f"conserve_mean must be True or False, got {self.conserve_mean!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain values, with the family name."""
        return {"family": self.family, **asdict(self)}




def check_even_grid(N: int) -> None:
    """A Fourier family's grid: N even (the real FFT's Nyquist mode), else a ``ValueError`` naming N.

    :param N: grid points.
    """
    if N % 2:
        raise ValueError(f"N must be even, got {N!r}")


def check_kernel(kernel_size: Any) -> None:
    if not is_int(kernel_size) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be an odd integer >= 1, got {kernel_size!r}")


class PeriodicConvNet(nn.Module):
    """Periodic conv net, ``in_channels`` -> 1 channel: hidden GELU layers plus a linear skip; starts at zero."""

    def __init__(self, in_channels: int, width: int, depth: int, kernel_size: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for _ in range(depth):
            layers += [nn.Conv1d(channels, width, kernel_size, padding="same", padding_mode="circular"), nn.GELU()]
            channels = width
        last = nn.Conv1d(channels, 1, kernel_size, padding="same", padding_mode="circular")
        self.skip = nn.Conv1d(in_channels, 1, kernel_size, padding="same", padding_mode="circular")
        for layer in (last, self.skip):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.net = nn.Sequential(*layers, last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, N) -> (B, N): ``net(x) + skip(x)``.

        Computed with one circular pad per layer input and a single convolution for the output layer and the
        skip (their inputs and weights concatenated): the same map with fewer small-kernel calls, which
        dominate the cost at the env's batch sizes (1.14-1.27 times faster per model step at 16 states on one
        thread: benchmarks/bench_conv_fusion.py). The circular padding is ``padding="same"``'s: k - 1 columns,
        the extra one of an even kernel on the right.
        """
        k = self.skip.kernel_size[0]
        pad = ((k - 1) // 2, k - 1 - (k - 1) // 2)
        xp = F.pad(x, pad, mode="circular")
        h = xp
        *hidden, last = self.net
        for layer in hidden:
            h = F.conv1d(h, layer.weight, layer.bias) if isinstance(layer, nn.Conv1d) else F.pad(layer(h), pad, mode="circular")
        weight = torch.cat([last.weight, self.skip.weight], dim=1)
        return F.conv1d(torch.cat([h, xp], dim=1), weight, last.bias + self.skip.bias)[:, 0]


def mlp(n_in: int, n_out: int, width: int, depth: int, zero_last: bool = True) -> nn.Sequential:
    """GELU MLP ``n_in`` -> ``depth`` x ``width`` -> ``n_out``; with ``zero_last`` its output layer starts at zero."""
    layers: list[nn.Module] = []
    last = n_in
    for _ in range(depth):
        layers += [nn.Linear(last, width), nn.GELU()]
        last = width
    layers.append(nn.Linear(last, n_out))
    if zero_last:  # a residual model then starts as the identity map u -> u
        nn.init.zeros_(layers[-1].weight)
        nn.init.zeros_(layers[-1].bias)
    return nn.Sequential(*layers)


def remove_mean(x: torch.Tensor) -> torch.Tensor:
    return x - x.mean(dim=-1, keepdim=True)


class SurrogateModule(nn.Module):
    """What every model of the registry shares: its config, the actuator fields and rms(u) as buffers, a parameter count.

    :param config: the family's config (an instance of ``config_class``).
    :param forcing_shapes: mean-removed actuator shapes times max_forcing, (n_act, N): f = clip(a) @ forcing_shapes.
    :param u_scale: typical size of u (the attractor's rms), used to scale inputs.
    """

    config_class: ClassVar[type[SurrogateConfig]] = SurrogateConfig

    def __init__(self, config: SurrogateConfig, forcing_shapes: np.ndarray | torch.Tensor, u_scale: float = 1.0) -> None:
        super().__init__()
        if not isinstance(config, self.config_class):
            raise ValueError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        shapes = torch.as_tensor(np.asarray(forcing_shapes), dtype=torch.float32)
        if shapes.shape != (config.n_actuators, config.N):
            raise ValueError(f"forcing_shapes must have shape ({config.n_actuators}, {config.N}), got {tuple(shapes.shape)}")
        if not (math.isfinite(u_scale) and u_scale > 0):
            raise ValueError(f"u_scale must be positive, got {u_scale!r}")
        self.config = config
        self.register_buffer("forcing_shapes", shapes)
        self.register_buffer("u_scale", torch.tensor(float(u_scale)))

    #: States a training window holds before the first prediction (1: the state itself; ``partial``: its window).
    context: int = 1
    #: The registered system the model was trained on (set by the training and by ``load_surrogate``).
    env_id: str = "KS-Control-v0"

    def centred(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with its spatial mean removed where the config conserves the mean (KS), else ``x`` itself."""
        return remove_mean(x) if self.config.conserve_mean else x

    def n_parameters(self) -> int:
        """Trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def fit_to_data(self, states: np.ndarray) -> None:
        """Called by the training once, before the first epoch, with the training states (T, S + 1, N); nothing by default."""

    def window_loss(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """The training loss on windows of true states (B, context + H, N) and actions (B, context - 1 + H, n_act)."""
        raise NotImplementedError


class Surrogate(SurrogateModule):
    """Base class: (u, a) -> u_next over one control interval, mean-conserving where ``config.conserve_mean``.

    :param config: the family's config.
    :param forcing_shapes: mean-removed actuator shapes times max_forcing, (n_act, N): f = clip(a) @ forcing_shapes.
    :param u_scale: typical size of u (the attractor's rms), used to scale inputs.
    """

    def __init__(self, config: SurrogateConfig, forcing_shapes: np.ndarray | torch.Tensor, u_scale: float = 1.0) -> None:
        super().__init__(config, forcing_shapes, u_scale)
        shapes = self.forcing_shapes
        f_scale = float(shapes.abs().max()) or 1.0
        self.register_buffer("f_scale", torch.tensor(f_scale))

    def forcing(self, a: torch.Tensor) -> torch.Tensor:
        """f(x) of actions (B, n_act): (B, N), by the env's forcing law (the shapes carry max_forcing)."""
        return forcing_law(a, self.forcing_shapes, 1.0)

    def forward(self, u: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        if u.shape[-1] != self.config.N or a.shape[-1] != self.config.n_actuators:
            raise ValueError(
                f"expected u (..., {self.config.N}) and a (..., {self.config.n_actuators}), got {tuple(u.shape)}, {tuple(a.shape)}"
            )
        f = self.forcing(a)
        u_next = u + self.centred(self.increment(u, f))
        if self.config.cutoff:
            u_next = torch.fft.irfft(truncate(torch.fft.rfft(u_next, dim=-1), self.config.cutoff), n=self.config.N, dim=-1)
        return u_next

    def increment(self, u: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """u_next - u before mean removal."""
        raise NotImplementedError

    def window_loss(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Mean squared rollout error over the window, fed its own predictions after the first state, in units of rms(u)^2."""
        pred = self.rollout(states[:, 0], actions)[:, 1:]
        return torch.mean((pred - states[:, 1:]) ** 2) / self.u_scale**2

    def rollout(self, u0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """States (B, S + 1, N) from u0 (B, N) under actions (B, S, n_act)."""
        states = [u0]
        for k in range(actions.shape[1]):
            states.append(self(states[-1], actions[:, k]))
        return torch.stack(states, dim=1)

def flat(x: torch.Tensor, n: int) -> tuple[torch.Tensor, tuple[int, ...]]:
    return x.reshape(-1, n), tuple(x.shape[:-1])


__all__ = ["PeriodicConvNet", "Surrogate", "SurrogateConfig", "SurrogateModule", "check_even_grid", "check_kernel", "flat", "mlp",
           "remove_mean"]
