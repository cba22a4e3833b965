"""Surrogate models of one control interval: (u_n, a_n) -> u_{n+1}.

One interface for every family (:class:`Surrogate`): a frozen config dataclass,
``forward(u, a) -> u_next`` on batches (B, N) x (B, n_act), differentiable, and
for KS the spatial mean of u conserved by construction (every update has its mean
removed; ``conserve_mean``). The forcing field f(x) = max_forcing * sum_j clip(a_j) psi_j(x) - mean
is formed inside the model from the env's actuator shapes (a buffer), so models
see the same f as the solver. States are scaled by the attractor's rms(u)
(``u_scale``) inside the model.

Families (:data:`FAMILIES`):

- ``resnet``: K residual steps u <- u + h F(u, f), h = interval / K: the explicit
  Euler reading of a ResNet (Haber & Ruthotto 2017, "Stable architectures for
  deep neural networks");
- ``node``: a neural ODE du/dt = F(u, f) integrated over the interval by
  torchdiffeq (fixed-step ``rk4`` or adaptive ``dopri5``; adjoint optional)
  (Chen et al. 2018, "Neural ordinary differential equations");
- ``conv``: periodic (circular) 1-D convolutions over the channels [u, f], a
  residual update; it commutes exactly with grid shifts;
- ``spectral``: the exact linear propagator exp(h (k^2 - k^4)) in an ETDRK4 step
  (Cox & Matthews 2002) with only the nonlinear term learned, in conservation
  form N = f + d/dx G(u, f), G a periodic conv net (the truth is G = -u^2/2),
  and spectral truncation of the unresolved modes;
- ``corrected``: a coarse, cheap solver (ETDRK4 on a Galerkin truncation to
  ``coarse_modes`` Fourier modes, ``coarse_steps`` steps per interval) plus a
  learned periodic-conv correction, in the spirit of Kochkov et al. (2021,
  "Machine learning-accelerated computational fluid dynamics", PNAS 118).

Three more families live in their own modules and are registered here:
``stable_resnet`` (:mod:`chaoscontrol.surrogates.stable`, Haber & Ruthotto's
antisymmetric and Hamiltonian networks) and ``deq``
(:mod:`chaoscontrol.surrogates.implicit`, implicit-Euler steps solved to
equilibrium with implicit differentiation, Bai et al. 2019) and ``latent``
(:mod:`chaoscontrol.surrogates.latent`, an autoencoder with a forced neural ODE
in its latent space, after Linot & Graham). ``partial``
(:mod:`chaoscontrol.surrogates.partial`) is the odd one out: it models the 8 sensor
readings from a window of past readings and actions, not the state.

Which families on which systems (:func:`check_family_applies`, docs/surrogates.md): a family that builds in the
structure of KS, a real periodic 1-D field u(x) on a grid (``conv``: periodic convolutions along x; ``spectral``:
KS's exact linear propagator; ``corrected``: a truncated KS solver; ``latent``: principal components of the mean-free
field; ``partial``: point sensors by Fourier interpolation along x), runs on the KS ids only (:data:`KS_ONLY`, with the
reason). The MLP-type families (``resnet``, ``node``, ``stable_resnet``, ``deq``) see the state as a flat vector
of N values and run on every registered system: the field (F,) or (2, N) flattened (CGLE: Re A then Im A), its mean
conserved only for KS, and without a spectral ``cutoff`` elsewhere.

Every family may truncate its output spectrally (``cutoff``: the Fourier modes
of u_next above that index are set to zero; 0 keeps all). At N = 64 the true
spectrum above mode 16 is about 1e-5 of its peak, so a cutoff near N/3 costs no
accuracy and removes the high-wavenumber pile-up that ruins free runs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from chaoscontrol.surrogates.base import PeriodicConvNet, Surrogate, SurrogateConfig, check_even_grid, check_kernel, flat, mlp
from chaoscontrol.surrogates.implicit import DEQConfig, DEQSurrogate
from chaoscontrol.surrogates.latent import LatentConfig, LatentSurrogate
from chaoscontrol.surrogates.partial import PartialConfig, PartialSurrogate
from chaoscontrol.surrogates.spectral_ops import KSFourier, truncate
from chaoscontrol.surrogates.stable import StableResNetConfig, StableResNetSurrogate
from chaoscontrol.validation import check_int, check_positive


@dataclass(frozen=True)
class ResNetConfig(SurrogateConfig):
    """``resnet``: K explicit-Euler residual steps."""

    family: ClassVar[str] = "resnet"
    substeps: int = 4
    """Residual steps K over the interval (h = interval / K)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("substeps", self.substeps)


