"""The workloads as a PyTorch user writes them: nn.Sequential, F.cross_entropy, torch.optim.

Imported only in the PyTorch child process, and only when torch is installed (it is not a
dependency of tinygrad_np; `make bench` skips it when missing).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .workloads import ADAM_BETAS, ADAM_EPS, Workload


class TorchMLP:
    def __init__(self, wl: Workload, weights):
        layers = []
        for i, (W, b) in enumerate(weights):
            linear = nn.Linear(*W.shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T))  # torch stores (out, in)
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            if i < len(weights) - 1:
                layers.append(nn.ReLU() if wl.activation == "relu" else nn.Tanh())
        self.model = nn.Sequential(*layers)
        if wl.optimizer == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=wl.lr, betas=ADAM_BETAS,
                                        eps=ADAM_EPS)
        else:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=wl.lr)

    def step(self, X, y) -> None:
        loss = nn.functional.cross_entropy(self.model(torch.from_numpy(X)), torch.from_numpy(y))
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()

    def weights(self) -> list[np.ndarray]:
        out = []
        for layer in self.model:
            if isinstance(layer, nn.Linear):
                out += [layer.weight.detach().numpy().T, layer.bias.detach().numpy()]
        return out
