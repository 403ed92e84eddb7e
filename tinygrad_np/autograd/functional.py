"""Higher-order helpers with ``torch.autograd.functional``'s signatures and return values.

``func`` takes one Tensor or a tuple of them (``inputs``, in the same form) and returns a
Tensor or a tuple of them. Each helper works on detached copies of ``inputs`` that require
grad, so the inputs given are never changed and need not require grad themselves.

- ``vjp(func, inputs, v)`` -> (outputs, vᵀ J)          one backward pass
- ``jvp(func, inputs, v)`` -> (outputs, J v)           the double-vjp trick (two passes)
- ``jacobian(func, inputs)``                           one vjp per output element
- ``hessian(func, inputs)``                            the jacobian of the gradient
- ``hvp(func, inputs, v)`` -> (output, H v); ``vhp``   (H is symmetric: the same values)
"""

from __future__ import annotations

import numpy as np

from ..errors import ArgumentError, GraphError
from .function import TensorBase, new_tensor


def _tuple(x, what: str) -> tuple[tuple, bool]:
    if isinstance(x, TensorBase):
        return (x,), False
    if isinstance(x, (tuple, list)) and all(isinstance(t, TensorBase) for t in x):
        return tuple(x), True
    raise ArgumentError(f"{what} must be a Tensor or a tuple of Tensors, got {type(x).__name__}")


def _fresh(inputs: tuple) -> tuple:
    return tuple(new_tensor(type(t), t._data.copy(), None).requires_grad_(True) for t in inputs)


def _grads(outputs, inputs, v, create_graph: bool, strict: bool, what: str) -> tuple:
    from . import grad

    live = [(o, g) for o, g in zip(outputs, v) if o._requires_grad]
    if not live:
        if strict:
            raise GraphError(f"{what}: the output does not depend on the inputs (strict=True)")
        return tuple(None for _ in inputs)
    found = grad([o for o, _ in live], list(inputs), [g for _, g in live],
                 create_graph=create_graph, retain_graph=True, allow_unused=True)
    if strict and any(g is None for g in found):
        raise GraphError(f"{what}: an output does not depend on input "
                         f"{next(k for k, g in enumerate(found) if g is None)} (strict=True)")
    return found


def _zeros_for(grads, inputs) -> tuple:
    return tuple(new_tensor(type(t), np.zeros_like(t._data), None) if g is None else g
                 for g, t in zip(grads, inputs))


def _detach(t, create_graph: bool):
    return t if create_graph else t.detach()


