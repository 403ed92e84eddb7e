"""Fuzzing the public ops: random shapes, dtypes and values, NaN, Inf, empty and 0-d arrays.

Every call must either return what NumPy returns (same values, same dtype) or raise one of the
library's documented exceptions (a ``TinygradError``). Nothing else may escape.
"""

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_np as tg
from tinygrad_np import Tensor, TinygradError

DTYPES = st.sampled_from([np.float32, np.float64, np.int64, np.bool_])
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
# FUZZ_EXAMPLES=5000 make test-fast fuzzes harder than CI's default
SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 150)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def any_array(draw, shape=None):
    dtype = draw(DTYPES)
    shape = draw(SHAPES) if shape is None else shape
    if np.dtype(dtype).kind == "f":
        elements = st.floats(allow_nan=True, allow_infinity=True, width=32 if dtype ==
                             np.float32 else 64, min_value=None, max_value=None)
    elif dtype == np.bool_:
        elements = st.booleans()
    else:
        elements = st.integers(-5, 5)
    return draw(hnp.arrays(dtype, shape, elements=elements))


UNARY = {
    "neg": (lambda t: -t, lambda a: -a),
    "exp": (lambda t: t.exp(), np.exp),
    "log": (lambda t: t.log(), np.log),
    "tanh": (lambda t: t.tanh(), np.tanh),
    "relu": (lambda t: t.relu(), lambda a: np.maximum(a, 0)),
    "abs": (lambda t: t.abs(), np.abs),
    "square": (lambda t: t**2, lambda a: a**2),
    "sum": (lambda t: t.sum(), np.sum),
    "mean": (lambda t: t.mean(), np.mean),
    "max": (lambda t: t.max(), np.max),
    "reshape": (lambda t: t.reshape(-1), lambda a: a.reshape(-1)),
    "T": (lambda t: t.T, lambda a: a.T),
    "softmax": (lambda t: t.softmax(axis=-1), None),
    "log_softmax": (lambda t: t.log_softmax(axis=-1), None),
    "sigmoid": (lambda t: t.sigmoid(), None),
}
BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "matmul": (lambda a, b: a @ b, np.matmul),
}


def check(call, reference, *arrays, name=None):
    """Run the op; compare with NumPy's answer (after PyTorch's type promotion) or accept a
    documented error."""
    tensors = [Tensor(a) for a in arrays]
    try:
        out = call(*tensors)
    except TinygradError:
        return
    assert isinstance(out, Tensor) and isinstance(out.data, np.ndarray)
    if reference is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expect = np.asarray(reference(*promoted(name, arrays)))
    assert out.dtype == expect.dtype, f"dtype changed: {out.dtype} vs {expect.dtype}"
    np.testing.assert_array_equal(out.data, expect)


FLOAT_RESULTS = {"exp", "log", "tanh", "sigmoid", "mean", "softmax", "log_softmax", "div"}


def promoted(name, arrays):
    """The operands as PyTorch promotes them: an integer or bool operand next to a float one
    takes its dtype, so does a 0-d float next to a dimensioned one; ops whose results are
    floats turn integers into the default float32."""
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    dimensioned = [a.dtype for a in arrays if a.dtype.kind == "f" and a.ndim]
    if len(floats) == 2 and len(dimensioned) == 1:  # a 0-d float takes the other's dtype
        target = dimensioned[0]
        return [a.astype(target) for a in arrays]
    if floats:
        target = np.result_type(*floats)
    elif name in FLOAT_RESULTS:
        target = np.dtype(np.float32)
    elif name == "square":  # bool ** 2: PyTorch's int64, not NumPy's int8
        return [a.astype(np.int64) if a.dtype == np.bool_ else a for a in arrays]
    else:
        return arrays
    return [a if a.dtype.kind == "f" else a.astype(target) for a in arrays]


@SETTINGS
@given(a=any_array(), name=st.sampled_from(sorted(UNARY)))
def test_unary_ops_never_leak_numpy_errors(a, name):
    call, reference = UNARY[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(call, reference, a, name=name)


@SETTINGS
@given(data=st.data(), name=st.sampled_from(sorted(BINARY)))
def test_binary_ops_never_leak_numpy_errors(data, name):
    shape_a = data.draw(SHAPES)
    shape_b = data.draw(st.sampled_from([shape_a, shape_a[1:], shape_a[::-1], ()]) | SHAPES)
    a, b = data.draw(any_array(shape_a)), data.draw(any_array(shape_b))
    call, reference = BINARY[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(call, reference, a, b, name=name)


@SETTINGS
@given(a=any_array(), data=st.data())
def test_axis_reductions_and_indexing_never_leak(a, data):
    axis = data.draw(st.integers(-4, 4))
    index = data.draw(st.integers(-4, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for call in (lambda t: t.sum(axis=axis), lambda t: t.mean(axis=axis, keepdims=True),
                     lambda t: t.max(axis=axis), lambda t: t[index],
                     lambda t: t.softmax(axis=axis), lambda t: t.reshape(7, -1)):
            check(call, None, a)


@SETTINGS
@given(logits=any_array(), labels=any_array())
def test_cross_entropy_never_leaks(logits, labels):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda z, y: z.cross_entropy(y), None, logits, labels)


@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
                    elements=st.floats(-2, 2)),
       name=st.sampled_from(["neg", "exp", "tanh", "sigmoid", "square", "sum", "mean",
                             "reshape", "T"]))
def test_differentiable_results_pass_gradcheck(x, name):
    assert tg.gradcheck(UNARY[name][0], Tensor(x.copy(), requires_grad=True))


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_integer_and_bool_tensors_cannot_enter_the_graph(dtype):
    with pytest.raises(tg.DTypeError):
        Tensor(np.zeros(3, dtype), requires_grad=True)
