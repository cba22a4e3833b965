"""The env stack of training and evaluation, in one place (CleanRL's ``make_env``).

    KSVecEnv(n_envs, env_kwargs [+ surrogate])      batched Numba truth, or the surrogate's dynamics
      -> VecTimer                                    wall time spent in the env (for the profile)
      -> VecPerturbation per --wrap spec             sensor / actuator perturbations, in order
      -> VecResidualControl (optional)               a baseline's action added to the agent's (residual RL)
      -> VecSymmetryReduced (optional)               observations in their canonical frame, actions mapped back
      -> VecAdversarialTraining (optional, training) a fraction of the observations attacked (FGSM/PGD)
      -> VecMonitor                                  episode returns and lengths (before any normalisation)
      -> VecNormalize (observations; optional)       statistics saved with every checkpoint

Wrapper specs are ``NAME:LEVEL`` or ``NAME:LEVEL:{json keywords}``, NAME one of
:data:`~chaoscontrol.envs.perturbation_wrappers.PERTURBATIONS` (e.g. ``noise:0.1``,
``dropout:0.2``, ``actuator-fault:0:{"index": 1, "mode": "stuck"}``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecMonitor, VecNormalize

from chaoscontrol.envs.perturbation_wrappers import PERTURBATIONS
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


class VecTimer(VecEnvWrapper):
    """Accumulates the wall time spent in ``reset`` and ``step`` of the wrapped env (``seconds``) and the steps.

    It also restores torch's thread count after every env call: Numba's OpenMP layer resets it to the
    core count on its first parallel kernel (see :mod:`chaoscontrol.surrogates.threads`), which would
    make a run started with ``OMP_NUM_THREADS=1`` oversubscribe a shared machine.
    """

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self.seconds = 0.0
        self.steps = 0

    def _timed(self, fn, *args):
        t0 = time.perf_counter()
        with torch_threads_kept():
            out = fn(*args)
        self.seconds += time.perf_counter() - t0
        return out

    def reset(self):
        return self._timed(self.venv.reset)

    def step_async(self, actions: np.ndarray) -> None:
        self._timed(self.venv.step_async, actions)

    def step_wait(self):
        out = self._timed(self.venv.step_wait)
        self.steps += self.num_envs
        return out


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
) -> VecEnv:
    """The stack of the module docstring.

    :param env_kwargs: keywords of ``KS-Control-v0`` (without ``surrogate``).
    :param n_envs: batched systems.
    :param seed: env i starts from seed ``seed + i``; perturbations derive their generators from it.
    :param wrappers: perturbation specs, applied in order.
    :param surrogate: a surrogate checkpoint that replaces the solver, or None for the truth.
    :param max_episode_steps: time limit.
    :param normalize: add ``VecNormalize`` of the observations (rewards are left alone).
    :param symmetry_reduced: add :class:`~chaoscontrol.agents.robust_training.VecSymmetryReduced`.
    :param adversarial: keywords of :class:`~chaoscontrol.agents.robust_training.VecAdversarialTraining`
        (``eps`` in observation units, ``fraction``, ``attack``...), or None; attach the model before training.
    :param residual: a baseline spec (``lqg``...) whose actions are added to the agent's
        (:class:`~chaoscontrol.agents.residual.VecResidualControl`), or None.
    """
    from chaoscontrol.agents.robust_training import VecAdversarialTraining, VecSymmetryReduced
    from chaoscontrol.envs.symmetry import KSSymmetry
    from chaoscontrol.agents.perturbed_vec_env import perturb_vec_env
    from chaoscontrol.agents.vec_env import make_ks_vec_env

    kwargs = dict(env_kwargs)
    if surrogate is not None:
        kwargs["surrogate"] = surrogate
    with torch_threads_kept():  # building may run Numba's parallel kernels (e.g. the attractor's rms)
        venv: VecEnv = VecTimer(make_ks_vec_env(n_envs, None, max_episode_steps=max_episode_steps, **kwargs))
        for spec in wrappers:
            name, level, wkwargs = parse_wrapper(spec)
            venv = perturb_vec_env(venv, name, level, **wkwargs)
    if residual is not None:
        from chaoscontrol.agents.residual import BaselineProbe, VecResidualControl
        from chaoscontrol.baselines import make_baseline

        venv = VecResidualControl(venv, make_baseline(residual, BaselineProbe(venv)))
    if symmetry_reduced:
        venv = VecSymmetryReduced(venv, KSSymmetry.from_env(find_wrapper(venv, VecTimer).venv.template))
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
    """The :class:`VecTimer` inside a stack, if any."""
    return find_wrapper(venv, VecTimer)


__all__ = ["VecTimer", "find_timer", "find_wrapper", "make_vec_env", "parse_wrapper"]
