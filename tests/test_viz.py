"""draw_graph: what the walk finds, what the DOT source says, and what `dot` makes of it."""

import html
import re
import struct
import xml.etree.ElementTree as ET

import graphviz
import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import Tensor, TinygradError, draw_graph, manual_seed, nn, no_grad, toposort
from tinygrad_np.viz import GRAD_LEVELS, GraphvizNotFoundError, trace

needs_dot = pytest.mark.needs_dot  # `make test` installs Graphviz; tests/conftest.py
COLOUR = {name: fill for _, name, fill, _ in GRAD_LEVELS}


def parse_dot(source: str):
    """{node id: (label text, attributes, cluster label or None)}, [(tail, head)], from DOT."""
    nodes, edges, stack = {}, [], []
    for line in source.splitlines():
        line = line.strip()
        if m := re.match(r"subgraph (\w+) \{$", line):
            stack.append(None)
        elif line == "}" and stack:
            stack.pop()
        elif (m := re.match(r'graph \[.*\blabel=("[^"]*"|[^ \]]+)', line)) and stack:
            stack[-1] = m[1].strip('"')
        elif m := re.match(r"(\w+) -> (\w+)$", line):
            edges.append((m[1], m[2]))
        elif m := re.match(r"(\w+) \[label=<(.*)>((?: \w+=(?:\"[^\"]*\"|[^ \]]+))*)\]$", line):
            text = html.unescape(re.sub(r"<[^>]+>", "", m[2].replace("<br/>", "\n")))
            attrs = {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|[^ \]]+)', m[3])}
            nodes[m[1]] = (text, attrs, stack[-1] if stack else None)
    return nodes, edges


def micrograd_example():
    a = Tensor(2.0, requires_grad=True, name="a")
    b = Tensor(-3.0, requires_grad=True, name="b")
    c = Tensor(10.0, requires_grad=True, name="c")
    return a * b + c


def mlp_step(sizes=(4, 5, 3), activation="relu", batch=6, seed=0):
    """One training step's graph: model, loss (after backward), the input."""
    manual_seed(seed)
    model = nn.MLP(list(sizes), activation=activation)
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32), name="x")
    loss = model(x).cross_entropy(rng.integers(0, sizes[-1], batch))
    loss.backward(retain_graph=True)
    return model, loss


# --- what the graph contains ------------------------------------------------------------------


def test_micrograd_expression_nodes_edges_and_labels():
    d = micrograd_example()
    g = trace(d)
    assert [(n.kind, n.title, n.shape) for n in g.nodes] == [
        ("param", "a", ()), ("param", "b", ()), ("op", "mul", ()), ("param", "c", ()),
        ("op", "add", ())]
    ids = {n.title: n.id for n in g.nodes}
    assert g.edges == [(ids["a"], ids["mul"]), (ids["b"], ids["mul"]), (ids["mul"], ids["add"]),
                       (ids["c"], ids["add"])]
    assert g.clusters == []

    nodes, edges = parse_dot(draw_graph(d, show_values=True).source)
    assert len(nodes) == 5 and len(edges) == 4
    labels = sorted(text for text, _, _ in nodes.values())
    assert labels == ["a\nscalar float32\nvalue 2", "add\nscalar\nvalue 4",
                      "b\nscalar float32\nvalue -3", "c\nscalar float32\nvalue 10",
                      "mul\nscalar\nvalue -6"]
    outputs = [text for text, attrs, _ in nodes.values() if attrs.get("penwidth") == "2.5"]
    assert outputs == ["add\nscalar\nvalue 4"]


def test_two_layer_mlp_step_with_cross_entropy():
    model, loss = mlp_step()
    g = trace(loss, model, group_modules=False)
    assert [(n.kind, n.title, n.shape) for n in g.nodes] == [
        ("input", "x", (6, 4)),
        ("param", "layers.0.weight", (4, 5)), ("param", "layers.0.bias", (5,)),
        ("op", "linear", (6, 5)),
        ("op", "relu", (6, 5)),
        ("param", "layers.1.weight", (5, 3)), ("param", "layers.1.bias", (3,)),
        ("op", "linear", (6, 3)),
        ("op", "cross_entropy(reduction=mean)", ()),
    ]
    by_id = {n.id: n.title for n in g.nodes}
    assert [(by_id[a], by_id[b]) for a, b in g.edges] == [
        ("x", "linear"), ("layers.0.weight", "linear"), ("layers.0.bias", "linear"),
        ("linear", "relu"), ("relu", "linear"), ("layers.1.weight", "linear"),
        ("layers.1.bias", "linear"), ("linear", "cross_entropy(reduction=mean)"),
    ]
    nodes, edges = parse_dot(draw_graph(loss, model, group_modules=False).source)
    assert len(nodes) == 9 and len(edges) == 8
    labels = {text for text, _, _ in nodes.values()}
    assert {"x\n(6, 4) float32", "layers.0.weight\n(4, 5) float32", "linear\n(6, 5)",
            "relu\n(6, 5)", "layers.1.bias\n(3,) float32",
            "cross_entropy(reduction=mean)\nscalar"} <= labels
    fills = {text.split("\n")[0]: attrs["fillcolor"] for text, attrs, _ in nodes.values()}
    assert fills["layers.0.weight"] == fills["layers.1.bias"] != fills["x"] != fills["linear"]


