"""tinygrad_np.jit: a replayed step computes what the eager step computes, and what cannot be
replayed is refused (JitError), never frozen."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import tinygrad_np as tg
from benchmarks.workloads import WORKLOADS, batches, initial_weights, synthetic_data
from tinygrad_np import JitError, Tensor, nn, optim
from tinygrad_np.autograd import function as _function


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small GEMMs on a shared machine: one thread is faster and steadier (PERF.md)."""
    with threadpool_limits(1):
        yield


def mlp_for(wl, dtype=np.float32):
    model = nn.MLP(wl.sizes, activation=wl.activation, dtype=dtype)
    model.load_state_dict({f"layers.{i}.{k}": a.astype(dtype) for i, (W, b) in
                           enumerate(initial_weights(wl.sizes)) for k, a in (("weight", W),
                                                                             ("bias", b))})
    if wl.optimizer == "adam":
        opt = optim.Adam(model.parameters(), lr=wl.lr)
    else:
        opt = optim.SGD(model.parameters(), lr=wl.lr)
    return model, opt


def train_step(model, opt):
    """The step a user writes: forward, loss, zero_grad, backward, step; returns the loss."""
    def step(xb, yb):
        loss = nn.cross_entropy(model(Tensor(xb)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def train(wl, steps, use_jit, n_samples=None, dtype=np.float32):
    """(losses, final weights, jitted function or None) of ``steps`` steps of workload ``wl``."""
    X, y = synthetic_data(n_samples or wl.n_samples)
    X = X.astype(dtype)
    model, opt = mlp_for(wl, dtype)
    step = train_step(model, opt)
    fn = tg.jit(step) if use_jit else step
    stream = batches(wl, X, y)
    losses = [fn(*next(stream)).item() for _ in range(steps)]
    return losses, [p.data.copy() for p in model.parameters()], (fn if use_jit else None)


def assert_same_run(eager, jitted, rtol=1e-5):
    (l0, w0, _), (l1, w1, fn) = eager, jitted
    np.testing.assert_allclose(l1, l0, rtol=rtol, atol=1e-6)
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(b, a, rtol=rtol, atol=1e-6 * float(np.abs(a).max()))
    assert fn.replays > 0


# --- the workloads: replayed weights are the eager weights -------------------------------------


@pytest.mark.parametrize("name,steps,n", [("W1", 1000, 8000), ("W2", 1000, 16000),
                                          ("W3", 60, 1000)])
def test_workloads_replay_the_eager_weights(name, steps, n):
    wl = WORKLOADS[name]
    eager = train(wl, steps, False, n)
    jitted = train(wl, steps, True, n)
    assert_same_run(eager, jitted)
    fn = jitted[2]
    # the last partial batch is its own signature: traced twice, then replayed
    assert fn.replays >= steps - 2 * (1 + (n % (wl.batch or n) > 0))
    assert fn.programs() and all(not p["slow_ops"] for p in fn.programs())


@pytest.mark.slow
def test_w3_replays_1000_steps():
    wl = WORKLOADS["W3"]
    assert_same_run(train(wl, 1000, False), train(wl, 1000, True))


def test_float64_workload_replays():
    wl = WORKLOADS["W2"]
    assert_same_run(train(wl, 200, False, 4000, np.float64),
                    train(wl, 200, True, 4000, np.float64), rtol=1e-12)


def test_traces_twice_then_replays_and_a_new_shape_traces_again():
    model, opt = mlp_for(WORKLOADS["W2"])
    step = tg.jit(train_step(model, opt))

    X, y = synthetic_data(300)
    for _ in range(4):
        step(X[:128], y[:128])
    assert (step.traces, step.replays) == (2, 2)
    step(X[:44], y[:44])  # the last, partial batch
    assert step.traces == 3
    step(X[:128], y[:128])
    assert step.replays == 3


def test_replayed_gradients_and_returned_tensors():
    model, opt = mlp_for(WORKLOADS["W1"])
    twin, twin_opt = mlp_for(WORKLOADS["W1"])

    def make(m, o):
        def step(xb, yb):
            logits = m(Tensor(xb))
            loss = nn.cross_entropy(logits, yb)
            o.zero_grad()
            loss.backward()
            o.step()
            return loss, logits
        return step

    step, eager = tg.jit(make(model, opt)), make(twin, twin_opt)
    X, y = synthetic_data(200)
    kept = []
    for i in range(6):
        xb, yb = X[32 * i:32 * i + 32], y[32 * i:32 * i + 32]
        (loss, logits), (_, z2) = step(xb, yb), eager(xb, yb)
        kept.append(loss)
        np.testing.assert_allclose(logits.data, z2.data, rtol=1e-6)
        for p, q in zip(model.parameters(), twin.parameters()):
            np.testing.assert_allclose(p.grad.data, q.grad.data, rtol=1e-5, atol=1e-8)
    assert not kept[-1].requires_grad and kept[-1]._ctx is None
    assert len({float(t.item()) for t in kept}) == len(kept)  # each call's own copy


# --- gradients of many ops (#16571: "TinyJit produces wrong gradients") ------------------------


def many_ops_step(params, x, idx):
    w, b, v = params
    h = (x @ w + b).sigmoid()
    h2 = h.tanh() * 2.0 - h / (1.0 + h.exp()) + (h * h).sqrt()
    h3 = h2.reshape(h2.shape[0], -1).transpose()[1:, :].T  # views
    z = h3 @ v - h3.mean(axis=1, keepdims=True) + h3.sum() * 1e-3
    z = tg.maximum(z, -z * 0.5) + tg.where(z > 0, z, 0.0) ** 2 + z.clamp(-1, 1) + z.exp().log()
    logp = z.log_softmax(axis=1)
    loss = -(logp[np.arange(len(idx)), idx]).mean() + tg.softplus(z).mean() + (z[:, :2] * 0).sum()
    loss = loss + tg.cat([z, h3[:, :1]], axis=1).abs().mean() + z.max(axis=1).mean()
    return loss


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradients_of_many_ops_match_eager(dtype):
    rng = np.random.default_rng(0)

    def params():
        return [Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
                for s in ((6, 5), (5,), (4, 3))]

    ps, qs = params(), None
    qs = [Tensor(p.data.copy(), requires_grad=True) for p in ps]

    def make(prm):
        def step(x, idx):
            for p in prm:
                p.grad = None
            loss = many_ops_step(prm, Tensor(x), idx)
            loss.backward()
            return loss
        return step

    step, eager = tg.jit(make(ps)), make(qs)
    for _ in range(5):
        x = rng.standard_normal((7, 6)).astype(dtype)
        idx = rng.integers(0, 3, 7)
        l1, l2 = step(x, idx), eager(x, idx)
        np.testing.assert_allclose(l1.data, l2.data, rtol=1e-6 if dtype == np.float32 else 1e-12)
        for p, q in zip(ps, qs):
            np.testing.assert_allclose(p.grad.data, q.grad.data,
                                       rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-7)
        with tg.no_grad():  # the same update on both sides
            for p, q in zip(ps, qs):
                p.data -= 0.1 * p.grad.data
                q.data -= 0.1 * q.grad.data
    assert step.replays == 3
    assert step.programs()[0]["slow_ops"]  # some of these run through the slow path


def test_buffer_reuse_keeps_values_still_needed():
    """Element-wise kernels write into their input's buffer only when nothing reads it later."""
    rng = np.random.default_rng(5)
    w = Tensor(rng.standard_normal((4, 6)), requires_grad=True)
    w2 = Tensor(w.data.copy(), requires_grad=True)

    def make(p):
        def step(x):
            p.grad = None
            z = Tensor(x) @ p
            h = z.relu()
            t = h.tanh()
            out = (t * z + h.sigmoid() - z.exp() * 0.01).sum()  # z and h read again later
            out.backward()
            return out, h, t
        return step

    step, eager = tg.jit(make(w)), make(w2)
    for _ in range(5):
        x = rng.standard_normal((3, 4))
        got, want = step(x), eager(x)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a.data, b.data, rtol=1e-12)
        np.testing.assert_allclose(w.grad.data, w2.grad.data, rtol=1e-12)
    assert step.replays == 3 and step.programs()[0]["buffers_reused"] > 0


def test_gradients_accumulate_without_zero_grad():
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    w2 = Tensor(np.ones((3, 2)), requires_grad=True)

    def make(p):
        def step(x):
            (Tensor(x) @ p).sum().backward()
        return step

    step, eager = tg.jit(make(w)), make(w2)
    for k in range(5):
        x = np.full((4, 3), float(k + 1))
        step(x)
        eager(x)
        np.testing.assert_array_equal(w.grad.data, w2.grad.data)
    assert step.replays == 3
    w.grad = None
    w2.grad = None
    step(np.ones((4, 3)))
    eager(np.ones((4, 3)))
    np.testing.assert_array_equal(w.grad.data, w2.grad.data)


def test_two_backwards_in_one_step_add_up():
    w = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    @tg.jit
    def step(x):
        opt.zero_grad()
        (Tensor(x) @ w).sum().backward()
        ((Tensor(x) @ w) ** 2).mean().backward()
        opt.step()

    w_ref = Tensor(w.data.copy(), requires_grad=True)
    opt_ref = optim.SGD([w_ref], lr=0.1)
    for k in range(5):
        x = np.random.default_rng(k).standard_normal((4, 3))
        step(x)
        opt_ref.zero_grad()
        (Tensor(x) @ w_ref).sum().backward()
        ((Tensor(x) @ w_ref) ** 2).mean().backward()
        opt_ref.step()
        np.testing.assert_allclose(w.data, w_ref.data, rtol=1e-12)
    assert step.replays == 3


# --- eager semantics that must survive: no_grad, dropout, schedulers, zero_grad ----------------


def test_dropout_draws_fresh_masks_equal_to_eager_bit_for_bit():
    def run(use_jit):
        tg.manual_seed(7)
        model = nn.MLP([8, 16, 16, 3], dropout=0.3)
        opt = optim.SGD(model.parameters(), lr=0.1)
        step = train_step(model, opt)
        fn = tg.jit(step) if use_jit else step
        X = np.random.default_rng(1).standard_normal((10, 8)).astype(np.float32)
        y = np.arange(10) % 3
        losses = [float(fn(X, y).item()) for _ in range(8)]
        return losses, [p.data.copy() for p in model.parameters()], fn

    (l0, w0, _), (l1, w1, fn) = run(False), run(True)
    assert fn.replays == 6
    assert l1 == l0  # bit for bit: the same draws in the same order
    assert len(set(l1)) == len(l1)  # the same batch every step: only fresh masks change it
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)


