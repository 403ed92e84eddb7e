"""draw_graph's backward picture, highlight= and health=: what the DOT source says."""

import math

import numpy as np
import pytest
from test_viz import parse_dot

import tinygrad_np as tg
from tinygrad_np import GradcheckError, Tensor, draw_graph, nn, optim
from tinygrad_np.autograd import Function, check_graph
from tinygrad_np.viz import VJP_FORMULAS, gradient_flow, vjp_formula, watch


def step(activation="tanh", sizes=(4, 5, 3), seed=0):
    tg.manual_seed(seed)
    model = nn.MLP(list(sizes), activation=activation, dtype="float64")
    X = Tensor(np.random.default_rng(seed).standard_normal((6, sizes[0])), name="x")
    loss = model(X).cross_entropy(np.array([0, 1, 2, 0, 1, 2]))
    return model, loss


def by_title(nodes):
    out = {}
    for nid, (text, attrs, cluster) in nodes.items():
        out.setdefault(text.split("\n")[0], []).append((nid, text, attrs, cluster))
    return out


# --- backward=True ----------------------------------------------------------------------------


def test_ops_carry_their_vector_jacobian_product():
    model, loss = step()
    nodes, _ = parse_dot(draw_graph(loss, model, backward=True).source)
    titles = by_title(nodes)
    assert "dx = g·(1 − y²)" in titles["tanh"][0][1]
    assert "dZ = (softmax(Z) − Y)·g / m" in titles["cross_entropy(reduction=mean)"][0][1]
    assert all("dW = xᵀ·g" in text for _, text, _, _ in titles["linear"])
    assert "seed g = 1" in titles["cross_entropy(reduction=mean)"][0][1]


def test_every_edge_carries_the_gradient_that_op_sends_back():
    model, loss = step()
    source = draw_graph(loss, model, backward=True).source
    loss.backward()
    nodes, _ = parse_dot(source)
    ids = {text.split("\n")[0]: nid for nid, (text, _, _) in nodes.items()}
    for name, p in model.named_parameters():  # the edge into each parameter: its whole gradient
        norm = np.linalg.norm(p.grad.data)
        line = next(li for li in source.splitlines() if li.strip().startswith(f"{ids[name]} ->"))
        assert f"{p.shape}  ‖g‖ {norm:.3g}" in line and "dir=back" in line, line
        assert f"grad norm {norm:.3g}" in nodes[ids[name]][0]
    x_edge = next(li for li in source.splitlines() if li.strip().startswith(f"{ids['x']} ->"))
    assert "style=dotted" in x_edge and "‖g‖" not in x_edge  # data gets no gradient


def test_a_function_with_two_outputs_sends_back_their_gradients_together():
    class Both(Function):  # y = (2x, x²): one backward for the two outputs
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2, x * x

        @staticmethod
        def backward(ctx, ga, gb):
            (x,) = ctx.saved_tensors
            return ga * 2 + gb * 2 * x

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    a, b = Both.apply(x)
    loss = (a * 3 + b).sum()
    flow = gradient_flow(loss)
    assert np.allclose(flow.totals[id(x)], 6 + 2 * x.data)
    assert "Both" in draw_graph(loss, backward=True).source
    loss.backward()
    assert np.allclose(x.grad.data, 6 + 2 * x.data)


def test_a_one_element_gradient_is_shown_with_its_sign():
    a = Tensor(np.array(2.0), requires_grad=True, name="a")
    w = Tensor(np.ones(3), requires_grad=True, name="w")
    loss = a * -1.5 + (w * 2.0).sum()
    nodes, _ = parse_dot(draw_graph(loss, backward=True).source)
    texts = {text.split("\n")[0]: text for text, _, _ in nodes.values()}
    assert "grad -1.5" in texts["a"] and "grad norm" not in texts["a"]
    assert f"grad norm {np.sqrt(12):.3g}" in texts["w"]
    loss.backward()
    nodes, _ = parse_dot(draw_graph(loss, show_grads=True).source)
    texts = {text.split("\n")[0]: text for text, _, _ in nodes.values()}
    assert "grad -1.5" in texts["a"]


