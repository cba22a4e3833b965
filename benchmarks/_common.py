"""The harness every benchmark script uses: command line, machine information, timing loop, load checks, table, JSON.

- :func:`benchmark_args` (:func:`benchmark_parser`, :func:`parse_benchmark_args`): ``--repeats --quick --json
  --seed`` plus a script's own arguments;
- :func:`measure`: build the benchmark, warm it up, run its repeats round robin (every repeat runs every
  measurement once, in turn, so that a change of machine load hits them all alike) and record the machine;
- :func:`gc_paused`, :class:`ThreadCpuShare`, :class:`OtherLoad`: the garbage collector off while timing, and
  the two load checks (this thread's CPU time over the wall time; the CPU that other processes used);
- :func:`print_table`: the median, min and max over repeats (with the goals), :func:`json_payload` and
  :func:`write_json`: the ``--json`` document.

Clocks are ``time.perf_counter``; all numbers are figures of a repeat, summarised only at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Protocol, TypeVar

#: % of one core used by other processes below which a repeat counts as quiet.
QUIET_OTHERS = 10.0


# --------------------------------------------------------------------------- command line


def benchmark_parser(
    doc: str,
    default_repeats: int,
    quick_help: str,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.ArgumentParser:
    """The parser of ``--repeats --quick --json --seed`` and of what ``add_arguments`` adds.

    :param doc: the script's docstring (its first paragraph is the description).
    :param default_repeats: repeats without ``--repeats`` and ``--quick``.
    :param quick_help: what ``--quick`` does.
    :param add_arguments: adds the script's own arguments to the parser.
    """
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    if add_arguments is not None:
        add_arguments(p)
    p.add_argument("--repeats", type=int, default=None,
                   help=f"repeats of every measurement (default {default_repeats}; 3 with --quick)")
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--seed", type=int, default=0, help="seed of states and actions (default 0)")
    p.set_defaults(default_repeats=default_repeats)
    return p


def parse_benchmark_args(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> tuple[argparse.Namespace, int]:
    """Parse ``argv`` (default: the command line) with a :func:`benchmark_parser`.

    :return: (args, repeats) with 3 repeats under ``--quick``.
    """
    args = parser.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else args.default_repeats)
    if repeats < 1:
        parser.error("--repeats must be >= 1")
    return args, repeats


def benchmark_args(
    doc: str,
    default_repeats: int,
    quick_help: str,
    argv: list[str] | None = None,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> tuple[argparse.Namespace, int]:
    """:func:`parse_benchmark_args` of ``argv`` with the :func:`benchmark_parser` of the other arguments."""
    return parse_benchmark_args(benchmark_parser(doc, default_repeats, quick_help, add_arguments), argv)


# --------------------------------------------------------------------------- machine


def package_version(name: str) -> str:
    """The installed version of the distribution ``name``, or ``not installed``.

    :param name: a distribution name (``rocket-fft``).
    """
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _rocket_fft_simd() -> str:
    try:
        from rocket_fft import _native

        return str(_native.SIMD)
    except (ImportError, AttributeError):
        return "unknown"


def load_average() -> list[float]:
    """The 1, 5 and 15 min load averages, rounded to 0.01."""
    return [round(x, 2) for x in os.getloadavg()]


def machine_info(load_before: list[float] | None = None) -> dict[str, Any]:
    """CPU, platform, versions and numba's threads.

    :param load_before: the load average at the start of the run: then ``load_avg_1_5_15_before`` and
        ``load_avg_1_5_15_after`` (now), else ``load_avg_1_5_15`` (now).
    """
    import gymnasium as gym
    import numba
    import numpy as np

    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        layer = "not initialised"
    load = {"load_avg_1_5_15": load_average()} if load_before is None else {
        "load_avg_1_5_15_before": load_before, "load_avg_1_5_15_after": load_average()}
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        **load,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "rocket_fft": package_version("rocket-fft"),
        "rocket_fft_simd": _rocket_fft_simd(),
        "gymnasium": gym.__version__,
        "chaoscontrol": package_version("chaoscontrol"),
        "numba_num_threads": numba.get_num_threads(),
        "numba_threading_layer": layer,
        "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", "unset"),
    }


def cpu_line(info: dict[str, Any]) -> str:
    """The header line with the CPU and the load averages before and after of :func:`machine_info`."""
    return (
        f"CPU: {info['cpu_model']}, {info['cpu_count']} CPUs; load avg (1/5/15 min) before "
        f"{info['load_avg_1_5_15_before']}, after {info['load_avg_1_5_15_after']}"
    )


def proc_stat() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far, all CPUs together (from /proc/stat; NaN elsewhere)."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan"), float("nan")
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    steal = fields[7] if len(fields) > 7 else 0
    return (user + nice + system + irq + softirq) / tick, steal / tick


# --------------------------------------------------------------------------- timing


@contextmanager
def gc_paused() -> Iterator[None]:
    """The garbage collector off inside the block (as it was after)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class ThreadCpuShare:
    """Load check of single-threaded timings: this thread's CPU time over the wall time of the calls made through it.

    Well below 100 %: the process was descheduled, and the wall-clock figures are inflated.
    """

    def __init__(self) -> None:
        self.cpu_s = 0.0
        self.wall_s = 0.0

    def __call__(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)``, its thread CPU time and wall time added up."""
        c0, w0 = time.thread_time(), time.perf_counter()
        out = fn(*args)
        self.cpu_s += time.thread_time() - c0
        self.wall_s += time.perf_counter() - w0
        return out

    @property
    def percent(self) -> float:
        """CPU time / wall time of the calls so far, in %."""
        return 100.0 * self.cpu_s / self.wall_s


class OtherLoad:
    """Load check of a block (a context manager): the CPU that everything else on the machine used while it ran.

    After the block: ``others_cpu`` (% of one core: the machine's busy time from /proc/stat minus this process's
    CPU time, over the wall time) and ``steal`` (% of the wall time the host took from this machine).
    """

    def __enter__(self) -> OtherLoad:
        self._busy0, self._steal0 = proc_stat()
        self._proc0, self._wall0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        busy1, steal1 = proc_stat()
        wall = time.perf_counter() - self._wall0
        self.others_cpu = 100.0 * ((busy1 - self._busy0) - (time.process_time() - self._proc0)) / wall
        self.steal = 100.0 * (steal1 - self._steal0) / wall


class Benchmark(Protocol):
    """What :func:`measure` runs: a warm-up, then one repeat of every measurement per call of ``time_all``."""

    def warm_up(self) -> None: ...

    def time_all(self) -> dict[str, float]: ...


B = TypeVar("B", bound=Benchmark)


def round_robin(one_repeat: Callable[[], dict[str, float]], repeats: int) -> dict[str, list[float]]:
    """The samples of ``repeats`` calls of ``one_repeat`` (each runs every measurement once, in turn), per key.

    :param one_repeat: one repeat: the figures of this repeat by key.
    :param repeats: calls.
    """
    samples: dict[str, list[float]] = {}
    for _ in range(repeats):
        for key, value in one_repeat().items():
            samples.setdefault(key, []).append(value)
    return samples


@dataclass(frozen=True)
class Measured:
    """What :func:`measure` recorded."""

    started: dt.datetime
    """When the run started (UTC)."""
    samples: dict[str, list[float]]
    """The figures of every repeat, per key."""
    machine: dict[str, Any]
    """:func:`machine_info`, with the load averages before and after."""
    durations: dict[str, float]
    """``setup_s`` (building the benchmark), ``warm_up_s`` and ``total_s`` (seconds)."""


def measure(make_benchmark: Callable[[], B], repeats: int) -> tuple[B, Measured]:
    """Build the benchmark, warm it up, then ``repeats`` round-robin repeats of ``time_all``.

    :param make_benchmark: builds the benchmark (its set-up is timed as ``setup_s``).
    :param repeats: repeats of every measurement.
    :return: (the benchmark, what was measured).
    """
    t_start = time.perf_counter()
    started = dt.datetime.now(dt.timezone.utc)
    load_before = load_average()
    bench = make_benchmark()
    setup_s = time.perf_counter() - t_start
    t_w = time.perf_counter()
    bench.warm_up()
    warm_up_s = time.perf_counter() - t_w
    samples = round_robin(bench.time_all, repeats)
    machine = machine_info(load_before)
    durations = {"setup_s": setup_s, "warm_up_s": warm_up_s, "total_s": time.perf_counter() - t_start}
    return bench, Measured(started, samples, machine, durations)


def quiet_repeats(samples: dict[str, list[float]]) -> int:
    """Repeats whose ``others_cpu`` (:class:`OtherLoad`) stayed below :data:`QUIET_OTHERS`."""
    return sum(x < QUIET_OTHERS for x in samples["others_cpu"])


# --------------------------------------------------------------------------- report


def goal_text(goals: dict[str, tuple[str, float]], key: str, median: float) -> tuple[str, str]:
    """('>= 25,000', 'PASS'|'MISS') for a measured median, or ('', '') without a goal."""
    if key not in goals:
        return "", ""
    op, thr = goals[key]
    ok = median <= thr if op == "<=" else median >= thr
    dec = 0 if thr >= 100 else 1
    return f"{op} {thr:,.{dec}f}", "PASS" if ok else "MISS"


def goals_section(goals: dict[str, tuple[str, float]], results: dict[str, dict]) -> dict[str, dict]:
    """The goals of the JSON document: per key the comparison, the threshold and the status of the median."""
    return {k: {"op": op, "threshold": thr, "status": results[k]["status"]} for k, (op, thr) in goals.items()}


def goals_line(goals: dict[str, tuple[str, float]], results: dict[str, dict]) -> str:
    """``goals: KEY PASS, KEY MISS`` for the table's goals."""
    return "goals: " + ", ".join(f"{k} {results[k]['status']}" for k in goals)


