"""Higher-order helpers with ``torch.autograd.functional``'s signatures, return values and
``create_graph`` / ``strict`` semantics.

``func`` takes one Tensor or a tuple of them (``inputs``, in the same form) and returns a
Tensor or a tuple of them. As in PyTorch, each helper calls ``func`` on new tensor objects
(so a tensor ``func`` captures from outside is told apart from the one passed in):

- ``create_graph=False``: detached inputs that require grad; the results are detached too.
- ``create_graph=True``: an input that requires grad is passed as a view of itself, so the
  results stay differentiable with respect to the caller's input (``J.sum().backward()`` fills
  ``x.grad``; a ``jacobian`` of a ``jacobian`` is the Hessian).
- ``strict=True``: raise a ``GraphError`` when an output, or a derivative, does not depend on
  an input, instead of giving zeros.

- ``vjp(func, inputs, v)`` -> (outputs, vᵀ J)          one backward pass
- ``jvp(func, inputs, v)`` -> (outputs, J v)           the double-backward trick
- ``jacobian(func, inputs)``                           one vjp per output element
- ``hessian(func, inputs)``                            the jacobian of the jacobian
- ``hvp(func, inputs, v)`` -> (output, H v)            double backward, then the trick
- ``vhp(func, inputs, v)`` -> (output, vᵀ H)           double backward
"""

from __future__ import annotations

import numpy as np

from .._modes import enable_grad, is_grad_enabled, set_grad_enabled
from ..errors import ArgumentError, GraphError
from .function import TensorBase, new_tensor


def _tuple(x, what: str) -> tuple[tuple, bool]:
    if isinstance(x, TensorBase):
        return (x,), False
    if isinstance(x, (tuple, list)) and all(isinstance(t, TensorBase) for t in x):
        return tuple(x), True
    raise ArgumentError(f"{what} must be a Tensor or a tuple of Tensors, got {type(x).__name__}")


def _untuple(res, was_tuple: bool):
    return res if was_tuple else res[0]


def _preprocess(inputs: tuple, create_graph: bool, need_graph: bool) -> tuple:
    """New tensor objects for ``func``: a differentiable view of an input that requires grad
    when the caller wants a graph back to it, else a detached one"""
    return tuple(t.view_as(t) if create_graph and t._requires_grad
                 else t.detach().requires_grad_(need_graph) for t in inputs)


def _postprocess(results: tuple, create_graph: bool) -> tuple:
    """Results without history unless the caller asked for it (tuples nest for jacobian)"""
    if results and isinstance(results[0], TensorBase):
        return results if create_graph else tuple(r.detach() for r in results)
    return tuple(_postprocess(r, create_graph) for r in results)


_STRICT = " This is not allowed with strict=True; pass strict=False to get zeros instead."


def _check_outputs(outputs: tuple, strict: bool) -> None:
    if not strict:
        return
    for i, o in enumerate(outputs):
        if not o._requires_grad:
            raise GraphError(
                f"output {i} of the function does not require grad: it was not computed from "
                "the inputs with differentiable ops (or was computed under no_grad() or from "
                ".detach())." + _STRICT)


def _check_derivatives(grads: tuple, what: str, strict: bool) -> None:
    """``what``: 'grad_inputs' (the gradient, in jvp) or 'jacobian' (in hessian, hvp, vhp)"""
    if not strict:
        return
    for i, g in enumerate(grads):
        if g is None:
            raise GraphError(f"the output of the function does not depend on input {i}."
                             + _STRICT)
        if not g._requires_grad:
            if what == "jacobian":
                raise GraphError(
                    f"while computing second derivatives, the jacobian of the function with "
                    f"respect to input {i} does not depend on the inputs (the function is "
                    "linear in it, for example), so its Hessian is not defined by the graph."
                    + _STRICT)
            raise GraphError(f"the gradient with respect to input {i} does not depend on the "
                             "function's inputs." + _STRICT)


def _grad(outputs, inputs, grad_outputs, create_graph: bool, retain_graph=None) -> tuple:
    """``autograd.grad`` that skips outputs that are None or do not require grad (None for
    every input when none is left), and gives None for an unused input"""
    from . import grad

    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o._requires_grad]
    if not live:
        return (None,) * len(inputs)
    return grad([o for o, _ in live], list(inputs), [g for _, g in live],
                retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)