def test_functional_dropout_and_rand_are_drawn_again():
    def run(use_jit):
        tg.manual_seed(3)
        w = Tensor(np.ones((4, 4), np.float32), requires_grad=True)

        def step(x):
            h = nn.functional.dropout(Tensor(x) @ w, 0.5)
            noise = tg.randn(3, 4)
            return (h + noise * tg.rand(3, 4)).sum()

        fn = tg.jit(step) if use_jit else step
        return [float(fn(np.ones((3, 4), np.float32)).item()) for _ in range(6)], fn

    (eager, _), (jitted, fn) = run(False), run(True)
    assert fn.replays == 4 and jitted == eager and len(set(jitted)) == 6


def test_eval_mode_and_train_mode_are_two_programs():
    tg.manual_seed(0)
    model = nn.MLP([4, 8, 2], dropout=0.5)
    fwd = tg.jit(lambda x: model(Tensor(x)))
    x = np.ones((3, 4), np.float32)
    with tg.no_grad():
        model.eval()
        a = [fwd(x).data for _ in range(3)]
        model.train()
        b = [fwd(x).data for _ in range(4)]
        model.eval()
        c = fwd(x).data
    np.testing.assert_array_equal(a[0], a[2])
    np.testing.assert_array_equal(a[0], c)
    assert not np.array_equal(b[2], b[3])  # dropout is on in train mode, fresh each call
    assert fwd.replays >= 3


