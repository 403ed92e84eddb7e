"""Draw the computation graph behind a tensor as a Graphviz picture.

``draw_graph(loss, model)`` returns a ``graphviz.Digraph`` that renders to PNG, SVG or PDF and
shows itself inline in Jupyter. The work is split in two, so each half can be read and tested
alone:

- ``trace`` walks the graph with ``toposort``, an iterative depth-first traversal (no
  recursion, so a 100,000-op chain draws), and returns plain ``Node``/edge/``Cluster``
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
import os
import weakref
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import graphviz
import numpy as np

from ._modes import is_grad_enabled
from .errors import ArgumentError, GradcheckError, GraphError, TinygradError
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
    members: list[Tensor] = field(default_factory=list)  # a collapsed module's op outputs


@dataclass
class Cluster:
    """A module drawn as a labelled box around the ops its forward created."""

    id: str
    label: str
    parent: str | None
    module: object = None


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
                                         parent, call.module)
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
                node.members.append(t)
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
        if not isinstance(value, Tensor) and _simple(value) and not _is_number_node(name, value) \
                and not (name == "groups" and value == 1):  # conv2d's default says nothing
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
    return isinstance(value, (int, float)) and not isinstance(value, bool) and name not in (
        "exponent", "groups")


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


# the same scale for the arrows of the backward picture, darker so a thin line shows it
EDGE_COLOURS = {"vanishing": "#1864ab", "small": "#4dabf7", "healthy": "#37b24d",
                "large": "#f76707", "exploding": "#e03131"}


def grad_level(norm: float) -> tuple[str, str, str]:
    """(name, fill colour, font colour) of a gradient norm on the scale of ``GRAD_LEVELS``."""
    for bound, name, fill, font in GRAD_LEVELS:
        if norm < bound:
            return name, fill, font
    return GRAD_LEVELS[-1][1:]  # NaN compares False with everything: exploding


def grad_norm(node: Node) -> float | None:
    """The L2 norm of the gradient this node carries (a module: over all its parameters)."""
    grads = [p._grad for p in node.params] if node.kind == "module" else [node.tensor._grad]
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
        except (graphviz.RequiredArgumentError, ValueError):  # no or an unknown suffix
            out = kwargs.get("outfile", args[0] if args else None)
            suffix = os.path.splitext(str(out))[1] or "none"
            raise ArgumentError(f"draw_graph(...).render: cannot write {out!r}: Graphviz "
                                f"draws no picture of suffix {suffix!r}; use .png, .svg or "
                                ".pdf (or pass format='png')") from None

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


# --- the backward picture: formulas and the gradient on every edge ----------------------------

# The vector-Jacobian product of each library op, in the notation learners derive by hand:
# g is the gradient arriving at the op's output y. A user's Function shows its class attribute
# ``vjp_formula`` if it has one, else the formula part of its docstring's first line.
VJP_FORMULAS = {
    "add": "da = g,  db = g",
    "sub": "da = g,  db = −g",
    "mul": "da = g·b,  db = g·a",
    "div": "da = g / b,  db = −g·y / b",
    "pow": "da = g·b·a^(b−1),  db = g·y·log a",
    "maximum": "da = g·[a > b],  db = g·[b > a]  (ties split)",
    "minimum": "da = g·[a < b],  db = g·[b < a]  (ties split)",
    "where": "da = g·[cond],  db = g·[¬cond]",
    "neg": "dx = −g",
    "exp": "dx = g·y",
    "log": "dx = g / x",
    "log1p": "dx = g / (1 + x)",
    "expm1": "dx = g·(y + 1)",
    "sqrt": "dx = g / (2y)",
    "sin": "dx = g·cos x",
    "cos": "dx = −g·sin x",
    "tanh": "dx = g·(1 − y²)",
    "sigmoid": "dx = g·y·(1 − y)",
    "relu": "dx = g·[y > 0]",
    "leaky_relu": "dx = g·(x > 0 ? 1 : slope)",
    "elu": "dx = g·(x > 0 ? 1 : y + α)",
    "softplus": "dx = g·sigmoid(βx)",
    "erf": "dx = g·(2/√π)·exp(−x²)",
    "abs": "dx = g·sign x",
    "clamp": "dx = g·[low ≤ x ≤ high]",
    "cast": "dx = g (as x's dtype)",
    "sum": "dx = g broadcast back",
    "mean": "dx = g / n broadcast back",
    "amax": "dx = g at the max (ties split)",
    "amin": "dx = g at the min (ties split)",
    "prod": "dx = g·y / x",
    "cumsum": "dx = reversed cumsum of g",
    "reshape": "dx = g reshaped back",
    "permute": "dx = g permuted back",
    "expand": "dx = g summed over expanded axes",
    "getitem": "dx = g scattered into zeros",
    "flip": "dx = g flipped back",
    "cat": "d(each) = its slice of g",
    "stack": "d(each) = its slice of g",
    "pad": "dx = g without the padding",
    "gather": "dx = g scattered back",
    "clone": "dx = g",
    "matmul": "dA = g·Bᵀ,  dB = Aᵀ·g",
    "linear": "dx = g·Wᵀ,  dW = xᵀ·g,  db = Σ_rows g",
    "einsum": "d(each) = einsum of g with the others",
    "softmax": "dx = y·(g − Σ g·y)",
    "log_softmax": "dx = g − softmax(x)·Σ g",
    "cross_entropy": "dZ = (softmax(Z) − Y)·g / m",
    "nll_loss": "dx = −Y·g / m",
    "binary_cross_entropy": "dp = g·(p − y) / (p(1 − p)) / m",
    "binary_cross_entropy_with_logits": "dz = g·(sigmoid(z) − y) / m",
    "conv2d": "dx = col2im(Wᵀ·g),  dW = g·im2colᵀ,  db = Σ g",
    "max_pool2d": "dx = g at each window's max",
    "avg_pool2d": "dx = g / k² spread over each window",
    "unfold": "dx = col2im(g)",
    "fold": "dcols = im2col(g)",
}


def vjp_formula(ctx) -> str:
    """The vector-Jacobian product an op's backward computes, as text."""
    fn = ctx.fn
    own = getattr(fn, "vjp_formula", None)
    if isinstance(own, str):
        return own
    if ctx.op in VJP_FORMULAS and fn.array_mode:
        return VJP_FORMULAS[ctx.op]
    first = (fn.__doc__ or "").strip().splitlines()[:1]
    parts = [p.strip() for p in first[0].split("  ") if "=" in p and p.strip()[:1] == "d"] \
        if first else []
    return ",  ".join(parts) if parts else f"backward of {ctx.op}"


