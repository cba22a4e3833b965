"""Gymnasium environments for chaotic PDE control. Imports without torch.

The environment classes are imported on first use, so that ``import chaoscontrol``
(which registers the ids) stays cheap.
"""

from chaoscontrol.envs.registration import register_envs

__all__ = ["KSControlEnv", "KSControlVectorEnv", "register_envs"]


def __getattr__(name: str):
    if name == "KSControlEnv":
        from chaoscontrol.envs.ks_control import KSControlEnv

        return KSControlEnv
    if name == "KSControlVectorEnv":
        from chaoscontrol.envs.ks_vector import KSControlVectorEnv

        return KSControlVectorEnv
    raise AttributeError(f"module 'chaoscontrol.envs' has no attribute {name!r}")
