"""The robustness harness: a policy evaluated on the batched KS env under a perturbation at several levels.

``chaoscontrol robustness --policy {zero,random,PATH.zip} --perturbation NAME
--levels 0,0.05,0.1 --episodes N --seed S --out DIR`` writes

- ``DIR/robustness.csv``: one row per episode, columns
  ``level,seed,episode,return,mean_dissipation,blowup``, appended and flushed row
  by row, so an interrupted sweep keeps its rows and ``run_robustness`` resumes
  it (levels already complete are skipped; a partial level is run again and only
  its missing rows are written);
- ``DIR/robustness.png``: return and mean dissipation against the level, mean
  with a 95% confidence band (normal approximation, 1.96 standard errors);
- ``DIR/config.json``: the arguments and the package version; resuming into a
  folder whose sweep had other arguments (other than the levels) is refused.

``mean_dissipation`` is over the steps before a blow-up (NaN if the first step blew up).

Episode e of every level starts from the same initial state (env seed S + e),
so the levels are compared on paired initial conditions. All N episodes of a
level run together in one :class:`~chaoscontrol.envs.ks_vector.KSControlVectorEnv`.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from chaoscontrol.envs.ks_vector import KSControlVectorEnv
from chaoscontrol.envs.perturbation_wrappers import PERTURBATIONS, VectorPerturbation, make_perturbation
from chaoscontrol.io import atomic_path, write_json_atomic
from chaoscontrol.validation import check_int

CSV_COLUMNS = ("level", "seed", "episode", "return", "mean_dissipation", "blowup")
BUILTIN_POLICIES = ("zero", "random")
HARNESS_PERTURBATIONS = PERTURBATIONS + ("adversarial",)


@dataclass(frozen=True)
class RobustnessArgs:
    """Arguments of the robustness harness."""

    policy: str = "zero"
    """``zero`` (no control), ``random`` (uniform actions), a baseline (``lqr``, ``lqg``, ``mpc``; see
    :mod:`chaoscontrol.baselines`) or the path of an SB3 ``.zip``."""
    perturbation: str = "noise"
    """One of :data:`HARNESS_PERTURBATIONS` (see ``make_perturbation`` for what the level means)."""
    levels: tuple[float, ...] = (0.0, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5)
    """Perturbation levels (sensor levels are fractions of the attractor's rms(u))."""
    episodes: int = 8
    """Episodes per level (run together as one batch)."""
    seed: int = 0
    """Episode e starts from env seed ``seed + e``."""
    out: str = "runs/robustness"
    """Output folder."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keywords of ``KS-Control-v0``."""
    max_episode_steps: int = 400
    """Episode length in env steps."""
    perturbation_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra keywords of the perturbation (e.g. ``indices`` for ``subset``, ``norm``/``attack`` for ``adversarial``)."""
    deterministic: bool = True
    """Deterministic actions of a trained policy."""
    progress: bool = True
    """Show a progress bar."""

    def __post_init__(self) -> None:
        if self.perturbation not in HARNESS_PERTURBATIONS:
            raise ValueError(f"perturbation must be one of {HARNESS_PERTURBATIONS}, got {self.perturbation!r}")
        if not self.levels:
            raise ValueError("levels must not be empty")
        for level in self.levels:
            if not (isinstance(level, (int, float)) and math.isfinite(level) and level >= 0):
                raise ValueError(f"levels must be finite and >= 0, got {level!r}")
        if self.perturbation == "dropout" and max(self.levels) > 1:
            raise ValueError(f"levels of 'dropout' are probabilities in [0, 1], got {max(self.levels)}")
        check_int("episodes", self.episodes)
        check_int("max_episode_steps", self.max_episode_steps)
        check_policy_spec("policy", self.policy)
        if self.perturbation == "adversarial" and not str(self.policy).endswith(".zip"):
            raise ValueError("perturbation 'adversarial' needs a trained policy (.zip) to attack (its gradient)")
        self._preflight()

    def _preflight(self) -> None:
        """Build the env and every level's perturbation once, so that bad input fails before any row is written."""
        from chaoscontrol.envs.ks_control import KSControlEnv

        if not isinstance(self.env_kwargs, dict) or not isinstance(self.perturbation_kwargs, dict):
            raise ValueError("env_kwargs and perturbation_kwargs must be dicts")
        try:
            probe = KSControlEnv(**self.env_kwargs)
        except TypeError as exc:
            raise ValueError(f"env_kwargs: {exc}") from exc
        if self.perturbation == "adversarial":
            from chaoscontrol.agents.adversarial import ATTACKS, NORMS, OBJECTIVES

            kwargs = dict(self.perturbation_kwargs)
            unknown = set(kwargs) - {"norm", "attack", "objective", "steps", "relative"}
            if unknown:
                raise ValueError(f"perturbation_kwargs of 'adversarial' has unknown keys {sorted(unknown)}")
            for key, choices in (("norm", NORMS), ("attack", ATTACKS), ("objective", OBJECTIVES)):
                if key in kwargs and kwargs[key] not in choices:
                    raise ValueError(f"perturbation_kwargs['{key}'] must be one of {choices}, got {kwargs[key]!r}")
            return
        for level in self.levels:
            make_perturbation(self.perturbation, level, probe, **dict(self.perturbation_kwargs))


def load_sb3_model(path: str | os.PathLike) -> Any:
    """Load an SB3 model of any of PPO, A2C, SAC, TD3, DDPG from ``path`` (CPU).

    :raises ValueError: naming the file if it is not an SB3 model.
    """
    from stable_baselines3 import A2C, DDPG, PPO, SAC, TD3
    from stable_baselines3.common.save_util import load_from_zip_file

    try:
        data, _, _ = load_from_zip_file(path, device="cpu")
    except Exception as exc:  # noqa: BLE001 - any failure to read is the file's fault
        raise ValueError(f"policy file {str(path)!r} is not a readable SB3 model: {exc}") from exc
    module = getattr(data.get("policy_class"), "__module__", "") if data else ""
    algos = {"ppo": PPO, "a2c": A2C, "sac": SAC, "td3": TD3, "ddpg": DDPG}
    for name, cls in algos.items():
        if f".{name}." in f".{module}.":
            return cls.load(path, device="cpu")
    for cls in (PPO, SAC, TD3, A2C, DDPG):  # policy classes shared between algorithms (e.g. TD3/DDPG)
        try:
            return cls.load(path, device="cpu")
        except Exception:  # noqa: BLE001
            continue
    raise ValueError(f"policy file {str(path)!r}: cannot tell which SB3 algorithm saved it (policy module {module!r})")


def check_policy_spec(arg: str, policy: str) -> None:
    """Check a policy spec: ``zero``, ``random``, a baseline (``lqr``, ``lqg``, ``mpc``, optionally ``NAME:JSON``) or an
    existing SB3 ``.zip``; the error names ``arg``."""
    from chaoscontrol.baselines import BASELINES, parse_baseline

    if policy in BUILTIN_POLICIES:
        return
    try:
        if parse_baseline(policy) is not None:
            return
    except ValueError as exc:
        raise ValueError(f"{arg}: {exc}") from exc
    if not str(policy).endswith(".zip"):
        raise ValueError(f"{arg} must be one of {BUILTIN_POLICIES + BASELINES} (baselines optionally NAME:JSON) "
                         f"or the path of an SB3 .zip, got {policy!r}")
    if not Path(policy).is_file():
        raise ValueError(f"{arg} file {policy!r} does not exist")


def make_policy(policy: str, venv: Any, seed: int, deterministic: bool = True) -> tuple[Callable, Any]:
    """(act(obs) -> actions (B, n_act), model or None) for a policy name, baseline spec or path, checked against ``venv``."""
    from chaoscontrol.baselines import make_baseline, parse_baseline

    b, n_act = venv.num_envs, venv.single_action_space.shape[0]
    if parse_baseline(policy) is not None:
        return make_baseline(policy, venv), None
    if policy == "zero":
        return (lambda obs: np.zeros((b, n_act))), None
    if policy == "random":
        rng = np.random.default_rng([seed, 7])
        return (lambda obs: rng.uniform(-1.0, 1.0, (b, n_act))), None
    from chaoscontrol.agents.adversarial import check_model_spaces
    from chaoscontrol.agents.policies import load_agent, run_config

    act, model = load_agent(policy, deterministic)  # with the run's observation normalisation, if any
    check_model_spaces(model, venv.single_observation_space, venv.single_action_space)
    residual = ((run_config(policy) or {}).get("args") or {}).get("residual")
    if residual:
        from chaoscontrol.agents.residual import residual_policy

        act = residual_policy(act, make_baseline(residual, venv))
    return act, model


def _drop_partial_last_line(path: Path) -> None:
    """Remove a last line cut short by an interruption (no final newline)."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as fh:
            fh.truncate(data.rfind(b"\n") + 1)


def _completed_rows(path: Path) -> dict[float, set[int]]:
    """Episodes already written, per level (complete rows only)."""
    done: dict[float, set[int]] = {}
    if not path.exists():
        return done
    _drop_partial_last_line(path)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
            raise ValueError(f"{path} exists with columns {reader.fieldnames}, expected {list(CSV_COLUMNS)}")
        for row in reader:
            try:
                float(row["return"]), float(row["mean_dissipation"]), int(row["blowup"])
                done.setdefault(float(row["level"]), set()).add(int(row["episode"]))
            except (TypeError, ValueError):
                continue
    return done


def evaluate_level(args: RobustnessArgs, level: float) -> list[dict[str, Any]]:
    """Run the ``args.episodes`` episodes of one level; one dict per episode (the CSV columns)."""
    venv = KSControlVectorEnv(
        num_envs=args.episodes, max_episode_steps=args.max_episode_steps, autoreset_mode="Disabled", **args.env_kwargs
    )
    env: Any = venv
    if args.perturbation == "adversarial":
        from chaoscontrol.agents.adversarial import AdversarialPerturbation, policy_frame
        from chaoscontrol.envs.perturbation_wrappers import _sensor_scale

        act, model = make_policy(args.policy, venv, args.seed, args.deterministic)
        kwargs = dict(args.perturbation_kwargs)
        scale = _sensor_scale(venv, kwargs.pop("relative", True))
        env = VectorPerturbation(venv, AdversarialPerturbation(model, level * scale, frame=policy_frame(args.policy), **kwargs), "observation")
    else:
        perturbation, target = make_perturbation(args.perturbation, level, venv, **dict(args.perturbation_kwargs))
        env = VectorPerturbation(venv, perturbation, target)
        act, _ = make_policy(args.policy, env, args.seed, args.deterministic)  # checked against the perturbed spaces
    obs, _ = env.reset(seed=args.seed)
    b = args.episodes
    returns = np.zeros(b)
    dissipation = np.zeros(b)
    steps = np.zeros(b, dtype=np.int64)
    blowup = np.zeros(b, dtype=bool)
    active = np.ones(b, dtype=bool)
    for _ in range(args.max_episode_steps):
        obs, rewards, terminated, truncated, infos = env.step(act(obs))
        returns[active] += rewards[active]
        dissipation[active] += np.where(infos["blowup"], 0.0, infos["dissipation"])[active]
        steps[active] += ~infos["blowup"][active]
        blowup |= active & infos["blowup"]
        active &= ~(terminated | truncated)
        if not active.any():
            break
    env.close()
    return [
        {
            "level": level,
            "seed": args.seed + e,
            "episode": e,
            "return": float(returns[e]),
            "mean_dissipation": float(dissipation[e] / steps[e]) if steps[e] else float("nan"),
            "blowup": int(blowup[e]),
        }
        for e in range(b)
    ]


def _probe_policy(args: RobustnessArgs) -> None:
    """Build the policy against the (perturbed) env of the first level: a mismatch fails here."""
    venv = KSControlVectorEnv(num_envs=1, max_episode_steps=args.max_episode_steps, autoreset_mode="Disabled", **args.env_kwargs)
    if args.perturbation == "adversarial":
        make_policy(args.policy, venv, args.seed)
        return
    perturbation, target = make_perturbation(args.perturbation, args.levels[0], venv, **dict(args.perturbation_kwargs))
    make_policy(args.policy, VectorPerturbation(venv, perturbation, target), args.seed)


def run_robustness(args: RobustnessArgs) -> Path:
    """Run (or resume) the sweep of ``args``; returns the CSV path. Writes the CSV, the PNG and config.json."""
    from tqdm.auto import tqdm

    from chaoscontrol import __version__

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "robustness.csv"
    config_path = out / "config.json"
    identity = {k: v for k, v in asdict(args).items() if k not in ("levels", "out", "progress")}
    if csv_path.exists() and config_path.exists():
        previous = json.loads(config_path.read_text()).get("args", {})
        previous = {k: v for k, v in previous.items() if k not in ("levels", "out", "progress")}
        if previous != json.loads(json.dumps(identity)):
            raise ValueError(f"{out} holds a sweep with other arguments ({previous}); use another --out to start a new one")
    # the policy against the perturbed env, before any row is written
    probe_args = RobustnessArgs(**{**asdict(args), "episodes": 1, "levels": (args.levels[0],), "progress": False})
    _probe_policy(probe_args)
    done = _completed_rows(csv_path)
    levels = sorted(set(args.levels) | set(done))
    write_json_atomic(config_path, {"args": identity | {"levels": levels}, "package_version": __version__})
    new_file = not csv_path.exists()
    with csv_path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        if new_file:
            writer.writeheader()
            fh.flush()
        for level in tqdm(args.levels, desc=f"robustness {args.perturbation}", disable=not args.progress):
            have = done.get(float(level), set())
            if len(have) >= args.episodes and all(e in have for e in range(args.episodes)):
                continue
            for row in evaluate_level(args, float(level)):
                if row["episode"] in have:
                    continue
                writer.writerow(row)
                fh.flush()
                os.fsync(fh.fileno())
    plot_robustness(csv_path, out / "robustness.png", title=f"{args.policy} under {args.perturbation}")
    return csv_path


def _mean_ci95(values: np.ndarray) -> tuple[float, float]:
    """Mean and 95% half-width (1.96 standard errors) over the finite values; (nan, 0) if none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), 0.0
    half = 1.96 * finite.std(ddof=1) / math.sqrt(finite.size) if finite.size > 1 else 0.0
    return float(finite.mean()), float(half)


