"""rms(u) of the unforced attractor, the unit of u of the sensor-noise levels and the surrogates."""

from __future__ import annotations

from chaoscontrol.solvers import attractor_rms


def test_attractor_rms_matches_the_reference() -> None:
    rms = attractor_rms(22.0, 64, 0.05)
    assert 1.15 <= rms <= 1.20  # rms(u) ~1.17 on the L = 22 attractor (Cvitanovic, Davidchack & Siminos 2010)
    assert attractor_rms(22.0, 64, 0.05) == rms  # deterministic (and cached)