@dataclass
class Flow:
    """The gradients of one backward from the roots, computed without writing anything:
    ``edges[(id(input), id(op output))]`` is what that op's backward sent to that input,
    ``totals[id(tensor)]`` the whole gradient of each tensor (summed over its uses)."""

    edges: dict
    totals: dict
    note: str | None = None


def gradient_flow(roots) -> Flow:
    """Run backward's walk again, recording the gradient on every edge (the engine's own
    per-op step; nothing is written to ``.grad`` and the graph is not freed). No hook is
    called (tensor, grad_fn or module hooks): the edges show what the ops compute. Needs the
    graph's saved arrays: before ``backward()``, or after ``backward(retain_graph=True)``;
    otherwise only the leaves' ``.grad`` are known."""
    from . import _modes
    from .autograd import engine

    roots = _as_roots(roots)
    order = toposort(*roots)
    grads = {r: np.ones_like(r._data) for r in roots}
    edges, totals, multi = {}, {}, {}
    siblings = None  # multi-output op -> how many of its outputs the walk visits
    quiet, _modes.state.hooks_off = _modes.state.hooks_off, True
    try:
        for node in reversed(order):
            g = grads.pop(node, None)
            if g is not None:
                totals[id(node)] = g
            ctx = node._ctx
            if ctx is None:
                continue
            if ctx.n_outputs == 1:
                if g is None:
                    continue
                g_all = (g,)
            else:  # the op's backward runs once, when the walk reaches its last output
                if siblings is None:
                    siblings = engine._siblings_in(order)
                entry = multi.setdefault(ctx, [[None] * ctx.n_outputs, siblings[ctx]])
                if g is not None:
                    entry[0][node._index] = g
                entry[1] -= 1
                if entry[1]:
                    continue
                g_all = multi.pop(ctx)[0]
                if all(x is None for x in g_all):
                    continue
                g_all = engine._zeros_for_missing(ctx, node, g_all, False)
            local: dict = {}  # (this walk keeps its own order: the engine's queue is not used)
            engine._backward_node(ctx, node, g_all, local, [], {}, False, False, set(), [], None)
            for inp, gi in local.items():
                data = gi._data if isinstance(gi, Tensor) else np.asarray(gi)
                edges[(id(inp), id(node))] = data
                grads[inp] = data if inp not in grads else grads[inp] + data
    except GraphError as e:
        totals = {id(t): t.grad.data for t in order if t._grad is not None}
        if any(t._ctx is not None and t._ctx.freed for t in order):
            why = ("the graph was freed by backward(), so only the leaves' .grad are known: "
                   "draw before backward(), or call backward(retain_graph=True), for the "
                   "gradient on every edge")
        else:
            why = (f"the gradient on every edge could not be computed ({e}); only the "
                   "leaves' .grad are known")
        return Flow({}, totals, why)
    finally:
        _modes.state.hooks_off = quiet
    return Flow(edges, totals)


