"""The agent layer on every registered system: the SB3 VecEnv, training, evaluation, the robustness harness.

Every registered id (``ENV_SPECS``, so a new system is tested with no edit here) runs through the same code as KS:
the SB3 VecEnv reproduces SB3's ``DummyVecEnv`` over ``gym.make(id)`` bit for bit and passes SB3's env checker; a
tiny PPO is trained, evaluated and swept on Lorenz-63 and CGLE (a PDE other than KS); what only KS has (a surrogate,
the symmetry group) is refused elsewhere, by name. Budgets are tiny: these tests check the machinery, not learning.
"""

from __future__ import annotations

import csv
import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.vec_env import DummyVecEnv

import chaoscontrol  # noqa: F401  (registers the envs)
from chaoscontrol.agents import ControlSB3VecEnv, KSVecEnv
from chaoscontrol.agents.env_stack import make_vec_env
from chaoscontrol.agents.evaluation import AgentEvaluateArgs, evaluate_agent
from chaoscontrol.agents.robustness import RobustnessArgs, run_robustness, summarise
from chaoscontrol.agents.sensor_levels import make_env_perturbation, sensor_unit
from chaoscontrol.agents.systems import takes_surrogate
from chaoscontrol.agents.training import AgentTrainArgs, train_agent
from chaoscontrol.apps import cli
from chaoscontrol.envs.perturbation_wrappers import VectorPerturbation
from chaoscontrol.envs.registration import ENV_SPECS, make_env, make_vector_env
from chaoscontrol.envs.rollout import rollout
from chaoscontrol.solvers.attractor import attractor_rms

from test_vec_env import assert_same_info_dicts, assert_same_vec_step
from tiny_runs import targs

IDS = sorted(ENV_SPECS)
NON_KS = ("Lorenz63-Control-v0", "CGLE-Control-v0")


def cheap(env_id: str) -> dict:
    """A short burn-in where the id has one (the tests need no attractor, only states that are not the same)."""
    return {"burn_in": 1.0} if "burn_in" in make_env(env_id).config_dict() else {}


