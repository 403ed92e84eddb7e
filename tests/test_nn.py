"""Modules: parameter discovery, modes, scopes, layers, Dropout, state dicts, MLP gradients."""

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import CheckpointError, Tensor, gradcheck, nn
from tinygrad_np._modes import state


class Block(nn.Module):  # no super().__init__(), no parameters(): attributes are enough
    def __init__(self):
        self.scale = Tensor(np.ones(3), requires_grad=True)
        self.frozen = Tensor(np.zeros(3))  # a constant: saved, not trained
        self.heads = {"a": nn.Linear(3, 2), "b": nn.Linear(3, 2, bias=False)}
        self.pair = (nn.Tanh(), [nn.Linear(2, 2)])
        self.shared = self.heads["a"]  # the same module twice: listed once

    def forward(self, x):
        h = x * self.scale + self.frozen
        return self.pair[1][0](self.pair[0](self.heads["a"](h) + self.heads["b"](h)))


def test_parameters_are_found_by_walking_attributes_with_dotted_names():
    block = Block()
    assert [n for n, _ in block.named_parameters()] == [
        "scale", "heads.a.weight", "heads.a.bias", "heads.b.weight", "pair.1.0.weight",
        "pair.1.0.bias"]
    assert block.parameters()[1] is block.heads["a"].weight
    assert [n for n, _ in block.named_modules()] == [
        "", "heads.a", "heads.b", "pair.0", "pair.1.0"]
    assert set(block.state_dict()) == {n for n, _ in block.named_parameters()} | {"frozen"}


def test_mlp_names_its_linear_layers_like_pytorch_module_lists():
    model = nn.MLP([784, 128, 64, 10])
    assert [n for n, _ in model.named_parameters()] == [
        f"layers.{i}.{w}" for i in range(3) for w in ("weight", "bias")]
    assert model.layers[1].weight.shape == (128, 64)
    assert sum(p.size for p in model.parameters()) == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10


def test_repr_is_nested_and_short():
    assert repr(nn.Linear(128, 64)) == "Linear(128, 64)"
    assert repr(nn.Linear(3, 2, bias=False)) == "Linear(3, 2, bias=False)"
    assert repr(nn.MLP([4, 8, 2], activation="tanh", dropout=0.1)) == (
        "MLP(\n  (layers.0): Linear(4, 8)\n  (layers.1): Linear(8, 2)\n"
        "  (activation): Tanh()\n  (dropout): Dropout(p=0.1)\n)")
    nested = repr(nn.Sequential(nn.Sequential(nn.ReLU()), nn.Softmax(axis=1)))
    assert nested == ("Sequential(\n  (layers.0): Sequential(\n    (layers.0): ReLU()\n  )\n"
                      "  (layers.1): Softmax(axis=1)\n)")


def test_call_records_the_module_as_the_scope_of_its_ops_and_restores_it():
    model = nn.MLP([3, 4, 2])
    out = model(Tensor(np.ones((1, 3), np.float32)))
    frame = out.grad_fn.frame  # the last op, linear, ran inside layers.1, inside the MLP
    assert frame.module is model.layers[1] and frame.parent.module is model
    assert frame.parent.parent is None
    assert out.grad_fn.parents[0].grad_fn.frame.module is model.activation  # relu
    assert state.frame is None

    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Broken()(1)
    assert state.frame is None


def test_train_and_eval_reach_nested_modules():
    outer = nn.Sequential(Block(), nn.MLP([2, 2, 2], dropout=0.5))
    outer.eval()
    assert all(not m.training for m in outer.modules()) and len(outer.modules()) == 11
    outer.train()
    assert all(m.training for m in outer.modules())
    assert outer[1].dropout.training


def test_zero_grad_clears_every_parameter():
    model = nn.MLP([3, 4, 2])
    nn.cross_entropy(model(Tensor(np.ones((2, 3), np.float32))), np.array([0, 1])).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# --- layers -----------------------------------------------------------------------------------


