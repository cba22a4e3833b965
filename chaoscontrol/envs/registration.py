"""Registration of the chaoscontrol environments with Gymnasium."""

from __future__ import annotations

import gymnasium as gym

#: Environment ids and their registration arguments.
ENV_SPECS = {
    "KS-Control-v0": {
        "entry_point": "chaoscontrol.envs.ks_control:KSControlEnv",
        "vector_entry_point": "chaoscontrol.envs.ks_vector:KSControlVectorEnv",
        "max_episode_steps": 400,
    },
}


def register_envs() -> None:
    """Register every chaoscontrol environment (idempotent)."""
    for env_id, kwargs in ENV_SPECS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, **kwargs)
