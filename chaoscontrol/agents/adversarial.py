"""Adversarial observation perturbations against a Stable-Baselines3 policy (FGSM and PGD).

Each observation o is replaced by o + delta with ||delta|| <= eps (L-infinity or
L2), delta chosen by gradient steps through the torch policy to maximise an
attack objective J(delta):

- ``"action"`` (deterministic policies, and the mean action of stochastic
  ones; the default for PPO/A2C): J = ||mu(o + delta) - mu(o)||^2, how far the
  perturbation moves the action the agent takes (for a Gaussian policy with
  state-independent std, this is proportional to KL(pi(.|o) || pi(.|o + delta)));
- ``"q"`` (SAC, TD3, DDPG: the default for them): J = -Q(o, mu(o + delta)),
  the critic's value, at the true observation, of the action taken under the
  perturbed one (the attack of Pattanaik et al. 2018, "Robust deep
  reinforcement learning with adversarial attacks");
- ``"value"`` (actor-critic): J = -V(o + delta), the agent's own value estimate
  of the perturbed observation.

FGSM (Goodfellow et al. 2015) takes one step of size eps along sign(grad J)
(L-inf) or grad J / ||grad J|| (L2), from a random start of radius eps/4 (the
gradient of ``"action"`` vanishes at delta = 0; R+FGSM of Tramer et al. 2018).
PGD (Madry et al. 2018) takes ``steps`` projected steps of size
2.5 eps / steps from a random start in the ball. The perturbation is a
:class:`~chaoscontrol.envs.perturbations.Perturbation` model, so it works on
single envs (:class:`AdversarialObservation`) and in batch
(:class:`~chaoscontrol.envs.perturbation_wrappers.VectorPerturbation`,
:class:`~chaoscontrol.agents.vec_wrappers.VecPerturbation`). Observations
are attacked as the policy sees them: wrap the env the policy was trained on
(a ``VecNormalize`` normalisation is not undone here).

The attack radius is a sensor level: a fraction of the system's sensor unit (KS: the attractor's rms(u);
:func:`~chaoscontrol.agents.sensor_levels.sensor_unit`) unless ``relative=False``
(:func:`attack_radius`). :func:`attacked_vector_env` wires an attack on a trained policy into a Gymnasium
vector env, for ``chaoscontrol evaluate`` and the robustness harness.
"""

from __future__ import annotations

from typing import Any, Callable

import gymnasium as gym
import numpy as np
import torch
from gymnasium.utils import RecordConstructorArgs

from chaoscontrol.agents.policies import check_model_spaces, make_policy, policy_frame
from chaoscontrol.envs import perturbations as P
from chaoscontrol.agents.sensor_levels import sensor_unit
from chaoscontrol.envs.perturbation_wrappers import PerturbationWrapper, VectorPerturbation
from chaoscontrol.envs.symmetry import canonical_indices, transform_rows
from chaoscontrol.validation import check_int, check_non_negative

ATTACKS = ("fgsm", "pgd")
NORMS = ("linf", "l2")
OBJECTIVES = ("auto", "action", "q", "value")
#: Keywords of an attack given as a perturbation (``perturbation_kwargs`` of the harness and of ``evaluate``).
ATTACK_KEYWORDS = ("norm", "attack", "objective", "steps", "relative")


def attack_radius(level: float, env: gym.Env | gym.vector.VectorEnv, relative: bool = True) -> float:
    """The attack radius eps in observation units: ``level`` times the sensor unit if ``relative``, else ``level``.

    :param level: the radius as given (>= 0).
    :param env: the env (single, batched or wrapped) whose sensor unit
        (:func:`~chaoscontrol.agents.sensor_levels.sensor_unit`; KS: the attractor's rms(u)) is the unit.
    :param relative: ``level`` is a fraction of the unit (the default of every sensor level).
    """
    return check_non_negative("eps", level) * sensor_unit(env, relative)


def check_attack_keywords(kwargs: dict[str, Any]) -> None:
    """Raise ValueError naming the key if ``kwargs`` has a key outside :data:`ATTACK_KEYWORDS` or a bad choice."""
    unknown = set(kwargs) - set(ATTACK_KEYWORDS)
    if unknown:
        raise ValueError(f"perturbation_kwargs of 'adversarial' has unknown keys {sorted(unknown)}")
    for key, choices in (("norm", NORMS), ("attack", ATTACKS), ("objective", OBJECTIVES)):
        if key in kwargs and kwargs[key] not in choices:
            raise ValueError(f"perturbation_kwargs['{key}'] must be one of {choices}, got {kwargs[key]!r}")


