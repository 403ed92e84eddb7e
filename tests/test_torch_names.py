"""PyTorch's names for common compositions (the section at the end of ops.py, the matching
Tensor methods, the constructors at the end of tensor.py, the dtype aliases): values, dtypes
and shapes against PyTorch, draws against the library's generator, and the errors on bad
input. Gradients are checked by the rows of tests/op_table.py."""

import builtins

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import Tensor


def _torch():
    return pytest.importorskip("torch")


def _same(ours, theirs):
    t = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == tuple(t.shape)
    assert ours.dtype == t.dtype, (ours.dtype, t.dtype)
    np.testing.assert_allclose(ours.data, t, rtol=1e-6, atol=1e-7)


# --- dtype aliases ---------------------------------------------------------------------------


def test_dtype_aliases_are_pytorchs():
    assert (tg.long, tg.int, tg.float, tg.double, tg.half, tg.bool) == (
        "int64", "int32", "float32", "float64", "float16", "bool")
    x = Tensor([1.5, 2.5])
    assert Tensor([1, 2], dtype=tg.long).dtype == np.int64
    assert x.to(tg.long).dtype == np.int64 and x.to(dtype=tg.int).dtype == np.int32
    assert x.type(tg.double).dtype == np.float64 and x.type(tg.half).dtype == np.float16
    assert Tensor([0, 1]).type(tg.float).dtype == np.float32
    assert Tensor([0, 2], dtype=tg.bool).dtype == np.bool_
    assert tg.zeros(2, dtype=tg.long).dtype == np.int64
    assert x.dtype == tg.float and Tensor([1]).dtype == tg.long
    # NumPy reads them as PyTorch does (np.dtype("float") alone would be float64)
    assert np.dtype(tg.float) == np.float32 and np.dtype(tg.int) == np.int32


def test_dtype_aliases_do_not_shadow_builtins_inside_the_package():
    from tinygrad_np import _modes, ops, tensor

    for module in (ops, tensor, _modes):
        for name in ("bool", "int", "float"):
            assert getattr(module, name, getattr(builtins, name)) is getattr(builtins, name)
    assert Tensor([1.7]).long().item() == 1 and float(Tensor(2.5)) == 2.5


@pytest.mark.needs_torch
def test_dtype_aliases_match_torch_dtypes():
    torch = _torch()
    for name in ("long", "int", "float", "double", "half", "bool"):
        assert str(getattr(torch, name)) == f"torch.{getattr(tg, name)}"


# --- t and the matrix products ---------------------------------------------------------------


@pytest.mark.needs_torch
def test_t_and_products_match_torch():
    torch = _torch()
    rng = np.random.default_rng(0)
    a, b, v, w = (rng.standard_normal(s) for s in [(3, 4), (4, 2), (4,), (3,)])
    A, B = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    T = torch.tensor
    for x in (a, v, np.array(2.0)):
        _same(Tensor(x).t(), T(x).t())
        _same(tg.t(Tensor(x)), torch.t(T(x)))
    _same(tg.mm(Tensor(a), Tensor(b)), torch.mm(T(a), T(b)))
    _same(Tensor(a).mm(Tensor(b)), T(a).mm(T(b)))
    _same(tg.bmm(Tensor(A), Tensor(B)), torch.bmm(T(A), T(B)))
    _same(Tensor(a).mv(Tensor(v)), T(a).mv(T(v)))
    _same(tg.dot(Tensor(v), Tensor(v)), torch.dot(T(v), T(v)))
    _same(tg.outer(Tensor(w), Tensor(v)), torch.outer(T(w), T(v)))
    _same(Tensor(w).outer(Tensor([1, 2])), T(w).outer(T([1, 2])))
    c = rng.standard_normal((3, 2))
    _same(tg.addmm(Tensor(c), Tensor(a), Tensor(b), beta=0.5, alpha=-2),
          torch.addmm(T(c), T(a), T(b), beta=0.5, alpha=-2))
    _same(Tensor(c[0]).addmm(Tensor(a), Tensor(b)), T(c[0]).addmm(T(a), T(b)))
    nan = np.full((3, 2), np.nan)  # beta = 0 ignores the input, nan too
    _same(tg.addmm(Tensor(nan), Tensor(a), Tensor(b), beta=0), torch.addmm(
        T(nan), T(a), T(b), beta=0))


