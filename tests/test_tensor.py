"""Tensor construction, dtype rules, conveniences and the errors a learner sees."""

import warnings

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


@pytest.mark.needs_torch
@pytest.mark.parametrize("args", [(1, False), (0, True), (1, False, True), (None, False)])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_and_std_take_pytorchs_positional_order(name, args):
    # (dim, unbiased, keepdim): x.var(1, False) is the population variance, as in PyTorch
    import torch

    a = np.arange(12.0).reshape(3, 4) ** 1.5
    ours = getattr(Tensor(a), name)(*args)
    theirs = getattr(torch.tensor(a), name)(*args)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    assert ours.shape == tuple(theirs.shape)


def test_var_refuses_a_second_positional_argument_that_is_no_flag():
    with pytest.raises(tg.ArgumentError, match="unbiased .*True or False"):
        Tensor(np.ones((2, 3))).var(0, np.float32)


@pytest.mark.needs_torch
@pytest.mark.parametrize("p", [2, "fro", 1, float("inf"), float("-inf"), 0, 3, 0.5])
@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), (0, True)])
def test_norm_matches_pytorchs_vector_norms(p, dim, keepdim):
    import torch

    a = np.array([[3.0, -0.5, 2.0, 0.0], [-1.25, 4.0, 0.75, -2.5], [0.3, -0.2, 1.5, 6.0]])
    x, t = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours, theirs = x.norm(p, dim, keepdim), t.norm(p, dim, keepdim)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
    if p not in (1, 0.5):  # the kink of |x| at the 0 entry: conventions differ there
        ours.sum().backward()
        theirs.sum().backward()
        expected = np.zeros_like(a) if t.grad is None else t.grad.numpy()  # p=0: a count
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("p", ["nuc", "two", None, True])
def test_norm_refuses_what_is_no_vector_norm(p):
    with pytest.raises(tg.ArgumentError, match="norm: p"):
        Tensor(np.ones(3)).norm(p)


@pytest.mark.needs_torch
@pytest.mark.parametrize("dim, index", [(1, [[0, 1]]), (1, [[3], [0], [1]]), (0, [[2, 0], [1, 1]]),
                                        (1, [[1, 2, 0, 3], [0, 0, 0, 0]])])
def test_gather_reads_an_index_smaller_than_the_input_as_pytorch(dim, index):
    # the output has the index's shape (it was broadcast over the input's other rows)
    import torch

    a = np.arange(12.0).reshape(3, 4) ** 1.5
    x, t = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours, theirs = x.gather(dim, Tensor(np.array(index))), t.gather(dim, torch.tensor(index))
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("index, error", [([[-1], [0], [0]], OutOfRangeError),
                                          ([[0], [0], [0], [0]], ShapeError)])
def test_gather_refuses_negative_and_too_large_indices(index, error):
    with pytest.raises(error, match="gather: index"):
        Tensor(np.ones((3, 4))).gather(1, Tensor(np.array(index)))


@pytest.mark.parametrize("call", [lambda x: x.cumsum((0, 1)), lambda x: x.softmax((0, 1)),
                                  lambda x: x.log_softmax(dim=[1]), lambda x: x.cumsum(1.0),
                                  lambda x: x.gather((1,), Tensor(np.zeros((2, 2), int)))])
def test_ops_along_one_dimension_refuse_several(call):
    # cumsum((0, 1)) summed along dim 0 alone, without a word
    with pytest.raises(tg.ArgumentError, match="dim must be one dimension"):
        call(Tensor(np.ones((2, 2))))


@pytest.mark.needs_torch
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "var", "std", "norm"])
def test_an_empty_dim_reduces_everything_as_in_pytorch_and_an_empty_axis_nothing(name):
    import torch

    a = np.arange(12.0).reshape(3, 4) ** 1.5
    ours, theirs = getattr(Tensor(a), name)(dim=()), getattr(torch.tensor(a), name)(dim=())
    assert ours.shape == tuple(theirs.shape) == ()
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    if name in ("sum", "mean", "amax", "amin"):
        assert getattr(Tensor(a), name)(axis=()).shape == (3, 4)  # NumPy's meaning


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


