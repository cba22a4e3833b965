"""The robustness harness end to end: CSV, PNG, pairing, resume, CLI, SB3 policies (issue 4)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.apps import cli
from chaoscontrol.agents.policies import load_sb3_model, make_policy, save_policy_files
from chaoscontrol.agents.robustness import CSV_COLUMNS, RobustnessArgs, run_robustness, summarise
from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.envs.perturbation_wrappers import ActuatorNoise

ENV_ID = "KS-Control-v0"
BURN_IN = 20.0
ENV_KWARGS = {"burn_in": BURN_IN}
STEPS = 20
EPISODES = 3
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _args(out: Path, **kwargs) -> RobustnessArgs:
    base = dict(
        policy="zero", perturbation="noise", levels=(0.0, 0.5), episodes=EPISODES, seed=5, out=str(out),
        env_kwargs=dict(ENV_KWARGS), max_episode_steps=STEPS, progress=False,
    )
    base.update(kwargs)
    return RobustnessArgs(**base)


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _complete_rows(path: Path) -> list[dict[str, float]]:
    """The rows whose every column parses as a number."""
    out = []
    for row in _read(path)[1]:
        try:
            out.append({k: float(row[k]) for k in CSV_COLUMNS})
        except (TypeError, ValueError, KeyError):
            continue
    return out


def _by_key(rows) -> dict[tuple[float, int], dict[str, float]]:
    return {(float(r["level"]), int(float(r["episode"]))): r for r in rows}


def _single_rollout(seed: int, wrap=None, steps: int = STEPS) -> tuple[float, float]:
    """Return and mean dissipation of a single env with zero actions from env seed ``seed``."""
    env = gym.make(ENV_ID, max_episode_steps=steps, **ENV_KWARGS)
    if wrap is not None:
        env = wrap(env)
    env.reset(seed=seed)
    total, diss, done = 0.0, [], False
    while not done:
        _, r, terminated, truncated, info = env.step(np.zeros(4, dtype=np.float32))
        total += r
        diss.append(info["dissipation"])
        done = terminated or truncated
    assert len(diss) == steps
    return total, float(np.mean(diss))


def _check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 200 and height > 200


# --------------------------------------------------------------------------- SB3 models


def _sb3(algo: str, **env_kwargs):
    from stable_baselines3 import DDPG, PPO, SAC, TD3

    torch.manual_seed(0)
    env = gym.make(ENV_ID, **{**ENV_KWARGS, **env_kwargs})
    kw = dict(policy_kwargs=dict(net_arch=[16]), seed=0, device="cpu")
    if algo == "ppo":
        return PPO("MlpPolicy", env, n_steps=64, batch_size=32, **kw)
    cls = {"sac": SAC, "td3": TD3, "ddpg": DDPG}[algo]
    return cls("MlpPolicy", env, buffer_size=100, **kw)


@pytest.fixture(scope="module")
def ppo_zip(tmp_path_factory) -> tuple[Path, object]:
    model = _sb3("ppo")
    path = tmp_path_factory.mktemp("models") / "ppo.zip"
    model.save(path)
    save_policy_files(model, path)  # read without unpickling
    return path, model


@pytest.fixture(scope="module")
def full_obs_zip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "ppo_full.zip"
    model = _sb3("ppo", observe="full")
    model.save(path)
    save_policy_files(model, path)
    return path


# --------------------------------------------------------------------------- end to end


@pytest.mark.parametrize("policy", ["zero", "random"])
@pytest.mark.parametrize("perturbation", ["noise", "actuator-noise"])
def test_tiny_sweep_end_to_end(tmp_path, policy, perturbation):
    out = tmp_path / "rob"
    csv_path = run_robustness(_args(out, policy=policy, perturbation=perturbation))
    assert csv_path == out / "robustness.csv"
    assert csv_path.read_text().splitlines()[0] == "level,seed,episode,return,mean_dissipation,blowup"
    fields, raw = _read(csv_path)
    assert tuple(fields) == CSV_COLUMNS
    rows = _complete_rows(csv_path)
    assert len(rows) == len(raw) == 2 * EPISODES  # one row per episode per level
    keys = _by_key(rows)
    assert set(keys) == {(lv, e) for lv in (0.0, 0.5) for e in range(EPISODES)}
    for (lv, e), row in keys.items():
        assert row["seed"] == 5 + e
        assert row["blowup"] == 0
        assert np.isfinite(row["return"]) and row["return"] < 0
        assert row["mean_dissipation"] > 0
    _check_png(out / "robustness.png")
    config = json.loads((out / "config.json").read_text())
    assert config["args"]["perturbation"] == perturbation and config["args"]["levels"] == [0.0, 0.5]

    # paired initial conditions: different episodes start differently, the same episode the same at every level
    level0 = [keys[(0.0, e)] for e in range(EPISODES)]
    level5 = [keys[(0.5, e)] for e in range(EPISODES)]
    assert len({r["return"] for r in level0}) == EPISODES
    if perturbation == "noise":
        # zero and random (fixed stream) policies ignore the observations: identical episodes at every level
        for a, b in zip(level0, level5):
            assert a["return"] == b["return"] and a["mean_dissipation"] == b["mean_dissipation"]
    else:
        for a, b in zip(level0, level5):
            assert a["return"] != b["return"]

    summary = summarise(csv_path)
    assert sorted(summary) == [0.0, 0.5]
    for lv, s in summary.items():
        rets = np.array([keys[(lv, e)]["return"] for e in range(EPISODES)])
        assert s["n"] == EPISODES
        assert s["return_mean"] == pytest.approx(rets.mean(), rel=1e-12)
        assert s["return_ci95"] == pytest.approx(1.96 * rets.std(ddof=1) / np.sqrt(EPISODES), rel=1e-9)
        assert s["blowup_fraction"] == 0.0


def test_zero_policy_reproduces_single_env_rollouts(tmp_path):
    """Level 0 is the bare env, and the batched actuator noise is that of a single wrapped env seeded seed + e."""
    rows = _by_key(_complete_rows(run_robustness(_args(tmp_path, perturbation="actuator-noise"))))
    for e in range(EPISODES):
        ret, diss = _single_rollout(5 + e)
        assert rows[(0.0, e)]["return"] == pytest.approx(ret, abs=1e-9, rel=0)
        assert rows[(0.0, e)]["mean_dissipation"] == pytest.approx(diss, abs=1e-9, rel=0)
        ret_n, diss_n = _single_rollout(5 + e, wrap=lambda env: ActuatorNoise(env, 0.5))
        assert rows[(0.5, e)]["return"] == pytest.approx(ret_n, abs=1e-9, rel=0)
        assert rows[(0.5, e)]["mean_dissipation"] == pytest.approx(diss_n, abs=1e-9, rel=0)


def test_blowups_are_recorded(tmp_path):
    """A threshold below the attractor's amplitude: every episode blows up on its first step and is marked so."""
    path = run_robustness(_args(tmp_path, policy="random", perturbation="actuator-gain", levels=(0.0,),
                                env_kwargs={"burn_in": BURN_IN, "blowup_threshold": 1.5, "blowup_penalty": 321.0}))
    rows = _complete_rows(path)
    assert len(rows) == EPISODES
    for row in rows:
        assert row["blowup"] == 1
        assert row["return"] == -321.0  # the penalty, and nothing after the episode ended
    assert summarise(path)[0.0]["blowup_fraction"] == 1.0


