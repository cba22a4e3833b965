"""The shared rollout loop (:mod:`chaoscontrol.envs.rollout`) against hand-written loops, in every autoreset mode."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.envs.rollout import SUCCESS_DISTANCE, Rollout, rollout

B = 4
STEPS = 12
#: Strong forcing and a low threshold: env b under the policy below blows up at a step that depends on b.
BLOWING = {"burn_in": 5.0, "max_forcing": 50.0, "blowup_threshold": 10.0}
SCALES = np.array([0.0, 0.55, 0.75, 1.0])[:, None]  # env 0 never blows up; envs 1-3 at three different steps


def make_env(mode: str = "Disabled", steps: int = STEPS, **kwargs) -> KSControlVectorEnv:
    return KSControlVectorEnv(num_envs=B, max_episode_steps=steps, autoreset_mode=mode, **{**BLOWING, **kwargs})


def policy(seed: int = 0):
    """Actions of size SCALES[b] for env b, with a seeded random sign pattern per step."""
    rng = np.random.default_rng(seed)
    return lambda obs: SCALES * rng.choice([-1.0, 1.0], size=(B, 4))


def test_disabled_autoreset_matches_a_hand_written_loop():
    hand_env, env = make_env(objective="target", target="E1"), make_env(objective="target", target="E1")
    act = policy()
    obs, _ = hand_env.reset(seed=3)
    returns, dissipation, distance = np.zeros(B), np.zeros(B), np.full(B, np.nan)
    blowup, active, ends = np.zeros(B, dtype=bool), np.ones(B, dtype=bool), np.full(B, -1)
    for k in range(STEPS):
        obs, r, terminated, truncated, info = hand_env.step(act(obs))
        returns[active] += r[active]
        dissipation[active] += np.where(info["blowup"], 0.0, info["dissipation"])[active]
        distance = np.where(active, info["target_distance"], distance)
        blowup |= active & info["blowup"]
        ends[active & (terminated | truncated)] = k
        active &= ~(terminated | truncated)
        if not active.any():
            break

    run = rollout(env, policy(), STEPS, seed=3, info_keys=("blowup", "dissipation", "target_distance"))
    assert isinstance(run, Rollout) and run.steps == STEPS  # env 0 runs to the time limit
    np.testing.assert_array_equal(run.totals(), returns)  # bit for bit: the same additions in the same order
    np.testing.assert_array_equal(run.totals("dissipation", skip="blowup"), dissipation)
    np.testing.assert_array_equal(run.final("target_distance"), distance)
    np.testing.assert_array_equal(run.ever("blowup"), blowup)
    assert blowup.tolist() == [False, True, True, True] and len(set(ends[1:])) == 3  # ends at three different steps
    assert [span for span in run.episodes()] == sorted(((b, 0, int(ends[b])) for b in range(B)), key=lambda s: (s[2], s[0]))
    for b in range(B):  # nothing is live after an episode's end
        assert run.live[b].tolist() == [k <= ends[b] for k in range(STEPS)]
        assert np.all(np.isnan(run.rewards[b, ends[b] + 1 :]))
    assert run.terminated[1:].any(axis=1).all() and run.truncated[0, -1] and not run.truncated[1:].any()
    assert run.actions.shape == (B, STEPS, 4)
    assert (run.reached_target() == ((distance < SUCCESS_DISTANCE) & ~blowup)).all()


def test_stops_when_every_episode_has_ended_and_keeps_snapshots():
    env = make_env()
    run = rollout(env, lambda obs: np.ones((B, 4)), 50, seed=0, snapshot=lambda: env.u[0].copy())
    assert run.steps < STEPS and run.terminated.any(axis=1).all()  # all four blow up quickly under full actions
    assert len(run.snapshots) == run.steps + 1 and run.snapshots[0].shape == (64,)


def _hand_episodes_next_step(env, act, seed, episodes):
    """Returns of the first ``episodes`` episodes to end, with Gymnasium's NEXT_STEP autoreset, by hand."""
    obs, _ = env.reset(seed=seed)
    current, done, resetting = [[] for _ in range(B)], [], np.zeros(B, dtype=bool)
    while len(done) < episodes:
        obs, r, terminated, truncated, _ = env.step(act(obs))
        for b in range(B):
            if resetting[b]:
                continue  # the reset step belongs to no episode
            current[b].append(r[b])
            if terminated[b] or truncated[b]:
                done.append((b, float(np.sum(current[b]))))
                current[b] = []
        resetting = terminated | truncated
    return done[:episodes]


