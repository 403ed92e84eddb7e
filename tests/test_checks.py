"""check_op, check_graph and gradcheck(fast_mode=True): right ops pass, and each deliberately
broken backward is caught with the diagnosis that says why."""

import warnings

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import GradcheckError, GraphError, Tensor, gradcheck, nn
from tinygrad_np.autograd import (
    DIAGNOSES,
    Function,
    check_graph,
    check_op,
    detect_anomaly,
    gradgradcheck,
)
from tinygrad_np.autograd.checks import GradcheckWarning

rng = np.random.default_rng(0)


def t(*shape, positive=False):
    x = rng.standard_normal(shape)
    return Tensor(np.abs(x) + 0.5 if positive else x)


# --- ops whose gradients are right ------------------------------------------------------------


class Square(Function):
    """A user's op written PyTorch's way: Tensor operations, so its backward is differentiable."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class ScaledAdd(Function):
    """a + 2 b, broadcasting; the engine sums each gradient back to its input's shape."""

    @staticmethod
    def forward(ctx, a, b):
        return a + 2 * b

    @staticmethod
    def backward(ctx, g):
        return g, 2 * g


GOOD = {  # name: (op, example inputs)
    "Square": (Square, lambda: (t(3, 4),)),
    "ScaledAdd": (ScaledAdd, lambda: (t(3, 4), t(3, 4))),
    "ops.Mul (a library primitive)": (tg.ops.Mul, lambda: (t(2, 3), t(2, 3))),
    "tanh": (tg.tanh, lambda: (t(5),)),
    "matmul": (lambda a, b: a @ b, lambda: (t(3, 4), t(4, 2))),
    "linear": (lambda x, w, b: tg.linear(x, w, b), lambda: (t(4, 3), t(3, 2), t(2))),
    "cross_entropy with labels": (tg.cross_entropy, lambda: (t(4, 3), np.array([0, 2, 1, 1]))),
    "log of positives": (tg.log, lambda: (t(2, 3, positive=True),)),
    "0-d": (Square, lambda: (t(),)),
    "size-1 dims": (lambda a, b: a * b, lambda: (t(1, 3), t(4, 1))),
    "softmax(axis=0)": (lambda x: x.softmax(axis=0), lambda: (t(3, 2),)),
    "two outputs": (lambda x: (x.exp(), x.sum(axis=0)), lambda: (t(2, 3),)),
}


@pytest.mark.parametrize("name", list(GOOD))
def test_right_gradients_pass(name):
    op, make = GOOD[name]
    report = check_op(op, *make())
    assert report and len(report.points) >= 3
    assert report.second_order.startswith("checked"), report.second_order


def test_broadcast_variants_are_checked():
    report = check_op(ScaledAdd, t(3, 4), t(3, 4))
    assert any("broadcast from (4,)" in p for p in report.points), report.points
    assert "input 1 broadcast from (4,) to (3, 4)" in report.points