def fmt(x: float, dec: int) -> str:
    """A number with thousands separators and ``dec`` decimals."""
    return f"{x:,.{dec}f}"


def print_table(
    rows: list[tuple[str | None, str, str, int]],
    samples: dict[str, list[float]],
    goals: dict[str, tuple[str, float]],
    label_width: int,
    unit_width: int,
) -> dict[str, dict]:
    """Print the median/min/max table of ``rows`` ((key, label, unit, decimals); key None: a section heading).

    :return: per key, the label, unit, median, min, max, samples, goal and status (the JSON results).
    """
    head = f"{'measurement':<{label_width}} {'unit':<{unit_width}} {'median':>10} {'min':>10} {'max':>10}   {'goal':<9} {'status'}"
    print(head)
    print("-" * len(head))
    results = {}
    for key, label, unit, dec in rows:
        if key is None:
            print(f"[{label}]")
            continue
        s = samples[key]
        med, lo, hi = statistics.median(s), min(s), max(s)
        goal, status = goal_text(goals, key, med)
        line = f"{label:<{label_width}} {unit:<{unit_width}} {fmt(med, dec):>10} {fmt(lo, dec):>10} {fmt(hi, dec):>10}   {goal:<9} {status}"
        print(line.rstrip())
        results[key] = {
            "label": label.strip(), "unit": unit, "median": med, "min": lo, "max": hi, "samples": s,
            "goal": goal or None, "status": status or None,
        }
    return results


