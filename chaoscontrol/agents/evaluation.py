"""Evaluation of a controller on the truth env: cost against no control, success, blow-ups, and figures.

``chaoscontrol evaluate --model {zero,random,lqr,lqg,mpc,PATH.zip} --episodes N --seed S --out DIR`` runs N episodes
together on the batched truth env (episode e from env seed S + e), then the same N initial states with
no control (zero action, no perturbation), and writes

- ``DIR/evaluation.json``: ``mean_return``, ``mean_cost_second_half`` (mean of -reward over the second
  half of each episode), ``no_control_cost_second_half``, ``improvement`` (1 - cost / no-control cost,
  per episode, then averaged), each with a 95% confidence half-width (1.96 standard errors);
  ``success_rate`` (final rms(u - u*) below :data:`~chaoscontrol.envs.rollout.SUCCESS_DISTANCE`, 0.1; null for
  the dissipation objective); ``blowups``; the
  per-episode values; the env, wrappers and perturbation used;
- ``DIR/evaluation.png``: episode 0, controlled and uncontrolled (a space-time diagram of a 1-D field, the
  components of a small state: :mod:`~chaoscontrol.agents.evaluation_figure`), and its actions.

An existing ``DIR/evaluation.json`` (or ``.png``) is not replaced unless ``overwrite`` (``--overwrite``); both are
written atomically.

The env id (any registered one), its keywords and the training wrappers are read from the model's run folder
(``config.json``), or given (``env_id``, ``env_kwargs``, ``wrappers``); a policy trained on a surrogate is evaluated
on the truth. ``perturbation``/``level`` add one perturbation of the robustness harness on top.
A blow-up ends that episode (its cost is then NaN and it counts in ``blowups``), never the evaluation.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chaoscontrol.agents.evaluation_figure import evaluation_figure
from chaoscontrol.envs.rollout import rollout
from chaoscontrol.io import refuse_existing_output, write_json_atomic
from chaoscontrol.validation import check_int


@dataclass(frozen=True)
class AgentEvaluateArgs:
    """Arguments of ``chaoscontrol evaluate``."""

    model: str = "zero"
    """``zero`` (no control), ``random`` (uniform actions), a baseline (``lqr``, ``lqg``, ``mpc``, optionally
    ``NAME:JSON``; :mod:`chaoscontrol.baselines`) or an SB3 ``.zip``."""
    episodes: int = 20
    """Episodes (run together)."""
    seed: int = 0
    """Episode e starts from env seed ``seed + e``."""
    out: str = "runs/evaluation"
    """Output folder."""
    env_id: str | None = None
    """Env id, any registered one (default: the run's, or ``KS-Control-v0``)."""
    env_kwargs: dict[str, Any] | None = None
    """Env keywords (default: the run's, or none)."""
    wrappers: tuple[str, ...] | None = None
    """Perturbation specs (default: the run's training wrappers; ``()`` for none)."""
    perturbation: str | None = None
    """A perturbation of the robustness harness on top (e.g. ``noise``), or None."""
    level: float = 0.0
    """Its level."""
    perturbation_kwargs: dict[str, Any] = field(default_factory=dict)
    """Its keywords."""
    max_episode_steps: int = 400
    """Episode length."""
    deterministic: bool = True
    """Deterministic actions of a trained policy."""
    trust_pickle: bool = False
    """Allow a ``.zip`` without the project's policy files (``.policy.json`` beside it: an SB3 zip from elsewhere,
    or saved before they existed): SB3's zip and ``vecnormalize.pkl`` are then unpickled, which runs any code they
    hold. Only for files you trust."""
    overwrite: bool = False
    """Replace the evaluation already in --out (evaluation.json, evaluation.png); without it that is refused."""

    def __post_init__(self) -> None:
        """The values only: the model file and its run folder are read by :func:`evaluate_agent`."""
        from chaoscontrol.agents.policies import check_policy_spec

        check_int("episodes", self.episodes)
        check_int("max_episode_steps", self.max_episode_steps)
        check_policy_spec("model", self.model)
        _check_env(self.env_id, self.wrappers)
        if not (math.isfinite(self.level) and self.level >= 0):
            raise ValueError(f"level must be finite and >= 0, got {self.level!r}")

    def resolved(self) -> dict[str, Any]:
        """Env id, env keywords and wrappers: given, else the run folder's (its ``config.json``), else the defaults.

        :raises ValueError: a model file that does not exist, or a run folder's env id or wrappers that are not valid.
        """
        from chaoscontrol.agents.policies import check_policy_file, run_config
        from chaoscontrol.agents.systems import DEFAULT_ENV_ID

        check_policy_file("model", self.model)
        config = run_config(self.model) if str(self.model).endswith(".zip") else None
        run = config["args"] if config else {}
        resolved = {
            "env_id": self.env_id or run.get("env_id") or DEFAULT_ENV_ID,
            "env_kwargs": dict(self.env_kwargs if self.env_kwargs is not None else run.get("env_kwargs", {})),
            "wrappers": tuple(self.wrappers if self.wrappers is not None else run.get("wrappers", ())),
            "trained_on_surrogate": run.get("surrogate"),
        }
        _check_env(resolved["env_id"], resolved["wrappers"])
        return resolved


def _check_env(env_id: str | None, wrappers: tuple[str, ...] | None) -> None:
    """Raise ValueError naming the env id or the wrapper spec that is not valid (None: not given, nothing to check)."""
    from chaoscontrol.agents.env_stack import parse_wrapper
    from chaoscontrol.agents.systems import check_agent_env_id

    if env_id is not None:
        check_agent_env_id(env_id)
    for spec in wrappers or ():
        parse_wrapper(spec)


def ci95(x: np.ndarray) -> float | None:
    """1.96 standard errors of the finite values; None (strict JSON has no NaN) for fewer than two."""
    x = x[np.isfinite(x)]
    return float(1.96 * x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else None


def finite_mean(x: np.ndarray) -> float | None:
    """Mean of the finite values; None (strict JSON) if there are none."""
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else None


def has_target_distance(template: Any) -> bool:
    """Whether the env's objective is a distance to a target (its info key ``target_distance``: success is defined).

    :param template: a single env.
    """
    return getattr(template.objective_fn, "info_key", None) == "target_distance"


def _episodes(env: Any, act, seed: int, steps: int) -> dict[str, Any]:
    """Rewards (B, steps) (NaN after an episode's end), blow-ups, final distances, success and episode 0's history."""
    base = env.unwrapped if hasattr(env, "unwrapped") else env
    has_target = has_target_distance(base.template)
    run = rollout(env, act, steps, seed=seed, info_keys=("blowup", "target_distance") if has_target else ("blowup",),
                  snapshot=lambda: base.u[0].copy())
    rewards = np.full((env.num_envs, steps), np.nan)
    rewards[:, : run.steps] = run.rewards
    return {"rewards": rewards, "blowup": run.ever("blowup"),
            "distance": run.final("target_distance") if has_target else np.full(env.num_envs, np.nan),
            "success": run.reached_target() if has_target else None,
            "history": np.array(run.snapshots), "actions": np.clip(run.actions[0], -1, 1)}


def evaluate_agent(args: AgentEvaluateArgs, progress: bool = True) -> dict[str, Any]:
    """Run the evaluation of ``args`` (see the module docstring); writes DIR and returns the JSON dict.

    What the arguments refer to (the model file, its run folder, the output) is checked here, before anything is
    written.

    :param args: the evaluation.
    :param progress: show a progress bar.
    :raises ValueError: bad input (naming it), an evaluation already in ``args.out`` without ``overwrite`` (naming
        ``--overwrite``), or a model file that would have to be unpickled without ``trust_pickle`` (naming
        ``--trust-pickle``).
    """
    from tqdm.auto import tqdm

    from chaoscontrol.agents.adversarial import attacked_vector_env
    from chaoscontrol.agents.env_stack import parse_wrapper
    from chaoscontrol.agents.policies import make_policy
    from chaoscontrol.agents.sensor_levels import make_env_perturbation
    from chaoscontrol.agents.systems import build_vector_env
    from chaoscontrol.envs.perturbation_wrappers import VectorPerturbation
    from chaoscontrol.surrogates.threads import torch_threads_kept

    res = args.resolved()
    steps = args.max_episode_steps
    out = Path(args.out)
    refuse_existing_output(out / "evaluation.json", overwrite=args.overwrite, resumable=False, what="evaluation",
                           present=(out / "evaluation.json").exists() or (out / "evaluation.png").exists())

    def truth(n: int) -> Any:
        return build_vector_env(res["env_id"], n, res["env_kwargs"], steps)

    bar = tqdm(total=2, desc="evaluate", disable=not progress)
    with torch_threads_kept():
        venv = truth(args.episodes)
        env: Any = venv
        for spec in res["wrappers"]:
            name, level, kwargs = parse_wrapper(spec)
            env = VectorPerturbation(env, *make_env_perturbation(name, level, venv, **kwargs))
        if args.perturbation == "adversarial":
            env, act = attacked_vector_env(env, args.model, args.level, args.seed, args.deterministic, args.trust_pickle,
                                           **args.perturbation_kwargs)
        else:
            if args.perturbation is not None:
                env = VectorPerturbation(env, *make_env_perturbation(args.perturbation, args.level, venv,
                                                                     **dict(args.perturbation_kwargs)))
            act, _ = make_policy(args.model, env, args.seed, args.deterministic, args.trust_pickle)  # against the (perturbed) spaces
        controlled = _episodes(env, act, args.seed, steps)
        bar.update()
        base = truth(args.episodes)
        zero = np.zeros((args.episodes, base.single_action_space.shape[0]))
        free = _episodes(base, lambda obs: zero, args.seed, steps)
        bar.update()
    bar.close()

    half = steps // 2
    cost = -np.nanmean(controlled["rewards"][:, half:], axis=1)
    cost[controlled["blowup"]] = np.nan
    cost0 = -np.nanmean(free["rewards"][:, half:], axis=1)
    improvement = 1.0 - cost / cost0
    returns = np.nansum(controlled["rewards"], axis=1)
    template = venv.template
    is_target = has_target_distance(template)
    success = controlled["success"] if is_target else None
    report = {
        "model": args.model,
        "env_id": res["env_id"],
        "env_kwargs": res["env_kwargs"],
        "wrappers": list(res["wrappers"]),
        "perturbation": None if args.perturbation is None else {"name": args.perturbation, "level": args.level,
                                                                 **args.perturbation_kwargs},
        "trained_on_surrogate": res["trained_on_surrogate"],
        "objective": getattr(template, "objective", None),
        "episodes": args.episodes,
        "seed": args.seed,
        "mean_return": float(np.mean(returns)),
        "mean_return_ci95": ci95(returns),
        "mean_cost_second_half": finite_mean(cost),
        "mean_cost_second_half_ci95": ci95(cost),
        "no_control_cost_second_half": finite_mean(cost0),
        "no_control_cost_second_half_ci95": ci95(cost0),
        "improvement": finite_mean(improvement),
        "improvement_ci95": ci95(improvement),
        "success_rate": None if success is None else float(success.mean()),
        "final_target_distance": None if not is_target else [None if not np.isfinite(d) else float(d) for d in controlled["distance"]],
        "blowups": int(controlled["blowup"].sum()),
        "per_episode": {"return": returns.tolist(), "cost_second_half": [None if not np.isfinite(c) else float(c) for c in cost],
                        "no_control_cost_second_half": [None if not np.isfinite(c) else float(c) for c in cost0]},
        "args": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(args).items()},
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "evaluation.json", report)
    evaluation_figure(out / "evaluation.png", controlled, free, template, args.model)
    return report


__all__ = ["AgentEvaluateArgs", "evaluate_agent"]
