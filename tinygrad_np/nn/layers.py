"""Layers: Linear, Sequential, MLP, activations and Dropout."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import ArgumentError, ShapeError
from ..random import get_rng
from ..tensor import Tensor, get_default_dtype
from . import init as initializers
from .module import Module


class Linear(Module):
    """y = x @ weight + bias, with ``weight`` of shape (in_features, out_features).

    The layout is the transpose of PyTorch's (out, in): ``x @ W`` needs no transpose in the
    forward pass, and the shape reads in the direction data flows. Checkpoints from PyTorch need
    ``weight.T``.

    ``init`` names a scheme of ``nn.init`` (default "he_uniform"; also "he", "xavier", "lecun")
    or is a function ``fn(shape, rng, dtype) -> array``; ``bias_init`` likewise (default
    "zeros": PyTorch draws biases from U(-1/sqrt(in), 1/sqrt(in)) instead). ``rng`` defaults
    to the global generator (``tinygrad_np.manual_seed``); the weight is drawn before the bias.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init="he_uniform", bias_init="zeros", rng=None, dtype=None):
        rng = get_rng(rng)
        dtype = np.dtype(dtype or get_default_dtype())
        self.in_features, self.out_features = in_features, out_features
        w = initializers.get(init, "Linear")((in_features, out_features), rng, dtype)
        self.weight = Tensor(np.asarray(w, dtype=dtype), requires_grad=True)
        self.bias = None
        if bias:
            b = initializers.get(bias_init, "Linear")((out_features,), rng, dtype)
            self.bias = Tensor(np.asarray(b, dtype=dtype), requires_grad=True)

    def forward(self, x):
        try:
            return ops.linear(x, self.weight, self.bias)
        except ShapeError:
            shape = getattr(x, "shape", None)
            if shape is None or (len(shape) and shape[-1] == self.in_features):
                raise
            raise ShapeError(
                f"{type(self).__name__}({self.extra_repr()}): an input of shape {tuple(shape)} "
                f"has {shape[-1] if shape else 'no'} features in its last dimension, but this "
                f"layer takes {self.in_features} (in_features); flatten images first "
                "(x.flatten(1)) or check the layer sizes"
            ) from None

    def extra_repr(self) -> str:
        bias = "" if self.bias is not None else ", bias=False"
        return f"{self.in_features}, {self.out_features}{bias}"


class Sequential(Module):
    """Apply modules (or functions of one Tensor) in order; they are ``self.layers[i]``."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)


class ReLU(Module):
    """max(x, 0)"""

    def forward(self, x):
        return x.relu()


class Tanh(Module):
    """tanh(x)"""

    def forward(self, x):
        return x.tanh()


class Sigmoid(Module):
    """1 / (1 + exp(-x))"""

    def forward(self, x):
        return x.sigmoid()


class Softmax(Module):
    """exp(x) / sum(exp(x)) along ``axis``"""

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        return x.softmax(self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Module):
    """x - logsumexp(x) along ``axis``"""

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        return x.log_softmax(self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the
    survivors by 1 / (1 - p), so the expected activation is unchanged; identity in eval mode.

    The mask comes from ``rng`` (default: the global generator at call time).
    """

    def __init__(self, p: float = 0.5, rng=None):
        if not 0.0 <= p <= 1.0:
            raise ArgumentError(f"Dropout: p is the probability of zeroing an element and must be "
                                f"in "
                             f"[0, 1], got {p}")
        self.p = p
        self.rng = rng

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = get_rng(self.rng).random(x.shape) >= self.p
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        return x * Tensor(keep * np.asarray(scale, dtype=x.dtype))

    def extra_repr(self) -> str:
        return f"p={self.p}"


ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}
DEFAULT_INIT = {"relu": "he_uniform", "tanh": "xavier_uniform", "sigmoid": "xavier_uniform"}


class MLP(Module):
    """A multilayer perceptron returning logits: Linear, activation (and Dropout), ..., Linear.

    ``sizes`` lists the widths from input to output, e.g. [784, 128, 64, 10]; the Linear layers
    are ``self.layers[i]``. ``init`` defaults to He for ReLU and Xavier for tanh and sigmoid.
    ``dropout`` > 0 adds Dropout after every hidden activation.
    """

    def __init__(self, sizes, activation: str = "relu", dropout: float = 0.0, init=None,
                 bias_init="zeros", rng=None, dtype=None):
        if len(sizes) < 2:
            raise ArgumentError(f"MLP: sizes must list at least input and output widths, got "
                                f"{sizes}")
        if activation not in ACTIVATIONS:
            raise ArgumentError(f"MLP: unknown activation {activation!r}; use one of "
                             f"{', '.join(ACTIVATIONS)}")
        rng = get_rng(rng)
        init = init or DEFAULT_INIT[activation]
        self.layers = [Linear(a, b, init=init, bias_init=bias_init, rng=rng, dtype=dtype)
                       for a, b in zip(sizes[:-1], sizes[1:])]
        self.activation = ACTIVATIONS[activation]()
        self.dropout = Dropout(dropout) if dropout else None

    def forward(self, x):
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = self.activation(x)
                if self.dropout is not None:
                    x = self.dropout(x)
        return x