def _policy_parts(model: Any) -> tuple[str, Any]:
    """('actor_critic' | 'actor', policy) of an SB3 model."""
    policy = getattr(model, "policy", model)
    if hasattr(policy, "get_distribution") and hasattr(policy, "predict_values"):
        return "actor_critic", policy
    if hasattr(policy, "actor") and hasattr(policy, "critic"):
        return "actor", policy
    raise ValueError(f"model must be an SB3 algorithm or policy with an actor (got {type(model).__name__})")


class AdversarialPerturbation(P.Perturbation):
    """FGSM/PGD observation attack on an SB3 policy (see the module docstring).

    :param model: SB3 algorithm (PPO, A2C, SAC, TD3, DDPG) or its policy.
    :param eps: radius of the ball, in observation units (>= 0; 0 is the identity).
    :param norm: ``"linf"`` or ``"l2"``.
    :param attack: ``"fgsm"`` or ``"pgd"``.
    :param objective: ``"auto"``, ``"action"``, ``"q"`` or ``"value"``.
    :param steps: PGD iterations.
    :param frame: for a policy trained on symmetry-reduced observations, its symmetry group: the attack is computed
        on the network in the canonical frame of each observation and mapped back (the transforms are signed
        permutations, so the norm of the perturbation is unchanged).
    """

    tag = "adversarial"

    def __init__(
        self, model: Any, eps: float, norm: str = "linf", attack: str = "fgsm", objective: str = "auto", steps: int = 10,
        frame: Any = None,
    ) -> None:
        self.frame = frame
        self.eps = check_non_negative("eps", eps)
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        if attack not in ATTACKS:
            raise ValueError(f"attack must be one of {ATTACKS}, got {attack!r}")
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        check_int("steps", steps)
        self.kind, self.policy = _policy_parts(model)
        if objective == "auto":
            objective = "action" if self.kind == "actor_critic" else "q"
        if objective == "q" and self.kind != "actor":
            raise ValueError("objective 'q' needs an algorithm with a Q critic (SAC, TD3, DDPG)")
        if objective == "value" and self.kind != "actor_critic":
            raise ValueError("objective 'value' needs an actor-critic algorithm with a value function (PPO, A2C)")
        self.norm, self.attack, self.objective, self.steps = norm, attack, objective, steps

    # -- the objective J(o, o + delta), to be maximised, one value per row

    def _action(self, obs: torch.Tensor) -> torch.Tensor:
        if self.kind == "actor_critic":
            return self.policy.get_distribution(obs).distribution.mean
        actor = self.policy.actor
        try:
            return actor(obs, deterministic=True)
        except TypeError:  # TD3/DDPG actors are deterministic
            return actor(obs)

    def objective_value(self, clean: torch.Tensor, perturbed: torch.Tensor, clean_action: torch.Tensor) -> torch.Tensor:
        """J per row (to be maximised by the attack)."""
        if self.objective == "action":
            return ((self._action(perturbed) - clean_action) ** 2).sum(dim=-1)
        if self.objective == "q":
            q = self.policy.critic(clean, self._action(perturbed))
            return -(q[0] if isinstance(q, (tuple, list)) else q).squeeze(-1)
        return -self.policy.predict_values(perturbed).squeeze(-1)

    def _project(self, delta: torch.Tensor) -> torch.Tensor:
        if self.norm == "linf":
            return delta.clamp(-self.eps, self.eps)
        norms = delta.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return delta * torch.clamp(self.eps / norms, max=1.0)

    def _step(self, grad: torch.Tensor, size: float) -> torch.Tensor:
        if self.norm == "linf":
            return size * grad.sign()
        return size * grad / grad.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    def _random_start(self, shape: tuple[int, ...], radius: float, rngs: list) -> torch.Tensor:
        draws = np.stack([rng.uniform(-1.0, 1.0, shape[1]) for rng in rngs])
        if self.norm == "l2":
            draws /= np.maximum(np.linalg.norm(draws, axis=-1, keepdims=True), 1e-12)
            draws *= np.stack([rng.uniform(0.0, 1.0, 1) for rng in rngs])
        return torch.as_tensor(radius * draws, dtype=torch.float32)

    def perturbation(self, obs: np.ndarray, rngs: list) -> np.ndarray:
        """The attack delta (R, n) for observations ``obs`` (R, n)."""
        if self.frame is None:
            return self._perturbation(obs, rngs)
        idx = canonical_indices(self.frame, obs)
        delta = self._perturbation(transform_rows(self.frame, np.asarray(obs), idx, "observation"), rngs)
        return transform_rows(self.frame, delta, idx, "observation", inverse=True)

    def _perturbation(self, obs: np.ndarray, rngs: list) -> np.ndarray:
        clean = torch.as_tensor(np.asarray(obs, dtype=np.float32), device=self.policy.device)
        was_training = self.policy.training
        self.policy.set_training_mode(False)
        try:
            with torch.no_grad():
                clean_action = self._action(clean)
            if self.attack == "fgsm":
                delta = self._random_start(clean.shape, self.eps / 4.0, rngs).to(clean.device)
                steps, size = 1, self.eps
            else:
                delta = self._random_start(clean.shape, self.eps, rngs).to(clean.device)
                steps, size = self.steps, 2.5 * self.eps / self.steps
            delta = self._project(delta)
            for _ in range(steps):
                delta.requires_grad_(True)
                value = self.objective_value(clean, clean + delta, clean_action).sum()
                (grad,) = torch.autograd.grad(value, delta)
                with torch.no_grad():
                    delta = self._project(delta + self._step(grad, size))
        finally:
            self.policy.set_training_mode(was_training)
        return delta.detach().cpu().numpy()

    def _apply(self, x, new, rngs, rows):
        if self.eps == 0.0:
            return x.copy()
        return (x + self.perturbation(x, rngs)).astype(x.dtype)


