"""Tensor: a NumPy array that remembers how it was made.

The fields the engine works with live in ``autograd.function.TensorBase``; this class is the
API a user types: the constructor, properties, the operators and methods (each forwards to its
op in ``ops.py``), in-place updates, and ``backward``. The functions that build tensors
(``tensor``, ``zeros``, ``arange``, ``randn``, ...) close the file.
"""

from __future__ import annotations

import copy
import inspect
import warnings

import numpy as np

from . import ops
from ._modes import get_default_dtype, resolve_dtype, state
from .autograd import engine
from .autograd.function import (  # noqa: F401  (RemovableHandle: imported from here too)
    RemovableHandle,
    TensorBase,
    moved,
    new_tensor,
    note_write,
    op_name,
    shared_stamp,
    version,
)
from .errors import ArgumentError, DTypeError, GraphError, ShapeError


class Size(int):
    """``x.size``: the number of elements, as NumPy's attribute; called, ``x.size()`` is the
    shape and ``x.size(d)`` one dimension, as in PyTorch."""

    def __new__(cls, shape):
        self = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        self.shape = tuple(shape)
        return self

    def __call__(self, dim=None):
        if dim is None:
            return self.shape
        return self.shape[dim]


_SLOT_NAMES: dict = {}


def _own_slots(k) -> tuple:
    slots = k.__dict__.get("__slots__", ())
    return (slots,) if isinstance(slots, str) else tuple(slots)


def _slots(cls) -> tuple:
    """Every slot of a tensor class, its subclasses' own included (for __deepcopy__)."""
    names = _SLOT_NAMES.get(cls)
    if names is None:
        names = tuple(n for k in cls.__mro__ for n in _own_slots(k)
                      if n not in ("__weakref__", "__dict__"))
        _SLOT_NAMES[cls] = names
    return names


