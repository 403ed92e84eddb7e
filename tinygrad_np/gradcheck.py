"""Central-difference gradient checking, for users' tests as much as for ours."""

from __future__ import annotations

import numpy as np

from .errors import DTypeError, GradcheckError
from .tensor import Tensor, no_grad


def gradcheck(fn, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0) -> bool:
    """Check autodiff's gradient of ``fn(*inputs)`` against central differences, in float64.

    ``inputs`` that are Tensors with ``requires_grad=True`` are checked; each must be float64
    (float32 differences are too coarse to judge). A non-scalar output is reduced with a fixed
    random projection ``sum(r * fn(...))``, which checks the whole vector-Jacobian product.
    Returns True, or raises ``GradcheckError`` naming the input, the element, and both values.
    Leaves every input's ``data`` and ``grad`` as it found them.
    """
    checked = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True, so there is "
                         "nothing to check; pass the inputs to differentiate as "
                         "Tensor(x, dtype='float64', requires_grad=True)")
    for i, t in checked:
        if t.dtype != np.float64:
            raise DTypeError(
                f"gradcheck: input {i} has dtype {t.dtype} (shape {t.shape}); gradcheck needs "
                "float64, since float32 central differences are too coarse. Build it with "
                "Tensor(x, dtype='float64', requires_grad=True)"
            )

    out = fn(*inputs)
    r = np.random.default_rng(seed).standard_normal(out.shape)

    def projected() -> float:
        with no_grad():
            return float((fn(*inputs).data * r).sum())

    saved = [t.grad for _, t in checked]
    try:
        for _, t in checked:
            t.grad = None
        out.backward(r)
        analytic = [np.zeros_like(t.data) if t.grad is None else t.grad for _, t in checked]
    finally:
        for (_, t), g in zip(checked, saved):
            t.grad = g

    for (i, t), a in zip(checked, analytic):
        for idx in np.ndindex(t.shape):  # perturb the input in place, one element at a time
            orig = t.data[idx]
            t.data[idx] = orig + eps
            plus = projected()
            t.data[idx] = orig - eps
            minus = projected()
            t.data[idx] = orig
            numeric = (plus - minus) / (2 * eps)
            analytic_k = a[idx]
            if not abs(analytic_k - numeric) <= atol + rtol * abs(numeric):
                name = f" ({t.name})" if t.name else ""
                raise GradcheckError(
                    f"gradcheck: input {i}{name} of shape {t.shape}, element {idx}: analytic "
                    f"gradient {analytic_k:.8g} but numeric {numeric:.8g} (|diff| "
                    f"{abs(analytic_k - numeric):.3g} > atol {atol} + rtol {rtol} * |numeric|)"
                )
    return True
