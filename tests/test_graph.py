"""Graph semantics: backward's contract, accumulation, freeing, no_grad, deep graphs."""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import GraphError, Tensor, no_grad

NUMPY_INF_WARNINGS = ("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")


def test_backward_needs_a_scalar_or_an_explicit_gradient():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    with pytest.raises(GraphError, match=r"mul has shape \(2, 3\).*scalar"):
        y.backward()
    y.backward(np.full((2, 3), 0.5))
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))
    with pytest.raises(GraphError, match=r"gradient has shape \(3,\).*\(2, 3\)"):
        (x * 2).backward(np.ones(3))


def test_gradients_accumulate_across_backward_calls():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3 + 2, 3 + 4])
    x.zero_grad()
    assert x.grad is None


def test_only_leaves_get_grad_unless_retained():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    h = (x * 2).retain_grad()
    mid = h.relu()
    mid.sum().backward()
    with pytest.warns(UserWarning, match=r"not a leaf \(the output of relu.*retain_grad"):
        assert mid.grad is None  # as PyTorch: None, with a warning
    np.testing.assert_array_equal(h.grad, [1, 0])
    np.testing.assert_array_equal(x.grad, [2, 0])


def test_backward_twice_through_freed_graph_raises_and_retain_graph_keeps_it():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x.tanh() * 2).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * 2 * (1 - np.tanh(x.data) ** 2))
    with pytest.raises(GraphError, match="freed by an earlier backward.*retain_graph=True"):
        loss.backward()


def test_freed_graph_keeps_its_structure_for_drawing():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x.exp() + 1).sum()
    loss.backward()
    ops = [t.op for t in tg.toposort(loss, include_constants=True)]
    assert ops == [None, "exp", "add", "sum"]  # the 1 is a number in add's record, not a node
    assert all(t.grad_fn.saved_tensors == () for t in tg.toposort(loss)[1:])
    # only exp saved something (its output): add and sum could run again, as in PyTorch
    assert [t.grad_fn.freed for t in tg.toposort(loss)[1:]] == [True, False, False]


def test_backward_on_tensor_that_needs_no_grad_says_why():
    with pytest.raises(GraphError, match="does not require grad"):
        Tensor([1.0, 2.0]).sum().backward()


def test_no_grad_records_nothing_as_context_and_decorator():
    w = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        y = (w * 2).sum()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert tg.is_grad_enabled()

    @no_grad()
    def evaluate(w):
        assert not tg.is_grad_enabled()
        return w.exp()

    assert not evaluate(w).requires_grad
    assert (w * 2).requires_grad


def test_constants_record_no_graph():
    y = Tensor(np.ones(3)) * 2 + 1
    assert not y.requires_grad and y.grad_fn is None


def test_a_100000_op_chain_backpropagates_without_recursion():
    x = Tensor(np.array(1.5), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0)


def test_toposort_orders_parents_first_and_visits_each_node_once():
    a = Tensor(np.array(2.0), requires_grad=True)
    b = a * a
    c = b + a
    d = c * b
    order = tg.toposort(d)
    assert len(order) == len({id(t) for t in order}) == 4
    pos = {id(t): i for i, t in enumerate(order)}
    for t in order:
        assert all(pos[id(p)] < pos[id(t)] for p in (t.grad_fn.parents if t.grad_fn else ()))


def test_backward_runs_each_op_once_after_every_op_that_used_its_output():
    calls = []

    class Tap(tg.autograd.Function):  # the identity, noting when its backward runs
        @staticmethod
        def forward(ctx, x, name):
            ctx.name = name
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            calls.append(ctx.name)
            return g, None

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    a = Tap.apply(x, "a")
    b = Tap.apply(a * 3, "b")  # a is used by b's input, by c, and by the final sum
    c = Tap.apply(a, "c")
    seen = []
    a.register_hook(lambda g: seen.append(g.numpy().copy()))
    (b * c + a).sum().backward()
    assert sorted(calls[:2]) == ["b", "c"] and calls[2:] == ["a"]  # a's after both users
    # d/dx of 3x * x + x = 6x + 1, and a's hook saw that complete gradient once
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy() + 1)
    assert len(seen) == 1 and np.allclose(seen[0], 6 * x.numpy() + 1)


