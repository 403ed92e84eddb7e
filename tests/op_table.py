"""One table of differentiable ops, shared by the gradient tests and the PyTorch cross-check.

Each ``Case`` is a function ``fn(L, *args)`` written once for two libraries: ``L`` is
``tinygrad_np`` or ``torch`` (``L.nn.functional`` is ``F`` in both), and ``args`` are built
from the ``Arg`` specs: float64 inputs that are differentiated (``A``), or constants such as
labels and indices (``C``), handed to ``fn`` as tensors of the library at hand. Where the two
spellings differ, ``torch=`` gives PyTorch's; ``torch=None`` means PyTorch has no such op.

To add an op: append a ``Case`` (or a few, for its edge shapes) to ``CASES``. The tests
(test_double_backward.py: gradcheck and gradgradcheck; test_torch_conformance.py: values, first
and second derivatives against PyTorch) pick it up by name.

Inputs stay away from the kinks of piecewise ops (``A(..., kinks=(0,))``), where central
differences and the conventions at the kink disagree; the kinks themselves are tested on their
own (PyTorch's conventions, in test_torch_conformance.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

SAME = "same"  # the same fn runs on PyTorch


@dataclass(frozen=True)
class A:
    """A float64 input that is differentiated.

    ``kind``: "normal" (N(0, 1)), "pos" (|N| + 0.5: log, sqrt, division), "unit" (U(0.05,
    0.95): probabilities), "int" / "half" (within 0.2 of an integer / of a half-integer: two
    inputs that never tie, for maximum and minimum), "distinct" (a permutation of well separated
    values: no ties in a max). ``kinks``: values kept at least 0.1 away (relu at 0, clamp at its
    bounds). ``zeros``: flat positions set to exactly 0 (prod with zeros).
    """

    shape: tuple
    kind: str = "normal"
    kinks: tuple = ()
    zeros: tuple = ()


@dataclass(frozen=True)
class C:
    """A constant argument (labels, indices, masks, targets), as an array."""

    value: object


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable
    args: tuple
    torch: object = SAME  # SAME, a fn(torch, *args), or None (no PyTorch counterpart)
    tol: dict = field(default_factory=dict)  # gradcheck tolerances when the defaults are tight
    second: bool = True  # False: the op has no second derivative worth checking


def make_array(spec: A, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(np.prod(spec.shape, dtype=np.int64))
    if spec.kind == "normal":
        x = rng.standard_normal(spec.shape)
    elif spec.kind == "pos":
        x = np.abs(rng.standard_normal(spec.shape)) + 0.5
    elif spec.kind == "unit":
        x = rng.uniform(0.05, 0.95, spec.shape)
    elif spec.kind in ("int", "half"):
        x = rng.integers(-2, 3, spec.shape) + rng.uniform(-0.2, 0.2, spec.shape)
        x = x + (0.5 if spec.kind == "half" else 0.0)
    elif spec.kind == "distinct":
        x = (rng.permutation(n) * 0.37 - n * 0.15).reshape(spec.shape)
    else:
        raise ValueError(spec.kind)
    x = np.asarray(x, dtype=np.float64)
    for _ in range(20):
        close = np.zeros(x.shape, bool)
        for k in spec.kinks:
            close |= np.abs(x - k) < 0.1
        if not close.any():
            break
        x[close] += 0.23
    flat = x.reshape(-1)
    for z in spec.zeros:
        flat[z] = 0.0
    return x


def arrays(case: Case) -> list:
    """The case's arguments as NumPy arrays (float64 inputs, constants as given)."""
    base = zlib.crc32(case.name.encode())
    return [make_array(a, base + k) if isinstance(a, A) else np.asarray(a.value)
            for k, a in enumerate(case.args)]


def ours(case: Case):
    """(fn, args) for tinygrad_np: inputs require grad, constants are plain tensors."""
    import tinygrad_np as tg

    args = [tg.Tensor(x.copy(), requires_grad=isinstance(a, A))
            for a, x in zip(case.args, arrays(case))]
    return (lambda *xs: case.fn(tg, *xs)), args


def theirs(case: Case):
    """(fn, args) for PyTorch, or None when it has no counterpart."""
    import torch

    if case.torch is None:
        return None
    fn = case.fn if case.torch == SAME else case.torch
    args = [torch.tensor(x.copy(), requires_grad=isinstance(a, A) and x.dtype.kind == "f")
            for a, x in zip(case.args, arrays(case))]
    return (lambda *xs: fn(torch, *xs)), args