def test_no_grad_behaves_as_in_eager_mode():
    model, _ = mlp_for(WORKLOADS["W2"])

    @tg.jit
    def evaluate(xb, yb):
        return nn.cross_entropy(model(Tensor(xb)), yb, reduction="sum")

    X, y = synthetic_data(64)
    with tg.no_grad():
        losses = [evaluate(X, y) for _ in range(3)]
    assert not losses[-1].requires_grad
    with tg.no_grad():
        expected = nn.cross_entropy(model(Tensor(X)), y, reduction="sum")
    np.testing.assert_allclose(losses[-1].data, expected.data, rtol=1e-6)
    out = evaluate(X, y)  # with grad on: another signature, recorded with a graph
    assert out.data == pytest.approx(float(expected.data), rel=1e-6)

    @tg.jit
    def step_inside_no_grad(xb):
        with tg.no_grad():
            return model(Tensor(xb)).sum()

    for _ in range(3):
        np.testing.assert_allclose(step_inside_no_grad(X).data, model(Tensor(X)).sum().data,
                                   rtol=1e-6)


def test_scheduler_learning_rate_is_read_at_every_replay():
    def run(use_jit):
        w = Tensor(np.ones(3), requires_grad=True)
        opt = optim.SGD([w], lr=1.0)
        sched = optim.StepLR(opt, step_size=1, gamma=0.5)

        def step(x):
            opt.zero_grad()
            (Tensor(x) * w).sum().backward()
            opt.step()

        fn = tg.jit(step) if use_jit else step
        for _ in range(6):
            fn(np.array([1.0, 2.0, 3.0]))
            sched.step()
        return w.data.copy()

    np.testing.assert_array_equal(run(True), run(False))


