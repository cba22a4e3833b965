"""Run state that tells the truth (issue 20, item 4): the heartbeat in ``status.json``, a killed run read as stopped,
SIGINT of a run started in the background, a corrupt latest checkpoint, and a resume recorded in ``config.json``.

The two real training processes (``chaoscontrol train`` started with a shell's ``&``) are started together by one
fixture, so their start-up (imports, compilation) is paid once; each trains a tiny PPO until it is stopped.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.agents.training import loop, read_status, run_status, train_agent
from chaoscontrol.agents.training.checkpoints import UNREADABLE, check_run_folder
from chaoscontrol.agents.training.status import HEARTBEAT_TIMEOUT_S, process_start

from tiny_runs import targs

HP = '{"n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {"net_arch": [8]}}'
REPO = Path(__file__).resolve().parents[2]
#: Seconds a background run may take to write its first checkpoint (imports and compilation on a loaded machine).
START_S = 240.0


def train_in_background(out: Path) -> subprocess.Popen:
    """``chaoscontrol train ... &`` in a non-interactive shell (which starts the job with SIGINT ignored); the
    shell prints the job's pid and waits for it, exiting with its status."""
    cmd = [sys.executable, "-m", "chaoscontrol.apps.cli", "train", "--algo", "ppo", "--timesteps", "100000", "--out", str(out),
           "--hyperparams", HP, "--max-episode-steps", "20", "--eval-freq", "0", "--checkpoint-freq", "64", "--env-kwargs",
           '{"burn_in": 10.0}', "--no-progress"]
    script = " ".join(f"'{c}'" for c in cmd) + f" 2> '{out}.stderr' & echo $!; wait $!"
    return subprocess.Popen(["bash", "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)


def wait_for_checkpoint(out: Path, shell: subprocess.Popen) -> dict:
    """The status of a background run once its heartbeat names a checkpoint."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        assert shell.poll() is None, Path(f"{out}.stderr").read_text()
        try:
            status = json.loads((out / "status.json").read_text())
        except (OSError, ValueError):
            status = {}
        if status.get("last_checkpoint"):
            return status
        time.sleep(0.5)
    pytest.fail(f"no checkpoint in {out} after {START_S} s")


@pytest.fixture(scope="module")
def background_runs(tmp_path_factory):
    """Two training runs started in the background, with their job's pid: {"sigint": ..., "sigkill": ...}."""
    root = tmp_path_factory.mktemp("background")
    runs = {}
    for name in ("sigint", "sigkill"):
        shell = train_in_background(root / name)
        runs[name] = {"out": root / name, "shell": shell, "pid": int(shell.stdout.readline())}
    yield runs
    for run in runs.values():
        if run["shell"].poll() is None:
            os.kill(run["pid"], signal.SIGKILL)
            run["shell"].wait(60)


def test_a_shell_starts_background_jobs_with_sigint_ignored():
    """The premise of the SIGINT test: without a handler of its own, such a run would never see Ctrl-C or kill -INT."""
    probe = "import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"
    done = subprocess.run(["bash", "-c", f"'{sys.executable}' -c '{probe}' & wait"], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True"


def test_background_run_stops_cleanly_on_sigint(background_runs):
    run = background_runs["sigint"]
    status = wait_for_checkpoint(run["out"], run["shell"])
    assert status["state"] == "running" and status["pid"] == run["pid"] and status["host"] == socket.gethostname()
    assert run_status(run["out"]) == "running"
    os.kill(run["pid"], signal.SIGINT)
    run["shell"].wait(120)
    err = Path(f"{run['out']}.stderr").read_text()
    assert run["shell"].returncode == 130, err
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    status = json.loads((run["out"] / "status.json").read_text())
    assert status["state"] == "interrupted" and run_status(run["out"]) == "interrupted"
    assert status["last_checkpoint"] == f"checkpoints/step_{status['timesteps']}.zip"
    assert (run["out"] / status["last_checkpoint"]).is_file()
    assert (run["out"] / "checkpoints" / f"step_{status['timesteps']}.policy.json").is_file()


def test_status_after_sigkill_reads_as_stopped(background_runs):
    run = background_runs["sigkill"]
    seen = wait_for_checkpoint(run["out"], run["shell"])
    os.kill(run["pid"], signal.SIGKILL)
    run["shell"].wait(60)
    assert json.loads((run["out"] / "status.json").read_text())["state"] == "running"  # nothing could write more
    state = run_status(run["out"])
    assert state.startswith("stopped (last seen ") and f"pid {run['pid']}" in state, state
    status = read_status(run["out"])
    assert status.stopped and not status.live and status.timesteps >= seen["timesteps"]
    # a new run there is refused, saying what is there
    with pytest.raises(ValueError, match=r"stopped \(last seen"):
        check_run_folder(targs(run["out"]), resume=False)


def test_stale_and_live_heartbeats(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        now = time.time()
        base = {"state": "running", "timesteps": 64, "last_checkpoint": "checkpoints/step_64.zip", "updated_at": now,
                "pid": sleeper.pid, "host": socket.gethostname(), "process_start": process_start(sleeper.pid),
                "heartbeat_timeout_s": HEARTBEAT_TIMEOUT_S}
        cases = [
            ({}, "running"),  # a live process of this host, a fresh heartbeat
            ({"updated_at": now - 2 * HEARTBEAT_TIMEOUT_S}, "stopped"),  # no heartbeat for too long
            ({"process_start": "1"}, "stopped"),  # the pid now belongs to another process
            ({"host": "elsewhere", "pid": 1}, "running"),  # another host: only the heartbeat's age tells
            ({"host": "elsewhere", "updated_at": now - 2 * HEARTBEAT_TIMEOUT_S}, "stopped"),
            ({"state": "finished", "updated_at": now - 1e6}, "finished"),  # only a running state goes stale
        ]
        for change, expected in cases:
            (out / "status.json").write_text(json.dumps({**base, **change}))
            assert run_status(out).split(" ")[0] == expected, change
        (out / "status.json").write_text(json.dumps(base))
        with pytest.raises(ValueError, match=f"pid {sleeper.pid}"):  # two processes must not train one folder
            check_run_folder(targs(out), resume=True)
    finally:
        sleeper.kill()
        sleeper.wait()
    (out / "status.json").write_text(json.dumps(base))
    assert run_status(out).startswith("stopped (last seen ")  # the process is gone
    (out / "status.json").write_text(json.dumps({"state": "running", "timesteps": 0}))  # an older version's status
    os.utime(out / "status.json", (now - 2 * HEARTBEAT_TIMEOUT_S,) * 2)
    assert run_status(out).startswith("stopped (last seen ")


def test_a_corrupt_latest_checkpoint_resumes_from_the_previous_one(tmp_path, monkeypatch):
    out = tmp_path / "ppo"
    train_agent(targs(out, timesteps=128))
    weights = out / "checkpoints" / "step_128.policy.pt"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # truncated (a full disk, a crash)
    started = []
    real = loop.RunCallback

    def recording(*args, **kwargs):
        cb = real(*args, **kwargs)
        on_start = cb._on_training_start
        cb._on_training_start = lambda: (started.append(cb.model.num_timesteps), on_start())
        return cb

    monkeypatch.setattr(loop, "RunCallback", recording)
    with pytest.warns(RuntimeWarning, match="step_128"):
        train_agent(targs(out, timesteps=192), resume=True)
    assert started == [64]  # the previous checkpoint
    assert sorted(p.name for p in (out / "checkpoints" / UNREADABLE / "step_128").iterdir()) == [
        "step_128.policy.json", "step_128.policy.pt", "step_128.zip"]  # kept aside, not deleted
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "finished" and status["timesteps"] == 192
    config = json.loads((out / "config.json").read_text())
    assert config["args"]["timesteps"] == 192 and [s["from_step"] for s in config["sessions"]] == [0, 64]
    # with no readable checkpoint left, the resume says so
    for path in (out / "checkpoints").glob("step_*.policy.json"):
        path.write_text("{")
    with pytest.warns(RuntimeWarning), pytest.raises(ValueError, match="no readable checkpoint"):
        train_agent(targs(out, timesteps=256), resume=True)
    assert sorted(p.name for p in (out / "checkpoints" / UNREADABLE).iterdir()) == ["step_128", "step_128.1", "step_192"]


def test_heartbeat_at_every_checkpoint_and_evaluation(tmp_path, monkeypatch):
    from chaoscontrol.agents.training import status as status_module

    beats = []
    real = status_module.Heartbeat.beat

    def beat(self, state, timesteps, checkpoint=None):
        beats.append((state, timesteps, None if checkpoint is None else Path(checkpoint).name))
        real(self, state, timesteps, checkpoint)

    monkeypatch.setattr(status_module.Heartbeat, "beat", beat)
    train_agent(targs(tmp_path / "run", timesteps=128, eval_freq=32, checkpoint_freq=64))
    assert beats[0] == ("running", 0, None) and beats[-1] == ("finished", 128, "step_128.zip")
    assert ("running", 64, "step_64.zip") in beats  # a checkpoint
    assert [b[1] for b in beats if b[0] == "running" and b[2] is None][1:] == [32, 64, 96]  # the evaluations
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert {"state", "timesteps", "wall_s", "last_checkpoint", "updated_at", "pid", "host"} <= set(status)
    assert status["pid"] == os.getpid() and status["wall_s"] > 0
