"""``VecAdversarialTraining``: a fraction of the observations the agent sees in training replaced by an attack.

The attack is FGSM/PGD on the current policy (:class:`~chaoscontrol.agents.adversarial.AdversarialPerturbation`,
``--adversarial-eps``), in the spirit of adversarial training (Madry et al. 2018; Pattanaik et al. 2018 for
deep RL).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from chaoscontrol.agents.adversarial import AdversarialPerturbation


class VecAdversarialTraining(VecEnvWrapper):
    """Replaces a random ``fraction`` of the observations by an attack on the current policy (module docstring).

    The attack needs the model, which is built after the env: call :meth:`attach` before ``learn``; until
    then observations pass through unchanged. ``attacked`` counts the attacked observations.

    :param venv: the training stack (below ``VecNormalize``: the attack is in observation units).
    :param eps: radius in observation units.
    :param fraction: probability that an observation is attacked, per env and step.
    :param seed: seed of the choice of observations and of the attack's random starts.
    :param attack_kwargs: ``norm``, ``attack``, ``objective``, ``steps`` of ``AdversarialPerturbation``.
    """

    def __init__(self, venv: VecEnv, eps: float, fraction: float = 0.5, seed: int = 0, **attack_kwargs: Any) -> None:
        super().__init__(venv)
        if not (np.isfinite(eps) and eps >= 0):
            raise ValueError(f"adversarial eps must be finite and >= 0, got {eps!r}")
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"adversarial fraction must be in [0, 1], got {fraction!r}")
        self.eps, self.fraction, self.attack_kwargs = float(eps), float(fraction), attack_kwargs
        self.rng = np.random.default_rng([seed, 4242])
        self.attack: AdversarialPerturbation | None = None
        self.attacked = 0

    def attach(self, model: Any) -> None:
        """Attack ``model`` (an SB3 algorithm) from now on."""
        self.attack = AdversarialPerturbation(model, self.eps, **self.attack_kwargs)

    def _perturb(self, obs: np.ndarray) -> np.ndarray:
        if self.attack is None or self.eps == 0.0:
            return obs
        rows = np.flatnonzero(self.rng.uniform(size=obs.shape[0]) < self.fraction)
        if rows.size == 0:
            return obs
        obs = obs.copy()
        obs[rows] = obs[rows] + self.attack.perturbation(obs[rows], [self.rng] * rows.size).astype(obs.dtype)
        self.attacked += rows.size
        return obs

    def reset(self) -> np.ndarray:
        return self._perturb(self.venv.reset())

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        return self._perturb(obs), rewards, dones, infos


__all__ = ["VecAdversarialTraining"]
