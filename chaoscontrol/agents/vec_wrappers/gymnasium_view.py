"""``GymnasiumVectorView``: an SB3 ``VecEnv`` seen as a Gymnasium ``VectorEnv``, for :func:`chaoscontrol.envs.rollout.rollout`.

SB3 vec envs reset an env within the step that ends its episode, and its info dict then holds the last step's
info: Gymnasium's ``SAME_STEP`` autoreset. ``dones`` are split with SB3's ``TimeLimit.truncated`` flag into
``terminated`` and ``truncated``; the scalar entries of the per-env info dicts become (B,) arrays.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from stable_baselines3.common.vec_env import VecEnv


def _info_arrays(infos: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The entries every env's info has with a scalar (number or bool) value, as (B,) arrays."""
    common = set(infos[0]).intersection(*infos[1:]) if infos else set()
    return {key: np.array([info[key] for info in infos]) for key in sorted(common)
            if all(np.isscalar(info[key]) and not isinstance(info[key], str) for info in infos)}


class GymnasiumVectorView(gym.vector.VectorEnv):
    """The Gymnasium vector API over an SB3 ``VecEnv`` (module docstring); the view does not own or close it.

    :param venv: the SB3 vec env (e.g. a training stack from :func:`~chaoscontrol.agents.env_stack.make_vec_env`).
    """

    def __init__(self, venv: VecEnv) -> None:
        self.venv = venv
        self.num_envs = venv.num_envs
        self.single_observation_space = venv.observation_space
        self.single_action_space = venv.action_space
        self.observation_space = batch_space(venv.observation_space, venv.num_envs)
        self.action_space = batch_space(venv.action_space, venv.num_envs)
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}
        self.render_mode = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset every env; ``seed`` (env i gets ``seed + i``) is given to ``venv.seed`` first, if not None."""
        if options:
            raise ValueError(f"options: an SB3 VecEnv takes no reset options, got {sorted(options)}")
        if seed is not None:
            self.venv.seed(seed)
        return self.venv.reset(), {}

    def step(self, actions: np.ndarray):
        obs, rewards, dones, infos = self.venv.step(actions)
        dones = np.asarray(dones, dtype=bool)
        truncated = dones & np.array([bool(info.get("TimeLimit.truncated", False)) for info in infos], dtype=bool)
        arrays = _info_arrays(list(infos))
        return obs, rewards, dones & ~truncated, truncated, {**arrays, "final_info": arrays, "_final_info": dones}

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing: the SB3 env belongs to the caller."""


__all__ = ["GymnasiumVectorView"]
