"""The speed-ups change no result.

- W1 (784-128-64-10 ReLU, Adam, batch 32) trained 100 steps through nn.MLP + optim.Adam gives
  the weights of the plain textbook NumPy implementation in benchmarks/, to float32 rounding.
- The same 100 steps with nn.Linear as matmul + add and NumPy's own row reductions (no fused
  linear op, no BLAS sums, no transposed row max) agree to float32 rounding.
- Leaves keep a gradient array no one else holds instead of copying it: with the copy forced
  back, the 100 steps give bit-identical weights; and no two tensors ever share a .grad array.
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_np import Tensor, nn, ops, tensor

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.run import train_steps  # noqa: E402
from benchmarks.workloads import WORKLOADS, initial_weights  # noqa: E402

W1 = dataclasses.replace(WORKLOADS["W1"], n_samples=3200)  # 100 steps = one epoch


def _train_w1(framework: str, steps: int = 100) -> list[np.ndarray]:
    return train_steps(framework, W1, steps)


def test_w1_matches_textbook_numpy_to_float32_rounding():
    ours, textbook = _train_w1("tinygrad_np"), _train_w1("numpy")
    start = [a for layer in initial_weights(W1.sizes) for a in layer]
    for got, want, w0 in zip(ours, textbook, start):
        assert np.abs(want - w0).max() > 1e-2  # 100 Adam steps of lr 1e-3 moved the weights
        # Adam's step is lr * m / sqrt(v): rounding in g of one part in 1e7 moves it a little
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_w1_agrees_without_the_fused_linear_and_the_blas_row_reductions(monkeypatch):
    fast = _train_w1("tinygrad_np")
    monkeypatch.setattr(nn.Linear, "forward", lambda self, x: x @ self.weight + self.bias)
    monkeypatch.setattr(ops, "sum_rows", lambda g: g.sum(axis=0))
    monkeypatch.setattr(ops, "_row_max", lambda Z: Z.max(axis=1, keepdims=True))
    monkeypatch.setattr(ops, "_row_sum", lambda E: E.sum(axis=1, keepdims=True))
    plain = _train_w1("tinygrad_np")
    for a, b in zip(fast, plain):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _always_copy(node, g, owned):
    return _original_accumulate(node, g, False)


_original_accumulate = tensor._accumulate_leaf


def test_w1_is_bit_identical_without_the_gradient_copy_elision(monkeypatch):
    fast = _train_w1("tinygrad_np")
    monkeypatch.setattr(tensor, "_accumulate_leaf", _always_copy)
    slow = _train_w1("tinygrad_np")
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)


def _leaves(*shapes):
    rng = np.random.default_rng(0)
    return [Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


@pytest.mark.parametrize("build", [
    lambda a, b: (a + b) * 2.0,  # add hands the same (fresh) gradient to both parents
    lambda a, b: a - b,
    lambda a, b: (a + b) + a,  # a gets two contributions
    lambda a, b: a * 1.0 + b.reshape(3, 4),  # b's gradient is a view
    lambda a, b: (a @ b.T) @ b,
])
def test_no_two_tensors_share_a_gradient_array(build):
    a, b = _leaves((3, 4), (3, 4))
    build(a, b).sum().backward()
    assert a.grad is not b.grad and not np.shares_memory(a.grad, b.grad)
    before = b.grad.copy()
    a.grad *= 100.0  # what gradient clipping does in place
    np.testing.assert_array_equal(b.grad, before)


def test_a_leaf_never_holds_the_callers_gradient_array():
    (a,) = _leaves((2, 3))
    user_gradient = np.ones((2, 3))
    a.backward(user_gradient)
    b = a * 1.0
    b.backward(user_gradient)
    assert not np.shares_memory(a.grad, user_gradient)
    np.testing.assert_array_equal(a.grad, 2 * user_gradient)


def test_a_retained_gradient_is_not_shared_with_a_leaf():
    a, b = _leaves((3,), (3,))
    mid = (a + b).retain_grad()
    (mid * 2.0).sum().backward()
    assert not np.shares_memory(mid.grad, a.grad) and not np.shares_memory(mid.grad, b.grad)
    np.testing.assert_array_equal(mid.grad, [2.0, 2.0, 2.0])