def _norm(a) -> float:
    return math.sqrt(float(np.square(a, dtype=np.float64).sum()))


# --- training health: statistics per module call, from hooks ---------------------------------


class Health:
    """Training-health statistics of a model, collected from hooks over steps.

    ``health = watch(model)`` registers a forward hook on every sub-module and a gradient hook
    on every parameter. Each forward records, per module call (a module called twice in one
    forward, like MLP's shared activation, counts as two calls ``activation[0]`` and
    ``activation[1]``), the mean and standard deviation of its output and, for a ReLU, which
    units fired (forwards under ``no_grad()``, evaluation, are left out); each backward records
    the parameters' gradient norms. Call ``health.step()``
    after ``optimizer.step()``: it measures each parameter's update-to-weight ratio
    ``‖ΔW‖ / ‖W‖`` and closes the step.

    ``summary()`` gives one line per module call since the last ``reset()``: output mean/std
    (averaged over steps), the fraction of dead ReLU units (units that never fired in any
    recorded forward: a dead layer shows 100%), the gradient norm and update-to-weight ratio of
    the module's own parameters (averaged over steps). ``draw_graph(loss, model, health=h)``
    puts the same numbers on the picture. ``remove()`` takes the hooks off.
    """

    def __init__(self, model):
        if not hasattr(model, "named_modules"):
            raise ArgumentError(f"watch: expected a Module, got {type(model).__name__}")
        self.model = model
        self._handles = []
        self._names = {id(m): n for n, m in model.named_modules()}
        self._calls: dict[int, int] = {}  # id(module) -> calls in the current forward
        self._multi: set = set()  # modules called more than once in one forward
        self._latest: dict = {}  # key -> weakref of the output of its latest call
        self.history: list[dict] = []  # one {key: stats} per step()
        self._handles.append(model.register_forward_pre_hook(self._start))
        for _, m in model.named_modules():
            if m is not model:
                self._handles.append(m.register_forward_hook(self._forward))
        self._params = {n: p for n, p in model.named_parameters()}
        self._owner = {}  # parameter name -> the module whose own attribute it is
        for mname, m in model.named_modules():
            for n, _ in m.named_parameters():
                if "." not in n:
                    self._owner[f"{mname}.{n}" if mname else n] = mname
        for name, p in self._params.items():
            self._handles.append(p.register_hook(self._grad_hook(name)))
        self.reset()

    def reset(self) -> None:
        """Forget what was collected (call at the start of an epoch to see that epoch only)."""
        self._acts: dict = {}  # key -> {"mean": [..], "std": [..], "alive": bool array or None}
        self._grads: dict = {}  # parameter name -> gradient norm of the latest backward
        self._grad_steps: dict = {}  # parameter name -> [norm per step]
        self._ratios: dict = {}  # module name -> [‖ΔW‖ / ‖W‖ per step, its own parameters]
        self._before = {n: p.data.astype(np.float64) for n, p in self._params.items()}
        self.steps = 0

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def _start(self, module, args):
        self._calls = {}

    def _forward(self, module, args, out):
        if not isinstance(out, Tensor) or not is_grad_enabled():
            return  # evaluation under no_grad() is not training: it is left out
        k = self._calls.get(id(module), 0)
        self._calls[id(module)] = k + 1
        if k:
            self._multi.add(id(module))
        key = (self._names.get(id(module), type(module).__name__), k, id(module))
        data = out.data.astype(np.float64, copy=False)
        stats = self._acts.setdefault(key, {"mean": [], "std": [], "alive": None,
                                            "module": module})
        stats["mean"].append(float(data.mean()) if data.size else math.nan)
        stats["std"].append(float(data.std()) if data.size else math.nan)
        if out.op == "relu" and data.ndim >= 1 and data.size:
            fired = (data > 0).reshape(data.shape[0], -1).any(axis=0) if data.ndim > 1 else (
                data > 0)
            stats["alive"] = fired if stats["alive"] is None else stats["alive"] | fired
        self._latest[key] = weakref.ref(out)

    def _grad_hook(self, name):
        def hook(g):
            self._grads[name] = _norm(g.data)
        return hook

    def step(self) -> None:
        """Close a step: after ``optimizer.step()``, measure each parameter's update."""
        moved: dict = {}  # module name -> [sum of ‖ΔW‖², sum of ‖W‖²] over its own parameters
        for name, p in self._params.items():
            now = p.data.astype(np.float64)
            before = self._before[name]
            m = moved.setdefault(self._owner.get(name, ""), [0.0, 0.0])
            m[0] += _norm(now - before) ** 2
            m[1] += _norm(before) ** 2
            self._before[name] = now
            if name in self._grads:
                self._grad_steps.setdefault(name, []).append(self._grads.pop(name))
        for module, (d, w) in moved.items():
            self._ratios.setdefault(module, []).append(math.sqrt(d / w) if w else math.nan)
        self.steps += 1
        self._calls = {}
        self.history.append({self.label(k): dict(v) for k, v in self.stats().items()})

    # reading
    def label(self, key) -> str:
        name, k, mid = key
        return f"{name}[{k}]" if mid in self._multi else name

    def stats(self) -> dict:
        """{key: {"mean", "std", "dead", "grad_norm", "update_ratio"}} (None where unknown)."""
        out = {}
        for key, a in self._acts.items():
            name = key[0]
            own = [n for n, m in self._owner.items() if m == name]
            grads = [np.mean(self._grad_steps[n]) for n in own if self._grad_steps.get(n)]
            ratios = self._ratios.get(name)
            alive = a["alive"]
            out[key] = {
                "mean": float(np.mean(a["mean"])), "std": float(np.mean(a["std"])),
                "dead": None if alive is None else float(1 - alive.mean()),
                "units": None if alive is None else int(alive.size),
                "grad_norm": math.sqrt(sum(g * g for g in grads)) if grads else None,
                "update_ratio": float(np.mean(ratios)) if ratios else None,
            }
        return out

    def rows(self, key) -> list[str]:
        """The lines drawn for one module call."""
        s = self.stats().get(key)
        if s is None:
            return []
        mean = s["mean"] if abs(s["mean"]) > 1e-12 * max(1.0, s["std"]) else 0.0  # not noise
        rows = [f"out mean {mean:.3g}  std {s['std']:.3g}"]
        if s["dead"] is not None:
            rows.append(f"dead {s['dead']:.0%} ({round(s['dead'] * s['units'])}/{s['units']})")
        if s["grad_norm"] is not None:
            rows.append(f"grad norm {s['grad_norm']:.3g}")
        if s["update_ratio"] is not None:
            rows.append(f"update/weight {s['update_ratio']:.2e}")
        return rows

    def summary(self) -> str:
        """One line per module call, in the order they ran."""
        lines = [f"health over {self.steps} step(s):"]
        for key in self._acts:
            lines.append(f"  {self.label(key):<14} " + " | ".join(self.rows(key)))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def key_of(self, t: Tensor):
        """The module call whose latest output is ``t`` (None if none is)."""
        for key, ref in self._latest.items():
            if ref() is t:
                return key
        return None


