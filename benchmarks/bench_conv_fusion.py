"""A/B speed of ``PeriodicConvNet``'s fused forward against the plain ``net(x) + skip(x)``, in one run.

    .venv/bin/python benchmarks/bench_conv_fusion.py runs/study/spectral/model.pt            # B = 16, ~20 s
    .venv/bin/python benchmarks/bench_conv_fusion.py runs/study/spectral/model.pt --batch 64 --repeats 21

The checkpoint's whole model step (``model(u, a)`` under ``torch.no_grad()``, one torch thread) is timed with
each forward in turn, interleaved repeat by repeat so that the machine's load hits both alike; the figure
is the median over repeats of the per-repeat ratio plain / fused (above 1: the fused forward is faster).
B = 16 is the batch of the PPO training env (configs/ppo.yaml).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chaoscontrol.surrogates.base import PeriodicConvNet  # noqa: E402
from chaoscontrol.surrogates.train import load_surrogate  # noqa: E402


def plain_forward(self: PeriodicConvNet, x: torch.Tensor) -> torch.Tensor:
    """The reference: the modules' own calls (three pads, three convolutions at depth 1)."""
    return (self.net(x) + self.skip(x))[:, 0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="a surrogate model.pt whose model uses PeriodicConvNet (spectral, corrected...)")
    p.add_argument("--batch", type=int, default=16, help="states per call (default: %(default)s)")
    p.add_argument("--calls", type=int, default=100, help="calls per timed repeat (default: %(default)s)")
    p.add_argument("--repeats", type=int, default=15, help="interleaved repeats (default: %(default)s)")
    args = p.parse_args(argv)
    if not Path(args.checkpoint).is_file():
        p.error(f"checkpoint {args.checkpoint!r} does not exist")
    torch.set_num_threads(1)
    model, _ = load_surrogate(args.checkpoint)
    if not any(isinstance(m, PeriodicConvNet) for m in model.modules()):
        p.error(f"checkpoint {args.checkpoint!r}: its model has no PeriodicConvNet")
    gen = torch.Generator().manual_seed(0)
    n, n_act = model.config.N, model.config.n_actuators
    u = float(model.u_scale) * torch.randn(args.batch, n, generator=gen)
    a = 2 * torch.rand(args.batch, n_act, generator=gen) - 1
    fused_forward = PeriodicConvNet.forward
    times: dict[str, list[float]] = {"plain": [], "fused": []}
    try:
        with torch.no_grad():
            for _ in range(args.repeats):
                for name, forward in (("plain", plain_forward), ("fused", fused_forward)):
                    PeriodicConvNet.forward = forward
                    for _ in range(5):
                        model(u, a)
                    start = time.perf_counter()
                    for _ in range(args.calls):
                        model(u, a)
                    times[name].append((time.perf_counter() - start) / args.calls)
    finally:
        PeriodicConvNet.forward = fused_forward
    ratio = np.median(np.array(times["plain"]) / np.array(times["fused"]))
    for name, t in times.items():
        print(f"{name:6s} median {1e3 * np.median(t):.3f} ms per call of {args.batch} states "
              f"({args.batch / np.median(t):,.0f} transitions/s)")
    print(f"plain / fused: {ratio:.2f} (median of {args.repeats} interleaved repeats)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
