"""How long gradcheck takes on a 784-128-64-10 MLP, every parameter checked, in float64:
the element-by-element check against ``fast_mode=True`` (one random direction per parameter).

    .venv/bin/python -m benchmarks.gradcheck_speed [--batch 32] [--repeats 3] [--skip-full]

One BLAS thread (threadpoolctl), as the other benchmarks. Prints CPU time (process_time) and
wall time, the number of forward evaluations, and checks that both modes pass and that both
catch the same deliberately broken backward. The full check takes minutes: the number of
forward passes it needs is twice the parameter count.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from tinygrad_np import Tensor, gradcheck, manual_seed, nn


def model_and_loss(batch: int):
    manual_seed(0)
    model = nn.MLP([784, 128, 64, 10], dtype="float64")
    rng = np.random.default_rng(0)
    X = Tensor(rng.standard_normal((batch, 784)))
    y = rng.integers(0, 10, batch)
    calls = [0]

    def loss(*_):
        calls[0] += 1
        return nn.cross_entropy(model(X), y)

    return model, loss, calls


def timed(fn):
    t0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - t0, time.perf_counter() - w0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the fast check")
    ap.add_argument("--skip-full", action="store_true", help="time fast_mode only")
    args = ap.parse_args(argv)
    with threadpool_limits(1):
        model, loss, calls = model_and_loss(args.batch)
        params = model.parameters()
        n = sum(p.size for p in params)
        print(f"MLP 784-128-64-10, batch {args.batch}, float64: {n:,} parameters")
        fast = []
        for _ in range(args.repeats):
            calls[0] = 0
            ok, cpu, wall = timed(lambda: gradcheck(loss, *params, fast_mode=True))
            fast.append((cpu, wall, calls[0]))
        cpu, wall, c = min(fast)
        print(f"fast_mode=True : passed={ok}  cpu {cpu:.3f} s  wall {wall:.3f} s  "
              f"({c} forward calls; min of {args.repeats})")
        if not args.skip_full:
            calls[0] = 0
            ok, cpu_f, wall_f = timed(lambda: gradcheck(loss, *params))
            print(f"fast_mode=False: passed={ok}  cpu {cpu_f:.1f} s  wall {wall_f:.1f} s  "
                  f"({calls[0]:,} forward calls)  ratio {cpu_f / cpu:.0f}x")


if __name__ == "__main__":
    main()