def watch(model) -> Health:
    """Start collecting training-health statistics of ``model`` (see ``Health``)."""
    return Health(model)


# --- the renderer: nodes and edges -> graphviz.Digraph ----------------------------------------


@dataclass
class _Decor:
    """What the options of draw_graph add to the plain picture."""

    show_values: bool = False
    show_grads: bool = False
    highlight: dict = field(default_factory=dict)  # id(tensor) -> a line saying why
    flow: Flow | None = None
    health: Health | None = None


HIGHLIGHT_STYLE = {"fillcolor": "#ff8787", "color": "#c92a2a", "penwidth": "3",
                   "fontcolor": "#000000", "style": "filled,bold"}


def to_digraph(graph: Graph, show_values: bool = False, show_grads: bool = False,
               rankdir: str = "TB", decor: _Decor | None = None) -> GraphDrawing:
    """Style the records of ``trace`` as a Digraph: one node per Node, clusters nested."""
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ArgumentError(f"draw_graph: rankdir must be 'TB', 'LR', 'BT' or 'RL', got "
                            f"{rankdir!r}")
    decor = decor or _Decor()
    decor.show_values, decor.show_grads = show_values, show_grads
    graph_attr = {"rankdir": rankdir, "fontname": FONT, "nodesep": "0.3", "ranksep": "0.35"}
    if decor.flow is not None:
        graph_attr.update(label=_flow_title(decor.flow), labelloc="t", fontsize="11")
    dot = GraphDrawing(
        name="tinygrad_np", format="png", graph_attr=graph_attr,
        node_attr={"fontname": FONT, "fontsize": "11", "margin": "0.12,0.05"},
        edge_attr={"color": "#495057", "arrowsize": "0.7"},
    )
    bodies = {None: dot}
    for c in graph.clusters:
        bodies[c.id] = graphviz.Digraph(name=c.id, graph_attr={
            "label": _cluster_label(c, decor), "labeljust": "l", "fontname": FONT,
            "fontsize": "11", "style": "rounded,filled", "fillcolor": "#f8f9fa",
            "color": "#adb5bd"})
    for node in graph.nodes:
        bodies[node.cluster].node(node.id, _label(node, decor), **_attributes(node, decor))
    depth = {None: 0}
    for c in graph.clusters:  # parents come before their children in trace's list
        depth[c.id] = depth[c.parent] + 1
    for c in sorted(graph.clusters, key=lambda c: -depth[c.id]):
        bodies[c.parent].subgraph(bodies[c.id])
    by_id = {n.id: n for n in graph.nodes}
    for tail, head in graph.edges:
        if decor.flow is None:
            dot.edge(tail, head)
        else:
            dot.edge(tail, head, **_flow_edge(by_id[tail], by_id[head], decor.flow))
    if show_grads or decor.flow is not None:
        dot.node("legend", _legend(), shape="plaintext", fontsize="10")
    return dot


