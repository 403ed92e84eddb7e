"""Backward: walk the recorded graph, compute every gradient, then write them.

``run_backward`` is the whole engine. It takes the recorded ops latest first, from a heap keyed
by the number each op got when it ran (as PyTorch's engine orders its ready queue; iterative, so
a 100,000-op chain works), pops each node's gradient from a dict, runs the hooks, calls the op's
backward and checks what comes back (one gradient per input, of a shape that fits and a
floating dtype), summing a broadcast gradient back to its input's shape. No ``.grad`` is
written while it walks: only when every gradient is known are the leaves' ``.grad`` updated,
under one lock (so backward from several threads into a shared parameter adds up exactly), and
then, unless ``retain_graph``, the graph is freed. A backward that fails leaves every ``.grad`` and
the graph as they were.

First order (the default) runs every formula on NumPy arrays; ``create_graph=True`` runs the
same formulas on Tensors, with grad mode on, so the gradients carry a graph of their own.
"""

from __future__ import annotations

import threading
from heapq import heappop, heappush

import numpy as np

from .. import _kernels, _modes
from ..errors import AnomalyError, GraphError
from . import function as _fn
from .function import Context, TensorBase, _Output, new_tensor, nonfinite, op_name

_commit_lock = threading.Lock()


def toposort(*roots: TensorBase, include_constants: bool = False) -> list:
    """Every tensor the roots depend on, each after all of its inputs (iterative DFS).

    By default only tensors that require grad are visited (what backward needs); the graph
    drawer asks for constants and inputs too.
    """
    order, seen = [], set()  # Tensors hash by identity, so they key sets directly
    stack = list(reversed(roots))
    rebased = _fn._rebased
    while stack:
        node = stack.pop()
        if node is None:  # the marker above a node whose inputs are all in order now
            order.append(stack.pop())
            continue
        if node in seen:
            continue
        seen.add(node)
        ctx = node._ctx
        if ctx is None:  # a leaf or a constant: no inputs to wait for
            order.append(node)
            continue
        stack.append(node)
        stack.append(None)
        if rebased:
            _inputs_as_used(ctx)
        for parent in reversed(ctx.inputs):
            if isinstance(parent, TensorBase) and parent not in seen and (
                    include_constants or parent._requires_grad):
                stack.append(parent)
    return order


def walk_order(*roots: TensorBase) -> list:
    """The tensors the roots depend on in the order ``run_backward`` takes them: the ops latest
    first (by ``ctx.seq``), then the leaves. ``tinygrad_np.jit`` compiles its backward in this
    order, so that its gradients add up in the engine's order, bit for bit."""
    return sorted(toposort(*roots), key=lambda t: -t._ctx.seq if t._ctx is not None else _LAST)


_LAST = float("inf")


def _inputs_as_used(ctx: Context) -> None:
    """Point ``ctx`` at its inputs as they were when it ran.

    An in-place op recorded on a tensor (``y.mul_(3)``) makes that tensor object stand for
    its own result, keeping the old node as ``replaced``; an op that used ``y`` before the
    edit (its clock reading is older than the edit's) still means the old node.
    """
    inputs = ctx.inputs
    fixed = tuple(_fn.as_of(a, ctx.stamp) if isinstance(a, TensorBase) else a for a in inputs)
    if any(f is not a for f, a in zip(fixed, inputs)):
        ctx.inputs = fixed
        arrays = ctx.arrays
        if arrays is None:
            return
        for i, (f, a) in enumerate(zip(fixed, inputs)):
            # the old values moved to a private copy when the edit's own record needed them:
            # what this op saved of that input is the copy
            if f is not a and arrays[i] is a._data and f._data is not a._data:
                ctx.saved_tensors = _fn.moved(ctx.saved_tensors, a._data, f._data)
                arrays[i] = f._data


