"""Draw the computation graph behind a tensor as a Graphviz picture.

``draw_graph(loss, model)`` returns a ``graphviz.Digraph`` that renders to PNG, SVG or PDF and
shows itself inline in Jupyter. The work is split in two, so each half can be read and tested
alone:

- ``trace`` walks the graph with ``toposort``, the same iterative traversal ``backward`` uses
  (no recursion, so a 100,000-op chain draws), and returns plain ``Node``/edge/``Cluster``
  records: what to draw, not how.
- ``to_digraph`` styles those records: labels, colours, module clusters, a gradient legend.

Intermediate tensors are folded into the op that made them, as torchviz does: an op node shows
the op, the attributes that change its meaning (axis, exponent, reduction) and its output shape,
so a training step stays one screen tall. Drawing only reads tensors: it never changes the graph
or a gradient.
"""

from __future__ import annotations

import html
import inspect
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import graphviz
import numpy as np

from .errors import ArgumentError, TinygradError
from .ops import describe_index
from .tensor import Tensor, toposort

# --- the walk: tensors -> nodes, edges, clusters ----------------------------------------------


@dataclass
class Node:
    """One box in the picture.

    ``kind`` is "param" (a named or grad-requiring leaf), "input" (data), "const" (a number the
    code mixed in), "op" (an op and the tensor it made) or "module" (a collapsed module).
    ``tensor`` is the leaf, the op's output, or a collapsed module's last output; ``params`` are
    the parameters a collapsed module absorbed.
    """

    id: str
    kind: str
    title: str
    shape: tuple
    dtype: str | None  # shown only where it tells something: leaves, and ops that change it
    tensor: Tensor
    cluster: str | None = None
    output: bool = False
    params: list[Tensor] = field(default_factory=list)


@dataclass
class Cluster:
    """A module drawn as a labelled box around the ops its forward created."""

    id: str
    label: str
    parent: str | None


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[tuple[str, str]]  # (tail id, head id): data flows from tail to head
    clusters: list[Cluster]

    def find(self, title: str) -> Node:
        """The first node with this title (for tests and notebooks)."""
        for n in self.nodes:
            if n.title == title:
                return n
        raise KeyError(f"no node titled {title!r}; titles: {[n.title for n in self.nodes]}")


class _Modules:
    """The names of a model's modules (from ``named_modules()``), for cluster labels."""

    def __init__(self, model=None):
        pairs = list(model.named_modules()) if hasattr(model, "named_modules") else []
        self.names = {id(m): n for n, m in pairs}

    def name(self, module) -> str | None:
        return self.names.get(id(module))

    def label(self, module) -> str:
        """``layers.1: Linear(128, 64)``; a container shows its class name only."""
        text = repr(module).splitlines()[0].rstrip("(")
        if len(text) > 48:
            text = type(module).__name__
        name = self.name(module)
        return f"{name}: {text}" if name else text


def parents(t: Tensor) -> tuple:
    """The tensors an op's output was computed from (none for a leaf)."""
    return () if t._ctx is None else t._ctx.parents


def _calls(t: Tensor) -> list:
    """The module calls an op ran inside, innermost first (each call is one ``CallFrame``)."""
    chain, frame = [], t._ctx.frame if t._ctx is not None else None
    while frame is not None:
        chain.append(frame)
        frame = frame.parent
    return chain