def test_op_attributes_constants_reuse_and_no_grad_inputs():
    x = Tensor(np.ones((2, 3)), requires_grad=True, name="x")
    with no_grad():
        scale = Tensor(np.full((2, 3), 4.0)) / 2
    y = ((x + x) ** 2 * scale).sum(axis=1).log_softmax(axis=0)
    g = trace(y)
    assert [(n.kind, n.title) for n in g.nodes] == [
        ("param", "x"), ("op", "add"), ("op", "pow(exponent=2)"), ("input", "input"),
        ("op", "mul"), ("op", "sum(axis=1)"), ("op", "log_softmax(axis=0)")]
    ids = {n.title: n.id for n in g.nodes}
    assert g.edges.count((ids["x"], ids["add"])) == 2  # x + x: both operands drawn
    z = x * 2
    assert [(n.kind, n.title, n.shape, n.dtype) for n in trace(z).nodes][1] == (
        "const", "2", (), "float64")


def test_params_from_a_dict_and_bad_arguments():
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    out = (Tensor(np.ones((1, 3))) @ w).sum()
    assert trace(out, {"w": w}).find("w").kind == "param"
    assert trace(out).find("param").tensor is w
    with pytest.raises(TypeError, match=r"params must be a Module .* got list"):
        draw_graph(out, [w])
    with pytest.raises(TypeError, match="root must be a Tensor"):
        draw_graph(3.0)
    with pytest.raises(ValueError, match="rankdir must be 'TB', 'LR', 'BT' or 'RL', got 'up'"):
        draw_graph(out, rankdir="up")
    assert "rankdir=LR" in draw_graph(out, rankdir="LR").source


# --- modules ------------------------------------------------------------------------------------


def test_module_grouping_puts_each_layer_in_its_cluster():
    model, loss = mlp_step((4, 5, 3))
    g = trace(loss, model)
    labels = {c.id: c.label for c in g.clusters}
    assert sorted(labels.values()) == ["MLP", "layers.0: Linear(4, 5)", "layers.1: Linear(5, 3)"]
    parent = {c.label: labels.get(c.parent) for c in g.clusters}
    assert parent == {"MLP": None, "layers.0: Linear(4, 5)": "MLP",
                      "layers.1: Linear(5, 3)": "MLP"}
    where = [(n.title, labels.get(n.cluster)) for n in g.nodes]
    assert where == [
        ("x", None),
        ("layers.0.weight", "layers.0: Linear(4, 5)"), ("layers.0.bias", "layers.0: Linear(4, 5)"),
        ("linear", "layers.0: Linear(4, 5)"),
        ("relu", "MLP"),  # the activation's one-op box is unboxed into its parent
        ("layers.1.weight", "layers.1: Linear(5, 3)"), ("layers.1.bias", "layers.1: Linear(5, 3)"),
        ("linear", "layers.1: Linear(5, 3)"),
        ("cross_entropy(reduction=mean)", None),
    ]
    nodes, _ = parse_dot(draw_graph(loss, model).source)
    in_dot = {text.split("\n")[0] + "@" + str(cluster) for text, _, cluster in nodes.values()}
    assert {"layers.0.weight@layers.0: Linear(4, 5)", "layers.1.bias@layers.1: Linear(5, 3)",
            "relu@MLP", "x@None", "cross_entropy(reduction=mean)@None"} <= in_dot