_ZERO_MEANING = {
    "back": "the output of the function does not depend on input {i}",
    "back_trick": ("the gradient with respect to the inputs does not depend on entry {i} of "
                   "the output gradients used by the double-backward trick (jvp)"),
    "double_back": "the jacobian of the function does not depend on input {i}",
    "double_back_trick": ("the Hessian of the function does not depend on entry {i} of the "
                          "jacobian's gradients used by the double-backward trick (hvp)"),
}


def _fill_in_zeros(grads: tuple, refs: tuple, strict: bool, create_graph: bool,
                   stage: str) -> tuple:
    res = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise GraphError(_ZERO_MEANING[stage].format(i=i) + "." + _STRICT)
            g = new_tensor(type(refs[i]), np.zeros_like(refs[i]._data), None)
        elif strict and create_graph and not g._requires_grad:
            what = "Hessian" if stage.startswith("double") else "jacobian"
            raise GraphError(f"the {what} of the function does not depend on input {i}, so "
                             "with create_graph=True it has no graph to differentiate."
                             + _STRICT)
        res.append(g)
    return tuple(res)


def _check_v(v, refs: tuple, what: str, against: str, create_graph: bool) -> tuple:
    vs, _ = _tuple(v, f"{what}: v")
    if len(vs) != len(refs) or any(a.shape != r.shape for a, r in zip(vs, refs)):
        raise ArgumentError(f"{what}: v must match the {against}' shapes "
                            f"{[r.shape for r in refs]}, got {[a.shape for a in vs]}")
    return _preprocess(vs, create_graph, need_graph=False)


def _ones_v(refs: tuple, what: str, of: str) -> tuple:
    if len(refs) != 1 or refs[0]._data.size != 1:
        raise ArgumentError(f"{what}: v can be left out only when {of} is one Tensor with a "
                            "single element; pass v")
    return (new_tensor(type(refs[0]), np.ones_like(refs[0]._data), None),)


