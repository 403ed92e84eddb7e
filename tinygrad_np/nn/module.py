"""Module: the base class of layers and models.

A module is a plain Python object. Its parameters and sub-modules are found by walking its
attributes (Tensors that require grad, Modules, and lists/tuples/dicts of them), so a subclass
writes no ``parameters()`` of its own and needs no ``super().__init__()`` call: assigning
``self.weight = Tensor(..., requires_grad=True)`` is enough. Names are dotted paths through
attributes, list indices and dict keys: ``layers.0.weight``.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..errors import CheckpointError
from ..tensor import Tensor, _Modes

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _members(module):
    """(relative name, Tensor or Module) for each direct member, in attribute order."""
    stack = [(name, value) for name, value in reversed(vars(module).items())]
    while stack:
        name, value = stack.pop()
        if isinstance(value, (Tensor, Module)):
            yield name, value
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{name}.{i}", v) for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, dict):
            stack.extend((f"{name}.{k}", v) for k, v in reversed(list(value.items())))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class Module:
    """Base class: subclasses set attributes in ``__init__`` and define ``forward``."""

    training = True  # train() / eval() set it on every module of the tree

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not defined")

    def __call__(self, *args, **kwargs):
        """Run ``forward``, recording this module as the scope of every op it creates."""
        outer = _Modes.scope
        _Modes.scope = self
        try:
            return self.forward(*args, **kwargs)
        finally:
            _Modes.scope = outer

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

    def named_tensors(self) -> list[tuple[str, Tensor]]:
        """Every Tensor of the tree (parameters and constants such as frozen weights), each once."""
        out, seen = [], set()
        for prefix, module in self.named_modules():
            for name, t in _members(module):
                if isinstance(t, Tensor) and id(t) not in seen:
                    seen.add(id(t))
                    out.append((_join(prefix, name), t))
        return out

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """(dotted name, Tensor) for every Tensor that requires grad; give it to an optimizer."""
        return [(n, t) for n, t in self.named_tensors() if t.requires_grad]

    def parameters(self) -> list[Tensor]:
        return [t for _, t in self.named_parameters()]

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    # --- modes and gradients ------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout active) on this module and every module inside it."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Set evaluation mode (Dropout is the identity) on the whole tree."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Drop every parameter's ``.grad`` (set it to None, as PyTorch does by default)."""
        for p in self.parameters():
            p.grad = None

    # --- state --------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """{dotted name: copy of the array}: a snapshot that in-place updates cannot change."""
        return {name: t.data.copy() for name, t in self.named_tensors()}

    def load_state_dict(self, state: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays from ``state`` into this module's tensors, in place.

        Everything is checked first (missing and unexpected keys when ``strict``, and always the
        shape and dtype of each array), so a failed load raises ``CheckpointError`` and leaves the
        module exactly as it was. Returns the missing and unexpected keys.
        """
        where = f"{type(self).__name__}.load_state_dict"
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
            arr = value.data if isinstance(value, Tensor) else np.asarray(value)
            if arr.shape != t.shape:
                raise CheckpointError(f"{where}: {key!r} has shape {arr.shape} in the state but "
                                      f"{t.shape} in the module; the layer sizes differ")
            if arr.dtype != t.dtype:
                raise CheckpointError(
                    f"{where}: {key!r} has dtype {arr.dtype} in the state but {t.dtype} in the "
                    f"module (shape {t.shape}); convert the state with .astype('{t.dtype}') first"
                )
            pairs.append((t, arr))
        for t, arr in pairs:
            np.copyto(t.data, arr)
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