def test_two_tensors_sharing_one_record_both_pass_their_gradients():
    import copy

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2
    y2 = copy.copy(y)  # another tensor object with y's record
    (y * y2 * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 24 * x.numpy())


@pytest.mark.parametrize("dtype, big", [(np.float16, 300.0), (np.float32, 1e20),
                                         (np.float32, 1e-25)])
def test_the_divisors_gradient_does_not_overflow_where_the_quotient_does_not(dtype, big):
    """d(a / b)/db = -(a / b) / b, as PyTorch computes it: a / b^2 overflows (300^2 in
    float16, 1e40 in float32) or underflows where the answer is an ordinary number."""
    a = Tensor(np.array([big], dtype), requires_grad=True)
    b = Tensor(np.array([big], dtype), requires_grad=True)
    (a / b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [-1.0 / big], rtol=1e-3)


def test_graph_is_released_after_backward_without_gc_collect():
    gc.disable()
    try:
        w = Tensor(np.random.randn(4, 3), requires_grad=True)
        x = Tensor(np.random.randn(5, 4))
        h = (x @ w).tanh()
        loss = h.cross_entropy(np.array([0, 1, 2, 0, 1]))
        refs = [weakref.ref(t) for t in tg.toposort(loss, include_constants=True)
                if t is not w and t is not x]
        loss.backward()
        del h, loss
        assert all(r() is None for r in refs), "an intermediate tensor is still alive"
        assert w.grad is not None
    finally:
        gc.enable()


def test_backward_frees_saved_arrays_but_user_reference_keeps_structure():
    x = Tensor(np.random.randn(3), requires_grad=True)
    h = x.exp()
    loss = h.sum()
    loss.backward()
    assert h.grad_fn.freed and h.grad_fn.saved_tensors == ()
    assert not loss.grad_fn.freed  # sum saved nothing: it has nothing to free
    assert loss.grad_fn.parents == (h,)


@pytest.mark.filterwarnings(*NUMPY_INF_WARNINGS)  # NumPy warns of the very inf the test makes
def test_anomaly_mode_names_op_and_line():
    x = Tensor(np.array([1.0, 0.0]), requires_grad=True)
    with pytest.raises(tg.AnomalyError, match=r"log produced 1 Inf.*test_graph.py"):
        with tg.detect_anomaly():
            x.log()
    # outside the mode the same op is allowed
    assert np.isinf(x.log().data).any()


def test_anomaly_mode_points_past_library_code_at_the_users_line():
    z = Tensor(np.array([np.nan]), requires_grad=True)
    with pytest.raises(tg.AnomalyError) as info, tg.detect_anomaly():
        tg.nn.binary_cross_entropy_with_logits(z, np.array([1.0]))  # made in tinygrad_np/nn
    assert "created at" in str(info.value) and "test_graph.py" in str(info.value)
    assert "losses.py" not in str(info.value)
    with tg.detect_anomaly():
        y = tg.nn.Linear(2, 2)(Tensor(np.ones((1, 2), np.float32)))
    assert "test_graph.py" in y.grad_fn.trace and "layers.py" not in y.grad_fn.trace


@pytest.mark.filterwarnings(*NUMPY_INF_WARNINGS)  # NumPy warns of the very inf the test makes
def test_anomaly_mode_checks_gradients():
    x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    with tg.detect_anomaly():
        y = (x.sqrt() * 0 + 1).sum()  # forward finite; d sqrt/dx at 0 is inf
        with pytest.raises(tg.AnomalyError, match=r"backward of sqrt.*created at .*test_graph.py"):
            y.backward()