# --- the table -----------------------------------------------------------------------------------

CASES: list[Case] = []


def case(name, fn, *args, **kw) -> None:
    CASES.append(Case(name, fn, tuple(args), **kw))


# shapes for element-wise ops: a matrix, 0-d, size-1 dims, empty
UNARY_SHAPES = [(3, 4), (), (1,), (2, 1, 3), (0, 3)]
# broadcasting pairs for binary ops
PAIRS = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3), ()), ((), (2, 3)), ((4,), (3, 4)),
         ((2, 1, 3), (4, 1)), ((1,), ()), ((0, 3), (3,))]


def _sh(shape) -> str:
    return "x".join(map(str, shape)) or "0d"


def unary(name, fn, kind="normal", kinks=(), shapes=UNARY_SHAPES, **kw) -> None:
    for s in shapes:
        case(f"{name}[{_sh(s)}]", fn, A(s, kind, kinks), **kw)


def binary(name, fn, kinds=("normal", "normal"), pairs=PAIRS, **kw) -> None:
    for sa, sb in pairs:
        case(f"{name}[{_sh(sa)},{_sh(sb)}]", fn, A(sa, kinds[0]), A(sb, kinds[1]), **kw)


# element-wise, unary
unary("neg", lambda L, x: -x)
unary("exp", lambda L, x: x.exp())
unary("log", lambda L, x: x.log(), "pos")
unary("log1p", lambda L, x: x.log1p(), "pos")
unary("expm1", lambda L, x: x.expm1())
unary("sqrt", lambda L, x: x.sqrt(), "pos")
unary("rsqrt", lambda L, x: x.rsqrt(), "pos")
unary("sin", lambda L, x: x.sin())
unary("cos", lambda L, x: x.cos())
unary("tanh", lambda L, x: x.tanh())
unary("sigmoid", lambda L, x: x.sigmoid())
unary("erf", lambda L, x: L.erf(x))
unary("relu", lambda L, x: x.relu(), kinks=(0,))
unary("leaky_relu", lambda L, x: L.nn.functional.leaky_relu(x, 0.2), kinks=(0,))
unary("elu", lambda L, x: L.nn.functional.elu(x, 0.7), kinks=(0,))
unary("softplus", lambda L, x: L.nn.functional.softplus(x, 2.0, 3.0), kinks=(1.5,))
unary("abs", lambda L, x: x.abs(), kinks=(0,))
unary("clamp", lambda L, x: x.clamp(-0.5, 0.5), kinks=(-0.5, 0.5))
unary("hardtanh", lambda L, x: L.nn.functional.hardtanh(x, -0.5, 0.5), kinks=(-0.5, 0.5))
unary("clamp_min", lambda L, x: x.clamp(min=0.2), kinks=(0.2,), shapes=[(3, 4), ()])
unary("clamp_max", lambda L, x: x.clamp(max=0.2), kinks=(0.2,), shapes=[(3, 4), ()])
unary("pow2", lambda L, x: x**2)
unary("pow3", lambda L, x: x**3)
unary("pow0", lambda L, x: x**0, shapes=[(3, 4), ()])
unary("pow_frac", lambda L, x: x**-1.5, "pos")
unary("rpow", lambda L, x: 2.0**x)
unary("silu", lambda L, x: L.nn.functional.silu(x))
unary("gelu", lambda L, x: L.nn.functional.gelu(x))
unary("gelu_tanh", lambda L, x: L.nn.functional.gelu(x, approximate="tanh"))
unary("scalar_ops", lambda L, x: (1 - x) * 3 + x / 4 - 2 / (x * x + 1))
# step functions: gradient 0 (their outputs require grad, as in PyTorch), away from the jumps
unary("floor", lambda L, x: x.floor() * x, "half", shapes=[(3, 4), ()])
unary("ceil", lambda L, x: x.ceil() * x, "half", shapes=[(3, 4), ()])
unary("trunc", lambda L, x: x.trunc() * x, "half", shapes=[(3, 4), ()])
unary("round", lambda L, x: x.round() * x, "int", shapes=[(3, 4), ()])
unary("sign", lambda L, x: x.sign() * x, kinks=(0,), shapes=[(3, 4), ()])
unary("floor_divide", lambda L, x: x // 0.75 + x, "half", shapes=[(3, 4), ()],
      torch=None)  # PyTorch has no derivative for floor_divide
