"""The episodes of one perturbation level of the harness, run together, as CSV rows."""

from __future__ import annotations

from typing import Any

from chaoscontrol.agents.adversarial import attacked_vector_env
from chaoscontrol.agents.policies import make_policy
from chaoscontrol.agents.policies.saved import policy_run
from chaoscontrol.agents.robustness.args import RobustnessArgs
from chaoscontrol.agents.sensor_levels import make_env_perturbation
from chaoscontrol.agents.systems import DEFAULT_ENV_ID, build_vector_env
from chaoscontrol.envs.perturbation_wrappers import VectorPerturbation
from chaoscontrol.envs.rollout import rollout


def sweep_env_id(args: RobustnessArgs) -> str:
    """The env id of the sweep: ``args.env_id``, else the policy's run's (a ``.zip``), else ``KS-Control-v0``.

    :param args: the sweep's arguments.
    """
    if args.env_id is not None:
        return args.env_id
    run = policy_run(args.policy) if str(args.policy).endswith(".zip") else {}
    return run.get("env_id") or DEFAULT_ENV_ID


def sweep_metric(env: Any) -> str:
    """The per-episode metric of a sweep on ``env`` (:data:`~chaoscontrol.agents.robustness.csv_rows.METRICS`):
    ``dissipation`` where the dynamics has that diagnostic (KS), else ``cost``.

    :param env: a (batched) env of the sweep.
    """
    return "dissipation" if "dissipation" in env.unwrapped.dynamics.diagnostic_names else "cost"


def evaluate_level(args: RobustnessArgs, level: float, template: Any = None) -> list[dict[str, Any]]:
    """Run the ``args.episodes`` episodes of one level; one dict per episode (the CSV columns).

    :param args: the sweep's arguments.
    :param level: the perturbation level.
    :param template: an env of the sweep's configuration the perturbation is made for (its scale and spaces;
        :func:`~chaoscontrol.agents.robustness.sweep.template_env`); default: the level's own batch.
    """
    venv = build_vector_env(sweep_env_id(args), args.episodes, args.env_kwargs, args.max_episode_steps)
    if args.perturbation == "adversarial":
        env, act = attacked_vector_env(venv, args.policy, level, args.seed, args.deterministic, args.trust_pickle,
                                       **args.perturbation_kwargs)
    else:
        perturbation, target = make_env_perturbation(args.perturbation, level, venv if template is None else template,
                                                     **dict(args.perturbation_kwargs))
        env = VectorPerturbation(venv, perturbation, target)
        act, _ = make_policy(args.policy, env, args.seed, args.deterministic, args.trust_pickle)  # against the perturbed spaces
    metric = sweep_metric(venv)
    run = rollout(env, act, args.max_episode_steps, seed=args.seed,
                  info_keys=("blowup", "dissipation") if metric == "dissipation" else ("blowup",))
    env.close()
    returns = run.totals()
    total = run.totals("dissipation", skip="blowup") if metric == "dissipation" else -run.totals(skip="blowup")
    steps = (run.live & ~run.infos["blowup"]).sum(axis=1)
    blowup = run.ever("blowup")
    return [
        {
            "level": level,
            "seed": args.seed + e,
            "episode": e,
            "return": float(returns[e]),
            f"mean_{metric}": float(total[e] / steps[e]) if steps[e] else float("nan"),
            "blowup": int(blowup[e]),
        }
        for e in range(args.episodes)
    ]


__all__ = ["evaluate_level", "sweep_env_id", "sweep_metric"]
