"""The one rollout loop of the suite: a policy run on a Gymnasium vector env, recorded step by step.

Every evaluation goes through :func:`rollout`: ``chaoscontrol evaluate``, the robustness harness, the truth
evaluations during training, the basin of attraction of the baselines and ``chaoscontrol simulate``. It needs
only a Gymnasium ``VectorEnv`` and a policy, a callable obs (B, n_obs) -> actions (B, n_act), and works in the
three autoreset modes of Gymnasium:

- ``DISABLED``: each env runs one episode; an env whose episode has ended is still stepped (with the others)
  but its steps are no longer *live*; the loop stops when every episode has ended.
- ``NEXT_STEP``: the step after an episode ends resets that env (its action ignored, reward 0); that step
  belongs to no episode.
- ``SAME_STEP``: an env that ends is reset within the step; the info of its last step is read from
  ``info["final_info"]``.

The result holds (B, T) arrays over the envs and the T steps run, with NaN (or False) where a step belongs to
no episode, so that each caller reduces them as it needs: returns, costs, the final target distance, episode
spans in the order the episodes ended. :data:`SUCCESS_DISTANCE` and :meth:`Rollout.reached_target` define
success on the target objective, for every caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from gymnasium.vector import AutoresetMode

from chaoscontrol.validation import check_int

SUCCESS_DISTANCE = 0.1
"""An episode of the target objective succeeds when its final rms(u - u*) is below this and it did not blow up."""

Policy = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Rollout:
    """What a vector env did under a policy: arrays over the B envs and the T steps run."""

    rewards: np.ndarray
    """(B, T) float64; NaN where the step is not live."""
    live: np.ndarray
    """(B, T) bool: step k of env b belongs to an episode."""
    terminated: np.ndarray
    """(B, T) bool, on live steps only."""
    truncated: np.ndarray
    """(B, T) bool, on live steps only."""
    actions: np.ndarray
    """(B, T, n_act) float64: the actions the policy returned (sent to ``env.step``)."""
    infos: dict[str, np.ndarray] = field(default_factory=dict)
    """(B, T) of each requested info key on live steps (NaN, or False for bool keys, elsewhere)."""
    snapshots: list[Any] = field(default_factory=list)
    """``snapshot()`` after the reset and after every step (T + 1 entries), if a snapshot was asked for."""

    @property
    def steps(self) -> int:
        """T, the vector steps run."""
        return int(self.rewards.shape[1])

    def totals(self, key: str | None = None, skip: str | None = None) -> np.ndarray:
        """Per env (B,), the sum in step order of the rewards (or of info ``key``) over its live steps.

        :param key: a recorded info key, or None for the rewards.
        :param skip: a recorded bool info key (e.g. ``"blowup"``): its steps are left out of the sum.
        """
        values = self.rewards if key is None else self._info(key)
        mask = self.live if skip is None else self.live & ~self._info(skip).astype(bool)
        out = np.zeros(values.shape[0])
        for k in range(values.shape[1]):  # step by step: the same float additions as a running sum
            rows = mask[:, k]
            out[rows] += values[rows, k]
        return out

    def ever(self, key: str) -> np.ndarray:
        """Per env (B,), whether the bool info ``key`` was true on any live step (e.g. ``"blowup"``)."""
        return np.any(self.live & self._info(key).astype(bool), axis=1)

    def final(self, key: str) -> np.ndarray:
        """Per env (B,), info ``key`` at the env's last live step (NaN if it had none)."""
        values = self._info(key)
        out = np.full(values.shape[0], np.nan)
        for b in range(values.shape[0]):
            steps = np.flatnonzero(self.live[b])
            if steps.size:
                out[b] = values[b, steps[-1]]
        return out

    def reached_target(self) -> np.ndarray:
        """Per env (B,), success on the target objective: final ``target_distance`` below :data:`SUCCESS_DISTANCE`,
        no blow-up (needs both info keys recorded)."""
        return (self.final("target_distance") < SUCCESS_DISTANCE) & ~self.ever("blowup")

    def episodes(self) -> list[tuple[int, int, int]]:
        """(env, first step, last step) of every episode that ended, in the order they ended (ties: lower env first)."""
        ends = self.live & (self.terminated | self.truncated)
        start = np.full(self.live.shape[0], -1)
        spans = []
        for k in range(self.steps):
            start[(start < 0) & self.live[:, k]] = k
            for b in np.flatnonzero(ends[:, k]):
                spans.append((int(b), int(start[b]), k))
                start[b] = -1
        return spans

    def _info(self, key: str) -> np.ndarray:
        if key not in self.infos:
            raise ValueError(f"info key {key!r} was not recorded (recorded: {sorted(self.infos)}); pass it in info_keys")
        return self.infos[key]


def _autoreset_mode(env: Any) -> AutoresetMode:
    mode = (getattr(env, "metadata", None) or {}).get("autoreset_mode", AutoresetMode.NEXT_STEP)
    return AutoresetMode(mode)


