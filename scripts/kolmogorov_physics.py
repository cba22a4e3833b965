"""Measure the physics of Kolmogorov-Control-v0 and draw a vorticity snapshot (docs/systems.md, Kolmogorov section).

    .venv/bin/python scripts/kolmogorov_physics.py [--trajectories 4] [--t-average 250] \
        [--figure docs/figures/kolmogorov_vorticity.png] [--table docs/figures/kolmogorov_physics.md] [--figure-only]

Writes a markdown table (``--table``) and prints it:

1. the laminar flow's linear instability at n = 4, Re = 40: the leading eigenvalue of the operator assembled in
   Fourier space (chaoscontrol.solvers.kolmogorov_stability) and the growth rate of a 1e-8 multiple of its
   eigenmode in the nonlinear solver (over 3 time units), at 32^2, 64^2 and 128^2;
2. the step size: from a random start, 150 time units unactuated at 64^2 and 128^2 with the default dt and larger
   ones: blow-up or not, and the largest advective number |u|_max K dt reached (K = (N - 1) // 3 the largest kept
   wavenumber; RK4's stability bound on the imaginary axis is 2 sqrt 2 = 2.83);
3. the burn-in: from the documented random start (omega_L + a rms 0.1 perturbation), the first time the laminar
   distance reaches 90 % of its attractor mean, for each trajectory, and the attractor means of E and D over
   [burn_in, burn_in + t_average] against their means over the first 50 time units after the burn-in;
4. resolution: the attractor means of E and D (and D / D_laminar) at 64^2 (dt = 0.02) and 128^2 (dt = 0.01), each
   over ``trajectories`` x ``t_average`` time units after a burn-in of 50, with the standard error across
   trajectories;
5. the leading Lyapunov exponent at 64^2 (Benettin: a twin at 1e-8, renormalised every time unit, 100 time units
   after the burn-in, per trajectory).

The figure is omega on the 64^2 attractor with the 8 jets (red crosses) and the 36 probes (white dots).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chaoscontrol.envs.kolmogorov import sensor_points
from chaoscontrol.envs.kolmogorov_rendering import draw_vorticity
from chaoscontrol.io import atomic_path
from chaoscontrol.solvers.kolmogorov import (
    KolmogorovConfig,
    dealias,
    kolmogorov_coefficients,
    kolmogorov_etdrk4_steps_rows,
    kolmogorov_forcing,
    kolmogorov_operators,
    laminar_vorticity,
    streamfunction_velocity,
    to_physical,
    to_spectral,
)
from chaoscontrol.solvers.kolmogorov_control import DIAG_DISSIPATION, DIAG_ENERGY, DIAG_LAMINAR
from chaoscontrol.solvers.kolmogorov_dynamics import KolmogorovDynamics
from chaoscontrol.solvers.kolmogorov_stability import leading_mode

BURN_IN = 50.0
INTERVAL = 1.0  # time between recorded diagnostics in the long runs


def growth_rate_rows() -> list[str]:
    rows = ["| grid | eigenvalue sigma (k_x) | solver growth rate | relative difference |", "|---|---|---|---|"]
    for n_grid in (32, 64, 128):
        cfg = KolmogorovConfig(N=n_grid)
        sigma, kx, mode = leading_mode(cfg)
        wl = laminar_vorticity(cfg)
        w = dealias(to_spectral(wl + 1e-8 * mode)[None], cfg)
        d0 = np.sqrt(np.mean((to_physical(w)[0] - wl) ** 2))
        t_end = 3.0
        kolmogorov_etdrk4_steps_rows(w, to_spectral(kolmogorov_forcing(cfg))[None].copy(), kolmogorov_coefficients(cfg),
                                     kolmogorov_operators(cfg), int(round(t_end / cfg.dt)))
        measured = np.log(np.sqrt(np.mean((to_physical(w)[0] - wl) ** 2)) / d0) / t_end
        rows.append(f"| {n_grid}^2 | {sigma.real:.6f} ({kx}) | {measured:.6f} | {abs(measured - sigma.real) / sigma.real:.1e} |")
    return rows


def max_advective_number(dyn: KolmogorovDynamics, states: np.ndarray) -> float:
    """max over rows of |u|_max K dt."""
    _, u, v = streamfunction_velocity(to_physical(states), dyn.config)
    return float(np.max(np.hypot(u, v))) * dyn.config.kmax * dyn.config.dt


def step_size_rows(seed: int) -> list[str]:
    rows = ["| grid | dt | 150 time units from a random start | max |u|_max K dt |", "|---|---|---|---|"]
    for n_grid, steps in ((64, (0.02, 0.04, 0.06)), (128, (0.01, 0.02, 0.03))):
        for dt in steps:
            dyn = KolmogorovDynamics(KolmogorovConfig(N=n_grid, dt=dt), frame_skip=int(round(1.0 / dt)), burn_in=0.0)
            states = dyn.random_states([np.random.default_rng(seed)])
            worst, fine = 0.0, True
            for _ in range(150):
                fields = dyn.run_unforced(states, dyn.frame_skip)
                if not np.all(np.isfinite(fields)) or np.max(np.abs(fields)) > 1e3:
                    fine = False
                    break
                worst = max(worst, max_advective_number(dyn, states))
            rows.append(f"| {n_grid}^2 | {dt:g} | {'stable' if fine else 'blow-up'} | {worst:.2f} |")
    return rows


def record(dyn: KolmogorovDynamics, states: np.ndarray, t_total: float) -> np.ndarray:
    """Unactuated diagnostics every INTERVAL over ``t_total``: (T, B, 6)."""
    b = states.shape[0]
    zeros = np.zeros((b, dyn.n_actions))
    fields = np.empty((b, *dyn.field_shape))
    diag = np.empty((b, 6))
    out = []
    for _ in range(int(round(t_total / INTERVAL))):
        dyn.advance(states, fields, zeros, diag)
        out.append(diag.copy())
    return np.array(out)


def attractor(n_grid: int, trajectories: int, t_average: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(diagnostics from t = 0 over burn-in + t_average (T, B, 6), the final states)."""
    cfg = KolmogorovConfig(N=n_grid)
    dyn = KolmogorovDynamics(cfg, frame_skip=int(round(INTERVAL / cfg.dt)), burn_in=0.0)
    states = np.stack([dyn.random_start(np.random.default_rng(seed + i)) for i in range(trajectories)])
    return record(dyn, states, BURN_IN + t_average), states


