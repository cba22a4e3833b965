"""Trajectory datasets: round trip against the truth env, splits, actuation processes, atomic writes, bad input."""

from __future__ import annotations

import dataclasses
import json
import shutil

import gymnasium as gym
import h5py
import numpy as np
import pytest

import chaoscontrol.envs.ks_vector as ks_vector
from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset, load_dataset, split_labels

from .conftest import SPEC

#: Fractions that give two trajectories one train and one validation trajectory.
TWO_SPLITS = (0.5, 0.5, 0.0)


def test_round_trip_shapes_and_metadata(dataset_path):
    data = load_dataset(dataset_path)
    t, s = SPEC.n_trajectories, SPEC.steps
    assert data.states.shape == (t, s + 1, 64)
    assert data.actions.shape == (t, s, 4)
    assert data.forcing.shape == (t, s, 64)
    assert data.rewards.shape == (t, s)
    for arr in (data.states, data.actions, data.forcing, data.rewards):
        assert arr.dtype == np.float64
        assert np.all(np.isfinite(arr))
    assert np.all(np.abs(data.actions) <= 1.0)
    assert np.abs(data.actions).max() > 0.1
    env = KSControlEnv()
    assert data.env_config == json.loads(json.dumps(env.config_dict()))
    np.testing.assert_array_equal(data.forcing, env.forcing_fields(data.actions))
    assert data.spec["n_trajectories"] == t and data.spec["seed"] == SPEC.seed
    with h5py.File(dataset_path, "r") as h5:
        assert h5.attrs["format_version"] == 1
        assert h5["states"].chunks == (1, s + 1, 64)


def test_states_match_the_truth_env(dataset_path):
    data = load_dataset(dataset_path)
    for i in range(SPEC.n_trajectories):
        env = gym.make("KS-Control-v0")
        env.reset(seed=SPEC.seed + i)
        u = env.unwrapped.u
        np.testing.assert_allclose(data.states[i, 0], u, rtol=0, atol=1e-12)
        for k in range(SPEC.steps):
            _, r, terminated, _, _ = env.step(data.actions[i, k])  # the stored float64 actions, as generated
            np.testing.assert_allclose(data.states[i, k + 1], env.unwrapped.u, rtol=0, atol=1e-12, err_msg=f"traj {i} step {k}")
            np.testing.assert_allclose(data.rewards[i, k], r, rtol=1e-12, atol=1e-12)
            assert not terminated
        env.close()


def test_states_match_the_truth_env_with_float64_actions(dataset_path):
    """The unwrapped env accepts the stored float64 actions directly: bit for bit (or 1e-12)."""
    data = load_dataset(dataset_path)
    env = KSControlEnv()
    for i in (0, SPEC.n_trajectories - 1):
        env.reset(seed=SPEC.seed + i)
        np.testing.assert_allclose(data.states[i, 0], env.u, rtol=0, atol=1e-12)
        for k in range(SPEC.steps):
            env.step(data.actions[i, k])
            np.testing.assert_allclose(data.states[i, k + 1], env.u, rtol=0, atol=1e-12)


def test_splits_by_trajectory(dataset_path):
    labels = split_labels(8, SPEC.fractions)
    np.testing.assert_array_equal(labels, [0, 0, 0, 0, 1, 1, 2, 2])
    full = load_dataset(dataset_path)
    parts = {name: load_dataset(dataset_path, name) for name in ("train", "validation", "test")}
    assert [parts[n].states.shape[0] for n in ("train", "validation", "test")] == [4, 2, 2]
    np.testing.assert_array_equal(parts["train"].states, full.states[:4])
    np.testing.assert_array_equal(parts["validation"].actions, full.actions[4:6])
    np.testing.assert_array_equal(parts["test"].rewards, full.rewards[6:])
    with pytest.raises(ValueError, match="split"):
        load_dataset(dataset_path, "training")


def test_split_labels_edge_cases():
    assert split_labels(1, (0.8, 0.1, 0.1)).tolist() == [0]
    assert split_labels(3, (0.0, 0.0, 1.0)).tolist() == [2, 2, 2]
    assert split_labels(10, (0.8, 0.1, 0.1)).tolist() == [0] * 8 + [1, 2]


def _gen(tmp_path, name, **kwargs):
    spec = DatasetSpec(**{"n_trajectories": 4, "steps": 16, "seed": 1, "fractions": (0.5, 0.5, 0.0), **kwargs})
    return load_dataset(generate_dataset(spec, tmp_path / name, batch=4, progress=False))