class Tensor(TensorBase):
    """An ``np.ndarray`` plus what autodiff needs: ``grad``, ``requires_grad`` and, for a tensor
    computed by an op, the op's record (``grad_fn``).

    Tensors made from Python floats (or lists holding one) get the default float dtype
    (float32, see ``set_default_dtype``); Python ints and bools give int64 and bool, as
    ``torch.tensor`` (not the legacy ``torch.Tensor``, which makes floats of everything: write
    ``Tensor([1.0, 2.0])`` or ``dtype="float32"``); NumPy arrays and scalars keep their dtype
    (float64 stays float64),
    and arrays are shared, not copied, as ``torch.from_numpy`` does (``tinygrad_np.tensor``
    copies, as ``torch.tensor``). Integer and bool tensors (labels, masks) cannot require grad.
    """

    __slots__ = ()
    __hash__ = object.__hash__  # == is element-wise, so hashing stays by identity

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy's functions on tensors: ``np.exp(t)``, ``array + t`` and the other ufuncs that
        have an op here run as that op (recorded, so gradients flow); any other ufunc runs on
        the arrays and returns an array, unless an input requires grad (the graph would be cut
        without a word, so that raises)."""
        op = _UFUNC_OPS.get(ufunc) if method == "__call__" and not kwargs else None
        if op is not None:
            return op(*inputs)
        if any(isinstance(x, TensorBase) and x._requires_grad for x in inputs):
            raise ArgumentError(
                f"numpy.{ufunc.__name__} ({method}) has no differentiable op in tinygrad_np, and "
                "running it on the arrays would cut the graph; use a tinygrad_np op, or apply it "
                "to .detach()"
            )
        arrays = [x._data if isinstance(x, TensorBase) else x for x in inputs]
        written = []
        if "out" in kwargs:
            written = [o for o in kwargs["out"] if isinstance(o, TensorBase)]
            kwargs["out"] = tuple(o._data if isinstance(o, TensorBase) else o
                                  for o in kwargs["out"])
        result = getattr(ufunc, method)(*arrays, **kwargs)
        for o in written:  # a write into a tensor's array, as t.data op= ... is
            note_write(o)
        return result

    def __array_function__(self, func, types, args, kwargs):
        """NumPy's array functions on tensors: ``np.sum(t)``, ``np.concatenate([t, u])`` and
        the others with an op of the same meaning here run as that op (recorded), with the
        keywords the op supports; any other function runs on the arrays, unless an input
        requires grad in grad mode (the graph would be cut without a word, so that raises)."""
        entry = _ARRAY_FUNCTION_OPS.get(func)
        if entry is not None:
            op, allowed = entry
            try:
                given = inspect.signature(func).bind(*args, **kwargs).arguments
            except TypeError as e:  # an argument numpy's function itself does not take
                raise ArgumentError(f"numpy.{func.__name__}: {e}") from None
            refused = [k for k in given if k not in allowed]
            if refused:
                raise ArgumentError(
                    f"numpy.{func.__name__} on a Tensor runs as tinygrad_np's op, which does "
                    f"not support {', '.join(map(repr, refused))}; it supports "
                    f"{', '.join(map(repr, allowed))}. Drop the argument, or apply "
                    f"numpy.{func.__name__} to .detach().numpy()")
            return op(**given)
        if (state.grad_enabled and func not in _NO_VALUE_FUNCTIONS
                and any(_requires_grad_in(a) for a in (*args, *kwargs.values()))):
            raise GraphError(
                f"numpy.{func.__name__} has no differentiable op in tinygrad_np, and running it "
                "on the arrays would cut the graph; use a tinygrad_np op (tinygrad_np.ops has "
                "the differentiable functions), or apply it to .detach()")
        return func(*_arrays_in(args), **{k: _arrays_in(v) for k, v in kwargs.items()})

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        stamp = None
        if isinstance(data, TensorBase):  # the same array: the same write stamp
            stamp = shared_stamp(data) if dtype is None else None
            data = data._data
        if dtype is not None:
            dtype = resolve_dtype(dtype)
        try:
            if dtype is not None:
                arr = np.asarray(data, dtype=dtype)
            elif isinstance(data, np.ndarray):
                arr = data
            elif isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, like an array
                arr = np.asarray(data)
            else:
                arr = np.asarray(data)
                if arr.dtype.kind == "f":
                    arr = arr.astype(get_default_dtype(), copy=False)
        except ValueError as e:
            if "inhomogeneous" not in str(e):
                raise
            raise ShapeError(
                f"Tensor: the nested lists have rows of different lengths ({e}); every row "
                "must have the same length, as in [[1, 2], [3, 4]]"
            ) from None
        except TypeError:
            raise DTypeError(f"Tensor: cannot make a tensor from {type(data).__name__}; give "
                             "numbers, nested lists of numbers or a NumPy array") from None
        if arr.dtype.kind not in "fiub":
            raise DTypeError(
                f"Tensor: cannot hold data of dtype {arr.dtype} (shape {tuple(arr.shape)}); "
                "give numbers (float or int) or a numeric NumPy array"
            )
        self._data = arr
        self._grad = None
        self._requires_grad = False
        self._ctx = None
        self._index = None  # made by you, not by an op: module state (see nn.Module)
        self._stamp = stamp if arr is data else None
        self.name = name
        self._hooks = None
        self._retain = False
        if requires_grad:
            self.requires_grad_(True)

    # --- the array, the gradient, the flag ----------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        """The array itself (shared, not copied). ``t.data op= ...`` and ``t.data = array`` are
        noted as writes, so a backward through a graph that saved the old values raises."""
        return self._data

    @data.setter
    def data(self, value):
        arr = value._data if isinstance(value, TensorBase) else np.asarray(value)
        if arr is not self._data:
            self._data = arr
            self._stamp = None  # a new array: views of the old one keep the old stamp
        note_write(self)

    @property
    def grad(self):
        """The gradient accumulated by ``backward()``: a Tensor of this tensor's shape, or None.

        Assign None to drop it (``zero_grad`` does), or a Tensor or array of the same shape.
        Reading it on a non-leaf tensor that did not ``retain_grad()`` warns, as PyTorch does:
        backward fills only the leaves'.
        """
        g = self._grad
        if g is None and self._ctx is not None and not self._retain:
            warnings.warn(
                f"the .grad of a tensor that is not a leaf (the output of {self.op}, shape "
                f"{self.shape}) is read: backward() fills only the .grad of leaves. Call "
                ".retain_grad() on it before backward() to keep its gradient, or read the "
                ".grad of the leaf you meant", UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value):
        if value is None:
            self._grad = None
            return
        g = value if isinstance(value, TensorBase) else Tensor(np.asarray(value))
        if g._data.shape != self._data.shape:
            raise ShapeError(f"grad: assigned a gradient of shape {tuple(g._data.shape)} to a "
                             f"tensor of shape {self.shape}; it must have the tensor's shape")
        if g._data.dtype.kind != "f":
            raise DTypeError(f"grad: assigned a gradient of dtype {g._data.dtype}; gradients "
                             "are floating")
        self._grad = g

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool):
        self.requires_grad_(flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Make this leaf record the ops that use it (or stop). On a computed tensor, asking
        for what it already has is a no-op, as in PyTorch."""
        flag = bool(flag)
        if flag and self._data.dtype.kind != "f":
            raise DTypeError(
                f"requires_grad: only floating tensors can require grad, but this one has dtype "
                f"{self._data.dtype} and shape {self.shape}; integer tensors hold labels or "
                "indices. Convert with Tensor(x, dtype='float32') if you meant numbers."
            )
        if self._ctx is not None:
            if flag == self._requires_grad:
                return self
            raise GraphError(
                f"requires_grad_: this tensor was computed by {op_name(self._ctx.fn)}; set "
                "requires_grad on the leaf tensors you created, or call .detach() first"
            )
        self._requires_grad = flag
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this non-leaf tensor after backward (for inspection and drawing)."""
        if not self._requires_grad:
            # PyTorch refuses too: no gradient will ever reach it, so there is nothing to keep
            raise GraphError(
                f"retain_grad: can't retain_grad on a tensor that has requires_grad=False (shape "
                f"{self.shape}); no gradient reaches it. Call requires_grad_() on a tensor you "
                "created, or compute it from one that requires grad (outside no_grad())")
        self._retain = True
        return self

    @property
    def retains_grad(self) -> bool:
        return self._retain and self._ctx is not None

    def zero_grad(self) -> None:
        self._grad = None

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a hook may return a
        replacement gradient. Returns a handle whose ``.remove()`` takes the hook off."""
        if not self._requires_grad:
            raise GraphError("register_hook: this tensor does not require grad, so no gradient "
                             "will reach it; call requires_grad_() first")
        if not callable(hook):
            raise ArgumentError(f"register_hook: the hook must be callable, got "
                                f"{type(hook).__name__}")
        if self._hooks is None:
            self._hooks = {}
        return RemovableHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` on this leaf once ``backward()`` has added its gradient to
        ``.grad`` (after every gradient of that backward is written). Returns a handle."""
        if self._ctx is not None:
            raise GraphError("register_post_accumulate_grad_hook: only a leaf tensor (one you "
                             f"created) accumulates a .grad; this one is the output of {self.op}")
        if not self._requires_grad:
            raise GraphError("register_post_accumulate_grad_hook: this tensor does not require "
                             "grad, so no gradient will reach it; call requires_grad_() first")
        if not callable(hook):
            raise ArgumentError("register_post_accumulate_grad_hook: the hook must be callable, "
                                f"got {type(hook).__name__}")
        if self._hooks is None:
            self._hooks = {}
        return RemovableHandle(self._hooks, engine.PostAccumulate(hook))

    # --- what it is ---------------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> Size:
        return Size(self._data.shape)

    def numel(self) -> int:
        return self._data.size

    def dim(self) -> int:
        return self._data.ndim

    @property
    def grad_fn(self):
        """The record of the op that made this tensor (its ``Context``), None for a leaf."""
        return self._ctx

    @property
    def op(self) -> str | None:
        """Name of the op that produced this tensor (None for a tensor you created)."""
        return None if self._ctx is None else op_name(self._ctx.fn)

    @property
    def _version(self) -> int:
        return version(self)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def item(self):
        if self._data.size != 1:
            raise ShapeError(f"item: only a tensor with one element can be converted to a "
                             f"Python number, this one has shape {self.shape}")
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self) -> np.ndarray:
        return self._data

    def cpu(self) -> Tensor:
        return self

    def contiguous(self) -> Tensor:
        """This tensor if its memory is in row-major order, else a row-major copy that stays in
        the graph (as PyTorch's)"""
        return self if self._data.flags.c_contiguous else self.clone()

    def __deepcopy__(self, memo):
        """A deep copy without the hooks, as PyTorch's: a copied model (a target network) must
        not run, nor feed, the original's hooks."""
        new = object.__new__(type(self))
        memo[id(self)] = new
        for name in _slots(type(self)):
            if name == "_hooks":
                new._hooks = None
            elif hasattr(self, name):
                setattr(new, name, copy.deepcopy(getattr(self, name), memo))
        if hasattr(self, "__dict__"):  # a subclass of yours with attributes of its own
            new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return new

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory and its write stamp, as PyTorch)."""
        return new_tensor(type(self), self._data, None, stamp=shared_stamp(self))

    def clone(self) -> Tensor:
        """A copy that stays in the graph (gradients flow back to this tensor)."""
        return ops.Clone.apply(self)

    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self._data, dtype=dtype, copy=True)
        return self._data if dtype is None else self._data.astype(dtype, copy=False)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise ArgumentError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self):
        if self._data.ndim == 0:
            raise ArgumentError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ShapeError(f"bool: the truth value of a tensor of shape {self.shape} is "
                             "ambiguous; use (x == y).all() or .any()")
        return bool(self._data.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise ArgumentError(f"only an integer tensor with one element can be used as an "
                                f"index, this one has dtype {self.dtype} and shape {self.shape}")
        return int(self._data.item())

    def __format__(self, spec: str) -> str:
        if self._data.size == 1 and self._data.ndim == 0 or (spec and self._data.size == 1):
            return format(self._data.item(), spec)
        return format(repr(self), spec)

    def __contains__(self, value) -> bool:
        return bool((self._data == (value._data if isinstance(value, TensorBase) else value))
                    .any())

    def __repr__(self) -> str:
        body = np.array2string(self._data, precision=4, separator=", ", threshold=8, edgeitems=2,
                               prefix="Tensor(")
        extra = f", op={self.op}" if self._ctx is not None else ""
        if self._requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{extra})"

    # --- backward -----------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad (or of
        ``inputs`` only).

        ``self`` must be a scalar unless ``gradient`` (same shape as ``self``) is given. The graph
        is freed afterwards (saved arrays dropped, structure kept for drawing) unless
        ``retain_graph=True`` (the default when ``create_graph``); gradients add up across
        calls, as in PyTorch. ``create_graph=True`` records the backward itself, so ``.grad``
        can be differentiated again. A failure leaves every ``.grad`` as it was.
        """
        if not self._requires_grad:
            raise GraphError(
                f"backward: this tensor (shape {self.shape}, op {self.op or 'none'}) does "
                "not require grad: no input that produced it had requires_grad=True, or it was "
                "computed under no_grad()"
            )
        seed, foreign = engine.seed_for(self, gradient, create_graph, "backward")
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, TensorBase) else list(inputs)
        engine.run_backward([self], [seed], retain_graph=create_graph if retain_graph is None
                            else retain_graph, create_graph=create_graph, inputs=inputs,
                            foreign=foreign)

    # --- operators: the ops live in ops.py ----------------------------------------------------

    __add__ = ops.add
    __sub__ = ops.sub
    __mul__ = ops.mul
    __truediv__ = ops.div
    __matmul__ = ops.matmul
    __pow__ = ops.pow
    __mod__ = ops.remainder
    __floordiv__ = ops.floor_divide
    __eq__ = ops.eq
    __ne__ = ops.ne
    __lt__ = ops.lt
    __le__ = ops.le
    __gt__ = ops.gt
    __ge__ = ops.ge
    __getitem__ = ops.getitem
    __neg__ = ops.neg
    __abs__ = ops.abs

    def __radd__(self, other):
        return ops.add(other, self)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __rpow__(self, other):
        return ops.pow(other, self)

    def __rmod__(self, other):
        return ops.remainder(other, self)

    def __rfloordiv__(self, other):
        return ops.floor_divide(other, self)

    def __pos__(self):
        return self

    def __invert__(self):
        if self._data.dtype != np.bool_:
            return new_tensor(Tensor, ~self._data, None)
        return ops.logical_not(self)

    def __and__(self, other):
        return ops._constant_result("and", np.bitwise_and, self, other)

    def __or__(self, other):
        return ops._constant_result("or", np.bitwise_or, self, other)

    def __xor__(self, other):
        return ops._constant_result("xor", np.bitwise_xor, self, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    # --- in place -----------------------------------------------------------------------------

    def __iadd__(self, other):
        return _in_place(self, ops.add, other, np.add, "+=")

    def __isub__(self, other):
        return _in_place(self, ops.sub, other, np.subtract, "-=")

    def __imul__(self, other):
        return _in_place(self, ops.mul, other, np.multiply, "*=")

    def __itruediv__(self, other):
        return _in_place(self, ops.div, other, np.true_divide, "/=")

    def __imatmul__(self, other):
        return _in_place(self, ops.matmul, other, None, "@=")

    def __setitem__(self, index, value):
        _set_item(self, index, value)

    def add_(self, other, *, alpha=1):
        return _in_place(self, ops.add, other if alpha == 1 else other * alpha, np.add, "add_")

    def sub_(self, other, *, alpha=1):
        return _in_place(self, ops.sub, other if alpha == 1 else other * alpha, np.subtract,
                         "sub_")

    def mul_(self, other):
        return _in_place(self, ops.mul, other, np.multiply, "mul_")

    def div_(self, other):
        return _in_place(self, ops.div, other, np.true_divide, "div_")

    def pow_(self, exponent):
        return _in_place(self, ops.pow, exponent, None, "pow_")

    def clamp_(self, min=None, max=None):
        return _in_place(self, lambda x, _: ops.clamp(x, min, max), None, None, "clamp_")

    def zero_(self):
        return _overwrite(self, np.asarray(0), "zero_")

    def fill_(self, value):
        """Set every element to ``value``, a number or a one-element tensor (a gradient flows to
        a value that requires grad, none to what was there)."""
        if isinstance(value, TensorBase) and value._requires_grad and state.grad_enabled:
            if value._data.size != 1:
                raise ShapeError(f"fill_: the value must be a number or a tensor with one "
                                 f"element, got shape {value.shape}; use copy_ to copy a tensor")
            return _in_place(self, _put_everywhere, value.reshape(()), None, "fill_")
        return _overwrite(self, np.asarray(value._data if isinstance(value, TensorBase)
                                           else value), "fill_")

    def copy_(self, src):
        """Copy ``src`` (a Tensor or array, broadcast to this shape) into this tensor."""
        if isinstance(src, TensorBase) and src._requires_grad and state.grad_enabled:
            _check_broadcasts(src._data, self, "copy_")
            return _in_place(self, _put_everywhere, src, None, "copy_")
        return _overwrite(self, np.asarray(src._data if isinstance(src, TensorBase) else src),
                          "copy_")

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
        """Fill with draws from N(mean, std^2) (the library's generator, or ``generator``)."""
        from .random import get_rng

        values = get_rng(generator).standard_normal(self.shape) * std + mean
        return _overwrite(self, values, "normal_")

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
        """Fill with draws from U(a, b)."""
        from .random import get_rng

        return _overwrite(self, get_rng(generator).uniform(a, b, self.shape), "uniform_")

    # --- methods: the ops live in ops.py -------------------------------------------------------

    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def log1p(self):
        return ops.log1p(self)

    def expm1(self):
        return ops.expm1(self)

    def sqrt(self):
        return ops.sqrt(self)

    def rsqrt(self):
        return ops.rsqrt(self)

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def tanh(self):
        return ops.tanh(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def relu(self):
        return ops.relu(self)

    def abs(self):
        return ops.abs(self)

    def sign(self):
        return ops.sign(self)

    def floor(self):
        return ops.floor(self)

    def ceil(self):
        return ops.ceil(self)

    def trunc(self):
        return ops.trunc(self)

    def round(self, decimals: int = 0):
        return ops.round(self, decimals)

    def remainder(self, other):
        return ops.remainder(self, other)

    def floor_divide(self, other):
        return ops.floor_divide(self, other)

    def neg(self):
        return ops.neg(self)

    def pow(self, exponent):
        return ops.pow(self, exponent)

    def clamp(self, min=None, max=None):
        """Clip to [min, max]; either bound may be None"""
        return ops.clamp(self, min, max)

    clip = clamp

    def maximum(self, other):
        return ops.maximum(self, other)

    def minimum(self, other):
        return ops.minimum(self, other)

    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other`` (PyTorch's Tensor.where)"""
        return ops.where(condition, self, other)

    def masked_fill(self, mask, value):
        return ops.masked_fill(self, mask, value)

    def eq(self, other):
        return ops.eq(self, other)

    def ne(self, other):
        return ops.ne(self, other)

    def lt(self, other):
        return ops.lt(self, other)

    def le(self, other):
        return ops.le(self, other)

    def gt(self, other):
        return ops.gt(self, other)

    def ge(self, other):
        return ops.ge(self, other)

    def isnan(self):
        return ops.isnan(self)

    def any(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = ops._axis_args(axis, dim, keepdims, keepdim)
        return new_tensor(Tensor, np.asarray(self._data.any(axis=axis, keepdims=keepdims)), None)

    def all(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = ops._axis_args(axis, dim, keepdims, keepdim)
        return new_tensor(Tensor, np.asarray(self._data.all(axis=axis, keepdims=keepdims)), None)

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        return ops.sum(self, axis, keepdims, dim=dim, keepdim=keepdim, dtype=dtype)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        return ops.mean(self, axis, keepdims, dim=dim, keepdim=keepdim, dtype=dtype)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The largest element; ``max(dim)`` gives ``(values, indices)`` as in PyTorch;
        ``max(axis=...)`` the values only, as NumPy"""
        return ops.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return ops.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.amax(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def amin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.amin(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Indices of the maxima: an int64 tensor (no gradient)"""
        return ops.argmax(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.argmin(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def prod(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.prod(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def cumsum(self, axis=None, *, dim=None):
        return ops.cumsum(self, axis, dim=dim)

    def var(self, axis=None, unbiased=None, keepdims=False, *, dim=None, keepdim=None,
            correction=None, ddof=None):
        return ops.var(self, axis, unbiased, keepdims, dim=dim, keepdim=keepdim,
                       correction=correction, ddof=ddof)

    def std(self, axis=None, unbiased=None, keepdims=False, *, dim=None, keepdim=None,
            correction=None, ddof=None):
        return ops.std(self, axis, unbiased, keepdims, dim=dim, keepdim=keepdim,
                       correction=correction, ddof=ddof)

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.logsumexp(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def norm(self, p="fro", dim=None, keepdim=False):
        """The p-norm over everything (or ``dim``), as PyTorch's vector norms: p = 2 or "fro"
        (the default), 1, inf (the largest |x|), -inf (the smallest), 0 (the number of
        non-zero elements, gradient 0) or any other number; for p = 2 the gradient at a zero
        norm is 0, as in PyTorch"""
        x = ops._float_input(self, "norm")
        if isinstance(p, str):
            if p not in ("fro", "inf", "-inf"):
                raise ArgumentError(f"norm: p={p!r} is not a vector norm; use a number, inf, "
                                    "-inf or 'fro' (for the nuclear norm, use the singular "
                                    "values of np.linalg.svd)")
            p = 2.0 if p == "fro" else float(p)
        elif isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise ArgumentError(f"norm: p must be a number, inf, -inf or 'fro', got {p!r}")
        if p == 2:
            return ops.NormSqrt.apply(ops.sum(x * x, dim=dim, keepdim=keepdim))
        if p == 1:
            return ops.sum(ops.abs(x), dim=dim, keepdim=keepdim)
        if p == float("inf"):
            return ops.amax(ops.abs(x), dim=dim, keepdim=keepdim)
        if p == float("-inf"):
            return ops.amin(ops.abs(x), dim=dim, keepdim=keepdim)
        if p == 0:  # a count: recorded through sign, so its gradient is 0 as in PyTorch
            return ops.sum(ops.abs(ops.sign(x)), dim=dim, keepdim=keepdim)
        return ops.sum(ops.abs(x) ** p, dim=dim, keepdim=keepdim) ** (1.0 / p)

    def reshape(self, *shape):
        return ops.reshape(self, *shape)

    def view(self, *shape):
        """``reshape`` that shares this tensor's memory, or raises (as PyTorch's view) where
        the layout does not allow it (a transposed tensor): ``reshape`` copies there.
        ``view(dtype)`` reads the same bytes as another dtype (no gradient)."""
        if len(shape) == 1 and isinstance(shape[0], (str, np.dtype, type)):
            dt = resolve_dtype(shape[0], "view")
            if self._requires_grad:
                raise GraphError(f"view({dt}): reading the bytes as another dtype has no "
                                 "gradient; call it on .detach()")
            return new_tensor(Tensor, self._data.view(dt), None, stamp=shared_stamp(self))
        out = ops.reshape(self, *shape)
        data = self._data  # (a row-major array always reshapes in place: no check needed)
        if data.size and not data.flags.c_contiguous and not np.may_share_memory(out._data, data):
            raise ShapeError(f"view: a tensor of shape {self.shape} with strides "
                             f"{self._data.strides} (not contiguous, e.g. transposed) cannot be "
                             f"viewed as shape {out.shape} without a copy; use .reshape(...), "
                             "or .contiguous().view(...)")
        return out

    def view_as(self, other):
        return self.view(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        """Merge dimensions ``start_dim`` to ``end_dim``: 1-D by default, as in PyTorch;
        ``flatten(1)`` keeps the batch axis, (N, 28, 28) -> (N, 784)"""
        return ops.flatten(self, start_dim, end_dim)

    def ravel(self):
        """The elements as a 1-D tensor (a view when the layout allows, as PyTorch)"""
        return ops.reshape(self, (-1,))

    def squeeze(self, axis=None, *, dim=None):
        return ops.squeeze(self, axis, dim=dim)

    def unsqueeze(self, axis=None, *, dim=None):
        return ops.unsqueeze(self, axis, dim=dim)

    def transpose(self, *axes):
        """``transpose()`` reverses the axes; ``transpose(0, 1)`` swaps two (PyTorch);
        ``transpose((1, 0, 2))`` permutes (NumPy)"""
        return ops.transpose(self, *axes)

    def permute(self, *axes):
        return ops.permute(self, *axes)

    def swapaxes(self, axis0, axis1):
        return ops.swapaxes(self, axis0, axis1)

    @property
    def T(self):
        return ops.transpose(self)

    @property
    def mT(self):
        return ops.swapaxes(self, -1, -2)

    def expand(self, *shape):
        return ops.expand(self, *shape)

    def expand_as(self, other):
        return ops.expand(self, other.shape)

    def flip(self, *axes, dims=None):
        """Reverse along ``dims`` (a tuple, or several ints as PyTorch's ``flip(0, 2)``)"""
        axis = axes[0] if len(axes) == 1 else (axes or None)
        return ops.flip(self, axis, dims=dims)

    def repeat(self, *reps):
        """Tile the whole tensor ``reps`` times per dimension, as PyTorch's repeat"""
        return ops.repeat(self, *reps)

    def gather(self, dim, index):
        return ops.gather(self, dim, index)

    def split(self, split_size_or_sections, dim: int = 0):
        return ops.split(self, split_size_or_sections, dim)

    def chunk(self, chunks: int, dim: int = 0):
        return ops.chunk(self, chunks, dim)

    def unbind(self, dim: int = 0):
        return ops.unbind(self, dim)

    def tril(self, diagonal: int = 0):
        return ops.tril(self, diagonal)

    def triu(self, diagonal: int = 0):
        return ops.triu(self, diagonal)

    def astype(self, dtype):
        return ops.astype(self, dtype)

    def to(self, *args, **kwargs):
        """PyTorch's ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (its
        dtype), positional or as keywords; the only device is the CPU"""
        dtype = to_arguments("Tensor.to", args, kwargs)
        out = self if dtype is None else ops.astype(self, dtype)
        return self.clone() if out is self and kwargs.get("copy") else out

    def type(self, dtype=None):
        return str(self.dtype) if dtype is None else ops.astype(self, dtype)

    def type_as(self, other):
        return ops.astype(self, other.dtype)

    def float(self):
        return ops.astype(self, np.float32)

    def double(self):
        return ops.astype(self, np.float64)

    def half(self):
        return ops.astype(self, np.float16)

    def int(self):
        return ops.astype(self, np.int32)

    def long(self):
        return ops.astype(self, np.int64)

    def bool(self):
        return ops.astype(self, np.bool_)

    def matmul(self, other):
        return ops.matmul(self, other)

    def dot(self, other):
        """The inner product of two 1-D tensors, as PyTorch's (use @ for matrices)"""
        return ops.dot(self, other)

    def softmax(self, axis=-1, *, dim=None, dtype=None):
        x = self if dtype is None else ops.astype(self, dtype)
        return ops.softmax(x, axis, dim=dim)

    def log_softmax(self, axis=-1, *, dim=None, dtype=None):
        x = self if dtype is None else ops.astype(self, dtype)
        return ops.log_softmax(x, axis, dim=dim)

    def cross_entropy(self, targets, reduction="mean", **kwargs):
        return ops.cross_entropy(self, targets, reduction, **kwargs)

    def add(self, other, *, alpha=1):
        """self + alpha * other (PyTorch's alpha)"""
        return ops.add(self, other if alpha == 1 else _scaled(other, alpha))

    def sub(self, other, *, alpha=1):
        return ops.sub(self, other if alpha == 1 else _scaled(other, alpha))

    def mul(self, other):
        return ops.mul(self, other)

    def div(self, other, *, rounding_mode=None):
        """True division; ``rounding_mode="trunc"`` rounds toward zero, ``"floor"`` down (as
        PyTorch; integer operands then keep an integer dtype)"""
        if rounding_mode is None:
            return ops.div(self, other)
        if rounding_mode == "floor":
            return ops.floor_divide(self, other)
        if rounding_mode != "trunc":
            raise ArgumentError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                                f"{rounding_mode!r}")
        b = other._data if isinstance(other, TensorBase) else np.asarray(other)
        if self._data.dtype.kind in "iub" and b.dtype.kind in "iub":
            # integers: exactly, from the floor quotient (the float quotient loses digits
            # past 2**24); floor_divide refuses a zero divisor
            q = ops.floor_divide(self, other)
            inexact = (self._data % b != 0) & ((self._data < 0) != (b < 0))
            return new_tensor(Tensor, (q._data + inexact).astype(q._data.dtype), None)
        return ops.trunc(ops.div(self, other))

    # --- PyTorch's names for common compositions (the ops live in ops.py) ---------------------

    def t(self):
        """The transpose of a 2-D tensor; 0-D and 1-D as they are"""
        return ops.t(self)

    def mm(self, mat2):
        return ops.mm(self, mat2)

    def bmm(self, mat2):
        return ops.bmm(self, mat2)

    def mv(self, vec):
        return ops.mv(self, vec)

    def outer(self, vec2):
        return ops.outer(self, vec2)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return ops.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """``(values, indices)`` of the k largest (or smallest) elements along ``dim``"""
        return ops.topk(self, k, dim, largest, sorted)

    def sort(self, dim=-1, descending=False, *, stable=False):
        """``(values, indices)`` sorted along ``dim`` (stable)"""
        return ops.sort(self, dim, descending, stable=stable)

    def argsort(self, dim=-1, descending=False, *, stable=False):
        return ops.argsort(self, dim, descending, stable=stable)

    def index_select(self, dim, index):
        return ops.index_select(self, dim, index)

    def masked_select(self, mask):
        return ops.masked_select(self, mask)

    def nonzero(self, *, as_tuple=False):
        return ops.nonzero(self, as_tuple=as_tuple)

    def clamp_min(self, min):
        return ops.clamp_min(self, min)

    def clamp_max(self, max):
        return ops.clamp_max(self, max)

    def square(self):
        return ops.square(self)

    def reciprocal(self):
        return ops.reciprocal(self)

    def log2(self):
        return ops.log2(self)

    def log10(self):
        return ops.log10(self)

    def exp2(self):
        return ops.exp2(self)

    def tan(self):
        return ops.tan(self)

    def isinf(self):
        return ops.isinf(self)

    def isfinite(self):
        return ops.isfinite(self)

    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        return ops.repeat_interleave(self, repeats, dim, output_size=output_size)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return ops.multinomial(self, num_samples, replacement, generator=generator)

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        """Zeros of ``size``, of this tensor's dtype unless ``dtype`` is given"""
        return zeros(*size, dtype=self.dtype if dtype is None else dtype,
                     requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        return ones(*size, dtype=self.dtype if dtype is None else dtype,
                    requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False):
        return empty(*size, dtype=self.dtype if dtype is None else dtype,
                     requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, requires_grad=False):
        return full(size, fill_value, dtype=self.dtype if dtype is None else dtype,
                    requires_grad=requires_grad)

    def new_tensor(self, data, *, dtype=None, requires_grad=False):
        """A copy of ``data``, of this tensor's dtype unless ``dtype`` is given (as PyTorch)"""
        return tensor(data, dtype=self.dtype if dtype is None else dtype,
                      requires_grad=requires_grad)

    # --- constructors (also module functions below) -------------------------------------------

    @classmethod
    def zeros(cls, *shape, dtype=None, requires_grad=False):
        return zeros(*shape, dtype=dtype, requires_grad=requires_grad)

    @classmethod
    def ones(cls, *shape, dtype=None, requires_grad=False):
        return ones(*shape, dtype=dtype, requires_grad=requires_grad)

    @classmethod
    def randn(cls, *shape, rng=None, dtype=None, requires_grad=False):
        return randn(*shape, generator=rng, dtype=dtype, requires_grad=requires_grad)


_UFUNC_OPS = {
    np.add: ops.add, np.subtract: ops.sub, np.multiply: ops.mul, np.true_divide: ops.div,
    np.divide: ops.div, np.power: ops.pow, np.matmul: ops.matmul, np.negative: ops.neg,
    np.exp: ops.exp, np.log: ops.log, np.log1p: ops.log1p, np.expm1: ops.expm1,
    np.sqrt: ops.sqrt, np.sin: ops.sin, np.cos: ops.cos, np.tanh: ops.tanh,
    np.absolute: ops.abs, np.maximum: ops.maximum, np.minimum: ops.minimum,
    np.equal: ops.eq, np.not_equal: ops.ne, np.less: ops.lt, np.less_equal: ops.le,
    np.greater: ops.gt, np.greater_equal: ops.ge, np.remainder: ops.remainder,
    np.floor_divide: ops.floor_divide, np.sign: ops.sign, np.isnan: ops.isnan,
    np.isinf: ops.isinf, np.isfinite: ops.isfinite, np.floor: ops.floor, np.ceil: ops.ceil,
    np.trunc: ops.trunc,
}


def _requires_grad_in(x) -> bool:
    if isinstance(x, TensorBase):
        return x._requires_grad
    return isinstance(x, (list, tuple)) and any(_requires_grad_in(v) for v in x)


def _arrays_in(x):
    if isinstance(x, TensorBase):
        return x._data
    if isinstance(x, (list, tuple)):
        return type(x)(_arrays_in(v) for v in x)
    return x


def _np_reduce(op):
    return lambda a, axis=None, keepdims=False: op(a, axis, keepdims)


def _np_dot(a, b):
    # np.dot is matmul up to 2-D and a product with a scalar; above 2-D it sums over other
    # axes than matmul does, and no op here has that meaning
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return ops.mul(a, b)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise ArgumentError(f"numpy.dot of shapes {np.shape(a)} and {np.shape(b)}: above 2-D "
                            "it has no op in tinygrad_np; use matmul (a @ b) or tinygrad_np.ops")
    return ops.matmul(a, b)


def _np_clip(a, a_min=None, a_max=None, min=None, max=None):
    return ops.clamp(a, a_min if min is None else min, a_max if max is None else max)


def _np_where(condition, x=None, y=None):
    if x is None and y is None:  # the indices where condition holds: no gradient to carry
        return np.where(_arrays_in(condition))
    return ops.where(condition, x, y)


# array functions whose result carries no gradient (shapes, dtypes, indices, booleans): they
# cut no graph, so they run on the arrays even for a tensor that requires grad
_NO_VALUE_FUNCTIONS = frozenset({
    np.ndim, np.shape, np.size, np.result_type, np.may_share_memory, np.shares_memory,
    np.iscomplexobj, np.isrealobj, np.allclose, np.isclose, np.array_equal, np.array_equiv,
    np.argmax, np.argmin, np.argsort, np.nonzero, np.count_nonzero, np.any, np.all,
})

# the array functions with an op of the same meaning: (the op, the arguments it supports)
_ARRAY_FUNCTION_OPS = {
    np.sum: (_np_reduce(ops.sum), ("a", "axis", "keepdims")),
    np.mean: (_np_reduce(ops.mean), ("a", "axis", "keepdims")),
    np.max: (_np_reduce(ops.amax), ("a", "axis", "keepdims")),
    np.amax: (_np_reduce(ops.amax), ("a", "axis", "keepdims")),
    np.min: (_np_reduce(ops.amin), ("a", "axis", "keepdims")),
    np.amin: (_np_reduce(ops.amin), ("a", "axis", "keepdims")),
    np.prod: (_np_reduce(ops.prod), ("a", "axis", "keepdims")),
    np.cumsum: (lambda a, axis=None: ops.cumsum(a, axis), ("a", "axis")),
    np.dot: (_np_dot, ("a", "b")),
    np.concatenate: (lambda arrays, axis=0: ops.concatenate(list(arrays), axis),
                     ("arrays", "axis")),
    np.stack: (lambda arrays, axis=0: ops.stack(list(arrays), axis), ("arrays", "axis")),
    np.reshape: (lambda a, shape: ops.reshape(a, shape), ("a", "shape")),
    np.transpose: (lambda a, axes=None: ops.transpose(a, axes), ("a", "axes")),
    np.swapaxes: (lambda a, axis1, axis2: ops.swapaxes(a, axis1, axis2),
                  ("a", "axis1", "axis2")),
    np.squeeze: (lambda a, axis=None: ops.squeeze(a, axis), ("a", "axis")),
    np.expand_dims: (lambda a, axis: ops.unsqueeze(a, axis), ("a", "axis")),
    np.flip: (lambda m, axis=None: ops.flip(m, axis), ("m", "axis")),
    np.tril: (lambda m, k=0: ops.tril(m, k), ("m", "k")),
    np.triu: (lambda m, k=0: ops.triu(m, k), ("m", "k")),
    np.broadcast_to: (lambda array, shape: ops.broadcast_to(array, shape), ("array", "shape")),
    np.where: (_np_where, ("condition", "x", "y")),
    np.clip: (_np_clip, ("a", "a_min", "a_max", "min", "max")),
}


# --- in-place updates ----------------------------------------------------------------------------


def _leaf_error(t, what: str) -> GraphError:
    return GraphError(
        f"{what}: a leaf tensor that requires grad (shape {t.shape}) is used in an in-place "
        "operation; wrap the update in no_grad() (with tinygrad_np.no_grad(): w -= lr * w.grad) "
        "or use .data"
    )


def _in_place(self, op, other, ufunc, what: str, writeback: bool = False):
    """``self <- op(self, other)`` in place, with PyTorch's rules.

    Under ``no_grad()`` (or when nothing involved requires grad) the array is updated in place.
    Otherwise the op is recorded: the tensor object takes the op's place in the graph, while
    the graph before it keeps a stand-in for the old value. A leaf that requires grad refuses
    outside ``no_grad()``.
    """
    recording = state.grad_enabled and (self._requires_grad or (
        isinstance(other, TensorBase) and other._requires_grad))
    if not recording:
        if ufunc is not None:
            B = other._data if isinstance(other, TensorBase) else other
            try:
                ufunc(self._data, B, out=self._data, casting="same_kind")
            except TypeError:
                raise DTypeError(f"{what}: the result cannot be stored in a tensor of dtype "
                                 f"{self.dtype} (shape {self.shape}); convert one operand "
                                 "first") from None
            except ValueError:
                if not self._data.flags.writeable:
                    raise _read_only(self, what) from None
                raise ShapeError(f"{what}: an operand of shape {np.shape(B)} does not broadcast "
                                 f"to this tensor's shape {self.shape}") from None
            note_write(self)
            return self
        return _overwrite(self, op(self.detach(), other)._data, what)
    if self._ctx is None and self._requires_grad:
        raise _leaf_error(self, what)
    family = self._stamp
    if family is not None and len(family) > 1 and family[2]:
        raise GraphError(
            f"{what}: this tensor (shape {self.shape}) is a view of a leaf tensor that requires "
            "grad (it shares the leaf's memory), so an in-place operation on it would change "
            "the leaf; wrap the update in no_grad(), or clone() the view first"
        )
    old = new_tensor(Tensor, self._data, self._ctx, self._index, shared_stamp(self))
    old._requires_grad = self._requires_grad
    if other is self:  # y += y: both operands are the old value (self is about to be the new)
        other = old
    if writeback:  # x[i] op= v: the view's new values go back where they came from
        state.standin = old
        try:
            new = op(old, other)
        finally:
            state.standin = None
    else:
        new = op(old, other)
    _check_fits(self, new._data, what)
    # hooks registered so far belong to the old value (as PyTorch's); retain_grad() follows
    # the tensor to its new value. (Moved only here: an edit that failed above changes nothing.)
    old._hooks, self._hooks = self._hooks, None
    ctx = new._ctx
    if ctx is not None and any(s is self._data for s in ctx.saved_tensors):
        # the op needs the old values: they move to a private copy that its record keeps, and
        # so does the record of the op that made them if it saved its output (exp(x) does);
        # an op that used them before gets the copy at backward (engine._inputs_as_used)
        old._data, old._stamp = self._data.copy(), None
        ctx.saved_tensors = moved(ctx.saved_tensors, self._data, old._data)
        if old._ctx is not None:
            old._ctx.saved_tensors = moved(old._ctx.saved_tensors, self._data, old._data)
    np.copyto(self._data, new._data, casting="same_kind")
    if ctx is not None:
        ctx.saved_tensors = tuple(self._data if s is new._data else s for s in ctx.saved_tensors)
    self._ctx, self._index, self._requires_grad = ctx, 0, new._requires_grad
    note_write(self)
    if ctx is not None:
        from .autograd import function

        ctx.stamp = function._last_write  # this write is the op's own
        ctx.replaced = old  # ops that used this tensor before still mean the old value
        function._rebased = True
        family = self._stamp
        if len(family) > 1:  # views share this memory: their graphs describe the old values
            family[1] = ctx.stamp
            function._view_edits = True
    return self


def _read_only(t, what: str) -> GraphError:
    return GraphError(f"{what}: this tensor's memory (shape {t.shape}) is read-only: a broadcast "
                      "view (as the gradient of sum() in a backward) or a read-only array you "
                      "wrapped; clone() it before changing it in place")


def _check_fits(self, result: np.ndarray, what: str) -> None:
    if result.shape != self._data.shape:
        raise ShapeError(f"{what}: the result has shape {result.shape}, which does not fit "
                         f"this tensor's shape {self.shape}")
    if not np.can_cast(result.dtype, self._data.dtype, casting="same_kind"):
        raise DTypeError(f"{what}: a result of dtype {result.dtype} cannot be stored in a "
                         f"tensor of dtype {self.dtype}")


def _overwrite(self, values: np.ndarray, what: str):
    """Write ``values`` into the tensor's array; what was there gets no gradient."""
    if self._requires_grad and state.grad_enabled:
        if self._ctx is None:
            raise _leaf_error(self, what)
        # a computed tensor stays in the graph, with a zero gradient to its old value
        _check_broadcasts(values, self, what)
        return _in_place(self, _put_everywhere, values, None, what)
    try:
        np.copyto(self._data, values, casting="same_kind")
    except (TypeError, ValueError):
        if not self._data.flags.writeable:
            raise _read_only(self, what) from None
        raise ShapeError(f"{what}: values of shape {np.shape(values)} and dtype "
                         f"{np.asarray(values).dtype} do not fit a tensor of shape {self.shape} "
                         f"and dtype {self.dtype}") from None
    note_write(self)
    return self


def _put_everywhere(x, values):
    """``values`` broadcast to x's shape, recorded so that x's old values get a zero gradient
    (a put at every index: not x * 0 + values, which saves the old values and turns an inf
    among them into NaN)."""
    return ops.IndexPut.apply(x, values, Ellipsis)


def _check_broadcasts(values: np.ndarray, self, what: str) -> None:
    try:
        fits = np.broadcast_shapes(np.shape(values), self.shape) == self.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{what}: values of shape {np.shape(values)} do not broadcast to this "
                         f"tensor's shape {self.shape}")


def _set_item(self, index, value) -> None:
    """``self[index] = value``, recorded when ``value`` or ``self`` is in a graph."""
    index = ops._plain_index(index)
    recording = state.grad_enabled and (self._requires_grad or (
        isinstance(value, TensorBase) and value._requires_grad))
    if not recording:
        v = value._data if isinstance(value, TensorBase) else value
        try:
            self._data[index] = v
        except IndexError as e:
            raise ops.OutOfRangeError(f"setitem: index {ops.describe_index(index)} is invalid "
                                      f"for a tensor of shape {self.shape}: {e}") from None
        except ValueError:
            if not self._data.flags.writeable:
                raise _read_only(self, "setitem") from None
            raise ShapeError(f"setitem: a value of shape {np.shape(v)} does not fit index "
                             f"{ops.describe_index(index)} of a tensor of shape "
                             f"{self.shape}") from None
        note_write(self)
        return
    if not isinstance(value, TensorBase):
        value = np.asarray(value, dtype=self._data.dtype)
    writeback = isinstance(value, TensorBase) and np.shares_memory(value._data, self._data)
    _in_place(self, lambda x, v: ops.IndexPut.apply(x, v, index), value, None, "setitem",
              writeback)


# --- building tensors ----------------------------------------------------------------------------


def _shape_args(shape, op: str = "shape") -> tuple:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    try:
        dims = tuple(shape)
    except TypeError:
        raise ArgumentError(f"{op}: the shape must be ints or a tuple of ints, got "
                            f"{shape!r}") from None
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0
               for n in dims):
        raise ArgumentError(f"{op}: the shape must be ints >= 0, got {dims}")
    return dims


def _made(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor(arr)
    return t.requires_grad_(True) if requires_grad else t


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (as ``torch.tensor``; ``Tensor(array)`` shares)"""
    if isinstance(data, TensorBase):
        data = data._data
    if isinstance(data, np.ndarray):
        data = data.copy()
    t = Tensor(data, dtype=dtype)  # (a list or a number becomes a new array anyway)
    return t.requires_grad_(True) if requires_grad else t


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory and dtype"""
    return Tensor(array)


def zeros(*shape, size=None, dtype=None, requires_grad: bool = False) -> Tensor:
    shape = shape if size is None else (size,)  # PyTorch's size= keyword
    return _made(np.zeros(_shape_args(shape, "zeros"), dtype=_dtype(dtype)), requires_grad)


def ones(*shape, size=None, dtype=None, requires_grad: bool = False) -> Tensor:
    shape = shape if size is None else (size,)  # PyTorch's size= keyword
    return _made(np.ones(_shape_args(shape, "ones"), dtype=_dtype(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    if dtype is None and isinstance(fill_value, (bool, int)):
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64
    return _made(np.full(_shape_args((shape,), "full"), fill_value, dtype=_dtype(dtype)),
                 requires_grad)


def empty(*shape, size=None, dtype=None, requires_grad: bool = False) -> Tensor:
    return zeros(*shape, size=size, dtype=dtype, requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.zeros(t.shape, dtype=_dtype(dtype) if dtype else t.dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.ones(t.shape, dtype=_dtype(dtype) if dtype else t.dtype), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.full(t.shape, fill_value, dtype=_dtype(dtype) if dtype else t.dtype),
                 requires_grad)


def arange(start=None, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """``arange(n)`` or ``arange(start, end, step)`` (``end=`` as a keyword too): int64 for
    integer arguments, else the default float dtype (as PyTorch)"""
    if end is None:
        start, end = 0, start
    if start is None:
        start = 0
    if end is None:
        raise ArgumentError("arange: give end (arange(end) or arange(start, end, step))")
    if step == 0:
        raise ArgumentError(f"arange: step must not be 0 (start={start}, end={end})")
    floating = any(isinstance(v, float) for v in (start, end, step))
    dt = _dtype(dtype) if dtype is not None else (get_default_dtype() if floating else np.int64)
    return _made(np.arange(start, end, step).astype(dt), requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ArgumentError(f"linspace: steps must be an int >= 0, got {steps!r}")
    return _made(np.linspace(start, end, steps).astype(_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def rand(*shape, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """U(0, 1) draws from the library's generator (``manual_seed``) or ``generator``"""
    from .random import get_rng

    arr = get_rng(generator).random(_shape_args(shape, "rand")).astype(_dtype(dtype))
    return _made(arr, requires_grad)


def randn(*shape, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """N(0, 1) draws from the library's generator (``manual_seed``) or ``generator``"""
    from .random import get_rng

    arr = get_rng(generator).standard_normal(_shape_args(shape, "randn")).astype(
        _dtype(dtype))
    return _made(arr, requires_grad)


def randint(low=None, high=None, size=(), generator=None, dtype=np.int64) -> Tensor:
    """Integers drawn from [low, high): ``randint(high, size)`` and ``randint(low, high, size)``
    as PyTorch (``high=``/``size=`` as keywords too)"""
    from .random import get_rng

    if isinstance(high, (tuple, list)):  # randint(high, size): PyTorch's two-argument form
        low, high, size = None, low, high
    if high is None:
        low, high = None, low
    if low is None:
        low = 0
    if high is None:
        raise ArgumentError("randint: give high (the values are drawn from [low, high))")
    if not low < high:
        raise ArgumentError(f"randint: low ({low}) must be below high ({high}): the values are "
                            "drawn from [low, high)")
    size = _shape_args((size,) if isinstance(size, (int, np.integer)) else tuple(size),
                       "randint")
    return Tensor(get_rng(generator).integers(low, high, size=size).astype(_dtype(dtype)))


def _scaled(other, alpha):
    """alpha * other for add/sub's alpha: a tensor stays in the graph; a list is an array (a
    list times an int would repeat it)."""
    return ops.mul(other, alpha) if isinstance(other, TensorBase) else np.asarray(other) * alpha


def _dtype(dtype):
    return get_default_dtype() if dtype is None else resolve_dtype(dtype)


def toposort(*roots, include_constants: bool = False):
    """Every tensor the roots depend on, each after its inputs (shared with the graph drawer)."""
    return engine.toposort(*roots, include_constants=include_constants)


_DEVICES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "vulkan", "hpu", "mtia", "ipu")


def _is_device(x) -> bool:
    if type(x).__name__ == "device":  # a torch.device
        return True
    return isinstance(x, str) and x.split(":")[0] in _DEVICES


def to_arguments(where: str, args, kwargs):
    """The dtype that PyTorch's ``to(...)`` arguments ask for (None: none), after refusing any
    device other than the CPU: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
    ``to(tensor)``, ``device=``/``dtype=`` keywords, ``non_blocking`` ignored."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise ArgumentError(f"{where}: unexpected keyword argument(s) {sorted(unknown)}; it "
                            "takes device=, dtype= and non_blocking=")
    device, dtype, rest = kwargs.get("device"), kwargs.get("dtype"), list(args)
    if rest and isinstance(rest[0], TensorBase):
        dtype = rest.pop(0).dtype
    elif rest and _is_device(rest[0]):
        device = rest.pop(0)
    if rest and not isinstance(rest[0], bool):
        dtype = rest.pop(0)
    if rest and isinstance(rest[0], bool):  # non_blocking: nothing is asynchronous here
        rest.pop(0)
    if rest:
        raise ArgumentError(f"{where}: unexpected argument(s) {rest!r}; use to(device), "
                            "to(dtype) or to(device, dtype)")
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ArgumentError(f"{where}: device {str(device)!r}: tinygrad_np runs on the CPU "
                            "only; leave the device out or pass 'cpu'")
    if dtype is not None and type(dtype).__module__ == "torch":  # torch.float64 -> "float64"
        dtype = str(dtype).removeprefix("torch.")
    return dtype


# --- PyTorch's names for common constructors -----------------------------------------------------


def randperm(n: int, *, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0..n-1 (int64 unless ``dtype``), from the library's generator
    (``manual_seed``) or ``generator``, as ``torch.randperm``"""
    from .random import get_rng

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ArgumentError(f"randperm: n must be an int >= 0, got {n!r}")
    arr = get_rng(generator).permutation(int(n))
    return _made(arr.astype(np.int64 if dtype is None else resolve_dtype(dtype, "randperm")),
                 requires_grad)


def _like_float(t, dtype, op: str) -> np.dtype:
    dt = t.dtype if dtype is None else resolve_dtype(dtype, op)
    if dt.kind != "f":
        raise DTypeError(f"{op}: draws floats; the tensor (or dtype=) is {dt}, so give "
                         "dtype='float32'")
    return dt


def rand_like(t, *, dtype=None, requires_grad: bool = False, generator=None) -> Tensor:
    """U(0, 1) draws of ``t``'s shape and (float) dtype"""
    dt = _like_float(t, dtype, "rand_like")
    return rand(*t.shape, generator=generator, dtype=dt, requires_grad=requires_grad)


def randn_like(t, *, dtype=None, requires_grad: bool = False, generator=None) -> Tensor:
    """N(0, 1) draws of ``t``'s shape and (float) dtype"""
    dt = _like_float(t, dtype, "randn_like")
    return randn(*t.shape, generator=generator, dtype=dt, requires_grad=requires_grad)


def empty_like(t, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``t``'s shape and dtype (zeros: memory is never left uninitialised here)"""
    return zeros_like(t, dtype=dtype, requires_grad=requires_grad)
