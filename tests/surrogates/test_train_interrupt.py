"""``chaoscontrol surrogate train`` stopped by Ctrl-C (issue 20): one clean line (no traceback), exit status 130, the
checkpoint of the last finished epoch kept, and ``--resume`` continues from it.

The training runs in a child process through the command line and is signalled once its first ``checkpoint.pt`` is
written (it would run for 10^6 epochs otherwise).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from chaoscontrol.apps.cli import main
from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset

#: The command line with SIGINT as Ctrl-C's KeyboardInterrupt even where the tests run with SIGINT ignored (started in
#: the background by a shell without job control, which the child inherits).
CLI = """
import signal, sys
from chaoscontrol.apps.cli import main

signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(main(sys.argv[1:]))
"""
ARGV = ["surrogate", "train", "--model", "resnet", "--model-kwargs", json.dumps({"width": 8, "depth": 1}), "--horizon", "2",
        "--warmup-epochs", "1", "--windows-per-epoch", "8", "--batch-size", "8", "--patience", "1000000", "--no-progress"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    spec = DatasetSpec(n_trajectories=4, steps=6, seed=0, hold=2, fractions=(0.5, 0.25, 0.25), env_kwargs={"burn_in": 1.0},
                       env_id="Lorenz63-Control-v0")
    return generate_dataset(spec, tmp_path_factory.mktemp("data") / "l63.h5", progress=False)


def test_ctrl_c_is_one_line_exit_130_keeps_the_checkpoint_and_resume_continues(data, tmp_path):
    out = tmp_path / "run"
    ckpt = out / "checkpoint.pt"
    argv = [*ARGV, "--data", str(data), "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-c", CLI, *argv, "--epochs", "1000000"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    running = proc.poll() is None
    if running:
        proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert running, f"the training ended before its first checkpoint: {stdout}{stderr}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert proc.returncode == 130, stderr
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "interrupted" in lines[0] and str(ckpt) in lines[0] and "--resume" in lines[0]
    state = torch.load(ckpt, map_location="cpu", weights_only=True)  # whole: every write is atomic
    assert state["epoch"] >= 1 and state["finished"] is None
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left by the interrupted write

    assert main([*argv, "--epochs", str(state["epoch"] + 1), "--resume"]) == 0
    resumed = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert resumed["epoch"] == state["epoch"] + 1 and resumed["finished"] == "epochs"
    assert [h["epoch"] for h in resumed["history"]] == list(range(1, state["epoch"] + 2))