def test_zero_actuation(tmp_path):
    data = _gen(tmp_path, "zero.h5", actuation="zero", n_trajectories=2, steps=4)
    assert np.all(data.actions == 0.0)
    assert np.all(data.forcing == 0.0)


def test_random_actuation_is_piecewise_constant(tmp_path):
    data = _gen(tmp_path, "random.h5", actuation="random", hold=3, steps=12)
    a = data.actions
    for k in range(a.shape[1]):
        np.testing.assert_array_equal(a[:, k], a[:, k - k % 3])
    for k in range(3, a.shape[1], 3):
        assert np.all(a[:, k] != a[:, k - 1])
    assert np.all(np.abs(a) <= 1.0)
    # the per-batch generator means different trajectories get different actions
    assert not np.allclose(a[0], a[1])


def test_ou_actuation_bounded_and_autocorrelated(tmp_path):
    data = _gen(tmp_path, "ou.h5", actuation="ou", ou_theta=1.0, ou_sigma=1.0, steps=40)
    a = data.actions
    assert np.all(np.abs(a) <= 1.0)
    assert np.std(a) > 0.1
    x, y = a[:, :-1].ravel(), a[:, 1:].ravel()
    corr = np.corrcoef(x, y)[0, 1]
    assert corr > 0.5, corr
    # not piecewise constant: consecutive actions differ
    assert np.mean(a[:, 1:] != a[:, :-1]) > 0.9


def test_generation_is_deterministic(tmp_path, dataset_path):
    again = load_dataset(generate_dataset(SPEC, tmp_path / "again.h5", batch=8, progress=False))
    first = load_dataset(dataset_path)
    for key in ("states", "actions", "forcing", "rewards"):
        np.testing.assert_array_equal(getattr(first, key), getattr(again, key))
    # another batch size: the initial states (env seeds seed + i) are the same
    other = load_dataset(generate_dataset(SPEC, tmp_path / "other.h5", batch=3, progress=False))
    np.testing.assert_array_equal(first.states[:, 0], other.states[:, 0])


def _boom(monkeypatch, after: int = 3):
    calls = {"n": 0}
    original = ks_vector.KSControlVectorEnv.step

    def step(self, actions):
        calls["n"] += 1
        if calls["n"] > after:
            raise RuntimeError("boom mid-generation")
        return original(self, actions)

    monkeypatch.setattr(ks_vector.KSControlVectorEnv, "step", step)


def test_atomic_write_no_file_after_failure(tmp_path, monkeypatch):
    _boom(monkeypatch)
    target = tmp_path / "sub" / "fail.h5"
    with pytest.raises(RuntimeError, match="boom"):
        generate_dataset(DatasetSpec(n_trajectories=2, steps=6, fractions=TWO_SPLITS), target, progress=False)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no temporary file left behind


def test_atomic_write_keeps_existing_file(tmp_path, monkeypatch, dataset_path):
    target = tmp_path / "existing.h5"
    shutil.copy(dataset_path, target)
    before = target.read_bytes()
    _boom(monkeypatch)
    with pytest.raises(RuntimeError, match="boom"):
        generate_dataset(DatasetSpec(n_trajectories=2, steps=6, fractions=TWO_SPLITS), target, progress=False, overwrite=True)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.h5"]
    load_dataset(target)


def test_mismatch_refused(dataset_path):
    with pytest.raises(ValueError) as info:
        load_dataset(dataset_path, expect_env_config=KSControlEnv(L=20.0).config_dict())
    msg = str(info.value)
    assert str(dataset_path) in msg
    assert "L" in msg and "20.0" in msg and "22.0" in msg
    with pytest.raises(ValueError, match="max_forcing"):
        load_dataset(dataset_path, expect_env_config=KSControlEnv(max_forcing=0.25).config_dict())
    with pytest.raises(ValueError, match="actuators"):
        load_dataset(dataset_path, expect_env_config=KSControlEnv(actuators=3).config_dict())
    # keys that do not change the dynamics are accepted
    load_dataset(dataset_path, expect_env_config=KSControlEnv(sensors=4, blowup_penalty=5.0).config_dict())


def test_garbage_file_refused(tmp_path):
    bad = tmp_path / "garbage.h5"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ValueError, match="garbage.h5"):
        load_dataset(bad)


@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_truncated_file_refused(tmp_path, dataset_path, fraction):
    bad = tmp_path / "truncated.h5"
    data = dataset_path.read_bytes()
    bad.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ValueError, match="truncated.h5"):
        load_dataset(bad)


