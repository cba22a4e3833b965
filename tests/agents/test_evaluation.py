"""`evaluate_agent`: cost against paired no-control runs, success on the target objective, perturbations, blow-ups, files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent
from chaoscontrol.agents.policies import save_policy_files
from chaoscontrol.agents.vec_env import KSVecEnv
from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.envs.rollout import SUCCESS_DISTANCE

ENV_KWARGS = {"burn_in": 10.0}
TARGET = {"objective": "target", "target": "E1", "burn_in": 10.0}
STEPS = 20
EPISODES = 3
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def evaluate(out: Path, **kwargs) -> dict:
    base = dict(model="zero", episodes=EPISODES, seed=0, out=str(out), env_kwargs=dict(ENV_KWARGS), max_episode_steps=STEPS)
    base.update(kwargs)
    return evaluate_agent(AgentEvaluateArgs(**base), progress=False)


def strict_json(path: Path):
    def reject(token):
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(path.read_text(), parse_constant=reject)


def check_files(out: Path, report: dict) -> None:
    assert strict_json(out / "evaluation.json") == report
    data = (out / "evaluation.png").read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 500 and height > 200


@pytest.fixture(scope="module")
def untrained_ppo(tmp_path_factory) -> str:
    """A loose (no run folder) PPO zip of the default env, never trained: its actions depend on the observations."""
    venv = KSVecEnv(num_envs=2, max_episode_steps=STEPS, **ENV_KWARGS)
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, policy_kwargs={"net_arch": [16, 16]}, seed=0, device="cpu")
    with torch.no_grad():  # a strong response, so that observation noise shows in the actions
        for p in model.policy.action_net.parameters():
            p.mul_(50.0)
    path = tmp_path_factory.mktemp("policy") / "ppo.zip"
    model.save(path)
    save_policy_files(model, path)  # read without unpickling
    return str(path)


# ================================================================================ baselines


def test_zero_policy_is_no_control(tmp_path):
    out = tmp_path / "zero"
    r = evaluate(out)
    assert r["improvement"] == 0.0 and r["improvement_ci95"] == 0.0
    assert r["mean_cost_second_half"] == r["no_control_cost_second_half"]
    assert r["per_episode"]["cost_second_half"] == r["per_episode"]["no_control_cost_second_half"]
    costs = np.array(r["per_episode"]["cost_second_half"])
    assert costs.shape == (EPISODES,) and np.all(costs > 0) and np.unique(costs).size == EPISODES  # other initial states
    assert r["mean_cost_second_half"] == pytest.approx(costs.mean())
    assert r["mean_cost_second_half_ci95"] == pytest.approx(1.96 * costs.std(ddof=1) / math.sqrt(EPISODES))
    assert r["mean_return"] < 0 and r["blowups"] == 0
    assert r["objective"] == "dissipation" and r["success_rate"] is None and r["final_target_distance"] is None
    assert r["model"] == "zero" and r["env_id"] == "KS-Control-v0" and r["env_kwargs"] == ENV_KWARGS
    assert r["wrappers"] == [] and r["perturbation"] is None and r["trained_on_surrogate"] is None
    assert r["episodes"] == EPISODES and r["seed"] == 0
    check_files(out, r)


def test_episodes_follow_the_seed(tmp_path):
    a, b, c = (evaluate(tmp_path / name, seed=seed) for name, seed in (("a", 4), ("b", 4), ("c", 5)))
    assert a["per_episode"] == b["per_episode"]
    # episode e starts from env seed seed + e: seed 5 starts one episode later
    assert c["per_episode"]["cost_second_half"][:-1] == a["per_episode"]["cost_second_half"][1:]


def test_random_policy_gives_a_finite_cost(tmp_path):
    r = evaluate(tmp_path / "random", model="random")
    assert r["blowups"] == 0
    assert math.isfinite(r["mean_cost_second_half"]) and r["mean_cost_second_half"] > 0
    assert r["mean_cost_second_half"] != r["no_control_cost_second_half"]
    assert math.isfinite(r["improvement"]) and r["improvement"] != 0.0
    # the no-control runs do not depend on the policy
    zero = evaluate(tmp_path / "zero")
    assert r["per_episode"]["no_control_cost_second_half"] == zero["per_episode"]["no_control_cost_second_half"]
    check_files(tmp_path / "random", r)


def test_one_episode_report_is_strict_json(tmp_path):
    """A confidence interval of one episode is undefined: null, not NaN (evaluation.json is strict JSON)."""
    r = evaluate(tmp_path / "one", model="random", episodes=1)
    assert r["mean_return_ci95"] is None and r["mean_cost_second_half_ci95"] is None and r["improvement_ci95"] is None
    assert math.isfinite(r["improvement"])
    check_files(tmp_path / "one", r)


# ================================================================================ target objective


def test_target_objective_reports_success_and_distances(tmp_path):
    r = evaluate(tmp_path / "target", model="random", env_kwargs=dict(TARGET))
    assert r["objective"] == "target"
    assert 0.0 <= r["success_rate"] <= 1.0
    d = r["final_target_distance"]
    assert isinstance(d, list) and len(d) == EPISODES and all(isinstance(x, float) and x >= 0 for x in d)
    assert r["success_rate"] == pytest.approx(np.mean(np.array(d) < SUCCESS_DISTANCE))
    # attractor states are far from E1 after 20 steps of random forcing
    assert r["success_rate"] == 0.0 and min(d) > SUCCESS_DISTANCE
    # the reward is -rms(u - u*), so the cost of the second half is close to the distance
    assert all(c > 0 for c in r["per_episode"]["cost_second_half"])
    check_files(tmp_path / "target", r)


def test_starting_at_the_target_is_a_success(tmp_path, monkeypatch):
    """Every episode starts exactly at E1 (the equilibrium of the unforced system): no control keeps it there."""
    real_reset = KSControlVectorEnv.reset

    def reset_at_target(self, *, seed=None, options=None):
        return real_reset(self, seed=seed, options={"u0": self.template.target} if options is None else options)

    monkeypatch.setattr(KSControlVectorEnv, "reset", reset_at_target)
    r = evaluate(tmp_path / "at-target", env_kwargs=dict(TARGET))
    assert r["success_rate"] == 1.0
    assert max(r["final_target_distance"]) < 1e-6
    assert r["mean_cost_second_half"] < 1e-6 and r["blowups"] == 0
    # a policy that pushes it away fails
    r = evaluate(tmp_path / "pushed", model="random", env_kwargs={**TARGET, "max_forcing": 5.0})
    assert r["success_rate"] < 1.0 and max(r["final_target_distance"]) > SUCCESS_DISTANCE


# ================================================================================ perturbations, policies


def test_perturbation_is_recorded_and_applied(tmp_path, untrained_ppo):
    clean = evaluate(tmp_path / "clean", model=untrained_ppo)
    noisy = evaluate(tmp_path / "noisy", model=untrained_ppo, perturbation="noise", level=0.5)
    assert clean["perturbation"] is None
    assert noisy["perturbation"] == {"name": "noise", "level": 0.5}
    assert noisy["args"]["perturbation"] == "noise" and noisy["args"]["level"] == 0.5
    assert noisy["mean_return"] != clean["mean_return"]
    assert noisy["per_episode"]["no_control_cost_second_half"] == clean["per_episode"]["no_control_cost_second_half"]
    assert strict_json(tmp_path / "noisy" / "evaluation.json")["perturbation"] == {"name": "noise", "level": 0.5}
    # keywords are recorded too
    fault = evaluate(tmp_path / "fault", model="random", perturbation="actuator-fault", perturbation_kwargs={"index": 2})
    assert fault["perturbation"] == {"name": "actuator-fault", "level": 0.0, "index": 2}
    rand = evaluate(tmp_path / "rand", model="random")
    assert fault["mean_return"] != rand["mean_return"]


def test_loose_policy_file_is_evaluated_with_the_given_env(tmp_path, untrained_ppo):
    r = evaluate(tmp_path / "ppo", model=untrained_ppo)
    assert r["model"] == untrained_ppo and r["trained_on_surrogate"] is None
    assert r["env_kwargs"] == ENV_KWARGS and r["wrappers"] == []
    assert math.isfinite(r["mean_cost_second_half"]) and r["blowups"] == 0
    check_files(tmp_path / "ppo", r)


def test_policy_of_another_observation_space_is_refused(tmp_path):
    venv = KSVecEnv(num_envs=2, max_episode_steps=STEPS, sensors=4, **ENV_KWARGS)
    path = tmp_path / "four_sensors.zip"
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, policy_kwargs={"net_arch": [8]}, device="cpu")
    model.save(path)
    save_policy_files(model, path)
    for env_kwargs in (dict(ENV_KWARGS), None):  # given, and the default env of a loose file
        out = tmp_path / f"eval_{env_kwargs is None}"
        with pytest.raises(ValueError, match="observation space"):
            evaluate(out, model=str(path), env_kwargs=env_kwargs)
        assert not (out / "evaluation.json").exists()
    r = evaluate(tmp_path / "ok", model=str(path), env_kwargs={**ENV_KWARGS, "sensors": 4})
    assert r["blowups"] == 0 and math.isfinite(r["mean_cost_second_half"])


# ================================================================================ blow-ups


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")
def test_diverging_policy_reports_blowups(tmp_path):
    kwargs = {**ENV_KWARGS, "max_forcing": 50.0, "blowup_threshold": 10.0}
    out = tmp_path / "blowup"
    r = evaluate(out, model="random", env_kwargs=kwargs)
    assert r["blowups"] > 0
    costs = r["per_episode"]["cost_second_half"]
    assert sum(c is None for c in costs) == r["blowups"]
    assert all(c is None or (math.isfinite(c) and c > 0) for c in costs)
    # a blown-up episode pays the penalty once and ends; the report stays finite
    assert all(math.isfinite(x) for x in r["per_episode"]["return"]) and min(r["per_episode"]["return"]) <= -1000.0
    if r["blowups"] == EPISODES:
        assert r["mean_cost_second_half"] is None and r["improvement"] is None
    assert r["no_control_cost_second_half"] > 0  # no control does not blow up
    check_files(out, r)


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")
def test_unforced_blowup_is_reported_not_raised(tmp_path):
    """A threshold below the attractor's amplitude: even the no-control runs blow up."""
    out = tmp_path / "low"
    r = evaluate(out, env_kwargs={**ENV_KWARGS, "blowup_threshold": 2.0})
    assert r["blowups"] == EPISODES
    assert r["mean_cost_second_half"] is None and r["no_control_cost_second_half"] is None and r["improvement"] is None
    assert r["per_episode"]["no_control_cost_second_half"] == [None] * EPISODES
    check_files(out, r)