def test_collapsing_gives_one_node_per_layer():
    model, loss = mlp_step((4, 6, 5, 3))
    g = trace(loss, model, collapse_modules=True)
    assert [(n.kind, n.title, n.shape) for n in g.nodes] == [
        ("input", "x", (6, 4)),
        ("module", "layers.0: Linear(4, 6)", (6, 6)), ("module", "activation: ReLU()", (6, 6)),
        ("module", "layers.1: Linear(6, 5)", (6, 5)), ("module", "activation: ReLU()", (6, 5)),
        ("module", "layers.2: Linear(5, 3)", (6, 3)),
        ("op", "cross_entropy(reduction=mean)", ()),
    ]
    ids = [n.id for n in g.nodes]
    assert g.edges == list(zip(ids[:-1], ids[1:]))
    assert [len(n.params) for n in g.nodes if n.kind == "module"] == [2, 0, 2, 0, 2]
    nodes, edges = parse_dot(draw_graph(loss, model, collapse_modules=True).source)
    assert len(nodes) == 7 and len(edges) == 6
    assert "layers.1: Linear(6, 5)\nout (6, 5)  35 params" in {t for t, _, _ in nodes.values()}


def test_a_layer_called_twice_is_two_calls_sharing_its_weights():
    manual_seed(1)
    lin = nn.Linear(3, 3)
    out = lin(lin(Tensor(np.ones((2, 3), dtype=np.float32))).tanh()).sum()
    g = trace(out, lin, collapse_modules=True)
    assert [(n.kind, n.title) for n in g.nodes] == [
        ("input", "input"), ("param", "weight"), ("param", "bias"), ("module", "Linear(3, 3)"),
        ("op", "tanh"), ("module", "Linear(3, 3)"), ("op", "sum")]
    grouped = trace(out, lin)
    assert grouped.clusters == []  # each call is one linear op: no box around a single node
    assert grouped.find("weight").cluster is None  # shared by both calls: in neither box


# --- gradients ---------------------------------------------------------------------------------


def test_saturated_tanh_layer_shows_vanishing_gradients():
    manual_seed(0)
    model = nn.MLP([8, 16, 16, 4], activation="tanh", dtype="float64")
    x = Tensor(np.random.default_rng(0).standard_normal((32, 8)), name="x")

    def step():
        model.zero_grad()
        loss = model(x).cross_entropy(np.arange(32) % 4)
        loss.backward()
        return loss, {n: float(np.linalg.norm(p.grad)) for n, p in model.named_parameters()}

    _, norms = step()
    assert norms["layers.0.weight"] >= 1e-3  # healthy before saturation
    model.layers[0].bias.data[:] = 15.0  # every first-layer tanh now sits at 1 - 1e-10
    loss, norms = step()
    assert 0 < norms["layers.0.weight"] < 1e-6 and 0 < norms["layers.0.bias"] < 1e-6
    assert norms["layers.1.weight"] >= 1e-3 and norms["layers.2.weight"] >= 1e-3

    nodes, _ = parse_dot(draw_graph(loss, model, show_grads=True).source)
    by_title = {text.split("\n")[0]: (text, attrs) for text, attrs, _ in nodes.values()}
    for name in ("layers.0.weight", "layers.0.bias"):
        text, attrs = by_title[name]
        assert attrs["fillcolor"] == COLOUR["vanishing"]
        assert f"grad norm {norms[name]:.3g}" in text
    for name in ("layers.1.weight", "layers.2.weight"):
        text, attrs = by_title[name]
        assert attrs["fillcolor"] == COLOUR["healthy"]
        assert f"grad norm {norms[name]:.3g}" in text
    assert "vanishing" in nodes["legend"][0] and "exploding" in nodes["legend"][0]

    collapsed, _ = parse_dot(draw_graph(loss, model, show_grads=True,
                                        collapse_modules=True).source)
    fills = {t.split("\n")[0]: a["fillcolor"] for t, a, _ in collapsed.values() if "Linear" in t}
    assert fills == {"layers.0: Linear(8, 16)": COLOUR["vanishing"],
                     "layers.1: Linear(16, 16)": COLOUR["healthy"],
                     "layers.2: Linear(16, 4)": COLOUR["healthy"]}


def test_values_and_retained_gradients_on_intermediates():
    x = Tensor(np.array([[1.0, -2.0], [3.0, 0.5]]), requires_grad=True, name="x")
    h = (x * 3.0).retain_grad()
    loss = (h * h).mean()
    loss.backward()
    nodes, _ = parse_dot(draw_graph(loss, show_values=True, show_grads=True).source)
    texts = {t.split("\n")[0]: t for t, _, _ in nodes.values()}
    assert texts["x"].split("\n")[2:] == [
        f"mean {x.data.mean():.3g}  std {x.data.std():.3g}",
        f"min {x.data.min():.3g}  max {x.data.max():.3g}",
        f"grad norm {np.linalg.norm(x.grad):.3g}"]
    muls = [t for t, _, _ in nodes.values() if t.startswith("mul")]
    assert len(muls) == 2
    assert f"grad norm {np.linalg.norm(h.grad):.3g}" in muls[0]  # retained: h = x * 3
    assert "grad norm" not in muls[1]  # h * h keeps no grad


