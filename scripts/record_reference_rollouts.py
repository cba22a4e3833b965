"""Record reference rollouts of the KS envs, for the bit-for-bit regression test.

The file ``tests/reference/reference_rollouts.npz`` was written by this script on the
commit before the env core was redesigned over pluggable dynamics (issue 15);
``tests/envs/test_reference_rollouts.py`` replays the same seeds and actions and
requires identical observations, rewards, flags, info values and full states.

    .venv/bin/python scripts/record_reference_rollouts.py tests/reference/reference_rollouts.npz

Rerun it only to extend the scenarios, never to paper over a changed trajectory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

import chaoscontrol  # noqa: F401  (registers the envs)

#: name -> (env kwargs, number of steps). Short burn-ins keep the test fast; the
#: off-grid sensors take the Fourier-interpolation path.
SCENARIOS: dict[str, tuple[dict, int]] = {
    "dissipation": ({"burn_in": 20.0}, 60),
    "target_E1_full": ({"burn_in": 20.0, "objective": "target", "target": "E1", "observe": "full"}, 60),
    "offgrid_sensors": ({"burn_in": 10.0, "sensors": [0.3, 5.1, 9.9, 17.2], "actuators": 3}, 40),
    "blowup": ({"burn_in": 10.0, "max_forcing": 50.0, "blowup_threshold": 12.0}, 40),
}
INFO_KEYS = ("t", "energy", "production", "dissipation", "power", "target_distance")
VEC_ENVS = 3
VEC_STEPS = 45  # past the 40-step time limit below, so the autoreset is in the record


def single_rollout(kwargs: dict, steps: int, seed: int) -> dict[str, np.ndarray]:
    """One episode of ``gym.make("KS-Control-v0", **kwargs)`` under seeded random actions."""
    env = gym.make("KS-Control-v0", **kwargs)
    obs, info = env.reset(seed=seed)
    n_act = env.action_space.shape[0]
    actions = np.random.default_rng(seed + 1).uniform(-1.3, 1.3, (steps, n_act)).astype(np.float32)
    rec: dict[str, list] = {"obs": [obs], "u": [env.unwrapped.u], "reward": [], "terminated": [], "truncated": []}
    rec.update({f"info_{k}": [info.get(k, np.nan)] for k in INFO_KEYS})
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        rec["obs"].append(obs)
        rec["u"].append(env.unwrapped.u)
        rec["reward"].append(reward)
        rec["terminated"].append(terminated)
        rec["truncated"].append(truncated)
        for k in INFO_KEYS:
            rec[f"info_{k}"].append(info.get(k, np.nan))
        if terminated or truncated:
            break
    out = {k: np.array(v) for k, v in rec.items()}
    out["actions"] = actions
    return out


def vector_rollout(kwargs: dict, seed: int) -> dict[str, np.ndarray]:
    """``gym.make_vec(..., vector_entry_point)`` with a 40-step limit, through one autoreset."""
    env = gym.make_vec(
        "KS-Control-v0", num_envs=VEC_ENVS, vectorization_mode="vector_entry_point", max_episode_steps=40, **kwargs
    )
    obs, info = env.reset(seed=seed)
    n_act = env.single_action_space.shape[0]
    actions = np.random.default_rng(seed + 7).uniform(-1.3, 1.3, (VEC_STEPS, VEC_ENVS, n_act))
    rec: dict[str, list] = {"obs": [obs], "u": [env.unwrapped.u], "reward": [], "terminated": [], "truncated": []}
    rec.update({f"info_{k}": [info[k]] for k in INFO_KEYS if k in info})
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        rec["obs"].append(obs)
        rec["u"].append(env.unwrapped.u)
        rec["reward"].append(reward)
        rec["terminated"].append(terminated)
        rec["truncated"].append(truncated)
        for k in INFO_KEYS:
            if k in info:
                rec[f"info_{k}"].append(info[k])
    out = {k: np.array(v) for k, v in rec.items()}
    out["actions"] = actions
    return out


def record() -> dict[str, np.ndarray]:
    """Every scenario, single and batched, as flat ``scenario/mode/key`` arrays."""
    arrays: dict[str, np.ndarray] = {}
    for i, (name, (kwargs, steps)) in enumerate(SCENARIOS.items()):
        for key, value in single_rollout(kwargs, steps, seed=100 + i).items():
            arrays[f"{name}/single/{key}"] = value
        for key, value in vector_rollout(kwargs, seed=200 + i).items():
            arrays[f"{name}/vector/{key}"] = value
    return arrays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    arrays = record()
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({len(arrays)} arrays)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
