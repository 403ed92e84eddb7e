"""Where a tinygrad_np training step spends its time: `python -m benchmarks.profile W1`.

After the workload's warm-up, times each phase of a step (forward with the loss, backward,
optimizer step) and the matmuls of the step alone, in microseconds per step (medians over
steps). For Adam, it also counts the subnormal values in the first moment and times the
optimizer step with them and with them flushed to zero: does flushing pay on this CPU?
``--cprofile`` adds the functions with the most own time (the standard library's profiler).
BLAS runs on one thread, as in `make bench` (``--threads`` changes it).
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import pstats
import statistics
import time
import timeit

import numpy as np
from threadpoolctl import threadpool_limits

from tinygrad_np import Tensor, nn

from .numpy_by_hand import MatmulFloor
from .tinygrad_impl import TinygradMLP
from .workloads import WORKLOADS, batches, initial_weights, synthetic_data


def phases(trainer: TinygradMLP, stream, steps: int) -> dict[str, float]:
    times = {"forward + loss": [], "backward": [], "optimizer step": []}
    for _ in range(steps):
        xb, yb = next(stream)
        t0 = time.perf_counter()
        loss = nn.cross_entropy(trainer.model(Tensor(xb)), yb)
        t1 = time.perf_counter()
        trainer.opt.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        trainer.opt.step()
        t3 = time.perf_counter()
        for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
            times[key].append(dt)
    return {k: statistics.median(v) * 1e6 for k, v in times.items()}


def adam_subnormals(opt) -> str:
    """How many first-moment values are subnormal, and the step's time with and without them.

    Times one step repeatedly from the same saved parameters and state, and puts them back
    afterwards, so training could go on as if nothing had happened.
    """
    tiny = np.finfo(np.float32).tiny
    moments = [state["exp_avg"] for state in opt.state]
    n_sub = sum(int(((m != 0) & (np.abs(m) < tiny)).sum()) for m in moments)
    n = sum(m.size for m in moments)
    params, state, steps = [p.data.copy() for p in opt.params], copy.deepcopy(opt.state), opt.steps

    def restore(saved_state):
        for p, a in zip(opt.params, params):
            np.copyto(p.data, a)
        for own, saved in zip(opt.state, saved_state):
            for k, buf in own.items():
                np.copyto(buf, saved[k])
        opt.steps = list(steps)

    def flush(states):
        for st in states:
            m = st["exp_avg"]
            m[np.abs(m) < tiny] = 0.0

    def best_us(fn):
        return min(timeit.repeat(fn, number=200, repeat=7)) / 200 * 1e6

    with_them = best_us(lambda: (restore(state), opt.step()))
    flushed_state = copy.deepcopy(state)
    flush_cost = best_us(lambda: flush(flushed_state))
    flushed = best_us(lambda: (restore(flushed_state), opt.step()))
    restore(state)
    return (f"Adam: {n_sub} of {n} first-moment values subnormal ({100 * n_sub / n:.1f}%); "
            f"restore + step {with_them:.0f} us with them, {flushed:.0f} us flushed to zero; "
            f"a flushing pass (abs, compare, masked store) costs {flush_cost:.0f} us")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workload", nargs="?", default="W1", choices=sorted(WORKLOADS))
    p.add_argument("--steps", type=int, default=500, help="timed steps after the warm-up")
    p.add_argument("--warmup", type=int, default=None, help="default: the workload's")
    p.add_argument("--cprofile", action="store_true")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads")
    opts = p.parse_args(argv)
    with threadpool_limits(opts.threads):
        profile(opts)


def profile(opts) -> None:
    wl = WORKLOADS[opts.workload]
    X, y = synthetic_data(wl.n_samples)
    trainer = TinygradMLP(wl, initial_weights(wl.sizes))
    stream = batches(wl, X, y)
    for _ in range(wl.warmup if opts.warmup is None else opts.warmup):
        trainer.step(*next(stream))
    result = phases(trainer, stream, opts.steps)
    floor, floor_stream = MatmulFloor(wl, initial_weights(wl.sizes)), batches(wl, X, y)
    gemm = []
    for _ in range(opts.steps):
        batch = next(floor_stream)
        t0 = time.perf_counter()
        floor.step(*batch)
        gemm.append(time.perf_counter() - t0)
    print(f"{wl.name} ({wl.title}), median us per step over {opts.steps} steps:")
    for k, v in result.items():
        print(f"  {k:16s} {v:8.0f}")
    print(f"  {'total':16s} {sum(result.values()):8.0f}")
    print(f"  the step's matmuls alone (into preallocated buffers): "
          f"{statistics.median(gemm) * 1e6:.0f}")
    if wl.optimizer == "adam":
        print("  " + adam_subnormals(trainer.opt))
    if opts.cprofile:
        prof = cProfile.Profile()
        prof.runcall(lambda: [trainer.step(*next(stream)) for _ in range(opts.steps)])
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
