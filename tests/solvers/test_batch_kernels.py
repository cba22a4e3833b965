"""Batch kernels: every row of a batch advances bit for bit as that state alone.

``ks_etdrk4_steps_batch`` and ``ks_control_interval_batch`` cut the batch into
blocks of rows (``block_rows``) run in parallel; the blocks use multi-row FFTs,
a single state uses 1-D FFTs. Batch sizes here cross the block sizes (1 row,
one block below the minimum, several blocks of 8..32 rows, a ragged last block).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from chaoscontrol.solvers import (
    KSConfig,
    actuator_centres,
    forcing_basis_spectral,
    gaussian_actuator_shapes,
    ks_coefficients,
    ks_etdrk4_steps,
    ks_etdrk4_steps_batch,
    to_spectral,
)
from chaoscontrol.solvers.control import N_DIAG, ks_control_interval, ks_control_interval_batch
from chaoscontrol.solvers.blocks import MAX_BLOCK_ROWS, MIN_BLOCK_ROWS, block_rows

L, N = 22.0, 64
BATCH_SIZES = [1, 3, 8, 17, 64, 100]
N_STEPS = 6


@pytest.fixture(scope="module")
def setup():
    cfg = KSConfig(L, N, 0.05)
    shapes = gaussian_actuator_shapes(cfg.x, cfg.L, actuator_centres(cfg.L, 4), 0.4)
    return cfg, ks_coefficients(cfg), forcing_basis_spectral(shapes)


def _states(batch: int, seed: int) -> np.ndarray:
    """Different smooth grid states of KS amplitude (a few units), one per row."""
    rng = np.random.default_rng(seed)
    x = L * np.arange(N) / N
    q = np.arange(1, 7)
    amp = rng.uniform(-1.0, 1.0, (batch, q.size))
    phase = rng.uniform(0.0, 2.0 * np.pi, (batch, q.size))
    u = np.einsum("bq,bqn->bn", amp, np.cos(2.0 * np.pi / L * q[None, :, None] * x[None, None, :] + phase[..., None]))
    u -= u.mean(axis=1, keepdims=True)
    return u


def _actions(batch: int, seed: int, n_act: int = 4) -> np.ndarray:
    """Different actions per row, some outside [-1, 1] (clipped by the kernels)."""
    return np.random.default_rng(seed).uniform(-1.3, 1.3, (batch, n_act))


# --------------------------------------------------------------------------- ks_etdrk4_steps_batch


@pytest.mark.parametrize("batch", BATCH_SIZES)
def test_steps_batch_rows_bit_identical_to_single_state(setup, batch):
    cfg, coeffs, basis = setup
    v0 = to_spectral(_states(batch, seed=batch))
    fhat = 0.5 * (_actions(batch, seed=1000 + batch) @ basis)
    v = v0.copy()
    ks_etdrk4_steps_batch(v, fhat, coeffs, N_STEPS)
    assert np.all(np.isfinite(v))
    for i in range(batch):
        vi = v0[i].copy()
        ks_etdrk4_steps(vi, fhat[i].copy(), coeffs, N_STEPS)
        assert np.array_equal(v[i], vi), f"row {i} of a batch of {batch} differs from the single-state kernel"
    # the comparison is not of unchanged data, and the rows are different systems
    assert not np.array_equal(v, v0)
    if batch > 1:
        assert not np.array_equal(v[0], v[1])


def test_steps_batch_row_result_does_not_depend_on_its_neighbours(setup):
    """The same state in different positions of different batches gives the same bits."""
    cfg, coeffs, basis = setup
    v_all = to_spectral(_states(40, seed=7))
    fhat_all = 0.5 * (_actions(40, seed=8) @ basis)
    ref = v_all.copy()
    ks_etdrk4_steps_batch(ref, fhat_all, coeffs, N_STEPS)
    perm = np.random.default_rng(9).permutation(40)
    for sub in (perm[:5], perm[:23], perm):
        v = v_all[sub].copy()
        ks_etdrk4_steps_batch(v, fhat_all[sub].copy(), coeffs, N_STEPS)
        assert np.array_equal(v, ref[sub])


def test_steps_batch_same_bits_on_one_thread_and_on_all_threads(setup):
    cfg, coeffs, basis = setup
    v0 = to_spectral(_states(70, seed=3))
    fhat = 0.5 * (_actions(70, seed=4) @ basis)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (1, before):
            numba.set_num_threads(threads)
            v = v0.copy()
            ks_etdrk4_steps_batch(v, fhat, coeffs, N_STEPS)
            results.append(v)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(results[0], results[1])


# --------------------------------------------------------------------------- ks_control_interval_batch


def _control_batch(setup, v0, actions, max_forcing=0.5, n_steps=5):
    cfg, coeffs, basis = setup
    b = v0.shape[0]
    v = v0.copy()
    u = np.zeros((b, cfg.N))
    diag = np.zeros((b, N_DIAG))
    bad = ks_control_interval_batch(v, actions, basis, max_forcing, coeffs, n_steps, cfg.k, u, diag)
    return bad, v, u, diag


@pytest.mark.parametrize("batch", BATCH_SIZES)
def test_control_interval_batch_rows_bit_identical_to_single(setup, batch):
    cfg, coeffs, basis = setup
    v0 = to_spectral(_states(batch, seed=50 + batch))
    actions = _actions(batch, seed=60 + batch)
    bad, v, u, diag = _control_batch(setup, v0, actions)
    assert bad == -1
    for i in range(batch):
        vi = v0[i].copy()
        ui = np.zeros(cfg.N)
        di = np.zeros(N_DIAG)
        assert ks_control_interval(vi, actions[i].copy(), basis, 0.5, coeffs, 5, cfg.k, ui, di)
        assert np.array_equal(v[i], vi), f"state of row {i} (batch {batch})"
        assert np.array_equal(u[i], ui), f"grid state of row {i} (batch {batch})"
        assert np.array_equal(diag[i], di), f"diagnostics of row {i} (batch {batch})"
    assert np.all(np.isfinite(diag))
    assert np.array_equal(u, np.fft.irfft(v, cfg.N, axis=-1))
    assert np.array_equal(diag[:, 4], np.max(np.abs(u), axis=1))
    if batch > 1:
        assert not np.array_equal(u[0], u[1])


def test_control_interval_batch_reports_blowup_per_row_without_disturbing_others(setup):
    """One row driven to a non-finite state: max|u| = inf there, the other rows as if alone."""
    cfg, coeffs, basis = setup
    batch = 20
    v0 = to_spectral(_states(batch, seed=11))
    actions = _actions(batch, seed=12)
    actions[13] = [1.0, -1.0, 1.0, -1.0]
    # a huge forcing amplitude applied through row 13 only (others get tiny actions)
    actions[np.arange(batch) != 13] *= 1e-6
    bad, v, u, diag = _control_batch(setup, v0, actions, max_forcing=1e4)
    assert bad == -1
    assert diag[13, 4] == math.inf
    others = np.arange(batch) != 13
    assert np.all(np.isfinite(diag[others]))
    ref_bad, ref_v, ref_u, ref_diag = _control_batch(setup, v0[others], actions[others], max_forcing=1e4)
    assert ref_bad == -1
    assert np.array_equal(v[others], ref_v) and np.array_equal(u[others], ref_u)
    assert np.array_equal(diag[others], ref_diag)


@pytest.mark.parametrize("batch", [1, 3, 17, 100])
@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_control_interval_batch_rejects_nonfinite_actions_before_moving_any_row(setup, batch, bad_value):
    cfg, coeffs, basis = setup
    v0 = to_spectral(_states(batch, seed=21))
    actions = _actions(batch, seed=22)
    first = batch // 2
    actions[first, 2] = bad_value
    if first + 1 < batch:
        actions[batch - 1, 0] = np.nan  # a later bad row: the first one is reported
    v = v0.copy()
    u = np.full((batch, cfg.N), 7.0)
    diag = np.full((batch, N_DIAG), 3.0)
    bad = ks_control_interval_batch(v, actions, basis, 0.5, coeffs, 5, cfg.k, u, diag)
    assert bad == first
    assert np.array_equal(v, v0)
    assert np.all(u == 7.0) and np.all(diag == 3.0)


# --------------------------------------------------------------------------- block_rows


@pytest.mark.parametrize("n_threads", [1, 2, 3, 4, 8, 16])
def test_block_rows_covers_the_batch_within_limits_and_splits_over_threads(n_threads):
    for batch in range(1, 400):
        rows = block_rows(batch, n_threads)
        assert isinstance(rows, int)
        assert 1 <= rows <= min(batch, MAX_BLOCK_ROWS)
        assert rows >= min(batch, MIN_BLOCK_ROWS)  # no tiny blocks while the batch has rows for bigger ones
        n_blocks = -(-batch // rows)
        assert n_blocks * rows >= batch and (n_blocks - 1) * rows < batch
        # a thread never gets a block bigger than its share, unless blocks are at the minimum size
        assert rows <= max(MIN_BLOCK_ROWS, -(-batch // n_threads))
        if n_threads == 1:
            assert rows == min(batch, MAX_BLOCK_ROWS)
        elif batch >= 2 * MIN_BLOCK_ROWS:
            assert n_blocks >= 2  # the work is split over threads
        if batch >= MIN_BLOCK_ROWS * n_threads:
            assert n_blocks >= n_threads - 1  # (almost) every thread gets a block


@pytest.mark.parametrize(
    ("batch", "n_threads", "rows"),
    [(1, 2, 1), (3, 2, 3), (8, 2, 8), (16, 2, 8), (17, 2, 9), (64, 2, 32), (100, 2, 32), (1000, 2, 32), (256, 16, 16)],
)
def test_block_rows_values(batch, n_threads, rows):
    assert block_rows(batch, n_threads) == rows


def test_block_rows_defaults_to_numbas_thread_count():
    assert block_rows(100) == block_rows(100, numba.get_num_threads())