def test_products_refuse_the_wrong_shapes():
    m, v = tg.ones(2, 3), tg.ones(3)
    with pytest.raises(tg.ShapeError, match="t: "):
        tg.ones(2, 2, 2).t()
    with pytest.raises(tg.ShapeError, match="mm: .*2-D"):
        tg.mm(m, v)
    with pytest.raises(tg.ShapeError, match="inner dimensions"):
        tg.mm(m, m)
    with pytest.raises(tg.ShapeError, match="bmm"):
        tg.bmm(tg.ones(2, 2, 3), tg.ones(3, 3, 1))
    with pytest.raises(tg.ShapeError, match="mv"):
        tg.mv(m, tg.ones(2))
    with pytest.raises(tg.ShapeError, match="dot: expects 1-D"):
        tg.dot(m, m)
    with pytest.raises(tg.ShapeError, match="dot: sizes"):
        tg.dot(v, tg.ones(2))
    with pytest.raises(tg.DTypeError, match="same dtype"):
        tg.dot(v, tg.ones(3, dtype="float64"))
    with pytest.raises(tg.ShapeError, match="outer"):
        tg.outer(m, v)
    with pytest.raises(tg.ShapeError, match="addmm"):
        tg.addmm(tg.ones(3), m, tg.ones(3, 2))


# --- sorting ----------------------------------------------------------------------------------


@pytest.mark.needs_torch
def test_sort_argsort_topk_match_torch_stable():
    torch = _torch()
    x = np.array([[3.0, 1.0, 3.0, 0.0, 1.0], [2.0, 2.0, 2.0, -1.0, 5.0]])
    X, TX = Tensor(x), torch.tensor(x)
    for dim in (0, 1, -1):
        for desc in (False, True):
            ours, theirs = X.sort(dim, desc), torch.sort(TX, dim=dim, descending=desc, stable=True)
            _same(ours.values, theirs.values)
            _same(ours.indices, theirs.indices)
            _same(tg.argsort(X, dim, desc), torch.argsort(TX, dim=dim, descending=desc,
                                                          stable=True))
    ours = tg.sort(X, descending=True)
    assert ours._fields == ("values", "indices")
    for k in (0, 1, 3, 5):
        for largest in (True, False):
            ours = X.topk(k, largest=largest)
            theirs = TX.topk(k, largest=largest)  # distinct enough: values match either way
            _same(ours.values, theirs.values)
            assert ours.indices.dtype == np.int64 and ours.indices.shape == (2, k)
    d = np.array([4.0, -1.0, 7.0, 2.0])
    _same(Tensor(d).topk(2).indices, torch.tensor(d).topk(2).indices)
    _same(tg.topk(Tensor(d), 3, largest=False).indices, torch.topk(
        torch.tensor(d), 3, largest=False).indices)
    nan = np.array([1.0, np.nan, 0.0])  # nan is the largest, as in PyTorch
    _same(Tensor(nan).sort(descending=True).indices,
          torch.tensor(nan).sort(descending=True).indices)
    _same(Tensor(nan).sort().indices, torch.tensor(nan).sort().indices)
    s = Tensor(np.array(2.5))
    assert s.sort().values.shape == () and s.topk(1).indices.item() == 0


def test_sort_values_take_the_gradient_back():
    x = Tensor([3.0, 1.0, 2.0], requires_grad=True)
    (x.sort().values * Tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [100.0, 1.0, 10.0])
    x.grad = None
    x.topk(1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 0.0])


def test_topk_refuses_a_bad_k():
    with pytest.raises(tg.OutOfRangeError, match="topk: k must be an int in 0..3"):
        tg.ones(3).topk(4)
    with pytest.raises(tg.OutOfRangeError, match="topk"):
        tg.ones(3).topk(-1)
    with pytest.raises(tg.OutOfRangeError):
        tg.ones(3).sort(dim=1)


# --- sampling ---------------------------------------------------------------------------------


def test_multinomial_draws_through_the_library_generator():
    p = Tensor([0.0, 1.0, 3.0, 0.0])
    tg.manual_seed(3)
    a = tg.multinomial(p, 2)
    tg.manual_seed(3)
    b = p.multinomial(2)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.int64 and a.shape == (2,) and not a.requires_grad
    assert sorted(a.tolist()) == [1, 2]  # without replacement: distinct, never a zero weight
    rows = tg.multinomial(Tensor([[1.0, 0.0], [0.0, 5.0]]), 6, replacement=True)
    assert rows.shape == (2, 6)
    np.testing.assert_array_equal(rows.data, [[0] * 6, [1] * 6])
    # frequencies follow the (unnormalised) weights
    many = tg.multinomial(Tensor([1.0, 3.0]), 4000, True, generator=np.random.default_rng(0))
    assert 0.72 < many.data.mean() < 0.78
    # all of them without replacement: a permutation, zero weights last (as PyTorch)
    full = tg.multinomial(Tensor([0.0, 1.0, 2.0]), 3).tolist()
    assert sorted(full) == [0, 1, 2] and full[-1] == 0


