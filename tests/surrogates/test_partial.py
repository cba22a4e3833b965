"""The ``partial`` family: sensor-space delay-embedding model, its observer, training, refusal by the env, evaluation."""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.solvers.attractor import attractor_rms
from chaoscontrol.surrogates.base import remove_mean
from chaoscontrol.surrogates.dataset import load_dataset
from chaoscontrol.surrogates.evaluate import EvaluateArgs, evaluate_surrogate
from chaoscontrol.surrogates.metrics import LYAPUNOV_EXPONENT
from chaoscontrol.surrogates.models import build_model, make_config
from chaoscontrol.surrogates.partial import PartialConfig, PartialSurrogate
from chaoscontrol.surrogates.train import _windows, load_surrogate, save_surrogate, train_surrogate

from .conftest import TINY, perturb_last_layer, tiny_args

ENV = KSControlEnv()
SHAPES = ENV.forcing_fields(np.eye(ENV.action_space.shape[0]))
S, NA, N, L = 8, 4, 64, 22.0
PARTIAL = {"window": 3, **TINY, "estimate_state": True}
EVAL = dict(n_initial=6, n_free=3, free_time=10.0, horizon_lyapunov=0.5)


def make(u_scale: float = 1.2, **kwargs) -> PartialSurrogate:
    torch.manual_seed(0)
    return build_model(make_config("partial", **{**PARTIAL, **kwargs}), SHAPES, u_scale)


def random_inputs(b: int, w: int, n_actions: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, w, S, generator=g), torch.rand(b, n_actions, NA, generator=g) * 2 - 1


def smooth_states(b: int, t: int, seed: int = 0) -> torch.Tensor:
    """Random fields (b, t, N) made of the lowest Fourier modes, varying in time."""
    g = torch.Generator().manual_seed(seed)
    x = torch.arange(N) * L / N
    modes = torch.stack([f(2 * math.pi * m * x / L) for m in range(1, 5) for f in (torch.sin, torch.cos)])  # (8, N)
    return torch.randn(b, t, modes.shape[0], generator=g) @ modes + 0.3


# 1. shapes and shape errors


def test_shapes_of_forward_estimate_and_rollout():
    model = make()
    w = model.config.window
    y, a = random_inputs(5, w, w)
    with torch.no_grad():
        assert model(y, a).shape == (5, S)
        est = model.estimate(y, a[:, : w - 1])
        assert est.shape == (5, N)
        torch.testing.assert_close(est.mean(-1), torch.zeros(5), rtol=0, atol=1e-5)
        assert est.abs().max() > 1e-3  # the observer's output layer is not zero: a real estimate, not a trivial zero
        _, acts = random_inputs(5, w, w - 1 + 4, seed=1)
        pred = model.rollout(y, acts)
        assert pred.shape == (5, 4, S)
        pred2, ests = model.rollout(y, acts, estimates=True)
        assert pred2.shape == (5, 4, S) and ests.shape == (5, 4, N)
        torch.testing.assert_close(pred2, pred, rtol=0, atol=0)
        torch.testing.assert_close(ests.mean(-1), torch.zeros(5, 4), rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "y_shape, a_shape",
    [((5, 2, S), (5, 3, NA)), ((5, 3, 7), (5, 3, NA)), ((5, 3, S), (5, 2, NA)), ((5, 3, S), (5, 3, 3)),
     ((5, 3, S), (4, 3, NA)), ((3, S), (3, NA)), ((5, 3, S), (5, 3 * NA))],
)
def test_forward_rejects_wrong_shapes(y_shape, a_shape):
    model = make()
    with pytest.raises(ValueError, match=r"readings \(B, 3, 8\) and actions \(B, 3, 4\)"):
        model(torch.zeros(y_shape), torch.zeros(a_shape))


