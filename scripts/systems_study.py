"""What works where: PPO against no control and the linear baselines on every registered system.

    .venv/bin/python scripts/systems_study.py                          # train, evaluate, tabulate (about an hour on 2 cores)
    .venv/bin/python scripts/systems_study.py --only l63_target_Cplus  # one task
    .venv/bin/python scripts/systems_study.py --report-only            # re-tabulate what is finished

For each task (a system and one of its objectives) PPO is trained with ``chaoscontrol train --env ID`` for
``--timesteps`` env steps with seeds 0, 1, 2 (the project's ``configs/ppo.yaml``; ``--jobs`` runs at a time, one
thread each; a finished run is skipped, an interrupted one resumes). Every controller is then evaluated with
``chaoscontrol.agents.evaluation.evaluate_agent`` on the truth: ``--episodes`` episodes from env seeds 10000 + e,
the same initial states for every controller and for no control, the registered episode length. The linear
baselines are LQR on the full state (``observe="full"``) and LQG on the env's sensors, about the task's target (or
the baseline's default set point); where a baseline does not exist for a task (no fixed point, undetectable,
unstabilisable) the table says so with the reason.

The score of an episode is its improvement over no control, 1 - cost / cost(no control), with cost the mean of
-reward over the second half of the episode (a blow-up scores -1 here, so that it counts against the controller
rather than dropping out). For PPO the point estimate and 95 % interval are rliable's (Agarwal et al. 2021): the
interquartile mean and the mean over the (seed x episode) score matrix, with a stratified bootstrap over seeds
for each of the shared initial states (tasks in rliable's sense); the baselines are deterministic, so theirs is a
bootstrap over episodes. Results go to ``runs/systems_study/<task>/``, the table into docs/systems.md between the
``<!-- systems-study-<budget>k -->`` markers and the figure to docs/figures/systems_study_<budget>k.png (one table
per training budget).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_tables import write_between_markers  # noqa: E402 - the scripts folder is on sys.path only from here
from jobpool import Job, run_jobs  # noqa: E402

RUNS = ROOT / "runs" / "systems_study"
DOC = ROOT / "docs" / "systems.md"
FIGURE = ROOT / "docs" / "figures" / "systems_study.png"  # with the budget in its name
EVAL_SEED = 10_000
SEEDS = (0, 1, 2)
#: The score of an episode that blew up (improvement over no control).
BLOWUP_SCORE = -1.0


@dataclass(frozen=True)
class Task:
    """One system and objective."""

    name: str
    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    full_state: dict[str, Any] = field(default_factory=lambda: {"observe": "full"})
    """The env keywords that make the observation the full state (for LQR)."""


TASKS: tuple[Task, ...] = (
    Task("l63_target_Cplus", "Lorenz63-Control-v0", {"objective": "target", "target": "C+"}, "reach and hold C+", full_state={}),
    Task("l63_avoid", "Lorenz63-Control-v0", {"objective": "avoid"}, "stay out of the x < 0 wing", full_state={}),
    Task("l96_variance", "Lorenz96-Control-v0", {"objective": "variance"}, "spatial variance, K = 40"),
    Task("l96_energy", "Lorenz96-Control-v0", {"objective": "energy"}, "energy <x^2>/2, K = 40"),
    Task("l96_target_steady", "Lorenz96-Control-v0", {"objective": "target", "target": "steady"}, "reach x_i = F"),
    Task("ks_dissipation", "KS-Control-v0", {"objective": "dissipation"}, "L = 22, Zeng & Graham's -(D + P_f)"),
    Task("ks_target_E1", "KS-Control-v0", {"objective": "target", "target": "E1"}, "L = 22, Bucci et al.: reach E1"),
    Task("ks66_dissipation", "KS-L66-Control-v0", {"objective": "dissipation"}, "L = 66, 12 actuators"),
    Task("ks66_target_E1", "KS-L66-Control-v0", {"objective": "target", "target": "E1"}, "L = 66: three copies of E1"),
    Task("ks100_dissipation", "KS-L100-Control-v0", {"objective": "dissipation"}, "L = 100, 18 actuators"),
    Task("ks100_target_E1", "KS-L100-Control-v0", {"objective": "target", "target": "E1"},
         "L = 100: E1 continued to L = 33.3, three copies"),
    Task("cgle_uniform", "CGLE-Control-v0", {"objective": "uniform"}, "reach the uniform oscillation, modulus 1"),
    Task("cgle_defects", "CGLE-Control-v0", {"objective": "defects"}, "amplitude fluctuations"),
)

#: Controllers besides the trained agents: label -> (model spec, whether it reads the full state).
BASELINES = {"LQR (full state)": ("lqr", True), "LQG (sensors)": ("lqg", False)}


def max_episode_steps(env_id: str) -> int:
    from chaoscontrol.envs.registration import default_max_episode_steps

    return int(default_max_episode_steps(env_id) or 400)


def train_jobs(tasks: list[Task], timesteps: int) -> list[Job]:
    """The ``chaoscontrol train`` command of every (task, seed) run that has no final model yet."""
    jobs = []
    for task in tasks:
        for seed in SEEDS:
            out = RUNS / task.name / f"ppo_s{seed}"
            if (out / "model.zip").exists():
                continue
            cmd = [sys.executable, "-m", "chaoscontrol.apps.cli", "train", "--algo", "ppo", "--env", task.env_id,
                   "--env-kwargs", json.dumps(task.env_kwargs), "--seed", str(seed), "--timesteps", str(timesteps),
                   "--out", str(out), "--eval-freq", "0", "--checkpoint-freq", str(max(timesteps // 4, 1000)),
                   "--max-episode-steps", str(max_episode_steps(task.env_id)), "--no-progress"]
            if (out / "config.json").exists():
                cmd.append("--resume")
            jobs.append(Job(f"{task.name}/ppo_s{seed}", cmd, out.parent / f"ppo_s{seed}.log"))
    return jobs


def evaluate(task: Task, label: str, model: str, extra: dict[str, Any], episodes: int) -> dict[str, Any]:
    """The evaluation of one controller on ``task`` (cached in its folder); ``{"error": ...}`` if it cannot be built."""
    from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent

    out = RUNS / task.name / "eval" / label.split(" ")[0].lower()
    done = out / "evaluation.json"
    if done.exists():
        return json.loads(done.read_text())
    failed = out / "error.json"
    kwargs = {} if model.endswith(".zip") else {"env_id": task.env_id, "env_kwargs": {**task.env_kwargs, **extra}}
    try:
        args = AgentEvaluateArgs(model=model, episodes=episodes, seed=EVAL_SEED, out=str(out),
                                 max_episode_steps=max_episode_steps(task.env_id), **kwargs)
        return evaluate_agent(args, progress=False)
    except ValueError as exc:  # a baseline that does not exist for this task: say why
        out.mkdir(parents=True, exist_ok=True)
        failed.write_text(json.dumps({"error": str(exc)}))
        return {"error": str(exc)}


def scores(report: dict[str, Any]) -> np.ndarray:
    """Per-episode improvement over no control, a blow-up scoring :data:`BLOWUP_SCORE`."""
    cost = np.array([np.nan if c is None else c for c in report["per_episode"]["cost_second_half"]], dtype=float)
    free = np.array(report["per_episode"]["no_control_cost_second_half"], dtype=float)
    s = 1.0 - cost / free
    return np.where(np.isfinite(s), s, BLOWUP_SCORE)


def interval(matrix: np.ndarray, seed: int = 0, reps: int = 2000) -> dict[str, float]:
    """rliable's IQM and mean of a (runs, tasks) score matrix with 95 % stratified-bootstrap intervals."""
    from rliable import library as rly
    from rliable import metrics

    def aggregate(x: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_iqm(x), metrics.aggregate_mean(x)])

    if matrix.shape[0] == 1:  # a deterministic controller: bootstrap the episodes (one task of many runs)
        matrix = matrix.T
    with warnings.catch_warnings():  # arch's notice that random_state will become a Generator
        warnings.simplefilter("ignore", FutureWarning)
        point, ci = rly.get_interval_estimates({"m": matrix}, aggregate, reps=reps,
                                               random_state=np.random.RandomState(seed))
    (iqm, mean), ((iqm_lo, mean_lo), (iqm_hi, mean_hi)) = point["m"], ci["m"]
    return {"iqm": float(iqm), "iqm_lo": float(iqm_lo), "iqm_hi": float(iqm_hi),
            "mean": float(mean), "mean_lo": float(mean_lo), "mean_hi": float(mean_hi)}