def test_scheduler_inside_the_step_is_replayed():
    def run(use_jit):
        w = Tensor(np.ones(3), requires_grad=True)
        opt = optim.Adam([w], lr=0.5)
        sched = optim.CosineAnnealingLR(opt, T_max=4)

        def step(x):
            opt.zero_grad()
            ((Tensor(x) * w) ** 2).sum().backward()
            opt.step()
            sched.step()

        fn = tg.jit(step) if use_jit else step
        for _ in range(7):
            fn(np.array([1.0, -2.0, 3.0]))
        return w.data.copy(), opt.lr

    (w0, lr0), (w1, lr1) = run(False), run(True)
    np.testing.assert_array_equal(w0, w1)
    assert lr0 == lr1


def test_a_number_argument_is_never_frozen():
    """tinygrad #10956: a Python int given to the jitted function was frozen at capture."""
    w = Tensor(np.ones(3), requires_grad=True)

    @tg.jit
    def f(x, scale):
        return (Tensor(x) * w * scale).sum()

    x = np.ones(3)
    assert [float(f(x, s).item()) for s in (1, 2, 3, 1, 2, 3, 2)] == [3, 6, 9, 3, 6, 9, 6]


def test_labels_outside_the_classes_run_eagerly_and_raise_as_eager():
    model, opt = mlp_for(WORKLOADS["W2"])
    step = tg.jit(train_step(model, opt))

    X, y = synthetic_data(32)
    for _ in range(3):
        step(X, y)
    bad = y.copy()
    bad[3] = 10
    with pytest.raises(tg.OutOfRangeError, match="label 10"):
        step(X, bad)
    ignored = y.copy()
    ignored[:5] = -100
    loss = step(X, ignored)  # ignore_index: eager handles it
    assert step.eager == 2 and np.isfinite(loss.item())


# --- what a replay assumes: parameters, modules, globals -----------------------------------------


def test_replaced_parameters_and_modules_trace_again():
    model, opt = mlp_for(WORKLOADS["W2"])

    @tg.jit
    def forward(xb):
        return model(Tensor(xb)).sum()

    X, _ = synthetic_data(16)
    with tg.no_grad():
        for _ in range(3):
            forward(X)
        before = forward.traces
        model.layers[1].weight = Tensor(np.zeros_like(model.layers[1].weight.data),
                                        requires_grad=True)
        expected = model(Tensor(X)).sum().item()
        assert forward(X).item() == pytest.approx(expected)
        assert forward.traces == before + 1
        model.layers[0] = nn.Linear(784, 32)
        expected = model(Tensor(X)).sum().item()
        assert forward(X).item() == pytest.approx(expected, rel=1e-6)
        model.layers[0].weight.data = np.ones_like(model.layers[0].weight.data)  # a new array
        for _ in range(3):
            assert forward(X).item() == pytest.approx(model(Tensor(X)).sum().item(), rel=1e-6)


def test_rebinding_a_global_model_traces_again():
    global _global_model
    _global_model = nn.Linear(3, 1)
    x = np.ones((2, 3), np.float32)
    f = tg.jit(_uses_global_model)
    for _ in range(3):
        f(x)
    _global_model = nn.Linear(3, 1, init="zeros")
    assert f(x).item() == 0.0


_global_model = None


def _uses_global_model(x):
    return _global_model(Tensor(x)).sum()


def test_changed_module_hyperparameter_traces_again():
    tg.manual_seed(0)
    model = nn.MLP([4, 8, 2], dropout=0.5)
    fwd = tg.jit(lambda x: model(Tensor(x)))
    x = np.ones((3, 4), np.float32)
    with tg.no_grad():
        for _ in range(3):
            fwd(x)
        model.dropout.p = 1.0  # everything dropped: the output is the last bias
        out = fwd(x).data
    np.testing.assert_array_equal(out, np.broadcast_to(model.layers[1].bias.data, out.shape))


# --- refused: what a replay cannot do, named with its line --------------------------------------


def _refused(step, *args, match):
    with pytest.raises(JitError, match=match):
        for _ in range(3):
            step(*args)
    assert _function._tracer is None


def _mlp_loss(model, x):
    return model(Tensor(x)).sum()


