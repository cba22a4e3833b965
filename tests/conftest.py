"""Shared fixtures of all tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny networks and tensors: torch threads are pure overhead (and oversubscribe a shared 2-core machine; Numba may have reset OpenMP to the core count)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
