"""Discrete symmetries of KS-Control: exact equivariance, group laws, symmetry reduction, augmentation (issue 4)."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.envs.symmetry import KSSymmetry, SymmetryReducedObservation, symmetric_transitions

ENV_ID = "KS-Control-v0"
BURN_IN = 50.0
STEPS = 40


def _make(**kwargs) -> gym.Env:
    kwargs.setdefault("burn_in", BURN_IN)
    return gym.make(ENV_ID, **kwargs)


def _attractor_state(seed: int = 0, **kwargs) -> np.ndarray:
    env = _make(**kwargs)
    env.reset(seed=seed)
    return env.unwrapped.u


def _rollout(env, u0, actions):
    obs, _ = env.reset(options={"u0": u0})
    out = [(obs, None, env.unwrapped.u)]
    for a in actions:
        obs, r, terminated, truncated, _ = env.step(a)
        assert not terminated
        out.append((obs, r, env.unwrapped.u))
    return out


# --------------------------------------------------------------------------- the group


@pytest.mark.parametrize("observe", ["sensors", "full"])
def test_default_group_has_eight_elements(observe):
    sym = KSSymmetry.from_env(_make(observe=observe))
    assert len(sym.elements) == 8 and len(set(sym.elements)) == 8
    assert sym.elements[0] == (0, 0)
    assert set(sym.elements) == {(s, r) for s in range(4) for r in (0, 1)}
    assert sym.n_obs == (8 if observe == "sensors" else 64)
    assert sym.N == 64 and sym.n_actuators == 4


@pytest.mark.parametrize("observe", ["sensors", "full"])
def test_group_laws(observe):
    sym = KSSymmetry.from_env(_make(observe=observe))
    rng = np.random.default_rng(0)
    u = rng.standard_normal(64)
    o = rng.standard_normal(sym.n_obs)
    a = rng.uniform(-1, 1, 4)
    identity = (0, 0)
    assert np.array_equal(sym.transform_state(u, identity), u)
    assert np.array_equal(sym.transform_observation(o, identity), o)
    assert np.array_equal(sym.transform_action(a, identity), a)
    for g in sym.elements:
        gi = sym.inverse(g)
        assert gi in sym.elements
        assert np.array_equal(sym.transform_state(sym.transform_state(u, g), gi), u), g
        assert np.array_equal(sym.transform_state(sym.transform_state(u, gi), g), u), g
        assert np.array_equal(sym.transform_observation(sym.transform_observation(o, g), gi), o), g
        assert np.array_equal(sym.transform_action(sym.transform_action(a, g), gi), a), g
        if g != identity:  # a faithful action: no other element acts trivially
            assert not np.array_equal(sym.transform_state(u, g), u), g
            assert not np.array_equal(sym.transform_action(a, g), a), g
    # every reflection is an involution; the shift by L/4 has order 4
    for s in range(4):
        twice = sym.transform_state(sym.transform_state(u, (s, 1)), (s, 1))
        assert np.array_equal(twice, u), s
    x = u
    for k in range(1, 5):
        x = sym.transform_state(x, (1, 0))
        assert np.array_equal(x, u) == (k == 4)
    # closure: a composition of two elements is an element, on states, observations and actions alike
    for g, h in itertools.product(sym.elements, repeat=2):
        gh_u = sym.transform_state(sym.transform_state(u, h), g)
        matches = [k for k in sym.elements if np.array_equal(sym.transform_state(u, k), gh_u)]
        assert len(matches) == 1, (g, h)
        k = matches[0]
        assert np.array_equal(sym.transform_observation(sym.transform_observation(o, h), g), sym.transform_observation(o, k))
        assert np.array_equal(sym.transform_action(sym.transform_action(a, h), g), sym.transform_action(a, k))


def test_group_acts_on_the_geometry():
    """T_g maps the reflected/shifted grid, sensors and actuator forcing fields onto each other."""
    env = _make()
    base = env.unwrapped
    sym = KSSymmetry.from_env(env)
    x, L = base.config.x, base.config.L
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, 4)
    assert base.actuator_shapes.shape == (4, 64)

    def forcing(act):
        return base.actuator_shapes.T @ act

    def smooth(xx):
        return np.sin(2 * np.pi * xx / L) + 0.5 * np.cos(6 * np.pi * xx / L + 0.3)

    u = smooth(x)
    # reflection: u(x) -> -u(L - x); shift by s L / 4: u(x) -> u(x - s L / 4)
    assert np.allclose(sym.transform_state(u, (0, 1)), -smooth(L - x), atol=1e-12)
    assert np.allclose(sym.transform_state(u, (1, 0)), smooth(x - L / 4), atol=1e-12)
    assert np.allclose(sym.transform_state(u, (3, 1)), -smooth(L - (x - 3 * L / 4)), atol=1e-12)
    for g in sym.elements:
        assert np.allclose(forcing(sym.transform_action(a, g)), sym.transform_state(forcing(a), g), atol=1e-12), g
        # sensors are grid points: the readings of T_g u are T_g of the readings
        env.reset(options={"u0": u})
        o = env.unwrapped.observe_states(u, False)
        assert np.array_equal(env.unwrapped.observe_states(sym.transform_state(u, g), False), sym.transform_observation(o, g))


# --------------------------------------------------------------------------- exact equivariance


@pytest.mark.parametrize("observe", ["sensors", "full"])
def test_dynamics_are_equivariant(observe):
    """From T_g u0 under T_g a_t the env follows T_g u_t; observations transform, rewards are invariant."""
    env = _make(observe=observe)
    sym = KSSymmetry.from_env(env)
    u0 = _attractor_state(3)
    actions = np.random.default_rng(7).uniform(-1, 1, (STEPS, 4))
    ref = _rollout(env, u0, actions)
    assert np.ptp([r for _, r, _ in ref[1:]]) > 1e-3  # a real trajectory with varying rewards
    for g in sym.elements:
        other = _rollout(_make(observe=observe), sym.transform_state(u0, g), sym.transform_action(actions, g))
        (o0, _, _), (og0, _, _) = ref[0], other[0]
        assert np.array_equal(og0, sym.transform_observation(o0, g)), g  # exact at the start
        for t, ((o, r, u), (og, rg, ug)) in enumerate(zip(ref[1:], other[1:])):
            np.testing.assert_allclose(ug, sym.transform_state(u, g), rtol=0, atol=1e-12, err_msg=f"{g} t={t}")
            np.testing.assert_allclose(og, sym.transform_observation(o, g), rtol=0, atol=1e-6, err_msg=f"{g} t={t}")
            assert rg == pytest.approx(r, rel=1e-12, abs=1e-12), (g, t)


def test_transformed_actions_batch_like_single():
    sym = KSSymmetry.from_env(_make())
    a = np.random.default_rng(2).uniform(-1, 1, (5, 3, 4))
    o = np.random.default_rng(3).standard_normal((5, 8))
    for g in sym.elements:
        batched = sym.transform_action(a, g)
        assert np.array_equal(batched[2, 1], sym.transform_action(a[2, 1], g))
        assert np.array_equal(sym.transform_observation(o, g)[4], sym.transform_observation(o[4], g))


def test_non_equivariant_action_mapping_breaks_the_trajectory():
    """Control check: with the untransformed actions the shifted start does not follow T_g u_t."""
    env = _make()
    sym = KSSymmetry.from_env(env)
    u0 = _attractor_state(3)
    actions = np.random.default_rng(7).uniform(-1, 1, (10, 4))
    ref = _rollout(env, u0, actions)
    g = (1, 0)
    other = _rollout(_make(), sym.transform_state(u0, g), actions)
    assert np.max(np.abs(other[-1][2] - sym.transform_state(ref[-1][2], g))) > 1e-3


# --------------------------------------------------------------------------- target objective


def test_target_objective_restricts_the_group():
    env = _make(objective="target", target="E1")
    sym = KSSymmetry.from_env(env)
    assert sym.elements == ((0, 0), (0, 1))  # E1 is fixed by the reflection only
    target = np.asarray(env.unwrapped.target)
    full = KSSymmetry.from_env(_make())
    for g in full.elements:
        fixes = np.allclose(full.transform_state(target, g), target, atol=1e-10)
        assert fixes == (g in sym.elements), g
    # E2 (even wavenumbers only) is also fixed by the shift by L/2
    sym2 = KSSymmetry.from_env(_make(objective="target", target="E2"))
    assert set(sym2.elements) == {(0, 0), (2, 0), (0, 1), (2, 1)}


def test_target_reward_is_invariant_under_the_kept_elements():
    env = _make(objective="target", target="E1")
    sym = KSSymmetry.from_env(env)
    u0 = _attractor_state(5)
    actions = np.random.default_rng(4).uniform(-1, 1, (STEPS, 4))
    ref = _rollout(env, u0, actions)
    for g in sym.elements:
        other = _rollout(_make(objective="target", target="E1"), sym.transform_state(u0, g), sym.transform_action(actions, g))
        for (_, r, _), (_, rg, _) in zip(ref[1:], other[1:]):
            assert rg == pytest.approx(r, rel=1e-12, abs=1e-12), g
    # an element outside the restricted group changes the reward (the restriction is needed)
    full = KSSymmetry.from_env(_make())
    shifted = _rollout(_make(objective="target", target="E1"), full.transform_state(u0, (1, 0)), full.transform_action(actions, (1, 0)))
    assert abs(shifted[1][1] - ref[1][1]) > 1e-3


# --------------------------------------------------------------------------- symmetry-reduced observations


@pytest.mark.parametrize("observe", ["sensors", "full"])
def test_reduced_observation_is_invariant(observe):
    """Started from any T_h u0 and fed the same canonical actions, the reduced observations coincide."""
    sym = KSSymmetry.from_env(_make(observe=observe))
    u0 = _attractor_state(11)
    actions = np.random.default_rng(5).uniform(-1, 1, (25, 4))
    runs = []
    for h in sym.elements:
        env = SymmetryReducedObservation(_make(observe=observe))
        obs, info = env.reset(options={"u0": sym.transform_state(u0, h)})
        seq = [(obs, 0.0, info["symmetry"])]
        for a in actions:
            obs, r, _, _, info = env.step(a)
            seq.append((obs, r, info["symmetry"]))
        runs.append(seq)
    ref = runs[0]
    for h, seq in zip(sym.elements, runs):
        for t, ((o, r, _), (oh, rh, _)) in enumerate(zip(ref, seq)):
            np.testing.assert_allclose(oh, o, rtol=0, atol=1e-6, err_msg=f"{h} t={t}")
            assert rh == pytest.approx(r, rel=1e-10, abs=1e-12), (h, t)
    # the canonical element is not always the identity (the reduction does something)
    assert len({g for _, _, g in ref}) > 1 or ref[0][2] != (0, 0)
    assert len({seq[0][2] for seq in runs}) == 8  # each start needs its own element


@pytest.mark.parametrize("observe", ["sensors", "full"])
def test_reduced_env_dynamics_are_the_bare_env_under_mapped_actions(observe):
    wrapped = SymmetryReducedObservation(_make(observe=observe))
    bare = _make(observe=observe)
    sym = wrapped.symmetry
    assert wrapped.observation_space == bare.observation_space
    obs, info = wrapped.reset(seed=6)
    bare_obs, _ = bare.reset(seed=6)
    assert np.array_equal(wrapped.unwrapped.u, bare.unwrapped.u)
    seen = set()
    for t, a in enumerate(np.random.default_rng(8).uniform(-1, 1, (STEPS, 4))):
        g = info["symmetry"]
        seen.add(g)
        assert g in sym.elements
        assert np.array_equal(obs, sym.transform_observation(bare_obs, g).astype(np.float32)), t
        assert sym.canonical_element(obs) == (0, 0)  # the representative is its own canonical form
        obs, r, term, trunc, info = wrapped.step(a)
        bare_obs, rb, term_b, trunc_b, _ = bare.step(sym.transform_action(a, sym.inverse(g)))
        assert np.array_equal(wrapped.unwrapped.u, bare.unwrapped.u), t
        assert r == rb and (term, trunc) == (term_b, trunc_b)
    assert len(seen) > 1  # the frame changed along the trajectory


def test_canonical_element_of_a_featureless_state_is_the_identity():
    sym = KSSymmetry.from_env(_make())
    assert sym.canonical_element(np.zeros(8)) == (0, 0)


# --------------------------------------------------------------------------- augmentation


def test_symmetric_transitions():
    env = _make()
    sym = KSSymmetry.from_env(env)
    obs, _ = env.reset(seed=1)
    a = np.random.default_rng(0).uniform(-1, 1, 4).astype(np.float32)
    next_obs, r, term, _, _ = env.step(a)
    copies = list(symmetric_transitions(sym, obs, a, r, next_obs, term))
    assert len(copies) == len(sym.elements) == 8
    o0, a0, r0, n0, d0 = copies[0]
    assert np.array_equal(o0, obs) and np.array_equal(a0, a) and np.array_equal(n0, next_obs)
    assert r0 == r and d0 == term
    for g, (og, ag, rg, ng, dg) in zip(sym.elements, copies):
        assert np.array_equal(og, sym.transform_observation(obs, g))
        assert np.array_equal(ag, sym.transform_action(a, g))
        assert np.array_equal(ng, sym.transform_observation(next_obs, g))
        assert rg == r and dg == term
    assert len({og.tobytes() for og, *_ in copies}) == 8  # all distinct
    # every copy is a true transition of the env (the point of augmentation)
    u = env.unwrapped.u
    for g, (og, ag, rg, ng, _) in zip(sym.elements, copies):
        env2 = _make()
        env2.reset(seed=1)
        u_start = env2.unwrapped.u
        o_start, _ = env2.reset(options={"u0": sym.transform_state(u_start, g)})
        assert np.array_equal(o_start, og)
        n_obs, rr, *_ = env2.step(ag)
        np.testing.assert_allclose(n_obs, ng, atol=1e-6)
        np.testing.assert_allclose(env2.unwrapped.u, sym.transform_state(u, g), atol=1e-12)
        assert rr == pytest.approx(rg, rel=1e-12)
    # batches of transitions
    batch = np.stack([obs, next_obs])
    acts = np.stack([a, -a])
    rs = np.array([r, 2 * r])
    copies_b = list(symmetric_transitions(sym, batch, acts, rs, batch[::-1], np.array([False, True])))
    assert len(copies_b) == 8
    for g, (og, ag, rg, ng, dg) in zip(sym.elements, copies_b):
        assert og.shape == (2, 8) and ag.shape == (2, 4)
        assert np.array_equal(og[1], sym.transform_observation(next_obs, g))
        assert np.array_equal(ag[1], sym.transform_action(-a, g))
        assert np.array_equal(rg, rs) and np.array_equal(dg, [False, True])


def test_target_group_augmentation_yields_only_the_kept_elements():
    sym = KSSymmetry.from_env(_make(objective="target", target="E1"))
    copies = list(symmetric_transitions(sym, np.arange(8.0), np.arange(4.0), -1.0, np.arange(8.0) + 1))
    assert len(copies) == 2
    assert np.array_equal(copies[0][0], np.arange(8.0))


# --------------------------------------------------------------------------- configurations without the symmetry


BROKEN = [
    {"sensors": [0.1, 2.9, 5.6, 8.3, 11.0, 13.7, 16.4, 19.1]},  # off-grid sensors
    {"sensors": [0.0, 2.75, 5.5, 8.25, 11.0, 13.75, 16.5, 20.0]},  # on the grid but not evenly spaced
    {"actuators": 3},  # N = 64 not divisible by 3
    {"actuators": [1.0, 6.5, 12.0, 17.5]},  # actuators given as positions, not at (2j+1)L/8
    {"sensors": 6},  # sensor ring not a multiple of the actuator count
]


@pytest.mark.parametrize("kwargs", BROKEN, ids=["offgrid-sensors", "uneven-sensors", "N-not-divisible", "actuator-positions", "sensors-6"])
def test_configurations_without_the_symmetry_raise(kwargs):
    env = _make(**kwargs)
    with pytest.raises(ValueError, match="symmetry"):
        KSSymmetry.from_env(env)
    with pytest.raises(ValueError, match="symmetry"):
        SymmetryReducedObservation(_make(**kwargs))


def test_symmetry_of_other_compatible_configurations():
    # actuators given as the evenly spaced positions are the default geometry
    L = 22.0
    env = _make(actuators=[(2 * j + 1) * L / 8 for j in range(4)])
    assert len(KSSymmetry.from_env(env).elements) == 8
    # 2 actuators, 8 sensors: shifts by L/2 and reflections
    sym = KSSymmetry.from_env(_make(actuators=2))
    assert set(sym.elements) == {(0, 0), (1, 0), (0, 1), (1, 1)}
    # the batched env's template
    vec = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", burn_in=BURN_IN)
    assert KSSymmetry.from_env(vec) == KSSymmetry.from_env(_make())