class AdversarialObservation(PerturbationWrapper, RecordConstructorArgs):
    """Observations attacked within an eps-ball to hurt ``model`` (see :mod:`chaoscontrol.agents.adversarial`).

    :param eps: radius; a fraction of the attractor's rms(u) if ``relative`` (default), else absolute.
    """

    def __init__(
        self,
        env: gym.Env,
        model: Any,
        eps: float = 0.1,
        norm: str = "linf",
        attack: str = "fgsm",
        objective: str = "auto",
        steps: int = 10,
        relative: bool = True,
    ) -> None:
        RecordConstructorArgs.__init__(self, eps=eps, norm=norm, attack=attack, objective=objective, steps=steps, relative=relative)
        check_non_negative("eps", eps)
        check_model_spaces(model, env.observation_space, env.action_space)
        perturbation = AdversarialPerturbation(model, attack_radius(eps, env, relative), norm, attack, objective, steps)
        super().__init__(env, perturbation, "observation")


def attacked_vector_env(
    env: gym.vector.VectorEnv, policy: str, level: float, seed: int, deterministic: bool = True, trust_pickle: bool = False,
    **kwargs: Any,
) -> tuple[VectorPerturbation, Callable[[np.ndarray], np.ndarray]]:
    """``env`` with its observations attacked (FGSM/PGD) against the trained policy ``policy``, and that policy.

    The attack sees the observations as the policy does, in its symmetry frame if it was trained reduced
    (:func:`~chaoscontrol.agents.policies.policy_frame`).

    :param env: the Gymnasium vector env the policy acts on (with the perturbations below the attack).
    :param policy: the path of an SB3 ``.zip``.
    :param level: the attack radius (:func:`attack_radius`).
    :param seed: seed of the policy (:func:`~chaoscontrol.agents.policies.make_policy`).
    :param deterministic: deterministic actions of the policy.
    :param trust_pickle: allow unpickling an SB3 zip without the project's policy files (``--trust-pickle``).
    :param kwargs: :data:`ATTACK_KEYWORDS` (``relative`` for the radius, the others for :class:`AdversarialPerturbation`).
    :return: (the attacked env, act(obs) -> actions of the policy, checked against ``env``).
    """
    check_attack_keywords(kwargs)
    act, model = make_policy(policy, env, seed, deterministic, trust_pickle)
    relative = kwargs.pop("relative", True)
    attack = AdversarialPerturbation(model, attack_radius(level, env, relative), frame=policy_frame(policy), **kwargs)
    return VectorPerturbation(env, attack, "observation"), act


__all__ = [
    "ATTACKS",
    "ATTACK_KEYWORDS",
    "NORMS",
    "OBJECTIVES",
    "AdversarialObservation",
    "AdversarialPerturbation",
    "attack_radius",
    "attacked_vector_env",
    "check_attack_keywords",
]
