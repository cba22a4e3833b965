"""Residual policies: a baseline controller's action plus a learned correction, clipped to [-1, 1].

The evaluation-time form of residual RL (:mod:`chaoscontrol.agents.residual`); in training, the same sum is
taken inside the SB3 stack by :class:`~chaoscontrol.agents.vec_wrappers.VecResidualControl`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def residual_policy(act: Callable[[np.ndarray], np.ndarray], controller: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """obs -> clip(controller(obs) + act(obs), -1, 1), for episodes run together from their reset.

    :param act: the learned correction, obs (B, n_obs) -> (B, n_act).
    :param controller: the baseline (e.g. ``make_baseline("lqg", venv)``), obs (B, n_obs) -> (B, n_act).
    """

    def composite(obs: np.ndarray) -> np.ndarray:
        base = np.asarray(controller(obs), dtype=np.float64)
        return np.clip(base + np.asarray(act(obs), dtype=np.float64).reshape(base.shape), -1.0, 1.0)

    return composite


__all__ = ["residual_policy"]
