"""tinygrad_np.nn: modules, layers, initializers, losses and checkpoints.

``module.py`` finds parameters by walking attributes; ``layers.py`` holds the layers
(Linear, Conv2d, pooling, BatchNorm, LayerNorm, Embedding, activations, Dropout, containers and
loss modules, with PyTorch's names and arguments); ``functional.py`` their functions
(``import tinygrad_np.nn.functional as F``); ``init.py`` the weight initializers; ``losses.py``
the loss functions and ``accuracy``; ``checkpoint.py`` atomic ``save`` / ``load`` of state
dicts; ``utils.py`` gradient clipping (``nn.utils.clip_grad_norm_``).
"""

from . import functional, init, utils
from .checkpoint import load, save
from .layers import (
    ELU,
    GELU,
    MLP,
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    BCELoss,
    BCEWithLogitsLoss,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Embedding,
    Flatten,
    Hardtanh,
    Identity,
    L1Loss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ModuleDict,
    ModuleList,
    MSELoss,
    NLLLoss,
    Parameter,
    ReLU,
    ReLU6,
    Sequential,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    Unflatten,
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
    "ELU", "GELU", "MLP", "AdaptiveAvgPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss",
    "BatchNorm1d", "BatchNorm2d", "Conv2d", "CrossEntropyLoss", "Dropout", "Embedding",
    "Flatten", "Hardtanh", "Identity", "IncompatibleKeys", "L1Loss", "LayerNorm", "LeakyReLU",
    "Linear", "LogSoftmax", "MSELoss", "MaxPool2d", "Module", "ModuleDict", "ModuleList", "NLLLoss",
    "Parameter", "ReLU", "ReLU6", "SiLU", "Sequential", "Sigmoid", "Softmax", "Softplus", "Tanh",
    "Unflatten", "accuracy", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "functional", "init", "load", "mse_loss", "nll_loss", "save", "utils",
]
