"""The benchmark workloads (the seeds' three MLPs and issue 14's CNN), data and initial weights.

Every framework trains the same network from the same initial weights on the same batches, so
the timings compare the frameworks and nothing else; the smoke test checks that they also
compute the same thing.

The data are synthetic but shaped like MNIST where it matters for speed: 784 pixels in [0, 1],
dense in the middle of the 28x28 frame and rarer towards the borders, some pixels almost never
lit. A weight whose pixel lights up once in a few thousand images gets a gradient once, then
Adam's first moment decays by 0.9 per step for thousands of steps, into the subnormal range of
float32, where x86 arithmetic is many times slower (see /work/shared/docs/PERF.md). Real MNIST
does the same; uniform random data would hide it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_PIXELS = 784
N_CLASSES = 10


@dataclass(frozen=True)
class Workload:
    """One seed configuration and how to time it.

    Timing: ``warmup`` steps untimed, then windows of ``window`` steps; a window's time is
    scaled to the reporting ``unit`` (``unit_steps`` steps: an epoch, or 100 iterations).
    """

    name: str
    title: str
    sizes: tuple[int, ...]
    activation: str  # "relu" or "tanh"
    optimizer: str  # "adam" or "sgd"
    lr: float
    batch: int | None  # None: full batch
    n_samples: int
    unit: str
    unit_steps: int
    warmup: int
    window: int
    model: str = "mlp"  # "mlp": ``sizes`` are the layer widths; "cnn": the network of W4


ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8

WORKLOADS = {
    # Seed 000. Timed after 1,000 steps: the subnormal slowdown starts after ~650.
    "W1": Workload("W1", "784-128-64-10 ReLU, Adam, batch 32", (784, 128, 64, 10), "relu",
                   "adam", 1e-3, 32, 60_000, "s/epoch", 1875, warmup=1000, window=1875),
    # Seed 001 (with the correct gradient).
    "W2": Workload("W2", "784-32-10 tanh, SGD, batch 128", (784, 32, 10), "tanh",
                   "sgd", 0.01, 128, 60_000, "s/epoch", 469, warmup=469, window=469),
    # Seed 004.
    "W3": Workload("W3", "1000x784-512-10 ReLU, full-batch GD", (784, 512, 10), "relu",
                   "sgd", 0.1, None, 1000, "s/100 it", 100, warmup=10, window=100),
    # Issue 14's MNIST CNN: conv 3x3 (1->16, padding 1), ReLU, max-pool 2, conv 3x3 (16->32,
    # padding 1), ReLU, max-pool 2, flatten (32*7*7 in PyTorch's C, H, W order), linear -> 10.
    # ``sizes`` are the channels (1, 16, 32) and the classes. 200 batches of 64, no short one.
    "W4": Workload("W4", "MNIST CNN conv16-pool-conv32-pool-linear, Adam, batch 64",
                   (1, 16, 32, N_CLASSES), "relu", "adam", 1e-3, 64, 12_800, "s/100 it", 100,
                   warmup=20, window=100, model="cnn"),
}
MLP_WORKLOADS = ("W1", "W2", "W3")
CNN_KERNEL = 3
CNN_IMAGE = 28


class Unavailable(Exception):
    """A framework cannot run a workload here (not written for it, or a layer it lacks): the
    row is skipped with this message, not counted as a failure."""


def synthetic_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` MNIST-shaped float32 images (n, 784) and int64 labels a linear teacher assigns."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:28, 0:28]
    radius = np.hypot(rows - 13.5, cols - 13.5).ravel()
    lit_probability = (0.75 * np.exp(-((radius / 8.0) ** 4))).astype(np.float32)
    X = np.empty((n, N_PIXELS), dtype=np.float32)
    for start in range(0, n, 1024):  # in chunks: peak RSS should measure training, not this
        chunk = X[start:start + 1024]
        rng.random(chunk.shape, dtype=np.float32, out=chunk)
        chunk *= rng.random(chunk.shape, dtype=np.float32) < lit_probability
    teacher = rng.standard_normal((N_PIXELS, N_CLASSES)).astype(np.float32)
    y = (X @ teacher).argmax(axis=1).astype(np.int64)
    return X, y


def initial_weights(sizes, seed: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """He-uniform weights of shape (fan_in, fan_out) and zero biases, float32, one per layer."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / fan_in)
        W = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)
        layers.append((W, np.zeros(fan_out, dtype=np.float32)))
    return layers


def cnn_initial_weights(channels=(1, 16, 32), n_classes=N_CLASSES, seed: int = 1):
    """W4's start: He-uniform conv weights in PyTorch's (out, in, kH, kW) layout, the linear
    layer's weight in tinygrad_np's (in, out) layout (as ``initial_weights``), zero biases."""
    rng = np.random.default_rng(seed)
    layers = []
    for c_in, c_out in zip(channels[:-1], channels[1:]):
        bound = np.sqrt(6.0 / (c_in * CNN_KERNEL * CNN_KERNEL))
        W = rng.uniform(-bound, bound, (c_out, c_in, CNN_KERNEL, CNN_KERNEL))
        layers.append((W.astype(np.float32), np.zeros(c_out, dtype=np.float32)))
    side = CNN_IMAGE // 2 ** (len(channels) - 1)
    fan_in = channels[-1] * side * side
    bound = np.sqrt(6.0 / fan_in)
    W = rng.uniform(-bound, bound, (fan_in, n_classes)).astype(np.float32)
    layers.append((W, np.zeros(n_classes, dtype=np.float32)))
    return layers


def start_weights(wl: Workload):
    """The initial weights of ``wl``'s network, as a list of (weight, bias) per layer."""
    if wl.model == "cnn":
        return cnn_initial_weights(wl.sizes[:-1], wl.sizes[-1])
    return initial_weights(wl.sizes)


def batches(wl: Workload, X: np.ndarray, y: np.ndarray, seed: int = 2):
    """Yield (X_batch, y_batch) forever: reshuffled every epoch, last batch may be short."""
    if wl.batch is None:
        while True:
            yield X, y
    rng = np.random.default_rng(seed)
    n = len(X)
    while True:
        order = rng.permutation(n)
        for start in range(0, n, wl.batch):
            idx = order[start:start + wl.batch]
            yield X[idx], y[idx]