def test_linear_computes_x_at_weight_plus_bias():
    layer = nn.Linear(4, 3, bias_init=lambda s, rng, dtype: nn.init.normal(s, rng=rng, dtype=dtype))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    y = layer(Tensor(x))
    assert layer.weight.shape == (4, 3) and y.dtype == np.float32
    np.testing.assert_allclose(y.data, x @ layer.weight.data + layer.bias.data, rtol=1e-6)
    no_bias = nn.Linear(4, 3, bias=False, dtype="float64")
    assert no_bias.bias is None and no_bias(Tensor(x.astype(np.float64))).dtype == np.float64
    with pytest.raises(tg.ShapeError, match=r"Linear\(3, 2\): an input of shape \(5, 4\).*takes 3"):
        nn.Linear(3, 2)(Tensor(x))
    with pytest.raises(ValueError, match="unknown init 'glorious'"):
        nn.Linear(3, 2, init="glorious")


def test_default_inits_suit_the_activation():
    tg.manual_seed(0)
    relu, tanh = nn.MLP([400, 300, 2]), nn.MLP([400, 300, 2], activation="tanh")
    bound = np.abs(relu.layers[0].weight.data).max(), np.abs(tanh.layers[0].weight.data).max()
    assert bound[0] == pytest.approx(np.sqrt(6 / 400), rel=1e-3)
    assert bound[1] == pytest.approx(np.sqrt(6 / 700), rel=1e-3)
    assert (relu.layers[0].bias.data == 0).all()
    with pytest.raises(ValueError, match="unknown activation 'swish'.*gelu, silu"):
        nn.MLP([2, 2], activation="swish")


@pytest.mark.parametrize("name,module", [("gelu", nn.GELU), ("silu", nn.SiLU),
                                         ("leaky_relu", nn.LeakyReLU), ("elu", nn.ELU),
                                         ("relu6", nn.ReLU6), ("softplus", nn.Softplus)])
def test_mlp_takes_the_other_activations_by_name(name, module):
    tg.manual_seed(0)
    m = nn.MLP([400, 30, 2], activation=name)
    assert type(m.activation) is module
    assert np.abs(m.layers[0].weight.data).max() == pytest.approx(np.sqrt(6 / 400), rel=1e-2)
    x = Tensor(np.random.default_rng(0).standard_normal((3, 400)).astype(np.float32))
    h = m.activation(m.layers[0](x))
    np.testing.assert_allclose(m(x).data, m.layers[1](h).data)


def test_fixed_seeds_give_identical_models():
    tg.manual_seed(3)
    a = nn.MLP([5, 4, 3])
    tg.manual_seed(3)
    b = nn.MLP([5, 4, 3])
    c = nn.MLP([5, 4, 3], rng=np.random.default_rng(3))
    d = nn.MLP([5, 4, 3], rng=np.random.default_rng(3))
    for (_, p), (_, q), (_, r), (_, s) in zip(a.named_tensors(), b.named_tensors(),
                                              c.named_tensors(), d.named_tensors()):
        assert np.array_equal(p.data, q.data) and np.array_equal(r.data, s.data)
    assert not np.array_equal(a.layers[0].weight.data, nn.MLP([5, 4, 3]).layers[0].weight.data)


def test_activation_modules():
    x = Tensor(np.array([[-1.0, 0.5, 2.0]]))
    np.testing.assert_allclose(nn.ReLU()(x).data, [[0, 0.5, 2]])
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x.data))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)))
    np.testing.assert_allclose(nn.Softmax()(x).data, np.exp(x.data) / np.exp(x.data).sum())
    np.testing.assert_allclose(np.exp(nn.LogSoftmax(axis=1)(x).data), nn.Softmax(axis=1)(x).data)


def test_sequential_applies_layers_in_order():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = Tensor(np.ones((2, 3), np.float32))
    assert len(seq) == 3 and seq[0] is seq.layers[0]
    np.testing.assert_array_equal(seq(x).data, seq[2](seq[1](seq[0](x))).data)


# --- Dropout ----------------------------------------------------------------------------------


def test_dropout_is_the_identity_in_eval_mode():
    drop = nn.Dropout(0.5).eval()
    x = Tensor(np.ones((4, 4), np.float32), requires_grad=True)
    assert drop(x) is x


