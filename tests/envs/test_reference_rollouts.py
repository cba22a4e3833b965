"""Bit-for-bit regression against rollouts recorded before the env-core redesign.

``tests/reference/reference_rollouts.npz`` was written by
``scripts/record_reference_rollouts.py`` on the commit before the env was
rebuilt over pluggable dynamics. Same seeds and actions must give the same
observations, rewards, flags, info values and full states, to the last bit,
for the single env and the batched env (through an autoreset and a blow-up).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference" / "reference_rollouts.npz"


def _recorder():
    spec = importlib.util.spec_from_file_location("record_reference_rollouts", ROOT / "scripts" / "record_reference_rollouts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECORDER = _recorder()


@pytest.mark.parametrize("name", list(RECORDER.SCENARIOS))
@pytest.mark.parametrize("mode", ["single", "vector"])
def test_rollout_is_bit_identical_to_the_reference(name, mode):
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
        np.testing.assert_array_equal(now[key], expected, err_msg=f"{prefix}{key}")
