"""Training of SB3 agents on the batched KS env (truth or surrogate), with evaluation on the truth and resumable runs.

``chaoscontrol train --algo ppo --seed 0 --timesteps 200000 --out runs/ppo`` writes the run folder
(DESIGN section 4):

- ``config.json``: the arguments, the resolved hyper-parameters, the env configuration, the seed, the
  package version and the git hash;
- ``checkpoints/step_<n>.zip`` (and ``replay_<n>.pkl`` for off-policy algorithms, ``vecnormalize_<n>.pkl``
  with ``normalize``), every ``checkpoint_freq`` steps, on Ctrl-C or SIGTERM and on a crash; written
  atomically, the two newest kept;
- ``evaluations.jsonl``: one line per evaluation on the **truth** env (``eval_episodes`` episodes, fixed
  seeds, deterministic actions, the training wrappers): steps, mean and std of the return, mean cost over
  the second half, wall time;
- ``best_model.zip`` (best evaluation so far), ``model.zip`` (final), ``vecnormalize.pkl``;
- ``tb/``: TensorBoard logs; ``timing.json``: wall time, time inside the env, and their ratio;
- ``status.json``: ``running``, ``interrupted``, ``crashed`` or ``finished``, with the step counter.

``--resume`` continues from the newest checkpoint with its replay buffer, normalisation statistics and step
counter, to the (possibly larger) ``timesteps``.
"""

from __future__ import annotations

import json
import math
import re
import signal
import time
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from chaoscontrol.agents.env_stack import find_timer, find_wrapper, make_vec_env, parse_wrapper
from chaoscontrol.agents.hyperparams import ALGOS, Hyperparams, algorithm_class, load_hyperparams
from chaoscontrol.agents.vec_wrappers import GymnasiumVectorView, VecAdversarialTraining, VecResidualControl
from chaoscontrol.envs.rollout import rollout
from chaoscontrol.io import atomic_path, git_hash, write_json_atomic
from chaoscontrol.validation import check_int

#: Args that must agree between a run and its resumption.
RESUME_KEYS = ("algo", "env_id", "env_kwargs", "surrogate", "wrappers", "seed", "config", "hyperparams", "max_episode_steps",
               "symmetry_reduced", "symmetry_augment", "adversarial_eps", "adversarial_fraction", "adversarial_attack", "residual",
               "residual_anchor")
OFF_POLICY = ("sac", "td3", "ddpg")
EVAL_SEED_OFFSET = 1_000_000


@dataclass(frozen=True)
class AgentTrainArgs:
    """Arguments of ``chaoscontrol train``."""

    algo: str = "ppo"
    """One of ``ppo``, ``sac``, ``td3``, ``ddpg``."""
    env_id: str = "KS-Control-v0"
    """A registered chaoscontrol env id."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keywords of the env (objective, target, sensors, ...)."""
    surrogate: str | None = None
    """Train on this surrogate checkpoint instead of the solver (evaluation stays on the truth)."""
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
    """Adversarial training: attack radius as a fraction of the attractor's rms(u) (0: off)."""
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

    def __post_init__(self) -> None:
        from chaoscontrol.envs.registration import ENV_SPECS

        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        if self.env_id not in ENV_SPECS:
            raise ValueError(f"env id must be one of {sorted(ENV_SPECS)}, got {self.env_id!r}")
        if not isinstance(self.env_kwargs, dict) or not isinstance(self.hyperparams, dict):
            raise ValueError("env_kwargs and hyperparams must be dicts")
        if "surrogate" in self.env_kwargs:
            raise ValueError("give the surrogate with surrogate=... (--surrogate), not in env_kwargs")
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

        :param env: an env of the run's configuration (:func:`template_env`), whose rms(u) is the unit of eps.
        """
        if self.adversarial_eps == 0.0:
            return None
        from chaoscontrol.agents.adversarial import attack_radius

        return {"eps": attack_radius(self.adversarial_eps, env),
                "fraction": self.adversarial_fraction, "attack": self.adversarial_attack}


#: Defaults of the arguments, for runs whose config.json predates an argument (it resumes with the default).
_DEFAULTS = {f.name: f.default for f in fields(AgentTrainArgs) if f.default is not MISSING}


def _checkpoints(folder: Path) -> list[int]:
    """Steps of the complete checkpoints (their ``.zip`` exists; it is written last), ascending."""
    steps = []
    for path in folder.glob("step_*.zip"):
        match = re.fullmatch(r"step_(\d+)\.zip", path.name)
        if match:
            steps.append(int(match.group(1)))
    return sorted(steps)


def save_checkpoint(model: Any, venv: Any, folder: Path, keep: int = 2) -> Path:
    """Write replay buffer, normalisation statistics and model (in that order, each atomically) at the model's step."""
    from stable_baselines3.common.vec_env import VecNormalize

    folder.mkdir(parents=True, exist_ok=True)
    n = int(model.num_timesteps)
    if hasattr(model, "replay_buffer") and model.replay_buffer is not None:
        with atomic_path(folder / f"replay_{n}.pkl") as tmp:
            model.save_replay_buffer(tmp)
    if isinstance(venv, VecNormalize):
        with atomic_path(folder / f"vecnormalize_{n}.pkl") as tmp:
            venv.save(tmp)
    with atomic_path(folder / f"step_{n}.zip") as tmp:
        model.save(tmp)
    for old in _checkpoints(folder)[:-keep]:
        for name in (f"step_{old}.zip", f"replay_{old}.pkl", f"vecnormalize_{old}.pkl"):
            (folder / name).unlink(missing_ok=True)
    return folder / f"step_{n}.zip"


