"""nn.utils.clip_grad_norm_ and clip_grad_value_: against torch.nn.utils, in place, noted."""

import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import Tensor, nn, optim

SHAPES = [(4, 3), (3,), (), (0, 2), (5, 1)]


def with_grads(seed=0, scale=1.0, dtype=np.float64, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    params = [Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]
    for p in params:
        p.grad = (rng.standard_normal(p.shape) * scale).astype(dtype)
    params.append(Tensor(np.ones(2, dtype), requires_grad=True))  # no grad: skipped
    return params


@pytest.mark.needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf, "inf", 0.0, -math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    import torch

    # torch has no infinity norm of an empty tensor (we take the reduction's identity)
    params = with_grads(shapes=SHAPES if norm_type not in (math.inf, "inf", -math.inf)
                        else SHAPES[:3])
    tparams = [torch.tensor(p.data, requires_grad=True) for p in params]
    for p, t in zip(params, tparams):
        if p.grad is not None:
            t.grad = torch.tensor(p.grad.data)
    grads = [p.grad for p in params if p.grad is not None]
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type=norm_type)
    assert isinstance(total, Tensor) and total.shape == () and total.dtype == np.float64
    np.testing.assert_allclose(float(total), float(ttotal), rtol=1e-12)
    assert [p.grad for p in params if p.grad is not None] == grads  # the same tensors
    for p, t in zip(params, tparams):
        if p.grad is not None:
            np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_clip_grad_norm_float32_whose_squares_overflow_and_a_single_tensor():
    params = with_grads(dtype=np.float32, scale=1e19)  # squares overflow float32 (torch: inf)
    grads = [p.grad.data.astype(np.float64) for p in params if p.grad is not None]
    expected = math.sqrt(sum(float((g * g).sum()) for g in grads))
    total = nn.utils.clip_grad_norm_(params, 1.0)
    assert total.dtype == np.float32
    np.testing.assert_allclose(float(total), expected, rtol=1e-5)
    np.testing.assert_allclose(params[0].grad.data, grads[0] / expected, rtol=1e-5)
    w = Tensor(np.ones(4), requires_grad=True)
    w.grad = np.full(4, 3.0)
    assert float(nn.utils.clip_grad_norm_(w, 1.0)) == 6.0
    np.testing.assert_allclose(w.grad.data, 3.0 / (6.0 + 1e-6))


def test_below_max_norm_nothing_changes_and_no_grads_give_zero():
    params = with_grads(scale=1e-3)
    before = [p.grad.data.copy() for p in params if p.grad is not None]
    nn.utils.clip_grad_norm_(params, 10.0)
    assert all(np.array_equal(p.grad.data, b) for p, b in
               zip([p for p in params if p.grad is not None], before))
    assert float(nn.utils.clip_grad_norm_([Tensor(np.ones(2), requires_grad=True)], 1.0)) == 0


def test_non_finite_total_norms():
    params = with_grads()
    params[0].grad.data[0, 0] = np.nan
    with pytest.raises(tg.OptimizerError, match=r"total 2.0-norm of the gradients is nan.*"
                                                 "error_if_nonfinite=False"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert not np.isnan(params[1].grad.data).any()  # nothing changed
    total = nn.utils.clip_grad_norm_(params, 1.0)  # as torch: scaled by NaN
    assert math.isnan(float(total)) and np.isnan(params[1].grad.data).all()
    with pytest.raises(tg.OptimizerError, match="NaN"):
        optim.SGD(params[:2], lr=0.1).step()  # and the optimizer refuses them


@pytest.mark.needs_torch
def test_clip_grad_value_matches_torch_and_names_bad_arguments():
    import torch

    params = with_grads(scale=2.0)
    t = [torch.tensor(p.data) for p in params]
    for p, q in zip(params, t):
        if p.grad is not None:
            q.grad = torch.tensor(p.grad.data)
    assert nn.utils.clip_grad_value_(params, 0.7) is None
    torch.nn.utils.clip_grad_value_(t, 0.7)
    for p, q in zip(params, t):
        if p.grad is not None:
            np.testing.assert_array_equal(p.grad.data, q.grad.numpy())
    with pytest.raises(tg.ArgumentError, match="clip_value must be >= 0"):
        nn.utils.clip_grad_value_(params, -1)
    with pytest.raises(tg.ArgumentError, match="max_norm must be a number, got '1'"):
        nn.utils.clip_grad_norm_(params, "1")
    with pytest.raises(tg.ArgumentError, match="parameter 0 is a ndarray"):
        nn.utils.clip_grad_norm_([np.ones(2)], 1.0)
    with pytest.raises(tg.ArgumentError, match="pass model.parameters()"):
        nn.utils.clip_grad_norm_(3, 1.0)


def test_clipping_is_a_noted_write_and_training_with_it_works():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * w).sum().backward(create_graph=True)
    g = w.grad
    h = (g * g).sum()  # a graph that saved the gradient
    nn.utils.clip_grad_norm_([w], 0.1)
    with pytest.raises(tg.GraphError):
        h.backward()  # the guard saw the in-place write
    model = nn.MLP([4, 8, 3], rng=np.random.default_rng(0))
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    X, y = np.random.default_rng(1).standard_normal((16, 4)).astype(np.float32), np.arange(16) % 3
    for _ in range(20):
        opt.zero_grad()
        loss = nn.cross_entropy(model(Tensor(X)), y)
        loss.backward()
        assert float(nn.utils.clip_grad_norm_(model.parameters(), 0.5)) >= 0
        opt.step()
    assert float(loss) < 1.0


@pytest.mark.parametrize("max_norm", [-1.0, float("nan"), -math.inf])
def test_clip_grad_norm_refuses_a_negative_or_nan_max_norm(max_norm):
    w = Tensor(np.zeros(2), requires_grad=True)
    w.grad = np.array([3.0, 4.0])
    with pytest.raises(tg.ArgumentError, match="clip_grad_norm_: max_norm must be >= 0"):
        nn.utils.clip_grad_norm_([w], max_norm=max_norm)
    np.testing.assert_array_equal(w.grad.data, [3.0, 4.0])  # untouched