def seed_for(root, gradient, create_graph: bool, where: str):
    """The gradient that starts a backward at ``root``, and the ids of arrays the caller owns."""
    if gradient is None:
        if root._data.size != 1:
            raise GraphError(
                f"{where}: output of {_op_of(root)} has shape {tuple(root._data.shape)}; "
                "backward() without a gradient needs a scalar (call .sum() or .mean() first, or "
                "pass gradient= with the same shape)"
            )
        # (np.array for the usual 0-d loss: np.ones_like is a Python function, 5x slower)
        seed = np.array(1, root._data.dtype) if not root._data.ndim else np.ones_like(root._data)
        return (new_tensor(type(root), seed, None) if create_graph else seed), ()
    if isinstance(gradient, TensorBase):
        data = gradient._data
    else:
        data = np.asarray(gradient, dtype=root._data.dtype)
    if data.shape != tuple(root._data.shape):
        raise GraphError(
            f"{where}: gradient has shape {tuple(data.shape)} but the output of "
            f"{_op_of(root)} has shape {tuple(root._data.shape)}; pass a gradient of the output's "
            "shape (d loss / d output)"
        )
    if data.dtype != root._data.dtype:
        data = data.astype(root._data.dtype)
    if create_graph:
        return (gradient if isinstance(gradient, TensorBase) and gradient._data is data
                else new_tensor(type(root), data, None)), ()
    return data, (id(data),)


def _op_of(t) -> str:
    return "a leaf" if t._ctx is None else op_name(t._ctx.fn)


def run_backward(roots, seeds, *, retain_graph: bool, create_graph: bool, inputs=None,
                 accumulate: bool = True, allow_unused: bool = True, foreign=()):
    """Compute the gradients of ``roots`` (seeded with ``seeds``) and, if ``accumulate``, add
    them into the ``.grad`` of the leaves (or of ``inputs`` only, when given).

    Returns ``{tensor: gradient}`` for ``inputs`` (arrays in first order, Tensors with
    ``create_graph``). ``foreign`` holds ids of seed arrays the caller owns (never kept as a
    ``.grad``).
    """
    tracer = _fn._tracer
    if tracer is not None:  # tinygrad_np.jit is recording a step: it compiles this backward
        tracer.on_backward(roots, seeds, create_graph=create_graph, inputs=inputs,
                           accumulate=accumulate, foreign=foreign)
    wanted = needed = None
    if inputs is not None:
        wanted = set(inputs)
        needed = _leading_to(toposort(*roots), wanted)
    anomaly = _modes.state.anomaly
    rebased = _fn._rebased
    mark = len(_modes.state.pending) if _fn.hook_points else 0
    foreign = set(foreign)
    # The walk takes the op recorded last first (PyTorch's engine orders its ready queue by
    # the same sequence number): every op that used a tensor was recorded after it, so when a
    # tensor comes up its gradient is complete. No ordering pass over the graph is needed, and
    # the leaves are never visited: their gradients wait in ``grads`` until the end.
    grads: dict = {}
    queue: list = []  # (-ctx.seq, id, output): a heap, the latest op on top
    multi: dict = {}  # ctx of a multi-output op -> its outputs that received a gradient
    for r, s in zip(roots, seeds):
        if needed is None or r in needed:
            _receive(r, s, grads, queue, multi)
    results, retained, done = {}, {}, []
    try:
        while queue:
            node = heappop(queue)[2]
            ctx = node._ctx
            g = grads.pop(node)
            if ctx.n_outputs == 1:
                g_all = (_complete(node, g, wanted, results, retained, create_graph, foreign),)
            else:  # every output of the op has its gradient now: run its backward once
                g_all = [None] * ctx.n_outputs
                for out in multi.pop(ctx):
                    go = _complete(out, g if out is node else grads.pop(out), wanted, results,
                                   retained, create_graph, foreign)
                    prev = g_all[out._index]  # (an output and its stand-in: both count)
                    g_all[out._index] = go if prev is None else prev + go
                if ctx.materialize_grads:
                    g_all = _zeros_for_missing(ctx, node, g_all, create_graph)
            if rebased:
                _inputs_as_used(ctx)
            if needed is not None and not any(isinstance(p, TensorBase) and p in needed
                                              for p in ctx.inputs):
                continue  # nothing asked for lies below (grad() of an intermediate): skip the op
            _backward_node(ctx, node, g_all, grads, queue, multi, create_graph, anomaly, foreign,
                           done, needed)
    finally:
        if _fn.hook_points:  # (also when the walk raised: nothing is kept past it)
            _forget_hook_points(mark)
    hooked = []
    for node, g in grads.items():  # what is left are the leaves, each gradient complete
        if node._hooks:
            g = _run_hooks(node, g, create_graph, foreign)
            hooked.append(node)
        if wanted is None or node in wanted:
            results[node] = g

    if wanted is not None and not allow_unused:
        unused = [i for i, t in enumerate(inputs) if t not in results]
        if unused:
            raise GraphError(
                f"grad: input {unused[0]} (shape {tuple(inputs[unused[0]]._data.shape)}) was not "
                "used to compute the outputs, so it has no gradient; pass allow_unused=True to "
                "get None for it"
            )
    if accumulate:
        with _commit_lock:
            for t, g in results.items():
                if t._requires_grad and (t._ctx is None or wanted is not None):
                    _add_to_grad(t, g, create_graph, foreign)
            for t, g in retained.items():
                _add_to_grad(t, g, create_graph, foreign)
    if not retain_graph:
        for ctx in done:
            if ctx.saved_tensors or ctx.stash is not None:  # (an op that saved nothing can
                ctx.saved_tensors = ()  # run again, as in PyTorch: x + 1 twice)
                ctx.freed = True
                ctx.stash = None
            ctx.arrays = None  # (an input given a new array since would keep the old alive)
    if accumulate and hooked:
        _post_accumulate(hooked, results, create_graph)
    if tracer is not None:
        tracer.after_backward()
    return results


