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
import time
from dataclasses import asdict
from pathlib import Path

from chaoscontrol.apps.pipeline_args import BASELINE_ROWS, EVAL_SEED, PipelineArgs
from chaoscontrol.apps.pipeline_report import write_report
from chaoscontrol.io import write_json_atomic


def _log(msg: str) -> None:
    print(f"[pipeline {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run_pipeline(args: PipelineArgs) -> Path:
    """Run (or resume) every step of the module docstring.

    :param args: sizes and settings.
    :return: the path of ``report.md``.
    """
    from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent
    from chaoscontrol.agents.robustness import RobustnessArgs, run_robustness, summarise
    from chaoscontrol.agents.training import AgentTrainArgs, has_checkpoint, run_status, train_agent
    from chaoscontrol.apps.simulate import SimulateArgs, run_simulation
    from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset
    from chaoscontrol.surrogates.dataset_parts import parts_folder
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
        data, progress=args.progress, resume=parts_folder(data).is_dir()))
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
            state = run_status(run)  # "stopped (last seen ...)" for a run killed without a word
            if state not in (None, "finished"):
                _log(f"agent on the {kind}, seed {seed}: {state}; " + ("resuming it" if has_checkpoint(run) else "starting it again"))
            step(f"agent on the {kind}, seed {seed}", state == "finished",
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


def _levels_done(folder: Path, levels: tuple[float, ...], episodes: int) -> bool:
    from chaoscontrol.agents.robustness import summarise

    if not (folder / "robustness.csv").exists():
        return False
    summary = summarise(folder / "robustness.csv")
    return all(level in summary and summary[level]["n"] >= episodes for level in levels)


__all__ = ["run_pipeline"]
