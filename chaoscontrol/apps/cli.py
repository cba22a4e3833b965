"""The ``chaoscontrol`` command: one entry point with subcommands.

    chaoscontrol simulate --t-end 200 --actuation zero random --out runs/demo
    chaoscontrol robustness --policy zero --perturbation noise --levels 0,0.1,0.5 --episodes 8 --out runs/rob
    chaoscontrol dataset generate --trajectories 64 --steps 400 --actuation random --out data/ks_random.h5
    chaoscontrol train --algo ppo --seed 0 --timesteps 200000 --out runs/ppo
    chaoscontrol evaluate --model runs/ppo/model.zip --episodes 20 --out runs/ppo/eval

The flags of a subcommand are the fields of its argument dataclasses (:mod:`chaoscontrol.apps.flags`): their
names, defaults and docstrings are the one source, so a new field is a new flag, and ``--help`` shows the
docstrings. Only the subcommand named on the command line is imported (the library's torch and SB3 modules take
seconds to load). Bad input is one error line and exit status 2.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import tyro

from chaoscontrol.apps.flags import NUMBER_LIST, REQUIRED, Flag, ParsedFlags, flags_of
from chaoscontrol.validation import check_int

WRAPPER_SPEC = "NAME:LEVEL[:JSON]"


@dataclass(frozen=True)
class ProgressOption:
    """The progress bar of a command whose arguments do not say."""

    progress: bool = True
    """Show the progress bar."""


@dataclass(frozen=True)
class ResumeOption:
    """Whether a command continues its run."""

    resume: bool = False
    """Continue the run in --out from its newest checkpoint."""


@dataclass(frozen=True)
class DatasetGenerateOptions:
    """Where and how ``chaoscontrol dataset generate`` writes."""

    out: str
    """Output .h5 file."""
    batch: int = 64
    """Trajectories simulated together."""
    progress: bool = True
    """Show the progress bar."""
    resume: bool = False
    """Continue the interrupted generation of --out (the trajectories already written are verified and kept)."""
    overwrite: bool = False
    """Replace an existing --out (once the new file is complete) and discard an interrupted generation of it."""
    trust_pickle: bool = False
    """Allow an --actuation .zip without the project's policy files (.policy.json beside it): SB3's zip and pickles
    are then unpickled, which runs any code they hold. Only for files you trust."""

    def __post_init__(self) -> None:
        check_int("batch", self.batch)


@dataclass(frozen=True)
class CompareOptions:
    """The checkpoints of ``chaoscontrol surrogate compare``."""

    models: tuple[str, ...]
    """Checkpoints (model.pt)."""
    progress: bool = True
    """Show the progress bar."""

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("models: give at least one checkpoint")


@dataclass(frozen=True)
class CommandLine:
    """A subcommand, loaded: its flags and what it runs on them (returning the exit status)."""

    flags: type[ParsedFlags]
    run: Callable[[Any], int]


def simulate() -> CommandLine:
    """``chaoscontrol simulate``."""
    from chaoscontrol.apps.simulate import SimulateArgs, run_simulation

    def run(line: ParsedFlags) -> int:
        args = line.build(SimulateArgs)
        summary = run_simulation(args)
        def shown(r: dict) -> list[str]:  # KS: energy and dissipation; another system: its diagnostics
            return [k for k in ("energy", "dissipation") if k in r] or [k for k, v in r.items() if isinstance(v, dict)]

        brief = {mode: {**{f"{k}_mean": r[k]["mean"] for k in shown(r)}, "blowup": r["blowup"]}
                 for mode, r in summary["runs"].items()}
        print(json.dumps(brief, indent=2))
        print(f"wrote {args.out}/space_time.png and {args.out}/summary.json")
        return 0

    return CommandLine(flags_of(SimulateArgs, forms={"env_id": Flag(name="env")}, name="simulate"), run)


def robustness() -> CommandLine:
    """``chaoscontrol robustness``."""
    from chaoscontrol.agents.robustness import RobustnessArgs, run_robustness, summarise

    def run(line: ParsedFlags) -> int:
        csv_path = run_robustness(line.build(RobustnessArgs))
        for level, row in summarise(csv_path).items():
            print(f"level {level:g}: return {row['return_mean']:.2f} +- {row['return_ci95']:.2f}, "
                  f"{'D' if row['metric'] == 'dissipation' else row['metric']} {row['metric_mean']:.3f} +- {row['metric_ci95']:.3f}, "
                  f"blow-ups {row['blowup_fraction']:.0%}")
        print(f"wrote {csv_path} and {csv_path.parent / 'robustness.png'}")
        return 0

    forms = {"levels": NUMBER_LIST, "env_id": Flag(name="env")}
    return CommandLine(flags_of(RobustnessArgs, forms=forms, name="robustness"), run)


def train() -> CommandLine:
    """``chaoscontrol train``."""
    from chaoscontrol.agents.training import AgentTrainArgs, train_agent

    def run(line: ParsedFlags) -> int:
        args = line.build(AgentTrainArgs)
        try:
            path = train_agent(args, resume=line.build(ResumeOption).resume)
        except KeyboardInterrupt:
            print(f"interrupted: a checkpoint was written; continue with the same command and --resume (run folder {args.out})",
                  file=sys.stderr)
            return 130
        print(f"wrote {path}")
        return 0

    forms = {"env_id": Flag(name="env"), "wrappers": Flag(name="wrap", repeat=True, metavar=WRAPPER_SPEC), "out": REQUIRED,
             "residual": Flag(metavar="BASELINE")}
    return CommandLine(flags_of(AgentTrainArgs, ResumeOption, forms=forms, name="train"), run)


def _wrappers_or_none(flag: str, given: tuple[str, ...]) -> tuple[str, ...]:
    """``--wrap`` of ``chaoscontrol evaluate``: the specs given, ``none`` standing for no wrapper."""
    return tuple(spec for spec in given if spec != "none")


def evaluate() -> CommandLine:
    """``chaoscontrol evaluate``."""
    from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent

    def run(line: ParsedFlags) -> int:
        args = line.build(AgentEvaluateArgs)
        r = evaluate_agent(args, progress=line.build(ProgressOption).progress)

        def fmt(x: float | None, ci: float | None) -> str:
            return "n/a" if x is None else f"{x:.4g}" + ("" if ci is None else f" +- {ci:.2g}")

        print(f"cost (second half) {fmt(r['mean_cost_second_half'], r['mean_cost_second_half_ci95'])} vs no control "
              f"{fmt(r['no_control_cost_second_half'], r['no_control_cost_second_half_ci95'])}; improvement "
              f"{fmt(r['improvement'], r['improvement_ci95'])}; success {r['success_rate']}; blow-ups {r['blowups']}/{r['episodes']}")
        print(f"wrote {args.out}/evaluation.json and {args.out}/evaluation.png")
        return 0

    forms = {"env_id": Flag(name="env"), "out": REQUIRED,
             "wrappers": Flag(name="wrap", repeat=True, parse=_wrappers_or_none, metavar=WRAPPER_SPEC)}
    return CommandLine(flags_of(AgentEvaluateArgs, ProgressOption, forms=forms, name="evaluate"), run)


def demo() -> CommandLine:
    """``chaoscontrol demo``."""
    from chaoscontrol.apps.pipeline import run_pipeline
    from chaoscontrol.apps.pipeline_args import PipelineArgs

    def run(line: ParsedFlags) -> int:
        print(f"wrote {run_pipeline(line.build(PipelineArgs))}")
        return 0

    return CommandLine(flags_of(PipelineArgs, forms={"noise_levels": NUMBER_LIST}, name="demo"), run)


def dataset_generate() -> CommandLine:
    """``chaoscontrol dataset generate``."""
    from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset, load_dataset

    def run(line: ParsedFlags) -> int:
        spec = line.build(DatasetSpec)
        options = line.build(DatasetGenerateOptions)

        def policy_for(venv: Any) -> Callable[[Any], Any]:
            """A ``.zip`` actuation's policy for one batch's vector env, as it was trained."""
            from chaoscontrol.agents.policies import make_policy

            return make_policy(spec.actuation, venv, spec.seed, deterministic=True, trust_pickle=options.trust_pickle)[0]

        try:
            path = generate_dataset(spec, options.out, batch=options.batch, progress=options.progress, policy_for=policy_for,
                                    resume=options.resume, overwrite=options.overwrite)
        except KeyboardInterrupt as exc:  # Ctrl-C (130) or SIGTERM (143), handled alike
            print(f"chaoscontrol dataset generate: interrupted: {exc or 'nothing was kept'}", file=sys.stderr)
            return getattr(exc, "status", 130)
        data = load_dataset(path)
        print(f"wrote {path}: {data.states.shape[0]} trajectories x {data.actions.shape[1]} steps, actuation {spec.actuation}")
        return 0

    forms = {"n_trajectories": Flag(name="trajectories"), "fractions": Flag(metavar="TRAIN VAL TEST"), "env_id": Flag(name="env")}
    return CommandLine(flags_of(DatasetSpec, DatasetGenerateOptions, forms=forms, name="dataset generate"), run)


def surrogate_train() -> CommandLine:
    """``chaoscontrol surrogate train``."""
    from chaoscontrol.surrogates.train import TrainArgs, train_surrogate

    def run(line: ParsedFlags) -> int:
        from chaoscontrol.surrogates.interrupts import exit_status

        args = line.build(TrainArgs)
        try:
            path = train_surrogate(args, resume=line.build(ResumeOption).resume)
        except KeyboardInterrupt as exc:  # Ctrl-C (130) or SIGTERM (143): the last epoch's checkpoint.pt is kept
            kept = (f"the checkpoint of the last finished epoch is {args.out}/checkpoint.pt; continue with the same command "
                    "and --resume") if os.path.isfile(os.path.join(args.out, "checkpoint.pt")) else "no epoch had finished"
            print(f"chaoscontrol surrogate train: interrupted: {kept}", file=sys.stderr)
            return exit_status(exc)
        print(f"wrote {path}")
        return 0

    forms = {"family": Flag(name="model"), "data": REQUIRED, "out": REQUIRED}
    return CommandLine(flags_of(TrainArgs, ResumeOption, forms=forms, name="surrogate train"), run)


def surrogate_evaluate() -> CommandLine:
    """``chaoscontrol surrogate evaluate``."""
    from chaoscontrol.surrogates.evaluate import EvaluateArgs, evaluate_surrogate

    def run(line: ParsedFlags) -> int:
        args = line.build(EvaluateArgs)
        report = evaluate_surrogate(args, progress=line.build(ProgressOption).progress)
        print(f"VPT median {report['vpt_lyapunov_median']:.2f} Lyapunov times, blow-ups {report['blowup_fraction']:.0%}; "
              f"wrote {args.out}/report.md and report.json")
        return 0

    forms = {"model": REQUIRED, "out": REQUIRED}
    return CommandLine(flags_of(EvaluateArgs, ProgressOption, forms=forms, name="surrogate evaluate"), run)


def surrogate_compare() -> CommandLine:
    """``chaoscontrol surrogate compare``."""
    from chaoscontrol.surrogates.evaluate import EvaluateArgs, compare_surrogates

    def run(line: ParsedFlags) -> int:
        options = line.build(CompareOptions)
        kwargs = line.keywords(EvaluateArgs)
        out = kwargs.pop("out")
        compare_surrogates(list(options.models), out, progress=options.progress, **kwargs)
        print(f"wrote {out}/compare.md and compare.png")
        return 0

    forms = {"models": Flag(positional=True), "out": REQUIRED}
    return CommandLine(flags_of(CompareOptions, EvaluateArgs, forms=forms, exclude=("model",), name="surrogate compare"), run)


def sweep() -> CommandLine:
    """``chaoscontrol sweep``."""
    from chaoscontrol.apps.sweep import SweepArgs, run_sweep

    def run(line: ParsedFlags) -> int:
        try:
            result = run_sweep(line.build(SweepArgs))
        except KeyboardInterrupt:
            print("interrupted: the running trials were checkpointed; run the same command again to continue", file=sys.stderr)
            return 130
        return 1 if result.get("counts", {}).get("failed") else 0

    return CommandLine(flags_of(SweepArgs, forms={"spec": Flag(positional=True)}, name="sweep"), run)


def sweep_report() -> CommandLine:
    """``chaoscontrol sweep-report``."""
    from chaoscontrol.apps.sweep_report import SweepReportArgs, write_sweep_report

    def run(line: ParsedFlags) -> int:
        args = line.build(SweepReportArgs)
        print(f"wrote {write_sweep_report(args.out, metric=args.metric, reps=args.reps, seed=args.seed)}")
        return 0

    return CommandLine(flags_of(SweepReportArgs, forms={"out": Flag(positional=True)}, name="sweep-report"), run)


#: The subcommands: words, one-line description, and the loader of their flags and run function.
COMMANDS: dict[str, tuple[str, Callable[[], CommandLine]]] = {
    "simulate": ("simulate a system (--env, KS by default) with and without actuation; PNG plot + JSON summary", simulate),
    "robustness": ("evaluate a policy under a sensor/actuator perturbation at several levels", robustness),
    "train": ("train an SB3 agent on the batched env of any registered id (truth or surrogate); resumable", train),
    "evaluate": ("evaluate a controller on the truth env against no control", evaluate),
    "demo": ("the whole pipeline at demo size: simulate, dataset, surrogate, agents, evaluation, robustness, report", demo),
    "dataset generate": ("generate a dataset with the batched truth env", dataset_generate),
    "surrogate train": ("train a surrogate on a dataset (resumable)", surrogate_train),
    "surrogate evaluate": ("surrogate vs truth: prediction time, free runs, rewards, speed", surrogate_evaluate),
    "surrogate compare": ("several checkpoints in one table and one figure", surrogate_compare),
    "sweep": ("a grid of train + evaluate trials from a YAML spec on Ray (local or --address); resumable", sweep),
    "sweep-report": ("IQM, mean and bootstrap intervals, profiles and learning curves of a sweep (rliable)", sweep_report),
}
#: The groups of subcommands, with their one-line descriptions.
GROUPS = {
    "dataset": "trajectory datasets of the truth env (HDF5) for surrogates",
    "surrogate": "learned surrogates of the dynamics",
}
DESCRIPTION = "Learning to control chaotic PDEs."


def command_words(argv: Sequence[str]) -> str | None:
    """The subcommand that ``argv`` starts with (``"dataset generate"``), or None."""
    for n in (2, 1):
        words = " ".join(argv[:n])
        if len(argv) >= n and words in COMMANDS:
            return words
    return None


def _overview(argv: Sequence[str]) -> int:
    """Parse a command line that names no subcommand: tyro prints the subcommands (``--help``) or the error and exits."""
    from tyro.extras import SubcommandApp

    def listed() -> None:
        """A subcommand as listed (its flags are read when it is named first)."""

    apps = {"": SubcommandApp()}
    for words, (description, _) in COMMANDS.items():
        group, _, name = words.rpartition(" ")
        if group not in apps:
            apps[group] = SubcommandApp()
            apps[""].command(apps[group], name=group, help=GROUPS[group])
        apps[group].command(listed, name=name, help=description)
    apps[""].cli(prog="chaoscontrol", description=DESCRIPTION, args=list(argv))
    print("chaoscontrol: error: name the subcommand first, e.g. chaoscontrol simulate --help", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``chaoscontrol`` command line.

    A flag that does not parse as its type is tyro's usage error (exit status 2). Bad input found when the
    arguments are built or checked (a ``ValueError``, naming the argument or file), a failed run (``RuntimeError``)
    or an unwritable output (``OSError``) print one error line and return 2.

    :param argv: the arguments (default: ``sys.argv[1:]``).
    :return: the exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    words = command_words(argv)
    if words is None:
        return _overview(argv)
    description, load = COMMANDS[words]
    command = load()
    line = tyro.cli(command.flags, args=argv[len(words.split()):], prog=f"chaoscontrol {words}", description=description)
    try:
        return command.run(line)
    except (ValueError, RuntimeError) as exc:
        print(f"chaoscontrol {words}: error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"chaoscontrol {words}: error: cannot read or write a file: {exc}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
