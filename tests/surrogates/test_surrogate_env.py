"""KS-Control-v0 with surrogate=: check_env, spaces and info, seeding, refusals, blow-ups, batched env, pickling."""

from __future__ import annotations

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from chaoscontrol.surrogates.backend import SurrogateDynamics
from chaoscontrol.surrogates.registered_envs import make_ks_control_vector_env
from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset
from chaoscontrol.surrogates.train import train_surrogate

from .conftest import tiny_args


def test_check_env_passes_without_warnings(model_path):
    env = gym.make("KS-Control-v0", surrogate=str(model_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_spaces_info_and_initial_state_match_truth(model_path):
    sur = gym.make("KS-Control-v0", surrogate=str(model_path))
    truth = gym.make("KS-Control-v0")
    assert sur.observation_space == truth.observation_space
    assert sur.action_space == truth.action_space
    obs_s, info_s = sur.reset(seed=17)
    obs_t, info_t = truth.reset(seed=17)
    np.testing.assert_array_equal(obs_s, obs_t)
    np.testing.assert_array_equal(sur.unwrapped.u, truth.unwrapped.u)
    assert set(info_s) == set(info_t)
    a = np.full(4, 0.3, dtype=np.float32)
    obs_s, r_s, term_s, trunc_s, info_s = sur.step(a)
    obs_t, r_t, term_t, trunc_t, info_t = truth.step(a)
    assert set(info_s) == set(info_t) == {"t", "energy", "production", "dissipation", "power", "blowup"}
    assert obs_s.shape == obs_t.shape and obs_s.dtype == obs_t.dtype
    assert sur.observation_space.contains(obs_s)
    assert isinstance(r_s, float) and np.isfinite(r_s)
    assert not term_s and not trunc_s and info_s["blowup"] is False
    assert info_s["t"] == pytest.approx(info_t["t"])
    # one step of a briefly trained surrogate stays close to the truth
    assert np.max(np.abs(sur.unwrapped.u - truth.unwrapped.u)) < 0.5
    assert sur.unwrapped.config_dict()["surrogate"] == str(model_path)


def test_other_configuration_refused(model_path):
    with pytest.raises(ValueError) as info:
        gym.make("KS-Control-v0", surrogate=str(model_path), L=20.0)
    msg = str(info.value)
    assert "surrogate" in msg and "L" in msg and "20.0" in msg and "22.0" in msg
    with pytest.raises(ValueError, match="actuator_width"):
        gym.make("KS-Control-v0", surrogate=str(model_path), actuator_width=0.5)
    with pytest.raises(ValueError, match="actuators"):
        make_ks_control_vector_env(num_envs=2, surrogate=str(model_path), actuators=2)


def test_missing_checkpoint_refused(tmp_path):
    with pytest.raises(ValueError, match="nowhere.pt"):
        gym.make("KS-Control-v0", surrogate=str(tmp_path / "nowhere.pt"))


@pytest.fixture(scope="module")
def exploding_path(model_path, tmp_path_factory):
    payload = torch.load(model_path, map_location="cpu", weights_only=True)
    payload["state_dict"] = {
        k: (v * 1e4 if k.startswith("net") else v) for k, v in payload["state_dict"].items()
    }
    path = tmp_path_factory.mktemp("explode") / "explode.pt"
    torch.save(payload, path)
    return path


def test_diverging_surrogate_terminates_without_raising(exploding_path):
    env = gym.make("KS-Control-v0", surrogate=str(exploding_path))
    obs, _ = env.reset(seed=0)
    terminated = False
    for _ in range(20):
        obs, reward, terminated, truncated, info = env.step(np.ones(4, dtype=np.float32))
        if terminated:
            break
    assert terminated and info["blowup"] is True
    assert reward == -1000.0
    assert np.all(np.isfinite(obs)) and env.observation_space.contains(obs)


def test_small_blowup_threshold_terminates(model_path):
    env = gym.make("KS-Control-v0", surrogate=str(model_path), blowup_threshold=0.01)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert terminated and info["blowup"] is True and reward == -1000.0


def test_model_error_is_a_blowup(model_path, monkeypatch):
    env = gym.make("KS-Control-v0", surrogate=str(model_path))
    env.reset(seed=0)
    model = env.unwrapped.dynamics.model

    def broken(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(model, "forward", broken)
    _, reward, terminated, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert terminated and info["blowup"] is True


def test_nonfinite_action_raises_value_error(model_path):
    env = gym.make("KS-Control-v0", surrogate=str(model_path)).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan, 0, 0, 0]))


