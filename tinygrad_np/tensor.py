"""Tensor: a NumPy array that remembers how it was made, and backward() over that record.

This is the only module that knows the graph's structure. Primitives (``ops.py``) call
``Tensor._make`` with their output array, their parents and a closure mapping the output's
gradient to one gradient per parent; ``backward`` walks the graph in one iterative topological
order (``toposort``), which the graph drawer (``viz.py``) shares.
"""

from __future__ import annotations

import contextlib
import os
import traceback

import numpy as np

from .errors import AnomalyError, DTypeError, GraphError, ShapeError

# --- global modes -----------------------------------------------------------------------------

_DEFAULT_FLOAT = np.dtype(np.float32)


def set_default_dtype(dtype) -> None:
    """Set the dtype of floating tensors built from Python numbers and lists (float32 at start)."""
    global _DEFAULT_FLOAT
    dt = resolve_dtype(dtype, "set_default_dtype")
    if dt.kind != "f":
        raise DTypeError(f"set_default_dtype: {dt} is not a floating dtype; use float32 or float64")
    _DEFAULT_FLOAT = dt


def get_default_dtype() -> np.dtype:
    return _DEFAULT_FLOAT


class _Modes:
    """Process-wide switches read on every op (module attributes would need `global` everywhere)."""

    grad_enabled = True
    anomaly = False
    scope = None  # the Module whose forward is running, recorded on each op for graph clusters


class no_grad(contextlib.ContextDecorator):
    """Record no graph inside this block (or decorated function): for evaluation and updates."""

    def __enter__(self):
        self._prev = _Modes.grad_enabled
        _Modes.grad_enabled = False
        return self

    def __exit__(self, *exc):
        _Modes.grad_enabled = self._prev
        return False


def is_grad_enabled() -> bool:
    return _Modes.grad_enabled


class detect_anomaly(contextlib.ContextDecorator):
    """Check every op's output and every backward gradient for NaN/Inf, and name the culprit.

    While active, each op also keeps the user-code line that created it, so the error can point
    at it. Off, it costs one attribute read per op.
    """

    def __enter__(self):
        self._prev = _Modes.anomaly
        _Modes.anomaly = True
        return self

    def __exit__(self, *exc):
        _Modes.anomaly = self._prev
        return False


_DTYPE_NAMES = {
    "float32": np.float32, "float64": np.float64, "float16": np.float16,
    "int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
    "uint8": np.uint8, "bool": np.bool_,
}