def test_multinomial_refuses_bad_input():
    p = Tensor([0.5, 0.5])
    for n in (0, -1, 1.5, True):
        with pytest.raises(tg.ArgumentError, match="num_samples"):
            tg.multinomial(p, n)
    with pytest.raises(tg.ArgumentError, match="without replacement"):
        tg.multinomial(p, 3)
    with pytest.raises(tg.ArgumentError, match=">= 0"):
        tg.multinomial(Tensor([-1.0, 2.0]), 1)
    with pytest.raises(tg.ArgumentError, match="positive sum"):
        tg.multinomial(tg.zeros(3), 1)
    with pytest.raises(tg.ShapeError, match="1-D or 2-D"):
        tg.multinomial(tg.ones(2, 2, 2), 1)
    with pytest.raises(tg.ArgumentError, match="generator"):
        tg.multinomial(p, 1, generator=0)


def test_randperm_and_like_constructors():
    tg.manual_seed(1)
    a = tg.randperm(6)
    tg.manual_seed(1)
    assert a.tolist() == tg.randperm(6).tolist() and sorted(a.tolist()) == list(range(6))
    assert a.dtype == np.int64 and tg.randperm(0).shape == (0,)
    assert tg.randperm(3, dtype=tg.float).dtype == np.float32
    with pytest.raises(tg.ArgumentError, match="randperm"):
        tg.randperm(-1)
    x = tg.ones(2, 3, dtype="float64")
    for f in (tg.rand_like, tg.randn_like, tg.empty_like):
        y = f(x)
        assert y.shape == (2, 3) and y.dtype == np.float64 and not y.requires_grad
    assert tg.rand_like(x, dtype=tg.float).dtype == np.float32
    assert tg.randn_like(x, requires_grad=True).requires_grad
    assert tg.empty_like(Tensor([1, 2])).dtype == np.int64
    r = tg.rand_like(tg.ones(500))
    assert 0 <= r.data.min() and r.data.max() < 1
    with pytest.raises(tg.DTypeError, match="rand_like"):
        tg.rand_like(Tensor([1, 2]))


def test_new_constructors_take_the_tensors_dtype():
    x = tg.ones(2, dtype="float64")
    for y, shape in [(x.new_zeros(2, 3), (2, 3)), (x.new_ones((3,)), (3,)),
                     (x.new_empty(1, 2), (1, 2)), (x.new_full((2, 2), 7), (2, 2)),
                     (x.new_tensor([1, 2, 3]), (3,))]:
        assert y.shape == shape and y.dtype == np.float64
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0] and x.new_zeros(2).data.sum() == 0
    assert x.new_zeros(2, dtype=tg.long).dtype == np.int64
    assert Tensor([1, 2]).new_tensor([1.5]).dtype == np.int64  # as PyTorch: the tensor's dtype
    assert x.new_ones(2, requires_grad=True).requires_grad


# --- indexing and element-wise ----------------------------------------------------------------


