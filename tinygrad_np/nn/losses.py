"""Losses and the accuracy metric.

The cross-entropies are fused primitives of ``ops`` (forward and backward side by side there:
their composites are unstable, ``log(sigmoid(z))`` is -inf for z = -1000 and ``log(p)`` at
p = 0 gives a NaN gradient); ``mse_loss`` is a composite. Targets are constants: no gradient
flows into them. Arguments and defaults are PyTorch's (``torch.nn.functional``).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..autograd.function import TensorBase
from ..errors import ShapeError
from ..ops import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, nll_loss
from ..tensor import Tensor

__all__ = ["accuracy", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "cross_entropy", "l1_loss", "mse_loss", "nll_loss"]


def _as_tensor(x, like=None) -> Tensor:
    if isinstance(x, TensorBase):
        return x
    dtype = like.dtype if like is not None and like.dtype.kind == "f" else None
    return Tensor(np.asarray(x, dtype=dtype))


def mse_loss(prediction, target, reduction: str = "mean") -> Tensor:
    """(prediction - target)^2, averaged (or summed) over every element.

    The shapes must be equal: (m, 1) against (m,) would silently broadcast to (m, m).
    """
    return _pointwise("mse_loss", prediction, target, reduction, lambda d: d * d)


def l1_loss(prediction, target, reduction: str = "mean") -> Tensor:
    """|prediction - target|, averaged (or summed) over every element"""
    return _pointwise("l1_loss", prediction, target, reduction, ops.abs)


def _pointwise(op, prediction, target, reduction, fn) -> Tensor:
    ops._check_reduction(reduction, op)
    prediction = _as_tensor(prediction)
    target = _as_tensor(target, prediction)
    if prediction.shape != target.shape:
        raise ShapeError(f"{op}: prediction of shape {prediction.shape} and target of shape "
                         f"{target.shape} differ; reshape one (e.g. y.reshape(-1, 1)) so they "
                         "match instead of broadcasting")
    per = fn(prediction - target)
    return {"mean": per.mean, "sum": per.sum, "none": lambda: per}[reduction]()


def accuracy(logits, targets) -> float:
    """Fraction of rows whose largest logit is the target class (integer labels or one-hot)."""
    Z = logits._data if isinstance(logits, TensorBase) else np.asarray(logits)
    T = targets._data if isinstance(targets, TensorBase) else np.asarray(targets)
    if Z.ndim != 2:
        raise ShapeError(f"accuracy: logits must have shape (batch, classes), got {Z.shape}")
    labels = T.argmax(axis=1) if T.ndim == 2 else T
    if T.shape not in ((len(Z),), Z.shape):
        raise ShapeError(f"accuracy: targets of shape {T.shape} do not fit logits of shape "
                         f"{Z.shape}; give labels of shape ({len(Z)},) or one-hot rows {Z.shape}")
    return float((Z.argmax(axis=1) == labels).mean()) if len(Z) else 0.0