@dataclass(frozen=True)
class NODEConfig(SurrogateConfig):
    """``node``: du/dt = F(u, f) integrated by torchdiffeq."""

    family: ClassVar[str] = "node"
    method: str = "rk4"
    """``rk4`` (fixed step) or ``dopri5`` (adaptive)."""
    step_size: float = 0.05
    """Step of ``rk4``."""
    rtol: float = 1e-4
    """Relative tolerance of ``dopri5``."""
    atol: float = 1e-5
    """Absolute tolerance of ``dopri5``."""
    adjoint: bool = False
    """Gradients by the adjoint method (memory O(1) in the steps)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method not in ("rk4", "dopri5"):
            raise ValueError(f"method must be 'rk4' or 'dopri5', got {self.method!r}")
        for name in ("step_size", "rtol", "atol"):
            check_positive(name, getattr(self, name))
        if not isinstance(self.adjoint, bool):
            raise ValueError(f"adjoint must be True or False, got {self.adjoint!r}")


@dataclass(frozen=True)
class ConvConfig(SurrogateConfig):
    """``conv``: periodic convolutions over [u, f] (translation-equivariant)."""

    family: ClassVar[str] = "conv"
    kernel_size: int = 5
    """Odd convolution kernel size."""
    width: int = 32

    def __post_init__(self) -> None:
        super().__post_init__()
        check_kernel(self.kernel_size)


@dataclass(frozen=True)
class SpectralConfig(SurrogateConfig):
    """``spectral``: exact linear propagator, learned flux G(u, f), N = f + dG/dx, ETDRK4 substeps."""

    family: ClassVar[str] = "spectral"
    width: int = 32
    kernel_size: int = 5
    """Odd kernel size of the flux net's periodic convolutions."""
    substeps: int = 1
    """ETDRK4 steps per interval (4 flux evaluations each)."""
    quadratic: bool = True
    """Give the flux net u^2 as an input channel (builds in that the nonlinearity is quadratic)."""
    cutoff: int = 21
    """Spectral truncation (N/3 at N = 64: the 2/3 de-aliasing rule)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_even_grid(self.N)
        check_kernel(self.kernel_size)
        check_int("substeps", self.substeps)
        if not isinstance(self.quadratic, bool):
            raise ValueError(f"quadratic must be True or False, got {self.quadratic!r}")


@dataclass(frozen=True)
class CorrectedConfig(SurrogateConfig):
    """``corrected``: coarse truncated ETDRK4 solver plus a learned periodic-conv correction."""

    family: ClassVar[str] = "corrected"
    width: int = 32
    kernel_size: int = 5
    """Odd kernel size of the correction's periodic convolutions."""
    coarse_modes: int = 8
    """Fourier modes kept by the coarse solver (Galerkin truncation)."""
    coarse_steps: int = 1
    """ETDRK4 steps of the coarse solver per interval."""
    cutoff: int = 21

    def __post_init__(self) -> None:
        super().__post_init__()
        check_even_grid(self.N)
        check_kernel(self.kernel_size)
        check_int("coarse_modes", self.coarse_modes)
        check_int("coarse_steps", self.coarse_steps)
        if self.coarse_modes > self.N // 2:
            raise ValueError(f"coarse_modes must be at most N/2 = {self.N // 2}, got {self.coarse_modes}")


class ResNetSurrogate(Surrogate):
    """u <- u + h F(u, f), K times (explicit Euler with a learned right-hand side)."""

    config_class = ResNetConfig

    def __init__(self, config: ResNetConfig, forcing_shapes, u_scale: float = 1.0) -> None:
        super().__init__(config, forcing_shapes, u_scale)
        self.rhs = mlp(2 * config.N, config.N, config.width, config.depth)

    def increment(self, u, f):
        h = self.config.interval / self.config.substeps
        x = u
        for _ in range(self.config.substeps):
            z = torch.cat([x / self.u_scale, f / self.f_scale], dim=-1)
            x = x + h * self.u_scale * self.centred(self.rhs(z))
        return x - u


