"""Differentiable Fourier operators of periodic KS for the physics-built-in surrogates (torch).

KS on [0, L) with forcing f,

    u_t = -u u_x - u_xx - u_xxxx + f,

is diagonal in Fourier space in its linear part: v_k' = (k^2 - k^4) v_k + N_k with
N = -(u^2/2)_x + f. :class:`KSFourier` holds, for one grid and one step h, the
exact linear propagator E = exp(h (k^2 - k^4)) and the ETDRK4 weights of Cox &
Matthews (2002) evaluated by the contour integral of Kassam & Trefethen (2005)
(the same :func:`~chaoscontrol.solvers.etdrk4.etdrk4_coefficients` as the
Numba solver, computed once in float64 and stored as float32 buffers), and
applies ETDRK4 to any nonlinear term, learned or exact. Everything is autograd-
friendly (``torch.fft.rfft`` / ``irfft``).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn

from chaoscontrol.solvers.etdrk4 import etdrk4_coefficients


class KSFourier(nn.Module):
    """Fourier-space operators of KS on ``N`` points of [0, ``L``) with ETDRK4 weights for step ``h``.

    :param L: domain length.
    :param N: grid points (even).
    :param h: ETDRK4 step.
    """

    def __init__(self, L: float, N: int, h: float) -> None:
        super().__init__()
        if N % 2:
            raise ValueError(f"N must be even, got {N}")
        self.N = N
        k = 2.0 * math.pi / L * np.arange(N // 2 + 1)
        weights = etdrk4_coefficients(k**2 - k**4, h)
        for name, row in zip(("E", "E2", "Q", "f1", "f2", "f3"), weights):
            self.register_buffer(name, torch.as_tensor(row, dtype=torch.float32))
        k_odd = k.copy()
        k_odd[-1] = 0.0  # odd derivative of the Nyquist mode
        self.register_buffer("k_odd", torch.as_tensor(k_odd, dtype=torch.float32))

    def rfft(self, u: torch.Tensor) -> torch.Tensor:
        """Fourier coefficients (..., N/2 + 1) of grid values (..., N)."""
        return torch.fft.rfft(u, dim=-1)

    def irfft(self, v: torch.Tensor) -> torch.Tensor:
        """Grid values (..., N) of Fourier coefficients (..., N/2 + 1)."""
        return torch.fft.irfft(v, n=self.N, dim=-1)

    def derivative(self, v: torch.Tensor) -> torch.Tensor:
        """Fourier coefficients of d/dx of the field with coefficients ``v``."""
        return 1j * self.k_odd * v

    def etdrk4_step(self, v: torch.Tensor, nonlinear: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """One ETDRK4 step (Cox & Matthews 2002) of v' = (k^2 - k^4) v + nonlinear(v), in Fourier space."""
        nv = nonlinear(v)
        a = self.E2 * v + self.Q * nv
        na = nonlinear(a)
        b = self.E2 * v + self.Q * na
        nb = nonlinear(b)
        c = self.E2 * a + self.Q * (2.0 * nb - nv)
        nc = nonlinear(c)
        return self.E * v + self.f1 * nv + 2.0 * self.f2 * (na + nb) + self.f3 * nc


def truncate(v: torch.Tensor, modes: int) -> torch.Tensor:
    """Zero the Fourier coefficients of wavenumber index above ``modes`` (spectral truncation); ``modes`` <= 0 keeps all."""
    if modes <= 0 or modes >= v.shape[-1] - 1:
        return v
    mask = torch.zeros(v.shape[-1], dtype=v.real.dtype, device=v.device)
    mask[: modes + 1] = 1.0
    return v * mask


__all__ = ["KSFourier", "truncate"]