def test_view_shares_memory_or_raises_as_pytorch():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    v = x.view(3, 2)
    v.data[0, 0] = 9.0  # a view: the same memory
    assert x.data[0, 0] == 9.0
    with pytest.raises(ShapeError, match=r"view: .*use \.reshape"):
        x.T.view(6)  # a transposed tensor: reshape would copy (it did, silently)
    assert x.T.reshape(6).shape == (6,) and x.T.contiguous().view(6).shape == (6,)
    assert x.contiguous() is x and x.T.contiguous().data.flags.c_contiguous


@pytest.mark.parametrize("call", [lambda x: x.amax(1), lambda x: x.amin(1),
                                  lambda x: x.max(1).values, lambda x: x.argmax(1),
                                  lambda x: x.min(dim=1, keepdim=True).indices])
def test_max_and_argmax_of_an_empty_tensor_along_a_non_empty_dim_are_empty(call):
    # as PyTorch: (0, 3) along dim 1 is a result of shape (0,); it raised ShapeError
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    out = call(x)
    assert out.shape[0] == 0
    if out.requires_grad:
        out.sum().backward()
        assert x.grad.shape == (0, 3)


@pytest.mark.parametrize("call", [lambda x: x.amax(0), lambda x: x.max(), lambda x: x.argmax()])
def test_max_over_no_element_still_raises(call):
    with pytest.raises(ShapeError, match="empty tensor of shape"):
        call(Tensor(np.zeros((0, 3))))


def test_where_with_only_a_condition_gives_the_indices_as_pytorch():
    rows, cols = tg.where(Tensor(np.array([[True, False], [False, True]])))
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1] and rows.dtype == np.int64
    with pytest.raises(tg.ArgumentError, match="give both a and b"):
        tg.where(Tensor(np.array([True])), 1.0)


def test_masked_fill_needs_a_bool_mask():
    x = Tensor(np.ones(3))
    with pytest.raises(DTypeError, match="masked_fill: the mask must be a bool tensor"):
        x.masked_fill(Tensor(np.array([0.0, 0.5, 1.0])), 0.0)
    assert x.masked_fill(Tensor(np.array([False, True, False])), 0.0).tolist() == [1, 0, 1]


def test_clamp_of_integers_with_float_bounds_is_of_the_default_float_dtype():
    assert Tensor([1, 2, 3]).clamp(0.5, 2.5).dtype == np.float32  # as PyTorch
    assert Tensor([1, 2, 3]).clamp(1, 2).dtype == np.int64
    np.testing.assert_array_equal(Tensor([1, 2, 3]).clamp(0.5, 2.5).numpy(), [1, 2, 2.5])


@pytest.mark.parametrize("call, message", [
    (lambda: tg.zeros(-1), "zeros: the shape must be ints >= 0"),
    (lambda: tg.ones(2, 2.5), "ones: the shape must be ints"),
    (lambda: tg.randn((3, -2)), "randn: the shape must be ints >= 0"),
    (lambda: tg.arange(0, 1, 0), "arange: step must not be 0"),
    (lambda: tg.linspace(0, 1, -1), "linspace: steps must be an int >= 0"),
    (lambda: tg.randint(5, 2, (2,)), r"randint: low \(5\) must be below high \(2\)"),
])
def test_factories_refuse_bad_shapes_and_ranges_with_their_own_error(call, message):
    # (NumPy's ValueError and ZeroDivisionError came through)
    with pytest.raises(tg.ArgumentError, match=message):
        call()


@pytest.mark.needs_torch
@pytest.mark.parametrize("op, other", [
    (op, other) for op in ("+", "*", "/", "-", "**", "maximum")
    for other in (np.float64(2.5), "0-d float64 tensor")
    if not (op == "maximum" and other != "0-d float64 tensor")])  # torch.maximum: tensors only
