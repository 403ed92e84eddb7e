"""The engine opened up (issue 13): custom ops through autograd.Function, grad(), higher
order products, hooks, an atomic and checked backward, and threads."""

import threading

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import Function, GraphError, Tensor, gradcheck, gradgradcheck, nn

rng = np.random.default_rng(13)

NUMPY_INF_WARNINGS = ("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")


def leaf(*shape, low=None):
    x = rng.standard_normal(shape)
    if low is not None:
        x = np.abs(x) + low
    return Tensor(x, requires_grad=True)


def grads(*tensors):
    return [None if t.grad is None else t.grad.data.copy() for t in tensors]


def same(a, b):
    return all((x is None and y is None) or (x is not None and y is not None
                                             and np.array_equal(x, y)) for x, y in zip(a, b))


# --- autograd.Function ---------------------------------------------------------------------------


class Cube(Function):
    """x^3 with a backward in Tensor ops: differentiable again."""

    @staticmethod
    def forward(ctx, x):
        assert isinstance(x, Tensor) and not tg.is_grad_enabled()  # PyTorch's form
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        assert isinstance(g, Tensor)
        (x,) = ctx.saved_tensors
        return 3 * x * x * g


class ScaleShift(Function):
    """a * x + b with a Python number and a keyword: non-tensor inputs get None."""

    @staticmethod
    def forward(ctx, x, a, b, *, twice=False):
        ctx.a = a * (2 if twice else 1)
        ctx.seen_needs = ctx.needs_input_grad
        return x * ctx.a + b

    @staticmethod
    def backward(ctx, g):
        return g * ctx.a, None, g if ctx.needs_input_grad[2] else None


