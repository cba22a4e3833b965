"""The sweep over the levels: run (or resume) the harness, writing the CSV, the figure and ``config.json``."""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any

from chaoscontrol.agents.policies import check_policy_file, make_policy
from chaoscontrol.agents.robustness.args import RobustnessArgs
from chaoscontrol.agents.robustness.csv_rows import completed_rows, row_appender
from chaoscontrol.agents.robustness.level import evaluate_level, sweep_env_id, sweep_metric
from chaoscontrol.agents.robustness.plot import plot_robustness
from chaoscontrol.agents.sensor_levels import make_env_perturbation
from chaoscontrol.agents.systems import build_vector_env
from chaoscontrol.envs.perturbation_wrappers import VectorPerturbation
from chaoscontrol.io import write_json_atomic

#: Arguments that may differ between a sweep and its resumption.
_NOT_IDENTITY = ("levels", "out", "progress", "trust_pickle")


#: Defaults of the arguments, for a sweep whose config.json predates an argument (it resumes with the default).
_ARG_DEFAULTS = {f.name: f.default for f in fields(RobustnessArgs) if f.default is not MISSING}


def template_env(args: RobustnessArgs) -> Any:
    """One env of the sweep's configuration (a batch of one of :func:`~chaoscontrol.agents.robustness.level.sweep_env_id`):
    the env, every level's perturbation and the policy are checked on it, and the levels' perturbations are made
    for it.

    :raises ValueError: an unknown env id, or unknown or bad keywords of the env, naming them.
    """
    return build_vector_env(sweep_env_id(args), 1, args.env_kwargs, args.max_episode_steps)


def check_sweep(args: RobustnessArgs) -> Any:
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
        make_env_perturbation(args.perturbation, level, template, **dict(args.perturbation_kwargs))
    perturbation, target = make_env_perturbation(args.perturbation, args.levels[0], template, **dict(args.perturbation_kwargs))
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
        previous = {k: previous.get(k, _ARG_DEFAULTS.get(k)) for k in set(previous) | set(identity) if k not in _NOT_IDENTITY}
        if previous != json.loads(json.dumps(identity)):
            raise ValueError(f"{out} holds a sweep with other arguments ({previous}); use another --out to start a new one")
    out.mkdir(parents=True, exist_ok=True)
    metric = sweep_metric(template)
    done = completed_rows(csv_path, metric)
    levels = sorted(set(args.levels) | set(done))
    write_json_atomic(config_path, {"args": identity | {"levels": levels}, "package_version": __version__})
    with row_appender(csv_path, metric) as append:
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
