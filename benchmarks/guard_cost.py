"""What the in-place guard costs a first-order training step: ``python -m benchmarks.guard_cost``.

The guard's work on the fast path (no write since the op ran) is a handful of statements:
per recorded op, ``apply`` stores the write clock's reading and the input arrays on the
record and tests the view-edit flag; per backward node, the walk compares the record's
reading with the clock and tests the in-place-recorded flag. This script times those
statements alone (best of repeats, as ``micro.py`` times the anomaly switch), counts the ops
and nodes of one step of each workload, and prints the guard's time per step next to the
step's own time (one BLAS thread, ``process_time``).
"""

from __future__ import annotations

import time
import timeit

import numpy as np
from threadpoolctl import threadpool_limits

from tinygrad_np.autograd import function as F

from .run import make_trainer
from .workloads import WORKLOADS, batches, initial_weights, synthetic_data


def _statement_ns(stmt: str, env: dict, number: int = 200_000) -> float:
    base = min(timeit.repeat("pass", number=number, repeat=7))
    t = min(timeit.repeat(stmt, globals=env, number=number, repeat=7))
    return max(t - base, 0.0) / number * 1e9


def guard_statements_ns() -> dict:
    class Record:  # stands for a Context: a plain object with a __dict__
        pass

    ctx, arrays = Record(), [np.ones(1)]
    ctx.stamp = F._last_write
    env = {"F": F, "ctx": ctx, "arrays": arrays}
    per_op = _statement_ns("if F._view_edits: pass\nctx.stamp = F._last_write\n"
                           "ctx.arrays = arrays", env)
    per_node = _statement_ns("if ctx.stamp != F._last_write: pass\nif F._rebased: pass", env)
    return {"per_op_ns": per_op, "per_node_ns": per_node}


def _count_ops(trainer, X, y) -> int:
    """The ops one step records (each is one backward node), counting Function.apply calls."""
    counted = {"ops": 0}
    original = F.Function.__dict__["apply"]

    def counting(cls, *args, **kwargs):
        counted["ops"] += 1
        return original.__func__(cls, *args, **kwargs)

    F.Function.apply = classmethod(counting)
    try:
        trainer.step(X, y)
    finally:
        F.Function.apply = original
    return counted["ops"]


def main() -> None:
    cost = guard_statements_ns()
    print(f"guard statements: {cost['per_op_ns']:.0f} ns per op, "
          f"{cost['per_node_ns']:.0f} ns per backward node")
    with threadpool_limits(1):
        for name in ("W1", "W2"):
            wl = WORKLOADS[name]
            X, y = synthetic_data(wl.batch * 16)
            trainer = make_trainer("tinygrad_np", wl, initial_weights(wl.sizes))
            stream = batches(wl, X, y)
            data = [next(stream) for _ in range(16)]
            ops = nodes = _count_ops(trainer, *data[0])
            times = []
            for _ in range(5):
                t = time.process_time()
                for i in range(100):
                    trainer.step(*data[i % 16])
                times.append((time.process_time() - t) / 100 * 1e6)
            step_us = min(times)
            guard_us = (ops * cost["per_op_ns"] + nodes * cost["per_node_ns"]) / 1e3
            print(f"{name}: {ops} ops, {nodes} nodes per step; step {step_us:.0f} us, guard "
                  f"{guard_us:.2f} us ({100 * guard_us / step_us:.2f}%)")


if __name__ == "__main__":
    main()