class SinCos(Function):
    """Two outputs; the second only is used in some tests."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin(), x.cos()

    @staticmethod
    def backward(ctx, gs, gc):
        (x,) = ctx.saved_tensors
        return gs * x.cos() - gc * x.sin()


class SortWithIndex(Function):
    """Values and their integer indices; the indices are marked non-differentiable."""

    @staticmethod
    def forward(ctx, x):
        idx = np.argsort(x.data, kind="stable")
        ctx.idx = idx
        index = Tensor(idx)
        ctx.mark_non_differentiable(index)
        return x[idx], index

    @staticmethod
    def backward(ctx, g, g_index):
        assert g_index.shape == ctx.idx.shape  # materialized zeros, as in PyTorch
        out = tg.zeros(*g.shape, dtype=g.dtype)
        out[ctx.idx] = g
        return out


def test_function_forward_on_tensors_backward_differentiable():
    x = leaf(5)
    y = Cube.apply(x)
    assert y.op == "Cube" and y.requires_grad and y.grad_fn.fn is Cube
    np.testing.assert_allclose(y.data, x.data**3)
    assert gradcheck(Cube.apply, x)
    assert gradgradcheck(Cube.apply, x)  # the backward's own graph is right
    (g,) = tg.grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x, create_graph=True)
    (t,) = tg.grad(h.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)
    np.testing.assert_allclose(t.data, np.full(5, 6.0))


def test_function_needs_input_grad_and_non_tensor_arguments():
    x, b = leaf(3), Tensor(np.ones(3))  # b needs no gradient
    y = ScaleShift.apply(x, 1.5, b, twice=True)
    assert y.grad_fn.seen_needs == (True, False, False)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(3, 3.0))
    assert b.grad is None
    b2 = leaf(3)
    assert gradcheck(lambda x, b: ScaleShift.apply(x, -0.5, b), x, b2)


def test_function_saved_tensors_are_the_inputs_and_outputs():
    class KeepOutput(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            seen.append(y)
            return g * y

    x, seen = leaf(4), []
    out = KeepOutput.apply(x)
    out.sum().backward()
    assert seen[0] is out  # the recorded output itself, not a copy
    np.testing.assert_allclose(x.grad.data, np.exp(x.data))
    assert gradgradcheck(KeepOutput.apply, leaf(4))


def test_function_with_two_outputs():
    x = leaf(4)
    s, c = SinCos.apply(x)
    assert s.grad_fn is c.grad_fn and s.requires_grad and c.requires_grad
    assert gradcheck(lambda x: SinCos.apply(x), x)  # both outputs, random weights
    assert gradgradcheck(lambda x: SinCos.apply(x), x)
    x.grad = None
    SinCos.apply(x)[1].sum().backward()  # only the second is used: the first gets zeros
    np.testing.assert_allclose(x.grad.data, -np.sin(x.data))


def test_function_mark_non_differentiable():
    x = Tensor(np.array([3.0, 1.0, 2.0]), requires_grad=True)
    values, index = SortWithIndex.apply(x)
    assert values.requires_grad and not index.requires_grad
    np.testing.assert_array_equal(index.data, [1, 2, 0])
    (values * Tensor(np.array([1.0, 10.0, 100.0]))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [100.0, 1.0, 10.0])


class SoftmaxCrossEntropy(Function):
    """The seeds' fused softmax cross-entropy, written by hand: loss = -sum(Y log A) / m with
    A = softmax(Z), backward dZ = (A - Y) / m. The backward is in Tensor ops (A recomputed
    from the saved Z), so it is differentiable again."""

    @staticmethod
    def forward(ctx, Z, Y):
        ctx.save_for_backward(Z, Y)
        logA = Z.log_softmax(1)
        return -(Y * logA).sum() / Z.shape[0]

    @staticmethod
    def backward(ctx, g):
        Z, Y = ctx.saved_tensors
        A = Z.softmax(1)
        return (A - Y) * (g / Z.shape[0]), None


def test_hand_written_softmax_cross_entropy_is_the_library_one():
    Z = leaf(6, 4)
    labels = np.array([0, 3, 1, 1, 2, 0])
    Y = Tensor(np.eye(4)[labels])
    loss = SoftmaxCrossEntropy.apply(Z, Y)
    np.testing.assert_allclose(loss.data, tg.cross_entropy(Z, labels).data, rtol=1e-12)
    loss.backward()
    A = np.exp(Z.data) / np.exp(Z.data).sum(1, keepdims=True)
    np.testing.assert_allclose(Z.grad.data, (A - Y.data) / 6, rtol=1e-12)  # dZ = (A - Y) / m
    assert gradcheck(lambda Z: SoftmaxCrossEntropy.apply(Z, Y), Z)
    assert gradgradcheck(lambda Z: SoftmaxCrossEntropy.apply(Z, Y), Z)
    # its second derivative is the library's
    Z2 = Tensor(Z.data.copy(), requires_grad=True)
    v = rng.standard_normal(Z.shape)
    (g1,) = tg.grad(SoftmaxCrossEntropy.apply(Z, Y), Z, create_graph=True)
    (h1,) = tg.grad((g1 * v).sum(), Z)
    (g2,) = tg.grad(tg.cross_entropy(Z2, labels), Z2, create_graph=True)
    (h2,) = tg.grad((g2 * v).sum(), Z2)
    np.testing.assert_allclose(h1.data, h2.data, rtol=1e-10, atol=1e-14)


def _bad_backward(returned):
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return returned(g)

    return Bad


@pytest.mark.parametrize("returned,words", [
    (lambda g: g, ["backward of Bad", "1 gradient(s) for 2 input(s)"]),
    (lambda g: (g, g, g), ["backward of Bad", "3 gradient(s) for 2 input(s)"]),
    (lambda g: (g[:2], g), ["backward of Bad", "input 0", "shape (2,)", "shape (3,)"]),
    (lambda g: (g, g.reshape(3, 1)), ["backward of Bad", "input 1", "(3, 1)", "(3,)"]),
    (lambda g: (g.astype("float32"), g), ["backward of Bad", "input 0", "float32", "float64"]),
    (lambda g: (g, (g > 0)), ["backward of Bad", "input 1", "bool"]),
], ids=["too few", "too many", "wrong shape", "not broadcast-compatible", "wrong dtype",
        "integer gradient"])
def test_function_backward_that_returns_a_wrong_gradient(returned, words):
    x, y = leaf(3), leaf(3)
    before = grads(x, y)
    with pytest.raises(GraphError) as info:
        _bad_backward(returned).apply(x, y).sum().backward()
    missing = [w for w in words if w not in str(info.value)]
    assert not missing, f"{missing} not in: {info.value}"
    assert same(grads(x, y), before)


def test_function_backward_of_a_broadcast_shape_is_summed_back():
    """As PyTorch: a gradient of a shape the input broadcasts to is reduced to the input."""
    bad = _bad_backward(lambda g: (g.reshape(1, 3).expand(4, 3), None))
    x, y = leaf(3), Tensor(np.ones(3))
    bad.apply(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full(3, 4.0))


def test_function_extra_trailing_nones_are_accepted():
    bad = _bad_backward(lambda g: (g, g, None, None))
    x, y = leaf(3), leaf(3)
    bad.apply(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones(3))


# --- grad() --------------------------------------------------------------------------------------


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    x, y = leaf(3), leaf(3)
    out = (x * y).sum()
    gx, gy = tg.grad(out, [x, y])
    np.testing.assert_array_equal(gx.data, y.data)
    np.testing.assert_array_equal(gy.data, x.data)
    assert x.grad is None and y.grad is None
    assert not gx.requires_grad


def test_grad_allow_unused():
    x, unused = leaf(3), leaf(2)
    with pytest.raises(GraphError, match="input 1 .* was not used .* allow_unused=True"):
        tg.grad((x * 2).sum(), [x, unused])
    gx, gu = tg.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_array_equal(gx.data, np.full(3, 2.0))
    _, gz = tg.grad((x * 2).sum(), [x, unused], materialize_grads=True)
    np.testing.assert_array_equal(gz.data, np.zeros(2))


def test_grad_outputs_for_non_scalar_outputs():
    x = leaf(2, 3)
    v = rng.standard_normal((2, 3))
    (g,) = tg.grad(x.tanh(), x, grad_outputs=Tensor(v))
    np.testing.assert_allclose(g.data, v * (1 - np.tanh(x.data) ** 2))
    with pytest.raises(GraphError, match="scalar"):
        tg.grad(x.tanh(), x)
    a, b = leaf(3), leaf(3)
    ga, gb = tg.grad([a * 2, (b * b).sum()], [a, b], grad_outputs=[Tensor(np.ones(3)), None])
    np.testing.assert_array_equal(ga.data, np.full(3, 2.0))
    np.testing.assert_allclose(gb.data, 2 * b.data)


def test_grad_gives_each_input_its_own_array():
    a, b = Tensor(np.array(1.0), requires_grad=True), Tensor(np.array(2.0), requires_grad=True)
    ga, gb = tg.grad(a + b, [a, b])
    assert not np.shares_memory(ga.data, gb.data)
    ga.data += 1  # a user editing one gradient does not change the other
    assert gb.item() == 1.0


def test_retain_graph_defaults_to_create_graph():
    x = leaf(3)
    y = (x.exp() * x).sum()
    tg.grad(y, x)  # retain_graph=None: freed after
    with pytest.raises(GraphError, match="freed"):
        tg.grad(y, x)
    y = (x.exp() * x).sum()
    tg.grad(y, x, create_graph=True)  # retain_graph follows create_graph: kept
    tg.grad(y, x)
    y = (x.exp() * x).sum()
    tg.grad(y, x, retain_graph=True)
    (g,) = tg.grad(y, x)
    np.testing.assert_allclose(g.data, np.exp(x.data) * (1 + x.data))
    y = (x.exp() * x).sum()
    y.backward(create_graph=True)  # Tensor.backward: the same default
    g = x.grad
    x.grad = None  # (x.grad holds a graph that holds x: drop it, as PyTorch advises)
    y.backward()
    np.testing.assert_allclose(g.data, x.grad.data)


def test_create_graph_gradients_have_a_graph():
    x = leaf(3)
    (g,) = tg.grad((x**3).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)
    x.grad = None
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (gg,) = tg.grad(x.grad.sum(), x)
    np.testing.assert_allclose(gg.data, 6 * x.data)


def _central(f, x0: np.ndarray, eps=1e-6) -> np.ndarray:
    out = np.zeros_like(x0)
    for idx in np.ndindex(x0.shape):
        e = np.zeros_like(x0)
        e[idx] = eps
        out[idx] = (f(x0 + e) - f(x0 - e)) / (2 * eps)
    return out


def test_hessian_vector_product_against_central_differences():
    W = rng.standard_normal((4, 3))

    def loss(w):
        return ((Tensor(W) @ w).tanh() ** 2).sum() + (w * w * w).sum()

    w0, v = rng.standard_normal(3), rng.standard_normal(3)
    w = Tensor(w0.copy(), requires_grad=True)
    (g,) = tg.grad(loss(w), w, create_graph=True)
    (hv,) = tg.grad((g * Tensor(v)).sum(), w)

    def grad_dot_v(w_array):  # d/dw of loss, then . v: its central difference is (H v)
        t = Tensor(w_array, requires_grad=True)
        (gt,) = tg.grad(loss(t), t)
        return gt.data

    numeric = (grad_dot_v(w0 + 1e-6 * v) - grad_dot_v(w0 - 1e-6 * v)) / 2e-6
    np.testing.assert_allclose(hv.data, numeric, rtol=1e-6, atol=1e-8)
    _, hvp = tg.autograd.functional.hvp(loss, Tensor(w0), Tensor(v))
    np.testing.assert_allclose(hvp.data, hv.data, rtol=1e-12)


def test_gradient_penalty_against_central_differences():
    """d/dw of ||d loss / dx||^2 (WGAN-GP's penalty), through create_graph."""
    x0 = rng.standard_normal((5, 3))
    w0 = rng.standard_normal((3, 2))

    def penalty(w, x):
        out = (x @ w).tanh().sum()
        (gx,) = tg.grad(out, x, create_graph=True)
        return (gx * gx).sum()

    w = Tensor(w0.copy(), requires_grad=True)
    penalty(w, Tensor(x0.copy(), requires_grad=True)).backward()
    numeric = _central(lambda wa: penalty(Tensor(wa), Tensor(x0.copy(), requires_grad=True))
                       .item(), w0)
    np.testing.assert_allclose(w.grad.data, numeric, rtol=1e-5, atol=1e-8)
    assert gradcheck(lambda w: penalty(w, Tensor(x0.copy(), requires_grad=True)),
                     Tensor(w0.copy(), requires_grad=True))


# --- hooks ---------------------------------------------------------------------------------------


def test_tensor_hooks_replace_observe_and_remove_on_a_leaf():
    x = leaf(3)
    seen = []
    h1 = x.register_hook(lambda g: seen.append(g.data.copy()))  # observes (returns None)
    h2 = x.register_hook(lambda g: g * 10)  # replaces
    (x * 2).sum().backward()
    np.testing.assert_array_equal(seen[0], np.full(3, 2.0))
    np.testing.assert_array_equal(x.grad.data, np.full(3, 20.0))
    h2.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full(3, 2.0))
    h1.remove()
    (x * 2).sum().backward()
    assert len(seen) == 2


