"""Physics of the large-domain KS systems (KS-L66-Control-v0, KS-L100-Control-v0): write docs/large_ks_physics.md.

    .venv/bin/python scripts/large_ks_physics.py [--t-lyapunov 4000] [--spectra 4] [--t-average 2000] [--trajectories 8]
        [--no-generic-search] [--out docs/large_ks_physics.md] [--figure docs/figures/ks_large_spacetime.png]

For L = 66 and L = 100, on the registered grid (N) and on 2N (and dt / 2 at N):

- attractor averages <E>, <P>, <D>, rms(u) over ``--trajectories`` trajectories of
  ``--t-average`` time units each, with their standard errors over the trajectories, and
  the time-averaged power spectrum's tail (power at the top wavenumbers over the peak);
- the Lyapunov spectrum (QR method with finite-difference tangent maps,
  chaoscontrol.solvers.lyapunov_spectrum) in the mean-free subspace along ``--spectra``
  trajectories of ``--t-lyapunov`` time units: the leading exponents (mean and
  standard error across the trajectories), their running estimates at T/8,
  T/4, T/2, T, the number of positive exponents and the Kaplan-Yorke dimension;
- the leading exponent by the two-trajectory method (chaoscontrol.solvers.lyapunov)
  on every trajectory, as a cross-check;
- the burn-in: the ensemble energy from the env's random starts against time;
- the equilibria: copies of the L = 22 family E1-E3 (Newton continuation,
  chaoscontrol.solvers.ks_tiled_equilibria) and, unless --no-generic-search, the
  generic search of chaoscontrol.solvers.equilibria at the registered (L, N),
  which is what ``objective="target", target="E1"`` runs;
- a space-time picture of both systems (``--figure``).

The registered configurations are read from chaoscontrol.envs.registration.ENV_SPECS.
"""

from __future__ import annotations

import argparse
import io
import math
import time
from dataclasses import dataclass

import numpy as np

from chaoscontrol.envs.registration import ENV_SPECS
from chaoscontrol.io import atomic_path
from chaoscontrol.solvers.diagnostics import energy_budget, ks_energy_budget
from chaoscontrol.solvers.equilibria import ks_equilibria, ks_residual
from chaoscontrol.solvers.ks import KSConfig, ks_etdrk4_steps_batch
from chaoscontrol.solvers.ks_dynamics import KSDynamics
from chaoscontrol.solvers.ks_tiled_equilibria import tiled_equilibria
from chaoscontrol.solvers.lyapunov import leading_lyapunov_exponent
from chaoscontrol.solvers.lyapunov_spectrum import LyapunovSpectrum, lyapunov_spectrum, uniform_direction

ENV_IDS = ("KS-L66-Control-v0", "KS-L100-Control-v0")
#: Exponents computed at each L (about 3 L / 10: beyond the positive ones and the Kaplan-Yorke dimension).
N_EXPONENTS = {66.0: 24, 100.0: 36}
#: Sampling interval of the attractor averages and of the burn-in record (time units).
SAMPLE_TIME = 0.25
#: The burn-in record: times reported, and the start of the attractor reference (it runs to twice this).
BURN_IN_TIMES = (25.0, 50.0, 100.0, 150.0, 200.0, 300.0)
BURN_IN_REFERENCE = 300.0
#: Times of the trajectory differences between resolutions.
DIFFERENCE_TIMES = (1.0, 10.0, 50.0, 100.0, 200.0)


@dataclass
class Grid:
    """One resolution of one domain."""

    label: str
    L: float
    N: int
    dt: float

    @property
    def frame_skip(self) -> int:
        return int(round(SAMPLE_TIME / self.dt))

    def dynamics(self, burn_in: float) -> KSDynamics:
        return KSDynamics(KSConfig(self.L, self.N, self.dt), frame_skip=self.frame_skip, burn_in=burn_in)