def test_next_step_autoreset_collects_the_first_episodes_to_end():
    episodes = 9
    hand = _hand_episodes_next_step(make_env("NextStep", steps=6), policy(1), 2, episodes)
    run = rollout(make_env("NextStep", steps=6), policy(1), episodes=episodes, seed=2)
    spans = run.episodes()
    assert len(spans) >= episodes
    got = [(b, float(np.sum(run.rewards[b, first : last + 1]))) for b, first, last in spans[:episodes]]
    assert got == hand
    # the step after an episode's end resets that env: not live, and the env's next episode starts after it
    for b in range(B):
        mine = [(first, last) for env, first, last in spans if env == b]
        assert mine[0][0] == 0
        for (_, last), (first, _) in zip(mine, mine[1:]):
            assert first == last + 2 and not run.live[b, last + 1]


def test_same_step_autoreset_reads_the_last_step_from_final_info():
    env = make_env("SameStep", steps=5, objective="target", target="E1")
    finals = {}
    step = env.step

    def spy(actions):
        out = step(actions)
        info = out[4]
        if "final_info" in info:
            for b in np.flatnonzero(info["_final_info"]):
                finals.setdefault(len(calls), {})[int(b)] = (info["final_info"]["target_distance"][b], info["target_distance"][b])
        calls.append(1)
        return out

    calls: list[int] = []
    env.step = spy
    run = rollout(env, policy(2), 10, seed=0, info_keys=("target_distance",))
    assert run.live.all()  # every step is live: an ended env restarts within the step
    ended = [(k, b) for k in finals for b in finals[k]]
    assert ended and all(run.terminated[b, k] or run.truncated[b, k] for k, b in ended)
    for k, b in ended:
        final, reset = finals[k][b]
        assert run.infos["target_distance"][b, k] == final and final != reset


def test_truncation_ends_every_episode_at_the_time_limit():
    run = rollout(make_env(steps=3, blowup_threshold=100.0), lambda obs: np.zeros((B, 4)), 10, seed=0)
    assert run.steps == 3 and run.truncated[:, -1].all() and not run.terminated.any()
    assert run.episodes() == [(b, 0, 2) for b in range(B)]


@pytest.mark.parametrize("call, match", [
    (lambda env: rollout(object(), lambda o: o, 3), "env"),
    (lambda env: rollout(env, "zero", 3), "policy"),
    (lambda env: rollout(env, lambda o: np.zeros((B, 4))), "max_steps or episodes"),
    (lambda env: rollout(env, lambda o: np.zeros((B, 4)), 0), "max_steps"),
    (lambda env: rollout(env, lambda o: np.zeros((B, 4)), 3, episodes=0), "episodes"),
    (lambda env: rollout(env, lambda o: np.zeros((B, 4)), 3, episodes=B + 1), "episodes"),
    (lambda env: rollout(env, lambda o: np.zeros((B, 3)), 3), r"policy must return actions of shape \(4, 4\)"),
    (lambda env: rollout(env, lambda o: np.zeros((B, 4)), 3, info_keys=("no_such_key",)), "info_keys.*no_such_key"),
    (lambda env: rollout(env, lambda o: np.zeros((B, 4)), 3).final("dissipation"), "dissipation.*info_keys"),
])
def test_bad_arguments_raise_value_errors_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call(make_env())


def test_autoreset_mode_of_the_env_is_read_from_its_metadata():
    env = make_env("NextStep")
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    run = rollout(env, lambda obs: np.ones((B, 4)), 6, seed=0)
    assert not run.live.all()  # the reset steps after the blow-ups
