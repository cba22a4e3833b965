"""``chaoscontrol sweep SPEC.yaml``: every trial of a sweep spec as a Ray task, resumable, its state in ``OUT/sweep.json``.

The spec is read and every trial's arguments are built and checked (:func:`~chaoscontrol.apps.sweep_trial.check_trial`)
before Ray starts; a bad spec is a ``ValueError`` naming the field. Then Ray runs on this machine (``ray.init()``:
no server to start, no dashboard) or joins a cluster (``--address``), and each trial that is not done is one Ray
core task of ``resources.cpus`` CPUs that runs the trial in a process of its own (``python -m
chaoscontrol.apps.sweep_trial``, its thread counts set by ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``/
``NUMBA_NUM_THREADS`` and the train arguments ``torch_threads``/``numba_threads``), so that a crash of one trial
is one failed trial. Ray Tune is not used: each trial is one independent run with its own resumable folder, and
Tune's experiment state, trainable API and result store would duplicate the run folder's (it is for searchers and
schedulers, issue 18 part 2).

Resume: the sweep run again skips the trials whose evaluation is written, evaluates the trained ones and continues
the interrupted ones from their newest checkpoint (:func:`~chaoscontrol.apps.sweep_trial.trial_stage`). A SIGTERM
or Ctrl-C of the sweep stops its trials (each writes a checkpoint) and exits 130; a SIGKILL leaves the trials'
newest periodic checkpoints. A failed trial is recorded with its error and log and the others go on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from chaoscontrol.apps.sweep_spec import SweepSpec, Trial, load_sweep_spec
from chaoscontrol.apps.sweep_trial import check_trial, trial_stage
from chaoscontrol.io import remove_stale_temporaries, write_json_atomic
from chaoscontrol.validation import check_int


@dataclass(frozen=True)
class SweepArgs:
    """Arguments of ``chaoscontrol sweep``."""

    spec: str
    """The sweep spec (YAML; docs/sweeps.md)."""
    address: str | None = None
    """A running Ray cluster to use (``ray start --head`` prints it; ``auto`` finds the local one); default: an
    embedded Ray on this machine."""
    max_concurrent: int | None = None
    """Most trials at once (default: the cluster's CPUs / resources.cpus)."""
    num_cpus: int | None = None
    """CPUs of the embedded Ray (default: the machine's); not with --address."""
    dry_run: bool = False
    """Check the spec and list the trials with their stage (new, resume, evaluate, done); run nothing."""
    report: bool = False
    """Write OUT/report.md and its figures when the sweep is over (``chaoscontrol sweep-report``)."""

    def __post_init__(self) -> None:
        if self.max_concurrent is not None:
            check_int("max_concurrent", self.max_concurrent)
        if self.num_cpus is not None:
            check_int("num_cpus", self.num_cpus)
            if self.address is not None:
                raise ValueError("num_cpus: the CPUs of a cluster given by --address are its own; drop --num-cpus")


def trial_folder(spec: SweepSpec, trial: Trial) -> Path:
    """``OUT/trials/<trial id>``."""
    return Path(spec.out) / "trials" / trial.id


def trial_environment(resources: dict[str, Any]) -> dict[str, str]:
    """The environment of a trial's process: the thread counts of OpenMP, MKL and Numba (torch's is the train
    argument ``torch_threads``), set before the libraries load.

    :param resources: the spec's resources.
    """
    threads = str(resources["omp_threads"])
    return {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
            "NUMBA_NUM_THREADS": str(resources["numba_threads"]), "PYTHONUNBUFFERED": "1"}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """SIGTERM this process when its parent (the Ray worker) dies: the training then checkpoints and stops."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def execute_trial(folder: str, env: dict[str, str]) -> dict[str, Any]:
    """Run one trial's process and wait for it (the body of the Ray task).

    :param folder: the trial's folder (``trial.json`` and ``resources.json`` in it).
    :param env: the process's environment (:func:`trial_environment`).
    :return: the trial's ``result.json`` (state, error, evaluation), its exit status and wall time.
    """
    import json

    path = Path(folder)
    (path / "result.json").unlink(missing_ok=True)
    started = time.perf_counter()
    with open(path / "trial.log", "a") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} on {os.uname().nodename}\n")
        log.flush()
        proc = subprocess.Popen([sys.executable, "-m", "chaoscontrol.apps.sweep_trial", str(path)], stdout=log,
                                stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        try:
            rc = proc.wait()
        except BaseException:  # the task cancelled or the worker stopped: the trial checkpoints on SIGTERM
            proc.terminate()
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    try:
        result = json.loads((path / "result.json").read_text())
    except (OSError, ValueError):
        result = {"state": "failed", "error": f"the trial's process ended with status {rc} and wrote no result"}
    return {**result, "returncode": rc, "wall_s": time.perf_counter() - started}


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the driver (as Ctrl-C does), so that the trials are stopped cleanly."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class SweepState:
    """The sweep's state, written atomically to ``OUT/sweep.json`` at every change."""

    def __init__(self, spec: SweepSpec, trials: list[Trial]) -> None:
        self.path = Path(spec.out) / "sweep.json"
        self.spec = spec
        self.trials: dict[str, dict[str, Any]] = {
            t.id: {"experiment": t.experiment, "seed": t.seed, "folder": str(trial_folder(spec, t)),
                   "log": str(trial_folder(spec, t) / "trial.log"), "state": "pending"} for t in trials}
        self.started = time.time()

    def update(self, trial_id: str, **fields: Any) -> None:
        self.trials[trial_id].update(fields)
        self.write()

    def counts(self) -> dict[str, int]:
        states = [t["state"] for t in self.trials.values()]
        return {s: states.count(s) for s in ("done", "running", "pending", "failed", "interrupted")}

    def write(self) -> None:
        write_json_atomic(self.path, {
            "name": self.spec.name, "spec": self.spec.to_dict(), "counts": self.counts(),
            "started_utc": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.started)),
            "updated_utc": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "trials": self.trials})

    def line(self, trial_id: str, what: str) -> str:
        c = self.counts()
        return (f"[{c['done']}/{len(self.trials)} done, {c['running']} running, {c['failed']} failed] "
                f"{trial_id}: {what}")


