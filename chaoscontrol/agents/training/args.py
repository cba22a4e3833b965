"""The arguments of a training run (``chaoscontrol train``) and the checks of what they refer to.

:class:`AgentTrainArgs` holds values and checks only them when it is made: it builds no env and reads no file.
:func:`template_env`, :func:`check_anchor` and :func:`check_augmentation` are the checks that need an env or the
resolved hyper-parameters; :func:`~chaoscontrol.agents.training.loop.train_agent` runs them once, before anything is
written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from chaoscontrol.agents.env_stack import parse_wrapper
from chaoscontrol.agents.hyperparams import ALGOS, Hyperparams, load_hyperparams
from chaoscontrol.validation import check_int

OFF_POLICY = ("sac", "td3", "ddpg")
#: The evaluation envs of a run start from env seeds ``seed + EVAL_SEED_OFFSET + e``.
EVAL_SEED_OFFSET = 1_000_000


@dataclass(frozen=True)
class AgentTrainArgs:
    """Arguments of ``chaoscontrol train``."""

    algo: str = "ppo"
    """One of ``ppo``, ``sac``, ``td3``, ``ddpg``."""
    env_id: str = "KS-Control-v0"
    """A registered chaoscontrol env id (``chaoscontrol.envs.registration.ENV_SPECS``)."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keywords of the env (objective, target, sensors, ...)."""
    surrogate: str | None = None
    """Train on this surrogate checkpoint instead of the solver (evaluation stays on the truth); only for ids whose
    entry point takes one (the KS ids)."""
    wrappers: tuple[str, ...] = ()
    """Perturbation specs ``NAME:LEVEL[:{json}]`` applied in training and evaluation (e.g. ``noise:0.1``)."""
    seed: int = 0
    """Seed of the algorithm and of the training envs (evaluation uses seed + 1,000,000)."""
    timesteps: int = 200_000
    """Total env steps (summed over the batched envs)."""
    out: str = "runs/agent"
    """Run folder."""
    config: str | None = None
    """Hyper-parameter YAML (default ``configs/<algo>.yaml``)."""
    hyperparams: dict[str, Any] = field(default_factory=dict)
    """Overrides of single hyper-parameters."""
    max_episode_steps: int = 400
    """Episode length (time limit)."""
    eval_freq: int = 20_000
    """Env steps between evaluations on the truth (0: none)."""
    eval_episodes: int = 8
    """Episodes per evaluation."""
    checkpoint_freq: int = 20_000
    """Env steps between checkpoints."""
    progress: bool = True
    """Show a progress bar."""
    torch_threads: int = 1
    """Threads of torch for the policy and its updates. One by default: the networks are small, and earlier Numba
    kernels in the same process may have raised torch's count to the core count (see
    :mod:`chaoscontrol.surrogates.threads`), which stalls training on a shared machine."""
    numba_threads: int = 1
    """Threads of the batched env's Numba kernel. One by default: next to torch on a small machine, a parallel
    kernel competes with the gradient updates and slows both (measured in docs/performance.md)."""
    symmetry_reduced: bool = False
    """Train on symmetry-reduced observations (:mod:`chaoscontrol.agents.robust_training`); the saved policy is
    evaluated through the same reduction."""
    symmetry_augment: bool = False
    """Store every transition with its symmetric copies in the replay buffer (off-policy algorithms only)."""
    adversarial_eps: float = 0.0
    """Adversarial training: attack radius as a fraction of the sensor unit (KS: the attractor's rms(u)) (0: off)."""
    adversarial_fraction: float = 0.5
    """Adversarial training: probability that an observation is attacked."""
    adversarial_attack: str = "fgsm"
    """Adversarial training: ``fgsm`` or ``pgd`` (L-infinity ball)."""
    residual: str | None = None
    """Residual RL: a baseline spec (``lqg``, ``lqr``...) whose actions are added to the agent's
    (:mod:`chaoscontrol.agents.residual`); the saved policy is evaluated with the same baseline."""
    residual_anchor: bool = False
    """With ``residual``: the agent's mean action is pi(o) - pi(o*), zero at the baseline's rest observation o*
    (:class:`~chaoscontrol.agents.residual.AnchoredResidualPolicy`), so the equilibrium stays a fixed point.
    PPO only, without ``normalize``, gSDE or ``symmetry_reduced``."""
    trust_pickle: bool = False
    """With ``--resume``, allow a checkpoint without its policy files (one written before they existed): SB3's zip
    and pickles are then unpickled, which runs any code they hold. Only for run folders you trust."""
    overwrite: bool = False
    """Start a new run in --out even if it holds one (finished, stopped or another's): the files a run writes there
    are removed first. Without it (or --resume) such a folder is refused."""

    def __post_init__(self) -> None:
        from chaoscontrol.agents.systems import check_agent_env_id, check_surrogate

        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        check_agent_env_id(self.env_id)
        if not isinstance(self.env_kwargs, dict) or not isinstance(self.hyperparams, dict):
            raise ValueError("env_kwargs and hyperparams must be dicts")
        if "surrogate" in self.env_kwargs:
            raise ValueError("give the surrogate with surrogate=... (--surrogate), not in env_kwargs")
        check_surrogate(self.env_id, self.surrogate)
        object.__setattr__(self, "wrappers", tuple(self.wrappers))
        for spec in self.wrappers:
            parse_wrapper(spec)
        check_int("seed", self.seed, minimum=0)
        for name in ("timesteps", "eval_episodes", "checkpoint_freq", "max_episode_steps"):
            check_int(name, getattr(self, name))
        check_int("eval_freq", self.eval_freq, minimum=0)
        check_int("numba_threads", self.numba_threads)
        check_int("torch_threads", self.torch_threads)
        if self.symmetry_augment and self.algo not in OFF_POLICY:
            raise ValueError(f"symmetry_augment needs an off-policy algorithm with a replay buffer {OFF_POLICY}, got {self.algo!r}")
        if not (math.isfinite(self.adversarial_eps) and self.adversarial_eps >= 0):
            raise ValueError(f"adversarial_eps must be finite and >= 0, got {self.adversarial_eps!r}")
        if not 0.0 <= self.adversarial_fraction <= 1.0:
            raise ValueError(f"adversarial_fraction must be in [0, 1], got {self.adversarial_fraction!r}")
        from chaoscontrol.agents.adversarial import ATTACKS

        if self.adversarial_attack not in ATTACKS:
            raise ValueError(f"adversarial_attack must be one of {ATTACKS}, got {self.adversarial_attack!r}")
        if self.residual is not None:
            from chaoscontrol.baselines import parse_baseline

            if parse_baseline(self.residual) is None:
                raise ValueError(f"residual must be a baseline spec (lqr, lqg, mpc[:JSON]), got {self.residual!r}")

    def resolved_hyperparams(self) -> Hyperparams:
        """The hyper-parameters: the YAML config (``configs/<algo>.yaml`` by default) with the overrides.

        :raises ValueError: a missing config, an unknown key or a bad value, naming it.
        """
        return load_hyperparams(self.algo, self.env_id, self.config, self.hyperparams)

    def adversarial(self, env: Any) -> dict[str, Any] | None:
        """Keywords of the training stack's ``VecAdversarialTraining`` (eps in units of u), or None.

        :param env: an env of the run's configuration (:func:`template_env`), whose sensor unit is that of eps.
        """
        if self.adversarial_eps == 0.0:
            return None
        from chaoscontrol.agents.adversarial import attack_radius

        return {"eps": attack_radius(self.adversarial_eps, env),
                "fraction": self.adversarial_fraction, "attack": self.adversarial_attack}


