"""Training of surrogates on trajectory datasets of any registered system, with checkpoints that resume.

The dataset's system (``env_id``) decides the families that apply (:func:`~chaoscontrol.surrogates.models.check_family_applies`:
every family on KS, the flat-state MLP families ``resnet``, ``node``, ``stable_resnet`` and ``deq`` on the others; any
other is refused with the reason) and the normalisation: rms(u) of the KS attractor for KS, the rms of the training
states for the others, whose fields are flattened to vectors (CGLE (2, N) to 2N values) and whose mean is not
conserved (``conserve_mean`` False).

Loss: for families with an autoencoder (``latent``), first ``pretrain_epochs`` of the
reconstruction loss < (D(E(u)) - u)^2 > / rms(u)^2 on training states; then, after
``warmup_epochs`` of one-step training, a multi-step rollout loss
over ``horizon`` control intervals,

    loss = (1/H) sum_{k=1..H} < (u_model_k - u_true_k)^2 > / rms(u)^2,

the model fed its own predictions (teacher forcing only at k = 0). Adam with a
cosine learning-rate schedule over ``schedule_epochs`` (:func:`learning_rate`), gradient-norm clipping, early stopping on the
validation rollout loss, a progress bar and TensorBoard logs (``OUT/tb``).

Files in ``OUT``:

- ``model.pt``: the best model so far, ``{"config", "state_dict", "env_config",
  "normalisation", "env_id"}`` (plain values and tensors: ``torch.load(..., weights_only=True)``; a checkpoint
  without ``env_id`` is of ``KS-Control-v0``);
- ``checkpoint.pt``: the latest state (model, optimiser, schedule, epoch, best
  loss, generator states, and ``finished``: why training stopped, ``"patience"``,
  ``"epochs"`` or ``"max_minutes"``, or None while it runs) from which ``resume=True``
  continues;
- ``history.json``: losses, learning rate and cumulative training wall time (``wall_s``,
  summed over resumed sessions) per epoch; ``args.json``: the arguments.

All are written atomically. Ctrl-C (or SIGTERM) stops the run between two writes: ``checkpoint.pt`` is the last
finished epoch's, from which ``resume=True`` continues.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chaoscontrol.envs.registration import ENV_SPECS
from chaoscontrol.io import atomic_path, refuse_existing_output, write_json_atomic
from chaoscontrol.surrogates.base import SurrogateModule
from chaoscontrol.surrogates.dataset import DEFAULT_ENV_ID, TrajectoryData, config_differences, dynamics_keys, load_dataset
from chaoscontrol.surrogates.interrupts import sigterm_as_interrupt
from chaoscontrol.surrogates.models import FAMILIES, build_model, check_family_applies, config_from_dict, make_config
from chaoscontrol.surrogates.threads import torch_threads_kept
from chaoscontrol.surrogates.truth_runs import is_ks, truth_env
from chaoscontrol.validation import check_int, check_non_negative, check_positive

CHECKPOINT_KEYS = ("config", "state_dict", "env_config", "normalisation")


@dataclass(frozen=True)
class TrainArgs:
    """Arguments of ``chaoscontrol surrogate train``."""

    family: str = "node"
    """Model family (a key of :data:`~chaoscontrol.surrogates.models.FAMILIES`): any on a KS dataset; resnet, node,
    stable_resnet or deq on another system's (docs/surrogates.md, "Which families on which systems")."""
    data: str = "data/ks_random.h5"
    """Dataset (HDF5) with train and validation splits."""
    out: str = "runs/surrogate"
    """Output folder."""
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keywords of the family's config (width, depth, ...)."""
    horizon: int = 8
    """Rollout length of the multi-step loss (control intervals)."""
    pretrain_epochs: int = 0
    """Epochs of autoencoder reconstruction loss first (only for families with ``reconstruction_loss``, i.e. ``latent``)."""
    warmup_epochs: int = 2
    """Epochs of one-step loss before the rollout loss."""
    epochs: int = 50
    """Maximum epochs."""
    windows_per_epoch: int = 2048
    """Training windows drawn per epoch."""
    batch_size: int = 64
    """Windows per gradient step."""
    lr: float = 1e-3
    """Initial learning rate."""
    schedule_epochs: int = 50
    """Cosine decay of the learning rate to lr / 100 over this many epochs, then constant.

    Independent of ``epochs``, so that resuming with more epochs continues the same schedule."""
    clip_grad: float = 1.0
    """Gradient-norm clipping."""
    patience: int = 10
    """Early stopping: epochs without a better validation loss."""
    input_noise: float = 0.0
    """Training noise: the first state of each training window gets mean-free Gaussian noise of this std
    (a fraction of rms(u)) while the targets stay the true trajectory, so the model learns to pull
    perturbed states back towards the data (the noise injection of Sanchez-Gonzalez et al. 2020,
    "Learning to simulate complex physics with graph networks"); 0 turns it off."""
    val_windows: int = 512
    """Validation windows (evenly spaced over all of them; fixed for the whole run)."""
    seed: int = 0
    """Seed of initialisation and sampling."""
    max_minutes: float | None = None
    """Stop after this much training wall time, summed over resumed sessions (the best model is kept)."""
    progress: bool = True
    """Show a progress bar."""
    overwrite: bool = False
    """Replace the run in --out (its model.pt, checkpoint.pt, history.json, args.json and tb/) with a new one."""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {self.family!r}")
        for name in ("horizon", "epochs", "windows_per_epoch", "batch_size", "patience", "schedule_epochs", "val_windows"):
            check_int(name, getattr(self, name))
        check_int("warmup_epochs", self.warmup_epochs, minimum=0)
        check_int("pretrain_epochs", self.pretrain_epochs, minimum=0)
        if self.pretrain_epochs and not hasattr(FAMILIES[self.family][1], "reconstruction_loss"):
            raise ValueError(f"pretrain_epochs needs a family with an autoencoder (latent), not {self.family!r}")
        check_non_negative("input_noise", self.input_noise)
        for name in ("lr", "clip_grad"):
            check_positive(name, getattr(self, name))
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max_minutes must be positive or None, got {self.max_minutes!r}")
        fixed = sorted({"L", "N", "n_actuators", "interval", "conserve_mean"} & set(self.model_kwargs))
        if fixed:
            raise ValueError(f"model_kwargs may not set {fixed}: they come from the dataset's env configuration")
        make_config(self.family, **self.model_kwargs)  # unknown keys fail here