unary("remainder_scalar", lambda L, x: x % 1.0, "half", shapes=[(3, 4), ()])
case("double_cast", lambda L, x: (x.float().double() * 1.0),
     A((3, 4)), tol=dict(atol=1e-3, rtol=1e-2, eps=1e-3), second=False)

# element-wise, binary
binary("add", lambda L, a, b: a + b)
binary("sub", lambda L, a, b: a - b)
binary("mul", lambda L, a, b: a * b)
binary("div", lambda L, a, b: a / b, ("normal", "pos"))
binary("pow", lambda L, a, b: a**b, ("pos", "normal"))
binary("maximum", lambda L, a, b: a.maximum(b), ("int", "half"))
binary("minimum", lambda L, a, b: a.minimum(b), ("int", "half"))
binary("remainder", lambda L, a, b: a % b, ("normal", "pos"))
case("clamp_tensor_bounds", lambda L, x, lo, hi: x.clamp(lo, hi),
     A((3, 4), "int"), A((4,), "half"), A((3, 1), "half"),
     torch=lambda L, x, lo, hi: L.minimum(L.maximum(x, lo), hi))
case("where", lambda L, c, a, b: L.where(c, a, b),
     C(np.array([[True, False, True, True]] * 3)), A((3, 4)), A((4,)))
case("where_scalar_branch", lambda L, c, a: L.where(c, a, 0.5),
     C(np.array([True, False, True])), A((2, 3)))
case("masked_fill", lambda L, x, m: x.masked_fill(m, -1.0), A((3, 4)),
     C(np.eye(3, 4, dtype=bool)))

# reductions
for axis in [None, 0, 1, -1, (0, 2)]:
    kw = {} if axis is None else {"dim": axis}
    tag = "all" if axis is None else str(axis).replace(" ", "")
    case(f"sum[{tag}]", lambda L, x, kw=kw: x.sum(**kw), A((2, 3, 4)))
    case(f"mean[{tag}]", lambda L, x, kw=kw: x.mean(**kw), A((2, 3, 4)))
    case(f"sum_keepdim[{tag}]", lambda L, x, kw=kw: x.sum(**kw, keepdim=True) * 1.5,
         A((2, 3, 4)), torch=SAME if axis is not None else
         (lambda L, x: x.sum().reshape(1, 1, 1) * 1.5))
    case(f"amax[{tag}]", lambda L, x, kw=kw: x.amax(**kw), A((2, 3, 4), "distinct"),
         torch=SAME if axis is not None else (lambda L, x: x.amax(dim=(0, 1, 2))))
    case(f"logsumexp[{tag}]", lambda L, x, kw=kw: x.logsumexp(**kw), A((2, 3, 4)),
         torch=SAME if axis is not None else (lambda L, x: x.logsumexp(dim=(0, 1, 2))))
    case(f"var[{tag}]", lambda L, x, kw=kw: x.var(**kw), A((2, 3, 4)))
    case(f"std[{tag}]", lambda L, x, kw=kw: x.std(**kw), A((2, 3, 4)))
case("sum_0d", lambda L, x: x.sum(), A(()))
case("sum_0d_axis0", lambda L, x: x.sum(0), A(()))
case("mean_size1", lambda L, x: x.mean(0), A((1, 3)))
case("sum_empty", lambda L, x: x.sum(0), A((0, 3)))
case("var_population", lambda L, x: x.var(1, correction=0), A((3, 4)),
     torch=lambda L, x: x.var(1, unbiased=False))
case("amin", lambda L, x: x.amin(1), A((3, 4), "distinct"))
case("max_dim_values", lambda L, x: x.max(1).values, A((3, 4), "distinct"))
case("min_dim_keepdim", lambda L, x: x.min(0, keepdim=True).values, A((3, 4), "distinct"))
case("max_all", lambda L, x: x.max(), A((3, 4), "distinct"))
case("prod_all", lambda L, x: x.prod(), A((2, 3)))
case("prod_dim", lambda L, x: x.prod(1), A((3, 4)))
case("prod_one_zero", lambda L, x: x.prod(1), A((3, 4), zeros=(1, 6)))
case("prod_two_zeros", lambda L, x: x.prod(1), A((3, 4), zeros=(0, 2, 5)))
case("prod_all_one_zero", lambda L, x: x.prod(), A((2, 3), zeros=(4,)))
case("prod_all_two_zeros", lambda L, x: x.prod(), A((2, 3), zeros=(1, 4)))
case("prod_0d", lambda L, x: x.prod(), A(()))
case("cumsum", lambda L, x: x.cumsum(dim=1), A((3, 4)))
case("cumsum_0", lambda L, x: x.cumsum(dim=0), A((3, 4)))
case("norm", lambda L, x: x.norm(), A((3, 4)))

