"""``VecResidualControl``: a baseline controller's action added to the agent's inside the SB3 stack (residual RL).

The applied action is clip(a_base(o) + a_agent(o), -1, 1) (:mod:`chaoscontrol.agents.residual`); at
evaluation the same composite is :func:`~chaoscontrol.agents.policies.residual.residual_policy`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper


def reset_controller_rows(controller: Any, rows: np.ndarray) -> None:
    """Start new episodes for the envs ``rows`` of a stateful baseline (its ``reset_rows``, if it has one).

    :param controller: a baseline controller (e.g. LQG, whose Kalman filter has a state per env).
    :param rows: (B,) bool, the envs whose episode starts.
    """
    reset = getattr(controller, "reset_rows", None)
    if reset is not None and np.any(rows):
        reset(np.asarray(rows, dtype=bool))


class VecResidualControl(VecEnvWrapper):
    """Adds the actions of a baseline controller to the agent's (module docstring).

    The baseline sees the observations the agent sees at this level of the stack (after the sensor
    perturbations), and its filter state is reset for the envs whose episode ended.

    :param venv: the stack below (the batched env and perturbations).
    :param controller: callable obs (B, n_obs) -> actions (B, n_act), e.g. ``make_baseline("lqg", ...)``.
    """

    def __init__(self, venv: VecEnv, controller: Callable[[np.ndarray], np.ndarray]) -> None:
        super().__init__(venv)
        self.controller = controller
        self._obs: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        self._obs = self.venv.reset()
        reset_controller_rows(self.controller, np.ones(self.num_envs, dtype=bool))
        return self._obs

    def step_async(self, actions: np.ndarray) -> None:
        base = np.asarray(self.controller(self._obs), dtype=np.float64)
        self.venv.step_async(np.clip(base + np.asarray(actions, dtype=np.float64).reshape(base.shape), -1.0, 1.0))

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        reset_controller_rows(self.controller, np.asarray(dones, dtype=bool))
        self._obs = obs
        return obs, rewards, dones, infos


__all__ = ["VecResidualControl", "reset_controller_rows"]
