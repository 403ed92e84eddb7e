"""One training step of a small MNIST CNN, tinygrad_np against PyTorch CPU eager.

    python -m benchmarks.conv_step [--rounds 5] [--steps 30] [--threads 1]

The model (the CNN of examples/mnist_cnn.py's kind): Conv2d(1, 16, 3, padding=1), ReLU,
MaxPool2d(2), Conv2d(16, 32, 3, padding=1), ReLU, MaxPool2d(2), Flatten, Linear(32*7*7, 10);
cross-entropy, Adam(lr=1e-3), batch 64 of synthetic 28x28 float32 images. Both frameworks start
from the same weights and see the same batches.

Each round runs every framework in its own child process (fresh heap and threads), alternating
which goes first, with one BLAS / OpenMP / PyTorch thread unless ``--threads`` says otherwise.
A child trains a warm-up window, then times ``--steps`` steps several times; the parent prints
the median and the minimum milliseconds per step (wall clock and process CPU time) and the
ratio tinygrad_np / PyTorch, and the minor page faults per step. ``--kernels off`` adds a
tinygrad_np child with the speed kernels switched off (the textbook formulas of ops.py);
``--retain`` adds one that calls ``tinygrad_np.retain_freed_memory()`` first, and a PyTorch child
with the same glibc settings through the environment (MALLOC_MMAP_THRESHOLD_ and
MALLOC_TRIM_THRESHOLD_ at 32 MB), since by default glibc returns the step's temporaries to the
kernel and faults them in again on the next step.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BATCH = 64


def _weights(seed: int = 0) -> dict:
    """PyTorch-layout weights: conv (out, in, kh, kw), linear (out, in)."""
    rng = np.random.default_rng(seed)

    def u(shape, fan_in):
        b = 1 / np.sqrt(fan_in)
        return rng.uniform(-b, b, shape).astype(np.float32)

    return {"c1.w": u((16, 1, 3, 3), 9), "c1.b": u((16,), 9),
            "c2.w": u((32, 16, 3, 3), 144), "c2.b": u((32,), 144),
            "fc.w": u((10, 32 * 7 * 7), 32 * 7 * 7), "fc.b": u((10,), 32 * 7 * 7)}


def _batches(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    X = rng.random((n, BATCH, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, (n, BATCH))
    return X, y


def _tinygrad(w, kernels: bool):
    from tinygrad_np import Tensor, _kernels, nn, optim

    _kernels.ENABLED = kernels
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    model.load_state_dict({"layers.0.weight": w["c1.w"], "layers.0.bias": w["c1.b"],
                           "layers.3.weight": w["c2.w"], "layers.3.bias": w["c2.b"],
                           "layers.7.weight": np.ascontiguousarray(w["fc.w"].T),
                           "layers.7.bias": w["fc.b"]})
    opt = optim.Adam(model.parameters(), lr=1e-3)

    def step(X, y):
        loss = nn.functional.cross_entropy(model(Tensor(X)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def _torch(w):
    import torch
    from torch import nn

    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    with torch.no_grad():
        for (i, k) in ((0, "c1"), (3, "c2"), (7, "fc")):
            model[i].weight.copy_(torch.from_numpy(w[k + ".w"]))
            model[i].bias.copy_(torch.from_numpy(w[k + ".b"]))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(X, y):
        loss = nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


RETAINED = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(32 << 20)}


def child(framework: str, steps: int, windows: int, threads: int) -> dict:
    if framework.startswith("torch"):
        import torch
        torch.set_num_threads(threads)
        step = _torch(_weights())
    else:
        if framework == "tinygrad_np+retain":
            import tinygrad_np
            if not tinygrad_np.retain_freed_memory():
                raise RuntimeError("retain_freed_memory() cannot take effect here (not glibc)")
        step = _tinygrad(_weights(), kernels=framework != "tinygrad_np-kernels-off")
    X, y = _batches(steps)
    for i in range(steps):  # warm-up
        step(X[i], y[i])
    wall, cpu = [], []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(windows):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(steps):
            step(X[i], y[i])
        wall.append((time.perf_counter() - t0) / steps * 1e3)
        cpu.append((time.process_time() - c0) / steps * 1e3)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / (windows * steps)
    return {"wall": wall, "cpu": cpu, "faults": faults}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=30, help="steps per timed window")
    p.add_argument("--windows", type=int, default=3, help="timed windows per child")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--kernels", choices=["on", "off"], default="on",
                   help="off: also time tinygrad_np with its speed kernels switched off")
    p.add_argument("--retain", action="store_true",
                   help="also time both with glibc keeping freed memory (see above)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.steps, a.windows, a.threads)))
        return
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}  # PERF.md: both slow BLAS
    env.update({k: str(a.threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                            "MKL_NUM_THREADS")})
    frameworks = ["tinygrad_np", "torch"] + (["tinygrad_np-kernels-off"] if a.kernels == "off"
                                             else [])
    if a.retain:
        frameworks += ["tinygrad_np+retain", "torch+malloc"]
    results = {f: {"wall": [], "cpu": [], "faults": []} for f in frameworks}
    for r in range(a.rounds):
        order = frameworks[r % len(frameworks):] + frameworks[:r % len(frameworks)]
        for f in order:
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.conv_step", "--child", f, "--steps",
                 str(a.steps), "--windows", str(a.windows), "--threads", str(a.threads)],
                capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
                env={**env, **RETAINED} if f == "torch+malloc" else env)
            if proc.returncode:
                sys.exit(f"{f} failed: {proc.stderr.strip().splitlines()[-1:]}")
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            for k in ("wall", "cpu"):
                results[f][k] += out[k]
            results[f]["faults"].append(out["faults"])
    print(f"CNN training step, batch {BATCH}, {a.threads} thread(s), {a.rounds} rounds x "
          f"{a.windows} windows x {a.steps} steps; load average {os.getloadavg()[0]:.2f}")
    print(f"{'framework':<26}{'wall median':>12}{'wall min':>10}{'cpu median':>12}{'cpu min':>10}"
          f"{'faults':>9}  (ms/step; minor page faults/step)")
    for f, r in results.items():
        print(f"{f:<26}{statistics.median(r['wall']):>12.2f}{min(r['wall']):>10.2f}"
              f"{statistics.median(r['cpu']):>12.2f}{min(r['cpu']):>10.2f}"
              f"{statistics.median(r['faults']):>9.0f}")
    pairs = [("tinygrad_np", "torch")] + ([("tinygrad_np+retain", "torch+malloc")] if a.retain
                                          else [])
    for ours, theirs in pairs:
        t, q = results[ours], results[theirs]
        print(f"ratio {ours} / {theirs}: wall median "
              f"{statistics.median(t['wall']) / statistics.median(q['wall']):.2f}, wall min "
              f"{min(t['wall']) / min(q['wall']):.2f}, cpu median "
              f"{statistics.median(t['cpu']) / statistics.median(q['cpu']):.2f}, cpu min "
              f"{min(t['cpu']) / min(q['cpu']):.2f}")


if __name__ == "__main__":
    main()
