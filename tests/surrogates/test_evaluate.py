"""Surrogate-vs-truth evaluation and comparison, end to end on a tiny checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from chaoscontrol.apps.cli import main
from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.solvers.attractor import attractor_rms
from chaoscontrol.surrogates.evaluate import EvaluateArgs, compare_surrogates, evaluate_surrogate
from chaoscontrol.surrogates.models import build_model, make_config
from chaoscontrol.surrogates.train import save_surrogate

REQUIRED = (
    "vpt_lyapunov_median", "vpt_lyapunov_q25", "vpt_lyapunov_q75", "blowup_fraction", "mean_dissipation_model",
    "mean_dissipation_truth", "params", "model_transitions_per_s_batch256", "truth_transitions_per_s_batch256",
)
TINY = dict(n_initial=6, n_free=3, free_time=10.0, horizon_lyapunov=1.0)


@pytest.fixture(scope="module")
def identity_checkpoint(tmp_path_factory):
    """An untrained conv model: the identity map u -> u (zero-initialised last layer)."""
    env = KSControlEnv()
    torch.manual_seed(0)
    model = build_model(make_config("conv", width=4, depth=1), env.forcing_fields(np.eye(4)), attractor_rms())
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    save_surrogate(model, env.config_dict(), path)
    return path


def test_report_has_the_required_keys_and_sane_values(identity_checkpoint, tmp_path):
    report = evaluate_surrogate(EvaluateArgs(model=str(identity_checkpoint), out=str(tmp_path), **TINY), progress=False)
    assert all(key in report for key in REQUIRED)
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert all(key in on_disk for key in REQUIRED)
    assert (tmp_path / "report.md").read_text().startswith("# Surrogate evaluation")
    assert (tmp_path / "error_growth.png").stat().st_size > 1000
    # the identity map freezes the state: it must lose track well within one Lyapunov time of chaotic, forced KS
    assert report["vpt_lyapunov_median"] < 1.0
    assert report["vpt_lyapunov_q25"] <= report["vpt_lyapunov_median"] <= report["vpt_lyapunov_q75"]
    # a frozen state never blows up, and the conv model is exactly shift-equivariant
    assert report["blowup_fraction"] == 0.0
    assert report["shift_equivariance_error"] < 1e-6
    assert report["params"] == sum(p.numel() for p in torch.load(identity_checkpoint, weights_only=True)["state_dict"].values()) - 4 * 64 - 2
    truth_d = report["mean_dissipation_truth"]
    assert 0.5 < truth_d < 1.5  # the forced attractor dissipates ~0.9


def test_compare_and_cli(identity_checkpoint, tmp_path, capsys):
    reports = compare_surrogates([str(identity_checkpoint), str(identity_checkpoint)], str(tmp_path / "cmp"), progress=False, **TINY)
    assert len(reports) == 2 and reports[0]["vpt_lyapunov_median"] == reports[1]["vpt_lyapunov_median"]
    assert (tmp_path / "cmp" / "compare.png").exists() and "| 1 | conv |" in (tmp_path / "cmp" / "compare.md").read_text()
    argv = ["surrogate", "evaluate", "--model", str(identity_checkpoint), "--out", str(tmp_path / "ev"), "--no-progress",
            "--n-initial", "4", "--n-free", "2", "--free-time", "5", "--horizon-lyapunov", "0.5"]
    assert main(argv) == 0
    assert main(["surrogate", "evaluate", "--model", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "x")]) == 2
    assert "missing.pt" in capsys.readouterr().err
    with pytest.raises(ValueError, match="n_initial"):
        EvaluateArgs(model=str(identity_checkpoint), n_initial=0)
