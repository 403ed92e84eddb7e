"""Every differentiable primitive: forward, backward and the math side by side.

Each primitive is a ``Function`` (``autograd/function.py``) in array form: ``forward(ctx, ...)``
computes with NumPy on the inputs' arrays, and ``backward(ctx, g)`` is the vector-Jacobian
product, one gradient per input. Its docstring gives the math the way PyTorch's
``derivatives.yaml`` does: ``y`` is the output, ``g`` the gradient arriving at it.

A backward is one formula that runs on NumPy arrays (first order) and on Tensors
(``create_graph=True``: the gradient gets a graph of its own, so second derivatives come from
the same lines). So formulas use only what both have: operators, ``.sum(axis=, keepdims=)``,
``.reshape``, ``.transpose``, ``.swapaxes``, ``.astype``, indexing, and the helpers just below
(``_exp``, ``_where``, ...), which call NumPy or the matching primitive.

House rules:
- forward saves only its inputs and its output (``ctx.save_for_backward``), or constants such
  as masks; anything else a formula needs it recomputes, so a Tensor-mode backward stays
  differentiable. Speed kernels that keep more (``_kernels.py``) are separate, array-only.
- a gradient of a broadcast shape is fine: the engine sums it back to the input's shape.
- a backward returns ``g`` itself, views, or new arrays; never an array it saved.

Public wrappers (``add``, ``matmul``, ``cross_entropy``, ...) follow each group: they turn
numbers and arrays into operands, apply PyTorch's type promotion, check shapes and name the op
in errors. ``Tensor``'s methods call them; composites (functions of primitives whose gradients
come from the graph) close the file.
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections import namedtuple

import numpy as np

from . import _kernels
from ._modes import get_default_dtype, is_grad_enabled, resolve_dtype
from .autograd.function import Function, TensorBase, new_tensor
from .errors import (
    ArgumentError,
    DivisionByZeroError,
    DTypeError,
    GraphError,
    OutOfRangeError,
    ShapeError,
    TinygradError,
)

# --- helpers that work on arrays and on Tensors (for backward formulas) --------------------------


def _is_tensor(x) -> bool:
    return isinstance(x, TensorBase)


def _exp(x):
    return Exp.apply(x) if _is_tensor(x) else np.exp(x)


def _log(x):
    return Log.apply(x) if _is_tensor(x) else np.log(x)


def _sin(x):
    return Sin.apply(x) if _is_tensor(x) else np.sin(x)


def _cos(x):
    return Cos.apply(x) if _is_tensor(x) else np.cos(x)


def _sigmoid(x):
    return Sigmoid.apply(x) if _is_tensor(x) else 0.5 * (1 + np.tanh(0.5 * x))


def _where(cond, a, b):
    if _is_tensor(a) or _is_tensor(b) or _is_tensor(cond):
        return Where.apply(cond, a, b)
    return np.where(cond, a, b)


def _expand(x, shape):
    return Expand.apply(x, shape=tuple(shape)) if _is_tensor(x) else np.broadcast_to(x, shape)


def _flip(x, axes):
    return Flip.apply(x, axes=axes) if _is_tensor(x) else np.flip(x, axes)


def _cumsum(x, axis):
    return Cumsum.apply(x, axis=axis) if _is_tensor(x) else np.cumsum(x, axis=axis)


def _prod(x, axes):
    return Prod.apply(x, axes=axes, keepdims=True) if _is_tensor(x) else np.prod(
        x, axis=axes, keepdims=True)


def _sign(x):
    """sign(x), a constant of the formula (its derivative is 0 almost everywhere)."""
    return new_tensor(type(x), np.sign(x._data), None) if _is_tensor(x) else np.sign(x)


def _einsum(equation, *operands):
    if any(_is_tensor(o) for o in operands):
        return Einsum.apply(equation, *operands)
    return np.einsum(equation, *operands, optimize=len(operands) > 2)


def _index_add(shape, index, g, basic):
    """zeros(shape) with g added at ``index`` (repeated indices add up): getitem's adjoint."""
    if _is_tensor(g):
        return IndexAdd.apply(g, shape=shape, index=index, basic=basic)
    full = np.zeros(shape, dtype=g.dtype)
    if basic:
        full[index] = g
    else:
        np.add.at(full, index, g)
    return full


def _scatter_along(shape, axis, index, g):
    """zeros(shape) with g added along ``axis`` at ``index``: gather's adjoint."""
    if _is_tensor(g):
        return ScatterAlong.apply(g, shape=shape, axis=axis, index=index)
    full = np.zeros(shape, dtype=g.dtype)
    np.add.at(full, _along_index(index, axis), g)
    return full


def _along_index(index: np.ndarray, axis: int) -> tuple:
    """The full advanced index that ``take_along_axis(x, index, axis)`` reads."""
    grids = np.ogrid[tuple(slice(n) for n in index.shape)]
    return tuple(index if k == axis else grids[k] for k in range(index.ndim))


def _fold(cols, geometry):
    return Fold.apply(cols, geometry=geometry) if _is_tensor(cols) else _col2im(cols, geometry)


def _unfold(x, geometry):
    return Unfold.apply(x, geometry=geometry) if _is_tensor(x) else _im2col(x, geometry)


def _swap(x):
    """The last two axes exchanged (a matrix transpose, batched)."""
    return x.swapaxes(-1, -2)


# --- operands, promotion and errors --------------------------------------------------------------


def _operands(op: str, a, b, floating: bool = False):
    """Both operands of a binary op, with PyTorch's type promotion.

    Tensors that require grad are kept as they are. Python numbers are "weak" (they take the
    tensor's dtype); NumPy arrays mixed with a float tensor take its dtype. An integer or bool
    operand combined with a float one, or any operand of an op that always gives floats
    (``floating``: true division), becomes a constant of the float dtype, as in PyTorch:
    ``Tensor([1, 2]) / 2`` and ``Tensor(uint8_images) / 255`` are float32.
    """
    ta, tb = _is_tensor(a), _is_tensor(b)
    if ta and tb:
        da, db = a._data.dtype, b._data.dtype
        if da is db and (da.kind == "f" or not floating):
            return a, b  # the common case: two tensors of one dtype
        if da.kind == db.kind == "f" and (a._data.ndim == 0) != (b._data.ndim == 0):
            # a 0-d float tensor takes the other's float dtype, as in PyTorch (float32
            # activations times a float64 scalar tensor stay float32)
            return (astype(a, db), b) if a._data.ndim == 0 else (a, astype(b, da))
    elif ta and type(b) in (float, int) and a._data.dtype.kind == "f":
        return a, b  # a float tensor and a Python number: NumPy keeps the tensor's dtype
    elif tb and type(a) in (float, int) and b._data.dtype.kind == "f":
        return a, b
    kinds = [_kind(a), _kind(b)]
    if not ta and not tb:
        raise ArgumentError(f"{op}: neither operand is a Tensor")
    if "f" in kinds:
        floats = [x._data.dtype for x, k in zip((a, b), kinds) if k == "f" and _is_tensor(x)]
        target = np.result_type(*floats) if floats else get_default_dtype()
    elif floating or "c" in kinds:
        target = get_default_dtype()
    else:  # integers and bools: NumPy's rules, a Python int out of the tensor's range wrapped
        return _int_operand(a, b), _int_operand(b, a)  # as PyTorch (uint8 + 300 is 44 + x)
    a2, b2 = _as_operand(a, target), _as_operand(b, target)
    if not (_is_tensor(a2) or _is_tensor(b2)):  # integer tensors made float constants: the op
        if isinstance(a2, np.ndarray):  # still needs a tensor to give its result the class
            a2 = new_tensor(type(a if ta else b), a2, None)
        else:
            b2 = new_tensor(type(b if tb else a), b2, None)
    return a2, b2


def _kind(x) -> str:
    if _is_tensor(x):
        return x._data.dtype.kind.replace("u", "i")
    if isinstance(x, bool):
        return "b"
    if isinstance(x, (int, np.integer)):
        return "i"
    if isinstance(x, (float, np.floating)):
        return "f"
    if isinstance(x, np.ndarray):
        return x.dtype.kind.replace("u", "i")
    return np.asarray(x).dtype.kind.replace("u", "i")


def _int_operand(x, other):
    if type(x) is int and _is_tensor(other) and other._data.dtype.kind in "iu":
        info = np.iinfo(other._data.dtype)
        if not -(1 << 63) <= x < (1 << 64):
            raise ArgumentError(f"the Python int {x} does not fit in 64 bits, so it cannot be "
                                f"combined with an integer tensor ({other._data.dtype})")
        if not info.min <= x <= info.max:
            return np.asarray(x).astype(other._data.dtype)  # (the cast wraps around)
    return _as_operand(x, None)


def _as_operand(x, target):
    """A float tensor as it is; anything else as a constant array (of ``target`` if given)."""
    if _is_tensor(x):
        if target is None or x._data.dtype == target or x._data.dtype.kind == "f":
            return x
        return x._data.astype(target)  # an int tensor in a float op: a constant
    if target is None:
        return x if isinstance(x, (int, float, bool)) else np.asarray(x)
    if type(x) in (int, float):
        return x  # weak: NumPy gives the float operand's dtype (a NumPy scalar such as
        # np.float64(2) is not weak in NumPy: it becomes an array of the target dtype)
    return np.asarray(x, dtype=target)


def _float_input(x, op: str):
    """``x`` for an op defined on floats only: integer and bool tensors become float constants
    of the default dtype (``Tensor(2).exp()`` is float32, as in PyTorch)."""
    if not _is_tensor(x):
        raise ArgumentError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind == "f":
        return x
    if x._data.dtype.kind not in "biu":
        raise DTypeError(f"{op}: not defined for dtype {x._data.dtype}")
    return new_tensor(type(x), x._data.astype(get_default_dtype()), None)


def _shape_error(op: str, a, b) -> TinygradError:
    sa, sb = np.shape(a._data if _is_tensor(a) else a), np.shape(b._data if _is_tensor(b) else b)
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        return ShapeError(
            f"{op}: shapes {sa} and {sb} cannot be broadcast together (NumPy rules: trailing "
            "dimensions must be equal or 1)"
        )
    return DTypeError(f"{op}: not defined for operands of shapes {sa} and {sb} and dtypes "
                      f"{_dtype_name(a)} and {_dtype_name(b)}")


def _dtype_name(x) -> str:
    return str(x._data.dtype if _is_tensor(x) else np.asarray(x).dtype)


def _dtype_error(op: str, *xs) -> DTypeError:
    return DTypeError(
        f"{op}: not defined for dtype(s) {', '.join(_dtype_name(x) for x in xs)} (shapes "
        f"{', '.join(str(np.shape(x._data if _is_tensor(x) else x)) for x in xs)}); convert "
        "with .astype('float32') first"
    )


def _binary(op: str, fn, a, b, floating: bool = False):
    a, b = _operands(op, a, b, floating)
    try:
        return fn.apply(a, b)
    except ValueError:
        raise _shape_error(op, a, b) from None
    except TypeError:
        raise _dtype_error(op, a, b) from None


def normalize_axis(axis, ndim: int, op: str, reduces: bool = True):
    """``axis`` (None, an int or a sequence) as a tuple of non-negative axes, or None.

    A 0-d tensor accepts axis 0 and -1, as NumPy 2 and PyTorch do (nothing is reduced).
    ``reduces``: the error message may offer axis=None (a reduction) or not (cat, split).
    """
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if ndim == 0:
        if any(ax not in (0, -1) for ax in axes):
            bad = next(ax for ax in axes if ax not in (0, -1))
            raise OutOfRangeError(f"{op}: axis {bad} is out of range for a 0-d tensor (only 0 "
                                  "and -1 are accepted there)")
        return ()
    out = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise OutOfRangeError(
                f"{op}: axis {ax} is out of range for a tensor with {ndim} dimension(s) "
                f"(valid: {-ndim} to {ndim - 1}"
                + ("; axis=None reduces over everything)" if reduces else ")")
            )
        ax = int(ax) % ndim
        if ax in out:
            raise OutOfRangeError(f"{op}: axis {ax} appears twice in {axis}")
        out.append(ax)
    return tuple(out)


def _one_axis(axis, ndim: int, op: str) -> int | None:
    """A single axis, normalised (None for a 0-d tensor)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ArgumentError(f"{op}: dim must be one dimension (an int), got {axis!r}")
    axes = normalize_axis(axis, ndim, op, reduces=False)
    return axes[0] if axes else None


def _kept_shape(shape: tuple, axes) -> tuple:
    """``shape`` with the reduced axes kept as size 1."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if k in axes else n for k, n in enumerate(shape))


# === elementwise, binary ========================================================================


class Add(Function):
    """a + b            da = g                db = g"""

    array_mode = True

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """a - b            da = g                db = -g"""

    array_mode = True

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """a * b            da = g * b            db = g * a"""

    array_mode = True

    @staticmethod
    def forward(ctx, a, b):
        need = ctx.needs_input_grad  # each factor is kept only for the other's gradient, so
        ctx.save_for_backward(a if need[1] else None, b if need[0] else None)  # a later
        return a * b  # write into a factor nobody needs is no error (as PyTorch)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (g * b if need[0] else None), (g * a if need[1] else None)


class Div(Function):
    """a / b            da = g / b            db = -g * (a / b) / b

    The inputs are saved, not the output (as PyTorch): an in-place edit of the quotient
    (y = a / b; y *= 2) leaves what backward needs as it was."""

    array_mode = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(b, a if ctx.needs_input_grad[1] else None)
        return a / b

    @staticmethod
    def backward(ctx, g):
        b, a = ctx.saved_tensors
        need = ctx.needs_input_grad
        # (a / b) / b, not a / b^2, which overflows where the quotient does not (as PyTorch)
        return (g / b if need[0] else None), (-g * (a / b) / b if need[1] else None)


class Pow(Function):
    """a ** b           da = g * b * a^(b-1)  (0 where b = 0)
                        db = g * y * log(a)   (0 where a = 0 and b >= 0)"""

    array_mode = True

    @staticmethod
    def forward(ctx, base, exponent):
        y = base**exponent
        # the output only for db: x ** 3 saves x alone, so y = x ** 3; y += 1 is recorded
        ctx.save_for_backward(base, exponent, y if ctx.needs_input_grad[1] else None)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        need = ctx.needs_input_grad
        da = db = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if need[0]:
                if isinstance(b, (int, float)):
                    da = g * 0.0 if b == 0 else g * b * a ** (b - 1)
                else:
                    da = _where(b == 0, 0.0, g * b * a ** (b - 1))
            if need[1]:
                db = _where((a == 0) & (b >= 0), 0.0, g * y * _log(a))
        return da, db


class Maximum(Function):
    """max(a, b)        da = g where a > b, g/2 where a = b;  db likewise (ties split)"""

    array_mode = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        half = _where(a == b, g * 0.5, 0.0)
        return _where(a > b, g, half), _where(b > a, g, half)


class Minimum(Function):
    """min(a, b)        da = g where a < b, g/2 where a = b;  db likewise"""

    array_mode = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        half = _where(a == b, g * 0.5, 0.0)
        return _where(a < b, g, half), _where(b < a, g, half)


class Where(Function):
    """cond ? a : b     da = g where cond     db = g where not cond"""

    array_mode = True

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (None, _where(cond, g, 0.0) if need[1] else None,
                _where(cond, 0.0, g) if need[2] else None)


def add(a, b):
    """a + b (broadcasting)"""
    return _binary("add", Add, a, b)


def sub(a, b):
    """a - b"""
    return _binary("sub", Sub, a, b)


def mul(a, b):
    """a * b"""
    return _binary("mul", Mul, a, b)


def div(a, b):
    """a / b (true division: integer operands give floats of the default dtype)"""
    return _binary("div", Div, a, b, floating=True)


def pow(a, b):
    """a ** b; either may be a tensor (``x ** 2``, ``2 ** x``, ``x ** y``)"""
    if _is_tensor(a) and isinstance(b, (int, float, np.integer, np.floating)) and not isinstance(
            b, (bool, np.bool_)):
        b = float(b) if isinstance(b, (float, np.floating)) else int(b)  # a NumPy scalar as a
        # Python number: x ** np.float64(2) keeps x's dtype, as in PyTorch
        if a._data.dtype.kind in "iub":
            if isinstance(b, int) and b < 0:
                raise DTypeError(f"pow: integers to negative integer powers are not defined "
                                 f"(dtype {a._data.dtype}, exponent {b}); convert with "
                                 ".astype('float32') first")
            if isinstance(b, float):
                a = _float_input(a, "pow")  # integers to a fractional power: floats
            elif a._data.dtype == np.bool_:  # bools to an integer power: int64, as PyTorch
                a = new_tensor(type(a), a._data.astype(np.int64), None)  # (NumPy: int8)
        return Pow.apply(a, b)
    return _binary("pow", Pow, a, b)