def _flow_title(flow: Flow) -> str:
    title = "backward: each op's vector-Jacobian product (g: the gradient at its output); " \
        "edges carry the gradient's shape and norm"
    return title + (f"\n({flow.note})" if flow.note else "")


def _flow_edge(tail: Node, head: Node, flow: Flow) -> dict:
    """The gradient that ``head``'s backward sends to ``tail``, drawn against the data
    arrow (dir=back: the arrowhead at the input, where the gradient arrives)."""
    attrs = {"dir": "back"}
    g = flow.edges.get((id(tail.tensor), id(head.tensor)))
    if g is None and tail.kind == "module":  # a collapsed module: its output's whole gradient
        g = flow.totals.get(id(tail.tensor))
    if g is None:
        if tail.kind in ("const", "input") or not tail.tensor.requires_grad:
            attrs.update(style="dotted", color="#adb5bd")
        return attrs
    norm = _norm(g)
    shape = str(tuple(g.shape)) if g.shape else "scalar"
    attrs.update(label=f"{shape}  ‖g‖ {norm:.3g}", fontsize="9", fontname=FONT,
                 color=EDGE_COLOURS[grad_level(norm)[0]], penwidth="2")
    return attrs


def _cluster_label(c: Cluster, decor: _Decor) -> str:
    if decor.health is None or c.module is None:
        return c.label
    key = next((k for k in decor.health._acts if k[2] == id(c.module)), None)
    rows = [r for r in decor.health.rows(key) if r.startswith(("grad", "update"))] if key else []
    if not rows:
        return c.label
    body = "".join(f'<br/><font point-size="9">{html.escape(r)}</font>' for r in rows)
    return f"<{html.escape(c.label)}{body}>"