def test_a_gradient_a_hook_kept_is_not_changed_by_the_next_backward():
    x = leaf(2)
    kept = []
    x.register_hook(kept.append)
    (x * 2).sum().backward()
    (x * 2).sum().backward()  # adds into x.grad in place: never into what the hook kept
    np.testing.assert_array_equal(kept[0].data, [2.0, 2.0])
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])


def test_tensor_hook_on_a_non_leaf_changes_what_flows_on():
    x = leaf(3)
    y = x * 3
    y.register_hook(lambda g: g + 1)
    y.retain_grad()
    (y * 2).sum().backward()
    np.testing.assert_array_equal(y.grad.data, np.full(3, 3.0))  # retained after the hook
    np.testing.assert_array_equal(x.grad.data, np.full(3, 9.0))
    with y.register_hook(lambda g: g * 0):  # a handle is a context manager too
        x.grad = None
        (x * 3).sum().backward()  # (a new y: the hook is on the old one)
    np.testing.assert_array_equal(x.grad.data, np.full(3, 3.0))


def test_tensor_hook_in_create_graph_gets_tensors_with_a_graph():
    x = leaf(3)
    y = x * x
    y.register_hook(lambda g: g * x)  # depends on x: the second derivative sees it
    (g,) = tg.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 2 * x.data**2)
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 4 * x.data)


