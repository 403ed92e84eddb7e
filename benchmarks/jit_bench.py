"""`python -m benchmarks.jit_bench`: tinygrad_np eager vs tinygrad_np.jit vs NumPy by hand.

Rows, for each workload of benchmarks/workloads.py (same weights, same batches):

- ``eager``: tinygrad_np as a user writes it (benchmarks/tinygrad_impl.py);
- ``jit``: the same step under ``tinygrad_np.jit`` (``TinygradJitMLP`` below);
- ``numpy``: the seeds' hand-written NumPy (benchmarks/numpy_by_hand.py: fresh temporaries);
- ``numpy_inplace``: the same maths written in place into buffers allocated once (the issue's
  "hand-written NumPy, in place"), with Adam's passes in place too;
- ``floor``: the step's matrix products alone, into buffers.

Each (workload, row) runs in its own process, with one BLAS thread and OpenBLAS's own kernel
choice (``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` removed from the environment); rounds
alternate the order of the rows. A process warms up for the workload's warm-up steps, then
times windows of steps with ``time.process_time`` (CPU time: another process on the same core
does not count) and reports the fastest window. The table gives, per row, the median over the
rounds of each process's fastest window, and the ratios within each round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .workloads import ADAM_BETAS, ADAM_EPS, WORKLOADS, batches, initial_weights, synthetic_data

ROWS = ("eager", "jit", "numpy", "numpy_inplace", "floor")
# The goals of issue 16 (ratio to the matmul floor), and JAX's jitted step as that issue
# measured it on this machine (s per unit, the best of its range): for reference only.
FLOOR_GOALS = {"W1": 2.0, "W2": 1.35, "W3": 1.1}
JAX_ISSUE_16 = {"W1": 0.39, "W2": 0.068, "W3": 0.815}


class TinygradJitMLP:
    """benchmarks/tinygrad_impl.py's step under tinygrad_np.jit (a trainer for benchmarks.run:
    ``TinygradJitMLP(wl, weights).step(X, y)``; ``weights()`` as the others)."""

    def __init__(self, wl, weights):
        import tinygrad_np

        from .tinygrad_impl import TinygradMLP

        self.inner = TinygradMLP(wl, weights)
        self.step = tinygrad_np.jit(self.inner.step)

    def weights(self) -> list[np.ndarray]:
        return self.inner.weights()


class InPlaceMLP:
    """numpy_by_hand.HandMLP's maths, every array written in place into buffers made once per
    batch size (what careful hand-written NumPy does)."""

    def __init__(self, wl, weights):
        self.wl = wl
        self.params = [a.copy() for layer in weights for a in layer]  # W1, b1, W2, b2, ...
        self.scratch = [np.empty_like(p) for p in self.params]
        if wl.optimizer == "adam":
            self.m = [np.zeros_like(p) for p in self.params]
            self.v = [np.zeros_like(p) for p in self.params]
            self.t = 0
        self.buffers = {}

    def _buffers(self, n):
        if n not in self.buffers:
            Ws = self.params[::2]
            Z = [np.empty((n, W.shape[1]), np.float32) for W in Ws]
            A = [np.empty_like(z) for z in Z[:-1]]
            dZ = [np.empty_like(z) for z in Z]
            grads = [np.empty_like(p) for p in self.params]
            self.buffers[n] = (Z, A, dZ, grads, np.empty((n, 1), np.float32), np.arange(n),
                               [np.empty_like(z) for z in Z[:-1]])
        return self.buffers[n]

    def step(self, X, y) -> None:
        n_layers = len(self.params) // 2
        relu = self.wl.activation == "relu"
        Z, A, dZ, grads, col, rows, tmp = self._buffers(len(X))
        inp = X
        for i in range(n_layers):
            np.matmul(inp, self.params[2 * i], out=Z[i])
            Z[i] += self.params[2 * i + 1]
            if i < n_layers - 1:
                if relu:
                    np.maximum(Z[i], 0, out=A[i])
                else:
                    np.tanh(Z[i], out=A[i])
                inp = A[i]
        P = dZ[-1]
        np.max(Z[-1], axis=1, keepdims=True, out=col)
        np.subtract(Z[-1], col, out=P)
        np.exp(P, out=P)
        np.sum(P, axis=1, keepdims=True, out=col)
        P /= col
        P[rows, y] -= 1
        P *= 1.0 / len(X)
        for i in reversed(range(n_layers)):
            below = X if i == 0 else A[i - 1]
            np.matmul(below.T, dZ[i], out=grads[2 * i])
            np.sum(dZ[i], axis=0, out=grads[2 * i + 1])
            if i > 0:
                np.matmul(dZ[i], self.params[2 * i].T, out=dZ[i - 1])
                if relu:
                    np.greater(Z[i - 1], 0, out=tmp[i - 1])
                else:
                    np.multiply(A[i - 1], A[i - 1], out=tmp[i - 1])
                    np.subtract(1, tmp[i - 1], out=tmp[i - 1])
                dZ[i - 1] *= tmp[i - 1]
        self._update(grads)

    def _update(self, grads) -> None:
        lr = self.wl.lr
        if self.wl.optimizer == "sgd":
            for p, g, s in zip(self.params, grads, self.scratch):
                np.multiply(g, lr, out=s)
                p -= s
            return
        b1, b2 = ADAM_BETAS
        self.t += 1
        step_size = lr / (1 - b1**self.t)
        sqrt_bc2 = np.sqrt(1 - b2**self.t)
        for p, g, m, v, s in zip(self.params, grads, self.m, self.v, self.scratch):
            m *= b1
            np.multiply(g, 1 - b1, out=s)
            m += s
            v *= b2
            np.multiply(g, g, out=s)
            s *= 1 - b2
            v += s
            np.sqrt(v, out=s)
            s /= sqrt_bc2
            s += ADAM_EPS
            np.divide(m, s, out=s)
            s *= step_size
            p -= s

    def weights(self) -> list[np.ndarray]:
        return self.params


def make_trainer(row: str, wl, weights):
    if row == "eager":
        from .tinygrad_impl import TinygradMLP
        return TinygradMLP(wl, weights)
    if row == "jit":
        return TinygradJitMLP(wl, weights)
    if row == "numpy":
        from .numpy_by_hand import HandMLP
        return HandMLP(wl, weights)
    if row == "numpy_inplace":
        return InPlaceMLP(wl, weights)
    if row == "floor":
        from .numpy_by_hand import MatmulFloor
        return MatmulFloor(wl, weights)
    raise ValueError(f"unknown row {row!r}; known: {', '.join(ROWS)}")


def child(row: str, name: str, windows: int, scale: float) -> dict:
    """Warm up, then time ``windows`` windows; the fastest window in s per unit (CPU and wall)."""
    wl = WORKLOADS[name]
    X, y = synthetic_data(wl.n_samples)
    trainer = make_trainer(row, wl, initial_weights(wl.sizes))
    stream = batches(wl, X, y)
    step = trainer.step
    for _ in range(max(1, int(wl.warmup * scale))):
        step(*next(stream))
    n = max(1, int(wl.window * scale))
    cpu, wall = [], []
    for _ in range(windows):
        work = [next(stream) for _ in range(n)]
        c0, w0 = time.process_time(), time.perf_counter()
        for xb, yb in work:
            step(xb, yb)
        cpu.append((time.process_time() - c0) * wl.unit_steps / n)
        wall.append((time.perf_counter() - w0) * wl.unit_steps / n)
    with open("/proc/self/stat") as f:
        minflt = int(f.read().split()[9])
    return {"cpu": min(cpu), "wall": min(wall), "minflt": minflt}


def _env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update({k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    return env


def run(names, rows, rounds: int, windows: int, scale: float) -> dict:
    root = Path(__file__).resolve().parent.parent
    results = {name: {row: [] for row in rows} for name in names}
    for r in range(rounds):
        for name in names:
            order = rows[r % len(rows):] + rows[:r % len(rows)]
            if r % 2:
                order = order[::-1]
            for row in order:
                proc = subprocess.run(
                    [sys.executable, "-m", "benchmarks.jit_bench", "--child", row, name,
                     str(windows), str(scale)], capture_output=True, text=True, env=_env(),
                    cwd=root)
                if proc.returncode:
                    raise RuntimeError(f"{name} {row}: {proc.stderr.strip().splitlines()[-1:]}")
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                results[name][row].append(res)
                print(f"  round {r + 1}/{rounds} {name} {row}: {res['cpu']:.4g} "
                      f"{WORKLOADS[name].unit} (cpu)", flush=True)
    return results


def table(results) -> str:
    lines = ["| workload | " + " | ".join(next(iter(results.values()))) + " | jit / eager | "
             "jit / numpy in place | jit / floor (goal) | jit / best NumPy by hand (goal 0.95) |",
             "|---" * (len(next(iter(results.values()))) + 5) + "|"]
    for name, by_row in results.items():
        med = {row: statistics.median(r["cpu"] for r in runs) for row, runs in by_row.items()}

        def ratio(a, b, by_row=by_row):
            pairs = list(zip(by_row[a], by_row[b]))
            return statistics.median(x["cpu"] / y["cpu"] for x, y in pairs)

        goal = FLOOR_GOALS[name]
        r_floor = ratio("jit", "floor") if "floor" in by_row else None
        hand = [k for k in ("numpy", "numpy_inplace") if k in med]
        best = (statistics.median(x["cpu"] / min(by_row[k][i]["cpu"] for k in hand)
                                  for i, x in enumerate(by_row["jit"])) if hand else None)
        cells = [f"{med[row]:.4g}" for row in by_row]
        lines.append(
            f"| {name} ({WORKLOADS[name].unit}) | " + " | ".join(cells)
            + f" | {ratio('jit', 'eager'):.2f} | "
            + (f"{ratio('jit', 'numpy_inplace'):.2f}" if "numpy_inplace" in by_row else "-")
            + (f" | {r_floor:.2f} (<= {goal})" if r_floor else " | -")
            + (f" | {best:.2f} |" if best else " | - |"))
    lines.append("")
    lines.append("CPU seconds per unit (time.process_time), one BLAS thread, median over rounds; "
                 "ratios are taken within each round. JAX is not measured here: issue 16 measured "
                 f"its jitted step at {JAX_ISSUE_16} (s per unit) on a quiet machine, to be "
                 "compared with a quiet run of this table.")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="W1,W2,W3")
    p.add_argument("--rows", default=",".join(ROWS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--windows", type=int, default=3)
    p.add_argument("--scale", type=float, default=1.0,
                   help="scale warm-up and window lengths (0.1 for a quick look)")
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts.child:
        row, name, windows, scale = opts.child
        print(json.dumps(child(row, name, int(windows), float(scale))))
        return 0
    results = run(opts.workloads.split(","), opts.rows.split(","), opts.rounds, opts.windows,
                  opts.scale)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
