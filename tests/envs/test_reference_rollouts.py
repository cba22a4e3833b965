"""Regression against rollouts recorded before the env-core redesign.

``tests/reference/reference_rollouts.npz`` was written by
``scripts/record_reference_rollouts.py`` on the commit before the env was
rebuilt over pluggable dynamics. Same seeds and actions must give the same
observations, rewards, flags, info values and full states for the single env
and the batched env (through an autoreset and a blow-up).

On the CPU that recorded them the rollouts are identical to the last bit (checked
when the redesign landed). Numba compiles for the host CPU, and another CPU
(vector width, fused multiply-adds) changes the last bits of the solver's sums:
on a second machine the full states differed by at most 7e-13 of their largest
value. So flags, integers, shapes and the pattern of non-finite values must be
equal exactly, float64 arrays to :data:`F64_TOL` and float32 ones (observations)
to :data:`F32_TOL` of their largest magnitude: far below any change of behaviour
(a different forcing, step, reset or reward differs at 1e-3 or more), far above
the machine's rounding.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference" / "reference_rollouts.npz"
#: Tolerances relative to an array's largest magnitude: float64 (states, rewards, info) and float32 (observations,
#: where a 1e-13 change of the state can move the rounding by one unit in the last place, 2**-23).
F64_TOL = 1e-11
F32_TOL = 2.0**-21


def assert_same(now: np.ndarray, expected: np.ndarray, msg: str) -> None:
    """``now`` equals ``expected``: exactly for non-float arrays, to the module's tolerances for floats."""
    assert now.dtype == expected.dtype, msg
    if now.dtype.kind != "f":
        np.testing.assert_array_equal(now, expected, err_msg=msg)
        return
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(np.isfinite(now), finite, err_msg=f"{msg}: the non-finite values moved")
    np.testing.assert_array_equal(now[~finite], expected[~finite], err_msg=msg)  # the same infinities
    if finite.any():
        scale = float(np.max(np.abs(expected[finite])))
        tol = (F64_TOL if now.dtype == np.float64 else F32_TOL) * max(scale, np.finfo(now.dtype).tiny)
        np.testing.assert_allclose(now[finite], expected[finite], rtol=0, atol=tol, err_msg=msg)


def _recorder():
    spec = importlib.util.spec_from_file_location("record_reference_rollouts", ROOT / "scripts" / "record_reference_rollouts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECORDER = _recorder()


@pytest.mark.parametrize("name", list(RECORDER.SCENARIOS))
@pytest.mark.parametrize("mode", ["single", "vector"])
def test_rollout_matches_the_reference(name, mode):
    reference = np.load(REFERENCE)
    kwargs, steps = RECORDER.SCENARIOS[name]
    index = list(RECORDER.SCENARIOS).index(name)
    if mode == "single":
        now = RECORDER.single_rollout(kwargs, steps, seed=100 + index)
    else:
        now = RECORDER.vector_rollout(kwargs, seed=200 + index)
    prefix = f"{name}/{mode}/"
    keys = sorted(k[len(prefix):] for k in reference.files if k.startswith(prefix))
    assert sorted(now) == keys
    for key in keys:
        expected = reference[prefix + key]
        assert now[key].shape == expected.shape, key
        assert_same(now[key], expected, f"{prefix}{key}")