# softmax family
for axis in [0, 1, -1]:
    case(f"softmax[{axis}]", lambda L, x, a=axis: x.softmax(a), A((3, 4)))
    case(f"log_softmax[{axis}]", lambda L, x, a=axis: x.log_softmax(a), A((3, 4)))
case("softmax_0d", lambda L, x: x.softmax(-1), A(()))
case("log_softmax_0d", lambda L, x: x.log_softmax(-1), A(()))
case("softmax_3d", lambda L, x: x.softmax(1), A((2, 3, 4)))

# movement
case("reshape", lambda L, x: x.reshape(6, 2) * L.arange(12.0).reshape(6, 2), A((3, 4)),
     torch=lambda L, x: x.reshape(6, 2) * L.arange(12.0, dtype=L.float64).reshape(6, 2))
case("clone", lambda L, x: x.clone() * x, A((3, 4)))
case("reshape_0d", lambda L, x: x.reshape(1, 1), A(()))
case("flatten", lambda L, x: x.flatten(1), A((2, 3, 4)))
case("permute", lambda L, x: x.permute(2, 0, 1) ** 2, A((2, 3, 4)))
case("permute_negative", lambda L, x: x.permute(-1, 0, -2) ** 2, A((3, 3, 3)))
case("transpose", lambda L, x: x.transpose(0, 2) ** 2, A((2, 3, 4)))
case("transpose_negative", lambda L, x: x.transpose(-1, -3) ** 2, A((3, 3, 3)))
case("T", lambda L, x: x.T ** 2, A((2, 3)))
case("squeeze", lambda L, x: x.squeeze(1) ** 2, A((3, 1, 2)))
case("unsqueeze", lambda L, x: x.unsqueeze(0) ** 2, A((3, 2)))
case("unsqueeze_0d", lambda L, x: x.unsqueeze(0) ** 2, A(()))
case("expand", lambda L, x: x.expand(2, 3, 4) ** 2, A((3, 1)))
case("expand_0d", lambda L, x: x.expand(3, 2) ** 2, A(()))
case("flip", lambda L, x: x.flip(0) * L.tensor([[1.0], [2.0], [3.0]], dtype=x.dtype), A((3, 4)))
case("flip_both", lambda L, x: x.flip((0, 1)) ** 2, A((3, 4)))
case("repeat", lambda L, x: x.repeat(2, 3) ** 2, A((2, 3)))
case("repeat_new_dims", lambda L, x: x.repeat(2, 1, 3) ** 2, A((2, 3)))
case("cat", lambda L, a, b: L.cat([a, b * b, a], 1), A((2, 3)), A((2, 1)))
case("cat_0", lambda L, a, b: L.cat([a, b], 0) ** 2, A((2, 3)), A((1, 3)))
case("stack", lambda L, a, b: L.stack([a, b * b], 1), A((2, 3)), A((2, 3)))
case("stack_0d", lambda L, a, b: L.stack([a, b * a]), A(()), A(()))
case("pad", lambda L, x: L.nn.functional.pad(x, (1, 2)) ** 2, A((2, 3)))
case("pad_2d", lambda L, x: L.nn.functional.pad(x, (1, 0, 2, 1)) ** 2, A((2, 3, 3)))
case("getitem_int", lambda L, x: x[1] ** 2, A((3, 4)))
case("getitem_slice", lambda L, x: x[1:, ::2] ** 2, A((3, 4)))
case("getitem_ellipsis_none", lambda L, x: x[..., None, 1] ** 2, A((2, 3, 4)))
case("getitem_repeats", lambda L, x, i: x[i] ** 2, A((4, 3)), C(np.array([2, 0, 2, 2])))
case("getitem_pairs", lambda L, x, i, j: x[i, j] ** 2, A((4, 3)),
     C(np.array([0, 3, 0, 0])), C(np.array([1, 1, 2, 1])))
