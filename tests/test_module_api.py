"""nn.Module's API against torch.nn.Module: requires_grad_ leaves buffers alone, to() takes
PyTorch's forms, apply() is post-order, the registration calls check their arguments and take
PyTorch's keywords, Sequential's list operations, and layer sizes checked at construction."""

from collections import OrderedDict

import numpy as np
import pytest

from tinygrad_np import Tensor, nn, optim
from tinygrad_np.errors import ArgumentError, DTypeError, OutOfRangeError, TinygradError


def _names(pairs):
    return [n for n, _ in pairs]


# --- requires_grad_: parameters only ------------------------------------------------------------


def test_unfreezing_leaves_the_running_statistics_buffers():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m.requires_grad_(False)
    assert m.parameters() == []
    m.requires_grad_(True)
    assert _names(m.named_parameters()) == ["layers.0.weight", "layers.0.bias",
                                            "layers.1.weight", "layers.1.bias"]
    assert _names(m.named_buffers()) == ["layers.1.running_mean", "layers.1.running_var",
                                         "layers.1.num_batches_tracked"]
    # an optimizer with weight decay would move a running statistic made trainable
    opt = optim.SGD(m.parameters(), lr=0.1, weight_decay=0.5)
    m(Tensor(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32))).sum().backward()
    var = m.layers[1].running_var.data.copy()  # after the forward's own update
    opt.step()
    np.testing.assert_array_equal(m.layers[1].running_var.data, var)


def test_requires_grad_never_touches_a_registered_buffer():
    class Net(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)
            self.register_buffer("scale", np.ones(2, np.float32))
            self.offset = Tensor(np.zeros(2, np.float32))  # a buffer by assignment

    n = Net().requires_grad_(False).requires_grad_(True)
    assert not n.scale.requires_grad and not n.offset.requires_grad
    assert _names(n.named_buffers()) == ["scale", "offset"]


def test_a_layer_weight_frozen_by_hand_is_unfrozen_by_the_model():
    m = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    m.layers[0].weight.requires_grad_(False)
    assert "layers.0.weight" not in _names(m.named_parameters())
    assert "layers.0.weight" not in _names(m.named_buffers())  # a frozen parameter: neither
    assert "layers.0.weight" in m.state_dict()
    m.requires_grad_(True)
    assert m.layers[0].weight.requires_grad


def test_a_frozen_pretrained_embedding_is_a_frozen_parameter():
    e = nn.Embedding.from_pretrained(np.eye(3, dtype=np.float32))
    assert e.parameters() == [] and e.buffers() == []
    assert e.requires_grad_(True).weight.requires_grad


def test_frozen_marks_survive_deepcopy():
    import copy

    m = copy.deepcopy(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).requires_grad_(False))
    m.requires_grad_(True)
    assert len(m.parameters()) == 4 and not m.layers[1].running_mean.requires_grad


# --- to() ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, kwargs", [
    (("cpu", np.float64), {}), ((np.float64,), {}), (("float64",), {}),
    ((), {"dtype": np.float64}), ((), {"device": "cpu", "dtype": "float64"}),
    ((Tensor(np.zeros(1)),), {}),
])
def test_to_takes_pytorchs_forms(args, kwargs):
    m = nn.BatchNorm1d(2).to(*args, **kwargs)
    assert m.weight.dtype == np.float64 and m.running_mean.dtype == np.float64
    assert m.num_batches_tracked.dtype == np.int64  # integer state stays


def test_to_a_device_alone_changes_nothing():
    m = nn.Linear(2, 2)
    assert m.to("cpu") is m and m.to(device="cpu").weight.dtype == np.float32


def test_to_refuses_other_devices_and_non_float_dtypes():
    with pytest.raises(ArgumentError, match="CPU only"):
        nn.Linear(2, 2).to("cuda")
    with pytest.raises(ArgumentError, match="CPU only"):
        nn.Linear(2, 2).to("cuda:0", np.float64)
    m = nn.Linear(2, 2)
    with pytest.raises(DTypeError, match="only floating dtypes"):
        m.to(np.int32)
    assert m.weight.dtype == np.float32
    with pytest.raises(ArgumentError, match="unexpected keyword"):
        m.to(dtyp=np.float64)


