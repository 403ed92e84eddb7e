"""The workloads as a tinygrad_np user writes them: nn.MLP, nn.cross_entropy, optim.

W4's CNN uses the API issue 14 plans (``nn.Conv2d(in, out, kernel_size, stride=1, padding=0)``
with PyTorch's (out, in, kH, kW) weight and a bias, ``nn.MaxPool2d(2)``, ``nn.Flatten()``
(else ``x.flatten(1)``), ``nn.ReLU``, ``nn.Linear``); until ``tinygrad_np.nn`` has Conv2d and
MaxPool2d, that row is skipped. W1-W3 use only calls tinygrad_np had at a99936b, so
``make bench BASELINE=a99936b`` can run this file against that revision.
"""

from __future__ import annotations

import numpy as np

from tinygrad_np import Tensor, detect_anomaly, nn, optim

from .workloads import ADAM_BETAS, ADAM_EPS, CNN_IMAGE, Unavailable, Workload

CNN_LAYERS = ("Conv2d", "MaxPool2d")


def _cnn(wl: Workload):
    missing = [name for name in CNN_LAYERS if not hasattr(nn, name)]
    if missing:
        raise Unavailable(f"tinygrad_np.nn has no {', '.join(missing)} yet (issue 14)")
    c0, c1, c2, n_classes = wl.sizes
    side = CNN_IMAGE // 4
    flatten = nn.Flatten() if hasattr(nn, "Flatten") else (lambda x: x.flatten(1))
    return nn.Sequential(nn.Conv2d(c0, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         flatten, nn.Linear(c2 * side * side, n_classes))


class TinygradMLP:
    """One of the workloads' networks in tinygrad_np (the MLPs, and W4's CNN)."""

    def __init__(self, wl: Workload, weights, anomaly: bool = False):
        self.wl = wl
        if wl.model == "cnn":
            self.model = _cnn(wl)
            params = self.model.parameters()
            arrays = [a for layer in weights for a in layer]
            if [p.shape for p in params] != [a.shape for a in arrays]:
                raise Unavailable(f"tinygrad_np's CNN parameters have shapes "
                                  f"{[p.shape for p in params]}, the benchmark's "
                                  f"{[a.shape for a in arrays]}")
            for p, a in zip(params, arrays):
                np.copyto(p.data, a)
        else:
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
        if self.wl.model == "cnn":
            X = X.reshape(len(X), -1, CNN_IMAGE, CNN_IMAGE)
        loss = nn.cross_entropy(self.model(Tensor(X)), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()

    def weights(self) -> list[np.ndarray]:
        return [p.data for p in self.model.parameters()]
