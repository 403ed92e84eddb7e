"""nn.utils: gradient clipping, as torch.nn.utils.

``clip_grad_norm_`` and ``clip_grad_value_`` change each parameter's ``.grad`` in place (the
write is noted, so a graph that saved a gradient refuses a later backward through it) and
skip parameters whose ``.grad`` is None. Call them between ``loss.backward()`` and
``opt.step()``.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import note_writes
from ..errors import ArgumentError, OptimizerError
from ..tensor import Tensor


def _grads(parameters, fn: str) -> list[Tensor]:
    """The gradient tensors of ``parameters`` (a Tensor, Tensors, or (name, Tensor) pairs)."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    try:
        items = list(parameters)
    except TypeError:
        raise ArgumentError(f"{fn}: parameters must be a Tensor or an iterable of Tensors, got "
                            f"{type(parameters).__name__}; pass model.parameters()") from None
    grads = []
    for i, p in enumerate(items):
        if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
            p = p[1]
        if not isinstance(p, Tensor):
            raise ArgumentError(f"{fn}: parameter {i} is a {type(p).__name__}, not a Tensor; "
                                "pass model.parameters()")
        if p._grad is not None:
            grads.append(p._grad)
    return grads


def _number(fn: str, key: str, value) -> float:
    if isinstance(value, str) and value == "inf":
        return math.inf
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                     np.floating)):
        raise ArgumentError(f"{fn}: {key} must be a number, got {value!r}")
    return float(value)


def _norm(a: np.ndarray, p: float) -> float:
    """The p-norm of all elements of ``a``, as torch.linalg.vector_norm."""
    if a.size == 0:  # the identity of the reduction
        return math.inf if p == -math.inf else 0.0
    if p == 2.0:
        flat = a.reshape(-1)
        with np.errstate(over="ignore", invalid="ignore"):  # looked at closer below
            total = float(np.dot(flat, flat))
        if not math.isfinite(total) and np.isfinite(a).all():  # the sum of squares overflowed
            total = float(np.dot(flat.astype(np.float64), flat.astype(np.float64)))
        return math.sqrt(total)
    mag = np.abs(a)
    if p == math.inf:
        return float(mag.max())
    if p == -math.inf:
        return float(mag.min())
    if p == 0.0:
        return float(np.count_nonzero(a))
    return float(np.sum(mag.astype(np.float64) ** p) ** (1.0 / p))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale the gradients together so that their total norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of all gradients as one vector (``float("inf")``
    or ``"inf"``: the largest magnitude); every gradient is multiplied by
    ``min(1, max_norm / (total + 1e-6))``, as PyTorch does (but a float32 sum of squares that
    overflows is summed again in float64: PyTorch returns inf there). Returns the total norm before
    clipping, as a 0-d Tensor. A NaN or Inf total raises ``OptimizerError`` with
    ``error_if_nonfinite=True``; otherwise the gradients are scaled by it, as in PyTorch (the
    optimizer then refuses the non-finite gradients). ``foreach`` is accepted and ignored.
    """
    fn = "clip_grad_norm_"
    max_norm = _number(fn, "max_norm", max_norm)
    if not max_norm >= 0:  # NaN too; a negative one would flip the gradients' sign
        raise ArgumentError(f"{fn}: max_norm must be >= 0 (the largest total norm to keep), got "
                            f"{max_norm}")
    p = _number(fn, "norm_type", norm_type)
    grads = _grads(parameters, fn)
    if not grads:
        return Tensor(np.array(0.0, np.float32))
    norms = [_norm(g._data, p) for g in grads]
    total = _norm(np.array(norms), p)
    dtype = np.result_type(*(g._data.dtype for g in grads))
    if error_if_nonfinite and not math.isfinite(total):
        raise OptimizerError(
            f"{fn}: the total {norm_type}-norm of the gradients is {total}, so they cannot be "
            "clipped; find where the NaN or Inf comes from (tinygrad_np.detect_anomaly() names "
            "the op), or pass error_if_nonfinite=False to scale by it anyway")
    coef = min(max_norm / (total + 1e-6), 1.0) if not math.isnan(total) else math.nan
    if coef != 1.0:  # multiplying by 1.0 changes nothing
        _scale(grads, lambda a: np.multiply(a, coef, out=a, casting="unsafe"))
    return Tensor(np.array(total, dtype))


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``, in place."""
    fn = "clip_grad_value_"
    v = _number(fn, "clip_value", clip_value)
    if not v >= 0:
        raise ArgumentError(f"{fn}: clip_value must be >= 0 (gradients are clamped into "
                            f"[-clip_value, clip_value]), got {clip_value!r}")
    _scale(_grads(parameters, fn), lambda a: np.clip(a, -v, v, out=a))


def _scale(grads: list[Tensor], fn) -> None:
    with np.errstate(invalid="ignore"):  # inf * 0 when the total norm is inf: NaN, as torch
        for g in grads:
            if not g._data.flags.writeable:  # an array the user assigned read-only: copy it
                g._data = g._data.copy()
            fn(g._data)
    note_writes(grads)