def _stop_local_trial(folder: Path) -> None:
    """SIGTERM the trial's training process if it runs on this host (its pid and start time in ``train/status.json``):
    it writes a checkpoint and stops."""
    import json
    import socket

    from chaoscontrol.agents.training.status import process_start

    try:
        status = json.loads((folder / "train" / "status.json").read_text())
    except (OSError, ValueError):
        return
    pid = status.get("pid")
    if status.get("state") == "running" and status.get("host") == socket.gethostname() and isinstance(pid, int) \
            and process_start(pid) == status.get("process_start"):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def _wait_for_checkpoints(folders: list[Path], deadline: float) -> None:
    """Wait (until ``deadline``, a ``time.time()``) while the stopped trials still write their checkpoints: their
    ``train/status.json`` leaves ``running``."""
    import json

    def running(folder: Path) -> bool:
        try:
            return json.loads((folder / "train" / "status.json").read_text()).get("state") == "running"
        except (OSError, ValueError):
            return False

    while any(running(f) for f in folders) and time.time() < deadline:
        time.sleep(0.5)


def _init_ray(args: SweepArgs) -> Any:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": "warning", "log_to_driver": False}
    if args.address is not None:
        ray.init(address=args.address, **kwargs)
    else:
        ray.init(num_cpus=args.num_cpus or os.cpu_count() or 1, **kwargs)
    return ray


