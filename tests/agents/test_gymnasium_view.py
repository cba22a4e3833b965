"""``GymnasiumVectorView``: an SB3 vec env run by the shared rollout loop gives the episodes SB3 stepping gives."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from chaoscontrol.agents.vec_env import KSVecEnv
from chaoscontrol.agents.vec_wrappers import GymnasiumVectorView
from chaoscontrol.envs.rollout import rollout

B = 3
KWARGS = {"burn_in": 5.0, "max_forcing": 50.0, "blowup_threshold": 10.0}
SCALES = np.array([0.0, 0.6, 1.0])[:, None]  # env 0 runs to the time limit, envs 1 and 2 blow up


def make_venv() -> KSVecEnv:
    venv = KSVecEnv(num_envs=B, max_episode_steps=6, **KWARGS)
    venv.seed(4)
    return venv


def policy():
    rng = np.random.default_rng(0)
    return lambda obs: SCALES * rng.choice([-1.0, 1.0], size=(B, 4))


def test_rollout_over_the_view_gives_the_episodes_of_sb3_stepping():
    episodes = 7
    venv, act = make_venv(), policy()
    obs = venv.reset()
    current, done = [[] for _ in range(B)], []
    while len(done) < episodes:
        obs, rewards, dones, infos = venv.step(act(obs))
        for b in range(B):
            current[b].append(float(rewards[b]))
            if dones[b]:
                done.append((b, float(np.array(current[b]).sum()), bool(infos[b]["TimeLimit.truncated"])))
                current[b] = []

    view = GymnasiumVectorView(make_venv())
    assert view.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP and view.num_envs == B
    run = rollout(view, policy(), episodes=episodes, info_keys=("blowup",))
    spans = run.episodes()[:episodes]
    got = [(b, float(run.rewards[b, first : last + 1].sum()), bool(run.truncated[b, last])) for b, first, last in spans]
    assert got == done[:episodes]
    assert {truncated for _, _, truncated in got} == {True, False}  # both kinds of end are told apart
    for b, _, last in spans:
        assert run.terminated[b, last] != run.truncated[b, last]
        assert run.infos["blowup"][b, last] == run.terminated[b, last]  # the last step's info, not the reset's


def test_the_view_seeds_through_the_sb3_env_and_refuses_options():
    view = GymnasiumVectorView(KSVecEnv(num_envs=B, max_episode_steps=6, **KWARGS))
    first, _ = view.reset(seed=9)
    again, _ = view.reset(seed=9)
    np.testing.assert_array_equal(first, again)
    with pytest.raises(ValueError, match="options"):
        view.reset(options={"u0": np.zeros(64)})