def test_hook_returning_a_wrong_shape_raises():
    x = leaf(3)
    x.register_hook(lambda g: g.sum())
    with pytest.raises(GraphError, match="register_hook.*shape"):
        (x * 2).sum().backward()
    assert x.grad is None


def test_register_hook_on_a_tensor_without_grad_raises():
    with pytest.raises(GraphError, match="does not require grad"):
        Tensor(np.ones(2)).register_hook(lambda g: g)


class Doubler(nn.Module):
    def __init__(self):
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x) * 2


def test_module_forward_hooks_replace_args_and_outputs():
    m = Doubler()
    x = Tensor(np.ones((1, 3), np.float32))
    calls = []

    def pre(module, args):
        calls.append(("pre", module, len(args)))
        return (args[0] * 0,)  # replaces the input

    def post(module, args, out):
        calls.append(("post", module, args[0].data.sum()))
        return out + 100  # replaces the output

    hp, ho = m.register_forward_pre_hook(pre), m.register_forward_hook(post)
    bias = m.fc.bias.data * 2
    out = m(x)
    np.testing.assert_allclose(out.data, bias[None] + 100, rtol=1e-6)
    assert calls == [("pre", m, 1), ("post", m, 0.0)]  # the hook sees the replaced args
    out.sum().backward()  # the replaced output is still in the graph
    np.testing.assert_allclose(m.fc.bias.grad.data, np.full(2, 2.0))
    hp.remove()
    ho.remove()
    np.testing.assert_allclose(m(x).data, (m.fc(x) * 2).data)
    assert len(calls) == 2
    seen = []
    m.fc.register_forward_hook(lambda mod, args, out: seen.append(out.shape))  # a sub-module
    m(x)
    assert seen == [(1, 2)]


