"""The sweep over the levels: run (or resume) the harness, writing the CSV, the figure and ``config.json``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from chaoscontrol.agents.policies import make_policy
from chaoscontrol.agents.robustness.args import RobustnessArgs
from chaoscontrol.agents.robustness.csv_rows import completed_rows, row_appender
from chaoscontrol.agents.robustness.level import evaluate_level
from chaoscontrol.agents.robustness.plot import plot_robustness
from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.envs.perturbation_wrappers import VectorPerturbation, make_perturbation
from chaoscontrol.io import write_json_atomic

#: Arguments that may differ between a sweep and its resumption.
_NOT_IDENTITY = ("levels", "out", "progress")


def _probe_policy(args: RobustnessArgs) -> None:
    """Build the policy against the (perturbed) env of the first level: a mismatch fails here."""
    venv = KSControlVectorEnv(num_envs=1, max_episode_steps=args.max_episode_steps, autoreset_mode="Disabled", **args.env_kwargs)
    if args.perturbation == "adversarial":
        make_policy(args.policy, venv, args.seed)
        return
    perturbation, target = make_perturbation(args.perturbation, args.levels[0], venv, **dict(args.perturbation_kwargs))
    make_policy(args.policy, VectorPerturbation(venv, perturbation, target), args.seed)


def run_robustness(args: RobustnessArgs) -> Path:
    """Run (or resume) the sweep of ``args``; returns the CSV path. Writes the CSV, the PNG and config.json.

    :param args: the sweep.
    :raises ValueError: if ``args.out`` holds a sweep with other arguments, or the policy does not fit the env.
    """
    from tqdm.auto import tqdm

    from chaoscontrol import __version__

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "robustness.csv"
    config_path = out / "config.json"
    identity = {k: v for k, v in asdict(args).items() if k not in _NOT_IDENTITY}
    if csv_path.exists() and config_path.exists():
        previous = json.loads(config_path.read_text()).get("args", {})
        previous = {k: v for k, v in previous.items() if k not in _NOT_IDENTITY}
        if previous != json.loads(json.dumps(identity)):
            raise ValueError(f"{out} holds a sweep with other arguments ({previous}); use another --out to start a new one")
    # the policy against the perturbed env, before any row is written
    probe_args = RobustnessArgs(**{**asdict(args), "episodes": 1, "levels": (args.levels[0],), "progress": False})
    _probe_policy(probe_args)
    done = completed_rows(csv_path)
    levels = sorted(set(args.levels) | set(done))
    write_json_atomic(config_path, {"args": identity | {"levels": levels}, "package_version": __version__})
    with row_appender(csv_path) as append:
        for level in tqdm(args.levels, desc=f"robustness {args.perturbation}", disable=not args.progress):
            have = done.get(float(level), set())
            if len(have) >= args.episodes and all(e in have for e in range(args.episodes)):
                continue
            for row in evaluate_level(args, float(level)):
                if row["episode"] not in have:
                    append(row)
    plot_robustness(csv_path, out / "robustness.png", title=f"{args.policy} under {args.perturbation}")
    return csv_path


__all__ = ["run_robustness"]