def test_numpy_scalars_and_0d_tensors_do_not_promote_a_float32_tensor(op, other):
    # as PyTorch: x32 * np.float64(2) and x32 * a float64 0-d tensor stay float32 (they gave
    # float64, and the next matmul with float32 weights refused the mix)
    import torch

    def run(L, x, y):
        return {"+": lambda: x + y, "*": lambda: x * y, "/": lambda: x / y, "-": lambda: y - x,
                "**": lambda: x ** y, "maximum": lambda: L.maximum(x, y)}[op]()

    a = np.array([0.5, 1.5, 2.0], np.float32)
    x, t = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    if other == "0-d float64 tensor":
        y, ty = Tensor(np.array(1.25), requires_grad=True), torch.tensor(1.25, dtype=torch.float64,
                                                                        requires_grad=True)
    else:
        y, ty = other, other
    ours, theirs = run(tg, x, y), run(torch, t, ty)
    assert ours.dtype == np.float32 and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)
    if isinstance(y, Tensor):
        assert y.grad.dtype == np.float64
        np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-6)


def test_sum_and_mean_take_a_dtype_as_pytorch():
    x = Tensor(np.array([1.0, 2.0, 4.0], np.float32), requires_grad=True)
    s = x.sum(dtype="float64")
    assert s.dtype == np.float64 and s.item() == 7.0
    s.backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1, 1, 1]
    assert Tensor([1, 2]).mean(dtype="float64").dtype == np.float64
    assert Tensor([True, True, False]).sum(dtype="int64").item() == 2