def task_results(task: Task, episodes: int) -> dict[str, Any]:
    """Every controller's scores and intervals on ``task`` (PPO only over its finished seeds)."""
    out: dict[str, Any] = {}
    runs = [RUNS / task.name / f"ppo_s{s}" / "model.zip" for s in SEEDS]
    done = [r for r in runs if r.exists()]
    if done:
        reports = [evaluate(task, f"ppo_s{r.parent.name[-1]}", str(r), {}, episodes) for r in done]
        matrix = np.stack([scores(r) for r in reports])
        out["PPO"] = {**interval(matrix), "seeds": len(done), "blowups": sum(r["blowups"] for r in reports),
                      "success": _success([r.get("success_rate") for r in reports]),
                      "no_control_cost": reports[0]["no_control_cost_second_half"]}
    for label, (spec, full) in BASELINES.items():
        report = evaluate(task, label, spec, task.full_state if full else {}, episodes)
        if "error" in report:
            out[label] = {"error": report["error"]}
            continue
        out[label] = {**interval(scores(report)[None]), "blowups": report["blowups"],
                      "success": report.get("success_rate"), "no_control_cost": report["no_control_cost_second_half"]}
    return out


def _success(rates: list[float | None]) -> float | None:
    rates = [r for r in rates if r is not None]
    return float(np.mean(rates)) if rates else None