def _label(node: Node, decor: _Decor) -> str:
    """An HTML-like label: the title in bold, then shape and dtype, stats and grad norm small."""
    details = []
    if node.kind == "module":
        n = sum(p.size for p in node.params)
        details.append(f"out {node.shape}" + (f"  {n:,} param{'s' * (n != 1)}" if n else ""))
    else:
        shape = str(node.shape) if node.shape else "scalar"
        details.append(f"{shape} {node.dtype}" if node.dtype else shape)
    flow = decor.flow
    if flow is not None and node.kind == "op":
        details.insert(0, vjp_formula(node.tensor._ctx))
    if decor.show_values:
        details.extend(summary(node.tensor.data).split("\n"))
    if flow is not None:
        g = flow.totals.get(id(node.tensor))
        if node.output and g is not None:
            details.append("seed g = 1")
        elif node.kind in ("param", "module") and (norm := _flow_norm(node, flow)) is not None:
            details.append(_grad_text(node, g, norm))
    elif decor.show_grads:
        norm = grad_norm(node)
        if norm is not None:
            g = node.tensor._grad
            details.append(_grad_text(node, None if g is None else g.data, norm))
    if decor.health is not None:
        key = decor.health.key_of(node.tensor)
        if key is not None:
            rows = decor.health.rows(key)
            if node.kind != "module":
                rows = [r for r in rows if not r.startswith(("grad", "update"))]
                if not key[0] or key[0] not in decor.health._owner.values():
                    rows.insert(0, decor.health.label(key))  # an activation: say which call
            details.extend(rows)
    if id(node.tensor) in decor.highlight or any(id(t) in decor.highlight for t in node.members):
        why = decor.highlight.get(id(node.tensor)) or next(
            decor.highlight[id(t)] for t in node.members if id(t) in decor.highlight)
        if why:
            details.append(why)
    rows = "".join(f'<br/><font point-size="9">{html.escape(d)}</font>' for d in details)
    return f"<<b>{html.escape(node.title)}</b>{rows}>"


def _grad_text(node: Node, g, norm: float) -> str:
    """'grad 0.25' for a one-element gradient (its sign matters), else 'grad norm 3.1'."""
    if node.kind != "module" and g is not None and np.size(g) == 1:
        return f"grad {float(np.asarray(g).reshape(-1)[0]):.3g}"
    return f"grad norm {norm:.3g}"


def _flow_norm(node: Node, flow: Flow) -> float | None:
    tensors = node.params if node.kind == "module" else [node.tensor]
    grads = [flow.totals[id(t)] for t in tensors if id(t) in flow.totals]
    return math.sqrt(sum(_norm(g) ** 2 for g in grads)) if grads else None