def attractor_averages(grid: Grid, trajectories: int, t_average: float, burn_in: float, seed: int) -> dict:
    """<E>, <P>, <D>, rms(u) (mean and standard error over trajectories), the spectral tail, the end states."""
    d = grid.dynamics(burn_in)
    v = d.random_states([np.random.default_rng([seed, i]) for i in range(trajectories)])
    zero = np.zeros_like(v)
    samples = int(round(t_average / SAMPLE_TIME))
    sums = np.zeros((trajectories, 4))  # E, P, D; rms(u) filled in from E
    power = np.zeros(v.shape[1])
    for _ in range(samples):
        ks_etdrk4_steps_batch(v, zero, d.coeffs, grid.frame_skip)
        for b in range(trajectories):
            e, p, dd, _ = ks_energy_budget(v[b], zero[b], d.k)
            sums[b, :3] += (e, p, dd)
        power += np.mean(np.abs(v) ** 2, axis=0)
    per_traj = sums / samples
    per_traj[:, 3] = np.sqrt(2.0 * per_traj[:, 0])  # rms(u) = sqrt(time mean of <u^2>) = sqrt(2 <E>)
    mean = per_traj.mean(axis=0)
    err = per_traj.std(axis=0, ddof=1) / math.sqrt(trajectories)
    tail = float(power[-4:-1].mean() / power.max())
    return {"mean": mean, "err": err, "tail": tail, "states": d.fields_from_states(v)}


def sums_energy_of(v: np.ndarray, d: KSDynamics) -> np.ndarray:
    """<u^2> / 2 of each row of the spectral states (Parseval), (B,)."""
    n = d.config.N
    w = np.full(v.shape[1], 2.0)
    w[0] = w[-1] = 1.0
    return 0.5 * (np.abs(v) ** 2 @ w) / n**2