def _complete(t, g, wanted, results: dict, retained: dict, tensor_mode: bool, foreign: set):
    """``t``'s gradient ``g`` is complete: run its hooks, keep it if it was asked for (``inputs``
    of grad(), or ``retain_grad()``), and return it for the op that made ``t``."""
    if t._hooks:
        g = _run_hooks(t, g, tensor_mode, foreign)
    if wanted is None:
        if t._retain:
            retained[t] = g
    elif t in wanted:
        results[t] = g
    return g


def _receive(t, g, grads: dict, queue: list, multi: dict) -> None:
    """Add ``g`` to the gradient ``t`` has so far; at its first one, put the op that made ``t``
    in the walk's queue (once, for a multi-output op)."""
    prev = grads.get(t)
    if prev is not None:
        grads[t] = prev + g
        return
    grads[t] = g
    ctx = t._ctx
    if ctx is None:  # a leaf: its gradient waits for the commit
        return
    # (id(t) breaks a tie, never reached by the tensors themselves: two tensors can share
    # one record, copy.copy(y) and y)
    if ctx.n_outputs == 1:
        heappush(queue, (-ctx.seq, id(t), t))
        return
    outputs = multi.get(ctx)
    if outputs is None:
        multi[ctx] = [t]
        heappush(queue, (-ctx.seq, id(t), t))
    else:
        outputs.append(t)


def _leading_to(order: list, wanted: set) -> set:
    """The nodes from which a wanted tensor can be reached: backward needs to run only there."""
    needed = set()
    for node in order:  # inputs come before the ops that use them
        ctx = node._ctx
        if node in wanted or (ctx is not None and any(
                isinstance(p, TensorBase) and p in needed for p in ctx.inputs)):
            needed.add(node)
    return needed


def _siblings_in(order: list) -> dict:
    """For each multi-output op, how many of its outputs ``order`` holds (a stand-in for an
    output the caller dropped counts as that output): the graph drawer's walk runs such an op
    when it reaches the last of them. One pass for the whole walk."""
    counts: dict = {}
    for node in order:
        ctx = node._ctx
        if ctx is not None and ctx.n_outputs > 1:
            counts[ctx] = counts.get(ctx, 0) + 1
    return counts