@pytest.mark.needs_torch
def test_indexing_and_elementwise_match_torch():
    torch = _torch()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    pos = np.abs(x) + 0.5
    X, TX, P, TP = Tensor(x), torch.tensor(x), Tensor(pos), torch.tensor(pos)
    i = np.array([3, 0, 3])
    _same(X.index_select(1, Tensor(i)), TX.index_select(1, torch.tensor(i)))
    _same(tg.index_select(X, 0, Tensor(np.array(2))), torch.index_select(
        TX, 0, torch.tensor(2)))
    m = x > 0
    _same(X.masked_select(Tensor(m)), TX.masked_select(torch.tensor(m)))
    _same(tg.masked_select(X, Tensor(m[0])), torch.masked_select(TX, torch.tensor(m[0])))
    ints = np.array([[0, 2, 0], [1, 0, 3]])
    for a in (ints, np.array(3), np.array(0), np.zeros((2, 0))):
        _same(Tensor(a).nonzero(), torch.tensor(a).nonzero())
        ours, theirs = tg.nonzero(Tensor(a), as_tuple=True), torch.nonzero(
            torch.tensor(a), as_tuple=True)
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
    _same(X.clamp_min(0.1), TX.clamp_min(0.1))
    _same(tg.clamp_max(X, 0.1), torch.clamp_max(TX, 0.1))
    for name in ("square", "reciprocal", "log2", "exp2", "log10", "tan"):
        _same(getattr(P, name)(), getattr(TP, name)())
        _same(getattr(tg, name)(P), getattr(torch, name)(TP))
    n = np.array([1, 2, 3])
    for name in ("square", "reciprocal", "log2", "exp2", "log10", "tan"):
        _same(getattr(Tensor(n), name)(), getattr(torch.tensor(n), name)())
    inf = np.array([1.0, np.inf, -np.inf, np.nan])
    for name in ("isinf", "isfinite", "isnan"):
        _same(getattr(Tensor(inf), name)(), getattr(torch.tensor(inf), name)())
        _same(getattr(tg, name)(Tensor(inf)), getattr(torch, name)(torch.tensor(inf)))


@pytest.mark.needs_torch
def test_stacking_and_repeat_interleave_match_torch():
    torch = _torch()
    a, b, v, s = np.ones((2, 3)), np.arange(4.0).reshape(2, 2), np.arange(3.0), np.array(5.0)
    T = torch.tensor
    _same(tg.hstack([Tensor(a), Tensor(b)]), torch.hstack([T(a), T(b)]))
    _same(tg.hstack([Tensor(v), Tensor(v)]), torch.hstack([T(v), T(v)]))
    _same(tg.hstack([Tensor(s), Tensor(v)]), torch.hstack([T(s), T(v)]))
    _same(tg.vstack([Tensor(v), Tensor(a)]), torch.vstack([T(v), T(a)]))
    _same(tg.vstack([Tensor(s), Tensor(s)]), torch.vstack([T(s), T(s)]))
    _same(tg.concat([Tensor(a), Tensor(b)], dim=1), torch.concat([T(a), T(b)], dim=1))
    r = np.array([[1, 2], [3, 4]])
    _same(Tensor(r).repeat_interleave(2), T(r).repeat_interleave(2))
    _same(tg.repeat_interleave(Tensor(r), 3, dim=1), torch.repeat_interleave(T(r), 3, dim=1))
    _same(Tensor(r).repeat_interleave(Tensor([1, 2]), dim=0),
          T(r).repeat_interleave(T([1, 2]), dim=0))
    _same(Tensor(np.array(3)).repeat_interleave(2), T(3).repeat_interleave(2))
    _same(Tensor(r).repeat_interleave(0, dim=-1), T(r).repeat_interleave(0, dim=-1))


def test_indexing_refuses_bad_input():
    x = tg.ones(3, 4)
    with pytest.raises(tg.OutOfRangeError, match="index_select: index values must be in 0..3"):
        x.index_select(1, Tensor([4]))
    with pytest.raises(tg.OutOfRangeError):
        x.index_select(1, Tensor([-1]))
    with pytest.raises(tg.DTypeError, match="1-D integer"):
        x.index_select(0, Tensor([0.0]))
    with pytest.raises(tg.OutOfRangeError):
        x.index_select(2, Tensor([0]))
    with pytest.raises(tg.DTypeError, match="masked_select: the mask must be a bool"):
        x.masked_select(Tensor([1, 0, 1, 0]))
    with pytest.raises(tg.ShapeError, match="masked_select"):
        x.masked_select(Tensor([True, False]))
    with pytest.raises(tg.ArgumentError, match="repeats"):
        x.repeat_interleave(-1)
    with pytest.raises(tg.ArgumentError, match="repeats"):
        x.repeat_interleave(Tensor([1, 2]), dim=1)
    with pytest.raises(tg.ShapeError):
        tg.hstack([tg.ones(2, 3), tg.ones(3, 1)])
    with pytest.raises(tg.ArgumentError):
        tg.vstack(tg.ones(2))


def test_gradients_through_repeats_add_up():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.index_select(0, Tensor([2, 2, 0])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 2.0])
    x.grad = None
    x.repeat_interleave(3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0, 3.0])


def test_a_star_import_keeps_pythons_int_float_and_bool():
    namespace = {}
    exec("from tinygrad_np import *", namespace)
    assert "Tensor" in namespace and "long" in namespace
    assert not {"int", "float", "bool"} & set(namespace)