def test_estimate_rejects_wrong_shapes_and_a_model_without_observer():
    model = make()
    y, a = random_inputs(2, 3, 3)
    with pytest.raises(ValueError, match=r"readings \(B, 3, 8\) and actions \(B, 2, 4\)"):
        model.estimate(y, a)  # W actions instead of W - 1
    with pytest.raises(ValueError, match=r"readings \(B, 3, 8\) and actions \(B, 2, 4\)"):
        model.estimate(y[:, 1:], a[:, 1:])
    no_obs = make(estimate_state=False)
    assert no_obs.observer is None
    with pytest.raises(ValueError, match="estimate_state"):
        no_obs.estimate(y, a[:, 1:])
    with pytest.raises(ValueError, match="estimate_state"):
        no_obs.rollout(y, a, estimates=True)


def test_rollout_needs_actions_covering_the_window():
    model = make()
    y, a = random_inputs(2, 3, 2)
    with pytest.raises(ValueError, match="W = 3"):
        model.rollout(y, a)  # W - 1 actions: no prediction possible
    with torch.no_grad():
        assert model.rollout(y, torch.cat([a, a[:, :1]], dim=1)).shape == (2, 1, S)  # W actions: one prediction
    with pytest.raises(ValueError, match=r"\(B, 3, 8\)"):
        model.rollout(y[:, 1:], torch.cat([a, a[:, :1]], dim=1))  # a window of W - 1 readings


# 2. persistence


def test_untrained_model_predicts_persistence():
    model = make(u_scale=1.7)
    y, a = random_inputs(6, 3, 3 + 4)
    with torch.no_grad():
        torch.testing.assert_close(model(y, a[:, :3]), y[:, -1], rtol=0, atol=0)
        pred = model.rollout(y, a)
    torch.testing.assert_close(pred, y[:, -1:].expand(6, 5, S), rtol=0, atol=0)


# 3. readings