def template_env(args: AgentTrainArgs) -> Any:
    """One env of the run's configuration (``args.env_id`` from its entry point): the checks of ``env_kwargs``, the
    configuration written to ``config.json`` and the symmetry and sensor scale of the run are read from it.

    :raises ValueError: unknown or bad keywords of the env, naming them; a symmetry option on a system without
        the KS symmetry group, naming it.
    """
    from chaoscontrol.agents.systems import build_env, check_ks_symmetry

    env = build_env(args.env_id, args.env_kwargs)
    for flag in ("symmetry_reduced", "symmetry_augment"):
        if getattr(args, flag):
            check_ks_symmetry(env, args.env_id, flag)
    return env


def check_anchor(args: AgentTrainArgs, hp: Hyperparams) -> None:
    """Every reason the anchored residual policy cannot be used with ``args`` and ``hp``, in one error.

    :param args: the run's arguments (``residual_anchor`` set).
    :param hp: its resolved hyper-parameters.
    """
    why = []
    if args.residual is None:
        why.append("it anchors a residual: give residual (--residual lqg)")
    if args.algo != "ppo":
        why.append(f"it is a PPO policy, got algo {args.algo!r}")
    if args.symmetry_reduced:
        why.append("the anchor would have to move with the symmetry frame: drop symmetry_reduced")
    if hp.normalize:
        why.append("the anchor would move with the normalisation statistics: set normalize: false")
    if hp.algo_kwargs.get("policy", "MlpPolicy") != "MlpPolicy":
        why.append(f"it replaces the MLP policy, got policy {hp.algo_kwargs['policy']!r}")
    if hp.algo_kwargs.get("use_sde"):
        why.append("it needs a Gaussian policy without gSDE: set use_sde: false")
    if why:
        raise ValueError("residual_anchor: " + "; ".join(why))


def check_augmentation(args: AgentTrainArgs, symmetry: Any, shape: tuple[int, ...]) -> None:
    """Symmetric copies are valid transitions only for the bare observations and symmetric actuation.

    :param args: the run's arguments (``symmetry_augment`` set).
    :param symmetry: the env's :class:`~chaoscontrol.envs.symmetry.KSSymmetry`.
    :param shape: the observation shape of the training stack.
    """
    if shape != (symmetry.n_obs,):
        raise ValueError(f"symmetry_augment needs the bare observations ({symmetry.n_obs} entries), but the wrappers "
                         f"{list(args.wrappers)} give shape {shape}")
    broken = [w for w in args.wrappers if parse_wrapper(w)[0] in ("actuator-fault", "actuator-gain", "subset", "dead-sensors")]
    if broken or args.residual is not None:
        raise ValueError(f"symmetry_augment: {broken or ['residual']} break the symmetry (the copies would not be "
                         "transitions of the same system)")


__all__ = ["AgentTrainArgs", "EVAL_SEED_OFFSET", "OFF_POLICY", "check_anchor", "check_augmentation", "template_env"]
