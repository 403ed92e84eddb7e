"""Module: the base class of layers and models.

A module is a plain Python object. Its parameters and sub-modules are found by walking its
attributes (Tensors, Modules, and lists/tuples/dicts of them), so a subclass writes no
``parameters()`` of its own and needs no ``super().__init__()`` call: assigning
``self.weight = Tensor(..., requires_grad=True)`` is enough. Names are dotted paths through
attributes, list indices and dict keys: ``layers.0.weight``.

Only tensors you created count as state: a tensor computed by an op (an activation kept as
``self.last = self.fc(x)``) is never a parameter and never enters ``state_dict()``.
"""

from __future__ import annotations

import threading
import warnings
from collections import namedtuple

import numpy as np

from .._modes import resolve_dtype, state
from ..autograd import function as _function
from ..autograd.function import Function, TensorBase, note_write, ordered
from ..errors import ArgumentError, CheckpointError, DTypeError, GraphError, NotDefinedError
from ..tensor import RemovableHandle, Tensor, to_arguments

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])

_CONTAINERS = (list, tuple, dict)


def _is_state(t) -> bool:
    """A tensor the user made (a parameter or a buffer), not the output of an op."""
    return isinstance(t, TensorBase) and t._ctx is None and t._index is None


def _may_hold(values) -> bool:
    """Whether a list's items can contain tensors or modules: one pass over the item types in
    C, so a module holding a million floats is not walked item by item."""
    kinds = set(map(type, values))
    return any(issubclass(k, (TensorBase, Module, *_CONTAINERS)) for k in kinds)


_HOOK_KINDS = ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks")
# where a module keeps its hooks (never members: a hook may be a module itself)
_HOOK_ATTRIBUTES = frozenset((*_HOOK_KINDS, "_hooked", *(k + "_with_kwargs" for k in _HOOK_KINDS),
                              *(k + "_always_called" for k in _HOOK_KINDS)))
_hooks_lock = threading.Lock()  # registrations, one at a time (prepend reorders the dict)


def _members(module):
    """(relative name, Tensor or Module) for each direct member, in attribute order."""
    stack = [(name, value) for name, value in reversed(vars(module).items())
             if name not in _HOOK_ATTRIBUTES]
    seen = set()  # containers already walked: a list that holds itself is walked once
    while stack:
        name, value = stack.pop()
        if isinstance(value, (TensorBase, Module)):
            yield name, value
        elif isinstance(value, _CONTAINERS):
            if id(value) in seen:
                continue
            seen.add(id(value))
            # look at the item types first, in C: a list of a million floats is never walked
            if _may_hold(value.values() if isinstance(value, dict) else value):
                items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
                stack.extend((f"{name}.{k}", v) for k, v in reversed(items))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class CallFrame:
    """One call of a module's forward, recorded on every op it runs (the graph drawer boxes
    each call, nested in the call that made it)."""

    __slots__ = ("module", "parent")

    def __init__(self, module, parent):
        self.module, self.parent = module, parent


