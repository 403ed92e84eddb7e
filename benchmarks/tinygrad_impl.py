"""The workloads as a tinygrad_np user writes them: Tensor parameters, cross_entropy, backward."""

from __future__ import annotations

import numpy as np

from tinygrad_np import Tensor, detect_anomaly

from .workloads import ADAM_BETAS, ADAM_EPS, Workload


class TinygradMLP:
    def __init__(self, wl: Workload, weights, anomaly: bool = False):
        self.wl = wl
        if anomaly:  # what detect_anomaly costs when on: every step runs inside it
            self.step = detect_anomaly()(self.step)
        self.params = [Tensor(a.copy(), requires_grad=True) for layer in weights for a in layer]
        if wl.optimizer == "adam":
            self.m = [np.zeros_like(p.data) for p in self.params]
            self.v = [np.zeros_like(p.data) for p in self.params]
            self.t = 0

    def forward(self, X: Tensor) -> Tensor:
        h = X
        n_layers = len(self.params) // 2
        for i in range(n_layers):
            h = h @ self.params[2 * i] + self.params[2 * i + 1]
            if i < n_layers - 1:
                h = h.relu() if self.wl.activation == "relu" else h.tanh()
        return h

    def step(self, X, y) -> None:
        loss = self.forward(Tensor(X)).cross_entropy(y)
        for p in self.params:
            p.grad = None
        loss.backward()
        if self.wl.optimizer == "sgd":
            for p in self.params:
                p.data -= self.wl.lr * p.grad
            return
        b1, b2 = ADAM_BETAS
        self.t += 1
        step_size = self.wl.lr / (1 - b1**self.t)
        sqrt_bc2 = np.sqrt(1 - b2**self.t)
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p.data -= step_size * m / (np.sqrt(v) / sqrt_bc2 + ADAM_EPS)

    def weights(self) -> list[np.ndarray]:
        return [p.data for p in self.params]
