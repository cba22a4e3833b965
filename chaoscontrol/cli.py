"""The ``chaoscontrol`` command: one entry point with subcommands.

    chaoscontrol simulate --t-end 200 --actuation zero random --out runs/demo
    chaoscontrol robustness --policy zero --perturbation noise --levels 0,0.1,0.5 --episodes 8 --out runs/rob
    chaoscontrol dataset generate --trajectories 64 --steps 400 --actuation random --out data/ks_random.h5
    chaoscontrol train --algo ppo --seed 0 --timesteps 200000 --out runs/ppo
    chaoscontrol evaluate --model runs/ppo/model.zip --episodes 20 --out runs/ppo/eval
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any


def parse_levels(text: str) -> tuple[float, ...]:
    """'0,0.01,0.1' -> (0.0, 0.01, 0.1), with a clear error."""
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise ValueError(f"levels must be comma-separated numbers, got {text!r}") from exc


def parse_json_kwargs(name: str, text: str | None) -> dict[str, Any]:
    """A JSON object of keywords (plain values only), with a clear error naming ``name``."""
    from chaoscontrol.validation import parse_json_object

    return parse_json_object(name, text) if text else {}


def _simulate(ns: argparse.Namespace) -> int:
    from chaoscontrol.simulate import SimulateArgs, run_simulation

    args = SimulateArgs(
        out=ns.out, t_end=ns.t_end, actuation=tuple(ns.actuation), hold=ns.hold, seed=ns.seed, L=ns.L, N=ns.N,
        dt=ns.dt, frame_skip=ns.frame_skip, max_forcing=ns.max_forcing, burn_in=ns.burn_in,
        progress=not ns.no_progress,
    )
    summary = run_simulation(args)
    brief = {mode: {"energy_mean": r["energy"]["mean"], "dissipation_mean": r["dissipation"]["mean"], "blowup": r["blowup"]}
             for mode, r in summary["runs"].items()}
    print(json.dumps(brief, indent=2))
    print(f"wrote {ns.out}/space_time.png and {ns.out}/summary.json")
    return 0


def _robustness(ns: argparse.Namespace) -> int:
    from chaoscontrol.agents.robustness import RobustnessArgs, run_robustness, summarise

    args = RobustnessArgs(
        policy=ns.policy, perturbation=ns.perturbation, levels=parse_levels(ns.levels), episodes=ns.episodes,
        seed=ns.seed, out=ns.out, env_kwargs=parse_json_kwargs("--env-kwargs", ns.env_kwargs),
        max_episode_steps=ns.max_episode_steps,
        perturbation_kwargs=parse_json_kwargs("--perturbation-kwargs", ns.perturbation_kwargs),
        progress=not ns.no_progress,
    )
    csv_path = run_robustness(args)
    for level, row in summarise(csv_path).items():
        print(f"level {level:g}: return {row['return_mean']:.2f} +- {row['return_ci95']:.2f}, "
              f"D {row['dissipation_mean']:.3f} +- {row['dissipation_ci95']:.3f}, blow-ups {row['blowup_fraction']:.0%}")
    print(f"wrote {csv_path} and {csv_path.parent / 'robustness.png'}")
    return 0


def _train(ns: argparse.Namespace) -> int:
    from chaoscontrol.agents.training import AgentTrainArgs, train_agent

    args = AgentTrainArgs(
        algo=ns.algo, env_id=ns.env, env_kwargs=parse_json_kwargs("--env-kwargs", ns.env_kwargs), surrogate=ns.surrogate,
        wrappers=tuple(ns.wrap), seed=ns.seed, timesteps=ns.timesteps, out=ns.out, config=ns.config,
        hyperparams=parse_json_kwargs("--hyperparams", ns.hyperparams), max_episode_steps=ns.max_episode_steps,
        eval_freq=ns.eval_freq, eval_episodes=ns.eval_episodes, checkpoint_freq=ns.checkpoint_freq, progress=not ns.no_progress,
        symmetry_reduced=ns.symmetry_reduced, symmetry_augment=ns.symmetry_augment, adversarial_eps=ns.adversarial_eps,
        adversarial_fraction=ns.adversarial_fraction, adversarial_attack=ns.adversarial_attack, residual=ns.residual,
        residual_anchor=ns.residual_anchor,
    )
    try:
        path = train_agent(args, resume=ns.resume)
    except KeyboardInterrupt:
        print(f"interrupted: a checkpoint was written; continue with the same command and --resume (run folder {ns.out})",
              file=sys.stderr)
        return 130
    print(f"wrote {path}")
    return 0


def _evaluate(ns: argparse.Namespace) -> int:
    from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent

    wrappers = None if ns.wrap is None else tuple(w for w in ns.wrap if w != "none")
    args = AgentEvaluateArgs(
        model=ns.model, episodes=ns.episodes, seed=ns.seed, out=ns.out, env_id=ns.env,
        env_kwargs=None if ns.env_kwargs is None else parse_json_kwargs("--env-kwargs", ns.env_kwargs), wrappers=wrappers,
        perturbation=ns.perturbation, level=ns.level,
        perturbation_kwargs=parse_json_kwargs("--perturbation-kwargs", ns.perturbation_kwargs),
        max_episode_steps=ns.max_episode_steps,
    )
    r = evaluate_agent(args, progress=not ns.no_progress)

    def fmt(x, ci):
        return "n/a" if x is None else f"{x:.4g}" + ("" if ci is None else f" +- {ci:.2g}")

    print(f"cost (second half) {fmt(r['mean_cost_second_half'], r['mean_cost_second_half_ci95'])} vs no control "
          f"{fmt(r['no_control_cost_second_half'], r['no_control_cost_second_half_ci95'])}; improvement "
          f"{fmt(r['improvement'], r['improvement_ci95'])}; success {r['success_rate']}; blow-ups {r['blowups']}/{r['episodes']}")
    print(f"wrote {ns.out}/evaluation.json and {ns.out}/evaluation.png")
    return 0


def _demo(ns: argparse.Namespace) -> int:
    from chaoscontrol.agents.pipeline import PipelineArgs, run_pipeline

    kwargs: dict[str, Any] = {"out": ns.out, "progress": not ns.no_progress}
    if ns.timesteps is not None:
        kwargs["timesteps"] = ns.timesteps
    if ns.algo is not None:
        kwargs["algo"] = ns.algo
    if ns.env_kwargs is not None:
        kwargs["env_kwargs"] = parse_json_kwargs("--env-kwargs", ns.env_kwargs)
    report = run_pipeline(PipelineArgs(**kwargs))
    print(f"wrote {report}")
    return 0


def _dataset_generate(ns: argparse.Namespace) -> int:
    from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset, load_dataset

    spec = DatasetSpec(
        n_trajectories=ns.trajectories, steps=ns.steps, actuation=ns.actuation, seed=ns.seed, hold=ns.hold,
        ou_theta=ns.ou_theta, ou_sigma=ns.ou_sigma, fractions=tuple(ns.fractions),
        env_kwargs=parse_json_kwargs("--env-kwargs", ns.env_kwargs),
    )
    if ns.batch < 1:
        raise ValueError(f"batch must be >= 1, got {ns.batch}")
    path = generate_dataset(spec, ns.out, batch=ns.batch, progress=not ns.no_progress)
    data = load_dataset(path)
    print(f"wrote {path}: {data.states.shape[0]} trajectories x {data.actions.shape[1]} steps, actuation {spec.actuation}")
    return 0


def _surrogate_train(ns: argparse.Namespace) -> int:
    from chaoscontrol.surrogates.train import TrainArgs, train_surrogate

    args = TrainArgs(
        family=ns.model, data=ns.data, out=ns.out, model_kwargs=parse_json_kwargs("--model-kwargs", ns.model_kwargs),
        horizon=ns.horizon, warmup_epochs=ns.warmup_epochs, pretrain_epochs=ns.pretrain_epochs, epochs=ns.epochs, windows_per_epoch=ns.windows_per_epoch,
        batch_size=ns.batch_size, lr=ns.lr, schedule_epochs=ns.schedule_epochs, clip_grad=ns.clip_grad,
        patience=ns.patience, seed=ns.seed, val_windows=ns.val_windows, input_noise=ns.input_noise,
        max_minutes=ns.max_minutes, progress=not ns.no_progress,
    )
    path = train_surrogate(args, resume=ns.resume)
    print(f"wrote {path}")
    return 0


def _evaluate_kwargs(ns: argparse.Namespace) -> dict:
    return dict(n_initial=ns.n_initial, horizon_lyapunov=ns.horizon_lyapunov, free_time=ns.free_time, n_free=ns.n_free, seed=ns.seed)


def _surrogate_evaluate(ns: argparse.Namespace) -> int:
    from chaoscontrol.surrogates.evaluate import EvaluateArgs, evaluate_surrogate

    report = evaluate_surrogate(EvaluateArgs(model=ns.model, out=ns.out, **_evaluate_kwargs(ns)), progress=not ns.no_progress)
    print(f"VPT median {report['vpt_lyapunov_median']:.2f} Lyapunov times, blow-ups {report['blowup_fraction']:.0%}; "
          f"wrote {ns.out}/report.md and report.json")
    return 0


def _surrogate_compare(ns: argparse.Namespace) -> int:
    from chaoscontrol.surrogates.evaluate import compare_surrogates

    compare_surrogates(ns.models, ns.out, progress=not ns.no_progress, **_evaluate_kwargs(ns))
    print(f"wrote {ns.out}/compare.md and compare.png")
    return 0


def _add_evaluate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n-initial", type=int, default=100, help="initial conditions (default: %(default)s)")
    p.add_argument("--horizon-lyapunov", type=float, default=8.0, help="error-growth runs, Lyapunov times (default: %(default)s)")
    p.add_argument("--free-time", type=float, default=1000.0, help="free-run length, time units (default: %(default)s)")
    p.add_argument("--n-free", type=int, default=100, help="free runs per forcing (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``chaoscontrol`` command."""
    parser = argparse.ArgumentParser(prog="chaoscontrol", description="Learning to control chaotic PDEs.")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulate", help="simulate KS with and without actuation; PNG space-time plot + JSON summary")
    sim.add_argument("--out", default="runs/simulate", help="output folder (default: %(default)s)")
    sim.add_argument("--t-end", type=float, default=200.0, help="simulated time after burn-in (default: %(default)s)")
    sim.add_argument("--actuation", nargs="+", default=["zero", "random"], choices=["zero", "random"],
                     help="actuation modes, run from the same initial state (default: zero random)")
    sim.add_argument("--hold", type=int, default=4, help="env steps each random action is held (default: %(default)s)")
    sim.add_argument("--seed", type=int, default=0, help="seed of the initial state and actions (default: %(default)s)")
    sim.add_argument("--L", type=float, default=22.0, help="domain length (default: %(default)s)")
    sim.add_argument("--N", type=int, default=64, help="grid points (default: %(default)s)")
    sim.add_argument("--dt", type=float, default=0.05, help="solver time step (default: %(default)s)")
    sim.add_argument("--frame-skip", type=int, default=5, help="solver steps per env step (default: %(default)s)")
    sim.add_argument("--max-forcing", type=float, default=0.5, help="forcing amplitude at action 1 (default: %(default)s)")
    sim.add_argument("--burn-in", type=float, default=100.0, help="unforced time before t=0 (default: %(default)s)")
    sim.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sim.set_defaults(func=_simulate)

    rob = sub.add_parser("robustness", help="evaluate a policy under a sensor/actuator perturbation at several levels")
    rob.add_argument("--policy", default="zero",
                     help="zero, random, a baseline (lqr, lqg, mpc; NAME:JSON for keywords) or the path of an SB3 .zip "
                          "(default: %(default)s)")
    rob.add_argument("--perturbation", default="noise",
                     help="noise, bias, drift, dropout, quantize, delay, subset, actuator-noise, actuator-gain, "
                          "actuator-fault or adversarial (default: %(default)s)")
    rob.add_argument("--levels", default="0,0.01,0.025,0.05,0.1,0.2,0.5",
                     help="comma-separated levels; sensor levels are fractions of rms(u) (default: %(default)s)")
    rob.add_argument("--episodes", type=int, default=8, help="episodes per level (default: %(default)s)")
    rob.add_argument("--seed", type=int, default=0, help="episode e starts from env seed seed+e (default: %(default)s)")
    rob.add_argument("--out", default="runs/robustness", help="output folder (default: %(default)s)")
    rob.add_argument("--env-kwargs", default=None, help='JSON keywords of KS-Control-v0, e.g. \'{"objective": "target"}\'')
    rob.add_argument("--perturbation-kwargs", default=None, help='JSON keywords of the perturbation, e.g. \'{"indices": [0, 4]}\'')
    rob.add_argument("--max-episode-steps", type=int, default=400, help="episode length (default: %(default)s)")
    rob.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    rob.set_defaults(func=_robustness)

    trn = sub.add_parser("train", help="train an SB3 agent on the batched KS env (truth or surrogate); resumable")
    trn.add_argument("--algo", default="ppo", help="ppo, sac, td3 or ddpg (default: %(default)s)")
    trn.add_argument("--env", default="KS-Control-v0", help="env id (default: %(default)s)")
    trn.add_argument("--env-kwargs", default=None, help='JSON keywords of the env, e.g. \'{"objective": "target", "target": "E1"}\'')
    trn.add_argument("--surrogate", default=None, help="train on this surrogate checkpoint (model.pt); evaluation stays on the truth")
    trn.add_argument("--wrap", action="append", default=[], metavar="NAME:LEVEL[:JSON]",
                     help="perturbation in training and evaluation, e.g. noise:0.1 (repeatable)")
    trn.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    trn.add_argument("--timesteps", type=int, default=200_000, help="total env steps (default: %(default)s)")
    trn.add_argument("--out", required=True, help="run folder")
    trn.add_argument("--config", default=None, help="hyper-parameter YAML (default: configs/<algo>.yaml)")
    trn.add_argument("--hyperparams", default=None, help='JSON overrides, e.g. \'{"learning_rate": 1e-4, "n_envs": 8}\'')
    trn.add_argument("--max-episode-steps", type=int, default=400, help="(default: %(default)s)")
    trn.add_argument("--eval-freq", type=int, default=20_000, help="env steps between truth evaluations, 0: none (default: %(default)s)")
    trn.add_argument("--eval-episodes", type=int, default=8, help="(default: %(default)s)")
    trn.add_argument("--checkpoint-freq", type=int, default=20_000, help="env steps between checkpoints (default: %(default)s)")
    trn.add_argument("--symmetry-reduced", action="store_true",
                     help="train on symmetry-reduced observations (canonical frame of the actuators' symmetry group)")
    trn.add_argument("--symmetry-augment", action="store_true",
                     help="store every transition with its symmetric copies (sac, td3, ddpg)")
    trn.add_argument("--adversarial-eps", type=float, default=0.0,
                     help="adversarial training: attack radius, fraction of rms(u) (default: %(default)s, off)")
    trn.add_argument("--adversarial-fraction", type=float, default=0.5,
                     help="adversarial training: probability that an observation is attacked (default: %(default)s)")
    trn.add_argument("--adversarial-attack", default="fgsm", help="fgsm or pgd (default: %(default)s)")
    trn.add_argument("--residual", default=None, metavar="BASELINE",
                     help="residual RL: add the actions of this baseline (lqg, lqr, mpc[:JSON]) to the agent's")
    trn.add_argument("--residual-anchor", action="store_true",
                     help="residual RL (PPO): make the agent's mean action zero at the baseline's equilibrium readings, "
                          "so the equilibrium stays a fixed point")
    trn.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    trn.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    trn.set_defaults(func=_train)

    evl = sub.add_parser("evaluate", help="evaluate a controller on the truth env against no control")
    evl.add_argument("--model", default="zero",
                     help="zero, random, a baseline (lqr, lqg, mpc; NAME:JSON for keywords, e.g. "
                          "'mpc:{\"surrogate\": \"solver\"}') or an SB3 .zip (default: %(default)s)")
    evl.add_argument("--episodes", type=int, default=20, help="(default: %(default)s)")
    evl.add_argument("--seed", type=int, default=0, help="episode e starts from env seed seed+e (default: %(default)s)")
    evl.add_argument("--out", required=True, help="output folder (evaluation.json, evaluation.png)")
    evl.add_argument("--env", default=None, help="env id (default: the run's)")
    evl.add_argument("--env-kwargs", default=None, help="JSON env keywords (default: the run's)")
    evl.add_argument("--wrap", action="append", default=None, metavar="NAME:LEVEL[:JSON]",
                     help="perturbations instead of the run's training wrappers; --wrap none for none")
    evl.add_argument("--perturbation", default=None, help="one robustness-harness perturbation on top (e.g. noise, adversarial)")
    evl.add_argument("--level", type=float, default=0.0, help="its level (default: %(default)s)")
    evl.add_argument("--perturbation-kwargs", default=None, help="JSON keywords of the perturbation")
    evl.add_argument("--max-episode-steps", type=int, default=400, help="(default: %(default)s)")
    evl.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    evl.set_defaults(func=_evaluate)

    dem = sub.add_parser("demo", help="the whole pipeline at demo size: simulate, dataset, surrogate, agents, evaluation, robustness, report")
    dem.add_argument("--out", default="runs/demo", help="output folder; finished steps are skipped (default: %(default)s)")
    dem.add_argument("--algo", default=None, help="agent algorithm (default: ppo)")
    dem.add_argument("--timesteps", type=int, default=None, help="env steps per agent (default: the demo's)")
    dem.add_argument("--env-kwargs", default=None, help="JSON keywords of KS-Control-v0 (default: the dissipation objective)")
    dem.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    dem.set_defaults(func=_demo)

    ds = sub.add_parser("dataset", help="trajectory datasets of the truth env (HDF5) for surrogates")
    ds_sub = ds.add_subparsers(dest="dataset_command", required=True)
    gen = ds_sub.add_parser("generate", help="generate a dataset with the batched truth env")
    gen.add_argument("--out", required=True, help="output .h5 file")
    gen.add_argument("--trajectories", type=int, default=64, help="number of trajectories (default: %(default)s)")
    gen.add_argument("--steps", type=int, default=400, help="control intervals per trajectory (default: %(default)s)")
    gen.add_argument("--actuation", default="random", help="zero, random, ou or an SB3 .zip (default: %(default)s)")
    gen.add_argument("--seed", type=int, default=0, help="trajectory i starts from env seed seed+i (default: %(default)s)")
    gen.add_argument("--hold", type=int, default=4, help="random: steps each action is held (default: %(default)s)")
    gen.add_argument("--ou-theta", type=float, default=1.0, help="ou: mean reversion rate (default: %(default)s)")
    gen.add_argument("--ou-sigma", type=float, default=1.0, help="ou: noise amplitude (default: %(default)s)")
    gen.add_argument("--fractions", type=float, nargs=3, default=[0.8, 0.1, 0.1], metavar=("TRAIN", "VAL", "TEST"),
                     help="split fractions by trajectory (default: 0.8 0.1 0.1)")
    gen.add_argument("--env-kwargs", default=None, help="JSON keywords of KS-Control-v0")
    gen.add_argument("--batch", type=int, default=64, help="trajectories simulated together (default: %(default)s)")
    gen.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    gen.set_defaults(func=_dataset_generate)

    sur = sub.add_parser("surrogate", help="learned surrogates of the dynamics")
    sur_sub = sur.add_subparsers(dest="surrogate_command", required=True)
    tr = sur_sub.add_parser("train", help="train a surrogate on a dataset (resumable)")
    tr.add_argument("--model", default="node", help="family: resnet, node, conv, spectral, corrected, stable_resnet, deq, latent, partial (default: %(default)s)")
    tr.add_argument("--data", required=True, help="dataset .h5 (from `chaoscontrol dataset generate`)")
    tr.add_argument("--out", required=True, help="run folder (model.pt, checkpoint.pt, history.json, tb/)")
    tr.add_argument("--model-kwargs", default=None, help='JSON config keys of the family, e.g. \'{"width": 64}\'')
    tr.add_argument("--horizon", type=int, default=8, help="rollout loss horizon (default: %(default)s)")
    tr.add_argument("--pretrain-epochs", type=int, default=0,
                    help="autoencoder reconstruction epochs first (latent family only; default: %(default)s)")
    tr.add_argument("--warmup-epochs", type=int, default=2, help="one-step epochs first (default: %(default)s)")
    tr.add_argument("--epochs", type=int, default=50, help="maximum epochs (default: %(default)s)")
    tr.add_argument("--windows-per-epoch", type=int, default=2048, help="(default: %(default)s)")
    tr.add_argument("--batch-size", type=int, default=64, help="(default: %(default)s)")
    tr.add_argument("--lr", type=float, default=1e-3, help="(default: %(default)s)")
    tr.add_argument("--schedule-epochs", type=int, default=50, help="cosine lr decay length in epochs (default: %(default)s)")
    tr.add_argument("--clip-grad", type=float, default=1.0, help="(default: %(default)s)")
    tr.add_argument("--patience", type=int, default=10, help="early stopping patience in epochs (default: %(default)s)")
    tr.add_argument("--input-noise", type=float, default=0.0,
                    help="std (fraction of rms(u)) of the noise added to each training window's first state (default: %(default)s)")
    tr.add_argument("--val-windows", type=int, default=512, help="validation windows, evenly spaced (default: %(default)s)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--max-minutes", type=float, default=None, help="training wall-time budget, summed over resumed sessions")
    tr.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    tr.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    tr.set_defaults(func=_surrogate_train)

    ev = sur_sub.add_parser("evaluate", help="surrogate vs truth: prediction time, free runs, rewards, speed")
    ev.add_argument("--model", required=True, help="checkpoint (model.pt)")
    ev.add_argument("--out", required=True, help="output folder (report.md, report.json, PNGs)")
    _add_evaluate_options(ev)
    ev.set_defaults(func=_surrogate_evaluate)

    cmp_ = sur_sub.add_parser("compare", help="several checkpoints in one table and one figure")
    cmp_.add_argument("models", nargs="+", help="checkpoints")
    cmp_.add_argument("--out", required=True, help="output folder (compare.md, compare.png)")
    _add_evaluate_options(cmp_)
    cmp_.set_defaults(func=_surrogate_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``chaoscontrol`` command line.

    Bad input (a ``ValueError`` from the argument checks, which name the argument or file), a failed run
    (``RuntimeError``) or an unwritable output (``OSError``) print one error line and return 2.
    """
    ns = build_parser().parse_args(argv)
    command = " ".join(
        str(part) for part in (ns.command, getattr(ns, "dataset_command", None), getattr(ns, "surrogate_command", None)) if part
    )
    try:
        return ns.func(ns)
    except (ValueError, RuntimeError) as exc:
        print(f"chaoscontrol {command}: error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"chaoscontrol {command}: error: cannot read or write a file: {exc}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