class _ODEFunc(nn.Module):
    def __init__(self, owner: NODESurrogate) -> None:
        super().__init__()
        self.net = mlp(2 * owner.config.N, owner.config.N, owner.config.width, owner.config.depth)
        self.owner = [owner]  # not a submodule (avoids a cycle)
        self.f: torch.Tensor | None = None

    def forward(self, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        o = self.owner[0]
        z = torch.cat([u / o.u_scale, self.f / o.f_scale], dim=-1)
        return o.u_scale * o.centred(self.net(z))


class NODESurrogate(Surrogate):
    """du/dt = F(u, f) integrated over the interval with torchdiffeq."""

    config_class = NODEConfig

    def __init__(self, config: NODEConfig, forcing_shapes, u_scale: float = 1.0) -> None:
        super().__init__(config, forcing_shapes, u_scale)
        self.func = _ODEFunc(self)

    def increment(self, u, f):
        import torchdiffeq

        c = self.config
        self.func.f = f
        t = torch.tensor([0.0, c.interval], dtype=u.dtype, device=u.device)
        solver = torchdiffeq.odeint_adjoint if c.adjoint else torchdiffeq.odeint
        kwargs: dict[str, Any] = {"method": c.method}
        if c.method == "rk4":
            kwargs["options"] = {"step_size": c.step_size}
        else:
            kwargs.update(rtol=c.rtol, atol=c.atol)
        if c.adjoint:
            kwargs["adjoint_params"] = tuple(self.func.parameters())
        out = solver(self.func, u, t, **kwargs)[-1]
        self.func.f = None
        return out - u


class ConvSurrogate(Surrogate):
    """u_next = u + G([u, f]) with G periodic convolutions: exactly shift-equivariant."""

    config_class = ConvConfig

    def __init__(self, config: ConvConfig, forcing_shapes, u_scale: float = 1.0) -> None:
        super().__init__(config, forcing_shapes, u_scale)
        layers: list[nn.Module] = []
        channels = 2
        for _ in range(config.depth):
            layers += [nn.Conv1d(channels, config.width, config.kernel_size, padding="same", padding_mode="circular"), nn.GELU()]
            channels = config.width
        last = nn.Conv1d(channels, 1, config.kernel_size, padding="same", padding_mode="circular")
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        layers.append(last)
        self.net = nn.Sequential(*layers)

    def increment(self, u, f):
        lead = u.shape[:-1]
        x = torch.stack([u / self.u_scale, f / self.f_scale], dim=-2).reshape(-1, 2, self.config.N)
        return self.u_scale * self.net(x).reshape(*lead, self.config.N)


class SpectralSurrogate(Surrogate):
    """ETDRK4 with the exact linear propagator and a learned nonlinear term N = f + dG(u, f)/dx.

    The flux G is a periodic conv net on [u, f] (and u^2 when ``quadratic``), so the model
    is shift-equivariant and conserves the mean (N has no k = 0 part). N is truncated
    to the modes up to ``cutoff``.
    """

    config_class = SpectralConfig

    def __init__(self, config: SpectralConfig, forcing_shapes, u_scale: float = 1.0) -> None:
        super().__init__(config, forcing_shapes, u_scale)
        self.fourier = KSFourier(config.L, config.N, config.interval / config.substeps)
        self.flux = PeriodicConvNet(3 if config.quadratic else 2, config.width, config.depth, config.kernel_size)

    def increment(self, u, f):
        c = self.config
        u2, lead = flat(u, c.N)
        f2 = f.reshape(-1, c.N)
        fhat = self.fourier.rfft(f2)
        f_in = f2 / self.f_scale

        def nonlinear(v: torch.Tensor) -> torch.Tensor:
            x = self.fourier.irfft(v) / self.u_scale
            channels = [x, f_in, x * x] if c.quadratic else [x, f_in]
            g = self.u_scale**2 * self.flux(torch.stack(channels, dim=1))
            return truncate(fhat + self.fourier.derivative(self.fourier.rfft(g)), c.cutoff)

        v = self.fourier.rfft(u2)
        for _ in range(c.substeps):
            v = self.fourier.etdrk4_step(v, nonlinear)
        return (self.fourier.irfft(v) - u2).reshape(*lead, c.N)


class CorrectedSurrogate(Surrogate):
    """Coarse solver (ETDRK4 on ``coarse_modes`` Fourier modes) plus a learned periodic-conv correction.

    u_next = C(u, f) + G([u, f, C(u, f)]) with C the truncated solver and G a periodic conv net
    that starts at zero: the untrained model is the coarse solver.
    """

    config_class = CorrectedConfig

    def __init__(self, config: CorrectedConfig, forcing_shapes, u_scale: float = 1.0) -> None:
        super().__init__(config, forcing_shapes, u_scale)
        self.fourier = KSFourier(config.L, config.N, config.interval / config.coarse_steps)
        self.correction = PeriodicConvNet(3, config.width, config.depth, config.kernel_size)

    def coarse(self, u: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """The coarse solver's u after one interval (B, N)."""
        c, fo = self.config, self.fourier
        fhat = truncate(fo.rfft(f), c.coarse_modes)

        def nonlinear(v: torch.Tensor) -> torch.Tensor:
            w = fo.irfft(v)
            return truncate(fo.derivative(fo.rfft(-0.5 * w * w)), c.coarse_modes) + fhat

        v = truncate(fo.rfft(u), c.coarse_modes)
        for _ in range(c.coarse_steps):
            v = fo.etdrk4_step(v, nonlinear)
        return fo.irfft(v)

    def increment(self, u, f):
        c = self.config
        u2, lead = flat(u, c.N)
        f2 = f.reshape(-1, c.N)
        u_c = self.coarse(u2, f2)
        x = torch.stack([u2 / self.u_scale, f2 / self.f_scale, u_c / self.u_scale], dim=1)
        return (u_c + self.u_scale * self.correction(x) - u2).reshape(*lead, c.N)


#: family name -> (config class, model class)
FAMILIES: dict[str, tuple[type[SurrogateConfig], type[nn.Module]]] = {
    "resnet": (ResNetConfig, ResNetSurrogate),
    "node": (NODEConfig, NODESurrogate),
    "conv": (ConvConfig, ConvSurrogate),
    "spectral": (SpectralConfig, SpectralSurrogate),
    "corrected": (CorrectedConfig, CorrectedSurrogate),
    "stable_resnet": (StableResNetConfig, StableResNetSurrogate),
    "deq": (DEQConfig, DEQSurrogate),
    "latent": (LatentConfig, LatentSurrogate),
    "partial": (PartialConfig, PartialSurrogate),
}


#: The families that build in the structure of KS, a real periodic 1-D field u(x) on a grid, and why: they run on the
#: KS ids only. Every other family sees the state as a flat vector and runs on any registered system.
KS_ONLY: dict[str, str] = {
    "conv": "its periodic convolutions along x and mean-free update assume a real periodic 1-D KS field u(x) on a grid",
    "spectral": "it builds in the exact KS linear propagator exp(h (k^2 - k^4)) and the flux form of u u_x on a periodic "
                "1-D grid",
    "corrected": "its coarse solver is a Fourier-truncated KS solver on a periodic 1-D grid",
    "latent": "its autoencoder starts from the principal components of the mean-free KS field (a conserved mean)",
    "partial": "it models point sensors of a real periodic 1-D KS field, read by Fourier interpolation along x",
}


def families_for(is_ks: bool) -> list[str]:
    """The families that run on a system: all of them on KS, the flat-state ones elsewhere.

    :param is_ks: whether the system is KS (its dynamics a ``KSDynamics``).
    """
    return sorted(f for f in FAMILIES if is_ks or f not in KS_ONLY)


def check_family_applies(family: str, env_id: str, field_shape: tuple[int, ...], is_ks: bool,
                         model_kwargs: dict[str, Any] | None = None) -> None:
    """Refuse a family (or a spectral ``cutoff``) that does not apply to the system of a dataset, saying why.

    :param family: a key of :data:`FAMILIES`.
    :param env_id: the dataset's system, for the message.
    :param field_shape: the system's field shape, for the message.
    :param is_ks: whether the system is KS.
    :param model_kwargs: the family's keywords (a ``cutoff`` > 0 is a Fourier truncation along a periodic 1-D grid).
    :raises ValueError: naming the family, the system and the families that do apply.
    """
    if is_ks:
        return
    if family in KS_ONLY:
        raise ValueError(f"family {family!r} does not apply to {env_id} (field shape {tuple(field_shape)}): "
                         f"{KS_ONLY[family]}; families for {env_id}: {families_for(False)}")
    if (model_kwargs or {}).get("cutoff", 0):
        raise ValueError(f"cutoff must be 0 for {env_id} (field shape {tuple(field_shape)}): it is a Fourier truncation "
                         "along a periodic 1-D KS grid")


def make_config(family: str, **kwargs: Any) -> SurrogateConfig:
    """The config of ``family`` from plain keywords (unknown keys are an error naming them)."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {family!r}")
    cls = FAMILIES[family][0]
    names = {f.name for f in fields(cls)}
    unknown = set(kwargs) - names
    if unknown:
        raise ValueError(f"unknown {family} config keys {sorted(unknown)}; allowed: {sorted(names)}")
    return cls(**kwargs)


def build_model(config: SurrogateConfig, forcing_shapes: np.ndarray, u_scale: float = 1.0) -> Surrogate:
    """The model of ``config``'s family."""
    return FAMILIES[config.family][1](config, forcing_shapes, u_scale)


def config_from_dict(data: dict[str, Any]) -> SurrogateConfig:
    """Inverse of :meth:`SurrogateConfig.to_dict`."""
    data = dict(data)
    family = data.pop("family", None)
    return make_config(family, **data)


__all__ = [
    "FAMILIES",
    "KS_ONLY",
    "check_family_applies",
    "families_for",
    "ConvConfig",
    "ConvSurrogate",
    "CorrectedConfig",
    "CorrectedSurrogate",
    "DEQConfig",
    "DEQSurrogate",
    "LatentConfig",
    "LatentSurrogate",
    "NODEConfig",
    "NODESurrogate",
    "PartialConfig",
    "PartialSurrogate",
    "ResNetConfig",
    "ResNetSurrogate",
    "SpectralConfig",
    "SpectralSurrogate",
    "StableResNetConfig",
    "StableResNetSurrogate",
    "Surrogate",
    "SurrogateConfig",
    "build_model",
    "config_from_dict",
    "make_config",
]

