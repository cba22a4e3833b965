"""Sweep specs: every bad field is a ValueError naming it, before any trial starts; ids are stable."""

import pytest

from chaoscontrol.apps.sweep import SweepArgs, run_sweep
from chaoscontrol.apps.sweep_spec import parse_sweep_spec


def spec(**changes):
    base = {"name": "t", "out": "runs/t", "grid": {"env_id": ["Lorenz63-Control-v0"], "algo": ["ppo"]}, "seeds": [0, 1]}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize("changes, field", [
    ({"steps": 3}, "unknown keys \\['steps'\\]"),
    ({"grid": {"env_id": ["Nope-v0"]}}, "env_id"),
    ({"grid": {"algo": []}}, "grid.algo is empty"),
    ({"grid": None}, "grid: the sweep has no trial"),
    ({"grid": {"lr": [1]}}, "grid: unknown keys \\['lr'\\]"),
    ({"grid": {"env_kwargs": [[1]]}}, "env_kwargs must be a mapping"),
    ({"seeds": []}, "seeds"),
    ({"seeds": [0, "1"]}, "seeds\\[1\\]"),
    ({"train": {"timesteps": 0}}, "train.timesteps"),
    ({"train": {"epochs": 1}}, "train: unknown keys"),
    ({"resources": {"cpus": 0}}, "resources.cpus"),
    ({"trials": [{"algo": "ppo", "gamma": 1}]}, "trials\\[0\\]: unknown keys"),
    ({"name": ""}, "name"),
])
def test_a_bad_spec_names_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        parse_sweep_spec(spec(**changes))


def test_the_grid_is_a_product_times_the_seeds_and_ids_are_stable():
    s = parse_sweep_spec(spec(grid={"env_id": ["Lorenz63-Control-v0"], "algo": ["ppo", "sac"]}, seeds=[0, 1, 2],
                              trials=[{"env_id": "Lorenz63-Control-v0", "algo": "ppo"}]))  # the same as a grid point
    ids = [t.id for t in s.trials()]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert ids == [t.id for t in parse_sweep_spec(spec(grid={"env_id": ["Lorenz63-Control-v0"], "algo": ["ppo", "sac"]},
                                                       seeds=[0, 1, 2])).trials()]
    other = parse_sweep_spec(spec(train={"timesteps": 5}))
    assert {t.experiment for t in other.trials()}.isdisjoint(t.experiment for t in s.trials())


def test_a_bad_trial_argument_fails_before_ray_starts(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\nout: {tmp_path / 'out'}\ngrid: {{env_id: [Lorenz63-Control-v0], hyperparams: [{{n_stepz: 3}}]}}\n"
                    "seeds: [0]\n")
    with pytest.raises(ValueError, match="n_stepz"):
        run_sweep(SweepArgs(spec=str(path)))
    assert not (tmp_path / "out").exists()  # nothing was written, no trial started
