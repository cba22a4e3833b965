"""Interrupted dataset generation: a SIGKILL, Ctrl-C or SIGTERM keeps the parts written, ``--resume`` continues them into the
file an uninterrupted run writes (every dataset and attribute equal), and nothing temporary is left.

The generation runs in a child process through the command line, slowed down (each env step sleeps) so that it is
interrupted after a few of its one-trajectory parts are written.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

import chaoscontrol.envs.ks_vector as ks_vector
from chaoscontrol.apps.cli import main
from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset, load_dataset
from chaoscontrol.surrogates.dataset_parts import PartStore, parts_folder

SPEC = DatasetSpec(n_trajectories=6, steps=8, seed=4, hold=2, fractions=(0.5, 0.25, 0.25), env_kwargs={"burn_in": 2.0})
ARGV = ["dataset", "generate", "--trajectories", "6", "--steps", "8", "--seed", "4", "--hold", "2", "--batch", "1",
        "--fractions", "0.5", "0.25", "0.25", "--env-kwargs", json.dumps(SPEC.env_kwargs), "--no-progress"]
#: The command line, each env step slowed down by 50 ms. SIGINT is Ctrl-C's KeyboardInterrupt even where the tests
#: run with SIGINT ignored (started in the background by a shell without job control, which the child inherits).
SLOW_CLI = """
import signal, sys, time
import chaoscontrol.envs.ks_vector as ks_vector
from chaoscontrol.apps.cli import main

step = ks_vector.KSControlVectorEnv.step

def slow_step(self, actions):
    time.sleep(0.05)
    return step(self, actions)

ks_vector.KSControlVectorEnv.step = slow_step
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """The dataset of :data:`SPEC`, generated in one go (in another batch size: the data do not depend on it)."""
    return generate_dataset(SPEC, tmp_path_factory.mktemp("whole") / "ds.h5", batch=6, progress=False)


def _parts(out: Path) -> list[Path]:
    return sorted(parts_folder(out).glob("part_*.npz")) if parts_folder(out).is_dir() else []


