"""The robustness study: learned and classical controllers of KS under sensor, actuator and adversarial perturbations.

    .venv/bin/python scripts/reproduce.py --only ppo_dissipation ppo_dissipation_noise ppo_dissipation_symmetry \\
        ppo_dissipation_adversarial ppo_target_E1 ppo_target_E1_residual ppo_target_E1_residual_noise \\
        ppo_target_E1_residual_symmetry ppo_target_E1_residual_adversarial      # the agents (hours on 2 cores)
    .venv/bin/python scripts/robustness_study.py                              # evaluate everything, write the doc
    .venv/bin/python scripts/robustness_study.py --report-only                # re-plot and re-tabulate

For each task (the dissipation objective, and reaching E1 from the attractor) every controller is evaluated
with ``chaoscontrol.agents.evaluation.evaluate_agent`` on the truth, 20 episodes from env seeds 10000 + e (the
same initial states for every controller, level and perturbation), under each perturbation at each level.
The learned agents are evaluated without their training wrappers (a noise-trained agent sees only the
perturbation of the sweep). Results go to ``runs/robustness_study/<task>/<controller>/<perturbation>_<level>/``
(an existing result is kept: the study resumes), the figures to ``docs/figures/robustness_*.png`` and the
tables into docs/robustness.md between ``<!-- robustness-tables -->`` markers. The basin of LQR/LQG about E1,
E2, E3 and the learning curves of symmetry-reduced against plain PPO are part of the report.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_tables import write_between_markers  # noqa: E402 - the scripts folder is on sys.path only from here
RUNS = ROOT / "runs" / "reproduce"
EVAL_SEED = 10_000


@dataclass(frozen=True)
class Controller:
    """One controller of the study: a trained agent (run folder) or a baseline spec."""

    label: str
    model: str
    """``runs/reproduce/...`` run folder of an agent, or a baseline spec."""
    observe: str = "sensors"
    """What it reads (``full`` for LQR and MPC)."""
    expensive: bool = False
    """Evaluated at fewer levels (MPC: ~4 min per evaluation)."""

    @property
    def is_agent(self) -> bool:
        return self.model.startswith("runs/")

    def path(self) -> str:
        return str(ROOT / self.model / "model.zip") if self.is_agent else self.model


@dataclass(frozen=True)
class Perturbation:
    """One perturbation of the sweep."""

    name: str
    """Name of the robustness harness."""
    levels: tuple[float, ...]
    label: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    agents_only: bool = False
    """Adversarial attacks need the agent's gradient."""
    cheap_levels: tuple[float, ...] = ()
    """The levels at which expensive controllers are evaluated."""


