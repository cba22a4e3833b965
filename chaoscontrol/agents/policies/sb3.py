"""Trained Stable-Baselines3 policies: loading a model file and rebuilding the policy it was trained as.

A policy trained with ``normalize: true`` sees ``VecNormalize``-scaled observations, one trained with
``symmetry_reduced`` sees them in their canonical frame: :func:`load_agent` finds the run's statistics and frame
(:mod:`~chaoscontrol.agents.policies.frames`) and applies them. It reads the project's own policy files
(:mod:`~chaoscontrol.agents.policies.saved`) without unpickling anything; an SB3 zip without them, and its
``vecnormalize*.pkl`` (:mod:`~chaoscontrol.agents.policies.run_files`), only with ``trust_pickle=True``.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from chaoscontrol.agents.policies.frames import policy_frame, symmetry_reduced_policy
from chaoscontrol.agents.policies.run_files import normalisation_file
from chaoscontrol.agents.policies.saved import has_policy_files, policy_run, read_policy_files, untrusted_error


def load_sb3_model(path: str | os.PathLike, *, trust_pickle: bool = False) -> Any:
    """Load an SB3 model of any of PPO, A2C, SAC, TD3, DDPG from ``path`` (CPU), unpickling it.

    :param path: an SB3 ``.zip``.
    :param trust_pickle: required: SB3 decodes the zip with cloudpickle, which runs any code the file holds.
    :raises ValueError: without ``trust_pickle`` (naming ``--trust-pickle``), or naming the file if it is not an SB3 model.
    """
    from stable_baselines3 import A2C, DDPG, PPO, SAC, TD3
    from stable_baselines3.common.save_util import load_from_zip_file

    if not trust_pickle:
        raise untrusted_error(path, "SB3 model")
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


def _unpickled_agent(path: str | Path) -> tuple[Any, Any]:
    """(SB3 model, its ``VecNormalize`` or None) of an SB3 zip and the pickle beside it (trusted by the caller)."""
    from stable_baselines3.common.vec_env import VecNormalize

    model = load_sb3_model(path, trust_pickle=True)
    normalize = policy_run(path).get("normalize", False)
    stats = normalisation_file(path)
    if normalize and stats is None:
        raise ValueError(f"policy {str(path)!r} was trained with normalize=true but its VecNormalize statistics are missing")
    if stats is None:
        return model, None
    with open(stats, "rb") as fh:
        vec_normalize = pickle.load(fh)  # noqa: S301 - the caller passed trust_pickle
    if not isinstance(vec_normalize, VecNormalize):
        raise ValueError(f"{str(stats)!r} does not hold VecNormalize statistics (got {type(vec_normalize).__name__})")
    return model, vec_normalize


def load_agent(path: str | Path, deterministic: bool = True, trust_pickle: bool = False) -> tuple[Callable[[np.ndarray], np.ndarray], Any]:
    """(act(obs) -> actions, the model) for a saved model, with its run's observation normalisation and frame.

    The project's own files (``STEM.policy.json`` beside ``STEM.zip``) are read without unpickling, and the model is
    a :class:`~chaoscontrol.agents.policies.saved.LoadedModel` (the rebuilt policy network, ``predict``, the
    spaces, ``num_timesteps``); without them, the SB3 zip and its ``vecnormalize*.pkl`` are unpickled if
    ``trust_pickle``, and the model is the SB3 algorithm.

    :param path: an SB3 ``.zip`` (in its run folder, or loose).
    :param deterministic: deterministic actions (the mean of a stochastic policy).
    :param trust_pickle: allow unpickling a zip without the project's policy files (runs any code the files hold).
    :raises ValueError: naming the file if it is not a readable model, if it would have to be unpickled without
        ``trust_pickle`` (naming ``--trust-pickle``), or if the run used normalisation and its statistics are missing.
    """
    if not (Path(path).is_file() or has_policy_files(path)):
        raise ValueError(f"policy file {str(path)!r} does not exist")
    if has_policy_files(path):
        saved = read_policy_files(path)
        model, normaliser = saved.model(), saved.normalisation
    elif trust_pickle:
        model, normaliser = _unpickled_agent(path)
    else:
        raise untrusted_error(path)
    if normaliser is None:
        def act(obs: np.ndarray) -> np.ndarray:
            return model.predict(obs, deterministic=deterministic)[0]
    else:
        def act(obs: np.ndarray) -> np.ndarray:
            return model.predict(normaliser.normalize_obs(np.asarray(obs)), deterministic=deterministic)[0]

    frame = policy_frame(str(path))
    if frame is not None:
        return symmetry_reduced_policy(act, frame), model
    return act, model


__all__ = ["check_model_spaces", "load_agent", "load_sb3_model"]
