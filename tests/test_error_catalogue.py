"""The error catalogue: each row is a mistake a learner makes, the exception it raises, and the
words its message must contain so that someone who never read the source can fix it."""

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import Tensor, data, nn, optim


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


class _HalfSquare(tg.Function):
    """x² whose backward forgot the 2 (a user's custom op)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return x * g


def check_graph_after_backward():
    loss = (leaf(3).exp()).sum()
    loss.backward()
    tg.autograd.check_graph(loss)


def edit_data_after_forward(rebind: bool):
    w = Tensor(np.ones(2), requires_grad=True, name="w")
    loss = (w * w).sum()
    if rebind:
        w.data = np.zeros(2)
    else:
        w.data *= 10
    loss.backward()


def edit_view_of_leaf():
    w = leaf(4)
    w[0:2].mul_(2)


def use_tensor_whose_view_was_edited():
    y = leaf(4) * 1
    y[0:2].mul_(2)
    return y * 2


def mlp():
    return nn.MLP([4, 3, 2])


def load_state(change):
    model = mlp()
    state = model.state_dict()
    change(state)
    model.load_state_dict(state)


def set_item(state, key, value):
    state[key] = value


def checkpoint_file(tmp, content):
    path = tmp / "model.npz"
    nn.save(mlp().state_dict(), path)
    path.write_bytes(content(path.read_bytes()))
    return nn.load(path)


def step_with_nan_gradient():
    model = mlp()
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    for p in model.parameters():
        p.grad = np.zeros_like(p.data)
    model.layers[1].weight.grad[0, 0] = np.nan
    opt.step()


def load_optimizer_state(key, value):
    opt = optim.Adam(mlp().parameters())
    state = opt.state_dict()
    state["param_groups"]["0"][key] = value
    opt.load_state_dict(state)


def two_groups():
    model = mlp()
    params = model.parameters()
    return optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": 1e-3}], lr=0.1)


def clip_nan_gradient():
    w = leaf(3)
    w.grad = np.array([1.0, np.nan, 0.0])
    nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)


def one_cycle_past_its_end():
    sched = optim.OneCycleLR(optim.SGD(mlp().parameters()), max_lr=0.1, total_steps=3)
    for _ in range(4):
        sched.step()


def write_idx(path, array):
    path.write_bytes(bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big")
                                                             for n in array.shape)
                     + array.tobytes())
    return path


def corrupt_idx(tmp):
    path = tmp / "images.idx"
    path.write_bytes(b"\x00\x00\x08\x05abc")
    data.load_idx(path)


# (mistake, call, exception type, words the message must contain); a call taking one argument
# gets a fresh temporary directory

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
    ("transpose axes that are not a permutation", lambda: f32(2, 3).transpose((0, 0)),
     tg.ShapeError, ["transpose", "permutation", "(2, 3)"]),
    ("split sections that do not add up", lambda: f32(3, 4).split([1, 1]), tg.ShapeError,
     ["split", "[1, 1]", "add up to 3", "(3, 4)"]),
    ("split into pieces of size 0", lambda: f32(3, 4).split(0), tg.ArgumentError,
     ["split", "positive", "size 3"]),
    ("chunk into no pieces", lambda: f32(3).chunk(0), tg.ArgumentError, ["chunk", "positive"]),
    ("tril of a vector", lambda: f32(3).tril(), tg.ShapeError, ["tril", "2 dimensions", "(3,)"]),
    ("concatenate mismatched shapes", lambda: tg.concatenate([f32(2, 3), f32(3, 2)]),
     tg.ShapeError, ["concatenate", "(2, 3)", "(3, 2)"]),
    ("cross_entropy on 1-D logits", lambda: f32(10).cross_entropy(np.array([1])),
     tg.ShapeError, ["cross_entropy", "(batch, classes)", "(10,)"]),
    ("max of an empty tensor", lambda: f32(0).max(), tg.ShapeError, ["max", "empty", "(0,)"]),
    # bad values
    ("axis out of range", lambda: f32(3, 4).sum(axis=2), tg.OutOfRangeError,
     ["sum", "axis 2", "2 dimension", "-2 to 1"]),
    ("axis on a 0-d tensor", lambda: f32().mean(axis=1), tg.OutOfRangeError,
     ["mean", "axis 1", "0-d tensor", "0 and -1"]),
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
    # dtypes
    ("unknown dtype", lambda: Tensor([1.0], dtype="flot32"), tg.DTypeError,
     ["unknown", "'flot32'", "float32"]),
    ("string data", lambda: Tensor(["a", "b"]), tg.DTypeError, ["Tensor", "<U1"]),
    ("ragged nested lists", lambda: Tensor([[1.0], [1.0, 2.0]]), tg.ShapeError,
     ["Tensor", "different lengths", "same length"]),
    ("bool arithmetic NumPy refuses", lambda: Tensor(np.array([True])) - Tensor(np.array([1],
                                                                                         bool)),
     tg.DTypeError, ["sub", "bool", "astype"]),
    ("integer to a negative power", lambda: Tensor(np.array([2])) ** -1, tg.DTypeError,
     ["pow", "int64", "negative", "astype"]),
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
    ("requires_grad_ on a computed tensor", lambda: (leaf(2) * 2).requires_grad_(False),
     tg.GraphError, ["requires_grad_", "mul", "detach"]),
    ("editing .data between forward and backward", lambda: edit_data_after_forward(False),
     tg.GraphError, ["backward of mul", "'w'", "modified in place", "after backward()"]),
    ("rebinding .data between forward and backward", lambda: edit_data_after_forward(True),
     tg.GraphError, ["backward of mul", "'w'", "new array", "t.data = ", "after backward()"]),
    ("an in-place op on a leaf that requires grad", lambda: leaf(3).add_(1), tg.GraphError,
     ["add_", "leaf tensor that requires grad", "no_grad()", ".data"]),
    ("an in-place op on a view of a leaf that requires grad", edit_view_of_leaf, tg.GraphError,
     ["mul_", "view of a leaf tensor that requires grad", "no_grad()", "clone()"]),
    ("using a tensor after an in-place op on its view", use_tensor_whose_view_was_edited,
     tg.GraphError, ["mul: input 0", "shares its memory", "y[0] *= 2", "clone()"]),
    ("fill_ with a tensor of several elements", lambda: (leaf(3) * 1).fill_(leaf(2)),
     tg.ShapeError, ["fill_", "one element", "(2,)", "copy_"]),
    ("copy_ of a shape that does not broadcast", lambda: (leaf(3) * 1).copy_(leaf(2)),
     tg.ShapeError, ["copy_", "(2,)", "(3,)", "broadcast"]),
    ("gradcheck given float32", gradcheck_float32, tg.DTypeError,
     ["gradcheck", "float32", "float64"]),
    ("gradcheck with nothing to check", lambda: tg.gradcheck(lambda x: x, f32(2)), ValueError,
     ["gradcheck", "requires_grad=True"]),
    ("gradcheck on a wrong gradient", gradcheck_wrong_gradient, tg.GradcheckError,
     ["input 0", "element (0,)", "analytic", "numeric"]),
    ("check_op on a custom op with a wrong backward",
     lambda: tg.autograd.check_op(_HalfSquare, Tensor(np.array([1.0, 2.0]))), tg.GradcheckError,
     ["check_op(_HalfSquare)", "off by a constant factor", "input 0", "element", "analytic",
      "numeric", "Fix:"]),
    ("check_op with no floating Tensor to differentiate",
     lambda: tg.autograd.check_op(_HalfSquare, np.ones(2)), ValueError,
     ["check_op(_HalfSquare)", "floating Tensor", "Tensor(x)"]),
    ("check_graph on a graph freed by backward", check_graph_after_backward, tg.GraphError,
     ["check_graph", "exp", "freed", "retain_graph=True"]),
    ("draw_graph highlight that is not a tensor",
     lambda: tg.draw_graph(leaf(2).sum(), highlight="sum"), ValueError,
     ["draw_graph", "highlight", "Tensor", "GradcheckError", "str"]),
    ("viz.watch given something that is not a Module",
     lambda: tg.viz.watch([leaf(2)]), ValueError, ["watch", "Module", "list"]),
    ("set_default_dtype to an integer", lambda: tg.set_default_dtype("int32"), tg.DTypeError,
     ["set_default_dtype", "int32", "float"]),
    # modules and optimizers
    ("a batch of the wrong width into a model", lambda: mlp()(f32(2, 5)), tg.ShapeError,
     ["Linear(4, 3)", "(2, 5)", "in_features"]),
    ("an unknown activation", lambda: nn.MLP([4, 2], activation="swish"), ValueError,
     ["MLP", "'swish'", "relu, tanh, sigmoid, gelu"]),
    ("an unknown init scheme", lambda: nn.Linear(3, 2, init="kaiming_fancy"), ValueError,
     ["Linear", "unknown init", "'kaiming_fancy'"]),
    ("dropout probability above 1", lambda: nn.Dropout(1.5), ValueError, ["Dropout", "1.5"]),
    ("an optimizer given no parameters", lambda: optim.SGD([], lr=0.1), tg.OptimizerError,
     ["SGD", "empty parameter list", "model.parameters()"]),
    ("a negative learning rate", lambda: optim.Adam(mlp().parameters(), lr=-0.1),
     tg.OptimizerError, ["Adam", "lr", "-0.1"]),
    ("Adam betas outside [0, 1)", lambda: optim.Adam(mlp().parameters(), betas=(1.2, 0.9)),
     tg.OptimizerError, ["Adam", "betas", "1.2"]),
    ("a NaN gradient reaching the optimizer", step_with_nan_gradient, tg.OptimizerError,
     ["layers.1.weight", "NaN", "no parameter was updated", "detect_anomaly"]),
    ("a bias that would make linear's output bigger",
     lambda: tg.linear(leaf(4, 3), leaf(3, 1), leaf(2)), tg.ShapeError,
     ["linear", "bias of shape (2,)", "(4, 1)", "shape (1,)"]),
    ("targets that require grad in a loss",
     lambda: tg.cross_entropy(leaf(2, 3), Tensor(np.eye(3)[:2], requires_grad=True)),
     tg.GraphError, ["cross_entropy", "targets require grad", "detach()"]),
    ("loading an optimizer state with betas out of range",
     lambda: load_optimizer_state("betas", (1.5, 0.9)), tg.OptimizerError,
     ["Adam.load_state_dict", "param_groups['0']", "betas[0]", "[0, 1)", "1.5"]),
    ("loading an optimizer state whose amsgrad is the string 'False'",
     lambda: load_optimizer_state("amsgrad", "False"), tg.OptimizerError,
     ["amsgrad", "True or False", "'False'"]),
    ("loading an optimizer state with a learning rate that is a string",
     lambda: load_optimizer_state("lr", "0.1"), tg.OptimizerError,
     ["lr must be a number", "'0.1'"]),
    ("a parameter in two param groups",
     lambda: (lambda o: o.add_param_group({"params": o.params[:1]}))(two_groups()),
     tg.OptimizerError, ["add_param_group", "already in param group 0", "one group only"]),
    ("a param group that is not a dict", lambda: two_groups().add_param_group([leaf(2)]),
     tg.OptimizerError, ["add_param_group", "'params' entry"]),
    ("a param group with a negative momentum",
     lambda: optim.SGD([{"params": [leaf(2)], "momentum": -0.9}], lr=0.1), tg.OptimizerError,
     ["SGD", "param group 0", "momentum must be >= 0", "-0.9"]),
    ("clip_grad_norm_ of a NaN gradient with error_if_nonfinite", clip_nan_gradient,
     tg.OptimizerError, ["clip_grad_norm_", "nan", "detect_anomaly", "error_if_nonfinite=False"]),
    ("OneCycleLR stepped past total_steps", one_cycle_past_its_end, tg.OptimizerError,
     ["OneCycleLR", "past total_steps=3", "number of batches"]),
    ("ReduceLROnPlateau.step without the metric",
     lambda: optim.ReduceLROnPlateau(optim.SGD(mlp().parameters())).step(), tg.OptimizerError,
     ["ReduceLROnPlateau.step", "metric", "step(val_loss)"]),
    ("ReduceLROnPlateau with an unknown mode",
     lambda: optim.ReduceLROnPlateau(optim.SGD(mlp().parameters()), mode="minimize"),
     tg.OptimizerError, ["ReduceLROnPlateau", "'min'", "'max'", "'minimize'"]),
    ("a scheduler given a list instead of an optimizer",
     lambda: optim.LinearLR([leaf(2)], total_iters=3), tg.OptimizerError,
     ["LinearLR", "expected an optimizer", "list"]),
    ("mse_loss with shapes that would broadcast", lambda: nn.mse_loss(f32(2, 3), np.zeros((3,
                                                                                           2))),
     tg.ShapeError, ["mse_loss", "(2, 3)", "(3, 2)"]),
    # layers: convolution, pooling, normalization, embedding, losses
    ("channels-last images into Conv2d", lambda: nn.Conv2d(3, 8, 3)(f32(4, 32, 32, 3)),
     tg.ShapeError, ["Conv2d(3, 8", "expected 3 input channels", "(4, 32, 32, 3)",
                     "channels-last", "x.permute(0, 3, 1, 2)"]),
    ("flattened images into Conv2d", lambda: nn.Conv2d(1, 8, 3)(f32(16, 784)), tg.ShapeError,
     ["Conv2d(1, 8", "(N, C, H, W)", "(16, 784)", "x.reshape(-1, 1, 28, 28)"]),
    ("one-channel images without the channel axis into Conv2d",
     lambda: nn.Conv2d(1, 8, 3)(f32(16, 28, 28)), tg.ShapeError,
     ["Conv2d(1, 8", "(16, 28, 28)", "x.unsqueeze(1)"]),
    ("float64 images into a float32 Conv2d",
     lambda: nn.Conv2d(1, 2, 3)(Tensor(np.zeros((1, 1, 5, 5)))), tg.DTypeError,
     ["Conv2d(1, 2", "float64", "float32", "astype"]),
    ("Conv2d groups that do not divide the channels", lambda: nn.Conv2d(3, 6, 3, groups=2),
     ValueError, ["Conv2d", "in_channels (3)", "divisible by groups (2)"]),
    ("pooling an image smaller than the kernel", lambda: nn.MaxPool2d(2)(f32(1, 8, 1, 1)),
     tg.ShapeError, ["MaxPool2d(kernel_size=2", "(1, 1)", "smaller than the kernel (2, 2)",
                     "downsample less"]),
    ("pool padding above half the kernel", lambda: nn.AvgPool2d(3, padding=2), ValueError,
     ["AvgPool2d", "padding (2, 2)", "at most half the kernel size (3, 3)"]),
    ("LayerNorm over a dimension that is not last", lambda: nn.LayerNorm(64)(f32(8, 10, 32)),
     tg.ShapeError, ["LayerNorm((64,)", "last dimension", "(8, 10, 32)", "LayerNorm(32)"]),
    ("an Embedding index out of range", lambda: nn.Embedding(100, 8)(np.array([[5, 100]])),
     tg.OutOfRangeError, ["Embedding(100, 8)", "index 100", "num_embeddings=100", "0..99",
                          "largest index + 1"]),
    ("float indices into Embedding", lambda: nn.Embedding(10, 4)(np.array([1.0, 2.0])),
     tg.DTypeError, ["Embedding(10, 4)", "integers", "float64", "astype('int64')"]),
    ("BatchNorm2d with the wrong channel count", lambda: nn.BatchNorm2d(16)(f32(8, 32, 7, 7)),
     tg.ShapeError, ["BatchNorm2d(16", "expected 16 channels", "(8, 32, 7, 7)",
                     "num_features"]),
    ("BatchNorm1d given images", lambda: nn.BatchNorm1d(8)(f32(4, 8, 5, 5)), tg.ShapeError,
     ["BatchNorm1d(8", "(N, C) or (N, C, L)", "(4, 8, 5, 5)", "BatchNorm2d"]),
    ("sequence logits with the classes last into CrossEntropyLoss",
     lambda: nn.CrossEntropyLoss()(f32(4, 7, 5), np.zeros((4, 7), np.int64)), tg.ShapeError,
     ["CrossEntropyLoss()", "(4, 5)", "(4, 7, 5)", "(4, 7)", "logits.permute(0, 2, 1)",
      "logits.reshape(-1, 5)"]),
    ("N-d cross_entropy labels of the wrong shape",
     lambda: nn.functional.cross_entropy(f32(2, 3, 4, 4), np.zeros((2, 4), np.int64)),
     tg.ShapeError, ["cross_entropy", "(2, 4, 4)", "(2, 3, 4, 4)", "(N, d1, ...)"]),
    # checkpoints
    ("load_state_dict with a missing key", lambda: load_state(lambda s: s.pop("layers.0.bias")),
     tg.CheckpointError, ["load_state_dict", "missing", "layers.0.bias", "strict=False"]),
    ("load_state_dict with an unexpected key",
     lambda: load_state(lambda s: set_item(s, "head.weight", np.zeros(1))),
     tg.CheckpointError, ["unexpected", "head.weight"]),
    ("load_state_dict from another architecture",
     lambda: load_state(lambda s: set_item(s, "layers.0.weight", np.zeros((5, 3), np.float32))),
     tg.CheckpointError, ["layers.0.weight", "(5, 3)", "(4, 3)"]),
    ("load_state_dict with the wrong dtype",
     lambda: load_state(lambda s: set_item(s, "layers.0.weight", np.zeros((4, 3)))),
     tg.CheckpointError, ["layers.0.weight", "float64", "float32"]),
    ("a truncated checkpoint file", lambda tmp: checkpoint_file(tmp, lambda b: b[:len(b) // 2]),
     tg.CheckpointError, ["nn.load", "model.npz", "truncated"]),
    ("a foreign checkpoint file", lambda tmp: checkpoint_file(tmp, lambda b: b"hello world"),
     tg.CheckpointError, ["nn.load", "model.npz", "not an .npz checkpoint"]),
    ("a state dict with a key that is not a string",
     lambda tmp: nn.save({"state": {0: np.zeros(1)}}, tmp / "c.npz"), tg.CheckpointError,
     ["nn.save", "key 0", "keys must be strings", "str(key)"]),
    ("nn.load given a directory", lambda tmp: nn.load(tmp), tg.CheckpointError,
     ["nn.load", "is a directory", "checkpoint file itself"]),
    ("nn.load given an .npy file", lambda tmp: np.save(tmp / "w.npy", np.zeros(2))
     or nn.load(tmp / "w.npy"), tg.CheckpointError, ["nn.load", "w.npy", "single array",
                                                     "np.load"]),
    ("nn.load given a plain .npz", lambda tmp: np.savez(tmp / "w.npz", w=np.zeros(2))
     or nn.load(tmp / "w.npz"), tg.CheckpointError, ["w.npz", "not a tinygrad_np checkpoint",
                                                     "np.load"]),
    ("saving a checkpoint onto a directory", lambda tmp: nn.save({"w": np.zeros(1)}, tmp),
     tg.CheckpointError, ["nn.save", "is a directory", "pass a file name"]),
    ("saving a checkpoint into a folder that does not exist",
     lambda tmp: nn.save({"w": np.zeros(1)}, tmp / "runs" / "c.npz"),
     tg.CheckpointError, ["nn.save", "runs does not exist", "os.makedirs"]),
    # data
    ("a corrupt IDX file", corrupt_idx, tg.DataError, ["load_idx", "images.idx", "dimensions"]),
    ("load_idx given a directory", lambda tmp: data.load_idx(tmp), tg.DataError,
     ["load_idx", "is a directory", "the IDX file itself"]),
    ("an IDX file of another shape than expected",
     lambda tmp: data.load_idx(write_idx(tmp / "labels.idx", np.zeros(5, np.uint8)), shape=(6,)),
     tg.DataError, ["load_idx", "labels.idx", "declares uint8 of shape (5,)",
                    "expected shape (6,)", "right file"]),
    ("a data directory that does not exist", lambda: data.mnist("/nonexistent/mnist"),
     tg.DataError, ["mnist", "/nonexistent/mnist", "does not exist"]),
    ("a download timeout that is not a positive number", lambda: data.mnist(timeout=0),
     tg.DataError, ["mnist", "timeout= is 0", "seconds", "positive number"]),
    ("labels and samples of different lengths",
     lambda: data.DataLoader(np.zeros((5, 2)), np.zeros(4), batch_size=2), tg.ShapeError,
     ["DataLoader", "(5, 2)", "(4,)"]),
    ("a DataLoader batch size of zero", lambda: data.DataLoader(np.zeros((4, 2)), batch_size=0),
     tg.ArgumentError, ["DataLoader", "batch_size must be positive", "0"]),
    ("a DataLoader given something that is not a dataset",
     lambda: data.DataLoader(7, batch_size=2), tg.ArgumentError,
     ["DataLoader", "__len__ and __getitem__", "int"]),
    ("a DataLoader given a dataset and labels",
     lambda: data.DataLoader(data.TensorDataset(np.zeros((4, 2))), np.zeros(4), batch_size=2),
     tg.ArgumentError, ["DataLoader", "TensorDataset(X, y)"]),
    ("dataset samples of different shapes in one batch",
     lambda: list(data.DataLoader([np.zeros(2), np.zeros(3)], batch_size=2, shuffle=False)),
     tg.ShapeError, ["DataLoader", "(2,)", "(3,)", "collate_fn="]),
    ("one_hot with num_classes 0", lambda: data.one_hot(np.array([0]), 0), tg.ArgumentError,
     ["one_hot", "num_classes must be a positive int", "0"]),
    ("train_test_split with test_size above 1",
     lambda: data.train_test_split(np.zeros((4, 2)), np.zeros(4), test_size=1.5),
     tg.ArgumentError, ["train_test_split", "(0, 1)", "1.5", "n_test="]),
    ("a one-hot label out of range", lambda: data.one_hot(np.array([0, 10]), 10),
     tg.OutOfRangeError, ["one_hot", "label 10", "0..9"]),
    # jit
    (".item() inside a jitted step", lambda: jit_twice(lambda x: (Tensor(x) * 2).sum().item()),
     tg.JitError, [".item()", "test_error_catalogue.py", "return the tensor", "outside"]),
    ("if on a tensor inside a jitted step", lambda: jit_twice(branch_on_tensor), tg.JitError,
     ["bool(tensor)", "if t > 0", "reads a tensor's value"]),
    ("NumPy work on the step's inputs inside a jitted step",
     lambda: jit_twice(lambda x: Tensor(x / 255.0).sum(), vary=True), tg.JitError,
     ["not an argument of the step", "Pass it as an argument", "tinygrad_np ops"]),
    ("own random draws inside a jitted step",
     lambda: jit_twice(lambda x: (Tensor(x) * Tensor(tg.get_rng().uniform(size=3))).sum()),
     tg.JitError, ["random numbers", "nn.Dropout", "tinygrad_np.rand"]),
    ("an in-place update inside a jitted step", lambda: jit_twice(in_place_update), tg.JitError,
     ["in-place write", "optimizers' step()", "y = f(x)"]),
]


def jit_twice(fn, vary=False):
    step = tg.jit(fn)
    for k in range(3):
        step(np.full(3, float(k + 1) if vary else 1.0))


def branch_on_tensor(x):
    t = Tensor(x).sum()
    if t > 0:
        t = t * 2
    return t


def in_place_update(x):
    t = Tensor(x)
    t += 1
    return t.sum()


@pytest.mark.parametrize("call,exc,words", [row[1:] for row in CATALOGUE],
                         ids=[row[0] for row in CATALOGUE])
def test_catalogue(call, exc, words, tmp_path):
    with pytest.raises(exc) as info:
        call(tmp_path) if call.__code__.co_argcount == 1 else call()
    message = str(info.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"message lacks {missing}: {message}"
    if exc is not ValueError and exc is not TypeError:
        assert isinstance(info.value, tg.TinygradError)


def test_catalogue_size():
    assert len({row[0] for row in CATALOGUE}) == len(CATALOGUE) >= 50
