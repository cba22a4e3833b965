"""The end-to-end pipeline: simulate, dataset, surrogate, agents on truth and surrogate, evaluation, robustness, report.

``chaoscontrol demo`` (the README's first command, ``make demo``) runs it at demo size on 2 cores in
well under 15 minutes; ``scripts/reproduce.py`` runs the same steps at full size, with several seeds.
Every step is resumable: a step whose output exists (and is complete) is skipped, so an interrupted
pipeline continues where it stopped. Output, in ``OUT`` (default ``runs/demo``):

- ``simulate/``: space-time diagrams of the uncontrolled and randomly actuated KS equation;
- ``data.h5``: trajectories of the truth under random actuation;
- ``surrogate/``: the trained surrogate (``model.pt``) and its evaluation against the truth (``eval/``);
- ``agent_truth_s<seed>/``, ``agent_surrogate_s<seed>/``: the agents' run folders (PPO by default),
  each with ``eval/evaluation.json`` on the truth;
- ``baselines/{zero,random,lqg}/``: the same evaluation for no control, random actions and the LQG baseline;
- ``robustness/``: the truth-trained agent under Gaussian sensor noise;
- ``report.md`` with the table of results, the transfer gap and the figures.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chaoscontrol.io import atomic_path, write_json_atomic
from chaoscontrol.validation import check_int


@dataclass(frozen=True)
class PipelineArgs:
    """Sizes and settings of the pipeline (defaults: the demo on 2 cores)."""

    out: str = "runs/demo"
    """Output folder."""
    algo: str = "ppo"
    """Agent algorithm."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keywords of KS-Control-v0 (the objective: dissipation by default)."""
    seeds: tuple[int, ...] = (0,)
    """Training seeds of the agents."""
    timesteps: int = 250_000
    """Env steps per agent."""
    hyperparams: dict[str, Any] = field(default_factory=dict)
    """Overrides of the agent's hyper-parameters (``configs/<algo>.yaml``)."""
    max_episode_steps: int = 400
    """Episode length of training and evaluation."""
    simulate_time: float = 200.0
    """Length of the simulation step (time units)."""
    burn_in: float | None = None
    """Burn-in of every env (None: the env's default, 100 time units)."""
    dataset_trajectories: int = 24
    """Trajectories of the surrogate's dataset."""
    dataset_steps: int = 200
    """Control intervals per trajectory."""
    surrogate_family: str = "spectral"
    """Surrogate family."""
    surrogate_kwargs: dict[str, Any] = field(default_factory=lambda: {"width": 16, "depth": 1})
    """Its configuration."""
    surrogate_minutes: float = 2.0
    """Surrogate training budget (wall minutes)."""
    surrogate_epochs: int = 30
    """Surrogate training epochs (at most)."""
    eval_episodes: int = 20
    """Evaluation episodes on the truth."""
    noise_levels: tuple[float, ...] = (0.0, 0.1, 0.2, 0.5)
    """Sensor noise levels (fractions of rms(u)) of the robustness sweep."""
    robustness_episodes: int = 8
    """Episodes per noise level."""
    surrogate_eval_initial: int = 20
    """Initial conditions of the surrogate evaluation."""
    surrogate_eval_lyapunov: float = 8.0
    """Length of its error-growth runs (Lyapunov times)."""
    surrogate_free_time: float = 200.0
    """Length of its free runs (time units)."""
    progress: bool = True
    """Show progress bars."""

    def __post_init__(self) -> None:
        from chaoscontrol.agents.hyperparams import ALGOS
        from chaoscontrol.surrogates.models import make_config

        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "noise_levels", tuple(self.noise_levels))
        if not self.seeds:
            raise ValueError("seeds must not be empty")
        for s in self.seeds:
            check_int("seeds", s, minimum=0)
        for name in ("timesteps", "max_episode_steps", "dataset_trajectories", "dataset_steps", "surrogate_epochs", "eval_episodes",
                     "robustness_episodes", "surrogate_eval_initial"):
            check_int(name, getattr(self, name))
        if not (math.isfinite(self.surrogate_minutes) and self.surrogate_minutes > 0):
            raise ValueError(f"surrogate_minutes must be positive, got {self.surrogate_minutes!r}")
        make_config(self.surrogate_family, **self.surrogate_kwargs)
        if self.dataset_trajectories < 4:
            raise ValueError(f"dataset_trajectories must be >= 4 (train and validation splits), got {self.dataset_trajectories}")


#: Episode e of every evaluation starts from env seed EVAL_SEED + e (all controllers see the same initial states).
EVAL_SEED = 10_000


