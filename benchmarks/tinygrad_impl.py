"""The workloads as a tinygrad_np user writes them: nn.MLP, nn.cross_entropy, optim."""

from __future__ import annotations

import numpy as np

from tinygrad_np import Tensor, detect_anomaly, nn, optim

from .workloads import ADAM_BETAS, ADAM_EPS, Workload


class TinygradMLP:
    def __init__(self, wl: Workload, weights, anomaly: bool = False):
        self.model = nn.MLP(wl.sizes, activation=wl.activation)
        self.model.load_state_dict({f"layers.{i}.{k}": a for i, (W, b) in enumerate(weights)
                                    for k, a in (("weight", W), ("bias", b))})
        if wl.optimizer == "adam":
            self.opt = optim.Adam(self.model.parameters(), lr=wl.lr, betas=ADAM_BETAS,
                                  eps=ADAM_EPS)
        else:
            self.opt = optim.SGD(self.model.parameters(), lr=wl.lr)
        if anomaly:  # what detect_anomaly costs when on: every step runs inside it
            self.step = detect_anomaly()(self.step)

    def step(self, X, y) -> None:
        loss = nn.cross_entropy(self.model(Tensor(X)), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()

    def weights(self) -> list[np.ndarray]:
        return [p.data for p in self.model.parameters()]
