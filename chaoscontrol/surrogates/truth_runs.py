"""The truth side of the surrogate evaluations: the batched truth env of a checkpoint, its random actions and rollouts.

Shared by :mod:`chaoscontrol.surrogates.evaluate` and :mod:`chaoscontrol.surrogates.evaluate_partial`, so that
both compare their models with the same truth under the same actions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.surrogates.dataset import DYNAMICS_KEYS


def truth_vector_env(env_config: dict[str, Any], n: int) -> KSControlVectorEnv:
    """The batched truth env of ``n`` envs of the configuration ``env_config``: no time limit, no autoreset.

    :param env_config: a resolved env configuration (a checkpoint's); its
        :data:`~chaoscontrol.surrogates.dataset.DYNAMICS_KEYS` are used.
    :param n: the number of envs.
    """
    return KSControlVectorEnv(num_envs=n, max_episode_steps=None, autoreset_mode="Disabled", **{k: env_config[k] for k in DYNAMICS_KEYS})


def held_random_actions(rng: np.random.Generator, n: int, steps: int, n_act: int, hold: int) -> np.ndarray:
    """Actions (n, steps, n_act) uniform in [-1, 1], each held ``hold`` steps.

    :param rng: the generator drawn from.
    :param n: runs.
    :param steps: steps per run.
    :param n_act: actuators.
    :param hold: steps each action is held.
    """
    held = rng.uniform(-1.0, 1.0, (n, -(-steps // hold), n_act))
    return np.repeat(held, hold, axis=1)[:, :steps]


def truth_rollout(venv: KSControlVectorEnv, u0: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """States (n, S + 1, N) and dissipation rewards (n, S) of the truth from u0 under actions.

    :param venv: the truth env of n envs (see :func:`truth_vector_env`).
    :param u0: the initial grid states (n, N).
    :param actions: the actions (n, S, n_act).
    """
    venv.reset(options={"u0": u0})
    states = [venv.u]
    rewards = []
    for k in range(actions.shape[1]):
        _, r, _, _, _ = venv.step(actions[:, k])
        states.append(venv.u)
        rewards.append(r)
    return np.stack(states, axis=1), np.stack(rewards, axis=1)


__all__ = ["held_random_actions", "truth_rollout", "truth_vector_env"]
