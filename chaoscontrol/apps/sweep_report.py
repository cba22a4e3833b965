"""``chaoscontrol sweep-report OUT``: the statistics of a sweep's trials (:mod:`chaoscontrol.apps.statistics`).

Reads the trials in ``OUT/trials/*/`` (``trial.json``, ``evaluation/evaluation.json``, ``train/evaluations.jsonl``)
and writes

- ``OUT/report.md``: per experiment (trials that differ only by seed) the IQM and mean of the metric over seeds,
  each with its 95 % stratified-bootstrap interval, and the probability of improvement between the experiments of
  each env id (P(row > column));
- ``OUT/report.json``: the same numbers;
- ``OUT/profiles.png``: performance profiles (fraction of seeds whose metric exceeds tau) with bands;
- ``OUT/learning_curves.png``: the IQM over seeds of the training's periodic truth evaluations (mean return) with
  bands, at the evaluation steps every seed has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chaoscontrol.apps.statistics import DEFAULT_REPS, aggregate_estimates, curve_bands, performance_profile, probability_of_improvement
from chaoscontrol.io import write_json_atomic
from chaoscontrol.validation import check_choice, check_int

#: The per-trial metrics of ``evaluation.json`` a report can aggregate.
METRICS = ("improvement", "success_rate", "mean_return")


@dataclass(frozen=True)
class SweepReportArgs:
    """Arguments of ``chaoscontrol sweep-report``."""

    out: str
    """The sweep's folder (its ``out``)."""
    metric: str = "improvement"
    """The trial score from evaluation.json: improvement (1 - cost / no-control cost), success_rate or mean_return."""
    reps: int = DEFAULT_REPS
    """Bootstrap replications."""
    seed: int = 0
    """Seed of the bootstraps (the report is reproducible)."""

    def __post_init__(self) -> None:
        check_choice("metric", self.metric, METRICS)
        check_int("reps", self.reps)
        check_int("seed", self.seed, minimum=0)


def collect_trials(out: str | Path) -> list[dict[str, Any]]:
    """The trials in ``OUT/trials``: their record, evaluation (or None) and periodic evaluations.

    :param out: the sweep's folder.
    :raises ValueError: no trial folder there.
    """
    folders = sorted(p.parent for p in (Path(out) / "trials").glob("*/trial.json"))
    if not folders:
        raise ValueError(f"out: {str(out)!r} holds no sweep trials (no trials/*/trial.json)")
    trials = []
    for folder in folders:
        record = json.loads((folder / "trial.json").read_text())
        evaluation = folder / "evaluation" / "evaluation.json"
        curve = folder / "train" / "evaluations.jsonl"
        trials.append({**record, "evaluation": json.loads(evaluation.read_text()) if evaluation.is_file() else None,
                       "curve": [json.loads(x) for x in curve.read_text().splitlines() if x.strip()] if curve.is_file() else []})
    return trials


def _label(config: dict[str, Any], varying: list[str]) -> str:
    """What sets an experiment apart: its algo and env, and the grid keys that vary in the sweep."""
    parts = [config["algo"], config["env_id"]] + [f"{k}={json.dumps(config[k], sort_keys=True)}" for k in varying
                                                    if k not in ("algo", "env_id")]
    return " ".join(parts)


def _experiments(trials: list[dict[str, Any]], metric: str) -> dict[str, dict[str, Any]]:
    keys = ("env_id", "env_kwargs", "algo", "wrappers", "surrogate", "hyperparams", "train", "evaluation")
    varying = [k for k in keys if len({json.dumps(t["config"][k], sort_keys=True) for t in trials}) > 1]
    experiments: dict[str, dict[str, Any]] = {}
    for t in trials:
        e = experiments.setdefault(t["experiment"], {"label": _label(t["config"], varying), "env_id": t["config"]["env_id"],
                                                    "seeds": [], "scores": [], "missing": [], "curves": []})
        value = None if t["evaluation"] is None else t["evaluation"].get(metric)
        if value is None:
            e["missing"].append(t["seed"])
        else:
            e["seeds"].append(t["seed"])
            e["scores"].append(float(value))
        if t["curve"]:
            e["curves"].append({r["timesteps"]: r["mean_return"] for r in t["curve"]})
    return experiments


def _fmt(e: Any) -> str:
    return f"{e.value:.3f} [{e.low:.3f}, {e.high:.3f}]"