def test_module_pre_hook_returning_one_value():
    m = Doubler()
    m.register_forward_pre_hook(lambda mod, args: args[0] + 1)  # not a tuple: the one arg
    x = Tensor(np.zeros((1, 3), np.float32))
    np.testing.assert_allclose(m(x).data, (m.fc(x + 1) * 2).data)


# --- a failing backward changes nothing ----------------------------------------------------------


def _two_leaves_with_grads():
    a, b = leaf(2), leaf(2)
    (a * b).sum().backward()
    return a, b


def test_a_hook_that_raises_leaves_every_grad():
    a, b = _two_leaves_with_grads()
    c = leaf(2)
    before = grads(a, b, c)

    def boom(g):
        raise RuntimeError("hook failed")

    b.register_hook(boom)
    with pytest.raises(RuntimeError, match="hook failed"):
        ((a * b * c).sum() + (a * 2).sum()).backward()
    assert same(grads(a, b, c), before)


def test_a_user_backward_that_raises_leaves_every_grad():
    class Boom(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("backward failed")

    a, b = _two_leaves_with_grads()
    before = grads(a, b)
    with pytest.raises(ValueError, match="backward failed"):
        ((a * b).sum() + Boom.apply(a).sum()).backward()
    assert same(grads(a, b), before)


def test_a_freed_node_leaves_every_grad():
    a, b = _two_leaves_with_grads()
    y = a * b
    z, w = y.sum(), (y * 2).sum()
    z.backward()
    before = grads(a, b)
    with pytest.raises(GraphError, match="freed"):
        ((a * a).sum() + w).backward()
    assert same(grads(a, b), before)
    y2 = a * b  # and the graph that failed is usable again with a fresh forward
    (y2 * 2).sum().backward()
    np.testing.assert_allclose(a.grad.data, before[0] + 2 * b.data)


@pytest.mark.filterwarnings(*NUMPY_INF_WARNINGS)  # NumPy warns of the very inf the test makes
def test_an_anomaly_in_backward_leaves_every_grad():
    a, b = _two_leaves_with_grads()
    before = grads(a, b)
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError):
        ((a * b).sum() + (a - a).sqrt().sum()).backward()
    assert same(grads(a, b), before)