@pytest.mark.parametrize("read,match", [
    (lambda t: t.item(), r"\.item\(\).*test_jit.py"),
    (lambda t: float(t), r"float\(tensor\)"),
    (lambda t: bool(t > 0), r"bool\(tensor\)"),
    (lambda t: t.tolist(), r"\.tolist\(\)"),
    (lambda t: t.numpy(), r"\.numpy\(\)"),
    (lambda t: t.data, r"tensor\.data"),
    (lambda t: f"{t}", r"formatting"),
    (lambda t: print(t), r"printing"),
    (lambda t: np.asarray(t), r"np\.asarray"),
])
def test_reading_a_value_in_python_raises(read, match):
    w = Tensor(np.ones(3), requires_grad=True)

    def step(x):
        loss = (Tensor(x) * w).sum()
        read(loss)
        return loss

    _refused(tg.jit(step), np.ones(3), match=match)


def test_control_flow_on_a_tensor_names_the_line():
    w = Tensor(np.ones(3), requires_grad=True)

    @tg.jit
    def step(x):
        loss = (Tensor(x) * w).sum()
        if loss > 1:  # the line the error names
            loss = loss * 2
        return loss

    _refused(step, np.ones(3), match=r"test_jit.py:\d+ in step: if loss > 1")


def test_numpy_work_on_arguments_inside_the_step_raises():
    w = Tensor(np.ones(3), requires_grad=True)
    step = tg.jit(lambda x: (Tensor(x / 255.0) * w).sum())
    step(np.ones(3))
    with pytest.raises(JitError, match="not an argument of the step"):
        step(np.full(3, 2.0))


def test_a_number_computed_from_data_inside_the_step_raises():
    w = Tensor(np.ones(3), requires_grad=True)

    @tg.jit
    def step(x):
        scale = float(np.abs(x).max())  # data -> a Python number
        return (Tensor(x) * w * scale).sum()

    step(np.ones(3))
    with pytest.raises(JitError, match=r"test_jit.py:\d+ in step: return .*other Python values"):
        step(np.full(3, 2.0))


def test_a_constant_made_inside_the_step_is_replayed():
    w = Tensor(np.ones(3), requires_grad=True)
    step = tg.jit(lambda x: (Tensor(x) * w * Tensor([1.0, 2.0, 3.0])).sum())
    assert [step(np.full(3, float(k))).item() for k in range(5)] == [0, 6, 12, 18, 24]


def test_own_random_draws_inside_the_step_raise():
    w = Tensor(np.ones(3), requires_grad=True)
    step = tg.jit(lambda x: (Tensor(x) * w * Tensor(tg.get_rng().uniform(size=3))).sum())
    with pytest.raises(JitError, match="random"):
        for _ in range(3):
            step(np.ones(3))


def test_in_place_writes_and_manual_updates_raise():
    params = [Tensor(np.ones(3), requires_grad=True)]

    def manual_sgd(x):
        (Tensor(x) * params[0]).sum().backward()
        with tg.no_grad():
            for p in params:
                p -= 0.1 * p.grad

    _refused(tg.jit(manual_sgd), np.ones(3), match="in-place write")


