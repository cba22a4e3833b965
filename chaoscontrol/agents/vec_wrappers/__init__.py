"""SB3 ``VecEnv`` wrappers of the training and evaluation stacks, one per module (as ``stable_baselines3.common.vec_env``).

- :class:`VecTimer`: wall time spent inside the env (for the profile);
- :class:`VecPerturbation` (:func:`perturb_vec_env` by name): sensor and actuator perturbations;
- :class:`VecResidualControl`: a baseline's action added to the agent's (residual RL);
- :class:`VecSymmetryReduced`: observations in their canonical symmetry frame, actions mapped back;
- :class:`VecAdversarialTraining`: a fraction of the observations attacked (FGSM/PGD) in training;
- :class:`GymnasiumVectorView`: an SB3 stack seen as a Gymnasium vector env, for the shared rollout loop.

Their order in a stack is :func:`chaoscontrol.agents.env_stack.make_vec_env`'s.
"""

from chaoscontrol.agents.vec_wrappers.adversarial_training import VecAdversarialTraining
from chaoscontrol.agents.vec_wrappers.gymnasium_view import GymnasiumVectorView
from chaoscontrol.agents.vec_wrappers.perturbation import VecPerturbation, perturb_vec_env
from chaoscontrol.agents.vec_wrappers.residual_control import VecResidualControl, reset_controller_rows
from chaoscontrol.agents.vec_wrappers.symmetry_reduced import VecSymmetryReduced
from chaoscontrol.agents.vec_wrappers.timer import VecTimer

__all__ = [
    "GymnasiumVectorView",
    "VecAdversarialTraining",
    "VecPerturbation",
    "VecResidualControl",
    "VecSymmetryReduced",
    "VecTimer",
    "perturb_vec_env",
    "reset_controller_rows",
]
