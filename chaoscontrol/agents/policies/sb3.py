"""Trained Stable-Baselines3 policies: loading a model file and rebuilding the policy it was trained as.

A policy trained with ``normalize: true`` sees ``VecNormalize``-scaled observations, one trained with
``symmetry_reduced`` sees them in their canonical frame: :func:`load_agent` finds the run's statistics
(:mod:`~chaoscontrol.agents.policies.run_files`) and frame (:mod:`~chaoscontrol.agents.policies.frames`) and
applies them.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from chaoscontrol.agents.policies.frames import policy_frame, symmetry_reduced_policy
from chaoscontrol.agents.policies.run_files import normalisation_file, run_config


def load_sb3_model(path: str | os.PathLike) -> Any:
    """Load an SB3 model of any of PPO, A2C, SAC, TD3, DDPG from ``path`` (CPU).

    :param path: an SB3 ``.zip``.
    :raises ValueError: naming the file if it is not an SB3 model.
    """
    from stable_baselines3 import A2C, DDPG, PPO, SAC, TD3
    from stable_baselines3.common.save_util import load_from_zip_file

    try:
        data, _, _ = load_from_zip_file(path, device="cpu")
    except Exception as exc:  # noqa: BLE001 - any failure to read is the file's fault
        raise ValueError(f"policy file {str(path)!r} is not a readable SB3 model: {exc}") from exc
    module = getattr(data.get("policy_class"), "__module__", "") if data else ""
    algos = {"ppo": PPO, "a2c": A2C, "sac": SAC, "td3": TD3, "ddpg": DDPG}
    for name, cls in algos.items():
        if f".{name}." in f".{module}.":
            return cls.load(path, device="cpu")
    for cls in (PPO, SAC, TD3, A2C, DDPG):  # policy classes shared between algorithms (e.g. TD3/DDPG)
        try:
            return cls.load(path, device="cpu")
        except Exception:  # noqa: BLE001
            continue
    raise ValueError(f"policy file {str(path)!r}: cannot tell which SB3 algorithm saved it (policy module {module!r})")


def check_model_spaces(model: Any, observation_space: gym.spaces.Space, action_space: gym.spaces.Space) -> None:
    """Raise ValueError (naming ``model``'s spaces) if the model's spaces do not match the env's.

    :param model: an SB3 algorithm or policy (anything with ``observation_space``/``action_space``).
    :param observation_space: the env's (single) observation space.
    :param action_space: the env's (single) action space.
    """
    m_obs = getattr(model, "observation_space", None)
    m_act = getattr(model, "action_space", None)
    if m_obs is not None and getattr(m_obs, "shape", None) != observation_space.shape:
        raise ValueError(f"model observation space {m_obs} does not match the env's {observation_space}")
    if m_act is not None and getattr(m_act, "shape", None) != action_space.shape:
        raise ValueError(f"model action space {m_act} does not match the env's {action_space}")


def load_agent(path: str | Path, deterministic: bool = True) -> tuple[Callable[[np.ndarray], np.ndarray], Any]:
    """(act(obs) -> actions, the SB3 model) for an SB3 ``.zip``, with its run's observation normalisation and frame.

    :param path: an SB3 ``.zip`` (in its run folder, or loose).
    :param deterministic: deterministic actions (the mean of a stochastic policy).
    :raises ValueError: naming the file if it is not an SB3 model, or if the run used normalisation and its
        statistics are missing.
    """
    model = load_sb3_model(path)
    config = run_config(path)
    normalize = bool(config and config.get("hyperparams", {}).get("normalize"))
    stats = normalisation_file(path)
    if normalize and stats is None:
        raise ValueError(f"policy {str(path)!r} was trained with normalize=true but its VecNormalize statistics are missing")
    if stats is None:
        def act(obs: np.ndarray) -> np.ndarray:
            return model.predict(obs, deterministic=deterministic)[0]
    else:
        with open(stats, "rb") as fh:
            vec_normalize = pickle.load(fh)  # noqa: S301 - our own run folder

        def act(obs: np.ndarray) -> np.ndarray:
            return model.predict(vec_normalize.normalize_obs(np.asarray(obs)), deterministic=deterministic)[0]

    frame = policy_frame(str(path))
    if frame is not None:
        return symmetry_reduced_policy(act, frame), model
    return act, model


__all__ = ["check_model_spaces", "load_agent", "load_sb3_model"]