class PostAccumulate:
    """A hook that runs once the tensor's ``.grad`` is written (PyTorch's post-accumulate-grad
    hook), kept with the tensor's gradient hooks: one slot, and the jit sees both."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


def _forget_hook_points(mark: int) -> None:
    """The module calls whose outputs' gradients this backward passed, and whose inputs it did
    not reach (grad() of a weight), drop what they kept for their full backward hooks."""
    pending = _modes.state.pending
    for point in pending[mark:]:
        point.grad_output = None
    del pending[mark:]


def _post_accumulate(hooked: list, results: dict, create_graph: bool) -> None:
    """Every gradient of the backward is written: the leaves' post-accumulate hooks run."""
    with _hook_mode(create_graph):
        for t in hooked:
            if t not in results or not t._requires_grad:
                continue
            for hook in list(t._hooks.values()):
                if type(hook) is PostAccumulate and hook.fn(t) is not None:
                    raise GraphError("register_post_accumulate_grad_hook: a hook returned "
                                     "something; it should return None (it acts on the "
                                     "tensor, whose .grad is written)")


def _hook_mode(tensor_mode: bool):
    """Hooks run in the backward's grad mode, as PyTorch's: recording only under create_graph."""
    return _modes.enable_grad() if tensor_mode else _modes.no_grad()


def _run_hooks(node, g, tensor_mode: bool, foreign: set):
    """Call the tensor's hooks in order; each may return a replacement gradient."""
    with _hook_mode(tensor_mode):
        for hook in list(node._hooks.values()):
            if type(hook) is PostAccumulate:
                continue
            if not tensor_mode:
                foreign.add(id(g))  # the hook may keep the Tensor it is given: never adopt its
                # array as a .grad, which a later backward would add into in place
            out = hook(g if tensor_mode else new_tensor(type(node), g, None))
            if out is not None:
                g = _hook_gradient(f"register_hook: a hook on a tensor of shape "
                                   f"{tuple(node._data.shape)}", node, out, node._data,
                                   tensor_mode)
                if not tensor_mode:
                    foreign.add(id(g))  # the hook may keep it: never adopt it as a .grad
    return g


def _hook_gradient(where: str, node, out, ref, tensor_mode: bool):
    """A gradient a hook returned, checked against ``ref`` (the gradient it stands for: the
    same shape and dtype), in the walk's form: an array in first order, a Tensor under
    create_graph. ``where`` begins the message."""
    if isinstance(out, TensorBase):
        data = out._data
    elif isinstance(out, (np.ndarray, np.generic)):  # (NumPy arithmetic on a 0-d gradient
        data = np.asarray(out)  # gives a NumPy scalar)
    else:
        raise GraphError(f"{where} returned {type(out).__name__}; return None or a Tensor")
    if ref is not None:
        ref = ref._data if isinstance(ref, TensorBase) else ref
        if data.shape != ref.shape or data.dtype != ref.dtype:
            raise GraphError(f"{where} returned a gradient of shape {tuple(data.shape)} and "
                             f"dtype {data.dtype} for one of shape {tuple(ref.shape)} and dtype "
                             f"{ref.dtype}; return None or a gradient of the same shape and dtype")
    if not tensor_mode:
        return data
    return out if isinstance(out, TensorBase) else new_tensor(type(node), data, None)


