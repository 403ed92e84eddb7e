"""In-place edits and the graph (issue 13 item 4, issue 17): every edit of an array a live graph
still needs raises GraphError naming the tensor and the op, at the edit or at backward, and
never yields a silently different gradient; in-place ops that can be recorded are, and
gradchecked; arrays are free again once the graph is freed or dropped.

The guard's cost is measured by ``python -m benchmarks.guard_cost`` (no timing here)."""

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import GraphError, Tensor, gradcheck, gradgradcheck, nn, optim

rng = np.random.default_rng(17)


def leaf(*shape, name=None):
    return Tensor(rng.standard_normal(shape), requires_grad=True, name=name)


def raises_naming(*words):
    """pytest.raises(GraphError) whose message must hold every word."""
    class Check:
        def __enter__(self):
            self.cm = pytest.raises(GraphError)
            self.info = self.cm.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.cm.__exit__(*exc)
            message = str(self.info.value)
            missing = [w for w in words if w not in message]
            assert not missing, f"{missing} not in: {message}"
            return handled

    return Check()


# --- edits of .data between forward and backward -------------------------------------------------


def test_data_edited_in_place_after_the_forward():
    """Issue 13's example: w.data *= 10 after the forward gave x.grad [10, 20] silently."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    loss = (x * w).sum()
    w.data *= 10
    with raises_naming("backward of mul", "'w'", "modified in place"):
        loss.backward()
    assert x.grad is None and w.grad is None


def test_data_rebound_to_a_new_array_after_the_forward():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    loss = (x * w).sum()
    w.data = np.array([10.0, 20.0])
    with raises_naming("backward of mul", "'w'", "new array", "t.data = "):
        loss.backward()
    assert x.grad is None


def test_data_rebound_before_the_forward_is_fine():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w.data = np.array([3.0, 4.0])
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [6.0, 8.0])


def test_a_write_nobody_saved_is_no_error():
    """As PyTorch: only arrays an op saved for backward are guarded (add saves nothing)."""
    x, w = leaf(3), leaf(3)
    loss = (x + w).sum()
    w.data *= 10
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, np.ones(3))


def test_optimizer_step_between_two_retained_backwards():
    model = nn.MLP([3, 4, 2])
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = model(Tensor(rng.standard_normal((5, 3)).astype(np.float32))).tanh().sum()
    loss.backward(retain_graph=True)
    grads = [p.grad.data.copy() for p in model.parameters()]
    opt.step()
    with raises_naming("modified in place", "optimizer step"):
        loss.backward()
    for p, g in zip(model.parameters(), grads):  # the failed backward added nothing
        np.testing.assert_array_equal(p.grad.data, g)


def test_load_state_dict_in_the_middle_of_a_graph():
    model, other = nn.MLP([3, 4, 2]), nn.MLP([3, 4, 2])
    loss = (model(Tensor(rng.standard_normal((5, 3)).astype(np.float32))) ** 2).sum()
    model.load_state_dict(other.state_dict())
    with raises_naming("backward of", "modified in place", "load_state_dict"):
        loss.backward()


def test_after_backward_freed_the_graph_arrays_are_free_again():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()  # in place, after each backward
    np.testing.assert_allclose(w.data, np.array([1.0, 2.0]) * 0.8**3)
    loss = (w * w).sum()
    loss.backward()
    w.data *= 10  # after backward: the freed graph no longer needs w
    with pytest.raises(GraphError, match="freed"):
        loss.backward()  # (the graph is gone, whatever was written)


def test_a_dropped_graph_frees_the_arrays():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w * w).sum()
    del loss  # the user dropped the graph before backward
    w.data *= 10
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [20.0, 40.0])


def test_a_write_through_a_detached_alias_is_seen():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    alias = x.detach()  # shares memory (and its write stamp), as in PyTorch
    loss = (x * x).sum()
    alias *= 3
    with raises_naming("backward of mul", "modified in place"):
        loss.backward()


def test_detect_anomaly_catches_a_raw_write():
    """A raw NumPy write (w.data[0] = 5) bypasses the write clock; detect_anomaly checksums
    what each op saved and catches it at backward."""
    x = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    with tg.detect_anomaly():
        loss = (x * w).sum()
        w.data[0] = 5
        with raises_naming("backward of mul", "'w'", "raw write", "created at",
                           "test_inplace_guard.py"):
            loss.backward()
    assert x.grad is None


# --- in-place ops on tensors of a graph ----------------------------------------------------------


def test_in_place_edit_of_an_output_its_op_saved_raises():
    """tanh saved its output for backward: y += 1 makes the gradient wrong (PyTorch raises)."""
    x = leaf(3)
    y = x.tanh()
    y += 1
    with raises_naming("backward of tanh", "its output", "modified in place"):
        y.sum().backward()


def test_in_place_edit_of_an_output_nobody_saved_is_recorded():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = x * 2
    y += 1
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * (2 * x.data + 1) * 2)

    def f(x):
        y = x * 2
        y += 1
        return y * y

    assert gradcheck(f, leaf(2, 3))
    assert gradgradcheck(f, leaf(2, 3))


def _with(edit):
    """A function of x and v whose middle step edits a computed tensor in place."""
    def f(x, v):
        y = x * 1.5 + 0.25  # computed: the edit is recorded on it
        edit(y, v)
        return y * y * x  # uses the edited values, and x again
    return f


def _iadd(y, v):
    y += v


def _isub(y, v):
    y -= v


def _imul(y, v):
    y *= v


def _idiv(y, v):
    y /= v.abs() + 1


def _imatmul(y, v):
    y @= v.reshape(3, 1) * v.reshape(1, 3)


def _setitem(y, v):
    y[1] = v * 3


def _setitem_adv(y, v):
    y[np.array([0, 1, 0]), np.array([2, 0, 2])] = v


def _setitem_augmented(y, v):
    y[:, 1] += v[1]


IN_PLACE = {
    "+=": _iadd, "-=": _isub, "*=": _imul, "/=": _idiv, "@=": _imatmul,
    "add_": lambda y, v: y.add_(v), "add_ alpha": lambda y, v: y.add_(v, alpha=-2),
    "sub_": lambda y, v: y.sub_(v), "mul_": lambda y, v: y.mul_(v),
    "div_": lambda y, v: y.div_(v * v + 1), "pow_": lambda y, v: y.pow_(2),
    "clamp_": lambda y, v: y.clamp_(-0.4, 0.6), "copy_": lambda y, v: y.copy_(v * 2),
    "fill_ number": lambda y, v: y.fill_(0.3), "fill_ tensor": lambda y, v: y.fill_(v[2] * 2),
    "zero_": lambda y, v: y.zero_(), "x[i] = v": _setitem, "x[adv] = v": _setitem_adv,
    "x[:, i] += v": _setitem_augmented,
    "y += y": lambda y, v: y.__iadd__(y), "y *= y": lambda y, v: y.__imul__(y),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_ops_on_computed_tensors_are_gradchecked(name):
    f = _with(IN_PLACE[name])
    x = leaf(3, 3)
    x.data[np.abs(np.abs(x.data * 1.5 + 0.25) - 0.5) < 0.15] += 0.4  # clamp_: off the bounds
    x.data[np.abs(x.data * 1.5 + 0.25 + 0.4) < 0.1] += 0.3
    v = leaf(3)
    assert gradcheck(f, x, v)
    assert gradgradcheck(f, x, v)


def test_in_place_ops_match_pytorch_values():
    torch = pytest.importorskip("torch")
    for name, edit in IN_PLACE.items():
        x0, v0 = rng.standard_normal((3, 3)), rng.standard_normal(3)
        x, v = Tensor(x0.copy(), requires_grad=True), Tensor(v0.copy(), requires_grad=True)
        out = _with(edit)(x, v)
        out.sum().backward()
        tx = torch.tensor(x0.copy(), requires_grad=True)
        tv = torch.tensor(v0.copy(), requires_grad=True)
        if name == "x[adv] = v":
            continue  # a repeated advanced index: NumPy and PyTorch pick different writes
        y = tx * 1.5 + 0.25
        if name == "@=":
            y = y @ (tv.reshape(3, 1) * tv.reshape(1, 3))  # PyTorch has no @=
        elif name in ("y += y", "y *= y"):
            y = y + y if name == "y += y" else y * y  # PyTorch raises for mul_(itself)
        else:
            edit(y, tv)
        tout = y * y * tx
        tout.sum().backward()
        np.testing.assert_allclose(out.data, tout.detach().numpy(), err_msg=name)
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), err_msg=name)
        if tv.grad is not None:
            np.testing.assert_allclose(v.grad.data, tv.grad.numpy(), err_msg=name)
        else:
            assert v.grad is None or not v.grad.data.any(), name


def test_ops_that_used_a_tensor_before_its_in_place_edit_keep_the_old_value():
    """y.mul_(3) makes y stand for its result; w = y.sum() made before still means the old y
    (PyTorch: x.grad = 1; it once came out 3)."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 1
    w = y.sum()
    y.mul_(3)
    w.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])
    x.grad = None
    y = x * 2
    a = y + 1
    y.add_(1)
    b = y + 1
    y.mul_(3)
    c = y + 1
    (a + 10 * b + 100 * c).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2 + 20 + 600] * 2)


