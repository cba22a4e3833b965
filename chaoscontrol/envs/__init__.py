"""Gymnasium environments for chaotic PDE control. Imports without torch."""

from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.envs.registration import register_envs

__all__ = ["KSControlEnv", "register_envs"]
