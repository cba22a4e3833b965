"""Hyper-parameters of the SB3 algorithms: plain-value YAML keyed by env id (rl-zoo style), checked before training.

``configs/<algo>.yaml`` maps env ids to the constructor keywords of the algorithm
plus a few keys of the suite (``n_envs``, ``normalize``, ``action_noise``); see
``configs/README.md``. Everything is validated here, so that a typo fails before
any environment is built: unknown keys are named, as are values of the wrong kind.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ALGOS = ("ppo", "sac", "td3", "ddpg")
#: Keys of the suite, not of the SB3 constructor.
SUITE_KEYS = ("n_envs", "normalize", "action_noise")
ACTIVATIONS = ("tanh", "relu", "gelu", "elu")
#: Where ``configs/`` lives in a source checkout (the package is installed editable).
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


def algorithm_class(algo: str) -> type:
    """The SB3 class of ``algo`` (one of :data:`ALGOS`)."""
    from stable_baselines3 import DDPG, PPO, SAC, TD3

    classes = {"ppo": PPO, "sac": SAC, "td3": TD3, "ddpg": DDPG}
    if algo not in classes:
        raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")
    return classes[algo]


@dataclass(frozen=True)
class Hyperparams:
    """The resolved hyper-parameters of one run."""

    algo: str
    """One of :data:`ALGOS`."""
    n_envs: int
    """Batched envs."""
    normalize: bool
    """``VecNormalize`` of the observations."""
    action_noise: float
    """Gaussian exploration noise std (TD3, DDPG; 0 for none)."""
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    """Plain constructor keywords of the SB3 class (``policy_kwargs.activation_fn`` still a name)."""

    def to_dict(self) -> dict[str, Any]:
        return {"algo": self.algo, "n_envs": self.n_envs, "normalize": self.normalize, "action_noise": self.action_noise,
                **self.algo_kwargs}

    def constructor_kwargs(self, n_actions: int) -> dict[str, Any]:
        """Keywords for the SB3 constructor (with ``policy``): activation names become classes, ``action_noise`` a noise object."""
        import numpy as np
        from torch import nn

        kwargs = dict(self.algo_kwargs)
        policy_kwargs = dict(kwargs.pop("policy_kwargs", {}) or {})
        if "activation_fn" in policy_kwargs:
            policy_kwargs["activation_fn"] = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU, "elu": nn.ELU}[
                policy_kwargs["activation_fn"]
            ]
        if policy_kwargs:
            kwargs["policy_kwargs"] = policy_kwargs
        if self.action_noise > 0:
            from stable_baselines3.common.noise import NormalActionNoise

            kwargs["action_noise"] = NormalActionNoise(np.zeros(n_actions), self.action_noise * np.ones(n_actions))
        return kwargs


def _check_plain(name: str, value: Any) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{name}: keys must be strings, got {k!r}")
            _check_plain(f"{name}.{k}", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_plain(f"{name}[{i}]", v)
    elif not (value is None or isinstance(value, (bool, int, float, str))):
        raise ValueError(f"{name} must be a plain value (number, string, bool, list, dict), got {type(value).__name__}")


#: The entry of a hyper-parameter file for the registered ids that have none of their own.
DEFAULT_ENTRY = "default"


def _default_entry(path: Path, table: dict[str, Any], env_id: str) -> str:
    """:data:`DEFAULT_ENTRY` for a registered ``env_id`` without an entry of its own, if the file has one."""
    from chaoscontrol.envs.registration import ENV_SPECS

    if env_id in ENV_SPECS and DEFAULT_ENTRY in table:
        return DEFAULT_ENTRY
    raise ValueError(f"hyper-parameter file {str(path)!r} has no entry for env id {env_id!r}"
                     + ("" if env_id in ENV_SPECS else " (not a registered id)") + f"; it has {sorted(table)}")


def load_hyperparams(algo: str, env_id: str, path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Hyperparams:
    """Read ``configs/<algo>.yaml`` (or ``path``) for ``env_id``, apply ``overrides``, and check every key.

    :param algo: one of :data:`ALGOS`.
    :param env_id: the key in the YAML file; a registered id without one reads the file's :data:`DEFAULT_ENTRY`.
    :param path: a YAML file instead of ``configs/<algo>.yaml``.
    :param overrides: keys that replace the file's (``policy_kwargs`` is merged key by key).
    :raises ValueError: naming the file, the env id or the key at fault.
    """
    cls = algorithm_class(algo)
    path = Path(path) if path is not None else CONFIG_DIR / f"{algo}.yaml"
    if not path.is_file():
        raise ValueError(f"hyper-parameter file {str(path)!r} does not exist (pass --config PATH)")
    try:
        table = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"hyper-parameter file {str(path)!r} is not valid YAML: {exc}") from exc
    if not isinstance(table, dict):
        raise ValueError(f"hyper-parameter file {str(path)!r} must map env ids to keys")
    entry = env_id if env_id in table else _default_entry(path, table, env_id)
    if not isinstance(table[entry] or {}, dict):
        raise ValueError(f"hyper-parameter file {str(path)!r}: the entry of {entry!r} must map keys to values, got {table[entry]!r}")
    values = dict(table[entry] or {})
    overrides = dict(overrides or {})
    given_pk = overrides.get("policy_kwargs") if isinstance(overrides.get("policy_kwargs"), dict) else {}

    def source(key: str, given: dict[str, Any] | None = None) -> str:
        """Where ``key`` was given: in ``given`` (default: the overrides), i.e. ``--hyperparams``, or in the file."""
        return "--hyperparams" if key in (overrides if given is None else given) else f"{path.name}[{entry}]"
    if isinstance(overrides.get("policy_kwargs", {}), (dict, type(None))) and "policy_kwargs" in overrides \
            and isinstance(values.get("policy_kwargs"), dict):  # a non-mapping is refused below, by name
        overrides["policy_kwargs"] = {**values["policy_kwargs"], **(overrides["policy_kwargs"] or {})}
    values.update(overrides)
    _check_plain(f"{path.name}[{entry}]", values)
    allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "env", "action_noise", "_init_setup_model", "seed",
                                                                   "tensorboard_log", "device", "verbose"}
    unknown = set(values) - allowed - set(SUITE_KEYS)
    if unknown:
        keys = sorted(unknown - set(overrides)) or sorted(unknown)  # the file's first
        raise ValueError(f"{source(keys[0])}: unknown keys {keys} for {algo}; allowed: {sorted(allowed | set(SUITE_KEYS))}")
    n_envs = values.pop("n_envs", 8)
    if not (isinstance(n_envs, int) and not isinstance(n_envs, bool) and n_envs >= 1):
        raise ValueError(f"{source('n_envs')}: n_envs must be an integer >= 1, got {n_envs!r}")
    normalize = values.pop("normalize", False)
    if not isinstance(normalize, bool):
        raise ValueError(f"{source('normalize')}: normalize must be true or false, got {normalize!r}")
    action_noise = values.pop("action_noise", 0.0)
    if not (isinstance(action_noise, (int, float)) and not isinstance(action_noise, bool) and action_noise >= 0):
        raise ValueError(f"{source('action_noise')}: action_noise must be a number >= 0, got {action_noise!r}")
    if action_noise and algo not in ("td3", "ddpg"):
        raise ValueError(f"{source('action_noise')}: action_noise applies to td3 and ddpg, not {algo}")
    pk = values.get("policy_kwargs", {})
    if pk is not None and not isinstance(pk, dict):
        raise ValueError(f"{source('policy_kwargs')}: policy_kwargs must be a mapping, got {pk!r}")
    if pk and "activation_fn" in pk and pk["activation_fn"] not in ACTIVATIONS:
        raise ValueError(f"{source('activation_fn', given_pk)}: policy_kwargs.activation_fn must be one of {ACTIVATIONS}, got {pk['activation_fn']!r}")
    values.setdefault("policy", "MlpPolicy")
    policy = values["policy"]
    if not isinstance(policy, str) or policy not in cls.policy_aliases:
        raise ValueError(f"{source('policy')}: policy must be one of {sorted(cls.policy_aliases)}, got {policy!r}")
    if pk:
        accepted = set(inspect.signature(cls.policy_aliases[policy].__init__).parameters) - {
            "self", "observation_space", "action_space", "lr_schedule"}
        if set(pk) - accepted:
            bad = sorted(set(pk) - accepted)
            raise ValueError(f"{source(bad[0], given_pk)}: unknown policy_kwargs keys {bad} for {algo} "
                             f"{policy}; allowed: {sorted(accepted)}")
    return Hyperparams(algo=algo, n_envs=n_envs, normalize=normalize, action_noise=float(action_noise), algo_kwargs=values)


__all__ = ["ALGOS", "DEFAULT_ENTRY", "Hyperparams", "algorithm_class", "load_hyperparams"]