def test_a_backward_on_arrays_skips_second_order_and_says_why():
    class ArraySquare(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return Tensor(2 * x.data * g.data)

    report = check_op(ArraySquare, t(3))
    assert report.second_order.startswith("skipped: the backward is not differentiable")


def test_kinks_are_reported_not_failed():
    x = Tensor(np.array([-1.0, 0.0, 0.5, 0.0, 2.0]))
    with pytest.warns(GradcheckWarning, match="non-differentiable"):
        report = check_op(tg.relu, x, second_order=False)
    assert sorted(k.element for k in report.kinks) == [(1,), (3,)]
    k = report.kinks[0]
    assert k.x == 0.0 and k.analytic == 0.0 and k.where == "the example inputs"
    assert min(k.left, k.right) == 0.0 and max(abs(k.left), abs(k.right)) > 0.1
    # where the central difference agrees with the subgradient there is nothing to report:
    # abs at 0 (0 against 0), a tie of max (g/2 each against 0.5)
    assert not check_op(tg.abs, Tensor(np.array([0.0, 1.0])), second_order=False).kinks
    assert not check_op(lambda x: x.max(), Tensor(np.array([1.0, 3.0, 3.0]))).kinks
    with pytest.warns(GradcheckWarning):  # clamp's bound: its gradient there is g, one side's
        report = check_op(lambda x: x.clamp(-0.5, 0.5), Tensor(np.array([0.5, 0.1])))
    assert [k.element for k in report.kinks] == [(0,)] and report.kinks[0].analytic != 0


def test_a_smooth_op_with_no_kink_raises_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_op(Square, t(4))


# --- each diagnosis, from a deliberately broken op ---------------------------------------------


class IgnoresGrad(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x  # forgot * g


class MeanNotSum(Function):
    """a + b whose backward reduces a broadcast b with a mean."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.b_shape = b.shape
        return a + b

    @staticmethod
    def backward(ctx, g):
        gb = g
        while gb.ndim > len(ctx.b_shape):
            gb = gb.mean(axis=0)
        return g, gb


class MissingTwo(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return x * g


class WrongSign(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -x.cos() * g


class TransposedMatmul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g @ b.T, g.T @ a  # db should be a.T @ g


class AbsWrongAtZero(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.abs()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.sign() + (x == 0).astype(x.dtype) * 5.0)


class Float32Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return Tensor((x.data.astype(np.float32) ** 3).astype(np.float64))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g


class SumsTooMuch(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return (3 * g).sum()


class Float32Gradient(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return (3 * g).astype("float32")


class Float32Output(Function):
    @staticmethod
    def forward(ctx, x):
        return (x * 3).astype("float32")

    @staticmethod
    def backward(ctx, g):
        return 3 * g.astype("float64")


class TwoGradients(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return 3 * g, g


class WrongFormula(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.exp()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x  # d exp = exp, not x


class ForgetsB(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * 2 + b

    @staticmethod
    def backward(ctx, g):
        return 2 * g, None


BROKEN = [  # (op, inputs, diagnosis, words in the message)
    (IgnoresGrad, lambda: (t(3),), "ignores grad_output", ["multiplied by -2", "element"]),
    (MeanNotSum, lambda: (t(3, 4), t(3, 4)), "wrong broadcasting reduction",
     ["passes at the example shapes", "broadcast from (4,) to (3, 4)", "1/3"]),
    (MissingTwo, lambda: (t(2, 3),), "off by a constant factor", ["0.5 times", "1/2"]),
    (WrongSign, lambda: (t(4),), "wrong sign", ["-1 times"]),
    (TransposedMatmul, lambda: (t(3, 4), t(4, 4)), "transposed", ["input 1", "transpose"]),
    (TransposedMatmul, lambda: (t(3, 4), t(4, 5)), "transposed", ["(5, 4)", "(4, 5)"]),
    (AbsWrongAtZero, lambda: (Tensor(np.array([-1.0, 0.0, 2.0])),),
     "wrong only near a non-differentiable point", ["element (1,)", "x = 0", "one-sided"]),
    (Float32Cube, lambda: (t(5),), "float32 precision", ["float32 number", "rounding"]),
    (SumsTooMuch, lambda: (t(3),), "wrong shape", ["shape ()", "(3,)"]),
    (Float32Gradient, lambda: (t(3),), "wrong dtype", ["float32 gradient", "float64"]),
    (Float32Output, lambda: (t(3),), "wrong dtype", ["float32 output", "float64 inputs"]),
    (TwoGradients, lambda: (t(3),), "wrong number of gradients", ["2 gradient(s)"]),
    (ForgetsB, lambda: (t(3), t(3)), "no gradient", ["input 1", "None or zeros"]),
    (WrongFormula, lambda: (t(3),), "wrong", ["analytic", "but numeric"]),
]


@pytest.mark.parametrize("op,make,diagnosis,words", BROKEN,
                         ids=[f"{b[2]}-{b[0].__name__}" for b in BROKEN])
def test_each_broken_backward_gets_its_diagnosis(op, make, diagnosis, words):
    assert diagnosis in DIAGNOSES
    with pytest.raises(GradcheckError) as info:
        check_op(op, *make())
    err = info.value
    message = str(err)
    assert err.diagnosis == diagnosis, message
    assert message.startswith(f"check_op({tg.autograd.function.op_name(op)}): {diagnosis}.")
    assert DIAGNOSES[diagnosis] in message  # the fix
    missing = [w for w in words if w not in message]
    assert not missing, f"message lacks {missing}: {message}"


def test_the_message_names_input_element_and_numbers():
    with pytest.raises(GradcheckError) as info:
        check_op(MissingTwo, Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), name="w"))
    err = info.value
    assert err.input == 0 and err.element is not None
    assert err.analytic == pytest.approx(err.numeric / 2, rel=1e-4)
    assert "input 0 (w) of shape (2, 2)" in str(err) and "At the example inputs" in str(err)


def test_every_documented_diagnosis_is_tested():
    assert {b[2] for b in BROKEN} == set(DIAGNOSES)


def test_second_order_failure_is_named_as_such():
    class DetachedSquare(Function):  # first order right; its backward's own gradient is not
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x.detach() * g

    with pytest.raises(GradcheckError, match=r"second order: .*At the example inputs \(second "
                       r"order\)"):
        check_op(DetachedSquare, t(3))
    assert check_op(DetachedSquare, t(3), second_order=False)


def test_bad_arguments():
    with pytest.raises(tg.ArgumentError, match="no example input is a floating Tensor"):
        check_op(Square, np.ones(3))
    with pytest.raises(tg.ArgumentError, match="give example inputs"):
        check_op(Square)
    with pytest.raises(tg.ArgumentError, match="must be a Function subclass"):
        check_op(3, t(2))
    with pytest.raises(tg.ArgumentError, match="input 1 is not a floating Tensor"):
        check_op(lambda a, b: a * b, t(2), np.ones(2), wrt=[1])


def test_examples_are_not_changed():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32))
    check_op(Square, x)
    assert x.dtype == np.float32 and x.grad is None and x.tolist() == [1.0, 2.0]


# --- check_graph ------------------------------------------------------------------------------


class Scale(Function):
    """y = 3 x, with a backward that forgets the 3."""

    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return g


def model_step(broken: bool, anomaly: bool):
    tg.manual_seed(0)
    model = nn.MLP([4, 5, 3], dtype="float64")
    X = Tensor(np.random.default_rng(1).standard_normal((6, 4)))

    def loss_fn():
        h = model.layers[0](X).tanh()
        h = Scale.apply(h) if broken else h * 3
        return nn.cross_entropy(model.layers[1](h), np.array([0, 1, 2, 0, 1, 2]))

    if anomaly:
        with detect_anomaly():
            return model, loss_fn()
    return model, loss_fn()


def test_check_graph_passes_a_right_model_and_counts_its_ops():
    _, loss = model_step(broken=False, anomaly=False)
    report = check_graph(loss)
    assert report.points == ["linear", "tanh", "mul", "linear", "cross_entropy"]
    assert report.nodes == 5


def test_check_graph_names_the_wrong_op_its_shapes_and_line():
    _, loss = model_step(broken=True, anomaly=True)
    with pytest.raises(GradcheckError) as info:
        check_graph(loss)
    err = info.value
    message = str(err)
    assert message.startswith("check_graph: the backward of Scale (inputs (6, 5) -> output "
                              "(6, 5); created at ")
    assert "test_checks.py" in message and "Scale.apply(h)" in message
    assert err.diagnosis == "off by a constant factor" and "1/3" in message
    assert err.node is not None and err.node.op == "Scale"


def test_check_graph_without_anomaly_says_how_to_get_the_line():
    _, loss = model_step(broken=True, anomaly=False)
    with pytest.raises(GradcheckError, match=r"run the forward under .*detect_anomaly\(\)"):
        check_graph(loss)


def test_check_graph_of_a_function_runs_it_under_anomaly():
    x = Tensor(np.linspace(-1, 1, 6), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"created at .*test_checks.py.*Scale.apply"):
        check_graph(lambda x: Scale.apply(x.sin()).sum(), x)
    assert check_graph(lambda x: (x.sin() * 3).sum(), x).nodes == 3


def test_check_graph_after_backward_needs_retain_graph():
    _, loss = model_step(broken=False, anomaly=False)
    loss.backward()
    with pytest.raises(GraphError, match=r"freed by backward\(\).*retain_graph=True"):
        check_graph(loss)
    _, loss = model_step(broken=False, anomaly=False)
    loss.backward(retain_graph=True)
    assert check_graph(loss).nodes == 5


def test_check_graph_skips_casts_and_judges_the_rest():
    x = Tensor(np.linspace(-1, 1, 5), requires_grad=True)
    report = check_graph((x.astype("float32").tanh() * 2).sum())
    assert report.points == ["tanh", "mul", "sum"]
    assert report.skipped and report.skipped[0].startswith("cast: gives float32")
    assert "skipped: cast" in str(report)


def test_check_graph_checks_big_inputs_by_direction_and_finds_the_element():
    class OneWrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            d = (2 * g).data.copy()
            d.reshape(-1)[4321] += 1.0
            return Tensor(d)

    x = Tensor(np.random.default_rng(2).standard_normal((100, 80)), requires_grad=True)
    y = OneWrong.apply(x.tanh()).sum()
    with pytest.raises(GradcheckError) as info:
        check_graph(y)
    assert info.value.element == np.unravel_index(4321, (100, 80))
    assert info.value.node.op == "OneWrong"


# --- gradcheck(fast_mode=True) ----------------------------------------------------------------


def test_fast_mode_passes_right_gradients_and_agrees_with_the_full_check():
    a, b = Tensor(rng.standard_normal((6, 5)), requires_grad=True), Tensor(
        rng.standard_normal(5), requires_grad=True)
    assert gradcheck(lambda a, b: (a * b).tanh() @ b, a, b, fast_mode=True)
    assert gradcheck(lambda a, b: (a * b).tanh() @ b, a, b)


def test_fast_mode_drills_down_to_the_wrong_element():
    class OneWrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            d = (2 * g).data.copy()
            d[7, 3] *= -1
            return Tensor(d)

    x = Tensor(rng.standard_normal((20, 9)), requires_grad=True)
    calls = [0]

    def fn(x):
        calls[0] += 1
        return OneWrong.apply(x)

    with pytest.raises(GradcheckError) as info:
        gradcheck(fn, x, fast_mode=True)
    assert info.value.element == (7, 3)
    assert "element (7, 3)" in str(info.value) and "fast_mode" in str(info.value)
    assert calls[0] < 40  # bisection: far fewer than the 360 evaluations of the full check
    with pytest.raises(GradcheckError, match=r"element \(7, 3\)"):
        gradcheck(fn, x)


def test_fast_mode_on_a_model_with_tiny_and_large_parameters():
    tg.manual_seed(3)
    model = nn.MLP([8, 6, 3], dtype="float64")
    X = Tensor(np.random.default_rng(3).standard_normal((5, 8)))
    assert gradcheck(lambda *_: nn.cross_entropy(model(X), np.array([0, 1, 2, 1, 0])),
                     *model.parameters(), fast_mode=True)
    assert tg.autograd.gradgradcheck(lambda x: (x ** 3).sum(), Tensor(
        rng.standard_normal(4), requires_grad=True), fast_mode=True)


def test_gradcheck_differences_each_output_before_weighting():
    # outputs of very different size: sum(r * out) lost element 0's change to rounding, so a
    # right gradient (1) read as numeric 0; PyTorch's per-output differences get it right
    x = Tensor(np.array([0.5, 3.0]), requires_grad=True)
    assert gradcheck(lambda t: t * Tensor(np.array([1.0, 1e22])), x)


@pytest.mark.parametrize("kwargs, message", [
    (dict(eps=0), "eps must be a finite number > 0"), (dict(eps=-1e-6), "eps must be"),
    (dict(atol=float("nan")), "atol must be a finite number >= 0"),
    (dict(nondet_tol=1e-3), "nondet_tol"),
])
def test_gradcheck_refuses_meaningless_settings(kwargs, message):
    with pytest.raises(tg.ArgumentError, match=message):
        gradcheck(lambda t: t * t, Tensor(np.ones(2), requires_grad=True), **kwargs)


def test_gradcheck_refuses_what_is_no_function_and_outputs_that_are_not_floats():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(tg.ArgumentError, match="fn must be a function"):
        gradcheck(3, x)
    with pytest.raises(tg.DTypeError, match="only floating outputs"):
        gradcheck(lambda t: t.argmax(), x)  # passed: nothing was compared


def test_gradgradcheck_takes_arrays_as_grad_outputs():
    x = Tensor(np.array([0.3, -1.2]), requires_grad=True)
    assert gradgradcheck(lambda t: (t * t * t), x, grad_outputs=np.array([1.0, -2.0]))
    with pytest.raises(tg.ArgumentError, match="one per output of fn, of its shape"):
        gradgradcheck(lambda t: t * t, x, grad_outputs=np.ones(3))
