"""Property-based tests: random broadcastable shapes and values for elementwise ops."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_np import Tensor, gradcheck

FLOATS = st.floats(-3, 3, allow_nan=False, allow_infinity=False, width=64)
SETTINGS = settings(max_examples=40, deadline=None)


def arrays(shape):
    return hnp.arrays(np.float64, shape, elements=FLOATS)


@st.composite
def broadcast_pair(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    max_side=3))
    a, b = (draw(arrays(s)) for s in shapes.input_shapes)
    return a, b


BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
}


@SETTINGS
@given(pair=broadcast_pair(), op=st.sampled_from(sorted(BINARY)))
def test_binary_ops_match_numpy_and_central_differences(pair, op):
    a, b = pair
    if op == "div":
        b = np.sign(b) * (np.abs(b) + 0.5) + (b == 0)  # away from zero
    fn, ref = BINARY[op]
    ta, tb = Tensor(a.copy(), requires_grad=True), Tensor(b.copy(), requires_grad=True)
    np.testing.assert_allclose(fn(ta, tb).data, ref(a, b))
    assert gradcheck(fn, ta, tb)


UNARY = {
    "exp": (lambda x: x.exp(), np.exp),
    "tanh": (lambda x: x.tanh(), np.tanh),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    "log": (lambda x: (x.abs() + 0.5).log(), lambda x: np.log(np.abs(x) + 0.5)),
    "square": (lambda x: x**2, np.square),
}


@SETTINGS
@given(x=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4).flatmap(arrays),
       op=st.sampled_from(sorted(UNARY)))
def test_unary_ops_match_numpy_and_central_differences(x, op):
    fn, ref = UNARY[op]
    if op == "log":
        x = np.where(np.abs(x) < 1e-3, 0.1, x)  # |x| has a kink at 0
    t = Tensor(x.copy(), requires_grad=True)
    np.testing.assert_allclose(fn(t).data, ref(x), rtol=1e-12)
    assert gradcheck(fn, t)


@SETTINGS
@given(x=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).flatmap(arrays), data=st.data())
def test_reductions_over_random_axes(x, data):
    axis = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1))
    keepdims = data.draw(st.booleans())
    for name in ("sum", "mean"):
        t = Tensor(x.copy(), requires_grad=True)
        out = getattr(t, name)(axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(out.data, getattr(np, name)(x, axis=axis, keepdims=keepdims))
        assert gradcheck(lambda t, name=name: getattr(t, name)(axis=axis, keepdims=keepdims), t)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3,
                                                 max_side=3))
def test_gradient_shape_always_matches_input_shape(shapes):
    a, b = (Tensor(np.ones(s), requires_grad=True) for s in shapes.input_shapes)
    ((a * b) + a).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