# ================================================================================ arguments


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        (dict(episodes=0), "episodes"),
        (dict(max_episode_steps=0), "max_episode_steps"),
        (dict(model="sideways"), "model"),
        (dict(env_id="KS-Other-v0"), "env id"),
        (dict(wrappers=("sideways:0.1",)), "sideways"),
        (dict(level=-0.1), "level"),
        (dict(level=float("nan")), "level"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, word):
    base = dict(model="zero", episodes=2, out=str(tmp_path), max_episode_steps=STEPS)
    base.update(kwargs)
    with pytest.raises(ValueError) as info:
        AgentEvaluateArgs(**base)
    assert word in str(info.value)


def test_arguments_are_inert(tmp_path):
    """Making the arguments checks their values only: the model file and its run folder are read when it runs."""
    args = AgentEvaluateArgs(model=str(tmp_path / "missing.zip"), episodes=2, out=str(tmp_path / "out"), max_episode_steps=STEPS)
    with pytest.raises(ValueError, match="model file .*missing.zip"):
        evaluate_agent(args, progress=False)
    assert not (tmp_path / "out").exists()
    # a run folder whose config names an unknown env id or a bad wrapper is refused when the evaluation runs
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.zip").write_bytes(b"")
    for bad, word in (({"env_id": "KS-Other-v0"}, "env id"), ({"wrappers": ["sideways:1"]}, "sideways")):
        (run / "config.json").write_text(json.dumps({"args": bad}))
        args = AgentEvaluateArgs(model=str(run / "model.zip"), episodes=2, out=str(tmp_path / "out"), max_episode_steps=STEPS)
        with pytest.raises(ValueError, match=word):
            evaluate_agent(args, progress=False)
    assert not (tmp_path / "out").exists()


def test_wrappers_are_applied(tmp_path):
    r = evaluate(tmp_path / "dead", model="random", wrappers=('actuator-fault:0:{"index": 0, "mode": "dead"}',))
    assert r["wrappers"] == ['actuator-fault:0:{"index": 0, "mode": "dead"}']
    plain = evaluate(tmp_path / "plain", model="random")
    assert r["mean_return"] != plain["mean_return"]
    assert r["per_episode"]["no_control_cost_second_half"] == plain["per_episode"]["no_control_cost_second_half"]
