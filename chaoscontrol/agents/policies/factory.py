"""A policy from its spec: ``zero``, ``random``, a baseline (``lqr``, ``lqg``, ``mpc``, optionally ``NAME:JSON``)
or the path of an SB3 ``.zip``, checked against the vector env it will act on.

:func:`check_policy_spec` checks the spec's form only (argument objects check values, never files);
:func:`check_policy_file` checks that a ``.zip`` spec names a saved model, where the command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from chaoscontrol.agents.policies.residual import residual_policy
from chaoscontrol.agents.policies.saved import has_policy_files, policy_run
from chaoscontrol.agents.policies.sb3 import check_model_spaces, load_agent
from chaoscontrol.baselines import BASELINES, make_baseline, parse_baseline

BUILTIN_POLICIES = ("zero", "random")


def check_policy_spec(arg: str, policy: str) -> None:
    """Check the form of a policy spec without reading anything: a built-in, a baseline spec or a ``.zip`` path.

    :param arg: the argument's name, for the error (e.g. ``"model"``, ``"policy"``).
    :param policy: the spec.
    :raises ValueError: naming ``arg``.
    """
    if policy in BUILTIN_POLICIES:
        return
    try:
        if parse_baseline(policy) is not None:
            return
    except ValueError as exc:
        raise ValueError(f"{arg}: {exc}") from exc
    if not str(policy).endswith(".zip"):
        raise ValueError(f"{arg} must be one of {BUILTIN_POLICIES + BASELINES} (baselines optionally NAME:JSON) "
                         f"or the path of an SB3 .zip, got {policy!r}")


def check_policy_file(arg: str, policy: str) -> None:
    """Check that a ``.zip`` policy spec names a saved model (the zip, or its ``.policy.json``); other specs pass.

    :param arg: the argument's name, for the error.
    :param policy: the spec (of a valid form: :func:`check_policy_spec`).
    :raises ValueError: naming ``arg`` and the file.
    """
    if str(policy).endswith(".zip") and not (Path(policy).is_file() or has_policy_files(policy)):
        raise ValueError(f"{arg} file {policy!r} does not exist")


def make_policy(policy: str, venv: Any, seed: int, deterministic: bool = True,
                trust_pickle: bool = False) -> tuple[Callable[[np.ndarray], np.ndarray], Any]:
    """(act(obs) -> actions (B, n_act), the trained model or None) for a policy spec, checked against ``venv``.

    A trained policy is rebuilt as it was trained (:func:`~chaoscontrol.agents.policies.sb3.load_agent`), with
    the residual baseline of its run, if any, built for ``venv``.

    :param policy: the spec (module docstring).
    :param venv: the Gymnasium vector env the policy acts on (its spaces, and the KS env for baselines).
    :param seed: seed of the ``random`` policy's actions.
    :param deterministic: deterministic actions of a trained policy.
    :param trust_pickle: allow unpickling an SB3 zip without the project's policy files (``--trust-pickle``).
    :raises ValueError: for a bad spec, a file that is not a readable model (or would have to be unpickled without
        ``trust_pickle``), or spaces that do not match ``venv``'s.
    """
    b, n_act = venv.num_envs, venv.single_action_space.shape[0]
    if parse_baseline(policy) is not None:
        return make_baseline(policy, venv), None
    if policy == "zero":
        return (lambda obs: np.zeros((b, n_act))), None
    if policy == "random":
        rng = np.random.default_rng([seed, 7])
        return (lambda obs: rng.uniform(-1.0, 1.0, (b, n_act))), None
    act, model = load_agent(policy, deterministic, trust_pickle)  # with the run's observation normalisation, if any
    check_model_spaces(model, venv.single_observation_space, venv.single_action_space)
    residual = policy_run(policy).get("residual")
    if residual:
        act = residual_policy(act, make_baseline(residual, venv))
    return act, model


__all__ = ["BUILTIN_POLICIES", "check_policy_file", "check_policy_spec", "make_policy"]
