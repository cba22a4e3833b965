"""Gymnasium wrappers for noisy, scarce and faulty sensors and actuators.

One class per idea, each a thin adapter of a batch model from
:mod:`chaoscontrol.envs.perturbations` (B = 1 here). Sensor amplitudes are
relative to the attractor's rms(u) by default (``relative=True``), so that
``GaussianSensorNoise(env, 0.1)`` is "10% noise" as a physicist means it.

Every wrapper owns a generator derived from the seed of ``reset(seed=s)``
(:func:`~chaoscontrol.envs.perturbations.derived_generator`), never the global
stream nor the environment's: the initial conditions of a wrapped env are those
of the bare env. ``reset()`` without a seed continues the wrapper's stream.

Batched environments: :class:`VectorPerturbation` applies any model to a
Gymnasium vector env (``gym.make_vec("KS-Control-v0", ...)``), env i with the
generator of seed s + i, so that env i sees exactly the perturbation of a single
wrapped env seeded s + i; :func:`perturb_vector_env` builds it by name.

Example::

    env = gym.make("KS-Control-v0")
    env = GaussianSensorNoise(env, sigma=0.1)        # 10% of rms(u)
    env = SensorDropout(env, p=0.05, append_mask=True)
    env = ActuatorFault(env, index=2, mode="dead")
"""

from __future__ import annotations

from typing import Any, Sequence

import gymnasium as gym
import numpy as np
from gymnasium.utils import RecordConstructorArgs
from gymnasium.vector import AutoresetMode, VectorWrapper

from chaoscontrol.envs import perturbations as P
from chaoscontrol.solvers.attractor import attractor_rms
from chaoscontrol.validation import check_non_negative


def sensor_scale(env: gym.Env | gym.vector.VectorEnv, relative: bool = True) -> float:
    """The unit of a sensor perturbation level: rms(u) on the attractor of the KS env under ``env`` if ``relative``, else 1.

    Sensor levels (noise, bias, drift, quantisation, adversarial radii) are given as fractions of rms(u) by default,
    so a level times this scale is the amplitude in units of u.

    :param env: a KS env, a batched KS env, or any wrapper of one (read through ``unwrapped``).
    :param relative: False for levels that are already in units of u (the scale is then 1).
    :raises ValueError: if ``relative`` and there is no KS configuration underneath.
    """
    if not relative:
        return 1.0
    base = env.unwrapped
    base = getattr(base, "template", base)
    cfg = getattr(base, "config", None)
    if cfg is None:
        raise ValueError("relative=True needs a KS environment underneath (to know rms(u)); pass relative=False")
    return attractor_rms(cfg.L, cfg.N, cfg.dt)


def _sensor_level(name: str, value: float, env: gym.Env | gym.vector.VectorEnv, relative: bool) -> float:
    """A sensor perturbation amplitude (checked >= 0, naming ``name``) in units of u."""
    return check_non_negative(name, value) * sensor_scale(env, relative)


class PerturbationWrapper(gym.Wrapper):
    """Applies a :class:`~chaoscontrol.envs.perturbations.Perturbation` to observations or actions of one env."""

    def __init__(self, env: gym.Env, perturbation: P.Perturbation, target: str) -> None:
        super().__init__(env)
        if target not in ("observation", "action"):
            raise ValueError(f"target must be 'observation' or 'action', got {target!r}")
        self.perturbation = perturbation
        self.target = target
        if target == "observation":
            self.observation_space = perturbation.transform_space(env.observation_space)
        self._rng: np.random.Generator | None = None
        self._new_episode = np.ones(1, dtype=bool)
        self._not_new = np.zeros(1, dtype=bool)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is not None or self._rng is None:
            self._rng = P.derived_generator(seed, self.perturbation.tag)
        if self.target == "observation":
            obs = self._observe(obs, self._new_episode)
        else:
            self._first_action = True
        return obs, info

    def step(self, action):
        if self.target == "action":
            if self._rng is None:
                raise gym.error.ResetNeeded("call reset() before step()")
            a = np.asarray(action, dtype=np.float64)
            if a.shape != self.env.action_space.shape:
                raise ValueError(f"action must have shape {self.env.action_space.shape}, got {a.shape}")
            new = self._new_episode if self._first_action else self._not_new
            action = self.perturbation.apply(a[None], new, [self._rng])[0]
            self._first_action = False
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.target == "observation":
            obs = self._observe(obs, self._not_new)
        return obs, reward, terminated, truncated, info

    def _observe(self, obs: np.ndarray, new: np.ndarray) -> np.ndarray:
        out = self.perturbation.apply(np.asarray(obs)[None], new, [self._rng])[0]
        return np.clip(out, self.observation_space.low, self.observation_space.high).astype(self.observation_space.dtype)