def _attributes(node: Node, decor: _Decor) -> dict[str, str]:
    attrs = dict(STYLE[node.kind])
    if node.output:
        attrs.update(OUTPUT_STYLE)
    norm = None
    if decor.flow is not None and node.kind in ("param", "module"):
        norm = _flow_norm(node, decor.flow)
    elif decor.show_grads:
        norm = grad_norm(node)
    if norm is not None:
        _, attrs["fillcolor"], attrs["fontcolor"] = grad_level(norm)
    if decor.health is not None:
        key = decor.health.key_of(node.tensor)
        dead = decor.health.stats()[key]["dead"] if key is not None else None
        if dead is not None and dead >= 0.5:
            attrs.update(fillcolor="#ffc9c9", color="#e03131", penwidth="2")
    if id(node.tensor) in decor.highlight or any(id(t) in decor.highlight for t in node.members):
        attrs.update(HIGHLIGHT_STYLE)
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


def _highlights(highlight) -> dict:
    """{id(tensor): the line to draw under it} from a Tensor, a GradcheckError from
    check_graph (its ``node``), or a list of them."""
    if highlight is None:
        return {}
    items = list(highlight) if isinstance(highlight, (list, tuple)) else [highlight]
    out = {}
    for h in items:
        if isinstance(h, Tensor):
            out[id(h)] = ""
        elif isinstance(h, GradcheckError) and isinstance(h.node, Tensor):
            out[id(h.node)] = f"check_graph: {h.diagnosis}"
        else:
            raise ArgumentError(
                f"draw_graph: highlight must be a Tensor (an op's output) or the "
                f"GradcheckError check_graph raised, got {type(h).__name__}"
                + (" without a node (only check_graph's errors name one)"
                   if isinstance(h, GradcheckError) else ""))
    return out


def draw_graph(root, params=None, *, show_values: bool = False, show_grads: bool = False,
               rankdir: str = "TB", group_modules: bool = True,
               collapse_modules: bool = False, backward: bool = False, highlight=None,
               health: Health | None = None) -> GraphDrawing:
    """The computation graph behind ``root`` as a ``graphviz.Digraph``.

    ``root``: the loss (or several outputs). ``params``: a Module or ``{name: tensor}`` dict that
    names the parameters (``layers.0.weight``); other leaves show as inputs and constants.
    ``show_values``: summary statistics of each tensor. ``show_grads``: after ``backward()``, the
    gradient norm of each tensor that has one, coloured on a scale from vanishing to exploding
    (with a legend). ``rankdir``: "TB" (top to bottom), "LR", "BT" or "RL". ``group_modules``:
    draw each Module's ops inside a labelled box. ``collapse_modules``: one node per innermost
    module, for big models.

    ``backward=True`` draws the gradient flow: each op labelled with its vector-Jacobian
    product (``dx = g·(1 − y²)`` for tanh, ``dZ = (softmax(Z) − Y)·g / m`` for cross_entropy;
    a user's Function shows its ``vjp_formula`` attribute), each edge with the shape and norm
    of the gradient that op sends back to its input (``gradient_flow``: the backward walk run
    again without writing anything, so draw before ``backward()`` or after
    ``backward(retain_graph=True)``). The gradient of a ``create_graph=True`` backward is a
    graph of its own: ``draw_graph(x.grad)``.

    ``highlight``: a Tensor, or the ``GradcheckError`` of ``check_graph``, drawn in red.
    ``health``: a ``Health`` (``watch(model)``) whose statistics are written on each module
    call's output and each layer's box; a ReLU with half or more dead units is drawn red.

    Render with ``.render(outfile="graph.png")`` (or .svg, .pdf); in Jupyter the result displays
    itself. Needs Graphviz's ``dot`` program for pictures, not for ``.source``.
    """
    if health is not None and not isinstance(health, Health):
        raise ArgumentError(f"draw_graph: health must be a Health from watch(model), got "
                            f"{type(health).__name__}")
    graph = trace(root, params, group_modules=group_modules, collapse_modules=collapse_modules)
    decor = _Decor(highlight=_highlights(highlight), health=health,
                   flow=gradient_flow(root) if backward else None)
    return to_digraph(graph, show_values=show_values, show_grads=show_grads, rankdir=rankdir,
                      decor=decor)
