"""Hyper-parameters of the SB3 algorithms: the YAML files, overrides, validation and constructor keywords."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from stable_baselines3 import DDPG, PPO, SAC, TD3
from stable_baselines3.common.noise import NormalActionNoise
from torch import nn

import chaoscontrol  # noqa: F401  (registers the env)
from chaoscontrol.agents.env_stack import make_vec_env
from chaoscontrol.agents.hyperparams import (
    ALGOS,
    CONFIG_DIR,
    SUITE_KEYS,
    Hyperparams,
    algorithm_class,
    load_hyperparams,
)

ENV_ID = "KS-Control-v0"
CLASSES = {"ppo": PPO, "sac": SAC, "td3": TD3, "ddpg": DDPG}
ACTIVATION_CLASSES = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU, "elu": nn.ELU}


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hp.yaml"
    path.write_text(text)
    return path


def _file_entry(algo: str) -> dict:
    return yaml.safe_load((CONFIG_DIR / f"{algo}.yaml").read_text())[ENV_ID]


# ======================================================================== the YAML files


@pytest.mark.parametrize("algo", ALGOS)
def test_yaml_file_loads_and_builds_its_algorithm(algo):
    entry = _file_entry(algo)
    hp = load_hyperparams(algo, ENV_ID)
    assert isinstance(hp, Hyperparams) and hp.algo == algo
    assert hp.n_envs == entry["n_envs"] and hp.normalize == entry["normalize"]
    assert hp.action_noise == float(entry.get("action_noise", 0.0))
    # suite keys are not constructor keywords; every other key is, unchanged
    assert not set(SUITE_KEYS) & set(hp.algo_kwargs)
    for key, value in entry.items():
        if key not in SUITE_KEYS:
            assert hp.algo_kwargs[key] == value, key
    assert hp.to_dict()["algo"] == algo and hp.to_dict()["n_envs"] == entry["n_envs"]

    venv = make_vec_env({"burn_in": 10.0}, 2, 0, max_episode_steps=20)
    try:
        model = algorithm_class(algo)(env=venv, device="cpu", seed=0, **hp.constructor_kwargs(venv.action_space.shape[0]))
    finally:
        venv.close()
    assert type(model) is CLASSES[algo]
    assert model.gamma == entry["gamma"] and model.learning_rate == entry["learning_rate"]
    pk = entry["policy_kwargs"]
    assert model.policy_kwargs["net_arch"] == pk["net_arch"]
    assert model.policy_kwargs["activation_fn"] is ACTIVATION_CLASSES[pk["activation_fn"]]
    if algo in ("td3", "ddpg"):
        assert isinstance(model.action_noise, NormalActionNoise)
        np.testing.assert_allclose(model.action_noise._sigma, entry["action_noise"] * np.ones(4))
    elif algo == "sac":
        assert model.action_noise is None
    if algo == "ppo":
        assert model.n_steps == entry["n_steps"] and model.batch_size == entry["batch_size"]
    else:
        assert model.batch_size == entry["batch_size"] and model.learning_starts == entry["learning_starts"]


def test_algorithm_class_maps_names_and_refuses_others():
    for algo, cls in CLASSES.items():
        assert algorithm_class(algo) is cls
    with pytest.raises(ValueError, match="a2c"):
        algorithm_class("a2c")
    with pytest.raises(ValueError, match="algo"):
        load_hyperparams("dqn", ENV_ID)


# ======================================================================== refusals


def test_unknown_key_is_named():
    with pytest.raises(ValueError) as info:
        load_hyperparams("ppo", ENV_ID, overrides={"learning_rat": 1e-3})
    assert "learning_rat" in str(info.value) and "unknown" in str(info.value)
    # a key of another algorithm is unknown too
    with pytest.raises(ValueError, match="buffer_size"):
        load_hyperparams("ppo", ENV_ID, overrides={"buffer_size": 1000})
    # keys the suite sets itself are not hyper-parameters
    for key in ("env", "seed", "device"):
        with pytest.raises(ValueError, match=key):
            load_hyperparams("sac", ENV_ID, overrides={key: 1})


def test_unknown_key_in_file_is_named(tmp_path):
    path = _yaml(tmp_path, f"{ENV_ID}:\n  n_envs: 2\n  gama: 0.9\n")
    with pytest.raises(ValueError) as info:
        load_hyperparams("sac", ENV_ID, path)
    assert "gama" in str(info.value) and "hp.yaml" in str(info.value)


def test_unknown_env_id_is_named():
    with pytest.raises(ValueError) as info:
        load_hyperparams("ppo", "KS-Other-v9")
    assert "KS-Other-v9" in str(info.value) and ENV_ID in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError) as info:
        load_hyperparams("ppo", ENV_ID, tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value) and "does not exist" in str(info.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param(f"{ENV_ID}: [unclosed\n", ("not valid YAML",), id="bad-yaml"),
        pytest.param(f"{ENV_ID}:\n  n_envs: 2\n n_steps: : 3\n", ("not valid YAML",), id="bad-indent"),
        pytest.param("- a\n- b\n", ("must map env ids",), id="top-level-list"),
        pytest.param(f"{ENV_ID}: [1, 2]\n", (ENV_ID,), id="entry-list"),
        pytest.param(f"{ENV_ID}:\n  learning_rate: 2020-01-01\n", ("learning_rate", "plain value"), id="date-value"),
        pytest.param(f"{ENV_ID}:\n  policy_kwargs:\n    net_arch: !!binary aGVsbG8=\n", ("net_arch", "plain value"),
                     id="bytes-value"),
        pytest.param(f"{ENV_ID}:\n  policy_kwargs:\n    1: 2\n", ("policy_kwargs", "keys must be strings"), id="int-key"),
    ],
)
def test_bad_file_is_named(tmp_path, text, words):
    path = _yaml(tmp_path, text)
    with pytest.raises(ValueError) as info:
        load_hyperparams("ppo", ENV_ID, path)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_non_plain_override_is_refused():
    with pytest.raises(ValueError, match="plain value"):
        load_hyperparams("ppo", ENV_ID, overrides={"learning_rate": lambda p: 1e-3 * p})
    with pytest.raises(ValueError, match=r"net_arch\[1\]"):
        load_hyperparams("ppo", ENV_ID, overrides={"policy_kwargs": {"net_arch": [16, object()]}})


@pytest.mark.parametrize("name", ["swish", "Tanh", "ReLU", None, 3])
def test_bad_activation_name(name):
    with pytest.raises(ValueError) as info:
        load_hyperparams("ppo", ENV_ID, overrides={"policy_kwargs": {"activation_fn": name}})
    assert "activation_fn" in str(info.value) and repr(name) in str(info.value)


@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_action_noise_only_for_td3_and_ddpg(algo):
    with pytest.raises(ValueError) as info:
        load_hyperparams(algo, ENV_ID, overrides={"action_noise": 0.1})
    assert "action_noise" in str(info.value) and algo in str(info.value)
    # zero noise is no noise: accepted
    assert load_hyperparams(algo, ENV_ID, overrides={"action_noise": 0}).action_noise == 0.0


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "2", None])
def test_n_envs_must_be_a_positive_integer(value):
    with pytest.raises(ValueError) as info:
        load_hyperparams("ppo", ENV_ID, overrides={"n_envs": value})
    assert "n_envs" in str(info.value)


@pytest.mark.parametrize(("key", "value"), [("normalize", "yes"), ("normalize", 1), ("action_noise", -0.1),
                                            ("action_noise", True), ("action_noise", "0.2"), ("policy_kwargs", [64, 64]),
                                            ("policy_kwargs", "net_arch")])
def test_bad_suite_values_are_named(key, value):
    with pytest.raises(ValueError) as info:
        load_hyperparams("td3", ENV_ID, overrides={key: value})
    assert key in str(info.value)


# ======================================================================== overrides and constructor keywords


def test_overrides_replace_keys_and_merge_policy_kwargs():
    base = load_hyperparams("ppo", ENV_ID)
    hp = load_hyperparams("ppo", ENV_ID, overrides={"n_envs": 2, "normalize": True, "learning_rate": 1e-4,
                                                    "policy_kwargs": {"net_arch": [16, 16]}})
    assert hp.n_envs == 2 and hp.normalize is True
    assert hp.algo_kwargs["learning_rate"] == 1e-4
    # the file's other keys stay
    assert hp.algo_kwargs["n_steps"] == base.algo_kwargs["n_steps"] == _file_entry("ppo")["n_steps"]
    # policy_kwargs merged key by key: net_arch replaced, activation and log_std_init kept
    file_pk = _file_entry("ppo")["policy_kwargs"]
    assert hp.algo_kwargs["policy_kwargs"] == {**file_pk, "net_arch": [16, 16]}
    assert hp.algo_kwargs["policy_kwargs"]["activation_fn"] == file_pk["activation_fn"]
    # a second load is not affected by the first's overrides
    again = load_hyperparams("ppo", ENV_ID)
    assert again == base and again.algo_kwargs["policy_kwargs"] == file_pk
    # an override of None leaves the file's policy_kwargs alone
    assert load_hyperparams("ppo", ENV_ID, overrides={"policy_kwargs": None}).algo_kwargs["policy_kwargs"] == file_pk


def test_overrides_do_not_mutate_the_callers_dict():
    overrides = {"n_envs": 2, "policy_kwargs": {"net_arch": [8]}}
    load_hyperparams("sac", ENV_ID, overrides=overrides)
    assert overrides == {"n_envs": 2, "policy_kwargs": {"net_arch": [8]}}


def test_custom_file_and_defaults(tmp_path):
    path = _yaml(tmp_path, f"{ENV_ID}:\n  gamma: 0.9\nOther-v0:\n  gamma: 0.5\n")
    hp = load_hyperparams("sac", ENV_ID, path)
    assert hp.algo_kwargs == {"gamma": 0.9, "policy": "MlpPolicy"}
    assert hp.n_envs == 8 and hp.normalize is False and hp.action_noise == 0.0
    # an empty entry takes every default
    path = _yaml(tmp_path, f"{ENV_ID}:\n")
    assert load_hyperparams("ppo", ENV_ID, path).algo_kwargs == {"policy": "MlpPolicy"}


@pytest.mark.parametrize("name", sorted(ACTIVATION_CLASSES))
def test_activation_names_map_to_torch_classes(name):
    hp = load_hyperparams("sac", ENV_ID, overrides={"policy_kwargs": {"activation_fn": name}})
    assert hp.algo_kwargs["policy_kwargs"]["activation_fn"] == name  # still a name (plain, for config.json)
    kwargs = hp.constructor_kwargs(4)
    assert kwargs["policy_kwargs"]["activation_fn"] is ACTIVATION_CLASSES[name]
    assert kwargs["policy_kwargs"]["net_arch"] == _file_entry("sac")["policy_kwargs"]["net_arch"]
    assert hp.algo_kwargs["policy_kwargs"]["activation_fn"] == name  # constructor_kwargs does not mutate


@pytest.mark.parametrize("algo", ["td3", "ddpg"])
def test_td3_and_ddpg_get_normal_action_noise_of_the_configured_std(algo):
    kwargs = load_hyperparams(algo, ENV_ID).constructor_kwargs(4)
    noise = kwargs["action_noise"]
    assert isinstance(noise, NormalActionNoise)
    np.testing.assert_array_equal(noise._mu, np.zeros(4))
    np.testing.assert_allclose(noise._sigma, _file_entry(algo)["action_noise"] * np.ones(4))
    noise = load_hyperparams(algo, ENV_ID, overrides={"action_noise": 0.05}).constructor_kwargs(3)["action_noise"]
    np.testing.assert_allclose(noise._sigma, 0.05 * np.ones(3))
    assert noise._mu.shape == (3,)
    assert "action_noise" not in load_hyperparams(algo, ENV_ID, overrides={"action_noise": 0.0}).constructor_kwargs(4)


def test_constructor_kwargs_without_policy_kwargs():
    hp = Hyperparams(algo="ppo", n_envs=1, normalize=False, action_noise=0.0, algo_kwargs={"policy": "MlpPolicy", "gamma": 0.9})
    assert hp.constructor_kwargs(4) == {"policy": "MlpPolicy", "gamma": 0.9}


def test_an_unknown_key_of_the_overrides_is_blamed_on_hyperparams_not_the_file():
    with pytest.raises(ValueError) as info:
        load_hyperparams("ppo", ENV_ID, overrides={"learning_rat": 1e-3})
    msg = str(info.value)
    assert "--hyperparams" in msg and "learning_rat" in msg and "ppo.yaml" not in msg


def test_an_unknown_key_of_the_file_is_blamed_on_the_file_even_with_overrides(tmp_path):
    path = _yaml(tmp_path, f"{ENV_ID}:\n  n_envs: 2\n  gama: 0.9\n")
    with pytest.raises(ValueError) as info:
        load_hyperparams("sac", ENV_ID, path, overrides={"gamma": 0.9})
    msg = str(info.value)
    assert "hp.yaml" in msg and "gama" in msg and "--hyperparams" not in msg


def test_a_bad_value_of_the_overrides_is_blamed_on_hyperparams():
    with pytest.raises(ValueError) as info:
        load_hyperparams("ppo", ENV_ID, overrides={"n_envs": 0})
    assert "--hyperparams" in str(info.value) and "n_envs" in str(info.value) and "ppo.yaml" not in str(info.value)