class GaussianSensorNoise(PerturbationWrapper, RecordConstructorArgs):
    """Gaussian sensor noise: o' = o + sigma * xi, xi ~ N(0, 1) per sensor and step.

    :param sigma: noise level; a fraction of the attractor's rms(u) if ``relative`` (default), else absolute.
    :param relative: sigma relative to rms(u).
    """

    def __init__(self, env: gym.Env, sigma: float = 0.1, relative: bool = True) -> None:
        RecordConstructorArgs.__init__(self, sigma=sigma, relative=relative)
        super().__init__(env, P.GaussianNoise(_sensor_level("sigma", sigma, env, relative)), "observation")


class SensorBias(PerturbationWrapper, RecordConstructorArgs):
    """Constant sensor bias per episode: o' = o + b, b ~ N(0, sigma^2) per sensor, drawn at reset."""

    def __init__(self, env: gym.Env, sigma: float = 0.1, relative: bool = True) -> None:
        RecordConstructorArgs.__init__(self, sigma=sigma, relative=relative)
        super().__init__(env, P.ConstantBias(_sensor_level("sigma", sigma, env, relative)), "observation")


class SensorDrift(PerturbationWrapper, RecordConstructorArgs):
    """Slow sensor drift: a random walk d_{t+1} = d_t + sigma * xi_t per sensor, d = 0 at reset."""

    def __init__(self, env: gym.Env, sigma: float = 0.01, relative: bool = True) -> None:
        RecordConstructorArgs.__init__(self, sigma=sigma, relative=relative)
        super().__init__(env, P.RandomWalkDrift(_sensor_level("sigma", sigma, env, relative)), "observation")


class SensorDropout(PerturbationWrapper, RecordConstructorArgs):
    """Each reading missing with probability p: replaced by the last valid one (``fill="last"``) or 0.

    :param append_mask: append a validity mask (1 valid, 0 missing) to the observation.
    """

    def __init__(self, env: gym.Env, p: float = 0.1, fill: str = "last", append_mask: bool = False) -> None:
        RecordConstructorArgs.__init__(self, p=p, fill=fill, append_mask=append_mask)
        super().__init__(env, P.Dropout(p, fill, append_mask), "observation")


class SensorQuantization(PerturbationWrapper, RecordConstructorArgs):
    """Readings rounded to a multiple of ``resolution`` (relative to rms(u) by default)."""

    def __init__(self, env: gym.Env, resolution: float = 0.1, relative: bool = True) -> None:
        RecordConstructorArgs.__init__(self, resolution=resolution, relative=relative)
        super().__init__(env, P.Quantization(_sensor_level("resolution", resolution, env, relative)), "observation")


class DelayedObservation(PerturbationWrapper, RecordConstructorArgs):
    """Observations delayed by k env steps (the first observation of an episode is repeated meanwhile)."""

    def __init__(self, env: gym.Env, k: int = 1) -> None:
        RecordConstructorArgs.__init__(self, k=k)
        super().__init__(env, P.Delay(k), "observation")


class SensorSubset(PerturbationWrapper, RecordConstructorArgs):
    """Only the sensors ``indices`` (indices into the observation), without rebuilding the env."""

    def __init__(self, env: gym.Env, indices: Sequence[int] = (0, 2, 4, 6)) -> None:
        RecordConstructorArgs.__init__(self, indices=indices)
        super().__init__(env, P.Subset(indices, env.observation_space.shape[0]), "observation")


class ActuatorGainError(PerturbationWrapper, RecordConstructorArgs):
    """Multiplicative actuator gain error: a' = g * a, g = gains * (1 + N(0, sigma^2)) per actuator and episode."""

    def __init__(self, env: gym.Env, sigma: float = 0.1, gains: Sequence[float] | float | None = None) -> None:
        RecordConstructorArgs.__init__(self, sigma=sigma, gains=gains)
        super().__init__(env, P.GainError(sigma, gains, n=env.action_space.shape[0]), "action")


class ActuatorNoise(PerturbationWrapper, RecordConstructorArgs):
    """Additive actuator noise: a' = a + sigma * xi (in action units; the env clips to [-1, 1])."""

    def __init__(self, env: gym.Env, sigma: float = 0.1) -> None:
        RecordConstructorArgs.__init__(self, sigma=sigma)
        super().__init__(env, P.GaussianNoise(sigma), "action")


class ActuatorFault(PerturbationWrapper, RecordConstructorArgs):
    """Actuator ``index`` dead (always 0) or stuck (holds ``value``, or its first action of the episode)."""

    def __init__(self, env: gym.Env, index: int = 0, mode: str = "dead", value: float | None = None) -> None:
        RecordConstructorArgs.__init__(self, index=index, mode=mode, value=value)
        super().__init__(env, P.StuckActuator(index, env.action_space.shape[0], mode, value), "action")