def _backward_node(ctx, node, g_all, grads, queue, multi, tensor_mode, anomaly, foreign, done,
                   needed):
    """Run one op's backward and add what it returns into ``grads``."""
    if ctx.freed or ctx.stamp != _fn._last_write or ctx.checksums is not None:
        _check_saved(ctx, node)
    fn = ctx.fn
    user = not fn.array_mode
    hooks = ctx.node_hooks
    if hooks is not None and _modes.state.hooks_off:  # the graph drawer's walk
        hooks = None
    if hooks is not None and hooks["pre"]:
        g_all = _run_node_prehooks(ctx, node, g_all, tensor_mode, foreign)
        if all(g is None for g in g_all):  # a prehook took every gradient away
            done.append(ctx)
            return
    if tensor_mode or user:
        result = _call_with_tensors(ctx, node, g_all, tensor_mode)
    elif fn.fast_backward is not None and _kernels.ENABLED:
        result = fn.fast_backward(ctx, *g_all)
    else:
        result = fn.backward(ctx, *g_all)
    done.append(ctx)
    inputs = ctx.inputs
    if type(result) is not tuple:
        result = (result,)
    if len(result) != len(inputs):
        _check_count(fn, result, inputs)
    if hooks is not None and hooks["post"]:
        result = _run_node_hooks(ctx, node, result, g_all, tensor_mode, foreign)
    for i, gi in enumerate(result):
        if gi is None:
            continue
        inp = inputs[i]
        if not isinstance(inp, TensorBase) or not inp._requires_grad:
            if user and not isinstance(inp, TensorBase):
                raise GraphError(
                    f"backward of {op_name(fn)}: returned a gradient for input {i}, which is "
                    f"not a tensor ({type(inp).__name__}); return None in its place")
            continue
        if needed is not None and inp not in needed:
            continue
        data = inp._data
        if (tensor_mode or user or type(gi) is not np.ndarray or gi.shape != data.shape
                or gi.dtype is not data.dtype):  # (_fit accepts an equal dtype object too)
            gi = _fit(fn, i, inp, gi, tensor_mode, user)
            if user and not tensor_mode:
                foreign.add(id(gi))  # a user's array may be saved somewhere: never adopt it
        if anomaly:
            _check_grad(ctx, node, inp, gi)
        _receive(inp, gi, grads, queue, multi)


def _as_tensors(node, grads, tensor_mode: bool, foreign: set) -> tuple:
    """Gradients as a node hook sees them: Tensors (None stays None). The hook may keep them:
    their arrays are never adopted as a .grad."""
    if tensor_mode:
        return tuple(grads)
    out = []
    for g in grads:
        if g is not None and not isinstance(g, TensorBase):
            foreign.add(id(g))
            g = new_tensor(type(node), np.asarray(g), None)
        out.append(g)
    return tuple(out)


def _from_hook(ctx, node, result, refs: list, what: str, tensor_mode: bool,
               foreign: set) -> list:
    """A node hook's replacement gradients, checked against ``refs`` (the gradients it was
    given: each replacement keeps its shape and dtype) and in the walk's form."""
    n = len(refs)
    if not (isinstance(result, (tuple, list)) and len(result) == n):
        raise GraphError(f"{ctx.name()}.{what}: a hook must return None or a tuple of {n} "
                         f"gradient(s), got {type(result).__name__}"
                         + (f" of length {len(result)}" if isinstance(result, tuple) else ""))
    out = []
    for k, (g, ref) in enumerate(zip(result, refs)):
        if g is not None:
            g = _hook_gradient(f"{ctx.name()}.{what}: a hook, at position {k},", node, g, ref,
                               tensor_mode)
            if not tensor_mode:
                foreign.add(id(g))  # the hook may keep it: never adopt it as a .grad
        out.append(g)
    return out


def _run_node_prehooks(ctx, node, g_all, tensor_mode: bool, foreign: set):
    with _hook_mode(tensor_mode):
        for hook in list(ctx.node_hooks["pre"].values()):
            result = hook(_as_tensors(node, g_all, tensor_mode, foreign))
            if result is not None:
                g_all = _from_hook(ctx, node, result, list(g_all), "register_prehook",
                                   tensor_mode, foreign)
    return g_all


def _run_node_hooks(ctx, node, result: tuple, g_all, tensor_mode: bool, foreign: set):
    """The hooks registered with ``grad_fn.register_hook``: they see (and may replace) the
    gradients of the op's tensor inputs, already of the inputs' shapes."""
    inputs = ctx.inputs
    positions = [i for i, a in enumerate(inputs) if isinstance(a, TensorBase)]
    grad_outputs = _as_tensors(node, g_all, tensor_mode, foreign)
    result = list(result)
    user = not ctx.fn.array_mode
    for i in positions:
        if result[i] is not None and inputs[i]._requires_grad:
            result[i] = _fit(ctx.fn, i, inputs[i], result[i], tensor_mode, user)
    with _hook_mode(tensor_mode):
        for hook in list(ctx.node_hooks["post"].values()):
            grad_inputs = _as_tensors(node, [result[i] for i in positions], tensor_mode, foreign)
            new = hook(grad_inputs, grad_outputs)
            if new is not None:
                for i, g in zip(positions, _from_hook(ctx, node, new, list(grad_inputs),
                                                       "register_hook", tensor_mode, foreign)):
                    result[i] = g
    return tuple(result)


