"""The op table (tests/op_table.py) against PyTorch in float64: forward values, first and
second derivatives; PyTorch's conventions at ties and kinks; dtype promotion; and
torch.autograd.functional against ours."""

import numpy as np
import pytest
from op_table import CASES, ours, theirs

import tinygrad_np as tg
from tinygrad_np import Tensor
from tinygrad_np.autograd import functional as AF

torch = pytest.importorskip("torch", reason="PyTorch is the reference here: `.venv/bin/pip "
                            "install torch==2.13.0` (the CPU wheel on disk) enables this file")
pytestmark = pytest.mark.needs_torch

TORCH_CASES = [c for c in CASES if c.torch is not None]


def _list(out) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _np(t) -> np.ndarray:
    return t.detach().numpy(force=True) if isinstance(t, torch.Tensor) else t.data


def _both(case):
    (f1, a1), (f2, a2) = ours(case), theirs(case)
    return f1, a1, f2, a2


def _diff_inputs(a1, a2):
    keep = [i for i, a in enumerate(a1) if a.requires_grad]
    return [a1[i] for i in keep], [a2[i] for i in keep]


@pytest.mark.parametrize("case", TORCH_CASES, ids=[c.name for c in TORCH_CASES])
def test_values_first_and_second_derivatives(case):
    f1, a1, f2, a2 = _both(case)
    o1, o2 = _list(f1(*a1)), _list(f2(*a2))
    assert len(o1) == len(o2)
    for x, y in zip(o1, o2):
        assert x.shape == tuple(y.shape)
        np.testing.assert_allclose(x.data, _np(y), rtol=1e-10, atol=1e-12)
    x1, x2 = _diff_inputs(a1, a2)
    rng = np.random.default_rng(0)
    r = [rng.standard_normal(o.shape) for o in o1]
    g1 = tg.grad(o1, x1, [Tensor(v) for v in r], create_graph=True, allow_unused=True)
    g2 = torch.autograd.grad(o2, x2, [torch.tensor(v) for v in r], create_graph=True,
                             allow_unused=True)
    for x, y, inp in zip(g1, g2, x1):
        want = np.zeros(inp.shape) if y is None else _np(y)
        got = np.zeros(inp.shape) if x is None else x.data
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
    # second order: d/dx of u . g(x), with the same random u for both
    u = [rng.standard_normal(x.shape) for x in x1]
    # (a gradient without a graph is constant in x: PyTorch may still record one, as for
    # relu, whose second derivative is 0 anyway)
    live1 = [(g, v) for g, v in zip(g1, u) if g is not None and g.requires_grad]
    live2 = [(g, v) for g, v in zip(g2, u) if g is not None and g.requires_grad]
    h1 = (tg.grad([g for g, _ in live1], x1, [Tensor(v) for _, v in live1], allow_unused=True)
          if live1 else [None] * len(x1))
    h2 = (torch.autograd.grad([g for g, _ in live2], x2, [torch.tensor(v) for _, v in live2],
                              allow_unused=True) if live2 else [None] * len(x2))
    for x, y, inp in zip(h1, h2, x1):
        want = np.zeros(inp.shape) if y is None else _np(y)
        got = np.zeros(inp.shape) if x is None else x.data
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


# --- conventions at ties and kinks ---------------------------------------------------------------

X = np.array([[-1.0, 0.0, 2.0, 2.0], [0.5, 0.5, 0.0, -3.0]])  # zeros and ties on purpose
Y = np.array([[-1.0, 1.0, 2.0, 0.0], [0.5, -0.5, 0.0, -3.0]])  # equal to X in five places

