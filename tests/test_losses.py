"""Losses and accuracy: values, float64 gradients, stability at extreme inputs, PyTorch parity."""

import numpy as np
import pytest

from tinygrad_np import OutOfRangeError, ShapeError, Tensor, gradcheck, nn

rng = np.random.default_rng(0)
Z = rng.standard_normal((6, 4)) * 2
LABELS = np.array([0, 3, 1, 2, 3, 0])
ONE_HOT = np.eye(4)[LABELS]


def t64(a):
    return Tensor(np.array(a, dtype=np.float64), requires_grad=True)


def test_cross_entropy_is_the_fused_op_and_nll_of_log_softmax_agrees():
    for targets in (LABELS, ONE_HOT):
        for reduction in ("mean", "sum", "none"):
            a, b = t64(Z), t64(Z)
            fused = nn.cross_entropy(a, targets, reduction)
            composite = nn.nll_loss(b.log_softmax(axis=1), targets, reduction)
            assert fused.op == "cross_entropy"
            np.testing.assert_allclose(fused.data, composite.data, rtol=1e-12)
            fused.sum().backward()
            composite.sum().backward()
            np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10, atol=1e-14)


def test_nll_loss_value_and_gradient():
    logp = np.log(np.full((2, 3), 1 / 3))
    loss = nn.nll_loss(Tensor(logp), np.array([0, 2]))
    assert loss.item() == pytest.approx(np.log(3))
    x = t64(Z)
    assert gradcheck(lambda x: nn.nll_loss(x, LABELS, "sum"), x)
    with pytest.raises(OutOfRangeError, match="label 4 is out of range for 4 classes"):
        nn.nll_loss(x, np.array([0, 1, 2, 3, 4, 0]))
    with pytest.raises(ValueError, match="reduction must be"):
        nn.nll_loss(x, LABELS, reduction="avg")


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8, np.uint64])
def test_cross_entropy_checks_labels_of_every_integer_dtype(dtype):
    x = t64(Z)  # 6 rows, 4 classes
    good = np.array([0, 1, 2, 3, 3, 0], dtype=dtype)
    ref = nn.cross_entropy(x, good.astype(np.int64)).item()
    assert nn.cross_entropy(x, good).item() == pytest.approx(ref, rel=1e-12)
    with pytest.raises(OutOfRangeError, match="label 4 is out of range for 4 classes"):
        nn.cross_entropy(x, np.array([0, 1, 4, 3, 3, 0], dtype=dtype))
    if np.dtype(dtype).kind == "i":  # a negative label is refused, not read from the end
        with pytest.raises(OutOfRangeError, match="label -1 is out of range"):
            nn.cross_entropy(x, np.array([0, -1, 2, 3, 3, 0], dtype=dtype))
        ignored = np.array([0, -100 if np.dtype(dtype).itemsize > 1 else -1, 2, 3, 3, 0], dtype)
        kept = nn.cross_entropy(x, ignored, ignore_index=int(ignored[1]), reduction="sum")
        expected = nn.cross_entropy(x, good.astype(np.int64), reduction="none").data
        assert kept.item() == pytest.approx(expected.sum() - expected[1], rel=1e-12)
    # an ignore_index that is a class: that class's rows count for nothing
    loss = nn.cross_entropy(x, good, ignore_index=3, reduction="sum").item()
    per = nn.cross_entropy(x, good.astype(np.int64), reduction="none").data
    assert loss == pytest.approx(per[good != 3].sum(), rel=1e-12)


def test_cross_entropy_checks_labels_in_either_byte_order():
    x = t64(Z)
    for order in "<>":
        labels = np.array([0, 1, 2, 3, 3, 0], f"{order}i2")
        assert nn.cross_entropy(x, labels).item() == pytest.approx(
            nn.cross_entropy(x, labels.astype(np.int64)).item(), rel=1e-12)
        labels = np.zeros(6, f"{order}i2")  # (0 reads the same in either order)
        labels[0] = 256  # its bytes read in the other order are label 1
        with pytest.raises(OutOfRangeError, match="label 256 is out of range"):
            nn.cross_entropy(x, labels)