case("getitem_mixed", lambda L, x, i: x[:, i] ** 2, A((4, 3)), C(np.array([1, 1, 0])))
case("getitem_bool", lambda L, x, m: x[m] ** 2, A((4, 3)),
     C(np.array([True, False, True, True])))
case("getitem_0d_result", lambda L, x: x[1, 2] ** 2, A((3, 4)))
case("gather", lambda L, x, i: x.gather(1, i) ** 2, A((3, 4)),
     C(np.array([[0, 0, 3], [1, 2, 1], [3, 3, 3]])))
case("gather_0", lambda L, x, i: x.gather(0, i) ** 2, A((3, 4)),
     C(np.array([[0, 2, 2, 1]])))
case("split", lambda L, x: L.cat([p * (k + 1) for k, p in enumerate(x.split(2, 1))], 1) ** 2,
     A((3, 5)))
case("split_sections", lambda L, x: L.cat([p * p for p in x.split([1, 0, 2], 0)], 0), A((3, 2)))
case("chunk", lambda L, x: L.cat([p * (k + 1) for k, p in enumerate(x.chunk(3, -1))], -1) ** 2,
     A((2, 7)))
case("unbind", lambda L, x: L.stack([p * (k + 1) for k, p in enumerate(x.unbind(1))]) ** 2,
     A((2, 3)))
case("tril", lambda L, x: x.tril() ** 2, A((3, 4)))
case("triu_batched", lambda L, x: x.triu(1) * x, A((2, 3, 3)))
case("tril_negative", lambda L, x: L.tril(x, -1) ** 2, A((4, 3)))


def _index_put(L, x, v, i):
    y = x * 1.0
    y[i] = v * 2
    return y * y


def _index_put_scalar(L, x):
    y = x * 1.0
    y[0, 1] = 5.0
    return y * x


case("index_put", _index_put, A((4, 3)), A((2, 3)), C(np.array([3, 0])))
case("index_put_repeats", _index_put, A((4, 3)), A((3, 3)), C(np.array([3, 0, 3])),
     torch=None)  # (PyTorch leaves which repeat wins undefined; NumPy keeps the last)
case("index_put_slice", lambda L, x, v: _index_put(L, x, v, (slice(None), 1)),
     A((4, 3)), A((4,)))
case("index_put_broadcast", lambda L, x, v: _index_put(L, x, v, 2), A((4, 3)), A(()))
case("index_put_constant", _index_put_scalar, A((2, 3)))

# linear algebra
for sa, sb in [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)),
               ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
               ((0, 4), (4, 2))]:
    case(f"matmul[{_sh(sa)},{_sh(sb)}]", lambda L, a, b: a @ b, A(sa), A(sb))
case("linear", lambda L, x, w, b: L.nn.functional.linear(x, w, b), A((5, 4)), A((4, 3)),
     A((3,)), torch=lambda L, x, w, b: L.nn.functional.linear(x, w.T, b))
case("linear_3d", lambda L, x, w, b: L.nn.functional.linear(x, w, b), A((2, 5, 4)),
     A((4, 3)), A((3,)), torch=lambda L, x, w, b: L.nn.functional.linear(x, w.T, b))
case("linear_nobias", lambda L, x, w: L.nn.functional.linear(x, w), A((5, 4)), A((4, 3)),
     torch=lambda L, x, w: L.nn.functional.linear(x, w.T))
case("einsum_attention", lambda L, q, k: L.einsum("bhqd,bhkd->bhqk", q, k),
     A((2, 2, 3, 4)), A((2, 2, 5, 4)))
case("einsum_bilinear", lambda L, x, w, y: L.einsum("bi,ioj,bj->bo", x, w, y),
     A((3, 2)), A((2, 4, 3)), A((3, 3)))
case("einsum_matmul", lambda L, a, b: L.einsum("ij,jk->ik", a, b), A((3, 4)), A((4, 2)))
case("einsum_outer_sum", lambda L, a, b: L.einsum("ij,k->ik", a, b), A((3, 4)), A((2,)))
case("einsum_ellipsis", lambda L, a, b: L.einsum("...ij,...jk", a, b), A((2, 3, 4)),
     A((2, 4, 2)))