def write_sweep_report(out: str | Path, metric: str = "improvement", reps: int = DEFAULT_REPS, seed: int = 0) -> Path:
    """Write ``OUT/report.md``, ``report.json``, ``profiles.png`` and ``learning_curves.png`` (module docstring).

    :param out: the sweep's folder.
    :param metric: one of :data:`METRICS`.
    :param reps: bootstrap replications.
    :param seed: the bootstraps' seed.
    :return: the path of ``report.md``.
    """
    SweepReportArgs(str(out), metric, reps, seed)
    out = Path(out)
    experiments = _experiments(collect_trials(out), metric)
    scored = {name: e for name, e in experiments.items() if e["scores"]}
    estimates = aggregate_estimates({n: np.array(e["scores"]) for n, e in scored.items()}, reps=reps, seed=seed)
    lines = [f"# Sweep report: {out.name}", "",
             f"Metric: `{metric}` of each trial's final evaluation; IQM and mean over seeds with 95 % stratified-bootstrap "
             f"intervals (rliable, {reps} replications, seed {seed}). Regenerate: `chaoscontrol sweep-report {out} "
             f"--metric {metric} --reps {reps} --seed {seed}`.", "",
             "| experiment | configuration | seeds | IQM [95 % CI] | mean [95 % CI] | no score |", "|---|---|---|---|---|---|"]
    for name, e in experiments.items():
        est = estimates.get(name)
        lines.append(f"| `{name}` | {e['label']} | {len(e['scores'])} | {_fmt(est['iqm']) if est else 'n/a'} | "
                     f"{_fmt(est['mean']) if est else 'n/a'} | {', '.join(map(str, e['missing'])) or '-'} |")
    improvements = []
    by_env: dict[str, list[str]] = {}
    for name, e in scored.items():
        by_env.setdefault(e["env_id"], []).append(name)
    for env_id, names in by_env.items():
        for a in names:
            for b in names:
                if a != b:
                    p = probability_of_improvement(np.array(scored[a]["scores"]), np.array(scored[b]["scores"]), reps=reps, seed=seed)
                    improvements.append({"x": a, "y": b, "env_id": env_id, **p.to_dict()})
    if improvements:
        lines += ["", "Probability of improvement P(X > Y) with its 95 % interval (experiments of the same env id):", "",
                  "| X | Y | P(X > Y) [95 % CI] |", "|---|---|---|"]
        lines += [f"| `{r['x']}` | `{r['y']}` | {r['value']:.3f} [{r['low']:.3f}, {r['high']:.3f}] |" for r in improvements]
    figures = _figures(out, scored, experiments, metric, reps, seed)
    lines += [""] + [f"![{f.stem}]({f.name})" for f in figures] + [""]
    (out / "report.md").write_text("\n".join(lines))
    write_json_atomic(out / "report.json", {
        "metric": metric, "reps": reps, "seed": seed,
        "experiments": {n: {"label": e["label"], "seeds": e["seeds"], "scores": e["scores"], "missing": e["missing"],
                            **({k: v.to_dict() for k, v in estimates[n].items()} if n in estimates else {})}
                        for n, e in experiments.items()},
        "probability_of_improvement": improvements})
    return out / "report.md"


def _figures(out: Path, scored: dict[str, dict[str, Any]], experiments: dict[str, dict[str, Any]], metric: str,
             reps: int, seed: int) -> list[Path]:
    """``profiles.png`` (if any experiment has scores) and ``learning_curves.png`` (if any has a curve)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    if scored:
        values = np.concatenate([np.array(e["scores"]) for e in scored.values()])
        taus = np.linspace(values.min() - 1e-9, values.max() + 1e-9, 101)
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, e in scored.items():
            profile, band = performance_profile(np.array(e["scores"]), taus, reps=reps, seed=seed)
            ax.plot(taus, profile, label=e["label"])
            ax.fill_between(taus, band[0], band[1], alpha=0.2)
        ax.set(xlabel=f"{metric} tau", ylabel=f"fraction of seeds with {metric} > tau", ylim=(-0.02, 1.02))
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "profiles.png", dpi=100)
        plt.close(fig)
        written.append(out / "profiles.png")
    curves = {n: e for n, e in experiments.items() if e["curves"]}
    if curves:
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, e in curves.items():
            steps = sorted(set.intersection(*(set(c) for c in e["curves"])))
            if not steps:
                continue
            matrix = np.array([[c[s] for s in steps] for c in e["curves"]])
            mid, band = curve_bands(matrix, reps=reps, seed=seed)
            ax.plot(steps, mid, marker="o", ms=3, label=f"{e['label']} ({len(e['curves'])} seeds)")
            ax.fill_between(steps, band[0], band[1], alpha=0.2)
        ax.set(xlabel="env steps", ylabel="evaluation mean return (IQM over seeds)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "learning_curves.png", dpi=100)
        plt.close(fig)
        written.append(out / "learning_curves.png")
    return written


__all__ = ["METRICS", "SweepReportArgs", "collect_trials", "write_sweep_report"]