def maximum(a, b):
    """Element-wise max(a, b); the gradient of a tie is split between both"""
    return _binary("maximum", Maximum, a, b)


def minimum(a, b):
    """Element-wise min(a, b)"""
    return _binary("minimum", Minimum, a, b)


_MISSING = object()


def where(condition, a=_MISSING, b=_MISSING):
    """``a`` where ``condition`` holds, else ``b`` (broadcasting); no gradient to the condition.
    ``where(condition)`` alone: the indices where it holds, one int64 tensor per dimension
    (``nonzero(as_tuple=True)``, as PyTorch and NumPy)"""
    cond = condition._data if _is_tensor(condition) else np.asarray(condition)
    if a is _MISSING and b is _MISSING:
        if not _is_tensor(condition):
            raise ArgumentError("where(condition): the condition must be a Tensor (np.nonzero "
                                "gives the indices of an array)")
        return tuple(new_tensor(type(condition), i.astype(np.int64), None)
                     for i in np.nonzero(cond))
    if a is _MISSING or b is _MISSING:
        raise ArgumentError("where: give both a and b, or neither (for the indices)")
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    a, b = _operands("where", a, b)
    try:
        return Where.apply(cond, a, b)
    except ValueError:
        raise ShapeError(f"where: shapes {cond.shape}, {np.shape(_data_of(a))} and "
                         f"{np.shape(_data_of(b))} cannot be broadcast together") from None


def _data_of(x):
    return x._data if _is_tensor(x) else x


# --- without gradients: comparisons, integer division, logic ----------------------------------


_ARRAY_LIKE = (TensorBase, np.ndarray, np.generic, int, float, bool, list, tuple)


def _constant_result(op: str, fn, a, b, proto=None):
    """``fn(a, b)`` on the arrays, as a tensor that carries no gradient (NotImplemented for an
    operand that is no number or array, so Python asks the other side: ``x == approx(1)``)."""
    if not isinstance(a, _ARRAY_LIKE) or not isinstance(b, _ARRAY_LIKE):
        return NotImplemented
    if proto is None:  # not `proto or ...`: that asks for the truth value of a tensor
        proto = a if _is_tensor(a) else b
    A, B = _data_of(a), _data_of(b)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            y = fn(A, B)
    except ValueError:
        raise _shape_error(op, a, b) from None
    except TypeError:
        raise _dtype_error(op, a, b) from None
    return new_tensor(type(proto), np.asarray(y), None)


def eq(a, b):
    """a == b element-wise: a bool tensor (no gradient)"""
    return _constant_result("eq", np.equal, a, b)


def ne(a, b):
    return _constant_result("ne", np.not_equal, a, b)


def lt(a, b):
    return _constant_result("lt", np.less, a, b)


def le(a, b):
    return _constant_result("le", np.less_equal, a, b)


def gt(a, b):
    return _constant_result("gt", np.greater, a, b)


def ge(a, b):
    return _constant_result("ge", np.greater_equal, a, b)


class Remainder(Function):
    """a % b, with the sign of b (Python's and PyTorch's rule)
                        da = g                db = -g * floor(a / b)"""

    array_mode = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.remainder(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        return g if need[0] else None, -g * _floor(a / b) if need[1] else None


class FloorDivide(Function):
    """a // b, rounded toward minus infinity     da = db = 0 (a step function of a and b)"""

    array_mode = True

    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.floor_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        return _zero_slope(ctx, g), _zero_slope(ctx, g)


def remainder(a, b):
    """a % b with the sign of b (Python's and PyTorch's rule)"""
    return _rounding_binary("remainder", Remainder, np.remainder, a, b)


def floor_divide(a, b):
    """a // b rounded toward minus infinity (gradient 0: it is a step function)"""
    return _rounding_binary("floor_divide", FloorDivide, np.floor_divide, a, b)


def _rounding_binary(op: str, fn, ufunc, a, b):
    proto = a if _is_tensor(a) else b
    a, b = _operands(op, a, b)
    if any(_is_tensor(x) and x._data.dtype.kind == "f" for x in (a, b)):
        return _binary(op, fn, a, b)  # recorded: floats may require grad
    divisor = _data_of(b)
    if np.asarray(divisor).dtype.kind in "iub" and not np.all(divisor):
        raise DivisionByZeroError(f"{op}: integer division by zero (a divisor of shape "
                                  f"{np.shape(divisor)} holds a 0; NumPy would give 0); convert "
                                  "to float for inf/nan, or mask the zeros first")
    return _constant_result(op, ufunc, a, b, proto)  # integers and bools: no gradient


def logical_and(a, b):
    return _constant_result("logical_and", np.logical_and, a, b)


def logical_or(a, b):
    return _constant_result("logical_or", np.logical_or, a, b)


def logical_xor(a, b):
    return _constant_result("logical_xor", np.logical_xor, a, b)


def logical_not(x):
    return new_tensor(type(x), np.logical_not(x._data), None)


def _zero_slope(ctx, g):
    """The backward of a step function: 0 (its output still requires grad, as in PyTorch);
    zeros, not g * 0, which is NaN where g is infinite."""
    return np.zeros_like(_data_of(g))


class Sign(Function):
    """-1, 0 or 1       dx = 0"""

    array_mode = True
    backward = staticmethod(_zero_slope)

    @staticmethod
    def forward(ctx, x):
        return np.sign(x)


class Floor(Function):
    """floor(x)         dx = 0"""

    array_mode = True
    backward = staticmethod(_zero_slope)

    @staticmethod
    def forward(ctx, x):
        return np.floor(x)


class Ceil(Function):
    """ceil(x)          dx = 0"""

    array_mode = True
    backward = staticmethod(_zero_slope)

    @staticmethod
    def forward(ctx, x):
        return np.ceil(x)


class Trunc(Function):
    """trunc(x)         dx = 0"""

    array_mode = True
    backward = staticmethod(_zero_slope)

    @staticmethod
    def forward(ctx, x):
        return np.trunc(x)


class Round(Function):
    """round(x, decimals), half to even (NumPy's and PyTorch's rule)     dx = 0"""

    array_mode = True
    backward = staticmethod(_zero_slope)

    @staticmethod
    def forward(ctx, x, decimals=0):
        return np.round(x, decimals)


def _step(fn, x, **kwargs):
    if x._data.dtype.kind != "f":  # integers and bools: the values as they are, no gradient
        return new_tensor(type(x), fn.forward(None, x._data, **kwargs), None)
    return fn.apply(x, **kwargs)


def sign(x):
    """-1, 0 or 1 (gradient 0)"""
    return _step(Sign, x)


def _floor(x):
    return floor(x) if _is_tensor(x) else np.floor(x)


def isnan(x):
    return new_tensor(type(x), np.isnan(x._data), None)


def isinf(x):
    return new_tensor(type(x), np.isinf(x._data), None)


def isfinite(x):
    return new_tensor(type(x), np.isfinite(x._data), None)


def floor(x):
    """Round down (gradient 0: it is zero almost everywhere)"""
    return _step(Floor, x)


def ceil(x):
    return _step(Ceil, x)


def trunc(x):
    """Round toward zero"""
    return _step(Trunc, x)


def round(x, decimals: int = 0):
    return _step(Round, x, decimals=decimals)


# === elementwise, unary =========================================================================


class Neg(Function):
    """-x               dx = -g"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Exp(Function):
    """exp(x)           dx = g * y"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class Log(Function):
    """log(x)           dx = g / x"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Log1p(Function):
    """log(1 + x)       dx = g / (1 + x)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x + 1)


class Expm1(Function):
    """exp(x) - 1       dx = g * (y + 1)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        y = np.expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (y + 1)


class Sqrt(Function):
    """sqrt(x)          dx = g / (2 y)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g / (y * 2)


class NormSqrt(Function):
    """sqrt(s) of a sum of squares (norm, std)    ds = g / (2 y), 0 where y = 0
    (the subgradient 0 at the minimum, as PyTorch's norm and std, not sqrt's inf * 0 = NaN)"""

    array_mode = True

    @staticmethod
    def forward(ctx, s):
        y = np.sqrt(s)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        zero = y == 0
        return _where(zero, 0.0, g / (_where(zero, 1.0, y) * 2))  # no inf even off the branch


class Sin(Function):
    """sin(x)           dx = g * cos(x)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _cos(x)


class Cos(Function):
    """cos(x)           dx = -g * sin(x)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -g * _sin(x)


class Tanh(Function):
    """tanh(x)          dx = g * (1 - y^2)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


class Sigmoid(Function):
    """1 / (1 + exp(-x)), computed as (1 + tanh(x/2)) / 2 so no exp overflows
                        dx = g * y * (1 - y)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        y = 0.5 * (1 + np.tanh(0.5 * x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * (1 - y)


class Relu(Function):
    """max(x, 0)        dx = g where y > 0 (0 at the kink, as PyTorch)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        y = np.maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (y > 0)


class LeakyRelu(Function):
    """x if x > 0 else slope * x          dx = g if x > 0 else slope * g"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _where(x > 0, g, g * ctx.slope)


class Elu(Function):
    """x if x > 0 else alpha (exp(x) - 1)   dx = g if x > 0 else g * (y + alpha)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        y = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
        ctx.save_for_backward(x, y)
        ctx.alpha = alpha
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return _where(x > 0, g, g * (y + ctx.alpha))


class Softplus(Function):
    """log(1 + exp(beta x)) / beta, x itself where beta x > threshold
                        dx = g * sigmoid(beta x)  (g where beta x > threshold)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        z = x * beta
        return np.where(z > threshold, x, np.logaddexp(0, z) / beta)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        z = x * ctx.beta
        return _where(z > ctx.threshold, g, g * _sigmoid(z))


class Erf(Function):
    """erf(x)           dx = g * 2/sqrt(pi) * exp(-x^2)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 / math.sqrt(math.pi)) * _exp(-(x * x))


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function: SciPy's where installed (it comes with scikit-learn), else
    ``math.erf`` element by element."""
    try:
        from scipy.special import erf
    except ImportError:
        return np.vectorize(math.erf, otypes=[x.dtype])(x).astype(x.dtype)
    return erf(x).astype(x.dtype, copy=False)


class Abs(Function):
    """|x|              dx = g * sign(x)  (0 at 0)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _sign(x)


class Clamp(Function):
    """min(max(x, low), high)     dx = g where low <= x <= high (either bound may be None)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, low=None, high=None):
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        inside = True
        if ctx.low is not None:
            inside = x >= ctx.low
        if ctx.high is not None:
            inside = (x <= ctx.high) & inside if ctx.low is not None else x <= ctx.high
        return g if inside is True else _where(inside, g, 0.0)


class Hardtanh(Function):
    """min(max(x, low), high)     dx = g where low < x < high (PyTorch's hardtanh and relu6:
                        unlike clamp, 0 at the bounds themselves)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, low, high):
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _where((x > ctx.low) & (x < ctx.high), g, 0.0)


class Cast(Function):
    """x as another float dtype   dx = g as x's dtype"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.src)


def _unary(fn, x, op: str, **kwargs):
    if not (isinstance(x, TensorBase) and x._data.dtype.kind == "f"):
        x = _float_input(x, op)
    return fn.apply(x, **kwargs)


def neg(x):
    """-x"""
    if x._data.dtype == np.bool_:
        raise DTypeError("neg: the negation of a bool tensor is not defined; use ~x (logical not)")
    return Neg.apply(x)


def exp(x):
    return _unary(Exp, x, "exp")


def log(x):
    return _unary(Log, x, "log")


def log1p(x):
    return _unary(Log1p, x, "log1p")


def expm1(x):
    return _unary(Expm1, x, "expm1")


def sqrt(x):
    return _unary(Sqrt, x, "sqrt")


def rsqrt(x):
    """1 / sqrt(x)"""
    return _float_input(x, "rsqrt") ** -0.5


def sin(x):
    return _unary(Sin, x, "sin")


def cos(x):
    return _unary(Cos, x, "cos")


def tanh(x):
    return _unary(Tanh, x, "tanh")


def sigmoid(x):
    return _unary(Sigmoid, x, "sigmoid")


def relu(x):
    """max(x, 0); integer tensors stay integers, as in PyTorch"""
    return Relu.apply(x)


def leaky_relu(x, negative_slope: float = 0.01):
    return _unary(LeakyRelu, x, "leaky_relu", negative_slope=negative_slope)


def elu(x, alpha: float = 1.0):
    return _unary(Elu, x, "elu", alpha=alpha)


def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(beta x)) / beta (linear above ``threshold``, as PyTorch)"""
    return _unary(Softplus, x, "softplus", beta=beta, threshold=threshold)


def erf(x):
    return _unary(Erf, x, "erf")


def abs(x):
    return Abs.apply(x)


def clamp(x, min=None, max=None):
    """Clip to [min, max]; either bound may be None (``clip`` is the same). Bounds may be
    tensors (broadcasting); the gradient goes to x where min <= x <= max, to a bound where x
    is beyond it, as in PyTorch."""
    if min is None and max is None:
        raise ArgumentError("clamp: give at least one of min and max")
    if x._data.dtype.kind in "biu" and builtins.any(
            b is not None and _kind(b) == "f" for b in (min, max)):
        x = _float_input(x, "clamp")  # integers with a float bound: the default float dtype,
        # as PyTorch (np.clip gave float64)
    if _is_tensor(min) or _is_tensor(max):
        # not maximum/minimum: they would split the gradient of an x sitting on a bound
        y = x if min is None else where(lt(x, min), min, x)
        return y if max is None else where(gt(y, max), max, y)
    return Clamp.apply(x, low=min, high=max)


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0):
    """Clip to [min_val, max_val], with gradient 0 at the bounds (PyTorch's hardtanh)"""
    if not min_val <= max_val:
        raise ArgumentError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    return Hardtanh.apply(_float_input(x, "hardtanh"), low=float(min_val), high=float(max_val))


def astype(x, dtype):
    """``x`` converted to ``dtype``; between float dtypes the gradient is converted back, to an
    integer or bool dtype the result carries no gradient"""
    dt = resolve_dtype(dtype, "astype")
    if dt.kind != "f" or x._data.dtype.kind != "f":
        return new_tensor(type(x), x._data.astype(dt), None)
    return Cast.apply(x, dtype=dt)


# === reductions =================================================================================


class Sum(Function):
    """sum over axes    dx = g broadcast back over the summed axes"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, axes=None, keepdims=False):
        ctx.shape, ctx.axes = x.shape, axes
        return x.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _expand(g.reshape(_kept_shape(ctx.shape, ctx.axes)), ctx.shape)


class Mean(Function):
    """mean over axes   dx = g / n broadcast back (n: the number of elements averaged)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, axes=None, keepdims=False):
        ctx.shape, ctx.axes = x.shape, axes
        y = x.sum(axis=axes, keepdims=keepdims)
        ctx.n = x.size // builtins.max(y.size, 1) if x.size else 0
        return y / ctx.n if ctx.n else y * np.nan  # the mean of nothing is NaN

    @staticmethod
    def backward(ctx, g):
        return _expand(g.reshape(_kept_shape(ctx.shape, ctx.axes)) / builtins.max(ctx.n, 1),
                       ctx.shape)


