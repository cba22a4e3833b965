"""What the agent layer needs of a registered system, by its id: building it, and what only some systems have.

Every command of the agent layer (``train``, ``evaluate``, ``robustness``) takes a registered id
(``chaoscontrol.envs.registration.ENV_SPECS``) and builds its envs through the id's entry points, never by naming an
env class, so that a new system works with no code here. Two things are not every system's:

- a learned surrogate (``surrogate=PATH``) replaces the solver only for ids whose entry point takes ``surrogate``
  (the KS ids today): :func:`takes_surrogate`, :func:`check_surrogate`;
- symmetry reduction and augmentation use the translation-reflection group of KS on a periodic grid with evenly
  spaced actuators and sensors (:class:`~chaoscontrol.envs.symmetry.KSSymmetry`, after Zeng & Graham 2021): only a
  KS env has it (:func:`check_ks_symmetry`).
"""

from __future__ import annotations

import inspect
from typing import Any

from chaoscontrol.envs.registration import ENV_SPECS, check_env_id, make_env, make_vector_env

#: The flag of the env id on the command line (``chaoscontrol train --env ID``).
ENV_FLAG = "--env"
#: The env id of the commands when none is given, and of a run or policy file that records none (saved before
#: the agent layer took any registered id).
DEFAULT_ENV_ID = "KS-Control-v0"


def check_agent_env_id(env_id: str) -> str:
    """``env_id`` if it is registered, else a ValueError naming the flag and the registered ids.

    :param env_id: a Gymnasium id such as ``"Lorenz63-Control-v0"``.
    """
    try:
        return check_env_id(env_id)
    except ValueError as exc:
        raise ValueError(f"env id ({ENV_FLAG}): {exc}") from exc


def takes_surrogate(env_id: str) -> bool:
    """Whether the entry point of ``env_id`` takes ``surrogate=`` (a learned model instead of the solver).

    :param env_id: a registered id.
    """
    from gymnasium.envs.registration import load_env_creator

    creator = load_env_creator(ENV_SPECS[check_agent_env_id(env_id)]["entry_point"])
    return "surrogate" in inspect.signature(creator).parameters


def check_surrogate(env_id: str, surrogate: str | None) -> None:
    """Refuse a surrogate for an id whose entry point takes none.

    :param env_id: a registered id.
    :param surrogate: the surrogate checkpoint given, or None.
    :raises ValueError: naming ``surrogate`` and the ids that take one.
    """
    if surrogate is not None and not takes_surrogate(env_id):
        ids = [i for i in ENV_SPECS if takes_surrogate(i)]
        raise ValueError(f"surrogate: {env_id} runs on its solver only (its entry point takes no surrogate); "
                         f"a surrogate replaces the solver of {ids}")


def base_env(env: Any) -> Any:
    """The single env under ``env``: a single env, a batched env (its template), or any wrapper of either.

    :param env: a Gymnasium env or vector env, or a wrapper of one.
    """
    base = getattr(env, "unwrapped", env)
    return getattr(base, "template", base)


def is_ks(env: Any) -> bool:
    """Whether the system under ``env`` is Kuramoto-Sivashinsky (a :class:`~chaoscontrol.solvers.ks.KSConfig`).

    :param env: a single or batched env, or a wrapper of one.
    """
    from chaoscontrol.solvers.ks import KSConfig

    return isinstance(getattr(base_env(env), "config", None), KSConfig)


def check_ks_symmetry(env: Any, env_id: str, flag: str) -> None:
    """Refuse a symmetry option on a system that is not KS.

    :param env: an env of the run's configuration.
    :param env_id: its id, for the message.
    :param flag: the option (``symmetry_reduced``...).
    :raises ValueError: naming ``flag`` and ``env_id``.
    """
    if not is_ks(env):
        raise ValueError(f"{flag}: the symmetry group (translations and reflection of a periodic KS grid) is KS's; "
                         f"{env_id} has none; drop {flag}")


def build_env(env_id: str, env_kwargs: dict[str, Any]) -> Any:
    """The single env of ``env_id`` with ``env_kwargs`` (no Gymnasium wrappers).

    :param env_id: a registered id.
    :param env_kwargs: its constructor keywords.
    :raises ValueError: an unknown id (naming :data:`ENV_FLAG`), or a bad keyword (naming ``env_kwargs`` and it).
    """
    check_agent_env_id(env_id)
    try:
        return make_env(env_id, **env_kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"env_kwargs: {exc}") from exc


def build_vector_env(env_id: str, num_envs: int, env_kwargs: dict[str, Any], max_episode_steps: int | None,
                     autoreset_mode: str = "Disabled") -> Any:
    """The batched env of ``env_id`` (one dynamics call per step) with ``env_kwargs``.

    :param env_id: a registered id.
    :param num_envs: number of envs.
    :param env_kwargs: its constructor keywords.
    :param max_episode_steps: time limit.
    :param autoreset_mode: Gymnasium's autoreset mode (``Disabled`` for the evaluation rollouts).
    :raises ValueError: an unknown id (naming :data:`ENV_FLAG`), or a bad keyword (naming ``env_kwargs`` and it).
    """
    check_agent_env_id(env_id)
    try:
        return make_vector_env(env_id, num_envs, max_episode_steps=max_episode_steps, autoreset_mode=autoreset_mode,
                               **env_kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"env_kwargs: {exc}") from exc


def env_config(env: Any) -> dict[str, Any]:
    """The configuration of an env as JSON values (``config_dict()``, else its dynamics').

    :param env: a single env.
    """
    config = getattr(env, "config_dict", None)
    return config() if config is not None else env.dynamics.config_dict()


__all__ = ["DEFAULT_ENV_ID", "ENV_FLAG", "base_env", "build_env", "build_vector_env", "check_agent_env_id", "check_ks_symmetry",
           "check_surrogate", "env_config", "is_ks", "takes_surrogate"]
