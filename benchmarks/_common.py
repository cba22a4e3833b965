"""Pieces shared by the benchmark scripts: the command line, goal checks and number formatting."""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from pathlib import Path


def benchmark_args(
    doc: str,
    default_repeats: int,
    quick_help: str,
    argv: list[str] | None = None,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> tuple[argparse.Namespace, int]:
    """Parse ``--repeats --quick --json --seed`` (and what ``add_arguments`` adds to the parser);
    returns (args, repeats) with 3 repeats under ``--quick``."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    if add_arguments is not None:
        add_arguments(p)
    p.add_argument("--repeats", type=int, default=None,
                   help=f"repeats of every measurement (default {default_repeats}; 3 with --quick)")
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--seed", type=int, default=0, help="seed of states and actions (default 0)")
    args = p.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else default_repeats)
    if repeats < 1:
        p.error("--repeats must be >= 1")
    return args, repeats


def write_json(path: Path, payload: dict) -> None:
    """Write the ``--json`` results to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    print(f"results written to {path}")


def goal_text(goals: dict[str, tuple[str, float]], key: str, median: float) -> tuple[str, str]:
    """('>= 25,000', 'PASS'|'MISS') for a measured median, or ('', '') without a goal."""
    if key not in goals:
        return "", ""
    op, thr = goals[key]
    ok = median <= thr if op == "<=" else median >= thr
    dec = 0 if thr >= 100 else 1
    return f"{op} {thr:,.{dec}f}", "PASS" if ok else "MISS"


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
