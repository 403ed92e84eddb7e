"""Every differentiable primitive against central differences, in float64."""

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import Tensor, gradcheck

rng = np.random.default_rng(0)


def param(*shape, positive=False):
    """A float64 leaf; `positive` keeps it away from 0 (log, div, pow)."""
    x = np.asarray(rng.standard_normal(shape))
    if positive:
        x = np.abs(x) + 0.5
    return Tensor(x, requires_grad=True)


BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((5, 4), (4,)), ((), (2, 3)),
                   ((2, 3), ()), ((2, 1, 3), (4, 1)), ((1,), (3, 2))]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_binary_ops_broadcast(op, shapes):
    a, b = param(*shapes[0]), param(*shapes[1], positive=(op == "div"))
    fn = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b}[op]
    out = fn(a, b)
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    assert gradcheck(fn, a, b)


@pytest.mark.parametrize("fn", [
    lambda x: 2 * x, lambda x: x * 2, lambda x: 1 - x, lambda x: x - 1, lambda x: x / 3,
    lambda x: 3 / x, lambda x: x + 0.5, lambda x: 0.5 + x, lambda x: np.ones((4, 3)) + x,
    lambda x: np.full(3, 2.0) * x, lambda x: np.ones(3) - x, lambda x: np.ones(3) / x,
], ids=["2*x", "x*2", "1-x", "x-1", "x/3", "3/x", "x+.5", ".5+x", "arr+x", "arr*x", "arr-x",
        "arr/x"])
def test_scalars_and_arrays_on_either_side(fn):
    x = param(4, 3, positive=True)
    assert isinstance(fn(x), Tensor)
    assert gradcheck(fn, x)


UNARY = {
    "neg": (lambda x: -x, False),
    "exp": (lambda x: x.exp(), False),
    "log": (lambda x: x.log(), True),
    "tanh": (lambda x: x.tanh(), False),
    "sigmoid": (lambda x: x.sigmoid(), False),
    "relu": (lambda x: x.relu(), False),
    "abs": (lambda x: x.abs(), False),
    "sqrt": (lambda x: x.sqrt(), True),
    "pow2": (lambda x: x**2, False),
    "pow3": (lambda x: x**3, False),
    "pow-1.5": (lambda x: x**-1.5, True),
    "clip": (lambda x: x.clip(-0.5, 0.5), False),
    "astype32": (lambda x: x.astype("float32").astype("float64") * 1.0, False),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops(name):
    fn, positive = UNARY[name]
    x = param(3, 4, positive=positive)
    if name in ("relu", "abs", "clip"):  # keep away from the kinks, as minitorch does
        x.data[np.abs(x.data) < 0.05] += 0.2
        x.data[np.abs(np.abs(x.data) - 0.5) < 0.05] += 0.15
    if name == "astype32":
        assert gradcheck(fn, x, atol=1e-3, rtol=1e-2, eps=1e-3)
    else:
        assert gradcheck(fn, x)


def test_pow_records_its_exponent():
    x = param(2)
    from tinygrad_np.viz import op_title

    assert op_title((x**3).grad_fn) == "pow(exponent=3)"


AXES = [None, 0, 1, 2, -1, (0, 2), (0, 1, 2)]


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(reduce, axis, keepdims):
    x = param(2, 3, 4)
    out = getattr(x, reduce)(axis=axis, keepdims=keepdims)
    expect = getattr(np, {"max": "amax"}.get(reduce, reduce))(x.data, axis=axis,
                                                                keepdims=keepdims)
    np.testing.assert_allclose(out.data, expect)
    assert out.shape == np.shape(expect)
    assert gradcheck(lambda x: getattr(x, reduce)(axis=axis, keepdims=keepdims), x)


def test_max_splits_gradient_between_ties():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]), requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1, 0, 0]])
    # central differences at a two-way tie see one-sided slopes 1 and 0: 0.5, like ours
    assert gradcheck(lambda x: x.max(axis=1), Tensor(x.data.copy(), requires_grad=True))
    assert gradcheck(lambda x: x.max(), Tensor(np.array([2.0, 5.0, 5.0, 1.0]),
                                               requires_grad=True))


