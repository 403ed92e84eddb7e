"""The speed kernels change no result (``tinygrad_np/_kernels.py``, switched by
``_kernels.ENABLED``).

- W1 (784-128-64-10 ReLU, Adam, batch 32) trained 100 steps through nn.MLP + optim.Adam gives
  the weights of the plain textbook NumPy implementation in benchmarks/, to float32 rounding.
- The same 100 steps with every kernel off (the textbook formulas of ops.py) agree to float32
  rounding: the BLAS row sums add in another order, so they cannot agree bit for bit.
- Each kernel that does the same arithmetic as its formula is bit-identical to it: the bias
  added in place, the cross-entropy's saved softmax, and the leaf that keeps a gradient array
  no one else holds instead of copying it. The convolution and pooling kernels are checked the
  same way in tests/test_conv_pool.py (their y and dx bit for bit, dW and db to rounding).
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import Tensor, _kernels

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


def test_w1_agrees_with_every_kernel_off(monkeypatch):
    fast = _train_w1("tinygrad_np")
    monkeypatch.setattr(_kernels, "ENABLED", False)
    plain = _train_w1("tinygrad_np")
    for a, b in zip(fast, plain):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _both_ways(monkeypatch, run):
    """``run()`` with the kernels on and then off, each result as arrays."""
    on = run()
    monkeypatch.setattr(_kernels, "ENABLED", False)
    off = run()
    monkeypatch.setattr(_kernels, "ENABLED", True)
    return on, off


def test_the_bias_added_in_place_is_bit_identical(monkeypatch):
    rng = np.random.default_rng(0)
    x, w, b = (Tensor(rng.standard_normal(s).astype(np.float32)) for s in ((32, 8), (8, 5), (5,)))
    on, off = _both_ways(monkeypatch, lambda: tg.linear(x, w, b).data.copy())
    np.testing.assert_array_equal(on, off)


def test_the_saved_softmax_is_bit_identical_to_recomputing(monkeypatch):
    rng = np.random.default_rng(1)
    z = Tensor(rng.standard_normal((6, 4, 3)), requires_grad=True)  # 3-D: no row kernel
    labels = np.array([[0, 1, 2], [3, 0, 1], [2, 2, 2], [1, 0, 3], [0, 0, 0], [3, 3, 1]])

    def run():
        z.grad = None
        tg.cross_entropy(z, labels).backward()
        return z.grad.data.copy()

    on, off = _both_ways(monkeypatch, run)
    np.testing.assert_array_equal(on, off)


def test_w1_is_bit_identical_whether_leaves_keep_or_copy_their_gradient(monkeypatch):
    fast = _train_w1("tinygrad_np")
    from tinygrad_np.autograd import engine

    original = engine._add_to_grad
    monkeypatch.setattr(engine, "_add_to_grad",
                        lambda t, g, cg, foreign: original(t, g, cg, foreign | {id(g)}))
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
    assert a.grad is not b.grad and not np.shares_memory(a.grad.data, b.grad.data)
    before = b.grad.data.copy()
    a.grad.data *= 100.0  # what gradient clipping does in place
    np.testing.assert_array_equal(b.grad, before)


def test_a_leaf_never_holds_the_callers_gradient_array():
    (a,) = _leaves((2, 3))
    user_gradient = np.ones((2, 3))
    a.backward(user_gradient)
    b = a * 1.0
    b.backward(user_gradient)
    assert not np.shares_memory(a.grad.data, user_gradient)
    np.testing.assert_array_equal(a.grad, 2 * user_gradient)


def test_a_retained_gradient_is_not_shared_with_a_leaf():
    a, b = _leaves((3,), (3,))
    mid = (a + b).retain_grad()
    (mid * 2.0).sum().backward()
    assert not np.shares_memory(mid.grad.data, a.grad.data)
    assert not np.shares_memory(mid.grad.data, b.grad.data)
    np.testing.assert_array_equal(mid.grad, [2.0, 2.0, 2.0])
