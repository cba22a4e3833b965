"""What a training run does every few env steps: checkpoints, evaluations on the truth, the heartbeat, the progress bar."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecNormalize, sync_envs_normalization
from tqdm.auto import tqdm

from chaoscontrol.agents.training.checkpoints import save_checkpoint
from chaoscontrol.agents.training.run_folder import append_evaluation, evaluation_rows, save_best_model
from chaoscontrol.agents.training.args import EVAL_SEED_OFFSET, AgentTrainArgs
from chaoscontrol.agents.training.status import Heartbeat
from chaoscontrol.agents.vec_wrappers import GymnasiumVectorView
from chaoscontrol.envs.rollout import rollout


def _second_half_cost(rewards: np.ndarray) -> float:
    """Mean cost (-reward) over the second half of one episode's rewards."""
    return float(-np.mean(rewards[rewards.shape[0] // 2 :]))


def evaluate_on(model: Any, venv: Any, episodes: int, deterministic: bool = True) -> dict[str, float]:
    """Mean and std of the return and the mean cost over the second half, over ``episodes`` episodes of ``venv``.

    ``venv`` (an SB3 vec env that resets its envs itself) is reset first (its seeds fixed by the caller), so every
    call sees the same initial states; the episodes are the first ``episodes`` to end.

    :param model: the SB3 model.
    :param venv: the evaluation stack.
    :param episodes: how many episodes.
    :param deterministic: deterministic actions.
    """
    run = rollout(GymnasiumVectorView(venv), lambda obs: model.predict(obs, deterministic=deterministic)[0], episodes=episodes)
    rewards = [run.rewards[env, first : last + 1] for env, first, last in run.episodes()[:episodes]]
    # rewards are never normalised (VecNormalize(norm_reward=False))
    returns_a = np.array([float(r.sum()) for r in rewards])
    costs_a = np.array([_second_half_cost(r) for r in rewards])
    return {"mean_return": float(returns_a.mean()), "std_return": float(returns_a.std()),
            "mean_cost_second_half": float(costs_a.mean()), "episodes": episodes}


class RunCallback(BaseCallback):
    """Checkpoints, truth evaluations, the heartbeat and the progress bar of a training run, by env steps.

    The heartbeat (``status.json``) is written at every checkpoint and evaluation, and at least every
    :data:`~chaoscontrol.agents.training.status.HEARTBEAT_INTERVAL_S` seconds.

    :param args: the run's arguments (frequencies, evaluation episodes and seed, total steps).
    :param eval_env: the evaluation stack on the truth.
    :param started: ``time.perf_counter()`` when this session started.
    :param wall_before: wall seconds of the run's earlier sessions.
    :param heartbeat: the writer of ``status.json`` (default: a new one).
    :param run: the run's :func:`~chaoscontrol.agents.policies.saved.run_metadata`, for the saved policies.
    """

    def __init__(self, args: AgentTrainArgs, eval_env: Any, started: float, wall_before: float,
                 heartbeat: Heartbeat | None = None, run: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.args, self.out, self.eval_env = args, Path(args.out), eval_env
        self.started, self.wall_before = started, wall_before
        self.heartbeat = heartbeat if heartbeat is not None else Heartbeat(self.out, wall_before, started)
        self.run = run
        self.bar = None
        self.best = -math.inf
        self.next_ckpt = 0
        self.next_eval = 0

    def _on_training_start(self) -> None:
        args = self.args
        n = self.model.num_timesteps
        self.next_ckpt = (n // args.checkpoint_freq + 1) * args.checkpoint_freq
        self.next_eval = (n // args.eval_freq + 1) * args.eval_freq if args.eval_freq else math.inf
        self.best = max((r["mean_return"] for r in evaluation_rows(self.out)), default=-math.inf)
        self.bar = tqdm(total=args.timesteps, initial=n, desc=f"train {args.algo}", unit="step", disable=not args.progress)

    def _on_step(self) -> bool:
        args = self.args
        n = self.model.num_timesteps
        if self.bar is not None:
            self.bar.update(n - self.bar.n)
        beat = self.heartbeat.due()
        if n >= self.next_ckpt:
            path = save_checkpoint(self.model, self.model.get_env(), self.out / "checkpoints", run=self.run)
            self.heartbeat.beat("running", n, path)
            beat = False
            self.next_ckpt += args.checkpoint_freq * max(1, (n - self.next_ckpt) // args.checkpoint_freq + 1)
        if n >= self.next_eval and n < args.timesteps:  # the final policy is evaluated after its last update
            self.evaluate()
            beat = True
            self.next_eval += args.eval_freq * max(1, (n - self.next_eval) // args.eval_freq + 1)
        if beat:
            self.heartbeat.beat("running", n)
        return True

    def evaluate(self) -> dict[str, float]:
        """Evaluate the policy on the truth now (fixed seeds), log it, and keep it if it is the best so far."""
        args, out, eval_env = self.args, self.out, self.eval_env
        train_env = self.model.get_env()
        if isinstance(train_env, VecNormalize):
            sync_envs_normalization(train_env, eval_env)
        eval_env.seed(args.seed + EVAL_SEED_OFFSET)
        result = evaluate_on(self.model, eval_env, args.eval_episodes)
        result = {"timesteps": int(self.model.num_timesteps), **result,
                  "wall_s": self.wall_before + time.perf_counter() - self.started}
        append_evaluation(out, result)
        self.logger.record("eval/mean_return", result["mean_return"])
        self.logger.record("eval/mean_cost_second_half", result["mean_cost_second_half"])
        if result["mean_return"] > self.best:
            self.best = result["mean_return"]
            save_best_model(self.model, out, train_env, self.run)
        if self.bar is not None:
            self.bar.set_postfix(eval_return=f"{result['mean_return']:.1f}")
        return result

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self.bar.close()


__all__ = ["RunCallback", "evaluate_on"]
