"""How far from an equilibrium a local controller still brings KS back: the basin of attraction, measured.

From u0 = u* + delta, delta a random smooth zero-mean field with rms(delta) = r (Fourier amplitudes
decaying as exp(-0.15 m) over the real-Fourier coordinates of
:func:`~chaoscontrol.baselines.linearization.zero_mean_basis`), the controller runs for ``steps``
env steps on the truth; success is rms(u - u*) below
:data:`~chaoscontrol.envs.rollout.SUCCESS_DISTANCE` (0.1) at the end and no blow-up (the success criterion of
``chaoscontrol evaluate``, :meth:`~chaoscontrol.envs.rollout.Rollout.reached_target`). The success rate against r says how near the state must be brought before
LQR or LQG can take over.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from chaoscontrol.envs.rollout import rollout


def smooth_perturbations(n_grid: int, radius: float, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random smooth zero-mean fields on ``n_grid`` points, each with rms exactly ``radius``: (count, N)."""
    from chaoscontrol.baselines.linearization import zero_mean_basis

    basis = zero_mean_basis(n_grid)
    z = rng.standard_normal((count, basis.shape[1])) * np.exp(-0.15 * np.arange(basis.shape[1]))
    fields = z @ basis.T
    return fields * (radius / np.sqrt(np.mean(fields**2, axis=1, keepdims=True)))


def basin_of_attraction(spec: str, env_kwargs: dict[str, Any], radii: Sequence[float], episodes: int = 40,
                        steps: int = 400, seed: int = 0, env_id: str = "KS-Control-v0") -> list[dict[str, float]]:
    """Success rate of controller ``spec`` from u* + delta, rms(delta) = r, for each r in ``radii``.

    :param spec: a baseline spec (``lqr``, ``lqg``...) or ``zero`` (no control, for reference).
    :param env_kwargs: keywords of the env; ``objective="target"`` with its ``target`` (the equilibrium).
    :param radii: rms sizes of the initial perturbations (>= 0).
    :param episodes: initial states per radius (run together).
    :param steps: env steps per episode.
    :param seed: seed of the perturbations (the same fields, rescaled, for every radius).
    :param env_id: a KS id (``KS-Control-v0``, ``KS-L66-Control-v0``...): the perturbations are zero-mean grid fields.
    :return: one dict per radius: ``radius``, ``success_rate``, ``median_final_distance``, ``blowups``.
    """
    from chaoscontrol.baselines import make_baseline
    from chaoscontrol.envs.registration import make_vector_env

    if env_kwargs.get("objective") != "target":
        raise ValueError("the basin is measured for objective='target' (the equilibrium is the env's target)")
    rows = []
    for r in radii:
        if not (np.isfinite(r) and r >= 0):
            raise ValueError(f"radii must be finite and >= 0, got {r!r}")
        venv = make_vector_env(env_id, num_envs=episodes, max_episode_steps=steps, autoreset_mode="Disabled", **env_kwargs)
        u_star = venv.template.target
        u0 = u_star + smooth_perturbations(u_star.size, float(r), episodes, np.random.default_rng(seed))
        act = (lambda o: np.zeros((episodes, venv.single_action_space.shape[0]))) if spec == "zero" else make_baseline(spec, venv)
        run = rollout(venv, act, steps, options={"u0": u0}, info_keys=("blowup", "target_distance"))
        rows.append({"radius": float(r), "success_rate": float(run.reached_target().mean()),
                     "median_final_distance": float(np.median(run.final("target_distance"))),
                     "blowups": int(run.ever("blowup").sum())})
        venv.close()
    return rows


__all__ = ["basin_of_attraction", "smooth_perturbations"]
