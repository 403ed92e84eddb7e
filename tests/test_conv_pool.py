"""Convolution, pooling, unfold and fold: gradients in float64 (first and second order), PyTorch's
values and gradients where it is installed, the speed kernels against the textbook formulas,
and the errors a learner meets."""

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.nn.functional as F
from tinygrad_np import Tensor, _kernels, gradcheck, gradgradcheck

rng = np.random.default_rng(0)


def param(*shape):
    return Tensor(rng.standard_normal(shape), requires_grad=True)


@pytest.fixture(params=[True, False], ids=["kernels", "formulas"])
def kernels(request, monkeypatch):
    """Run the test with the speed kernels on, then with the textbook formulas only."""
    monkeypatch.setattr(_kernels, "ENABLED", request.param)
    return request.param


# (N, C, H, W), out channels, kernel, stride, padding, dilation, groups
CONVS = [
    ((2, 3, 6, 5), 4, 3, 1, 1, 1, 1),
    ((2, 4, 7, 6), 6, 3, 1, 0, 1, 2),  # groups
    ((1, 2, 8, 9), 3, (2, 3), (2, 1), (1, 0), 1, 1),  # rectangular, strided
    ((2, 2, 9, 9), 2, 3, 2, 2, 2, 1),  # dilated
    ((3, 1, 5, 5), 2, 1, 1, 0, 1, 1),  # 1x1
    ((2, 4, 5, 5), 4, 3, 1, 1, 1, 4),  # depthwise
    ((1, 2, 3, 3), 2, 3, 1, 0, 1, 1),  # one output position
]


@pytest.mark.parametrize("case", CONVS, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_gradcheck(case, bias, kernels):
    shape, O, k, s, p, d, G = case
    k2 = (k, k) if isinstance(k, int) else k
    x, w = param(*shape), param(O, shape[1] // G, *k2)
    b = param(O) if bias else None
    fn = (lambda x, w, b: F.conv2d(x, w, b, s, p, d, G)) if bias else \
        (lambda x, w: F.conv2d(x, w, None, s, p, d, G))
    assert gradcheck(fn, *((x, w, b) if bias else (x, w)))


def test_conv2d_second_order():
    x, w, b = param(2, 2, 5, 4), param(3, 2, 3, 3), param(3)
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1), x, w, b)
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, stride=2, groups=2), param(1, 4, 5, 5),
                         param(2, 2, 3, 3))


def test_conv2d_padding_same_and_valid(kernels):
    x, w3, w4 = param(1, 2, 6, 7), param(3, 2, 3, 3), param(3, 2, 4, 2)
    assert F.conv2d(x, w3, padding="same").shape == (1, 3, 6, 7)
    assert F.conv2d(x, w4, padding="same").shape == (1, 3, 6, 7)  # even: one more bottom/right
    assert F.conv2d(x, w3, padding="valid").shape == (1, 3, 4, 5)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding="same"), x, w4)


def test_one_image_without_a_batch_axis_is_accepted_as_in_pytorch(kernels):
    x, w = param(2, 5, 5), param(3, 2, 3, 3)
    y = F.conv2d(x, w, padding=1)
    assert y.shape == (3, 5, 5)
    np.testing.assert_array_equal(y.data, F.conv2d(x.reshape(1, 2, 5, 5), w, padding=1).data[0])
    assert F.max_pool2d(x, 2).shape == (2, 2, 2) and F.avg_pool2d(x, 2).shape == (2, 2, 2)
    assert F.adaptive_avg_pool2d(x, 1).shape == (2, 1, 1)


POOLS = [  # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 2, 1, 1, True), (2, 3, 0, 1, True),
    ((2, 3), (1, 2), (1, 1), 1, False), (3, 1, 1, 2, False), (2, 2, 1, 1, True), (5, 5, 0, 1, True),
]


@pytest.mark.parametrize("case", POOLS, ids=str)
def test_max_pool2d_gradcheck(case, kernels):
    k, s, p, d, ceil = case
    x = param(2, 3, 7, 8)  # random values: no ties, so the maximum is differentiable
    assert gradcheck(lambda x: F.max_pool2d(x, k, s, p, d, ceil), x)


@pytest.mark.parametrize("case", POOLS, ids=str)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_gradcheck(case, count_include_pad, kernels):
    k, s, p, _, ceil = case
    x = param(2, 2, 7, 8)
    assert gradcheck(lambda x: F.avg_pool2d(x, k, s, p, ceil, count_include_pad), x)
    assert gradcheck(lambda x: F.avg_pool2d(x, k, s, p, ceil, divisor_override=3), x)


