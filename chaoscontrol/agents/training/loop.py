"""The training loop: an SB3 agent trained on the batched env of a registered id (truth or surrogate) into its run folder.

:func:`train_agent` checks what the arguments refer to, builds the training stack and the evaluation stack on the
truth, starts a model (or loads the newest readable checkpoint to resume), trains it with the run's callback and
writes the final model, the timing and the status (a heartbeat while it runs); an interruption (Ctrl-C, SIGINT,
SIGTERM) or a crash checkpoints first.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from chaoscontrol.agents.env_stack import find_timer, find_wrapper, make_vec_env
from chaoscontrol.agents.hyperparams import Hyperparams, algorithm_class
from chaoscontrol.agents.training.args import EVAL_SEED_OFFSET, AgentTrainArgs, check_anchor, check_augmentation, template_env
from chaoscontrol.agents.policies.description import describe_policy
from chaoscontrol.agents.policies.saved import run_metadata
from chaoscontrol.agents.training.callback import RunCallback
from chaoscontrol.agents.systems import env_config
from chaoscontrol.agents.training.checkpoints import check_run_folder, load_checkpoint, save_checkpoint
from chaoscontrol.agents.training.run_folder import (
    clear_run_folder,
    evaluation_rows,
    read_timing,
    record_resume,
    save_final_model,
    write_config,
    write_timing,
)
from chaoscontrol.agents.training.signals import stop_signals_as_keyboard_interrupt
from chaoscontrol.agents.training.status import Heartbeat
from chaoscontrol.agents.vec_wrappers import VecAdversarialTraining, VecResidualControl


def train_agent(args: AgentTrainArgs, resume: bool = False) -> Path:
    """Train (or resume) the run of ``args``; returns the final model's path (``OUT/model.zip``).

    The arguments' values were checked when they were made; what they refer to (the hyper-parameter config, the
    env's keywords, the surrogate, the wrappers on the env) is checked here, once, before anything is written.

    :param args: the run's arguments.
    :param resume: continue the run in ``args.out`` from its newest readable checkpoint.
    :raises ValueError: bad input of those (naming it), a new run into a folder that holds a run or other files
        without ``overwrite`` (:func:`~chaoscontrol.agents.training.checkpoints.check_run_folder`), or a
        resume whose arguments differ from the run's (naming the keys), with no readable checkpoint to resume from,
        of a run another process trains now, or from a checkpoint of SB3's pickles without ``trust_pickle``.
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
    from stable_baselines3.common.vec_env import VecNormalize

    from chaoscontrol.envs.symmetry import KSSymmetry

    out = Path(args.out)
    hp = args.resolved_hyperparams()
    if args.residual_anchor:
        check_anchor(args, hp)
    template = template_env(args)
    if args.surrogate is not None and not Path(args.surrogate).is_file():
        raise ValueError(f"surrogate checkpoint {args.surrogate!r} does not exist")
    check_run_folder(args, resume)
    # the stacks are built before anything is written: a surrogate of another configuration or wrappers that do
    # not fit the env fail here
    venv = make_vec_env(args.env_kwargs, hp.n_envs, args.seed, args.wrappers, args.surrogate, args.max_episode_steps, hp.normalize,
                        symmetry_reduced=args.symmetry_reduced, adversarial=args.adversarial(template), residual=args.residual,
                        env_id=args.env_id)
    eval_env = make_vec_env(args.env_kwargs, min(args.eval_episodes, 16), args.seed + EVAL_SEED_OFFSET, args.wrappers, None,
                            args.max_episode_steps, symmetry_reduced=args.symmetry_reduced, residual=args.residual,
                            env_id=args.env_id)
    symmetry = KSSymmetry.from_env(template) if args.symmetry_augment else None
    if symmetry is not None:
        try:
            check_augmentation(args, symmetry, venv.observation_space.shape)
        except ValueError:
            venv.close()
            eval_env.close()
            raise
    if not resume:  # what check_run_folder let a new run replace: --overwrite, or this run's own start
        clear_run_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        write_config(out, args, hp.to_dict(), env_config(template))
    if hp.normalize:
        eval_env = VecNormalize(eval_env, norm_obs=True, norm_reward=False, training=False)
    checkpoint = None
    if resume:
        model, venv, checkpoint = load_checkpoint(args, hp, venv, lambda v: _new_model(args, hp, v, symmetry), args.trust_pickle)
        record_resume(out, args, int(model.num_timesteps))
        timing_before = read_timing(out)  # the run's earlier sessions
    else:
        model = _new_model(args, hp, venv, symmetry)
        timing_before = {"wall_s": 0.0, "env_s": 0.0}
    try:  # a policy the saved files cannot describe fails now, not at the first checkpoint
        describe_policy(model.policy)
    except TypeError as exc:
        raise ValueError(f"the policy cannot be saved as policy files: {exc}") from exc
    adversary = find_wrapper(venv, VecAdversarialTraining)
    if adversary is not None:
        adversary.attach(model)
    started = time.perf_counter()
    run = run_metadata(asdict(args), hp.normalize)
    heartbeat = Heartbeat(out, timing_before["wall_s"], started)
    callback = RunCallback(args, eval_env, started, timing_before["wall_s"], heartbeat=heartbeat, run=run)
    heartbeat.beat("running", int(model.num_timesteps), checkpoint)
    remaining = args.timesteps - int(model.num_timesteps)

    def finish(state: str, checkpoint: Path) -> None:
        wall = timing_before["wall_s"] + time.perf_counter() - started
        write_timing(out, wall, timing_before["env_s"] + find_timer(venv).seconds, int(model.num_timesteps))
        heartbeat.beat(state, int(model.num_timesteps), checkpoint)

    with stop_signals_as_keyboard_interrupt():
        try:
            if remaining > 0:
                model.learn(total_timesteps=remaining, callback=callback, reset_num_timesteps=not resume, tb_log_name="run",
                            progress_bar=False)
        except KeyboardInterrupt:
            finish("interrupted", save_checkpoint(model, venv, out / "checkpoints", run=run))
            raise
        except Exception:
            finish("crashed", save_checkpoint(model, venv, out / "checkpoints", run=run))
            raise
    checkpoint = save_checkpoint(model, venv, out / "checkpoints", run=run)
    last_eval = max((r["timesteps"] for r in evaluation_rows(out)), default=-1)
    if args.eval_freq and remaining > 0 and last_eval < int(model.num_timesteps):
        callback.evaluate()  # the final policy is always evaluated
    path = save_final_model(model, venv, out, run)
    finish("finished", checkpoint)
    venv.close()
    eval_env.close()
    return path


def _new_model(args: AgentTrainArgs, hp: Hyperparams, venv: Any, symmetry: Any) -> Any:
    """A fresh model of the run on its training stack (with the augmented replay buffer or the anchored policy)."""
    extra: dict[str, Any] = {}
    if args.symmetry_augment:
        from chaoscontrol.agents.robust_training import SymmetryAugmentedReplayBuffer

        extra = {"replay_buffer_class": SymmetryAugmentedReplayBuffer, "replay_buffer_kwargs": {"symmetry": symmetry}}
    kwargs = hp.constructor_kwargs(venv.action_space.shape[0])
    if args.residual_anchor:
        from chaoscontrol.agents.residual import AnchoredResidualPolicy, rest_observation

        anchor = rest_observation(find_wrapper(venv, VecResidualControl).controller)
        kwargs["policy"] = AnchoredResidualPolicy
        kwargs["policy_kwargs"] = {**kwargs.get("policy_kwargs", {}), "anchor_obs": [float(x) for x in anchor]}
    cls = algorithm_class(args.algo)
    return cls(env=venv, seed=args.seed, device="cpu", tensorboard_log=str(Path(args.out) / "tb"), verbose=0, **kwargs, **extra)


__all__ = ["train_agent"]