class BackwardHook(Function):
    """A module call's tensors, unchanged (the same arrays); its backward hands their complete
    gradients to the module's backward hooks, which may replace them (PyTorch's
    BackwardHookFunction)."""

    runs_hooks = True  # (check_graph leaves it out: there is no formula to check)

    @staticmethod
    def forward(ctx, on_backward, *tensors):
        ctx.on_backward = on_backward
        ctx.set_materialize_grads(False)
        return tuple(t.detach() for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        if state.hooks_off:  # the graph drawer computing the gradients: no hook runs
            return (None, *grads)
        return (None, *ctx.on_backward(grads))


def _hooked(values) -> list:
    """The positions of the values a gradient can reach: float tensors that require grad."""
    return [i for i, v in enumerate(values) if isinstance(v, TensorBase) and v._requires_grad
            and v._data.dtype.kind == "f"]


def _through(on_backward, values: tuple, positions: list) -> tuple:
    """``values`` with those at ``positions`` passed through one ``BackwardHook``."""
    if not positions:
        return values
    passed = BackwardHook.apply(on_backward, *(values[i] for i in positions))
    values = list(values)
    for i, t in zip(positions, passed):
        values[i] = t
    return tuple(values)


class _BackwardHookPoint:
    """One call of a module with backward hooks: ``inputs()`` and ``outputs()`` pass the call's
    tensors through a ``BackwardHook`` each, whose backward runs the hooks registered when the
    call was made (as PyTorch's: removing or adding a hook between forward and backward
    changes later calls only)."""

    def __init__(self, module, args):
        own = module.__dict__
        self.module, self.n_args = module, len(args)
        self.pre = [h for _, h in ordered(own.get("_backward_pre_hooks", {}))]
        self.full = [h for _, h in ordered(own.get("_backward_hooks", {}))]
        self.positions = _hooked(args) if self.full else []
        self.grad_output = None
        _function.hook_points = True

    def inputs(self, args: tuple) -> tuple:
        return _through(self._on_inputs, args, self.positions)

    def outputs(self, out):
        outs = out if isinstance(out, tuple) else (out,)
        self.out_positions, self.n_out = _hooked(outs), len(outs)
        outs = _through(self._on_outputs, outs, self.out_positions)
        return outs if isinstance(out, tuple) else outs[0]

    def _replacement(self, result, given: tuple, kind: str) -> list:
        n, what = len(given), "output" if "pre" in kind else "positional input"
        name = type(self.module).__name__
        if not (isinstance(result, (tuple, list)) and len(result) == n):
            raise ArgumentError(
                f"{name}: a {kind} must return None or a tuple of {n} gradient(s), one per "
                f"{what}; got {type(result).__name__}"
                + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""))
        for k, (g, ref) in enumerate(zip(result, given)):
            if g is None or ref is None:
                continue
            if not isinstance(g, TensorBase) or g.shape != ref.shape or g.dtype != ref.dtype:
                raise ArgumentError(
                    f"{name}: a {kind} returned for {what} {k} "
                    + (f"a gradient of shape {tuple(g.shape)} and dtype {g.dtype}"
                       if isinstance(g, TensorBase) else type(g).__name__)
                    + f"; it was given one of shape {tuple(ref.shape)} and dtype {ref.dtype}: "
                    "return a Tensor of the same shape and dtype, or None")
        return list(result)

    def _on_outputs(self, grads) -> list:
        grad_output = [None] * self.n_out
        for j, g in zip(self.out_positions, grads):
            grad_output[j] = g
        grad_output = tuple(grad_output)
        for hook in self.pre:
            result = hook(self.module, grad_output)
            if result is not None:
                grad_output = tuple(self._replacement(result, grad_output, "full backward "
                                                      "pre-hook"))
        if self.full and not self.positions:  # no input a gradient reaches: None for each
            warnings.warn(f"{type(self.module).__name__}: a full backward hook is called with "
                          "the gradients of the outputs only, since no input requires grad",
                          stacklevel=2)
            for hook in self.full:
                result = hook(self.module, (None,) * self.n_args, grad_output)
                if result is not None and any(g is not None for g in result):
                    raise ArgumentError(
                        f"{type(self.module).__name__}: a full backward hook of a call where "
                        "no input requires grad must return None (or None for each input)")
        elif self.positions:  # for the hooks, when the inputs' gradients come
            self.grad_output = grad_output
            state.pending.append(self)
        return [grad_output[j] for j in self.out_positions]

    def _on_inputs(self, grads) -> list:
        grad_output, self.grad_output = self.grad_output, None
        if grad_output is None:  # not reached through the outputs (a create_graph backward
            return list(grads)  # going back over the call): the hooks ran for that already
        grad_input = [None] * self.n_args
        for i, g in zip(self.positions, grads):
            grad_input[i] = g
        for hook in self.full:
            result = hook(self.module, tuple(grad_input), grad_output)
            if result is not None:
                grad_input = self._replacement(result, tuple(grad_input),
                                               "full backward hook")
        return [grad_input[i] for i in self.positions]