@pytest.mark.parametrize("call", [lambda: Tensor([5, 7]) // 0, lambda: Tensor([5, 7]) % 0,
                                  lambda: Tensor([5, 7]) % Tensor([2, 0]),
                                  lambda: 5 // Tensor([0])])
def test_integer_division_by_zero_raises_as_pytorch(call):
    # NumPy gives 0 (with a warning we silenced): a silently wrong number
    with pytest.raises(ZeroDivisionError, match="integer division by zero"):
        call()
    assert (Tensor([5.0]) // 0).item() == np.inf and (Tensor([5, 7]) // 2).tolist() == [2, 3]


@pytest.mark.needs_torch
@pytest.mark.parametrize("index", [[0, 2], [slice(1, 3), 1], [None, 1], [Ellipsis, 0]])
def test_a_list_index_without_sequences_reads_as_pytorch(index):
    import torch

    a = np.arange(12.0).reshape(3, 4)
    x, t = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch deprecates the non-tuple form
        theirs = t[index]
    ours = x[index]
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_a_list_of_sequences_as_index_warns_that_pytorch_2_reads_it_otherwise():
    # NumPy (and PyTorch's announced future) read it as one index array; PyTorch 2 as a tuple
    x = Tensor(np.arange(12.0).reshape(3, 4))
    with pytest.warns(UserWarning, match=r"x\[rows, cols\]"):
        assert x[[[0, 1], [2, 1]]].shape == (2, 2, 4)
    assert x[[0, 1], [2, 1]].tolist() == [2.0, 5.0]


@pytest.mark.needs_torch
def test_pytorch_spellings_of_common_calls():
    # each raised a TypeError or a NumPy error: PyTorch code ported as is
    import torch

    a = np.arange(8.0).reshape(2, 2, 2)
    np.testing.assert_array_equal(Tensor(a).flip(0, 2).numpy(), torch.tensor(a).flip(0, 2))
    for value in ([-7.0, 7.5], [-7, 7]):
        for mode in ("trunc", "floor"):
            ours = Tensor(value).div(2, rounding_mode=mode)
            theirs = torch.tensor(value).div(2, rounding_mode=mode)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
            assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
    assert Tensor([1.0, 2.0]).add(Tensor([1.0, 1.0]), alpha=3).tolist() == [4.0, 5.0]
    assert Tensor([1.0, 2.0]).sub(1.0, alpha=2).tolist() == [-1.0, 0.0]
    assert tg.zeros(size=(2, 3)).shape == (2, 3) and tg.ones(size=4).shape == (4,)
    assert tg.arange(end=4).tolist() == [0, 1, 2, 3]
    assert tg.randint(10, (3,)).shape == (3,) and tg.randint(high=5, size=(2,)).shape == (2,)
    f32 = np.array([1.0, -2.0], np.float32)
    np.testing.assert_array_equal(Tensor(f32).view(tg.int32).numpy(),
                                  torch.tensor(f32).view(torch.int32).numpy())
    assert Tensor(np.ones((2, 3), np.float32)).softmax(dim=1, dtype="float64").dtype == np.float64
    u8 = np.array([1, 2], np.uint8)
    np.testing.assert_array_equal((Tensor(u8) + 300).numpy(), (torch.tensor(u8) + 300).numpy())
    mask = np.array([True, False])
    filled = Tensor([1, 2]).masked_fill(Tensor(mask), 0.5)  # keeps int64, as PyTorch: 0, not 0.5
    assert filled.dtype == np.int64 and filled.tolist() == [0, 2]
    with pytest.raises(tg.ArgumentError, match="device 'cuda'"):
        Tensor([1.0]).to("cuda")
    assert Tensor([1.0]).to("cpu", "float64").dtype == np.float64
    with pytest.raises(ShapeError, match="rows of different lengths"):
        tg.tensor([[1, 2], [3]])


def test_no_grad_and_inference_mode_decorate_with_or_without_parentheses():
    x = Tensor(np.ones(2), requires_grad=True)

    @tg.no_grad
    def bare():
        return (x * 2).requires_grad

    @tg.inference_mode()
    def called():
        return (x * 2).requires_grad

    assert bare() is False and called() is False and tg.is_grad_enabled()
    with tg.inference_mode(False):
        assert (x * 2).requires_grad


@pytest.mark.parametrize("switch, read", [
    (tg.set_grad_enabled, tg.is_grad_enabled),
    (tg.autograd.set_detect_anomaly, tg.autograd.is_anomaly_enabled)])
def test_set_switches_take_effect_when_called_and_restore_as_context_managers(switch, read):
    start = read()
    try:
        switch(not start)  # called on its own: for the rest of the thread, as PyTorch's
        assert read() is (not start)
        with switch(start):
            assert read() is start
        assert read() is (not start)
    finally:
        switch(start)
    assert read() is start


def test_set_detect_anomaly_turns_the_checks_on():
    with tg.autograd.set_detect_anomaly(True), np.errstate(invalid="ignore"):
        with pytest.raises(tg.AnomalyError, match="log produced 1 NaN"):
            Tensor([-1.0, 1.0], requires_grad=True).log()
    assert not tg.autograd.is_anomaly_enabled()


def test_in_place_ops_on_read_only_memory_say_so():
    t = Tensor(np.broadcast_to(np.ones(3), (2, 3)))
    for edit in (lambda: t.mul_(2), lambda: t.zero_(), lambda: t.fill_(1.0)):
        with pytest.raises(tg.GraphError, match="memory \\(shape \\(2, 3\\)\\) is read-only"):
            edit()
    with pytest.raises(tg.ShapeError, match="does not broadcast"):
        Tensor(np.ones(3)).mul_(np.ones(4))


def test_review_fixes_for_the_pytorch_spellings():
    # integer trunc division is exact (the float32 quotient lost digits past 2**24)
    assert Tensor([16777217]).div(1, rounding_mode="trunc").tolist() == [16777217]
    assert Tensor([-7, 7, -8]).div(2, rounding_mode="trunc").tolist() == [-3, 3, -4]
    with pytest.raises(ZeroDivisionError):
        Tensor([1, 2]).div(0, rounding_mode="trunc")
    with pytest.raises(ZeroDivisionError):
        Tensor([5]) // Tensor(np.array([False]))  # a False divisor is a zero too
    assert Tensor([1.0, 2.0]).add([1.0, 2.0], alpha=2).tolist() == [3.0, 6.0]  # not the list x2
    with pytest.raises(tg.ArgumentError, match="does not fit in 64 bits"):
        Tensor([1]) + 2**70
    y = Tensor([1.0])
    assert y.to(copy=True) is not y and y.to() is y
    with pytest.raises(DTypeError, match="mean: dtype must be a float dtype"):
        y.mean(dtype="int64")
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    x.sign().backward(Tensor(np.array([np.inf, 1.0])))  # zeros, not inf * 0 = NaN
    assert x.grad.tolist() == [0.0, 0.0]
    namespace = {}
    exec("from tinygrad_np import *", namespace)
    assert not {"round", "sum", "max", "min", "abs", "pow"} & set(namespace)
