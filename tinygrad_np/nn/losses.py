"""Losses and the accuracy metric.

``cross_entropy`` is the fused primitive of ``ops``; ``nll_loss`` and ``mse_loss`` are
composites of primitives; the two binary cross-entropies are fused primitives defined here
(forward and backward side by side, as in ``ops.py``) because their composites are unstable:
``log(sigmoid(z))`` is -inf for z = -1000, and ``log(p)`` at p = 0 gives a NaN gradient.
Targets are constants: no gradient flows into them.
"""

from __future__ import annotations

import numpy as np

from ..errors import DTypeError, OutOfRangeError, ShapeError
from ..ops import _targets_as_probs, as_tensor
from ..ops import cross_entropy as _cross_entropy
from ..tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def cross_entropy(logits, targets, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of (m, C) logits against integer labels (m,) or one-hot / soft rows
    (m, C), with the fused gradient (softmax - Y) / m. Takes logits, as PyTorch does."""
    return _cross_entropy(as_tensor(logits), targets, reduction)


def nll_loss(log_probs, targets, reduction: str = "mean") -> Tensor:
    """-log_probs[i, label_i] per row (integer labels), or -sum(Y * log_probs) (one-hot rows).

    ``nll_loss(x.log_softmax(axis=1), y)`` equals ``cross_entropy(x, y)``, gradient included.
    """
    _check_reduction(reduction, "nll_loss")
    log_probs = as_tensor(log_probs)
    labels, probs = _targets_as_probs(log_probs, targets, "nll_loss")
    if probs is None:
        per_row = -log_probs[np.arange(len(labels)), labels]
    else:
        per_row = -(log_probs * probs).sum(axis=1)
    return _reduce_tensor(per_row, reduction)


def mse_loss(prediction, target, reduction: str = "mean") -> Tensor:
    """(prediction - target)^2, averaged (or summed) over every element.

    The shapes must be equal: (m, 1) against (m,) would silently broadcast to (m, m).
    """
    _check_reduction(reduction, "mse_loss")
    prediction, target = as_tensor(prediction), as_tensor(target, prediction)
    if prediction.shape != target.shape:
        raise ShapeError(f"mse_loss: prediction of shape {prediction.shape} and target of shape "
                         f"{target.shape} differ; reshape one (e.g. y.reshape(-1, 1)) so they "
                         "match instead of broadcasting")
    return _reduce_tensor((prediction - target) ** 2, reduction)


def _reduce_tensor(per: Tensor, reduction: str) -> Tensor:
    return {"mean": per.mean, "sum": per.sum, "none": lambda: per}[reduction]()


# --- fused binary cross-entropies -------------------------------------------------------------


def _binary_targets(x: Tensor, targets, op: str) -> np.ndarray:
    Y = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if Y.shape != x.shape:
        raise ShapeError(f"{op}: input of shape {x.shape} and targets of shape {Y.shape} differ; "
                         "give one target in [0, 1] per input element")
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}: input must be floating, got dtype {x.dtype} (shape {x.shape})")
    return Y.astype(x.dtype, copy=False)


def _reduce(per: np.ndarray, reduction: str):
    """The reduced loss, and the factor that maps its gradient g back to every element."""
    if reduction == "mean":
        n = max(per.size, 1)
        return per.sum() / n, lambda g: g / n
    if reduction == "sum":
        return per.sum(), lambda g: g
    return per, lambda g: g


def binary_cross_entropy(probs, targets, reduction: str = "mean") -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) per element, for probabilities p in [0, 1].

    As PyTorch: each log is clamped at -100 so p = 0 or 1 gives a finite loss, and the gradient
    (p - y) / max(p (1 - p), 1e-12) stays finite. Prefer ``binary_cross_entropy_with_logits``.
    """
    _check_reduction(reduction, "binary_cross_entropy")
    p = as_tensor(probs)
    Y = _binary_targets(p, targets, "binary_cross_entropy")
    P = p.data
    if P.size and (P.min() < 0 or P.max() > 1):
        raise OutOfRangeError(f"binary_cross_entropy: inputs must be probabilities in [0, 1], got "
                              f"values in [{P.min():.4g}, {P.max():.4g}] (shape {P.shape}); for "
                              "raw scores use binary_cross_entropy_with_logits")
    with np.errstate(divide="ignore"):
        per = -(Y * np.maximum(np.log(P), -100) + (1 - Y) * np.maximum(np.log1p(-P), -100))
    y, scale = _reduce(per, reduction)

    def backward(g):
        return (scale(g) * (P - Y) / np.maximum(P * (1 - P), 1e-12),)

    return Tensor._make(y, (p,), backward, "binary_cross_entropy", {"reduction": reduction})


def binary_cross_entropy_with_logits(logits, targets, reduction: str = "mean") -> Tensor:
    """BCE of sigmoid(z), computed as max(z, 0) - z y + log(1 + exp(-|z|)); d/dz = sigmoid(z) - y.

    Stable for any z: no exp overflows and no log of 0, so |z| = 1000 gives the exact loss and
    gradient.
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    z = as_tensor(logits)
    Y = _binary_targets(z, targets, "binary_cross_entropy_with_logits")
    Z = z.data
    per = np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))
    y, scale = _reduce(per, reduction)

    def backward(g):
        return (scale(g) * (0.5 * (1 + np.tanh(0.5 * Z)) - Y),)  # sigmoid without overflow

    return Tensor._make(y, (z,), backward, "binary_cross_entropy_with_logits",
                        {"reduction": reduction})


# --- metrics ----------------------------------------------------------------------------------


def accuracy(logits, targets) -> float:
    """Fraction of rows whose largest logit is the target class (integer labels or one-hot)."""
    Z = logits.data if isinstance(logits, Tensor) else np.asarray(logits)
    T = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if Z.ndim != 2:
        raise ShapeError(f"accuracy: logits must have shape (batch, classes), got {Z.shape}")
    labels = T.argmax(axis=1) if T.ndim == 2 else T
    if T.shape not in ((len(Z),), Z.shape):
        raise ShapeError(f"accuracy: targets of shape {T.shape} do not fit logits of shape "
                         f"{Z.shape}; give labels of shape ({len(Z)},) or one-hot rows {Z.shape}")
    return float((Z.argmax(axis=1) == labels).mean()) if len(Z) else 0.0
