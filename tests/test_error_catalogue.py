"""The error catalogue: each row is a mistake a learner makes, the exception it raises, and the
words its message must contain so that someone who never read the source can fix it."""

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import Tensor


def f32(*shape):
    return Tensor(np.zeros(shape, np.float32))


def leaf(*shape):
    return Tensor(np.ones(shape), requires_grad=True)


def backward_twice():
    loss = (leaf(3).exp()).sum()
    loss.backward()
    loss.backward()


def gradcheck_float32():
    tg.gradcheck(lambda x: x.sum(), Tensor(np.ones(3, np.float32), requires_grad=True))


def gradcheck_wrong_gradient():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    tg.gradcheck(lambda x: x.relu() * 0 + Tensor(np.ones(2)) * x.detach(), x)


# (mistake, call, exception type, words the message must contain)
CATALOGUE = [
    # shapes
    ("matmul inner dimensions differ", lambda: f32(32, 784) @ f32(128, 64), tg.ShapeError,
     ["matmul", "(32, 784)", "(128, 64)", "784", "128"]),
    ("matmul batch dimensions differ", lambda: f32(2, 3, 4) @ f32(3, 4, 5), tg.ShapeError,
     ["matmul", "batch dimensions", "(2,)", "(3,)"]),
    ("matmul of a scalar", lambda: f32() @ f32(3), tg.ShapeError, ["matmul", "at least one"]),
    ("add shapes that do not broadcast", lambda: f32(3, 4) + f32(5), tg.ShapeError,
     ["add", "(3, 4)", "(5,)", "broadcast"]),
    ("mul shapes that do not broadcast", lambda: f32(2, 3) * np.ones((3, 2)), tg.ShapeError,
     ["mul", "(2, 3)", "(3, 2)"]),
    ("reshape to an incompatible size", lambda: f32(3, 4).reshape(5, 2), tg.ShapeError,
     ["reshape", "(3, 4)", "12 elements", "(5, 2)"]),
    ("transpose axes that are not a permutation", lambda: f32(2, 3).transpose(0, 0),
     tg.ShapeError, ["transpose", "permutation", "(2, 3)"]),
    ("concatenate mismatched shapes", lambda: tg.concatenate([f32(2, 3), f32(3, 2)]),
     tg.ShapeError, ["concatenate", "(2, 3)", "(3, 2)"]),
    ("cross_entropy on 1-D logits", lambda: f32(10).cross_entropy(np.array([1])),
     tg.ShapeError, ["cross_entropy", "(batch, classes)", "(10,)"]),
    ("max of an empty tensor", lambda: f32(0).max(), tg.ShapeError, ["max", "empty", "(0,)"]),
    # bad values
    ("axis out of range", lambda: f32(3, 4).sum(axis=2), tg.OutOfRangeError,
     ["sum", "axis 2", "2 dimension", "-2 to 1"]),
    ("axis on a 0-d tensor", lambda: f32().mean(axis=0), tg.OutOfRangeError,
     ["mean", "0-d tensor has no axes"]),
    ("softmax axis out of range", lambda: f32(2, 3).softmax(axis=3), tg.OutOfRangeError,
     ["softmax", "axis 3"]),
    ("index out of bounds", lambda: f32(3, 4)[5], tg.OutOfRangeError,
     ["getitem", "[5]", "(3, 4)"]),
    ("label out of range", lambda: f32(2, 3).cross_entropy(np.array([0, 3])),
     tg.OutOfRangeError, ["cross_entropy", "label 3", "3 classes", "0..2"]),
    ("negative label", lambda: f32(2, 3).cross_entropy(np.array([-1, 0])),
     tg.OutOfRangeError, ["label -1"]),
    ("labels of the wrong dtype", lambda: f32(2, 3).cross_entropy(np.array([0.0, 1.0])),
     tg.ShapeError, ["cross_entropy", "float64", "labels must be integers"]),
    ("labels of the wrong length", lambda: f32(2, 3).cross_entropy(np.array([0, 1, 2])),
     tg.ShapeError, ["cross_entropy", "shape (2,)", "(3,)"]),
    ("one-hot rows of the wrong width", lambda: f32(2, 3).cross_entropy(np.eye(4)[:2]),
     tg.ShapeError, ["one-hot rows must have width 3", "(2, 4)"]),
    ("string targets", lambda: f32(2, 3).cross_entropy(np.array(["a", "b"])),
     tg.DTypeError, ["cross_entropy", "<U1"]),
    ("unknown cross_entropy reduction", lambda: f32(2, 3).cross_entropy(np.array([0, 1]),
                                                                        reduction="avg"),
     ValueError, ["reduction", "'avg'", "'mean'"]),
    ("tensor exponent in pow", lambda: f32(2) ** f32(2), TypeError, ["pow", "exponent"]),
    # dtypes
    ("unknown dtype", lambda: Tensor([1.0], dtype="flot32"), tg.DTypeError,
     ["unknown", "'flot32'", "float32"]),
    ("string data", lambda: Tensor(["a", "b"]), tg.DTypeError, ["Tensor", "<U1"]),
    ("bool arithmetic NumPy refuses", lambda: Tensor(np.array([True])) - Tensor(np.array([1],
                                                                                         bool)),
     tg.DTypeError, ["sub", "bool", "astype"]),
    ("integer to a negative power", lambda: Tensor(np.array([2])) ** -1, tg.DTypeError,
     ["pow", "int64"]),
    # gradients
    ("backward on a non-scalar", lambda: (leaf(2, 3) * 2).backward(), tg.GraphError,
     ["backward", "(2, 3)", "scalar", ".sum()"]),
    ("backward with a gradient of the wrong shape",
     lambda: (leaf(2, 3) * 2).backward(np.ones(3)), tg.GraphError, ["(3,)", "(2, 3)"]),
    ("backward twice", backward_twice, tg.GraphError, ["freed", "retain_graph=True"]),
    ("backward on something that needs no grad", lambda: f32(3).sum().backward(),
     tg.GraphError, ["does not require grad"]),
    ("requires_grad on integer data", lambda: Tensor([1, 2, 3], requires_grad=True),
     tg.DTypeError, ["only floating tensors", "int64", "(3,)"]),
    ("requires_grad_ on a computed tensor", lambda: (leaf(2) * 2).requires_grad_(),
     tg.GraphError, ["requires_grad_", "mul", "detach"]),
    ("gradcheck given float32", gradcheck_float32, tg.DTypeError,
     ["gradcheck", "float32", "float64"]),
    ("gradcheck with nothing to check", lambda: tg.gradcheck(lambda x: x, f32(2)), ValueError,
     ["gradcheck", "requires_grad=True"]),
    ("gradcheck on a wrong gradient", gradcheck_wrong_gradient, tg.GradcheckError,
     ["input 0", "element (0,)", "analytic", "numeric"]),
    ("set_default_dtype to an integer", lambda: tg.set_default_dtype("int32"), tg.DTypeError,
     ["set_default_dtype", "int32", "float"]),
]


@pytest.mark.parametrize("call,exc,words", [row[1:] for row in CATALOGUE],
                         ids=[row[0] for row in CATALOGUE])
def test_catalogue(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"message lacks {missing}: {message}"
    if exc is not ValueError and exc is not TypeError:
        assert isinstance(info.value, tg.TinygradError)


def test_catalogue_size():
    assert len({row[0] for row in CATALOGUE}) == len(CATALOGUE) >= 30
