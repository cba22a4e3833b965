"""A/B speed of ``PeriodicConvNet``'s fused forward against the plain ``net(x) + skip(x)``, in one run.

    .venv/bin/python benchmarks/bench_conv_fusion.py runs/study/spectral/model.pt            # B = 16, ~20 s
    .venv/bin/python benchmarks/bench_conv_fusion.py runs/study/spectral/model.pt --batch 64 --repeats 21
    .venv/bin/python benchmarks/bench_conv_fusion.py runs/study/spectral/model.pt --quick    # 3 repeats

The checkpoint's whole model step (``model(u, a)`` under ``torch.no_grad()``, one torch thread) is timed with
each forward in turn, interleaved repeat by repeat so that the machine's load hits both alike (the round robin
of benchmarks/_common.py, garbage collector off); the figure is the median over repeats of the per-repeat ratio
plain / fused (above 1: the fused forward is faster). B = 16 is the batch of the PPO training env (configs/ppo.yaml).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from _common import benchmark_parser, gc_paused, measure, parse_benchmark_args, report_ab

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chaoscontrol.surrogates.base import PeriodicConvNet  # noqa: E402
from chaoscontrol.surrogates.train import load_surrogate  # noqa: E402

FUSED_FORWARD = PeriodicConvNet.forward


def plain_forward(self: PeriodicConvNet, x: torch.Tensor) -> torch.Tensor:
    """The reference: the modules' own calls (three pads, three convolutions at depth 1)."""
    return (self.net(x) + self.skip(x))[:, 0]


def _add_own_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a surrogate model.pt whose model uses PeriodicConvNet (spectral, corrected...)")
    p.add_argument("--batch", type=int, default=16, help="states per call (default: %(default)s)")
    p.add_argument("--calls", type=int, default=100, help="calls per timed repeat (default: %(default)s)")


class Bench:
    """The model step with the plain and the fused forward, one timed block of each per repeat."""

    def __init__(self, model: Any, batch: int, calls: int, seed: int) -> None:
        self.model = model
        self.batch = batch
        self.calls = calls
        gen = torch.Generator().manual_seed(seed)
        n, n_act = model.config.N, model.config.n_actuators
        self.u = float(model.u_scale) * torch.randn(batch, n, generator=gen)
        self.a = 2 * torch.rand(batch, n_act, generator=gen) - 1

    def t_forward(self, forward: Callable[..., torch.Tensor]) -> float:
        """Seconds per model call with ``forward`` as PeriodicConvNet's forward (after 5 untimed calls)."""
        PeriodicConvNet.forward = forward
        try:
            with torch.no_grad():
                for _ in range(5):
                    self.model(self.u, self.a)
                start = time.perf_counter()
                for _ in range(self.calls):
                    self.model(self.u, self.a)
                return (time.perf_counter() - start) / self.calls
        finally:
            PeriodicConvNet.forward = FUSED_FORWARD

    def warm_up(self) -> None:
        """The blocks run their own untimed calls first."""

    def time_all(self) -> dict[str, float]:
        """One repeat: plain, then fused; ms per call and the ratio plain / fused of this repeat."""
        with gc_paused():
            plain = self.t_forward(plain_forward)
            fused = self.t_forward(FUSED_FORWARD)
        return {"plain_ms": 1e3 * plain, "fused_ms": 1e3 * fused, "ratio": plain / fused,
                "plain_rate": self.batch / plain, "fused_rate": self.batch / fused}


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__, 15, "3 repeats", _add_own_arguments)
    args, repeats = parse_benchmark_args(parser, argv)
    if not Path(args.checkpoint).is_file():
        parser.error(f"checkpoint {args.checkpoint!r} does not exist")
    torch.set_num_threads(1)
    model, _ = load_surrogate(args.checkpoint)
    if not any(isinstance(m, PeriodicConvNet) for m in model.modules()):
        parser.error(f"checkpoint {args.checkpoint!r}: its model has no PeriodicConvNet")
    _, run = measure(lambda: Bench(model, args.batch, args.calls, args.seed), repeats)

    b = args.batch
    rows = [
        ("plain_ms", f"plain forward, B={b}", "ms/call", 3),
        ("fused_ms", f"fused forward, B={b}", "ms/call", 3),
        ("plain_rate", f"plain forward, B={b}", "transitions/s", 0),
        ("fused_rate", f"fused forward, B={b}", "transitions/s", 0),
        ("ratio", "   plain / fused (within each repeat)", "x", 2),
    ]
    config = {"checkpoint": args.checkpoint, "batch": b, "calls": args.calls, "torch_threads": torch.get_num_threads()}
    report_ab(rows, run, args, argv, "plain / fused", config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
