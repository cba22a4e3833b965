"""Run command lines a few at a time, each with its own log file: the training pool of the study scripts.

Every job gets one torch, OpenMP and Numba thread (the jobs share a small machine), and its output appended to
its log. Imported by ``surrogate_study.py`` and ``reproduce.py`` (they put this folder on ``sys.path``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

#: The environment of every job: one thread of each kind.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Job:
    """One command line and where its output goes."""

    name: str
    cmd: list[str]
    log: Path


def run_jobs(jobs: list[Job], parallel: int, stop_on_failure: bool = True, poll_s: float = 5.0) -> dict[str, int]:
    """Run ``jobs``, ``parallel`` at a time; returns each job's exit code.

    :param stop_on_failure: raise RuntimeError (naming the job and its log) as soon as one exits non-zero.
    """
    env = {**os.environ, **ONE_THREAD}
    pending, running, codes = list(jobs), [], {}
    while pending or running:
        while pending and len(running) < parallel:
            job = pending.pop(0)
            job.log.parent.mkdir(parents=True, exist_ok=True)
            log = open(job.log, "a")  # noqa: SIM115 - closed when the process ends
            print(f"[{job.name}] " + shlex.join(job.cmd[1:]), flush=True)
            running.append((job, subprocess.Popen(job.cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log))
        time.sleep(poll_s)
        for item in list(running):
            job, proc, log = item
            if proc.poll() is None:
                continue
            log.close()
            running.remove(item)
            codes[job.name] = proc.returncode
            if proc.returncode != 0 and stop_on_failure:
                raise RuntimeError(f"{job.name} failed (exit {proc.returncode}); see {job.log}")
            print(f"[{job.name}] exit {proc.returncode}", flush=True)
    return codes