def test_a_tensor_used_twice_shows_each_use_on_its_own_edge():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    y = x.exp()
    loss = (y * 3 + y.sin()).sum()
    flow = gradient_flow(loss)
    mul = loss._ctx.inputs[0]._ctx.inputs[0]
    sin = loss._ctx.inputs[0]._ctx.inputs[1]
    assert np.allclose(flow.edges[(id(y), id(mul))], [3.0, 3.0])
    assert np.allclose(flow.edges[(id(y), id(sin))], np.cos(y.data))
    assert np.allclose(flow.totals[id(x)], (3 + np.cos(y.data)) * y.data)


def test_drawing_the_flow_changes_no_gradient_and_frees_nothing():
    model, loss = step()
    draw_graph(loss, model, backward=True)
    assert all(p.grad is None for p in model.parameters())
    loss.backward()  # the graph is still whole
    grads = [p.grad.data.copy() for p in model.parameters()]
    assert all(np.abs(g).sum() > 0 for g in grads)


def test_after_a_plain_backward_the_picture_says_why_edges_are_bare():
    model, loss = step()
    loss.backward()
    source = draw_graph(loss, model, backward=True).source
    assert "the graph was freed by backward()" in source and "retain_graph=True" in source
    nodes, _ = parse_dot(source)
    w = model.layers[0].weight
    assert any(f"grad norm {np.linalg.norm(w.grad.data):.3g}" in text
               for text, _, _ in nodes.values())
    assert "‖g‖" not in source


def test_user_functions_show_their_formula():
    class Cube(Function):
        vjp_formula = "dx = 3x²·g"

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    class Twice(Function):
        """2 x            dx = 2 g"""

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = Tensor(np.ones(3), requires_grad=True)
    assert vjp_formula(Cube.apply(x)._ctx) == "dx = 3x²·g"
    assert vjp_formula(Twice.apply(x)._ctx) == "dx = 2 g"
    source = draw_graph(Twice.apply(Cube.apply(x)).sum(), backward=True).source
    assert "dx = 3x²·g" in source and "dx = 2 g" in source


def test_every_formula_names_a_primitive():
    from tinygrad_np import ops
    from tinygrad_np.autograd.function import Function as F
    from tinygrad_np.autograd.function import op_name
    primitives = {op_name(c) for c in vars(ops).values()
                  if isinstance(c, type) and issubclass(c, F) and c is not F}
    assert set(VJP_FORMULAS) <= primitives, set(VJP_FORMULAS) - primitives


def test_the_gradient_of_a_create_graph_backward_is_a_graph_to_draw():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
    (x.tanh() * x).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.op is not None
    nodes, edges = parse_dot(draw_graph(g).source)
    titles = [text.split("\n")[0] for text, _, _ in nodes.values()]
    assert "x" in titles and "tanh" in titles and titles.count("mul") >= 2
    assert "dx = g·(1 − y²)" in draw_graph(g, backward=True).source


# --- highlight= -------------------------------------------------------------------------------


