"""Optimizer step times, and whole training steps, for two versions of tinygrad_np, A/B.

    python -m benchmarks.optim_step A_DIR B_DIR [--rounds 5]

Each directory holds a ``tinygrad_np`` package (for example ``git archive`` of a commit).
Training windows are timed in CPU time (``time.process_time``), single steps by the wall clock
(min and median of 2,000), so that the other processes of a shared machine count less.
Every measurement runs in a fresh child process whose ``sys.path`` starts with that directory,
one BLAS thread (and one numexpr thread), ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` unset;
rounds alternate A and B so that the load of the machine hits both alike. Printed: the median
over rounds of each child's best (min) and median microseconds per step.

- ``step``: ``opt.step()`` alone on the parameter shapes of W1 (784-128-64-10) and W2
  (784-32-10), float32, with fresh gradients (new arrays, as backward makes them) each step;
- ``train``: the whole training step of W1 (Adam, batch 32) and W2 (SGD, batch 128) after the
  workload's warm-up, as `make bench` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SHAPES = {"W1": (784, 128, 64, 10), "W2": (784, 32, 10)}


def _child_step(kind: str, sizes, steps: int, repeat: int) -> dict:
    import numpy as np

    from tinygrad_np import Tensor, optim

    rng = np.random.default_rng(0)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params += [Tensor(rng.standard_normal((a, b)).astype(np.float32) * 0.05,
                          requires_grad=True),
                   Tensor(np.zeros(b, np.float32), requires_grad=True)]
    opt = optim.Adam(params, lr=1e-3) if kind == "adam" else optim.SGD(params, lr=0.01)
    # a pool of gradient sets, so each step sees arrays it has not just touched
    pool = [[rng.standard_normal(p.shape).astype(np.float32) * 1e-2 for p in params]
            for _ in range(8)]
    results = []
    for _ in range(repeat):
        times = []
        for k in range(steps):
            for p, g in zip(params, pool[k % 8]):
                p.grad = g.copy()
            t0 = time.perf_counter()
            opt.step()
            times.append(time.perf_counter() - t0)
        results.append(times)
    flat = [t for r in results for t in r]
    return {"min_us": min(flat) * 1e6, "median_us": statistics.median(flat) * 1e6}


def _child_train(name: str, windows: int) -> dict:
    from benchmarks.tinygrad_impl import TinygradMLP
    from benchmarks.workloads import WORKLOADS, batches, initial_weights, synthetic_data

    wl = WORKLOADS[name]
    X, y = synthetic_data(wl.n_samples)
    trainer = TinygradMLP(wl, initial_weights(wl.sizes))
    stream = batches(wl, X, y)
    for _ in range(wl.warmup):
        trainer.step(*next(stream))
    per_step = []
    for _ in range(windows):  # CPU time: other processes on the machine count less
        t0 = time.process_time()
        for _ in range(wl.window):
            trainer.step(*next(stream))
        per_step.append((time.process_time() - t0) / wl.window)
    return {"min_us": min(per_step) * 1e6, "median_us": statistics.median(per_step) * 1e6}


def child(args) -> None:
    from threadpoolctl import threadpool_limits

    try:
        import numexpr

        numexpr.set_num_threads(1)
    except ImportError:
        pass
    with threadpool_limits(1):
        what, name = args[0], args[1]
        if what == "step":
            out = _child_step(args[2], SHAPES[name], steps=400, repeat=5)
        else:
            out = _child_train(name, windows=3)
    print(json.dumps(out))


def _spawn(src: str, args: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMEXPR_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([src, os.getcwd()]))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from benchmarks.optim_step import "
            "child; child(sys.argv[2:])")
    out = subprocess.run([sys.executable, "-c", code, src, *args], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", default="step,train")
    opts = p.parse_args(argv)
    cases = []
    if "step" in opts.only:
        cases += [["step", w, k] for w in ("W1", "W2") for k in ("adam", "sgd")]
    if "train" in opts.only:
        cases += [["train", w] for w in ("W1", "W2") if w in opts.only or opts.only == "step,train"
                  or opts.only == "train"]
    for case in cases:
        got = {"A": [], "B": []}
        for r in range(opts.rounds):
            for label in ("AB" if r % 2 == 0 else "BA"):
                got[label].append(_spawn(opts.a if label == "A" else opts.b, case))
        row = " ".join(case)
        for label in "AB":
            mins = statistics.median(x["min_us"] for x in got[label])
            meds = statistics.median(x["median_us"] for x in got[label])
            print(f"{row:16s} {label}: min {mins:8.1f} us  median {meds:8.1f} us", flush=True)


if __name__ == "__main__":
    main()
