"""tinygrad_np.nn: modules, layers, initializers, losses and checkpoints.

``module.py`` finds parameters by walking attributes; ``layers.py`` holds Linear, Sequential,
MLP, the activations and Dropout; ``init.py`` the weight initializers; ``losses.py`` the losses
and ``accuracy``; ``checkpoint.py`` atomic ``save`` / ``load`` of state dicts; ``utils.py``
gradient clipping (``nn.utils.clip_grad_norm_``).
"""

from . import functional, init, utils
from .checkpoint import load, save
from .layers import (
    MLP,
    Dropout,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import (
    accuracy,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)
from .module import IncompatibleKeys, Module

__all__ = [
    "MLP", "Dropout", "IncompatibleKeys", "Linear", "LogSoftmax", "Module", "ReLU", "Sequential",
    "Sigmoid", "Softmax", "Tanh", "accuracy", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy", "functional", "init", "load", "mse_loss",
    "nll_loss", "save", "utils",
]
