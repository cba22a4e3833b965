"""``VecNormalize`` statistics as plain arrays (``.npz``, read with ``allow_pickle=False``) instead of a pickle.

A policy trained with ``normalize: true`` sees its observations scaled by the running statistics of training;
:class:`NormalisationStatistics` holds them, scales observations exactly as ``VecNormalize.normalize_obs`` does,
and puts them back into a fresh ``VecNormalize`` when a run resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: The arrays of a statistics file (every one is required).
ARRAYS = ("obs_mean", "obs_var", "obs_count", "ret_mean", "ret_var", "ret_count", "clip_obs", "clip_reward", "gamma",
          "epsilon", "norm_obs", "norm_reward")


@dataclass(frozen=True)
class NormalisationStatistics:
    """The state of a ``VecNormalize`` that its policy depends on and that a resumed run continues."""

    obs_mean: np.ndarray
    """Running mean of the observations."""
    obs_var: np.ndarray
    """Running variance of the observations."""
    obs_count: float
    """Observations seen (the weight of the running moments)."""
    ret_mean: float
    """Running mean of the discounted returns (reward normalisation)."""
    ret_var: float
    """Running variance of the discounted returns."""
    ret_count: float
    """Returns seen."""
    clip_obs: float
    """Normalised observations are clipped to [-clip_obs, clip_obs]."""
    clip_reward: float
    """Normalised rewards are clipped to [-clip_reward, clip_reward]."""
    gamma: float
    """Discount of the returns."""
    epsilon: float
    """Added to the variances."""
    norm_obs: bool
    """Whether observations are normalised."""
    norm_reward: bool
    """Whether rewards are normalised."""

    @classmethod
    def of(cls, venv: Any) -> NormalisationStatistics:
        """The statistics of a ``VecNormalize`` (observations of one array, not a dict).

        :raises TypeError: for dict observations.
        """
        from stable_baselines3.common.running_mean_std import RunningMeanStd

        if not isinstance(venv.obs_rms, RunningMeanStd):
            raise TypeError("VecNormalize statistics of dict observations cannot be saved as arrays")
        return cls(np.array(venv.obs_rms.mean, dtype=np.float64), np.array(venv.obs_rms.var, dtype=np.float64),
                   float(venv.obs_rms.count), float(venv.ret_rms.mean), float(venv.ret_rms.var), float(venv.ret_rms.count),
                   float(venv.clip_obs), float(venv.clip_reward), float(venv.gamma), float(venv.epsilon), bool(venv.norm_obs),
                   bool(venv.norm_reward))

    def normalize_obs(self, obs: np.ndarray) -> np.ndarray:
        """``obs`` scaled as ``VecNormalize.normalize_obs`` scales it (float32), or unchanged if ``norm_obs`` is off.

        :param obs: observations (..., n_obs).
        """
        if not self.norm_obs:
            return np.array(obs)
        return np.clip((obs - self.obs_mean) / np.sqrt(self.obs_var + self.epsilon), -self.clip_obs, self.clip_obs).astype(np.float32)

    def apply_to(self, venv: Any) -> None:
        """Put the statistics into ``venv`` (a ``VecNormalize`` of the same observation shape), as ``VecNormalize.load`` would.

        :raises ValueError: if the observation shapes differ.
        """
        if np.shape(venv.obs_rms.mean) != self.obs_mean.shape:
            raise ValueError(f"normalisation statistics of observations {self.obs_mean.shape} do not fit the env's "
                             f"{np.shape(venv.obs_rms.mean)}")
        venv.obs_rms.mean, venv.obs_rms.var, venv.obs_rms.count = self.obs_mean.copy(), self.obs_var.copy(), self.obs_count
        venv.ret_rms.mean, venv.ret_rms.var, venv.ret_rms.count = self.ret_mean, self.ret_var, self.ret_count
        venv.clip_obs, venv.clip_reward, venv.gamma, venv.epsilon = self.clip_obs, self.clip_reward, self.gamma, self.epsilon
        venv.norm_obs, venv.norm_reward = self.norm_obs, self.norm_reward
        venv.returns = np.zeros(venv.num_envs)

    def save(self, path: str | Path) -> None:
        """Write the statistics to ``path`` (``.npz``; not atomic: write into a temporary of ``atomic_path``)."""
        with open(path, "wb") as fh:
            np.savez(fh, **{name: np.asarray(getattr(self, name)) for name in ARRAYS})


def read_normalisation(path: str | Path) -> NormalisationStatistics:
    """The statistics in ``path`` (``.npz``, read without unpickling).

    :raises ValueError: naming the file if it is unreadable or an array is missing.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [name for name in ARRAYS if name not in data.files]
            if missing:
                raise ValueError(f"missing arrays {missing}")
            arrays = {name: data[name] for name in ARRAYS}
    except Exception as exc:  # noqa: BLE001 - any failure to read is the file's fault
        raise ValueError(f"normalisation statistics {str(path)!r} are unreadable: {exc}") from exc
    scalars = {name: arrays[name].item() for name in ARRAYS if name not in ("obs_mean", "obs_var")}
    return NormalisationStatistics(obs_mean=arrays["obs_mean"].astype(np.float64), obs_var=arrays["obs_var"].astype(np.float64),
                                   **{k: (bool(v) if k.startswith("norm_") else float(v)) for k, v in scalars.items()})


__all__ = ["ARRAYS", "NormalisationStatistics", "read_normalisation"]
