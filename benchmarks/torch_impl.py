"""The workloads as a PyTorch user writes them: nn.Sequential, F.cross_entropy, torch.optim.

Imported only in the PyTorch child processes, and only when torch is installed (it is not a
dependency of tinygrad_np; `make bench` skips it when missing). ``compile=True`` is the
torch.compile row: the whole training step (forward, loss, zero_grad, backward, optimizer
step) under ``torch.compile`` with its defaults; the first calls compile (gcc builds the
kernels), which the warm-up absorbs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .workloads import ADAM_BETAS, ADAM_EPS, CNN_IMAGE, Workload


def _linear(W: np.ndarray, b: np.ndarray) -> nn.Linear:
    linear = nn.Linear(*W.shape)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(W.T))  # torch stores (out, in)
        linear.bias.copy_(torch.from_numpy(b))
    return linear


def _conv(W: np.ndarray, b: np.ndarray) -> nn.Conv2d:
    conv = nn.Conv2d(W.shape[1], W.shape[0], W.shape[2], padding=W.shape[2] // 2)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(W))  # the shared layout is PyTorch's
        conv.bias.copy_(torch.from_numpy(b))
    return conv


class TorchTrainer:
    """One of the workloads' networks in PyTorch, trained as its tutorials do."""

    def __init__(self, wl: Workload, weights, compile: bool = False):
        self.wl = wl
        if wl.model == "cnn":
            (W1, b1), (W2, b2), (Wf, bf) = weights
            self.model = nn.Sequential(_conv(W1, b1), nn.ReLU(), nn.MaxPool2d(2),
                                       _conv(W2, b2), nn.ReLU(), nn.MaxPool2d(2),
                                       nn.Flatten(), _linear(Wf, bf))
        else:
            layers = []
            for i, (W, b) in enumerate(weights):
                layers.append(_linear(W, b))
                if i < len(weights) - 1:
                    layers.append(nn.ReLU() if wl.activation == "relu" else nn.Tanh())
            self.model = nn.Sequential(*layers)
        if wl.optimizer == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=wl.lr, betas=ADAM_BETAS,
                                        eps=ADAM_EPS)
        else:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=wl.lr)
        self._train_step = torch.compile(self._eager_step) if compile else self._eager_step

    def _eager_step(self, x, y):
        loss = nn.functional.cross_entropy(self.model(x), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()

    def step(self, X, y) -> None:
        x = torch.from_numpy(X)
        if self.wl.model == "cnn":
            x = x.view(len(X), -1, CNN_IMAGE, CNN_IMAGE)
        self._train_step(x, torch.from_numpy(y))

    def weights(self) -> list[np.ndarray]:
        out = []
        for layer in self.model:
            if isinstance(layer, nn.Linear):
                out += [layer.weight.detach().numpy().T, layer.bias.detach().numpy()]
            elif isinstance(layer, nn.Conv2d):
                out += [layer.weight.detach().numpy(), layer.bias.detach().numpy()]
        return out


TorchMLP = TorchTrainer  # the name before W4