# =============================================================================== the SB3 VecEnv


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_vec_env_is_dummy_vec_env_bit_for_bit_on_every_id(env_id):
    num_envs, k_steps, horizon = 3, 4, 9  # two episode boundaries
    kwargs = cheap(env_id)
    ours = ControlSB3VecEnv(env_id, num_envs, k_steps, **kwargs)
    dummy = DummyVecEnv([lambda: gym.make(env_id, max_episode_steps=k_steps, **kwargs)] * num_envs)
    assert ours.observation_space == dummy.observation_space and ours.action_space == dummy.action_space
    assert ours.seed(5) == dummy.seed(5)
    oa, ob = ours.reset(), dummy.reset()
    assert np.array_equal(oa, ob) and oa.dtype == ob.dtype
    assert_same_info_dicts(ours.reset_infos, dummy.reset_infos, "reset")
    rng = np.random.default_rng(0)
    done = 0
    for step in range(horizon):
        actions = rng.uniform(-1.2, 1.2, (num_envs, *ours.action_space.shape)).astype(np.float32)
        ra, rb = ours.step(actions), dummy.step(actions)
        assert_same_vec_step(ra, rb, f"{env_id} step {step}")
        assert np.array_equal(np.stack(ours.get_attr("u")), np.stack(dummy.get_attr("u"))), f"state, step {step}"
        done += int(ra[2].sum())
    assert done == num_envs * (horizon // k_steps)
    assert ours.get_attr("episode_seeds") == [5, 6, 7]
    u0 = np.stack(ours.get_attr("u"))[0]  # set_options: the field of any shape, at the next reset
    for env in (ours, dummy):
        env.set_options({"u0": u0})
    assert np.array_equal(ours.reset(), dummy.reset())
    assert all(np.array_equal(u, u0) for u in ours.get_attr("u"))


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_env_checker_passes_on_every_id(env_id):
    env = gym.make(env_id, **cheap(env_id))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SB3's checker warns about what it would not train on
        check_env(env, warn=True)


def test_ks_vec_env_is_the_ks_control_sb3_vec_env():
    a, b = KSVecEnv(2, 3, burn_in=1.0), ControlSB3VecEnv("KS-Control-v0", 2, 3, burn_in=1.0)
    assert isinstance(a, ControlSB3VecEnv) and a.env_id == b.env_id == "KS-Control-v0"
    a.seed(1), b.seed(1)
    assert np.array_equal(a.reset(), b.reset())


# =============================================================================== sensor levels on any system


@pytest.mark.parametrize("env_id", NON_KS)
def test_sensor_unit_is_the_attractor_fluctuation_of_the_readings(env_id):
    """sigma_o from 8 x 200 steps agrees with an independent estimate: one long trajectory, another seed."""
    env = gym.make(env_id, max_episode_steps=None)
    obs, _ = env.reset(seed=123)
    zero = np.zeros(env.action_space.shape)
    readings = np.array([env.step(zero)[0] for _ in range(3000)])
    independent = np.sqrt(readings.var(axis=0).mean())
    assert sensor_unit(env) == pytest.approx(independent, rel=0.15)
    assert sensor_unit(env, relative=False) == 1.0


def test_sensor_unit_of_ks_is_the_attractor_rms_as_before():
    env = make_env("KS-Control-v0", burn_in=1.0)  # attractor_rms is cached: the suite's KS noise tests share it
    assert sensor_unit(env) == attractor_rms(22.0, 64, 0.05) != sensor_unit(make_env("CGLE-Control-v0", burn_in=1.0))


def test_relative_noise_on_lorenz63_has_the_std_of_its_level_times_the_unit():
    """noise:0.1 adds N(0, (0.1 sigma_o)^2) to every reading: the std of obs' - obs over many draws."""
    venv = make_vector_env("Lorenz63-Control-v0", 64, max_episode_steps=None, autoreset_mode="Disabled", burn_in=1.0)
    bare = make_vector_env("Lorenz63-Control-v0", 64, max_episode_steps=None, autoreset_mode="Disabled", burn_in=1.0)
    noisy = VectorPerturbation(venv, *make_env_perturbation("noise", 0.1, venv))
    diff = noisy.reset(seed=0)[0] - bare.reset(seed=0)[0]
    for _ in range(20):
        a = np.zeros(venv.action_space.shape)
        diff = np.concatenate([diff, noisy.step(a)[0] - bare.step(a)[0]])
    assert diff.std() == pytest.approx(0.1 * sensor_unit(venv), rel=0.05)
    absolute = make_env_perturbation("noise", 0.1, venv, relative=False)[0]
    assert absolute.sigma == 0.1


# =============================================================================== train, evaluate, sweep: non-KS


@pytest.fixture(scope="module", params=NON_KS)
def trained(request, tmp_path_factory):
    env_id = request.param
    out = tmp_path_factory.mktemp(env_id.split("-")[0]) / "run"
    args = targs(out, env_id=env_id, env_kwargs=cheap(env_id), timesteps=128, eval_freq=64, checkpoint_freq=64)
    return env_id, train_agent(args)


def test_ppo_trains_and_evaluates_on_a_non_ks_system(trained, tmp_path):
    env_id, model = trained
    config = json.loads((model.parent / "config.json").read_text())
    assert config["args"]["env_id"] == env_id and config["env_config"] == make_env(env_id, **cheap(env_id)).config_dict()
    rows = [json.loads(x) for x in (model.parent / "evaluations.jsonl").read_text().splitlines()]
    assert [r["timesteps"] for r in rows] == [64, 128]
    report = evaluate_agent(AgentEvaluateArgs(model=str(model), episodes=2, max_episode_steps=12, out=str(tmp_path / "e")),
                            progress=False)
    assert report["env_id"] == env_id and report["env_kwargs"] == cheap(env_id)  # from the run folder
    assert np.isfinite(report["mean_return"]) and report["blowups"] == 0
    assert (report["success_rate"] is None) == (env_id != "Lorenz63-Control-v0")  # Lorenz-63 holds a target
    assert (tmp_path / "e" / "evaluation.png").stat().st_size > 1000
    # the returns are those of the policy on the env: a rollout of the same episodes by hand
    from chaoscontrol.agents.policies import make_policy

    venv = make_vector_env(env_id, 2, max_episode_steps=12, autoreset_mode="Disabled", **cheap(env_id))
    act, _ = make_policy(str(model), venv, 0)
    by_hand = rollout(venv, act, 12, seed=0)
    assert report["per_episode"]["return"] == pytest.approx(by_hand.totals().tolist(), rel=1e-12)


def test_robustness_harness_on_a_non_ks_system(trained, tmp_path):
    """One noise level; the metric is the mean cost (no dissipation diagnostic), -return per step without blow-up.

    With the zero policy the actions do not depend on the readings, so sensor noise cannot change a return: the
    levels give identical rows. The trained policy reads them, so its returns move with the noise.
    """
    env_id, model = trained
    common = dict(perturbation="noise", episodes=2, max_episode_steps=8, progress=False)
    csv_path = run_robustness(RobustnessArgs(policy=str(model), levels=(0.0, 0.5), out=str(tmp_path / "ppo"), **common))
    with csv_path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["level", "seed", "episode", "return", "mean_cost", "blowup"]
    for row in rows:
        assert float(row["mean_cost"]) == pytest.approx(-float(row["return"]) / 8, rel=1e-12)
    returns = {lv: [float(r["return"]) for r in rows if float(r["level"]) == lv] for lv in (0.0, 0.5)}
    assert returns[0.0] != returns[0.5]
    assert json.loads((tmp_path / "ppo" / "config.json").read_text())["args"]["env_id"] is None  # resolved from the run
    summary = summarise(csv_path)
    assert summary[0.5]["metric"] == "cost" and summary[0.5]["cost_mean"] == summary[0.5]["metric_mean"]
    zero = run_robustness(RobustnessArgs(policy="zero", env_id=env_id, env_kwargs=cheap(env_id), levels=(0.0, 0.5),
                                         out=str(tmp_path / "zero"), **common))
    with zero.open() as fh:
        zero_rows = list(csv.DictReader(fh))
    by_level = {lv: [r["return"] for r in zero_rows if float(r["level"]) == lv] for lv in (0.0, 0.5)}
    assert by_level[0.0] == by_level[0.5]


def test_cli_train_evaluate_robustness_on_lorenz63(tmp_path, capsys):
    hp = json.dumps({"n_envs": 2, "n_steps": 16, "batch_size": 16, "n_epochs": 1, "policy_kwargs": {"net_arch": [8]}})
    env = ["--env", "Lorenz63-Control-v0"]
    assert cli.main(["train", *env, "--timesteps", "32", "--out", str(tmp_path / "run"), "--hyperparams", hp,
                     "--max-episode-steps", "8", "--eval-freq", "0", "--checkpoint-freq", "32", "--no-progress"]) == 0
    model = str(tmp_path / "run" / "model.zip")
    assert cli.main(["evaluate", "--model", model, "--episodes", "2", "--max-episode-steps", "6", "--out",
                     str(tmp_path / "eval"), "--no-progress"]) == 0
    assert json.loads((tmp_path / "eval" / "evaluation.json").read_text())["env_id"] == "Lorenz63-Control-v0"
    assert cli.main(["robustness", *env, "--policy", "zero", "--levels", "0.1", "--episodes", "2", "--max-episode-steps",
                     "4", "--out", str(tmp_path / "rob"), "--no-progress"]) == 0
    assert "cost" in capsys.readouterr().out


# =============================================================================== refusals


@pytest.mark.parametrize("env_id", [i for i in IDS if not takes_surrogate(i)])
def test_a_surrogate_is_refused_on_a_system_whose_entry_point_takes_none(env_id, tmp_path):
    with pytest.raises(ValueError) as info:
        AgentTrainArgs(env_id=env_id, surrogate=str(tmp_path / "model.pt"))
    assert "surrogate" in str(info.value) and env_id in str(info.value) and "KS-Control-v0" in str(info.value)
    with pytest.raises(ValueError, match="surrogate"):
        make_vec_env({}, 1, 0, surrogate=str(tmp_path / "model.pt"), env_id=env_id)


@pytest.mark.parametrize("flag", ["symmetry_reduced", "symmetry_augment"])
def test_symmetry_is_refused_on_a_system_without_the_ks_group(flag, tmp_path):
    algo = "sac" if flag == "symmetry_augment" else "ppo"
    args = targs(tmp_path / "run", algo=algo, env_id="Lorenz63-Control-v0", **{flag: True})
    with pytest.raises(ValueError) as info:
        train_agent(args)
    assert flag in str(info.value) and "Lorenz63-Control-v0" in str(info.value)
    assert not (tmp_path / "run").exists()  # refused before anything was written
    with pytest.raises(ValueError, match="symmetry_reduced"):
        make_vec_env({}, 1, 0, symmetry_reduced=True, env_id="CGLE-Control-v0")


def test_an_unknown_env_id_names_the_flag(tmp_path, capsys):
    for make in (lambda: AgentTrainArgs(env_id="Nope-v0"), lambda: AgentEvaluateArgs(env_id="Nope-v0"),
                 lambda: RobustnessArgs(env_id="Nope-v0")):
        with pytest.raises(ValueError) as info:
            make()
        assert "--env" in str(info.value) and "Nope-v0" in str(info.value) and "Lorenz63-Control-v0" in str(info.value)
    for command in (["train", "--out", str(tmp_path / "r")], ["evaluate", "--out", str(tmp_path / "e")], ["robustness"]):
        assert cli.main([*command, "--env", "Nope-v0"]) == 2
        err = capsys.readouterr().err
        assert "--env" in err and "Nope-v0" in err and "Traceback" not in err


@pytest.mark.parametrize("env_id", IDS)
def test_every_perturbation_fits_every_system(env_id):
    """Each perturbation of the harness, default keywords, on the batched env and on the SB3 stack of every id:
    observations stay in their spaces, actions are the env's size (sensor levels in observation units here: the
    relative unit is tested above, and costs a short simulation per system)."""
    from chaoscontrol.envs.perturbation_wrappers import PERTURBATIONS

    venv = make_vector_env(env_id, 2, max_episode_steps=None, autoreset_mode="Disabled", **cheap(env_id))
    n_obs = venv.single_observation_space.shape[0]
    for name in PERTURBATIONS:
        kwargs = {"relative": False} if name in ("noise", "noise-random", "bias", "drift", "quantize") else {}
        env = VectorPerturbation(venv, *make_env_perturbation(name, 1.0 if name == "delay" else 0.1, venv, **kwargs))
        obs, _ = env.reset(seed=0)
        for _ in range(2):
            obs = env.step(np.full(env.action_space.shape, 0.5))[0]
        assert env.single_observation_space.contains(obs[0]) and np.isfinite(obs).all(), name
        if name == "subset":
            assert obs.shape == (2, (n_obs + 1) // 2)  # the even sensors of any number of them
    stack = make_vec_env(cheap(env_id), 2, 0, ('noise:0.1:{"relative": false}', "dead-sensors", "actuator-fault:0"), max_episode_steps=3,
                         env_id=env_id)
    stack.reset()
    obs = stack.step(np.zeros((2, *stack.action_space.shape)))[0]
    assert obs.shape == (2, n_obs) and np.all(obs[:, 1::2] == 0.0)  # the odd sensors read 0 (noise comes before)
    assert np.all(obs[:, 0::2] != 0.0)