def test_pool_second_order():
    x = param(1, 2, 6, 6)
    assert gradgradcheck(lambda x: F.max_pool2d(x, 3, 2, 1) ** 2, x)
    assert gradgradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False) ** 2, x)
    assert gradgradcheck(lambda x: F.adaptive_avg_pool2d(x, (4, 3)) ** 2, x)


@pytest.mark.parametrize("size", [1, (2, 3), (4, 4), (5, 2), (None, 2), 6])
def test_adaptive_avg_pool2d_gradcheck(size):
    x = param(2, 2, 6, 5)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, size), x)


def test_unfold_fold_gradcheck():
    x = param(2, 2, 5, 6)
    assert gradcheck(lambda x: F.unfold(x, 3, dilation=1, padding=1, stride=2), x)
    cols = param(2, 2 * 4, 12)
    assert gradcheck(lambda c: F.fold(c, (4, 5), 2, stride=1), cols)


def test_ties_route_the_gradient_to_the_first_maximum_of_each_window(kernels):
    x = Tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    want = np.zeros((4, 4))
    want[::2, ::2] = 1  # the top-left element of every window
    np.testing.assert_array_equal(x.grad.data[0, 0], want)
    x.grad = None
    F.max_pool2d(x, 3, stride=1).sum().backward()  # overlapping: each window's first element
    np.testing.assert_array_equal(x.grad.data[0, 0], [[1, 1, 0, 0], [1, 1, 0, 0],
                                                      [0, 0, 0, 0], [0, 0, 0, 0]])


def test_max_pool2d_return_indices():
    x = Tensor(rng.standard_normal((2, 3, 7, 6)))
    y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    flat = x.data.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.data.reshape(2, 3, -1), 2),
                                  y.data.reshape(2, 3, -1))


# --- the speed kernels give what the textbook formulas give ---------------------------------


def _run_both(monkeypatch, run):
    monkeypatch.setattr(_kernels, "ENABLED", True)
    on = run()
    monkeypatch.setattr(_kernels, "ENABLED", False)
    off = run()
    monkeypatch.setattr(_kernels, "ENABLED", True)
    return on, off