def has_checkpoint(out: str | Path) -> bool:
    """Whether the run folder ``out`` has a complete checkpoint to ``--resume`` from."""
    return bool(_checkpoints(Path(out) / "checkpoints"))


def run_status(out: str | Path) -> str | None:
    """``running``, ``interrupted``, ``crashed`` or ``finished`` from ``out/status.json``; None if never started."""
    path = Path(out) / "status.json"
    return json.loads(path.read_text())["state"] if path.exists() else None


def _evaluation_rows(out: Path) -> list[dict[str, Any]]:
    """The lines of ``out/evaluations.jsonl`` (none if it does not exist)."""
    path = out / "evaluations.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def _second_half_cost(rewards: np.ndarray) -> float:
    return float(-np.mean(rewards[rewards.shape[0] // 2 :]))


def evaluate_on(model: Any, venv: Any, episodes: int, deterministic: bool = True) -> dict[str, float]:
    """Mean and std of the return and the mean cost over the second half, over ``episodes`` episodes of ``venv``.

    ``venv`` (an SB3 vec env that resets its envs itself) is reset first (its seeds fixed by the caller), so every
    call sees the same initial states; the episodes are the first ``episodes`` to end.
    """
    run = rollout(GymnasiumVectorView(venv), lambda obs: model.predict(obs, deterministic=deterministic)[0], episodes=episodes)
    rewards = [run.rewards[env, first : last + 1] for env, first, last in run.episodes()[:episodes]]
    # rewards are never normalised (VecNormalize(norm_reward=False))
    returns_a = np.array([float(r.sum()) for r in rewards])
    costs_a = np.array([_second_half_cost(r) for r in rewards])
    return {"mean_return": float(returns_a.mean()), "std_return": float(returns_a.std()),
            "mean_cost_second_half": float(costs_a.mean()), "episodes": episodes}


def _callbacks(args: AgentTrainArgs, out: Path, eval_env: Any, started: float, wall_before: float):
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import VecNormalize, sync_envs_normalization
    from tqdm.auto import tqdm

    class RunCallback(BaseCallback):
        """Checkpoints, truth evaluations and the progress bar, by env steps."""

        def __init__(self) -> None:
            super().__init__()
            self.bar = None
            self.best = -math.inf
            self.next_ckpt = 0
            self.next_eval = 0

        def _on_training_start(self) -> None:
            n = self.model.num_timesteps
            self.next_ckpt = (n // args.checkpoint_freq + 1) * args.checkpoint_freq
            self.next_eval = (n // args.eval_freq + 1) * args.eval_freq if args.eval_freq else math.inf
            self.best = max((r["mean_return"] for r in _evaluation_rows(out)), default=-math.inf)
            self.bar = tqdm(total=args.timesteps, initial=n, desc=f"train {args.algo}", unit="step", disable=not args.progress)

        def _on_step(self) -> bool:
            n = self.model.num_timesteps
            if self.bar is not None:
                self.bar.update(n - self.bar.n)
            if n >= self.next_ckpt:
                save_checkpoint(self.model, self.model.get_env(), out / "checkpoints")
                self.next_ckpt += args.checkpoint_freq * max(1, (n - self.next_ckpt) // args.checkpoint_freq + 1)
            if n >= self.next_eval and n < args.timesteps:  # the final policy is evaluated after its last update
                self.evaluate()
                self.next_eval += args.eval_freq * max(1, (n - self.next_eval) // args.eval_freq + 1)
            return True

        def evaluate(self) -> dict[str, float]:
            train_env = self.model.get_env()
            if isinstance(train_env, VecNormalize):
                sync_envs_normalization(train_env, eval_env)
            eval_env.seed(args.seed + EVAL_SEED_OFFSET)
            result = evaluate_on(self.model, eval_env, args.eval_episodes)
            result = {"timesteps": int(self.model.num_timesteps), **result,
                      "wall_s": wall_before + time.perf_counter() - started}
            with open(out / "evaluations.jsonl", "a") as fh:
                fh.write(json.dumps(result) + "\n")
            self.logger.record("eval/mean_return", result["mean_return"])
            self.logger.record("eval/mean_cost_second_half", result["mean_cost_second_half"])
            if result["mean_return"] > self.best:
                self.best = result["mean_return"]
                with atomic_path(out / "best_model.zip") as tmp:
                    self.model.save(tmp)
            if self.bar is not None:
                self.bar.set_postfix(eval_return=f"{result['mean_return']:.1f}")
            return result

        def _on_training_end(self) -> None:
            if self.bar is not None:
                self.bar.close()

    return RunCallback()


def _status(out: Path, state: str, steps: int, **extra: Any) -> None:
    write_json_atomic(out / "status.json", {"state": state, "timesteps": steps, **extra})


def template_env(args: AgentTrainArgs) -> Any:
    """One env of the run's configuration: the checks of ``env_kwargs``, the configuration written to ``config.json``
    and the symmetry and sensor scale of the run are read from it.

    :raises ValueError: unknown or bad keywords of the env, naming them.
    """
    from chaoscontrol.envs.ks_control import KSControlEnv

    try:
        return KSControlEnv(**args.env_kwargs)
    except TypeError as exc:
        raise ValueError(f"env_kwargs: {exc}") from exc


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


def train_agent(args: AgentTrainArgs, resume: bool = False) -> Path:
    """Train (or resume) the run of ``args``; returns the final model's path (``OUT/model.zip``).

    The arguments' values were checked when they were made; what they refer to (the hyper-parameter config, the
    env's keywords, the surrogate, the wrappers on the env) is checked here, once, before anything is written.

    :raises ValueError: bad input of those (naming it), a new run into a folder that already has checkpoints, or a
        resume whose arguments differ from the run's (naming the keys), or with no checkpoint to resume from.
    """
    import numba
    import torch

    numba.set_num_threads(min(args.numba_threads, numba.config.NUMBA_NUM_THREADS))
    torch_threads_before = torch.get_num_threads()
    torch.set_num_threads(args.torch_threads)
    try:
        return _train(args, resume)
    finally:
        torch.set_num_threads(torch_threads_before)


def _train(args: AgentTrainArgs, resume: bool) -> Path:
    import torch
    from stable_baselines3.common.vec_env import VecNormalize

    from chaoscontrol import __version__
    from chaoscontrol.envs.symmetry import KSSymmetry

    out = Path(args.out)
    ckpt_dir = out / "checkpoints"
    hp = args.resolved_hyperparams()
    if args.residual_anchor:
        check_anchor(args, hp)
    template = template_env(args)
    if args.surrogate is not None and not Path(args.surrogate).is_file():
        raise ValueError(f"surrogate checkpoint {args.surrogate!r} does not exist")
    cls = algorithm_class(args.algo)
    if resume:
        if not (out / "config.json").is_file():
            raise ValueError(f"cannot resume: {str(out / 'config.json')!r} does not exist")
        previous = json.loads((out / "config.json").read_text())["args"]
        now = json.loads(json.dumps(asdict(args)))
        diffs = [k for k in RESUME_KEYS if previous.get(k, _DEFAULTS.get(k)) != now.get(k)]
        if diffs:
            raise ValueError(f"cannot resume {str(out)!r} with other arguments: {diffs} differ")
        if not _checkpoints(ckpt_dir):
            raise ValueError(f"cannot resume: no checkpoint in {str(ckpt_dir)!r}")
    elif _checkpoints(ckpt_dir) or (out / "model.zip").exists():
        raise ValueError(f"{str(out)!r} already holds a run; pass --resume to continue it or choose another --out")
    # the stacks are built before anything is written: a surrogate of another configuration or wrappers that do
    # not fit the env fail here
    venv = make_vec_env(args.env_kwargs, hp.n_envs, args.seed, args.wrappers, args.surrogate, args.max_episode_steps, hp.normalize,
                        symmetry_reduced=args.symmetry_reduced, adversarial=args.adversarial(template), residual=args.residual)
    eval_env = make_vec_env(args.env_kwargs, min(args.eval_episodes, 16), args.seed + EVAL_SEED_OFFSET, args.wrappers, None,
                            args.max_episode_steps, symmetry_reduced=args.symmetry_reduced, residual=args.residual)
    symmetry = KSSymmetry.from_env(template) if args.symmetry_augment else None
    if symmetry is not None:
        try:
            check_augmentation(args, symmetry, venv.observation_space.shape)
        except ValueError:
            venv.close()
            eval_env.close()
            raise
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        write_json_atomic(out / "config.json", {
            "args": asdict(args), "hyperparams": hp.to_dict(), "env_config": template.config_dict(), "seed": args.seed,
            "package_version": __version__, "git_hash": git_hash(), "torch_threads": torch.get_num_threads(),
        })
    if hp.normalize:
        eval_env = VecNormalize(eval_env, norm_obs=True, norm_reward=False, training=False)
    n_actions = venv.action_space.shape[0]
    timing_before = {"wall_s": 0.0, "env_s": 0.0}  # earlier sessions of a resumed run
    if resume:
        n = _checkpoints(ckpt_dir)[-1]
        venv.seed(args.seed + n)  # fresh episodes, not the first ones again
        if hp.normalize:
            venv = VecNormalize.load(str(ckpt_dir / f"vecnormalize_{n}.pkl"), venv.venv)
        model = cls.load(ckpt_dir / f"step_{n}.zip", env=venv, device="cpu", tensorboard_log=str(out / "tb"),
                         **({"action_noise": hp.constructor_kwargs(n_actions)["action_noise"]} if hp.action_noise else {}))
        if (ckpt_dir / f"replay_{n}.pkl").exists():
            model.load_replay_buffer(ckpt_dir / f"replay_{n}.pkl")
        if (out / "timing.json").exists():
            timing_before.update(json.loads((out / "timing.json").read_text()))
    else:
        extra: dict[str, Any] = {}
        if args.symmetry_augment:
            from chaoscontrol.agents.robust_training import SymmetryAugmentedReplayBuffer

            extra = {"replay_buffer_class": SymmetryAugmentedReplayBuffer, "replay_buffer_kwargs": {"symmetry": symmetry}}
        kwargs = hp.constructor_kwargs(n_actions)
        if args.residual_anchor:
            from chaoscontrol.agents.residual import AnchoredResidualPolicy, rest_observation

            anchor = rest_observation(find_wrapper(venv, VecResidualControl).controller)
            kwargs["policy"] = AnchoredResidualPolicy
            kwargs["policy_kwargs"] = {**kwargs.get("policy_kwargs", {}), "anchor_obs": [float(x) for x in anchor]}
        model = cls(env=venv, seed=args.seed, device="cpu", tensorboard_log=str(out / "tb"), verbose=0, **kwargs, **extra)
    adversary = find_wrapper(venv, VecAdversarialTraining)
    if adversary is not None:
        adversary.attach(model)
    started = time.perf_counter()
    callback = _callbacks(args, out, eval_env, started, timing_before["wall_s"])
    _status(out, "running", int(model.num_timesteps))
    remaining = args.timesteps - int(model.num_timesteps)

    def finish(state: str) -> None:
        wall = timing_before["wall_s"] + time.perf_counter() - started
        env_total = timing_before["env_s"] + find_timer(venv).seconds
        write_json_atomic(out / "timing.json", {"wall_s": wall, "env_s": env_total, "env_fraction": env_total / wall if wall else None,
                                                "timesteps": int(model.num_timesteps)})
        _status(out, state, int(model.num_timesteps))

    previous_handler = _sigterm_as_interrupt()
    try:
        if remaining > 0:
            model.learn(total_timesteps=remaining, callback=callback, reset_num_timesteps=not resume, tb_log_name="run",
                        progress_bar=False)
    except KeyboardInterrupt:
        save_checkpoint(model, venv, ckpt_dir)
        finish("interrupted")
        raise
    except Exception:
        save_checkpoint(model, venv, ckpt_dir)
        finish("crashed")
        raise
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    save_checkpoint(model, venv, ckpt_dir)
    last_eval = max((r["timesteps"] for r in _evaluation_rows(out)), default=-1)
    if args.eval_freq and remaining > 0 and last_eval < int(model.num_timesteps):
        callback.evaluate()  # the final policy is always evaluated
    with atomic_path(out / "model.zip") as tmp:
        model.save(tmp)
    if isinstance(venv, VecNormalize):
        with atomic_path(out / "vecnormalize.pkl") as tmp:
            venv.save(tmp)
    finish("finished")
    venv.close()
    eval_env.close()
    return out / "model.zip"


def _sigterm_as_interrupt():
    """Make SIGTERM (a scheduler's or ``kill``'s stop) raise KeyboardInterrupt, so it checkpoints like Ctrl-C.

    Returns the previous handler (None when not in the main thread, where signals cannot be set).
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    return signal.signal(signal.SIGTERM, handler)


__all__ = ["AgentTrainArgs", "evaluate_on", "has_checkpoint", "run_status", "save_checkpoint", "train_agent"]
