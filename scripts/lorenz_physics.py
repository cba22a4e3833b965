"""Measure the Lorenz-63 and Lorenz-96 physics numbers with their convergence; print markdown tables; draw figures.

    .venv/bin/python scripts/lorenz_physics.py [--quick] [--figures docs/figures] [--seed 0]

Lyapunov exponents by the QR method on the tangent-linear RK4
(chaoscontrol.solvers.lyapunov_ode), each from one trajectory started on the
attractor, with the standard error of 10 consecutive blocks (batch means);
convergence in the averaging time T at the default step and in the step dt at
fixed T. Lorenz-63 against Sprott's (0.9056, 0, -14.5723) and the exact sum
-(sigma + 1 + beta); Lorenz-96 (K = 40, F = 8) against the exact sum -K and the
literature's leading exponent ~1.7. Fixed points against their closed forms.
Figures (docs/figures/lorenz63_attractor.png, lorenz96_space_time.png): the
attractor and a feedback-held C+; the space-time diagram and the spectrum.
About 1 minute (``--quick``: 20 s) on one core.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from matplotlib.figure import Figure

import chaoscontrol  # noqa: F401  (registers the envs)
from chaoscontrol.envs.lorenz_rendering import draw_lorenz63_phase
from chaoscontrol.envs.rendering import draw_space_time
from chaoscontrol.io import atomic_path
from chaoscontrol.solvers.lorenz63 import Lorenz63Config, lorenz63_jacobian, lorenz63_rhs, lorenz63_tangent_qr
from chaoscontrol.solvers.lorenz63_dynamics import Lorenz63Dynamics
from chaoscontrol.solvers.lorenz96 import Lorenz96Config, lorenz96_jacobian, lorenz96_rhs, lorenz96_tangent_qr
from chaoscontrol.solvers.lorenz96_dynamics import Lorenz96Dynamics
from chaoscontrol.solvers.lyapunov_ode import LyapunovRun, kaplan_yorke_dimension, lyapunov_spectrum

#: Sprott's Lorenz-63 exponents (RK4, dt = 0.001, T > 1e6).
SPROTT = (0.9056, 0.0, -14.5723)
#: The issue's literature value of the leading Lorenz-96 exponent at K = 40, F = 8.
L96_LEADING = 1.7


def start_on_attractor(dynamics, seed: int) -> np.ndarray:
    """One state on the attractor: a random start of the dynamics after its burn-in."""
    return dynamics.random_states([np.random.default_rng(seed)])[0]


def lyapunov(kernel, params, x0, dt, total_time, n_exponents=None) -> tuple[LyapunovRun, float]:
    """A QR run renormalised every 0.1 time units after a 10-unit transient, and its wall time."""
    start = time.perf_counter()
    run = lyapunov_spectrum(kernel, params, x0, dt, total_time, n_exponents,
                            renorm_steps=max(1, int(round(0.1 / dt))), transient_time=10.0)
    return run, time.perf_counter() - start


def fmt(value: float, error: float | None = None, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if error is None else f"{value:.{digits}f} ± {error:.{digits}f}"


def lorenz63_tables(quick: bool, seed: int) -> tuple[list[str], np.ndarray]:
    cfg = Lorenz63Config()
    lines = ["### Lorenz-63 (sigma = 10, rho = 28, beta = 8/3)", ""]
    lines += ["| fixed point | eigenvalues of J (numerical) | roots of the characteristic polynomial | |F(x*)| |",
              "|---|---|---|---|"]
    for name, p in cfg.fixed_points().items():
        eig = np.sort_complex(np.linalg.eigvals(lorenz63_jacobian(p, cfg)))
        if name == "origin":
            s, r, b = cfg.sigma, cfg.rho, cfg.beta
            disc = np.sqrt((s + 1) ** 2 + 4 * s * (r - 1))
            closed = np.sort_complex(np.array([-b, (-(s + 1) - disc) / 2, (-(s + 1) + disc) / 2], dtype=complex))
        else:
            closed = np.sort_complex(np.roots(cfg.characteristic_polynomial()))
        out = np.empty(3)
        lorenz63_rhs(p, cfg.params, out)
        lines.append(f"| {name} {np.round(p, 4).tolist()} | {', '.join(f'{z:.4f}' for z in eig)} | "
                     f"{', '.join(f'{z:.4f}' for z in closed)} | {np.abs(out).max():.1e} |")
    dyn = Lorenz63Dynamics()
    x0 = start_on_attractor(dyn, seed)
    times = (100.0, 1000.0, 10000.0) if quick else (100.0, 1000.0, 10000.0, 100000.0)
    lines += ["", f"Convergence in time at dt = {cfg.dt} (Sprott: {SPROTT[0]}, {SPROTT[1]}, {SPROTT[2]}; "
              f"exact sum {cfg.divergence:.4f}):", "",
              "| T | lambda_1 | lambda_2 | lambda_3 | sum + 13.6667 | D_KY | lambda_1 / Sprott - 1 | s |",
              "|---|---|---|---|---|---|---|---|"]
    last = None
    for total in times:
        run, wall = lyapunov(lorenz63_tangent_qr, cfg.params, x0, cfg.dt, total)
        lam, err = run.exponents, run.standard_error()
        lines.append(f"| {total:g} | {fmt(lam[0], err[0])} | {fmt(lam[1], err[1])} | {fmt(lam[2], err[2])} | "
                     f"{lam.sum() - cfg.divergence:.2e} | {kaplan_yorke_dimension(lam):.4f} | "
                     f"{lam[0] / SPROTT[0] - 1:+.2%} | {wall:.1f} |")
        last = lam
    t_step = 2000.0 if quick else 20000.0
    lines += ["", f"Convergence in the step at T = {t_step:g}:", "",
              "| dt | lambda_1 | lambda_3 | sum + 13.6667 |", "|---|---|---|---|"]
    for dt in (0.02, 0.01, 0.005, 0.0025):
        run, _ = lyapunov(lorenz63_tangent_qr, cfg.params, x0, dt, t_step)
        lam, err = run.exponents, run.standard_error()
        lines.append(f"| {dt:g} | {fmt(lam[0], err[0])} | {fmt(lam[2], err[2])} | {lam.sum() - cfg.divergence:.2e} |")
    return lines, last


def lorenz96_tables(quick: bool, seed: int) -> tuple[list[str], np.ndarray]:
    cfg = Lorenz96Config()
    K, F = cfg.K, cfg.F
    forcing = np.full(K, F)
    lines = [f"### Lorenz-96 (K = {K}, F = {F:g})", ""]
    out = np.empty(K)
    lorenz96_rhs(cfg.steady_state, forcing, out)
    rates = np.linalg.eigvals(lorenz96_jacobian(cfg.steady_state))
    closed = cfg.steady_state_rates()
    match = np.abs(rates[:, None] - closed[None, :]).min(axis=0).max()  # each closed-form rate to its nearest
    lines += [f"Steady state x_i = F: |F(x*)| = {np.abs(out).max():.1e}; Jacobian eigenvalues vs the closed form "
              f"F (e^(i theta) - e^(-2 i theta)) - 1: max difference {match:.1e}; fastest growth rate "
              f"{closed.real.max():.4f}, {int((closed.real > 0).sum())} of {K} modes unstable.", ""]
    dyn = Lorenz96Dynamics()
    inputs = np.zeros((K, dyn.n_actions))
    inputs[dyn.sites, np.arange(dyn.n_actions)] = 1.0
    jac = lorenz96_jacobian(cfg.steady_state)
    pbh = min(np.linalg.svd(np.hstack([jac - z * np.eye(K), inputs]), compute_uv=False)[-1] for z in rates)
    lines += [f"Linear controllability of x_i = F from the default {dyn.n_actions} sites (PBH test): the smallest "
              f"singular value of [J - lambda I, B] over the eigenvalues is {pbh:.3f} (0 would mean uncontrollable).",
              ""]
    x0 = start_on_attractor(dyn, seed)
    times = (100.0, 1000.0) if quick else (100.0, 1000.0, 10000.0, 40000.0)
    lines += [f"Leading exponent, convergence in time at dt = {cfg.dt} (literature ~{L96_LEADING}):", "",
              "| T | lambda_1 | s |", "|---|---|---|"]
    for total in times:
        run, wall = lyapunov(lorenz96_tangent_qr, forcing, x0, cfg.dt, total, 1)
        lines.append(f"| {total:g} | {fmt(run.exponents[0], run.standard_error()[0], 3)} | {wall:.1f} |")
    t_step = 500.0 if quick else 20000.0
    lines += ["", f"Convergence in the step at T = {t_step:g}:", "", "| dt | lambda_1 |", "|---|---|"]
    for dt in (0.05, 0.02, 0.01, 0.005):
        run, _ = lyapunov(lorenz96_tangent_qr, forcing, x0, dt, t_step, 1)
        lines.append(f"| {dt:g} | {fmt(run.exponents[0], run.standard_error()[0], 3)} |")
    t_full = 100.0 if quick else 1000.0
    run, wall = lyapunov(lorenz96_tangent_qr, forcing, x0, cfg.dt, t_full)
    lam, err = run.exponents, run.standard_error()
    zero = int(np.argmin(np.abs(lam)))
    lines += ["", f"Full spectrum (all {K} exponents) at T = {t_full:g}, dt = {cfg.dt} ({wall:.1f} s): "
              f"lambda_1..3 = {', '.join(fmt(v, e, 3) for v, e in zip(lam[:3], err[:3]))}; "
              f"{int((lam > 3 * err).sum())} positive beyond 3 standard errors, the flow's zero exponent is "
              f"lambda_{zero + 1} = {fmt(lam[zero], err[zero], 3)}; lambda_{K} = {fmt(lam[-1], err[-1], 3)}; "
              f"Kaplan-Yorke dimension {kaplan_yorke_dimension(lam):.2f}; sum + K = {lam.sum() + K:.1e}."]
    x = x0[None].copy()
    fields, diag, stats = x.copy(), np.empty((1, 5)), []
    steps = 4000 if quick else 20000
    for _ in range(steps):
        dyn.advance(x, fields, np.zeros((1, dyn.n_actions)), diag)
        stats.append(diag[0, :3].copy())
    mean = np.array(stats).mean(axis=0)
    lines += ["", f"Attractor averages over T = {steps * dyn.control_dt:g}: <E> = {mean[0]:.3f}, "
              f"<x> = {mean[1]:.3f}, spatial variance = {mean[2]:.3f}."]
    return lines, lam


def lorenz63_figure(path: Path, seed: int) -> None:
    cfg = Lorenz63Config()
    dyn = Lorenz63Dynamics(frame_skip=1)  # every RK4 step drawn
    x = start_on_attractor(dyn, seed)[None].copy()
    fields, diag, history = x.copy(), np.empty((1, 3)), []
    for _ in range(5000):  # 50 time units
        dyn.advance(x, fields, np.zeros((1, 3)), diag)
        history.append(x[0].copy())
    fig = Figure(figsize=(8.0, 3.4), dpi=100)
    ax = fig.add_subplot(1, 2, 1)
    draw_lorenz63_phase(ax, np.array(history), cfg.fixed_points(), "attractor, 50 time units")
    ax = fig.add_subplot(1, 2, 2)
    gain = 2.0
    for label, controlled in (("no control", None), ("feedback on (x, y), k = 2", (0, 1))):
        env = gym.make("Lorenz63-Control-v0", controlled=controlled or (0, 1, 2))
        env.reset(seed=seed)
        target = env.unwrapped.target
        distance, t = [], []
        for _ in range(400):
            u = env.unwrapped.u
            a = np.zeros(env.action_space.shape) if controlled is None else -gain * (u - target)[list(controlled)] / 10.0
            _, _, _, _, info = env.step(a.astype(np.float32))
            distance.append(info["target_distance"])
            t.append(info["t"])
        ax.semilogy(t, np.maximum(distance, 1e-16), label=label)
    ax.set_xlabel("t")
    ax.set_ylabel("rms distance to C+")
    ax.set_title("Lorenz63-Control-v0, target C+")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def lorenz96_figure(path: Path, seed: int, spectrum: np.ndarray) -> None:
    dyn = Lorenz96Dynamics()
    x = start_on_attractor(dyn, seed)[None].copy()
    fields, diag, history = x.copy(), np.empty((1, 5)), [x[0].copy()]
    for _ in range(400):  # 20 time units
        dyn.advance(x, fields, np.zeros((1, dyn.n_actions)), diag)
        history.append(x[0].copy())
    fig = Figure(figsize=(8.0, 3.4), dpi=100)
    ax = fig.add_subplot(1, 2, 1)
    im = draw_space_time(ax, np.array(history), float(dyn.config.K), 0.0, 400 * dyn.control_dt,
                         actuator_positions=dyn.sites + 0.5)
    ax.set_title("x_i(t), K = 40, F = 8; actuators (red)", pad=12)
    ax.set_xlabel("site i")
    fig.colorbar(im, ax=ax, fraction=0.05)
    ax = fig.add_subplot(1, 2, 2)
    ax.plot(np.arange(1, spectrum.size + 1), spectrum, ".-")
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel("i")
    ax.set_ylabel("lambda_i")
    ax.set_title("Lyapunov spectrum")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (about 15 s)")
    parser.add_argument("--figures", default="docs/figures", help="folder of the PNGs (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starts on the attractors")
    ns = parser.parse_args()
    start = time.perf_counter()
    lines63, _ = lorenz63_tables(ns.quick, ns.seed)
    lines96, spectrum = lorenz96_tables(ns.quick, ns.seed)
    figures = Path(ns.figures)
    lorenz63_figure(figures / "lorenz63_attractor.png", ns.seed)
    lorenz96_figure(figures / "lorenz96_space_time.png", ns.seed, spectrum)
    print("\n".join(lines63 + [""] + lines96))
    print(f"\n({time.perf_counter() - start:.0f} s; figures in {figures})")


if __name__ == "__main__":
    main()