def trace(root, params=None, group_modules: bool = True, collapse_modules: bool = False) -> Graph:
    """Walk the graph behind ``root`` (a Tensor or a sequence of them) into nodes and edges.

    ``params`` names the parameters: a Module (anything with ``named_parameters()``; its
    ``named_modules()`` also names the clusters) or a ``{name: tensor}`` dict. With
    ``group_modules``, each op sits in a cluster for the module call that made it (recorded by
    ``Module.__call__``); with ``collapse_modules``, each call of an innermost module (Linear,
    ReLU) becomes one node that absorbs its parameters.
    """
    roots = _as_roots(root)
    param_names = _param_names(params)
    modules = _Modules(params)
    order = toposort(*roots, include_constants=True)
    root_ids = {id(r) for r in roots}
    calls = {id(t): _calls(t) for t in order if t._ctx is not None}

    consumers: dict[int, list[Tensor]] = {}
    for t in order:
        for p in parents(t):
            consumers.setdefault(id(p), []).append(t)

    def calls_of(t: Tensor) -> list:
        """An op's module calls, innermost first; for a parameter or constant, the calls that
        all its consumers share (so a layer's weight sits in the layer's box); none for data."""
        if t._ctx is not None:
            return calls[id(t)]
        if _leaf_kind(t, id(t) in param_names) == "input":
            return []
        users = [calls[id(c)] for c in consumers.get(id(t), ())]
        shared = set.intersection(*(set(u) for u in users)) if users else set()
        return [c for c in users[0] if c in shared] if users else []

    clusters: dict = {}

    def cluster_of(chain: list) -> str | None:
        """The cluster of the innermost call in ``chain``, creating it and its outer ones."""
        if not chain or not group_modules:
            return None
        for depth in range(len(chain) - 1, -1, -1):  # outermost first, so parents exist
            call = chain[depth]
            if call not in clusters:
                parent = clusters[chain[depth + 1]].id if depth + 1 < len(chain) else None
                clusters[call] = Cluster(f"cluster_{len(clusters)}", modules.label(call.module),
                                         parent)
        return clusters[chain[0]].id

    nodes: list[Node] = []
    numbers: list[tuple[str, str]] = []  # (constant's node, its op's node)
    collapsed: dict = {}
    drawn_as: dict[int, str] = {}  # id(tensor) -> id of the node that draws it
    for i, t in enumerate(order):
        chain = calls_of(t)
        if collapse_modules and chain and _is_innermost(chain[0].module):
            node = collapsed.get(chain[0])
            if node is None:
                node = Node(f"m{len(collapsed)}", "module", modules.label(chain[0].module),
                            t.shape, None, t, cluster_of(chain[1:]))
                collapsed[chain[0]] = node
                nodes.append(node)
            if t._ctx is not None:
                node.tensor, node.shape = t, t.shape  # the call's last op makes its output
            elif t.requires_grad:
                node.params.append(t)
            node.output = node.output or id(t) in root_ids
        else:
            node = _tensor_node(f"t{i}", t, param_names.get(id(t)))
            node.cluster = cluster_of(chain)
            node.output = id(t) in root_ids
            for k, value in (_number_inputs(t) if t._ctx is not None else ()):  # a number the
                # code mixed in: a dashed box
                const = Tensor(np.asarray(value, dtype=t.dtype if t.dtype.kind == "f" else None))
                nodes.append(Node(f"t{i}c{k}", "const", f"{value:.4g}", (), str(const.dtype),
                                  const, node.cluster))
                numbers.append((f"t{i}c{k}", node.id))
            nodes.append(node)
        drawn_as[id(t)] = node.id

    edges, seen = list(numbers), set()
    for t in order:
        for p in parents(t):
            edge = (drawn_as[id(p)], drawn_as[id(t)])
            if edge[0] == edge[1]:
                continue
            if "m" in (edge[0][0], edge[1][0]):  # a module boundary: one arrow is enough
                if edge in seen:
                    continue
                seen.add(edge)
            edges.append(edge)
    return Graph(nodes, edges, _drop_single_node_clusters(nodes, list(clusters.values())))


def _drop_single_node_clusters(nodes: list[Node], clusters: list[Cluster]) -> list[Cluster]:
    """Unbox a module call that drew a single node (an activation's relu): the box adds a label
    but no structure, and it pulls the layout apart. Its node moves to the enclosing cluster."""
    members: dict[str | None, list[Node]] = {}
    for n in nodes:
        members.setdefault(n.cluster, []).append(n)
    children = Counter(c.parent for c in clusters)
    kept = []
    for c in reversed(clusters):  # children come after parents: unbox inside out
        if not children[c.id] and len(members.get(c.id, ())) == 1:
            (n,) = members.pop(c.id)
            n.cluster = c.parent
            members.setdefault(c.parent, []).append(n)
            children[c.parent] -= 1
        else:
            kept.append(c)
    return kept[::-1]