def _check_saved(ctx, node) -> None:
    """Raise if the op's record can no longer give a right gradient: freed by an earlier
    backward, or holding an array that was written after the op saved it."""
    if ctx.freed:
        raise GraphError(
            f"backward: the graph through {op_name(ctx.fn)} (output shape "
            f"{tuple(node._data.shape)}) was freed by an earlier backward(); pass "
            "retain_graph=True to the first backward() if you need to go through the graph twice"
        )
    if ctx.stamp != _fn._last_write:
        _check_writes(ctx, node)
    if ctx.checksums is not None:
        _check_checksums(ctx, node)


def _call_with_tensors(ctx, node, g_all, tensor_mode: bool):
    """A backward that takes Tensors: any op in create_graph mode, and a user's Function."""
    saved = ctx.saved_tensors
    resolved = ctx.saved_tensors = _resolve_saved(ctx, node)  # for the length of this call
    if not tensor_mode:  # a user's backward in first order: Tensors in, no recording
        g_all = [x if x is None else new_tensor(type(node), x, None) for x in g_all]
    try:
        with (_modes.enable_grad() if tensor_mode else _modes.no_grad()):
            result = ctx.fn.backward(ctx, *g_all)
            if tensor_mode and ctx.fn.array_mode:
                result = _connected(result, resolved)
            return result
    finally:
        ctx.saved_tensors = saved


class _ZeroSlope(_fn.Function):
    """``value``, tied to ``deps`` with derivative 0     dvalue = g     ddeps = 0"""

    array_mode = True

    @staticmethod
    def forward(ctx, value, *deps):
        ctx.deps = [(d.shape, d.dtype) for d in deps]
        return value

    @staticmethod
    def backward(ctx, g):
        return (g, *(np.zeros(shape, dtype) for shape, dtype in ctx.deps))


def _connected(result, saved: tuple):
    """A primitive's create_graph gradients that came out constant although it saved a tensor
    that requires grad (relu's mask of x, a tie between maximum's inputs), tied to those tensors
    with derivative 0. PyTorch's are: differentiating such a gradient again gives zeros, not a
    "does not require grad" error."""
    deps = tuple(s for s in saved if isinstance(s, TensorBase) and s._requires_grad)
    if not deps:
        return result
    single = type(result) is not tuple
    tied = tuple(_ZeroSlope.apply(g, *deps) if _constant(g) else g
                 for g in ((result,) if single else result))
    return tied[0] if single else tied


def _constant(g) -> bool:
    return isinstance(g, np.ndarray) or (isinstance(g, TensorBase) and not g._requires_grad)


def _check_count(fn, result, inputs) -> None:
    if len(result) > len(inputs) and all(r is None for r in result[len(inputs):]):
        return
    raise GraphError(
        f"backward of {op_name(fn)}: returned {len(result)} gradient(s) for {len(inputs)} "
        "input(s) of forward; return one per positional input of forward, None where there is "
        "no gradient"
    )


def _zeros_for_missing(ctx, node, g_all, tensor_mode: bool) -> list:
    """Zeros for the outputs that received no gradient (PyTorch's materialize_grads)."""
    out = []
    for x, meta in zip(g_all, ctx.output_meta):
        if x is None and meta is not None:  # (from the shape: the caller may have dropped it)
            x = np.zeros(*meta)
            if tensor_mode:
                x = new_tensor(type(node), x, None)
        out.append(x)
    return out


def _output(ctx, node, saved: _Output):
    """The output a Function saved: the tensor, or, if the caller dropped it, a stand-in for
    it (its array, made by the same op), so a create_graph backward still goes through it."""
    if ctx.n_outputs == 1:
        return node
    out = ctx.outputs[saved.index]()
    return out if out is not None else new_tensor(type(node), saved.data, ctx, saved.index)