def test_mse_loss():
    p, y = t64([[1.0, 2.0], [3.0, 5.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    assert nn.mse_loss(p, y).item() == pytest.approx((0 + 4 + 9 + 16) / 4)
    assert nn.mse_loss(p, y, "sum").item() == pytest.approx(29)
    assert nn.mse_loss(p, y, "none").shape == (2, 2)
    assert gradcheck(lambda p: nn.mse_loss(p, y), p)
    with pytest.raises(ShapeError, match=r"\(2, 2\) and target of shape \(2,\) differ"):
        nn.mse_loss(p, np.zeros(2))


def bce_reference(p, y):
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_binary_cross_entropy_values_and_gradients():
    p = rng.uniform(0.05, 0.95, (5, 3))
    y = rng.uniform(0, 1, (5, 3))
    for reduction, expected in [("mean", bce_reference(p, y).mean()),
                                ("sum", bce_reference(p, y).sum()),
                                ("none", bce_reference(p, y))]:
        np.testing.assert_allclose(nn.binary_cross_entropy(t64(p), y, reduction).data, expected,
                                   rtol=1e-12)
        assert gradcheck(lambda x, r=reduction: nn.binary_cross_entropy(x, y, r), t64(p))


def test_binary_cross_entropy_clamps_like_pytorch_at_0_and_1():
    p, y = t64([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    loss = nn.binary_cross_entropy(p, y, "none")
    np.testing.assert_array_equal(loss.data, [100, 100, 0, 0])
    loss.sum().backward()
    assert np.isfinite(p.grad).all()
    with pytest.raises(OutOfRangeError, match=r"probabilities in \[0, 1\].*with_logits"):
        nn.binary_cross_entropy(t64([1.5]), np.array([1.0]))
    with pytest.raises(ShapeError, match=r"input of shape \(4,\) and targets of shape \(3,\)"):
        nn.binary_cross_entropy(p, np.ones(3))


def test_bce_with_logits_matches_bce_of_sigmoid_and_passes_gradcheck():
    z = rng.standard_normal((4, 5)) * 3
    y = rng.uniform(0, 1, (4, 5))
    ref = bce_reference(1 / (1 + np.exp(-z)), y)
    for reduction, expected in [("mean", ref.mean()), ("sum", ref.sum()), ("none", ref)]:
        out = nn.binary_cross_entropy_with_logits(t64(z), y, reduction)
        np.testing.assert_allclose(out.data, expected, rtol=1e-10)
        assert gradcheck(lambda x, r=reduction: nn.binary_cross_entropy_with_logits(x, y, r),
                         t64(z))


def test_bce_with_logits_is_exact_for_huge_logits():
    z = t64([1000.0, -1000.0, 1000.0, -1000.0, 800.0])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.25])
    loss = nn.binary_cross_entropy_with_logits(z, y, "none")
    np.testing.assert_array_equal(loss.data, [1000.0, 1000.0, 0.0, 0.0, 600.0])
    loss.sum().backward()
    np.testing.assert_array_equal(z.grad, [1.0, -1.0, 0.0, 0.0, 0.75])  # sigmoid(z) - y
    z32 = Tensor(np.array([1000.0, -1000.0], np.float32), requires_grad=True)
    out = nn.binary_cross_entropy_with_logits(z32, np.array([0.0, 1.0]))
    out.backward()
    assert out.dtype == np.float32 and out.item() == 1000.0
    np.testing.assert_array_equal(z32.grad, [0.5, -0.5])


@pytest.mark.needs_torch
def test_losses_match_torch():
    import torch

    F = torch.nn.functional
    z = rng.standard_normal((5, 3)) * 4
    z[0, 0], z[1, 1] = 900.0, -900.0
    p = rng.uniform(0.01, 0.99, (5, 3))
    y = rng.uniform(0, 1, (5, 3))
    pairs = [
        (nn.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, z),
        (nn.binary_cross_entropy, F.binary_cross_entropy, p),
        (nn.mse_loss, F.mse_loss, p),
    ]
    for ours_fn, theirs_fn, x in pairs:
        for reduction in ("mean", "sum", "none"):
            ours = ours_fn(t64(x), y, reduction)
            tx = torch.tensor(x, requires_grad=True)
            theirs = theirs_fn(tx, torch.tensor(y), reduction=reduction)
            np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)
    x = t64(Z)
    tx = torch.tensor(Z, requires_grad=True)
    nn.cross_entropy(x, LABELS).backward()
    F.cross_entropy(tx, torch.tensor(LABELS)).backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


def test_accuracy_with_labels_or_one_hot():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 5.0], [9.0, 0.0, 0.0]])
    labels = np.array([0, 1, 0, 0])
    assert nn.accuracy(logits, labels) == 0.75
    assert nn.accuracy(Tensor(logits), Tensor(np.eye(3)[labels])) == 0.75
    assert isinstance(nn.accuracy(logits, labels), float)
    with pytest.raises(ShapeError, match=r"targets of shape \(3,\) do not fit logits"):
        nn.accuracy(logits, labels[:3])


@pytest.mark.needs_torch
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_a_batch_with_every_label_ignored_gives_a_nan_loss_and_zero_gradients(loss):
    # (an all-padding batch left NaN gradients, which the optimizer's finite check refuses)
    import torch

    z = np.random.default_rng(0).standard_normal((3, 4))
    y = np.full(3, -100)
    x, t = Tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    ours = getattr(nn.functional, loss)(x, y)
    theirs = getattr(torch.nn.functional, loss)(t, torch.tensor(y))
    assert np.isnan(ours.item()) and np.isnan(theirs.item())
    ours.backward()
    theirs.backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))