def verdict(res: dict[str, Any]) -> str:
    """One line: who beats no control (interval above 0), and PPO against the best baseline (disjoint intervals only)."""
    ok = {k: v for k, v in res.items() if "error" not in v}
    winners = [k for k, v in ok.items() if v["mean_lo"] > 0]
    if not winners:
        return "nothing beats no control"
    baselines = {k: v for k, v in ok.items() if k != "PPO"}
    ppo = ok.get("PPO")
    if ppo and baselines:
        best = max(baselines.values(), key=lambda v: v["mean"])
        if ppo["mean_lo"] > best["mean_hi"]:
            return "PPO beats every baseline"
        if ppo["mean_hi"] < best["mean_lo"]:
            return "a linear baseline beats PPO"
        return "PPO and the best baseline overlap; beat no control: " + ", ".join(w.split(" ")[0] for w in winners)
    return "beat no control: " + ", ".join(w.split(" ")[0] for w in winners)


def _cell(v: dict[str, Any]) -> str:
    if "error" in v:
        reason = v["error"].split(";")[0].split(":")[0][:60]
        return f"n/a ({reason})"
    return f"{v['mean']:+.2f} [{v['mean_lo']:+.2f}, {v['mean_hi']:+.2f}]"


def table(results: dict[str, dict[str, Any]], timesteps: int, episodes: int) -> str:
    labels = ["PPO", *BASELINES]
    lines = [f"PPO: {timesteps:,} env steps per seed, seeds {', '.join(map(str, SEEDS))}; {episodes} evaluation episodes "
             f"from env seeds {EVAL_SEED} + e. Mean improvement over no control [95 % interval]; "
             "a blow-up scores -1.", "",
             "| task | system | " + " | ".join(labels) + " | PPO IQM | success (PPO) | blow-ups (PPO) | what works |",
             "|---|---|" + "---|" * len(labels) + "---|---|---|---|"]
    by_name = {t.name: t for t in TASKS}
    for name, res in results.items():
        task = by_name[name]
        ppo = res.get("PPO")
        cells = [_cell(res[k]) if k in res else "not run" for k in labels]
        iqm = f"{ppo['iqm']:+.2f} [{ppo['iqm_lo']:+.2f}, {ppo['iqm_hi']:+.2f}]" if ppo else "-"
        success = "-" if not ppo or ppo["success"] is None else f"{ppo['success']:.2f}"
        lines.append(f"| `{name}` ({task.note}) | `{task.env_id}` | " + " | ".join(cells)
                     + f" | {iqm} | {success} | {ppo['blowups'] if ppo else '-'} | {verdict(res)} |")
    return "\n".join(lines)


