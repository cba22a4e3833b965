"""Classical controllers beside the learned ones: LQR and LQG on every registered system, MPC on KS.

Each is usable wherever a trained policy is: ``chaoscontrol evaluate --model lqr``, the robustness
harness (``--policy lqg``), the study scripts. A spec is a name, optionally with JSON keywords after a
colon: ``lqr``, ``lqg:{"sensor_noise": 0.05}``, ``mpc:{"surrogate": "solver", "horizon": 8}``.

- ``lqr`` (:class:`~chaoscontrol.baselines.linear_control.LQRController`): full-state feedback about the
  target, needs observations that determine the state (``observe="full"``; Lorenz-63's default sensors).
  Keywords: ``target`` (a name of the env's targets, ``"uniform"`` for CGLE, an array, or default: the env's
  target, else its default one, :mod:`chaoscontrol.baselines.set_points`), ``action_cost``.
- ``lqg`` (:class:`~chaoscontrol.baselines.linear_control.LQGController`): the same gain on a Kalman
  estimate from the observations (any linear sensors). Keywords: ``target``, ``action_cost``,
  ``process_noise``, ``sensor_noise``.
- ``mpc`` (:class:`~chaoscontrol.baselines.mpc.MPCController`): receding-horizon optimisation through a
  differentiable model, KS only, needs ``observe="full"``. Keywords: ``surrogate`` (required: a checkpoint or
  ``"solver"``), ``horizon``, ``iterations``, ``lr``, ``action_cost``, ``target``.

The linear baselines work on any env built on :class:`~chaoscontrol.envs.core.ControlEnv` from its dynamics,
observer and objective alone (:mod:`chaoscontrol.baselines.linearization`); about CGLE's uniform oscillation,
a relative equilibrium, in the co-rotating frame (:mod:`chaoscontrol.baselines.phase_frame`).
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
        raise ValueError("baselines run on the batched envs of chaoscontrol (make_vector_env: a ControlVectorEnv "
                         "with its template env), or wrappers of them")
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

    :param spec: ``NAME[:JSON]`` (module docstring).
    :param venv: a batched env of any registered id (``make_vector_env``), or a wrapper of one.
    :raises ValueError: with the reason: an unknown spec or keyword, a target that is not an equilibrium,
        an equilibrium the actuators cannot stabilise, sensors that do not observe its unstable modes, an
        observation that is not what the controller needs, an MPC without a differentiable model or off KS.
    """
    from chaoscontrol.baselines.linear_control import LQGController, LQRController
    from chaoscontrol.baselines.linearization import linearise
    from chaoscontrol.baselines.set_points import resolve_set_point

    parsed = parse_baseline(spec)
    if parsed is None:
        raise ValueError(f"baseline must be one of {BASELINES} (optionally NAME:JSON), got {spec!r}")
    name, kwargs = parsed
    template = _template(venv)
    target = kwargs.pop("target", None)
    if name == "mpc":
        return _make_mpc(template, target, kwargs)
    u_star, relative = resolve_set_point(template, target)
    model = linearise(template, u_star, relative=relative)
    rows = _sensor_subset(venv)
    if rows is not None:
        model = model.with_sensor_rows(rows)
    return LQRController(model, **kwargs) if name == "lqr" else LQGController(model, **kwargs)


def _make_mpc(template: Any, target: Any, kwargs: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """MPC through a differentiable KS model (KS envs only)."""
    from chaoscontrol.baselines.set_points import resolve_set_point
    from chaoscontrol.solvers.ks_dynamics import KSDynamics

    if not isinstance(getattr(template, "truth", None), KSDynamics):
        raise ValueError("mpc runs on the KS envs only (KS-Control-v0, KS-L66-Control-v0, KS-L100-Control-v0): its "
                         "differentiable model is the KS scheme or a KS surrogate; use 'lqr' or 'lqg' on this system")
    if template.observe != "full":
        raise ValueError("mpc needs the full state: make the env with observe='full' (env_kwargs), or use 'lqg' with the sensors")
    from chaoscontrol.baselines.mpc import MPCController, load_mpc_model

    model = load_mpc_model(kwargs.pop("surrogate", None), template)
    u_star = None if target is None and template.objective != "target" else resolve_set_point(template, target)[0]
    return MPCController(model, template, target=u_star, **kwargs)


__all__ = ["BASELINES", "make_baseline", "parse_baseline"]