def test_drawing_changes_neither_graph_nor_gradients():
    model, loss = mlp_step((4, 5, 3))

    def snapshot():
        def record(t):
            ctx = t.grad_fn
            return () if ctx is None else (tuple(id(p) for p in ctx.parents), ctx.op,
                                           ctx.attrs, ctx.frame, ctx.freed, len(ctx.saved_tensors))

        return [(id(t), record(t), t.requires_grad, t.data.copy(),
                 None if t._grad is None else t._grad.data.copy())
                for t in toposort(loss, include_constants=True)]

    before = snapshot()
    for kwargs in ({}, {"show_values": True, "show_grads": True}, {"collapse_modules": True},
                   {"group_modules": False, "rankdir": "LR"}):
        draw_graph(loss, model, **kwargs).source  # noqa: B018  (building the text is the point)
    after = snapshot()
    assert len(after) == len(before)
    for b, a in zip(before, after):
        assert b[:3] == a[:3]
        np.testing.assert_array_equal(b[3], a[3])
        assert (b[4] is None) == (a[4] is None)
        if b[4] is not None:
            np.testing.assert_array_equal(b[4], a[4])
    grads = [p.grad.data.copy() for p in model.parameters()]
    loss.backward()  # the retained graph still works, and accumulates as before
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-6)


def test_a_10000_node_graph_gives_dot_source_without_recursion():
    x = Tensor(np.float64(0.5), requires_grad=True, name="x")
    y = x
    for _ in range(9_999):  # a recursive walker hits Python's limit of 1000 frames long before
        y = y.tanh()
    nodes, edges = parse_dot(draw_graph(y, show_values=True).source)
    assert len(nodes) == 10_000 and len(edges) == 9_999


# --- rendering ---------------------------------------------------------------------------------


@needs_dot
def test_renders_png_svg_and_pdf(tmp_path):
    model, loss = mlp_step((4, 5, 3))
    drawing = draw_graph(loss, model, show_grads=True)
    png = tmp_path / "graph.png"
    assert drawing.render(outfile=png, cleanup=True) == str(png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    assert 200 < width < 3000 and 300 < height < 3000
    assert 10_000 < len(data) < 2_000_000
    assert not (tmp_path / "graph.gv").exists()  # cleanup removed the DOT file

    svg = tmp_path / "graph.svg"
    drawing.render(outfile=svg, cleanup=True)
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {el.text for el in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"linear", "layers.0.weight", "cross_entropy(reduction=mean)", "MLP"} <= texts

    pdf = tmp_path / "graph.pdf"
    drawing.render(outfile=pdf, cleanup=True)
    assert pdf.read_bytes()[:5] == b"%PDF-"


@needs_dot
def test_jupyter_display_is_inline_svg():
    bundle = draw_graph(micrograd_example())._repr_mimebundle_()
    assert ET.fromstring(bundle["image/svg+xml"]).tag.endswith("svg")


def test_without_dot_the_error_says_how_to_install_graphviz(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    drawing = draw_graph(micrograd_example())
    with pytest.raises(GraphvizNotFoundError) as info:
        drawing.render(outfile=tmp_path / "graph.png")
    message = str(info.value)
    for fix in ("apt-get install graphviz", "brew install graphviz",
                "conda install -c conda-forge graphviz"):
        assert fix in message
    assert isinstance(info.value, TinygradError)
    assert isinstance(info.value, graphviz.ExecutableNotFound)  # graphviz's own except works
    source = tmp_path / "graph.gv"
    assert f"saved to {source}" in message
    assert source.read_text() == drawing.source.replace("\r\n", "\n")
    with pytest.raises(GraphvizNotFoundError, match="brew install graphviz"):
        drawing._repr_mimebundle_()  # what Jupyter calls
    assert drawing.source.startswith("digraph")


@pytest.mark.parametrize("name", ["graph", "graph.xyz"])
def test_render_to_a_file_without_a_picture_suffix_says_which_to_use(tmp_path, name):
    # (graphviz's RequiredArgumentError came through)
    m = nn.Linear(3, 2)
    loss = m(Tensor(np.ones((2, 3), np.float32))).sum()
    with pytest.raises(tg.ArgumentError, match=r"render: cannot write .*use \.png, \.svg"):
        tg.draw_graph(loss, m).render(outfile=str(tmp_path / name), cleanup=True)