def resolve_dtype(dtype, where: str = "Tensor") -> np.dtype:
    """Turn 'float32', np.float32 or np.dtype('float32') into an np.dtype, or explain the error."""
    try:
        dt = np.dtype(_DTYPE_NAMES.get(dtype, dtype)) if isinstance(dtype, str) else np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind not in "fiub":
        raise DTypeError(
            f"{where}: unknown or unsupported dtype {dtype!r}; use one of {', '.join(_DTYPE_NAMES)}"
        )
    return dt


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_frame() -> str:
    """The innermost stack frame outside tinygrad_np (subpackages included, so an op made in a
    layer's forward points at the line that called the layer): where the user created an op."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f'{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}'
    return "<unknown>"


def _fmt(shape) -> str:
    return str(tuple(shape))


# --- Tensor -----------------------------------------------------------------------------------


class Tensor:
    """An ``np.ndarray`` plus what autodiff needs: ``grad``, ``requires_grad`` and, for a tensor
    computed by an op, its parents and backward closure.

    Tensors made from Python numbers or lists get the default float dtype (float32, see
    ``set_default_dtype``); NumPy arrays and scalars keep their dtype (float64 stays float64),
    and arrays are shared, not copied, as ``torch.from_numpy`` does. Integer and bool tensors
    (labels, masks) cannot require grad.
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_parents", "_backward", "_op",
                 "_attrs", "_scope", "_trace", "_retain", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__ instead of NumPy

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        try:
            if dtype is not None:
                arr = np.asarray(data, dtype=resolve_dtype(dtype))
            elif isinstance(data, np.ndarray):
                arr = data
            elif isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, like an array
                arr = np.asarray(data)
            else:
                arr = np.asarray(data)
                if arr.dtype.kind == "f":
                    arr = arr.astype(_DEFAULT_FLOAT, copy=False)
        except ValueError as e:
            if "inhomogeneous" not in str(e):
                raise
            raise ShapeError(
                f"Tensor: the nested lists have rows of different lengths ({e}); every row "
                "must have the same length, as in [[1, 2], [3, 4]]"
            ) from None
        if arr.dtype.kind not in "fiub":
            raise DTypeError(
                f"Tensor: cannot hold data of dtype {arr.dtype} (shape {_fmt(arr.shape)}); "
                "give numbers (float or int) or a numeric NumPy array"
            )
        self.data = arr
        self.grad = None
        self.requires_grad = False
        self.name = name
        self._parents = ()
        self._backward = None
        self._op = None
        self._attrs = None
        self._scope = None
        self._trace = None
        self._retain = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(data, parents, backward, op, attrs=None) -> Tensor:
        """Wrap an op's output; record the graph only if a parent requires grad."""
        out = Tensor.__new__(Tensor)
        if type(data) is not np.ndarray:  # NumPy returns scalars for 0-d results
            data = np.asarray(data)
        out.data = data
        out.grad = None
        out.name = None
        out._op = op
        out._attrs = attrs
        out._scope = _Modes.scope
        out._retain = False
        out._trace = None
        if _Modes.grad_enabled and any(p.requires_grad for p in parents):
            out.requires_grad = True
            out._parents = parents
            out._backward = backward
        else:
            out.requires_grad = False
            out._parents = ()
            out._backward = None
        if _Modes.anomaly:
            out._trace = _user_frame()
            if data.dtype.kind == "f" and not np.isfinite(data).all():
                raise AnomalyError(
                    f"detect_anomaly: {op} produced {_nonfinite(data)} in its output of shape "
                    f"{_fmt(data.shape)} from inputs {_shapes(parents)}; created at {out._trace}"
                )
        return out

    # --- properties -------------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return not self._parents

    @property
    def op(self) -> str | None:
        """Name of the op that produced this tensor (None for a tensor you created)."""
        return self._op

    @property
    def T(self) -> Tensor:
        return ops.transpose(self)

    def __len__(self) -> int:
        return len(self.data)

    def item(self):
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return self.data

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory, as in PyTorch)."""
        return Tensor(self.data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag and self.data.dtype.kind != "f":
            raise DTypeError(
                f"requires_grad: only floating tensors can require grad, but this one has dtype "
                f"{self.data.dtype} and shape {_fmt(self.shape)}; integer tensors hold labels or "
                "indices. Convert with Tensor(x, dtype='float32') if you meant numbers."
            )
        if not self.is_leaf:
            raise GraphError(
                f"requires_grad_: this tensor was computed by {self._op}; set requires_grad on "
                "the leaf tensors you created, or call .detach() first"
            )
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this non-leaf tensor after backward (for inspection and drawing)."""
        self._retain = True
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", threshold=8, edgeitems=2,
                               prefix="Tensor(")
        extra = f", op={self._op}" if self._op else ""
        if self.requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        return f"Tensor({body}, shape={_fmt(self.shape)}, dtype={self.dtype}{extra})"

    # --- backward ---------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` that requires grad.

        ``self`` must be a scalar unless ``gradient`` (same shape as ``self``) is given. The graph
        is freed afterwards (saved arrays dropped, structure kept for drawing) unless
        ``retain_graph=True``; gradients add up across calls, as in PyTorch.
        """
        if not self.requires_grad:
            raise GraphError(
                f"backward: this tensor (shape {_fmt(self.shape)}, op {self._op or 'none'}) does "
                "not require grad: no input that produced it had requires_grad=True, or it was "
                "computed under no_grad()"
            )
        user_gradient = gradient
        if gradient is None:
            if self.data.size != 1:
                raise GraphError(
                    f"backward: output of {self._op or 'a leaf'} has shape {_fmt(self.shape)}; "
                    "backward() without a gradient needs a scalar (call .sum() or .mean() first, "
                    "or pass gradient= with the same shape)"
                )
            gradient = np.ones_like(self.data)
        else:
            gradient = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient,
                                  dtype=self.data.dtype)
            if gradient.shape != self.shape:
                raise GraphError(
                    f"backward: gradient has shape {_fmt(gradient.shape)} but the output of "
                    f"{self._op or 'a leaf'} has shape {_fmt(self.shape)}; pass a gradient of "
                    "the output's shape (d loss / d output)"
                )
        anomaly = _Modes.anomaly
        # grads maps tensor -> (its gradient so far, whether no one else holds that array);
        # a leaf keeps an array no one else holds as its .grad, without a copy
        grads = {self: (gradient, user_gradient is None)}
        for node in reversed(toposort(self)):
            entry = grads.pop(node, None)
            if entry is None:
                continue
            g, owned = entry
            if not node._parents:
                _accumulate_leaf(node, g, owned)
                continue
            if node._retain:
                _accumulate_leaf(node, g, False)  # g goes on to the backward below
            if node._backward is None:
                raise GraphError(
                    f"backward: the graph through {node._op} (output shape {_fmt(node.shape)}) "
                    "was freed by an earlier backward(); pass retain_graph=True to the first "
                    "backward() if you need to go through the graph twice"
                )
            parent_grads = node._backward(g)
            if not retain_graph:
                node._backward = None
            for parent, pg in zip(node._parents, parent_grads):
                if pg is None or not parent.requires_grad:
                    continue
                if anomaly:
                    _check_grad(node, parent, pg)
                prev = grads.get(parent)
                if prev is not None:
                    grads[parent] = (prev[0] + pg, True)
                else:  # only a leaf keeps its gradient array, so only a leaf needs to know
                    grads[parent] = (pg, not parent._parents and _is_own(pg, g, parent_grads))

    # --- operators: the primitives live in ops.py -------------------------------------------

    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pow__(self, exponent):
        return ops.pow(self, exponent)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def tanh(self):
        return ops.tanh(self)

    def relu(self):
        return ops.relu(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def abs(self):
        return ops.abs(self)

    def sqrt(self):
        return ops.pow(self, 0.5)

    def clip(self, low, high):
        return ops.clip(self, low, high)

    def sum(self, axis=None, keepdims=False):
        return ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.max(self, axis, keepdims)

    def reshape(self, *shape):
        return ops.reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int)
                           else shape)

    def flatten(self, start_dim: int = 0):
        """Keep the first ``start_dim`` axes and merge the rest into one: 1-D by default, as in
        PyTorch; ``flatten(1)`` keeps the batch axis, (N, 28, 28) -> (N, 784)."""
        return ops.reshape(self, self.shape[:start_dim] + (-1,))

    def transpose(self, *axes):
        """Reverse the axes, or permute them: x.transpose(1, 0, 2) or x.transpose((1, 0, 2))."""
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = axes[0]
        return ops.transpose(self, axes or None)

    def astype(self, dtype):
        return ops.astype(self, dtype)

    def softmax(self, axis=-1):
        return ops.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return ops.log_softmax(self, axis)

    def cross_entropy(self, targets, reduction="mean"):
        return ops.cross_entropy(self, targets, reduction)

    def argmax(self, axis=None) -> np.ndarray:
        """Indices of the maxima (a plain array: not differentiable)."""
        return self.data.argmax(axis=axis)

    # --- constructors -----------------------------------------------------------------------

    @classmethod
    def zeros(cls, *shape, dtype=None, requires_grad=False):
        return cls(np.zeros(shape, dtype=dtype or _DEFAULT_FLOAT), requires_grad=requires_grad)

    @classmethod
    def ones(cls, *shape, dtype=None, requires_grad=False):
        return cls(np.ones(shape, dtype=dtype or _DEFAULT_FLOAT), requires_grad=requires_grad)

    @classmethod
    def randn(cls, *shape, rng=None, dtype=None, requires_grad=False):
        from .random import get_rng

        data = (rng or get_rng()).standard_normal(shape).astype(dtype or _DEFAULT_FLOAT)
        return cls(data, requires_grad=requires_grad)


# --- graph traversal (shared with viz.py) ---------------------------------------------------


def toposort(*roots: Tensor, include_constants: bool = False) -> list[Tensor]:
    """Every tensor the roots depend on, each after all of its parents (iterative DFS).

    By default only tensors that require grad are visited (what backward needs); the graph
    drawer asks for constants and inputs too.
    """
    order, seen = [], set()  # Tensors hash by identity (no __eq__), so they key sets directly
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for parent in reversed(node._parents):
            if parent not in seen and (include_constants or parent.requires_grad):
                stack.append((parent, False))
    return order


def _is_own(pg, g, parent_grads) -> bool:
    """Whether a backward's result ``pg`` is held by no one else: not its incoming gradient
    ``g``, not a view of another array, not given to two parents."""
    return (type(pg) is np.ndarray and pg.base is None and pg is not g
            and sum(q is pg for q in parent_grads) == 1)


def _accumulate_leaf(node: Tensor, g, owned: bool) -> None:
    """Add g to node.grad; keep g itself only if ``owned`` (no one else holds that array)."""
    dtype = node.data.dtype
    if node.grad is None:
        node.grad = g if owned and g.dtype == dtype else np.array(g, dtype=dtype)
    else:
        node.grad = (node.grad + g).astype(dtype, copy=False)


def _nonfinite(a) -> str:
    n_nan, n_inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
    return " and ".join(s for s in (f"{n_nan} NaN" if n_nan else "", f"{n_inf} Inf" if n_inf
                                    else "") if s)


def _shapes(tensors) -> str:
    return ", ".join(_fmt(t.shape) for t in tensors)


def _check_grad(node: Tensor, parent: Tensor, g) -> None:
    g = np.asarray(g)
    if g.dtype.kind == "f" and not np.isfinite(g).all():
        raise AnomalyError(
            f"detect_anomaly: backward of {node._op} (output shape {_fmt(node.shape)}) produced "
            f"{_nonfinite(g)} in the gradient for its input of shape {_fmt(parent.shape)}; "
            f"the op was created at {node._trace or '<created before detect_anomaly was on>'}"
        )


from . import ops  # noqa: E402  (ops imports Tensor from this module)