def _interrupt(out: Path, sig: int, parts: int = 2) -> subprocess.CompletedProcess:
    """Run the slowed-down generation into ``out`` and send ``sig`` once ``parts`` parts are written."""
    proc = subprocess.Popen([sys.executable, "-c", SLOW_CLI, *ARGV, "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while len(_parts(out)) < parts and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    running = proc.poll() is None
    if running:
        proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=300)
    assert running, f"the generation ended before {parts} parts were written: {stdout}{stderr}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def assert_same_file(a: Path, b: Path) -> None:
    """Every dataset (values, dtype, shape, HDF5 chunks) and every attribute of two HDF5 files are equal."""
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert sorted(fa) == sorted(fb)
        for key in fa:
            assert fa[key].dtype == fb[key].dtype and fa[key].shape == fb[key].shape, key
            assert fa[key].chunks == fb[key].chunks, key
            np.testing.assert_array_equal(fa[key][()], fb[key][()], err_msg=key)
        assert dict(fa.attrs) == dict(fb.attrs)


def test_sigkill_then_resume_gives_the_uninterrupted_file_and_no_temporaries(tmp_path, uninterrupted, capsys):
    out = tmp_path / "ds.h5"
    res = _interrupt(out, signal.SIGKILL)
    assert res.returncode == -signal.SIGKILL
    kept = _parts(out)
    assert len(kept) >= 2 and not out.exists()
    stale = tmp_path / f".{out.name}.abc123.tmp.h5"  # what a kill while the file is assembled would leave
    stale.write_bytes(b"half a file")

    # a rerun without --resume is refused, naming what is there and the flag
    assert main([*ARGV, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(parts_folder(out)) in err and "--resume" in err and "--overwrite" in err
    assert _parts(out) == kept

    assert main([*ARGV, "--out", str(out), "--resume"]) == 0
    assert_same_file(out, uninterrupted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds.h5"]  # no parts, no temporaries


def test_ctrl_c_is_one_line_and_exit_130_and_resume_continues(tmp_path, uninterrupted, capsys):
    out = tmp_path / "ds.h5"
    res = _interrupt(out, signal.SIGINT)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 130, res.stderr
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    kept = len(_parts(out))
    assert f"kept {kept} of 6 trajectories" in lines[0] and str(parts_folder(out)) in lines[0] and "--resume" in lines[0]
    assert not out.exists()
    assert main([*ARGV, "--out", str(out), "--resume"]) == 0
    assert_same_file(out, uninterrupted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds.h5"]


def test_sigterm_is_handled_as_ctrl_c_exit_143_and_resume_continues(tmp_path, uninterrupted):
    """A scheduler's stop (SIGTERM) keeps the finished parts, says how to resume in one line and exits 128 + 15."""
    out = tmp_path / "ds.h5"
    res = _interrupt(out, signal.SIGTERM)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 143, res.stderr
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    kept = len(_parts(out))
    assert kept >= 2 and f"kept {kept} of 6 trajectories" in lines[0] and "--resume" in lines[0]
    assert not out.exists()
    assert main([*ARGV, "--out", str(out), "--resume"]) == 0
    assert_same_file(out, uninterrupted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds.h5"]


def test_resume_verifies_the_parts_and_regenerates_a_corrupt_one(tmp_path, uninterrupted, monkeypatch):
    out = tmp_path / "ds.h5"
    _ctrl_c_after_parts(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(SPEC, out, batch=2, progress=False)
    monkeypatch.undo()
    parts = _parts(out)
    assert len(parts) == 2
    data = dict(np.load(parts[1], allow_pickle=False))
    data["states"] = data["states"] + 1e-9  # bit rot: the checksum no longer matches
    np.savez(parts[1], **data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        generate_dataset(SPEC, out, batch=2, progress=False, resume=True)
    assert any(parts[1].name in str(w.message) and "checksum" in str(w.message) for w in caught)
    assert_same_file(out, uninterrupted)


def test_resume_of_another_spec_is_refused_naming_the_differences(tmp_path, monkeypatch):
    out = tmp_path / "ds.h5"
    _ctrl_c_after_parts(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(SPEC, out, batch=1, progress=False)
    monkeypatch.undo()
    other = dataclasses.replace(SPEC, seed=5, steps=9)
    with pytest.raises(ValueError) as info:
        generate_dataset(other, out, batch=1, progress=False, resume=True)
    msg = str(info.value)
    assert str(parts_folder(out)) in msg and "seed" in msg and "steps" in msg and "--overwrite" in msg
    assert len(_parts(out)) == 1
    generate_dataset(other, out, batch=3, progress=False, overwrite=True)  # --overwrite discards the parts
    assert load_dataset(out).spec["seed"] == 5 and not parts_folder(out).exists()


def test_an_interruption_before_any_part_keeps_nothing_and_says_so(tmp_path, monkeypatch):
    out = tmp_path / "ds.h5"
    step = ks_vector.KSControlVectorEnv.step
    calls = iter(range(3))

    def step_then_ctrl_c(self, actions):
        if next(calls, None) is None:
            raise KeyboardInterrupt
        return step(self, actions)

    monkeypatch.setattr(ks_vector.KSControlVectorEnv, "step", step_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt) as info:
        generate_dataset(SPEC, out, batch=6, progress=False)
    monkeypatch.undo()
    assert "nothing was kept" in str(info.value)
    assert list(tmp_path.iterdir()) == []
    generate_dataset(SPEC, out, batch=6, progress=False)  # a plain rerun: nothing to refuse


def test_a_failure_keeps_the_parts_written(tmp_path, monkeypatch):
    """A crash (here a blow-up of a later trajectory) loses none of the parts already written."""
    out = tmp_path / "ds.h5"
    _ctrl_c_after_parts(monkeypatch, 3, RuntimeError("blew up"))
    with pytest.raises(RuntimeError, match="blew up"):
        generate_dataset(SPEC, out, batch=1, progress=False)
    assert len(_parts(out)) == 3 and not out.exists()


def _ctrl_c_after_parts(monkeypatch, n: int, error: BaseException | None = None) -> None:
    """Make the generation raise ``error`` (default: Ctrl-C's KeyboardInterrupt) once ``n`` parts are written."""
    write = PartStore.write
    calls = {"n": 0}

    def write_then_stop(self, *args, **kwargs):
        if calls["n"] >= n:
            raise error or KeyboardInterrupt
        calls["n"] += 1
        return write(self, *args, **kwargs)

    monkeypatch.setattr(PartStore, "write", write_then_stop)