def _flat(data: TrajectoryData) -> TrajectoryData:
    """The data with each field flattened to a vector: states (T, S + 1, N) and forcing (T, S, N), N = prod(F)."""
    t, s1 = data.states.shape[:2]
    return dataclasses.replace(data, states=data.states.reshape(t, s1, -1), forcing=data.forcing.reshape(t, s1 - 1, -1))


def _windows(data: TrajectoryData, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All windows of ``length`` intervals: states (W, length + 1, N), actions (W, length, n_act)."""
    t, s1, _ = data.states.shape
    if s1 - 1 < length:
        raise ValueError(f"trajectories have {s1 - 1} steps, fewer than the window plus horizon ({length} intervals)")
    starts = [(i, k) for i in range(t) for k in range(s1 - length)]
    states = np.stack([data.states[i, k : k + length + 1] for i, k in starts])
    actions = np.stack([data.actions[i, k : k + length] for i, k in starts])
    return torch.as_tensor(states, dtype=torch.float32), torch.as_tensor(actions, dtype=torch.float32)


def save_surrogate(model: SurrogateModule, env_config: dict[str, Any], path: str | Path, env_id: str | None = None) -> None:
    """Write ``{"config", "state_dict", "env_config", "normalisation", "env_id"}`` atomically.

    :param model: the surrogate.
    :param env_config: the resolved env configuration it was trained on.
    :param path: the checkpoint file.
    :param env_id: the registered system it was trained on (default: ``model.env_id``).
    """
    payload = {
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "env_config": env_config,
        "normalisation": {"u_scale": float(model.u_scale)},
        "env_id": model.env_id if env_id is None else env_id,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def same_system(a: str, b: str) -> bool:
    """Whether two registered ids are one system (the same entry point: KS-L66-Control-v0 is KS-Control-v0 with other
    defaults), so that a configuration check decides between them.

    :param a: a registered id.
    :param b: another.
    """
    return a == b or (a in ENV_SPECS and b in ENV_SPECS and ENV_SPECS[a]["entry_point"] == ENV_SPECS[b]["entry_point"])


def load_surrogate(path: str | Path, expect_env_config: dict[str, Any] | None = None,
                   expect_env_id: str | None = None) -> tuple[SurrogateModule, dict[str, Any]]:
    """Load a surrogate checkpoint (``weights_only=True``); returns (model in eval mode, its env config).

    The model's ``env_id`` is the system it was trained on (``KS-Control-v0`` for a checkpoint that does not record one).

    :param path: the checkpoint.
    :param expect_env_config: if given, the dynamics keys of the checkpoint's env configuration must match.
    :param expect_env_id: if given, the checkpoint must be of this system (or of an id of the same system).
    :raises ValueError: naming the file: missing, unreadable, not a surrogate checkpoint, unknown family,
        of another system (naming both ids), or trained on another configuration (says which keys differ).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"surrogate checkpoint {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to read is the file's fault
        raise ValueError(f"surrogate checkpoint {str(path)!r} is not a readable torch checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict) or any(k not in payload for k in CHECKPOINT_KEYS):
        raise ValueError(f"surrogate checkpoint {str(path)!r} lacks the keys {list(CHECKPOINT_KEYS)}")
    family = payload["config"].get("family")
    if family not in FAMILIES:
        raise ValueError(f"surrogate checkpoint {str(path)!r} has unknown family {family!r}; known: {sorted(FAMILIES)}")
    env_config = payload["env_config"]
    env_id = payload.get("env_id", DEFAULT_ENV_ID)
    if expect_env_id is not None and not same_system(env_id, expect_env_id):
        raise ValueError(f"surrogate checkpoint {str(path)!r} was trained on {env_id}, not on {expect_env_id}: "
                         f"a surrogate steps only the system it learned")
    if expect_env_config is not None:
        diffs = config_differences(expect_env_config, env_config)
        if diffs:
            raise ValueError(f"surrogate checkpoint {str(path)!r} was trained on another configuration: " + "; ".join(diffs))
    config = config_from_dict(payload["config"])
    shapes = payload["state_dict"]["forcing_shapes"].numpy()
    model = build_model(config, shapes, payload["normalisation"]["u_scale"])
    model.load_state_dict(payload["state_dict"])
    model.env_id = env_id
    model.eval()
    return model, env_config


def training_state(out: str | Path) -> dict[str, Any] | None:
    """Why a run stopped (``finished``: None while it runs or was interrupted), its epochs and training wall time.

    :param out: the run folder; None when it has no ``checkpoint.pt`` (never started).
    """
    ckpt = Path(out) / "checkpoint.pt"
    if not ckpt.is_file():
        return None
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    history = state["history"]
    return {"finished": state.get("finished"), "epochs": state["epoch"], "wall_s": history[-1].get("wall_s") if history else None}


def learning_rate(args: TrainArgs, epoch: int) -> float:
    """Cosine decay from lr to lr / 100 over ``schedule_epochs`` epochs (0-based ``epoch``), then constant."""
    low = args.lr / 100.0
    x = min(epoch, args.schedule_epochs) / args.schedule_epochs
    return low + (args.lr - low) * 0.5 * (1.0 + math.cos(math.pi * x))


#: The files of a run in its folder (what ``overwrite`` replaces; anything else in the folder is kept).
RUN_FILES = ("model.pt", "checkpoint.pt", "history.json", "args.json", "tb")


def _check_run_folder(out: Path, resume: bool, overwrite: bool) -> None:
    """A new run goes into a folder without one, unless ``overwrite``; ``resume`` needs the run's ``checkpoint.pt``.

    :raises ValueError: naming the file and the flag to pass.
    """
    ckpt_path, model_path = out / "checkpoint.pt", out / "model.pt"
    shown = model_path if model_path.exists() and not ckpt_path.exists() and not resume else ckpt_path
    present = ckpt_path.is_file() or (not resume and model_path.exists())
    refuse_existing_output(shown, present=present, resume=resume, overwrite=overwrite, what="surrogate run file")


def train_surrogate(args: TrainArgs, resume: bool = False) -> Path:
    """Train (or resume) a surrogate; returns the path of the best model (``OUT/model.pt``).

    Everything is checked before anything is written: a folder that holds a run is refused unless ``resume`` or
    ``args.overwrite``, and a dataset or arguments that cannot make a run leave no folder.

    :param args: the run's arguments.
    :param resume: continue the run in ``args.out`` from its ``checkpoint.pt``.
    :raises ValueError: bad input, naming it; a folder that holds a run (without ``resume`` or ``overwrite``); a family
        that does not apply to the dataset's system (saying why).
    :raises KeyboardInterrupt: on Ctrl-C or SIGTERM (a :class:`~chaoscontrol.surrogates.interrupts.Terminated`), with
        ``checkpoint.pt`` that of the last finished epoch.
    """
    from torch.utils.tensorboard import SummaryWriter
    from tqdm.auto import tqdm

    from chaoscontrol.solvers.attractor import attractor_rms

    out = Path(args.out)
    ckpt_path, model_path = out / "checkpoint.pt", out / "model.pt"
    _check_run_folder(out, resume, args.overwrite)
    train = load_dataset(args.data, "train")
    val = load_dataset(args.data, "validation")
    if val.states.shape[0] == 0:
        raise ValueError(f"dataset file {args.data!r} has no validation trajectories")
    env_kwargs, env_id = train.env_config, train.env_id
    probe = truth_env(env_id, env_kwargs)
    ks = is_ks(probe)
    field_shape = tuple(probe.dynamics.field_shape)
    check_family_applies(args.family, env_id, field_shape, ks, args.model_kwargs)
    n_act = probe.action_space.shape[0]
    if ks:
        with torch_threads_kept():  # Numba's parallel kernels (attractor_rms) would change torch's thread count
            cfg = probe.config
            u_scale = attractor_rms(cfg.L, cfg.N, cfg.dt)
        dims = {"L": cfg.L, "N": cfg.N, "n_actuators": n_act, "interval": probe.frame_skip * cfg.dt}
    else:  # the flattened state, scaled by its rms over the training data, its mean free to change
        u_scale = float(np.sqrt(np.mean(train.states**2)))
        dims = {"N": int(np.prod(field_shape)), "n_actuators": n_act, "interval": probe.dynamics.control_dt,
                "conserve_mean": False}
        train, val = _flat(train), _flat(val)
    if args.family == "partial":  # the dataset's sensors unless model_kwargs chooses others (e.g. fewer)
        dims["sensors"] = tuple(env_kwargs["sensors"])
    config = make_config(args.family, **{**dims, **args.model_kwargs})
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = build_model(config, probe.forcing_fields(np.eye(n_act)).reshape(n_act, -1), u_scale)
    model.env_id = env_id
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    noise_gen = torch.Generator().manual_seed(args.seed + 1)
    if not resume:  # e.g. latent: the principal components of the training states (a resume loads them)
        model.fit_to_data(train.states)
    start_epoch, best, stale, history = 0, math.inf, 0, []
    if resume:
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if state["args"]["family"] != args.family or state["args"]["data"] != args.data:
            raise ValueError(f"{str(ckpt_path)!r} is from another run (family {state['args']['family']}, data {state['args']['data']})")
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        start_epoch, best, stale, history = state["epoch"], state["best"], state["stale"], state["history"]
        torch.set_rng_state(state["torch_rng"])
        rng.bit_generator.state = state["numpy_rng"]
        if "noise_rng" in state:
            noise_gen.set_state(state["noise_rng"])
    context = model.context  # states before the first prediction (partial: its window W)
    one_step = _windows(train, context)
    multi = _windows(train, context - 1 + args.horizon)
    val_all = _windows(val, context - 1 + args.horizon)
    keep = torch.as_tensor(np.unique(np.linspace(0, val_all[0].shape[0] - 1, args.val_windows).round().astype(int)))
    val_windows = (val_all[0][keep], val_all[1][keep])
    if args.overwrite:  # everything checked: the old run goes now
        for name in RUN_FILES:
            if (out / name).is_dir():
                shutil.rmtree(out / name)
            else:
                (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "args.json", asdict(args))
    writer = SummaryWriter(str(out / "tb"))
    started = time.perf_counter()
    wall_before = history[-1].get("wall_s", 0.0) if history else 0.0  # training time of earlier sessions
    bar = tqdm(range(start_epoch, args.epochs), desc=f"train {args.family}", disable=not args.progress)
    try:  # Ctrl-C or SIGTERM: checkpoint.pt is the last finished epoch's (each write is atomic)
        with sigterm_as_interrupt():
            for epoch in bar:
                pretraining = epoch < args.pretrain_epochs
                states, actions = one_step if epoch < args.pretrain_epochs + args.warmup_epochs else multi
                lr = learning_rate(args, epoch)
                for group in optimiser.param_groups:
                    group["lr"] = lr
                model.train()
                picks = rng.choice(states.shape[0], size=min(args.windows_per_epoch, states.shape[0]), replace=False)
                losses = []
                for first in range(0, picks.size, args.batch_size):
                    idx = torch.as_tensor(picks[first : first + args.batch_size])
                    batch = states[idx]
                    if args.input_noise > 0:
                        noise = torch.randn(batch[:, :context].shape, generator=noise_gen)
                        batch = batch.clone()
                        batch[:, :context] += args.input_noise * model.u_scale * model.centred(noise)
                    if pretraining:
                        loss = model.reconstruction_loss(batch.reshape(-1, batch.shape[-1]))
                    else:
                        loss = model.window_loss(batch, actions[idx])
                    optimiser.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad)
                    optimiser.step()
                    losses.append(loss.item())
                model.eval()
                with torch.no_grad():
                    val_loss = float(model.window_loss(*val_windows))
                train_loss = float(np.mean(losses))
                wall = wall_before + time.perf_counter() - started
                history.append({"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss, "lr": lr, "wall_s": wall})
                writer.add_scalar("loss/train", train_loss, epoch + 1)
                writer.add_scalar("loss/validation", val_loss, epoch + 1)
                bar.set_postfix(train=f"{train_loss:.3g}", val=f"{val_loss:.3g}")
                if not math.isfinite(val_loss):
                    stale = args.patience
                elif epoch < args.pretrain_epochs + args.warmup_epochs - 1:
                    pass  # pretraining and one-step warm-up: no early stopping yet
                elif val_loss < best:
                    best, stale = val_loss, 0
                    save_surrogate(model, train.env_config, model_path)
                else:
                    stale += 1
                if stale >= args.patience:
                    finished = "patience"
                elif epoch + 1 >= args.epochs:
                    finished = "epochs"
                elif args.max_minutes is not None and wall > 60 * args.max_minutes:
                    finished = "max_minutes"
                else:
                    finished = None
                state = {
                    "args": asdict(args), "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                    "epoch": epoch + 1, "best": best, "stale": stale, "history": history, "finished": finished,
                    "torch_rng": torch.get_rng_state(), "numpy_rng": rng.bit_generator.state, "noise_rng": noise_gen.get_state(),
                }
                with atomic_path(ckpt_path) as tmp:
                    torch.save(state, tmp)
                write_json_atomic(out / "history.json", history)
                if finished is not None:
                    break
    finally:
        bar.close()
        writer.close()
    if not model_path.exists():
        save_surrogate(model, train.env_config, model_path)
    return model_path