@pytest.mark.parametrize("case", CONVS + [((64, 16, 14, 14), 32, 3, 1, 1, 1, 1)], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv_kernel_against_the_formula(case, dtype, monkeypatch):
    """The chunked kernel multiplies sample by sample as the formula does: y and dx are
    bit-identical; dW and db add the samples in another order (equal to float rounding)."""
    shape, O, k, s, p, d, G = case
    k2 = (k, k) if isinstance(k, int) else k
    r = np.random.default_rng(1)
    x = Tensor(r.standard_normal(shape).astype(dtype), requires_grad=True)
    w = Tensor(r.standard_normal((O, shape[1] // G, *k2)).astype(dtype), requires_grad=True)
    b = Tensor(r.standard_normal(O).astype(dtype), requires_grad=True)

    def run():
        x.grad = w.grad = b.grad = None
        y = F.conv2d(x, w, b, s, p, d, G)
        (y * y).sum().backward()
        return [t.data.copy() for t in (y, x.grad, w.grad, b.grad)]

    (y1, dx1, dw1, db1), (y0, dx0, dw0, db0) = _run_both(monkeypatch, run)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(dx1, dx0)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(dw1, dw0, rtol=tol, atol=tol * np.abs(dw0).max())
    np.testing.assert_allclose(db1, db0, rtol=tol, atol=tol * np.abs(db0).max())


def test_conv_kernel_splits_the_batch_into_chunks(monkeypatch):
    """Small chunks (one sample each) give what one chunk gives: the chunking is exercised."""
    r = np.random.default_rng(2)
    x = Tensor(r.standard_normal((5, 3, 6, 6)), requires_grad=True)
    w = Tensor(r.standard_normal((4, 3, 3, 3)), requires_grad=True)

    def run():
        x.grad = w.grad = None
        F.conv2d(x, w, padding=1).sum().backward()
        return x.grad.data.copy(), w.grad.data.copy()

    whole = run()
    monkeypatch.setattr(_kernels, "CHUNK_BYTES", 1)
    assert _kernels._chunk(5, 27, 36, 8) == 1
    one_by_one = run()
    np.testing.assert_array_equal(whole[0], one_by_one[0])
    np.testing.assert_allclose(whole[1], one_by_one[1], rtol=1e-12)


@pytest.mark.parametrize("case", POOLS, ids=str)
def test_max_pool_kernel_is_bit_identical_to_the_formula(case, monkeypatch):
    k, s, p, d, ceil = case
    r = np.random.default_rng(3)
    data = r.integers(0, 4, (2, 3, 9, 8)).astype(np.float32)  # many ties
    x = Tensor(data, requires_grad=True)
    g = r.standard_normal(F.max_pool2d(Tensor(data), k, s, p, d, ceil).shape).astype(np.float32)

    def run():
        x.grad = None
        y = F.max_pool2d(x, k, s, p, d, ceil)
        y.backward(g)
        return y.data.copy(), x.grad.data.copy()

    (y1, dx1), (y0, dx0) = _run_both(monkeypatch, run)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(dx1, dx0)


def test_max_pool_kernel_leaves_nan_to_the_formula(monkeypatch):
    data = np.arange(16.0).reshape(1, 1, 4, 4)
    data[0, 0, 0, 1] = data[0, 0, 3, 3] = np.nan
    x = Tensor(data, requires_grad=True)

    def run():
        x.grad = None
        y = F.max_pool2d(x, 2)
        y.sum().backward()
        return y.data.copy(), x.grad.data.copy()

    (y1, dx1), (y0, dx0) = _run_both(monkeypatch, run)
    np.testing.assert_array_equal(y1, y0)  # NaN where a window holds one, as PyTorch
    assert np.isnan(y1[0, 0, 0, 0]) and np.isnan(y1[0, 0, 1, 1])
    np.testing.assert_array_equal(dx1, dx0)
    assert dx1[0, 0, 0, 1] == 1 and dx1[0, 0, 3, 3] == 1  # the NaN takes the gradient


@pytest.mark.parametrize("forward_on,backward_on", [(True, False), (False, True)])
def test_kernels_switched_between_forward_and_backward(forward_on, backward_on, monkeypatch):
    """A backward works whichever way its forward ran (the kernel's stash may be missing)."""
    x, w = param(2, 2, 6, 6), param(3, 2, 3, 3)

    def run(fwd, bwd):
        x.grad = w.grad = None
        monkeypatch.setattr(_kernels, "ENABLED", fwd)
        y = F.max_pool2d(F.conv2d(x, w, padding=1), 2)
        monkeypatch.setattr(_kernels, "ENABLED", bwd)
        y.sum().backward()
        return x.grad.data.copy(), w.grad.data.copy()

    for a, b in zip(run(True, True), run(forward_on, backward_on)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_create_graph_through_the_kernels_uses_the_formulas():
    x, w = param(1, 2, 5, 5), param(2, 2, 3, 3)
    y = F.max_pool2d(F.conv2d(x, w, padding=1), 2, 1)
    (gx,) = tg.autograd.grad((y * y).sum(), [x], create_graph=True)
    assert gx.requires_grad and gx.grad_fn is not None
    gx.sum().backward()
    assert w.grad is not None and np.isfinite(w.grad.data).all()


# --- PyTorch as the reference ------------------------------------------------------------------


@pytest.mark.needs_torch
@pytest.mark.parametrize("case", CONVS, ids=str)
def test_conv2d_matches_pytorch(case, kernels):
    import torch

    shape, O, k, s, p, d, G = case
    k2 = (k, k) if isinstance(k, int) else k
    xs, ws, bs = rng.standard_normal(shape), rng.standard_normal((O, shape[1] // G, *k2)), \
        rng.standard_normal(O)
    x, w, b = (Tensor(a, requires_grad=True) for a in (xs, ws, bs))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (xs, ws, bs))
    y = F.conv2d(x, w, b, s, p, d, G)
    ty = torch.nn.functional.conv2d(tx, tw, tb, s, p, d, G)
    g = rng.standard_normal(ty.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    for ours, theirs in ((y, ty), (x.grad, tx.grad), (w.grad, tw.grad), (b.grad, tb.grad)):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-6, atol=1e-9)


def _torch_pool_pair(fn_ours, fn_torch, data):
    import torch

    x, tx = Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = fn_ours(x), fn_torch(tx)
    g = rng.standard_normal(ty.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.needs_torch
@pytest.mark.parametrize("case", POOLS, ids=str)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_matches_pytorch(case, ties, kernels):
    import torch

    k, s, p, d, ceil = case
    data = rng.integers(0, 3, (2, 3, 9, 8)).astype(float) if ties else \
        rng.standard_normal((2, 3, 9, 8))
    _torch_pool_pair(lambda x: F.max_pool2d(x, k, s, p, d, ceil),
                     lambda x: torch.nn.functional.max_pool2d(x, k, s, p, d, ceil), data)
    y, idx = F.max_pool2d(Tensor(data), k, s, p, d, ceil, return_indices=True)
    _, tidx = torch.nn.functional.max_pool2d(torch.tensor(data), k, s, p, d, ceil,
                                             return_indices=True)
    np.testing.assert_array_equal(idx.data, tidx.numpy())


@pytest.mark.needs_torch
@pytest.mark.parametrize("case", POOLS, ids=str)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("divisor_override", [None, 2])
def test_avg_pool2d_matches_pytorch(case, count_include_pad, divisor_override, kernels):
    import torch

    k, s, p, _, ceil = case
    _torch_pool_pair(
        lambda x: F.avg_pool2d(x, k, s, p, ceil, count_include_pad, divisor_override),
        lambda x: torch.nn.functional.avg_pool2d(x, k, s, p, ceil, count_include_pad,
                                                 divisor_override),
        rng.standard_normal((2, 2, 9, 7)))


@pytest.mark.needs_torch
@pytest.mark.parametrize("size", [1, (2, 3), (4, 4), (5, 2), (None, 2), 7, (3, None)])
def test_adaptive_avg_pool2d_matches_pytorch(size):
    import torch

    _torch_pool_pair(lambda x: F.adaptive_avg_pool2d(x, size),
                     lambda x: torch.nn.functional.adaptive_avg_pool2d(x, size),
                     rng.standard_normal((2, 3, 7, 6)))


@pytest.mark.needs_torch
def test_unfold_and_fold_match_pytorch():
    import torch

    data = rng.standard_normal((2, 3, 7, 6))
    _torch_pool_pair(lambda x: F.unfold(x, (2, 3), 2, 1, (2, 1)),
                     lambda x: torch.nn.functional.unfold(x, (2, 3), 2, 1, (2, 1)), data)
    cols = rng.standard_normal((2, 3 * 4, 20))
    _torch_pool_pair(lambda c: F.fold(c, (5, 6), 2), lambda c: torch.nn.functional.fold(
        c, (5, 6), 2), cols)


# --- errors ---------------------------------------------------------------------------------


def test_channels_last_input_names_the_permute():
    x, w = Tensor(np.zeros((8, 32, 32, 3))), Tensor(np.zeros((16, 3, 3, 3)))
    with pytest.raises(tg.ShapeError, match=r"conv2d: expected 3 input channels.*\(8, 32, 32, 3\)"
                                            r".*channels-last.*x\.permute\(0, 3, 1, 2\)"):
        F.conv2d(x, w)


def test_flat_images_and_missing_channel_axis_say_how_to_reshape():
    w = Tensor(np.zeros((16, 1, 3, 3)))
    with pytest.raises(tg.ShapeError, match=r"\(64, 784\).*x\.reshape\(-1, 1, 28, 28\)"):
        F.conv2d(Tensor(np.zeros((64, 784))), w)
    with pytest.raises(tg.ShapeError, match=r"batch of 64 one-channel images.*x\.unsqueeze\(1\)"):
        F.conv2d(Tensor(np.zeros((64, 28, 28))), w)


def test_an_input_smaller_than_the_kernel_says_so():
    with pytest.raises(tg.ShapeError, match=r"max_pool2d: an input of spatial size \(1, 1\).*"
                                            r"smaller than the kernel \(2, 2\).*downsample less"):
        F.max_pool2d(Tensor(np.zeros((1, 1, 1, 1))), 2)


def test_pool_arguments_are_checked():
    x = Tensor(np.zeros((1, 1, 4, 4)))
    with pytest.raises(tg.ArgumentError, match="padding .* at most half the kernel"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(tg.ArgumentError, match="kernel_size must be an int or a pair"):
        F.avg_pool2d(x, 2.5)
    with pytest.raises(tg.ArgumentError, match="divisor_override"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(tg.ArgumentError, match="padding='same' needs stride 1"):
        F.conv2d(x, Tensor(np.zeros((1, 1, 3, 3))), stride=2, padding="same")
