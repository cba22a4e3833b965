"""The surrogate family comparison: train every family on the same data and budget, evaluate, tabulate.

Regenerates the table and figure of ``docs/surrogates.md``::

    .venv/bin/python scripts/surrogate_study.py                      # everything (hours on 2 cores)
    .venv/bin/python scripts/surrogate_study.py --only spectral conv   # some runs
    .venv/bin/python scripts/surrogate_study.py --table-only           # re-tabulate finished runs

Every step is resumable: the dataset is generated only when missing, a run whose
checkpoint says training finished is not retrained (an interrupted one resumes;
the time budget counts the training time of all its sessions), and a run whose
``eval/report.json`` is newer than its ``model.pt`` is not re-evaluated. Each
training run gets ``--max-minutes`` of wall time (default 18, under the 20 of the
issue), one torch thread, and may share the machine with one other run
(``--jobs 2``). Outputs: ``RUNS/<name>/`` per run, ``RUNS/study.md`` (table),
``RUNS/study.json`` and ``docs/figures/surrogate_study.png`` (``--figure``).

Speed is not tabulated here (the evaluations run next to training jobs); measure
it on a quiet machine with ``benchmarks/bench_surrogates.py RUNS/*/model.pt``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from jobpool import Job, run_jobs  # noqa: E402 - the scripts folder is on sys.path only from here


@dataclass(frozen=True)
class StudyRun:
    """One family and its training settings."""

    name: str
    family: str
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    horizon: int = 8
    epochs: int = 100
    """Epochs, also the length of the cosine learning-rate schedule (chosen to fit the time budget);
    0: an untrained baseline (the ``corrected`` family untrained is its coarse solver)."""
    input_noise: float = 0.0
    """Training input noise (fraction of rms(u))."""
    pretrain_epochs: int = 0
    """Autoencoder reconstruction epochs first (``latent``)."""
    note: str = ""


#: The runs of the comparison; all share the dataset, the optimiser settings and the time budget.
STUDY: tuple[StudyRun, ...] = (
    # unconstrained networks (part 1 families), spectral truncation of the output at mode 21 or 16
    StudyRun("resnet", "resnet", {"width": 128, "depth": 2, "substeps": 4, "cutoff": 21}, epochs=150, note="MLP, explicit Euler, 4 substeps"),
    StudyRun("node", "node", {"width": 128, "depth": 2, "method": "rk4", "step_size": 0.125, "cutoff": 21}, epochs=80, note="MLP vector field, rk4"),
    StudyRun("node_noise", "node", {"width": 128, "depth": 2, "method": "rk4", "step_size": 0.125, "cutoff": 16}, epochs=80,
             input_noise=0.02, note="as node, input noise 0.02, cutoff 16"),
    StudyRun("conv", "conv", {"width": 32, "depth": 2, "cutoff": 21}, epochs=100, note="periodic convs, residual"),
    StudyRun("conv_noise", "conv", {"width": 32, "depth": 2, "cutoff": 16}, epochs=100, input_noise=0.02,
             note="as conv, input noise 0.02, cutoff 16"),
    # numerical-scheme architectures (part 2): stable explicit and implicit steps, at the MLPs' size and at one third
    StudyRun("stable_antisym", "stable_resnet", {"variant": "antisymmetric", "width": 80, "depth": 4, "cutoff": 21}, epochs=150,
             note="Haber-Ruthotto antisymmetric, 4 layers of 80"),
    StudyRun("stable_hamiltonian", "stable_resnet", {"variant": "hamiltonian", "width": 80, "depth": 4, "cutoff": 21}, epochs=150,
             note="Haber-Ruthotto Hamiltonian (Verlet), 4 layers of 80"),
    StudyRun("deq", "deq", {"width": 128, "depth": 2, "cutoff": 21}, epochs=150, note="implicit Euler z = u + hF(z, f), Anderson, implicit gradients"),
    StudyRun("resnet_third", "resnet", {"width": 56, "depth": 2, "substeps": 4, "cutoff": 21}, epochs=150, note="resnet at 1/3 of the parameters"),
    StudyRun("stable_antisym_third", "stable_resnet", {"variant": "antisymmetric", "width": 40, "depth": 4, "cutoff": 21}, epochs=150,
             note="stable_antisym at 1/3 of the parameters"),
    StudyRun("deq_third", "deq", {"width": 56, "depth": 2, "cutoff": 21}, epochs=150, note="deq at 1/3 of the parameters"),
    # latent manifold dynamics (part 2): how small can the latent dimension be?
    StudyRun("latent16", "latent", {"latent_dim": 16, "width": 64, "depth": 2, "cutoff": 21}, epochs=400, pretrain_epochs=100,
             note="PCA + learned autoencoder correction, forced latent NODE, d = 16; 100 autoencoder epochs first"),
    StudyRun("latent12", "latent", {"latent_dim": 12, "width": 64, "depth": 2, "cutoff": 21}, epochs=400, pretrain_epochs=100,
             note="as latent16, d = 12"),
    StudyRun("latent8", "latent", {"latent_dim": 8, "width": 64, "depth": 2, "cutoff": 21}, epochs=400, pretrain_epochs=100,
             note="as latent16, d = 8"),
    StudyRun("latent4", "latent", {"latent_dim": 4, "width": 64, "depth": 2, "cutoff": 21}, epochs=400, pretrain_epochs=100,
             note="as latent16, d = 4"),
    # only the 8 sensors (part 2): delay-embedding models of the readings, with a state estimate
    StudyRun("partial", "partial", {"window": 8, "width": 128, "depth": 2, "estimate_state": True}, epochs=150,
             note="8 sensors: window of 8 readings + actions -> next readings, and a state estimate; sensor-space errors"),
    StudyRun("partial_w1", "partial", {"window": 1, "width": 128, "depth": 2, "estimate_state": True}, epochs=150,
             note="as partial, window 1 (no memory)"),
    # physics built in (part 2 families)
    StudyRun("spectral_short", "spectral", {"width": 16, "depth": 1}, epochs=50, note="exact linear part, learned flux, u^2 channel"),
    StudyRun("spectral", "spectral", {"width": 16, "depth": 1}, epochs=150, note="as spectral_short, 3x the epochs"),
    StudyRun("spectral_noquad", "spectral", {"width": 16, "depth": 1, "quadratic": False}, epochs=50, note="as spectral_short, no u^2 channel"),
    StudyRun("coarse8", "corrected", {"width": 16, "depth": 1, "coarse_modes": 8}, epochs=0, note="8-mode ETDRK4 alone (untrained)"),
    StudyRun("corrected", "corrected", {"width": 16, "depth": 1, "coarse_modes": 8}, epochs=150, note="8-mode ETDRK4 + learned correction"),
    StudyRun("coarse12", "corrected", {"width": 16, "depth": 1, "coarse_modes": 12}, epochs=0, note="12-mode ETDRK4 alone (untrained)"),
    StudyRun("corrected12", "corrected", {"width": 16, "depth": 1, "coarse_modes": 12}, epochs=150, note="12-mode ETDRK4 + learned correction"),
)
#: Training settings shared by every run.
COMMON = {"patience": 30, "lr": 1e-3, "batch_size": 64, "windows_per_epoch": 2048}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="data/ks_random.h5", help="dataset; generated (64 x 400 steps, random actuation, seed 0) if missing")
    p.add_argument("--runs", default="runs/study", help="folder of the runs (default: %(default)s)")
    p.add_argument("--only", nargs="+", default=None, help=f"run names among {[r.name for r in STUDY]}")
    p.add_argument("--max-minutes", type=float, default=18.0, help="training wall time per run (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=2, help="training runs at once, one torch thread each (default: %(default)s)")
    p.add_argument("--table-only", action="store_true", help="only tabulate the runs already evaluated")
    p.add_argument("--figure", default="docs/figures/surrogate_study.png", help="comparison figure (default: %(default)s)")
    ns = p.parse_args(argv)
    names = [r.name for r in STUDY]
    if ns.only is not None:
        bad = [n for n in ns.only if n not in names]
        if bad:
            p.error(f"--only: unknown run names {bad}; known: {names}")
    if ns.jobs < 1:
        p.error(f"--jobs must be >= 1, got {ns.jobs}")
    if not ns.max_minutes > 0:
        p.error(f"--max-minutes must be positive, got {ns.max_minutes}")
    return ns


def train_command(run: StudyRun, data: str, out: Path, max_minutes: float) -> list[str]:
    """The ``chaoscontrol surrogate train`` command line of ``run``."""
    cmd = [
        "chaoscontrol", "surrogate", "train", "--model", run.family, "--data", data, "--out", str(out),
        "--model-kwargs", json.dumps(run.model_kwargs), "--horizon", str(run.horizon), "--max-minutes", f"{max_minutes:g}",
        "--epochs", str(run.epochs), "--schedule-epochs", str(run.epochs), "--no-progress",
    ]
    if run.input_noise:
        cmd += ["--input-noise", f"{run.input_noise:g}"]
    if run.pretrain_epochs:
        cmd += ["--pretrain-epochs", str(run.pretrain_epochs)]
    for key, value in COMMON.items():
        cmd += ["--" + key.replace("_", "-"), str(value)]
    return cmd


def save_untrained(run: StudyRun, data: str, out: Path) -> None:
    """Write the untrained model of ``run`` (for ``corrected``: its coarse solver) as ``out/model.pt``."""
    import numpy as np

    from chaoscontrol.envs.ks_control import KSControlEnv
    from chaoscontrol.solvers.attractor import attractor_rms
    from chaoscontrol.surrogates.dataset import DYNAMICS_KEYS, load_dataset
    from chaoscontrol.surrogates.models import build_model, make_config
    from chaoscontrol.surrogates.train import save_surrogate

    env_config = load_dataset(data, "train").env_config
    env = KSControlEnv(**{k: env_config[k] for k in DYNAMICS_KEYS})
    n_act = env.action_space.shape[0]
    cfg = env.config
    config = make_config(
        run.family, L=cfg.L, N=cfg.N, n_actuators=n_act, interval=env.frame_skip * cfg.dt, **run.model_kwargs
    )
    model = build_model(config, env.forcing_fields(np.eye(n_act)), attractor_rms(cfg.L, cfg.N, cfg.dt))
    out.mkdir(parents=True, exist_ok=True)
    save_surrogate(model, env_config, out / "model.pt")
    print(f"[{run.name}] untrained baseline written", flush=True)


def train_all(runs: list[StudyRun], data: str, root: Path, max_minutes: float, jobs: int) -> None:
    """Train the unfinished runs, ``jobs`` at a time, each with one torch thread."""
    from chaoscontrol.surrogates.train import training_state

    exe = str(Path(sys.executable).parent / "chaoscontrol")
    pending = []
    for run in runs:
        out = root / run.name
        if run.epochs == 0:
            if not (out / "model.pt").is_file():
                save_untrained(run, data, out)
            continue
        state = training_state(out)
        if state is not None and state["finished"]:
            print(f"[{run.name}] trained ({state['finished']}, {state['epochs']} epochs)", flush=True)
            continue
        cmd = train_command(run, data, out, max_minutes)
        if state is not None:
            cmd.append("--resume")
        cmd[0] = exe
        pending.append(Job(run.name, cmd, out / "train.log"))
    run_jobs(pending, jobs)


def evaluate_all(runs: list[StudyRun], root: Path) -> None:
    """Evaluate the runs whose report is missing or older than their model."""
    from chaoscontrol.surrogates.evaluate import EvaluateArgs, evaluate_surrogate

    for run in runs:
        model, report = root / run.name / "model.pt", root / run.name / "eval" / "report.json"
        if report.is_file() and report.stat().st_mtime > model.stat().st_mtime:
            continue
        print(f"[{run.name}] evaluating", flush=True)
        evaluate_surrogate(EvaluateArgs(model=str(model), out=str(report.parent)), progress=False)


def tabulate(runs: list[StudyRun], root: Path, figure: str | None) -> list[dict[str, Any]]:
    """Write ``RUNS/study.md`` and ``study.json`` (and the figure) from the finished reports."""
    from chaoscontrol.surrogates.train import training_state

    rows = []
    for run in runs:
        report_path = root / run.name / "eval" / "report.json"
        if not report_path.is_file():
            continue
        r = json.loads(report_path.read_text())
        state = training_state(root / run.name) or {"wall_s": 0.0, "epochs": 0}
        rows.append({"name": run.name, "note": run.note, "train_minutes": (state.get("wall_s") or float("nan")) / 60,
                     "epochs": state.get("epochs"), **{k: v for k, v in r.items() if k != "args"}})
    lines = [
        "| run | family | params | train (min, epochs) | one-step error | VPT median [q25, q75] (Lyapunov times) "
        "| blow-ups (100 + 100 free runs) | D model / truth, forced | D model / truth, unforced | reward corr. "
        "| shift-equiv. error |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def ratio(fr: dict[str, Any]) -> str:
        m, t = fr["dissipation_model"], fr["dissipation_truth"]
        return "n/a" if m is None else f"{m:.4g} / {t:.4g} ({100 * (m / t - 1):+.1f} %)"

    def number(x: float | None, fmt: str) -> str:
        return "n/a" if x is None else format(x, fmt)

    def train_cells(r: dict[str, Any]) -> str:
        if r["epochs"] == 0:
            return "0 learned (untrained) | 0"
        return f"{r['params']:,} | {r['train_minutes']:.1f}, {r['epochs']}"

    for r in rows:
        fr = r["free_runs"]
        lines.append(
            f"| {r['name']} | {r['family'] + (' (sensor space)' if r.get('space') == 'sensors' else '')} | {train_cells(r)} | {r['one_step_error']:.1e} "
            f"| {r['vpt_lyapunov_median']:.2f} [{r['vpt_lyapunov_q25']:.2f}, {r['vpt_lyapunov_q75']:.2f}] | {r['blowup_fraction']:.0%} "
            f"| {ratio(fr['forced'])} | {ratio(fr['unforced'])} | {number(r['reward_correlation'], '.3f')} "
            f"| {number(r['shift_equivariance_error'], '.1e')} |"
        )
    text = "\n".join(lines) + "\n"
    (root / "study.md").write_text(text)
    (root / "study.json").write_text(json.dumps(rows, indent=1, default=str))
    print(text)
    if figure and rows:
        _figure(rows, ROOT / figure if not Path(figure).is_absolute() else Path(figure))
    return rows


def _figure(rows: list[dict[str, Any]], path: Path) -> None:
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    labels = [r["name"] for r in rows]
    x = np.arange(len(rows))
    med = np.array([r["vpt_lyapunov_median"] for r in rows])
    err = [med - [r["vpt_lyapunov_q25"] for r in rows], np.array([r["vpt_lyapunov_q75"] for r in rows]) - med]
    ax = fig.add_subplot(1, 2, 1)
    ax.bar(x, med, yerr=err, capsize=3)
    ax.axhline(3.0, color="C3", lw=0.8, ls="--", label="goal, part 1 (3)")
    ax.axhline(5.0, color="C2", lw=0.8, ls=":", label="goal, part 2 (5)")
    ax.set_ylabel("valid prediction time (Lyapunov times)")
    ax.set_title("median and quartiles, 100 forced runs", fontsize=9)
    ax.legend(fontsize=7)
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
    ax = fig.add_subplot(1, 2, 2)
    for j, kind in enumerate(("forced", "unforced")):
        vals = np.array([
            100 * ((r["free_runs"][kind]["dissipation_model"] or np.nan) / r["free_runs"][kind]["dissipation_truth"] - 1.0)
            for r in rows
        ])
        ax.bar(x + 0.4 * j - 0.2, vals, width=0.4, label=kind, color=f"C{j}")
        for i in np.flatnonzero(~np.isfinite(vals)):
            ax.text(x[i] + 0.4 * j - 0.2, 0, "x", ha="center", va="bottom", color=f"C{j}", fontsize=8)
    ax.axhspan(-5, 5, color="C3", alpha=0.12, label="within 5 %")
    ax.set_yscale("symlog", linthresh=5)
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("free-run mean dissipation, model vs truth (%)")
    ax.set_title("x: every free run blew up", fontsize=9)
    ax.legend(fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")


def main(argv: list[str] | None = None) -> int:
    ns = parse_args(argv)
    import numba

    numba.set_num_threads(1)  # the evaluations share the machine with training runs: a parallel kernel would stall
    runs = [r for r in STUDY if ns.only is None or r.name in ns.only]
    root = Path(ns.runs)
    if not ns.table_only:
        if not Path(ns.data).is_file():
            from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset

            generate_dataset(DatasetSpec(n_trajectories=64, steps=400, actuation="random", seed=0), ns.data)
        train_all(runs, ns.data, root, ns.max_minutes, ns.jobs)
        evaluate_all(runs, root)
    tabulate(runs, root, ns.figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
