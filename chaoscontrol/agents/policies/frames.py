"""Policies trained on symmetry-reduced observations: their symmetry frame, and the policy in that frame.

Such a policy pi' was trained on observations mapped to the canonical frame of their orbit
(:class:`~chaoscontrol.agents.vec_wrappers.VecSymmetryReduced`); as a function of the raw observation it is
pi(o) = T_g^-1 pi'(T_g o), g the canonical element of o (:func:`~chaoscontrol.envs.symmetry.canonical_indices`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from chaoscontrol.agents.policies.saved import policy_run
from chaoscontrol.agents.systems import DEFAULT_ENV_ID
from chaoscontrol.envs.symmetry import KSSymmetry, canonical_indices, transform_rows


def policy_frame(policy: str) -> KSSymmetry | None:
    """The symmetry group of a policy trained on symmetry-reduced observations (from its description or run
    folder: :func:`~chaoscontrol.agents.policies.saved.policy_run`), else None.

    :param policy: a policy spec; only an SB3 ``.zip`` of a run with ``symmetry_reduced`` has a frame.
    """
    from chaoscontrol.envs.registration import make_env

    run = policy_run(policy) if str(policy).endswith(".zip") else {}
    if not run.get("symmetry_reduced"):
        return None
    return KSSymmetry.from_env(make_env(run.get("env_id") or DEFAULT_ENV_ID, **run["env_kwargs"]))


def symmetry_reduced_policy(act: Callable[[np.ndarray], np.ndarray], symmetry: KSSymmetry) -> Callable[[np.ndarray], np.ndarray]:
    """The policy obs -> T_g^-1 act(T_g obs) of an agent trained on symmetry-reduced observations.

    :param act: the trained policy, on observations in the canonical frame.
    :param symmetry: the group it was reduced by (:func:`policy_frame`).
    :return: a policy of raw observations (B, n_obs) or one observation (n_obs,).
    """

    def reduced(obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs)
        batch = np.atleast_2d(obs)
        idx = canonical_indices(symmetry, batch)
        a = np.asarray(act(transform_rows(symmetry, batch, idx, "observation").astype(obs.dtype)))
        out = transform_rows(symmetry, a.reshape(batch.shape[0], -1), idx, "action", inverse=True)
        return out if obs.ndim > 1 else out[0]

    return reduced


__all__ = ["policy_frame", "symmetry_reduced_policy"]
