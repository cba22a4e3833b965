"""Residual reinforcement learning on top of a classical controller.

The applied action is a = clip(a_base(o) + a_agent(o), -1, 1): a baseline of :mod:`chaoscontrol.baselines`
(e.g. ``lqg``, the LQR gain on a Kalman estimate from the sensors) plus a learned correction (residual
policy learning: Silver et al. 2018, "Residual policy learning", arXiv:1812.06298; Johannink et al. 2019,
ICRA). The classical controller holds the equilibrium once the state is near it; the agent only has to
learn what the linear controller cannot do, such as steering chaotic states into its basin. An untrained
agent (actions near 0) starts as the baseline.

:class:`VecResidualControl` does this inside the SB3 training stack (``--residual lqg``), and
:func:`residual_policy` rebuilds the same composite policy for evaluation from the run folder.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper


def reset_controller_rows(controller: Any, rows: np.ndarray) -> None:
    """Start new episodes for the envs ``rows`` of a stateful baseline (its ``reset_rows``, if it has one)."""
    reset = getattr(controller, "reset_rows", None)
    if reset is not None and np.any(rows):
        reset(np.asarray(rows, dtype=bool))


class VecResidualControl(VecEnvWrapper):
    """Adds the actions of a baseline controller to the agent's (module docstring).

    The baseline sees the observations the agent sees at this level of the stack (after the sensor
    perturbations), and its filter state is reset for the envs whose episode ended.

    :param venv: the stack below (KS env and perturbations).
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


def residual_policy(act: Callable[[np.ndarray], np.ndarray], controller: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """obs -> clip(controller(obs) + act(obs), -1, 1), for episodes run together from their reset."""

    def composite(obs: np.ndarray) -> np.ndarray:
        base = np.asarray(controller(obs), dtype=np.float64)
        return np.clip(base + np.asarray(act(obs), dtype=np.float64).reshape(base.shape), -1.0, 1.0)

    return composite


class BaselineProbe:
    """Looks like a KS vector env to :func:`chaoscontrol.baselines.make_baseline`: the template and the spaces."""

    def __init__(self, venv: VecEnv) -> None:
        from chaoscontrol.agents.env_stack import VecTimer, find_wrapper

        timer = find_wrapper(venv, VecTimer)
        base = timer.venv if timer is not None else venv
        self.template = getattr(base, "template", None)
        if self.template is None:
            raise ValueError("residual control needs the KS vector env underneath")
        self.num_envs = venv.num_envs
        self.single_observation_space = venv.observation_space
        self.single_action_space = venv.action_space
        self.env = venv  # the wrapper chain, searched for a ``subset`` perturbation

    @property
    def unwrapped(self) -> BaselineProbe:
        return self


__all__ = ["BaselineProbe", "VecResidualControl", "reset_controller_rows", "residual_policy"]
