"""Where the training time goes: env, policy inference while collecting, gradient updates, the rest.

    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/profile_training.py --algo ppo --timesteps 100000
    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/profile_training.py --algo sac --timesteps 20000

Trains with the hyper-parameters of ``configs/<algo>.yaml`` on the batched truth env (the same stack as
``chaoscontrol train``, without evaluations or checkpoints) and times, by wrapping the algorithm's methods:
the env (``VecTimer``: reset and step of the batched Numba env and its wrappers), rollout collection
(``collect_rollouts``: env + policy inference + buffer), the gradient updates (``train``), and the total.
Prints a table and, with ``--json``, writes the figures, with the machine information of benchmarks/_common.py,
to a file. The results go into docs/performance.md. One training run is one sample: there are no repeats.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from _common import json_payload, load_average, machine_info, write_json  # benchmarks/_common.py (the script's folder)


def profile(algo: str, timesteps: int, seed: int = 0, surrogate: str | None = None, env_kwargs: dict | None = None) -> dict[str, float]:
    """Seconds spent per part of ``algo``'s training for ``timesteps`` env steps."""
    import torch

    from chaoscontrol.agents.env_stack import find_timer, make_vec_env
    from chaoscontrol.agents.hyperparams import algorithm_class, load_hyperparams

    hp = load_hyperparams(algo, "KS-Control-v0")
    venv = make_vec_env(dict(env_kwargs or {}), hp.n_envs, seed, (), surrogate, 400, hp.normalize)
    model = algorithm_class(algo)(env=venv, seed=seed, device="cpu", verbose=0, **hp.constructor_kwargs(venv.action_space.shape[0]))
    spent = {"collect": 0.0, "train": 0.0}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            spent[name] += time.perf_counter() - t0
            return out
        return wrapper

    model.collect_rollouts = timed("collect", model.collect_rollouts)
    model.train = timed("train", model.train)
    t0 = time.perf_counter()
    model.learn(total_timesteps=timesteps)
    total = time.perf_counter() - t0
    env = find_timer(venv).seconds
    return {
        "algo": algo, "timesteps": int(model.num_timesteps), "n_envs": hp.n_envs, "torch_threads": torch.get_num_threads(),
        "total_s": total, "env_s": env, "collect_minus_env_s": spent["collect"] - env, "train_s": spent["train"],
        "other_s": total - spent["collect"] - spent["train"], "steps_per_s": model.num_timesteps / total,
        "env_fraction": env / total,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--algo", default="ppo")
    p.add_argument("--timesteps", type=int, default=100_000)
    p.add_argument("--surrogate", default=None, help="profile training on this surrogate checkpoint")
    p.add_argument("--burn-in", type=float, default=None, help="the env's burn-in per reset (default: the env's, 100)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    ns = p.parse_args(argv)
    started = dt.datetime.now(dt.timezone.utc)
    load_before = load_average()
    r = profile(ns.algo, ns.timesteps, surrogate=ns.surrogate, env_kwargs=None if ns.burn_in is None else {"burn_in": ns.burn_in})
    print(f"{r['algo']}: {r['timesteps']:,} steps in {r['total_s']:.1f} s ({r['steps_per_s']:,.0f} steps/s, {r['n_envs']} envs, "
          f"{r['torch_threads']} torch threads)")
    for key, label in (("env_s", "env (Numba kernel + wrappers)"), ("collect_minus_env_s", "policy inference + buffers"),
                       ("train_s", "gradient updates"), ("other_s", "other")):
        print(f"  {label:32s} {r[key]:8.1f} s  {100 * r[key] / r['total_s']:5.1f} %")
    if ns.json:
        write_json(ns.json, json_payload(started, argv, machine_info(load_before), r))


if __name__ == "__main__":
    main()