KINKS = {
    "relu at 0 gives 0": lambda L, x, y: x.relu(),
    "maximum splits a tie": lambda L, x, y: x.maximum(y),
    "minimum splits a tie": lambda L, x, y: x.minimum(y),
    "max(dim) routes to the index it returns": lambda L, x, y: x.max(1).values,
    "min(dim) likewise": lambda L, x, y: x.min(0).values,
    "amax splits among ties": lambda L, x, y: x.amax(1),
    "amin splits among ties": lambda L, x, y: x.amin(0),
    "max() of everything splits": lambda L, x, y: x.max(),
    "clamp passes at the bound": lambda L, x, y: x.clamp(0.0, 2.0),
    "clamp(min) passes at the bound": lambda L, x, y: x.clamp(min=0.5),
    "clamp(max) passes at the bound": lambda L, x, y: x.clamp(max=0.5),
    "clamp with tensor bounds passes at the bound": lambda L, x, y: x.clamp(y, y + 1),
    "abs at 0 gives 0": lambda L, x, y: x.abs(),
    "x ** 0 at 0 gives 0": lambda L, x, y: x**0,
    "x ** 1 at 0": lambda L, x, y: x**1,
    "x ** 2 at 0": lambda L, x, y: x**2,
    "leaky_relu at 0": lambda L, x, y: L.nn.functional.leaky_relu(x, 0.1),
    "relu6 at 0 and 6 gives 0": lambda L, x, y: L.nn.functional.relu6(x * 3),
    "hardtanh at its bounds gives 0": lambda L, x, y: L.nn.functional.hardtanh(x, -1.0, 2.0),
    "floor, sign and friends give 0": lambda L, x, y: x.floor() + x.sign() + x.round() * y,
    "l1_loss at a tie": lambda L, x, y: L.nn.functional.l1_loss(x, y),
    "norm of zeros gives 0": lambda L, x, y: (x * 0).norm(),
    "std of a constant gives 0": lambda L, x, y: (x * 0 + 1).std(),
    "max_pool2d routes to the first maximum": lambda L, x, y: L.nn.functional.max_pool2d(
        x.reshape(1, 1, 2, 4), 2),
    "prod with zeros": lambda L, x, y: x.prod(1),
}


@pytest.mark.parametrize("name", KINKS)
def test_convention_at_kinks_is_pytorchs(name):
    f = KINKS[name]
    a, b = Tensor(X.copy(), requires_grad=True), Tensor(Y.copy(), requires_grad=True)
    ta, tb = torch.tensor(X.copy(), requires_grad=True), torch.tensor(Y.copy(),
                                                                      requires_grad=True)
    out, tout = f(tg, a, b), f(torch, ta, tb)
    np.testing.assert_allclose(out.data, _np(tout))
    r = np.random.default_rng(1).standard_normal(out.shape)
    got = tg.grad(out, [a, b], Tensor(r), allow_unused=True)
    want = torch.autograd.grad(tout, [ta, tb], torch.tensor(r), allow_unused=True)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.zeros(X.shape) if g is None else g.data,
                                   np.zeros(X.shape) if w is None else _np(w))


def test_max_dim_indices_are_pytorchs_at_ties():
    values, indices = Tensor(X).max(1)
    tv, ti = torch.tensor(X).max(1)
    np.testing.assert_array_equal(indices.data, ti.numpy())
    np.testing.assert_array_equal(values.data, tv.numpy())


# --- dtype promotion -----------------------------------------------------------------------------