# --------------------------------------------------------------------------- resume


def test_resume_adds_only_missing_levels(tmp_path):
    first = run_robustness(_args(tmp_path, levels=(0.0,), perturbation="actuator-noise"))
    text0 = first.read_text()
    assert len(_complete_rows(first)) == EPISODES
    second = run_robustness(_args(tmp_path, levels=(0.0, 0.5), perturbation="actuator-noise"))
    assert second == first
    text1 = second.read_text()
    assert text1.startswith(text0)  # rows already written are kept as they are
    rows = _complete_rows(second)
    assert len(rows) == 2 * EPISODES
    assert len(_by_key(rows)) == 2 * EPISODES  # no duplicates
    assert sorted(k for k in _by_key(rows)) == [(lv, e) for lv in (0.0, 0.5) for e in range(EPISODES)]
    # running the complete sweep again writes nothing
    run_robustness(_args(tmp_path, levels=(0.0, 0.5), perturbation="actuator-noise"))
    assert second.read_text() == text1
    _check_png(tmp_path / "robustness.png")


def test_resume_completes_a_partial_level(tmp_path):
    full = _by_key(_complete_rows(run_robustness(_args(tmp_path / "full", perturbation="actuator-noise"))))
    part = tmp_path / "part"
    path = run_robustness(_args(part, perturbation="actuator-noise"))
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-2]))  # interrupted after 2 of the 3 rows of level 0.5
    assert len(_complete_rows(path)) == 2 * EPISODES - 2
    run_robustness(_args(part, perturbation="actuator-noise"))
    rows = _complete_rows(path)
    assert len(rows) == 2 * EPISODES
    assert _by_key(rows) == full  # the rerun rows are those of an uninterrupted sweep