# --- threads -------------------------------------------------------------------------------------


def test_backward_from_eight_threads_into_one_parameter_sums_exactly():
    w = Tensor(np.zeros(3), requires_grad=True)
    c = Tensor(np.array([1.0, 2.0, 3.0]))
    steps, n_threads = 300, 8
    start = threading.Barrier(n_threads)

    def work():
        start.wait()
        for _ in range(steps):
            (w * c + w * w).sum().backward()  # d/dw = c (w stays 0)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(w.grad.data, steps * n_threads * c.data)


def test_grad_mode_is_per_thread():
    """A thread evaluating under no_grad never stops another thread's steps from recording."""
    w = Tensor(np.ones(3), requires_grad=True)
    stop, unrecorded = threading.Event(), []

    def evaluate():
        while not stop.is_set():
            with tg.no_grad():
                assert not (w * 2).requires_grad

    def train():
        for _ in range(2000):
            y = (w * 2).sum()
            if not y.requires_grad:
                unrecorded.append(y)

    ev = threading.Thread(target=evaluate)
    ev.start()
    try:
        trainers = [threading.Thread(target=train) for _ in range(2)]
        for t in trainers:
            t.start()
        for t in trainers:
            t.join()
    finally:
        stop.set()
        ev.join()
    assert unrecorded == []
    assert tg.is_grad_enabled()


def test_anomaly_mode_is_per_thread():
    seen = {}

    def other():
        seen["anomaly"] = tg.is_anomaly_enabled()

    with tg.detect_anomaly():
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert tg.is_anomaly_enabled()
    assert seen["anomaly"] is False and not tg.is_anomaly_enabled()


@tg.no_grad()
def _count_down(n):
    assert not tg.is_grad_enabled()
    return 0 if n == 0 else 1 + _count_down(n - 1)


@tg.detect_anomaly()
def _count_down_anomaly(n):
    assert tg.is_anomaly_enabled()
    return 0 if n == 0 else 1 + _count_down_anomaly(n - 1)


def test_decorators_are_re_entrant_and_thread_safe():
    assert _count_down(30) == 30
    assert _count_down_anomaly(10) == 10
    assert tg.is_grad_enabled() and not tg.is_anomaly_enabled()
    errors = []

    def run():
        try:
            for _ in range(300):
                _count_down(3)
                _count_down_anomaly(2)
                assert tg.is_grad_enabled() and not tg.is_anomaly_enabled()
        except AssertionError as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert tg.is_grad_enabled() and not tg.is_anomaly_enabled()
    with tg.no_grad():
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            _count_down(2)
            assert tg.is_grad_enabled()
        assert not tg.is_grad_enabled()


class SquareAndCube(Function):
    """Two outputs, both saved, so backward needs an output the caller may have dropped."""

    @staticmethod
    def forward(ctx, x):
        sq, cu = x * x, x * x * x
        ctx.save_for_backward(x, sq, cu)
        return sq, cu

    @staticmethod
    def backward(ctx, g_sq, g_cu):
        x, sq, cu = ctx.saved_tensors
        return g_sq * 2 * x + g_cu * 3 * sq


def test_function_output_dropped_by_the_caller():
    """Only the second output is kept: the first gets zeros made from its shape, and a
    create_graph backward still goes through the saved (dropped) output."""
    x = leaf(3)
    SquareAndCube.apply(x)[1].sum().backward()
    np.testing.assert_allclose(x.grad.data, 3 * x.data**2)
    x.grad = None
    (g,) = tg.grad(SquareAndCube.apply(x)[1].sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)
    assert gradgradcheck(lambda x: SquareAndCube.apply(x)[1], leaf(3))
    assert gradgradcheck(lambda x: SquareAndCube.apply(x)[0], leaf(3))


# --- graphs are freed, deep graphs work ----------------------------------------------------------