def summarise(csv_path: str | os.PathLike) -> dict[float, dict[str, float]]:
    """Per level: n, mean and 95% half-width of return and mean dissipation, blow-up fraction."""
    rows: dict[float, list[tuple[float, float, int]]] = {}
    with open(csv_path, newline="") as fh:
        for row in csv.DictReader(fh):
            rows.setdefault(float(row["level"]), []).append(
                (float(row["return"]), float(row["mean_dissipation"]), int(row["blowup"]))
            )
    out = {}
    for level in sorted(rows):
        arr = np.array(rows[level], dtype=np.float64)
        (ret, ret_half), (dis, dis_half) = (_mean_ci95(arr[:, col]) for col in (0, 1))
        out[level] = {
            "n": arr.shape[0],
            "return_mean": ret,
            "return_ci95": ret_half,
            "dissipation_mean": dis,
            "dissipation_ci95": dis_half,
            "blowup_fraction": float(arr[:, 2].mean()),
        }
    return out


def plot_robustness(csv_path: str | os.PathLike, png_path: str | os.PathLike, title: str = "") -> None:
    """Return and mean dissipation against the level with 95% confidence bands."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    summary = summarise(csv_path)
    levels = np.array(list(summary))
    fig = Figure(figsize=(9, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    for col, (key, label) in enumerate((("return", "episode return"), ("dissipation", "mean dissipation D"))):
        ax = fig.add_subplot(1, 2, col + 1)
        mean = np.array([summary[lv][f"{key}_mean"] for lv in levels])
        half = np.array([summary[lv][f"{key}_ci95"] for lv in levels])
        ax.plot(levels, mean, "o-", color="tab:blue")
        ax.fill_between(levels, mean - half, mean + half, color="tab:blue", alpha=0.25, label="95% CI")
        ax.set_xlabel("perturbation level")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    fig.suptitle(title)
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png")
