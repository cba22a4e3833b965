"""The LQR/LQG baselines on every registered system: the table of docs/baselines.md ("Every system").

For each id: the baseline's target, |largest eigenvalue| of the open-loop map linearised about it, the
closed-loop spectral radii (LQR: A - BK; LQG's estimator: A - AMC), and measured runs on the nonlinear env
(batched, ``--episodes`` envs, ``--steps`` env steps):

- "near": from u* + delta, delta in the model's kept directions with rms(delta) = ``--radius`` * max(1, rms(u*));
- "random": from the env's own random initial states (on the attractor).

An episode holds the target when no blow-up occurred and its final distance to the target is below
SUCCESS_DISTANCE (0.1) rms; the distance to a relative equilibrium is the minimum over its phase. LQR runs
with the full state observed (``observe="full"`` where the env has that keyword), LQG with the default sensors.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/baseline_table.py            # all ids, prints the markdown table
    OMP_NUM_THREADS=1 .venv/bin/python scripts/baseline_table.py --ids Lorenz63-Control-v0 --episodes 4
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import chaoscontrol  # noqa: F401 - registers the envs
from chaoscontrol.baselines import make_baseline
from chaoscontrol.baselines.phase_frame import best_rotation, rotate_halves
from chaoscontrol.envs.registration import ENV_SPECS, make_vector_env
from chaoscontrol.envs.rollout import SUCCESS_DISTANCE


#: What each id's default target is (for the table only: the library resolves it, chaoscontrol.baselines.set_points).
TARGET_LABELS = {
    "KS-Control-v0": "E1 (dissipation objective's default)",
    "KS-L66-Control-v0": "E1 (dissipation objective's default)",
    "KS-L100-Control-v0": "E1 (dissipation objective's default)",
    "CGLE-Control-v0": "uniform oscillation (relative equilibrium)",
    "Lorenz63-Control-v0": "C+ (the env's target)",
    "Lorenz96-Control-v0": "x_i = F (variance objective's default)",
}


def distance(model, fields: np.ndarray) -> np.ndarray:
    """rms(u - u*) of flattened fields (B, n), minimised over the phase for a relative equilibrium."""
    u = fields.reshape(fields.shape[0], -1)
    if model.frame is not None:
        u = np.stack([rotate_halves(row, -best_rotation(model.u_star, row)) for row in u])
    return np.sqrt(np.mean((u - model.u_star) ** 2, axis=1))


def run(venv, ctrl, steps: int, u0: np.ndarray | None, seed: int) -> tuple[float, float]:
    """(fraction held, median final distance) of one batched run."""
    obs, _ = venv.reset(seed=seed, options=None if u0 is None else {"u0": u0})
    blown = np.zeros(venv.num_envs, dtype=bool)
    for _ in range(steps):
        obs, _, terminated, _, info = venv.step(ctrl(obs))
        blown |= np.asarray(info["blowup"], dtype=bool)
    d = distance(ctrl.model, venv.unwrapped.u)
    return float(np.mean((d < SUCCESS_DISTANCE) & ~blown)), float(np.median(d))


def row(env_id: str, episodes: int, steps: int, radius: float, seed: int) -> dict:
    """The measured row of ``env_id``."""
    t0 = time.time()
    out = {"id": env_id}
    kinds = {"lqr": {"observe": "full"}, "lqg": {}}
    for spec, kw in kinds.items():
        try:
            venv = make_vector_env(env_id, num_envs=episodes, autoreset_mode="Disabled", max_episode_steps=steps + 1, **kw)
        except ValueError:  # no 'observe' keyword: the default observation
            venv = make_vector_env(env_id, num_envs=episodes, autoreset_mode="Disabled", max_episode_steps=steps + 1)
        try:
            ctrl = make_baseline(spec, venv)
        except ValueError as exc:
            out[spec] = f"refused: {str(exc).split(':')[0]}"
            continue
        m = ctrl.model
        out["target"] = TARGET_LABELS.get(env_id, f"rms(u*) = {np.sqrt(np.mean(m.u_star ** 2)):.3g}")
        out["n"] = m.A.shape[0]
        out["open"] = float(np.abs(m.eigenvalues()[0]))
        out["unstable"] = int(np.sum(np.abs(m.eigenvalues()) > 1.0 + 1e-9))
        out[f"{spec}_closed"] = ctrl.design.closed_loop_radius if spec == "lqr" else ctrl.estimator_radius
        rng = np.random.default_rng(seed)
        xi = rng.standard_normal((episodes, m.basis.shape[1]))
        delta = xi @ m.basis.T
        scale = radius * max(1.0, float(np.sqrt(np.mean(m.u_star ** 2))))
        delta *= scale / np.sqrt(np.mean(delta**2, axis=1, keepdims=True))
        shape = venv.unwrapped.dynamics.field_shape
        near = run(venv, ctrl, steps, (m.u_star + delta).reshape(episodes, *shape), seed)
        if hasattr(ctrl, "reset"):
            ctrl.reset()
        rand = run(venv, ctrl, steps, None, seed)
        out[spec] = f"near {near[0]:.0%} (median {near[1]:.1e}), random {rand[0]:.0%} (median {rand[1]:.2g})"
        venv.close()
    out["seconds"] = time.time() - t0
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ids", nargs="*", default=sorted(ENV_SPECS), help="registered ids (default: all)")
    p.add_argument("--episodes", type=int, default=8, help="envs per run")
    p.add_argument("--steps", type=int, default=200, help="env steps per run")
    p.add_argument("--radius", type=float, default=0.01, help="relative rms of the 'near' perturbations")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    print("| system | target | n | unstable modes | max abs eig, open loop | LQR closed-loop radius | LQG estimator radius "
          f"| LQR holds (near / random, {a.steps} steps) | LQG holds (near / random) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for env_id in a.ids:
        r = row(env_id, a.episodes, a.steps, a.radius, a.seed)
        f = lambda k: f"{r[k]:.4f}" if isinstance(r.get(k), float) else "-"
        print(f"| {env_id} | {r.get('target', '-')} | {r.get('n', '-')} | {r.get('unstable', '-')} | {f('open')} | {f('lqr_closed')} "
              f"| {f('lqg_closed')} | {r.get('lqr', '-')} | {r.get('lqg', '-')} |", flush=True)


if __name__ == "__main__":
    main()
