"""The ``chaoscontrol`` command: one entry point with subcommands.

    chaoscontrol simulate --t-end 200 --actuation zero random --out runs/demo
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def _simulate(ns: argparse.Namespace) -> int:
    from chaoscontrol.simulate import SimulateArgs, run_simulation

    try:
        args = SimulateArgs(
            out=ns.out, t_end=ns.t_end, actuation=tuple(ns.actuation), hold=ns.hold, seed=ns.seed, L=ns.L, N=ns.N,
            dt=ns.dt, frame_skip=ns.frame_skip, max_forcing=ns.max_forcing, burn_in=ns.burn_in,
            progress=not ns.no_progress,
        )
        summary = run_simulation(args)
    except ValueError as exc:
        print(f"chaoscontrol simulate: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"chaoscontrol simulate: error: cannot write to --out {ns.out!r}: {exc}", file=sys.stderr)
        return 2
    brief = {mode: {"energy_mean": r["energy"]["mean"], "dissipation_mean": r["dissipation"]["mean"], "blowup": r["blowup"]}
             for mode, r in summary["runs"].items()}
    print(json.dumps(brief, indent=2))
    print(f"wrote {ns.out}/space_time.png and {ns.out}/summary.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``chaoscontrol`` command."""
    parser = argparse.ArgumentParser(prog="chaoscontrol", description="Learning to control chaotic PDEs.")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulate", help="simulate KS with and without actuation; PNG space-time plot + JSON summary")
    sim.add_argument("--out", default="runs/simulate", help="output folder (default: %(default)s)")
    sim.add_argument("--t-end", type=float, default=200.0, help="simulated time after burn-in (default: %(default)s)")
    sim.add_argument("--actuation", nargs="+", default=["zero", "random"], choices=["zero", "random"],
                     help="actuation modes, run from the same initial state (default: zero random)")
    sim.add_argument("--hold", type=int, default=4, help="env steps each random action is held (default: %(default)s)")
    sim.add_argument("--seed", type=int, default=0, help="seed of the initial state and actions (default: %(default)s)")
    sim.add_argument("--L", type=float, default=22.0, help="domain length (default: %(default)s)")
    sim.add_argument("--N", type=int, default=64, help="grid points (default: %(default)s)")
    sim.add_argument("--dt", type=float, default=0.05, help="solver time step (default: %(default)s)")
    sim.add_argument("--frame-skip", type=int, default=5, help="solver steps per env step (default: %(default)s)")
    sim.add_argument("--max-forcing", type=float, default=0.5, help="forcing amplitude at action 1 (default: %(default)s)")
    sim.add_argument("--burn-in", type=float, default=100.0, help="unforced time before t=0 (default: %(default)s)")
    sim.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sim.set_defaults(func=_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``chaoscontrol`` command line."""
    ns = build_parser().parse_args(argv)
    return ns.func(ns)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
