"""tinygrad_np.nn.functional: the functional form of every layer and loss, as
``torch.nn.functional`` (``import tinygrad_np.nn.functional as F``).

Primitives come from ``ops`` (their backward is written there); the rest are composites whose
gradients come from the graph. ``linear`` keeps this library's weight layout, (in, out).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from .._modes import no_grad
from ..autograd.function import TensorBase
from ..errors import ArgumentError, DTypeError, OutOfRangeError, ShapeError
from ..ops import (
    adaptive_avg_pool2d,
    avg_pool2d,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    conv2d,
    cross_entropy,
    elu,
    fold,
    gelu,
    leaky_relu,
    linear,
    log_softmax,
    max_pool2d,
    nll_loss,
    pad,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
    unfold,
)
from ..random import get_rng
from .losses import l1_loss, mse_loss

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "conv2d", "cross_entropy", "dropout", "elu",
    "embedding", "fold", "gelu", "l1_loss", "layer_norm", "leaky_relu", "linear", "log_softmax",
    "max_pool2d", "mse_loss", "nll_loss", "one_hot", "pad", "relu", "relu6", "sigmoid", "silu",
    "softmax", "softplus", "tanh", "unfold",
]


def relu6(x):
    return ops.clamp(x, 0.0, 6.0)


def dropout(x, p: float = 0.5, training: bool = True, *, rng=None):
    """Inverted dropout: zero each element with probability ``p`` and scale the others by
    1 / (1 - p), so the expected value is unchanged; the identity when not ``training``."""
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout: p is the probability of zeroing an element and must be in "
                            f"[0, 1], got {p}")
    if not training or p == 0.0:
        return x
    keep = get_rng(rng).random(x.shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return x * (keep * np.asarray(scale, dtype=x.dtype))


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalise over the last ``len(normalized_shape)`` dimensions to zero mean and unit
    variance (the biased variance, as PyTorch), then scale by ``weight`` and shift by ``bias``."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[x.ndim - len(shape):]) != shape or len(shape) > x.ndim:
        raise ShapeError(f"layer_norm: normalized_shape {shape} must be the last dimensions of the "
                         f"input, but the input has shape {x.shape}; for (N, C) features use "
                         f"normalized_shape={x.shape[-1] if x.ndim else 'C'}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    y = centered * (var + eps) ** -0.5
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Normalise each channel (dimension 1) over the batch and the spatial dimensions.

    In training the batch's statistics are used (the biased variance) and the running ones are
    updated in place: ``running = (1 - momentum) running + momentum * batch`` with the unbiased
    variance, as PyTorch; otherwise the running statistics are used."""
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of shape (N, C) or (N, C, ...), got "
                         f"{x.shape}")
    C = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, C) + (1,) * (x.ndim - 2)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (C,):
            raise ShapeError(f"batch_norm: {name} must have shape ({C},) for an input with {C} "
                             f"channels (shape {x.shape}), got {tuple(t.shape)}")
    if training:
        n = x.size // C
        if n <= 1:
            raise ShapeError(f"batch_norm: training needs more than one value per channel, got "
                             f"input of shape {x.shape}")
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        if running_mean is not None:
            with no_grad():
                running_mean.mul_(1 - momentum).add_(mean.reshape(C).detach() * momentum)
                running_var.mul_(1 - momentum).add_(var.reshape(C).detach() * (momentum * n /
                                                                              (n - 1)))
    else:
        if running_mean is None or running_var is None:
            raise ArgumentError("batch_norm: evaluation needs running_mean and running_var")
        mean = _as_array(running_mean, x).reshape(shape)
        centered = x - mean
        var = _as_array(running_var, x).reshape(shape)
    y = centered * (var + eps) ** -0.5
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _as_array(t, like):
    return t._data.astype(like.dtype, copy=False) if isinstance(t, TensorBase) else np.asarray(
        t, dtype=like.dtype)


def embedding(indices, weight, padding_idx=None):
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``indices`` of any shape; the
    result has shape indices.shape + (dim,). Repeated indices add up their gradients; the row
    ``padding_idx`` gets none."""
    idx = indices._data if isinstance(indices, TensorBase) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"embedding: indices must be integers, got dtype {idx.dtype}; convert "
                         "with .astype('int64')")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].flat[0]
        raise OutOfRangeError(f"embedding: index {bad} is out of range for a table of {n} rows "
                              f"(valid: 0..{n - 1}); is num_embeddings the vocabulary size?")
    if padding_idx is not None:
        mask = (idx != padding_idx)[..., None]
        return ops.getitem(weight, idx) * mask + ops.getitem(weight.detach(), idx) * ~mask
    return ops.getitem(weight, idx)


def one_hot(indices, num_classes: int = -1):
    """Integer labels as one-hot rows (int64, as PyTorch)"""
    from ..data import one_hot as _one_hot
    from ..tensor import Tensor

    idx = indices._data if isinstance(indices, TensorBase) else np.asarray(indices)
    return Tensor(_one_hot(idx, None if num_classes == -1 else num_classes, dtype=np.int64))
