"""``chaoscontrol simulate --env ID`` on every registered system that is not KS (issue 16): a few steps, the summary
holds the system's diagnostics and equals what the env gives an agent, the plot follows the shape of the field."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from chaoscontrol.apps import cli
from chaoscontrol.apps.simulate import state_picture
from chaoscontrol.envs.registration import ENV_SPECS, make_env

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OTHER_IDS = sorted(i for i, s in ENV_SPECS.items() if s["entry_point"] != ENV_SPECS["KS-Control-v0"]["entry_point"])
STEPS = 4


@pytest.mark.parametrize("env_id", OTHER_IDS)
def test_simulate_any_system_writes_its_plot_and_the_envs_own_numbers(env_id, tmp_path, capsys):
    env = make_env(env_id, burn_in=1.0)
    interval = env.dynamics.control_dt
    out = tmp_path / "sim"
    rc = cli.main(["simulate", "--env", env_id, "--t-end", str(STEPS * interval), "--burn-in", "1", "--hold", "2",
                   "--out", str(out), "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    png = (out / "space_time.png").read_bytes()
    assert png[:8] == PNG_MAGIC and len(png) > 10_000
    summary = json.loads((out / "summary.json").read_text())
    names = env.dynamics.diagnostic_names
    assert summary["config"]["env_id"] == env_id and summary["env_steps_per_run"] == STEPS
    assert summary["control_interval"] == pytest.approx(interval)
    assert summary["config"]["burn_in"] == 1.0 and summary["config"]["dt"] == env.config_dict()["dt"]
    assert "reference_unforced_L22" not in summary  # a KS number
    for mode, run in summary["runs"].items():
        assert run["blowup"] is False and math.isfinite(run["rms_u"]) and run["rms_u"] > 0
        assert all(set(run[k]) >= {"mean", "std", "min", "max"} for k in names), mode
    # the zero run is exactly what the env gives an agent from the same seed
    env.reset(seed=0)
    series = {k: [] for k in names}
    for _ in range(STEPS):
        _, _, _, _, info = env.step(np.zeros(env.action_space.shape))
        for k in names:
            series[k].append(info[k])
    zero, rand = summary["runs"]["zero"], summary["runs"]["random"]
    for k, values in series.items():
        assert zero[k]["mean"] == pytest.approx(np.mean(values), rel=1e-12, abs=1e-300)
        assert zero[k]["max"] == pytest.approx(np.max(values), rel=1e-12, abs=1e-300)
    if "power" in names:  # no actuation does no work; random actuation does
        assert zero["power"]["max"] == 0.0 and zero["power"]["min"] == 0.0 and rand["power"]["std"] > 0


def test_simulate_an_unknown_env_is_one_error_line(tmp_path, capsys):
    assert cli.main(["simulate", "--env", "Nope-v0", "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "env_id" in err and "Lorenz63-Control-v0" in err


def test_simulate_a_keyword_the_env_does_not_take_is_one_error_line(tmp_path, capsys):
    assert cli.main(["simulate", "--env", "Lorenz63-Control-v0", "--L", "22", "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Lorenz63-Control-v0" in err and "'L'" in err
    assert not (tmp_path / "summary.json").exists()


def test_state_picture_follows_the_shape_of_the_field():
    rng = np.random.default_rng(0)
    lorenz63, lorenz96, cgle, grid = (rng.standard_normal((5, *s)) for s in ((3,), (40,), (2, 16), (8, 8)))
    kind, values, _ = state_picture(lorenz63)
    assert kind == "components" and values is lorenz63
    kind, values, _ = state_picture(lorenz96)
    assert kind == "space-time" and values is lorenz96
    kind, values, label = state_picture(cgle)
    assert kind == "space-time" and label == "|A|"
    np.testing.assert_allclose(values**2, cgle[:, 0] ** 2 + cgle[:, 1] ** 2, rtol=1e-14)  # |A|^2 = Re^2 + Im^2
    kind, values, _ = state_picture(grid)
    assert kind == "rms" and values.shape == (5,)
    np.testing.assert_allclose(values, np.sqrt((grid**2).mean(axis=(1, 2))), rtol=1e-14)
