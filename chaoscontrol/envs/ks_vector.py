"""Batched `KS-Control-v0`: B systems stepped by one Numba kernel call."""

from __future__ import annotations

from typing import Any

from gymnasium.vector import AutoresetMode

from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.envs.vector_core import ControlVectorEnv


class KSControlVectorEnv(ControlVectorEnv):
    """``num_envs`` independent copies of `KS-Control-v0` advanced together.

    ``gym.make_vec("KS-Control-v0", num_envs=B, vectorization_mode="vector_entry_point", **kwargs)``
    takes every keyword of :class:`~chaoscontrol.envs.ks_control.KSControlEnv`
    (except ``render_mode``) plus ``max_episode_steps`` (400 from the
    registration; None for no limit) and ``autoreset_mode``.

    Each step is one call of the dynamics' ``advance``: for the solver
    :func:`~chaoscontrol.solvers.control.ks_control_interval_batch` (parallel
    over blocks of envs, Numba threads); resets that fall on the same step run
    their burn-in together. Env i reproduces a single `KS-Control-v0` bit for
    bit; the contract (actions, autoreset modes, seeding, options, info) is
    :class:`~chaoscontrol.envs.vector_core.ControlVectorEnv`'s.
    """

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 400,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        **env_kwargs: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode is not supported by the batched env (got {render_mode!r}); "
                             "render a single KS-Control-v0 instead")
        super().__init__(KSControlEnv(**env_kwargs), num_envs, max_episode_steps, autoreset_mode)


__all__ = ["KSControlVectorEnv"]