def _in_place_chain(a, b, c, in_place: bool, second_order: bool):
    """y = exp(x / w) (exp saves its output), z = y * u (mul saves y) before y *= v, whose
    record needs the old y too; the same with y * v out of place; all the gradients, or w's
    first and second order."""
    x, w, v, u = (Tensor(d.copy(), requires_grad=True) for d in (a, b, c, a[::-1]))
    y = (x / w).exp()
    z = y * u
    if in_place:
        y *= v
    else:
        y = y * v
    loss = (y + z).sum()
    if not second_order:
        loss.backward()
        return [t.grad.numpy() for t in (x, w, v, u)]
    (gw,) = tg.autograd.grad(loss, [w], create_graph=True)
    (hw,) = tg.autograd.grad((gw * gw).sum(), [w])
    return [gw.numpy(), hw.numpy()]


def test_old_values_moved_aside_by_an_in_place_op_reach_every_op_that_saved_them():
    """An in-place op whose record needs the old values copies them aside; the op that made
    them (exp saved its output) and an op that used them before the edit must get the copy,
    not the array the edit overwrote (x.grad and w.grad came out wrong, without an error).
    PyTorch refuses z's part (mul saved y); the edit must give what y * v out of place gives."""
    a, b, c = np.array([0.5, -1.0, 2.0]), np.array([1.5, 2.0, -0.5]), np.array([3.0, 0.5, 1.0])
    for second in (False, True):
        for ours, plain in zip(_in_place_chain(a, b, c, True, second),
                               _in_place_chain(a, b, c, False, second)):
            np.testing.assert_allclose(ours, plain, rtol=1e-12)
    torch = pytest.importorskip("torch")  # the part PyTorch allows: no z
    x, w, v = (torch.tensor(d, requires_grad=True) for d in (a, b, c))
    y = x / w  # (div saves its inputs: PyTorch allows the edits)
    y *= v
    y.clamp_(-100, 100)  # changes nothing, but saves y: second order through both edits
    (gw,) = torch.autograd.grad(y.sum(), [w], create_graph=True)
    (hw,) = torch.autograd.grad((gw * gw).sum(), [w])
    X, W, V = (Tensor(d.copy(), requires_grad=True) for d in (a, b, c))
    Y = X / W
    Y *= V
    Y.clamp_(-100, 100)
    (GW,) = tg.autograd.grad(Y.sum(), [W], create_graph=True)
    (HW,) = tg.autograd.grad((GW * GW).sum(), [W])
    np.testing.assert_allclose(GW.numpy(), gw.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(HW.numpy(), hw.numpy(), rtol=1e-12)


def test_a_failed_in_place_edit_changes_nothing_hooks_included():
    x = leaf(3)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    with pytest.raises(tg.ShapeError):
        y += tg.ones(3, 2)
    y.sum().backward()
    assert len(seen) == 1 and np.array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_in_place_edits_of_a_power_or_a_quotient_are_recorded_as_pytorch():
    """x ** 3 and x / w keep their inputs, not their output (as PyTorch), so editing the
    result in place is recorded; the output is kept only for the exponent's gradient."""
    torch = pytest.importorskip("torch")
    a, b = np.array([0.5, -1.0, 2.0]), np.array([1.5, 2.0, -0.5])
    for f in (lambda x, w: x ** 3, lambda x, w: x / w):
        grads = []
        for lib in (tg, torch):
            x, w = (lib.tensor(d.copy(), requires_grad=True) for d in (a, b))
            y = f(x, w)
            y.add_(1)
            y.mul_(2)
            (y * y).sum().backward()
            grads.append([t.grad.numpy() if lib is tg else t.grad.detach().numpy()
                          for t in (x, w) if t.grad is not None])
        for o, t in zip(*grads):
            np.testing.assert_allclose(o, t, rtol=1e-12)
    x = leaf(3)
    y = x.abs() ** x  # the exponent needs a gradient: the output is saved, and an edit raises
    y += 1
    with raises_naming("backward of pow", "its output", "modified in place"):
        y.sum().backward()


def test_a_hook_registered_before_an_in_place_edit_stays_with_the_old_value():
    """As PyTorch: y's hook sees the gradient of the value it was registered on (3 here, from
    a = y + 1 and the add_'s pass-through), and retain_grad() follows the tensor."""
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.item()) or g * 10)
    a = y + 1
    y.add_(3)
    y.retain_grad()
    (a.sum() + (y * 2).sum()).backward()
    assert seen == [3.0]
    assert x.grad.item() == 60.0 and y.grad.item() == 2.0