def _fit(fn, i: int, inp, gi, tensor_mode: bool, user: bool):
    """Check a gradient against its input: the shape (summing broadcast axes back), the dtype."""
    if tensor_mode:
        if not isinstance(gi, TensorBase):
            gi = new_tensor(type(inp), np.asarray(gi), None)
        data = gi._data
    else:
        if isinstance(gi, TensorBase):
            gi = gi._data
        elif type(gi) is not np.ndarray:
            gi = np.asarray(gi)
        data = gi
    shape = inp._data.shape
    if data.shape != shape:
        if (not tensor_mode and _kernels.ENABLED and data.ndim == 2 and data.shape[1:] == shape
                and data.dtype.kind == "f"):
            gi = _kernels.sum_rows(data)  # a bias added to every row: the common case
        elif _broadcasts_to(shape, data.shape):
            gi = sum_to(gi, shape, tensor_mode)
        else:
            raise GraphError(
                f"backward of {op_name(fn)}: the gradient for input {i} has shape "
                f"{tuple(data.shape)}, but input {i} has shape {tuple(shape)}; return a gradient "
                "of the input's shape (or of a shape it broadcasts to, which is summed back)"
            )
    dtype = inp._data.dtype
    gdtype = (gi._data if tensor_mode else gi).dtype
    if gdtype != dtype:
        if user or gdtype.kind not in "fc":
            raise GraphError(
                f"backward of {op_name(fn)}: the gradient for input {i} has dtype {gdtype}, but "
                f"input {i} has dtype {dtype}; return it as {dtype} (e.g. .astype('{dtype}'))"
            )
        gi = gi.astype(dtype)  # a promoting op (float32 + float64): the input's own dtype
    return gi


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of ``shape`` broadcasts to ``target`` (NumPy's rules)."""
    if len(shape) > len(target):
        return False
    return all(n == 1 or n == m for n, m in zip(shape[::-1], target[::-1]))


def sum_to(g, shape: tuple, tensor_mode: bool = False):
    """Sum ``g`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + k for k, n in enumerate(shape) if n == 1 and g.shape[lead + k] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _resolve_saved(ctx: Context, node) -> tuple:
    """``ctx.saved_tensors`` as Tensors: a primitive saved arrays, which stand for its inputs and
    its output; a user's Function saved Tensors and placeholders for its outputs."""
    out = []
    for s in ctx.saved_tensors:
        if isinstance(s, _Output):
            out.append(_output(ctx, node, s))
        elif ctx.fn.array_mode and isinstance(s, np.ndarray):
            if s is node._data:
                out.append(node)
                continue
            for a in ctx.inputs:
                if isinstance(a, TensorBase) and a._data is s:
                    out.append(a)
                    break
            else:  # an array the op computed (a mask, indices): a constant of the formula
                out.append(new_tensor(type(node), s, None))
        else:
            out.append(s)
    return tuple(out)


def _owner(ctx: Context, node, saved):
    """The tensor whose array a saved value is, or None for the op's own constants."""
    if isinstance(saved, _Output):
        return _output(ctx, node, saved)
    if isinstance(saved, TensorBase):
        return saved
    if saved is node._data:
        return node
    for a in ctx.inputs:
        if isinstance(a, TensorBase) and a._data is saved:
            return a
    return None


def _check_writes(ctx: Context, node) -> None:
    """Raise if an array this op saved was written in place after the op ran."""
    for s in ctx.saved_tensors:
        t = _owner(ctx, node, s)
        if t is None and ctx.arrays is not None:
            _check_rebound(ctx, s)
        if t is not None and t._stamp is not None and t._stamp[0] > ctx.stamp:
            where = f" (created at {ctx.trace})" if ctx.trace else ""
            raise GraphError(
                f"backward of {op_name(ctx.fn)}{where}: {_describe(t, node)} was modified in "
                f"place after {op_name(ctx.fn)} saved it for backward, so its gradient would be "
                "wrong. Make the edit after backward() (an optimizer step, a load_state_dict, "
                "t.data *= ...), work on a copy (x.clone()), or run the forward again"
            )


def _check_rebound(ctx: Context, saved) -> None:
    """Raise if ``saved`` was an input's array and that input has been given a new one
    (``t.data = array``): backward would use the old values for a tensor that now holds
    others."""
    for a, arr in zip(ctx.inputs, ctx.arrays):
        if arr is saved and isinstance(a, TensorBase) and a._data is not saved:
            where = f" (created at {ctx.trace})" if ctx.trace else ""
            raise GraphError(
                f"backward of {op_name(ctx.fn)}{where}: {_describe(a, None)} was given a new "
                f"array (t.data = ...) after {op_name(ctx.fn)} saved its old values for "
                "backward, so its gradient would be wrong. Replace .data after backward(), "
                "or run the forward again"
            )


def _check_checksums(ctx: Context, node) -> None:
    for s, crc in zip(ctx.saved_tensors, ctx.checksums):
        if crc is None:
            continue
        t = _owner(ctx, node, s)
        array = t._data if t is not None and not isinstance(s, np.ndarray) else s
        if _fn._checksum(array) != crc:
            what = _describe(t, node) if t is not None else "an array it saved"
            raise GraphError(
                f"backward of {op_name(ctx.fn)}: {what} was changed after {op_name(ctx.fn)} "
                f"saved it for backward (created at {ctx.trace}): a raw write into its array "
                "(e.g. x.data[...] = v); make such edits after backward() or on a copy"
            )


def _describe(t, node) -> str:
    name = f" {t.name!r}" if getattr(t, "name", None) else ""
    if t is node:
        return f"its output{name} (shape {tuple(t._data.shape)})"
    kind = "a leaf tensor" if t._ctx is None else f"the output of {op_name(t._ctx.fn)}"
    return f"{kind}{name} of shape {tuple(t._data.shape)}"


def _check_grad(ctx: Context, node, inp, g) -> None:
    data = g._data if isinstance(g, TensorBase) else g
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise AnomalyError(
            f"detect_anomaly: backward of {op_name(ctx.fn)} (output shape "
            f"{tuple(node._data.shape)}) produced {nonfinite(data)} in the gradient for its "
            f"input of shape {tuple(inp._data.shape)}; the op was created at "
            f"{ctx.trace or '<created before detect_anomaly was on>'}"
        )


def _add_to_grad(t, g, create_graph: bool, foreign: set) -> None:
    """Add ``g`` to ``t.grad``: a first-order gradient array no one else holds is kept as is,
    and an existing ``.grad`` is added to in place, as in PyTorch. ``foreign``: the ids of
    arrays others hold (the caller's, the hooks', and those already kept as a ``.grad``)."""
    if create_graph:
        # out of place, as PyTorch's AccumulateGrad in grad mode; the first .grad is a
        # (differentiable) copy, so a later first-order backward can add into it in place
        # without writing into an array another tensor holds (x + y gives both the same one)
        if not isinstance(g, TensorBase):
            g = new_tensor(type(t), g, None)
        t._grad = g.clone() if t._grad is None else t._grad + g
        return
    if type(g) is not np.ndarray:
        if isinstance(g, TensorBase):
            g = g._data
        else:
            g = np.asarray(g, dtype=t._data.dtype)  # 0-d arithmetic gives NumPy scalars
    current = t._grad
    if current is None:
        keep = _kernels.ENABLED and g.base is None and id(g) not in foreign
        foreign.add(id(g))
        t._grad = new_tensor(type(t), g if keep else np.array(g, copy=True), None)
        return
    data = current._data
    # in place even into a .grad that has a graph (left by backward(create_graph=True)), as
    # PyTorch outside grad mode: a reference kept to the .grad sees the sum
    if data.shape == g.shape and data.flags.writeable:
        np.add(data, g, out=data, casting="unsafe")
        _fn.note_write(current)
    else:
        t._grad = new_tensor(type(t), (data + g).astype(t._data.dtype, copy=False), None)