def test_min_is_recorded_as_amin_not_amax():
    x = Tensor(np.array([[1.0, 3.0], [2.0, 0.0]]), requires_grad=True)
    for y, name in [(x.min(), "amin"), (x.amin(1), "amin"), (x.min(axis=0), "amin"),
                    (x.max(), "amax"), (x.amax(1), "amax")]:
        assert y.op == name and f"op={name}" in repr(y)
    x.min(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[1, 0], [0, 1]])


@pytest.mark.parametrize("shapes", [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)),
                                    ((3, 4), (4, 5)), ((2, 3, 4), (4, 5)),
                                    ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5)),
                                    ((2, 1, 3, 4), (5, 4, 2))], ids=str)
def test_matmul(shapes):
    a, b = param(*shapes[0]), param(*shapes[1])
    out = a @ b
    np.testing.assert_allclose(out.data, a.data @ b.data)
    assert gradcheck(lambda a, b: a @ b, a, b)


def test_matmul_with_constant_operand_on_either_side():
    a = param(3, 4)
    assert gradcheck(lambda a: np.ones((2, 3)) @ a, a)
    assert gradcheck(lambda a: a @ np.ones((4, 2)), a)


@pytest.mark.parametrize("shape,axes", [((2, 3), None), ((2, 3, 4), (1, 0, 2)),
                                        ((2, 3, 4), (2, 0, 1))], ids=str)
def test_transpose(shape, axes):
    x = param(*shape)
    assert gradcheck(lambda x: x.transpose(axes) * np.arange(x.size).reshape(
        x.data.transpose(axes).shape), x)
    assert gradcheck(lambda x: x.T, param(3, 2))


@pytest.mark.parametrize("new_shape", [(6, 2), (12,), (3, -1), (2, 2, 3)], ids=str)
def test_reshape(new_shape):
    assert gradcheck(lambda x: x.reshape(new_shape), param(3, 4))


@pytest.mark.parametrize("index", [
    1, -1, slice(1, 3), (slice(None), 2), (0, slice(None, None, 2)), (Ellipsis, 1),
    np.array([2, 0, 2, 2]), (np.arange(3), np.array([1, 1, 0])), (np.array([0, 0]), 1),
    np.array([True, False, True, True]),
], ids=["int", "neg", "slice", "col", "step", "ellipsis", "repeats", "pairs", "repeat-pairs",
        "bool"])
def test_indexing(index):
    x = param(4, 3)
    np.testing.assert_array_equal(x[index].data, x.data[index])
    assert gradcheck(lambda x: x[index], x)


def test_indexing_with_repeated_indices_adds_gradients():
    x = Tensor(np.arange(3.0), requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 0, 1])


def test_integer_array_indexing_like_the_seeds():
    z = param(5, 4)
    labels = np.array([3, 0, 0, 1, 3])
    assert gradcheck(lambda z: z[np.arange(5), labels], z)
    assert gradcheck(lambda z: z[np.arange(5), Tensor(labels)], z)