def figure(results: dict[str, dict[str, Any]], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from chaoscontrol.io import atomic_path

    labels = ["PPO", *BASELINES]
    names = list(results)
    fig = Figure(figsize=(8, 0.45 * len(names) + 1.2), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    height = 0.8 / len(labels)
    for j, label in enumerate(labels):
        for i, name in enumerate(names):
            v = results[name].get(label)
            if not v or "error" in v:
                continue
            y = i + (j - (len(labels) - 1) / 2) * height
            ax.barh(y, v["mean"], height, color=f"C{j}", label=label if i == 0 or label not in ax.get_legend_handles_labels()[1] else None)
            ax.plot([v["mean_lo"], v["mean_hi"]], [y, y], color="k", lw=1)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("improvement over no control, 1 - cost / cost(no control) (95 % interval)")
    ax.legend(fontsize=8, loc="lower right")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def main(argv: list[str] | None = None) -> int:
    global RUNS  # the one setting the functions above read: --runs
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=[t.name for t in TASKS], help="tasks to run (default: all)")
    p.add_argument("--timesteps", type=int, default=100_000, help="PPO env steps per seed (default 100,000)")
    p.add_argument("--episodes", type=int, default=20, help="evaluation episodes (default 20)")
    p.add_argument("--jobs", type=int, default=2, help="training runs at a time (default 2)")
    p.add_argument("--report-only", action="store_true", help="re-tabulate what is finished; train nothing")
    p.add_argument("--runs", default=str(RUNS), help=f"where the runs go (default {RUNS.relative_to(ROOT)})")
    p.add_argument("--no-docs", action="store_true", help="print the table; leave docs/ as they are (a trial run)")
    args = p.parse_args(argv)
    if args.timesteps < 1 or args.episodes < 2 or args.jobs < 1:
        p.error("--timesteps and --jobs must be >= 1, --episodes >= 2")
    RUNS = Path(args.runs).resolve()
    tasks = [t for t in TASKS if not args.only or t.name in args.only]
    start = time.time()
    if not args.report_only:
        jobs = train_jobs(tasks, args.timesteps)
        print(f"training {len(jobs)} runs, {args.jobs} at a time (logs in {RUNS}/<task>/)", flush=True)
        codes = run_jobs(jobs, args.jobs, stop_on_failure=False)
        failed = [k for k, c in codes.items() if c != 0]
        if failed:
            print(f"failed runs (see their logs): {failed}", file=sys.stderr)
    results = {}
    for task in (tasks if not args.report_only else [t for t in TASKS if (RUNS / t.name).exists()]):
        print(f"evaluating {task.name}", flush=True)
        results[task.name] = task_results(task, args.episodes)
    (RUNS / "results.json").parent.mkdir(parents=True, exist_ok=True)
    (RUNS / "results.json").write_text(json.dumps(results, indent=1))
    text = table(results, args.timesteps, args.episodes)
    print(text)
    if args.no_docs:
        return 0
    walls = [json.loads(t.read_text())["wall_s"] for t in RUNS.glob("*/ppo_s*/timing.json")]
    write_between_markers(DOC, f"systems-study-{args.timesteps // 1000}k", text + "\n\nRegenerate: `.venv/bin/python scripts/systems_study.py"
                          + (f" --timesteps {args.timesteps}" if args.timesteps != 100_000 else "")
                          + (f" --runs {Path(args.runs).resolve().relative_to(ROOT)}" if RUNS != ROOT / "runs" / "systems_study" else "")
                          + f"`. The {len(walls)} PPO runs took {sum(walls) / 60:.0f} min of wall-clock in all "
                          f"(median {np.median(walls) if walls else 0:.0f} s each, two at a time on the 2 cores beside other jobs; "
                          "`timing.json` of each run).\n", "Systems")
    figure(results, FIGURE.with_name(f"systems_study_{args.timesteps // 1000}k.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