def test_resume_after_a_truncated_last_line(tmp_path):
    """A row cut mid-write (no newline) is neither kept as a result nor glued to the next row."""
    full = _by_key(_complete_rows(run_robustness(_args(tmp_path / "full", perturbation="actuator-noise"))))
    out = tmp_path / "cut"
    path = run_robustness(_args(out, levels=(0.0,), perturbation="actuator-noise"))
    with path.open("a", newline="") as fh:
        fh.write("0.5,5,0,-1.2")  # the interrupted write of the first row of level 0.5
    run_robustness(_args(out, perturbation="actuator-noise"))
    rows = _complete_rows(path)
    keys = _by_key(rows)
    assert len(rows) == len(keys) == 2 * EPISODES
    assert keys == full
    summary = summarise(path)
    assert summary[0.5]["n"] == EPISODES


# --------------------------------------------------------------------------- SB3 policies


def test_saved_ppo_loads_and_runs_in_the_harness(tmp_path, ppo_zip):
    path, model = ppo_zip
    loaded = load_sb3_model(path, trust_pickle=True)
    assert type(loaded).__name__ == "PPO"
    obs = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    assert np.array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])

    venv = KSControlVectorEnv(num_envs=2, max_episode_steps=5, **ENV_KWARGS)
    act, m = make_policy(str(path), venv, seed=0)
    assert m is not None
    assert np.array_equal(act(obs[:2]), model.predict(obs[:2], deterministic=True)[0])

    adv = _by_key(_complete_rows(run_robustness(
        _args(tmp_path / "adv", policy=str(path), perturbation="adversarial", levels=(0.0, 0.05), max_episode_steps=10)
    )))
    clean = _by_key(_complete_rows(run_robustness(
        _args(tmp_path / "clean", policy=str(path), perturbation="noise", levels=(0.0,), max_episode_steps=10)
    )))
    assert len(adv) == 2 * EPISODES
    for e in range(EPISODES):
        # eps = 0: the unperturbed policy on the same initial states. Not bit for bit: the batched env returns
        # F-ordered observations after a step, the wrapper C-ordered copies, and torch rounds the actions
        # differently (~1e-9) for the two memory layouts.
        for key in ("seed", "blowup"):
            assert adv[(0.0, e)][key] == clean[(0.0, e)][key]
        assert adv[(0.0, e)]["return"] == pytest.approx(clean[(0.0, e)]["return"], rel=1e-9)
        assert adv[(0.0, e)]["mean_dissipation"] == pytest.approx(clean[(0.0, e)]["mean_dissipation"], rel=1e-9)
        # the attack changes what the policy does, far beyond that rounding
        assert abs(adv[(0.05, e)]["return"] - adv[(0.0, e)]["return"]) > 1e-6
        assert adv[(0.05, e)]["blowup"] == 0


@pytest.mark.parametrize("algo", ["sac", "td3", "ddpg"])
def test_load_off_policy_models(tmp_path, algo):
    model = _sb3(algo)
    path = tmp_path / f"{algo}.zip"
    model.save(path)
    loaded = load_sb3_model(path, trust_pickle=True)
    assert isinstance(loaded, type(model)) or isinstance(model, type(loaded))
    obs = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    assert np.array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


