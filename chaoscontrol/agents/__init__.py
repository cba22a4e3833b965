"""Stable-Baselines3 training, evaluation, baselines and robustness sweeps (imports SB3 and torch)."""

from chaoscontrol.agents.vec_env import KSVecEnv, make_ks_vec_env

__all__ = ["KSVecEnv", "make_ks_vec_env"]
