"""The large-domain KS registrations, KS-L66-Control-v0 and KS-L100-Control-v0 (docs/systems.md).

They are KS-Control-v0 with other defaults: the registered ``kwargs`` resolve as documented,
user keywords override them (single and batched envs), a seeded rollout is finite and equal bit
for bit between single envs and one batched env, and the target objective takes the copies of
the L = 22 equilibria as arrays and by name (``target="E1"``: c cells of the L = 22 E1,
``chaoscontrol.solvers.equilibria.ks_equilibrium``), a name that does not exist at some L
being a ValueError naming ``target`` and the names available. The generic env contract over
all ids is tests/envs/test_env_contract.py.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import chaoscontrol  # noqa: F401  (registers the envs)
from chaoscontrol.envs.registration import ENV_SPECS
from chaoscontrol.solvers.equilibria import ks_equilibrium
from chaoscontrol.solvers.ks_tiled_equilibria import tiled_equilibrium

#: The documented defaults: (L, N, actuators, sensors, burn_in).
DEFAULTS = {
    "KS-L66-Control-v0": (66.0, 128, 12, 24, 100.0),
    "KS-L100-Control-v0": (100.0, 256, 18, 36, 200.0),
}
FAST = {"burn_in": 2.0}


@pytest.mark.parametrize("env_id", sorted(DEFAULTS))
def test_registered_defaults_resolve_as_documented(env_id):
    L, N, n_act, n_sens, burn_in = DEFAULTS[env_id]
    env = gym.make(env_id)
    base = env.unwrapped
    cfg = base.config_dict()
    assert (cfg["L"], cfg["N"], cfg["burn_in"], cfg["dt"], cfg["frame_skip"]) == (L, N, burn_in, 0.05, 5)
    np.testing.assert_allclose(cfg["actuators"], (2 * np.arange(n_act) + 1) * L / (2 * n_act))
    np.testing.assert_allclose(cfg["sensors"], np.arange(n_sens) * L / n_sens)
    assert (cfg["actuator_width"], cfg["max_forcing"], cfg["objective"]) == (0.4, 0.5, "dissipation")
    assert env.action_space.shape == (n_act,) and env.observation_space.shape == (n_sens,)
    assert env.spec.max_episode_steps == 400 and ENV_SPECS[env_id]["max_episode_steps"] == 400
    assert env.spec.entry_point == ENV_SPECS["KS-Control-v0"]["entry_point"]
    assert env.spec.vector_entry_point == ENV_SPECS["KS-Control-v0"]["vector_entry_point"]


@pytest.mark.parametrize("env_id", sorted(DEFAULTS))
def test_user_keywords_override_the_registered_defaults(env_id):
    override = {"L": 44.0, "N": 96, "actuators": 3, "sensors": 5, "burn_in": 1.0, "observe": "full"}
    cfg = gym.make(env_id, **override).unwrapped.config_dict()
    assert (cfg["L"], cfg["N"], len(cfg["actuators"]), len(cfg["sensors"]), cfg["burn_in"]) == (44.0, 96, 3, 5, 1.0)
    venv = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", max_episode_steps=7, **override)
    assert venv.single_action_space.shape == (3,) and venv.single_observation_space.shape == (96,)
    assert venv.max_episode_steps == 7
    venv = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", **FAST)
    assert venv.max_episode_steps == 400 and venv.template.config.L == DEFAULTS[env_id][0]


@pytest.mark.parametrize("env_id", sorted(DEFAULTS))
def test_seeded_rollout_is_finite_and_batched_equals_single(env_id):
    n_envs, n_steps, seed = 3, 8, 11
    n_act = DEFAULTS[env_id][2]
    actions = np.random.default_rng(0).uniform(-1.2, 1.2, (n_steps, n_envs, n_act)).astype(np.float32)
    singles = []
    for i in range(n_envs):
        env = gym.make(env_id, **FAST)
        obs, _ = env.reset(seed=seed + i)
        record = [(obs, 0.0, env.unwrapped.u)]
        for t in range(n_steps):
            obs, reward, terminated, truncated, info = env.step(actions[t, i])
            assert not (terminated or truncated or info["blowup"])
            record.append((obs, reward, env.unwrapped.u))
        singles.append(record)
    venv = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point", **FAST)
    obs, _ = venv.reset(seed=seed)
    batched = [(obs, np.zeros(n_envs), venv.unwrapped.u)]
    for t in range(n_steps):
        obs, reward, terminated, truncated, _ = venv.step(actions[t])
        assert not (terminated.any() or truncated.any())
        batched.append((obs, reward, venv.unwrapped.u))
    for t in range(n_steps + 1):
        for i in range(n_envs):
            np.testing.assert_array_equal(batched[t][0][i], singles[i][t][0])
            assert batched[t][1][i] == singles[i][t][1]
            np.testing.assert_array_equal(batched[t][2][i], singles[i][t][2])
            assert np.all(np.isfinite(singles[i][t][2]))


def test_target_objective_takes_the_copies_of_the_l22_equilibria():
    target = tiled_equilibrium("E1", 66.0, 128)  # E1 of L = 22, three times
    env = gym.make("KS-L66-Control-v0", objective="target", target=target, **FAST)
    _, info = env.reset(seed=0, options={"u0": target})
    assert info["target_distance"] == 0.0
    _, reward, terminated, _, info = env.step(np.zeros(12, dtype=np.float32))
    assert not terminated and -1e-8 < reward <= 0.0  # an equilibrium: it stays put (unforced)
    np.testing.assert_array_equal(env.unwrapped.target, target)


@pytest.mark.parametrize("env_id", sorted(DEFAULTS))
def test_named_targets_are_the_cells_of_the_l22_family_and_hold_still(env_id):
    L, N, n_act = DEFAULTS[env_id][:3]
    targets = {}
    for name in ("E1", "E2", "E3"):
        env = gym.make(env_id, objective="target", target=name, **FAST)
        u_star = env.unwrapped.target
        np.testing.assert_array_equal(u_star, ks_equilibrium(name, L, N))
        _, info = env.reset(seed=0, options={"u0": u_star})
        assert info["target_distance"] == 0.0
        _, reward, terminated, _, _ = env.step(np.zeros(n_act, dtype=np.float32))
        assert not terminated and -1e-8 < reward <= 0.0  # an equilibrium of the stepped equation: it stays put
        targets[name] = u_star
    assert min(np.max(np.abs(targets[a] - targets[b])) for a, b in (("E1", "E2"), ("E1", "E3"), ("E2", "E3"))) > 0.1
    if L == 66.0:  # L / 22 = 3: the copies of the L = 22 E1
        np.testing.assert_allclose(targets["E1"], tiled_equilibrium("E1", 66.0, 128, copies=3), rtol=0, atol=0)


@pytest.mark.parametrize("target", ["E4", "e1", "", np.array([]), ["E1"]])
def test_an_unknown_target_name_is_refused_naming_target_and_the_choices(target):
    with pytest.raises(ValueError, match=r"target must be one of \('E1', 'E2', 'E3'\)"):
        gym.make("KS-L66-Control-v0", objective="target", target=target, **FAST)


def test_a_name_missing_at_this_l_is_refused_naming_target_and_what_is_available():
    """At L = 30 the L = 22 E1 and E2, continued, change their dominant wavenumber: only E3 exists."""
    with pytest.raises(ValueError, match=r"target='E1' is not available at L=30, N=64; available here: \['E3'\] "
                                         r"or an array of shape \(64,\)"):
        gym.make("KS-L66-Control-v0", L=30.0, N=64, actuators=4, sensors=8, objective="target", target="E1", **FAST)
