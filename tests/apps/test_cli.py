"""The `chaoscontrol` command line: `chaoscontrol simulate`."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chaoscontrol.apps import cli
from chaoscontrol.envs import KSControlEnv

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STAT_KEYS = {"mean", "std", "min", "max"}


def _check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 10_000  # a real figure, not an empty canvas
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 200 and height > 200


def test_simulate_writes_plot_and_summary(tmp_path, capsys):
    out = tmp_path / "sim"
    rc = cli.main(["simulate", "--t-end", "5", "--burn-in", "5", "--out", str(out), "--no-progress"])
    assert rc == 0
    captured = capsys.readouterr()
    assert "space_time.png" in captured.out and "summary.json" in captured.out
    _check_png(out / "space_time.png")
    summary = json.loads((out / "summary.json").read_text())

    assert set(summary["runs"]) == {"zero", "random"}
    assert summary["env_steps_per_run"] == 20  # 5 time units / 0.25
    assert summary["control_interval"] == pytest.approx(0.25)
    assert summary["config"]["t_end"] == 5.0 and summary["config"]["burn_in"] == 5.0
    assert summary["config"]["seed"] == 0
    for mode, run in summary["runs"].items():
        assert run["blowup"] is False
        assert math.isfinite(run["rms_u"]) and run["rms_u"] > 0
        for key in ("energy", "production", "dissipation", "power"):
            assert set(run[key]) >= STAT_KEYS, (mode, key)
            stats = run[key]
            assert all(math.isfinite(stats[s]) for s in STAT_KEYS)
            assert stats["min"] <= stats["mean"] <= stats["max"] and stats["std"] >= 0
        assert run["energy"]["min"] > 0 and run["dissipation"]["min"] > 0
    zero, rand = summary["runs"]["zero"], summary["runs"]["random"]
    assert {k: zero["power"][k] for k in ("mean", "std", "min", "max")} == {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}
    assert rand["power"]["std"] > 0 and rand["power"]["max"] != 0.0
    assert rand["dissipation"]["mean"] != zero["dissipation"]["mean"]

    # the zero run is exactly what the env gives an agent from the same seed
    env = KSControlEnv(burn_in=5.0)
    env.reset(seed=0)
    series = {k: [] for k in ("energy", "dissipation")}
    for _ in range(20):
        _, _, _, _, info = env.step(np.zeros(4))
        for k in series:
            series[k].append(info[k])
    for k, values in series.items():
        assert zero[k]["mean"] == pytest.approx(np.mean(values), rel=1e-12)
        assert zero[k]["max"] == pytest.approx(np.max(values), rel=1e-12)


def test_simulate_single_actuation_mode(tmp_path):
    rc = cli.main(["simulate", "--t-end", "1", "--burn-in", "0", "--actuation", "random", "--hold", "2",
                   "--seed", "3", "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["runs"]) == {"random"}
    assert summary["config"]["seed"] == 3 and summary["config"]["hold"] == 2
    _check_png(tmp_path / "space_time.png")


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["--t-end", "-1"], "t_end"),
        (["--t-end", "0"], "t_end"),
        (["--t-end", "nan"], "t_end"),
        (["--hold", "0"], "hold"),
        (["--N", "7"], "N"),
        (["--dt", "-0.1"], "dt"),
        (["--max-forcing", "-1"], "max_forcing"),
    ],
)
def test_simulate_bad_argument_fails_with_message(tmp_path, capsys, args, name):
    out = tmp_path / "bad"
    rc = cli.main(["simulate", *args, "--burn-in", "0", "--out", str(out), "--no-progress"])
    assert rc != 0
    err = capsys.readouterr().err
    assert name in err and "error" in err
    assert not (out / "summary.json").exists()


def test_parser_rejects_unknown_choices(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["simulate", "--actuation", "sideways"])
    assert exc.value.code != 0
    assert "actuation" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code != 0


def test_module_entry_point_in_subprocess(tmp_path):
    out = tmp_path / "sub"
    res = subprocess.run(
        [sys.executable, "-m", "chaoscontrol.apps.cli", "simulate", "--t-end", "2", "--burn-in", "1",
         "--actuation", "zero", "--out", str(out), "--no-progress"],
        capture_output=True, text=True, timeout=180,
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["runs"]) == {"zero"} and summary["env_steps_per_run"] == 8
    _check_png(out / "space_time.png")
    json.loads(res.stdout[: res.stdout.rindex("}") + 1])  # the brief printed first is JSON

    bad = subprocess.run(
        [sys.executable, "-m", "chaoscontrol.apps.cli", "simulate", "--t-end", "-1", "--out", str(out / "x"), "--no-progress"],
        capture_output=True, text=True, timeout=180,
    )
    assert bad.returncode != 0 and "t_end" in bad.stderr


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "chaoscontrol"
    assert script.exists()
    res = subprocess.run([str(script), "simulate", "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0
    assert "--t-end" in res.stdout and "--actuation" in res.stdout


def test_simulate_too_short_t_end_is_a_clear_error_or_runs(tmp_path, capsys):
    """t_end shorter than half a control interval (0.25) gives zero env steps.

    Either it is rejected up front with a message naming t_end, or at least one step is run.
    """
    rc = cli.main(["simulate", "--t-end", "0.1", "--burn-in", "0", "--out", str(tmp_path), "--no-progress"])
    captured = capsys.readouterr()
    if rc == 0:
        summary = json.loads((tmp_path / "summary.json").read_text())
        assert summary["env_steps_per_run"] >= 1
    else:
        assert "t_end" in captured.err, captured.err


def _strict_json(text: str):
    def reject(token):
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=reject)


def test_simulate_blowup_is_recorded_and_summary_is_strict_json(tmp_path):
    """A run that blows up is reported as such; summary.json stays standard JSON (no NaN/Infinity)."""
    rc = cli.main(["simulate", "--t-end", "1", "--burn-in", "0", "--max-forcing", "1e6", "--out", str(tmp_path),
                   "--no-progress"])
    assert rc == 0
    text = (tmp_path / "summary.json").read_text()
    summary = _strict_json(text)
    assert summary["runs"]["random"]["blowup"] is True
    assert summary["runs"]["zero"]["blowup"] is False
    _check_png(tmp_path / "space_time.png")
