"""The env stack of training and evaluation, in one place (CleanRL's ``make_env``).

    ControlSB3VecEnv(env_id, n_envs, env_kwargs [+ surrogate])  the batched truth of any registered id, or the
                                                 surrogate's dynamics (ids whose entry point takes one)
      -> VecTimer                                    wall time spent in the env (for the profile)
      -> VecPerturbation per --wrap spec             sensor / actuator perturbations, in order
      -> VecResidualControl (optional)               a baseline's action added to the agent's (residual RL)
      -> VecSymmetryReduced (optional)               observations in their canonical frame, actions mapped back
      -> VecAdversarialTraining (optional, training) a fraction of the observations attacked (FGSM/PGD)
      -> VecMonitor                                  episode returns and lengths (before any normalisation)
      -> VecNormalize (observations; optional)       statistics saved with every checkpoint

The wrappers are in :mod:`chaoscontrol.agents.vec_wrappers`. Wrapper specs are ``NAME:LEVEL`` or
``NAME:LEVEL:{json keywords}``, NAME one of :data:`~chaoscontrol.envs.perturbation_wrappers.PERTURBATIONS`
(e.g. ``noise:0.1``, ``dropout:0.2``, ``actuator-fault:0:{"index": 1, "mode": "stuck"}``).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecMonitor, VecNormalize

from chaoscontrol.agents.systems import check_ks_symmetry, check_surrogate
from chaoscontrol.agents.vec_env import KS_ENV_ID, make_control_vec_env
from chaoscontrol.agents.vec_wrappers import (
    VecAdversarialTraining,
    VecResidualControl,
    VecSymmetryReduced,
    VecTimer,
    perturb_vec_env,
)
from chaoscontrol.baselines import make_baseline
from chaoscontrol.envs.perturbation_wrappers import PERTURBATIONS
from chaoscontrol.envs.symmetry import KSSymmetry
from chaoscontrol.surrogates.threads import torch_threads_kept


def parse_wrapper(spec: str) -> tuple[str, float, dict[str, Any]]:
    """``"noise:0.1"`` -> ("noise", 0.1, {}); ``'actuator-fault:0:{"index": 1}'`` -> (..., {"index": 1}).

    :raises ValueError: naming the spec when the name, level or keywords are not valid.
    """
    parts = str(spec).split(":", 2)
    name = parts[0]
    if name not in PERTURBATIONS:
        raise ValueError(f"wrapper spec {spec!r}: unknown perturbation {name!r}; known: {list(PERTURBATIONS)}")
    try:
        level = float(parts[1]) if len(parts) > 1 and parts[1] != "" else 0.0
    except ValueError as exc:
        raise ValueError(f"wrapper spec {spec!r}: level {parts[1]!r} is not a number") from exc
    if not (np.isfinite(level) and level >= 0):
        raise ValueError(f"wrapper spec {spec!r}: level must be finite and >= 0")
    kwargs: dict[str, Any] = {}
    if len(parts) > 2:
        try:
            kwargs = json.loads(parts[2])
        except json.JSONDecodeError as exc:
            raise ValueError(f"wrapper spec {spec!r}: keywords {parts[2]!r} are not a JSON object ({exc})") from exc
        if not isinstance(kwargs, dict):
            raise ValueError(f"wrapper spec {spec!r}: keywords must be a JSON object")
    return name, level, kwargs


def make_vec_env(
    env_kwargs: dict[str, Any],
    n_envs: int,
    seed: int,
    wrappers: tuple[str, ...] = (),
    surrogate: str | None = None,
    max_episode_steps: int = 400,
    normalize: bool = False,
    symmetry_reduced: bool = False,
    adversarial: dict[str, Any] | None = None,
    residual: str | None = None,
    env_id: str = KS_ENV_ID,
) -> VecEnv:
    """The stack of the module docstring.

    :param env_kwargs: keywords of ``env_id`` (without ``surrogate``).
    :param n_envs: batched systems.
    :param seed: env i starts from seed ``seed + i``; perturbations derive their generators from it.
    :param wrappers: perturbation specs, applied in order.
    :param surrogate: a surrogate checkpoint that replaces the solver, or None for the truth.
    :param max_episode_steps: time limit.
    :param normalize: add ``VecNormalize`` of the observations (rewards are left alone).
    :param symmetry_reduced: add :class:`~chaoscontrol.agents.vec_wrappers.VecSymmetryReduced`.
    :param adversarial: keywords of :class:`~chaoscontrol.agents.vec_wrappers.VecAdversarialTraining`
        (``eps`` in observation units, ``fraction``, ``attack``...), or None; attach the model before training.
    :param residual: a baseline spec (``lqg``...) whose actions are added to the agent's
        (:class:`~chaoscontrol.agents.vec_wrappers.VecResidualControl`), or None.
    :param env_id: a registered chaoscontrol id.
    :raises ValueError: a surrogate or symmetry reduction for a system that has none, or bad input of the env or
        the wrappers, naming it.
    """
    check_surrogate(env_id, surrogate)
    kwargs = dict(env_kwargs)
    if surrogate is not None:
        kwargs["surrogate"] = surrogate
    with torch_threads_kept():  # building may run Numba's parallel kernels (e.g. the attractor's rms)
        bare = make_control_vec_env(env_id, n_envs, None, max_episode_steps=max_episode_steps, **kwargs)
        if symmetry_reduced:
            check_ks_symmetry(bare, env_id, "symmetry_reduced")
        venv: VecEnv = VecTimer(bare)
        for spec in wrappers:
            name, level, wkwargs = parse_wrapper(spec)
            venv = perturb_vec_env(venv, name, level, **wkwargs)
    if residual is not None:
        venv = VecResidualControl(venv, make_baseline(residual, BaselineProbe(venv)))
    if symmetry_reduced:
        venv = VecSymmetryReduced(venv, KSSymmetry.from_env(bare.template))
    if adversarial is not None:
        venv = VecAdversarialTraining(venv, seed=seed, **adversarial)
    venv = VecMonitor(venv)
    if normalize:
        venv = VecNormalize(venv, norm_obs=True, norm_reward=False)
    venv.seed(seed)  # through every wrapper: the perturbations derive their generators from the env seeds
    return venv


def find_wrapper(venv: VecEnv | None, cls: type) -> Any:
    """The wrapper of class ``cls`` inside an SB3 stack, or None."""
    while venv is not None:
        if isinstance(venv, cls):
            return venv
        venv = getattr(venv, "venv", None)
    return None


def find_timer(venv: VecEnv) -> VecTimer | None:
    """The :class:`~chaoscontrol.agents.vec_wrappers.VecTimer` inside a stack, if any."""
    return find_wrapper(venv, VecTimer)


class BaselineProbe:
    """Looks like a batched env to :func:`chaoscontrol.baselines.make_baseline`: the template and the spaces.

    :param venv: an SB3 stack over :class:`~chaoscontrol.agents.vec_env.ControlSB3VecEnv` (the baseline is built
        for the observations at its top).
    """

    def __init__(self, venv: VecEnv) -> None:
        timer = find_wrapper(venv, VecTimer)
        base = timer.venv if timer is not None else venv
        self.template = getattr(base, "template", None)
        if self.template is None:
            raise ValueError("residual control needs a chaoscontrol batched env underneath (ControlSB3VecEnv)")
        self.num_envs = venv.num_envs
        self.single_observation_space = venv.observation_space
        self.single_action_space = venv.action_space
        self.env = venv  # the wrapper chain, searched for a ``subset`` perturbation

    @property
    def unwrapped(self) -> BaselineProbe:
        return self


__all__ = ["BaselineProbe", "find_timer", "find_wrapper", "make_vec_env", "parse_wrapper"]