def _freed_without_gc(build) -> list:
    """Weak references to what ``build`` made, taken with the cycle collector off: a graph must
    be freed by reference counting alone (no cycle output -> record -> output)."""
    import gc
    import weakref

    was = gc.isenabled()
    gc.disable()
    try:
        refs = [weakref.ref(t) for t in build()]
        return [r() for r in refs]
    finally:
        if was:
            gc.enable()


def _first_order():
    x = leaf(3, 3)
    y = (x.tanh() * x).sum()
    kept = [y, y.grad_fn, x.tanh()]
    y.backward()
    return kept


def _create_graph():
    x = leaf(3, 3)
    y = (x.tanh() * x).sum()
    (g,) = tg.grad(y, x, create_graph=True)
    kept = [y, g, g.grad_fn]
    (g * g).sum().backward()
    return kept


def _create_graph_never_used():
    x = leaf(3)
    (g,) = tg.grad((x.exp() * x).sum(), x, create_graph=True)
    return [g, g.grad_fn]


def _custom_functions():
    x = leaf(3)
    y = Cube.apply(x)
    s, c = SinCos.apply(y)
    a, b = SquareAndCube.apply(s)
    kept = [y, s, c, a, b, y.grad_fn, s.grad_fn]
    (g,) = tg.grad((b + c).sum(), x, create_graph=True)
    g.sum().backward()
    return kept


def _in_place_and_hooks():
    x = leaf(3)
    y = x * 2
    y += 1
    y[0] = x[1] * 3
    y.register_hook(lambda g: g * 2)
    y.retain_grad()
    with tg.detect_anomaly():
        z = (y * y).sum()
    kept = [y, z, y.grad_fn]
    z.backward()
    return kept


@pytest.mark.parametrize("build", [_first_order, _create_graph, _create_graph_never_used,
                                   _custom_functions, _in_place_and_hooks],
                         ids=["first order", "create_graph", "create_graph, unused",
                              "Functions", "in place, hooks, anomaly"])
def test_graphs_are_freed_without_the_cycle_collector(build):
    alive = _freed_without_gc(build)
    assert alive == [None] * len(alive)


def test_the_freed_check_can_fail():
    """backward(create_graph=True) leaves x.grad holding a graph that holds x: a cycle, as
    in PyTorch (which warns about it), so the check above sees it."""
    def cycle():
        x = leaf(3)
        (x * x).sum().backward(create_graph=True)
        return [x, x.grad]

    assert _freed_without_gc(cycle) != [None, None]


def test_a_100k_op_chain_with_create_graph():
    """No recursion anywhere: first and second derivative through 100,000 ops."""
    x = Tensor(np.array(0.5), requires_grad=True)
    c, y = 1.000001, x
    for _ in range(100_000):
        y = y * c
    (g,) = tg.grad(y * y, x, create_graph=True)  # 2 c^2n x
    (h,) = tg.grad(g, x)
    assert g.item() == pytest.approx(c ** 200_000, rel=1e-10)
    assert h.item() == pytest.approx(2 * c ** 200_000, rel=1e-10)


def test_zero_d_gradients_are_arrays_not_numpy_scalars():
    x = Tensor(np.array(0.3), requires_grad=True)
    y = (x.exp() * x + x / 2).sum()
    y.backward()
    assert type(x.grad.data) is np.ndarray and x.grad.shape == ()
    (g,) = tg.grad((x * x).sum(), x, create_graph=True)
    assert type(g.data) is np.ndarray and g.shape == ()
    x.grad.data += 1  # a 0-d array can be added to in place


def test_retain_grad_on_a_tensor_that_does_not_require_grad_raises():
    # PyTorch: "can't retain_grad on Tensor that has requires_grad=False"
    with pytest.raises(GraphError, match="requires_grad=False"):
        Tensor([1.0]).retain_grad()
    x = leaf(2)
    with tg.no_grad(), pytest.raises(GraphError, match="requires_grad=False"):
        (x * 2).retain_grad()
    assert x.retain_grad() is x  # a leaf that requires grad keeps its .grad anyway: no-op