def test_hooks_and_higher_order_and_custom_functions_raise():
    w = Tensor(np.ones(3), requires_grad=True)
    handle = w.register_hook(lambda g: g * 2)
    _refused(tg.jit(lambda x: (Tensor(x) * w).sum().backward()), np.ones(3), match="hook")
    handle.remove()

    model = nn.Linear(3, 2)
    model.register_forward_hook(lambda m, a, out: None)
    _refused(tg.jit(lambda x: model(Tensor(x)).sum()), np.ones((1, 3), np.float32),
             match="forward or backward hooks")

    def second_order(x):
        g, = tg.grad((Tensor(x) * w * w).sum(), [w], create_graph=True)
        return g.sum()

    _refused(tg.jit(second_order), np.ones(3), match="autograd.grad|create_graph")

    class Square(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    _refused(tg.jit(lambda x: Square.apply(Tensor(x) * w).sum()), np.ones(3),
             match="custom Function")


def test_setting_a_module_attribute_inside_the_step_raises():
    class Remember(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            self.last = self.fc(x)
            return self.last

    model = Remember()
    _refused(tg.jit(lambda x: model(Tensor(x)).sum()), np.ones((1, 3), np.float32),
             match="sets Remember.last")


def test_returning_a_python_value_raises():
    w = Tensor(np.ones(3), requires_grad=True)
    _refused(tg.jit(lambda x: [(Tensor(x) * w).sum(), object()]), np.ones(3),
             match="returns a object")


def test_different_ops_on_two_calls_raise():
    w = Tensor(np.ones(3), requires_grad=True)
    calls = []

    @tg.jit
    def step(x):
        calls.append(1)
        y = Tensor(x) * w
        if len(calls) % 2 == 0:
            y = y.exp()
        return y.sum()

    with pytest.raises(JitError, match="different steps"):
        for _ in range(3):
            step(np.ones(3))


def test_the_tracer_is_gone_after_an_exception_in_the_step():
    @tg.jit
    def broken(x):
        raise ValueError("user bug")

    with pytest.raises(ValueError):
        broken(np.ones(3))
    assert _function._tracer is None
    import sys
    assert sys.getprofile() is None


def test_nested_jitted_functions_record_into_the_outer_one():
    w = Tensor(np.ones(3), requires_grad=True)
    inner = tg.jit(lambda t: t * w)
    outer = tg.jit(lambda x: inner(Tensor(x)).sum())
    assert [outer(np.full(3, float(k))).item() for k in range(4)] == [0, 3, 6, 9]
    assert outer.replays == 2 and inner.eager >= 2


def test_detect_anomaly_runs_eagerly():
    w = Tensor(np.ones(3), requires_grad=True)
    f = tg.jit(lambda x: (Tensor(x) * w).sum())
    with tg.detect_anomaly():
        for _ in range(3):
            f(np.ones(3))
    assert f.eager == 3 and f.traces == 0


# --- the seeds' scripts: --jit gives the same run --------------------------------------------


@pytest.mark.parametrize("name,argv", [
    ("seed000_mnist_adam", ["--mode", "faithful", "--limit", "300", "--epochs", "2"]),
    ("seed001_mnist_sgd", ["--mode", "improved", "--limit", "300", "--epochs", "2"]),
    ("seed002_digits_sgd", ["--mode", "faithful", "--limit", "200", "--epochs", "2"]),
    ("seed003_mnist_init", ["--mode", "faithful", "--limit", "200", "--epochs", "4", "--init",
                            "He"]),
    ("seed004_mnist_gd", ["--mode", "faithful", "--limit", "200", "--epochs", "6"]),
])
def test_seed_scripts_give_the_same_run_with_jit(name, argv, monkeypatch, tmp_path):
    from test_examples import load_example, small_mnist

    monkeypatch.setattr(tg.data, "mnist", small_mnist)
    made = []
    real_jit = tg.jit
    monkeypatch.setattr(tg, "jit", lambda fn: made.append(real_jit(fn)) or made[-1])
    try:
        module = load_example(name)
        plain = module.main(argv + ["--out", str(tmp_path)])
        jitted = module.main(argv + ["--out", str(tmp_path), "--jit"])
    finally:
        tg.set_default_dtype(np.float32)
    for h in (plain, jitted):
        h.pop("seconds_per_epoch", None)
        h.pop("seconds_per_iteration", None)
    assert repr(jitted) == repr(plain)
    assert made and sum(f.replays for f in made) > 0


@pytest.mark.parametrize("pattern", ["zero_in_place", "accumulate_outside"])
def test_zero_grad_patterns_match_eager(pattern):
    def run(use_jit):
        model, opt = mlp_for(WORKLOADS["W2"])

        def step(xb, yb):
            if pattern == "zero_in_place":
                model.zero_grad(set_to_none=False)
            loss = nn.cross_entropy(model(Tensor(xb)), yb)
            loss.backward()
            if pattern == "zero_in_place":
                opt.step()
            return loss

        fn = tg.jit(step) if use_jit else step
        X, y = synthetic_data(512)
        for k in range(12):
            fn(X[32 * k:32 * k + 32], y[32 * k:32 * k + 32])
            if pattern == "accumulate_outside" and k % 3 == 2:  # 3 micro-batches per update
                opt.step()
                opt.zero_grad()
        grads = [None if p.grad is None else p.grad.data.copy() for p in model.parameters()]
        return [p.data.copy() for p in model.parameters()], grads, fn

    (w0, g0, _), (w1, g1, fn) = run(False), run(True)
    assert fn.replays >= 8
    for a, b in zip(w0 + g0, w1 + g1):
        if a is None or b is None:
            assert a is None and b is None
        else:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["W1", "W2"])
def test_benchmark_trainers_compute_the_same_steps(name):
    from benchmarks.jit_bench import InPlaceMLP, TinygradJitMLP
    from benchmarks.numpy_by_hand import HandMLP
    from benchmarks.tinygrad_impl import TinygradMLP

    wl = WORKLOADS[name]
    X, y = synthetic_data(600)
    trainers = [cls(wl, initial_weights(wl.sizes))
                for cls in (HandMLP, InPlaceMLP, TinygradMLP, TinygradJitMLP)]
    for t in trainers:
        stream = batches(wl, X, y)
        for _ in range(12):
            t.step(*next(stream))
    ref = trainers[0].weights()
    for t in trainers[1:]:
        for a, b in zip(ref, t.weights()):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    assert trainers[3].step.replays > 0


def test_with_speed_kernels_off_every_op_takes_the_slow_path(monkeypatch):
    from tinygrad_np import _kernels

    monkeypatch.setattr(_kernels, "ENABLED", False)
    wl = WORKLOADS["W1"]
    eager, jitted = train(wl, 40, False, 2000), train(wl, 40, True, 2000)
    assert_same_run(eager, jitted)
    slow = jitted[2].programs()[0]["slow_ops"]
    assert {"linear", "relu", "cross_entropy"} <= set(slow)


def test_a_module_passed_as_an_argument_is_its_own_signature():
    @tg.jit
    def forward(model, x):
        return model(Tensor(x)).sum()

    x = np.ones((2, 3), np.float32)
    with tg.no_grad():
        for _ in range(3):
            a = nn.Linear(3, 1)  # a new model at every call: never replayed as the last one
            assert forward(a, x).item() == pytest.approx(a(Tensor(x)).sum().item())
        b = nn.Linear(3, 1)
        for _ in range(4):
            assert forward(b, x).item() == pytest.approx(b(Tensor(x)).sum().item())
    assert forward.replays == 2


def test_replays_from_several_threads_are_not_mixed():
    import threading

    model = nn.MLP([8, 32, 4])
    fwd = tg.jit(lambda x: model(Tensor(x)))
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((16, 8)).astype(np.float32) for _ in range(4)]
    with tg.no_grad():
        for _ in range(3):
            fwd(xs[0])
        expected = [model(Tensor(x)).data for x in xs]
    errors = []

    def work(k):
        with tg.no_grad():
            for _ in range(200):
                if not np.array_equal(fwd(xs[k]).data, expected[k]):
                    errors.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and fwd.replays >= 800


