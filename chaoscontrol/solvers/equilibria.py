"""Equilibria of the unforced KS equation: the named family E1, E2, E3 at any L, and a generic search.

An equilibrium solves F(u) = -u u_x - u_xx - u_xxxx = 0 on [0, L) periodic, in
the semi-discrete form that the ETDRK4 solver integrates, by Newton's method
with the exact Jacobian in the antisymmetric subspace u(-x) = -u(x)
(:mod:`chaoscontrol.solvers.ks_newton`; Cvitanovic, Davidchack & Siminos 2010,
SIAM J. Appl. Dyn. Syst. 9, 1).

**The named equilibria** (:func:`ks_equilibrium`). ``"E1"``, ``"E2"``, ``"E3"``
are the L = 22 family of Cvitanovic et al. (energies <u^2>/2 = 0.2609, 0.4382,
1.5876; dominant wavenumbers 1, 2, 3 at L = 22), found at L = 22, N = 64 by the
generic search below. At a domain length L the name E<q> means c copies of E<q>,
with c = max(1, round(L / 22)) (:func:`nearest_copies`) unless given:

- L = 22 c (L / 22 an integer): the L = 22 E<q> repeated c times, an exact
  equilibrium on [0, 22 c) (the equation is local and translation invariant),
  put on the N-point grid by Fourier interpolation and re-solved by Newton at (L, N);
- any other L: E<q> continued in the domain length from 22 to the cell length
  l = L / c (natural-parameter continuation, Newton every 1 % of L, on 64
  points), then c copies on the N-point grid and Newton at (L, N).

So E1 is 3 copies of the L = 22 E1 at L = 66, 5 copies of E1 continued to
l = 20 at L = 100, and the L = 22 E1 itself at L = 22. Every step is checked
(max |F(u)| <= 1e-10, u non-trivial, Newton moves the field by at most 10 % of its
norm): where the branch does not reach l (E3 is born from u = 0 at l = 6 pi, so
there is no E3 at L = 15) or the grid does not resolve the copies, the result is
a ``ValueError``, never another equilibrium. Results are cached per
(name, L, N, copies) in-process (a pure function of immutable arguments; callers
get copies).

**The generic search** (:func:`ks_equilibria`): scipy's Powell-hybrid Newton solver
(with the exact Jacobian) from single and two-harmonic sine waves of several
amplitudes for every linearly unstable wavenumber q (k_q = 2 pi q / L < 1),
de-duplicated, keyed ``"E<q>"`` by the dominant wavenumber q *on the domain it
is given*: the same names as the family at L = 22 only (at L = 66 its ``"E3"`` is
three copies of E1). Of the two copies related by the half-domain shift
x -> x + L/2 (which flips the sign of the odd sine modes), the one whose largest
odd sine coefficient is positive is returned.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from chaoscontrol.solvers.diagnostics import energy_budget
from chaoscontrol.solvers.ks_newton import (
    RESIDUAL_TOLERANCE,
    _grid_to_sine,
    _sine_to_grid,
    continue_equilibrium,
    ks_residual,
    periodic_copies,
    refine_equilibrium,
    sine_jacobian,
)
from chaoscontrol.validation import check_choice, check_int, check_periodic_grid, check_positive

#: The named family and its dominant wavenumber at L = 22.
FAMILY = {"E1": 1, "E2": 2, "E3": 3}
#: Where the family is defined: the domain length and grid of Cvitanovic, Davidchack & Siminos (2010).
BASE_L = 22.0
BASE_N = 64


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

    def jacobian(b: np.ndarray) -> np.ndarray:
        return sine_jacobian(b, L, N)

    found: list[tuple[int, np.ndarray, float]] = []
    for b0 in guesses:
        sol = root(residual, b0, jac=jacobian, method="hybr", options={"xtol": 1e-14})
        b = sol.x
        if not np.all(np.isfinite(b)) or np.max(np.abs(b)) < 1e-3:
            continue
        u = _sine_to_grid(b, L, N)
        if not np.max(np.abs(ks_residual(u, L))) <= RESIDUAL_TOLERANCE:
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
    """All antisymmetric equilibria that the generic search finds at (L, N), keyed ``"E<q>"`` by dominant wavenumber q.

    The keys are dominant wavenumbers on this domain: they are the named family of :func:`ks_equilibrium` at L = 22
    only. Where several equilibria share a dominant wavenumber, the later ones (by increasing energy) are named
    ``"E<q>b"``, ``"E<q>c"``... The search runs 18 Newton solves per unstable wavenumber (seconds at L = 66).

    :param L: domain length, > 0.
    :param N: grid points, even, >= 8.
    :return: dict of name -> grid values (float64 copies, shape (N,)).
    """
    check_periodic_grid(L, N)
    out: dict[str, np.ndarray] = {}
    for q, u, _ in _find_equilibria(float(L), int(N)):
        name = f"E{q}"
        suffix = "b"
        while name in out:
            name = f"E{q}{suffix}"
            suffix = chr(ord(suffix) + 1)
        out[name] = u.copy()
    return out


def nearest_copies(L: float, base_L: float = BASE_L) -> int:
    """The number of copies c = max(1, round(L / base_L)) that puts the cell length L / c nearest ``base_L``.

    :param L: domain length, > 0.
    :param base_L: the cell length wanted, > 0.
    :return: c >= 1 (3 at L = 66, 5 at L = 100, 1 at L = 22).
    """
    return max(1, int(round(check_positive("L", L) / check_positive("base_L", base_L))))


def _dominant_wavenumber(u: np.ndarray) -> int:
    """The index m >= 1 of the largest Fourier mode |u_m| of grid values."""
    return int(np.argmax(np.abs(np.fft.rfft(u))[1:])) + 1


@functools.lru_cache(maxsize=64)
def _named(name: str, L: float, N: int, copies: int) -> np.ndarray:
    u = ks_equilibria(BASE_L, BASE_N)[name]
    if (L, N, copies) != (BASE_L, BASE_N, 1):
        cell = L / copies
        if cell != BASE_L:
            u = continue_equilibrium(u, BASE_L, cell)
        u = refine_equilibrium(periodic_copies(u, copies, N), L)
    q = _dominant_wavenumber(u)
    if q != copies * FAMILY[name]:
        raise ValueError(f"the continued branch left {name}: the dominant wavenumber per cell is {q / copies:g}, "
                         f"not {FAMILY[name]}")
    u.setflags(write=False)
    return u


def ks_equilibrium(name: str, L: float = 22.0, N: int = 64, copies: int | None = None) -> np.ndarray:
    """The named equilibrium E1, E2 or E3 of unforced KS at (L, N): ``copies`` cells of the L = 22 one (module docs).

    :param name: ``"E1"``, ``"E2"`` or ``"E3"``, the L = 22 family of Cvitanovic, Davidchack & Siminos (2010).
    :param L: domain length, > 0.
    :param N: grid points, even, >= 8 (enough to resolve the copies: about N / L >= 64 / 22).
    :param copies: the number of cells c; default :func:`nearest_copies` (1 at L = 22, 3 at L = 66, 5 at L = 100).
    :return: float64 array (N,), a fresh copy; max |F(u)| <= 1e-10.
    :raises ValueError: naming ``name`` for an unknown name, ``L``, ``N`` or ``copies`` for bad values, and saying
        why when the family member does not exist at the cell length L / c or Newton's method fails at (L, N).
    """
    check_choice("name", name, tuple(FAMILY))
    check_periodic_grid(L, N)
    c = nearest_copies(L) if copies is None else check_int("copies", copies)
    L, N = float(L), int(N)
    try:
        return _named(name, L, N, c).copy()
    except ValueError as exc:
        raise ValueError(f"no equilibrium {name} at L={L:g}, N={N} ({c} cell(s) of the L = 22 {name} continued to "
                         f"the cell length {L / c:g}): {exc}") from exc


def ks_equilibrium_names(L: float, N: int, copies: int | None = None) -> tuple[str, ...]:
    """The names of :data:`FAMILY` that :func:`ks_equilibrium` resolves at (L, N) (each solved, then cached).

    :param L: domain length, > 0.
    :param N: grid points, even, >= 8.
    :param copies: as in :func:`ks_equilibrium`.
    :return: the names that exist, in order.
    """
    out = []
    for name in FAMILY:
        try:
            ks_equilibrium(name, L, N, copies)
        except ValueError:
            continue
        out.append(name)
    return tuple(out)


__all__ = [
    "BASE_L",
    "BASE_N",
    "FAMILY",
    "ks_equilibria",
    "ks_equilibrium",
    "ks_equilibrium_names",
    "ks_residual",
    "nearest_copies",
]
