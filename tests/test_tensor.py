"""Tensor construction, dtype rules, conveniences and the errors a learner sees."""

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import ArgumentError, DTypeError, GraphError, OutOfRangeError, ShapeError, Tensor


def test_python_numbers_are_float32_by_default_and_arrays_keep_their_dtype():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(3.5).dtype == np.float32 and Tensor(3.5).shape == ()
    assert Tensor(np.zeros(2)).dtype == np.float64
    assert Tensor(np.float64(1.0)).dtype == np.float64
    assert Tensor([1, 2]).dtype == np.int64
    assert Tensor([1, 2], dtype="float64").dtype == np.float64
    assert Tensor(np.zeros(2, np.float32), dtype=np.float64).dtype == np.float64


def test_default_dtype_is_settable():
    try:
        tg.set_default_dtype("float64")
        assert Tensor([1.0]).dtype == np.float64
    finally:
        tg.set_default_dtype("float32")
    assert tg.get_default_dtype() == np.float32
    with pytest.raises(DTypeError, match="not a floating dtype"):
        tg.set_default_dtype("int32")


def test_arrays_are_shared_not_copied():
    a = np.zeros(3)
    t = Tensor(a)
    a[0] = 5
    assert t.data[0] == 5 and t.numpy() is a


def test_float32_stays_float32_through_ops_with_python_scalars_and_arrays():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    for y in (x * 2.5, 1 - x, x / 3, np.ones(3) + x, x**2, x @ np.ones(3)):
        assert y.dtype == np.float32, y
    (x * np.float64(2.0)).sum().backward()
    assert x.grad.dtype == np.float32


def test_conveniences():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert (x.shape, x.ndim, x.size, len(x)) == ((2, 3), 2, 6, 2)
    assert x.T.shape == (3, 2) and x.T.op == "permute"
    assert x.sum().item() == 15.0
    d = x.detach()
    assert not d.requires_grad and d.data is x.data and d.is_leaf
    assert x.reshape(3, 2).shape == x.reshape((3, 2)).shape == (3, 2)
    assert x.transpose(1, 0).shape == x.transpose((1, 0)).shape == (3, 2)
    assert x.flatten().shape == (6,) and x.reshape(2, 3, 1).flatten(1).shape == (2, 3)
    np.testing.assert_array_equal(x.argmax(axis=1), [2, 2])
    assert Tensor.zeros(2, 3).shape == (2, 3) and Tensor.ones(2).dtype == np.float32
    tg.manual_seed(1)
    a = Tensor.randn(3)
    tg.manual_seed(1)
    np.testing.assert_array_equal(a.data, Tensor.randn(3).data)


def test_repr_shows_shape_dtype_and_op():
    x = Tensor(np.ones((2, 2)), requires_grad=True, name="w")
    r = repr(x.relu())
    assert "shape=(2, 2)" in r and "dtype=float64" in r and "op=relu" in r
    assert "name='w'" in repr(x) and "requires_grad=True" in repr(x)


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(DTypeError, match=r"dtype int64 and shape \(3,\)"):
        Tensor([1, 2, 3], requires_grad=True)
    labels = Tensor([1, 2])
    with pytest.raises(DTypeError, match="only floating tensors"):
        labels.requires_grad_()
    assert not labels.requires_grad  # state untouched


def test_unknown_dtype_is_named():
    with pytest.raises(DTypeError, match="unknown or unsupported dtype 'flot32'"):
        Tensor([1.0], dtype="flot32")
    with pytest.raises(DTypeError, match="dtype <U1"):
        Tensor(np.array(["a"]))


def test_matmul_shape_error_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"matmul: \(32, 784\) @ \(128, 64\): inner dimensions "
                                         r"784 and 128 differ"):
        Tensor(np.zeros((32, 784))) @ Tensor(np.zeros((128, 64)))


def test_broadcast_and_reshape_errors_name_shapes():
    with pytest.raises(ShapeError, match=r"add: shapes \(3, 4\) and \(5,\) cannot be broadcast"):
        Tensor(np.zeros((3, 4))) + np.zeros(5)
    with pytest.raises(ShapeError, match=r"reshape.*\(3, 4\) \(12 elements\).*\(5, 2\)"):
        Tensor(np.zeros((3, 4))).reshape(5, 2)


def test_axis_and_index_errors():
    with pytest.raises(OutOfRangeError, match="sum: axis 2 is out of range.*2 dimension"):
        Tensor(np.zeros((3, 4))).sum(axis=2)
    with pytest.raises(OutOfRangeError, match=r"getitem: index \[5\].*shape \(3, 4\)"):
        Tensor(np.zeros((3, 4)))[5]


def test_cross_entropy_target_errors():
    z = Tensor(np.zeros((2, 3)))
    with pytest.raises(OutOfRangeError, match="label 3 is out of range for 3 classes"):
        z.cross_entropy(np.array([0, 3]))
    with pytest.raises(ShapeError, match=r"one-hot rows must have width 3"):
        z.cross_entropy(np.eye(4)[:2])
    with pytest.raises(ShapeError, match="labels must be integers"):
        z.cross_entropy(np.array([0.0, 1.0]))


def test_bad_input_leaves_state_untouched():
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    (w * 2).sum().backward()
    before = w.grad.data.copy()
    with pytest.raises(ShapeError):
        (w @ np.ones((3, 1))).sum().backward()
    np.testing.assert_array_equal(w.grad, before)


def test_numpy_array_functions_run_as_ops_and_keep_the_graph():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    out = np.dot(w, np.array([3.0, 4.0])) + np.sum(w) + np.mean(w) + np.max(w) + np.min(w)
    out = out + np.concatenate([w, np.array([5.0])]).sum() + np.stack([w, w]).sum()
    out.backward()
    assert isinstance(out, Tensor)
    # dot, sum, mean, max, min, concatenate, stack
    np.testing.assert_allclose(w.grad.data, [3 + 1 + 0.5 + 0 + 1 + 1 + 2,
                                             4 + 1 + 0.5 + 1 + 0 + 1 + 2])
    m = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert np.transpose(m).shape == (3, 2) and np.reshape(m, (3, 2)).requires_grad
    np.testing.assert_array_equal(np.sum(m, axis=0, keepdims=True).data, [[3.0, 5.0, 7.0]])
    np.testing.assert_array_equal(np.clip(m, 1.0, 4.0).data, np.clip(m.data, 1.0, 4.0))
    np.testing.assert_array_equal(np.where(m.data > 2, m, 0.0).data, [[0, 0, 0], [3, 4, 5]])


def test_numpy_array_functions_refuse_what_would_cut_the_graph():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(ArgumentError, match="'dtype'"):
        np.sum(w, dtype=np.float32)
    with pytest.raises(GraphError, match="numpy.median.*detach"):
        np.median(w)
    assert np.median(w.detach()) == 1.5  # no grad: on the arrays, as before
    with tg.no_grad():
        assert np.median(w) == 1.5
    assert np.ndim(w) == 1 and np.argmax(w) == 1  # no gradient to lose
    assert type(np.asarray(w)) is np.ndarray and type(w.numpy()) is np.ndarray
