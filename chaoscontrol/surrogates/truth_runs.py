"""The truth side of the surrogates: the truth env of a checkpoint or dataset (any registered system), its random
actions and rollouts.

Shared by :mod:`chaoscontrol.surrogates.evaluate` and :mod:`chaoscontrol.surrogates.evaluate_partial`, so that
both compare their models with the same truth under the same actions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chaoscontrol.envs.registration import make_env, make_vector_env
from chaoscontrol.solvers.ks_dynamics import KSDynamics
from chaoscontrol.surrogates.dataset import DEFAULT_ENV_ID, dynamics_keys


def truth_env_kwargs(env_id: str, env_config: dict[str, Any]) -> dict[str, Any]:
    """The keywords of ``env_id`` that rebuild the dynamics of a recorded configuration: its
    :func:`~chaoscontrol.surrogates.dataset.dynamics_keys` (KS: :data:`~chaoscontrol.surrogates.dataset.DYNAMICS_KEYS`),
    the other keywords left at the id's defaults.

    :param env_id: the registered system.
    :param env_config: a resolved env configuration of it (a dataset's or checkpoint's).
    """
    return {k: env_config[k] for k in dynamics_keys(make_env(env_id)) if k in env_config}


def truth_env(env_id: str, env_config: dict[str, Any]) -> Any:
    """The bare single truth env of a recorded configuration (:func:`truth_env_kwargs`).

    :param env_id: the registered system.
    :param env_config: a resolved env configuration of it.
    """
    return make_env(env_id, **truth_env_kwargs(env_id, env_config))


def is_ks(env: Any) -> bool:
    """Whether an env's system is KS (a real periodic 1-D field on a grid, its mean conserved).

    :param env: a bare env.
    """
    return isinstance(env.dynamics, KSDynamics)


def truth_vector_env(env_config: dict[str, Any], n: int, env_id: str = DEFAULT_ENV_ID) -> Any:
    """The batched truth env of ``n`` envs of the configuration ``env_config``: no time limit, no autoreset.

    :param env_config: a resolved env configuration (a checkpoint's); its dynamics keys are used (:func:`truth_env_kwargs`).
    :param n: the number of envs.
    :param env_id: the registered system.
    """
    return make_vector_env(env_id, n, max_episode_steps=None, autoreset_mode="Disabled",
                           **truth_env_kwargs(env_id, env_config))


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


def truth_rollout(venv: Any, u0: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fields (n, S + 1, *F) and rewards (n, S) (KS: the dissipation rewards) of the truth from u0 under actions.

    :param venv: the truth env of n envs (see :func:`truth_vector_env`).
    :param u0: the initial fields (n, *F).
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


__all__ = ["held_random_actions", "is_ks", "truth_env", "truth_env_kwargs", "truth_rollout", "truth_vector_env"]
