"""Equilibria E1, E2, E3 of the unforced KS equation, by Newton's method.

An equilibrium solves

    F(u) = -u u_x - u_xx - u_xxxx = 0   on [0, L) periodic.

Following Cvitanovic, Davidchack & Siminos (2010, SIAM J. Appl. Dyn. Syst. 9, 1),
the equilibria E1, E2, E3 lie in the flow-invariant antisymmetric subspace
u(x) = -u(-x), so they are sought as sine series u = sum_m b_m sin(k_m x); this
removes the continuous translation symmetry and makes the Newton problem
regular. Solutions are found with scipy's Powell-hybrid Newton solver from a
set of initial guesses (single and two-harmonic sine waves of several
amplitudes for every linearly unstable wavenumber q, k_q = 2 pi q / L < 1),
de-duplicated, and named E_q by their dominant wavenumber q. At L = 22 this gives
E1, E2, E3 with energies 0.2609, 0.4382, 1.5876.

Of the two copies related by the half-domain shift x -> x + L/2 (which flips
the sign of the odd sine modes), the one whose largest odd sine coefficient is
positive is returned. Results are cached per (L, N, name).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from chaoscontrol.solvers.diagnostics import energy_budget
from chaoscontrol.validation import is_int, is_real

_NAMES = {"E1": 1, "E2": 2, "E3": 3}


def ks_residual(u: np.ndarray, L: float) -> np.ndarray:
    """F(u) = -u u_x - u_xx - u_xxxx on grid values (spectral derivatives).

    :param u: grid values, shape (N,).
    :param L: domain length.
    :return: F(u) on the grid, shape (N,).
    """
    n = u.size
    v = np.fft.rfft(u)
    k = 2.0 * np.pi / L * np.arange(v.size)
    kodd = k.copy()
    kodd[-1] = 0.0
    rhs = (k**2 - k**4) * v - 0.5j * kodd * np.fft.rfft(u * u)
    return np.fft.irfft(rhs, n)


def _sine_to_grid(b: np.ndarray, L: float, N: int) -> np.ndarray:
    x = L * np.arange(N) / N
    m = np.arange(1, b.size + 1)
    return np.sin(2.0 * np.pi / L * np.outer(x, m)) @ b


def _grid_to_sine(u: np.ndarray) -> np.ndarray:
    n = u.size
    return -2.0 / n * np.fft.rfft(u)[1 : n // 2].imag


def _canonical(b: np.ndarray) -> np.ndarray:
    odd = b[0::2]  # modes m = 1, 3, 5, ...
    if np.max(np.abs(odd)) > 1e-10 and odd[np.argmax(np.abs(odd))] < 0:
        b = b.copy()
        b[0::2] *= -1.0  # shift by L/2
    return b


@functools.lru_cache(maxsize=64)
def _find_equilibria(L: float, N: int) -> tuple[tuple[int, np.ndarray, float], ...]:
    from scipy.optimize import root  # imported here: scipy.optimize is slow to import

    n_sine = N // 2 - 1
    q_max = int(math.floor(L / (2.0 * np.pi) * (1.0 - 1e-12)))
    guesses = []
    for q in range(1, min(q_max, n_sine) + 1):
        for amp in (0.3, 0.7, 1.0, 1.5, 2.0, 3.0):
            for second in (0.0, 0.3, -0.3):
                b0 = np.zeros(n_sine)
                b0[q - 1] = amp
                if 2 * q <= n_sine:
                    b0[2 * q - 1] = second * amp
                guesses.append(b0)

    def residual(b: np.ndarray) -> np.ndarray:
        return _grid_to_sine(ks_residual(_sine_to_grid(b, L, N), L))

    found: list[tuple[int, np.ndarray, float]] = []
    for b0 in guesses:
        sol = root(residual, b0, method="hybr", options={"xtol": 1e-14})
        b = sol.x
        if not np.all(np.isfinite(b)) or np.max(np.abs(b)) < 1e-3:
            continue
        u = _sine_to_grid(b, L, N)
        if np.max(np.abs(ks_residual(u, L))) > 1e-9:
            continue
        b = _canonical(b)
        energy = energy_budget(_sine_to_grid(b, L, N), None, L)["energy"]
        if any(abs(energy - e) < 1e-7 for _, _, e in found):
            continue
        q = int(np.argmax(np.abs(b))) + 1
        u = _sine_to_grid(b, L, N)
        u.setflags(write=False)
        found.append((q, u, energy))
    return tuple(sorted(found, key=lambda item: (item[0], item[2])))


def ks_equilibria(L: float = 22.0, N: int = 64) -> dict[str, np.ndarray]:
    """All antisymmetric equilibria found at (L, N), keyed ``"E<q>"`` by dominant wavenumber q.

    Where several equilibria share a dominant wavenumber, the later ones (by
    increasing energy) are named ``"E<q>b"``, ``"E<q>c"``...

    :param L: domain length, > 0.
    :param N: grid points, even, >= 8.
    :return: dict of name -> grid values (float64 copies, shape (N,)).
    """
    _check_grid(L, N)
    out: dict[str, np.ndarray] = {}
    for q, u, _ in _find_equilibria(float(L), int(N)):
        name = f"E{q}"
        suffix = "b"
        while name in out:
            name = f"E{q}{suffix}"
            suffix = chr(ord(suffix) + 1)
        out[name] = u.copy()
    return out


def ks_equilibrium(name: str, L: float = 22.0, N: int = 64) -> np.ndarray:
    """The equilibrium E1, E2 or E3 of unforced KS at (L, N), on the grid.

    :param name: ``"E1"``, ``"E2"`` or ``"E3"`` (dominant wavenumber 1, 2, 3).
    :param L: domain length, > 0.
    :param N: grid points, even, >= 8.
    :return: float64 array (N,), a fresh copy.
    :raises ValueError: for an unknown name, or if no such equilibrium exists at this L.
    """
    if name not in _NAMES:
        raise ValueError(f"name must be one of {sorted(_NAMES)}, got {name!r}")
    eq = ks_equilibria(L, N)
    if name not in eq:
        raise ValueError(
            f"no equilibrium {name} (dominant wavenumber {_NAMES[name]}) found at L={L}, N={N}; "
            f"found: {sorted(eq) or 'none'}"
        )
    return eq[name]


def _check_grid(L: float, N: int) -> None:
    if not (is_real(L) and math.isfinite(L) and L > 0):
        raise ValueError(f"L must be a positive finite domain length, got {L!r}")
    if not is_int(N) or N < 8 or N % 2:
        raise ValueError(f"N must be an even integer >= 8, got {N!r}")