# --------------------------------------------------------------------------- batched


class VectorPerturbation(VectorWrapper):
    """Applies a batch model to the observations or actions of a Gymnasium vector env.

    Env i uses the generator of its reset seed (s + i for ``reset(seed=s)``), so
    it sees the perturbation of a single env wrapped with the same model and
    seeded s + i. Autoresets (``NEXT_STEP``, ``SAME_STEP``) start a new episode of
    the model for the envs concerned.
    """

    def __init__(self, env: gym.vector.VectorEnv, perturbation: P.Perturbation, target: str) -> None:
        super().__init__(env)
        if target not in ("observation", "action"):
            raise ValueError(f"target must be 'observation' or 'action', got {target!r}")
        self.perturbation = perturbation
        self.target = target
        if target == "observation":
            self.single_observation_space = perturbation.transform_space(env.single_observation_space)
            self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, env.num_envs)
        b = env.num_envs
        self._rngs: list[np.random.Generator | None] = [None] * b
        self._new_action = np.ones(b, dtype=bool)
        self._prev_done = np.zeros(b, dtype=bool)
        self._mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        self._last_obs: np.ndarray | None = None

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        b = self.num_envs
        if seed is None:
            seeds = [None] * b
        elif isinstance(seed, (int, np.integer)):
            seeds = [int(seed) + i for i in range(b)]
        else:
            seeds = list(seed)
        mask = np.ones(b, dtype=bool)
        if options and options.get("reset_mask") is not None:
            mask = np.asarray(options["reset_mask"], dtype=bool)
        for i in np.flatnonzero(mask):
            if seeds[i] is not None or self._rngs[i] is None:
                self._rngs[i] = P.derived_generator(seeds[i], self.perturbation.tag)
        self._prev_done[mask] = False
        if self.target == "observation":
            if mask.all() or self._last_obs is None:
                obs = self._observe(obs, np.ones(b, dtype=bool), full=True)
            else:  # only the masked envs start anew; the others keep their last perturbed observation
                idx = np.flatnonzero(mask)
                out = self._last_obs.copy()
                out[idx] = self._observe(obs[idx], np.ones(idx.size, dtype=bool), rows=idx)
                obs = self._last_obs = out
        else:
            self._new_action |= mask
        return obs, infos

    def step(self, actions):
        if any(rng is None for rng in self._rngs):
            raise gym.error.ResetNeeded("call reset() before step()")
        autoreset = self._prev_done if self._mode == AutoresetMode.NEXT_STEP else np.zeros(self.num_envs, dtype=bool)
        if self.target == "action":
            a = np.asarray(actions, dtype=np.float64)
            if a.shape != self.env.action_space.shape:
                raise ValueError(f"actions must have shape {self.env.action_space.shape}, got {a.shape}")
            acting = np.flatnonzero(~autoreset)  # the envs being reset ignore their action: draw nothing for them
            a = a.copy()
            if acting.size:
                a[acting] = self.perturbation.apply(
                    a[acting], self._new_action[acting], self._rngs, None if acting.size == self.num_envs else acting
                )
            self._new_action[acting] = False
            actions = a
        obs, rewards, terminated, truncated, infos = self.env.step(actions)
        ended = terminated | truncated
        if self._mode == AutoresetMode.NEXT_STEP:
            reset_now = self._prev_done.copy()
            self._prev_done = ended.copy()
        elif self._mode == AutoresetMode.SAME_STEP:
            reset_now = ended.copy()
        else:
            reset_now = np.zeros(self.num_envs, dtype=bool)
        if self.target == "observation":
            if self._mode == AutoresetMode.SAME_STEP and reset_now.any():
                idx = np.flatnonzero(reset_now)
                final = np.stack([infos["final_obs"][i] for i in idx])
                perturbed_final = self._observe(final, np.zeros(idx.size, dtype=bool), rows=idx)
                for j, i in enumerate(idx):
                    infos["final_obs"][i] = perturbed_final[j]
                rest = np.flatnonzero(~reset_now)
                out = np.empty((self.num_envs,) + self.single_observation_space.shape, self.single_observation_space.dtype)
                out[idx] = self._observe(obs[idx], np.ones(idx.size, dtype=bool), rows=idx)
                if rest.size:
                    out[rest] = self._observe(obs[rest], np.zeros(rest.size, dtype=bool), rows=rest)
                obs = out
            else:
                obs = self._observe(obs, reset_now, full=True)
        else:
            self._new_action |= reset_now
        return obs, rewards, terminated, truncated, infos

    def _observe(self, obs: np.ndarray, new: np.ndarray, rows: np.ndarray | None = None, full: bool = False) -> np.ndarray:
        """Perturb all rows (``full``) or the rows ``rows`` of the batch."""
        out = self.perturbation.apply(np.asarray(obs), new, self._rngs, None if full else rows)
        space = self.single_observation_space
        out = np.clip(out, space.low, space.high).astype(space.dtype)
        if full:
            self._last_obs = out.copy()
        elif self._last_obs is not None:
            self._last_obs[rows] = out
        return out


