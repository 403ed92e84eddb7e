"""First and second derivatives of every op in tests/op_table.py against central differences
(float64), and third derivatives of a few against central differences of the second.

gradcheck compares autodiff's gradient with central differences of the function;
gradgradcheck compares the gradient of the gradient (``create_graph=True``) with central
differences of the gradient, with respect to the inputs and to the incoming gradient.
"""

import numpy as np
import pytest
from op_table import CASES, ours

import tinygrad_np as tg
from tinygrad_np import Tensor, gradcheck, gradgradcheck


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_first_derivative(case):
    fn, args = ours(case)
    assert gradcheck(fn, *args, **case.tol)


@pytest.mark.parametrize("case", [c for c in CASES if c.second],
                         ids=[c.name for c in CASES if c.second])
def test_second_derivative(case):
    fn, args = ours(case)
    assert gradgradcheck(fn, *args, **case.tol)


def test_the_table_covers_every_primitive():
    """Each primitive of ops.py appears in a case (directly or through its public wrapper), so a
    new primitive without a row fails here."""
    from tinygrad_np import ops
    from tinygrad_np.autograd.function import Function

    primitives = {name for name, v in vars(ops).items()
                  if isinstance(v, type) and issubclass(v, Function) and v is not Function}
    seen = set()

    def record(fn):
        def wrapper(ctx, *a, **k):
            seen.add(ctx.fn.__name__)
            return fn(ctx, *a, **k)
        return staticmethod(wrapper)

    originals = {}
    for name in primitives:
        cls = getattr(ops, name)
        originals[name] = (cls.__dict__.get("forward"), cls.__dict__.get("fast_forward"))
        cls.forward = record(cls.forward)
        if cls.fast_forward is not None:
            cls.fast_forward = record(cls.fast_forward)
    try:
        for case in CASES:
            fn, args = ours(case)
            out = fn(*args)
            outs = [o for o in (out if isinstance(out, tuple) else (out,)) if o.requires_grad]
            if outs:  # the backward formulas of second order run the helper primitives
                gs = tg.grad(outs, [a for a in args if a.requires_grad],
                             [Tensor(np.ones(o.shape)) for o in outs], create_graph=True,
                             allow_unused=True)
                live = [g for g in gs if g is not None and g.requires_grad]
                if live:
                    tg.grad([g.sum() for g in live], [a for a in args if a.requires_grad],
                            allow_unused=True)
    finally:
        for name, (fwd, fast) in originals.items():
            cls = getattr(ops, name)
            cls.forward = fwd
            if fast is not None:
                cls.fast_forward = fast
    assert primitives - seen == set(), f"primitives with no case in op_table: {primitives - seen}"


def test_empty_inputs_give_empty_gradients_of_the_right_shape():
    for case in CASES:
        fn, args = ours(case)
        if not any(a.requires_grad and a.data.size == 0 for a in args):
            continue
        out = fn(*args)
        gs = tg.grad(out, [a for a in args if a.requires_grad],
                     Tensor(np.ones(out.shape)), create_graph=True, allow_unused=True)
        for g, a in zip(gs, [a for a in args if a.requires_grad]):
            assert g is None or g.shape == a.shape, case.name


# --- third derivatives ---------------------------------------------------------------------------


def _third(fn, x0: np.ndarray) -> np.ndarray:
    """d/dx of sum(d2/dx2 fn) through three grad() calls, elementwise for an elementwise fn."""
    x = Tensor(x0.copy(), requires_grad=True)
    (g1,) = tg.grad(fn(x).sum(), x, create_graph=True)
    (g2,) = tg.grad(g1.sum(), x, create_graph=True)
    (g3,) = tg.grad(g2.sum(), x)
    return g3.data


def _second(fn, x0: np.ndarray) -> np.ndarray:
    x = Tensor(x0.copy(), requires_grad=True)
    (g1,) = tg.grad(fn(x).sum(), x, create_graph=True)
    (g2,) = tg.grad(g1.sum(), x)
    return g2.data