class Amax(Function):
    """max over axes    dx = g split evenly among the elements equal to the max (as torch.amax)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, axes=None, keepdims=False):
        ctx.axes, ctx.keep = axes, _kept_shape(x.shape, axes)
        y = x.max(axis=axes, keepdims=keepdims)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        mask = x == y.reshape(ctx.keep)
        count = mask.sum(axis=ctx.axes, keepdims=True).astype(g.dtype)
        return _where(mask, g.reshape(ctx.keep) / count, 0.0)


class Amin(Amax):
    """min over axes    dx = g split evenly among the elements equal to the min (as torch.amin)"""

    @staticmethod
    def forward(ctx, x, axes=None, keepdims=False):
        ctx.axes, ctx.keep = axes, _kept_shape(x.shape, axes)
        y = x.min(axis=axes, keepdims=keepdims)
        ctx.save_for_backward(x, y)
        return y


class Prod(Function):
    """product over axes   dx = g * y / x, with zeros handled (one zero: only it gets the
    product of the others; two or more: nothing)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, axes=None, keepdims=False):
        ctx.axes, ctx.keep = axes, _kept_shape(x.shape, axes)
        ctx.save_for_backward(x)
        return x.prod(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axes = ctx.axes if ctx.axes is not None else tuple(range(x.ndim))
        if _is_tensor(x) and (x._data == 0).any():  # create_graph: the masks below are
            return g.reshape(ctx.keep) * _prod_of_others(x, axes)  # constants, wrong there
        is_zero = x == 0
        zeros = is_zero.sum(axis=axes, keepdims=True)
        nonzero = _where(is_zero, 1.0, x)
        others = _prod(nonzero, axes)  # the product of the non-zero elements
        share = _where(zeros == 0, others / nonzero, _where((zeros == 1) & is_zero, others, 0.0))
        return g.reshape(ctx.keep) * share


def _prod_of_others(x, axes: tuple):
    """For each element of Tensor ``x``, the product of the other elements over ``axes``, as
    a differentiable product (each element replaced by 1 in its own copy of the row), so it
    is right at zeros to any order. Used by create_graph only, where x holds a zero."""
    rest = [k for k in range(x.ndim) if k not in axes]
    order = tuple(rest) + tuple(axes)
    xt = Permute.apply(x, axes=order)
    lead = xt.shape[:len(rest)]
    n = math.prod(xt.shape[len(rest):])
    rows = Where.apply(np.eye(n, dtype=bool), 1.0, Reshape.apply(xt, shape=lead + (1, n)))
    others = Reshape.apply(Prod.apply(rows, axes=(len(lead) + 1,)), shape=xt.shape)
    return Permute.apply(others, axes=tuple(int(k) for k in np.argsort(order)))


class Cumsum(Function):
    """running sum along axis   dx = reversed running sum of g"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.axis = axis
        return np.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return _flip(_cumsum(_flip(g, ctx.axis), ctx.axis), ctx.axis)


def sum(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None, dtype=None):
    """Sum over ``axis`` (or PyTorch's ``dim``; None: everything); ``dtype``: convert the input
    first (as PyTorch)"""
    axis, keepdims = _axis_args(axis, dim, keepdims, keepdim)
    if dtype is not None:
        x = astype(x, dtype)
    return Sum.apply(x, axes=normalize_axis(axis, x.ndim, "sum"), keepdims=keepdims)


def mean(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None, dtype=None):
    """Mean over ``axis``; NaN for an empty selection (as PyTorch); ``dtype`` as for sum"""
    axis, keepdims = _axis_args(axis, dim, keepdims, keepdim)
    if dtype is not None:
        if resolve_dtype(dtype, "mean").kind != "f":
            raise DTypeError(f"mean: dtype must be a float dtype, got {dtype!r} (a mean of "
                             "integers is not an integer)")
        x = astype(x, dtype)
    x = _float_input(x, "mean")
    return Mean.apply(x, axes=normalize_axis(axis, x.ndim, "mean"), keepdims=keepdims)


def amax(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):
    """Largest value over ``axis``; ties share the gradient"""
    return _extreme(x, axis, keepdims, dim, keepdim, "amax", False)


def amin(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):
    """Smallest value over ``axis``; ties share the gradient"""
    return _extreme(x, axis, keepdims, dim, keepdim, "amin", True)


def _extreme(x, axis, keepdims, dim, keepdim, op, smallest):
    axis, keepdims = _axis_args(axis, dim, keepdims, keepdim)
    axes = normalize_axis(axis, x.ndim, op)
    if _reduces_nothing(x.shape, axes):
        raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {x.shape} along "
                         f"{'every dimension' if axes is None else f'dimension {axes}'}: a "
                         "maximum or minimum of no elements is not defined")
    return (Amin if smallest else Amax).apply(x, axes=axes, keepdims=keepdims)


def _reduces_nothing(shape: tuple, axes) -> bool:
    """Whether a reduction over ``axes`` (None: all) would reduce some output over no element:
    (0, 3) along dimension 1 is fine (an empty result), along 0 it is not."""
    if axes is None:
        return math.prod(shape) == 0
    return builtins.any(shape[a] == 0 for a in axes)


ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def max(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    """``x.max()``: the largest element. ``x.max(dim)`` (PyTorch's form): ``(values, indices)``
    along ``dim``, the gradient going to the index returned (``torch.max(a, b)``: the
    element-wise maximum). ``x.max(axis=...)`` (NumPy's form): the values only, as ``amax``,
    ties sharing the gradient."""
    return _max_or_min(x, dim, keepdim, axis, keepdims, False)


def min(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    """The smallest element; ``min(dim)`` gives ``(values, indices)``; ``axis=`` the values"""
    return _max_or_min(x, dim, keepdim, axis, keepdims, True)


def _max_or_min(x, dim, keepdim, axis, keepdims, smallest):
    op = "min" if smallest else "max"
    if _is_tensor(dim):  # torch.max(a, b): the element-wise form
        return minimum(x, dim) if smallest else maximum(x, dim)
    if dim is None or isinstance(dim, (tuple, list)):
        return _extreme(x, axis, bool(keepdims), dim, keepdim if dim is not None else None,
                        op, smallest)
    if axis is not None:
        raise ArgumentError(f"{op}: give dim or axis=, not both")
    keep = bool(keepdim)
    indices = argmin(x, dim=dim, keepdim=True) if smallest else argmax(x, dim=dim, keepdim=True)
    ax = _one_axis(dim, x.ndim, op)
    if ax is None:
        return ValuesIndices(x, new_tensor(type(x), np.asarray(0), None))
    values = gather(x, ax, indices)
    if not keep:
        values, indices = squeeze(values, ax), squeeze(indices, ax)
    return ValuesIndices(values, indices)


def argmax(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):
    """Index of the largest element (over everything, or along one axis): an int64 tensor"""
    return _arg(x, axis, keepdims, dim, keepdim, np.argmax, "argmax")


def argmin(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):
    return _arg(x, axis, keepdims, dim, keepdim, np.argmin, "argmin")


def _arg(x, axis, keepdims, dim, keepdim, fn, op):
    axis, keepdims = _axis_args(axis, dim, keepdims, keepdim)
    ax = None if axis is None else _one_axis(axis, x.ndim, op)
    if _reduces_nothing(x.shape, None if ax is None else (ax,)) and x.ndim:
        raise ShapeError(f"{op}: cannot take the {op} of an empty tensor of shape {x.shape} "
                         f"along {'every dimension' if ax is None else f'dimension {ax}'}")
    y = fn(x._data, axis=ax, keepdims=keepdims) if axis is not None else fn(x._data)
    if axis is None and keepdims:
        y = np.reshape(y, (1,) * x.ndim)
    return new_tensor(type(x), np.asarray(y, dtype=np.int64), None)


def prod(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):
    """Product over ``axis``"""
    axis, keepdims = _axis_args(axis, dim, keepdims, keepdim)
    return Prod.apply(x, axes=normalize_axis(axis, x.ndim, "prod"), keepdims=keepdims)


def cumsum(x, axis=None, *, dim=None):
    """Running sum along ``axis`` (PyTorch's ``dim``, required as there)"""
    axis = dim if dim is not None else axis
    if axis is None:
        raise ArgumentError("cumsum: give the axis (dim=) to sum along")
    ax = _one_axis(axis, x.ndim, "cumsum")
    return Cumsum.apply(x, axis=ax) if ax is not None else reshape(x, ())


def _axis_args(axis, dim, keepdims, keepdim):
    """NumPy's ``axis=``/``keepdims=`` or PyTorch's ``dim=``/``keepdim=`` (not both).

    Each keyword keeps its library's meaning of an empty tuple: ``axis=()`` reduces nothing
    (NumPy), ``dim=()`` reduces every dimension (PyTorch)."""
    if dim is not None:
        if axis is not None:
            raise ArgumentError("give axis= or dim=, not both")
        axis = None if isinstance(dim, (tuple, list)) and not dim else dim
    if keepdim is not None:
        keepdims = keepdim
    return axis, bool(keepdims)


# === movement ===================================================================================


class Reshape(Function):
    """x with a new shape        dx = g reshaped back"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.src = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.src)


class Permute(Function):
    """x with its axes permuted  dx = g permuted back"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.inverse = tuple(np.argsort(axes))
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.inverse)


class Expand(Function):
    """x broadcast to a shape    dx = g summed over the broadcast axes (by the engine)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g


class Getitem(Function):
    """x[index]         dx = zeros with g put at index (repeated indices add up)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        ctx.basic = _is_basic_index(index)
        return x[index]

    @staticmethod
    def backward(ctx, g):
        return _index_add(ctx.shape, ctx.index, g, ctx.basic)


class IndexAdd(Function):
    """zeros(shape) with g added at index (getitem's backward)      dg = grad[index]"""

    array_mode = True

    @staticmethod
    def forward(ctx, g, shape, index, basic):
        ctx.index = index
        return _index_add(shape, index, g, basic)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index]


class Flip(Function):
    """x reversed along axes     dx = g reversed along the same axes"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return np.flip(x, axes)

    @staticmethod
    def backward(ctx, g):
        return _flip(g, ctx.axes)


class Tile(Function):
    """x repeated ``reps`` times along each axis (PyTorch's repeat, NumPy's tile)
                        dx = the sum of g's copies"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, reps):
        ctx.shape, ctx.reps = x.shape, reps
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx, g):
        shape = (1,) * (len(ctx.reps) - len(ctx.shape)) + tuple(ctx.shape)
        split = tuple(n for pair in zip(ctx.reps, shape) for n in pair)  # (r0, s0, r1, s1, ...)
        summed = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return summed.reshape(ctx.shape)


class Cat(Function):
    """tensors joined along an axis      each input gets its slice of g"""

    array_mode = True

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        ctx.bounds = np.cumsum([0] + [a.shape[axis] for a in arrays])
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        b = ctx.bounds
        return tuple(g[lead + (slice(int(b[i]), int(b[i + 1])),)] if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


class Stack(Function):
    """tensors stacked along a new axis   each input gets g at its index"""

    array_mode = True

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        return tuple(g[lead + (i,)] if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


class Pad(Function):
    """x padded with a constant          dx = g without the padding"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, widths, value=0.0):
        ctx.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.inner]


class Gather(Function):
    """x's values at index along an axis (take_along_axis)
                        dx = zeros with g added at the gathered places"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, axis, index):
        ctx.shape, ctx.axis, ctx.index = x.shape, axis, index
        return np.take_along_axis(x, index, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return _scatter_along(ctx.shape, ctx.axis, ctx.index, g)


class ScatterAlong(Function):
    """zeros(shape) with g added at index along an axis (gather's backward)
                        dg = grad gathered at index"""

    array_mode = True

    @staticmethod
    def forward(ctx, g, shape, axis, index):
        ctx.axis, ctx.index = axis, index
        return _scatter_along(shape, axis, index, g)

    @staticmethod
    def backward(ctx, grad):
        return gather(grad, ctx.axis, ctx.index) if _is_tensor(grad) else np.take_along_axis(
            grad, ctx.index, axis=ctx.axis)


class IndexPut(Function):
    """x with value written at index (``x[index] = value``)
                        dx = g with zeros at index       dvalue = g[index]
    (where an advanced index repeats a place, only the value written last, the one NumPy
    keeps, gets its gradient)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, value, index):
        ctx.index = index
        ctx.kept = None if _is_basic_index(index) else _last_writes(x.shape, index)
        return _put(x, index, value)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        gx = gv = None
        if need[0]:
            gx = IndexPut.apply(g, 0.0, ctx.index) if _is_tensor(g) else _put(g, ctx.index, 0)
        if need[1]:
            gv = g[ctx.index] if ctx.kept is None else _where(ctx.kept, g[ctx.index], 0.0)
        return gx, gv, None


def _last_writes(shape: tuple, index):
    """For ``x[index] = value`` with an advanced index: which of the selected places are the
    last write to their element (None when no element is selected twice)."""
    ids = np.full(shape, -1, dtype=np.int64)
    selected = ids[index].shape
    order = np.arange(math.prod(selected)).reshape(selected)
    ids[index] = order
    kept = ids[index] == order
    return None if kept.all() else kept


def _put(x: np.ndarray, index, value) -> np.ndarray:
    y = x.copy()
    y[index] = value
    return y


class Clone(Function):
    """a copy of x      dx = g"""

    array_mode = True

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def _is_basic_index(index) -> bool:
    """Ints, slices, None and Ellipsis: NumPy returns a view, with no element twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis
               for p in parts if not isinstance(p, bool))


def reshape(x, *shape):
    """x with a new shape (one dimension may be -1); ``view`` is the same"""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    shape = tuple(int(n) for n in shape)
    try:
        return Reshape.apply(x, shape=shape)
    except ValueError:
        raise ShapeError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into "
            f"shape {shape}"
        ) from None


def permute(x, *axes):
    """x with its axes reordered: ``x.permute(2, 0, 1)`` (negative axes count from the end)"""
    if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
        axes = tuple(axes[0])
    for ax in axes:
        if not -x.ndim <= ax < builtins.max(x.ndim, 1):
            raise OutOfRangeError(f"permute: axis {ax} is out of range for a tensor of shape "
                                  f"{x.shape}")
    norm = tuple(int(ax) % builtins.max(x.ndim, 1) for ax in axes)
    if sorted(norm) != list(range(x.ndim)):
        raise ShapeError(f"transpose/permute: axes {axes} are not a permutation of the {x.ndim} "
                         f"axes of a tensor of shape {x.shape}")
    return Permute.apply(x, axes=norm)


def transpose(x, *axes):
    """``x.transpose()`` reverses the axes; ``x.transpose(0, 1)`` swaps two axes (PyTorch);
    ``x.transpose((1, 0, 2))`` or three or more axes permute them (NumPy)"""
    if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
        axes = tuple(axes[0]) if axes[0] is not None else ()
        if not axes:
            return permute(x, tuple(range(x.ndim))[::-1])
        return permute(x, axes)
    if not axes:
        return permute(x, tuple(range(x.ndim))[::-1])
    if len(axes) == 2:
        return swapaxes(x, *axes)
    return permute(x, axes)


def swapaxes(x, axis0: int, axis1: int):
    """x with two axes exchanged (PyTorch's ``transpose(dim0, dim1)``)"""
    a, b = normalize_axis((axis0,), x.ndim, "swapaxes")[0], normalize_axis(
        (axis1,), x.ndim, "swapaxes")[0]
    order = list(range(x.ndim))
    order[a], order[b] = order[b], order[a]
    return Permute.apply(x, axes=tuple(order))


def expand(x, *shape):
    """x broadcast to ``shape`` without copying; -1 keeps a dimension (PyTorch's rules)"""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = tuple(shape[0])
    lead = len(shape) - x.ndim
    full = tuple(x.shape[k - lead] if n == -1 and k >= lead else n for k, n in enumerate(shape))
    try:
        fits = lead >= 0 and np.broadcast_shapes(x.shape, full) == full
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"expand: a tensor of shape {x.shape} cannot be expanded to {shape}: "
                         "only dimensions of size 1 can grow, and new ones go in front")
    return Expand.apply(x, shape=full)


def broadcast_to(x, shape):
    return expand(x, tuple(shape))


def squeeze(x, axis=None, *, dim=None):
    """Drop the dimensions of size 1 (all, or the given ones; others are left, as PyTorch)"""
    axis = dim if dim is not None else axis
    if axis is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        axes = normalize_axis(axis, x.ndim, "squeeze") or ()
        shape = tuple(n for k, n in enumerate(x.shape) if not (k in axes and n == 1))
    return reshape(x, shape)


def unsqueeze(x, axis=None, *, dim=None):
    """Insert a dimension of size 1 at ``axis`` (-1: at the end)"""
    axis = dim if dim is not None else axis
    if axis is None:
        raise ArgumentError("unsqueeze: give the position of the new dimension (dim=)")
    n = x.ndim + 1
    if not -n <= axis < n:
        raise OutOfRangeError(f"unsqueeze: dim {axis} is out of range for a result with {n} "
                              f"dimensions (valid: {-n} to {n - 1})")
    axis %= n
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """Merge dimensions ``start_dim`` to ``end_dim`` into one: 1-D by default, as PyTorch;
    ``flatten(1)`` keeps the batch axis, (N, 28, 28) -> (N, 784)"""
    if x.ndim == 0:
        return reshape(x, (1,))
    a, b = (normalize_axis((start_dim,), x.ndim, "flatten")[0],
            normalize_axis((end_dim,), x.ndim, "flatten")[0])
    if a > b:
        raise OutOfRangeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(x, x.shape[:a] + (math.prod(x.shape[a:b + 1]),) + x.shape[b + 1:])


def getitem(x, index):
    """x[index]: ints, slices, None, ..., integer and bool arrays or tensors"""
    index = _plain_index(index)
    try:
        return Getitem.apply(x, index=index)
    except IndexError as e:
        raise OutOfRangeError(f"getitem: index {describe_index(index)} is invalid for a tensor "
                              f"of shape {x.shape}: {e}") from None


def _plain_index(index):
    if _is_tensor(index):
        return index._data
    if isinstance(index, list):
        if builtins.any(i is None or i is Ellipsis or isinstance(i, slice) for i in index):
            return _plain_index(tuple(index))  # [0, slice(1, 3)]: no array means this
        if len(index) < 32 and builtins.any(isinstance(i, (list, tuple, np.ndarray))
                                            or _is_tensor(i) for i in index):
            warnings.warn(
                "x[[rows, cols]] (a list holding sequences) is read as one index array, as "
                "NumPy reads it and as PyTorch announces it will (PyTorch 2 still reads it as "
                "x[rows, cols], with a deprecation warning); write x[rows, cols] or "
                "x[tuple(seq)] for that", UserWarning, stacklevel=3)
        return np.asarray(index)
    if isinstance(index, tuple):
        return tuple(i._data if _is_tensor(i) else (np.asarray(i) if isinstance(i, list) else i)
                     for i in index)
    return index


def describe_index(index) -> str:
    """``[:, array(3,), 2]``: an index as it reads in a message or on a graph node."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for p in parts:
        if isinstance(p, np.ndarray):
            out.append(f"array{p.shape}")
        elif isinstance(p, slice):
            out.append(":".join("" if v is None else str(v) for v in (p.start, p.stop, p.step))
                       .rstrip(":") or ":")
        elif p is Ellipsis:
            out.append("...")
        else:
            out.append(repr(p))
    return "[" + ", ".join(out) + "]"


def flip(x, axis=None, *, dims=None):
    """x reversed along the given axes (all by default)"""
    axis = dims if dims is not None else axis
    axes = tuple(range(x.ndim)) if axis is None else normalize_axis(axis, x.ndim, "flip")
    return Flip.apply(x, axes=axes)


def repeat(x, *reps):
    """PyTorch's repeat: the whole tensor tiled ``reps`` times per dimension (NumPy's tile)"""
    if len(reps) == 1 and not isinstance(reps[0], (int, np.integer)):
        reps = tuple(reps[0])
    if len(reps) < x.ndim:
        raise ShapeError(f"repeat: give at least one count per dimension ({x.ndim}), got {reps}")
    return Tile.apply(x, reps=tuple(int(r) for r in reps))


def cat(tensors, axis: int = 0, *, dim=None, _op: str = "cat"):
    """Join tensors along an existing axis (``concatenate`` is the same)"""
    tensors = _sequence_of_tensors(tensors, _op)
    axis = dim if dim is not None else axis
    ax = _one_axis(axis, tensors[0].ndim, _op)
    if ax is None:
        raise ShapeError(f"{_op}: 0-d tensors cannot be joined; use stack")
    try:
        return Cat.apply(*_promoted(tensors), axis=ax)
    except ValueError:
        raise ShapeError(f"{_op}: shapes {', '.join(str(t.shape) for t in tensors)} differ "
                         f"outside axis {axis}") from None


def concatenate(tensors, axis: int = 0, *, dim=None):
    """Join tensors along an existing axis (NumPy's name for ``cat``)"""
    return cat(tensors, axis, dim=dim, _op="concatenate")


def stack(tensors, axis: int = 0, *, dim=None):
    """Join tensors of one shape along a new axis"""
    tensors = _sequence_of_tensors(tensors, "stack")
    axis = dim if dim is not None else axis
    n = tensors[0].ndim + 1
    if not -n <= axis < n:
        raise OutOfRangeError(f"stack: axis {axis} is out of range for a result with {n} dims")
    if len({t.shape for t in tensors}) > 1:
        raise ShapeError(f"stack: all tensors need the same shape, got "
                         f"{', '.join(str(t.shape) for t in tensors)}")
    return Stack.apply(*_promoted(tensors), axis=axis % n)


def split(x, split_size_or_sections, dim: int = 0):
    """Views of ``x`` along ``dim``, as ``torch.split``: an int is the size of every piece (the
    last may be smaller), a list the size of each; each piece is a slice, so its gradient lands
    in its own part of x"""
    ax = _one_axis(dim, x.ndim, "split")
    if ax is None:
        raise ShapeError("split: a 0-d tensor has no dimension to split")
    n = x.shape[ax]
    sections = split_size_or_sections
    if isinstance(sections, (int, np.integer)) and not isinstance(sections, bool):
        size = int(sections)
        if size < 0 or size == 0 and n:
            raise ArgumentError(f"split: split_size must be positive (0 only for an empty "
                                f"dimension), got {size} for dimension {dim} of size {n}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if size else []
        sizes = sizes or [0]
    else:
        sizes = [int(k) for k in sections]
        if builtins.min(sizes, default=0) < 0 or builtins.sum(sizes) != n:
            raise ShapeError(f"split: sections {list(sections)} must be sizes >= 0 that add up "
                             f"to {n}, the size of dimension {dim} of shape {x.shape}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(x[(slice(None),) * ax + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


def chunk(x, chunks: int, dim: int = 0):
    """``x`` in ``chunks`` pieces along ``dim`` of ceil(size / chunks) each, as ``torch.chunk``
    (fewer pieces when the size runs out first)"""
    if not isinstance(chunks, (int, np.integer)) or isinstance(chunks, bool) or chunks < 1:
        raise ArgumentError(f"chunk: chunks must be a positive int, got {chunks!r}")
    ax = _one_axis(dim, x.ndim, "chunk")
    if ax is None:
        raise ShapeError("chunk: a 0-d tensor has no dimension to split")
    n = x.shape[ax]
    return split(x, [0] * int(chunks) if n == 0 else -(-n // int(chunks)), ax)


def unbind(x, dim: int = 0):
    """The slices of ``x`` along ``dim``, that dimension removed (``torch.unbind``)"""
    ax = _one_axis(dim, x.ndim, "unbind")
    if ax is None:
        raise ShapeError("unbind: a 0-d tensor has no dimension to unbind")
    return tuple(x[(slice(None),) * ax + (i,)] for i in range(x.shape[ax]))


def tril(x, diagonal: int = 0):
    """``x`` with the entries above the ``diagonal``-th diagonal of its last two dimensions set
    to 0 (``torch.tril``); where, not a product, so inf and nan above it become 0 too"""
    return _triangle(x, diagonal, np.tril, "tril")


def triu(x, diagonal: int = 0):
    """``x`` with the entries below the ``diagonal``-th diagonal of its last two dimensions set
    to 0 (``torch.triu``)"""
    return _triangle(x, diagonal, np.triu, "triu")


def _triangle(x, diagonal, keep, op: str):
    if x.ndim < 2:
        raise ShapeError(f"{op}: needs at least 2 dimensions, got shape {x.shape}")
    mask = keep(np.ones(x.shape[-2:], dtype=bool), int(diagonal))
    return where(mask, x, np.zeros((), dtype=x.dtype))


def _sequence_of_tensors(tensors, op: str) -> list:
    if _is_tensor(tensors):
        raise ArgumentError(f"{op}: expected a list or tuple of tensors, got a single Tensor; "
                            "pass [a, b]")
    tensors = list(tensors)
    if not tensors:
        raise ShapeError(f"{op}: got an empty sequence; pass a list of one or more tensors")
    proto = next((t for t in tensors if _is_tensor(t)), None)
    if proto is None:
        raise ArgumentError(f"{op}: expected tensors, got {type(tensors[0]).__name__}")
    return [t if _is_tensor(t) else new_tensor(type(proto), np.asarray(t), None)
            for t in tensors]


def _promoted(tensors: list) -> list:
    """Tensors of mixed dtypes in one float dtype (the widest float; ints become floats)."""
    dtypes = {t._data.dtype for t in tensors}
    if len(dtypes) == 1:
        return tensors
    floats = [d for d in dtypes if d.kind == "f"]
    target = np.result_type(*floats) if floats else np.result_type(*dtypes)
    return [t if t._data.dtype == target or t._data.dtype.kind == "f" and t._requires_grad
            else new_tensor(type(t), t._data.astype(target), None) for t in tensors]


def pad(x, pad_widths, value: float = 0.0):
    """Pad with a constant. ``pad_widths``: PyTorch's flat tuple, last dimension first
    ``(left, right, top, bottom, ...)``"""
    widths = [(0, 0)] * x.ndim
    flat = tuple(int(p) for p in pad_widths)
    if len(flat) % 2 or len(flat) // 2 > x.ndim:
        raise ShapeError(f"pad: pad_widths {pad_widths} must be pairs, at most one per dimension "
                         f"of a {x.ndim}-d tensor")
    for k in range(len(flat) // 2):
        widths[x.ndim - 1 - k] = (flat[2 * k], flat[2 * k + 1])
    if builtins.min(flat, default=0) < 0:
        raise ShapeError("pad: negative padding is not supported; slice the tensor instead")
    return Pad.apply(x, widths=tuple(widths), value=value)


def gather(x, axis: int, index):
    """Values of ``x`` at ``index`` along ``axis`` (``out[i][j] = x[i][index[i][j]]`` for
    axis 1), as ``torch.gather``"""
    idx = index._data if _is_tensor(index) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"gather: index must hold integers, got dtype {idx.dtype}")
    ax = _one_axis(axis, x.ndim, "gather")
    if idx.ndim != x.ndim:
        raise ShapeError(f"gather: index of shape {idx.shape} needs as many dimensions as the "
                         f"input of shape {x.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[ax]):  # no wrap-around: PyTorch's
        raise OutOfRangeError(f"gather: index values must be in 0..{x.shape[ax] - 1} along axis "
                              f"{axis} of a tensor of shape {x.shape}")
    if any(i > n for d, (i, n) in enumerate(zip(idx.shape, x.shape)) if d != ax):
        raise ShapeError(f"gather: index of shape {idx.shape} is larger than the input of shape "
                         f"{x.shape} in a dimension other than {axis}")
    if any(i < n for d, (i, n) in enumerate(zip(idx.shape, x.shape)) if d != ax):
        # the output has the index's shape, read from the input's leading part in the other
        # dimensions (PyTorch's rule), never broadcast over the rest of the input
        x = getitem(x, tuple(slice(None) if d == ax else slice(0, i)
                             for d, i in enumerate(idx.shape)))
    return Gather.apply(x, axis=ax, index=idx)


def masked_fill(x, mask, value):
    """``value`` where ``mask`` is True, else x (the mask must be bool, as in PyTorch)"""
    m = mask._data if _is_tensor(mask) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise DTypeError(f"masked_fill: the mask must be a bool tensor, got dtype {m.dtype} "
                         "(a float mask would count every nonzero as True); compare first, "
                         "e.g. mask > 0")
    if x._data.dtype.kind != "f":  # the result keeps x's dtype, as in PyTorch (an int tensor
        # filled with 0.5 holds 0)
        v = value._data if _is_tensor(value) else value
        return new_tensor(type(x), np.where(m, np.asarray(v).astype(x._data.dtype), x._data),
                          None)
    return where(mask, value, x)


# === linear algebra =============================================================================


class Matmul(Function):
    """a @ b (1-D, 2-D and batched)     da = g @ bᵀ      db = aᵀ @ g"""

    array_mode = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # a dot product: g is a scalar
            return (g * b if need[0] else None), (g * a if need[1] else None)
        # a 1-D operand is a row (a) or a column (b): give g that axis, then drop it again
        A = a.reshape((1,) + a.shape) if a.ndim == 1 else a
        B = b.reshape(b.shape + (1,)) if b.ndim == 1 else b
        G = g.reshape(g.shape + (1,)) if b.ndim == 1 else g
        if a.ndim == 1:
            G = G.reshape(G.shape[:-1] + (1,) + G.shape[-1:])
        ga = gb = None
        if need[0]:
            ga = G @ _swap(B)
            if a.ndim == 1:
                ga = ga.reshape(ga.shape[:-2] + ga.shape[-1:])
        if need[1]:
            gb = _swap(A) @ G
            if b.ndim == 1:
                gb = gb.reshape(gb.shape[:-1])
        return ga, gb


class Linear(Function):
    """x @ W + b (nn.Linear: W of shape (in, out))
                        dx = g @ Wᵀ      dW = xᵀ @ g      db = g summed over the rows"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        y = x @ weight
        return y if bias is None else y + bias

    @staticmethod
    def fast_forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        y = x @ weight
        if bias is None:
            return y
        if bias.dtype == y.dtype and bias.shape == y.shape[-1:]:
            y += bias  # into the fresh product: one array fewer per layer (PyTorch's addmm)
            return y
        return y + bias

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = g @ w.T if need[0] else None
        gw = None
        if need[1]:
            gw = (x.T @ g) if x.ndim == 2 else (
                x.reshape(-1, x.shape[-1]).T @ g.reshape(-1, g.shape[-1]))
        return gx, gw, (g if len(need) > 2 and need[2] else None)


class Einsum(Function):
    """np.einsum(equation, *operands)
                        d(operand k) = einsum of g with the other operands onto k's subscripts

    A letter that only operand k has was summed away: its gradient is broadcast back along it.
    A letter repeated within operand k (a trace "ii->", a diagonal "ii->i") reads a diagonal:
    its gradient is put on that diagonal, zeros elsewhere (``OnDiagonal``)."""

    array_mode = True

    @staticmethod
    def forward(ctx, equation, *operands):
        ctx.save_for_backward(*operands)
        ctx.equation = equation
        return np.einsum(equation, *operands, optimize=len(operands) > 2)

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved_tensors
        ins, out = ctx.equation.split("->")
        subs = ins.split(",")
        grads = [None]
        for k, need in enumerate(ctx.needs_input_grad[1:]):
            if not need:
                grads.append(None)
                continue
            sub, shape = subs[k], operands[k].shape
            letters = "".join(dict.fromkeys(sub))  # each once, in order ("iij" -> "ij")
            size = dict(zip(sub, shape))
            others = [s for j, s in enumerate(subs) if j != k]
            present = set(out).union(*others)
            target = "".join(c for c in letters if c in present)
            eq = ",".join([out, *others]) + "->" + target
            part = _einsum(eq, g, *[o for j, o in enumerate(operands) if j != k])
            if target != letters:  # letters summed within operand k alone: broadcast back
                kept = tuple(size[c] if c in present else 1 for c in letters)
                part = _expand(part.reshape(kept), tuple(size[c] for c in letters))
            if letters != sub:  # a repeated letter: onto the diagonal it read
                part = _on_diagonal(part, sub, shape)
            grads.append(part)
        return tuple(grads)


class OnDiagonal(Function):
    """zeros(shape), x on the diagonal the subscripts name     dx = g along that diagonal

    The einsum adjoint of a repeated subscript ("ii": the main diagonal; x has one axis per
    distinct letter); dx reads the diagonal back with einsum "ii->i"."""

    array_mode = True

    @staticmethod
    def forward(ctx, x, subscripts, shape):
        ctx.subscripts = subscripts
        return _on_diagonal(x, subscripts, shape)

    @staticmethod
    def backward(ctx, g):
        sub = ctx.subscripts
        return _einsum(sub + "->" + "".join(dict.fromkeys(sub)), g)


def _on_diagonal(x, subscripts: str, shape):
    """zeros(shape) with x on the diagonal that ``subscripts`` name: OnDiagonal's forward."""
    if _is_tensor(x):
        return OnDiagonal.apply(x, subscripts=subscripts, shape=tuple(shape))
    full = np.zeros(shape, dtype=x.dtype)
    letters = "".join(dict.fromkeys(subscripts))
    # the diagonal as a view of full: a letter's stride is the sum of its axes' strides
    strides = tuple(builtins.sum(st for c, st in zip(subscripts, full.strides) if c == d)
                    for d in letters)
    np.lib.stride_tricks.as_strided(full, x.shape, strides)[...] = x
    return full


def matmul(a, b):
    """a @ b for 1-D, 2-D and batched (…, n, k) @ (…, k, p) operands"""
    a, b = _matmul_operands("matmul", a, b)
    A, B = a._data if _is_tensor(a) else a, b._data if _is_tensor(b) else b
    if A.ndim == 0 or B.ndim == 0:
        raise ShapeError(f"matmul: {A.shape} @ {B.shape}: operands must have at least one "
                         "dimension (use * to multiply by a scalar)")
    if A.shape[-1] != B.shape[-2 if B.ndim > 1 else 0]:
        raise ShapeError(
            f"matmul: {A.shape} @ {B.shape}: inner dimensions {A.shape[-1]} and "
            f"{B.shape[-2 if B.ndim > 1 else 0]} differ"
        )
    try:
        return Matmul.apply(a, b)
    except ValueError:
        raise ShapeError(f"matmul: {A.shape} @ {B.shape}: batch dimensions "
                         f"{A.shape[:-2]} and {B.shape[:-2]} cannot be broadcast") from None


def _matmul_operands(op: str, a, b):
    """Operands of a product: two tensors must share a dtype when one is float (as in PyTorch:
    a float32 model fed float64 data, or raw uint8 pixels, raises instead of silently running
    in float64 or on unscaled integers)."""
    if _is_tensor(a) and _is_tensor(b):
        da, db = a._data.dtype, b._data.dtype
        if da != db and "f" in (da.kind, db.kind):
            if da.kind == "f" and db.kind == "f":
                hint = (f"convert one, e.g. x.astype('{db}') (a float32 model needs float32 "
                        "inputs)")
            else:
                i, f = (da, db) if da.kind != "f" else (db, da)
                hint = (f"convert the {i} one to {f}, e.g. x.astype('{f}'), and scale it if it "
                        "holds pixels (x.astype('float32') / 255)")
            raise DTypeError(f"{op}: operands of shapes {a.shape} and {b.shape} have dtypes "
                             f"{da} and {db}; {hint}")
    return _operands(op, a, b)


def linear(x, weight, bias=None):
    """x @ weight + bias as one op (nn.Linear's forward; weight has shape (in, out))"""
    if isinstance(x, TensorBase) and isinstance(weight, TensorBase):
        X, W = x._data, weight._data
        if (W.ndim == 2 and X.ndim and X.shape[-1] == W.shape[0] and X.dtype is W.dtype and (
                bias is None or isinstance(bias, TensorBase) and bias._data.shape == W.shape[1:]
                and bias._data.dtype is W.dtype)):
            return Linear.apply(x, weight, bias)  # the common case, checked
    x, weight = _matmul_operands("linear", x, weight)
    X, W = _data_of(x), _data_of(weight)
    if W.ndim != 2 or X.ndim == 0 or X.shape[-1] != W.shape[0]:
        raise ShapeError(f"linear: input of shape {np.shape(X)} and weight of shape "
                         f"{np.shape(W)}: the input's last dimension must be the weight's first "
                         "(weight has shape (in_features, out_features))")
    if bias is not None:
        if _is_tensor(bias) and _is_tensor(weight) and bias._data.dtype != W.dtype:
            raise DTypeError(f"linear: bias of dtype {bias._data.dtype} for a weight of dtype "
                             f"{W.dtype}")
        B = _data_of(bias)
        out = np.shape(X)[:-1] + (W.shape[1],)
        try:
            fits = np.broadcast_shapes(np.shape(B), out) == out
        except ValueError:
            fits = False
        if not fits:  # a bias may broadcast to the output, never make it bigger
            raise ShapeError(f"linear: bias of shape {np.shape(B)} does not fit the output "
                             f"{out} of a weight of shape {W.shape}; give it shape "
                             f"({W.shape[1]},)")
        if not _is_tensor(bias):
            bias = np.asarray(bias, dtype=W.dtype)
        return Linear.apply(x, weight, bias)
    return Linear.apply(x, weight)


def einsum(equation: str, *operands):
    """Einstein summation, as ``np.einsum`` / ``torch.einsum`` (explicit or implicit output,
    ``...`` for leading dimensions; a subscript repeated within an operand reads its diagonal,
    as "ii->" for a trace)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    proto = next((o for o in operands if _is_tensor(o)), None)
    if proto is None:
        raise ArgumentError("einsum: expected at least one Tensor operand")
    ops = _promoted([o if _is_tensor(o) else new_tensor(type(proto), np.asarray(o), None)
                     for o in operands])
    eq = _explicit_equation(equation.replace(" ", ""), [o.ndim for o in ops])
    try:
        return Einsum.apply(eq, *ops)
    except ValueError as e:
        raise ShapeError(f"einsum: {equation!r} does not fit operands of shapes "
                         f"{', '.join(str(o.shape) for o in ops)}: {e}") from None


def _explicit_equation(equation: str, ndims: list) -> str:
    """The equation with ``...`` spelled out and the output written (NumPy's implicit rule)."""
    letters = iter(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation)
    ins, _, out = equation.partition("->")
    subs = ins.split(",")
    if len(subs) != len(ndims):
        raise ShapeError(f"einsum: {equation!r} names {len(subs)} operand(s) but got "
                         f"{len(ndims)}")
    width = builtins.max((n - len(s.replace("...", "")) for s, n in zip(subs, ndims)
                          if "..." in s), default=0)
    ell = "".join(next(letters) for _ in range(width))
    subs = [s.replace("...", ell[width - (n - len(s.replace("...", ""))):]) if "..." in s else s
            for s, n in zip(subs, ndims)]
    if "->" not in equation:
        counts = {c: "".join(subs).count(c) for c in set("".join(subs))}
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return ",".join(subs) + "->" + out


def tensordot(a, b, dims=2):
    """Sum over the last ``dims`` axes of a and the first of b (or explicit axis lists)"""
    if isinstance(dims, int):
        axes_a, axes_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        axes_a, axes_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    axes_a = [k % a.ndim for k in axes_a]
    axes_b = [k % b.ndim for k in axes_b]
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(axes_a, axes_b):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in axes_a] + [
        c for k, c in enumerate(sb) if k not in axes_b]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


# === softmax family and losses ==================================================================


class Softmax(Function):
    """exp(x) / sum(exp(x)) along an axis      dx = y * (g - sum(g * y))"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        y = np.exp(_log_softmax(x, axis))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """x - log(sum(exp(x))) along an axis      dx = g - exp(y) * sum(g)"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        y = _log_softmax(x, axis)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - _exp(y) * g.sum(axis=ctx.axis, keepdims=True)


def _log_softmax(Z: np.ndarray, axis) -> np.ndarray:
    """Stable log-softmax of an array (the max is subtracted first, so exp never overflows)."""
    if Z.size == 0:
        return Z.copy()
    if _kernels.ENABLED and Z.ndim == 2 and axis == 1:
        return _kernels.log_softmax_rows(Z)
    shifted = Z - Z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class CrossEntropy(Function):
    """-sum_c T[n, c] log_softmax(z)[n, c] per position, reduced
                        dz = (softmax(z) * sum_c T - T) * g * scale

    T holds each logit's weight in the loss: w[y] at the label (class indices), the smoothed
    and weighted probabilities otherwise (see ``_targets``); for ``reduction="mean"`` the scale
    is 1 / (sum of the label weights), as in PyTorch. With one-hot T and no weights this is the
    seeds' rule dZ = (A - Y) / m.
    """

    array_mode = True

    @staticmethod
    def forward(ctx, z, targets, reduction):
        ctx.targets, ctx.reduction = targets, reduction
        ctx.save_for_backward(z)
        logp = _log_softmax(z, 1)
        return targets.reduce(-targets.dot(logp), reduction)

    @staticmethod
    def fast_forward(ctx, z, targets, reduction):
        ctx.targets, ctx.reduction = targets, reduction
        ctx.save_for_backward(z)
        ctx.stash = logp = _log_softmax(z, 1)  # backward's softmax is exp(logp): no second pass
        return targets.reduce(-targets.dot(logp), reduction)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        t = ctx.targets
        if _is_tensor(z):
            p = Softmax.apply(z, axis=1)
        else:
            p = np.exp(ctx.stash if ctx.stash is not None else _log_softmax(z, 1))
        return t.grad(p, t.expand_grad(g, ctx.reduction)), None, None


class NllLoss(Function):
    """-sum_c T[n, c] x[n, c] per position (x: log-probabilities), reduced
                        dx = -T * g * scale"""

    array_mode = True

    @staticmethod
    def forward(ctx, logp, targets, reduction):
        ctx.targets, ctx.reduction = targets, reduction
        return targets.reduce(-targets.dot(logp), reduction)

    @staticmethod
    def backward(ctx, g):
        t = ctx.targets
        return t.grad(None, t.expand_grad(g, ctx.reduction)), None, None


class _Targets:
    """The targets of a cross-entropy over logits of shape (N, C, d1, ...), as the weight T of
    each logit in the loss: for class indices, ``w[y] (1 - eps)`` at the label plus
    ``w[c] eps / C`` everywhere (eps: label smoothing; ignored positions get nothing); for
    probabilities, ``w[c] ((1 - eps) P + eps / C)``. A dense T is made only when it has to be:
    plain labels pick one log-probability per position."""

    def __init__(self, labels, probs, weight, ignore_mask, smoothing, n_classes):
        self.labels, self.probs, self.weight = labels, probs, weight
        self.ignore, self.eps, self.C = ignore_mask, smoothing, n_classes
        self.picked = labels is not None and not smoothing  # one logit per position counts
        if labels is not None:
            lab = labels if ignore_mask is None else np.where(ignore_mask, 0, labels)
            # w[y] per position (0 where ignored); None: all ones
            w = None if weight is None else weight[lab]
            if ignore_mask is not None:
                w = np.where(ignore_mask, 0.0, 1.0 if w is None else w)
            self.w_label = w
            # where each label's logit is in the flattened (N, C) array: one index array
            # instead of (rows, labels), which NumPy handles several times faster
            # (lab + [0, C, 2C, ...]: each row's start, made once per shape)
            self.flat = lab + _kernels.constant(np.arange, 0, lab.size * n_classes, n_classes) \
                if lab.ndim == 1 else None
            self.lab = lab
            self.denominator = float(lab.size if w is None else w.sum())
        else:
            self.w_label = None
            self.denominator = float(probs[:, 0].size)  # mean over positions

    def _at_labels(self, a: np.ndarray) -> np.ndarray:
        """a[n, y_n, ...] for every position n."""
        if self.flat is not None and a.flags.c_contiguous:
            return a.reshape(-1)[self.flat]
        return np.take_along_axis(a, self.lab[:, None], axis=1)[:, 0]

    def dense(self, dtype) -> np.ndarray:
        """T, of the logits' shape."""
        C = self.C
        spatial = (self.labels if self.labels is not None else self.probs[:, 0]).ndim - 1
        wc = None if self.weight is None else self.weight.reshape((1, C) + (1,) * spatial)
        if self.labels is None:
            P = self.probs if not self.eps else (1 - self.eps) * self.probs + self.eps / C
            return (P if wc is None else P * wc).astype(dtype, copy=False)
        lab = self.lab
        T = np.zeros((lab.shape[0], C) + lab.shape[1:], dtype=dtype)
        w = np.ones(lab.shape, dtype) if self.w_label is None else self.w_label.astype(dtype)
        np.put_along_axis(T, lab[:, None], (1 - self.eps) * w[:, None], axis=1)
        if self.eps:
            keep = 1.0 if self.ignore is None else (~self.ignore)[:, None]
            T += (self.eps / C) * (1.0 if wc is None else wc) * keep
        return T

    def dot(self, logp: np.ndarray) -> np.ndarray:
        """sum_c T[n, c] logp[n, c] per position."""
        if self.picked:
            out = self._at_labels(logp)
            return out if self.w_label is None else out * self.w_label.astype(logp.dtype)
        return (self.dense(logp.dtype) * logp).sum(axis=1)

    def reduce(self, per: np.ndarray, reduction: str):
        if reduction == "none":
            return per
        total = per.sum()
        if reduction == "sum":
            return total
        d = self.denominator
        return total / d if d else total * np.nan  # nothing counted (all ignored): NaN

    def expand_grad(self, g, reduction: str):
        """g as a factor per position, of shape (N, 1, d1, ...)."""
        if reduction == "none":
            return g.reshape(g.shape[:1] + (1,) + g.shape[1:])
        if reduction == "mean":
            d = self.denominator
            g = g / d if d else g * 0  # nothing counted: a NaN loss, but gradient 0, as PyTorch
        return g

    def grad(self, p, scale):
        """d(loss)/d(input): (p * sum_c T - T) * scale for logits; -T * scale for log-probs."""
        dtype = (p if p is not None else scale).dtype
        if p is None:
            return -self.dense(dtype) * scale
        if self.picked and not _is_tensor(p):  # p is a fresh array: worked on in place
            w = self.w_label
            if w is not None:
                w = w.astype(dtype)[:, None]
                p *= w  # sum_c T = w[y]
            if self.flat is not None and p.flags.c_contiguous:
                p.reshape(-1)[self.flat] -= 1 if w is None else w[:, 0]
            else:
                np.put_along_axis(p, self.lab[:, None], np.take_along_axis(
                    p, self.lab[:, None], axis=1) - (1 if w is None else w), axis=1)
            p *= scale
            return p
        T = self.dense(dtype)
        return (p * T.sum(axis=1, keepdims=True) - T) * scale


def _targets(op: str, logits, target, weight, ignore_index: int, label_smoothing: float):
    """Check the targets against logits of shape (N, C, d1, ...) and describe them (the caller
    has refused targets that require grad: _constant_targets)."""
    Z = logits._data
    T = target._data if _is_tensor(target) else np.asarray(target)
    if Z.ndim == 0:
        raise ShapeError(f"{op}: logits must have a class dimension, got a 0-d tensor")
    N, C = (Z.shape[0], Z.shape[1]) if Z.ndim > 1 else (1, Z.shape[0])
    if C == 0:
        raise ShapeError(f"{op}: logits of shape {Z.shape} have no classes (dimension 1 is 0)")
    spatial = Z.shape[2:]
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    w = None
    if weight is not None:
        w = np.asarray(weight._data if _is_tensor(weight) else weight, dtype=np.float64)
        if w.shape != (C,):
            raise ShapeError(f"{op}: weight must have one entry per class, shape ({C},), got "
                             f"{w.shape}")
    if T.dtype.kind in "iu":
        expected = (N,) + spatial
        if T.shape != expected:
            hint = (" (for logits of shape (N, C, d1, ...) the labels are (N, d1, ...): the "
                    "class dimension is the second)" if Z.ndim > 2 else "")
            raise ShapeError(f"{op}: integer labels must have shape {expected} for logits of "
                             f"shape {Z.shape}, got {T.shape}{hint}")
        ignore = None if _all_classes(T, C, ignore_index) else \
            _ignored_labels(op, T, C, Z.shape, ignore_index)
        return _Targets(T if T.dtype == np.int64 else T.astype(np.int64), None, w, ignore,
                        label_smoothing, C)
    if T.dtype.kind == "f":
        if T.shape != Z.shape:
            what = "labels must be integers" if T.ndim == Z.ndim - 1 else (
                f"one-hot rows must have width {C} (class probabilities have the logits' shape "
                f"{Z.shape})")
            raise ShapeError(f"{op}: targets of shape {T.shape} and dtype {T.dtype} do not fit "
                             f"logits of shape {Z.shape}: {what}")
        return _Targets(None, T.astype(Z.dtype, copy=False), w, None, label_smoothing, C)
    raise DTypeError(f"{op}: targets must be integer labels or float class probabilities, got "
                     f"dtype {T.dtype} (shape {T.shape})")


def _all_classes(T: np.ndarray, C: int, ignore_index) -> bool:
    """Whether every label is a class, 0..C-1, and none can be ``ignore_index``: the usual case,
    checked in one pass (read as unsigned, a negative label is larger than any class)."""
    if not T.size or not T.dtype.isnative or (ignore_index is not None and 0 <= ignore_index < C):
        return False
    return int(np.maximum.reduce(T.view(f"u{T.itemsize}"), axis=None)) < C


def _ignored_labels(op: str, T: np.ndarray, C: int, shape: tuple, ignore_index):
    """The mask of labels equal to ``ignore_index`` (None if there are none); any other label
    outside 0..C-1 raises."""
    # (the ufuncs' reduce: T.min() and T.max() go through a Python function each)
    low, high = (np.minimum.reduce(T, axis=None), np.maximum.reduce(T, axis=None)) \
        if T.size else (0, 0)
    ignore = None
    if ignore_index is not None and (low <= ignore_index <= high):
        ignore = T == ignore_index
        if not ignore.any():
            ignore = None
    valid = T if ignore is None else T[~ignore]
    if ignore is not None and valid.size:
        low, high = valid.min(), valid.max()
    if valid.size and (low < 0 or high >= C):
        bad = valid[(valid < 0) | (valid >= C)][0]
        raise OutOfRangeError(f"{op}: label {bad} is out of range for {C} classes (logits "
                              f"shape {shape}); labels must be 0..{C - 1}"
                              + ("" if ignore_index is None else
                                 f" or ignore_index={ignore_index}"))
    return ignore


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ArgumentError(f"{op}: reduction must be 'mean', 'sum' or 'none', got "
                              f"{reduction!r}")


def softmax(x, axis: int = -1, *, dim=None):
    """exp(x) / sum(exp(x)) along ``axis`` (PyTorch's ``dim``)"""
    x = _float_input(x, "softmax")
    axis = dim if dim is not None else axis
    ax = _one_axis(axis, x.ndim, "softmax")
    return Softmax.apply(x, axis=() if ax is None else ax)


def log_softmax(x, axis: int = -1, *, dim=None):
    """x - logsumexp(x) along ``axis``"""
    x = _float_input(x, "log_softmax")
    axis = dim if dim is not None else axis
    ax = _one_axis(axis, x.ndim, "log_softmax")
    return LogSoftmax.apply(x, axis=() if ax is None else ax)


def cross_entropy(logits, targets, reduction: str = "mean", *, weight=None,
                  ignore_index: int = -100, label_smoothing: float = 0.0):
    """Softmax cross-entropy, as ``torch.nn.functional.cross_entropy``.

    ``logits``: (N, C) or (N, C, d1, ...) (or (C,) for one sample). ``targets``: integer labels
    of shape (N, d1, ...) or class probabilities of the logits' shape. ``weight``: one weight
    per class; ``ignore_index``: a label that contributes nothing (labels only);
    ``label_smoothing``: mix the targets with the uniform distribution. ``reduction``: "mean"
    (over the weights of the non-ignored labels, or over positions for probabilities), "sum"
    or "none".
    """
    _check_reduction(reduction, "cross_entropy")
    _constant_targets(targets, "cross_entropy")
    logits = _float_input(logits, "cross_entropy")
    if logits._data.ndim == 1:
        z, unbatched = _batched(logits, targets)
        targets = _batched_target(targets, unbatched)
    else:
        z, unbatched = logits, False
    t = _targets("cross_entropy", z, targets, weight, ignore_index, label_smoothing)
    y = CrossEntropy.apply(z, t, reduction)
    return squeeze(y, 0) if unbatched and reduction == "none" else y


def nll_loss(log_probs, targets, reduction: str = "mean", *, weight=None,
             ignore_index: int = -100):
    """Negative log-likelihood of log-probabilities, as ``torch.nn.functional.nll_loss``"""
    _check_reduction(reduction, "nll_loss")
    _constant_targets(targets, "nll_loss")
    log_probs = _float_input(log_probs, "nll_loss")
    z, unbatched = _batched(log_probs, targets)
    t = _targets("nll_loss", z, _batched_target(targets, unbatched), weight, ignore_index, 0.0)
    y = NllLoss.apply(z, t, reduction)
    return squeeze(y, 0) if unbatched and reduction == "none" else y


def _batched(logits, targets):
    """(C,) logits with a 0-d label (one sample) become a batch of one."""
    T = targets._data if _is_tensor(targets) else np.asarray(targets)
    if logits.ndim == 1:
        if T.ndim == 0 or (T.dtype.kind == "f" and T.shape == logits.shape):
            return reshape(logits, (1, logits.shape[0])), True
        raise ShapeError(f"cross_entropy: logits of shape {logits.shape} are one sample of "
                         f"{logits.shape[0]} classes, whose target is one label (a 0-d integer) "
                         f"or {logits.shape[0]} probabilities, but the targets have shape "
                         f"{T.shape}; for a batch give logits of shape (batch, classes)")
    return logits, False


def _batched_target(targets, unbatched: bool):
    T = targets._data if _is_tensor(targets) else np.asarray(targets)
    return T[None] if unbatched else T


class BinaryCrossEntropy(Function):
    """-w (y log p + (1 - y) log(1 - p)), each log clamped at -100 (as PyTorch)
                        dp = g * w (p - y) / max(p (1 - p), 1e-12)"""

    array_mode = True

    @staticmethod
    def forward(ctx, p, y, weight, reduction):
        ctx.save_for_backward(p, y)
        ctx.weight, ctx.reduction = weight, reduction
        with np.errstate(divide="ignore"):
            per = -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))
        if weight is not None:
            per = per * weight
        return _reduce_elementwise(per, reduction)

    @staticmethod
    def backward(ctx, g):
        p, y = ctx.saved_tensors
        d = (p - y) / _maximum(p * (1 - p), 1e-12)
        if ctx.weight is not None:
            d = d * ctx.weight
        return _scale_elementwise(d, g, ctx.reduction), None, None, None


class BinaryCrossEntropyWithLogits(Function):
    """(1 - y) z + c log(1 + exp(-z)), c = 1 + (pos_weight - 1) y, computed without overflow
                        dz = g * w (c sigmoid(z) - pos_weight y)"""

    array_mode = True

    @staticmethod
    def forward(ctx, z, y, weight, pos_weight, reduction):
        ctx.save_for_backward(z, y)
        ctx.weight, ctx.pos_weight, ctx.reduction = weight, pos_weight, reduction
        softplus_neg = np.log1p(np.exp(-np.abs(z))) + np.maximum(-z, 0)  # log(1 + exp(-z))
        c = 1.0 if pos_weight is None else 1 + (pos_weight - 1) * y
        per = (1 - y) * z + c * softplus_neg
        if weight is not None:
            per = per * weight
        return _reduce_elementwise(per, reduction)

    @staticmethod
    def backward(ctx, g):
        z, y = ctx.saved_tensors
        pw = ctx.pos_weight
        s = _sigmoid(z)
        d = s - y if pw is None else (1 + (pw - 1) * y) * s - pw * y
        if ctx.weight is not None:
            d = d * ctx.weight
        return _scale_elementwise(d, g, ctx.reduction), None, None, None, None


def _maximum(a, b):
    return Maximum.apply(a, b) if _is_tensor(a) else np.maximum(a, b)


def _reduce_elementwise(per, reduction: str):
    if reduction == "none":
        return per
    total = per.sum()
    return total if reduction == "sum" else total / builtins.max(per.size, 1) if per.size \
        else total * np.nan


def _scale_elementwise(d, g, reduction: str):
    if reduction == "mean":
        return d * (g / builtins.max(d.size, 1))
    return d * g


def _constant_targets(targets, op: str) -> None:
    """Losses give no gradient to their targets (as PyTorch for labels): refuse a target that
    asks for one instead of leaving its .grad silently empty."""
    if _is_tensor(targets) and targets._requires_grad and is_grad_enabled():
        raise GraphError(f"{op}: the targets require grad, but the loss gives no gradient to its "
                         "targets; pass targets.detach(), or write the loss with tensor ops "
                         "(e.g. -(p * target).sum()) if you need it")


def _binary_targets(x, targets, op: str):
    _constant_targets(targets, op)
    Y = targets._data if _is_tensor(targets) else np.asarray(targets)
    if Y.shape != x.shape:
        raise ShapeError(f"{op}: input of shape {x.shape} and targets of shape {Y.shape} differ; "
                         "give one target in [0, 1] per input element")
    return Y.astype(x._data.dtype, copy=False)


def _weight_array(weight, like, op: str):
    if weight is None:
        return None
    w = np.asarray(weight._data if _is_tensor(weight) else weight, dtype=like._data.dtype)
    try:
        np.broadcast_shapes(w.shape, like.shape)
    except ValueError:
        raise ShapeError(f"{op}: weight of shape {w.shape} cannot be broadcast to the input's "
                         f"shape {like.shape}") from None
    return w


def binary_cross_entropy(probs, targets, weight=None, reduction: str = "mean"):
    """BCE of probabilities in [0, 1] (logs clamped at -100, as PyTorch); prefer
    ``binary_cross_entropy_with_logits``"""
    if isinstance(weight, str):  # the older positional form (probs, targets, reduction)
        weight, reduction = None, weight
    _check_reduction(reduction, "binary_cross_entropy")
    p = _float_input(probs, "binary_cross_entropy")
    Y = _binary_targets(p, targets, "binary_cross_entropy")
    P = p._data
    if P.size and (P.min() < 0 or P.max() > 1):
        raise OutOfRangeError(f"binary_cross_entropy: inputs must be probabilities in [0, 1], got "
                              f"values in [{P.min():.4g}, {P.max():.4g}] (shape {P.shape}); for "
                              "raw scores use binary_cross_entropy_with_logits")
    return BinaryCrossEntropy.apply(p, Y, _weight_array(weight, p, "binary_cross_entropy"),
                                    reduction)


def binary_cross_entropy_with_logits(logits, targets, weight=None, reduction: str = "mean",
                                     pos_weight=None):
    """BCE of sigmoid(z), stable for any z; ``pos_weight`` weighs the positive term"""
    op = "binary_cross_entropy_with_logits"
    if isinstance(weight, str):  # the older positional form (logits, targets, reduction)
        weight, reduction = None, weight
    _check_reduction(reduction, op)
    z = _float_input(logits, op)
    Y = _binary_targets(z, targets, op)
    return BinaryCrossEntropyWithLogits.apply(z, Y, _weight_array(weight, z, op),
                                              _weight_array(pos_weight, z, op), reduction)


# === convolution and pooling ====================================================================

Geometry = namedtuple("Geometry", "shape kernel stride padding dilation out extra",
                      defaults=((0, 0),))
# The sliding windows over an (N, C, H, W) input of ``shape``: ``out`` is (oh, ow); ``extra``
# is padding added at the bottom and right only, where ceil_mode's last window needs it.


def _geometry(shape, kernel, stride, padding, dilation, op: str,
              ceil_mode: bool = False) -> Geometry:
    """The sliding-window layout over a (N, C, H, W) input, checked; output sizes as PyTorch
    (ceil_mode rounds up, but a last window must start inside the input or its left padding)."""
    pair = lambda v, name: _pair(v, name, op)  # noqa: E731
    kernel, stride = pair(kernel, "kernel_size"), pair(stride, "stride")
    padding, dilation = pair(padding, "padding"), pair(dilation, "dilation")
    if builtins.min(kernel + stride + dilation) < 1 or builtins.min(padding) < 0:
        raise ArgumentError(f"{op}: kernel_size, stride and dilation must be >= 1 and padding "
                            f">= 0, got kernel {kernel}, stride {stride}, padding {padding}, "
                            f"dilation {dilation}")
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    out, extra = [], []
    for n, span, s, p in zip(shape[2:], spans, stride, padding):
        if n + 2 * p < span:
            dilated = f" (dilated to {spans})" if dilation != (1, 1) else ""
            raise ShapeError(
                f"{op}: an input of spatial size {tuple(shape[2:])} (shape {tuple(shape)}) with "
                f"padding {padding} is smaller than the kernel {kernel}{dilated}; use a smaller "
                "kernel or more padding, or downsample less before this layer (each pooling or "
                "stride-2 layer halves the image)")
        o = (n + 2 * p - span) // s + 1
        if ceil_mode:
            o = -(-(n + 2 * p - span) // s) + 1
            if (o - 1) * s >= n + p:
                o -= 1
        out.append(o)
        extra.append(builtins.max(0, (o - 1) * s + span - (n + 2 * p)))
    return Geometry(tuple(shape), kernel, stride, padding, dilation, tuple(out), tuple(extra))


def _pair(v, name: str, op: str) -> tuple:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return (int(v), int(v))
    if not isinstance(v, (tuple, list)) or not builtins.all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in v):
        raise ArgumentError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")
    if len(v) != 2:
        raise ShapeError(f"{op}: {name} must be an int or a pair of ints, got {tuple(v)}")
    return (int(v[0]), int(v[1]))


def _padded(x: np.ndarray, geo: Geometry, fill=0.0) -> np.ndarray:
    (ph, pw), (eh, ew) = geo.padding, geo.extra
    if ph or pw or eh or ew:
        return np.pad(x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), constant_values=fill)
    return x


def _windows(x: np.ndarray, geo: Geometry, fill=0.0) -> np.ndarray:
    """A (N, C, kh, kw, oh, ow) strided view of the padded input: element (i, j) of every
    window, for each window position."""
    x = _padded(x, geo, fill)
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    N, C = x.shape[:2]
    (kh, kw), (oh, ow) = geo.kernel, geo.out
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (N, C, kh, kw, oh, ow), (s[0], s[1], s[2] * dh, s[3] * dw, s[2] * sh, s[3] * sw),
        writeable=False)


def _im2col(x: np.ndarray, geo: Geometry) -> np.ndarray:
    """(N, C, H, W) -> (N, C*kh*kw, oh*ow): every window as a column (PyTorch's unfold)."""
    N, C = x.shape[:2]
    return _windows(x, geo).reshape(N, C * geo.kernel[0] * geo.kernel[1],
                                    geo.out[0] * geo.out[1])


def _window_slices(geo: Geometry):
    """For each kernel element (i, j), in window order: the (rows, columns) slices of the padded
    input that it visits across the output positions."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = geo.kernel, geo.stride, geo.dilation, geo.out
    return [(slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
             slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)) for i in range(kh) for j in range(kw)]


def _col2im(cols: np.ndarray, geo: Geometry) -> np.ndarray:
    """(N, C*kh*kw, oh*ow) -> (N, C, H, W), overlapping windows added up (PyTorch's fold): one
    strided add per kernel element, in window order."""
    N, C, H, W = geo.shape
    (kh, kw), (oh, ow) = geo.kernel, geo.out
    (ph, pw), (eh, ew) = geo.padding, geo.extra
    cols = cols.reshape(N, C, kh * kw, oh, ow)
    out = np.zeros((N, C, H + 2 * ph + eh, W + 2 * pw + ew), dtype=cols.dtype)
    for k, (rows, columns) in enumerate(_window_slices(geo)):
        out[:, :, rows, columns] += cols[:, :, k]
    return out[:, :, ph:ph + H, pw:pw + W]


class Unfold(Function):
    """every kernel window of x as a column: (N, C, H, W) -> (N, C*kh*kw, L)
                        dx = fold(g): each column added back where its window was"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, geometry):
        ctx.geometry = geometry
        return _im2col(x, geometry)

    @staticmethod
    def backward(ctx, g):
        return _fold(g, ctx.geometry)


class Fold(Function):
    """columns added into an image (N, C*kh*kw, L) -> (N, C, H, W), unfold's adjoint
                        dcols = unfold(g)"""

    array_mode = True

    @staticmethod
    def forward(ctx, cols, geometry):
        ctx.geometry = geometry
        return _col2im(cols, geometry)

    @staticmethod
    def backward(ctx, g):
        return _unfold(g, ctx.geometry)


class Conv2d(Function):
    """y = W ⋆ x + b: each output channel correlates its filter with the input's windows,
    computed per sample and group as W (O, C/G * kh * kw) @ unfold(x)
                        dW = g @ unfold(x)ᵀ      dx = fold(Wᵀ @ g)      db = g summed"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, weight, bias, geometry, groups):
        ctx.save_for_backward(x, weight)
        ctx.geometry, ctx.groups = geometry, groups
        y = _conv_product(weight, _im2col(x, geometry), groups, geometry)
        return y if bias is None else y + bias.reshape(1, -1, 1, 1)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        geo, G = ctx.geometry, ctx.groups
        need = ctx.needs_input_grad
        N, O = g.shape[0], g.shape[1]
        L = geo.out[0] * geo.out[1]
        gy = g.reshape(N, G, O // G, L)
        gx = gw = None
        if need[1]:
            cols = _unfold(x, geo)
            cols = cols.reshape(N, G, cols.shape[1] // G, L)
            gw = (gy @ _swap(cols)).sum(axis=0).reshape(w.shape)
        if need[0]:
            gcols = (_swap(w.reshape(G, O // G, -1)) @ gy).reshape(N, -1, L)
            gx = _fold(gcols, geo)
        gb = g.sum(axis=(0, 2, 3)) if need[2] else None
        return gx, gw, gb, None, None

    @staticmethod
    def fast_forward(ctx, x, weight, bias, geometry, groups):
        ctx.save_for_backward(x, weight)
        ctx.geometry, ctx.groups = geometry, groups
        xpad = _padded(x, geometry)
        if ctx.needs_input_grad[1] and xpad is not x:
            ctx.stash = xpad  # the backward unfolds it again
        return _kernels.conv2d(xpad, weight, bias, groups, geometry)

    @staticmethod
    def fast_backward(ctx, g):
        x, w = ctx.saved_tensors
        geo = ctx.geometry
        xpad = ctx.stash if ctx.stash is not None else _padded(x, geo)
        dx, dw, db = _kernels.conv2d_backward(g, xpad, w, ctx.groups, geo, _window_slices(geo),
                                              ctx.needs_input_grad)
        if dx is not None and xpad is not x:
            (ph, pw), (H, W) = geo.padding, geo.shape[2:]
            dx = dx[:, :, ph:ph + H, pw:pw + W]
        return dx, dw, db, None, None


def _conv_product(weight: np.ndarray, cols: np.ndarray, groups: int, geo: Geometry):
    """The filters times the columns, per group: (N, O, oh, ow)."""
    N, K, L = cols.shape
    O = weight.shape[0]
    if groups == 1:
        y = weight.reshape(O, K) @ cols  # N products of (O, K) @ (K, L)
    else:
        y = weight.reshape(groups, O // groups, K // groups) @ cols.reshape(
            N, groups, K // groups, L)
    return y.reshape(N, O, geo.out[0], geo.out[1])


class MaxPool2d(Function):
    """the largest value of each window       dx = g routed to each window's first maximum

    ``ctx.first`` holds, per output, the position in its window (row-major) of the first
    maximum, as PyTorch routes ties; a NaN counts as the maximum."""

    array_mode = True

    @staticmethod
    def forward(ctx, x, geometry):
        ctx.geometry = geometry
        win = _windows(x, geometry, fill=-np.inf)
        N, C, kh, kw, oh, ow = win.shape
        flat = win.reshape(N, C, kh * kw, oh, ow)
        ctx.first = first = flat.argmax(axis=2)
        return np.take_along_axis(flat, first[:, :, None], axis=2)[:, :, 0]

    @staticmethod
    def backward(ctx, g):
        geo = ctx.geometry
        N, C = g.shape[:2]
        k = geo.kernel[0] * geo.kernel[1]
        mask = np.arange(k).reshape(1, 1, k, 1, 1) == ctx.first[:, :, None]
        cols = mask * g.reshape(N, C, 1, geo.out[0], geo.out[1])
        return _fold(cols.reshape(N, -1, geo.out[0] * geo.out[1]), geo)

    @staticmethod
    def fast_forward(ctx, x, geometry):
        ctx.geometry = geometry
        found = _kernels.max_pool2d(_padded(x, geometry, -np.inf), _window_slices(geometry))
        if found is None:  # a NaN: the formula's argmax decides the routing
            return MaxPool2d.forward(ctx, x, geometry)
        y, ctx.first = found
        return y

    @staticmethod
    def fast_backward(ctx, g):
        geo = ctx.geometry
        (ph, pw), (eh, ew) = geo.padding, geo.extra
        H, W = geo.shape[2:]
        padded = (geo.shape[0], geo.shape[1], H + 2 * ph + eh, W + 2 * pw + ew)
        dx = _kernels.max_pool2d_backward(g, ctx.first, _window_slices(geo), padded,
                                          _tiles(geo))
        return dx[:, :, ph:ph + H, pw:pw + W] if padded != geo.shape else dx


def _tiles(geo: Geometry) -> bool:
    """Whether the windows cover the input exactly once (stride = kernel, no padding or
    dilation, nothing left over)."""
    return (geo.stride == geo.kernel and geo.dilation == (1, 1) and geo.padding == (0, 0)
            and geo.extra == (0, 0) and geo.shape[2] == geo.out[0] * geo.kernel[0]
            and geo.shape[3] == geo.out[1] * geo.kernel[1])


class AvgPool2d(Function):
    """the sum of each window over its divisor (the kernel's size, or what PyTorch counts
    with count_include_pad=False, ceil_mode or divisor_override)
                        dx = fold(g / divisor): each window's share added back"""

    array_mode = True

    @staticmethod
    def forward(ctx, x, geometry, divisor):
        ctx.geometry, ctx.divisor = geometry, divisor
        return _windows(x, geometry).sum(axis=(2, 3)) / divisor

    @staticmethod
    def backward(ctx, g):
        geo = ctx.geometry
        N, C = g.shape[:2]
        k, L = geo.kernel[0] * geo.kernel[1], geo.out[0] * geo.out[1]
        share = _expand((g / ctx.divisor).reshape(N, C, 1, L), (N, C, k, L))
        return _fold(share.reshape(N, C * k, L), geo)


def _avg_divisor(geo: Geometry, count_include_pad: bool, divisor_override, dtype):
    """What each window's sum is divided by: a number, or an (oh, ow) array where windows
    differ (PyTorch's rule: padding counts when count_include_pad, the ceil_mode overhang
    never does)."""
    if divisor_override is not None:
        return float(divisor_override)
    if geo.extra == (0, 0) and (count_include_pad or geo.padding == (0, 0)):
        return float(geo.kernel[0] * geo.kernel[1])
    sizes = []
    for n, k, s, p, o in zip(geo.shape[2:], geo.kernel, geo.stride, geo.padding, geo.out):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        sizes.append(end - start)
    return np.multiply.outer(*sizes).astype(dtype)


def _image_input(x, op: str, channels=None):
    """``x`` as an (N, C, H, W) batch, and whether it was one (C, H, W) image (PyTorch's
    unbatched input); the shape errors say how to fix the layouts people try."""
    x = _float_input(x, op)
    unbatched = x.ndim == 3
    if unbatched:
        x = reshape(x, (1,) + x.shape)
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected input of shape (N, C, H, W), or (C, H, W) for one "
                         f"image, got {x.shape}{_flat_hint(x.shape, channels)}")
    if channels is not None and x.shape[1] != channels:
        shape = x.shape[1:] if unbatched else x.shape
        hint = ""
        if x.shape[-1] == channels:
            hint = (f"; the input looks channels-last ({'H, W, C' if unbatched else 'N, H, W, C'})"
                    f": use x.permute({'2, 0, 1' if unbatched else '0, 3, 1, 2'}) to make it "
                    f"({'C, H, W' if unbatched else 'N, C, H, W'})")
        elif unbatched and channels == 1:
            hint = (f"; if it is a batch of {shape[0]} one-channel images (N, H, W), add the "
                    "channel axis with x.unsqueeze(1)")
        raise ShapeError(f"{op}: expected {channels} input channel{'s' * (channels != 1)} in "
                         f"dimension {0 if unbatched else 1} of an input of shape "
                         f"{'(C, H, W)' if unbatched else '(N, C, H, W)'}, got shape "
                         f"{shape}{hint}")
    return x, unbatched


def _flat_hint(shape, channels) -> str:
    if len(shape) != 2:
        return ""
    side = math.isqrt(shape[1] // (channels or 1))
    if channels and side * side * channels == shape[1]:
        return (f"; for flattened images reshape them first, e.g. "
                f"x.reshape(-1, {channels}, {side}, {side})")
    return "; reshape flattened images to (N, C, H, W) first"


def _unbatch(y, unbatched: bool):
    return reshape(y, y.shape[1:]) if unbatched else y


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``: x (N, C, H, W) or (C, H, W),
    weight (O, C / groups, kH, kW), bias (O,); ``padding`` may also be "valid" or "same"
    (stride 1; an even total goes one more to the bottom and right, as PyTorch)."""
    op = "conv2d"
    if not _is_tensor(weight) or weight.ndim != 4:
        raise ShapeError(f"{op}: weight must be a 4-D tensor (out_channels, in_channels / groups, "
                         f"kH, kW), got shape {np.shape(_data_of(weight))}")
    O, Cg, kh, kw = weight.shape
    if not isinstance(groups, (int, np.integer)) or groups < 1 or O % groups:
        raise ShapeError(f"{op}: groups={groups} must be a positive int dividing the {O} output "
                         "channels")
    x, unbatched = _image_input(x, op, Cg * groups)
    x, weight = _matmul_operands(op, x, weight)
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            if _pair(stride, "stride", op) != (1, 1):
                raise ArgumentError(f"{op}: padding='same' needs stride 1 (as in PyTorch), got "
                                    f"stride {stride}; give the padding as numbers")
            total = [d * (k - 1) for d, k in zip(_pair(dilation, "dilation", op), (kh, kw))]
            if total[0] % 2 or total[1] % 2:  # the odd one out goes to the bottom and right
                x = pad(x, (total[1] // 2, total[1] - total[1] // 2,
                            total[0] // 2, total[0] - total[0] // 2))
                padding = 0
            else:
                padding = (total[0] // 2, total[1] // 2)
        else:
            raise ArgumentError(f"{op}: padding must be an int, a pair, 'same' or 'valid', "
                                f"got {padding!r}")
    geo = _geometry(x.shape, (kh, kw), stride, padding, dilation, op)
    if bias is not None:
        if _data_of(bias).shape != (O,):
            raise ShapeError(f"{op}: bias must have shape ({O},) (one per output channel), got "
                             f"{_data_of(bias).shape}")
        if not _is_tensor(bias):
            bias = np.asarray(bias, dtype=x._data.dtype)
        elif bias._data.dtype != x._data.dtype:
            raise DTypeError(f"{op}: bias has dtype {bias._data.dtype} but the input and weight "
                             f"have {x._data.dtype}; convert it with .astype('{x._data.dtype}')")
    return _unbatch(Conv2d.apply(x, weight, bias, geo, groups), unbatched)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """The max of each window, as ``torch.nn.functional.max_pool2d`` (stride defaults to the
    kernel size); ``return_indices`` also gives each maximum's flat index in its H * W plane
    (the first maximum of a window, as PyTorch)"""
    op = "max_pool2d"
    x, unbatched = _image_input(x, op)
    geo = _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, op)
    y = _unbatch(MaxPool2d.apply(x, geometry=geo), unbatched)
    if not return_indices:
        return y
    flat = _windows(x._data, geo, fill=-np.inf)
    first = flat.reshape(flat.shape[:2] + (-1,) + geo.out).argmax(axis=2)
    kw, (sh, sw), (dh, dw), (ph, pw) = geo.kernel[1], geo.stride, geo.dilation, geo.padding
    rows = np.arange(geo.out[0])[:, None] * sh - ph + (first // kw) * dh
    columns = np.arange(geo.out[1]) * sw - pw + (first % kw) * dw
    indices = new_tensor(type(x), rows * geo.shape[3] + columns, None)
    return y, _unbatch(indices, unbatched)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None):
    """The mean of each window, as ``torch.nn.functional.avg_pool2d``: padding counts as zeros
    unless ``count_include_pad=False``; ``divisor_override`` replaces the window size"""
    op = "avg_pool2d"
    x, unbatched = _image_input(x, op)
    geo = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode, op)
    if divisor_override is not None and divisor_override == 0:
        raise ArgumentError(f"{op}: divisor_override must not be zero")
    divisor = _avg_divisor(geo, count_include_pad, divisor_override, x._data.dtype)
    return _unbatch(AvgPool2d.apply(x, geometry=geo, divisor=divisor), unbatched)


def _pool_args(kernel_size, stride, padding, dilation, op: str):
    """(kernel, stride, padding, dilation) pairs of a pooling, checked as PyTorch does; the
    stride defaults to the kernel."""
    k = _pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _pair(
        stride, "stride", op)
    p, d = _pair(padding, "padding", op), _pair(dilation, "dilation", op)
    if builtins.min(k + s + d) < 1 or builtins.min(p) < 0:
        raise ArgumentError(f"{op}: kernel_size, stride and dilation must be >= 1 and padding "
                            f">= 0, got kernel {k}, stride {s}, padding {p}, dilation {d}")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ArgumentError(f"{op}: padding {p} must be at most half the kernel size {k}, as in "
                            "PyTorch (more would make windows of padding only)")
    return k, s, p, d


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, op):
    return _geometry(x.shape, *_pool_args(kernel_size, stride, padding, dilation, op), op,
                     ceil_mode)


def adaptive_avg_pool2d(x, output_size):
    """Average over windows that tile the input into ``output_size`` cells (PyTorch's rule:
    cell i covers floor(i H / oh) to ceil((i + 1) H / oh)); None keeps that input size"""
    op = "adaptive_avg_pool2d"
    x, unbatched = _image_input(x, op)
    H, W = x.shape[2:]
    size = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(size) != 2:
        raise ShapeError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    oh, ow = _pair((H if size[0] is None else size[0], W if size[1] is None else size[1]),
                   "output_size", op)
    if oh < 1 or ow < 1:
        raise ArgumentError(f"{op}: output_size must be positive, got {output_size}")
    if H % oh == 0 and W % ow == 0:
        return _unbatch(avg_pool2d(x, (H // oh, W // ow)), unbatched)
    rows = []
    for i in range(oh):
        r0, r1 = (i * H) // oh, -((-(i + 1) * H) // oh)
        cells = [mean(getitem(x, (slice(None), slice(None), slice(r0, r1),
                                  slice((j * W) // ow, -((-(j + 1) * W) // ow)))),
                      axis=(2, 3)) for j in range(ow)]
        rows.append(stack(cells, axis=-1))
    return _unbatch(stack(rows, axis=-2), unbatched)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Every kernel window as a column, (N, C, H, W) -> (N, C*kh*kw, L) (torch's unfold)"""
    x, unbatched = _image_input(x, "unfold")
    geo = _geometry(x.shape, kernel_size, stride, padding, dilation, "unfold")
    return _unbatch(Unfold.apply(x, geometry=geo), unbatched)


def fold(cols, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Columns (N, C*kh*kw, L) added into an (N, C, H, W) image (torch's fold)"""
    cols = _float_input(cols, "fold")
    k = _pair(kernel_size, "kernel_size", "fold")
    if cols.ndim != 3 or cols.shape[1] % (k[0] * k[1]):
        raise ShapeError(f"fold: input must be (N, C*kh*kw, L) with kh*kw = {k[0] * k[1]}, got "
                         f"{cols.shape}")
    shape = (cols.shape[0], cols.shape[1] // (k[0] * k[1])) + _pair(output_size, "output_size",
                                                                   "fold")
    geo = _geometry(shape, k, stride, padding, dilation, "fold")
    if geo.out[0] * geo.out[1] != cols.shape[2]:
        raise ShapeError(f"fold: {cols.shape[2]} columns do not match the {geo.out} windows of "
                         f"an output of size {shape[2:]}")
    return Fold.apply(cols, geometry=geo)


# === composites: functions of the primitives above, their gradients come from the graph =========


def var(x, axis=None, unbiased=None, keepdims: bool = False, *, dim=None, keepdim=None,
        correction=None, ddof=None):
    """Variance: sum((x - mean)^2) / (n - correction); PyTorch's default correction is 1
    (``unbiased=False`` or ``correction=0`` for the population variance; NumPy's ``ddof``).
    The positional order is PyTorch's: ``x.var(1, False)`` is the population variance."""
    axis, keepdims = _axis_args(axis, dim, keepdims, keepdim)
    c = _correction(correction, unbiased, ddof)
    x = _float_input(x, "var")
    axes = normalize_axis(axis, x.ndim, "var")
    n = x.size if axes is None else math.prod(x.shape[k] for k in axes)
    centered = x - mean(x, axis=axes, keepdims=True)
    total = sum(centered * centered, axis=axes, keepdims=keepdims)
    return total / (n - c) if n - c > 0 else total * np.nan


def std(x, axis=None, unbiased=None, keepdims: bool = False, *, dim=None, keepdim=None,
        correction=None, ddof=None):
    """Standard deviation: sqrt of ``var`` with the same arguments (gradient 0 where it is 0,
    as PyTorch)"""
    return NormSqrt.apply(var(x, axis, unbiased, keepdims, dim=dim, keepdim=keepdim,
                              correction=correction, ddof=ddof))


def _correction(correction, unbiased, ddof) -> float:
    given = [v for v in (correction, unbiased, ddof) if v is not None]
    if len(given) > 1:
        raise ArgumentError("var/std: give one of correction=, unbiased= and ddof=")
    if unbiased is not None:
        if not isinstance(unbiased, (bool, np.bool_)):  # NumPy's second argument is a dtype
            raise ArgumentError(f"var/std: unbiased (the second positional argument, as in "
                                f"PyTorch) must be True or False, got {unbiased!r}")
        return 1.0 if unbiased else 0.0
    if ddof is not None:
        return float(ddof)
    return 1.0 if correction is None else float(correction)


def logsumexp(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):
    """log(sum(exp(x))) over ``axis``, computed without overflow"""
    axis, keepdims = _axis_args(axis, dim, keepdims, keepdim)
    x = _float_input(x, "logsumexp")
    axes = normalize_axis(axis, x.ndim, "logsumexp")
    top = x._data.max(axis=axes, keepdims=True) if x.size else np.zeros(_kept_shape(x.shape,
                                                                                   axes))
    top = np.where(np.isfinite(top), top, 0).astype(x._data.dtype)  # a constant shift
    out = log(sum(exp(x - top), axis=axes, keepdims=True)) + top
    return out if keepdims else reshape(out, _reduced_shape(x.shape, axes))


def _reduced_shape(shape, axes) -> tuple:
    return () if axes is None else tuple(n for k, n in enumerate(shape) if k not in axes)


def silu(x):
    """x * sigmoid(x) (swish)"""
    return x * sigmoid(x)


def gelu(x, approximate: str = "none"):
    """x * Φ(x): exact with erf, or ``approximate="tanh"`` (as PyTorch)"""
    x = _float_input(x, "gelu")
    if approximate == "tanh":
        return 0.5 * x * (1 + tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)))
    if approximate != "none":
        raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return 0.5 * x * (1 + erf(x * (1 / math.sqrt(2))))


# === PyTorch's names for common compositions ===================================================
# Spellings that code ported from PyTorch reaches for (torch.mm, x.t(), torch.topk, ...), each a
# composite of the ops above, so its gradient comes from the graph; sampling and index
# functions (multinomial, nonzero, argsort) return int64 tensors without a gradient.


def _int_arg(value, name: str, op: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ArgumentError(f"{op}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def _ndim_check(op: str, x, want, what: str) -> None:
    if not _is_tensor(x):
        raise ArgumentError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.ndim not in want:
        raise ShapeError(f"{op}: expects {what}, got a tensor of shape {x.shape}")


def t(x):
    """The transpose of a 2-D tensor; 0-D and 1-D tensors as they are (``torch.t``)"""
    _ndim_check("t", x, (0, 1, 2), "a tensor of at most 2 dimensions (use transpose(d0, d1) "
                                   "or mT for more)")
    return transpose(x)


def mm(input, mat2):
    """(n, k) @ (k, p): the matrix product of two 2-D tensors (``torch.mm``)"""
    _ndim_check("mm", input, (2,), "a 2-D first matrix")
    _ndim_check("mm", mat2, (2,), "a 2-D second matrix")
    if input.shape[1] != mat2.shape[0]:
        raise ShapeError(f"mm: {input.shape} @ {mat2.shape}: inner dimensions {input.shape[1]} "
                         f"and {mat2.shape[0]} differ")
    return matmul(input, mat2)


def bmm(input, mat2):
    """(b, n, k) @ (b, k, p): a batch of matrix products, no broadcasting (``torch.bmm``)"""
    _ndim_check("bmm", input, (3,), "3-D batches of matrices (b, n, k)")
    _ndim_check("bmm", mat2, (3,), "3-D batches of matrices (b, k, p)")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise ShapeError(f"bmm: {input.shape} @ {mat2.shape}: needs (b, n, k) @ (b, k, p) with "
                         "the same b and k")
    return matmul(input, mat2)


def mv(input, vec):
    """(n, k) @ (k,): a matrix times a vector (``torch.mv``)"""
    _ndim_check("mv", input, (2,), "a 2-D matrix")
    _ndim_check("mv", vec, (1,), "a 1-D vector")
    if input.shape[1] != vec.shape[0]:
        raise ShapeError(f"mv: {input.shape} @ {vec.shape}: sizes {input.shape[1]} and "
                         f"{vec.shape[0]} differ")
    return matmul(input, vec)


def dot(input, other):
    """The inner product of two 1-D tensors of one size and dtype (``torch.dot``)"""
    _ndim_check("dot", input, (1,), "1-D tensors (use matmul or mm for matrices)")
    _ndim_check("dot", other, (1,), "1-D tensors (use matmul or mm for matrices)")
    if input.shape != other.shape:
        raise ShapeError(f"dot: sizes {input.shape[0]} and {other.shape[0]} differ")
    if input.dtype != other.dtype:
        raise DTypeError(f"dot: both vectors need the same dtype, got {input.dtype} and "
                         f"{other.dtype}")
    return matmul(input, other)


def outer(input, vec2):
    """The outer product of two 1-D tensors: out[i, j] = input[i] * vec2[j] (``torch.outer``)"""
    _ndim_check("outer", input, (1,), "1-D tensors")
    _ndim_check("outer", vec2, (1,), "1-D tensors")
    return mul(reshape(input, (-1, 1)), reshape(vec2, (1, -1)))


def addmm(input, mat1, mat2, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2), input broadcast to the product's shape
    (``torch.addmm``; with beta = 0 the input is ignored, nan and inf too, as there)"""
    prod_ = mm(mat1, mat2)
    if not _is_tensor(input):
        input = new_tensor(type(prod_), np.asarray(input, dtype=prod_.dtype), None)
    try:
        fits = np.broadcast_shapes(input.shape, prod_.shape) == prod_.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"addmm: input of shape {input.shape} cannot be broadcast to the "
                         f"product's shape {prod_.shape}")
    out = prod_ if alpha == 1 else mul(prod_, alpha)
    if beta == 0:
        return out
    return add(input if beta == 1 else mul(input, beta), out)


def _sort_axis(x, dim, op: str):
    _ndim_check(op, x, range(64), "a Tensor")
    return _one_axis(dim, x.ndim, op)


def _argsort_array(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable: equal elements keep their order, in both directions (PyTorch's stable=True);
    nan counts as the largest value, as there."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    flipped = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return (n - 1 - np.flip(flipped, axis)).astype(np.int64)


def argsort(x, dim: int = -1, descending: bool = False, *, stable: bool = False, axis=None):
    """The indices that sort ``x`` along ``dim``: int64, no gradient; always a stable sort
    (equal elements keep their order, as PyTorch's ``stable=True``)"""
    dim = axis if axis is not None else dim
    ax = _sort_axis(x, dim, "argsort")
    if ax is None:
        return new_tensor(type(x), np.zeros((), dtype=np.int64), None)
    return new_tensor(type(x), _argsort_array(x._data, ax, bool(descending)).astype(np.int64),
                      None)


def sort(x, dim: int = -1, descending: bool = False, *, stable: bool = False, axis=None):
    """``(values, indices)`` of ``x`` sorted along ``dim`` (a stable sort; nan last ascending,
    first descending, as PyTorch); the values are gathered, so their gradient goes back to
    the places they came from"""
    indices = argsort(x, dim, descending, axis=axis)
    if x.ndim == 0:
        return ValuesIndices(reshape(x, ()), indices)
    ax = _one_axis(axis if axis is not None else dim, x.ndim, "sort")
    return ValuesIndices(gather(x, ax, indices), indices)


def topk(x, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements along
    ``dim``, as ``torch.topk``; always in sorted order, ties in index order; values gathered
    (differentiable), indices int64"""
    ax = _sort_axis(x, dim, "topk")
    n = 1 if ax is None else x.shape[ax]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise OutOfRangeError(f"topk: k must be an int in 0..{n} (the size of dimension {dim} "
                              f"of shape {x.shape}), got {k!r}")
    if ax is None:
        return sort(x) if k else ValuesIndices(reshape(x, (1,))[0:0], new_tensor(
            type(x), np.zeros(0, dtype=np.int64), None))
    order = _argsort_array(x._data, ax, bool(largest))
    idx = np.take(order, np.arange(int(k)), axis=ax).astype(np.int64)
    return ValuesIndices(gather(x, ax, idx), new_tensor(type(x), idx, None))


def index_select(x, dim: int, index):
    """The slices of ``x`` at ``index`` (1-D integers, repeats allowed) along ``dim``
    (``torch.index_select``); gradients of repeated rows add up"""
    idx = index._data if _is_tensor(index) else np.asarray(index)
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise DTypeError(f"index_select: index must be a 1-D integer tensor, got dtype "
                         f"{idx.dtype} and shape {idx.shape}")
    idx = idx.reshape(-1).astype(np.int64)
    ax = _sort_axis(x, dim, "index_select")
    n = 1 if ax is None else x.shape[ax]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise OutOfRangeError(f"index_select: index values must be in 0..{n - 1} along "
                              f"dimension {dim} of a tensor of shape {x.shape}, got "
                              f"{idx.min()}..{idx.max()}")
    if ax is None:
        if idx.size != 1:
            raise ShapeError(f"index_select: a 0-d tensor takes one index, got {idx.size}")
        return reshape(x, ())
    return getitem(x, (slice(None),) * ax + (idx,))


def masked_select(x, mask):
    """The elements of ``x`` where the bool ``mask`` (broadcast with x) holds, as a 1-D tensor
    (``torch.masked_select``)"""
    m = mask._data if _is_tensor(mask) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise DTypeError(f"masked_select: the mask must be a bool tensor, got dtype {m.dtype}")
    try:
        shape = np.broadcast_shapes(x.shape, m.shape)
    except ValueError:
        raise ShapeError(f"masked_select: the mask of shape {m.shape} and the tensor of shape "
                         f"{x.shape} cannot be broadcast together") from None
    xb = x if x.shape == shape else expand(x, shape)
    return getitem(xb, np.broadcast_to(m, shape))


def nonzero(x, *, as_tuple: bool = False):
    """The indices of the non-zero elements: an int64 tensor of shape (n, ndim), or
    (``as_tuple=True``) one 1-D tensor per dimension (``torch.nonzero``)"""
    _ndim_check("nonzero", x, range(64), "a Tensor")
    a = x._data
    if as_tuple:
        return tuple(new_tensor(type(x), i.astype(np.int64), None)
                     for i in np.nonzero(np.atleast_1d(a)))
    return new_tensor(type(x), np.argwhere(a).astype(np.int64), None)


def clamp_min(x, min):
    """max(x, min) with clamp's gradient (``torch.clamp_min``)"""
    return clamp(x, min=min)


def clamp_max(x, max):
    """min(x, max) with clamp's gradient (``torch.clamp_max``)"""
    return clamp(x, max=max)


def square(x):
    """x * x (integers stay integers, as in PyTorch)"""
    return mul(x, x)


def reciprocal(x):
    """1 / x (integers give floats, as in PyTorch)"""
    return div(1.0, _float_input(x, "reciprocal"))


def log2(x):
    """log(x) / log(2)"""
    return div(log(x), math.log(2.0))


def log10(x):
    """log(x) / log(10)"""
    return div(log(x), math.log(10.0))


def exp2(x):
    """2 ** x, as exp(x log 2)"""
    return exp(mul(_float_input(x, "exp2"), math.log(2.0)))


def tan(x):
    """sin(x) / cos(x)"""
    x = _float_input(x, "tan")
    return div(sin(x), cos(x))


def concat(tensors, dim: int = 0, *, axis=None):
    """``cat`` (PyTorch's alias)"""
    return cat(tensors, dim if axis is None else axis, _op="concat")


def _atleast(x, ndim: int):
    if x.ndim >= ndim:
        return x
    if ndim == 1:
        return reshape(x, (1,))
    return reshape(x, (1, 1) if x.ndim == 0 else (1,) + x.shape)  # atleast_2d: (n,) -> (1, n)


def hstack(tensors):
    """Join along the columns: along dimension 0 for 1-D tensors, else 1 (``torch.hstack``)"""
    ts = [_atleast(t_, 1) for t_ in _sequence_of_tensors(tensors, "hstack")]
    return cat(ts, 0 if ts[0].ndim == 1 else 1, _op="hstack")


def vstack(tensors):
    """Join along the rows, 1-D tensors becoming rows (``torch.vstack``)"""
    ts = [_atleast(t_, 2) for t_ in _sequence_of_tensors(tensors, "vstack")]
    return cat(ts, 0, _op="vstack")


def repeat_interleave(x, repeats, dim=None, *, output_size=None):
    """Each element (``dim=None``: of the flattened tensor) or slice along ``dim`` repeated
    ``repeats`` times (an int, or one count per slice), as ``torch.repeat_interleave``;
    gradients of the copies add up"""
    if dim is None:
        x, dim = reshape(x, (-1,)), 0
    ax = _sort_axis(x, dim, "repeat_interleave")
    if ax is None:
        x, ax = reshape(x, (1,)), 0
    n = x.shape[ax]
    if _is_tensor(repeats) or isinstance(repeats, (list, tuple, np.ndarray)):
        counts = np.asarray(repeats._data if _is_tensor(repeats) else repeats)
        if counts.dtype.kind not in "iu" or counts.ndim > 1 or counts.size not in (1, n):
            raise ArgumentError(f"repeat_interleave: repeats must be an int or {n} int counts "
                                f"(one per slice along dimension {dim}), got shape "
                                f"{counts.shape} and dtype {counts.dtype}")
        counts = counts.reshape(-1)
    else:
        counts = np.asarray([_int_arg(repeats, "repeats", "repeat_interleave")])
    if counts.size and counts.min() < 0:
        raise ArgumentError("repeat_interleave: repeats must be >= 0")
    idx = np.repeat(np.arange(n), counts if counts.size == n else int(counts[0]))
    return index_select(x, ax, idx)


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None):
    """``num_samples`` category indices per row of ``input`` (1-D, or 2-D: one row per
    distribution), drawn with probability proportional to the row's non-negative weights
    (they need not sum to 1), as ``torch.multinomial``: int64, no gradient. Without
    replacement each row's indices are distinct (so num_samples <= the number of categories).
    Draws from the library's generator (``manual_seed``) or ``generator``."""
    from .random import get_rng

    _ndim_check("multinomial", input, (1, 2), "a 1-D or 2-D tensor of weights")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) \
            or num_samples <= 0:
        raise ArgumentError(f"multinomial: num_samples must be a positive int, got "
                            f"{num_samples!r}")
    w = np.asarray(input._data, dtype=np.float64)
    rows = w.reshape(-1, w.shape[-1])
    k = rows.shape[1]
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise ArgumentError("multinomial: the weights must be finite and >= 0 (got inf, nan or "
                            "a negative value)")
    if rows.size == 0 or (rows.sum(axis=1) <= 0).any():
        raise ArgumentError("multinomial: each row of weights needs a positive sum")
    if not replacement and num_samples > k:
        raise ArgumentError(f"multinomial: cannot draw {num_samples} samples without "
                            f"replacement from {k} categories; pass replacement=True")
    rng = get_rng(generator)
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random((rows.shape[0], int(num_samples)))
        out = np.stack([np.searchsorted(c, v, side="right") for c, v in zip(cdf, u)])
        out = np.minimum(out, k - 1)
    else:  # the exponential race: the categories in order of w / E, E ~ Exp(1) (as PyTorch)
        with np.errstate(divide="ignore"):
            keys = rows / rng.exponential(size=rows.shape)
        out = _argsort_array(keys, 1, True)[:, :int(num_samples)]
    out = out.astype(np.int64)
    return new_tensor(type(input), out if w.ndim == 2 else out[0], None)