class Scale(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return g  # forgot the 3


def test_check_graph_error_is_drawn_in_red():
    tg.manual_seed(0)
    model = nn.MLP([4, 5, 3], dtype="float64")
    X = Tensor(np.random.default_rng(0).standard_normal((6, 4)))
    loss = nn.cross_entropy(model.layers[1](Scale.apply(model.layers[0](X).tanh())),
                            np.array([0, 1, 2, 0, 1, 2]))
    with pytest.raises(GradcheckError) as info:
        check_graph(loss)
    nodes, _ = parse_dot(draw_graph(loss, model, highlight=info.value).source)
    red = [(text, attrs) for text, attrs, _ in nodes.values()
           if attrs.get("fillcolor") == "#ff8787"]
    assert len(red) == 1
    assert red[0][0].startswith("Scale") and "check_graph: off by a constant factor" in red[0][0]
    nodes, _ = parse_dot(draw_graph(loss, model, highlight=info.value,
                                    collapse_modules=True).source)
    assert [t.split("\n")[0] for t, a, _ in nodes.values() if a.get("fillcolor") == "#ff8787"] \
        == ["Scale"]
    relu_out = model.layers[0](X)
    nodes, _ = parse_dot(draw_graph(relu_out.sum(), model, highlight=relu_out,
                                    collapse_modules=True).source)
    assert [t.split("\n")[0] for t, a, _ in nodes.values()
            if a.get("fillcolor") == "#ff8787"] == ["layers.0: Linear(4, 5)"]


def test_highlight_of_the_wrong_kind():
    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(tg.ArgumentError, match="highlight must be a Tensor"):
        draw_graph(x.sum(), highlight="sum")
    with pytest.raises(tg.ArgumentError, match="without a node"):
        draw_graph(x.sum(), highlight=GradcheckError("from gradcheck"))


# --- health= ----------------------------------------------------------------------------------


def dead_layer_run(steps=3):
    tg.manual_seed(0)
    model = nn.MLP([8, 6, 5, 3], dtype="float64")
    model.layers[1].bias.data[:] = -50.0  # every unit of the second hidden layer is off
    rng = np.random.default_rng(0)
    X, y = Tensor(rng.standard_normal((16, 8))), rng.integers(0, 3, 16)
    opt = optim.SGD(model.parameters(), lr=0.1)
    health = watch(model)
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    for _ in range(steps):
        loss = nn.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        health.step()
    return model, health, loss, X, before


def test_health_finds_the_dead_layer():
    model, health, loss, X, _ = dead_layer_run()
    stats = {health.label(k): v for k, v in health.stats().items()}
    assert list(stats) == ["layers.0", "activation[0]", "layers.1", "activation[1]", "layers.2"]
    assert stats["activation[1]"]["dead"] == 1.0 and stats["activation[1]"]["units"] == 5
    assert stats["activation[0]"]["dead"] < 0.5
    assert stats["layers.0"]["grad_norm"] == 0.0  # nothing flows back through a dead layer
    assert stats["layers.2"]["grad_norm"] > 0
    text = health.summary()
    assert text.splitlines()[0] == "health over 3 step(s):"
    assert "activation[1]  out mean 0  std 0 | dead 100% (5/5)" in text


def test_health_numbers_are_the_real_ones():
    model, health, loss, X, before = dead_layer_run(steps=1)
    s = {health.label(k): v for k, v in health.stats().items()}
    h = model.layers[0](X)  # what the first layer put out in the step (weights before it)
    w0, b0 = before["layers.0.weight"], before["layers.0.bias"]
    out = X.data @ w0 + b0
    assert s["layers.0"]["mean"] == pytest.approx(out.mean())
    assert s["layers.0"]["std"] == pytest.approx(out.std())
    W, B = model.layers[2].weight, model.layers[2].bias
    moved = math.sqrt(np.sum((W.data - before["layers.2.weight"]) ** 2)
                      + np.sum((B.data - before["layers.2.bias"]) ** 2))
    size = math.sqrt(np.sum(before["layers.2.weight"] ** 2) + np.sum(before["layers.2.bias"] ** 2))
    assert s["layers.2"]["update_ratio"] == pytest.approx(moved / size)
    grad = math.sqrt(np.sum(W.grad.data ** 2) + np.sum(B.grad.data ** 2))
    assert s["layers.2"]["grad_norm"] == pytest.approx(grad)
    assert h.shape == (16, 6)


def test_health_on_the_picture_and_remove():
    model, health, loss, X, _ = dead_layer_run()
    nodes, _ = parse_dot(draw_graph(loss, model, health=health).source)
    relus = [(text, attrs) for text, attrs, _ in nodes.values() if text.startswith("relu")]
    assert len(relus) == 2
    dead = [t for t, a in relus if a.get("fillcolor") == "#ffc9c9"]
    assert len(dead) == 1 and "activation[1]" in dead[0] and "dead 100% (5/5)" in dead[0]
    source = draw_graph(loss, model, health=health).source
    assert "update/weight" in source and "grad norm 0<" in source.replace("\n", "")
    n_calls = len(health._acts[next(iter(health._acts))]["mean"])
    with tg.no_grad():  # evaluation is not training: not recorded
        model(X)
    assert len(health._acts[next(iter(health._acts))]["mean"]) == n_calls
    health.remove()
    model(X)
    assert health.stats()[next(iter(health.stats()))]  # the old numbers stay
    n_before = len(health._acts[next(iter(health._acts))]["mean"])
    model(X)
    assert len(health._acts[next(iter(health._acts))]["mean"]) == n_before
    with pytest.raises(tg.ArgumentError, match="watch: expected a Module"):
        watch([1, 2])
    with pytest.raises(tg.ArgumentError, match="health must be a Health"):
        draw_graph(loss, model, health={"a": 1})
