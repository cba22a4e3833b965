"""The unit of a relative sensor level on any system, and the perturbations of the agent layer made with it.

Sensor perturbation levels (noise, bias, drift, quantisation, adversarial radii) are given as fractions of a scale
of the readings, so that ``noise:0.1`` means the same on every system. The scale (:func:`sensor_unit`) is

- KS: the unforced attractor's rms(u) (:func:`chaoscontrol.envs.perturbation_wrappers.sensor_scale`, from
  :func:`~chaoscontrol.solvers.attractor.attractor_rms`; ~1.18 at L = 22), as before;
- any other system: the standard deviation of the observations on its unforced attractor, pooled over the sensors,
  sigma_o = sqrt(mean_j Var(o_j)), over :data:`UNIT_TRAJECTORIES` random starts of the env's own dynamics
  (``random_states``: burnt in onto the attractor) and :data:`UNIT_STEPS` control intervals with zero action, from a
  fixed seed (deterministic; cached by configuration in the process: a fraction of a second for the ODEs and CGLE,
  ~20 s for the 64 x 64 Kolmogorov flow with its 50-unit burn-in). The fluctuation, not the rms: a reading's mean (Lorenz-63's
  z ~ 23) is no measure of how large a sensor error is against the signal. For a KS env sigma_o ~ rms(u), since
  mean(u) = 0 (e.g. 1.175 against attractor_rms 1.18 at L = 22).

:func:`make_env_perturbation` is :func:`~chaoscontrol.envs.perturbation_wrappers.make_perturbation` with that unit:
the single place where the agent layer (training stacks, ``evaluate``, the robustness harness) makes a perturbation.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import gymnasium as gym
import numpy as np

from chaoscontrol.agents.systems import base_env, env_config, is_ks
from chaoscontrol.envs.perturbation_wrappers import make_perturbation, sensor_scale
from chaoscontrol.validation import check_non_negative

#: The perturbations whose level is a sensor level (relative to :func:`sensor_unit` unless ``relative=False``;
#: ``make_perturbation``'s docstring lists them).
SENSOR_LEVELS = ("noise", "noise-random", "bias", "drift", "quantize")
#: The sensor perturbations whose default indices are every other sensor, from this first one.
EVERY_OTHER = {"subset": 0, "dead-sensors": 1}
#: Random starts and zero-action control intervals of the unit of a system that is not KS.
UNIT_TRAJECTORIES = 8
UNIT_STEPS = 100
#: Seed of those starts.
UNIT_SEED = 20261202


def sensor_unit(env: Any, relative: bool = True) -> float:
    """The unit of a sensor level on the system under ``env`` (module docstring); 1 if not ``relative``.

    :param env: a single or batched env of the suite, or any wrapper of one (SB3 probes included).
    :param relative: False for levels already in observation units.
    """
    if not relative:
        return 1.0
    base = base_env(env)
    if is_ks(base):
        return sensor_scale(base)
    key = json.dumps({"class": type(base).__name__, "config": env_config(base), "n_obs": int(base.observation_space.shape[0])},
                     sort_keys=True, default=str)
    return _observation_std(key, base)


_UNITS: dict[str, float] = {}


def _observation_std(key: str, env: Any) -> float:
    """sigma_o of the module docstring for the env of configuration ``key`` (cached)."""
    if key not in _UNITS:
        d = env.dynamics
        rngs = [np.random.default_rng([UNIT_SEED, i]) for i in range(UNIT_TRAJECTORIES)]
        states = d.random_states(rngs)
        fields = d.fields_from_states(states)
        diag = np.zeros((UNIT_TRAJECTORIES, len(d.diagnostic_names) + 1))
        zero = np.zeros((UNIT_TRAJECTORIES, d.n_actions))
        obs = np.empty((UNIT_STEPS, UNIT_TRAJECTORIES, env.observation_space.shape[0]))
        for k in range(UNIT_STEPS):
            d.advance(states, fields, zero, diag)
            obs[k] = env.observe_states(fields, False)
        sigma = float(np.sqrt(obs.reshape(-1, obs.shape[-1]).var(axis=0).mean()))
        if not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"relative sensor levels need readings that fluctuate on the attractor; {type(env).__name__} "
                             f"gives sigma = {sigma}: pass relative=False (levels in observation units)")
        _UNITS[key] = sigma
    return _UNITS[key]


def make_env_perturbation(name: str, level: float, env: Any, **kwargs: Any) -> tuple[Any, str]:
    """The model and target of perturbation ``name`` at ``level`` for the system under ``env``.

    A sensor level (:data:`SENSOR_LEVELS`) is a fraction of :func:`sensor_unit` unless ``relative=False``; the other
    levels are as in :func:`~chaoscontrol.envs.perturbation_wrappers.make_perturbation`. Without ``indices``,
    ``subset`` keeps the even sensors and ``dead-sensors`` silences the odd ones, of any number of sensors (for KS's
    8 the defaults of ``make_perturbation``, (0, 2, 4, 6) and (1, 3, 5, 7)).

    :param name: a perturbation name (``PERTURBATIONS``).
    :param level: its level.
    :param env: the env it is made for (its spaces and system).
    :param kwargs: the perturbation's keywords.
    :raises ValueError: naming the perturbation, level or keyword at fault.
    """
    if name in SENSOR_LEVELS and kwargs.get("relative", True) and not is_ks(env):
        kwargs = {**kwargs, "relative": False}
        level = check_non_negative("level", level) * sensor_unit(env)
    if name in EVERY_OTHER and "indices" not in kwargs:
        space = env.single_observation_space if isinstance(env, gym.vector.VectorEnv) else env.observation_space
        n_obs = space.shape[0]  # the space the perturbation acts on, as make_perturbation reads it
        kwargs = {**kwargs, "indices": tuple(range(EVERY_OTHER[name], n_obs, 2))}
    return make_perturbation(name, level, env, **kwargs)


__all__ = ["EVERY_OTHER", "SENSOR_LEVELS", "UNIT_STEPS", "UNIT_TRAJECTORIES", "make_env_perturbation", "sensor_unit"]
