"""The baselines written by hand in NumPy, as the seeds write them, plus the matmul-only floor.

``HandMLP`` is the seeds' backprop for a softmax MLP: forward keeping every Z and A, the fused
``dZ = (P - Y) / m`` at the output, ``dW = A^T dZ``, ``db = sum(dZ)``, ``dZ = (dZ W^T) * g'(Z)``
going down, then SGD or Adam updating parameters and optimizer state in place. float32
throughout, row-major layout (one sample per row), no tricks beyond that.

``MatmulFloor`` runs only the GEMMs of the same step (3 forward, 5 backward for W1) into
preallocated buffers: what no framework can beat.
"""

from __future__ import annotations

import numpy as np

from .workloads import ADAM_BETAS, ADAM_EPS, Workload


class HandMLP:
    """A softmax MLP trained with hand-derived gradients (the seeds' formulas)."""

    def __init__(self, wl: Workload, weights):
        self.wl = wl
        self.params = [a.copy() for layer in weights for a in layer]  # W1, b1, W2, b2, ...
        if wl.optimizer == "adam":
            self.m = [np.zeros_like(p) for p in self.params]
            self.v = [np.zeros_like(p) for p in self.params]
            self.t = 0

    def gradients(self, X, y) -> list[np.ndarray]:
        relu = self.wl.activation == "relu"
        n_layers = len(self.params) // 2
        A, Z = [X], []
        for i in range(n_layers):
            W, b = self.params[2 * i], self.params[2 * i + 1]
            Z.append(A[-1] @ W + b)
            if i < n_layers - 1:
                A.append(np.maximum(Z[-1], 0) if relu else np.tanh(Z[-1]))
        m = len(X)
        E = np.exp(Z[-1] - Z[-1].max(axis=1, keepdims=True))
        dZ = E / E.sum(axis=1, keepdims=True)  # softmax P
        dZ[np.arange(m), y] -= 1  # P - Y
        dZ /= m
        grads = [None] * len(self.params)
        for i in reversed(range(n_layers)):
            grads[2 * i] = A[i].T @ dZ
            grads[2 * i + 1] = dZ.sum(axis=0)
            if i > 0:
                dA = dZ @ self.params[2 * i].T
                dZ = dA * (Z[i - 1] > 0) if relu else dA * (1 - A[i] * A[i])
        return grads

    def step(self, X, y) -> None:
        grads = self.gradients(X, y)
        lr = self.wl.lr
        if self.wl.optimizer == "sgd":
            for p, g in zip(self.params, grads):
                p -= lr * g
            return
        b1, b2 = ADAM_BETAS
        self.t += 1
        step_size = lr / (1 - b1**self.t)
        sqrt_bc2 = np.sqrt(1 - b2**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= step_size * m / (np.sqrt(v) / sqrt_bc2 + ADAM_EPS)

    def weights(self) -> list[np.ndarray]:
        return self.params


class MatmulFloor:
    """Only the step's matrix products, into buffers allocated once per batch size."""

    def __init__(self, wl: Workload, weights):
        self.W = [W.copy() for W, _ in weights]
        self.buffers = {}

    def _buffers_for(self, m: int):
        if m not in self.buffers:
            outs = [np.empty((m, W.shape[1]), np.float32) for W in self.W]  # Z (and dZ, dA)
            dW = [np.empty_like(W) for W in self.W]
            self.buffers[m] = (outs, [np.ones_like(o) for o in outs], dW)
        return self.buffers[m]

    def step(self, X, y) -> None:
        Z, dZ, dW = self._buffers_for(len(X))
        A = X
        for W, out in zip(self.W, Z):
            A = np.matmul(A, W, out=out)
        for i in reversed(range(len(self.W))):
            np.matmul((X if i == 0 else Z[i - 1]).T, dZ[i], out=dW[i])
            if i > 0:
                np.matmul(dZ[i], self.W[i].T, out=dZ[i - 1])

    def weights(self) -> list[np.ndarray]:
        return self.W
