"""PyTorch's other ways to write and inspect a custom op: ``setup_context``, ``vjp``,
``@once_differentiable``, ``ctx.mark_dirty``, ``grad_fn.next_functions``; and its other hooks: on
a grad_fn, a leaf's post-accumulate-grad hooks and a module's full backward hooks. Checked
against PyTorch where it is installed."""

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import ArgumentError, Function, GraphError, Tensor, gradcheck, gradgradcheck
from tinygrad_np.autograd import once_differentiable

X0 = np.array([0.5, -1.25, 2.0])


def _arrays(grads):
    return [None if g is None else np.array(g.detach().numpy()) for g in grads]


def leaf(values=X0):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def _torch():
    torch = pytest.importorskip("torch")
    return torch


# --- setup_context: forward without ctx --------------------------------------------------------


class ScaledSquare(Function):
    """k x^2, PyTorch 2's form: forward takes no ctx, setup_context saves."""

    @staticmethod
    def forward(x, k=2.0):
        return x * x * k

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, k = inputs
        ctx.k = k
        ctx.seen_needs = ctx.needs_input_grad
        ctx.save_for_backward(x, output)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        assert out.shape == x.shape  # the output, saved, comes back as a Tensor
        return 2 * ctx.k * x * g, None


@pytest.mark.parametrize("call", [lambda x: ScaledSquare.apply(x),
                                  lambda x: ScaledSquare.apply(x, 3.0),
                                  lambda x: ScaledSquare.apply(x, k=3.0),
                                  lambda x: ScaledSquare.apply(k=0.5, x=x)])
def test_setup_context_binds_keywords_and_defaults_into_inputs(call):
    x = leaf()
    y = call(x)
    k = y.grad_fn.k
    np.testing.assert_allclose(y.data, k * X0 ** 2)
    assert y.grad_fn.seen_needs == (True, False)
    assert gradcheck(call, leaf())
    assert gradgradcheck(call, leaf())
    (g,) = tg.grad(y.sum(), [x], create_graph=True)
    (h,) = tg.grad(g.sum(), [x])
    np.testing.assert_allclose(g.data, 2 * k * X0)
    np.testing.assert_allclose(h.data, np.full(3, 2 * k))


def test_setup_context_against_pytorch():
    torch = _torch()

    class TScaledSquare(torch.autograd.Function):
        @staticmethod
        def forward(x, k=2.0):
            return x * x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, k = inputs
            ctx.k = k
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * ctx.k * x * g, None

    x, xt = leaf(), torch.tensor(X0, requires_grad=True)
    y, yt = ScaledSquare.apply(x, k=3.0), TScaledSquare.apply(xt, k=3.0)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy())
    assert y.grad_fn.name() == yt.grad_fn.name().replace("TScaled", "Scaled")


def test_setup_context_errors():
    with pytest.raises(ArgumentError, match="ScaledSquare.apply: .*unexpected keyword"):
        ScaledSquare.apply(leaf(), scale=2.0)
    with pytest.raises(ArgumentError, match="setup_context is for PyTorch's form"):
        type("Bad", (Function,), {"array_mode": True,
                                  "setup_context": staticmethod(lambda ctx, i, o: None)})


# --- what backward gets and returns, as PyTorch ------------------------------------------------


class TaggedPair(Function):
    """("tag", 2x, 3x): a string among the outputs keeps its place in backward's arguments"""

    @staticmethod
    def forward(ctx, x):
        return "tag", x * 2, x * 3

    @staticmethod
    def backward(ctx, g_tag, g2, g3):
        assert g_tag is None
        return g2 * 2 + g3 * 3


def test_non_tensor_outputs_keep_their_place_in_backward_as_pytorch():
    torch = _torch()

    class TTaggedPair(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return "tag", x * 2, x * 3

        @staticmethod
        def backward(ctx, g_tag, g2, g3):
            assert g_tag is None
            return g2 * 2 + g3 * 3

    x, xt = leaf(), torch.tensor(X0, requires_grad=True)
    tag, a, b = TaggedPair.apply(x)
    assert tag == "tag"
    (a * b).sum().backward()
    tag, a, b = TTaggedPair.apply(xt)
    (a * b).sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy())
    assert gradgradcheck(lambda v: TaggedPair.apply(v)[1] * TaggedPair.apply(v)[2], leaf())


