"""``VecSymmetryReduced``: the agent sees every observation in the canonical frame of its orbit (``--symmetry-reduced``).

The frame is that of the discrete symmetry group of the actuators and sensors
(:class:`~chaoscontrol.envs.symmetry.KSSymmetry`, after Zeng & Graham 2021, who reduce the continuous translation
symmetry), and the agent's action is mapped back, a = T_g^-1 a'. The trained policy is then
pi(o) = T_g^-1 pi'(T_g o), a plain function of the observation, which
:func:`~chaoscontrol.agents.policies.frames.symmetry_reduced_policy` rebuilds at evaluation time. It learns one
policy for the whole orbit instead of one per copy.
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from chaoscontrol.envs.symmetry import KSSymmetry, canonical_indices, transform_rows


class VecSymmetryReduced(VecEnvWrapper):
    """SB3 ``VecEnv`` wrapper: observations in their canonical frame, actions mapped back (module docstring).

    ``terminal_observation`` in the infos is reduced too, with its own frame.

    :param venv: a stack over the KS ``ControlSB3VecEnv`` with bare sensor (or full-state) observations.
    :param symmetry: the group, :meth:`KSSymmetry.from_env` of the env.
    """

    def __init__(self, venv: VecEnv, symmetry: KSSymmetry) -> None:
        super().__init__(venv)
        if venv.observation_space.shape != (symmetry.n_obs,):
            raise ValueError(
                f"symmetry reduction needs the bare observation ring of {symmetry.n_obs} entries, got shape "
                f"{venv.observation_space.shape} (a perturbation that changes the observation, e.g. subset or a dropout "
                "mask, cannot come before it)"
            )
        self.symmetry = symmetry
        self._idx = np.zeros(venv.num_envs, dtype=np.int64)

    def _reduce(self, obs: np.ndarray) -> np.ndarray:
        self._idx = canonical_indices(self.symmetry, obs)
        return transform_rows(self.symmetry, obs, self._idx, "observation").astype(obs.dtype)

    def reset(self) -> np.ndarray:
        return self._reduce(self.venv.reset())

    def step_async(self, actions: np.ndarray) -> None:
        a = np.asarray(actions, dtype=np.float64).reshape(self.num_envs, -1)
        self.venv.step_async(transform_rows(self.symmetry, a, self._idx, "action", inverse=True))

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        for info in infos:
            if "terminal_observation" in info:
                term = np.asarray(info["terminal_observation"])[None]
                info["terminal_observation"] = self._reduce_one(term)[0]
        return self._reduce(obs), rewards, dones, infos

    def _reduce_one(self, obs: np.ndarray) -> np.ndarray:
        idx = canonical_indices(self.symmetry, obs)
        return transform_rows(self.symmetry, obs, idx, "observation").astype(obs.dtype)


__all__ = ["VecSymmetryReduced"]