MPC = 'mpc:{"surrogate": "solver", "horizon": 8, "iterations": 10}'
TASKS: dict[str, dict[str, Any]] = {
    "dissipation": {
        "env_kwargs": {"objective": "dissipation"},
        "controllers": (
            Controller("PPO (clean)", "runs/reproduce/ppo_dissipation/s0"),
            Controller("PPO noise-trained", "runs/reproduce/ppo_dissipation_noise/s0"),
            Controller("PPO symmetry-reduced", "runs/reproduce/ppo_dissipation_symmetry/s0"),
            Controller("PPO adversarial", "runs/reproduce/ppo_dissipation_adversarial/s0"),
            Controller("LQR (E1, full state)", "lqr", observe="full"),
            Controller("LQG (E1, sensors)", "lqg"),
            Controller("MPC (solver, full state)", MPC, observe="full", expensive=True),
        ),
    },
    "target_E1": {
        "env_kwargs": {"objective": "target", "target": "E1"},
        "controllers": (
            Controller("PPO (clean)", "runs/reproduce/ppo_target_E1/s0"),
            Controller("PPO+LQG residual", "runs/reproduce/ppo_target_E1_residual/s0"),
            Controller("PPO+LQG noise-trained", "runs/reproduce/ppo_target_E1_residual_noise/s0"),
            Controller("PPO+LQG symmetry-reduced", "runs/reproduce/ppo_target_E1_residual_symmetry/s0"),
            Controller("PPO+LQG adversarial", "runs/reproduce/ppo_target_E1_residual_adversarial/s0"),
            Controller("LQR (full state)", "lqr", observe="full"),
            Controller("LQG (sensors)", "lqg"),
            Controller("MPC (solver, full state)", MPC, observe="full", expensive=True),
        ),
    },
}
PERTURBATIONS: tuple[Perturbation, ...] = (
    Perturbation("noise", (0.05, 0.1, 0.2, 0.3, 0.5), "Gaussian sensor noise (sigma / rms(u))", cheap_levels=(0.2,)),
    Perturbation("dropout", (0.1, 0.3, 0.5), "sensor dropout (probability; last value held)"),
    Perturbation("bias", (0.1, 0.2, 0.5), "constant sensor bias per episode (sigma / rms(u))"),
    Perturbation("drift", (0.005, 0.01, 0.02), "sensor drift (random-walk sigma per step / rms(u))"),
    Perturbation("dead-sensors", (4.0,), "4 working sensors (1, 3, 5, 7 read 0)", {"indices": [1, 3, 5, 7]}),
    Perturbation("dead-sensors", (2.0,), "2 working sensors (others read 0)", {"indices": [1, 2, 3, 5, 6, 7]}),
    Perturbation("actuator-fault", (1.0,), "actuator 1 dead", {"index": 1, "mode": "dead"}),
    Perturbation("actuator-noise", (0.1, 0.3), "actuator noise (sigma, action units)"),
    Perturbation("adversarial", (0.05, 0.1, 0.2), "FGSM attack (L-inf eps / rms(u))", agents_only=True),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/robustness_study", help="results folder (default: %(default)s)")
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    p.add_argument("--episodes", type=int, default=20, help="episodes per evaluation (default: %(default)s)")
    p.add_argument("--skip-expensive", action="store_true", help="leave out MPC")
    p.add_argument("--baselines-only", action="store_true", help="evaluate only the classical controllers (no trained agents needed)")
    p.add_argument("--report-only", action="store_true", help="only tabulate and plot the results there are")
    p.add_argument("--doc", default="docs/robustness.md")
    ns = p.parse_args(argv)
    if ns.episodes < 2:
        p.error("--episodes must be >= 2")
    return ns


def result_path(out: Path, task: str, ctrl: Controller, pert: Perturbation | None, level: float) -> Path:
    slug = ctrl.label.lower().replace(" ", "_").replace("(", "").replace(")", "").replace(",", "").replace("+", "_")
    leaf = "clean" if pert is None else f"{pert.name}_{level:g}"
    return out / task / slug / leaf / "evaluation.json"


def _baseline_fewer_sensors(ctrl: Controller, pert: Perturbation) -> Perturbation:
    """LQG with fewer sensors is redesigned for the ones it has (``subset``), rather than fed zeros."""
    if ctrl.is_agent or pert.name != "dead-sensors" or not ctrl.model.startswith("lqg"):
        return pert
    keep = sorted(set(range(8)) - set(pert.kwargs["indices"]))
    return Perturbation("subset", pert.levels, pert.label, {"indices": keep})


def evaluate_one(out: Path, task: str, ctrl: Controller, pert: Perturbation | None, level: float, episodes: int) -> dict | None:
    """Evaluate (or read back) one controller under one perturbation level; None if it cannot run (reason printed)."""
    from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent

    path = result_path(out, task, ctrl, pert, level)
    if path.exists():
        return json.loads(path.read_text())
    if ctrl.is_agent and not (ROOT / ctrl.model / "model.zip").exists():
        return None
    env_kwargs = {**TASKS[task]["env_kwargs"], **({"observe": "full"} if ctrl.observe == "full" else {})}
    used = None if pert is None else _baseline_fewer_sensors(ctrl, pert)
    try:
        args = AgentEvaluateArgs(
            model=ctrl.path(), episodes=episodes, seed=EVAL_SEED, out=str(path.parent),
            env_kwargs=None if ctrl.is_agent else env_kwargs, wrappers=(),
            perturbation=None if used is None else used.name,
            level=level, perturbation_kwargs=dict(used.kwargs) if used is not None else {},
        )
        t0 = time.perf_counter()
        report = evaluate_agent(args, progress=False)
    except ValueError as exc:
        print(f"  {ctrl.label} under {pert.name if pert else 'none'} {level:g}: not applicable ({exc})", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"not_applicable": str(exc)}))
        return None
    print(f"  {ctrl.label:28s} {pert.name if pert else 'clean':15s} {level:<6g} improvement {report['improvement']:.3f} "
          f"success {report['success_rate']} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return report


def run_task(out: Path, task: str, episodes: int, skip_expensive: bool, baselines_only: bool = False) -> None:
    print(f"[{task}]", flush=True)
    for ctrl in TASKS[task]["controllers"]:
        if (ctrl.expensive and skip_expensive) or (ctrl.is_agent and baselines_only):
            continue
        evaluate_one(out, task, ctrl, None, 0.0, episodes)
        for pert in PERTURBATIONS:
            if pert.agents_only and not ctrl.is_agent:
                continue
            if pert.name == "dead-sensors" and ctrl.observe == "full":
                continue  # point sensors do not apply to full-state feedback
            levels = pert.cheap_levels if (ctrl.expensive and pert.cheap_levels) else pert.levels
            if ctrl.expensive and not pert.cheap_levels and pert.name not in ("dead-sensors", "actuator-fault"):
                continue
            for level in levels:
                evaluate_one(out, task, ctrl, pert, level, episodes)


# ----------------------------------------------------------------------------------------------- report

def _read(out: Path, task: str, ctrl: Controller, pert: Perturbation | None, level: float) -> dict | None:
    path = result_path(out, task, ctrl, pert, level)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return None if "not_applicable" in data else data


def _metric(task: str, report: dict) -> tuple[float, float]:
    """(value, 95 % half-width): success rate for the target task (normal approximation), improvement otherwise."""
    if task.startswith("target"):
        p, n = report["success_rate"], report["episodes"]
        return p, 1.96 * math.sqrt(max(p * (1 - p), 1e-12) / n)
    return report["improvement"], report["improvement_ci95"] or 0.0


def _cell(task: str, report: dict | None) -> str:
    if report is None:
        return "–"
    v, h = _metric(task, report)
    if task.startswith("target"):
        return f"{100 * v:.0f} % ± {100 * h:.0f} (d {np.median([d for d in report['final_target_distance'] if d is not None] or [np.nan]):.2f})"
    return f"{100 * v:.0f} % ± {100 * h:.0f}"


def tables(out: Path) -> str:
    parts = []
    for task, spec in TASKS.items():
        what = "success rate (final rms(u - E1) < 0.1) ± 95 % CI, and the median final distance d" if task.startswith("target") \
            else "improvement of the second-half cost over no control ± 95 % CI"
        parts.append(f"### {task}: {what}\n")
        columns = [(None, 0.0, "clean")] + [(p, lv, f"{p.label.split(' (')[0]} {lv:g}" if len(p.levels) > 1 else p.label)
                                            for p in PERTURBATIONS for lv in p.levels]
        parts.append("| controller | " + " | ".join(c[2] for c in columns) + " |")
        parts.append("|---" * (len(columns) + 1) + "|")
        for ctrl in spec["controllers"]:
            cells = [_cell(task, _read(out, task, ctrl, p, lv)) for p, lv, _ in columns]
            parts.append(f"| {ctrl.label} | " + " | ".join(cells) + " |")
        parts.append("")
    return "\n".join(parts)


def figures(out: Path, fig_dir: Path) -> list[Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from chaoscontrol.io import atomic_path

    written = []
    names = []
    for p in PERTURBATIONS:
        if p.name not in names:
            names.append(p.name)
    for name in names:
        perts = [p for p in PERTURBATIONS if p.name == name]
        fig = Figure(figsize=(10, 3.8), dpi=80, layout="constrained")
        FigureCanvasAgg(fig)
        for col, task in enumerate(TASKS):
            ax = fig.add_subplot(1, 2, col + 1)
            for ctrl in TASKS[task]["controllers"]:
                xs, ys, hs = [], [], []
                clean = _read(out, task, ctrl, None, 0.0)
                points = ([(0.0, clean)] if clean and name not in ("dead-sensors", "actuator-fault") else [])
                for p in perts:
                    for lv in p.levels:
                        points.append((lv if name not in ("dead-sensors",) else 8 - len(p.kwargs["indices"]), _read(out, task, ctrl, p, lv)))
                if name == "dead-sensors" and clean:
                    points.append((8.0, clean))
                for x, rep in sorted(points, key=lambda t: t[0]):
                    if rep is None:
                        continue
                    v, h = _metric(task, rep)
                    xs.append(x), ys.append(v), hs.append(h)
                if xs:
                    ax.errorbar(xs, ys, yerr=hs, marker="o", ms=3, capsize=2, lw=1, label=ctrl.label)
            ax.set_title(task)
            ax.set_xlabel({"dead-sensors": "working sensors", "actuator-fault": "(actuator 1 dead)"}.get(name, perts[0].label))
            ax.set_ylabel("success rate" if task.startswith("target") else "improvement over no control")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6)
        path = fig_dir / f"robustness_{name}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        written.append(path)
    return written


def basin(out: Path) -> str:
    """LQR/LQG success against the size of the initial perturbation about E1, E2, E3 (cached in out/basin.json)."""
    from chaoscontrol.baselines.basin import basin_of_attraction

    cache = out / "basin.json"
    radii = (0.1, 0.3, 0.5, 0.7, 1.0, 1.5)
    data = json.loads(cache.read_text()) if cache.exists() else {}
    for eq in ("E1", "E2", "E3"):
        for spec, observe in (("lqr", "full"), ("lqg", "sensors"), ("zero", "full")):
            key = f"{eq}/{spec}"
            if key not in data:
                data[key] = basin_of_attraction(spec, {"objective": "target", "target": eq, "observe": observe}, radii, episodes=40)
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_text(json.dumps(data, indent=1))
    lines = ["| equilibrium | controller | " + " | ".join(f"rms(δ) = {r:g}" for r in radii) + " |", "|---" * (len(radii) + 2) + "|"]
    for key, rows in data.items():
        eq, spec = key.split("/")
        lines.append(f"| {eq} | {spec if spec != 'zero' else 'no control'} | " + " | ".join(f"{100 * r['success_rate']:.0f} %" for r in rows) + " |")
    return "\n".join(lines) + "\n"


def from_the_attractor(out: Path, episodes: int) -> str:
    """LQR and LQG about E1, E2, E3 from attractor states (the target task's episodes), 20 episodes each."""
    from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent

    lines = ["| target | LQR (full state): success | LQR improvement | LQG (8 sensors): success | LQG improvement |", "|---|---|---|---|---|"]
    for eq in ("E1", "E2", "E3"):
        cells = []
        for spec, observe in (("lqr", "full"), ("lqg", "sensors")):
            path = out / "attractor" / eq / spec / "evaluation.json"
            if not path.exists():
                evaluate_agent(AgentEvaluateArgs(model=spec, episodes=episodes, seed=EVAL_SEED, out=str(path.parent),
                                                 env_kwargs={"objective": "target", "target": eq, "observe": observe}), progress=False)
            rep = json.loads(path.read_text())
            cells += [f"{100 * rep['success_rate']:.0f} %", f"{100 * rep['improvement']:.0f} % ± {100 * rep['improvement_ci95']:.0f}"]
        lines.append(f"| {eq} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def learning_curves(fig_dir: Path) -> str:
    """Evaluation cost against env steps, plain and symmetry-reduced PPO on the dissipation task (3 seeds each)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from chaoscontrol.io import atomic_path

    fig = Figure(figsize=(6, 3.6), dpi=80, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    lines = ["| agent | seeds | env steps to reach cost 0.45 (per seed) | final evaluation cost (per seed) |", "|---|---|---|---|"]
    for name, colour in (("ppo_dissipation", "C0"), ("ppo_dissipation_symmetry", "C1")):
        reach, final, n = [], [], 0
        for seed in (0, 1, 2):
            path = RUNS / name / f"s{seed}" / "evaluations.jsonl"
            if not path.exists():
                continue
            rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
            if not rows:
                continue
            n += 1
            steps = [r["timesteps"] for r in rows]
            cost = [r["mean_cost_second_half"] for r in rows]
            ax.plot(steps, cost, color=colour, lw=1, label=name if seed == 0 else None)
            hit = [s for s, c in zip(steps, cost) if c <= 0.45]
            reach.append(f"{hit[0] / 1e6:.2f}M" if hit else "not reached")
            final.append(f"{cost[-1]:.3f} at {steps[-1] / 1e6:.2f}M")
        lines.append(f"| {name} | {n} | {', '.join(reach)} | {', '.join(final)} |")
    ax.set_xlabel("env steps")
    ax.set_ylabel("evaluation cost, 2nd half (8 episodes)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    with atomic_path(fig_dir / "robustness_learning_curves.png") as tmp:
        fig.savefig(tmp, format="png")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ns = parse_args(argv)
    out = ROOT / ns.out
    if not ns.report_only:
        for task in ns.tasks:
            run_task(out, task, ns.episodes, ns.skip_expensive, ns.baselines_only)
    fig_dir = ROOT / "docs" / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    figures(out, fig_dir)
    content = ("Generated by `.venv/bin/python scripts/robustness_study.py` "
               f"({ns.episodes} episodes per cell, env seeds {EVAL_SEED} + e).\n\n" + tables(out)
               + "\n#### The linear controllers from attractor states (no RL), the target task for E1, E2, E3\n\n"
               + from_the_attractor(out, ns.episodes)
               + "\n#### Basin of attraction of the linear controllers (success from u* + δ, 40 smooth random δ, 400 steps)\n\n"
               + basin(out) + "\n#### Learning curves, dissipation task\n\n![learning curves](figures/robustness_learning_curves.png)\n\n"
               + learning_curves(fig_dir))
    write_between_markers(ROOT / ns.doc, "robustness-tables", content, "Robustness")
    print(f"wrote {ns.doc}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