#: Perturbation names of :func:`perturb_vector_env` and of the robustness harness.
PERTURBATIONS = ("noise", "noise-random", "bias", "drift", "dropout", "quantize", "delay", "subset", "dead-sensors", "actuator-noise", "actuator-gain", "actuator-fault")


def make_perturbation(name: str, level: float, env: gym.Env | gym.vector.VectorEnv, **kwargs: Any) -> tuple[P.Perturbation, str]:
    """The model and target ('observation' or 'action') of perturbation ``name`` at ``level``.

    Sensor levels are fractions of rms(u) unless ``relative=False``: ``noise``
    (sigma), ``noise-random`` (the largest sigma; each episode draws sigma ~ U(0, level)), ``bias`` (sigma), ``drift`` (sigma per step), ``quantize``
    (resolution); ``dropout``: probability; ``delay``: steps; ``subset``:
    ``indices=...`` (level unused); ``dead-sensors``: ``indices=...`` read 0 (level unused); ``actuator-noise``: sigma in action units;
    ``actuator-gain``: sigma of the gain; ``actuator-fault``: ``index=...``,
    ``mode=...`` (level unused).
    """
    allowed = {
        "noise": {"relative"}, "noise-random": {"relative"}, "bias": {"relative"}, "drift": {"relative"}, "quantize": {"relative"},
        "dropout": {"fill", "append_mask"}, "delay": set(), "subset": {"indices"}, "dead-sensors": {"indices"}, "actuator-noise": set(),
        "actuator-gain": {"gains"}, "actuator-fault": {"index", "mode", "value"},
    }
    if name not in allowed:
        raise ValueError(f"perturbation must be one of {PERTURBATIONS}, got {name!r}")
    unknown = set(kwargs) - allowed[name]
    if unknown:
        raise ValueError(f"perturbation {name!r} takes keywords {sorted(allowed[name])}, got unknown {sorted(unknown)}")
    relative = kwargs.pop("relative", True)
    space = env.single_observation_space if isinstance(env, gym.vector.VectorEnv) else env.observation_space
    act_space = env.single_action_space if isinstance(env, gym.vector.VectorEnv) else env.action_space
    if name == "noise":
        return P.GaussianNoise(_sensor_level("level", level, env, relative)), "observation"
    if name == "noise-random":
        return P.RandomisedGaussianNoise(_sensor_level("level", level, env, relative)), "observation"
    if name == "bias":
        return P.ConstantBias(_sensor_level("level", level, env, relative)), "observation"
    if name == "drift":
        return P.RandomWalkDrift(_sensor_level("level", level, env, relative)), "observation"
    if name == "quantize":
        return P.Quantization(_sensor_level("level", level, env, relative)), "observation"
    if name == "dropout":
        return P.Dropout(level, **kwargs), "observation"
    if name == "delay":
        if float(level) != int(level):
            raise ValueError(f"level of 'delay' must be a whole number of steps, got {level!r}")
        return P.Delay(int(level)), "observation"
    if name == "subset":
        return P.Subset(kwargs.get("indices", (0, 2, 4, 6)), space.shape[0]), "observation"
    if name == "dead-sensors":
        return P.DeadSensors(kwargs.get("indices", (1, 3, 5, 7)), space.shape[0]), "observation"
    if name == "actuator-noise":
        return P.GaussianNoise(level), "action"
    if name == "actuator-gain":
        return P.GainError(level, kwargs.get("gains"), n=act_space.shape[0]), "action"
    if name == "actuator-fault":
        return P.StuckActuator(kwargs.get("index", 0), act_space.shape[0], kwargs.get("mode", "dead"), kwargs.get("value")), "action"
    raise ValueError(f"perturbation must be one of {PERTURBATIONS}, got {name!r}")


def perturb_vector_env(env: gym.vector.VectorEnv, name: str, level: float, **kwargs: Any) -> VectorPerturbation:
    """Wrap a vector env with perturbation ``name`` at ``level`` (see :func:`make_perturbation`)."""
    model, target = make_perturbation(name, level, env, **kwargs)
    return VectorPerturbation(env, model, target)
