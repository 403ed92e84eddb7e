"""Per-op overhead: forward + backward of one op through tinygrad_np versus the bare NumPy calls.

The NumPy side computes exactly what the op's forward and backward compute (for add: the sum;
its gradients are the incoming gradient itself), so the difference is what the framework adds
per op: the Tensor, the closure, the graph walk and the gradient bookkeeping.
"""

from __future__ import annotations

import timeit

import numpy as np

from tinygrad_np import Tensor
from tinygrad_np._modes import state

SHAPE = (32, 64)


def _cases():
    rng = np.random.default_rng(0)
    A = rng.standard_normal(SHAPE).astype(np.float32)
    B = rng.standard_normal(SHAPE).astype(np.float32)
    W = rng.standard_normal((SHAPE[1], SHAPE[1])).astype(np.float32)
    G = np.ones(SHAPE, np.float32)
    a = Tensor(A, requires_grad=True)
    b = Tensor(B, requires_grad=True)
    w = Tensor(W, requires_grad=True)

    def tg_add():
        (a + b).backward(G)

    def np_add():
        return A + B

    def tg_matmul():
        (a @ w).backward(G)

    def np_matmul():
        return A @ W, G @ W.T, A.T @ G

    def tg_relu():
        a.relu().backward(G)

    def np_relu():
        y = np.maximum(A, 0)
        return G * (y > 0)

    def reset():
        a.grad = b.grad = w.grad = None

    return {"add": (tg_add, np_add), "matmul": (tg_matmul, np_matmul),
            "relu": (tg_relu, np_relu)}, reset


def _best_us(fn, number: int, repeat: int = 7, setup=None) -> float:
    """Best of ``repeat`` timings, in microseconds per call (the least disturbed by noise)."""
    def loop():
        for _ in range(number):
            if setup:
                setup()
            fn()
    return min(timeit.repeat(loop, number=1, repeat=repeat)) / number * 1e6


def _anomaly_check_ns(number: int = 200_000) -> float:
    """What the detect_anomaly switch costs per op when off: one thread-local attribute read."""
    def with_check():
        if state.anomaly:
            pass

    def without():
        pass

    t_with = min(timeit.repeat(with_check, number=number, repeat=5))
    t_without = min(timeit.repeat(without, number=number, repeat=5))
    return max(t_with - t_without, 0.0) / number * 1e9


def run_micro(number: int = 2000) -> dict:
    cases, reset = _cases()
    out = {"shape": list(SHAPE), "ops": {}}
    for name, (tg, bare) in cases.items():
        t_tg = _best_us(tg, number, setup=reset)
        t_np = _best_us(bare, number)
        out["ops"][name] = {"tinygrad_np_us": t_tg, "numpy_us": t_np, "overhead_us": t_tg - t_np}
    out["anomaly_off_check_ns"] = _anomaly_check_ns()
    return out
