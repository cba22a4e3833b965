"""The arguments of the robustness harness; making them checks their values only (what needs an env or a file is
checked by :func:`~chaoscontrol.agents.robustness.sweep.run_robustness`, once, before any row is written)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from chaoscontrol.agents.adversarial import check_attack_keywords
from chaoscontrol.agents.policies import check_policy_spec
from chaoscontrol.agents.systems import check_agent_env_id
from chaoscontrol.envs.perturbation_wrappers import PERTURBATIONS
from chaoscontrol.validation import check_int

HARNESS_PERTURBATIONS = PERTURBATIONS + ("adversarial",)


@dataclass(frozen=True)
class RobustnessArgs:
    """Arguments of the robustness harness."""

    policy: str = "zero"
    """``zero`` (no control), ``random`` (uniform actions), a baseline (``lqr``, ``lqg``, ``mpc``; see
    :mod:`chaoscontrol.baselines`) or the path of an SB3 ``.zip``."""
    perturbation: str = "noise"
    """One of :data:`HARNESS_PERTURBATIONS` (see ``make_perturbation`` for what the level means)."""
    levels: tuple[float, ...] = (0.0, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5)
    """Perturbation levels (sensor levels are fractions of the sensor unit, for KS the attractor's rms(u):
    :mod:`~chaoscontrol.agents.sensor_levels`)."""
    episodes: int = 8
    """Episodes per level (run together as one batch)."""
    seed: int = 0
    """Episode e starts from env seed ``seed + e``."""
    out: str = "runs/robustness"
    """Output folder."""
    env_id: str | None = None
    """Env id, any registered one (default: the policy's run's, else ``KS-Control-v0``)."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keywords of the env."""
    max_episode_steps: int = 400
    """Episode length in env steps."""
    perturbation_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra keywords of the perturbation (e.g. ``indices`` for ``subset``, ``norm``/``attack`` for ``adversarial``)."""
    deterministic: bool = True
    """Deterministic actions of a trained policy."""
    progress: bool = True
    """Show a progress bar."""
    trust_pickle: bool = False
    """Allow a ``.zip`` without the project's policy files (``.policy.json`` beside it: an SB3 zip from elsewhere,
    or saved before they existed): SB3's zip and ``vecnormalize.pkl`` are then unpickled, which runs any code they
    hold. Only for files you trust."""

    def __post_init__(self) -> None:
        if self.perturbation not in HARNESS_PERTURBATIONS:
            raise ValueError(f"perturbation must be one of {HARNESS_PERTURBATIONS}, got {self.perturbation!r}")
        if not self.levels:
            raise ValueError("levels must not be empty")
        for level in self.levels:
            if not (isinstance(level, (int, float)) and math.isfinite(level) and level >= 0):
                raise ValueError(f"levels must be finite and >= 0, got {level!r}")
        if self.perturbation == "dropout" and max(self.levels) > 1:
            raise ValueError(f"levels of 'dropout' are probabilities in [0, 1], got {max(self.levels)}")
        if self.env_id is not None:
            check_agent_env_id(self.env_id)
        check_int("episodes", self.episodes)
        check_int("max_episode_steps", self.max_episode_steps)
        check_policy_spec("policy", self.policy)
        if self.perturbation == "adversarial" and not str(self.policy).endswith(".zip"):
            raise ValueError("perturbation 'adversarial' needs a trained policy (.zip) to attack (its gradient)")
        if not isinstance(self.env_kwargs, dict) or not isinstance(self.perturbation_kwargs, dict):
            raise ValueError("env_kwargs and perturbation_kwargs must be dicts")
        if self.perturbation == "adversarial":
            check_attack_keywords(self.perturbation_kwargs)


__all__ = ["HARNESS_PERTURBATIONS", "RobustnessArgs"]