def trajectory_difference(coarse: Grid, fine: Grid, field: np.ndarray, times: tuple[float, ...]) -> list[float]:
    """rms(u_coarse - u_fine) / rms(u) at ``times`` from the same start (Nyquist mode removed) on two grids.

    The fine run is read back on the coarse grid (its modes beyond the coarse ones dropped). Early
    on this is the discretisation error of the coarse grid (space or time step); it then grows at
    the leading Lyapunov exponent until the two trajectories decorrelate.
    """
    dc, df = coarse.dynamics(0.0), fine.dynamics(0.0)
    vc = dc.states_from_fields(field[None, :])
    vc[:, -1] = 0.0
    vf = np.zeros((1, fine.N // 2 + 1), dtype=np.complex128)
    vf[:, : vc.shape[1]] = vc * (fine.N / coarse.N)
    out, t = [], 0.0
    for t_next in times:
        n = int(round((t_next - t) / SAMPLE_TIME))
        for v, d, grid in ((vc, dc, coarse), (vf, df, fine)):
            ks_etdrk4_steps_batch(v, np.zeros_like(v), d.coeffs, n * grid.frame_skip)
        t = t_next
        uc = dc.fields_from_states(vc)[0]
        back = vf[:, : vc.shape[1]] * (coarse.N / fine.N)
        back[:, -1] = back[:, -1].real
        uf = dc.fields_from_states(back)[0]
        out.append(float(np.sqrt(np.mean((uc - uf) ** 2) / np.mean(uc**2))))
    return out


def spectrum_of(grid: Grid, state_field: np.ndarray, n_exponents: int, t_lyapunov: float, seed: int) -> LyapunovSpectrum:
    d = grid.dynamics(0.0)
    state = d.states_from_fields(state_field[None, :])[0]
    intervals = int(round(t_lyapunov / d.control_dt))
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % max(1, total // 4) == 0:
            print(f"    {grid.label}: {done}/{total} intervals, {time.perf_counter() - start:.0f} s", flush=True)

    return lyapunov_spectrum(d, state, n_exponents, intervals, transient_intervals=int(round(100.0 / d.control_dt)),
                             exclude=uniform_direction(grid.N), seed=seed, progress=progress)


def burn_in_record(grid: Grid, t_max: float, seeds: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ensemble means from the env's random starts, sampled every SAMPLE_TIME: energy, and power in the modes 1-4.

    The random starts put all their energy in the four longest waves; those relax on the slow time
    scale 1 / k^2 of the long waves (250 at L = 100), the energy much faster.
    """
    d = grid.dynamics(0.0)
    v = np.stack([d.random_start(np.random.default_rng([seed, 1000 + i])) for i in range(seeds)])
    zero = np.zeros_like(v)
    energy, long_waves = [], []
    for _ in range(int(round(t_max / SAMPLE_TIME))):
        ks_etdrk4_steps_batch(v, zero, d.coeffs, grid.frame_skip)
        energy.append(float(sums_energy_of(v, d).mean()))
        long_waves.append(float(np.mean(np.abs(v[:, 1:5]) ** 2) / grid.N**2))
    return np.array(energy), np.array(long_waves)


def space_time_figure(path: str, runs: list[tuple[str, float, np.ndarray, np.ndarray]], t_span: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.0), constrained_layout=True)
    for ax, (title, L, history, actuators) in zip(np.atleast_1d(axes), runs):
        im = ax.imshow(history.T, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-3, vmax=3,
                       extent=(0.0, t_span, 0.0, L))
        ax.plot(np.zeros_like(actuators), actuators, ">", color="k", ms=3, clip_on=False)
        ax.set_xlabel("t")
        ax.set_ylabel("x")
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=axes, label="u", shrink=0.9)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=80, format="png")
    plt.close(fig)
    with atomic_path(path) as tmp:
        quantised_png(buffer.getvalue(), tmp)


def quantised_png(png: bytes, path) -> None:
    """Write the PNG ``png`` to ``path`` with a 64-colour palette (a quarter of the size, no visible change)."""
    from PIL import Image

    Image.open(io.BytesIO(png)).convert("RGB").quantize(64).save(path, format="PNG", optimize=True)


def history_of(grid: Grid, field: np.ndarray, t_span: float) -> np.ndarray:
    d = grid.dynamics(0.0)
    v = d.states_from_fields(field[None, :])
    zero = np.zeros_like(v)
    rows = []
    for _ in range(int(round(t_span / SAMPLE_TIME))):
        ks_etdrk4_steps_batch(v, zero, d.coeffs, grid.frame_skip)
        rows.append(d.fields_from_states(v)[0])
    return np.array(rows)


def fmt(x: float, e: float | None = None, digits: int = 4) -> str:
    return f"{x:.{digits}f}" if e is None else f"{x:.{digits}f} ± {e:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=8)
    parser.add_argument("--t-average", type=float, default=2000.0, help="averaging time per trajectory")
    parser.add_argument("--t-lyapunov", type=float, default=4000.0, help="averaging time of each spectrum")
    parser.add_argument("--spectra", type=int, default=4, help="trajectories of the spectra (>= 2)")
    parser.add_argument("--burn-in", type=float, default=300.0, help="burn-in before the averages")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-generic-search", action="store_true", help="skip ks_equilibria (minutes at L = 100)")
    parser.add_argument("--out", default="docs/large_ks_physics.md")
    parser.add_argument("--figure", default="docs/figures/ks_large_spacetime.png")
    ns = parser.parse_args()
    if not 2 <= ns.spectra <= ns.trajectories:
        parser.error("--spectra must be >= 2 and <= --trajectories (the spectra start from the trajectories' end states)")
    start = time.perf_counter()
    sections = []
    figure_runs = []
    summary_rows = []
    for env_id in ENV_IDS:
        spec = ENV_SPECS[env_id]["kwargs"]
        L, N = float(spec["L"]), int(spec["N"])
        grids = [Grid(f"N={N}", L, N, 0.05), Grid(f"N={2 * N}", L, 2 * N, 0.05), Grid(f"N={N}, dt=0.025", L, N, 0.025)]
        print(f"{env_id}: L={L:g}, N={N}", flush=True)
        avg_rows, lyap_rows, conv_rows, diff_rows, spectra = [], [], [], [], {}
        for grid in grids:
            t0 = time.perf_counter()
            avg = attractor_averages(grid, ns.trajectories, ns.t_average, ns.burn_in, ns.seed)
            two = leading_lyapunov_exponent(grid.dynamics(0.0).config, avg["states"], ns.t_lyapunov / 2, seed=ns.seed)
            m, e = avg["mean"], avg["err"]
            avg_rows.append(f"| {grid.label} | {fmt(m[0], e[0])} | {fmt(m[1], e[1])} | {fmt(m[2], e[2])} | "
                            f"{fmt(m[3], e[3])} | {avg['tail']:.1e} | {two.mean():.4f} ± {two.std(ddof=1) / math.sqrt(two.size):.4f} |")
            print(f"  {grid.label}: averages {m.round(4)}, two-trajectory {two.mean():.4f} ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
            if grid is grids[0]:
                start_field = avg["states"][2 % ns.trajectories]
            else:
                diffs = trajectory_difference(grids[0], grid, start_field, DIFFERENCE_TIMES)
                diff_rows.append(f"| {grids[0].label} vs {grid.label} | " + " | ".join(f"{x:.1e}" for x in diffs) + " |")
            if grid.dt != 0.05:
                continue
            runs = [spectrum_of(grid, avg["states"][j], N_EXPONENTS[L], ns.t_lyapunov, ns.seed + j)
                    for j in range(ns.spectra)]
            spectra[grid.label] = runs
            lam_runs = np.array([r.exponents for r in runs])  # (runs, k)
            lam = lam_runs.mean(axis=0)
            err = lam_runs.std(axis=0, ddof=1) / math.sqrt(len(runs))
            n_pos = int(np.sum(lam > 3 * err))
            dky = np.array([r.kaplan_yorke_dimension() for r in runs])
            top = ", ".join(f"{x:.4f}" for x in lam[:12])
            lyap_rows.append(f"| {grid.label} | {lam[0]:.4f} ± {err[0]:.4f} | "
                             f"{', '.join(f'{r.exponents[0]:.4f}' for r in runs)} | {n_pos} | "
                             f"{', '.join(str(r.n_positive()) for r in runs)} | {dky.mean():.2f} ± "
                             f"{dky.std(ddof=1) / math.sqrt(dky.size):.2f} | {top} |")
            running = np.mean([r.running() for r in runs], axis=0)  # (intervals, k), mean over runs
            idx = [running.shape[0] // 8 - 1, running.shape[0] // 4 - 1, running.shape[0] // 2 - 1, running.shape[0] - 1]
            conv_rows.append(f"| {grid.label} | " + " | ".join(f"{running[i, 0]:.4f}" for i in idx) + " | "
                             + " | ".join(str(int(np.sum(running[i] > 3 * err))) for i in idx) + " |")
            if grid.N == N:
                summary_rows.append((env_id, L, N, m, lam[0], err[0], n_pos, dky.mean(), two))
                figure_runs.append((f"{env_id} (L={L:g}, N={N})", L, history_of(grid, avg["states"][1], 200.0),
                                    KSDynamics.from_env_kwargs(spec).actuator_positions))

        energy, long_waves = burn_in_record(grids[0], 2 * BURN_IN_REFERENCE, 32, ns.seed)
        ref = int(round(BURN_IN_REFERENCE / SAMPLE_TIME))
        burn_rows = [f"| {t:g} | {energy[int(round(t / SAMPLE_TIME)) - 1] / energy[ref:].mean():.3f} | "
                     f"{long_waves[int(round(t / SAMPLE_TIME)) - 1] / long_waves[ref:].mean():.3f} |"
                     for t in BURN_IN_TIMES]
        print(f"  burn-in record done ({time.perf_counter() - start:.0f} s since the start)", flush=True)

        eq_rows = []
        for name, u in tiled_equilibria(L, N).items():
            b = energy_budget(u, None, L)
            fine = tiled_equilibria(L, 2 * N).get(name)
            e_fine = energy_budget(fine, None, L)["energy"] if fine is not None else float("nan")
            eq_rows.append(f"| {name} | {b['energy']:.4f} | {e_fine:.4f} | {b['dissipation']:.4f} | "
                           f"{np.max(np.abs(ks_residual(u, L))):.1e} |")
        for copies in sorted({max(1, math.floor(L / 22.0)), max(1, math.ceil(L / 22.0))}):
            if copies == round(L / 22.0):
                continue
            for name, u in tiled_equilibria(L, N, copies).items():
                b = energy_budget(u, None, L)
                eq_rows.append(f"| {name} | {b['energy']:.4f} | | {b['dissipation']:.4f} | "
                               f"{np.max(np.abs(ks_residual(u, L))):.1e} |")
        print(f"  copies of E1-E3 done ({time.perf_counter() - start:.0f} s since the start)", flush=True)
        generic = ""
        if not ns.no_generic_search:
            t0 = time.perf_counter()
            found = ks_equilibria(L, N)
            wall = time.perf_counter() - t0
            print(f"  generic search done ({wall:.0f} s)", flush=True)
            listed = ", ".join(f"{k} (E = {energy_budget(u, None, L)['energy']:.4f})" for k, u in found.items())
            generic = (f"\nThe generic search of `chaoscontrol.solvers.equilibria.ks_equilibria({L:g}, {N})` (what "
                       f"`objective=\"target\", target=\"E1\"` runs) took {wall:.0f} s and found: {listed or 'none'}.\n")

        spec_lines = []
        for label, runs in spectra.items():
            spec_lines.append(f"- {label}: " + ", ".join(f"{x:.4f}" for x in np.mean([r.exponents for r in runs], axis=0))
                              + f" (floor {runs[0].floor:.0f}, eps {runs[0].eps:.1e})")
        sections.append(f"""## {env_id}: L = {L:g}

### Attractor averages ({ns.trajectories} trajectories x t = {ns.t_average:g}, burn-in {ns.burn_in:g}; mean ± standard error over trajectories)

| grid | <E> | <P> | <D> | rms(u) | spectral tail | leading exponent, two-trajectory (t = {ns.t_lyapunov / 2:g} each) |
|---|---|---|---|---|---|---|
{chr(10).join(avg_rows)}

Spectral tail: time-averaged power |u_k|^2 at the three highest retained wavenumbers over the peak power.

Discretisation error: rms(u - u') / rms(u) between the registered grid and the finer one from the same state on the
attractor (Nyquist mode removed), at t = {", ".join(f"{t:g}" for t in DIFFERENCE_TIMES)} (it starts at the error of the
coarse grid and grows at the leading exponent until the trajectories decorrelate, at ~1.4):

| grids | {" | ".join(f"t = {t:g}" for t in DIFFERENCE_TIMES)} |
|---|{"---|" * len(DIFFERENCE_TIMES)}
{chr(10).join(diff_rows)}

### Lyapunov spectrum (QR, mean-free subspace, {ns.spectra} trajectories x t = {ns.t_lyapunov:g} after 100 of alignment)

Mean over the trajectories ± standard error across them; "positive": exponents of the mean above 3 standard errors
(the two translation zeros and the mean are not counted), per trajectory by its own batch-means error (10 blocks).

| grid | lambda_1 | lambda_1 per trajectory | positive | per trajectory | Kaplan-Yorke dimension | leading 12 (mean) |
|---|---|---|---|---|---|---|
{chr(10).join(lyap_rows)}

Convergence in time (running estimates, mean over the trajectories, at T/8, T/4, T/2, T; positive: above 3 final
standard errors):

| grid | lambda_1 @ T/8 | T/4 | T/2 | T | positive @ T/8 | T/4 | T/2 | T |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(conv_rows)}

All computed exponents (mean over the trajectories):

{chr(10).join(spec_lines)}

### Burn-in (registered: {spec.get("burn_in", 100.0):g})

Ensemble means over 32 random starts of the env (4 long waves, amplitudes U(-1, 1)), relative to their means over
t = {BURN_IN_REFERENCE:g}-{2 * BURN_IN_REFERENCE:g} (the attractor; 32 samples: a few % of noise):

| t | energy | power in modes 1-4 |
|---|---|---|
{chr(10).join(burn_rows)}

### Equilibria

Copies of the L = 22 family (Newton continuation to the cell length L / c, then Newton at (L, N); columns: energy at N,
energy at 2N, dissipation at N, max residual at N):

| name | E (N = {N}) | E (N = {2 * N}) | D | max F(u) |
|---|---|---|---|---|
{chr(10).join(eq_rows)}
{generic}""")

    space_time_figure(ns.figure, figure_runs, 200.0)
    wall = time.perf_counter() - start
    summary = "\n".join(
        f"| {env_id} | {L:g} | {N} | {m[0]:.4f} | {m[2]:.4f} | {m[3]:.4f} | {lam1:.4f} ± {err1:.4f} | "
        f"{two.mean():.4f} | {npos} | {dky:.1f} | {1 / lam1:.1f} |"
        for env_id, L, N, m, lam1, err1, npos, dky, two in summary_rows)
    text = f"""# Large-domain KS physics

Measured by `.venv/bin/python scripts/large_ks_physics.py --trajectories {ns.trajectories} --t-average {ns.t_average:g} \
--t-lyapunov {ns.t_lyapunov:g} --spectra {ns.spectra} --burn-in {ns.burn_in:g} --seed {ns.seed}` ({wall / 60:.0f} min on the shared 2-core
machine). Unforced KS, dt = 0.05 unless stated. Summary in `docs/systems.md`.

| id | L | N | <E> | <D> | rms(u) | lambda_1 (QR) | lambda_1 (two-trajectory) | positive exponents | D_KY | Lyapunov time |
|---|---|---|---|---|---|---|---|---|---|---|
{summary}

{chr(10).join(sections)}
![space-time](figures/{ns.figure.rsplit('/', 1)[-1]})
"""
    with atomic_path(ns.out) as tmp:
        tmp.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