def lyapunov(trajectories: int, seed: int, t_total: float = 100.0, eps: float = 1e-8) -> np.ndarray:
    """Leading Lyapunov exponent per trajectory at 64^2 (Benettin, renormalised every INTERVAL)."""
    cfg = KolmogorovConfig(N=64)
    dyn = KolmogorovDynamics(cfg, frame_skip=int(round(INTERVAL / cfg.dt)), burn_in=BURN_IN)
    base = dyn.random_states([np.random.default_rng(seed + 100 + i) for i in range(trajectories)])
    rng = np.random.default_rng(seed)
    kick = dyn.states_from_fields(rng.standard_normal((trajectories, 64, 64)))
    norm = lambda s: np.sqrt(np.sum(np.abs(s) ** 2, axis=(1, 2)))  # noqa: E731
    twin = base + eps * (norm(base) / norm(kick))[:, None, None] * kick
    total = np.zeros(trajectories)
    d0 = norm(twin - base)
    both = np.concatenate([base, twin])
    zeros = np.zeros((2 * trajectories, dyn.n_actions))
    fields, diag = np.empty((2 * trajectories, 64, 64)), np.empty((2 * trajectories, 6))
    for _ in range(int(round(t_total / INTERVAL))):
        dyn.advance(both, fields, zeros, diag)
        sep = both[trajectories:] - both[:trajectories]
        d = norm(sep)
        total += np.log(d / d0)
        both[trajectories:] = both[:trajectories] + sep * (d0 / d)[:, None, None]
    return total / t_total