class Module:
    """Base class: subclasses set attributes in ``__init__`` and define ``forward``."""

    training = True  # train() / eval() set it on every module of the tree

    def forward(self, *args, **kwargs):
        raise NotDefinedError(f"{type(self).__name__}.forward is not defined: a Module "
                                  "subclass defines forward(self, x)")

    def __call__(self, *args, **kwargs):
        """Run ``forward`` (and the hooks), recording this call on every op it creates."""
        if "_hooked" in self.__dict__:  # a hook was registered once: the full path
            return self._call_with_hooks(args, kwargs)
        s = state
        outer = s.frame
        s.frame = CallFrame(self, outer)
        try:
            return self.forward(*args, **kwargs)
        finally:
            s.frame = outer

    def _call_with_hooks(self, args, kwargs):
        own = self.__dict__
        if _function._tracer is not None:  # a jit is recording: it must see these hooks
            _function._tracer.on_hooked_call(self)
        out, called = None, set()  # (for the always_call hooks, should anything raise)
        try:
            with_kwargs = own.get("_forward_pre_hooks_with_kwargs", ())
            for key, hook in ordered(own.get("_forward_pre_hooks", {})):
                if key in with_kwargs:
                    result = hook(self, args, kwargs)
                    if result is not None:
                        args, kwargs = self._hook_result(result)
                    continue
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
            point = None
            if (own.get("_backward_hooks") or own.get("_backward_pre_hooks")) and \
                    state.grad_enabled:
                point = _BackwardHookPoint(self, args)
                args = point.inputs(args)
            s = state
            outer = s.frame
            s.frame = CallFrame(self, outer)
            try:
                out = self.forward(*args, **kwargs)
            finally:
                s.frame = outer
            with_kwargs = own.get("_forward_hooks_with_kwargs", ())
            for key, hook in ordered(own.get("_forward_hooks", {})):
                called.add(key)
                result = (hook(self, args, kwargs, out) if key in with_kwargs
                          else hook(self, args, out))
                if result is not None:
                    out = result
            return out if point is None else point.outputs(out)
        except BaseException:
            self._always_called(args, kwargs, out, called)
            raise

    def _always_called(self, args, kwargs, out, called: set) -> None:
        """Something in the call raised: the forward hooks registered with always_call=True
        that have not run yet still run (with the output so far, None if forward failed), and
        an error of theirs is only warned about, as in PyTorch."""
        own = self.__dict__
        always = own.get("_forward_hooks_always_called", ())
        with_kwargs = own.get("_forward_hooks_with_kwargs", ())
        for key, hook in ordered(own.get("_forward_hooks", {})):
            if key in always and key not in called:
                try:
                    if key in with_kwargs:
                        hook(self, args, kwargs, out)
                    else:
                        hook(self, args, out)
                except Exception as e:  # the first error is the one to see
                    warnings.warn(f"{type(self).__name__}: a forward hook registered with "
                                  f"always_call=True raised {type(e).__name__}: {e}",
                                  stacklevel=3)

    def _hook_result(self, result) -> tuple[tuple, dict]:
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
            raise ArgumentError(f"{type(self).__name__}: a forward pre-hook registered with "
                                "with_kwargs=True must return None or a tuple (args, kwargs), got "
                                f"{type(result).__name__}")
        args, kwargs = result
        return (args if isinstance(args, tuple) else (args,)), kwargs

    def _register_hook(self, kind: str, hook, with_kwargs: bool = False, prepend: bool = False,
                       always_call: bool = False) -> RemovableHandle:
        if not callable(hook):
            raise ArgumentError(f"{type(self).__name__}.register{kind[:-1]}: the hook must be "
                                f"callable, got {type(hook).__name__}")
        with _hooks_lock:
            hooks = self.__dict__.setdefault(kind, {})
            handle = RemovableHandle(hooks, hook, prepend)
            self.__dict__["_hooked"] = True  # __call__ takes the path that runs hooks from now
            if with_kwargs:
                self.__dict__.setdefault(kind + "_with_kwargs", set()).add(handle.id)
            if always_call:
                self.__dict__.setdefault(kind + "_always_called", set()).add(handle.id)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; it may return new args (a tuple, or
        one value). With ``with_kwargs=True`` it is called as ``hook(module, args, kwargs)`` and
        may return ``(args, kwargs)``; ``prepend=True`` puts it before the hooks registered so
        far. Returns a handle; ``handle.remove()`` takes the hook off."""
        return self._register_hook("_forward_pre_hooks", hook, with_kwargs, prepend)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward (``hook(module, args, kwargs,
        output)`` with ``with_kwargs=True``); it may return a new output. With
        ``always_call=True`` it is also called, with output None, when forward raises (the
        error then goes on)."""
        return self._register_hook("_forward_hooks", hook, with_kwargs, prepend, always_call)

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients of this call's outputs are
        complete, before those of its inputs are computed; it may return a new grad_output (a
        tuple, one per output)."""
        return self._register_hook("_backward_pre_hooks", hook, prepend=prepend)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of this call's
        positional inputs are computed (None for an input that is not a Tensor requiring grad);
        it may return a new grad_input, which flows on instead."""
        return self._register_hook("_backward_hooks", hook, prepend=prepend)

    # --- discovery ----------------------------------------------------------------------------

    def named_modules(self, memo=None, prefix: str = "") -> list[tuple[str, Module]]:
        """Every module of the tree, this one first as ``prefix``, each once, parents before
        children. ``memo``: a set of modules to leave out, as PyTorch's."""
        out, seen = [], {id(m) for m in memo} if memo is not None else set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            out.append((name, module))
            children = [(_join(name, n), m) for n, m in _members(module) if isinstance(m, Module)]
            stack.extend(reversed(children))
        return out

    def named_children(self) -> list[tuple[str, Module]]:
        return [(n, m) for n, m in _members(self) if isinstance(m, Module)]

    def children(self) -> list[Module]:
        return [m for _, m in self.named_children()]

    def _state(self, prefix: str = "", recurse: bool = True) -> list[tuple[str, Tensor, str]]:
        """(dotted name, tensor, kind) for every tensor you created, each once under its first
        name; kind is "parameter" (it requires grad), "frozen" (a parameter that does not, see
        ``requires_grad_``), "buffer", or "temporary" (a buffer kept out of ``state_dict``)."""
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        found = []  # every (dotted name, tensor, module, attribute), a shared tensor more than once
        for mprefix, module in modules:
            found.extend((_join(mprefix, name), t, module, name) for name, t in _members(module)
                         if _is_state(t))
        # a tensor declared a parameter (or temporary) where it is met anywhere in the tree is one
        declared = {id(t) for _, t, m, n in found if n in m.__dict__.get("_parameter_names", ())}
        temporary = {id(t) for _, t, m, n in found if n in m.__dict__.get("_non_persistent", ())}
        out, seen = [], set()
        for name, t, _, _ in found:
            if id(t) in seen:
                continue
            seen.add(id(t))
            kind = ("parameter" if t._requires_grad else "frozen" if id(t) in declared
                    else "temporary" if id(t) in temporary else "buffer")
            out.append((name, t, kind))
        return out

    def named_tensors(self, prefix: str = "", recurse: bool = True) -> list[tuple[str, Tensor]]:
        """Every tensor of the tree that you created (parameters, frozen parameters and
        buffers), each once; computed tensors are left out."""
        return [(n, t) for n, t, _ in self._state(prefix, recurse)]

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> list[tuple[str, Tensor]]:
        """(dotted name, Tensor) for every tensor that requires grad; give it to an optimizer.

        Unlike PyTorch, a frozen parameter (``requires_grad_(False)``) is left out: this
        library's optimizers refuse tensors that do not require grad, so ``model.parameters()``
        after freezing part of a model is the list to train. ``recurse=False``: only this
        module's own tensors."""
        return [(n, t) for n, t, kind in self._state(prefix, recurse) if kind == "parameter"]

    def parameters(self, recurse: bool = True) -> list[Tensor]:
        return [t for _, t in self.named_parameters(recurse=recurse)]

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> list[tuple[str, Tensor]]:
        """The tensors of the state that are not parameters (running statistics, and tensors
        given to ``register_buffer``); frozen parameters are neither buffers nor, unlike
        PyTorch, in ``parameters()``."""
        return [(n, t) for n, t, kind in self._state(prefix, recurse)
                if kind in ("buffer", "temporary")]

    def buffers(self, recurse: bool = True) -> list[Tensor]:
        return [t for _, t in self.named_buffers(recurse=recurse)]

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    def _check_name(self, name, what: str) -> None:
        where = f"{type(self).__name__}.{what}"
        if not isinstance(name, str) or not name or "." in name:
            raise ArgumentError(f"{where}: the name must be a non-empty string without '.' (a "
                                f"dot would make its state_dict key ambiguous), got {name!r}")
        if hasattr(type(self), name):
            raise ArgumentError(f"{where}: {name!r} is a method or attribute of "
                                f"{type(self).__name__}; choose another name")

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """``self.name = tensor`` as state that is not trained (PyTorch's spelling); an array
        is wrapped in a Tensor. ``persistent=False`` keeps it out of ``state_dict()``."""
        self._check_name(name, "register_buffer")
        if tensor is not None and not isinstance(tensor, TensorBase):
            tensor = Tensor(np.asarray(tensor))
        if tensor is not None and not _is_state(tensor):
            raise ArgumentError(f"{type(self).__name__}.register_buffer: {name!r} is computed by "
                                "an op (it is part of a graph); pass tensor.detach()")
        if tensor is not None and tensor._requires_grad:
            raise ArgumentError(f"{type(self).__name__}.register_buffer: {name!r} requires grad, "
                                "which makes it a parameter here; use register_parameter, or "
                                "pass tensor.detach() for a buffer")
        own = self.__dict__
        own.get("_parameter_names", set()).discard(name)
        if persistent:
            own.get("_non_persistent", set()).discard(name)
        else:
            own.setdefault("_non_persistent", set()).add(name)
        setattr(self, name, tensor)

    def register_parameter(self, name: str, param) -> None:
        """``self.name = param`` as a parameter: a leaf Tensor (``nn.Parameter(data)``) or None.
        One that does not require grad is a frozen parameter: ``requires_grad_(True)`` on the
        module unfreezes it."""
        self._check_name(name, "register_parameter")
        if param is not None and not _is_state(param):
            got = ("a tensor computed by an op" if isinstance(param, TensorBase)
                   else f"a {type(param).__name__}")
            raise ArgumentError(f"{type(self).__name__}.register_parameter: {name!r} is {got}; "
                                "a parameter is a leaf Tensor: wrap the data in nn.Parameter(...)")
        own = self.__dict__
        own.get("_non_persistent", set()).discard(name)
        own.setdefault("_parameter_names", set()).add(name)
        setattr(self, name, param)

    def add_module(self, name: str, module) -> None:
        self._check_name(name, "add_module")
        if module is not None and not isinstance(module, Module):
            raise ArgumentError(f"{type(self).__name__}.add_module: {name!r} is a "
                                f"{type(module).__name__} object, not a Module")
        setattr(self, name, module)

    def apply(self, fn) -> Module:
        """Call ``fn(m)`` on every module of the tree, each once, children before their parent
        (post-order, as PyTorch)."""
        order, seen = [], set()
        stack = [(self, False)]
        while stack:
            module, children_done = stack.pop()
            if children_done:
                order.append(module)
            elif id(module) not in seen:
                seen.add(id(module))
                stack.append((module, True))
                stack.extend((m, False) for m in reversed(module.children()))
        for module in order:
            fn(module)
        return self

    # --- modes and gradients ------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout active, BatchNorm's batch statistics) on the whole tree."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Set evaluation mode (Dropout is the identity) on the whole tree."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze (True) every parameter of the tree; buffers (running
        statistics, ``register_buffer``) are never touched.

        A parameter is told from a buffer by requiring grad, so freezing records each frozen
        tensor's attribute name on its module, and ``requires_grad_(True)`` unfreezes those
        (and the weights the layers and ``register_parameter`` declared). A tensor of your own
        module that you froze yourself (``m.w.requires_grad_(False)``) reads as a buffer."""
        kinds = ("parameter", "frozen")
        params = {id(t): t for _, t, kind in self._state() if kind in kinds}
        for module in self.modules():
            for name, t in _members(module):
                if id(t) in params:
                    module.__dict__.setdefault("_parameter_names", set()).add(name)
        for t in params.values():
            if t._data.dtype.kind == "f":
                t.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's ``.grad`` (set it to None, as PyTorch does by default)."""
        for p in self.parameters():
            if set_to_none or p._grad is None:
                p._grad = None
            else:
                p._grad.zero_()

    def to(self, *args, **kwargs) -> Module:
        """PyTorch's ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` (its
        dtype), positional or as keywords: a floating dtype converts every floating tensor of
        the state in place (integer ones such as ``num_batches_tracked`` stay); the only
        device is the CPU."""
        where = f"{type(self).__name__}.to"
        dtype = to_arguments(where, args, kwargs)
        if dtype is None:
            return self
        dt = resolve_dtype(dtype, where)
        if dt.kind != "f":
            raise DTypeError(f"{where}: only floating dtypes convert a module (float16, float32, "
                             f"float64), got {dt}, as in PyTorch: trained weights must stay "
                             "floats; convert a single tensor with t.to(dtype)")
        for _, t in self.named_tensors():
            if t._data.dtype.kind == "f":
                t.data = t._data.astype(dt)
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    def half(self) -> Module:
        return self.to(np.float16)

    def cpu(self) -> Module:
        """The module itself: the CPU is the only device (as ``.cpu()`` on a PyTorch CPU model)."""
        return self

    # --- state --------------------------------------------------------------------------------

    def _persistent(self) -> list[tuple[str, Tensor]]:
        """The tensors a checkpoint holds: all of the state but ``persistent=False`` buffers."""
        return [(n, t) for n, t, kind in self._state() if kind != "temporary"]

    def state_dict(self) -> dict[str, np.ndarray]:
        """{dotted name: copy of the array}: a snapshot that in-place updates cannot change.
        Buffers registered with ``persistent=False`` are left out."""
        return {name: t._data.copy() for name, t in self._persistent()}

    def load_state_dict(self, state: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays from ``state`` into this module's tensors, in place.

        Everything is checked first (missing and unexpected keys when ``strict``, and always the
        shape and dtype of each array), so a failed load raises ``CheckpointError`` and leaves the
        module exactly as it was. Returns the missing and unexpected keys. The copies are noted
        as writes: a backward through a graph built before the load raises.
        """
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict):
            raise CheckpointError(f"{where}: expected a dict of arrays (as state_dict() gives), "
                                  f"got {type(state).__name__}")
        own = dict(self._persistent())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise CheckpointError(
                f"{where}: keys do not match: missing {missing or 'none'}, unexpected "
                f"{unexpected or 'none'}; was the state saved from a different architecture? "
                "Pass strict=False to load only the common keys"
            )
        pairs = []
        for key, t in own.items():
            if key not in state:
                continue
            value = state[key]
            arr = value._data if isinstance(value, TensorBase) else np.asarray(value)
            if arr.shape != t.shape:
                raise CheckpointError(f"{where}: {key!r} has shape {arr.shape} in the state but "
                                      f"{t.shape} in the module; the layer sizes differ")
            if arr.dtype != t.dtype:
                raise CheckpointError(
                    f"{where}: {key!r} has dtype {arr.dtype} in the state but {t.dtype} in the "
                    f"module (shape {t.shape}); convert the state with .astype('{t.dtype}') first"
                )
            if not t._data.flags.writeable:
                raise GraphError(f"{where}: {key!r} cannot be written (its array is read-only)")
            pairs.append((t, arr))
        for t, arr in pairs:
            np.copyto(t._data, arr)
            note_write(t)
        return IncompatibleKeys(missing, unexpected)

    # --- display ------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of this module's repr."""
        return ""

    def __repr__(self) -> str:
        children = [(n, m) for n, m in _members(self) if isinstance(m, Module)]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [f"  ({name}): {repr(m).replace(chr(10), chr(10) + '  ')}" for name, m in children]
        return head + "\n" + "\n".join(lines) + "\n)"