THIRD = {
    "x**3": (lambda x: x**3, lambda x: np.full_like(x, 6.0)),
    "tanh": (lambda x: x.tanh(),
             lambda x: -2 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2)),
    "exp": (lambda x: x.exp(), np.exp),
    "sigmoid": (lambda x: x.sigmoid(),
                lambda x: (lambda s: s * (1 - s) * (1 - 6 * s + 6 * s * s))(1 / (1 + np.exp(-x)))),
}


@pytest.mark.parametrize("name", THIRD)
@pytest.mark.parametrize("shape", [(5,), ()], ids=["vector", "0d"])
def test_third_derivative_against_differences_of_the_second(name, shape):
    fn, exact = THIRD[name]
    x0 = np.asarray(np.random.default_rng(3).uniform(-1.5, 1.5, shape))
    eps = 1e-5
    numeric = (_second(fn, x0 + eps) - _second(fn, x0 - eps)) / (2 * eps)
    got = _third(fn, x0)
    np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got, exact(x0), rtol=1e-10, atol=1e-12)


def test_third_derivative_of_softmax():
    """softmax is not elementwise: the gradient of one entry of a Hessian-vector product,
    against central differences of that entry."""
    x0 = np.array([0.3, -1.2, 0.8, 0.1])
    w = np.array([0.5, -1.0, 2.0, 0.25])
    v = np.array([1.0, 0.5, -0.5, 2.0])

    def hvp_entry(x):  # [ v . d/dx d/dx (w . softmax(x)) ], entry 1
        (g,) = tg.grad((x.softmax(0) * w).sum(), x, create_graph=True)
        (h,) = tg.grad((g * v).sum(), x, create_graph=True)
        return h[1]

    x = Tensor(x0.copy(), requires_grad=True)
    (t,) = tg.grad(hvp_entry(x), x)
    eps = 1e-5
    numeric = [(hvp_entry(Tensor(x0 + eps * e, requires_grad=True)).item()
                - hvp_entry(Tensor(x0 - eps * e, requires_grad=True)).item()) / (2 * eps)
               for e in np.eye(4)]
    np.testing.assert_allclose(t.data, numeric, rtol=1e-5, atol=1e-8)
    assert np.abs(t.data).max() > 1e-2  # not trivially zero


def test_third_derivative_of_prod_at_a_zero():
    """prod's zero handling stays exact to third order: d3 prod(x) / dx0 dx1 dx2 = x3."""
    x = Tensor(np.array([0.0, 2.0, 3.0, 5.0]), requires_grad=True)
    (g,) = tg.grad(x.prod(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, [30, 0, 0, 0])
    (h,) = tg.grad(g[1], x, create_graph=True)
    np.testing.assert_array_equal(h.data, [15, 0, 0, 0])  # d2/dx1 dx_j: x2 x3 at j = 0
    (t,) = tg.grad(h[2], x)
    np.testing.assert_array_equal(t.data, [5, 0, 0, 0])


def test_zero_d_second_derivative_goes_through_the_saved_output():
    """A 0-d op that saves its output (exp) once saved NumPy's scalar, a constant to the
    create_graph backward: d2 exp(x)/dx2 came out 0."""
    x = Tensor(np.array(0.7), requires_grad=True)
    (g,) = tg.grad(x.exp(), x, create_graph=True)
    (h,) = tg.grad(g, x)
    assert h.item() == pytest.approx(np.exp(0.7), rel=1e-12)
    y = Tensor(np.arange(1.0, 5.0), requires_grad=True)
    (g,) = tg.grad(y.std(), y, create_graph=True)  # std() of everything is 0-d
    assert gradgradcheck(lambda y: y.std(), y)
    assert gradgradcheck(lambda y: y.norm(), y)
    assert g.requires_grad


def _other_layout(t: Tensor) -> Tensor:
    """The same values in another memory layout: Fortran order, or every other element."""
    d = t.data
    if d.ndim >= 2:
        arr = np.asfortranarray(d)
    elif d.ndim == 1 and d.size > 1:
        buf = np.zeros(2 * d.size)
        buf[::2] = d
        arr = buf[::2]
    else:
        return t
    return Tensor(arr, requires_grad=True)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_non_contiguous_inputs_give_the_same_values_and_gradients(case):
    fn, args = ours(case)
    others = [_other_layout(a) if a.requires_grad else a for a in args]
    out, out2 = fn(*args), fn(*others)
    outs = list(out) if isinstance(out, tuple) else [out]
    outs2 = list(out2) if isinstance(out2, tuple) else [out2]
    for a, b in zip(outs, outs2):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-12)
    r = [Tensor(np.random.default_rng(0).standard_normal(o.shape)) for o in outs]
    diff = [i for i, a in enumerate(args) if a.requires_grad]
    g1 = tg.grad(outs, [args[i] for i in diff], r, allow_unused=True)
    g2 = tg.grad(outs2, [others[i] for i in diff], r, allow_unused=True)
    for a, b, i in zip(g1, g2, diff):
        if a is None:
            assert b is None
            continue
        assert b.shape == args[i].shape
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-12)


