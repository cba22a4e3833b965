"""Measure the CGLE physics of CGLE-Control-v0 and draw its space-time diagram (docs/systems.md, CGLE section).

    .venv/bin/python scripts/cgle_physics.py [--trajectories 8] [--t-average 200] [--figure docs/figures/cgle_space_time.png]

Prints markdown tables:

1. the dispersion relation: growth rates of perturbations of the uniform state and of plane waves measured from the
   solver (chaoscontrol.solvers.cgle_waves.measured_growth_rate) against the eigenvalues of the linearised equation,
   at the Benjamin-Feir-unstable default (alpha, beta) = (2, -2) and a stable point (2, 0.5);
2. exactness and order: plane waves after 400 steps, the time-stepping error over one time unit on the attractor;
3. the attractor at the default L = 8 pi, N = 64 next to L = 32 pi, N = 256 (is the small domain representative?):
   <|A|>, the amplitude fluctuation, the distance to the uniform oscillation, the phase-slip rate per unit length and
   time (changes of the winding number), the leading Lyapunov exponent (Benettin), the correlation length (where
   |<A(x) conj A(x + r)>| falls to 1/e of its value at r = 0), the spectrum at the Nyquist mode;
4. control: the uniform objective without control and under proportional feedback at the actuators.

The figure is |A(x, t)| on the attractor, then with the proportional feedback switched on at t = 50.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import chaoscontrol  # noqa: F401  (registers the ids)
from chaoscontrol.io import atomic_path
from chaoscontrol.solvers.cgle import CGLEConfig, cgle_coefficients, cgle_etdrk4_steps
from chaoscontrol.solvers.cgle_dynamics import CGLEDynamics
from chaoscontrol.solvers.cgle_waves import (
    benjamin_feir_band,
    eckhaus_wavenumber,
    measured_growth_rate,
    plane_wave,
)

SAMPLE_DT = 0.25  # time between samples of the attractor statistics (one control interval)


def dispersion_table() -> list[str]:
    """Measured vs analytic growth rates at L = 8 pi (k = m / 4), N = 64, dt = 0.05."""
    rows = ["| alpha, beta | 1 + alpha beta | wave q | k | lambda theory | lambda measured | abs. error |",
            "|---|---|---|---|---|---|---|"]
    cases = [(2.0, -2.0, 0, m) for m in (1, 2, 3, 4, 5, 6, 8)] + [(2.0, -2.0, 1, 2), (2.0, -2.0, 2, 1)]
    cases += [(2.0, 0.5, 0, m) for m in (1, 2, 4)] + [(2.0, 0.5, 1, 1), (2.0, 0.5, 3, 1)]
    for alpha, beta, p, m in cases:
        measured, theory = measured_growth_rate(CGLEConfig(alpha=alpha, beta=beta), p, m)
        rows.append(f"| {alpha:g}, {beta:g} | {1 + alpha * beta:g} | {p / 4:g} | {m / 4:g} | "
                    f"{theory.real:+.6f} {theory.imag:+.4f}i | {measured.real:+.6f} {measured.imag:+.4f}i | "
                    f"{abs(measured - theory):.1e} |")
    rows.append("")
    rows.append(f"Benjamin-Feir band of (2, -2): |k| < {benjamin_feir_band(2.0, -2.0):.4f}; "
                f"Eckhaus wavenumber of (2, 0.5): q_E = {eckhaus_wavenumber(2.0, 0.5):.4f}.")
    return rows


def exactness_rows(dyn: CGLEDynamics, states: np.ndarray) -> list[str]:
    """Plane waves after 400 steps at dt = 0.05, and the time-stepping error of one time unit on the attractor."""
    cfg = dyn.config
    rows = ["| check | value |", "|---|---|"]
    worst = 0.0
    for p in (0, 1, 2, -3):
        q = 2 * np.pi * p / cfg.L
        v = np.fft.fft(plane_wave(cfg.x, 0.0, q, cfg.alpha, cfg.beta))
        cgle_etdrk4_steps(v, np.zeros_like(v), dyn.coeffs, dyn.g, 400)
        worst = max(worst, float(np.abs(np.fft.ifft(v) - plane_wave(cfg.x, 20.0, q, cfg.alpha, cfg.beta)).max()))
    rows.append(f"| plane waves q = 0, 0.25, 0.5, -0.75: max error after 400 steps (t = 20) | {worst:.1e} |")

    def run(dt: float) -> np.ndarray:
        c = CGLEConfig(alpha=cfg.alpha, beta=cfg.beta, L=cfg.L, N=cfg.N, dt=dt)
        coeffs, out = cgle_coefficients(c), []
        for v in states[:4]:
            w = v.copy()
            cgle_etdrk4_steps(w, np.zeros_like(w), coeffs, c.nonlinear_coefficient, int(round(1.0 / dt)))
            out.append(np.fft.ifft(w))
        return np.array(out)

    ref = run(0.1 / 32)
    errors = {dt: float(np.abs(run(dt) - ref).max()) for dt in (0.1, 0.05, 0.025)}
    rows.append(f"| max error over t = 1 on the attractor, dt = 0.1 / 0.05 / 0.025 | "
                f"{errors[0.1]:.1e} / {errors[0.05]:.1e} / {errors[0.025]:.1e} |")
    rows.append(f"| observed order | {math.log2(errors[0.1] / errors[0.05]):.2f}, "
                f"{math.log2(errors[0.05] / errors[0.025]):.2f} |")
    rate_errors = []
    for dt in (0.05, 0.025, 0.0125):
        measured, theory = measured_growth_rate(CGLEConfig(alpha=cfg.alpha, beta=cfg.beta, L=cfg.L, N=cfg.N, dt=dt), 0, 8)
        rate_errors.append(abs(measured - theory))
    rows.append("| growth-rate error of the uniform state at k = 2 (the largest above), dt = 0.05 / 0.025 / 0.0125 | "
                + " / ".join(f"{e:.1e}" for e in rate_errors) + " |")
    return rows


def winding(a: np.ndarray) -> np.ndarray:
    """Winding number of each row of A (B, N): the phase increments between neighbours summed, over 2 pi."""
    return np.rint(np.angle(np.roll(a, -1, axis=-1) * np.conj(a)).sum(axis=-1) / (2 * np.pi)).astype(np.int64)


def attractor_stats(L: float, N: int, trajectories: int, t_average: float, seed: int) -> dict[str, float]:
    """Averages on the unforced attractor (after the default burn-in of 100) and the leading Lyapunov exponent."""
    dyn = CGLEDynamics(CGLEConfig(L=L, N=N))
    v = dyn.random_states([np.random.default_rng(seed + i) for i in range(trajectories)])
    rng = np.random.default_rng(seed + 1000)
    eps = 1e-8
    delta = rng.standard_normal(v.shape) + 1j * rng.standard_normal(v.shape)
    a = np.fft.ifft(v)
    delta *= eps / np.sqrt(np.mean(np.abs(delta) ** 2, axis=1, keepdims=True))
    pair = np.concatenate([v, np.fft.fft(a + delta)])
    steps = int(round(SAMPLE_DT / dyn.config.dt))
    n_samples = int(round(t_average / SAMPLE_DT))
    log_growth = np.zeros(trajectories)
    spectrum = np.zeros(N)
    sums = {"mod": 0.0, "fluct": 0.0, "uniform": 0.0, "holes": 0.0}
    slips = 0
    last = winding(a)
    for i in range(n_samples):
        fields = dyn.run_unforced(pair, steps)
        a = fields[:, 0] + 1j * fields[:, 1]
        ref, sep = a[:trajectories], a[trajectories:] - a[:trajectories]
        if (i + 1) % 4 == 0:  # renormalise every time unit
            norm = np.sqrt(np.mean(np.abs(sep) ** 2, axis=1))
            log_growth += np.log(norm / eps)
            pair[trajectories:] = np.fft.fft(ref + sep * (eps / norm)[:, None])
        d = dyn.unforced_diagnostics(pair[:trajectories])
        mod = np.abs(ref)
        sums["mod"] += mod.mean()
        sums["fluct"] += d[:, 2].mean()
        sums["uniform"] += d[:, 1].mean()
        sums["holes"] += np.mean(d[:, 3] < 0.1)
        spectrum += np.mean(np.abs(pair[:trajectories]) ** 2, axis=0)
        w = winding(ref)
        slips += int(np.abs(w - last).sum())
        last = w
    t_total = n_samples * SAMPLE_DT
    spec = spectrum / spectrum.max()
    out = {k: s / n_samples for k, s in sums.items()}
    out["slip_rate"] = slips / (trajectories * t_total * L)
    out["lyapunov"] = float(log_growth.mean() / (n_samples // 4))
    out["lyapunov_se"] = float(log_growth.std(ddof=1) / (n_samples // 4) / math.sqrt(trajectories))
    out["nyquist"] = float(spec[N // 2])
    corr = np.abs(np.fft.ifft(spectrum))[: N // 2]
    corr /= corr[0]
    j = int(np.argmax(corr < math.exp(-1.0)))  # first grid offset below 1/e, then linear interpolation
    out["xi"] = float((j - 1 + (corr[j - 1] - math.exp(-1.0)) / (corr[j - 1] - corr[j])) * L / N)
    return out


def attractor_table(trajectories: int, t_average: float, seed: int) -> list[str]:
    rows = ["| domain | <\\|A\\|> | <sigma> amplitude fluct. | <d_U> | slips / (length time) | frac. min\\|A\\| < 0.1 | "
            "lambda_1 | correlation length (1/e) | spectrum at Nyquist |", "|---|---|---|---|---|---|---|---|---|"]
    for name, L, N in (("L = 8 pi, N = 64 (default)", 8 * math.pi, 64), ("L = 32 pi, N = 256", 32 * math.pi, 256)):
        s = attractor_stats(L, N, trajectories, t_average, seed)
        rows.append(f"| {name} | {s['mod']:.3f} | {s['fluct']:.3f} | {s['uniform']:.3f} | {s['slip_rate']:.4f} | "
                    f"{s['holes']:.2f} | {s['lyapunov']:.3f} +- {s['lyapunov_se']:.3f} | {s['xi']:.2f} | {s['nyquist']:.1e} |")
    return rows


def feedback_action(env) -> np.ndarray:
    """Proportional feedback at the actuators: a = -(A(x_j) - e^{i arg<A>}) / max_forcing (clipped by the env)."""
    cfg = env.config
    centres = np.rint(env.dynamics.actuator_positions * cfg.N / cfg.L).astype(int) % cfg.N
    a = env.A
    err = a[centres] - a.mean() / max(abs(a.mean()), 1e-12)
    return np.concatenate([-err.real, -err.imag]) / env.dynamics.max_forcing


def control_table(seeds: int) -> list[str]:
    rows = ["| policy | <d_U> over the episode | d_U over the last 100 steps | <power> |", "|---|---|---|---|"]
    for name, policy in (("no control", None), ("proportional feedback", feedback_action)):
        means, lasts, powers = [], [], []
        for seed in range(seeds):
            env = gym.make("CGLE-Control-v0").unwrapped
            env.reset(seed=seed)
            d, p = [], []
            for _ in range(400):
                action = np.zeros(env.action_space.shape) if policy is None else policy(env)
                info = env.step(action)[4]
                d.append(info["uniform_distance"])
                p.append(info["power"])
            means.append(np.mean(d))
            lasts.append(np.mean(d[-100:]))
            powers.append(np.mean(p))
        rows.append(f"| {name} | {np.mean(means):.3f} | {np.mean(lasts):.1e} | {np.mean(powers):+.4f} |")
    return rows


def space_time_figure(path: Path, seed: int) -> None:
    """|A(x, t)| for 100 time units: 50 unforced on the attractor, then 50 under proportional feedback."""
    env = gym.make("CGLE-Control-v0").unwrapped
    env.reset(seed=seed)
    history = [np.abs(env.A)]
    for i in range(400):
        env.step(np.zeros(env.action_space.shape) if i < 200 else feedback_action(env))
        history.append(np.abs(env.A))
    fig = Figure(figsize=(6.4, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    cfg = env.config
    im = ax.imshow(np.array(history).T, origin="lower", aspect="auto", cmap="magma", vmin=0.0, vmax=1.3,
                   extent=(0.0, 400 * env.dynamics.control_dt, 0.0, cfg.L), interpolation="nearest")
    ax.axvline(50.0, color="white", lw=1.0, ls="--")
    ax.set_xlabel("t")
    ax.set_ylabel("x")
    ax.set_title("CGLE-Control-v0: |A(x, t)|, alpha = 2, beta = -2, L = 8 pi; feedback from t = 50", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.05, label="|A|")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=8, help="attractor trajectories (default: %(default)s)")
    parser.add_argument("--t-average", type=float, default=200.0, help="averaging time each (default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=3, help="episodes per control policy (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", type=Path, default=Path("docs/figures/cgle_space_time.png"))
    ns = parser.parse_args()
    start = time.perf_counter()
    dyn = CGLEDynamics()
    states = dyn.random_states([np.random.default_rng(ns.seed + i) for i in range(4)])
    for title, rows in (("Dispersion relation (L = 8 pi, N = 64, dt = 0.05, t = min(10, 5 / |Re lambda|), eps = 1e-7)", dispersion_table()),
                        ("Exactness and order (defaults)", exactness_rows(dyn, states)),
                        (f"Attractor ({ns.trajectories} trajectories x t = {ns.t_average:g} after burn-in 100)",
                         attractor_table(ns.trajectories, ns.t_average, ns.seed)),
                        (f"Uniform objective, defaults, {ns.seeds} episodes of 400 steps", control_table(ns.seeds))):
        print(f"\n**{title}**\n")
        print("\n".join(rows))
    space_time_figure(ns.figure, ns.seed)
    print(f"\nfigure: {ns.figure}; {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
