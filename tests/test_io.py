"""Atomic writes (all or nothing, usual permissions), the refusal of an existing output, stale temporaries."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys

import pytest

from chaoscontrol.io import atomic_path, refuse_existing_output, remove_stale_temporaries, write_json_atomic


def test_write_json_atomic_round_trip_and_permissions(tmp_path):
    path = tmp_path / "sub" / "summary.json"
    write_json_atomic(path, {"a": 1.5, "b": [1, 2]})
    assert json.loads(path.read_text()) == {"a": 1.5, "b": [1, 2]}
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in path.parent.iterdir()] == ["summary.json"]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_non_finite_values_are_refused_before_writing(tmp_path):
    path = tmp_path / "s.json"
    with pytest.raises(ValueError):
        write_json_atomic(path, {"x": float("nan")})
    assert not path.exists()


# ======================================================================== existing outputs


def test_a_new_output_may_be_written(tmp_path):
    refuse_existing_output(tmp_path / "new.h5")
    refuse_existing_output(tmp_path / "new.h5", overwrite=True)


@pytest.mark.parametrize("resumable, offered", [(True, "--resume"), (False, None)])
def test_an_existing_output_is_refused_naming_it_and_the_flags(tmp_path, resumable, offered):
    path = tmp_path / "ds.h5"
    path.write_text("result")
    with pytest.raises(ValueError) as info:
        refuse_existing_output(path, resumable=resumable, what="dataset file")
    msg = str(info.value)
    assert str(path) in msg and "dataset file" in msg and "--overwrite" in msg
    assert ("--resume" in msg) == (offered is not None)
    assert path.read_text() == "result"


def test_overwrite_and_resume_let_an_existing_output_through(tmp_path):
    path = tmp_path / "run"
    path.mkdir()
    refuse_existing_output(path, overwrite=True)
    refuse_existing_output(path, resume=True)


def test_present_says_whether_a_result_is_there(tmp_path):
    """A folder that exists but holds no result (``present=False``) is no reason to refuse."""
    refuse_existing_output(tmp_path, present=False)
    with pytest.raises(ValueError, match="--overwrite"):
        refuse_existing_output(tmp_path / "missing", present=True)


def test_resume_needs_something_to_continue(tmp_path):
    with pytest.raises(ValueError, match=r"cannot resume.*checkpoint\.pt"):
        refuse_existing_output(tmp_path / "checkpoint.pt", resume=True)


def test_resume_and_overwrite_together_are_refused(tmp_path):
    with pytest.raises(ValueError, match="--resume.*--overwrite|--overwrite.*--resume"):
        refuse_existing_output(tmp_path / "x", resume=True, overwrite=True)


def test_stale_temporaries_of_an_output_are_removed_and_no_other_file(tmp_path):
    path = tmp_path / "ds.h5"
    stale = [tmp_path / ".ds.h5.abc123.tmp.h5", tmp_path / ".ds.h5.zz_9.tmp.h5"]
    kept = [tmp_path / "ds.h5", tmp_path / ".other.h5.abc.tmp.h5", tmp_path / "ds.h5.abc.tmp.h5", tmp_path / ".ds.h5.abc.h5"]
    for p in stale + kept:
        p.write_text("x")
    assert sorted(remove_stale_temporaries(path)) == sorted(stale)
    assert sorted(tmp_path.iterdir()) == sorted(kept)
    assert remove_stale_temporaries(tmp_path / "nowhere" / "x.h5") == []


def test_stale_temporaries_are_those_a_killed_atomic_write_leaves(tmp_path):
    """A writer killed (SIGKILL) inside ``atomic_path`` leaves its temporary; that one is removed, even with odd names."""
    path = tmp_path / "odd [1]*.json"
    code = ("import os, signal, sys\nfrom chaoscontrol.io import atomic_path\n"
            "with atomic_path(sys.argv[1]) as tmp:\n    tmp.write_text('half')\n    os.kill(os.getpid(), signal.SIGKILL)\n")
    res = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, timeout=120)
    assert res.returncode == -signal.SIGKILL
    (left,) = tmp_path.iterdir()
    assert left.name != path.name
    assert remove_stale_temporaries(path) == [left]
    assert list(tmp_path.iterdir()) == []
