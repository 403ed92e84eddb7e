"""tinygrad_np.nn.functional: the functional form of every layer and loss, with the names,
arguments and defaults of ``torch.nn.functional`` (``import tinygrad_np.nn.functional as F``).

Primitives come from ``ops`` (their backward is written there, next to the forward); the rest
are composites whose gradients come from the graph. Where this library differs from PyTorch:

- ``linear`` keeps this library's weight layout, (in_features, out_features).
- ``inplace=True`` writes the result into the input through the in-place rules of
  ``Tensor.add_`` and friends (allowed on a tensor no recorded op still needs; refused on a leaf
  that requires grad, as in PyTorch).
- ``softmax``/``log_softmax`` without ``dim`` use the last dimension (PyTorch guesses one
  with a warning); NumPy's ``axis=`` works too.
- ``mse_loss``/``l1_loss`` refuse shapes that differ instead of broadcasting with a warning.
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
    conv2d,
    fold,
    linear,
    max_pool2d,
    sigmoid,
    tanh,
    unfold,
)
from ..random import get_rng
from . import losses

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "conv2d", "cross_entropy", "dropout", "elu",
    "embedding", "fold", "gelu", "hardtanh", "l1_loss", "layer_norm", "leaky_relu", "linear",
    "log_softmax", "logsigmoid", "max_pool2d", "mse_loss", "nll_loss", "normalize", "one_hot",
    "pad", "relu", "relu6", "sigmoid", "silu", "softmax", "softplus", "tanh", "unfold",
]


def _maybe_in_place(input, fn, inplace: bool, name: str):
    """``fn(input)``, or with ``inplace`` the input overwritten by it (Tensor's in-place rules)."""
    if not inplace:
        return fn(input)
    from ..tensor import _in_place

    return _in_place(input, lambda old, _: fn(old), None, None, name + "_")


# --- activations -------------------------------------------------------------------------------


def relu(input, inplace: bool = False):
    """max(x, 0)"""
    return _maybe_in_place(input, ops.relu, inplace, "relu")


def relu6(input, inplace: bool = False):
    """min(max(x, 0), 6), gradient 0 at 0 and 6 (hardtanh(x, 0, 6), as in PyTorch)"""
    return _maybe_in_place(input, lambda x: ops.hardtanh(x, 0.0, 6.0), inplace, "relu6")


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """min(max(x, min_val), max_val), gradient 0 at the bounds"""
    return _maybe_in_place(input, lambda x: ops.hardtanh(x, min_val, max_val), inplace,
                           "hardtanh")


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """x if x > 0 else negative_slope * x"""
    return _maybe_in_place(input, lambda x: ops.leaky_relu(x, negative_slope), inplace,
                           "leaky_relu")


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """x if x > 0 else alpha * (exp(x) - 1)"""
    return _maybe_in_place(input, lambda x: ops.elu(x, alpha), inplace, "elu")


def silu(input, inplace: bool = False):
    """x * sigmoid(x) (swish)"""
    return _maybe_in_place(input, ops.silu, inplace, "silu")


def gelu(input, approximate: str = "none"):
    """x * Φ(x): exact with erf, or ``approximate="tanh"``"""
    return ops.gelu(input, approximate)


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold"""
    return ops.softplus(input, beta, threshold)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), without overflow"""
    return -ops.softplus(-input)


def softmax(input, dim=None, _stacklevel: int = 3, dtype=None, *, axis=None):
    """exp(x) / sum(exp(x)) along ``dim`` (without one: the last dimension of an input of up to
    2 dimensions, where PyTorch's implicit choice is the same); ``dtype`` casts the input first"""
    x = input if dtype is None else ops.astype(input, dtype)
    return ops.softmax(x, axis=_dim(dim, axis, x, "softmax"))


def log_softmax(input, dim=None, _stacklevel: int = 3, dtype=None, *, axis=None):
    """x - logsumexp(x) along ``dim`` (without one: as ``softmax``)"""
    x = input if dtype is None else ops.astype(input, dtype)
    return ops.log_softmax(x, axis=_dim(dim, axis, x, "log_softmax"))


def _dim(dim, axis, x, op: str) -> int:
    if dim is not None and axis is not None and dim != axis:
        raise ArgumentError(f"{op}: got dim={dim} and axis={axis}; give one of them")
    if dim is None and axis is None:
        if getattr(x, "ndim", 0) > 2:  # PyTorch picks dim 0 (3-d) or 1 (more), deprecated
            raise ArgumentError(f"{op}: give dim= for an input of {x.ndim} dimensions (shape "
                                f"{x.shape}): PyTorch's implicit choice there is dim="
                                f"{0 if x.ndim == 3 else 1}, not the last one; dim=-1 is the "
                                "usual class dimension")
        return -1
    return dim if dim is not None else axis


# --- padding, normalization, dropout, embedding -------------------------------------------------


def pad(input, pad, mode: str = "constant", value=None):
    """Pad with a constant; ``pad`` is PyTorch's flat tuple, last dimension first:
    ``(left, right)``, ``(left, right, top, bottom)``, ..."""
    if mode != "constant":
        raise ArgumentError(f"pad: only mode='constant' is implemented, got mode={mode!r}")
    return ops.pad(input, pad, 0.0 if value is None else value)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalise over the last ``len(normalized_shape)`` dimensions to zero mean and unit
    variance (the biased variance, as PyTorch), then scale by ``weight`` and shift by ``bias``."""
    x = input
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if len(shape) > x.ndim or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ShapeError(
            f"layer_norm: normalized_shape {shape} must be the last dimension(s) of the input, "
            f"but the input has shape {tuple(x.shape)}; normalized_shape names the trailing "
            f"feature dimensions, e.g. normalized_shape={x.shape[-1] if x.ndim else 'D'} for "
            f"features of size {x.shape[-1] if x.ndim else 'D'} in the last dimension")
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


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Normalise each channel (dimension 1) over the batch and the spatial dimensions.

    In training the batch's statistics are used (the biased variance) and the running ones, if
    given, are updated in place without a gradient: ``running = (1 - momentum) running +
    momentum * batch``, with the unbiased variance, as PyTorch; otherwise the running statistics
    are used."""
    x = input
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of shape (N, C) or (N, C, ...), got "
                         f"{tuple(x.shape)}")
    C = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, C) + (1,) * (x.ndim - 2)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(np.shape(t)) != (C,):
            raise ShapeError(f"batch_norm: {name} must have shape ({C},) for an input with {C} "
                             f"channels in dimension 1 (shape {tuple(x.shape)}), got "
                             f"{tuple(np.shape(t))}")
    if training:
        n = x.size // C
        if n <= 1:
            raise ShapeError(f"batch_norm: training needs more than one value per channel, got "
                             f"input of shape {tuple(x.shape)}; use a batch of 2 or more, or "
                             "eval() mode")
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        with no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean.detach().reshape(C) * momentum)
            if running_var is not None:
                running_var.mul_(1 - momentum).add_(var.detach().reshape(C)
                                                    * (momentum * n / (n - 1)))
    else:
        if running_mean is None or running_var is None:
            raise ArgumentError("batch_norm: evaluation (training=False) needs running_mean and "
                                "running_var; pass training=True to use the batch's statistics")
        centered = x - _as_array(running_mean, x).reshape(shape)
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


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, rng=None):
    """Inverted dropout: zero each element with probability ``p`` and scale the others by
    1 / (1 - p), so the expected value is unchanged; the identity when not ``training``. The
    mask comes from ``rng`` (default: the library's generator)."""
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout: p is the probability of zeroing an element and must be in "
                            f"[0, 1], got {p}")
    if not training or p == 0.0:
        return input
    keep = get_rng(rng).random(input.shape) >= p
    factor = keep * np.asarray(0.0 if p == 1.0 else 1.0 / (1.0 - p), dtype=input.dtype)
    if inplace:
        return input.mul_(factor)
    return input * factor


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False):
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by integer indices of any
    shape: the result has shape input.shape + (embedding_dim,). Repeated indices add up their
    gradients; the row ``padding_idx`` gets none."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise ArgumentError("embedding: max_norm, scale_grad_by_freq and sparse are not "
                            "implemented; leave them at their defaults")
    idx = input._data if isinstance(input, TensorBase) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"embedding: indices must be integers, got dtype {idx.dtype} (shape "
                         f"{idx.shape}); convert them with .astype('int64')")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].flat[0]
        raise OutOfRangeError(f"embedding: index {bad} is out of range for a table of {n} rows "
                              f"(valid: 0..{n - 1}); is num_embeddings the vocabulary size "
                              "(the largest index + 1)?")
    rows = ops.getitem(weight, idx)
    if padding_idx is None:
        return rows
    padding_idx = padding_idx + n if padding_idx < 0 else padding_idx
    pads = (idx == padding_idx)[..., None]
    if not pads.any():
        return rows
    # the padding row's value, as a constant: no gradient reaches it
    return rows * ~pads + np.where(pads, weight._data[padding_idx], 0).astype(weight.dtype)