def test_unreadable_policy_file(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="junk.zip"):
        load_sb3_model(junk, trust_pickle=True)
    out = tmp_path / "rob"
    for trust in (False, True):
        with pytest.raises(ValueError, match="junk.zip"):
            run_robustness(_args(out, policy=str(junk), trust_pickle=trust))
    assert not (out / "robustness.csv").exists() or _read(out / "robustness.csv")[1] == []


def test_mismatched_model_is_rejected_before_any_row(tmp_path, full_obs_zip):
    venv = KSControlVectorEnv(num_envs=2, max_episode_steps=5, **ENV_KWARGS)
    with pytest.raises(ValueError, match="model"):
        make_policy(str(full_obs_zip), venv, seed=0)
    for perturbation in ("noise", "adversarial"):
        out = tmp_path / perturbation
        with pytest.raises(ValueError, match="model"):
            run_robustness(_args(out, policy=str(full_obs_zip), perturbation=perturbation))
        assert not (out / "robustness.csv").exists() or _read(out / "robustness.csv")[1] == []
    # with the env it was built for, the same file is fine
    venv_full = KSControlVectorEnv(num_envs=2, max_episode_steps=5, observe="full", **ENV_KWARGS)
    make_policy(str(full_obs_zip), venv_full, seed=0)


def test_policy_is_checked_against_the_perturbed_observations(tmp_path, ppo_zip):
    """Under 'subset' the policy sees the chosen sensors: a policy built for them runs, one built for all 8 is refused."""
    from stable_baselines3 import PPO

    from chaoscontrol.envs.perturbation_wrappers import SensorSubset

    torch.manual_seed(0)
    env4 = SensorSubset(gym.make(ENV_ID, **ENV_KWARGS), [0, 2, 4, 6])
    path4 = tmp_path / "ppo4.zip"
    model4 = PPO("MlpPolicy", env4, n_steps=64, batch_size=32, policy_kwargs=dict(net_arch=[16]), seed=0, device="cpu")
    model4.save(path4)
    save_policy_files(model4, path4)
    kwargs = dict(perturbation="subset", levels=(0.0,), perturbation_kwargs={"indices": [0, 2, 4, 6]}, max_episode_steps=5)
    rows = _complete_rows(run_robustness(_args(tmp_path / "ok", policy=str(path4), **kwargs)))
    assert len(rows) == EPISODES
    out = tmp_path / "refused"
    with pytest.raises(ValueError, match="model"):
        run_robustness(_args(out, policy=str(ppo_zip[0]), **kwargs))
    assert not (out / "robustness.csv").exists() or _read(out / "robustness.csv")[1] == []


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"levels": (0.0, -0.1)}, "levels"),
        ({"levels": (0.0, float("nan"))}, "levels"),
        ({"levels": ()}, "levels"),
        ({"perturbation": "wind"}, "perturbation"),
        ({"perturbation": "dropout", "levels": (0.0, 1.5)}, "dropout"),
        ({"episodes": 0}, "episodes"),
        ({"max_episode_steps": 0}, "max_episode_steps"),
        ({"policy": "expert"}, "policy"),
        ({"perturbation": "adversarial"}, "adversarial"),
    ],
)
def test_bad_arguments_raise_at_construction(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=name):
        _args(tmp_path, **kwargs)
    assert not (tmp_path / "robustness.csv").exists()


