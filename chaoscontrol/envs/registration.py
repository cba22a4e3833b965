"""Registration of the chaoscontrol environments with Gymnasium.

The entry points are named as strings (nothing above ``envs`` is imported
here): they sit in :mod:`chaoscontrol.surrogates.registered_envs`, above the
env and surrogate layers, so that ``surrogate=PATH`` can hand the env a learned
dynamics while the env classes never import torch.
"""

from __future__ import annotations

import gymnasium as gym

#: Environment ids and their registration arguments.
ENV_SPECS = {
    "KS-Control-v0": {
        "entry_point": "chaoscontrol.surrogates.registered_envs:make_ks_control_env",
        "vector_entry_point": "chaoscontrol.surrogates.registered_envs:make_ks_control_vector_env",
        "max_episode_steps": 400,
    },
    # Large-domain KS (docs/systems.md): KS-Control-v0 with other defaults, which user keywords override.
    # Actuators and sensors keep the L = 22 spacing (L / 5.5); 400 steps = 100 time units = 8-9 Lyapunov times.
    "KS-L66-Control-v0": {
        "entry_point": "chaoscontrol.surrogates.registered_envs:make_ks_control_env",
        "vector_entry_point": "chaoscontrol.surrogates.registered_envs:make_ks_control_vector_env",
        "max_episode_steps": 400,
        "kwargs": {"L": 66.0, "N": 128, "actuators": 12, "sensors": 24},
    },
    "KS-L100-Control-v0": {
        "entry_point": "chaoscontrol.surrogates.registered_envs:make_ks_control_env",
        "vector_entry_point": "chaoscontrol.surrogates.registered_envs:make_ks_control_vector_env",
        "max_episode_steps": 400,
        "kwargs": {"L": 100.0, "N": 256, "actuators": 18, "sensors": 36, "burn_in": 200.0},
    },
    # Complex Ginzburg-Landau, defect turbulence at alpha = 2, beta = -2 on L = 8 pi (docs/systems.md). 400 steps
    # = 100 time units: ~27 Lyapunov times (lambda ~ 0.27), 50 e-folding times of the fastest Benjamin-Feir mode.
    "CGLE-Control-v0": {
        "entry_point": "chaoscontrol.envs.cgle:make_cgle_control_env",
        "vector_entry_point": "chaoscontrol.envs.cgle:CGLEControlVectorEnv",
        "max_episode_steps": 400,
    },
    # 2-D Kolmogorov flow, n = 4, Re = 40 on 64^2 (docs/systems.md). 500 steps of 0.2 = 100 time units: ~12 Lyapunov
    # times (lambda_1 = 0.12), ~18 turnover times 2 pi / rms(u).
    "Kolmogorov-Control-v0": {
        "entry_point": "chaoscontrol.envs.kolmogorov:make_kolmogorov_control_env",
        "vector_entry_point": "chaoscontrol.envs.kolmogorov:KolmogorovControlVectorEnv",
        "max_episode_steps": 500,
    },
    # Lorenz-63 and Lorenz-96 (docs/systems.md): 400 steps of 0.05 = 20 time units, 18 Lyapunov times of Lorenz-63
    # (~30 turns around a wing) and 34 of Lorenz-96: long enough that holding a target differs from passing it.
    "Lorenz63-Control-v0": {
        "entry_point": "chaoscontrol.envs.lorenz63:make_lorenz63_control_env",
        "vector_entry_point": "chaoscontrol.envs.lorenz63:Lorenz63ControlVectorEnv",
        "max_episode_steps": 400,
    },
    "Lorenz96-Control-v0": {
        "entry_point": "chaoscontrol.envs.lorenz96:make_lorenz96_control_env",
        "vector_entry_point": "chaoscontrol.envs.lorenz96:Lorenz96ControlVectorEnv",
        "max_episode_steps": 400,
    },
}


def register_envs() -> None:
    """Register every chaoscontrol environment (idempotent)."""
    for env_id, kwargs in ENV_SPECS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, **kwargs)


def check_env_id(env_id: str) -> str:
    """``env_id`` if it is a registered chaoscontrol id, else a ``ValueError`` naming the registered ones.

    :param env_id: a Gymnasium id such as ``"Lorenz63-Control-v0"``.
    """
    if not isinstance(env_id, str) or env_id not in ENV_SPECS:
        raise ValueError(f"env_id must be one of {sorted(ENV_SPECS)}, got {env_id!r}")
    return env_id


def default_max_episode_steps(env_id: str) -> int | None:
    """The registered time limit of ``env_id`` (env steps).

    :param env_id: a registered chaoscontrol id.
    """
    return ENV_SPECS[check_env_id(env_id)].get("max_episode_steps")


def make_env(env_id: str, **kwargs):
    """The bare single env of ``env_id`` (no Gymnasium wrappers), from its registered entry point.

    This is ``gym.make(env_id, **kwargs).unwrapped`` without the wrappers' cost:
    the registered defaults (``ENV_SPECS[env_id]["kwargs"]``) are overridden by
    ``kwargs``. Code above ``envs`` that needs "the env of this run" for any
    system (a template for spaces, sensors, the target, the dynamics) calls this
    instead of naming a class.

    :param env_id: a registered chaoscontrol id.
    :param kwargs: the id's constructor keywords (``surrogate=`` where the id takes one).
    :raises ValueError: for an unknown id, or naming the bad keyword.
    """
    from gymnasium.envs.registration import load_env_creator

    spec = ENV_SPECS[check_env_id(env_id)]
    creator = load_env_creator(spec["entry_point"])
    try:
        return creator(**{**spec.get("kwargs", {}), **kwargs})
    except TypeError as exc:  # an unknown keyword: name it with the id
        raise ValueError(f"{env_id}: {exc}") from exc


def make_vector_env(env_id: str, num_envs: int = 1, **kwargs):
    """The batched env of ``env_id`` from its registered vector entry point (one dynamics call per step).

    Equivalent to ``gym.make_vec(env_id, num_envs, vectorization_mode="vector_entry_point", **kwargs)``;
    ``max_episode_steps`` defaults to the registered limit.

    :param env_id: a registered chaoscontrol id.
    :param num_envs: number of envs B.
    :param kwargs: ``max_episode_steps``, ``autoreset_mode`` and the id's constructor keywords.
    :raises ValueError: for an unknown id, or naming the bad keyword.
    """
    from gymnasium.envs.registration import load_env_creator

    spec = ENV_SPECS[check_env_id(env_id)]
    creator = load_env_creator(spec["vector_entry_point"])
    kwargs.setdefault("max_episode_steps", spec.get("max_episode_steps"))
    try:
        return creator(num_envs=num_envs, **{**spec.get("kwargs", {}), **kwargs})
    except TypeError as exc:
        raise ValueError(f"{env_id}: {exc}") from exc