def one_hot(tensor, num_classes: int = -1):
    """Integer labels as one-hot rows (int64, as PyTorch); ``num_classes=-1``: the largest
    label + 1"""
    from ..data import one_hot as _one_hot
    from ..tensor import Tensor

    idx = tensor._data if isinstance(tensor, TensorBase) else np.asarray(tensor)
    return Tensor(_one_hot(idx, None if num_classes == -1 else num_classes, dtype=np.int64))


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12):
    """x / max(||x||_p, eps) along ``dim``"""
    norm = input.norm(p, dim=dim, keepdim=True)
    return input / ops.maximum(norm, eps)


# --- losses (PyTorch's argument order: weight comes third) --------------------------------------


def _reduction(reduction, size_average, reduce) -> str:
    """PyTorch's legacy size_average= / reduce= arguments as a reduction."""
    if size_average is None and reduce is None:
        return reduction
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100,
                  reduce=None, reduction: str = "mean", label_smoothing: float = 0.0):
    """Softmax cross-entropy of logits (N, C) or (N, C, d1, ...) against integer labels
    (N, d1, ...) or class probabilities of the logits' shape; see ``ops.cross_entropy``."""
    if isinstance(weight, str):  # this library's older positional form (input, target, reduction)
        weight, reduction = None, weight
    try:
        return ops.cross_entropy(input, target, _reduction(reduction, size_average, reduce),
                                 weight=weight, ignore_index=ignore_index,
                                 label_smoothing=label_smoothing)
    except ShapeError as e:
        raise ShapeError(str(e) + _classes_last_hint(input, target)) from None


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean"):
    """Negative log-likelihood of log-probabilities (N, C) or (N, C, d1, ...)"""
    if isinstance(weight, str):
        weight, reduction = None, weight
    try:
        return ops.nll_loss(input, target, _reduction(reduction, size_average, reduce),
                            weight=weight, ignore_index=ignore_index)
    except ShapeError as e:
        raise ShapeError(str(e) + _classes_last_hint(input, target)) from None