class Weighted(Function):
    @staticmethod
    def forward(ctx, x, k=2.0, w=None):
        ctx.save_for_backward(x, w)
        return x * k if w is None else x * w

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g * w, None, g * x


def test_keywords_take_their_places_in_a_function_with_ctx_as_pytorch():
    x, w = leaf(), leaf([1.0, 2.0, 3.0])
    y = Weighted.apply(x, 1.0, w=w)  # w binds to its position: an input, with a gradient
    assert y.grad_fn.needs_input_grad == (True, False, True)
    (y.sum() + (w * w).sum()).backward()
    np.testing.assert_allclose(w.grad.data, X0 + 2 * np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ArgumentError, match="passed as w= requires grad but does not take a "
                                            "positional place"):
        Weighted.apply(x, w=w)  # (k given no value: PyTorch refuses this too)


def test_backward_again_through_ops_that_saved_nothing_as_pytorch():
    x = leaf()
    y = (x + 1).sum()
    y.backward()
    y.backward()  # add and sum saved nothing: nothing was freed
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])
    z = (x * x).sum()
    z.backward()
    with pytest.raises(GraphError, match="freed by an earlier backward"):
        z.backward()


def test_a_gradient_for_a_non_tensor_input_raises():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, g.sum()

    with pytest.raises(GraphError, match="backward of Scale: returned a gradient for input 1, "
                                         "which is not a tensor \\(float\\)"):
        Scale.apply(leaf(), 2.0).sum().backward()


# --- vjp: backward's other name ----------------------------------------------------------------


def test_vjp_is_another_name_for_backward():
    class Triple(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 3

        @staticmethod
        def vjp(ctx, g):
            return g * 3

    x = leaf()
    Triple.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0, 3.0])
    assert Function.vjp is Function.backward
    with pytest.raises(ArgumentError, match="define backward or vjp, not both"):
        type("Both", (Function,), {"forward": staticmethod(lambda ctx, x: x),
                                   "backward": staticmethod(lambda ctx, g: g),
                                   "vjp": staticmethod(lambda ctx, g: g)})


# --- once_differentiable -----------------------------------------------------------------------


