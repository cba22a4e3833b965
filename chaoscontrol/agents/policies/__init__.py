"""Policies as plain functions obs (B, n_obs) -> actions (B, n_act): the one home of the policy concept.

- :mod:`~chaoscontrol.agents.policies.factory`: a policy from its spec (``zero``, ``random``, a baseline
  ``lqr``/``lqg``/``mpc[:JSON]``, or the path of an SB3 ``.zip``), checked against a vector env;
- :mod:`~chaoscontrol.agents.policies.sb3`: loading a saved model, with its run's observation normalisation;
- :mod:`~chaoscontrol.agents.policies.saved`: the project's own policy files (description, weights, statistics),
  read without unpickling; an SB3 zip or pickle only with ``trust_pickle`` (:mod:`.description`: the policy
  network as JSON; :mod:`.normalisation`: ``VecNormalize`` statistics as arrays);
- :mod:`~chaoscontrol.agents.policies.run_files`: the run folder, ``config.json`` and ``VecNormalize``
  statistics that belong to a model file;
- :mod:`~chaoscontrol.agents.policies.frames`: the symmetry frame of a policy trained on symmetry-reduced
  observations, and the policy that sees observations in that frame;
- :mod:`~chaoscontrol.agents.policies.residual`: a baseline plus a learned correction (residual RL).

A saved policy is rebuilt as it was trained: with its ``VecNormalize`` statistics, its symmetry reduction and
its residual baseline, so that evaluation, the robustness harness and dataset generation feed it what it saw.
"""

from chaoscontrol.agents.policies.factory import BUILTIN_POLICIES, check_policy_file, check_policy_spec, make_policy
from chaoscontrol.agents.policies.frames import policy_frame, symmetry_reduced_policy
from chaoscontrol.agents.policies.residual import residual_policy
from chaoscontrol.agents.policies.run_files import normalisation_file, run_config, run_folder
from chaoscontrol.agents.policies.saved import (
    TRUST_FLAG,
    LoadedModel,
    SavedPolicy,
    has_policy_files,
    policy_file,
    read_policy_files,
    run_metadata,
    save_policy_files,
)
from chaoscontrol.agents.policies.sb3 import check_model_spaces, load_agent, load_sb3_model

__all__ = [
    "BUILTIN_POLICIES",
    "LoadedModel",
    "TRUST_FLAG",
    "SavedPolicy",
    "check_model_spaces",
    "check_policy_file",
    "check_policy_spec",
    "has_policy_files",
    "load_agent",
    "load_sb3_model",
    "make_policy",
    "normalisation_file",
    "policy_file",
    "policy_frame",
    "read_policy_files",
    "residual_policy",
    "run_config",
    "run_folder",
    "run_metadata",
    "save_policy_files",
    "symmetry_reduced_policy",
]