def _v_list(v, outputs: tuple, what: str) -> list:
    if v is None:
        if len(outputs) != 1 or outputs[0]._data.size != 1:
            raise ArgumentError(f"{what}: v is needed unless the function returns one scalar")
        return [new_tensor(type(outputs[0]), np.ones_like(outputs[0]._data), None)]
    vs, _ = _tuple(v, f"{what}: v")
    if len(vs) != len(outputs) or any(a.shape != o.shape for a, o in zip(vs, outputs)):
        raise ArgumentError(f"{what}: v must match the outputs' shapes "
                            f"{[o.shape for o in outputs]}, got {[a.shape for a in vs]}")
    return list(vs)


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ · ∂func/∂inputs)"""
    xs, was_tuple = _tuple(inputs, "vjp: inputs")
    xs = _fresh(xs)
    out = func(*xs)
    outs, out_tuple = _tuple(out, "vjp: func's output")
    vs = _v_list(v, outs, "vjp")
    found = _zeros_for(_grads(outs, xs, vs, create_graph, strict, "vjp"), xs)
    result = tuple(_detach(g, create_graph) for g in found)
    shown = tuple(_detach(o, create_graph) for o in outs)
    return (shown if out_tuple else shown[0]), (result if was_tuple else result[0])


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), ∂func/∂inputs · v), by differentiating a vjp (linear in its u) again"""
    from . import grad

    xs, was_tuple = _tuple(inputs, "jvp: inputs")
    xs = _fresh(xs)
    outs, out_tuple = _tuple(func(*xs), "jvp: func's output")
    if v is None:
        if len(xs) != 1 or xs[0]._data.size != 1:
            raise ArgumentError("jvp: v is needed unless the input is one scalar")
        vs = [new_tensor(type(xs[0]), np.ones_like(xs[0]._data), None)]
    else:
        vs, _ = _tuple(v, "jvp: v")
        if len(vs) != len(xs) or any(a.shape != x.shape for a, x in zip(vs, xs)):
            raise ArgumentError("jvp: v must match the inputs' shapes")
    us = [new_tensor(type(o), np.zeros_like(o._data), None).requires_grad_(True) for o in outs]
    g_u = _zeros_for(_grads(outs, xs, us, True, strict, "jvp"), xs)  # uᵀ J, linear in u
    pairs = [(g, a) for g, a in zip(g_u, vs) if g._requires_grad]
    if pairs:
        found = grad([g for g, _ in pairs], us, [a for _, a in pairs],
                     create_graph=create_graph, allow_unused=True)
    else:
        found = [None] * len(us)
    result = tuple(_detach(r, create_graph) for r in _zeros_for(found, us))
    shown = tuple(_detach(o, create_graph) for o in outs)
    return (shown if out_tuple else shown[0]), (result if out_tuple else result[0])


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """∂func/∂inputs: for one input and one output a Tensor of shape out.shape + in.shape;
    tuples nest as in PyTorch (``J[i][j]`` for output i and input j)"""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ArgumentError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got "
                            f"{strategy!r}")
    from ..ops import stack

    xs, was_tuple = _tuple(inputs, "jacobian: inputs")
    xs = _fresh(xs)
    outs, out_tuple = _tuple(func(*xs), "jacobian: func's output")
    rows = []
    for o in outs:
        per_input = [[] for _ in xs]
        for idx in np.ndindex(o.shape):
            e = np.zeros(o.shape, dtype=o._data.dtype)
            e[idx] = 1
            seed = new_tensor(type(o), e, None)
            found = _grads([o], xs, [seed], create_graph, strict, "jacobian") \
                if o._requires_grad else tuple(None for _ in xs)
            for k, g in enumerate(_zeros_for(found, xs)):
                per_input[k].append(g)
        blocks = []
        for k, x in enumerate(xs):
            parts = per_input[k]
            J = stack(parts, axis=0).reshape(o.shape + x.shape) if parts else new_tensor(
                type(x), np.zeros(o.shape + x.shape, dtype=x._data.dtype), None)
            blocks.append(_detach(J, create_graph))
        rows.append(tuple(blocks) if was_tuple else blocks[0])
    return tuple(rows) if out_tuple else rows[0]


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The second derivatives of a scalar ``func``: shape in.shape + in.shape for one input,
    ``H[i][j]`` for a tuple"""
    xs, was_tuple = _tuple(inputs, "hessian: inputs")

    def gradient(*ys):
        out = func(*ys)
        if not isinstance(out, TensorBase) or out._data.size != 1:
            raise ArgumentError("hessian: func must return a single scalar Tensor")
        found = _zeros_for(_grads([out], ys, [new_tensor(type(out), np.ones_like(out._data),
                                                        None)], True, strict, "hessian"), ys)
        return found if was_tuple else found[0]

    return jacobian(gradient, xs if was_tuple else xs[0], create_graph=create_graph,
                    strict=strict)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H · v) for a scalar ``func``, by one double backward"""
    from . import grad

    xs, was_tuple = _tuple(inputs, "hvp: inputs")
    xs = _fresh(xs)
    out = func(*xs)
    if not isinstance(out, TensorBase) or out._data.size != 1:
        raise ArgumentError("hvp: func must return a single scalar Tensor")
    if v is None:
        if len(xs) != 1 or xs[0]._data.size != 1:
            raise ArgumentError("hvp: v is needed unless the input is one scalar")
        vs = [new_tensor(type(xs[0]), np.ones_like(xs[0]._data), None)]
    else:
        vs, _ = _tuple(v, "hvp: v")
        if len(vs) != len(xs) or any(a.shape != x.shape for a, x in zip(vs, xs)):
            raise ArgumentError("hvp: v must match the inputs' shapes")
    g = _zeros_for(_grads([out], xs, [new_tensor(type(out), np.ones_like(out._data), None)],
                          True, strict, "hvp"), xs)
    pairs = [(gi, vi) for gi, vi in zip(g, vs) if gi._requires_grad]
    found = (grad([p for p, _ in pairs], list(xs), [q for _, q in pairs],
                  create_graph=create_graph, allow_unused=True) if pairs else [None] * len(xs))
    result = tuple(_detach(r, create_graph) for r in _zeros_for(found, xs))
    return _detach(out, create_graph), (result if was_tuple else result[0])


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ · H); the Hessian is symmetric, so this equals ``hvp``"""
    return hvp(func, inputs, v, create_graph, strict)