# a subscript repeated within an operand: a trace, a diagonal (OnDiagonal is their adjoint)
case("einsum_trace", lambda L, a: L.einsum("ii->", a), A((3, 3)))
case("einsum_diagonal", lambda L, a: L.einsum("ii->i", a), A((3, 3)))
case("einsum_diagonal_times", lambda L, a, v: L.einsum("ii,i->i", a, v), A((3, 3)), A((3,)))
case("einsum_batch_diagonal", lambda L, a: L.einsum("...ii->...i", a), A((2, 3, 3)))
case("einsum_repeat_and_sum", lambda L, a: L.einsum("iij->j", a), A((3, 3, 2)))
case("tensordot", lambda L, a, b: L.tensordot(a, b, dims=2), A((2, 3, 4)), A((3, 4, 5)))
case("tensordot_axes", lambda L, a, b: L.tensordot(a, b, dims=([0], [1])), A((3, 4)),
     A((2, 3)))

# losses
LABELS = np.array([0, 3, 1, 1, 2])
IGNORED = np.array([0, -100, 1, 1, -100])
WEIGHT = np.array([0.5, 2.0, 1.0, 0.25])
PROBS = np.random.default_rng(5).dirichlet(np.ones(4), size=5)
for red in ["mean", "sum", "none"]:
    case(f"cross_entropy[{red}]",
         lambda L, z, t, r=red: L.nn.functional.cross_entropy(z, t, reduction=r),
         A((5, 4)), C(LABELS))
case("cross_entropy_weight", lambda L, z, t, w: L.nn.functional.cross_entropy(z, t, weight=w),
     A((5, 4)), C(LABELS), C(WEIGHT))
case("cross_entropy_ignore", lambda L, z, t: L.nn.functional.cross_entropy(z, t),
     A((5, 4)), C(IGNORED))
case("cross_entropy_ignore_weight_smooth",
     lambda L, z, t, w: L.nn.functional.cross_entropy(z, t, weight=w, label_smoothing=0.2),
     A((5, 4)), C(IGNORED), C(WEIGHT))
case("cross_entropy_smoothing",
     lambda L, z, t: L.nn.functional.cross_entropy(z, t, label_smoothing=0.1),
     A((5, 4)), C(LABELS))
case("cross_entropy_probs", lambda L, z, t: L.nn.functional.cross_entropy(z, t),
     A((5, 4)), C(PROBS))
case("cross_entropy_probs_weight_smooth",
     lambda L, z, t, w: L.nn.functional.cross_entropy(z, t, weight=w, label_smoothing=0.3),
     A((5, 4)), C(PROBS), C(WEIGHT))
case("cross_entropy_nd", lambda L, z, t: L.nn.functional.cross_entropy(z, t),
     A((2, 4, 3, 2)), C(np.array([[[0, 3], [1, 1], [2, 0]], [[3, 3], [0, 2], [1, 0]]])))
case("cross_entropy_nd_none", lambda L, z, t: L.nn.functional.cross_entropy(
    z, t, reduction="none", label_smoothing=0.1), A((2, 4, 3)),
    C(np.array([[0, 3, 1], [2, 2, 0]])))
case("cross_entropy_unbatched", lambda L, z, t: L.nn.functional.cross_entropy(z, t),
     A((4,)), C(np.array(2)))
for red in ["mean", "sum", "none"]:
    case(f"nll_loss[{red}]", lambda L, z, t, r=red: L.nn.functional.nll_loss(
        z.log_softmax(1), t, reduction=r), A((5, 4)), C(LABELS))
case("nll_loss_weight_ignore", lambda L, z, t, w: L.nn.functional.nll_loss(
    z.log_softmax(1), t, weight=w), A((5, 4)), C(IGNORED), C(WEIGHT))
case("nll_loss_raw", lambda L, x, t: L.nn.functional.nll_loss(x, t), A((5, 4)), C(LABELS))
for red in ["mean", "sum", "none"]:
    case(f"bce[{red}]", lambda L, p, y, r=red: L.nn.functional.binary_cross_entropy(
        p, y, reduction=r), A((3, 4), "unit"), C(np.random.default_rng(1).uniform(0, 1, (3, 4))))
    case(f"bce_with_logits[{red}]", lambda L, z, y, r=red:
         L.nn.functional.binary_cross_entropy_with_logits(z, y, reduction=r),
         A((3, 4)), C(np.random.default_rng(2).uniform(0, 1, (3, 4))))
