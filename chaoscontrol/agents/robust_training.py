"""Robust training of SB3 agents: symmetry reduction, symmetry augmentation and adversarial training.

The fourth method, noise injection with a random level per episode (Pinot et al. 2019), is the
perturbation ``noise-random`` (:class:`~chaoscontrol.envs.perturbations.RandomisedGaussianNoise`), given
to training as a wrapper spec: ``--wrap noise-random:0.5``.

- ``--symmetry-reduced``: the agent sees every observation in the canonical frame of its orbit
  (:class:`~chaoscontrol.agents.vec_wrappers.VecSymmetryReduced`); the trained policy is evaluated through the
  same reduction (:func:`~chaoscontrol.agents.policies.symmetry_reduced_policy`).
- ``--symmetry-augment`` (off-policy algorithms): :class:`SymmetryAugmentedReplayBuffer`, here, stores every
  transition with its symmetric copies (T_g o, T_g a, r, T_g o'), which are transitions of the same
  dynamics with the same reward, so each env step gives |G| transitions. (It stays at this path: saved models
  and replay buffers refer to it by its module.)
- ``--adversarial-eps``: a fraction of the observations the agent sees in training is replaced by an FGSM/PGD
  attack on the current policy (:class:`~chaoscontrol.agents.vec_wrappers.VecAdversarialTraining`).
"""

from __future__ import annotations

from typing import Any

from stable_baselines3.common.buffers import ReplayBuffer

from chaoscontrol.envs.symmetry import KSSymmetry


class SymmetryAugmentedReplayBuffer(ReplayBuffer):
    """A replay buffer that stores every transition with its |G| - 1 symmetric copies (module docstring).

    Pass as ``replay_buffer_class`` with ``replay_buffer_kwargs={"symmetry": KSSymmetry}``. The buffer fills
    |G| times faster: ``buffer_size`` counts stored transitions, copies included.
    """

    def __init__(self, *args: Any, symmetry: KSSymmetry, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.optimize_memory_usage:
            raise ValueError("symmetry augmentation does not support optimize_memory_usage=True")
        if self.obs_shape != (symmetry.n_obs,):
            raise ValueError(f"symmetry augmentation needs observations of {symmetry.n_obs} entries, got {self.obs_shape}")
        self.symmetry = symmetry

    def add(self, obs, next_obs, action, reward, done, infos) -> None:  # noqa: D102 - see ReplayBuffer.add
        s = self.symmetry
        for g in s.elements:
            super().add(s.transform_observation(obs, g), s.transform_observation(next_obs, g), s.transform_action(action, g),
                        reward, done, infos)


__all__ = ["SymmetryAugmentedReplayBuffer"]
