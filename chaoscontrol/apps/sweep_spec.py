"""The specification of a sweep (``chaoscontrol sweep SPEC.yaml``): a YAML file read into a frozen dataclass, every
key checked before any trial starts, and the trials it stands for.

A spec (reference: docs/sweeps.md)::

    name: ppo-lorenz
    out: runs/sweeps/ppo-lorenz
    grid:                       # the product of these lists (each key optional, default in GRID_DEFAULTS)
      env_id: [Lorenz63-Control-v0]
      env_kwargs: [{}]
      algo: [ppo]
      wrappers: [[]]
      surrogate: [null]
      hyperparams: [{n_envs: 2, n_steps: 32}]
    trials:                     # optional: explicit points, each a mapping of grid keys, added to the grid's
      - {algo: ppo, hyperparams: {n_envs: 4}}
    seeds: [0, 1, 2]            # every point runs once per seed
    train: {timesteps: 200000, max_episode_steps: 400, eval_freq: 20000, eval_episodes: 8, checkpoint_freq: 20000}
    evaluation: {episodes: 20, seed: 0}
    resources: {cpus: 1, torch_threads: 1, numba_threads: 1, omp_threads: 1}

An **experiment** is a point of the grid (or of ``trials``) with the training and evaluation settings: the trials of
one experiment differ only by their seed, and the statistics (:mod:`chaoscontrol.apps.statistics`) aggregate over
them. A trial's id is readable and stable: ``<algo>-<env id>-<hash of the experiment>-s<seed>``, so that a sweep
run again finds its trials' folders (``OUT/trials/<id>/``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chaoscontrol.validation import check_int

#: The keys of a grid point and their defaults (a key missing from the grid takes its default).
GRID_DEFAULTS: dict[str, Any] = {"env_id": "KS-Control-v0", "env_kwargs": {}, "algo": "ppo", "wrappers": [],
                                 "surrogate": None, "hyperparams": {}}
#: The training settings shared by every trial, and their defaults (those of ``chaoscontrol train``).
TRAIN_DEFAULTS: dict[str, Any] = {"timesteps": 200_000, "max_episode_steps": 400, "eval_freq": 20_000, "eval_episodes": 8,
                                  "checkpoint_freq": 20_000, "config": None}
#: The final evaluation of every trial (``chaoscontrol evaluate`` on the truth), and its defaults.
EVALUATION_DEFAULTS: dict[str, Any] = {"episodes": 20, "seed": 0}
#: What one trial gets: Ray CPUs, and the threads of torch, Numba and OpenMP/MKL in its process.
RESOURCE_DEFAULTS: dict[str, Any] = {"cpus": 1, "torch_threads": 1, "numba_threads": 1, "omp_threads": 1}
TOP_KEYS = ("name", "out", "grid", "trials", "seeds", "train", "evaluation", "resources")


@dataclass(frozen=True)
class Trial:
    """One train + evaluate run of a sweep."""

    experiment: str
    """The experiment's id (the trial id without the seed)."""
    seed: int
    """The seed of training (evaluation episodes use the spec's evaluation seed, the same for every trial)."""
    config: dict[str, Any]
    """The grid point (:data:`GRID_DEFAULTS` keys), the train settings and the evaluation settings, plain values."""

    @property
    def id(self) -> str:
        """The trial's folder name: ``<experiment>-s<seed>``."""
        return f"{self.experiment}-s{self.seed}"

    def record(self) -> dict[str, Any]:
        """What ``trial.json`` holds, and what a later sweep compares to skip a finished trial."""
        return {"id": self.id, "experiment": self.experiment, "seed": self.seed, "config": self.config}


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: its name, output folder, points, seeds and settings (see the module docstring)."""

    name: str
    """A name for the report."""
    out: str
    """The sweep's folder (``OUT/sweep.json``, ``OUT/trials/<id>/``, ``OUT/report.md``)."""
    points: tuple[dict[str, Any], ...]
    """The grid's product and the explicit ``trials``, each with every :data:`GRID_DEFAULTS` key."""
    seeds: tuple[int, ...]
    """The seeds every point runs with."""
    train: dict[str, Any] = field(default_factory=lambda: dict(TRAIN_DEFAULTS))
    """Training settings (:data:`TRAIN_DEFAULTS` keys)."""
    evaluation: dict[str, Any] = field(default_factory=lambda: dict(EVALUATION_DEFAULTS))
    """Evaluation settings (:data:`EVALUATION_DEFAULTS` keys)."""
    resources: dict[str, Any] = field(default_factory=lambda: dict(RESOURCE_DEFAULTS))
    """Resources per trial (:data:`RESOURCE_DEFAULTS` keys)."""

    def trials(self) -> list[Trial]:
        """Every trial: the points in order, each with every seed. Identical points are one experiment."""
        out: dict[str, Trial] = {}
        for point in self.points:
            config = {**point, "train": dict(self.train), "evaluation": dict(self.evaluation)}
            experiment = experiment_id(config)
            for seed in self.seeds:
                trial = Trial(experiment, seed, config)
                out.setdefault(trial.id, trial)
        return list(out.values())

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec, plain values (recorded in ``sweep.json``)."""
        return {"name": self.name, "out": self.out, "points": [dict(p) for p in self.points], "seeds": list(self.seeds),
                "train": dict(self.train), "evaluation": dict(self.evaluation), "resources": dict(self.resources)}


def experiment_id(config: dict[str, Any]) -> str:
    """``<algo>-<env id>-<8 hex digits of the SHA-256 of the configuration's canonical JSON>``.

    :param config: a trial's configuration without its seed.
    """
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:8]
    return f"{config['algo']}-{config['env_id']}-{digest}"


def _section(name: str, given: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    """A mapping section with only known keys, over its defaults."""
    if given is None:
        return dict(defaults)
    if not isinstance(given, dict):
        raise ValueError(f"{name} must be a mapping of {sorted(defaults)}, got {given!r}")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"{name}: unknown keys {unknown}; allowed: {sorted(defaults)}")
    return {**defaults, **given}


def _check_point(where: str, point: dict[str, Any]) -> dict[str, Any]:
    """A grid point with every key of the right kind (the env id registered); ``where`` names it in errors."""
    from chaoscontrol.envs.registration import check_env_id

    try:
        check_env_id(point["env_id"])
    except ValueError as exc:
        raise ValueError(f"{where}.env_id: {exc}") from None
    for key in ("env_kwargs", "hyperparams"):
        if not isinstance(point[key], dict):
            raise ValueError(f"{where}.{key} must be a mapping, got {point[key]!r}")
    if not (isinstance(point["wrappers"], list) and all(isinstance(w, str) for w in point["wrappers"])):
        raise ValueError(f"{where}.wrappers must be a list of wrapper specs (strings), got {point['wrappers']!r}")
    for key in ("algo",):
        if not isinstance(point[key], str):
            raise ValueError(f"{where}.{key} must be a string, got {point[key]!r}")
    if point["surrogate"] is not None and not isinstance(point["surrogate"], str):
        raise ValueError(f"{where}.surrogate must be a checkpoint path or null, got {point['surrogate']!r}")
    return point


def _grid_points(grid: Any) -> list[dict[str, Any]]:
    if grid is None:
        return []
    if not isinstance(grid, dict):
        raise ValueError(f"grid must be a mapping of {sorted(GRID_DEFAULTS)} to lists, got {grid!r}")
    unknown = sorted(set(grid) - set(GRID_DEFAULTS))
    if unknown:
        raise ValueError(f"grid: unknown keys {unknown}; allowed: {sorted(GRID_DEFAULTS)}")
    axes = {}
    for key in GRID_DEFAULTS:
        values = grid.get(key, [GRID_DEFAULTS[key]])
        if not isinstance(values, list):
            raise ValueError(f"grid.{key} must be a list of values, got {values!r}")
        if not values:
            raise ValueError(f"grid.{key} is empty: give at least one value (or leave the key out for its default)")
        axes[key] = values
    return [_check_point(f"grid (point {i})", dict(zip(axes, combo)))
            for i, combo in enumerate(itertools.product(*axes.values()))]


def _explicit_points(trials: Any) -> list[dict[str, Any]]:
    if trials is None:
        return []
    if not isinstance(trials, list):
        raise ValueError(f"trials must be a list of mappings of grid keys, got {trials!r}")
    points = []
    for i, entry in enumerate(trials):
        if not isinstance(entry, dict):
            raise ValueError(f"trials[{i}] must be a mapping of grid keys, got {entry!r}")
        unknown = sorted(set(entry) - set(GRID_DEFAULTS))
        if unknown:
            raise ValueError(f"trials[{i}]: unknown keys {unknown}; allowed: {sorted(GRID_DEFAULTS)}")
        points.append(_check_point(f"trials[{i}]", {**GRID_DEFAULTS, **entry}))
    return points


def parse_sweep_spec(data: Any, source: str = "spec") -> SweepSpec:
    """Check a spec's mapping (every key, every value's kind) and resolve its defaults.

    :param data: the YAML document, parsed.
    :param source: what to call it in errors (the file name).
    :raises ValueError: naming the field at fault: an unknown key, a missing ``name``/``out``/``seeds``, an empty
        grid (no point at all, an empty list in it, no seed), an unregistered env id, a value of the wrong kind.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{source} must be a mapping with keys {list(TOP_KEYS)}, got {type(data).__name__}")
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise ValueError(f"{source}: unknown keys {unknown}; allowed: {list(TOP_KEYS)}")
    for key in ("name", "out"):
        if not (isinstance(data.get(key), str) and data[key].strip()):
            raise ValueError(f"{key} must be a non-empty string, got {data.get(key)!r}")
    points = _grid_points(data.get("grid")) + _explicit_points(data.get("trials"))
    if not points:
        raise ValueError("grid: the sweep has no trial; give a grid (or trials)")
    seeds = data.get("seeds")
    if not isinstance(seeds, list) or not seeds:
        raise ValueError(f"seeds must be a non-empty list of integers >= 0, got {seeds!r}")
    for i, seed in enumerate(seeds):
        check_int(f"seeds[{i}]", seed, minimum=0)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds!r}")
    train = _section("train", data.get("train"), TRAIN_DEFAULTS)
    for key in ("timesteps", "max_episode_steps", "eval_episodes", "checkpoint_freq"):
        check_int(f"train.{key}", train[key])
    check_int("train.eval_freq", train["eval_freq"], minimum=0)
    if train["config"] is not None and not isinstance(train["config"], str):
        raise ValueError(f"train.config must be a hyper-parameter YAML path or null, got {train['config']!r}")
    evaluation = _section("evaluation", data.get("evaluation"), EVALUATION_DEFAULTS)
    check_int("evaluation.episodes", evaluation["episodes"])
    check_int("evaluation.seed", evaluation["seed"], minimum=0)
    resources = _section("resources", data.get("resources"), RESOURCE_DEFAULTS)
    if not (isinstance(resources["cpus"], (int, float)) and not isinstance(resources["cpus"], bool) and resources["cpus"] > 0):
        raise ValueError(f"resources.cpus must be a number > 0, got {resources['cpus']!r}")
    for key in ("torch_threads", "numba_threads", "omp_threads"):
        check_int(f"resources.{key}", resources[key])
    return SweepSpec(name=data["name"], out=data["out"], points=tuple(points), seeds=tuple(seeds), train=train,
                     evaluation=evaluation, resources=resources)


def load_sweep_spec(path: str | Path) -> SweepSpec:
    """Read and check a sweep spec YAML (:func:`parse_sweep_spec`).

    :param path: the spec file.
    :raises ValueError: a missing or unparsable file, or a bad spec (naming the field).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"sweep spec {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"sweep spec {str(path)!r} is not valid YAML: {exc}") from exc
    return parse_sweep_spec(data, source=path.name)


__all__ = ["EVALUATION_DEFAULTS", "GRID_DEFAULTS", "RESOURCE_DEFAULTS", "TRAIN_DEFAULTS", "SweepSpec", "Trial",
           "experiment_id", "load_sweep_spec", "parse_sweep_spec"]
