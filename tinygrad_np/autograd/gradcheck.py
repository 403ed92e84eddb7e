"""Central-difference gradient checking, for users' tests as much as for ours.

``gradcheck`` compares autodiff's first derivatives with central differences; ``gradgradcheck``
does the same for the derivatives of the gradient itself (``create_graph=True``), which is how
every primitive's second order is proven.
"""

from __future__ import annotations

import numpy as np

from ..errors import ArgumentError, DTypeError, GradcheckError
from .function import TensorBase, new_tensor


def _inputs(inputs) -> tuple:
    """``gradcheck(fn, a, b)`` or PyTorch's ``gradcheck(fn, (a, b))``."""
    if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
        return tuple(inputs[0])
    return tuple(inputs)


def _outputs(out) -> list:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, TensorBase)]


def gradcheck(fn, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, raise_exception: bool = True) -> bool:
    """Check autodiff's gradient of ``fn(*inputs)`` against central differences, in float64.

    ``inputs`` (given as arguments, or as one tuple as in PyTorch) that are Tensors with
    ``requires_grad=True`` are checked; each must be float64 (float32 differences are too
    coarse to judge). A scalar output is differentiated as it is; a non-scalar output (or a
    tuple of outputs) is reduced with fixed random weights ``sum(r * out)`` (``seed``), which
    checks the whole vector-Jacobian product. Returns True, or raises ``GradcheckError`` naming
    the input, the element and both values (``raise_exception=False``: returns False).
    Leaves every input's ``data`` and ``grad`` as it found them.
    """
    inputs = _inputs(inputs)
    checked = [(i, t) for i, t in enumerate(inputs) if isinstance(t, TensorBase)
               and t._requires_grad]
    if not checked:
        raise ArgumentError("gradcheck: no input is a Tensor with requires_grad=True, so there "
                            "is nothing to check; pass the inputs to differentiate as "
                            "Tensor(x, dtype='float64', requires_grad=True)")
    for i, t in checked:
        if t._data.dtype != np.float64:
            raise DTypeError(
                f"gradcheck: input {i} has dtype {t._data.dtype} (shape {t.shape}); gradcheck "
                "needs float64, since float32 central differences are too coarse. Build it "
                "with Tensor(x, dtype='float64', requires_grad=True)"
            )
    from . import grad

    outs = _outputs(fn(*inputs))
    if not outs:
        raise ArgumentError("gradcheck: fn returned no Tensor to differentiate")
    rng = np.random.default_rng(seed)
    weights = [np.ones(o.shape) if o._data.size == 1 and len(outs) == 1 else
               rng.standard_normal(o.shape) for o in outs]

    def projected() -> float:  # grad mode stays as it is: fn may differentiate inside
        return float(sum((o._data.astype(np.float64) * w).sum()
                         for o, w in zip(_outputs(fn(*inputs)), weights)))

    live = [(o, w) for o, w in zip(outs, weights) if o._requires_grad]
    analytic = [np.zeros(t.shape) for _, t in checked]
    if live:
        found = grad([o for o, _ in live], [t for _, t in checked],
                     [new_tensor(type(o), w.astype(o._data.dtype), None) for o, w in live],
                     allow_unused=True)
        analytic = [np.zeros(t.shape) if g is None else g._data for g, (_, t) in
                    zip(found, checked)]
    for (i, t), a in zip(checked, analytic):
        data = t._data
        for idx in np.ndindex(data.shape):  # perturb the input in place, one element at a time
            orig = data[idx]
            data[idx] = orig + eps
            plus = projected()
            data[idx] = orig - eps
            minus = projected()
            data[idx] = orig
            numeric = (plus - minus) / (2 * eps)
            analytic_k = float(a[idx])
            if not abs(analytic_k - numeric) <= atol + rtol * abs(numeric):
                if not raise_exception:
                    return False
                name = f" ({t.name})" if t.name else ""
                how = "" if len(outs) == 1 and outs[0]._data.size == 1 else (
                    " of sum(r * output), r fixed random weights,")
                raise GradcheckError(
                    f"gradcheck: input {i}{name} of shape {t.shape}, element {idx}: analytic "
                    f"gradient{how} {analytic_k:.8g} but numeric {numeric:.8g} (|diff| "
                    f"{abs(analytic_k - numeric):.3g} > atol {atol} + rtol {rtol} * |numeric|)"
                )
    return True


def gradgradcheck(fn, *inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, seed: int = 0, raise_exception: bool = True) -> bool:
    """Check second derivatives: the gradient of ``fn`` (computed with ``create_graph=True``)
    is itself checked by ``gradcheck``, with respect to the inputs and to ``grad_outputs``
    (random float64 weights by default), as ``torch.autograd.gradgradcheck``."""
    from . import grad

    inputs = _inputs(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, TensorBase) and t._requires_grad]
    outs = _outputs(fn(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = [new_tensor(type(o), rng.standard_normal(o.shape), None) for o in outs]
    elif isinstance(grad_outputs, TensorBase):
        grad_outputs = [grad_outputs]
    grad_outputs = [g.detach().requires_grad_(True) for g in grad_outputs]
    n = len(inputs)

    def first_derivatives(*args):
        xs, vs = args[:n], args[n:]
        ys = _outputs(fn(*xs))
        pairs = [(y, v) for y, v in zip(ys, vs) if y._requires_grad]
        if not pairs:
            return tuple(new_tensor(type(xs[i]), np.zeros(xs[i].shape), None) for i in diff)
        gs = grad([y for y, _ in pairs], [xs[i] for i in diff], [v for _, v in pairs],
                  create_graph=True, allow_unused=True)
        return tuple(new_tensor(type(xs[i]), np.zeros(xs[i].shape), None) if g is None else g
                     for g, i in zip(gs, diff))

    return gradcheck(first_derivatives, *inputs, *grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     seed=seed, raise_exception=raise_exception)