@pytest.mark.parametrize("x_shape", [(3, 4), (4,), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("b_shape", [(5,), (1, 5), None], ids=str)
def test_linear(x_shape, b_shape):
    # one op for every input rank; a bias may broadcast to the output but never enlarge it
    x, w = param(*x_shape), param(4, 5)
    args = (x, w) if b_shape is None else (x, w, param(*b_shape))
    if b_shape is not None and len(b_shape) > len(x_shape):
        with pytest.raises(tg.ShapeError, match="does not fit the output"):
            tg.ops.linear(*args)
        return
    expect = x.data @ w.data + (0 if b_shape is None else args[2].data)
    np.testing.assert_allclose(tg.ops.linear(*args).data, expect)
    assert gradcheck(tg.ops.linear, *args)


def test_linear_is_matmul_then_add_in_one_op():
    x, w, b = (Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
               for s in ((32, 6), (6, 3), (3,)))
    fused = tg.ops.linear(x, w, b)
    assert fused.op == "linear" and fused.dtype == np.float32
    np.testing.assert_array_equal(fused.data, (x @ w + b).data)  # the same float32 arithmetic
    fused.sum().backward()
    grads = [t.grad for t in (x, w, b)]
    for t in (x, w, b):
        t.grad = None
    (x @ w + b).sum().backward()
    for got, t in zip(grads, (x, w, b)):
        np.testing.assert_allclose(got, t.grad, rtol=1e-6)  # the bias sum rounds differently
    with pytest.raises(tg.DTypeError, match="float32 and float64"):  # as PyTorch: no silent
        tg.ops.linear(x, w.astype("float64"), b)  # float64 model fed float32 (or the reverse)
    plain = tg.linear(Tensor(x.data), w.data, b.data)  # arrays are taken as constants
    assert not plain.requires_grad and plain.grad_fn is None  # nothing to record
    np.testing.assert_array_equal(plain.data, fused.data)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("shape", [(3, 4), (3, 40)], ids=str)  # row max: both ways of taking it
def test_softmax_family(op, axis, shape):
    x = param(*shape)
    out = getattr(x, op)(axis=axis)
    sm = np.exp(x.data) / np.exp(x.data).sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(out.data, sm if op == "softmax" else np.log(sm))
    assert gradcheck(lambda x: getattr(x, op)(axis=axis), x)


def test_softmax_stable_for_huge_inputs():
    x = Tensor(np.array([[1000.0, 1000.0], [-1000.0, 0.0]]))
    np.testing.assert_allclose(x.softmax().data, [[0.5, 0.5], [0, 1]])
    assert np.isfinite(x.log_softmax().data).all()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind", ["labels", "one_hot", "soft"])
def test_cross_entropy(reduction, kind):
    z = param(5, 4)
    labels = np.array([0, 3, 1, 1, 2])
    targets = {"labels": labels, "one_hot": np.eye(4)[labels],
               "soft": rng.dirichlet(np.ones(4), size=5)}[kind]
    out = z.cross_entropy(targets, reduction=reduction)
    per_row = -(np.eye(4)[labels] if kind != "soft" else targets) * np.log(
        np.exp(z.data) / np.exp(z.data).sum(1, keepdims=True))
    expect = {"mean": per_row.sum() / 5, "sum": per_row.sum(), "none": per_row.sum(1)}
    np.testing.assert_allclose(out.data, expect[reduction])
    assert gradcheck(lambda z: tg.cross_entropy(z, targets, reduction), z)


@pytest.mark.parametrize("axis", [0, 1])
def test_concatenate(axis):
    a, b = param(2, 3), param(2, 3)
    assert gradcheck(lambda a, b: tg.concatenate([a, np.ones((2, 3)), b], axis=axis), a, b)


def test_node_reuse_accumulates():
    """micrograd PR #64: b = a + a; c = b * b uses each node twice."""
    a = Tensor(np.array(3.0), requires_grad=True)
    b = a + a
    c = b * b
    c.backward()
    assert a.grad == pytest.approx(8 * 3.0)
    assert gradcheck(lambda a: (a + a) * (a + a), Tensor(np.array([3.0, -1.0]),
                                                         requires_grad=True))


def test_composite_network_gradcheck():
    W1, b1, W2 = param(4, 5), param(5), param(5, 3)
    x = rng.standard_normal((6, 4))

    def f(W1, b1, W2):
        h = (x @ W1 + b1).tanh()
        return tg.cross_entropy((h @ W2).relu() * 2 - h.mean(axis=1, keepdims=True),
                                np.array([0, 1, 2, 0, 1, 2]))

    assert gradcheck(f, W1, b1, W2)
