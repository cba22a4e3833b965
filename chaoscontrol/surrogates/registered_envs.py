"""The registered entry points of `KS-Control-v0`: the env, with a learned surrogate where asked.

``gym.make("KS-Control-v0", **kwargs)`` and ``gym.make_vec(...,
vectorization_mode="vector_entry_point")`` call these. Without ``surrogate``
they build :class:`~chaoscontrol.envs.ks_control.KSControlEnv` /
:class:`~chaoscontrol.envs.ks_vector.KSControlVectorEnv` as they are; with
``surrogate=PATH`` they load the checkpoint as a
:class:`~chaoscontrol.surrogates.backend.SurrogateDynamics` (torch is imported
only then) and hand it to the env as its dynamics. The entry points sit in
this layer, above ``envs``, so that the env never reaches up to torch models.
"""

from __future__ import annotations

from typing import Any

from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.envs.ks_vector import KSControlVectorEnv

def surrogate_dynamics(surrogate: str, env_kwargs: dict[str, Any]):
    """The :class:`~chaoscontrol.surrogates.backend.SurrogateDynamics` of a checkpoint, for these env keywords.

    :param surrogate: checkpoint written by ``chaoscontrol surrogate train``.
    :param env_kwargs: keywords of ``KS-Control-v0`` (the dynamics ones are used).
    :raises ValueError: starting with ``surrogate:`` if the checkpoint cannot serve this configuration.
    """
    from chaoscontrol.solvers.ks_dynamics import KSDynamics
    from chaoscontrol.surrogates.backend import SurrogateDynamics

    truth = KSDynamics.from_env_kwargs(env_kwargs)
    try:
        return SurrogateDynamics(str(surrogate), truth)
    except ValueError as exc:
        raise ValueError(f"surrogate: {exc}") from exc


def make_ks_control_env(surrogate: str | None = None, **kwargs: Any) -> KSControlEnv:
    """``KS-Control-v0``: :class:`~chaoscontrol.envs.ks_control.KSControlEnv`, stepped by ``surrogate`` if given.

    :param surrogate: a checkpoint of ``chaoscontrol surrogate train`` (None: the solver).
    :param kwargs: the keywords of :class:`~chaoscontrol.envs.ks_control.KSControlEnv`.
    """
    if surrogate is None:
        return KSControlEnv(**kwargs)
    return KSControlEnv(surrogate=str(surrogate), dynamics=surrogate_dynamics(surrogate, kwargs), **kwargs)


# No ``metadata`` on the entry point: gymnasium.make then passes render_mode on as given, so that an unsupported
# mode ("human") is the env's clear ValueError naming the supported ones, not a wrapper that needs pygame.


def make_ks_control_vector_env(num_envs: int = 1, surrogate: str | None = None, **kwargs: Any) -> KSControlVectorEnv:
    """Batched ``KS-Control-v0``: :class:`~chaoscontrol.envs.ks_vector.KSControlVectorEnv`, with ``surrogate`` if given.

    :param num_envs: number of envs.
    :param surrogate: a checkpoint of ``chaoscontrol surrogate train`` (None: the solver).
    :param kwargs: ``max_episode_steps``, ``autoreset_mode`` and the keywords of ``KSControlEnv``.
    """
    if surrogate is None:
        return KSControlVectorEnv(num_envs=num_envs, **kwargs)
    dynamics = surrogate_dynamics(surrogate, kwargs)
    return KSControlVectorEnv(num_envs=num_envs, surrogate=str(surrogate), dynamics=dynamics, **kwargs)


__all__ = ["make_ks_control_env", "make_ks_control_vector_env", "surrogate_dynamics"]