case("bce_weight", lambda L, p, y, w: L.nn.functional.binary_cross_entropy(p, y, weight=w),
     A((3, 4), "unit"), C(np.random.default_rng(3).uniform(0, 1, (3, 4))),
     C(np.array([1.0, 2.0, 0.5, 0.0])))
case("bce_with_logits_weights", lambda L, z, y, w, pw:
     L.nn.functional.binary_cross_entropy_with_logits(z, y, weight=w, pos_weight=pw),
     A((3, 4)), C(np.random.default_rng(4).uniform(0, 1, (3, 4))),
     C(np.array([1.0, 2.0, 0.5, 0.0])), C(np.array([3.0, 1.0, 0.5, 2.0])))
case("mse_loss", lambda L, a, b: L.nn.functional.mse_loss(a, b), A((3, 4)), A((3, 4)))
case("l1_loss", lambda L, a, b: L.nn.functional.l1_loss(a, b), A((3, 4), "int"),
     A((3, 4), "half"))

# normalisation
case("layer_norm", lambda L, x, w, b: L.nn.functional.layer_norm(x, (4,), w, b),
     A((3, 4)), A((4,)), A((4,)))
case("layer_norm_2d", lambda L, x: L.nn.functional.layer_norm(x, (3, 4)), A((2, 3, 4)))
case("batch_norm_train", lambda L, x, w, b: L.nn.functional.batch_norm(
    x, None, None, w, b, training=True), A((4, 3)), A((3,)), A((3,)))
case("batch_norm_train_4d", lambda L, x, w, b: L.nn.functional.batch_norm(
    x, None, None, w, b, training=True), A((2, 3, 2, 2)), A((3,)), A((3,)))
case("batch_norm_eval", lambda L, x, rm, rv, w: L.nn.functional.batch_norm(
    x, rm, rv, w, None, training=False), A((4, 3)), C(np.array([0.1, -0.2, 0.3])),
    C(np.array([1.5, 0.5, 2.0])), A((3,)))

# convolution and pooling
for name, kw, xs, ws in [
    ("plain", {}, (2, 2, 5, 5), (3, 2, 3, 3)),
    ("stride", {"stride": 2}, (1, 2, 6, 5), (2, 2, 3, 2)),
    ("padding", {"padding": 1}, (1, 2, 4, 4), (2, 2, 3, 3)),
    ("dilation", {"dilation": 2}, (1, 1, 6, 6), (2, 1, 2, 3)),
    ("groups", {"groups": 2}, (1, 4, 4, 4), (4, 2, 2, 2)),
    ("all", {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2},
     (2, 4, 5, 5), (2, 2, 3, 2)),
]:
    case(f"conv2d[{name}]", lambda L, x, w, b, kw=kw: L.nn.functional.conv2d(x, w, b, **kw),
         A(xs), A(ws), A((ws[0],)))
case("conv2d_nobias", lambda L, x, w: L.nn.functional.conv2d(x, w, padding=1),
     A((1, 2, 3, 3)), A((2, 2, 2, 2)))
case("max_pool2d", lambda L, x: L.nn.functional.max_pool2d(x, 2), A((2, 2, 4, 4), "distinct"))
case("max_pool2d_overlap", lambda L, x: L.nn.functional.max_pool2d(x, 3, 1, 1),
     A((1, 2, 4, 5), "distinct"))
case("max_pool2d_dilation", lambda L, x: L.nn.functional.max_pool2d(x, 2, 1, 0, 2),
     A((1, 1, 5, 5), "distinct"))
case("avg_pool2d", lambda L, x: L.nn.functional.avg_pool2d(x, 2), A((2, 2, 4, 4)))
case("avg_pool2d_pad", lambda L, x: L.nn.functional.avg_pool2d(x, 3, 2, 1), A((1, 2, 5, 4)))
case("adaptive_avg_pool2d", lambda L, x: L.nn.functional.adaptive_avg_pool2d(x, (2, 3)),
     A((1, 2, 5, 7)))
case("adaptive_avg_pool2d_even", lambda L, x: L.nn.functional.adaptive_avg_pool2d(x, 2),
     A((1, 2, 4, 4)))
case("unfold", lambda L, x: L.nn.functional.unfold(x, 2, 1, 1, 2) ** 2, A((1, 2, 4, 3)))
case("fold", lambda L, c: L.nn.functional.fold(c, (4, 3), 2, 1, 1, 2) ** 2, A((1, 8, 6)))

