"""Classical controllers of KS beside the learned ones: LQR, LQG and MPC.

Each is usable wherever a trained policy is: ``chaoscontrol evaluate --model lqr``, the robustness
harness (``--policy lqg``), the study scripts. A spec is a name, optionally with JSON keywords after a
colon: ``lqr``, ``lqg:{"sensor_noise": 0.05}``, ``mpc:{"surrogate": "solver", "horizon": 8}``.

- ``lqr`` (:class:`~chaoscontrol.baselines.linear_control.LQRController`): full-state feedback about an
  equilibrium, needs ``observe="full"``. Keywords: ``target`` (``"E1"``... or default: the env's target,
  E1 for the dissipation objective), ``action_cost``.
- ``lqg`` (:class:`~chaoscontrol.baselines.linear_control.LQGController`): the same gain on a Kalman
  estimate from the sensors. Keywords: ``target``, ``action_cost``, ``process_noise``, ``sensor_noise``.
- ``mpc`` (:class:`~chaoscontrol.baselines.mpc.MPCController`): receding-horizon optimisation through a
  differentiable model, needs ``observe="full"``. Keywords: ``surrogate`` (required: a checkpoint or
  ``"solver"``), ``horizon``, ``iterations``, ``lr``, ``action_cost``, ``target``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from chaoscontrol.validation import parse_json_object

BASELINES = ("lqr", "lqg", "mpc")
_KEYWORDS = {
    "lqr": {"target", "action_cost"},
    "lqg": {"target", "action_cost", "process_noise", "sensor_noise"},
    "mpc": {"surrogate", "horizon", "iterations", "lr", "action_cost", "target"},
}


def parse_baseline(spec: str) -> tuple[str, dict[str, Any]] | None:
    """(name, keywords) of a baseline spec ``NAME[:JSON]``, or None if ``spec`` names no baseline.

    :raises ValueError: for bad JSON or unknown keywords, naming them.
    """
    if not isinstance(spec, str):
        return None
    name, _, rest = spec.partition(":")
    if name not in BASELINES:
        return None
    kwargs: dict[str, Any] = parse_json_object(f"the keywords of baseline spec {spec!r} (after ':')", rest) if rest else {}
    unknown = set(kwargs) - _KEYWORDS[name]
    if unknown:
        raise ValueError(f"baseline {name!r} takes keywords {sorted(_KEYWORDS[name])}, got unknown {sorted(unknown)}")
    return name, kwargs


def _template(venv: Any) -> Any:
    base = venv.unwrapped if hasattr(venv, "unwrapped") else venv
    template = getattr(base, "template", None) or getattr(venv, "template", None)
    if template is None:
        raise ValueError("baselines run on KS-Control-v0 vector envs (KSControlVectorEnv)")
    return template


def _sensor_subset(venv: Any) -> np.ndarray | None:
    """Indices kept by a ``subset`` perturbation in the wrapper chain, or None."""
    from chaoscontrol.envs.perturbations import Subset

    env = venv
    while env is not None:
        if isinstance(getattr(env, "perturbation", None), Subset):
            return env.perturbation.indices
        env = getattr(env, "env", None) or getattr(env, "venv", None)  # Gymnasium or SB3 wrapper chains
    return None


def make_baseline(spec: str, venv: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The controller of ``spec`` for the batched env ``venv``: a callable obs (B, n_obs) -> actions (B, n_act).

    :raises ValueError: with the reason: an unknown spec or keyword, a target that is not an equilibrium,
        an equilibrium the actuators cannot stabilise, sensors that do not observe its unstable modes, an
        observation that is not what the controller needs, or an MPC without a differentiable model.
    """
    from chaoscontrol.baselines.linear_control import LQGController, LQRController
    from chaoscontrol.baselines.linearization import linearise, resolve_equilibrium

    parsed = parse_baseline(spec)
    if parsed is None:
        raise ValueError(f"baseline must be one of {BASELINES} (optionally NAME:JSON), got {spec!r}")
    name, kwargs = parsed
    template = _template(venv)
    target = kwargs.pop("target", None)
    if name in ("lqr", "mpc") and template.observe != "full":
        raise ValueError(
            f"{name} needs the full state: make the env with observe='full' (env_kwargs), or use 'lqg' with the sensors"
        )
    if name == "mpc":
        from chaoscontrol.baselines.mpc import MPCController, load_mpc_model

        model = load_mpc_model(kwargs.pop("surrogate", None), template)
        u_star = None if target is None and template.objective != "target" else resolve_equilibrium(template, target)
        return MPCController(model, template, target=u_star, **kwargs)
    model = linearise(template, resolve_equilibrium(template, target))
    if name == "lqr":
        return LQRController(model, **kwargs)
    if template.observe != "sensors":
        raise ValueError("lqg reads the sensors: make the env with observe='sensors' (the default)")
    rows = _sensor_subset(venv)
    if rows is not None:
        model = dataclasses.replace(model, C=model.C[rows], sensor_matrix=model.sensor_matrix[rows])
    return LQGController(model, **kwargs)


__all__ = ["BASELINES", "make_baseline", "parse_baseline"]
