"""tinygrad_np.autograd: define ops, take gradients, check them.

- ``Function``: the one way to define a differentiable op (``forward``/``backward``), used by
  every primitive of the library and by users alike.
- ``grad(outputs, inputs, ...)``: gradients as values, as ``torch.autograd.grad``; with
  ``create_graph=True`` they can be differentiated again.
- ``backward(tensors, grad_tensors)``: ``Tensor.backward`` for several outputs at once.
- ``gradcheck`` / ``gradgradcheck``: first and second derivatives against central
  differences (``fast_mode=True``: random directions first).
- ``check_op``: one call that tests a custom op completely and diagnoses a wrong backward;
  ``check_graph``: finds the op with the wrong backward in a recorded graph.
- ``functional``: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp``.
"""

from __future__ import annotations

import numpy as np

from .._modes import (
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from ..errors import ArgumentError, GraphError
from . import engine
from .checks import DIAGNOSES, CheckReport, check_graph, check_op
from .function import Context, Function, TensorBase, new_tensor, once_differentiable
from .gradcheck import gradcheck, gradgradcheck


def _as_list(x, what: str) -> list:
    if isinstance(x, TensorBase):
        return [x]
    try:
        items = list(x)
    except TypeError:
        raise ArgumentError(f"grad: {what} must be a Tensor or a sequence of Tensors, got "
                            f"{type(x).__name__}") from None
    if not all(isinstance(t, TensorBase) for t in items):
        raise ArgumentError(f"grad: every one of {what} must be a Tensor")
    return items


def _seeds(outputs: list, grad_outputs, create_graph: bool, where: str):
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, TensorBase) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ArgumentError(f"{where}: got {len(grad_outputs)} grad_outputs for "
                            f"{len(outputs)} outputs")
    seeds, foreign = [], []
    for out, g in zip(outputs, grad_outputs):
        s, f = engine.seed_for(out, g, create_graph, where)
        seeds.append(s)
        foreign.extend(f)
    return seeds, foreign


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple of Tensors (leaving
    every ``.grad`` alone), as ``torch.autograd.grad``.

    ``grad_outputs``: one gradient per output (needed for non-scalar outputs).
    ``create_graph=True``: the gradients get a graph, for second and higher derivatives.
    ``allow_unused``: give None (or zeros with ``materialize_grads``) for an input the outputs
    do not depend on, instead of raising.
    """
    outputs = _as_list(outputs, "outputs")
    inputs_list = _as_list(inputs, "inputs")
    for i, t in enumerate(inputs_list):
        if not t._requires_grad:
            raise GraphError(f"grad: input {i} (shape {tuple(t._data.shape)}) does not require "
                             "grad; create it with requires_grad=True")
    live = [(o, k) for k, o in enumerate(outputs) if o._requires_grad]
    if len(live) != len(outputs):
        bad = next(k for k, o in enumerate(outputs) if not o._requires_grad)
        raise GraphError(f"grad: output {bad} does not require grad: no input that produced it "
                         "requires grad, or it was computed under no_grad()")
    seeds, foreign = _seeds(outputs, grad_outputs, create_graph, "grad")
    results = engine.run_backward(
        outputs, seeds, retain_graph=create_graph if retain_graph is None else retain_graph,
        create_graph=create_graph, inputs=inputs_list, accumulate=False,
        allow_unused=allow_unused or materialize_grads, foreign=foreign)
    out, given = [], set()
    for t in inputs_list:
        g = results.get(t)
        if g is None:
            out.append(new_tensor(type(t), np.zeros_like(t._data), None)
                       if materialize_grads else None)
        elif isinstance(g, TensorBase):
            out.append(g)
        else:
            # one array may be the gradient of two inputs (a + b): each gets its own
            owned = (g.base is None and g.flags.writeable and id(g) not in foreign
                     and id(g) not in given)
            given.add(id(g))
            out.append(new_tensor(type(t), g if owned else g.copy(), None))
    return tuple(out)


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Backward from several outputs at once, their gradients added into the leaves' ``.grad``
    (as ``torch.autograd.backward``)."""
    tensors = _as_list(tensors, "tensors")
    seeds, foreign = _seeds(tensors, grad_tensors, create_graph, "backward")
    if inputs is not None:
        inputs = _as_list(inputs, "inputs")
    engine.run_backward(tensors, seeds, retain_graph=create_graph if retain_graph is None
                        else retain_graph, create_graph=create_graph, inputs=inputs,
                        foreign=foreign)


from . import functional  # noqa: E402  (functional builds on grad above)

__all__ = ["DIAGNOSES", "CheckReport", "Context", "Function", "backward", "check_graph",
           "check_op", "detect_anomaly", "enable_grad", "functional", "grad", "gradcheck",
           "gradgradcheck", "inference_mode", "is_anomaly_enabled", "is_grad_enabled", "no_grad",
           "once_differentiable", "set_detect_anomaly", "set_grad_enabled"]
