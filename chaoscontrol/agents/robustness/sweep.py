"""The sweep over the levels: run (or resume) the harness, writing the CSV, the figure and ``config.json``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from chaoscontrol.agents.policies import check_policy_file, make_policy
from chaoscontrol.agents.robustness.args import RobustnessArgs
from chaoscontrol.agents.robustness.csv_rows import completed_rows, row_appender
from chaoscontrol.agents.robustness.level import evaluate_level
from chaoscontrol.agents.robustness.plot import plot_robustness
from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.envs.perturbation_wrappers import VectorPerturbation, make_perturbation
from chaoscontrol.io import write_json_atomic

#: Arguments that may differ between a sweep and its resumption.
_NOT_IDENTITY = ("levels", "out", "progress", "trust_pickle")


def template_env(args: RobustnessArgs) -> KSControlVectorEnv:
    """One env of the sweep's configuration (a batch of one): the env, every level's perturbation and the policy are
    checked on it, and the levels' perturbations are made for it.

    :raises ValueError: unknown or bad keywords of the env, naming them.
    """
    try:
        return KSControlVectorEnv(num_envs=1, max_episode_steps=args.max_episode_steps, autoreset_mode="Disabled", **args.env_kwargs)
    except TypeError as exc:
        raise ValueError(f"env_kwargs: {exc}") from exc


def check_sweep(args: RobustnessArgs) -> KSControlVectorEnv:
    """What the arguments refer to: the policy file, the env, every level's perturbation, and the policy against the
    (perturbed) env of the first level, so that bad input fails before any row is written.

    :param args: the sweep.
    :return: the sweep's :func:`template_env`, on which all of it was checked.
    :raises ValueError: naming the argument or file at fault.
    """
    check_policy_file("policy", args.policy)
    template = template_env(args)
    if args.perturbation == "adversarial":
        make_policy(args.policy, template, args.seed, trust_pickle=args.trust_pickle)
        return template
    for level in args.levels:
        make_perturbation(args.perturbation, level, template, **dict(args.perturbation_kwargs))
    perturbation, target = make_perturbation(args.perturbation, args.levels[0], template, **dict(args.perturbation_kwargs))
    make_policy(args.policy, VectorPerturbation(template, perturbation, target), args.seed, trust_pickle=args.trust_pickle)
    return template


def run_robustness(args: RobustnessArgs) -> Path:
    """Run (or resume) the sweep of ``args``; returns the CSV path. Writes the CSV, the PNG and config.json.

    The env, the perturbations and the policy are checked first, on one :func:`template_env`, before anything is
    written.

    :param args: the sweep.
    :raises ValueError: bad input (naming it), if ``args.out`` holds a sweep with other arguments, or the policy
        does not fit the env (or would have to be unpickled without ``trust_pickle``, naming ``--trust-pickle``).
    """
    from tqdm.auto import tqdm

    from chaoscontrol import __version__

    template = check_sweep(args)
    out = Path(args.out)
    csv_path = out / "robustness.csv"
    config_path = out / "config.json"
    identity = {k: v for k, v in asdict(args).items() if k not in _NOT_IDENTITY}
    if csv_path.exists() and config_path.exists():
        previous = json.loads(config_path.read_text()).get("args", {})
        previous = {k: v for k, v in previous.items() if k not in _NOT_IDENTITY}
        if previous != json.loads(json.dumps(identity)):
            raise ValueError(f"{out} holds a sweep with other arguments ({previous}); use another --out to start a new one")
    out.mkdir(parents=True, exist_ok=True)
    done = completed_rows(csv_path)
    levels = sorted(set(args.levels) | set(done))
    write_json_atomic(config_path, {"args": identity | {"levels": levels}, "package_version": __version__})
    with row_appender(csv_path) as append:
        for level in tqdm(args.levels, desc=f"robustness {args.perturbation}", disable=not args.progress):
            have = done.get(float(level), set())
            if len(have) >= args.episodes and all(e in have for e in range(args.episodes)):
                continue
            for row in evaluate_level(args, float(level), template):
                if row["episode"] not in have:
                    append(row)
    plot_robustness(csv_path, out / "robustness.png", title=f"{args.policy} under {args.perturbation}")
    return csv_path


__all__ = ["check_sweep", "run_robustness", "template_env"]