def _check_arguments(env: Any, policy: Any, max_steps: int | None, episodes: int | None) -> AutoresetMode:
    """The env's autoreset mode, once every argument is checked (ValueError naming it)."""
    space = getattr(env, "single_action_space", None)
    if not hasattr(env, "num_envs") or getattr(space, "shape", None) is None or not hasattr(env, "step"):
        raise ValueError(f"env must be a Gymnasium vector env with a Box action space, got {type(env).__name__}")
    if not callable(policy):
        raise ValueError(f"policy must be a callable obs (B, n_obs) -> actions (B, n_act), got {type(policy).__name__}")
    if max_steps is None and episodes is None:
        raise ValueError("rollout needs max_steps or episodes (or both) to know when to stop, got neither")
    if max_steps is not None:
        check_int("max_steps", max_steps)
    mode = _autoreset_mode(env)
    if episodes is not None:
        check_int("episodes", episodes)
        if mode == AutoresetMode.DISABLED and episodes > env.num_envs:
            raise ValueError(f"episodes must be <= num_envs ({env.num_envs}) when autoreset is disabled, got {episodes}")
    return mode


def _step_info(info: dict[str, Any], key: str, ended: np.ndarray, mode: AutoresetMode) -> np.ndarray:
    """Info ``key`` of this step; for the envs that autoreset within the step, the value of their last step."""
    if key not in info:
        raise ValueError(f"info_keys: the env's step info has no {key!r} (it has {sorted(k for k in info if not k.startswith('_'))})")
    value = np.array(info[key])
    if mode == AutoresetMode.SAME_STEP and ended.any():
        final = info["final_info"][key]
        value[ended] = np.asarray(final)[ended]
    return value


def rollout(
    env: Any,
    policy: Policy,
    max_steps: int | None = None,
    *,
    episodes: int | None = None,
    seed: int | list[int | None] | None = None,
    options: dict[str, Any] | None = None,
    info_keys: Sequence[str] = (),
    snapshot: Callable[[], Any] | None = None,
) -> Rollout:
    """Reset ``env`` and step it with ``policy`` until it is time to stop (module docstring).

    The loop stops after ``max_steps`` steps, once ``episodes`` episodes have ended, or (autoreset disabled) once
    every env's episode has ended, whichever comes first.

    :param env: a Gymnasium vector env (``KSControlVectorEnv`` and its wrappers, or any other).
    :param policy: obs (B, n_obs) -> actions (B, n_act); called once per step with the latest observations.
    :param max_steps: at most this many vector steps (>= 1), or None.
    :param episodes: stop once this many episodes have ended (>= 1), or None.
    :param seed: passed to ``env.reset`` (env i seeded ``seed + i``).
    :param options: passed to ``env.reset`` (e.g. ``{"u0": ...}``).
    :param info_keys: step-info keys to record, (B,) arrays in the info dict (e.g. ``"blowup"``, ``"target_distance"``).
    :param snapshot: called after the reset and after every step; its results are kept in ``snapshots``.
    :raises ValueError: naming the argument: not a vector env, a policy that is not callable, no stopping rule,
        bad counts, actions of the wrong shape, an info key the env does not give.
    """
    mode = _check_arguments(env, policy, max_steps, episodes)
    b, n_act = env.num_envs, int(np.prod(env.single_action_space.shape))
    obs, _ = env.reset(seed=seed, options=options)
    snapshots = [snapshot()] if snapshot is not None else []
    in_episode = np.ones(b, dtype=bool)  # DISABLED: the env's one episode has not ended yet
    resetting = np.zeros(b, dtype=bool)  # NEXT_STEP: this step resets the env
    columns: dict[str, list[np.ndarray]] = {name: [] for name in ("rewards", "live", "terminated", "truncated", "actions")}
    recorded: dict[str, list[np.ndarray]] = {key: [] for key in info_keys}
    ended_count, k = 0, 0
    while max_steps is None or k < max_steps:
        actions = np.asarray(policy(obs), dtype=np.float64)
        if actions.shape != (b, n_act):
            raise ValueError(f"policy must return actions of shape ({b}, {n_act}), got {actions.shape}")
        obs, rewards, terminated, truncated, info = env.step(actions)
        live = in_episode.copy() if mode == AutoresetMode.DISABLED else ~resetting
        ended = live & (np.asarray(terminated) | np.asarray(truncated))
        columns["rewards"].append(np.where(live, np.asarray(rewards, dtype=np.float64), np.nan))
        columns["live"].append(live)
        columns["terminated"].append(live & np.asarray(terminated))
        columns["truncated"].append(live & np.asarray(truncated))
        columns["actions"].append(actions)
        for key in info_keys:
            value = _step_info(info, key, ended, mode)
            recorded[key].append(np.where(live, value, False if value.dtype == bool else np.nan))
        if snapshot is not None:
            snapshots.append(snapshot())
        k += 1
        ended_count += int(ended.sum())
        if mode == AutoresetMode.NEXT_STEP:
            resetting = ended
        in_episode &= ~ended
        if (episodes is not None and ended_count >= episodes) or (mode == AutoresetMode.DISABLED and not in_episode.any()):
            break

    def stacked(values: list[np.ndarray], shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        return np.stack(values, axis=1) if values else np.zeros(shape, dtype=dtype)

    return Rollout(
        rewards=stacked(columns["rewards"], (b, 0), np.float64),
        live=stacked(columns["live"], (b, 0), bool),
        terminated=stacked(columns["terminated"], (b, 0), bool),
        truncated=stacked(columns["truncated"], (b, 0), bool),
        actions=stacked(columns["actions"], (b, 0, n_act), np.float64),
        infos={key: stacked(values, (b, 0), np.float64) for key, values in recorded.items()},
        snapshots=snapshots,
    )


__all__ = ["SUCCESS_DISTANCE", "Rollout", "rollout"]