def test_readings_at_grid_sensors_are_the_grid_values():
    model = make()
    assert model.config.sensors == tuple(i * L / 8 for i in range(8))
    u = torch.randn(3, 5, N, generator=torch.Generator().manual_seed(2))
    y = model.readings(u)
    assert y.shape == (3, 5, S)
    torch.testing.assert_close(y, u[..., :: N // 8], rtol=0, atol=1e-12)


def test_readings_at_off_grid_sensors_interpolate_the_field():
    model = make(sensors=(1.3, 7.7, 21.9))
    assert model.n_sensors == 3
    x = torch.arange(N, dtype=torch.float64) * L / N

    def field(x):
        return torch.sin(2 * math.pi * x / L) + 0.5 * torch.cos(4 * math.pi * x / L)

    y = model.readings(field(x).float())
    expected = field(torch.tensor([1.3, 7.7, 21.9], dtype=torch.float64)).float()
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-5)
    # not a nearest-grid-point reading
    assert (y - field(x)[[4, 22, 63]].float()).abs().max() > 1e-2
    # and the model's layers are sized for 3 sensors
    y_w, a = random_inputs(2, 3, 3)
    with torch.no_grad():
        assert model(y_w[..., :3], a).shape == (2, 3)
        assert model.estimate(y_w[..., :3], a[:, 1:]).shape == (2, N)


# 4. window handling of rollout


def fake_forward(y_window: torch.Tensor, a_window: torch.Tensor) -> torch.Tensor:
    """An order-sensitive function of the window: weighted mean of the readings plus weighted sum of the actions."""
    w = y_window.shape[1]
    tw = torch.arange(1, w + 1, dtype=y_window.dtype)
    aw = torch.arange(1, a_window.shape[2] + 1, dtype=y_window.dtype) / 10
    return (tw[None, :, None] * y_window).sum(1) / tw.sum() + (tw[None, :, None] * a_window * aw).sum((1, 2))[:, None]


def fake_estimate(y_window: torch.Tensor, a_past: torch.Tensor) -> torch.Tensor:
    """Hands back its inputs, flattened and zero-padded to N."""
    flat = torch.cat([y_window.flatten(1), a_past.flatten(1)], dim=1)
    return torch.nn.functional.pad(flat, (0, N - flat.shape[1]))


@pytest.mark.parametrize("window", [1, 3])
def test_rollout_slides_the_window_over_predictions_and_actions(window):
    model = make(window=window)
    model.forward = fake_forward  # nn.Module.__call__ dispatches to the instance attribute
    model.estimate = fake_estimate
    h = 5
    y0, acts = random_inputs(2, window, window - 1 + h, seed=4)
    y0, acts = y0.double(), acts.double()
    pred, ests = model.rollout(y0, acts, estimates=True)
    # by hand: the history of readings, true then predicted; step k sees readings and actions n-W+1+k .. n+k
    hist = [y0[:, j] for j in range(window)]
    for k in range(h):
        tw = np.arange(1, window + 1)
        y_next = sum(tw[j] * hist[k + j] for j in range(window)) / tw.sum()
        y_next = y_next + sum(tw[j] * (acts[:, k + j] * torch.arange(1, NA + 1) / 10).sum(-1)[:, None] for j in range(window))
        hist.append(y_next)
        torch.testing.assert_close(pred[:, k], y_next, rtol=1e-12, atol=1e-12)
        # the estimate after step k: readings n-W+2+k .. n+1+k, actions n-W+2+k .. n+k
        want = torch.cat([torch.stack(hist[k + 1 : k + 1 + window], dim=1).flatten(1), acts[:, k + 1 : k + window].flatten(1)], 1)
        torch.testing.assert_close(ests[:, k, : want.shape[1]], want, rtol=0, atol=1e-12)
        assert not ests[:, k, want.shape[1] :].any()


# 5. window_loss


def test_window_loss_is_zero_for_an_exact_model_and_the_persistence_error_otherwise():
    model = make(u_scale=1.3, estimate_state=False)
    w, h = 3, 4
    g = torch.Generator().manual_seed(5)
    acts = torch.rand(4, w - 1 + h, NA, generator=g) * 2 - 1
    still = smooth_states(4, 1).expand(4, w + h, N)  # readings constant in time: persistence is exact
    with torch.no_grad():
        assert float(model.window_loss(still, acts)) < 1e-12
        moving = smooth_states(4, w + h, seed=6)
        loss = float(model.window_loss(moving, acts))
    y = moving[..., :: N // 8]
    expected = float(torch.mean((y[:, w - 1 : w] - y[:, w:]) ** 2)) / 1.3**2  # persistence of y_n over the horizon
    assert loss > 0.1
    assert loss == pytest.approx(expected, rel=1e-5)


def test_window_loss_adds_the_state_estimate_error_of_the_last_true_state():
    model = make(u_scale=1.3)
    w, h = 3, 2
    acts = torch.rand(3, w - 1 + h, NA, generator=torch.Generator().manual_seed(7)) * 2 - 1
    states = smooth_states(3, w + h, seed=8)
    with torch.no_grad():
        loss = float(model.window_loss(states, acts))
        y = model.readings(states)
        est = model.estimate(y[:, :w], acts[:, : w - 1])
    u_n = states[:, w - 1] - states[:, w - 1].mean(-1, keepdim=True)
    expected = (float(torch.mean((y[:, w - 1 : w] - y[:, w:]) ** 2)) + float(torch.mean((est - u_n) ** 2))) / 1.3**2
    assert loss == pytest.approx(expected, rel=1e-5)
    # the estimate term is the one of u_n, not of a neighbour
    wrong = states[:, w] - states[:, w].mean(-1, keepdim=True)
    assert abs(float(torch.mean((est - wrong) ** 2)) - float(torch.mean((est - u_n) ** 2))) > 1e-3


# 6. gradients


def test_gradients_reach_every_parameter():
    model = make()
    perturb_last_layer(model, seed=1)
    assert model.observer is not None
    states = smooth_states(4, 3 + 2, seed=9)
    acts = torch.rand(4, 3 - 1 + 2, NA, generator=torch.Generator().manual_seed(9)) * 2 - 1
    model.window_loss(states, acts).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().max() > 0, name
    names = {name.split(".")[0] for name, _ in model.named_parameters()}
    assert names == {"dynamics", "observer"}


# 7. training end to end


@pytest.fixture(scope="module")
def trained_partial(dataset_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("run_partial")
    args = tiny_args(dataset_path, out, family="partial", model_kwargs=dict(PARTIAL), horizon=2, epochs=4, lr=1e-2)
    return train_surrogate(args)


def test_training_saves_a_model_with_the_dataset_sensors_that_reloads(trained_partial, dataset_path):
    history = json.loads((trained_partial.parent / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert all(math.isfinite(h["train_loss"]) and math.isfinite(h["val_loss"]) for h in history)
    payload = torch.load(trained_partial, map_location="cpu", weights_only=True)
    data_sensors = load_dataset(dataset_path, "train").env_config["sensors"]
    assert payload["config"]["family"] == "partial"
    assert payload["config"]["sensors"] == [float(x) for x in data_sensors]
    assert payload["config"]["window"] == 3 and payload["config"]["estimate_state"] is True
    model, env_config = load_surrogate(trained_partial)
    assert isinstance(model, PartialSurrogate) and not model.training
    assert model.config.sensors == tuple(data_sensors)
    assert env_config["sensors"] == data_sensors
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, payload["state_dict"][k], rtol=0, atol=0)
    y, a = random_inputs(3, 3, 3)
    with torch.no_grad():
        assert not torch.allclose(model(y, a), y[:, -1], atol=1e-6)  # trained: no longer persistence


def test_tiny_batch_overfit_lowers_the_window_loss(trained_partial, dataset_path):
    model, _ = load_surrogate(trained_partial)
    model.train()
    states, actions = _windows(load_dataset(dataset_path, "train"), model.context - 1 + 2)
    assert states.shape[1:] == (3 + 2, N) and actions.shape[1:] == (3 - 1 + 2, NA)
    pick = torch.tensor([0, 5, 17, 30])
    states, actions = states[pick], actions[pick]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    with torch.no_grad():
        first = float(model.window_loss(states, actions))
    for _ in range(300):
        loss = model.window_loss(states, actions)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        last = float(model.window_loss(states, actions))
    assert last < first / 10, (first, last)


# 8. a window longer than the data


def test_window_longer_than_the_trajectories_is_refused(dataset_path, tmp_path):
    args = tiny_args(dataset_path, tmp_path / "long", family="partial", model_kwargs={**PARTIAL, "window": 50}, horizon=2)
    with pytest.raises(ValueError, match="window"):
        train_surrogate(args)


# 9. config errors


@pytest.mark.parametrize(
    "kwargs, name",
    [({"window": 0}, "window"), ({"window": 2.5}, "window"), ({"sensors": (1.0, 22.0)}, "sensors"),
     ({"sensors": (-0.1,)}, "sensors"), ({"sensors": (float("nan"),)}, "sensors"), ({"sensors": (3.0,), "L": 2.0}, "sensors"),
     ({"cutoff": 4}, "cutoff"), ({"estimate_state": 1}, "estimate_state"), ({"estimate_state": "yes"}, "estimate_state")],
)
def test_partial_config_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_config("partial", **kwargs)


def test_partial_config_defaults_and_round_trip():
    c = PartialConfig(L=20.0)
    assert c.sensors == tuple(i * 20.0 / 8 for i in range(8))
    d = c.to_dict()
    assert d["family"] == "partial" and d["sensors"] == list(c.sensors)
    assert make_config("partial", **{k: v for k, v in d.items() if k != "family"}) == c
    with pytest.raises(ValueError, match="PartialConfig"):
        PartialSurrogate(make_config("conv", **TINY), SHAPES)


# 10. the env refuses it


def test_env_refuses_a_partial_checkpoint(tmp_path):
    path = tmp_path / "partial.pt"
    save_surrogate(make(), ENV.config_dict(), path)
    with pytest.raises(ValueError, match="sensor readings"):
        gym.make("KS-Control-v0", surrogate=str(path))


# 11. evaluation in sensor space


def test_sensor_space_evaluation_of_the_trained_model(trained_partial, tmp_path):
    out = tmp_path / "eval"
    report = evaluate_surrogate(EvaluateArgs(model=str(trained_partial), out=str(out), **EVAL), progress=False)
    assert report["space"] == "sensors" and report["family"] == "partial"
    q25, med, q75 = report["vpt_lyapunov_q25"], report["vpt_lyapunov_median"], report["vpt_lyapunov_q75"]
    assert all(math.isfinite(v) for v in (q25, med, q75))
    assert 0 <= q25 <= med <= q75 <= EVAL["horizon_lyapunov"] + 0.1
    assert report["one_step_error"] > 0 and math.isfinite(report["one_step_error"])
    assert report["state_estimate_error"] is not None and report["state_estimate_error"] > 0
    assert report["free_runs"]["forced"]["dissipation_model"] is not None or report["free_runs"]["forced"]["blowup_fraction"] == 1
    assert report["shift_equivariance_error"] is not None
    assert json.loads((out / "report.json").read_text())["space"] == "sensors"
    assert (out / "report.md").read_text().startswith("# Surrogate evaluation: partial (sensor space)")
    assert (out / "error_growth.png").stat().st_size > 1000


def test_persistence_one_step_error_matches_an_independent_truth_rollout(tmp_path):
    """For the untrained (persistence) model, one_step_error = median over runs of rms_i(y_{n+1} - y_n) / rms(u),
    recomputed here from the truth env's states at the grid sensors, n = W - 1 intervals after the initial state."""
    model = make(u_scale=attractor_rms(), estimate_state=False)
    path = tmp_path / "persistence.pt"
    save_surrogate(model, ENV.config_dict(), path)
    args = EvaluateArgs(model=str(path), out=str(tmp_path / "eval"), **EVAL)
    report = evaluate_surrogate(args, progress=False)
    assert report["state_estimate_error"] is None and report["reward_correlation"] is None
    assert report["free_runs"]["unforced"]["blowup_fraction"] == 0.0
    assert report["shift_equivariance_error"] < 1e-6  # persistence commutes with the shift by one actuator spacing
    # the truth: same initial states and random actions (held args.hold steps) as the evaluation draws
    w, interval = model.config.window, ENV.frame_skip * ENV.config.dt
    steps = w - 1 + math.ceil(args.horizon_lyapunov / LYAPUNOV_EXPONENT / interval)
    held = np.random.default_rng([args.seed, 5]).uniform(-1.0, 1.0, (args.n_initial, -(-steps // args.hold), NA))
    actions = np.repeat(held, args.hold, axis=1)
    venv = KSControlVectorEnv(num_envs=args.n_initial, max_episode_steps=None, autoreset_mode="Disabled")
    venv.reset(seed=args.seed)
    venv.reset(options={"u0": venv.u})
    for k in range(w):
        before = venv.u.copy()
        venv.step(actions[:, k])
    y_n, y_next = before[:, :: N // 8], venv.u[:, :: N // 8]
    expected = float(np.median(np.sqrt(np.mean((y_next - y_n) ** 2, axis=-1)) / attractor_rms()))
    assert expected > 1e-3
    assert report["one_step_error"] == pytest.approx(expected, rel=1e-4)
    # persistence loses the readings within the horizon, but not at once
    assert 0 < report["vpt_lyapunov_q25"] <= report["vpt_lyapunov_median"] < EVAL["horizon_lyapunov"]
