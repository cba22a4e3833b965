"""chaoscontrol.apps.statistics against cases with a known answer."""

import numpy as np
import pytest

from chaoscontrol.apps.statistics import (aggregate_estimates, curve_bands, iqm, performance_profile,
                                          probability_of_improvement)


def test_iqm_of_a_known_matrix_is_the_mean_of_its_middle_half():
    # 1..8 pooled: the 25 %-trimmed mean keeps 3, 4, 5, 6
    assert iqm(np.arange(1.0, 9.0).reshape(4, 2)) == pytest.approx(4.5)
    assert iqm([0.0, 0.0, 1.0, 100.0]) == pytest.approx(0.5)  # the outlier is trimmed


def test_identical_seeds_give_a_zero_width_interval_and_spread_seeds_do_not():
    est = aggregate_estimates({"same": np.full(5, 0.7), "spread": np.array([0.1, 0.4, 0.5, 0.6, 0.9])}, reps=200, seed=3)
    for k in ("iqm", "mean"):
        assert est["same"][k].low == est["same"][k].high == pytest.approx(0.7)
        assert est["spread"][k].low < est["spread"][k].value < est["spread"][k].high
    assert est["spread"]["mean"].value == pytest.approx(0.5)


def test_intervals_are_reproducible_from_the_seed():
    x = {"a": np.array([0.13, 0.41, 0.52, 0.58, 0.66, 0.71, 0.9, 0.95])}
    a, b, c = (aggregate_estimates(x, reps=200, seed=s)["a"]["mean"] for s in (1, 1, 2))
    assert a == b and a != c


def test_probability_of_improvement_of_separated_and_equal_runs():
    assert probability_of_improvement([2.0, 3.0, 4.0], [0.0, 1.0], reps=100).value == 1.0
    assert probability_of_improvement([0.0, 1.0], [2.0, 3.0], reps=100).high == 0.0
    assert probability_of_improvement([1.0, 1.0], [1.0, 1.0], reps=100).value == 0.5  # ties count one half


def test_performance_profile_is_the_fraction_of_runs_above_tau():
    profile, band = performance_profile(np.array([0.0, 1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 2.5, 3.5]), reps=100)
    np.testing.assert_allclose(profile, [1.0, 0.75, 0.25, 0.0])
    assert np.all(band[0] <= profile + 1e-12) and np.all(profile <= band[1] + 1e-12)


def test_curve_bands_of_identical_runs_are_the_curve():
    mid, band = curve_bands(np.tile([1.0, 2.0, 3.0], (4, 1)), reps=100)
    np.testing.assert_allclose(mid, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(band, [[1.0, 2.0, 3.0]] * 2)


@pytest.mark.parametrize("bad, name", [(np.array([]), "scores"), (np.array([1.0, np.nan]), "finite")])
def test_bad_scores_are_refused(bad, name):
    with pytest.raises(ValueError, match=name):
        aggregate_estimates({"x": bad}, reps=10)


def test_the_bootstrap_touches_no_global_rng():
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    aggregate_estimates({"a": np.array([0.1, 0.4, 0.9])}, reps=50)
    probability_of_improvement([0.1, 0.5], [0.2, 0.3], reps=50)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