def _as_roots(root) -> tuple[Tensor, ...]:
    roots = (root,) if isinstance(root, Tensor) else tuple(root) if isinstance(
        root, (list, tuple)) else ()
    if not roots or not all(isinstance(r, Tensor) for r in roots):
        raise ArgumentError(
            f"draw_graph: root must be a Tensor or a non-empty list of Tensors, got "
            f"{type(root).__name__}; pass the loss (or the outputs) you want to see"
        )
    return roots


def _param_names(params) -> dict[int, str]:
    """{id(tensor): name} from a Module's named_parameters(), a {name: tensor} dict, or None."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        return {id(t): n for n, t in params.named_parameters()}
    if isinstance(params, Mapping) and all(isinstance(t, Tensor) for t in params.values()):
        return {id(t): str(n) for n, t in params.items()}
    raise ArgumentError(
        f"draw_graph: params must be a Module (with named_parameters()) or a dict of "
        f"{{name: Tensor}}, got {type(params).__name__}"
    )


def _is_innermost(module) -> bool:
    """A module without sub-modules (Linear, ReLU): what collapse_modules turns into one node."""
    if not hasattr(module, "named_modules"):
        return True
    return all(m is module for _, m in module.named_modules())


def _leaf_kind(t: Tensor, named: bool) -> str:
    if named or t.requires_grad:
        return "param"
    return "const" if t.size == 1 else "input"


def _tensor_node(node_id: str, t: Tensor, param_name: str | None) -> Node:
    """A leaf tensor, or an op with the tensor it made folded in."""
    dtype = str(t.dtype)
    if t._ctx is not None:
        title = op_title(t._ctx)
        if t.name:
            title = f"{t.name} = {title}"
        first = t._ctx.parents[0] if t._ctx.parents else None
        shown = dtype if first is not None and first.dtype != t.dtype else None
        return Node(node_id, "op", title, t.shape, shown, t)
    kind = _leaf_kind(t, param_name is not None)
    if kind == "const" and not t.name:
        title = f"{t.data.item():.4g}"
    else:
        title = param_name or t.name or kind
    return Node(node_id, kind, title, t.shape, dtype, t)


def op_title(ctx) -> str:
    """``sum(axis=1)``, ``pow(exponent=2)``: an op and the arguments that change its meaning
    (numbers, strings and axes; not arrays, and not defaults that say nothing)."""
    shown = []
    names = _argument_names(ctx.fn)
    for name, value in zip(names, ctx.inputs):
        if not isinstance(value, Tensor) and _simple(value) and not _is_number_node(name, value):
            shown.append((name, value))
    for name, value in (ctx.attrs or {}).items():
        if name == "axes":
            name, value = "axis", (value[0] if isinstance(value, tuple) and len(value) == 1
                                   else value)
        if name == "index":
            value = describe_index(value)
        if _simple(value) and value is not None and value is not False:
            shown.append((name, value))
    text = ", ".join(f"{k}={v}" for k, v in shown)
    return f"{ctx.op}({text})" if text else ctx.op


def _is_number_node(name: str, value) -> bool:
    """A number operand (``x * 2``) is drawn as its own box; an exponent is an attribute."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and name != "exponent"


def _number_inputs(t: Tensor) -> list:
    ctx = t._ctx
    names = _argument_names(ctx.fn)
    return [(k, v) for k, (n, v) in enumerate(zip(names, ctx.inputs)) if _is_number_node(n, v)]


_ARGUMENTS: dict = {}


def _argument_names(fn) -> list:
    """The names of forward's positional parameters after ``ctx``."""
    names = _ARGUMENTS.get(fn)
    if names is None:
        try:
            params = list(inspect.signature(fn.forward).parameters.values())[1:]
        except (TypeError, ValueError):
            params = []
        names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        _ARGUMENTS[fn] = names
    return names


def _simple(value) -> bool:
    if isinstance(value, (bool, int, float, str, np.dtype)) or value is None:
        return True
    return isinstance(value, tuple) and all(isinstance(v, (int, np.integer)) for v in value)


# --- the renderer: nodes and edges -> graphviz.Digraph ----------------------------------------

FONT = "Helvetica,Arial,sans-serif"