def test_not_a_dataset_refused(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5.create_dataset("states", data=np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="other.h5"):
        load_dataset(other)


@pytest.mark.parametrize("key", ["states", "actions", "forcing", "rewards"])
def test_nan_refused(tmp_path, dataset_path, key):
    bad = tmp_path / "nan.h5"
    shutil.copy(dataset_path, bad)
    with h5py.File(bad, "r+") as h5:
        arr = h5[key][()]
        arr.flat[5] = np.nan
        h5[key][...] = arr
    with pytest.raises(ValueError) as info:
        load_dataset(bad)
    assert "nan.h5" in str(info.value) and key in str(info.value)


def test_missing_file_refused(tmp_path):
    with pytest.raises(ValueError, match="nowhere.h5"):
        load_dataset(tmp_path / "nowhere.h5")


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_trajectories": 0}, "n_trajectories"),
        ({"steps": -1}, "steps"),
        ({"steps": 2.0}, "steps"),
        ({"hold": 0}, "hold"),
        ({"n_trajectories": True}, "n_trajectories"),
        ({"actuation": "sine"}, "actuation"),
        ({"actuation": "missing_policy.zip"}, "missing_policy.zip"),
        ({"ou_theta": -1.0}, "ou_theta"),
        ({"ou_sigma": float("nan")}, "ou_sigma"),
        ({"fractions": (0.5, 0.5, 0.5)}, "fractions"),
        ({"fractions": (0.5, 0.5)}, "fractions"),
        ({"fractions": (1.2, -0.1, -0.1)}, "fractions"),
    ],
)
def test_bad_spec_values(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DatasetSpec(**kwargs)


def test_bad_env_kwargs_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="L"):
        generate_dataset(DatasetSpec(n_trajectories=1, steps=1, env_kwargs={"L": -1.0}), tmp_path / "x.h5", progress=False)
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize(
    "n, fractions, empty",
    [(4, (0.8, 0.1, 0.1), "validation"), (3, (0.9, 0.1, 0.0), "validation"), (2, (0.5, 0.25, 0.25), "validation"),
     (5, (0.6, 0.3, 0.1), "test"), (1, (0.1, 0.9, 0.0), "train")],
)
def test_a_split_asked_for_but_left_empty_is_refused_at_generation(n, fractions, empty):
    """``--trajectories 4`` with the default fractions leaves no validation trajectory: refused before any work."""
    with pytest.raises(ValueError) as info:
        DatasetSpec(n_trajectories=n, steps=2, fractions=fractions)
    msg = str(info.value)
    assert f"no {empty} trajector" in msg and "--trajectories" in msg and "--fractions" in msg and str(n) in msg


def test_a_split_of_fraction_zero_may_be_empty():
    DatasetSpec(n_trajectories=2, steps=2, fractions=(0.5, 0.5, 0.0))
    DatasetSpec(n_trajectories=3, steps=2, fractions=(0.0, 0.0, 1.0))


def test_an_existing_dataset_is_refused_and_overwrite_replaces_it(tmp_path, dataset_path):
    target = tmp_path / "ds.h5"
    shutil.copy(dataset_path, target)
    before = target.read_bytes()
    other = DatasetSpec(n_trajectories=2, steps=3, seed=9, fractions=TWO_SPLITS)
    with pytest.raises(ValueError) as info:
        generate_dataset(other, target, progress=False)
    msg = str(info.value)
    assert str(target) in msg and "--overwrite" in msg
    assert target.read_bytes() == before
    with pytest.raises(ValueError, match="not both"):
        generate_dataset(other, target, progress=False, resume=True, overwrite=True)
    generate_dataset(other, target, progress=False, overwrite=True)
    assert load_dataset(target).spec["seed"] == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds.h5"]


def test_resume_of_a_finished_dataset_is_a_no_op_for_its_spec_only(tmp_path, dataset_path):
    target = tmp_path / "ds.h5"
    shutil.copy(dataset_path, target)
    before = target.read_bytes()
    assert generate_dataset(SPEC, target, batch=8, progress=False, resume=True) == target
    assert target.read_bytes() == before
    with pytest.raises(ValueError) as info:
        generate_dataset(dataclasses.replace(SPEC, seed=4), target, progress=False, resume=True)
    assert str(target) in str(info.value) and "seed" in str(info.value) and "--overwrite" in str(info.value)
    assert target.read_bytes() == before


def test_resume_with_nothing_to_continue_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot resume"):
        generate_dataset(DatasetSpec(n_trajectories=2, steps=3, fractions=TWO_SPLITS), tmp_path / "ds.h5", resume=True)
    assert list(tmp_path.iterdir()) == []