def test_batched_matches_sync_vector_of_single_envs(model_path):
    n = 3
    batched = make_ks_control_vector_env(num_envs=n, surrogate=str(model_path), max_episode_steps=5)
    sync = gym.vector.SyncVectorEnv(
        [lambda: gym.make("KS-Control-v0", surrogate=str(model_path), max_episode_steps=5) for _ in range(n)]
    )
    obs_b, _ = batched.reset(seed=40)
    obs_s, _ = sync.reset(seed=40)
    np.testing.assert_array_equal(obs_b, obs_s)
    rng = np.random.default_rng(0)
    for k in range(7):  # past the truncation, through an autoreset
        a = rng.uniform(-1, 1, (n, 4)).astype(np.float32)
        ob, rb, tb, trb, ib = batched.step(a)
        os_, rs, ts, trs, is_ = sync.step(a)
        np.testing.assert_allclose(ob, os_, rtol=1e-5, atol=1e-5, err_msg=f"step {k}")
        np.testing.assert_allclose(rb, rs, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(tb, ts)
        np.testing.assert_array_equal(trb, trs)
        np.testing.assert_allclose(ib["energy"], is_["energy"], rtol=1e-5, atol=1e-6)
    assert isinstance(batched.dynamics, SurrogateDynamics) and batched.template.dynamics is batched.dynamics
    sync.close()


def test_pickle_round_trip(model_path):
    env = gym.make("KS-Control-v0", surrogate=str(model_path)).unwrapped
    env.reset(seed=5)
    env.step(np.full(4, 0.5, dtype=np.float32))
    clone = pickle.loads(pickle.dumps(env))
    assert isinstance(clone.dynamics, SurrogateDynamics) and clone.dynamics is not env.dynamics
    np.testing.assert_array_equal(clone.u, env.u)
    a = np.array([0.1, -0.2, 0.3, -0.4], dtype=np.float32)
    o1, r1, *_ = env.step(a)
    o2, r2, *_ = clone.step(a)
    np.testing.assert_array_equal(o1, o2)
    assert r1 == r2


def test_surrogate_for_other_configuration_loads_there(tmp_path):
    """A surrogate trained on L=20 works with an L=20 env (and is refused by the default one)."""
    data = generate_dataset(
        DatasetSpec(n_trajectories=4, steps=6, seed=0, fractions=(0.5, 0.5, 0.0), env_kwargs={"L": 20.0, "burn_in": 20.0}),
        tmp_path / "l20.h5", progress=False,
    )
    path = train_surrogate(tiny_args(data, tmp_path / "run", epochs=1))
    env = gym.make("KS-Control-v0", surrogate=str(path), L=20.0)
    env.reset(seed=0)
    env.step(np.zeros(4, dtype=np.float32))
    with pytest.raises(ValueError, match="L"):
        gym.make("KS-Control-v0", surrogate=str(path))


def _deq_checkpoint(path, **config):
    """An untrained ``deq`` checkpoint (perturbed so that the implicit solve is not trivial) for the default env."""
    from chaoscontrol.envs.ks_control import KSControlEnv
    from chaoscontrol.surrogates.models import build_model, make_config
    from chaoscontrol.surrogates.train import save_surrogate

    env = KSControlEnv()
    cfg = env.config
    model = build_model(
        make_config("deq", L=cfg.L, N=cfg.N, n_actuators=4, interval=env.frame_skip * cfg.dt, width=16, depth=1, **config),
        env.forcing_fields(np.eye(4)), 1.2,
    )
    with torch.no_grad():
        model.rhs[-1].weight.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(0))
    save_surrogate(model, env.config_dict(), path)
    return path


def test_implicit_surrogate_reports_convergence_in_info(tmp_path):
    """A DEQ surrogate: info["surrogate_converged"] is True when its solver converges, False when it does not."""
    import dataclasses

    path = _deq_checkpoint(tmp_path / "deq.pt")
    env = gym.make("KS-Control-v0", surrogate=str(path), burn_in=5.0)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert info["surrogate_converged"] is True
    dyn = env.unwrapped.dynamics
    dyn.model.config = dataclasses.replace(dyn.model.config, max_iter=1, tol=1e-14)  # an impossible budget at run time
    _, _, _, _, info = env.step(np.full(4, 0.5, dtype=np.float32))
    assert info["surrogate_converged"] is False
    venv = make_ks_control_vector_env(num_envs=3, surrogate=str(path), burn_in=5.0)
    venv.reset(seed=0)
    _, _, _, _, infos = venv.step(np.zeros((3, 4)))
    assert infos["surrogate_converged"].tolist() == [True, True, True]


def test_implicit_surrogate_that_cannot_converge_is_refused(tmp_path):
    path = _deq_checkpoint(tmp_path / "deq_bad.pt", max_iter=1, tol=1e-12)
    with pytest.raises(ValueError, match="did not converge"):
        gym.make("KS-Control-v0", surrogate=str(path))


def test_explicit_surrogate_has_no_convergence_key(model_path):
    env = gym.make("KS-Control-v0", surrogate=str(model_path), burn_in=5.0)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert "surrogate_converged" not in info
