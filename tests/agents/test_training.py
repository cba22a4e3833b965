"""Training SB3 agents on the batched KS env: the run folder, surrogates, resume, Ctrl-C, determinism, the env stack.

Budgets are tiny (2 envs, 20-step episodes, a few hundred env steps, 16x16 networks): these tests check the
machinery (files, counters, seeds, refusals), not that the agents learn.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3 import TD3
from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

import chaoscontrol
from chaoscontrol.agents.training import loop
from chaoscontrol.agents.env_stack import find_timer, make_vec_env, parse_wrapper
from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent
from chaoscontrol.agents.hyperparams import algorithm_class
from chaoscontrol.agents.policies import load_agent, load_sb3_model, normalisation_file, run_config, run_folder
from chaoscontrol.agents.policies.saved import read_description
from chaoscontrol.agents.training import (
    EVAL_SEED_OFFSET,
    AgentTrainArgs,
    evaluate_on,
    save_checkpoint,
    train_agent,
)
from chaoscontrol.agents.vec_wrappers import VecPerturbation, VecTimer
from chaoscontrol.agents.vec_env import ControlSB3VecEnv, KSVecEnv
from chaoscontrol.envs.ks_control import KSControlEnv

from tiny_runs import ENV_KWARGS, NET, PPO_HP, STEPS, targs

CONFIG_KEYS = {"args", "hyperparams", "env_config", "seed", "package_version", "git_hash"}
REAL_CALLBACKS = loop.RunCallback


def read_json(path: Path):
    return json.loads(path.read_text())


def status_of(out: Path) -> tuple[str, int]:
    """(state, timesteps) of the run's ``status.json`` (the heartbeat's other fields are checked apart)."""
    status = read_json(out / "status.json")
    return status["state"], status["timesteps"]


def saved_steps(path: Path) -> int:
    """The step counter of a saved model, from its policy description (read without unpickling)."""
    return read_description(path)["num_timesteps"]


def evaluations(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "evaluations.jsonl").read_text().splitlines() if line.strip()]


def checkpoint_steps(out: Path) -> list[int]:
    return sorted(int(p.stem.split("_")[1]) for p in (out / "checkpoints").glob("step_*.zip"))


def truth_evaluation(model, args: AgentTrainArgs, surrogate: str | None = None) -> float:
    """The mean return of ``model`` on the stack the run evaluates on (or on ``surrogate``)."""
    venv = make_vec_env(args.env_kwargs, args.eval_episodes, args.seed + EVAL_SEED_OFFSET, args.wrappers, surrogate,
                        args.max_episode_steps)
    try:
        return evaluate_on(model, venv, args.eval_episodes)["mean_return"]
    finally:
        venv.close()


class StopAt:
    """Replaces ``loop.RunCallback``: the real callback, plus an exception once ``num_timesteps >= at``;
    records what the model looked like when training started."""

    def __init__(self, at: int | None = None, exc: type[BaseException] = KeyboardInterrupt) -> None:
        self.at, self.exc = at, exc
        self.real = REAL_CALLBACKS
        self.started: list[dict] = []

    def __call__(self, *args, **kwargs):
        cb = self.real(*args, **kwargs)
        on_step, on_start = cb._on_step, cb._on_training_start

        def _on_training_start():
            buf = getattr(cb.model, "replay_buffer", None)
            self.started.append({"num_timesteps": cb.model.num_timesteps,
                                 "replay_size": None if buf is None else buf.size()})
            on_start()

        def _on_step():
            ok = on_step()
            if self.at is not None and cb.model.num_timesteps >= self.at:
                raise self.exc("simulated")
            return ok

        cb._on_training_start, cb._on_step = _on_training_start, _on_step
        return cb


# ================================================================================ each algorithm


@pytest.mark.parametrize("algo", ["ppo", "sac", "td3", "ddpg"])
def test_train_writes_run_folder_and_model_reloads(tmp_path, algo):
    out = tmp_path / algo
    args = targs(out, algo)
    path = train_agent(args)
    assert path == out / "model.zip" and path.is_file() and (out / "best_model.zip").is_file()

    config = read_json(out / "config.json")
    assert CONFIG_KEYS <= set(config)
    assert config["args"]["algo"] == algo and config["args"]["timesteps"] == 192 and config["args"]["surrogate"] is None
    assert config["args"]["env_kwargs"] == ENV_KWARGS
    assert config["hyperparams"]["algo"] == algo and config["hyperparams"]["n_envs"] == 2
    assert config["hyperparams"]["policy_kwargs"]["net_arch"] == [16, 16]
    assert config["env_config"] == KSControlEnv(**ENV_KWARGS).config_dict()
    assert config["seed"] == 0 and config["package_version"] == chaoscontrol.__version__
    assert config["git_hash"] is None or len(config["git_hash"]) == 40

    assert status_of(out) == ("finished", 192)
    timing = read_json(out / "timing.json")
    assert 0 < timing["env_fraction"] < 1
    assert 0 < timing["env_s"] < timing["wall_s"] and timing["timesteps"] == 192
    assert timing["env_fraction"] == pytest.approx(timing["env_s"] / timing["wall_s"])

    rows = evaluations(out)
    assert [r["timesteps"] for r in rows] == [64, 128, 192]
    for r in rows:
        assert r["episodes"] == 2 and math.isfinite(r["mean_return"]) and r["mean_return"] < 0
        assert r["std_return"] >= 0 and r["mean_cost_second_half"] > 0 and r["wall_s"] > 0
    assert [r["wall_s"] for r in rows] == sorted(r["wall_s"] for r in rows)

    assert checkpoint_steps(out) == [128, 192]  # the two newest kept
    replays = sorted(p.name for p in (out / "checkpoints").glob("*replay*"))
    assert replays == ([] if algo == "ppo" else ["step_128.replay.npz", "step_192.replay.npz"])
    assert not list((out / "checkpoints").glob("*.tmp*"))
    assert (out / "tb").is_dir()
    for stem in ("model", "best_model", "checkpoints/step_192"):  # the policy files beside every SB3 zip
        assert (out / f"{stem}.policy.json").is_file() and (out / f"{stem}.policy.pt").is_file()

    act, model = load_agent(path)  # the policy files: the rebuilt network, nothing unpickled
    sb3 = load_sb3_model(path, trust_pickle=True)
    assert isinstance(sb3, TD3 if algo == "ddpg" else algorithm_class(algo))  # DDPG zips load as TD3 (same policy)
    assert type(model.policy) is type(sb3.policy) and model.num_timesteps == sb3.num_timesteps == saved_steps(path) == 192
    assert run_folder(path) == out.resolve() and run_config(path)["args"]["algo"] == algo
    assert normalisation_file(path) is None
    obs = make_vec_env(ENV_KWARGS, 3, 0, max_episode_steps=STEPS).reset()
    a = act(obs)
    assert a.shape == (3, 4) and np.all(np.abs(a) <= 1)
    np.testing.assert_array_equal(a, sb3.predict(obs, deterministic=True)[0])
    # model.zip is the policy of the final evaluation, and that evaluation ran on the truth
    assert truth_evaluation(model, args) == pytest.approx(rows[-1]["mean_return"], rel=1e-9)

    report = evaluate_agent(AgentEvaluateArgs(model=str(path), episodes=2, max_episode_steps=STEPS, out=str(tmp_path / "eval")),
                            progress=False)
    assert report["env_kwargs"] == ENV_KWARGS  # read from the run folder
    assert report["trained_on_surrogate"] is None and report["blowups"] == 0
    assert math.isfinite(report["mean_cost_second_half"]) and math.isfinite(report["improvement"])
    assert (tmp_path / "eval" / "evaluation.json").is_file()


def test_normalize_saves_statistics_and_load_agent_applies_them(tmp_path):
    out = tmp_path / "norm"
    path = train_agent(targs(out, timesteps=128, hyperparams={**PPO_HP, "normalize": True}))
    assert (out / "vecnormalize.pkl").is_file()
    assert sorted(p.name for p in (out / "checkpoints").glob("vecnormalize_*.pkl")) == ["vecnormalize_128.pkl",
                                                                                        "vecnormalize_64.pkl"]
    assert normalisation_file(path) == out / "vecnormalize.pkl"
    assert normalisation_file(out / "checkpoints" / "step_64.zip") == out / "checkpoints" / "vecnormalize_64.pkl"
    act, _ = load_agent(path)  # the statistics of model.vecnormalize.npz, nothing unpickled
    stats = VecNormalize.load(str(out / "vecnormalize.pkl"), make_vec_env(ENV_KWARGS, 2, 0, max_episode_steps=STEPS))
    model = load_sb3_model(path, trust_pickle=True)
    obs = make_vec_env(ENV_KWARGS, 2, 5, max_episode_steps=STEPS).reset()
    np.testing.assert_array_equal(act(obs), model.predict(stats.normalize_obs(obs), deterministic=True)[0])
    assert not np.array_equal(stats.normalize_obs(obs), obs)
    assert sorted(p.name for p in out.glob("*.npz")) == ["best_model.vecnormalize.npz", "model.vecnormalize.npz"]
    # the statistics are part of the run: without them the policy is refused
    (out / "model.vecnormalize.npz").unlink()
    with pytest.raises(ValueError, match="VecNormalize"):
        load_agent(path)


def test_bad_arguments_fail_before_anything_is_written(tmp_path):
    out = tmp_path / "bad"
    cases = [
        (dict(algo="a2c"), "algo"),
        (dict(env_id="KS-Other-v0"), "env id"),
        (dict(hyperparams={"n_envs": 2, "learning_rat": 1.0}), "learning_rat"),
        (dict(wrappers=("sideways:0.1",)), "sideways"),
        (dict(wrappers=("noise:0.1:{\"foo\": 1}",)), "foo"),
        (dict(env_kwargs={"sensors": 0}), "sensors"),
        (dict(env_kwargs={"sensor": 4}), "sensor"),
        (dict(env_kwargs={"surrogate": "x.pt"}), "surrogate"),
        (dict(surrogate=str(tmp_path / "missing.pt")), "missing.pt"),
        (dict(timesteps=0), "timesteps"),
        (dict(eval_freq=-1), "eval_freq"),
        (dict(checkpoint_freq=0), "checkpoint_freq"),
        (dict(numba_threads=0), "numba_threads"),
        (dict(torch_threads=0), "torch_threads"),
        (dict(seed=-1), "seed"),
    ]
    for kwargs, word in cases:
        with pytest.raises(ValueError) as info:
            train_agent(targs(out, **kwargs))
        assert word in str(info.value), (kwargs, str(info.value))
    assert not out.exists()


def test_arguments_are_inert(tmp_path, monkeypatch):
    """Making the arguments checks their values only: no env is built, no file read; train_agent checks the rest."""
    def built(*args, **kwargs):
        raise AssertionError("an env was built")

    monkeypatch.setattr(loop, "make_vec_env", built)
    monkeypatch.setattr(KSControlEnv, "__init__", built)
    targs(tmp_path / "run", surrogate=str(tmp_path / "missing.pt"), env_kwargs={"sensor": 4}, config="missing.yaml",
          hyperparams={"learning_rat": 1.0}, symmetry_augment=True, algo="sac", residual_anchor=True)


# ================================================================================ surrogate


@pytest.fixture(scope="module")
def surrogate_path(tmp_path_factory) -> str:
    """An untrained ``corrected`` surrogate (coarse solver, 12 modes) of the default env configuration."""
    from chaoscontrol.surrogates.models import build_model, make_config
    from chaoscontrol.surrogates.train import save_surrogate

    env = KSControlEnv()
    torch.manual_seed(0)
    config = make_config("corrected", N=env.config.N, L=env.config.L, n_actuators=4, interval=env.frame_skip * env.config.dt,
                         width=8, depth=1, coarse_modes=12)
    model = build_model(config, env.forcing_fields(np.eye(4)), 1.2)
    path = tmp_path_factory.mktemp("surrogate") / "model.pt"
    save_surrogate(model, env.config_dict(), path)
    return str(path)


@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_train_on_surrogate_evaluates_on_truth(tmp_path, monkeypatch, surrogate_path, algo):
    out = tmp_path / algo
    args = targs(out, algo, timesteps=128, surrogate=surrogate_path)
    calls = []
    real = loop.make_vec_env

    def spy(env_kwargs, n_envs, seed, wrappers=(), surrogate=None, *rest, **kw):
        calls.append({"surrogate": surrogate, "seed": seed, "env_kwargs": dict(env_kwargs)})
        return real(env_kwargs, n_envs, seed, wrappers, surrogate, *rest, **kw)

    monkeypatch.setattr(loop, "make_vec_env", spy)
    path = train_agent(args)
    # the training stack runs the surrogate, the evaluation stack the truth
    assert [c["surrogate"] for c in calls] == [surrogate_path, None]
    assert [c["seed"] for c in calls] == [0, EVAL_SEED_OFFSET]
    assert all("surrogate" not in c["env_kwargs"] for c in calls)

    config = read_json(out / "config.json")
    assert config["args"]["surrogate"] == surrogate_path
    assert status_of(out) == ("finished", 128)
    rows = evaluations(out)
    assert [r["timesteps"] for r in rows] == [64, 128]

    _, model = load_agent(path)
    on_truth = truth_evaluation(model, args)
    on_surrogate = truth_evaluation(model, args, surrogate_path)
    assert on_truth == pytest.approx(rows[-1]["mean_return"], rel=1e-9)
    assert on_surrogate != pytest.approx(rows[-1]["mean_return"], rel=1e-9)  # the two envs are told apart

    report = evaluate_agent(AgentEvaluateArgs(model=str(path), episodes=2, max_episode_steps=STEPS, out=str(tmp_path / "ev")),
                            progress=False)
    assert report["trained_on_surrogate"] == surrogate_path
    assert "surrogate" not in report["env_kwargs"] and report["env_kwargs"] == ENV_KWARGS


@pytest.mark.parametrize(("env_kwargs", "key"), [({"L": 20.0}, "L"), ({"max_forcing": 1.0}, "max_forcing"),
                                                 ({"actuators": 3}, "actuators")])
def test_surrogate_of_another_configuration_is_refused_before_training(tmp_path, surrogate_path, env_kwargs, key):
    out = tmp_path / "run"
    with pytest.raises(ValueError) as info:
        train_agent(targs(out, "ppo", surrogate=surrogate_path, env_kwargs={**ENV_KWARGS, **env_kwargs}))
    assert "surrogate" in str(info.value) and key in str(info.value)
    assert not out.exists()


# ================================================================================ resume


def test_resume_ppo_continues_the_step_counter(tmp_path, monkeypatch):
    out = tmp_path / "ppo"
    train_agent(targs(out, timesteps=128))
    assert status_of(out) == ("finished", 128)
    assert checkpoint_steps(out) == [64, 128]
    wall_first = read_json(out / "timing.json")["wall_s"]
    config_before = (out / "config.json").read_text()

    stop = StopAt()  # records the model when training starts again
    monkeypatch.setattr(loop, "RunCallback", stop)
    path = train_agent(targs(out, timesteps=256), resume=True)
    assert stop.started == [{"num_timesteps": 128, "replay_size": None}]
    assert status_of(out) == ("finished", 256)
    rows = evaluations(out)
    assert [r["timesteps"] for r in rows] == [64, 128, 192, 256]
    assert checkpoint_steps(out) == [192, 256]
    assert saved_steps(path) == 256
    timing = read_json(out / "timing.json")
    assert timing["timesteps"] == 256 and timing["wall_s"] > wall_first and 0 < timing["env_fraction"] < 1
    # the run's configuration is kept, with the resume's arguments (its timesteps) and a line per session
    config = read_json(out / "config.json")
    before = json.loads(config_before)
    assert config["args"] == {**before["args"], "timesteps": 256} and before["args"]["timesteps"] == 128
    assert {k: v for k, v in config.items() if k not in ("args", "sessions")} == {k: v for k, v in before.items() if k != "args"}
    assert [(s["from_step"], s["timesteps"]) for s in config["sessions"]] == [(0, 128), (128, 256)]
    assert len(list((out / "tb").iterdir())) >= 1

    # resuming to the same total does no new step and no new evaluation
    train_agent(targs(out, timesteps=256), resume=True)
    assert status_of(out) == ("finished", 256)
    assert len(evaluations(out)) == 4


def test_resume_sac_restores_the_replay_buffer(tmp_path, monkeypatch):
    out = tmp_path / "sac"
    train_agent(targs(out, "sac", timesteps=100, eval_freq=50, checkpoint_freq=50))
    assert checkpoint_steps(out) == [50, 100]
    assert (out / "checkpoints" / "step_100.replay.npz").is_file()

    stop = StopAt()
    monkeypatch.setattr(loop, "RunCallback", stop)
    train_agent(targs(out, "sac", timesteps=160, eval_freq=50, checkpoint_freq=50), resume=True)
    # before any new step: the step counter and the 100 transitions (50 per env) of the checkpoint are back
    assert stop.started == [{"num_timesteps": 100, "replay_size": 50}]
    assert status_of(out) == ("finished", 160)
    assert [r["timesteps"] for r in evaluations(out)] == [50, 100, 150, 160]
    assert checkpoint_steps(out) == [150, 160]
    # the buffer saved at the end holds every transition of both sessions (80 per env)
    with np.load(out / "checkpoints" / "step_160.replay.npz", allow_pickle=False) as replay:
        assert int(replay["pos"]) == 80 and not replay["full"] and replay["observations"].shape == (80, 2, 8)


def test_new_run_into_a_used_folder_and_bad_resumes_are_refused(tmp_path):
    out = tmp_path / "run"
    train_agent(targs(out, timesteps=64))
    status = (out / "status.json").read_text()
    with pytest.raises(ValueError, match="--resume"):
        train_agent(targs(out, timesteps=128))
    assert (out / "status.json").read_text() == status and checkpoint_steps(out) == [64]

    for kwargs, key in [(dict(seed=1), "seed"), (dict(hyperparams={**PPO_HP, "n_epochs": 3}), "hyperparams"),
                        (dict(max_episode_steps=30), "max_episode_steps"), (dict(wrappers=("noise:0.1",)), "wrappers"),
                        (dict(env_kwargs={"burn_in": 5.0}), "env_kwargs")]:
        with pytest.raises(ValueError) as info:
            train_agent(targs(out, timesteps=128, **kwargs), resume=True)
        assert key in str(info.value) and "resume" in str(info.value), str(info.value)
    assert (out / "status.json").read_text() == status and checkpoint_steps(out) == [64]

    # nothing to resume: no run at all, or a run without a checkpoint
    with pytest.raises(ValueError, match="config.json"):
        train_agent(targs(tmp_path / "empty", timesteps=128), resume=True)
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.json").write_text((out / "config.json").read_text().replace(str(out), str(bare)))
    with pytest.raises(ValueError, match="no checkpoint"):
        train_agent(targs(bare, timesteps=128), resume=True)


# ================================================================================ interruption


def test_ctrl_c_writes_a_checkpoint_and_resume_finishes(tmp_path, monkeypatch):
    out = tmp_path / "ppo"
    args = targs(out, timesteps=192, checkpoint_freq=10_000)  # no regular checkpoint: only the one of Ctrl-C
    monkeypatch.setattr(loop, "RunCallback", StopAt(at=80))
    with pytest.raises(KeyboardInterrupt):
        train_agent(args)
    assert status_of(out) == ("interrupted", 80)
    assert checkpoint_steps(out) == [80]
    assert not (out / "model.zip").exists()
    assert [r["timesteps"] for r in evaluations(out)] == [64]
    assert read_json(out / "timing.json")["timesteps"] == 80

    monkeypatch.setattr(loop, "RunCallback", StopAt())
    train_agent(args, resume=True)
    status = read_json(out / "status.json")
    assert status["state"] == "finished" and status["timesteps"] >= 192
    assert saved_steps(out / "model.zip") == status["timesteps"]
    steps = [r["timesteps"] for r in evaluations(out)]
    assert steps[0] == 64 and steps[-1] == status["timesteps"] and steps == sorted(set(steps))
    assert checkpoint_steps(out)[-1] == status["timesteps"]


def test_crash_writes_a_checkpoint_and_says_crashed(tmp_path, monkeypatch):
    out = tmp_path / "sac"
    monkeypatch.setattr(loop, "RunCallback", StopAt(at=60, exc=RuntimeError))
    with pytest.raises(RuntimeError, match="simulated"):
        train_agent(targs(out, "sac", timesteps=200, checkpoint_freq=10_000))
    assert status_of(out) == ("crashed", 60)
    assert checkpoint_steps(out) == [60] and (out / "checkpoints" / "step_60.replay.npz").is_file()


def test_save_checkpoint_keeps_the_newest(tmp_path):
    venv = make_vec_env(ENV_KWARGS, 2, 0, max_episode_steps=STEPS)
    model = algorithm_class("ppo")("MlpPolicy", venv, n_steps=32, batch_size=32, policy_kwargs=NET, device="cpu")
    folder = tmp_path / "ckpt"
    for n in (10, 20, 30):
        model.num_timesteps = n
        assert save_checkpoint(model, venv, folder) == folder / f"step_{n}.zip"
    files = ("policy.json", "policy.pt", "zip")
    assert sorted(p.name for p in folder.iterdir()) == [f"step_{n}.{f}" for n in (20, 30) for f in files]
    model.num_timesteps = 40
    save_checkpoint(model, venv, folder, keep=1)
    assert sorted(p.name for p in folder.iterdir()) == [f"step_40.{f}" for f in files]


# ================================================================================ determinism


def test_same_seed_same_evaluations(tmp_path):
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        train_agent(targs(tmp_path / name, timesteps=128, seed=seed))
        runs[name] = [r["mean_return"] for r in evaluations(tmp_path / name)]
    assert len(runs["a"]) == 2
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]
    pa = load_agent(tmp_path / "a" / "model.zip")[1].policy.state_dict()
    pb = load_agent(tmp_path / "b" / "model.zip")[1].policy.state_dict()
    assert all(torch.equal(pa[k], pb[k]) for k in pa)


# ================================================================================ the env stack


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("noise:0.1", ("noise", 0.1, {})),
        ("noise", ("noise", 0.0, {})),
        ("dropout:0.2", ("dropout", 0.2, {})),
        ("delay:2", ("delay", 2.0, {})),
        ('actuator-fault:0:{"index": 1, "mode": "stuck"}', ("actuator-fault", 0.0, {"index": 1, "mode": "stuck"})),
        ('subset:0:{"indices": [0, 4]}', ("subset", 0.0, {"indices": [0, 4]})),
        ('noise:0.1:{"relative": false}', ("noise", 0.1, {"relative": False})),
    ],
)
def test_parse_wrapper_accepts(spec, expected):
    assert parse_wrapper(spec) == expected


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("sideways:0.1", ("sideways", "unknown perturbation")),
        ("adversarial:0.1", ("adversarial",)),
        ("noise:abc", ("'abc'", "not a number")),
        ("noise:-0.1", ("level", ">= 0")),
        ("noise:nan", ("level",)),
        ("noise:inf", ("level",)),
        ('actuator-fault:0:{"index": 1', ("not a JSON object",)),
        ("noise:0.1:[1, 2]", ("JSON object",)),
        ("noise:0.1:", ("JSON",)),
    ],
)
def test_parse_wrapper_rejects(spec, words):
    with pytest.raises(ValueError) as info:
        parse_wrapper(spec)
    msg = str(info.value)
    assert spec in msg
    for word in words:
        assert word in msg, (word, msg)


WRAPPERS = ("noise:0.1", "actuator-noise:0.2")


def _rollout(seed: int, wrappers=WRAPPERS, n_steps: int = 5) -> np.ndarray:
    venv = make_vec_env(ENV_KWARGS, 2, seed, wrappers, max_episode_steps=STEPS)
    obs = [venv.reset()]
    actions = np.linspace(-0.8, 0.8, 8, dtype=np.float32).reshape(2, 4)
    for _ in range(n_steps):
        obs.append(venv.step(actions)[0])
    venv.close()
    return np.array(obs)


def test_make_vec_env_layers_and_seeds():
    venv = make_vec_env(ENV_KWARGS, 3, 7, WRAPPERS, max_episode_steps=STEPS, normalize=True)
    assert isinstance(venv, VecNormalize) and isinstance(venv.venv, VecMonitor)
    inner = venv.venv.venv
    assert isinstance(inner, VecPerturbation) and inner.target == "action"
    assert isinstance(inner.venv, VecPerturbation) and inner.venv.target == "observation"
    timer = find_timer(venv)
    assert isinstance(timer, VecTimer) and isinstance(timer.venv, ControlSB3VecEnv)
    assert timer.venv.env_id == "KS-Control-v0"
    assert venv.num_envs == 3 and venv.observation_space.shape == (8,)
    venv.reset()
    assert list(timer.venv.engine.episode_seeds) == [7, 8, 9]
    venv.close()
    assert find_timer(KSVecEnv(num_envs=1, max_episode_steps=STEPS, **ENV_KWARGS)) is None


def test_make_vec_env_is_deterministic_for_a_seed():
    a, b, c = _rollout(3), _rollout(3), _rollout(4)
    assert np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[-1], c[-1])
    # the wrappers act: the same seed without them gives other observations
    assert not np.array_equal(a, _rollout(3, ()))


def test_vec_timer_counts_time_and_steps():
    venv = make_vec_env(ENV_KWARGS, 2, 0, max_episode_steps=STEPS)
    timer = find_timer(venv)
    assert timer.seconds == 0.0 and timer.steps == 0
    venv.reset()
    after_reset = timer.seconds
    assert after_reset > 0
    for _ in range(3):
        venv.step(np.zeros((2, 4), dtype=np.float32))
    assert timer.seconds > after_reset and timer.steps == 6


def test_torch_thread_count_survives_the_stack():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        venv = make_vec_env(ENV_KWARGS, 2, 0, WRAPPERS, max_episode_steps=STEPS)
        venv.reset()
        venv.step(np.zeros((2, 4), dtype=np.float32))
        assert torch.get_num_threads() == 1
        # what Numba's OpenMP layer does on its first parallel kernel: the timer undoes it after every env call
        kernel = find_timer(venv).venv
        real_reset, real_step_wait = kernel.reset, kernel.step_wait

        def clobbering(fn):
            def call(*args):
                torch.set_num_threads(2)
                return fn(*args)
            return call

        kernel.reset, kernel.step_wait = clobbering(real_reset), clobbering(real_step_wait)
        venv.reset()
        assert torch.get_num_threads() == 1
        venv.step(np.zeros((2, 4), dtype=np.float32))
        assert torch.get_num_threads() == 1
        venv.close()
    finally:
        torch.set_num_threads(before)
