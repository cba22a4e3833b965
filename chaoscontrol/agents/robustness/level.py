"""The episodes of one perturbation level of the harness, run together, as CSV rows."""

from __future__ import annotations

from typing import Any

from chaoscontrol.agents.adversarial import attacked_vector_env
from chaoscontrol.agents.policies import make_policy
from chaoscontrol.agents.robustness.args import RobustnessArgs
from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.envs.perturbation_wrappers import VectorPerturbation, make_perturbation
from chaoscontrol.envs.rollout import rollout


def evaluate_level(args: RobustnessArgs, level: float, template: Any = None) -> list[dict[str, Any]]:
    """Run the ``args.episodes`` episodes of one level; one dict per episode (the CSV columns).

    :param args: the sweep's arguments.
    :param level: the perturbation level.
    :param template: an env of the sweep's configuration the perturbation is made for (its scale and spaces;
        :func:`~chaoscontrol.agents.robustness.sweep.template_env`); default: the level's own batch.
    """
    venv = KSControlVectorEnv(
        num_envs=args.episodes, max_episode_steps=args.max_episode_steps, autoreset_mode="Disabled", **args.env_kwargs
    )
    if args.perturbation == "adversarial":
        env, act = attacked_vector_env(venv, args.policy, level, args.seed, args.deterministic, args.trust_pickle,
                                       **args.perturbation_kwargs)
    else:
        perturbation, target = make_perturbation(args.perturbation, level, venv if template is None else template,
                                                 **dict(args.perturbation_kwargs))
        env = VectorPerturbation(venv, perturbation, target)
        act, _ = make_policy(args.policy, env, args.seed, args.deterministic, args.trust_pickle)  # against the perturbed spaces
    run = rollout(env, act, args.max_episode_steps, seed=args.seed, info_keys=("blowup", "dissipation"))
    env.close()
    returns = run.totals()
    dissipation = run.totals("dissipation", skip="blowup")
    steps = (run.live & ~run.infos["blowup"]).sum(axis=1)
    blowup = run.ever("blowup")
    return [
        {
            "level": level,
            "seed": args.seed + e,
            "episode": e,
            "return": float(returns[e]),
            "mean_dissipation": float(dissipation[e] / steps[e]) if steps[e] else float("nan"),
            "blowup": int(blowup[e]),
        }
        for e in range(args.episodes)
    ]


__all__ = ["evaluate_level"]