@pytest.mark.needs_torch
@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")  # torch's cycle note
def test_grad_accumulation_after_create_graph_follows_torch():
    """PyTorch's AccumulateGrad: in grad mode (create_graph=True) .grad gets a new tensor; else
    the sum goes into the existing .grad in place, even one that has a graph"""
    torch = pytest.importorskip("torch")
    for first, second in [(True, False), (False, True), (True, True), (False, False)]:
        ours, theirs = Tensor(np.array([1.0, 2.0]), requires_grad=True), torch.tensor(
            [1.0, 2.0], dtype=torch.float64, requires_grad=True)
        kept = []
        for x in (ours, theirs):
            (x ** 3).sum().backward(create_graph=first)
            kept.append(x.grad)
            (x ** 3).sum().backward(create_graph=second)
        assert (ours.grad is kept[0]) == (theirs.grad is kept[1]), (first, second)
        np.testing.assert_allclose(kept[0].data, kept[1].detach().numpy())
        np.testing.assert_allclose(ours.grad.data, theirs.grad.detach().numpy())
        assert ours.grad.requires_grad == theirs.grad.requires_grad, (first, second)


def test_create_graph_grads_do_not_share_an_array():
    # x + y passes one gradient to both; adding into x.grad in place must leave y.grad alone
    x, y = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    (x + y).sum().backward(create_graph=True)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])
    np.testing.assert_array_equal(y.grad.data, [1.0, 1.0])


@pytest.mark.needs_torch
@pytest.mark.parametrize("name", ["relu", "abs", "relu times x", "leaky_relu"])
def test_the_gradient_of_a_piecewise_linear_op_can_be_differentiated_again(name):
    # as in PyTorch: relu's gradient (a mask of x) requires grad, and its own gradient is 0;
    # grad(g.sum(), x) raised "output 0 does not require grad"
    import torch

    f = {"relu": lambda L, x: x.relu().sum(), "abs": lambda L, x: x.abs().sum(),
         "relu times x": lambda L, x: (x.relu() * x).sum(),
         "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x, 0.1).sum()}[name]
    a = np.array([-1.0, 0.5, 2.0])
    x, t = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (g,) = tg.grad(f(tg, x), x, create_graph=True)
    (tgt,) = torch.autograd.grad(f(torch, t), t, create_graph=True)
    assert g.requires_grad and tgt.requires_grad
    (h,) = tg.grad(g.sum(), x)
    (th,) = torch.autograd.grad(tgt.sum(), t)
    np.testing.assert_array_equal(h.numpy(), th.numpy(force=True))
    H = tg.autograd.functional.hessian(lambda z: f(tg, z), Tensor(a))
    np.testing.assert_array_equal(H.numpy(), torch.autograd.functional.hessian(
        lambda z: f(torch, z), torch.tensor(a)).numpy())
