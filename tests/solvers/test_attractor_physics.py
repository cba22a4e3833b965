"""Statistics of the L = 22 KS attractor and Lyapunov exponents, against the literature
(Cvitanovic, Davidchack & Siminos 2010; docs/design.md section 6) and linear theory."""

from __future__ import annotations

import numpy as np
import pytest

from chaoscontrol.solvers import (
    KSConfig,
    ks_coefficients,
    ks_etdrk4_steps_batch,
    ks_linear_rates,
    leading_lyapunov_exponent,
    to_physical,
    to_spectral,
)

L = 22.0
N = 64
DT = 0.05


@pytest.mark.slow
def test_time_averages_on_the_attractor(attractor_states: np.ndarray) -> None:
    """8 trajectories x t = 1000 after a burn-in of t = 200, sampled every 5 steps.

    <P> = <D> (the time average of dE/dt vanishes on a bounded attractor), and
    <E> ~ 0.70, <D> ~ 0.91, rms(u) ~ 1.17. The derivatives are taken in physical space
    (spectral differentiation), independently of the Parseval sums of the diagnostics.
    """
    cfg = KSConfig(L, N, DT)
    coeffs = ks_coefficients(cfg)
    v = to_spectral(np.array(attractor_states))
    fhat = np.zeros_like(v)
    every = 5
    n_samples = int(round(1000.0 / (every * DT)))
    samples = np.empty((n_samples,) + v.shape, dtype=np.complex128)
    for i in range(n_samples):
        ks_etdrk4_steps_batch(v, fhat, coeffs, every)
        samples[i] = v
    assert np.all(np.isfinite(samples))
    k = cfg.k
    k_odd = k.copy()
    k_odd[-1] = 0.0
    u = to_physical(samples, N)
    u_x = to_physical(1j * k_odd * samples, N)
    u_xx = to_physical(-(k**2) * samples, N)
    energy = np.mean(u**2) / 2
    production = np.mean(u_x**2)
    dissipation = np.mean(u_xx**2)
    rms = np.sqrt(np.mean(u**2))
    assert dissipation == pytest.approx(production, rel=0.02)
    assert energy == pytest.approx(0.70, rel=0.05)
    assert dissipation == pytest.approx(0.91, rel=0.05)
    assert rms == pytest.approx(1.17, rel=0.05)
    # Mean stays zero and every trajectory is chaotic, not settled on an equilibrium.
    assert np.max(np.abs(u.mean(axis=-1))) < 1e-12
    assert np.all(np.std(np.mean(u**2, axis=-1) / 2, axis=0) > 0.05)


@pytest.mark.slow
def test_leading_lyapunov_exponent_at_L22(attractor_states: np.ndarray) -> None:
    """lambda_1 ~ 0.048 at L = 22 (CDS 2010): 8 attractor states, t = 2000 each."""
    cfg = KSConfig(L, N, DT)
    lam = leading_lyapunov_exponent(cfg, np.array(attractor_states), t_total=2000.0, seed=11)
    assert lam.shape == (attractor_states.shape[0],)
    assert np.all(np.isfinite(lam))
    assert np.all(lam > 0)  # chaotic along every trajectory
    assert 0.040 <= float(np.mean(lam)) <= 0.056, lam


def test_lyapunov_exponent_of_unstable_zero_state_is_largest_linear_rate() -> None:
    """u = 0 is an equilibrium; the exponent of infinitesimal separations from it is the
    largest growth rate max(k^2 - k^4) (wavenumber 2 at L = 22). The random initial
    separation biases the estimate low by O(1/t_total)."""
    cfg = KSConfig(L, N, DT)
    rates = ks_linear_rates(cfg)
    assert int(np.argmax(rates)) == 2
    lam = leading_lyapunov_exponent(cfg, np.zeros((3, N)), t_total=1000.0, seed=12)
    np.testing.assert_allclose(lam, rates.max(), rtol=0, atol=0.01)


def test_lyapunov_input_validation() -> None:
    cfg = KSConfig(L, N, DT)
    with pytest.raises(ValueError, match="N=64"):
        leading_lyapunov_exponent(cfg, np.zeros((2, 32)), 10.0)
    with pytest.raises(ValueError, match="t_total"):
        leading_lyapunov_exponent(cfg, np.zeros(N), 0.0)
    with pytest.raises(ValueError, match="renorm_time"):
        leading_lyapunov_exponent(cfg, np.zeros(N), 10.0, renorm_time=-1.0)


def test_lyapunov_exponent_of_stable_zero_state_is_its_slowest_decay_rate():
    """At L = 5 (< 2 pi) u = 0 is linearly stable: lambda_1 = k_1^2 - k_1^4 (regression: no drift of the mean mode)."""
    from chaoscontrol.solvers import KSConfig, ks_linear_rates, leading_lyapunov_exponent

    cfg = KSConfig(L=5.0, N=16, dt=0.05)
    expected = ks_linear_rates(cfg)[1]
    lam = leading_lyapunov_exponent(cfg, np.zeros(cfg.N), 800.0, seed=0)
    assert abs(lam[0] - expected) < 0.01