def json_payload(started: dt.datetime, argv: list[str] | None, machine: dict[str, Any], results: Any, **sections: Any) -> dict:
    """The ``--json`` document: ``date_utc``, ``argv``, the script's ``sections`` (repeats, config, sizes, goals,
    durations...), ``machine`` and ``results``.

    :param started: when the run started.
    :param argv: the arguments the script was given (None: the command line's).
    :param machine: :func:`machine_info` (and the script's additions).
    :param results: the figures (:func:`print_table`'s results).
    """
    return {
        "date_utc": started.isoformat(timespec="seconds"),
        "argv": sys.argv[1:] if argv is None else list(argv),
        **sections,
        "machine": machine,
        "results": results,
    }


def report_ab(
    rows: list[tuple[str | None, str, str, int]], run: Measured, args: argparse.Namespace, argv: list[str] | None,
    ratio_text: str, config: dict[str, Any],
) -> dict[str, dict]:
    """The table, the median-ratio line and the ``--json`` document of an interleaved A/B benchmark.

    :param rows: the table rows (:func:`print_table`); the samples must have a ``ratio`` (A / B within each repeat).
    :param run: what :func:`measure` recorded.
    :param args: the parsed arguments (``--json``, ``--quick``).
    :param argv: the arguments the script was given.
    :param ratio_text: what the ratio is (``plain / fused``).
    :param config: the sizes of the run, for the JSON document.
    :return: the results of the table.
    """
    results = print_table(rows, run.samples, {}, 40, 14)
    repeats = len(run.samples["ratio"])
    print(f"{ratio_text}: {results['ratio']['median']:.2f} (median of {repeats} interleaved repeats)")
    if args.json is not None:
        write_json(args.json, json_payload(run.started, argv, run.machine, results, repeats=repeats, quick=args.quick,
                                           config=config, **run.durations))
    return results


def write_json(path: Path, payload: dict) -> None:
    """Write the ``--json`` results to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    print(f"results written to {path}")
