"""Shared fixtures of the surrogate tests: a tiny dataset and a tiny trained surrogate (session-scoped)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import chaoscontrol  # noqa: F401 - registers KS-Control-v0
from chaoscontrol.surrogates.dataset import DatasetSpec, generate_dataset
from chaoscontrol.surrogates.train import TrainArgs, train_surrogate

SPEC = DatasetSpec(n_trajectories=8, steps=20, actuation="random", seed=3, hold=2, fractions=(0.5, 0.25, 0.25))

TINY = {"width": 16, "depth": 1}


def tiny_args(data, out, **overrides) -> TrainArgs:
    """Tiny, fast training arguments."""
    kwargs = dict(
        family="conv", data=str(data), out=str(out), model_kwargs=dict(TINY), horizon=2, warmup_epochs=1, epochs=2,
        windows_per_epoch=64, batch_size=32, lr=1e-3, patience=10, seed=0, progress=False,
    )
    kwargs.update(overrides)
    return TrainArgs(**kwargs)


def last_layer(model: nn.Module) -> nn.Module:
    """The (zero-initialised) output layer of a surrogate."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d))]
    return layers[-1]


def perturb_last_layer(model: nn.Module, seed: int = 0, std: float = 0.1) -> None:
    """Give the zero-initialised output layer (and any other all-zero layer, e.g. the latent family's
    encoder and decoder corrections) random weights, so the model is no longer the identity."""
    g = torch.Generator().manual_seed(seed)
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d)) and not m.weight.any()]
    for layer in {id(x): x for x in [*layers, last_layer(model)]}.values():
        with torch.no_grad():
            layer.weight.copy_(std * torch.randn(layer.weight.shape, generator=g))
            layer.bias.copy_(std * torch.randn(layer.bias.shape, generator=g))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run on one torch thread: the tensors are tiny, so threads are pure overhead.

    Numba's OpenMP layer (started by the solver's parallel kernels, e.g. in the
    ``dataset_path`` fixture) sets the shared OpenMP thread count to the core count,
    overriding OMP_NUM_THREADS=1; on a loaded machine torch's conv1d/backward then
    runs ~80x slower (measured: the spectral overfit test took 56-101 s instead of 1 s).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def dataset_path(tmp_path_factory):
    """8 trajectories x 20 steps, random actuation held 2 steps; splits 4 / 2 / 2."""
    path = tmp_path_factory.mktemp("data") / "tiny.h5"
    return generate_dataset(SPEC, path, batch=8, progress=False)


@pytest.fixture(scope="session")
def trained_dir(dataset_path, tmp_path_factory):
    """A tiny conv surrogate trained 2 epochs on the tiny dataset."""
    out = tmp_path_factory.mktemp("run_conv")
    torch.manual_seed(0)
    train_surrogate(tiny_args(dataset_path, out))
    return out


@pytest.fixture(scope="session")
def model_path(trained_dir):
    return trained_dir / "model.pt"


@pytest.fixture()
def rng():
    return np.random.default_rng(12345)
