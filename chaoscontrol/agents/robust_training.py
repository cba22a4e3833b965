"""Robust training of SB3 agents: symmetry reduction, symmetry augmentation and adversarial training.

The fourth method, noise injection with a random level per episode (Pinot et al. 2019), is the
perturbation ``noise-random`` (:class:`~chaoscontrol.envs.perturbations.RandomisedGaussianNoise`), given
to training as a wrapper spec: ``--wrap noise-random:0.5``.

- :class:`VecSymmetryReduced` (``--symmetry-reduced``): the agent sees every observation in the canonical
  frame of its orbit under the discrete symmetry group of the actuators and sensors
  (:class:`~chaoscontrol.envs.symmetry.KSSymmetry`, after Zeng & Graham 2021, who reduce the continuous
  translation symmetry), and its action is mapped back, a = T_g^-1 a'. The trained policy is then
  pi(o) = T_g^-1 pi'(T_g o), a plain function of the observation, which :func:`symmetry_reduced_policy`
  rebuilds at evaluation time. It learns one policy for the whole orbit instead of one per copy.
- :class:`SymmetryAugmentedReplayBuffer` (``--symmetry-augment``, off-policy algorithms): every transition
  is stored with its symmetric copies (T_g o, T_g a, r, T_g o'), which are transitions of the same
  dynamics with the same reward, so each env step gives |G| transitions.
- :class:`VecAdversarialTraining` (``--adversarial-eps``): a fraction of the observations the agent
  sees in training is replaced by an FGSM/PGD attack on the current policy
  (:class:`~chaoscontrol.agents.adversarial.AdversarialPerturbation`), in the spirit of adversarial
  training (Madry et al. 2018; Pattanaik et al. 2018 for deep RL).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from chaoscontrol.envs.symmetry import KSSymmetry


def canonical_indices(symmetry: KSSymmetry, obs: np.ndarray) -> np.ndarray:
    """Index into ``symmetry.elements`` of :meth:`KSSymmetry.canonical_element` for every row of ``obs`` (B, n).

    Vectorised over the batch for the first harmonic; rows where a coefficient vanishes fall back to the
    row-by-row rule, so the result is the single-env wrapper's.
    """
    obs = np.asarray(obs, dtype=np.float64)
    ring = np.exp(-2j * np.pi * np.arange(symmetry.n_obs) / symmetry.n_obs)
    coeff = np.stack([symmetry.transform_observation(obs, g) @ ring for g in symmetry.elements])  # (G, B)
    phase = np.angle(coeff) % (2.0 * np.pi)
    idx = np.argmin(phase, axis=0)
    tiny = np.any(np.abs(coeff) < 1e-9 * (1.0 + np.abs(obs).sum(axis=1)), axis=0)
    for i in np.flatnonzero(tiny):
        idx[i] = symmetry.elements.index(symmetry.canonical_element(obs[i]))
    return idx


def transform_rows(symmetry: KSSymmetry, x: np.ndarray, idx: np.ndarray, kind: str, inverse: bool = False) -> np.ndarray:
    """Row i of ``x`` transformed by element ``symmetry.elements[idx[i]]`` (or its inverse).

    :param kind: ``"observation"`` or ``"action"``.
    """
    out = np.empty_like(x)
    fn = symmetry.transform_observation if kind == "observation" else symmetry.transform_action
    for k in np.unique(idx):
        g = symmetry.elements[k]
        rows = idx == k
        out[rows] = fn(x[rows], symmetry.inverse(g) if inverse else g)
    return out


def symmetry_reduced_policy(act: Callable[[np.ndarray], np.ndarray], symmetry: KSSymmetry) -> Callable[[np.ndarray], np.ndarray]:
    """The policy obs -> T_g^-1 act(T_g obs) of an agent trained on symmetry-reduced observations."""

    def reduced(obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs)
        batch = np.atleast_2d(obs)
        idx = canonical_indices(symmetry, batch)
        a = np.asarray(act(transform_rows(symmetry, batch, idx, "observation").astype(obs.dtype)))
        out = transform_rows(symmetry, a.reshape(batch.shape[0], -1), idx, "action", inverse=True)
        return out if obs.ndim > 1 else out[0]

    return reduced


class VecSymmetryReduced(VecEnvWrapper):
    """SB3 ``VecEnv`` wrapper: observations in their canonical frame, actions mapped back (module docstring).

    ``terminal_observation`` in the infos is reduced too, with its own frame.

    :param venv: a stack over ``KSVecEnv`` with bare sensor (or full-state) observations.
    :param symmetry: the group, :meth:`KSSymmetry.from_env` of the env.
    """

    def __init__(self, venv: VecEnv, symmetry: KSSymmetry) -> None:
        super().__init__(venv)
        if venv.observation_space.shape != (symmetry.n_obs,):
            raise ValueError(
                f"symmetry reduction needs the bare observation ring of {symmetry.n_obs} entries, got shape "
                f"{venv.observation_space.shape} (a perturbation that changes the observation, e.g. subset or a dropout "
                "mask, cannot come before it)"
            )
        self.symmetry = symmetry
        self._idx = np.zeros(venv.num_envs, dtype=np.int64)

    def _reduce(self, obs: np.ndarray) -> np.ndarray:
        self._idx = canonical_indices(self.symmetry, obs)
        return transform_rows(self.symmetry, obs, self._idx, "observation").astype(obs.dtype)

    def reset(self) -> np.ndarray:
        return self._reduce(self.venv.reset())

    def step_async(self, actions: np.ndarray) -> None:
        a = np.asarray(actions, dtype=np.float64).reshape(self.num_envs, -1)
        self.venv.step_async(transform_rows(self.symmetry, a, self._idx, "action", inverse=True))

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        for info in infos:
            if "terminal_observation" in info:
                term = np.asarray(info["terminal_observation"])[None]
                info["terminal_observation"] = self._reduce_one(term)[0]
        return self._reduce(obs), rewards, dones, infos

    def _reduce_one(self, obs: np.ndarray) -> np.ndarray:
        idx = canonical_indices(self.symmetry, obs)
        return transform_rows(self.symmetry, obs, idx, "observation").astype(obs.dtype)


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
        self.attack = None
        self.attacked = 0

    def attach(self, model: Any) -> None:
        """Attack ``model`` (an SB3 algorithm) from now on."""
        from chaoscontrol.agents.adversarial import AdversarialPerturbation

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


__all__ = [
    "SymmetryAugmentedReplayBuffer",
    "VecAdversarialTraining",
    "VecSymmetryReduced",
    "canonical_indices",
    "symmetry_reduced_policy",
    "transform_rows",
]