def _log(msg: str) -> None:
    print(f"[pipeline {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run_pipeline(args: PipelineArgs) -> Path:
    """Run (or resume) every step; returns the path of ``report.md``."""
    from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent
    from chaoscontrol.agents.robustness import RobustnessArgs, run_robustness, summarise
    from chaoscontrol.agents.training import AgentTrainArgs, has_checkpoint, run_status, train_agent
    from chaoscontrol.simulate import SimulateArgs, run_simulation
    from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset
    from chaoscontrol.surrogates.evaluate import EvaluateArgs, evaluate_surrogate
    from chaoscontrol.surrogates.train import TrainArgs, train_surrogate, training_state

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "pipeline.json", {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(args).items()})
    walls: dict[str, float] = json.loads((out / "wall.json").read_text()) if (out / "wall.json").exists() else {}

    def step(name: str, done: bool, fn) -> None:
        if done:
            _log(f"{name}: done earlier, skipped")
            return
        _log(f"{name} ...")
        t0 = time.perf_counter()
        fn()
        walls[name] = time.perf_counter() - t0
        write_json_atomic(out / "wall.json", walls)
        _log(f"{name}: {walls[name]:.0f} s")

    env_kwargs = dict(args.env_kwargs)
    if args.burn_in is not None:
        env_kwargs["burn_in"] = args.burn_in
    step("simulate", (out / "simulate" / "summary.json").exists(), lambda: run_simulation(
        SimulateArgs(out=str(out / "simulate"), t_end=args.simulate_time, progress=args.progress,
                     **({} if args.burn_in is None else {"burn_in": args.burn_in}))))
    data = out / "data.h5"
    step("dataset", data.exists(), lambda: generate_dataset(
        DatasetSpec(n_trajectories=args.dataset_trajectories, steps=args.dataset_steps, actuation="random", seed=0,
                    fractions=(0.75, 0.25, 0.0),
                    env_kwargs={k: v for k, v in env_kwargs.items() if k not in ("objective", "target")}),
        data, progress=args.progress))
    sur_dir = out / "surrogate"
    sur_state = training_state(sur_dir)
    step("surrogate training", sur_state is not None and sur_state["finished"] is not None, lambda: train_surrogate(TrainArgs(
        family=args.surrogate_family, data=str(data), out=str(sur_dir), model_kwargs=dict(args.surrogate_kwargs), horizon=8,
        epochs=args.surrogate_epochs, schedule_epochs=args.surrogate_epochs, max_minutes=args.surrogate_minutes, patience=10,
        progress=args.progress), resume=sur_state is not None))
    surrogate = str(sur_dir / "model.pt")
    step("surrogate evaluation", (sur_dir / "eval" / "report.json").exists(), lambda: evaluate_surrogate(EvaluateArgs(
        model=surrogate, out=str(sur_dir / "eval"), n_initial=args.surrogate_eval_initial, n_free=args.surrogate_eval_initial,
        free_time=args.surrogate_free_time, horizon_lyapunov=args.surrogate_eval_lyapunov), progress=args.progress))

    agents: dict[str, list[Path]] = {"truth": [], "surrogate": []}
    for seed in args.seeds:
        for kind in ("truth", "surrogate"):
            run = out / f"agent_{kind}_s{seed}"
            agents[kind].append(run)
            train_args = AgentTrainArgs(
                algo=args.algo, env_kwargs=env_kwargs, surrogate=surrogate if kind == "surrogate" else None, seed=seed,
                timesteps=args.timesteps, out=str(run), eval_freq=max(args.timesteps // 5, 1), eval_episodes=8,
                checkpoint_freq=max(args.timesteps // 5, 1), progress=args.progress, hyperparams=dict(args.hyperparams),
                max_episode_steps=args.max_episode_steps)
            step(f"agent on the {kind}, seed {seed}", run_status(run) == "finished",
                 lambda a=train_args, r=run: train_agent(a, resume=has_checkpoint(r)))
            step(f"evaluation of the {kind} agent, seed {seed}", (run / "eval" / "evaluation.json").exists(),
                 lambda r=run: evaluate_agent(AgentEvaluateArgs(model=str(r / "model.zip"), episodes=args.eval_episodes, seed=EVAL_SEED,
                                                                out=str(r / "eval"), max_episode_steps=args.max_episode_steps),
                                              progress=args.progress))
    for name in BASELINE_ROWS:
        step(f"baseline {name}", (out / "baselines" / name / "evaluation.json").exists(), lambda n=name: evaluate_agent(
            AgentEvaluateArgs(model=n, episodes=args.eval_episodes, seed=EVAL_SEED, env_kwargs=env_kwargs,
                              out=str(out / "baselines" / n), max_episode_steps=args.max_episode_steps), progress=args.progress))
    rob = out / "robustness"
    step("robustness to sensor noise", (rob / "robustness.png").exists() and _levels_done(rob, args.noise_levels, args.robustness_episodes), lambda: run_robustness(
        RobustnessArgs(policy=str(agents["truth"][0] / "model.zip"), perturbation="noise", levels=args.noise_levels,
                       episodes=args.robustness_episodes, seed=EVAL_SEED, out=str(rob), env_kwargs=env_kwargs,
                       max_episode_steps=args.max_episode_steps, progress=args.progress)))
    report = write_report(out, args, agents, walls, summarise(rob / "robustness.csv"))
    _log(f"wrote {report}")
    return report


#: The controllers evaluated beside the agents in the demo report.
BASELINE_ROWS = {"zero": "no control", "random": "random actions", "lqg": "LQG about E1 (8 sensors; chaoscontrol.baselines)"}


def _levels_done(folder: Path, levels: tuple[float, ...], episodes: int) -> bool:
    from chaoscontrol.agents.robustness import summarise

    if not (folder / "robustness.csv").exists():
        return False
    summary = summarise(folder / "robustness.csv")
    return all(level in summary and summary[level]["n"] >= episodes for level in levels)


def _mean_ci(values: list[float | None]) -> tuple[float | None, float | None]:
    """Mean and 95 % half-width over the finite values (None where undefined), as in ``evaluation.json``."""
    from chaoscontrol.agents.evaluation import ci95, finite_mean

    x = np.array([np.nan if v is None else v for v in values], dtype=float)
    return finite_mean(x), ci95(x)


def write_report(out: Path, args: PipelineArgs, agents: dict[str, list[Path]], walls: dict[str, float],
                 noise: dict[float, dict[str, float]]) -> Path:
    """``report.md``: the results table, the transfer gap, the timings and the figures."""
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


__all__ = ["PipelineArgs", "run_pipeline", "write_report"]