def test_dropout_keeps_the_expected_activation_in_training():
    drop = nn.Dropout(0.3, rng=np.random.default_rng(0))
    x = Tensor(np.full((1000, 1000), 2.0, np.float32), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.002  # 6 sigma for 1e6 Bernoulli(0.7) draws
    np.testing.assert_allclose(y.data[kept], 2.0 / 0.7, rtol=1e-6)
    assert abs(y.data.mean() - 2.0) < 0.01
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.7, rtol=1e-6)  # gradient through the same mask
    assert (nn.Dropout(1.0)(x).data == 0).all() and nn.Dropout(0.0)(x) is x
    with pytest.raises(ValueError, match=r"must be in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)


def test_dropout_draws_from_the_global_generator():
    x = Tensor(np.ones((3, 50), np.float32))
    tg.manual_seed(5)
    a = nn.Dropout(0.5)(x).data
    tg.manual_seed(5)
    assert np.array_equal(a, nn.Dropout(0.5)(x).data)


# --- state dicts ------------------------------------------------------------------------------


def snapshot(model):
    return {n: t.data.copy() for n, t in model.named_tensors()}


def test_state_dict_round_trip_copies_in_place():
    a, b = nn.MLP([4, 5, 3], rng=np.random.default_rng(0)), nn.MLP([4, 5, 3])
    arrays = [p.data for p in b.parameters()]
    state = a.state_dict()
    state["layers.0.weight"][0, 0] = 99.0  # a copy: the model is not touched
    assert a.layers[0].weight.data[0, 0] != 99.0
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    assert all(p.data is arr for p, arr in zip(b.parameters(), arrays))


@pytest.mark.parametrize("corrupt, message", [
    (lambda s: s.update({"layers.1.weight": np.zeros((5, 4), np.float32)}),
     r"'layers.1.weight' has shape \(5, 4\) in the state but \(5, 3\)"),
    (lambda s: s.pop("layers.1.bias"), r"missing \['layers.1.bias'\]"),
    (lambda s: s.update({"layers.9.bias": np.zeros(3)}), r"unexpected \['layers.9.bias'\]"),
    (lambda s: s.update({"layers.1.bias": np.zeros(3)}), "dtype float64 in the state but float32"),
])
def test_a_failed_load_raises_and_leaves_every_parameter_unchanged(corrupt, message):
    model = nn.MLP([4, 5, 3])
    before = snapshot(model)
    state = nn.MLP([4, 5, 3]).state_dict()  # valid values for every other key: loaded first
    corrupt(state)
    with pytest.raises(CheckpointError, match=message):
        model.load_state_dict(state)
    for name, arr in snapshot(model).items():
        np.testing.assert_array_equal(arr, before[name], err_msg=name)


def test_non_strict_load_takes_the_common_keys():
    model, other = nn.MLP([4, 5, 3]), nn.MLP([4, 5, 3])
    kept = model.layers[1].weight.data.copy()
    state = other.state_dict()
    del state["layers.1.weight"]
    state["extra"] = np.zeros(1)
    result = model.load_state_dict(state, strict=False)
    assert result == (["layers.1.weight"], ["extra"])
    np.testing.assert_array_equal(model.layers[0].weight.data, other.layers[0].weight.data)
    np.testing.assert_array_equal(model.layers[1].weight.data, kept)


# --- whole-model gradients --------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_full_mlp_gradient_passes_gradcheck(activation):
    rng = np.random.default_rng(1)
    model = nn.MLP([5, 7, 6, 3], activation=activation, dtype="float64", rng=rng,
                   bias_init=lambda s, r, dtype: nn.init.normal(s, std=0.5, rng=r, dtype=dtype))
    X = rng.standard_normal((9, 5))
    y = rng.integers(0, 3, 9)
    params = model.parameters()
    assert len(params) == 6 and all(p.dtype == np.float64 for p in params)
    assert gradcheck(lambda *_: nn.cross_entropy(model(Tensor(X)), y), *params)


def test_dtype_and_device_methods_as_pytorch():
    model = nn.MLP([3, 4, 2])
    assert model.cpu() is model and model.to("cpu") is model
    assert model.half() is model
    assert all(p.dtype == np.float16 for p in model.parameters())
    assert model.double().layers[0].weight.dtype == np.float64
    assert model.float().layers[1].bias.dtype == np.float32
    y = model(Tensor(np.ones((2, 3), np.float32)))
    assert y.dtype == np.float32 and y.shape == (2, 2)
