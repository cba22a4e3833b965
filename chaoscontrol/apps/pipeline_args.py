"""The arguments of the demo pipeline (``chaoscontrol demo``) and the settings every run of it shares."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from chaoscontrol.validation import check_int


@dataclass(frozen=True)
class PipelineArgs:
    """Sizes and settings of the pipeline (defaults: the demo on 2 cores)."""

    out: str = "runs/demo"
    """Output folder."""
    algo: str = "ppo"
    """Agent algorithm."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keywords of KS-Control-v0 (the objective: dissipation by default)."""
    seeds: tuple[int, ...] = (0,)
    """Training seeds of the agents."""
    timesteps: int = 250_000
    """Env steps per agent."""
    hyperparams: dict[str, Any] = field(default_factory=dict)
    """Overrides of the agent's hyper-parameters (``configs/<algo>.yaml``)."""
    max_episode_steps: int = 400
    """Episode length of training and evaluation."""
    simulate_time: float = 200.0
    """Length of the simulation step (time units)."""
    burn_in: float | None = None
    """Burn-in of every env (None: the env's default, 100 time units)."""
    dataset_trajectories: int = 24
    """Trajectories of the surrogate's dataset."""
    dataset_steps: int = 200
    """Control intervals per trajectory."""
    surrogate_family: str = "spectral"
    """Surrogate family."""
    surrogate_kwargs: dict[str, Any] = field(default_factory=lambda: {"width": 16, "depth": 1})
    """Its configuration."""
    surrogate_minutes: float = 2.0
    """Surrogate training budget (wall minutes)."""
    surrogate_epochs: int = 30
    """Surrogate training epochs (at most)."""
    eval_episodes: int = 20
    """Evaluation episodes on the truth."""
    noise_levels: tuple[float, ...] = (0.0, 0.1, 0.2, 0.5)
    """Sensor noise levels (fractions of rms(u)) of the robustness sweep."""
    robustness_episodes: int = 8
    """Episodes per noise level."""
    surrogate_eval_initial: int = 20
    """Initial conditions of the surrogate evaluation."""
    surrogate_eval_lyapunov: float = 8.0
    """Length of its error-growth runs (Lyapunov times)."""
    surrogate_free_time: float = 200.0
    """Length of its free runs (time units)."""
    progress: bool = True
    """Show progress bars."""

    def __post_init__(self) -> None:
        from chaoscontrol.agents.hyperparams import ALGOS
        from chaoscontrol.surrogates.models import make_config

        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "noise_levels", tuple(self.noise_levels))
        if not self.seeds:
            raise ValueError("seeds must not be empty")
        for s in self.seeds:
            check_int("seeds", s, minimum=0)
        for name in ("timesteps", "max_episode_steps", "dataset_trajectories", "dataset_steps", "surrogate_epochs", "eval_episodes",
                     "robustness_episodes", "surrogate_eval_initial"):
            check_int(name, getattr(self, name))
        if not (math.isfinite(self.surrogate_minutes) and self.surrogate_minutes > 0):
            raise ValueError(f"surrogate_minutes must be positive, got {self.surrogate_minutes!r}")
        make_config(self.surrogate_family, **self.surrogate_kwargs)
        if self.dataset_trajectories < 4:
            raise ValueError(f"dataset_trajectories must be >= 4 (train and validation splits), got {self.dataset_trajectories}")


#: Episode e of every evaluation starts from env seed EVAL_SEED + e (all controllers see the same initial states).
EVAL_SEED = 10_000

#: The controllers evaluated beside the agents in the demo report.
BASELINE_ROWS = {"zero": "no control", "random": "random actions", "lqg": "LQG about E1 (8 sensors; chaoscontrol.baselines)"}
