"""A Stable-Baselines3 policy network as plain JSON, and the network rebuilt from it without unpickling.

:func:`describe_policy` writes what SB3's own ``BasePolicy.save`` pickles: the policy class, its constructor
keywords (:meth:`_get_constructor_parameters`: ``net_arch``, ``activation_fn``, ``log_std_init``, the residual
anchor ``anchor_obs``...) and the observation and action spaces, as JSON. Classes are written by name and read
back only from fixed lists (:func:`policy_classes`, :func:`keyword_classes`: SB3's policies, the anchored residual
policy, torch's activations and optimisers, SB3's feature extractors), so reading a description imports nothing
it names and runs nothing it holds. :func:`build_policy` makes the network of a description and loads its weights
(a state dict, read with ``torch.load(..., weights_only=True)``).
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any, Mapping

import gymnasium as gym
import numpy as np

#: Constructor keywords that are not described: the spaces (described apart) and the learning-rate schedule (a
#: function; a rebuilt policy is not trained by its own optimiser, and a resumed run builds its model afresh).
_NOT_DESCRIBED = ("observation_space", "action_space", "lr_schedule")
#: How a class is written in a description: ``{"__class__": "module.QualifiedName"}``.
CLASS_KEY = "__class__"


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@cache
def policy_classes() -> dict[str, type]:
    """The policy classes a description may name: those of PPO, SAC, TD3/DDPG and the anchored residual policy."""
    from stable_baselines3.common.policies import ActorCriticPolicy
    from stable_baselines3.sac.policies import SACPolicy
    from stable_baselines3.td3.policies import TD3Policy

    from chaoscontrol.agents.residual import AnchoredResidualPolicy

    return {_name(cls): cls for cls in (ActorCriticPolicy, SACPolicy, TD3Policy, AnchoredResidualPolicy)}


@cache
def keyword_classes() -> dict[str, type]:
    """The classes a constructor keyword may name: torch's activations and optimisers, SB3's feature extractors."""
    import torch
    from stable_baselines3.common import torch_layers
    from torch.nn.modules import activation

    found: list[type] = []
    for module, base in ((activation, torch.nn.Module), (torch.optim, torch.optim.Optimizer),
                         (torch_layers, torch_layers.BaseFeaturesExtractor)):
        found += [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, base)]
    return {_name(cls): cls for cls in found}


def _encode(key: str, value: Any) -> Any:
    """A constructor keyword as JSON: plain values, lists, string-keyed dicts and classes of :func:`keyword_classes`."""
    if isinstance(value, type):
        if _name(value) not in keyword_classes():
            raise TypeError(f"policy keyword {key!r}: class {_name(value)} cannot be described (not one of the known "
                            "activations, optimisers or feature extractors)")
        return {CLASS_KEY: _name(value)}
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"policy keyword {key!r}: keys must be strings, got {list(value)}")
        return {k: _encode(f"{key}.{k}", v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(f"{key}[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise TypeError(f"policy keyword {key!r}: {type(value).__name__} {value!r} cannot be described as JSON")


def _decode(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {CLASS_KEY}:
            cls = keyword_classes().get(value[CLASS_KEY])
            if cls is None:
                raise ValueError(f"policy keyword {key!r} names class {value[CLASS_KEY]!r}, which is not one of the "
                                 "known activations, optimisers or feature extractors")
            return cls
        return {k: _decode(f"{key}.{k}", v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(f"{key}[{i}]", v) for i, v in enumerate(value)]
    return value


def _bounds(x: np.ndarray) -> list:
    """Box bounds as JSON (strict JSON has no infinity: ``"inf"``, ``"-inf"``)."""
    return [v if math.isfinite(v) else ("inf" if v > 0 else "-inf") for v in np.asarray(x, dtype=np.float64).ravel().tolist()]


def describe_space(space: gym.spaces.Space) -> dict[str, Any]:
    """A ``Box`` or ``Discrete`` space as JSON.

    :raises TypeError: for another kind of space.
    """
    if isinstance(space, gym.spaces.Box):
        return {"type": "Box", "shape": list(space.shape), "dtype": str(space.dtype), "low": _bounds(space.low),
                "high": _bounds(space.high)}
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    raise TypeError(f"cannot describe a {type(space).__name__} space (Box and Discrete only)")


def build_space(description: Mapping[str, Any]) -> gym.spaces.Space:
    """The space of :func:`describe_space`.

    :raises ValueError: for a description that is not one.
    """
    kind = description.get("type")
    if kind == "Box":
        shape = tuple(int(n) for n in description["shape"])
        dtype = np.dtype(description["dtype"])
        low = np.array([float(v) for v in description["low"]], dtype=np.float64).reshape(shape)
        high = np.array([float(v) for v in description["high"]], dtype=np.float64).reshape(shape)
        return gym.spaces.Box(low.astype(dtype), high.astype(dtype), shape=shape, dtype=dtype)
    if kind == "Discrete":
        return gym.spaces.Discrete(int(description["n"]), start=int(description.get("start", 0)))
    raise ValueError(f"unknown space type {kind!r} (Box and Discrete only)")


def describe_policy(policy: Any) -> dict[str, Any]:
    """The JSON description of an SB3 policy network: class, constructor keywords, spaces.

    :param policy: an SB3 policy (``model.policy``) of one of :func:`policy_classes`.
    :raises TypeError: naming the class or the keyword that cannot be described.
    """
    cls = type(policy)
    if _name(cls) not in policy_classes():
        raise TypeError(f"policy class {_name(cls)} cannot be described (known: {sorted(policy_classes())})")
    kwargs = {k: v for k, v in policy._get_constructor_parameters().items() if k not in _NOT_DESCRIBED}
    return {"policy_class": _name(cls), "policy_kwargs": {k: _encode(k, v) for k, v in kwargs.items()},
            "observation_space": describe_space(policy.observation_space), "action_space": describe_space(policy.action_space)}


def build_policy(description: Mapping[str, Any], state_dict: Mapping[str, Any]) -> Any:
    """The policy network of ``description`` with the weights ``state_dict``, in evaluation mode, on the CPU.

    The network is made under a forked torch RNG (its random initialisation, overwritten by the weights, leaves the
    caller's torch generator as it was).

    :param description: :func:`describe_policy`'s dict.
    :param state_dict: the policy's ``state_dict()``; every tensor must match the network (strict).
    :raises ValueError: a class outside :func:`policy_classes`, a keyword class outside :func:`keyword_classes`,
        bad spaces, or weights that do not fit the network.
    """
    import torch

    cls = policy_classes().get(description.get("policy_class"))
    if cls is None:
        raise ValueError(f"policy class {description.get('policy_class')!r} is not one of {sorted(policy_classes())}")
    kwargs = {k: _decode(k, v) for k, v in dict(description.get("policy_kwargs") or {}).items()}
    observation_space = build_space(description["observation_space"])
    action_space = build_space(description["action_space"])
    with torch.random.fork_rng(devices=[]):
        policy = cls(observation_space, action_space, lambda _: 0.0, **kwargs)
    try:
        policy.load_state_dict(dict(state_dict))
    except RuntimeError as exc:
        raise ValueError(f"the weights do not fit the described {cls.__name__}: {exc}") from exc
    policy.set_training_mode(False)
    return policy


__all__ = ["CLASS_KEY", "build_policy", "build_space", "describe_policy", "describe_space", "keyword_classes", "policy_classes"]