@pytest.mark.needs_torch
def test_to_takes_a_torch_dtype():
    import torch

    assert nn.Linear(2, 2).to(torch.float64).weight.dtype == np.float64
    assert nn.Linear(2, 2).to(torch.device("cpu"), torch.float16).weight.dtype == np.float16


# --- apply --------------------------------------------------------------------------------------


def _tree(ns):
    class A(ns.Module):
        def __init__(self):
            super().__init__()
            self.a1, self.a2 = ns.Identity(), ns.ReLU()

    class R(ns.Module):
        def __init__(self):
            super().__init__()
            self.A, self.B = A(), ns.Tanh()

    return R()


def test_apply_is_post_order():
    order = []
    _tree(nn).apply(lambda m: order.append(type(m).__name__))
    assert order == ["Identity", "ReLU", "A", "Tanh", "R"]


@pytest.mark.needs_torch
def test_apply_order_matches_torch():
    import torch

    ours, theirs = [], []
    _tree(nn).apply(lambda m: ours.append(type(m).__name__))
    _tree(torch.nn).apply(lambda m: theirs.append(type(m).__name__))
    assert ours == theirs


# --- registration ------------------------------------------------------------------------------


def test_registration_checks_its_arguments():
    m = nn.Module()
    with pytest.raises(ArgumentError, match="nn.Parameter"):
        m.register_parameter("p", np.zeros(3))
    with pytest.raises(ArgumentError, match="without '.'"):
        m.register_buffer("a.b", np.zeros(1))
    with pytest.raises(ArgumentError, match="method or attribute"):
        m.register_buffer("forward", np.zeros(1))
    with pytest.raises(ArgumentError, match="not a Module"):
        m.add_module("x", 3)
    with pytest.raises(ArgumentError, match="requires grad"):
        m.register_buffer("b", Tensor(np.zeros(2), requires_grad=True))
    with pytest.raises(TinygradError, match="callable"):
        m.register_forward_hook(3)


def test_a_registered_frozen_parameter_is_unfrozen_by_requires_grad_():
    m = nn.Module()
    m.register_parameter("p", nn.Parameter(np.zeros(2), requires_grad=False))
    assert m.parameters() == [] and m.buffers() == []
    assert m.requires_grad_(True).parameters() == [m.p]


def test_a_non_persistent_buffer_is_kept_out_of_the_state_dict():
    m = nn.Linear(2, 2)
    m.register_buffer("mask", np.ones(2, np.float32), persistent=False)
    assert "mask" not in m.state_dict() and _names(m.named_buffers()) == ["mask"]
    m.load_state_dict(nn.Linear(2, 2).state_dict())  # strict: mask is not expected
    m.register_buffer("mask", np.ones(2, np.float32))  # persistent again
    assert "mask" in m.state_dict()


@pytest.mark.needs_torch
def test_recurse_and_prefix_match_torch():
    import torch

    ours = nn.Module()
    ours.w, ours.fc = nn.Parameter(np.ones(2, np.float32)), nn.Linear(2, 2)
    theirs = torch.nn.Module()
    theirs.w, theirs.fc = torch.nn.Parameter(torch.ones(2)), torch.nn.Linear(2, 2)
    assert len(ours.parameters(recurse=False)) == len(list(theirs.parameters(recurse=False)))
    assert _names(ours.named_parameters(prefix="m")) == _names(
        theirs.named_parameters(prefix="m"))
    assert _names(ours.named_parameters(recurse=False)) == ["w"]
    assert _names(nn.BatchNorm1d(2).named_buffers(prefix="bn")) == _names(
        torch.nn.BatchNorm1d(2).named_buffers(prefix="bn"))


def test_forward_hooks_with_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m, seen = Scale(), []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}),
                                with_kwargs=True)
    h = m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(kwargs) or out + 1,
                                with_kwargs=True)
    out = m(Tensor(np.ones(2)), factor=2.0)
    np.testing.assert_array_equal(out.data, [4.0, 4.0])
    assert seen == [{"factor": 3.0}]
    h.remove()
    np.testing.assert_array_equal(m(Tensor(np.ones(2))).data, [3.0, 3.0])