def test_grad_of_an_intermediate_does_not_run_the_ops_below_it():
    """grad(out, [h]) needs nothing below h: h's own op is neither run (it could fail, its
    saved input edited since) nor freed (a later backward through it works), as PyTorch."""
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    h = x.sin()
    (gh,) = tg.autograd.grad((h * h).sum(), [h])
    np.testing.assert_allclose(gh.numpy(), 2 * np.sin(x.numpy()))
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(x.numpy()))
    a = x * 2
    y = a.sin()
    a.add_(1)  # sin's saved input is stale: grad w.r.t. y must not touch sin's backward
    (gy,) = tg.autograd.grad((y * y).sum(), [y])
    np.testing.assert_allclose(gy.numpy(), 2 * y.numpy())


def test_a_constant_edited_with_a_tensor_that_requires_grad_is_recorded():
    w = leaf(3)
    buf = tg.zeros(3, dtype="float64")
    before = buf * 1  # uses the constant before the edit: no gradient through it
    buf += w * 2
    assert buf.requires_grad and not before.requires_grad
    (buf * buf).sum().backward()
    np.testing.assert_allclose(w.grad.data, 8 * w.data)
    buf2 = tg.zeros(2, 3, dtype="float64")
    buf2[1] += w * 2  # x[i] op= v on a constant: the write-back is recorded
    (buf2 * buf2).sum().backward()
    np.testing.assert_allclose(w.grad.data, 16 * w.data)