def test_arguments_are_inert(tmp_path, monkeypatch):
    """Making the arguments checks their values only: no env is built, no file read; the sweep checks the rest."""
    from chaoscontrol.envs.ks_control import KSControlEnv

    def built(*args, **kwargs):
        raise AssertionError("an env was built")

    monkeypatch.setattr(KSControlEnv, "__init__", built)
    args = _args(tmp_path / "rob", policy=str(tmp_path / "missing.zip"), env_kwargs={"sensor": 4},
                 perturbation="subset", perturbation_kwargs={"indices": [8]})
    monkeypatch.undo()
    with pytest.raises(ValueError, match="missing.zip"):
        run_robustness(args)
    with pytest.raises(ValueError, match="env_kwargs"):
        run_robustness(_args(tmp_path / "rob", env_kwargs={"sensor": 4}))
    assert not (tmp_path / "rob").exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"perturbation": "delay", "levels": (0.0, 0.5)},  # delays are whole numbers of steps
        {"perturbation": "dropout", "levels": (0.0, 0.1), "perturbation_kwargs": {"fill": "mean"}},
        {"perturbation": "subset", "levels": (0.0,), "perturbation_kwargs": {"indices": [8]}},
        {"perturbation": "actuator-fault", "levels": (0.0,), "perturbation_kwargs": {"index": 4}},
    ],
    ids=["delay-fractional", "dropout-fill", "subset-indices", "fault-index"],
)
def test_invalid_sweep_fails_before_any_row_is_written(tmp_path, kwargs):
    """Bad input is a ValueError raised before the sweep writes anything, never midway through it."""
    out = tmp_path / "rob"
    with pytest.raises(ValueError):
        run_robustness(_args(out, **kwargs))
    assert not (out / "robustness.csv").exists() or _read(out / "robustness.csv")[1] == []


def test_delay_sweep_with_whole_steps(tmp_path):
    rows = _by_key(_complete_rows(run_robustness(_args(tmp_path, perturbation="delay", levels=(0, 2), episodes=2, max_episode_steps=5))))
    assert set(rows) == {(lv, e) for lv in (0.0, 2.0) for e in range(2)}


# --------------------------------------------------------------------------- command line


def test_cli_robustness(tmp_path, capsys):
    out = tmp_path / "cli"
    rc = cli.main([
        "robustness", "--policy", "zero", "--perturbation", "actuator-noise", "--levels", "0,0.5",
        "--episodes", str(EPISODES), "--seed", "5", "--max-episode-steps", str(STEPS), "--out", str(out),
        "--env-kwargs", json.dumps(ENV_KWARGS), "--no-progress",
    ])
    assert rc == 0
    captured = capsys.readouterr()
    assert "robustness.csv" in captured.out and "level 0.5" in captured.out
    rows = _by_key(_complete_rows(out / "robustness.csv"))
    assert len(rows) == 2 * EPISODES
    # the same numbers as the Python API
    api = _by_key(_complete_rows(run_robustness(_args(tmp_path / "api", perturbation="actuator-noise"))))
    assert rows == api
    _check_png(out / "robustness.png")


def test_cli_with_a_saved_policy_and_adversarial_attack(tmp_path, ppo_zip, capsys):
    out = tmp_path / "cli_adv"
    rc = cli.main([
        "robustness", "--policy", str(ppo_zip[0]), "--perturbation", "adversarial", "--levels", "0,0.02",
        "--episodes", "2", "--max-episode-steps", "5", "--out", str(out), "--env-kwargs", json.dumps(ENV_KWARGS),
        "--perturbation-kwargs", '{"norm": "l2", "attack": "pgd", "steps": 3}', "--no-progress",
    ])
    assert rc == 0, capsys.readouterr().err
    assert len(_complete_rows(out / "robustness.csv")) == 4


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["--levels=0,-0.5"], "levels"),
        (["--levels", "0,abc"], "levels"),
        (["--perturbation", "wind"], "perturbation"),
        (["--policy", "nowhere/missing.zip"], "missing.zip"),
        (["--perturbation", "adversarial"], "adversarial"),
        (["--episodes", "0"], "episodes"),
        (["--env-kwargs", "{not json"], "--env-kwargs"),
        (["--perturbation-kwargs", "[1, 2]"], "--perturbation-kwargs"),
    ],
)
def test_cli_bad_arguments(tmp_path, capsys, argv, name):
    out = tmp_path / "bad"
    rc = cli.main(["robustness", "--out", str(out), "--no-progress", "--max-episode-steps", "3", "--episodes", "2", *argv])
    assert rc == 2
    err = capsys.readouterr().err
    assert "error" in err and name in err
    assert not (out / "robustness.csv").exists()