def _classes_last_hint(logits, target) -> str:
    """What to do when the classes are in the last dimension (a sequence model's (N, T, C))."""
    shape = tuple(getattr(logits, "shape", ()))
    labels = target._data if isinstance(target, TensorBase) else np.asarray(target)
    if len(shape) < 3 or labels.dtype.kind not in "iu" or labels.shape != shape[:-1]:
        return ""
    n = len(shape)
    perm = ", ".join(["0", str(n - 1)] + [str(i) for i in range(1, n - 1)])
    return (f"; the classes look to be in the last dimension: move them to dimension 1 with "
            f"logits.permute({perm}), or flatten both: logits.reshape(-1, {shape[-1]}) and "
            "labels.reshape(-1)")


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """(input - target)^2, averaged (or summed) over every element"""
    if isinstance(size_average, str):
        size_average, reduction = None, size_average
    return losses.mse_loss(input, target, _reduction(reduction, size_average, reduce))


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """|input - target|, averaged (or summed) over every element"""
    if isinstance(size_average, str):
        size_average, reduction = None, size_average
    return losses.l1_loss(input, target, _reduction(reduction, size_average, reduce))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """BCE of probabilities in [0, 1]; prefer ``binary_cross_entropy_with_logits``"""
    if isinstance(weight, str):
        weight, reduction = None, weight
    return ops.binary_cross_entropy(input, target, weight,
                                    _reduction(reduction, size_average, reduce))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None):
    """BCE of sigmoid(input), stable for any input; ``pos_weight`` weighs the positive term"""
    if isinstance(weight, str):
        weight, reduction = None, weight
    return ops.binary_cross_entropy_with_logits(
        input, target, weight, _reduction(reduction, size_average, reduce), pos_weight)

