"""The demo pipeline's ``report.md``: the table of controllers on the truth, the transfer gap, the surrogate, the
robustness sweep, the figures and the timings."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from chaoscontrol.apps.pipeline_args import BASELINE_ROWS, EVAL_SEED, PipelineArgs
from chaoscontrol.io import atomic_path


def _mean_ci(values: list[float | None]) -> tuple[float | None, float | None]:
    """Mean and 95 % half-width over the finite values (None where undefined), as in ``evaluation.json``."""
    from chaoscontrol.agents.evaluation import ci95, finite_mean

    x = np.array([np.nan if v is None else v for v in values], dtype=float)
    return finite_mean(x), ci95(x)


def write_report(out: Path, args: PipelineArgs, agents: dict[str, list[Path]], walls: dict[str, float],
                 noise: dict[float, dict[str, float]]) -> Path:
    """Write ``out/report.md``: the results table, the transfer gap, the timings and the figures.

    :param out: the pipeline's output folder (the steps' results are read from it).
    :param args: the pipeline's arguments.
    :param agents: the run folders of the agents, by ``truth`` and ``surrogate``, one per seed.
    :param walls: wall-clock seconds of each step.
    :param noise: the robustness sweep's summary by noise level (:func:`~chaoscontrol.agents.robustness.summarise`).
    :return: the path of ``report.md``.
    """
    rows = []

    def evaluation(path: Path) -> dict[str, Any]:
        return json.loads(path.read_text())

    for kind in ("truth", "surrogate"):
        evals = [evaluation(run / "eval" / "evaluation.json") for run in agents[kind]]
        timings = [json.loads((run / "timing.json").read_text()) for run in agents[kind]]
        per_episode_costs = [c for e in evals for c in e["per_episode"]["cost_second_half"]]
        improvements = [e["improvement"] for e in evals]
        rows.append({
            "name": f"{args.algo.upper()} trained on the {kind}", "cost": _mean_ci(per_episode_costs),
            "no_control": evals[0]["no_control_cost_second_half"], "improvement": _mean_ci(improvements) if len(evals) > 1
            else (evals[0]["improvement"], evals[0]["improvement_ci95"]),
            "success": evals[0]["success_rate"], "blowups": sum(e["blowups"] for e in evals),
            "episodes": sum(e["episodes"] for e in evals), "train_min": np.mean([t["wall_s"] for t in timings]) / 60,
            "env_fraction": np.mean([t["env_fraction"] for t in timings]),
        })
    for name, label in BASELINE_ROWS.items():
        e = evaluation(out / "baselines" / name / "evaluation.json")
        rows.append({"name": label,
                     "cost": (e["mean_cost_second_half"], e["mean_cost_second_half_ci95"]),
                     "no_control": e["no_control_cost_second_half"], "improvement": (e["improvement"], e["improvement_ci95"]),
                     "success": e["success_rate"], "blowups": e["blowups"], "episodes": e["episodes"], "train_min": None,
                     "env_fraction": None})
    truth_gain, sur_gain = rows[0]["improvement"][0], rows[1]["improvement"][0]
    kept = sur_gain / truth_gain if truth_gain is not None and sur_gain is not None and truth_gain > 0 else float("nan")
    sur_report = json.loads((out / "surrogate" / "eval" / "report.json").read_text())

    def cell(x: tuple[float, float] | None, pct: bool = False) -> str:
        if x is None or x[0] is None or not math.isfinite(x[0]):
            return "n/a"
        m, h = x
        known = h is not None and math.isfinite(h)
        if pct:
            return f"{100 * m:.1f} % ± {100 * h:.1f}" if known else f"{100 * m:.1f} %"
        return f"{m:.3f} ± {h:.3f}" if known else f"{m:.3f}"

    def line(r: dict[str, Any]) -> str:
        success = "n/a" if r["success"] is None else f"{100 * r['success']:.0f} %"
        train = "—" if r["train_min"] is None else f"{r['train_min']:.1f}"
        share = "—" if r["env_fraction"] is None else f"{100 * r['env_fraction']:.0f} %"
        return (f"| {r['name']} | {cell(r['cost'])} | {r['no_control']:.3f} | {cell(r['improvement'], pct=True)} | {success} | "
                f"{r['blowups']}/{r['episodes']} | {train} | {share} |")

    table = "\n".join(line(r) for r in rows)
    kept_text = "n/a" if not math.isfinite(kept) else f"{100 * kept:.0f} %"
    wall_text = "\n".join(f"- {k}: {v:.0f}" for k, v in walls.items())
    noise_rows = "\n".join(
        f"| {lv:g} | {s['return_mean']:.1f} ± {s['return_ci95']:.1f} | {s['dissipation_mean']:.3f} ± {s['dissipation_ci95']:.3f} "
        f"| {100 * s['blowup_fraction']:.0f} % |" for lv, s in noise.items()
    )
    objective = args.env_kwargs.get("objective", "dissipation")
    text = f"""# chaoscontrol pipeline report

Regenerate: `make demo` (or `chaoscontrol demo --out {out}`); every step is skipped when its output exists,
so delete `{out}` to start over. Objective: **{objective}**; algorithm: {args.algo.upper()}, {args.timesteps:,} env steps
per agent, seeds {list(args.seeds)}; evaluation: {args.eval_episodes} episodes per agent on the **truth** (episode e from
env seed {EVAL_SEED} + e), the same initial states for every controller. Costs are the mean of -reward over the second
half of each episode (mean ± 95 % CI over episodes); improvement = 1 - cost / no-control cost, per episode.
A demo-size run: few steps and one seed, so these numbers show the pipeline working, not the suite's results
(those are in docs/results.md).

## Controllers on the truth

| controller | cost, 2nd half | no control | improvement | success | blow-ups | training (min) | env share of training |
|---|---|---|---|---|---|---|---|
{table}

**Surrogate to truth:** the policy trained only on the surrogate keeps {kept_text}
of the truth-trained policy's improvement over no control (goal of the full-size study: at least 80 %).

## The surrogate ({sur_report['family']})

Valid prediction time {sur_report['vpt_lyapunov_median']:.2f} Lyapunov times (median over {args.surrogate_eval_initial}
forced runs), one-step error {sur_report['one_step_error']:.1e}, free-run blow-ups {100 * sur_report['blowup_fraction']:.0f} %,
trained on {args.dataset_trajectories} x {args.dataset_steps} steps for at most {args.surrogate_minutes:g} min.
Details: [surrogate/eval/report.md](surrogate/eval/report.md).

## Robustness of the truth-trained agent to Gaussian sensor noise

Noise std as a fraction of rms(u) on the attractor; {args.robustness_episodes} episodes per level.

| noise | return | mean dissipation | blow-ups |
|---|---|---|---|
{noise_rows}

![robustness](robustness/robustness.png)

## Figures

Controlled (truth-trained agent, seed {args.seeds[0]}) vs uncontrolled, from the same initial state:

![truth agent](agent_truth_s{args.seeds[0]}/eval/evaluation.png)

Surrogate-trained agent on the truth:

![surrogate agent](agent_surrogate_s{args.seeds[0]}/eval/evaluation.png)

The KS equation with and without random actuation: ![simulation](simulate/space_time.png)

## Wall-clock per step (s)

{wall_text}
"""
    path = out / "report.md"
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


__all__ = ["write_report"]
