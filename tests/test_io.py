"""Atomic writes: all or nothing, usual permissions."""

from __future__ import annotations

import json
import os
import stat

import pytest

from chaoscontrol.io import atomic_path, write_json_atomic


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