class NumpyExp(Function):
    """exp, with a backward that leaves the Tensors for NumPy (so it cannot be differentiated)."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return Tensor(g.numpy() * y.numpy())


def test_once_differentiable_first_order_is_right():
    x = leaf()
    NumpyExp.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp(X0))
    assert gradcheck(NumpyExp.apply, leaf())
    assert NumpyExp.backward.__name__ == "backward"  # functools.wraps


def test_once_differentiable_refuses_to_be_differentiated_again():
    x = leaf()
    (g,) = tg.grad(NumpyExp.apply(x).sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.data, np.exp(X0))
    assert g.requires_grad  # not a constant: a second derivative of 0 would be silently wrong
    with pytest.raises(GraphError, match="backward of NumpyExp, which is marked "
                                         "@once_differentiable"):
        g.sum().backward()
    with pytest.raises(GraphError, match="once_differentiable"):
        gradgradcheck(NumpyExp.apply, leaf())


def test_once_differentiable_as_pytorch_in_first_order():
    torch = _torch()

    class TNumpyExp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return torch.from_numpy(g.numpy() * y.numpy())

    x, xt = leaf(), torch.tensor(X0, requires_grad=True)
    (NumpyExp.apply(x * 2) * x).sum().backward()
    (TNumpyExp.apply(xt * 2) * xt).sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy())


# --- mark_dirty: a forward that changes its input in place -------------------------------------


class AddOne_(Function):
    @staticmethod
    def forward(ctx, x):
        x.add_(1)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g


class SwapScale_(Function):
    """a, b <- 2b, 3a in place: two dirty inputs, two outputs"""

    @staticmethod
    def forward(ctx, a, b):
        old_a = a.data.copy()
        a.data[...] = 2 * b.data  # a raw NumPy write: mark_dirty tells the engine
        b.data[...] = 3 * old_a
        ctx.mark_dirty(a, b)
        return a, b

    @staticmethod
    def backward(ctx, ga, gb):
        return 3 * gb, 2 * ga


def test_mark_dirty_returns_the_input_itself_and_rebases_it():
    x = leaf()
    b = x * 2
    before = b * 5  # used before the edit: its gradient goes to the old value
    out = AddOne_.apply(b)
    assert out is b and b.op == "AddOne_" and b.grad_fn.name() == "AddOne_Backward"
    np.testing.assert_allclose(b.data, 2 * X0 + 1)
    (before.sum() + (b * b).sum()).backward()
    np.testing.assert_allclose(x.grad.data, 10 + 4 * (2 * X0 + 1))


def test_mark_dirty_against_pytorch_with_two_dirty_inputs():
    torch = _torch()

    class TSwapScale_(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            old_a = a.clone()
            a.copy_(2 * b)
            b.copy_(3 * old_a)
            ctx.mark_dirty(a, b)
            return a, b

        @staticmethod
        def backward(ctx, ga, gb):
            return 3 * gb, 2 * ga

    x, xt = leaf(), torch.tensor(X0, requires_grad=True)
    w0 = np.array([1.5, 0.25, -2.0])
    w, wt = leaf(w0), torch.tensor(w0, requires_grad=True)
    for xx, ww, fn in ((x, w, SwapScale_), (xt, wt, TSwapScale_)):
        a, b = xx * 3, ww * ww  # (exp would save its output, which the edit changes)
        early = a + b  # (saves nothing: a product would need the old values)
        a2, b2 = fn.apply(a, b)
        assert a2 is a and b2 is b
        (early.sum() + (a2 * b2 * b2).sum()).backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy())
    np.testing.assert_allclose(w.grad.data, wt.grad.numpy())


def test_mark_dirty_hooks_stay_with_the_old_value_as_pytorch():
    torch = _torch()
    seen, seen_t = [], []

    class TAddOne_(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    x, xt = leaf(), torch.tensor(X0, requires_grad=True)
    for xx, fn, log in ((x, AddOne_, seen), (xt, TAddOne_, seen_t)):
        b = xx * 2
        b.register_hook(lambda g, log=log: log.append(np.array(g.detach().numpy())))
        (fn.apply(b) * 3).sum().backward()
    np.testing.assert_allclose(seen[0], seen_t[0])
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy())


def test_mark_dirty_of_a_value_an_earlier_op_saved_raises_at_backward():
    x = leaf()
    b = x * 2
    s = b.sin()  # saves b's values
    AddOne_.apply(b)
    with pytest.raises(GraphError, match="modified in place after sin saved it"):
        s.sum().backward()
    b = x * 2
    s = b.sin()
    with tg.no_grad():  # not recorded, but the write is still seen
        assert AddOne_.apply(b) is b
    assert b.op == "mul"
    with pytest.raises(GraphError, match="modified in place after sin saved it"):
        s.sum().backward()


def test_mark_dirty_refusals():
    with pytest.raises(GraphError, match="changed in place \\(mark_dirty\\) a leaf tensor that "
                                         "requires grad"):
        AddOne_.apply(leaf())

    class NotReturned(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g

    class NotAnInput(Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 1
            ctx.mark_dirty(y)
            return y

        @staticmethod
        def backward(ctx, g):
            return g

    b = leaf() * 2
    with pytest.raises(ArgumentError, match="must also be returned by forward"):
        NotReturned.apply(b)
    with pytest.raises(ArgumentError, match="not an input of forward"):
        NotAnInput.apply(b)
    with tg.no_grad():  # a leaf may be changed in place outside grad mode
        x = leaf()
        assert AddOne_.apply(x) is x
    np.testing.assert_allclose(x.data, X0 + 1)


# --- grad_fn.next_functions --------------------------------------------------------------------


def test_next_functions_walk_the_graph_as_pytorch():
    torch = _torch()
    x, xt = leaf(), torch.tensor(X0, requires_grad=True)
    c, ct = Tensor(np.ones(3)), torch.ones(3, dtype=torch.float64)  # constants: (None, 0)

    def shape_of(node):
        if node is None:
            return None
        return ("leaf", tuple(node.variable.shape)) if node.name().endswith("AccumulateGrad") \
            else [(shape_of(n), i) for n, i in node.next_functions]

    ours = ((x * c).exp() * c + x).sum().grad_fn
    theirs = ((xt * ct).exp() * ct + xt).sum().grad_fn
    assert shape_of(ours) == shape_of(theirs)
    acc = ours.next_functions[0][0].next_functions[1][0]
    assert acc.variable is x and acc.next_functions == ()
    assert ours.name() == theirs.name() == "SumBackward0"
    assert repr(ours).startswith("<SumBackward0 object at 0x")


def test_next_functions_of_an_op_used_before_an_in_place_edit():
    x = leaf()
    y = x * 2
    z = y * y  # made from y's old value
    maker = y.grad_fn
    y.mul_(3)
    assert z.grad_fn.next_functions == ((maker, 0), (maker, 0))
    assert y.grad_fn.next_functions[0][0] is maker


@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_fn_hooks_see_and_replace_gradients_as_pytorch(create_graph):
    torch = _torch()
    logs = []
    w0 = np.array([1.5, 2.0, -0.5])
    for make, grad in ((leaf, tg.grad),
                       (lambda v=X0: torch.tensor(v, requires_grad=True), torch.autograd.grad)):
        x, w, log = make(), make(w0), []
        y = x * w
        y.grad_fn.register_prehook(
            lambda go, log=log: (log.append(("pre", _arrays(go))), (go[0] * 2,))[1])
        handle = y.grad_fn.register_hook(
            lambda gi, go, log=log: (log.append(("post", _arrays(gi), _arrays(go))),
                                     (gi[0], gi[1] * 10))[1])
        loss = y.exp().sum()
        if create_graph:
            gx, gw = grad(loss, [x, w], create_graph=True)
            (gx * gw).sum().backward()
        else:
            loss.backward()
        log.append(("grads", _arrays([x.grad, w.grad])))
        handle.remove()
        (x * w).sum().backward()  # (a new node: its hooks are its own)
        logs.append(log)
    for a, b in zip(*logs):
        assert a[0] == b[0]
        for ours_g, theirs_g in zip(a[1:], b[1:]):
            for u, v in zip(ours_g, theirs_g):
                np.testing.assert_allclose(u, v)


def test_grad_fn_hook_returning_the_wrong_count_raises():
    x = leaf()
    y = x * 2
    y.grad_fn.register_hook(lambda gi, go: (gi[0], gi[0]))
    with pytest.raises(GraphError, match="MulBackward0.register_hook: a hook must return None "
                                         "or a tuple of 1 gradient"):
        y.sum().backward()
    with pytest.raises(ArgumentError, match="must be callable"):
        y.grad_fn.register_prehook(None)


# --- post-accumulate-grad hooks ----------------------------------------------------------------


def test_post_accumulate_grad_hook_sees_every_grad_written():
    x, w = leaf(), leaf([1.0, 2.0, 3.0])
    seen = []
    handle = x.register_post_accumulate_grad_hook(
        lambda t: seen.append((t is x, t.grad.data.copy(), w.grad.data.copy())))
    (x * w).sum().backward()
    assert len(seen) == 1 and seen[0][0]
    np.testing.assert_array_equal(seen[0][1], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(seen[0][2], X0)  # the whole backward's grads are in
    tg.grad((x * w).sum(), [x])  # grad() accumulates nothing: no call
    assert len(seen) == 1
    handle.remove()
    (x * w).sum().backward()
    assert len(seen) == 1


def test_post_accumulate_grad_hook_updates_in_backward_as_pytorch_docs():
    torch = _torch()
    lr = 0.1
    x, xt = leaf(), torch.tensor(X0, requires_grad=True)

    def step(p, lib):
        with lib.no_grad():
            p -= lr * p.grad
        p.grad = None

    x.register_post_accumulate_grad_hook(lambda p: step(p, tg))
    xt.register_post_accumulate_grad_hook(lambda p: step(p, torch))
    for _ in range(3):
        (x * x * x).sum().backward()
        (xt * xt * xt).sum().backward()
    np.testing.assert_allclose(x.data, xt.detach().numpy())
    assert x.grad is None and xt.grad is None


def test_post_accumulate_grad_hook_refusals():
    with pytest.raises(GraphError, match="only a leaf tensor"):
        (leaf() * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(GraphError, match="does not require grad"):
        Tensor(X0).register_post_accumulate_grad_hook(print)
    with pytest.raises(ArgumentError, match="must be callable"):
        leaf().register_post_accumulate_grad_hook(3)


def test_post_accumulate_hooks_run_without_recording_and_must_return_none():
    x, seen = leaf(), []

    def step(p):  # PyTorch's optimizer-in-backward: an in-place update of the leaf
        seen.append(tg.is_grad_enabled())
        p.sub_(0.5 * p.grad)

    x.register_post_accumulate_grad_hook(step)
    (x * 2).sum().backward()
    assert seen == [False]
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])
    np.testing.assert_allclose(x.data, X0 - 1)
    y = leaf()
    y.register_post_accumulate_grad_hook(lambda t: 0)
    with pytest.raises(GraphError, match="it should return None"):
        (y * 2).sum().backward()


def test_tensor_hooks_run_in_the_backward_grad_mode_and_keep_the_dtype():
    x, modes = leaf(), []
    x.register_hook(lambda g: modes.append((tg.is_grad_enabled(), (g * x).requires_grad)))
    (x * 2).sum().backward()
    tg.grad((x * 2).sum(), [x], create_graph=True)
    assert modes == [(False, False), (True, True)]
    for bad, words in ((lambda g: g.float(), "returned a gradient of shape \\(3,\\) and dtype "
                                             "float32 for one of shape \\(3,\\) and dtype float64"),
                       (lambda g: 5.0, "returned float; return None or a Tensor")):
        y = leaf()
        y.register_hook(bad)
        with pytest.raises(GraphError, match=words):
            (y * 2).sum().backward()
        assert y.grad is None
    z = leaf()
    z.register_hook(lambda g: np.ones(3))  # an array is a gradient too, in both modes
    (g,) = tg.grad((z * 2).sum(), [z], create_graph=True)
    assert isinstance(g, Tensor)
    np.testing.assert_array_equal(g.data, np.ones(3))


# --- a module's full backward hooks ------------------------------------------------------------


def _linear_pair(torch):
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(3, 4)), rng.normal(size=4)
    ours = tg.nn.Linear(3, 4, dtype=np.float64)
    ours.weight.data[...], ours.bias.data[...] = W, b
    theirs = torch.nn.Linear(3, 4, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(W.T))
        theirs.bias.copy_(torch.tensor(b))
    return ours, theirs, rng.normal(size=(5, 3))


@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_full_backward_hooks_see_and_replace_gradients_as_pytorch(input_requires_grad):
    torch = _torch()
    ours, theirs, X = _linear_pair(torch)
    logs = []
    for m, make in ((ours, Tensor), (theirs, torch.tensor)):
        log = []
        m.register_full_backward_pre_hook(
            lambda mod, go, log=log: (log.append(("pre", _arrays(go))), (go[0] * 2,))[1])
        m.register_full_backward_hook(
            lambda mod, gi, go, log=log: (log.append(("full", _arrays(gi), _arrays(go))),
                                          None if gi[0] is None else (gi[0] * 3,))[1])
        x = make(X, requires_grad=input_requires_grad)
        with pytest.warns(UserWarning) if not input_requires_grad else _no_warning():
            (m(x) ** 2).sum().backward()
        log.append(("grads", _arrays([x.grad, m.weight.grad if m is ours else m.weight.grad.T])))
        logs.append(log)
    for a, b in zip(*logs):
        assert a[0] == b[0]
        for ours_g, theirs_g in zip(a[1:], b[1:]):
            assert len(ours_g) == len(theirs_g)
            for u, v in zip(ours_g, theirs_g):
                assert (u is None) == (v is None)
                if u is not None:
                    np.testing.assert_allclose(u, v)


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class TwoOut(tg.nn.Module):
    def forward(self, x, k):
        return x * k, "a label", x.sum()


def test_full_backward_hooks_with_several_outputs_and_non_tensor_inputs():
    m, seen = TwoOut(), []
    m.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", go)))
    handle = m.register_full_backward_hook(lambda mod, gi, go: seen.append(("full", gi, go)))
    x = leaf()
    y, label, s = m(x, 3.0)
    assert label == "a label"
    (y.sum() + 2 * s).backward()
    (_, go), (_, gi, go2) = seen
    assert go is go2 and go[1] is None and len(gi) == 2 and gi[1] is None
    np.testing.assert_array_equal(go[0].numpy(), np.ones(3))
    np.testing.assert_array_equal(go[2].numpy(), 2.0)
    np.testing.assert_array_equal(gi[0].numpy(), np.full(3, 5.0))
    np.testing.assert_array_equal(x.grad.data, np.full(3, 5.0))
    handle.remove()
    m(x, 3.0)[0].sum().backward()
    assert [s[0] for s in seen] == ["pre", "full", "pre"]


def test_full_backward_hooks_keep_higher_order_gradients():
    m = tg.nn.Tanh()
    m.register_full_backward_hook(lambda mod, gi, go: None)
    m.register_full_backward_pre_hook(lambda mod, go: None)
    assert gradgradcheck(m, leaf())


def test_a_full_backward_hook_returning_the_wrong_count_raises():
    m = tg.nn.Tanh()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(ArgumentError, match="Tanh: a full backward hook must return None or a "
                                            "tuple of 1 gradient"):
        m(leaf()).sum().backward()


def test_full_backward_hook_runs_once_in_a_double_backward_as_pytorch():
    torch = _torch()
    results = []
    for lib, make, grad in ((tg.nn, leaf, tg.grad),
                            (torch.nn, lambda: torch.tensor(X0, requires_grad=True),
                             torch.autograd.grad)):
        m, calls = lib.Tanh(), []
        m.register_full_backward_hook(lambda mod, gi, go, calls=calls: (calls.append(1),
                                                                        (gi[0] * 2,))[1])
        x = make()
        (g,) = grad(m(x).sum(), [x], create_graph=True)
        (h,) = grad(g.sum(), [x])
        results.append((len(calls), np.array(g.detach().numpy()), np.array(h.detach().numpy())))
    assert results[0][0] == results[1][0] == 1
    np.testing.assert_allclose(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][2], results[1][2])


def test_full_backward_hooks_are_those_of_the_forward_call():
    m, seen = tg.nn.Tanh(), []
    handle = m.register_full_backward_hook(lambda mod, gi, go: [gi[0] * 10])  # a list will do
    x = leaf()
    y = m(x)
    handle.remove()  # after forward: this call's backward still runs it, as PyTorch's
    m.register_full_backward_hook(lambda mod, gi, go: seen.append("added after"))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 10 * (1 - np.tanh(X0) ** 2))
    assert seen == []
    m(x).sum().backward()
    assert seen == ["added after"]


def test_a_full_backward_hook_with_no_input_requiring_grad():
    m = tg.nn.Linear(3, 2, dtype=np.float64)
    m.register_full_backward_hook(lambda mod, gi, go: (Tensor(np.ones((4, 3))),))
    with pytest.warns(UserWarning, match="outputs only, since no input requires grad"), \
            pytest.raises(ArgumentError, match="no input requires grad must return None"):
        m(Tensor(np.ones((4, 3)))).sum().backward()


def test_always_call_hooks_run_when_a_pre_hook_or_another_hook_raises():
    m, seen = tg.nn.Identity(), []
    m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    pre = m.register_forward_pre_hook(lambda mod, args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        m(leaf())
    assert seen == [None]
    pre.remove()
    seen.clear()
    m.register_forward_hook(lambda mod, args, out: 1 / 0, prepend=True)
    with pytest.raises(ZeroDivisionError):
        m(leaf())
    assert len(seen) == 1 and isinstance(seen[0], Tensor)  # the output of forward


@pytest.mark.filterwarnings("ignore:.*a full backward hook is called")
def test_jit_refuses_a_module_with_backward_hooks():
    m = tg.nn.Linear(3, 2, dtype=np.float64)
    m.register_full_backward_hook(lambda mod, gi, go: None)
    step = tg.jit(lambda x: m(x).sum().backward())
    with pytest.raises(tg.JitError, match="hooks"):
        step(Tensor(np.ones((4, 3))))


# --- combinations: the tools, the jit, copies and memory ---------------------------------------


def test_mark_dirty_and_non_differentiable_make_a_constant_as_pytorch():
    torch = _torch()

    def clip_(lib_fn):
        class Clip_(lib_fn):
            @staticmethod
            def forward(ctx, x):
                x.clamp_(-1.0, 1.0)
                ctx.mark_dirty(x)
                ctx.mark_non_differentiable(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g

        return Clip_

    grads = []
    for fn, make in ((clip_(Function), leaf),
                     (clip_(torch.autograd.Function),
                      lambda: torch.tensor(X0, requires_grad=True))):
        x = make()
        h = x * 1
        out = fn.apply(h)
        assert not out.requires_grad
        (x * out).sum().backward()
        grads.append(np.array(x.grad.numpy()))
    np.testing.assert_allclose(grads[0], grads[1])


def test_grad_fn_hooks_see_gradients_of_the_inputs_shapes_and_cannot_change_them():
    x, b = Tensor(np.ones((4, 3)), requires_grad=True), leaf([1.0, 2.0, 3.0])
    y = x * b
    shapes = []
    y.grad_fn.register_hook(lambda gi, go: (shapes.append([g.shape for g in gi]),
                                            (gi[0], gi[1] ** 2))[1])
    y.sum().backward()
    assert shapes == [[(4, 3), (3,)]]
    np.testing.assert_array_equal(b.grad.data, [16.0, 16.0, 16.0])
    for bad, words in ((lambda go: (Tensor(np.ones((2, 3))),), "gradient of shape \\(2, 3\\) "
                        "and dtype float64 for one of shape \\(3,\\)"),
                       (lambda go: (5.0,), "returned float")):
        z = leaf() * 2
        z.grad_fn.register_prehook(bad)
        with pytest.raises(GraphError, match=words):
            z.sum().backward()


def test_grad_fn_hooks_keep_their_tensors_and_may_take_a_gradient_away():
    x, kept = leaf(), []
    for _ in range(3):
        y = x * 1
        y.grad_fn.register_hook(lambda gi, go: kept.append(gi[0]) or (gi[0] * 1,))
        y.sum().backward()
    assert [k.tolist() for k in kept] == [[1.0, 1.0, 1.0]] * 3  # never a .grad added into
    w = leaf()
    y = w * 2
    y.grad_fn.register_prehook(lambda go: (None,))  # nothing reaches mul: its backward is skipped
    (y + w).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [1.0, 1.0, 1.0])


def test_tensor_hooks_accept_numpy_scalars_and_refuse_what_is_not_callable():
    x = Tensor(np.array(2.0), requires_grad=True)
    x.register_hook(lambda g: g.numpy() * 3)  # NumPy arithmetic on a 0-d array: a np.float64
    (x * x).backward()
    assert x.grad.item() == 12.0
    with pytest.raises(ArgumentError, match="register_hook: the hook must be callable"):
        leaf().register_hook(None)


def test_a_submodule_whose_name_starts_like_a_hook_dict_is_a_member():
    class Net(tg.nn.Module):
        def __init__(self):
            self._backward_proj = tg.nn.Linear(2, 2)
            self._forward_proj = tg.nn.Linear(2, 2)

        def forward(self, x):
            return self._forward_proj(self._backward_proj(x))

    assert len(Net().parameters()) == 4


@pytest.mark.parametrize("case", ["pre-hook only", "grad of a weight"])
def test_module_backward_hooks_do_not_keep_a_create_graph_backward_alive(case):
    import gc
    import weakref

    gc.disable()
    try:
        m = tg.nn.Linear(3, 3, dtype=np.float64)
        m.register_full_backward_pre_hook(lambda mod, go: None)
        if case == "grad of a weight":
            m.register_full_backward_hook(lambda mod, gi, go: None)
        x = Tensor(np.ones((2, 3)), requires_grad=True)
        z = (m(x) ** 2).sum()
        if case == "pre-hook only":
            z.backward(create_graph=True)
            probe = weakref.ref(x.grad)
        else:
            (g,) = tg.grad(z, [m.weight], create_graph=True)
            probe = weakref.ref(g)
        del z
        x.grad = m.weight.grad = None
        if case == "grad of a weight":
            del g
        assert probe() is None
    finally:
        gc.enable()


def test_mark_dirty_leaves_no_reference_cycle():
    import gc
    import weakref

    gc.disable()
    try:
        b = leaf() * 2
        out = AddOne_.apply(b)
        probe = weakref.ref(out.grad_fn)
        del b, out
        assert probe() is None
    finally:
        gc.enable()


def test_once_differentiable_on_an_array_mode_backward():
    class ArrayExp(Function):
        array_mode = True

        @staticmethod
        def forward(ctx, x):
            y = np.exp(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    x = leaf()
    ArrayExp.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp(X0))


def test_check_op_and_check_graph_with_the_new_forms():
    report = tg.autograd.check_op(NumpyExp, leaf())
    assert report.second_order.startswith("skipped: the backward is marked @once_differentiable")
    tg.autograd.check_op(AddOne_, leaf())  # (given clones: a leaf can be edited in place)
    m = tg.nn.Tanh()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 3,))
    report = tg.autograd.check_graph(m(leaf()).sum())
    assert any("runs a module's backward hooks" in s for s in report.skipped)


def test_drawing_runs_no_hook():
    from tinygrad_np import viz

    calls = []
    m = tg.nn.Linear(3, 2, dtype=np.float64)
    m.register_full_backward_hook(lambda mod, gi, go: calls.append("module"))
    m.register_full_backward_pre_hook(lambda mod, go: calls.append("module pre"))
    x = leaf()
    y = m(x) * 2
    y.grad_fn.register_hook(lambda gi, go: calls.append("node"))
    viz.gradient_flow(y.sum())
    assert calls == []
    y.sum().backward()
    assert sorted(calls) == ["module", "module pre", "node"]


def test_jit_sees_module_hooks_added_after_tracing_or_on_modules_without_ops():
    m = tg.nn.Linear(3, 2, dtype=np.float64)
    ident = tg.nn.Identity()
    m.register_full_backward_hook(lambda mod, gi, go: None).remove()  # an empty hook dict
    opt = tg.optim.SGD(m.parameters(), lr=0.1)

    def train(x):
        opt.zero_grad()
        m(ident(x)).sum().backward()
        opt.step()

    step = tg.jit(train)
    for _ in range(3):
        step(Tensor(np.ones((4, 3))))
    m.register_full_backward_hook(lambda mod, gi, go: None)
    with pytest.warns(UserWarning, match="no input requires grad"), \
            pytest.raises(tg.JitError, match="hooks"):
        step(Tensor(np.ones((4, 3))))
    step2 = tg.jit(lambda x: m(ident(x)))
    ident.register_forward_hook(lambda mod, args, out: out * 10)
    with pytest.raises(tg.JitError, match="Identity has forward or backward hooks"):
        step2(Tensor(np.ones((4, 3))))


def test_deepcopy_leaves_the_hooks_behind_as_pytorch():
    import copy

    x, seen = leaf(), []
    x.register_hook(lambda g: seen.append("hook"))
    twin = copy.deepcopy(x)
    (twin * 2).sum().backward()
    assert seen == [] and twin.grad is not None and twin.requires_grad
    np.testing.assert_array_equal(twin.data, x.data)
    assert twin.data is not x.data


def test_set_detect_anomaly_takes_pytorchs_check_nan():
    with tg.autograd.set_detect_anomaly(True, check_nan=True):
        assert tg.autograd.is_anomaly_enabled()
    with pytest.raises(ArgumentError, match="check_nan=False is not supported"):
        tg.autograd.detect_anomaly(check_nan=False)


def test_a_buffer_edited_by_a_dirty_non_differentiable_op_stays_a_plain_tensor():
    class Count_(Function):
        @staticmethod
        def forward(ctx, n, x):
            n.add_(1)
            ctx.mark_dirty(n)
            ctx.mark_non_differentiable(n)
            return n, x * 2

        @staticmethod
        def backward(ctx, gn, gx):
            return None, gx * 2

    class Counted(tg.nn.Module):
        def __init__(self):
            self.lin = tg.nn.Linear(3, 1, dtype=np.float64)
            self.register_buffer("calls", Tensor(np.zeros(1, dtype=np.int64)))

        def forward(self, x):
            _, y = Count_.apply(self.calls, x)
            return self.lin(y)

    m = Counted()
    for _ in range(3):
        m(leaf()).sum().backward()
    assert m.calls.is_leaf and m.calls.grad_fn is None and m.calls.tolist() == [3]
    assert "calls" in m.state_dict()


def test_a_backward_that_raises_keeps_nothing_for_module_hooks():
    from tinygrad_np._modes import state

    m = tg.nn.Linear(3, 3, dtype=np.float64)
    m.register_full_backward_hook(lambda mod, gi, go: None)

    class Fails(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            raise ValueError("backward failed")

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError):
        Fails.apply(m(x)).sum().backward(create_graph=True)
    assert state.pending == []


def test_jit_replays_when_a_hook_is_registered_on_an_unrelated_module():
    m, other = tg.nn.Linear(3, 2, dtype=np.float64), tg.nn.Linear(3, 2, dtype=np.float64)
    calls = []
    step = tg.jit(lambda x: (calls.append(1), m(x).sum())[1])
    for _ in range(4):
        step(Tensor(np.ones((4, 3))))
        other.register_forward_hook(lambda mod, args, out: None).remove()
    assert len(calls) <= 2  # traced once (or twice), then replayed without running the Python


def test_deepcopy_keeps_a_subclass_own_slots():
    import copy

    class Tagged(Tensor):
        __slots__ = ("tag",)

    t = Tagged(np.ones(2))
    t.tag = "hello"
    assert copy.deepcopy(t).tag == "hello"