# --- views: memory shared with another tensor ----------------------------------------------------


def test_in_place_on_a_view_of_a_leaf_that_requires_grad_raises():
    x = leaf(4)
    view = x[0:2]
    with raises_naming("mul_", "view of a leaf tensor that requires grad", "no_grad()"):
        view.mul_(3)
    np.testing.assert_array_equal(x.data[0:2], view.data)  # nothing was written
    with tg.no_grad():
        view.mul_(3)  # allowed under no_grad, as any edit of a leaf


def test_a_tensor_whose_view_was_edited_raises_when_used_again():
    """PyTorch rebuilds y's graph after z.mul_(3); here y raises instead of silently giving
    the gradient of its old graph."""
    x = leaf(4)
    y = x * 1
    z = y[0:2]
    z.mul_(3)
    with raises_naming("mul: input 0", "output of mul", "shares its memory with a view"):
        y * y
    (z * z).sum().backward()  # the view itself is right: its graph has the edit
    np.testing.assert_allclose(x.grad.data, np.r_[18 * x.data[:2], 0, 0])


def test_a_view_whose_base_was_edited_raises_when_used_again():
    x = leaf(4)
    y = x * 1
    z = y[0:2]
    y.mul_(3)
    with raises_naming("input 0", "output of getitem", "shares its memory"):
        z * z
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full(4, 3.0))


def test_a_constant_whose_view_was_edited_raises_when_used_again():
    w = leaf(2)
    buf = tg.zeros(4, dtype="float64")
    part = buf[1:3]
    part += w  # recorded on the view; buf itself knows nothing of w
    with raises_naming("a constant tensor", "shares its memory"):
        buf * buf


def test_writing_back_through_a_view_is_recorded():
    """x[i] op= v reads a view, edits it and writes it back: the write-back rebuilds x."""
    x = leaf(2, 3)

    def f(x):
        y = x * 1
        y[0] *= 2
        y[:, 1] += y[:, 2]
        return y * y

    assert gradcheck(f, x)
    assert gradgradcheck(f, x)


# --- leaves that require grad (issue 17) ---------------------------------------------------------

LEAF_EDITS = {
    "+=": lambda w: w.__iadd__(1), "-=": lambda w: w.__isub__(1), "*=": lambda w: w.__imul__(2),
    "/=": lambda w: w.__itruediv__(2), "add_": lambda w: w.add_(1), "sub_": lambda w: w.sub_(1),
    "mul_": lambda w: w.mul_(2), "div_": lambda w: w.div_(2), "pow_": lambda w: w.pow_(2),
    "clamp_": lambda w: w.clamp_(0, 1), "zero_": lambda w: w.zero_(),
    "fill_": lambda w: w.fill_(3), "copy_": lambda w: w.copy_(np.ones(3)),
    "normal_": lambda w: w.normal_(), "uniform_": lambda w: w.uniform_(),
    "setitem": lambda w: w.__setitem__(0, 5.0),
}