DTYPES = ["float32", "float64", "int64", "int32", "uint8", "bool"]
BINARY = {"+": lambda a, b: a + b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
          "**": lambda a, b: a**b, "==": lambda a, b: a == b, "<": lambda a, b: a < b,
          "//": lambda a, b: a // b, "%": lambda a, b: a % b}


def _torch_dtype(out) -> str:
    return str(out.dtype).replace("torch.", "")


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("db", DTYPES)
def test_result_dtype_of_two_tensors_is_pytorchs(op, da, db):
    f = BINARY[op]
    try:
        want = _torch_dtype(f(torch.tensor(np.array([1, 2], da)), torch.tensor(np.array([2, 1],
                                                                                        db))))
    except RuntimeError:
        pytest.skip(f"PyTorch refuses {da} {op} {db}")
    assert str(f(Tensor(np.array([1, 2], da)), Tensor(np.array([2, 1], db))).dtype) == want


@pytest.mark.parametrize("op", ["+", "*", "/", "**", "==", "//", "%"])
@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("number", [0.5, 2])
@pytest.mark.parametrize("side", ["left", "right"])
def test_result_dtype_with_a_python_number_is_pytorchs(op, da, number, side):
    f = BINARY[op]
    g = (lambda t: f(t, number)) if side == "left" else (lambda t: f(number, t))
    try:
        want = _torch_dtype(g(torch.tensor(np.array([1, 2], da))))
    except RuntimeError:
        pytest.skip(f"PyTorch refuses {da} {op} {number!r}")
    assert str(g(Tensor(np.array([1, 2], da))).dtype) == want


@pytest.mark.parametrize("fn", ["exp", "sqrt", "sigmoid", "tanh", "log", "sin"])
@pytest.mark.parametrize("da", ["int64", "int32", "uint8", "bool", "float64"])
def test_float_functions_of_integers_give_the_default_float(fn, da):
    want = _torch_dtype(getattr(torch.tensor(np.array([1, 2], da)), fn)())
    assert str(getattr(Tensor(np.array([1, 2], da)), fn)().dtype) == want


# --- torch.autograd.functional -------------------------------------------------------------------


def _f1(x):
    return (x.tanh() * x).sum()


def _f2(x, y):
    return (x * y.exp()).sum() + (x * x).sum()


def _fv(x, y):
    return (x * y).tanh(), x.exp().sum()


A0, B0 = np.array([0.3, -0.7, 1.1]), np.array([0.5, 0.2, -0.4])


def _ours(*arrays):
    return tuple(Tensor(a.copy()) for a in arrays)


def _theirs(*arrays):
    return tuple(torch.tensor(a.copy()) for a in arrays)


def _compare(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _compare(g, w)
        return
    assert isinstance(got, Tensor)
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,f,inputs,tuple_in", [
    ("one input", _f1, (A0,), False),
    ("two inputs", _f2, (A0, B0), True),
    ("two outputs", _fv, (A0, B0), True),
])
def test_jacobian(name, f, inputs, tuple_in):
    ours_in = _ours(*inputs) if tuple_in else _ours(*inputs)[0]
    theirs_in = _theirs(*inputs) if tuple_in else _theirs(*inputs)[0]
    _compare(AF.jacobian(f, ours_in), torch.autograd.functional.jacobian(f, theirs_in))


def test_hessian():
    _compare(AF.hessian(_f1, _ours(A0)[0]), torch.autograd.functional.hessian(_f1, _theirs(
        A0)[0]))
    _compare(AF.hessian(_f2, _ours(A0, B0)), torch.autograd.functional.hessian(_f2, _theirs(
        A0, B0)))


@pytest.mark.parametrize("helper", ["vjp", "jvp", "hvp", "vhp"])
def test_vector_products(helper):
    v = np.array([1.0, -2.0, 0.5])
    if helper in ("vjp",):
        cases = [(_fv, (A0, B0), (np.array([0.1, 0.2, 0.3]), np.array(1.5))), (_f1, (A0,), None)]
    elif helper == "jvp":
        cases = [(_fv, (A0, B0), (v, v[::-1].copy())), (lambda x: x.exp() * x, (A0,), (v,))]
    else:
        cases = [(_f1, (A0,), (v,)), (_f2, (A0, B0), (v, v[::-1].copy()))]
    for f, inputs, vs in cases:
        single = len(inputs) == 1
        oin, tin = _ours(*inputs), _theirs(*inputs)
        ov = None if vs is None else _ours(*vs)
        tv = None if vs is None else _theirs(*vs)
        if single:
            oin, tin = oin[0], tin[0]
            if vs is not None and helper != "vjp":
                ov, tv = ov[0], tv[0]
        if helper == "vjp" and vs is not None and len(vs) == 1:
            ov, tv = ov[0], tv[0]
        got = getattr(AF, helper)(f, oin, ov)
        want = getattr(torch.autograd.functional, helper)(f, tin, tv)
        _compare(got, want)


def test_functional_leaves_the_inputs_alone():
    x = Tensor(A0.copy())
    AF.hessian(_f1, x)
    AF.jacobian(lambda x: x.exp(), x)
    assert not x.requires_grad and x.grad is None
    np.testing.assert_array_equal(x.data, A0)