def run_sweep(args: SweepArgs, echo: Any = print) -> dict[str, Any]:
    """Run (or continue) the sweep of ``args.spec``; returns the content of ``OUT/sweep.json``.

    :param args: the sweep's arguments.
    :param echo: where the progress lines go.
    :raises ValueError: a bad spec or trial arguments (before anything runs), or a trial folder that holds another
        trial's files.
    :raises KeyboardInterrupt: Ctrl-C or SIGTERM (the running trials were stopped and checkpointed).
    """
    spec = load_sweep_spec(args.spec)
    trials = spec.trials()
    stages = {}
    for trial in trials:
        folder = trial_folder(spec, trial)
        check_trial(trial, folder, spec.resources)
        stages[trial.id] = trial_stage(trial, folder)
    foreign = [t for t, s in stages.items() if s == "foreign"]
    if foreign:
        raise ValueError(f"trial folders {foreign} hold another trial's trial.json; move them or choose another out")
    if args.dry_run:
        for trial in trials:
            echo(f"{trial.id}: {stages[trial.id]}")
        return {"trials": stages}
    state = SweepState(spec, trials)
    remove_stale_temporaries(state.path)
    todo = []
    for trial in trials:
        if stages[trial.id] == "done":
            state.trials[trial.id].update(state="done", skipped=True)
            echo(state.line(trial.id, "already done, skipped"))
        else:
            todo.append(trial)
    state.write()
    if todo:
        _run_trials(args, spec, todo, stages, state, echo)
    c = state.counts()
    echo(f"sweep {spec.name}: {c['done']} done, {c['failed']} failed of {len(trials)}; state in {state.path}")
    if args.report:
        from chaoscontrol.apps.sweep_report import write_sweep_report

        echo(f"wrote {write_sweep_report(spec.out)}")
    return {"trials": state.trials, "counts": c}


def _run_trials(args: SweepArgs, spec: SweepSpec, todo: list[Trial], stages: dict[str, str], state: SweepState,
                echo: Any) -> None:
    """Submit the trials as Ray tasks, at most ``max_concurrent`` at once, and record each as it ends."""
    ray = _init_ray(args)
    in_flight: dict[Any, Trial] = {}
    try:
        with _sigterm_as_interrupt():
            cpus = spec.resources["cpus"]
            limit = args.max_concurrent or max(1, int(ray.cluster_resources().get("CPU", 1) // cpus))
            task = ray.remote(execute_trial).options(num_cpus=cpus, max_retries=0)
            env = trial_environment(spec.resources)
            queue = list(todo)
            while queue or in_flight:
                while queue and len(in_flight) < limit:
                    trial = queue.pop(0)
                    folder = trial_folder(spec, trial)
                    folder.mkdir(parents=True, exist_ok=True)
                    write_json_atomic(folder / "trial.json", trial.record())
                    write_json_atomic(folder / "resources.json", spec.resources)
                    in_flight[task.remote(str(folder), env)] = trial
                    state.update(trial.id, state="running", stage=stages[trial.id], error=None)
                    echo(state.line(trial.id, f"started ({stages[trial.id]})"))
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    trial = in_flight.pop(ref)
                    try:
                        result = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - the task itself failed (a lost worker)
                        result = {"state": "failed", "error": f"Ray task failed: {type(exc).__name__}: {exc}"}
                    fields = {k: result.get(k) for k in ("state", "error", "evaluation", "returncode", "wall_s")}
                    state.update(trial.id, **fields)
                    what = (f"done in {result.get('wall_s', 0):.1f} s" if result["state"] == "done"
                            else f"{result['state']}: {result.get('error')} (log {state.trials[trial.id]['log']})")
                    echo(state.line(trial.id, what))
    except KeyboardInterrupt:
        for ref, trial in in_flight.items():
            ray.cancel(ref)  # KeyboardInterrupt in the task: its trial's process gets SIGTERM and checkpoints
            _stop_local_trial(trial_folder(spec, trial))  # and directly, where it runs on this host
        deadline = time.time() + 180
        for ref, trial in in_flight.items():
            try:
                ray.get(ref, timeout=max(1.0, deadline - time.time()))
            except Exception:  # noqa: BLE001 - cancelled
                pass
            state.update(trial.id, state="interrupted", error="the sweep was interrupted; run it again to continue")
        _wait_for_checkpoints([trial_folder(spec, t) for t in in_flight.values()], deadline)
        raise
    finally:
        ray.shutdown()


__all__ = ["SweepArgs", "SweepState", "execute_trial", "run_sweep", "trial_environment", "trial_folder"]