@pytest.mark.parametrize("name", LEAF_EDITS)
def test_in_place_on_a_leaf_that_requires_grad(name):
    # fixed values, some outside [0, 1], so that every edit (clamp_ too) changes them whatever
    # the module's generator drew before this test
    w = Tensor(np.array([-1.5, 0.25, 2.0]), requires_grad=True)
    before = w.data.copy()
    with raises_naming("a leaf tensor that requires grad", "in-place operation",
                       "no_grad()", ".data"):
        LEAF_EDITS[name](w)
    np.testing.assert_array_equal(w.data, before)  # refused before any write
    with tg.no_grad():
        LEAF_EDITS[name](w)  # works, in place
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    assert not np.array_equal(w.data, before)


# --- issue 17: PyTorch's tutorial loop -----------------------------------------------------------


def _data():
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = (X @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    return X, y


def _weights():
    return (np.random.default_rng(0).standard_normal((3, 1)).astype(np.float32),
            np.zeros(1, np.float32))


@pytest.mark.parametrize("clear", ["zero_", "None"])
def test_tutorial_loop_reaches_optim_sgds_weights(clear):
    """PyTorch's from-scratch loop: with no_grad(): w -= lr * w.grad, then w.grad.zero_() (or
    w.grad = None), 200 steps, against optim.SGD from the same start."""
    X, y = _data()
    W0, b0 = _weights()
    lr = 0.05

    w, b = Tensor(W0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)
    for _ in range(200):
        loss = (((Tensor(X) @ w + b) - Tensor(y)) ** 2).mean()
        loss.backward()
        with tg.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        if clear == "zero_":
            w.grad.zero_()
            b.grad.zero_()
        else:
            w.grad = None
            b.grad = None
    assert w.is_leaf and w.requires_grad  # still the same leaves

    w2, b2 = Tensor(W0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)
    opt = optim.SGD([w2, b2], lr=lr)
    for _ in range(200):
        opt.zero_grad()
        (((Tensor(X) @ w2 + b2) - Tensor(y)) ** 2).mean().backward()
        opt.step()
    np.testing.assert_allclose(w.data, w2.data, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(b.data, b2.data, rtol=1e-6, atol=1e-7)
    assert np.abs(w.data - W0).max() > 0.5  # it did train
    np.testing.assert_allclose(w.data[:, 0], [1.5, -2.0, 0.5], atol=0.05)


def test_grad_is_a_tensor_with_the_methods_users_reach_for():
    w = leaf(3, 2)
    (w * w).sum().backward()
    g = w.grad
    assert isinstance(g, Tensor) and not g.requires_grad
    assert g.norm().item() == pytest.approx(np.linalg.norm(2 * w.data))
    assert isinstance(g.data, np.ndarray)
    np.testing.assert_allclose(g.data, 2 * w.data)
    g.zero_()
    assert w.grad is g and not w.grad.data.any()
    (w * w).sum().backward()  # accumulates into the zeroed gradient
    np.testing.assert_allclose(w.grad.data, 2 * w.data)


def test_assigning_grad_works_with_the_optimizers():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.5)
    w.grad = np.array([1.0, 1.0])  # an array is wrapped
    assert isinstance(w.grad, Tensor)
    opt.step()
    np.testing.assert_array_equal(w.data, [0.5, 1.5])
    w.grad = Tensor(np.array([2.0, 0.0]))
    opt.step()
    np.testing.assert_array_equal(w.data, [-0.5, 1.5])
    w.grad = None  # no gradient: the step skips it
    opt.step()
    np.testing.assert_array_equal(w.data, [-0.5, 1.5])
    adam = optim.Adam([w], lr=0.1)
    w.grad = np.array([1.0, -1.0])
    adam.step()
    np.testing.assert_allclose(w.data, [-0.6, 1.6])
    with pytest.raises(tg.ShapeError):
        w.grad = np.ones(3)


def test_a_numpy_ufunc_writing_into_a_tensor_is_seen():
    """np.multiply(a, b, out=w) writes w's array through NumPy's protocol: noted like
    w.data op= ..., so a graph that saved w raises instead of using the new values."""
    x = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    loss = (x * w).sum()
    np.multiply(np.ones(2), np.full(2, 10.0), out=w)
    np.testing.assert_array_equal(w.data, [10.0, 10.0])
    with raises_naming("backward of mul", "'w'", "modified in place"):
        loss.backward()
