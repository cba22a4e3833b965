"""Energy budget of forced KS, computed from the spectral state by Parseval.

With the space average <g> = (1/L) int_0^L g dx (docs/design.md section 6):

    E   = <u^2> / 2          energy
    P   = <u_x^2>            production (by the anti-diffusion u_xx)
    D   = <u_xx^2>           dissipation (by the hyper-diffusion u_xxxx)
    P_f = <u f>              actuator power

and dE/dt = P - D + P_f (the nonlinear term conserves energy). For numpy's
unnormalised rfft v of N grid values, <g h> = (1/N^2) sum_m w_m Re(v_m conj(h_m))
with w_0 = w_{N/2} = 1 and w_m = 2 otherwise. The odd derivative u_x has no
Nyquist component (as in the solver).
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True)
def ks_energy_budget(v: np.ndarray, fhat: np.ndarray, k: np.ndarray) -> tuple[float, float, float, float]:
    """(E, P, D, P_f) of the spectral state ``v`` under spectral forcing ``fhat``.

    :param v: rfft of u, shape (M,), M = N/2 + 1.
    :param fhat: rfft of the forcing f, shape (M,).
    :param k: wavenumbers 2 pi m / L, shape (M,).
    :return: energy, production, dissipation, actuator power.
    """
    m_modes = v.size
    n = 2 * (m_modes - 1)
    e = 0.0
    p = 0.0
    d = 0.0
    pf = 0.0
    for m in range(m_modes):
        w = 1.0 if (m == 0 or m == m_modes - 1) else 2.0
        a2 = v[m].real * v[m].real + v[m].imag * v[m].imag
        k2 = k[m] * k[m]
        e += w * a2
        if m != m_modes - 1:
            p += w * k2 * a2
        d += w * k2 * k2 * a2
        pf += w * (v[m].real * fhat[m].real + v[m].imag * fhat[m].imag)
    scale = 1.0 / (n * n)
    return 0.5 * e * scale, p * scale, d * scale, pf * scale


@numba.njit(cache=True)
def rms_distance_rows(u: np.ndarray, target: np.ndarray) -> np.ndarray:
    """rms(u_r - target) of each row of ``u`` (R, N): sqrt(mean((u_r - target)^2)).

    One summation order for every caller, so single and batched envs agree bit for bit.
    """
    rows, n = u.shape
    out = np.empty(rows)
    for r in range(rows):
        acc = 0.0
        for i in range(n):
            diff = u[r, i] - target[i]
            acc += diff * diff
        out[r] = math.sqrt(acc / n)
    return out


def energy_budget(u: np.ndarray, f: np.ndarray | None, L: float) -> dict[str, float]:
    """Energy budget of a physical state ``u`` (and forcing ``f``) on [0, L).

    A convenience wrapper of :func:`ks_energy_budget` for grid values.

    :param u: grid values of u, shape (N,).
    :param f: grid values of the forcing, shape (N,), or None for no forcing.
    :param L: domain length.
    :return: dict with keys ``energy``, ``production``, ``dissipation``, ``power``.
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.fft.rfft(u)
    fhat = np.zeros_like(v) if f is None else np.fft.rfft(np.asarray(f, dtype=np.float64))
    k = 2.0 * np.pi / L * np.arange(v.size)
    e, p, d, pf = ks_energy_budget(v, fhat, k)
    return {"energy": e, "production": p, "dissipation": d, "power": pf}
