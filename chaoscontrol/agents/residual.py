"""Residual reinforcement learning on top of a classical controller.

The applied action is a = clip(a_base(o) + a_agent(o), -1, 1): a baseline of :mod:`chaoscontrol.baselines`
(e.g. ``lqg``, the LQR gain on a Kalman estimate from the sensors) plus a learned correction (residual
policy learning: Silver et al. 2018, "Residual policy learning", arXiv:1812.06298; Johannink et al. 2019,
ICRA). The classical controller holds the equilibrium once the state is near it; the agent only has to
learn what the linear controller cannot do, such as steering chaotic states into its basin. An untrained
agent (actions near 0) starts as the baseline.

A residual that is not zero at the equilibrium moves the closed loop's fixed point: LQG plus a constant
correction holds a forced state near the target, not the target (seen with E3: the trained correction at
E3's sensor readings was (0.05, 0.52, -0.73, 0.05), and every episode settled 0.14 from E3).
:class:`AnchoredResidualPolicy` (``--residual-anchor``) removes that by construction: its mean action is
pi(o) - pi(o*), with o* the observation at which the baseline is at rest (the equilibrium's sensor
readings), so the equilibrium stays a fixed point of baseline + residual whatever the network learns.

The sum is taken inside the SB3 training stack by :class:`~chaoscontrol.agents.vec_wrappers.VecResidualControl`
(``--residual lqg``), and :func:`~chaoscontrol.agents.policies.residual_policy` rebuilds the same composite
policy for evaluation from the run folder. This module holds what residual training adds on top: the anchored
policy network and the rest observation it is anchored at. (:class:`AnchoredResidualPolicy` stays at this path:
saved models refer to their policy class by its module.)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from stable_baselines3.common.distributions import DiagGaussianDistribution
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy


def rest_observation(controller: Any) -> np.ndarray:
    """The observation at which a linear baseline's action is zero: its equilibrium's sensor readings (LQG) or state (LQR).

    :raises ValueError: for a controller without a fixed set point in observation space (MPC).
    """
    from chaoscontrol.baselines.linear_control import LQGController, LQRController

    if isinstance(controller, LQGController):
        return np.asarray(controller.model.y_star, dtype=np.float64)
    if isinstance(controller, LQRController):
        return np.asarray(controller.model.u_star, dtype=np.float64)
    raise ValueError(f"residual_anchor needs a linear baseline (lqr, lqg) with a rest observation, got {type(controller).__name__}")


class AnchoredResidualPolicy(ActorCriticPolicy):
    """Gaussian actor-critic policy whose mean action is exactly zero at an anchor observation o*.

    mean(o) = mu(o) - mu(o*), with mu the usual MLP head; the log-std, the critic and the PPO update are
    SB3's. mu(o*) is recomputed at every call (one extra 1-row actor pass), since the weights change with
    every gradient step. Used for residual RL (module docstring) with o* the baseline's rest observation, so that the
    equilibrium the baseline stabilises stays a fixed point of the composite controller.

    :param anchor_obs: o*, a flat list or array with the observation space's shape (stored in the policy's
        state dict and in its constructor keywords, so saved models reload with it).
    """

    def __init__(self, *args: Any, anchor_obs: Sequence[float], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.action_dist, DiagGaussianDistribution):
            raise ValueError(f"AnchoredResidualPolicy needs a Gaussian action distribution without gSDE (use_sde: false), "
                             f"got {type(self.action_dist).__name__}")
        anchor = np.asarray(anchor_obs, dtype=np.float32)
        if anchor.shape != self.observation_space.shape or not np.all(np.isfinite(anchor)):
            raise ValueError(f"anchor_obs must be finite with the observation shape {self.observation_space.shape}, "
                             f"got shape {anchor.shape}")
        self.register_buffer("anchor_obs", torch.as_tensor(anchor).reshape(1, *anchor.shape))

    def anchor_mean(self) -> torch.Tensor:
        """mu(o*), (1, n_act)."""
        features = BasePolicy.extract_features(self, self.anchor_obs, self.pi_features_extractor)
        return self.action_net(self.mlp_extractor.forward_actor(features))

    def _get_action_dist_from_latent(self, latent_pi: torch.Tensor):
        return self.action_dist.proba_distribution(self.action_net(latent_pi) - self.anchor_mean(), self.log_std)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "anchor_obs": self.anchor_obs.reshape(-1).tolist()}


__all__ = ["AnchoredResidualPolicy", "rest_observation"]