# models: composites of many ops
case("mlp", lambda L, x, w1, b1, w2: ((x @ w1 + b1).tanh() @ w2).log_softmax(1).sum(),
     A((4, 3)), A((3, 5)), A((5,)), A((5, 2)))
case("attention", lambda L, q, k, v: (L.einsum("qd,kd->qk", q, k) / 2.0).softmax(-1) @ v,
     A((3, 4)), A((5, 4)), A((5, 2)))


# PyTorch's names for common compositions (tinygrad_np/ops.py, the section at its end)
case("t", lambda L, x: x.t() ** 2, A((2, 3)))
case("t_1d", lambda L, x: L.t(x) ** 2, A((3,)))
case("t_0d", lambda L, x: x.t() ** 2, A(()))
case("mm", lambda L, a, b: L.mm(a, b), A((3, 4)), A((4, 2)))
case("bmm", lambda L, a, b: a.bmm(b), A((2, 3, 4)), A((2, 4, 5)))
case("mv", lambda L, a, v: L.mv(a, v), A((3, 4)), A((4,)))
case("dot_fn", lambda L, a, b: L.dot(a, b), A((4,)), A((4,)))
case("outer", lambda L, a, b: L.outer(a, b), A((3,)), A((4,)))
case("addmm", lambda L, x, a, b: L.addmm(x, a, b, beta=0.5, alpha=2.0), A((3, 2)),
     A((3, 4)), A((4, 2)))
case("addmm_broadcast", lambda L, x, a, b: x.addmm(a, b), A((2,)), A((3, 4)), A((4, 2)))
case("topk", lambda L, x: x.topk(2).values ** 2, A((3, 4), "distinct"))
case("topk_smallest_0", lambda L, x: L.topk(x, 2, 0, largest=False).values ** 2,
     A((3, 4), "distinct"))
case("sort", lambda L, x: x.sort().values * L.arange(4.0, dtype=x.dtype), A((3, 4), "distinct"))
case("sort_descending_0", lambda L, x: L.sort(x, 0, descending=True).values
     * L.arange(3.0, dtype=x.dtype).reshape(3, 1), A((3, 4), "distinct"))
case("index_select", lambda L, x, i: x.index_select(1, i) ** 2, A((3, 4)),
     C(np.array([3, 0, 3, 1])))
case("index_select_0", lambda L, x, i: L.index_select(x, 0, i) ** 2, A((3, 4)),
     C(np.array([2, 2])))
case("masked_select", lambda L, x, m: x.masked_select(m) ** 2, A((3, 4)),
     C(np.array([True, False, True, True])))
unary("clamp_min_method", lambda L, x: x.clamp_min(0.2), kinks=(0.2,), shapes=[(3, 4), ()])
unary("clamp_max_fn", lambda L, x: L.clamp_max(x, 0.2), kinks=(0.2,), shapes=[(3, 4), ()])
unary("square", lambda L, x: x.square())
unary("reciprocal", lambda L, x: x.reciprocal(), "pos")
unary("log2", lambda L, x: x.log2(), "pos")
unary("log10", lambda L, x: L.log10(x), "pos")
unary("exp2", lambda L, x: x.exp2())
unary("tan", lambda L, x: x.tan(), "unit")
case("hstack", lambda L, a, b: L.hstack([a, b * b]), A((2, 3)), A((2, 1)))
case("hstack_1d", lambda L, a, b: L.hstack([a, b * b]), A((3,)), A((2,)))
case("vstack", lambda L, a, b: L.vstack([a, b * b]), A((3,)), A((2, 3)))
case("concat", lambda L, a, b: L.concat([a, b * b], 1), A((2, 3)), A((2, 1)))
case("repeat_interleave", lambda L, x: x.repeat_interleave(2) ** 2, A((2, 3)))
case("repeat_interleave_dim", lambda L, x: L.repeat_interleave(x, 3, dim=1) ** 2, A((2, 3)))
case("repeat_interleave_counts", lambda L, x, r: x.repeat_interleave(r, dim=0) ** 2,
     A((3, 2)), C(np.array([2, 0, 1])))

BY_NAME = {c.name: c for c in CASES}
assert len(BY_NAME) == len(CASES), "case names must be unique"
