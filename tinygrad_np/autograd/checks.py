"""``check_op`` tests one op completely; ``check_graph`` finds the wrong op in a recorded graph.

Both compare autodiff with central differences in float64 (``gradcheck.py``'s machinery) and,
when they disagree, say *why* with a ``GradcheckError`` whose ``diagnosis`` is one of
``DIAGNOSES``: the rules below look at the whole analytic and numeric gradients (is one a
constant multiple of the other? its transpose? does the backward change when ``grad_output``
does?) before falling back to "wrong".

Non-differentiable points (relu and abs at 0, ties of max) are told apart from wrong
gradients with a five-point stencil, as Chainer's ``detect_nondifferentiable`` does: the four
one-sided slopes around a smooth point lie on a line; around a kink they jump. At a kink the
check accepts any analytic value between the one-sided slopes (a subgradient: PyTorch's relu'(0)
= 0 is one) and reports the element in the returned ``CheckReport.kinks`` (and a
``GradcheckWarning``) instead of failing.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import _modes
from ..errors import ArgumentError, GradcheckError, GraphError
from .engine import toposort
from .function import Function, TensorBase, _OnceDifferentiated, new_tensor, op_name
from .gradcheck import (
    _outputs,
    _Projection,
    analytic_gradients,
    close,
    first_derivative_fn,
    locate,
    random_direction,
)

# diagnosis -> what to change. check_op's and check_graph's messages end with the fix.
DIAGNOSES = {
    "ignores grad_output": "backward must multiply by the gradient it receives (g, the "
    "gradient of the loss with respect to the op's output): return g * (d output / d input), "
    "not d output / d input alone",
    "wrong broadcasting reduction": "when an input was broadcast, its gradient must be summed "
    "(not averaged, not taken from one row) over the broadcast axes; or return the gradient at "
    "the output's shape and let the engine sum it back",
    "off by a constant factor": "the formula is missing or has an extra constant (a 2 from a "
    "square, a 1/n from a mean, a 0.5): compare each factor with the derivative by hand",
    "wrong sign": "the gradient has the opposite sign: check the minus signs (d(-x) = -g, "
    "d(a - b)/db = -g, d cos = -sin)",
    "transposed": "the gradient is the transpose of the right one: for y = a @ b, "
    "da = g @ bᵀ and db = aᵀ @ g",
    "wrong only near a non-differentiable point": "the gradient is right away from the kink "
    "but at it gives a value outside the one-sided derivatives; return one of them (or a value "
    "between, as relu'(0) = 0)",
    "float32 precision": "the forward computes in float32 although the inputs are float64, so "
    "central differences drown in rounding; compute in the inputs' dtype (no np.float32 "
    "arrays or .astype('float32') inside the op)",
    "wrong shape": "backward must return, for each input, a gradient of that input's shape "
    "(or of a shape it broadcasts to)",
    "wrong dtype": "keep the dtype: a float64 input gets a float64 gradient and gives a float64 "
    "output (.astype(x.dtype))",
    "wrong number of gradients": "backward returns one gradient per positional input of "
    "forward, None for the non-Tensor ones",
    "no gradient": "the output depends on this input, but backward returns None (or zeros) "
    "for it; return its gradient, or pass the input as a constant (an array, or .detach())",
    "wrong": "the formula itself differs from the derivative; derive it again by hand, "
    "element by element, and compare with the numbers above",
}


class GradcheckWarning(UserWarning):
    """A check skipped elements at a non-differentiable point (see ``CheckReport.kinks``)."""


@dataclass
class Kink:
    """An element where the op is not differentiable: the one-sided slopes ``left`` and
    ``right`` of ``sum(r * output)`` differ, and the analytic value lies between them."""

    input: int
    element: tuple
    x: float
    left: float
    right: float
    analytic: float
    where: str
    low: float = 0.0  # the range of the four one-sided slopes around x: any value in it is
    high: float = 0.0  # a valid (sub)gradient

    def __str__(self) -> str:
        return (f"input {self.input} element {self.element} (x = {self.x + 0.0:.6g}) at "
                f"{self.where}: one-sided derivatives {self.left + 0.0:.6g} and "
                f"{self.right + 0.0:.6g}, analytic {self.analytic + 0.0:.6g}")


@dataclass
class CheckReport:
    """What ``check_op`` / ``check_graph`` checked. Always truthy (a failure raises)."""

    op: str
    points: list = field(default_factory=list)  # where first order was checked, in words
    second_order: str = "not checked"
    kinks: list = field(default_factory=list)
    nodes: int = 0  # check_graph: how many ops were checked
    skipped: list = field(default_factory=list)  # check_graph: ops it cannot judge, and why

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        lines = [f"{self.op}: first order checked at {len(self.points)} point(s): "
                 + "; ".join(self.points)]
        if self.nodes:
            lines[0] = f"{self.op}: {self.nodes} op(s) checked"
        else:
            lines.append(f"second order: {self.second_order}")
        lines += [f"non-differentiable: {k}" for k in self.kinks]
        lines += [f"skipped: {k}" for k in self.skipped]
        return "\n".join(lines)


# --- one comparison at one point ------------------------------------------------------------


@dataclass
class _Point:
    label: str
    args: tuple
    checked: list  # positions in args of the tensors to differentiate
    broadcast: bool = False


class _Failure(Exception):
    """A diagnosed mismatch, turned into GradcheckError by the caller (who adds the op)."""

    def __init__(self, diagnosis: str, detail: str, k=None, idx=None, a=None, n=None, x=None):
        super().__init__(detail)
        self.diagnosis, self.detail = diagnosis, detail
        self.k, self.idx, self.a, self.n, self.x = k, idx, a, n, x


_SHAPE = re.compile(r"gradient for input (\d+) has shape (\([^)]*\)), but input \d+ has shape "
                    r"(\([^)]*\))")
_DTYPE = re.compile(r"gradient for input (\d+) has dtype (\w+), but input \d+ has dtype (\w+)")


def _structural(err: GraphError) -> _Failure | None:
    """A GraphError from the engine about what backward returned, as a diagnosis."""
    text = str(err)
    if m := _SHAPE.search(text):
        got, want = m[2], m[3]
        reversed_ = tuple(ast.literal_eval(got))[::-1] == tuple(ast.literal_eval(want))
        diagnosis = "transposed" if reversed_ and got != want else "wrong shape"
        return _Failure(diagnosis, f"backward returned a gradient of shape {got} for input "
                        f"{m[1]} of shape {want}.")
    if m := _DTYPE.search(text):
        return _Failure("wrong dtype", f"backward returned a {m[2]} gradient for input {m[1]}, "
                        f"which is {m[3]}.")
    if "gradient(s) for" in text:
        return _Failure("wrong number of gradients", text.split(": ", 1)[-1] + ".")
    return None


def _weights(outs: list, rng) -> list:
    """A random grad_output per output; a scalar's is kept away from 0 and from 1, so a
    backward that ignores it cannot pass by luck."""
    ws = []
    for o in outs:
        w = rng.standard_normal(o.shape)
        if o._data.size == 1:
            w = np.sign(w) * (0.5 + np.abs(w)) if abs(float(w.sum())) != 1 else w * 1.7
        ws.append(np.asarray(w, dtype=np.float64))
    return ws


class _Comparison:
    """Analytic against numeric gradients of ``call`` at one point, element by element (or
    along random directions first, with ``fast``)."""

    def __init__(self, call, point: _Point, rng, eps, atol, rtol, fast=False, dtypes=True):
        self.call, self.point, self.eps, self.atol, self.rtol = call, point, eps, atol, rtol
        args = point.args
        self.tensors = [args[i] for i in point.checked]
        outs = _outputs(call(*args))
        self.outs = outs
        if not any(o._requires_grad for o in outs):
            raise ArgumentError("no output of the op requires grad: is any input a floating "
                                "Tensor the output depends on?")
        for o in outs if dtypes else ():
            kind = o._data.dtype
            if o._requires_grad and kind != np.float64 and all(
                    t._data.dtype == np.float64 for t in self.tensors):
                raise _Failure("wrong dtype", f"forward returned a {kind} output of shape "
                               f"{tuple(o.shape)} for float64 inputs.")
        self.weights = _weights(outs, rng)
        self.proj = _Projection(call, args, self.tensors, self.weights)
        try:
            self.analytic = analytic_gradients(call, args, self.tensors, self.weights, outs)
        except GraphError as e:
            failure = _structural(e)
            if failure is None:
                raise
            raise failure from e
        for t, a in zip(self.tensors, self.analytic):
            if a.shape != tuple(t.shape):  # cannot happen through the engine; be sure
                raise _Failure("wrong shape", f"gradient of shape {a.shape} for an input of "
                               f"shape {tuple(t.shape)}.")
        self.numeric = [None] * len(self.tensors)
        for k, t in enumerate(self.tensors):
            if fast and t._data.size > 64:
                u = random_direction(t.shape, rng)
                a_u = float((self.analytic[k] * u).sum())
                if close(a_u, self.proj.directional(k, u, eps), atol, rtol):
                    continue  # this input passes: no element-by-element pass needed
                if t._data.size > 4096:  # too big to difference every element: bisect
                    self.numeric[k] = ("located", locate(self.proj, k, self.analytic[k], u, eps,
                                                         atol, rtol))
                    continue
            self.numeric[k] = self.proj.numeric_all(k, eps)

    # the failing elements, kinks told apart
    def mismatches(self):
        """([(k, idx)] real mismatches, [Kink] accepted kinks, [(k, idx, Kink)] kinks where
        the analytic value lies outside the one-sided derivatives)."""
        real, kinks, bad_kinks = [], [], []
        for k, n in enumerate(self.numeric):
            if n is None:
                continue
            if isinstance(n, tuple):  # a big input searched by bisection
                found = n[1]
                if found is not None:
                    real.append((k, found[0]))
                continue
            a = self.analytic[k]
            for row in np.argwhere(~close(a, n, self.atol, self.rtol)):
                idx = tuple(int(i) for i in row)
                kink = None if self._noise(k, idx) else self._kink(k, idx)
                if kink is None:
                    real.append((k, idx))
                elif kink.low - self._tol(kink) <= kink.analytic <= kink.high + self._tol(kink):
                    kinks.append(kink)
                else:
                    bad_kinks.append((k, idx, kink))
        return real, kinks, bad_kinks

    def _noise(self, k: int, idx) -> bool:
        """Rounding noise, not a kink: with a 1000x larger step the numeric gradient is closer
        to the analytic one than the small-step numeric gradient is, and agrees with it to 1%."""
        a, n = self.analytic[k][idx], self.numeric[k][idx]
        coarse = self.proj.numeric(k, idx, 1e-3)
        return bool(close(a, coarse, 1e-4, 1e-2)) and abs(n - coarse) > abs(a - coarse)

    def _tol(self, kink) -> float:
        return self.atol + self.rtol * max(abs(kink.left), abs(kink.right))

    def _kink(self, k: int, idx) -> Kink | None:
        """A five-point stencil: the four one-sided slopes lie on a line unless a kink is
        within two steps of x."""
        h, p = self.eps, self.proj
        f = [p.element(k, idx, j * h) for j in (-2, -1)] + [p.value()] + [
            p.element(k, idx, j * h) for j in (1, 2)]
        s = np.diff(f) / h
        t = np.array([-1.5, -0.5, 0.5, 1.5])
        fit = np.polyval(np.polyfit(t, s, 1), t)
        if np.abs(s - fit).max() <= self.atol + self.rtol * np.abs(s).max():
            return None
        x = float(self.tensors[k]._data[idx])
        return Kink(self.point.checked[k], idx, x, float(s[0]), float(s[3]),
                    float(self.analytic[k][idx]), self.point.label, float(s.min()),
                    float(s.max()))

    # the diagnosis
    def diagnose(self, real, bad_kinks) -> _Failure:
        if not real:
            k, idx, kink = bad_kinks[0]
            return _Failure("wrong only near a non-differentiable point",
                            f"the gradient is right except at {len(bad_kinks)} element(s) at a "
                            f"kink, where the one-sided derivatives are {kink.left:.6g} and "
                            f"{kink.right:.6g}.", k, idx, kink.analytic, None, kink.x)
        k, idx = self._worst(real)
        a_full, n_full = self.analytic[k], self.numeric[k]
        if isinstance(n_full, tuple):  # only one element known: no pattern to read
            _, a, n = n_full[1]
            return _Failure("wrong", "", k, idx, a, n, float(self.tensors[k]._data[idx]))
        a, n = float(a_full[idx]), float(n_full[idx])
        x = float(self.tensors[k]._data[idx])

        def failure(diagnosis, detail):
            return _Failure(diagnosis, detail, k, idx, a, n, x)

        if not np.any(a_full) and np.abs(n_full).max() > 0:
            return failure("no gradient", "the backward gives no gradient for this input (None "
                           "or zeros), but the output depends on it.")
        again = analytic_gradients(self.call, self.point.args, self.tensors,
                                   [-2.0 * w for w in self.weights])[k]
        if np.allclose(again, a_full, rtol=1e-6, atol=1e-12) and np.abs(n_full).max() > 0:
            return failure("ignores grad_output", "with grad_output multiplied by -2 the "
                           f"analytic gradient stayed {float(again[idx]):.8g} (it should become "
                           f"{-2 * n:.8g}).")
        if self._precision(k, real):
            exact = all(np.array_equal(o._data, o._data.astype(np.float32)) for o in self.outs)
            return failure("float32 precision", "with a step of 1e-3 instead of "
                           f"{self.eps:g} the numeric gradient agrees with the analytic one"
                           + (" and every output value is a float32 number" if exact else "")
                           + ": the differences are rounding noise.")
        pattern = self._pattern(a_full, n_full)
        if pattern is not None:
            return failure(*pattern)
        return failure("wrong", "")

    def _worst(self, real):
        def excess(item):
            k, idx = item
            n = self.numeric[k]
            if isinstance(n, tuple):
                return np.inf
            return abs(self.analytic[k][idx] - n[idx]) - self.rtol * abs(n[idx])
        return max(real, key=excess)

    def _precision(self, k: int, real) -> bool:
        """Every failing element of input k (the first 20) is rounding noise."""
        return all(self._noise(k, idx) for kk, idx in real[:20] if kk == k)

    def _pattern(self, a: np.ndarray, n: np.ndarray):
        """(diagnosis, detail) when the analytic gradient is a simple transform of the
        numeric one: a multiple (-1: a sign), the transpose."""
        def same(x, y):
            return bool(np.all(close(x, y, self.atol, self.rtol)))

        nn_ = float((n * n).sum())
        if nn_ > 0:
            c = float((a * n).sum()) / nn_
            if same(a, c * n) and abs(c - 1) > 10 * self.rtol and abs(c) > 1e-8:
                if abs(c + 1) <= 10 * self.rtol:
                    return "wrong sign", "the analytic gradient is -1 times the numeric one."
                return "off by a constant factor", (f"the analytic gradient is {c:.6g} times "
                                                    "the numeric one" + _fraction(c) + ".")
        if n.ndim >= 2 and n.shape[-1] == n.shape[-2] and same(a, np.swapaxes(n, -1, -2)):
            return "transposed", "the analytic gradient is the transpose of the numeric one."
        if n.ndim == 2 and n.size > 1 and same(a.ravel(), n.T.ravel()):
            return "transposed", ("the analytic gradient holds the numeric one's transpose, "
                                  "reshaped to the input's shape.")
        return None


def _fraction(c: float) -> str:
    """' (1/3)', ' (= 2)': a simple form of a factor, as a hint of where it comes from."""
    for q in range(1, 65):
        p = round(c * q)
        if p and abs(c * q - p) < 1e-4 * q:
            return f" (= {p}/{q})" if q > 1 else f" (= {p})"
    return ""


# --- check_op -------------------------------------------------------------------------------


def _name_of(op) -> str:
    if isinstance(op, type) and issubclass(op, Function):
        return op_name(op)
    name = getattr(op, "__name__", None)
    return "fn" if name in (None, "<lambda>") else name


def _float64(x):
    t = new_tensor(type(x), np.array(x._data, dtype=np.float64), None)
    t._requires_grad = True
    t.name = x.name
    return t


def _as_call(op, kwargs):
    if isinstance(op, type) and issubclass(op, Function):
        if op.array_mode:
            return lambda *args: op.apply(*args, **kwargs)
        # a Function of yours may change its inputs in place (mark_dirty): give it clones
        return lambda *args: op.apply(*(a.clone() if isinstance(a, TensorBase) else a
                                        for a in args), **kwargs)
    if callable(op):
        return lambda *args: op(*args, **kwargs)
    raise ArgumentError(f"check_op: op must be a Function subclass or a function of Tensors, "
                        f"got {type(op).__name__}")


def check_op(op, *example_inputs, kwargs=None, wrt=None, points: int = 3,
             broadcast: bool = True, second_order: bool = True, eps: float = 1e-6,
             atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> CheckReport:
    """Test a custom op's gradient completely, and say what is wrong when it is.

    ``op``: a ``Function`` subclass (called as ``op.apply(*inputs, **kwargs)``) or any function
    of Tensors. ``example_inputs``: its positional arguments; every floating Tensor among them
    is differentiated (``wrt``: a list of positions, to choose), in a float64 copy, while
    arrays, numbers and integer Tensors are passed as they are.

    Checked, with a random ``grad_output`` (so a backward that ignores it is caught):
    first derivatives at the examples and at ``points - 1`` random points near them; each
    differentiated input with fewer dimensions or a size-1 axis where the op broadcasts it
    (``broadcast``); the output's dtype; and, when the backward is differentiable, the second
    derivatives (``second_order``, as ``gradgradcheck``). Elements at a non-differentiable point
    are reported in the result's ``kinks``, not failed.

    Returns a ``CheckReport``; on a mismatch raises ``GradcheckError`` with ``diagnosis`` one
    of ``DIAGNOSES`` and a message naming the input, the element and both numbers.
    """
    name = _name_of(op)
    call = _as_call(op, kwargs or {})
    if not example_inputs:
        raise ArgumentError(f"check_op({name}): give example inputs, e.g. check_op(op, "
                            "Tensor(np.random.randn(3, 4)))")
    positions = [i for i, x in enumerate(example_inputs)
                 if isinstance(x, TensorBase) and x._data.dtype.kind == "f"] if wrt is None \
        else list(wrt)
    for i in positions:
        x = example_inputs[i] if i < len(example_inputs) else None
        if not (isinstance(x, TensorBase) and x._data.dtype.kind == "f"):
            raise ArgumentError(f"check_op({name}): input {i} is not a floating Tensor, so it "
                                "cannot be differentiated; wrt lists positions of float Tensors")
    if not positions:
        raise ArgumentError(f"check_op({name}): no example input is a floating Tensor, so "
                            "there is nothing to differentiate; pass Tensor(x) for the inputs "
                            "the op differentiates")
    rng = np.random.default_rng(seed)
    report = CheckReport(name)
    base = _point("the example inputs", example_inputs, positions)
    all_points = [base] + [p for j in range(1, points) if (p := _near(
        base, call, rng, f"random point {j} near the examples")) is not None]
    with _modes.enable_grad():
        for p in all_points:
            _run(name, call, p, rng, eps, atol, rtol, report)
        if broadcast and len([x for x in example_inputs if isinstance(x, TensorBase)]) >= 2:
            for p in _broadcast_points(base, call):
                _run(name, call, p, rng, eps, atol, rtol, report)
        if second_order:
            report.second_order = _second_order(name, call, base, rng, eps, atol, rtol, report)
    if report.kinks:
        warnings.warn(GradcheckWarning(
            f"check_op({name}): {len(report.kinks)} element(s) sit at a non-differentiable "
            f"point and were accepted as subgradients, e.g. {report.kinks[0]}"), stacklevel=2)
    return report


def _point(label, args, positions, broadcast=False) -> _Point:
    args = tuple(_float64(x) if i in positions else x for i, x in enumerate(args))
    return _Point(label, args, list(positions), broadcast)


def _near(base: _Point, call, rng, label) -> _Point | None:
    """The examples moved a little: each element by about 10% of itself, plus 1e-3 (so an
    element at a kink moves off it), without leaving the op's domain (a non-finite output
    means the point is dropped)."""
    for additive in (1e-3, 0.0):
        args = list(base.args)
        for i in base.checked:
            x = args[i]._data
            moved = x * (1 + 0.1 * rng.standard_normal(x.shape)) + additive * \
                rng.standard_normal(x.shape)
            args[i] = _float64(new_tensor(type(args[i]), moved, None))
        try:
            with _modes.no_grad(), np.errstate(all="ignore"):
                outs = _outputs(call(*args))
        except Exception:  # noqa: BLE001  (a point outside the op's domain is dropped)
            continue
        if all(np.isfinite(o._data).all() for o in outs):
            return _Point(label, tuple(args), base.checked)
    return None


def _broadcast_points(base: _Point, call) -> list:
    """Each differentiated input with its leading axis dropped, or an axis of size 1, where
    the op accepts that and gives outputs of the same shapes (so the input is broadcast)."""
    with _modes.no_grad():
        want = [o.shape for o in _outputs(call(*base.args))]
    found = []
    for i in base.checked:
        x = base.args[i]._data
        variants = []
        if x.ndim >= 1:
            variants.append(x[0])
        for ax in range(x.ndim):
            if x.shape[ax] > 1:
                variants.append(np.take(x, [0], axis=ax))
        for v in variants:
            args = list(base.args)
            args[i] = _float64(new_tensor(type(base.args[i]), np.ascontiguousarray(v), None))
            try:
                with _modes.no_grad():
                    got = [o.shape for o in _outputs(call(*args))]
            except Exception:  # noqa: BLE001  (the op does not broadcast this way)
                continue
            if got == want:
                found.append(_Point(f"input {i} broadcast from {v.shape} to {x.shape}",
                                    tuple(args), base.checked, broadcast=True))
                break  # one variant per input is enough
    return found[:4]


def _run(name, call, p: _Point, rng, eps, atol, rtol, report, fast=False, order=""):
    try:
        comparison = _Comparison(call, p, rng, eps, atol, rtol, fast)
        real, kinks, bad_kinks = comparison.mismatches()
        if real or bad_kinks:
            raise comparison.diagnose(real, bad_kinks)
    except _Failure as f:
        if p.broadcast and f.diagnosis not in ("ignores grad_output", "float32 precision",
                                               "wrong dtype"):
            f.detail = (f"the check passes at the example shapes but fails when {p.label}"
                        + (f" ({f.diagnosis}: {f.detail.rstrip('.')})" if f.detail
                           else f" ({f.diagnosis})")
                        + ".")
            f.diagnosis = "wrong broadcasting reduction"
        raise _error(f"check_op({name})", order, f, p) from None
    report.points.append(p.label)
    report.kinks.extend(kinks)


def _error(where: str, order: str, f: _Failure, p: _Point, node=None) -> GradcheckError:
    detail = f" {f.detail[0].upper()}{f.detail[1:]}" if f.detail else ""
    at = ""
    if f.k is not None:
        i = p.checked[f.k]
        t = p.args[i]
        at = f" At {p.label}: input {i}"
        at += f" ({t.name})" if getattr(t, "name", None) else ""
        at += f" of shape {tuple(t.shape)}, element {f.idx}"
        at += f" (x = {f.x:.6g})" if f.x is not None else ""
        if f.a is not None:
            at += f": analytic {f.a:.8g}"
        if f.n is not None:
            at += f" but numeric {f.n:.8g}"
        at += "."
    else:
        at = f" At {p.label}."
    err = GradcheckError(f"{where}: {order}{f.diagnosis}.{detail}{at} Fix: "
                         f"{DIAGNOSES[f.diagnosis]}.")
    err.diagnosis = f.diagnosis
    err.input = None if f.k is None else p.checked[f.k]
    err.element, err.analytic, err.numeric = f.idx, f.a, f.n
    err.node = node
    return err


def _second_order(name, call, base: _Point, rng, eps, atol, rtol, report) -> str:
    """gradgradcheck at the examples, when the backward is differentiable."""
    outs = _outputs(call(*base.args))
    vs = [new_tensor(type(o), rng.standard_normal(o.shape), None) for o in outs
          if o._requires_grad]
    for v in vs:
        v._requires_grad = True
    first = first_derivative_fn(call, base.args)
    try:
        gs = _outputs(first(*base.args, *vs))
    except GraphError as e:
        return f"skipped: the backward cannot run with create_graph=True ({e})"
    if not any(g._requires_grad for g in gs):
        return ("skipped: the backward is not differentiable (its gradients carry no graph: "
                "it computes on arrays, not Tensor operations)")
    if any(g._ctx is not None and g._ctx.fn is _OnceDifferentiated for g in gs):
        return "skipped: the backward is marked @once_differentiable"
    args = base.args + tuple(vs)
    p = _Point("the example inputs (second order)", args,
               base.checked + list(range(len(base.args), len(args))))
    _run(name, first, p, rng, eps, atol, rtol, CheckReport(name), order="second order: ")
    return "checked at the example inputs"


# --- check_graph ----------------------------------------------------------------------------


def check_graph(output, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                seed: int = 0, fast_mode: bool = True) -> CheckReport:
    """Check the backward of every op in a recorded graph, each on its own recorded inputs,
    and raise at the first wrong one.

    ``output``: the loss (or a list of outputs) of a graph that still holds what backward
    needs: call it before ``backward()``, or after ``backward(retain_graph=True)``. Each op is
    run again by its ``Function`` on float64 copies of its inputs, with the same arguments,
    and its backward formula compared with central differences (``fast_mode``: one random
    direction per input first, elements only when it fails).

    The ``GradcheckError`` names the op, its shapes, the diagnosis and, when the graph was
    built under ``detect_anomaly()``, the line of your code that created the op; its
    ``node`` is that op's output, for ``draw_graph(..., highlight=error)``. Or pass a
    function and its inputs, ``check_graph(fn, *inputs)``: it is run under ``detect_anomaly()``
    so every op knows its line.
    """
    if callable(output) and not isinstance(output, TensorBase):
        with _modes.detect_anomaly():
            output = output(*inputs)
    roots = _outputs(output)
    if not roots:
        raise ArgumentError("check_graph: output must be a Tensor (or a list of Tensors) "
                            "computed from tensors that require grad")
    rng = np.random.default_rng(seed)
    report = CheckReport("check_graph")
    seen = set()
    with _modes.enable_grad():
        for node in toposort(*roots):
            ctx = node._ctx
            if ctx is None or id(ctx) in seen:
                continue
            seen.add(id(ctx))
            _check_node(node, ctx, rng, eps, atol, rtol, fast_mode, report)
    return report


def _check_node(node, ctx, rng, eps, atol, rtol, fast, report) -> None:
    name = op_name(ctx.fn)
    if getattr(ctx.fn, "runs_hooks", False):
        report.skipped.append(f"{name}: its backward runs a module's backward hooks, not a "
                              "formula; gradcheck the whole function to check what they do")
        return
    if ctx.freed:
        raise GraphError(
            f"check_graph: the graph through {name} (output shape {tuple(node.shape)}) was "
            "freed by backward(), which drops what each op saved for its backward; call "
            "check_graph before backward(), or after backward(retain_graph=True)")
    positions = [i for i, a in enumerate(ctx.inputs) if isinstance(a, TensorBase)
                 and a._requires_grad and a._data.dtype.kind == "f"]
    if not positions:
        return
    args = tuple(_float64(a) if i in positions else (
        new_tensor(type(a), np.array(a._data, dtype=np.float64), None)
        if isinstance(a, TensorBase) and a._data.dtype.kind == "f" else a)
        for i, a in enumerate(ctx.inputs))
    attrs = ctx.attrs or {}

    def call(*a):
        if not ctx.fn.array_mode:  # a Function of yours may change its inputs (mark_dirty):
            a = tuple(x.clone() if isinstance(x, TensorBase) else x for x in a)  # not these
        return ctx.fn.apply(*a, **attrs)

    shapes = ", ".join(str(tuple(a.shape)) for a in ctx.inputs if isinstance(a, TensorBase))
    where = f"created at {ctx.trace}" if ctx.trace else (
        "run the forward under tinygrad_np.autograd.detect_anomaly(), or call "
        "check_graph(fn, *inputs), to see the line that created it")
    p = _Point(f"its recorded inputs ({shapes})", args, positions)
    with _modes.no_grad():
        if any(o._data.dtype != np.float64 for o in _outputs(call(*args))):
            report.skipped.append(f"{name}: gives {node.dtype} even from float64 inputs (a "
                                  "cast), so central differences cannot judge it")
            return
    try:
        comparison = _Comparison(call, p, rng, eps, atol, rtol, fast, dtypes=False)
        real, kinks, bad_kinks = comparison.mismatches()
        if real or bad_kinks:
            raise comparison.diagnose(real, bad_kinks)
    except _Failure as f:
        raise _error(f"check_graph: the backward of {name} (inputs {shapes} -> output "
                     f"{tuple(node.shape)}; {where}) is wrong", "", f, p, node) from None
    report.nodes += 1
    report.points.append(name)
    report.kinks.extend(kinks)