# --- Python state the record depends on: checked at every replay --------------------------------


def _eager_and_jit(make, change, calls=6, at=3):
    """The losses and final weights of ``calls`` steps, eagerly and jitted, with ``change(state)``
    applied before call ``at``; ``make()`` returns (step, state, parameters)."""
    X = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    y = np.arange(8) % 3
    runs = []
    for use_jit in (False, True):
        tg.manual_seed(0)
        step, state, params = make()
        fn = tg.jit(step) if use_jit else step
        losses = []
        for k in range(calls):
            if k == at:
                change(state)
            losses.append(fn(X, y).item())
        runs.append((losses, [p.data.copy() for p in params], fn))
    (l0, w0, _), (l1, w1, fn) = runs
    np.testing.assert_allclose(l1, l0, rtol=1e-6)  # step by step
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    return fn


def test_a_closure_number_changed_after_tracing_traces_again():
    def make():
        model = nn.Linear(4, 3)
        opt = optim.SGD(model.parameters(), lr=0.1)
        scale = 1.0

        def step(xb, yb):
            loss = nn.cross_entropy(model(Tensor(xb)), yb) * scale
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        def change():
            nonlocal scale
            scale = 10.0

        return step, change, list(model.parameters())

    fn = _eager_and_jit(make, lambda change: change())
    assert fn.traces == 4 and fn.replays == 2


_SCALE = 1.0


def _global_scale_step(model, opt):
    def step(xb, yb):
        loss = nn.cross_entropy(model(Tensor(xb)), yb) * _SCALE
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def test_a_global_number_changed_after_tracing_traces_again():
    global _SCALE

    def make():
        global _SCALE
        _SCALE = 1.0  # each run starts from the same global
        model = nn.Linear(4, 3)
        opt = optim.SGD(model.parameters(), lr=0.1)
        return _global_scale_step(model, opt), None, list(model.parameters())

    def change(_):
        global _SCALE
        _SCALE = 10.0

    try:
        _eager_and_jit(make, change)
    finally:
        _SCALE = 1.0


def _config_step(cfg):
    def step(xb, yb):
        out = cfg["m"](Tensor(xb))
        if cfg["flag"]:
            out = out * 3
        loss = nn.cross_entropy(out, yb)
        cfg["opt"].zero_grad()
        loss.backward()
        cfg["opt"].step()
        return loss

    return step


def _make_config():
    model = nn.MLP([4, 8, 3])
    params = list(model.parameters())
    cfg = {"m": model, "opt": optim.SGD(params, lr=0.1), "flag": False}
    return _config_step(cfg), cfg, params


def test_a_dict_entry_choosing_a_branch_traces_again():
    _eager_and_jit(_make_config, lambda cfg: cfg.update(flag=True))


def test_an_optimizer_replaced_in_a_container_traces_again():
    fn = _eager_and_jit(_make_config,
                        lambda cfg: cfg.update(opt=optim.Adam(cfg["m"].parameters(), lr=0.1)))
    assert fn.traces == 4


