"""``status.json`` of a training run: a heartbeat while it runs, its last state after.

A run writes ``{"state", "timesteps", "wall_s", "last_checkpoint", "updated_at", "updated_at_utc", "pid", "host",
"process_start", "heartbeat_timeout_s"}`` when it starts, at every checkpoint and evaluation, at least every
:data:`HEARTBEAT_INTERVAL_S` seconds while it steps, and when it ends (``interrupted``, ``crashed`` or ``finished``).
A process killed outright (SIGKILL, a lost machine) writes nothing more, so its file still says ``running``: a
reader takes such a run as **stopped** when its heartbeat is older than :data:`HEARTBEAT_TIMEOUT_S` seconds, or
when it ran on this host and its process is gone (or is another process under the same pid), and reports it as
``stopped (last seen ...)``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoscontrol.io import write_json_atomic

#: States a run writes.
STATES = ("running", "interrupted", "crashed", "finished")
#: Longest time between two heartbeats of a run that is stepping (seconds).
HEARTBEAT_INTERVAL_S = 60.0
#: A ``running`` status whose heartbeat is older than this (seconds) is reported as stopped.
HEARTBEAT_TIMEOUT_S = 600.0


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, from ``/proc``), or None where there is no ``/proc``.

    Together with the pid it tells a run's process from a later one that got the same pid.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state is field 3, starttime field 22
    return fields[19] if len(fields) > 19 else None


def _process_alive(pid: int, start: str | None) -> bool:
    """Whether process ``pid`` of this host runs (not a zombie) and, if ``start`` is known, is the one that started then."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: the signal check is all there is
    if stat[stat.rindex(")") + 2 :].split()[:1] == ["Z"]:
        return False
    return start is None or process_start(pid) == start


class Heartbeat:
    """The writer of a run's ``status.json`` (one per training session).

    :param out: the run folder.
    :param wall_before: wall seconds of the run's earlier sessions.
    :param started: ``time.perf_counter()`` when this session started.
    """

    def __init__(self, out: Path, wall_before: float, started: float) -> None:
        self.out, self.wall_before, self.started = Path(out), wall_before, started
        self.pid, self.host = os.getpid(), socket.gethostname()
        self.process_start = process_start(self.pid)
        self.last_checkpoint: str | None = None
        self.last_beat = -float("inf")

    def due(self) -> bool:
        """Whether :data:`HEARTBEAT_INTERVAL_S` has passed since the last write."""
        return time.monotonic() - self.last_beat >= HEARTBEAT_INTERVAL_S

    def beat(self, state: str, timesteps: int, checkpoint: Path | None = None) -> None:
        """Write ``status.json`` now.

        :param state: one of :data:`STATES`.
        :param timesteps: env steps done.
        :param checkpoint: a checkpoint just written (it becomes ``last_checkpoint``, relative to the run folder).
        """
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {state!r}")
        if checkpoint is not None:
            checkpoint = Path(checkpoint)
            self.last_checkpoint = str(checkpoint.relative_to(self.out) if checkpoint.is_relative_to(self.out) else checkpoint)
        now = time.time()
        write_json_atomic(self.out / "status.json", {
            "state": state, "timesteps": int(timesteps), "wall_s": self.wall_before + time.perf_counter() - self.started,
            "last_checkpoint": self.last_checkpoint, "updated_at": now,
            "updated_at_utc": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now)), "pid": self.pid, "host": self.host,
            "process_start": self.process_start, "heartbeat_timeout_s": HEARTBEAT_TIMEOUT_S,
        })
        self.last_beat = time.monotonic()


@dataclass(frozen=True)
class RunStatus:
    """A run's ``status.json`` as read, and whether a ``running`` one has stopped without saying so."""

    state: str
    """As written: one of :data:`STATES`."""
    timesteps: int
    """Env steps done at the last write."""
    updated_at: float | None
    """Unix time of the last write (the file's modification time for a status without one)."""
    last_checkpoint: str | None
    """The newest checkpoint written, relative to the run folder."""
    pid: int | None
    """The process that wrote it."""
    host: str | None
    """The host it ran on."""
    stopped: bool
    """A ``running`` state whose process is gone (:mod:`module docstring <chaoscontrol.agents.training.status>`)."""

    @property
    def live(self) -> bool:
        """Whether the run is running now."""
        return self.state == "running" and not self.stopped

    def describe(self) -> str:
        """The state, or ``stopped (last seen ...)`` for a run that stopped without saying so."""
        if not self.stopped:
            return self.state
        seen = "at an unknown time" if self.updated_at is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.updated_at))
        where = f", pid {self.pid} on {self.host}" if self.pid is not None else ""
        checkpoint = f", last checkpoint {self.last_checkpoint}" if self.last_checkpoint else ""
        return f"stopped (last seen {seen} at step {self.timesteps}{where}{checkpoint})"


def read_status(out: str | Path, now: float | None = None) -> RunStatus | None:
    """The run's status (:class:`RunStatus`), or None if it never started.

    :param out: the run folder.
    :param now: the time to judge the heartbeat's age by (default: now).
    :raises ValueError: naming the file if it is not a status.
    """
    path = Path(out) / "status.json"
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        state, timesteps = str(data["state"]), int(data.get("timesteps", 0))
        updated = float(data["updated_at"]) if data.get("updated_at") is not None else path.stat().st_mtime  # older versions
        pid = None if data.get("pid") is None else int(data["pid"])
        timeout = float(data.get("heartbeat_timeout_s", HEARTBEAT_TIMEOUT_S))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"run status {str(path)!r} is unreadable: {exc}") from exc
    host = data.get("host")
    stopped = False
    if state == "running":
        age = (time.time() if now is None else now) - updated
        stopped = age > timeout or (pid is not None and host == socket.gethostname()
                                    and not _process_alive(pid, data.get("process_start")))
    return RunStatus(state, timesteps, updated, data.get("last_checkpoint"), pid, host, stopped)


def run_status(out: str | Path) -> str | None:
    """``running``, ``interrupted``, ``crashed``, ``finished``, or ``stopped (last seen ...)`` for a run whose
    heartbeat stopped (module docstring); None if the run never started.

    :param out: the run folder.
    """
    status = read_status(out)
    return None if status is None else status.describe()


__all__ = ["HEARTBEAT_INTERVAL_S", "HEARTBEAT_TIMEOUT_S", "STATES", "Heartbeat", "RunStatus", "process_start", "read_status",
           "run_status"]