# Fill colours for tensors by kind, and for gradient norms by decade (with show_grads).
STYLE = {
    "param": {"shape": "box", "style": "filled", "fillcolor": "#d0ebff", "penwidth": "1.5"},
    "input": {"shape": "box", "style": "filled", "fillcolor": "#f1f3f5"},
    "const": {"shape": "box", "style": "filled,dashed", "fillcolor": "#ffffff",
              "fontsize": "9", "color": "#868e96"},
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#fff9db", "margin": "0.02,0.02"},
    "module": {"shape": "box3d", "style": "filled", "fillcolor": "#e5dbff"},
}
OUTPUT_STYLE = {"penwidth": "2.5", "color": "#2b8a3e"}

# (upper bound on the gradient norm, name, fill colour, font colour). A norm below 1e-6 (or 0)
# moves the weights by nothing: vanishing; above 1e3, or NaN/Inf, one step wrecks them.
GRAD_LEVELS = [
    (1e-6, "vanishing", "#1864ab", "#ffffff"),
    (1e-3, "small", "#a5d8ff", "#000000"),
    (1e1, "healthy", "#b2f2bb", "#000000"),
    (1e3, "large", "#ffc078", "#000000"),
    (math.inf, "exploding", "#e03131", "#ffffff"),
]


def grad_level(norm: float) -> tuple[str, str, str]:
    """(name, fill colour, font colour) of a gradient norm on the scale of ``GRAD_LEVELS``."""
    for bound, name, fill, font in GRAD_LEVELS:
        if norm < bound:
            return name, fill, font
    return GRAD_LEVELS[-1][1:]  # NaN compares False with everything: exploding


def grad_norm(node: Node) -> float | None:
    """The L2 norm of the gradient this node carries (a module: over all its parameters)."""
    grads = [p.grad for p in node.params] if node.kind == "module" else [node.tensor.grad]
    grads = [g.data for g in grads if g is not None]
    if not grads:
        return None
    return math.sqrt(sum(float(np.square(g, dtype=np.float64).sum()) for g in grads))


def summary(data: np.ndarray) -> str:
    """A one- or two-line description of an array's values (never the array itself)."""
    if data.size == 0:
        return "empty"
    if data.size == 1:
        return f"value {data.item():.4g}"
    x = data.astype(np.float64, copy=False)
    return (f"mean {x.mean():.3g}  std {x.std():.3g}\n"
            f"min {x.min():.3g}  max {x.max():.3g}")


class GraphvizNotFoundError(TinygradError, graphviz.ExecutableNotFound):
    """Graphviz's ``dot`` program is missing, so the graph cannot become a picture."""

    def __init__(self, message: str):
        Exception.__init__(self, message)


class GraphDrawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose rendering explains how to install Graphviz when ``dot`` is
    missing. Everything else (``.source``, ``.save()``, Jupyter display) is graphviz's own."""

    def render(self, *args, **kwargs) -> str:
        """Write the DOT source and a picture: ``render(outfile="graph.png")`` (or .svg, .pdf)."""
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as e:  # render saved the DOT source before calling dot
            raise _missing_dot(e, "render", f"was saved to {self.filepath}") from e

    def pipe(self, *args, **kwargs):
        """The rendered bytes (also what Jupyter's inline display calls)."""
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as e:
            raise _missing_dot(e, "pipe", "is in `.source`") from e


def _missing_dot(err: Exception, what: str, source: str) -> GraphvizNotFoundError:
    return GraphvizNotFoundError(
        f"draw_graph(...).{what}: Graphviz's `dot` program is not on PATH ({err}), so the "
        "graph cannot be turned into a picture. Install Graphviz: `sudo apt-get install "
        "graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or `conda install -c "
        f"conda-forge graphviz`, then retry. The DOT source {source}; `.save('graph.gv')` "
        "writes it without Graphviz."
    )