def _scalar_output(out, what: str) -> tuple:
    if not isinstance(out, TensorBase) or out._data.size != 1:
        raise ArgumentError(f"{what}: func must return a single Tensor with one element, got "
                            f"{type(out).__name__}"
                            + (f" of shape {out.shape}" if isinstance(out, TensorBase) else ""))
    return (out,)


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ · ∂func/∂inputs)"""
    with enable_grad():
        xs, was_tuple = _tuple(inputs, "vjp: inputs")
        xs = _preprocess(xs, create_graph, need_graph=True)
        outs, out_tuple = _tuple(func(*xs), "vjp: func's output")
        _check_outputs(outs, strict)
        vs = (_check_v(v, outs, "vjp", "outputs", create_graph) if v is not None
              else _ones_v(outs, "vjp", "the function's output"))
    with set_grad_enabled(create_graph or is_grad_enabled()):
        found = _fill_in_zeros(_grad(outs, xs, vs, create_graph), xs, strict, create_graph,
                               "back")
    return (_untuple(_postprocess(outs, create_graph), out_tuple),
            _untuple(_postprocess(found, create_graph), was_tuple))


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), ∂func/∂inputs · v), by differentiating a vjp (linear in its u) again"""
    with enable_grad():
        xs, was_tuple = _tuple(inputs, "jvp: inputs")
        xs = _preprocess(xs, create_graph, need_graph=True)
        vs = (_check_v(v, xs, "jvp", "inputs", create_graph) if v is not None
              else _ones_v(xs, "jvp", "the input"))
        outs, out_tuple = _tuple(func(*xs), "jvp: func's output")
        _check_outputs(outs, strict)
        us = tuple(new_tensor(type(o), np.zeros_like(o._data), None).requires_grad_(True)
                   for o in outs)
        g_u = _grad(outs, xs, us, create_graph=True)  # uᵀ J, linear in u
        _check_derivatives(g_u, "grad_inputs", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        found = _fill_in_zeros(_grad(g_u, us, vs, create_graph), outs, strict, create_graph,
                               "back_trick")
    return (_untuple(_postprocess(outs, create_graph), out_tuple),
            _untuple(_postprocess(found, create_graph), out_tuple))


def _jacobian(func, xs: tuple, create_graph: bool, strict: bool) -> tuple[tuple, bool]:
    """The jacobian blocks J[i][j] (output i, input j) as a tuple of tuples, and whether
    ``func`` returned a tuple"""
    from ..ops import stack

    with enable_grad():
        xs = _preprocess(xs, create_graph, need_graph=True)
        outs, out_tuple = _tuple(func(*xs), "jacobian: func's output")
        _check_outputs(outs, strict)
        rows = []
        for i, o in enumerate(outs):
            per_input = [[] for _ in xs]
            for idx in np.ndindex(o.shape):
                e = np.zeros(o.shape, dtype=o._data.dtype)
                e[idx] = 1  # the seed that picks element idx of output i
                found = _grad([o], xs, [new_tensor(type(o), e, None)], create_graph,
                              retain_graph=True)
                for j, (g, x) in enumerate(zip(found, xs)):
                    if g is None:
                        if strict:
                            raise GraphError(f"output {i} of the function does not depend on "
                                             f"input {j}." + _STRICT)
                        g = new_tensor(type(x), np.zeros_like(x._data), None)
                    elif strict and create_graph and not g._requires_grad:
                        raise GraphError(
                            f"the jacobian of the function does not depend on input {j}, so "
                            "with create_graph=True it has no graph to differentiate."
                            + _STRICT)
                    per_input[j].append(g)
            rows.append(tuple(
                stack(parts, axis=0).reshape(o.shape + x.shape) if parts else
                new_tensor(type(x), np.zeros(o.shape + x.shape, dtype=x._data.dtype), None)
                for parts, x in zip(per_input, xs)))
    return _postprocess(tuple(rows), create_graph), out_tuple


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """∂func/∂inputs: for one input and one output a Tensor of shape out.shape + in.shape;
    tuples nest as in PyTorch (``J[i][j]`` for output i and input j)"""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ArgumentError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got "
                            f"{strategy!r}")
    xs, was_tuple = _tuple(inputs, "jacobian: inputs")
    rows, out_tuple = _jacobian(func, xs, create_graph, strict)
    return _untuple(tuple(_untuple(r, was_tuple) for r in rows), out_tuple)


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The second derivatives of a scalar ``func``: shape in.shape + in.shape for one input,
    ``H[i][j]`` for a tuple"""
    xs, was_tuple = _tuple(inputs, "hessian: inputs")

    def scalar(*ys):
        out = func(*ys)
        _check_outputs(_tuple(out, "hessian: func's output")[0], strict)
        return _scalar_output(out, "hessian")[0].squeeze()

    def gradient(*ys):
        (rows, _) = _jacobian(scalar, ys, create_graph=True, strict=False)
        _check_derivatives(rows[0], "jacobian", strict)
        return rows[0]

    rows, _ = _jacobian(gradient, xs, create_graph, strict)
    return _untuple(tuple(_untuple(r, was_tuple) for r in rows), was_tuple)


def _second_order(func, inputs, v, create_graph: bool, strict: bool, what: str):
    """The inputs, v, the function's output and its jacobian (with a graph), for hvp/vhp"""
    xs, was_tuple = _tuple(inputs, f"{what}: inputs")
    xs = _preprocess(xs, create_graph, need_graph=True)
    vs = (_check_v(v, xs, what, "inputs", create_graph) if v is not None
          else _ones_v(xs, what, "the input"))
    out = func(*xs)
    _check_outputs(_tuple(out, f"{what}: func's output")[0], strict)
    outs = _scalar_output(out, what)
    jac = _grad(outs, xs, (None,), create_graph=True)
    _check_derivatives(jac, "jacobian", strict)
    return xs, was_tuple, vs, outs, jac


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ · H) for a scalar ``func``"""
    with enable_grad():
        xs, was_tuple, vs, outs, jac = _second_order(func, inputs, v, create_graph, strict,
                                                     "vhp")
    with set_grad_enabled(create_graph or is_grad_enabled()):
        found = _fill_in_zeros(_grad(jac, xs, vs, create_graph), xs, strict, create_graph,
                               "double_back")
    return (_postprocess(outs, create_graph)[0],
            _untuple(_postprocess(found, create_graph), was_tuple))


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H · v) for a scalar ``func``: the double-backward trick on vᵀ H, so the
    result is exactly H v (and PyTorch's strict checks apply unchanged)"""
    with enable_grad():
        xs, was_tuple, vs, outs, jac = _second_order(func, inputs, v, create_graph, strict,
                                                     "hvp")
        us = tuple(new_tensor(type(x), np.zeros_like(x._data), None).requires_grad_(True)
                   for x in xs)
        double_back = _grad(jac, xs, us, create_graph=True)  # uᵀ H, linear in u
    with set_grad_enabled(create_graph or is_grad_enabled()):
        found = _fill_in_zeros(_grad(double_back, us, vs, create_graph), xs, strict,
                               create_graph, "double_back_trick")
    return (_postprocess(outs, create_graph)[0],
            _untuple(_postprocess(found, create_graph), was_tuple))
