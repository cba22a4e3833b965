"""``chaoscontrol sweep`` on an embedded Ray (2 CPUs) and on a local head (``--address``): tiny PPO on Lorenz-63.

Each test runs the CLI in a child process, as a user would, so that it can be killed mid-way."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HP = "{n_envs: 2, n_steps: 32, batch_size: 32, n_epochs: 2, policy_kwargs: {net_arch: [16, 16]}}"
CLI = [sys.executable, "-m", "chaoscontrol.apps.cli"]
pytestmark = pytest.mark.slow


def write_spec(tmp_path: Path, seeds: str, timesteps: int) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(f"name: t\nout: {tmp_path / 'out'}\ngrid: {{env_id: [Lorenz63-Control-v0], hyperparams: [{HP}]}}\n"
                    f"seeds: {seeds}\ntrain: {{timesteps: {timesteps}, max_episode_steps: 20, eval_freq: 64, eval_episodes: 2, "
                    f"checkpoint_freq: 64}}\nevaluation: {{episodes: 2, seed: 0}}\n")
    return path


def sweep_state(tmp_path: Path) -> dict:
    path = tmp_path / "out" / "sweep.json"
    return json.loads(path.read_text()) if path.exists() else {}


def sessions(folder: str) -> int:
    """How many times the trial's training was started (1 + resumes)."""
    config = json.loads((Path(folder) / "train" / "config.json").read_text())
    return len(config.get("sessions") or [None])


def test_two_trials_then_a_rerun_skips_them_and_the_report(tmp_path):
    spec = write_spec(tmp_path, "[0, 1]", 128)
    run = subprocess.run(CLI + ["sweep", str(spec), "--num-cpus", "2", "--report"], capture_output=True, text=True, timeout=400)
    assert run.returncode == 0, run.stderr[-3000:]
    state = sweep_state(tmp_path)
    assert state["counts"]["done"] == 2 and state["counts"]["failed"] == 0
    evaluations = {t: Path(v["folder"], "evaluation", "evaluation.json") for t, v in state["trials"].items()}
    stamps = {t: p.stat().st_mtime_ns for t, p in evaluations.items()}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "IQM" in report and (tmp_path / "out" / "profiles.png").is_file() and (tmp_path / "out" / "learning_curves.png").is_file()
    again = subprocess.run(CLI + ["sweep", str(spec), "--num-cpus", "2"], capture_output=True, text=True, timeout=200)
    assert again.returncode == 0 and again.stdout.count("already done, skipped") == 2, again.stdout
    assert {t: p.stat().st_mtime_ns for t, p in evaluations.items()} == stamps


def test_a_sweep_killed_mid_way_finishes_every_trial_once_when_run_again(tmp_path):
    spec = write_spec(tmp_path, "[0, 1, 2]", 3200)
    cmd = CLI + ["sweep", str(spec), "--num-cpus", "2", "--max-concurrent", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    try:  # kill it once a trial is done and the next one has a checkpoint
        while time.time() < deadline:
            state = sweep_state(tmp_path)
            running = [v for v in state.get("trials", {}).values() if v["state"] == "running"]
            if state.get("counts", {}).get("done", 0) >= 1 and running and \
                    any(any((Path(v["folder"]) / "train" / "checkpoints").glob("*")) for v in running):
                break
            time.sleep(0.5)
        else:
            pytest.fail("no trial finished in time")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out[-3000:]
    first = sweep_state(tmp_path)
    done_before = {t for t, v in first["trials"].items() if v["state"] == "done"}
    interrupted = {t for t, v in first["trials"].items() if v["state"] == "interrupted"}
    assert len(done_before) >= 1 and len(interrupted) == 1
    stamps = {t: Path(first["trials"][t]["folder"], "evaluation", "evaluation.json").stat().st_mtime_ns for t in done_before}
    stopped = {t for t in interrupted if json.loads(Path(first["trials"][t]["folder"], "train", "status.json").read_text())["state"]
               == "interrupted"}
    assert stopped == interrupted  # the SIGTERM reached the trial's training, which checkpointed
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    final = sweep_state(tmp_path)
    assert final["counts"]["done"] == 3
    for t, v in final["trials"].items():
        assert sessions(v["folder"]) == (2 if t in stopped else 1), t  # the interrupted one resumed, none restarted
        rows = [json.loads(x) for x in Path(v["folder"], "train", "evaluations.jsonl").read_text().splitlines()]
        assert rows[-1]["timesteps"] >= 3200  # nothing lost: the training reached its budget
    for t in done_before:
        assert Path(final["trials"][t]["folder"], "evaluation", "evaluation.json").stat().st_mtime_ns == stamps[t]


def test_the_same_spec_runs_on_a_local_head_with_address(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ray = str(Path(sys.executable).parent / "ray")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}  # Ray 2.60: token auth on by default
    subprocess.run([ray, "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                    ], check=True, capture_output=True, timeout=180, env=env)
    try:
        spec = write_spec(tmp_path, "[0, 1]", 64)
        run = subprocess.run(CLI + ["sweep", str(spec), "--address", f"127.0.0.1:{port}"], capture_output=True, text=True,
                             timeout=400, env=env)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
        assert sweep_state(tmp_path)["counts"]["done"] == 2
    finally:
        subprocess.run([ray, "stop"], capture_output=True, timeout=120, env=env)