def test_hooks_prepend_and_always_call_as_pytorch():
    torch = pytest.importorskip("torch")

    class Fails(nn.Module):
        def forward(self, x):
            raise ValueError("forward failed")

    logs = []
    for lib in (nn, torch.nn):
        log = []
        m = lib.Identity()
        m.register_forward_pre_hook(lambda mod, args, log=log: log.append("pre a"))
        m.register_forward_pre_hook(lambda mod, args, log=log: log.append("pre b"), prepend=True)
        m.register_forward_hook(lambda mod, args, out, log=log: log.append("post a"))
        h = m.register_forward_hook(lambda mod, args, out, log=log: log.append("post b"),
                                    prepend=True)
        m(Tensor(np.ones(2)) if lib is nn else torch.ones(2))
        h.remove()
        m(Tensor(np.ones(2)) if lib is nn else torch.ones(2))
        logs.append(log)
    assert logs[0] == logs[1] == ["pre b", "pre a", "post b", "post a", "pre b", "pre a",
                                  "post a"]

    m, seen = Fails(), []
    m.register_forward_hook(lambda mod, args, out: seen.append(("always", out)), always_call=True)
    m.register_forward_hook(lambda mod, args, out: seen.append("not on failure"))
    m.register_forward_hook(lambda mod, args, out: 1 / 0, always_call=True)
    with pytest.warns(UserWarning, match="always_call=True raised ZeroDivisionError"), \
            pytest.raises(ValueError, match="forward failed"):
        m(Tensor(np.ones(2)))
    assert seen == [("always", None)]


# --- Sequential ---------------------------------------------------------------------------------


def test_sequential_list_operations():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    s = nn.Sequential(a)
    s.extend([b]).insert(0, c)
    assert list(s) == [c, a, b]
    s[0] = b
    del s[-1]
    assert list(s) == [b, a] and s.pop(0) is b and list(s) == [a]
    both = nn.Sequential(a) + nn.Sequential(b)
    assert list(both) == [a, b] and len(s) == 1
    s += nn.Sequential(c)
    assert list(s) == [a, c]
    with pytest.raises(ArgumentError, match="index with an int"):
        s["0"]
    with pytest.raises(OutOfRangeError):
        s[5]


def test_slicing_a_named_sequential_keeps_the_names():
    s = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.ReLU(), out=nn.Linear(2, 1)))
    assert list(s[0:1].state_dict()) == ["layers.fc.weight", "layers.fc.bias"]
    del s["act"]
    s[1] = nn.Linear(2, 3)
    assert list(s.layers) == ["fc", "out"] and s.out.out_features == 3
    with pytest.raises(ArgumentError, match="named"):
        s.insert(0, nn.ReLU())


# --- constructors ------------------------------------------------------------------------------


def test_linear_checks_its_sizes():
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(ArgumentError, match="in_features must be an int >= 0"):
            nn.Linear(bad, 3)
    empty = nn.Linear(0, 3)  # as PyTorch: an empty weight, the output is the bias
    assert empty.weight.shape == (0, 3)
    np.testing.assert_array_equal(empty(Tensor(np.zeros((2, 0), np.float32))).data,
                                  np.zeros((2, 3)))


@pytest.mark.parametrize("kwargs", [{"stride": 0}, {"padding": -1}, {"dilation": 0},
                                    {"kernel_size": 0}])
def test_conv2d_checks_its_geometry_at_construction(kwargs):
    with pytest.raises(ArgumentError, match=">= 1 and padding >= 0"):
        nn.Conv2d(1, 1, **{"kernel_size": 3, **kwargs})


@pytest.mark.parametrize("make, message", [
    (lambda: nn.BatchNorm1d(4, momentum=2), "momentum must be in \\[0, 1\\]"),
    (lambda: nn.BatchNorm2d(4, momentum="0.1"), "momentum must be"),
    (lambda: nn.BatchNorm1d(4, eps=-1e-5), "eps .* must be a finite number > 0"),
    (lambda: nn.LayerNorm(4, eps=0), "eps .* must be a finite number > 0"),
])
def test_normalization_layers_check_momentum_and_eps(make, message):
    with pytest.raises(ArgumentError, match=message):
        make()
    assert nn.BatchNorm1d(4, momentum=None).momentum is None
