"""``VecPerturbation``: sensor and actuator perturbations for SB3 vectorised envs (``ControlSB3VecEnv``, ``DummyVecEnv``...).

The batch models of :mod:`chaoscontrol.envs.perturbations` behind SB3's
``VecEnvWrapper``: env i uses the generator of its reset seed (s + i after
``seed(s)``), so it sees the perturbation of a single env wrapped with
:class:`~chaoscontrol.envs.perturbation_wrappers.PerturbationWrapper` and seeded
s + i. ``infos[i]["terminal_observation"]`` is perturbed as the step's
observation would have been.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvStepReturn, VecEnvWrapper

from chaoscontrol.agents.sensor_levels import make_env_perturbation
from chaoscontrol.envs import perturbations as P


class VecPerturbation(VecEnvWrapper):
    """Applies a perturbation model to the observations or the actions of an SB3 ``VecEnv``.

    :param venv: the vectorised env.
    :param perturbation: the batch model.
    :param target: ``"observation"`` or ``"action"``.
    """

    def __init__(self, venv: VecEnv, perturbation: P.Perturbation, target: str) -> None:
        if target not in ("observation", "action"):
            raise ValueError(f"target must be 'observation' or 'action', got {target!r}")
        obs_space = perturbation.transform_space(venv.observation_space) if target == "observation" else None
        super().__init__(venv, observation_space=obs_space)
        self.perturbation = perturbation
        self.target = target
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._pending_seeds: list[int | None] = [None] * self.num_envs
        self._new_action = np.ones(self.num_envs, dtype=bool)

    def seed(self, seed: int | None = None):
        seeds = self.venv.seed(seed)
        self._pending_seeds = list(seeds)
        return seeds

    def reset(self):
        obs = self.venv.reset()
        for i, seed in enumerate(self._pending_seeds):
            if seed is not None or self._rngs[i] is None:
                self._rngs[i] = P.derived_generator(seed, self.perturbation.tag)
        self._pending_seeds = [None] * self.num_envs
        if self.target == "observation":
            return self._observe(obs, np.ones(self.num_envs, dtype=bool))
        self._new_action[:] = True
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        if self.target == "action":
            a = np.asarray(actions, dtype=np.float64)
            actions = self.perturbation.apply(a, self._new_action, self._rngs)
            self._new_action[:] = False
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        if self.target == "action":
            self._new_action |= dones
            return obs, rewards, dones, infos
        idx = np.flatnonzero(dones)
        last = np.array(obs, copy=True)
        for i in idx:
            last[i] = infos[i]["terminal_observation"]
        perturbed = self._observe(last, np.zeros(self.num_envs, dtype=bool))
        if idx.size:
            for i in idx:
                infos[i]["terminal_observation"] = perturbed[i].copy()
            perturbed[idx] = self._observe(obs[idx], np.ones(idx.size, dtype=bool), rows=idx)
        return perturbed, rewards, dones, infos

    def _observe(self, obs: np.ndarray, new: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        out = self.perturbation.apply(np.asarray(obs), new, self._rngs, rows)
        space = self.observation_space
        return np.clip(out, space.low, space.high).astype(space.dtype)


def perturb_vec_env(venv: VecEnv, name: str, level: float, **kwargs: Any) -> VecPerturbation:
    """Wrap an SB3 ``VecEnv`` over a chaoscontrol env with perturbation ``name`` at ``level``.

    See :func:`chaoscontrol.agents.sensor_levels.make_env_perturbation` for the names and levels.
    """
    model, target = make_env_perturbation(name, level, _EnvProbe(venv), **kwargs)
    return VecPerturbation(venv, model, target)


class _EnvProbe:
    """Looks like a single env to :func:`make_env_perturbation`: the spaces at the stack's top, the system below."""

    def __init__(self, venv: VecEnv) -> None:
        self.observation_space = venv.observation_space
        self.action_space = venv.action_space
        base = venv.unwrapped if hasattr(venv, "unwrapped") else venv
        template = getattr(base, "template", None)
        if template is None:
            template = venv.get_attr("unwrapped", [0])[0]
        self.unwrapped = template


__all__ = ["VecPerturbation", "perturb_vec_env"]