def draw(figure: Path, seed: int) -> None:
    dyn = KolmogorovDynamics(KolmogorovConfig(N=64), burn_in=BURN_IN)
    omega = dyn.fields_from_states(dyn.random_states([np.random.default_rng(seed)]))[0]
    sensors, _ = sensor_points(6, 64)
    fig = Figure(figsize=(4.2, 3.6), dpi=90)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    im = draw_vorticity(ax, omega, dyn.actuator_positions, sensors,
                        title=f"n = 4, Re = 40, 64^2, t = {BURN_IN:g}")
    fig.colorbar(im, ax=ax, fraction=0.05, label="vorticity")
    fig.tight_layout()
    with atomic_path(figure) as tmp:
        fig.savefig(tmp, format="png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trajectories", type=int, default=4)
    parser.add_argument("--t-average", type=float, default=250.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", type=Path, default=Path("docs/figures/kolmogorov_vorticity.png"))
    parser.add_argument("--table", type=Path, default=Path("docs/figures/kolmogorov_physics.md"))
    parser.add_argument("--figure-only", action="store_true", help="only draw the figure (a few seconds)")
    args = parser.parse_args()
    if args.figure_only:
        draw(args.figure, args.seed)
        return
    t0 = time.perf_counter()
    lines = ["# Kolmogorov flow physics (n = 4, Re = 40)", "",
             "Made by `.venv/bin/python scripts/kolmogorov_physics.py "
             f"--trajectories {args.trajectories} --t-average {args.t_average:g} --seed {args.seed}`.", "",
             "## Linear instability of the laminar flow", "", *growth_rate_rows(), ""]
    print("\n".join(lines), flush=True)
    block = ["## Step size", "", *step_size_rows(args.seed), ""]
    print("\n".join(block), flush=True)
    lines += block
    d_laminar = 40.0 / (2 * 4**2)
    res = ["## Attractor: burn-in and resolution", "",
           f"{args.trajectories} trajectories x {args.t_average:g} time units after a burn-in of {BURN_IN:g}, "
           "unactuated; +- the standard error across trajectories.", "",
           "| grid | dt | t to 90 % of the laminar distance (max over trajectories) | <E> | <D> | <D> / D_laminar | "
           "<D> over the first 50 after burn-in |", "|---|---|---|---|---|---|---|"]
    for n_grid in (64, 128):
        d, _ = attractor(n_grid, args.trajectories, args.t_average, args.seed)
        k0 = int(round(BURN_IN / INTERVAL))
        after = d[k0:]
        level = after[:, :, DIAG_LAMINAR].mean()
        t_reach = [(np.argmax(d[:, i, DIAG_LAMINAR] >= 0.9 * level) + 1) * INTERVAL for i in range(d.shape[1])]
        e = after[:, :, DIAG_ENERGY].mean(axis=0)
        dis = after[:, :, DIAG_DISSIPATION].mean(axis=0)
        early = after[:50, :, DIAG_DISSIPATION].mean()
        se = lambda a: a.std(ddof=1) / np.sqrt(a.size) if a.size > 1 else float("nan")  # noqa: E731
        res.append(f"| {n_grid}^2 | {KolmogorovConfig(N=n_grid).dt:g} | {max(t_reach):g} | {e.mean():.4f} +- {se(e):.4f} "
                   f"| {dis.mean():.4f} +- {se(dis):.4f} | {dis.mean() / d_laminar:.4f} | {early:.4f} |")
        print(res[-1], flush=True)
    lines += res + [""]
    lam = lyapunov(args.trajectories, args.seed)
    lines += ["## Leading Lyapunov exponent (64^2)", "",
              f"lambda = {lam.mean():.3f} +- {lam.std(ddof=1) / np.sqrt(lam.size):.3f} per time unit "
              f"(per trajectory: {', '.join(f'{v:.3f}' for v in lam)}); Lyapunov time {1 / lam.mean():.2f}.", ""]
    draw(args.figure, args.seed)
    lines += [f"Figure: `{args.figure}`. Wall time {time.perf_counter() - t0:.0f} s.", ""]
    with atomic_path(args.table) as tmp:
        tmp.write_text("\n".join(lines))
    print("\n".join(lines[-5:]))


if __name__ == "__main__":
    main()