def test_a_model_replaced_in_a_container_traces_again():
    # the optimizer keeps stepping the old model's parameters, in both runs: the losses are the
    # new model's (a stale replay would go on training and evaluating the old one)
    fn = _eager_and_jit(_make_config, lambda cfg: cfg.update(m=nn.MLP([4, 8, 3])))
    assert fn.traces == 4


def test_an_attribute_of_a_config_object_is_checked():
    from types import SimpleNamespace

    def make():
        model = nn.Linear(4, 3)
        opt = optim.SGD(model.parameters(), lr=0.1)
        args = SimpleNamespace(scale=1.0)

        def step(xb, yb):
            loss = nn.cross_entropy(model(Tensor(xb)), yb) * args.scale
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return step, args, list(model.parameters())

    _eager_and_jit(make, lambda args: setattr(args, "scale", 5.0))


def test_a_number_changing_at_every_call_is_refused():
    model = nn.Linear(4, 3)
    state = {"scale": 1.0}
    step = tg.jit(lambda x: (model(Tensor(x)) * state["scale"]).sum())
    x = np.ones((2, 4), np.float32)
    with pytest.raises(JitError, match="other Python values"), tg.no_grad():
        for k in range(4):
            state["scale"] = float(k)
            step(x)


def test_toggling_requires_grad_traces_again_and_matches_eager():
    def make():
        model = nn.MLP([4, 8, 3])
        params = list(model.parameters())
        cfg = {"m": model, "opt": optim.SGD(params, lr=0.1), "flag": False}
        return _config_step(cfg), params, params

    _eager_and_jit(make, lambda params: params[0].requires_grad_(False))


def test_slicing_an_argument_with_numpy_names_the_view():
    w = Tensor(np.ones(3), requires_grad=True)
    step = tg.jit(lambda x: (Tensor(x[:2]) * w).sum())
    step(np.ones((4, 3)))
    with pytest.raises(JitError, match=r"NumPy view of argument 0 .*Tensor\(xb\)\[:8\]"):
        step(np.full((4, 3), 2.0))


def test_train_mode_batchnorm_names_its_running_statistics():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    step = tg.jit(lambda x: model(Tensor(x)).sum())
    with pytest.raises(JitError, match=r"BatchNorm1d\.running_mean is updated in place.*eval\(\)"):
        step(np.ones((5, 4), np.float32))
    model.eval()
    with tg.no_grad():
        for _ in range(3):
            assert step(np.ones((5, 4), np.float32)).item() == pytest.approx(
                model(Tensor(np.ones((5, 4), np.float32))).sum().item())


zero_grad = list(range(5000))  # a global that shares its name with Optimizer.zero_grad


def test_attribute_names_are_not_taken_for_globals_and_big_containers_are_checked_cheaply():
    # opt.zero_grad() reads no global `zero_grad`: the jit walked this 5000-item list and refused
    import types

    def make():
        cfg = types.SimpleNamespace(scale=1.0, vocab=list(range(2000)))
        model = nn.Linear(4, 3)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(xb, yb):
            loss = nn.cross_entropy(model(Tensor(xb)), yb) * cfg.scale
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return step, cfg, list(model.parameters())

    def change(state):
        state.scale = 3.0

    fn = _eager_and_jit(make, change)
    assert fn.replays >= 2 and len(zero_grad) == 5000


def test_replayed_gradients_add_up_in_the_engines_order_bit_for_bit():
    """h feeds three ops whose gradients add up into h's: the replay adds them in the order
    the engine's walk does (the latest op first), and div's backward is the engine's formula,
    so the replayed .grad equals eager's exactly."""
    def run(use_jit):
        W = tg.tensor(np.random.default_rng(9).standard_normal((5, 6)).astype(np.float32),
                      requires_grad=True)
        V = tg.tensor(np.full(6, 1.5, np.float32), requires_grad=True)

        def step(xb):
            W.grad = V.grad = None
            h = Tensor(xb) @ W
            a, b, c = h.exp(), h.tanh(), h * h
            loss = (c + (a + b)).sum() + (h / V).sum()
            loss.backward()
            return loss

        f = tg.jit(step) if use_jit else step
        out = []
        for i in range(4):
            f(np.random.default_rng(i).standard_normal((4, 5)).astype(np.float32))
            out.append((W.grad.numpy().copy(), V.grad.numpy().copy()))
        return out

    for (we, ve), (wj, vj) in zip(run(False), run(True)):
        np.testing.assert_array_equal(we, wj)
        np.testing.assert_array_equal(ve, vj)