def to_digraph(graph: Graph, show_values: bool = False, show_grads: bool = False,
               rankdir: str = "TB") -> GraphDrawing:
    """Style the records of ``trace`` as a Digraph: one node per Node, clusters nested."""
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ArgumentError(f"draw_graph: rankdir must be 'TB', 'LR', 'BT' or 'RL', got "
                            f"{rankdir!r}")
    dot = GraphDrawing(
        name="tinygrad_np", format="png",
        graph_attr={"rankdir": rankdir, "fontname": FONT, "nodesep": "0.3", "ranksep": "0.35"},
        node_attr={"fontname": FONT, "fontsize": "11", "margin": "0.12,0.05"},
        edge_attr={"color": "#495057", "arrowsize": "0.7"},
    )
    bodies = {None: dot}
    for c in graph.clusters:
        bodies[c.id] = graphviz.Digraph(name=c.id, graph_attr={
            "label": c.label, "labeljust": "l", "fontname": FONT, "fontsize": "11",
            "style": "rounded,filled", "fillcolor": "#f8f9fa", "color": "#adb5bd"})
    for node in graph.nodes:
        bodies[node.cluster].node(node.id, _label(node, show_values, show_grads),
                                  **_attributes(node, show_grads))
    depth = {None: 0}
    for c in graph.clusters:  # parents come before their children in trace's list
        depth[c.id] = depth[c.parent] + 1
    for c in sorted(graph.clusters, key=lambda c: -depth[c.id]):
        bodies[c.parent].subgraph(bodies[c.id])
    for tail, head in graph.edges:
        dot.edge(tail, head)
    if show_grads:
        dot.node("legend", _legend(), shape="plaintext", fontsize="10")
    return dot


def _label(node: Node, show_values: bool, show_grads: bool) -> str:
    """An HTML-like label: the title in bold, then shape and dtype, stats and grad norm small."""
    details = []
    if node.kind == "module":
        n = sum(p.size for p in node.params)
        details.append(f"out {node.shape}" + (f"  {n:,} param{'s' * (n != 1)}" if n else ""))
    else:
        shape = str(node.shape) if node.shape else "scalar"
        details.append(f"{shape} {node.dtype}" if node.dtype else shape)
    if show_values:
        details.extend(summary(node.tensor.data).split("\n"))
    if show_grads:
        norm = grad_norm(node)
        if norm is not None:
            details.append(f"grad norm {norm:.3g}")
    rows = "".join(f'<br/><font point-size="9">{html.escape(d)}</font>' for d in details)
    return f"<<b>{html.escape(node.title)}</b>{rows}>"


def _attributes(node: Node, show_grads: bool) -> dict[str, str]:
    attrs = dict(STYLE[node.kind])
    if node.output:
        attrs.update(OUTPUT_STYLE)
    if show_grads:
        norm = grad_norm(node)
        if norm is not None:
            _, attrs["fillcolor"], attrs["fontcolor"] = grad_level(norm)
    return attrs


def _legend() -> str:
    rows = ['<tr><td colspan="2"><b>gradient norm</b></td></tr>']
    low = 0.0
    for bound, name, fill, font in GRAD_LEVELS:
        span = f"&lt; {bound:g}" if low == 0 else (f"&ge; {low:g}" if math.isinf(bound)
                                                  else f"{low:g} to {bound:g}")
        rows.append(f'<tr><td bgcolor="{fill}"><font color="{font}">{name}</font></td>'
                    f"<td>{span}</td></tr>")
        low = bound
    return f'<<table border="0" cellborder="1" cellspacing="0">{"".join(rows)}</table>>'


def draw_graph(root, params=None, *, show_values: bool = False, show_grads: bool = False,
               rankdir: str = "TB", group_modules: bool = True,
               collapse_modules: bool = False) -> GraphDrawing:
    """The computation graph behind ``root`` as a ``graphviz.Digraph``.

    ``root``: the loss (or several outputs). ``params``: a Module or ``{name: tensor}`` dict that
    names the parameters (``layers.0.weight``); other leaves show as inputs and constants.
    ``show_values``: summary statistics of each tensor. ``show_grads``: after ``backward()``, the
    gradient norm of each tensor that has one, coloured on a scale from vanishing to exploding
    (with a legend). ``rankdir``: "TB" (top to bottom), "LR", "BT" or "RL". ``group_modules``:
    draw each Module's ops inside a labelled box. ``collapse_modules``: one node per innermost
    module, for big models.

    Render with ``.render(outfile="graph.png")`` (or .svg, .pdf); in Jupyter the result displays
    itself. Needs Graphviz's ``dot`` program for pictures, not for ``.source``.
    """
    graph = trace(root, params, group_modules=group_modules, collapse_modules=collapse_modules)
    return to_digraph(graph, show_values=show_values, show_grads=show_grads, rankdir=rankdir)
