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

from collections import namedtuple

import numpy as np

from .._modes import state
from ..autograd.function import TensorBase, note_write
from ..errors import CheckpointError, GraphError, NotDefinedError
from ..tensor import RemovableHandle, Tensor

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


def _members(module):
    """(relative name, Tensor or Module) for each direct member, in attribute order."""
    stack = [(name, value) for name, value in reversed(vars(module).items())
             if not name.startswith("_forward")]
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


class Module:
    """Base class: subclasses set attributes in ``__init__`` and define ``forward``."""

    training = True  # train() / eval() set it on every module of the tree

    def forward(self, *args, **kwargs):
        raise NotDefinedError(f"{type(self).__name__}.forward is not defined: a Module "
                                  "subclass defines forward(self, x)")

    def __call__(self, *args, **kwargs):
        """Run ``forward`` (and the hooks), recording this call on every op it creates."""
        own = self.__dict__
        if "_forward_pre_hooks" in own:
            for hook in list(own["_forward_pre_hooks"].values()):
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        s = state
        outer = s.frame
        s.frame = CallFrame(self, outer)
        try:
            out = self.forward(*args, **kwargs)
        finally:
            s.frame = outer
        if "_forward_hooks" in own:
            for hook in list(own["_forward_hooks"].values()):
                result = hook(self, args, out)
                if result is not None:
                    out = result
        return out

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; it may return new args (a tuple, or
        one value). Returns a handle; ``handle.remove()`` takes the hook off."""
        return RemovableHandle(self.__dict__.setdefault("_forward_pre_hooks", {}), hook)

    def register_forward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; it may return a new output."""
        return RemovableHandle(self.__dict__.setdefault("_forward_hooks", {}), hook)

    # --- discovery ----------------------------------------------------------------------------

    def named_modules(self) -> list[tuple[str, Module]]:
        """Every module of the tree, this one first as "", each once, parents before children."""
        out, seen = [], set()
        stack = [("", self)]
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

    def named_tensors(self) -> list[tuple[str, Tensor]]:
        """Every tensor of the tree that you created (parameters, and buffers such as running
        statistics or frozen weights), each once; computed tensors are left out."""
        out, seen = [], set()
        for prefix, module in self.named_modules():
            for name, t in _members(module):
                if _is_state(t) and id(t) not in seen:
                    seen.add(id(t))
                    out.append((_join(prefix, name), t))
        return out

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """(dotted name, Tensor) for every tensor that requires grad; give it to an optimizer."""
        return [(n, t) for n, t in self.named_tensors() if t._requires_grad]

    def parameters(self) -> list[Tensor]:
        return [t for _, t in self.named_parameters()]

    def named_buffers(self) -> list[tuple[str, Tensor]]:
        """The tensors of the state that do not require grad (running statistics)."""
        return [(n, t) for n, t in self.named_tensors() if not t._requires_grad]

    def buffers(self) -> list[Tensor]:
        return [t for _, t in self.named_buffers()]

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    def register_buffer(self, name: str, tensor) -> None:
        """``self.name = tensor`` as state that is not trained (PyTorch's spelling)."""
        setattr(self, name, tensor if tensor is None or isinstance(tensor, TensorBase)
                else Tensor(np.asarray(tensor)))

    def register_parameter(self, name: str, tensor) -> None:
        setattr(self, name, tensor)

    def add_module(self, name: str, module) -> None:
        setattr(self, name, module)

    def apply(self, fn) -> Module:
        """Call ``fn(m)`` on every module of the tree (children first, as PyTorch)."""
        for m in reversed(self.modules()):
            fn(m)
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
        for p in self.named_tensors():
            if p[1]._data.dtype.kind == "f":
                p[1].requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's ``.grad`` (set it to None, as PyTorch does by default)."""
        for p in self.parameters():
            if set_to_none or p._grad is None:
                p._grad = None
            else:
                p._grad.zero_()

    def to(self, *args, **kwargs) -> Module:
        """Devices do not exist here; a dtype converts every floating tensor of the state."""
        dtype = kwargs.get("dtype", args[0] if args else None)
        if dtype is not None and dtype != "cpu":
            for _, t in self.named_tensors():
                if t._data.dtype.kind == "f":
                    t.data = t._data.astype(dtype)
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

    def state_dict(self) -> dict[str, np.ndarray]:
        """{dotted name: copy of the array}: a snapshot that in-place updates cannot change."""
        return {name: t._data.copy() for name, t in self.named_tensors()}

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
        own = dict(self.named_tensors())
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
