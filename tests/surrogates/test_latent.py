"""The ``latent`` family: the latent RK4 integrator against an analytic solution, the autoencoder path, configs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.surrogates.models import build_model, make_config

ENV = KSControlEnv()
SHAPES = ENV.forcing_fields(np.eye(ENV.action_space.shape[0]))


class LinearDecay(nn.Module):
    """g(h, f) = -rate h: the latent vector field with a known solution."""

    def __init__(self, d: int, rate: float) -> None:
        super().__init__()
        self.d, self.rate = d, rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.rate * x[..., : self.d]


def make(**kwargs):
    torch.manual_seed(0)
    return build_model(make_config("latent", **{"latent_dim": 6, "width": 16, "depth": 1, **kwargs}), SHAPES, 1.185)


@pytest.mark.parametrize("step_size, tol", [(0.125, 1e-6), (0.25, 2e-5)])
def test_latent_rk4_matches_exponential_decay(step_size, tol):
    """With g(h, f) = -h the latent state decays as exp(-interval): RK4's error is O(dt^4) (measured ~3e-7, ~6e-6)."""
    model = make(step_size=step_size)
    d = model.config.latent_dim
    model.vector_field = LinearDecay(d, 1.0)
    h0 = torch.randn(5, d, dtype=torch.float64)
    f = torch.zeros(5, 64, dtype=torch.float64)
    h1 = model.latent_step(h0, f)
    exact = h0 * math.exp(-model.config.interval)
    err = float((h1 - exact).abs().max() / exact.abs().max())
    assert err < tol, err
    assert err > 0  # a real integrator, not the exact exponential


def test_latent_rk4_is_fourth_order():
    """Halving the step cuts the error of dh/dt = -h by about 16."""
    errs = []
    for step in (0.25, 0.125):
        model = make(step_size=step)
        d = model.config.latent_dim
        model.vector_field = LinearDecay(d, 3.0)
        h0 = torch.ones(1, d, dtype=torch.float64)
        h1 = model.latent_step(h0, torch.zeros(1, 64, dtype=torch.float64))
        errs.append(float((h1 - math.exp(-3.0 * model.config.interval)).abs().max()))
    assert 12 < errs[0] / errs[1] < 24, errs  # 16 asymptotically (measured 22 at h*rate = 0.75); 2nd or 3rd order give 4 or 8


def test_untrained_model_is_its_autoencoder_and_conserves_the_mean():
    model = make()
    g = torch.Generator().manual_seed(3)
    u = torch.randn(4, 64, generator=g) + 0.7
    a = torch.rand(4, 4, generator=g) * 2 - 1
    with torch.no_grad():
        out = model(u, a)
        auto = u.mean(-1, keepdim=True) + model.decode(model.encode(u))
    torch.testing.assert_close(out, auto, rtol=0, atol=1e-6)
    torch.testing.assert_close(out.mean(-1), u.mean(-1), rtol=0, atol=1e-5)
    assert model.encode(u).shape == (4, 6)
    # the encoder sees the mean-free field only
    torch.testing.assert_close(model.encode(u + 5.0), model.encode(u), rtol=0, atol=1e-5)


def test_forcing_reaches_the_latent_dynamics():
    model = make()
    with torch.no_grad():
        model.vector_field[-1].weight.normal_(0, 0.5)
    u = torch.randn(2, 64, generator=torch.Generator().manual_seed(1))
    a = torch.tensor([[1.0, -1.0, 0.5, 0.0], [1.0, -1.0, 0.5, 0.0]])
    with torch.no_grad():
        assert not torch.allclose(model(u, a), model(u, torch.zeros_like(a)), atol=1e-4)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"latent_dim": 0}, "latent_dim"), ({"latent_dim": 65}, "latent_dim"), ({"step_size": 0.0}, "step_size"),
     ({"step_size": float("nan")}, "step_size"), ({"latent_dim": 2.5}, "latent_dim")],
)
def test_latent_config_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_config("latent", **kwargs)


def test_fit_basis_gives_the_principal_components_and_the_untrained_autoencoder_projects_on_them():
    """After fit_basis on states that live in a 3-d subspace, the untrained autoencoder with d = 3 reconstructs them
    exactly, with d = 2 it leaves exactly the third component, and the variance fractions are those of the data."""
    g = torch.Generator().manual_seed(0)
    x = torch.linspace(0, 2 * torch.pi, 65)[:-1]
    modes = torch.stack([torch.sin(x), torch.cos(2 * x), torch.sin(3 * x)])  # orthogonal, mean-free
    q, _ = torch.linalg.qr(torch.randn(500, 3, generator=g))  # uncorrelated samples: the principal axes are the modes
    coeffs = q * torch.tensor([3.0, 2.0, 1.0]) * 500**0.5
    states = coeffs @ modes
    for d, tol in ((3, 1e-5), (2, None)):
        model = make(latent_dim=d)
        frac = model.fit_basis(states.numpy())
        assert frac.shape == (64,) and abs(frac.sum() - 1) < 1e-9 and frac[3:].max() < 1e-10
        assert frac[0] > frac[1] > frac[2] > 0
        with torch.no_grad():
            rec = model.decode(model.encode(states))
        if tol is not None:
            torch.testing.assert_close(rec, states, rtol=0, atol=tol)
        else:
            resid = states - rec  # the third mode only: orthogonal to the first two
            third = modes[2] / modes[2].norm()
            expected = (states @ third)[:, None] * third
            torch.testing.assert_close(resid, expected, rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="at least 2"):
        make().fit_basis(np.zeros((1, 64)))
