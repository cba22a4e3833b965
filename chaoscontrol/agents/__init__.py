"""Stable-Baselines3 training, evaluation, baselines and robustness sweeps (imports SB3 and torch)."""

from chaoscontrol.agents.vec_env import ControlSB3VecEnv, KSVecEnv, make_control_vec_env, make_ks_vec_env

__all__ = ["ControlSB3VecEnv", "KSVecEnv", "make_control_vec_env", "make_ks_vec_env"]
