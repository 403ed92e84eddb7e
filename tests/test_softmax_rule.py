"""The rule every seed derives by hand: for softmax + cross-entropy, dZ = (A - Y) / m.

Checked three ways: against the fused op's gradient, against the graph through
nll(log_softmax(Z)), and against central differences; then the seeds' full hand-derived
backprop for small networks against autodiff, and seed 001's printed fixture.
"""

import numpy as np
import pytest
import seed001_cells
from seed001_cells import DW1_58, DW2_59, LABELS, LOSS_54, W1, W2, Y_HAT_50

from tinygrad_np import Tensor, concatenate, gradcheck


def softmax_np(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


@pytest.fixture
def batch():
    rng = np.random.default_rng(7)
    Z = rng.standard_normal((6, 5)) * 3
    labels = rng.integers(0, 5, size=6)
    return Z, labels, np.eye(5)[labels]


@pytest.mark.parametrize("targets", ["labels", "one_hot"])
def test_fused_cross_entropy_gradient_is_A_minus_Y_over_m(batch, targets):
    Z, labels, Y = batch
    z = Tensor(Z.copy(), requires_grad=True)
    loss = z.cross_entropy(labels if targets == "labels" else Y)
    loss.backward()
    np.testing.assert_allclose(z.grad, (softmax_np(Z) - Y) / len(Z), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loss.item(), -np.mean(np.log(softmax_np(Z))[np.arange(6), labels]))
    assert gradcheck(lambda z: z.cross_entropy(labels if targets == "labels" else Y),
                     Tensor(Z.copy(), requires_grad=True))


def test_composition_through_graph_matches_fused_op(batch):
    Z, labels, _ = batch
    fused, composed = Tensor(Z.copy(), requires_grad=True), Tensor(Z.copy(), requires_grad=True)
    fused.cross_entropy(labels).backward()
    nll = -composed.log_softmax(axis=1)[np.arange(len(Z)), labels].mean()
    nll.backward()
    np.testing.assert_allclose(composed.grad, fused.grad, rtol=1e-12, atol=1e-15)
    # and via softmax then log (the seeds' literal formula), one-hot mask instead of indexing
    explicit = Tensor(Z.copy(), requires_grad=True)
    Y = np.eye(5)[labels]
    (-(Y * explicit.softmax(axis=1).log()).sum() / len(Z)).backward()
    np.testing.assert_allclose(explicit.grad, fused.grad, rtol=1e-10, atol=1e-13)


def test_cross_entropy_is_stable_for_huge_logits():
    z = Tensor(np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 1e4]]), requires_grad=True)
    loss = z.cross_entropy(np.array([0, 0]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(z.grad).all()
    np.testing.assert_allclose(loss.item(), (0.0 + 1e4) / 2)


# --- seed 001's printed cells [43]-[59] -----------------------------------------------------

X = np.c_[np.ones(3), seed001_cells.X]  # the seed's layout: a bias column of ones
Y = np.eye(4)[LABELS]


def seed001_forward(w1, w2, x):
    """The seed's forward in Tensor ops: column layout, bias as a row of ones."""
    a1 = (w1 @ x.T).tanh()
    a1 = concatenate([np.ones((1, a1.shape[1])), a1], axis=0)
    return (w2 @ a1).softmax(axis=0)


def seed001_loss(w1, w2):
    y_hat = seed001_forward(w1, w2, Tensor(X))
    return -(Tensor(Y.T) * y_hat.log()).sum() / Y.shape[0]


def seed001_hand_gradients():
    """Cell [56] verbatim in NumPy: the seed's own (wrong) backward."""
    z1 = W1 @ X.T
    a1 = np.r_[np.ones((1, 3)), np.tanh(z1)]
    z2 = W2 @ a1
    sm = np.exp(z2) / np.exp(z2).sum(axis=0)
    dj_dz2 = (sm - Y.T) * (sm * (1 - sm))
    dj_dw2 = dj_dz2 @ a1.T
    dj_dz1 = (dj_dz2.T @ W2[:, 1:]).T * (1 - np.tanh(z1) ** 2)
    return dj_dz1 @ X, dj_dw2


def test_seed001_forward_reproduces_printed_cells():
    y_hat = seed001_forward(Tensor(W1), Tensor(W2), Tensor(X))
    np.testing.assert_allclose(y_hat.data, Y_HAT_50, atol=6e-9)
    assert abs(seed001_loss(Tensor(W1), Tensor(W2)).item() - LOSS_54) < 1e-8


def test_seed001_formula_reproduces_its_printed_gradients():
    dw1, dw2 = seed001_hand_gradients()
    np.testing.assert_allclose(dw1, DW1_58, atol=6e-9)
    np.testing.assert_allclose(dw2, DW2_59, atol=6e-9)


def test_seed001_true_gradient_differs_from_the_seeds():
    w1, w2 = Tensor(W1.copy(), requires_grad=True), Tensor(W2.copy(), requires_grad=True)
    seed001_loss(w1, w2).backward()
    # autodiff agrees with central differences...
    assert gradcheck(seed001_loss, Tensor(W1.copy(), requires_grad=True),
                     Tensor(W2.copy(), requires_grad=True))
    # ...and with the correct rule dZ2 = (A - Y) / m ...
    a1 = np.r_[np.ones((1, 3)), np.tanh(W1 @ X.T)]
    np.testing.assert_allclose(w2.grad, (Y_HAT_50 - Y.T) / 3 @ a1.T, atol=1e-8)
    # ...and not with the seed's formula, which multiplies by softmax' again and skips 1/m
    dw1, dw2 = seed001_hand_gradients()
    assert np.abs(w2.grad - dw2).max() > 0.01
    assert np.abs(w1.grad - dw1).max() > 0.005


# --- the seeds' hand-derived backprop for whole networks ------------------------------------


def hand_backprop(Ws, bs, X, Y, act):
    """Seeds' equations (row layout): dZ_L = (A - Y)/m, dZ_l = (dZ_{l+1} W^T) * g'(Z_l)."""
    As, Zs = [X], []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        Z = As[-1] @ W + b
        Zs.append(Z)
        As.append(softmax_np(Z) if i == len(Ws) - 1 else act[0](Z))
    m = len(X)
    dZ = (As[-1] - Y) / m
    grads = []
    for i in reversed(range(len(Ws))):
        grads.append((As[i].T @ dZ, dZ.sum(axis=0)))
        if i:
            dZ = (dZ @ Ws[i].T) * act[1](Zs[i - 1])
    return grads[::-1]


ACTS = {
    "tanh": ((np.tanh, lambda z: 1 - np.tanh(z) ** 2), "tanh"),
    "relu": ((lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(z.dtype)), "relu"),
}


@pytest.mark.parametrize("act,sizes", [("tanh", [5, 4, 3]), ("relu", [6, 5, 4, 3])])
def test_hand_backprop_autodiff_and_numeric_agree(act, sizes):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((8, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=8)
    Y = np.eye(sizes[-1])[labels]
    Ws = [rng.standard_normal((a, b)) * 0.7 for a, b in zip(sizes, sizes[1:])]
    bs = [rng.standard_normal(b) * 0.1 for b in sizes[1:]]
    fns, name = ACTS[act]

    def loss_fn(*params):
        h = Tensor(X)
        for i in range(len(Ws)):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < len(Ws) - 1:
                h = getattr(h, name)()
        return h.cross_entropy(labels)

    params = [Tensor(p.copy(), requires_grad=True) for pair in zip(Ws, bs) for p in pair]
    loss_fn(*params).backward()
    for i, (dW, db) in enumerate(hand_backprop(Ws, bs, X, Y, fns)):
        np.testing.assert_allclose(params[2 * i].grad, dW, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(params[2 * i + 1].grad, db, rtol=1e-10, atol=1e-12)
    assert gradcheck(loss_fn, *[Tensor(p.data.copy(), requires_grad=True) for p in params])
