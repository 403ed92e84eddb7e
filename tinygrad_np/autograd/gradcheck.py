"""Central-difference gradient checking, for users' tests as much as for ours.

``gradcheck`` compares autodiff's first derivatives with central differences; ``gradgradcheck``
does the same for the derivatives of the gradient itself (``create_graph=True``), which is how
every primitive's second order is proven.

Both reduce the outputs to one number with fixed random weights, ``F = sum(r * out)``, so one
backward gives the whole vector-Jacobian product ``rᵀJ``. The check then perturbs the inputs:

- by default one element at a time (two forward evaluations per element): exact, and it names
  the element, but it costs ``2 * (number of input elements)`` forward passes;
- with ``fast_mode=True`` along one random unit direction ``u`` per input (two forward
  evaluations per input, as HIPS autograd's ``check_grads`` and JAX's ``check_grads``): the
  numeric ``rᵀJu`` against the analytic ``(rᵀJ)·u``. Only when a direction disagrees does it
  drill down, by bisection over the elements (two evaluations per halving), to one element it
  can name. A wrong gradient that points in a random direction's blind spot has probability
  zero, and the seed is fixed, so the check is deterministic.

``_Projection`` is the shared machinery; ``checks.py`` (``check_op``, ``check_graph``) builds
on it.
"""

from __future__ import annotations

import numpy as np

from ..errors import ArgumentError, DTypeError, GradcheckError
from .function import TensorBase, new_tensor


def _inputs(inputs) -> tuple:
    """``gradcheck(fn, a, b)`` or PyTorch's ``gradcheck(fn, (a, b))``."""
    if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
        return tuple(inputs[0])
    return tuple(inputs)


def _outputs(out) -> list:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, TensorBase)]


def close(analytic, numeric, atol: float, rtol: float):
    """gradcheck's test, elementwise: |analytic - numeric| <= atol + rtol * |numeric|."""
    return np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric)


class _Projection:
    """``F(inputs) = sum_k sum(w_k * out_k)`` for ``fn``'s outputs, evaluated with the checked
    inputs' arrays perturbed in place (and always put back).

    Central differences subtract the outputs element by element before weighting them: an
    output of 1e19 next to one of 1e16 would otherwise swallow the smaller one's change in the
    rounding of F (PyTorch differences each output too)."""

    def __init__(self, fn, inputs: tuple, checked: list, weights: list):
        self.fn, self.inputs, self.checked, self.weights = fn, inputs, checked, weights

    def _outputs(self) -> list:  # grad mode stays as it is: fn may differentiate inside
        return [o._data.astype(np.float64) for o in _outputs(self.fn(*self.inputs))]

    def _weighted(self, outs: list) -> float:
        return float(sum((o * w).sum() for o, w in zip(outs, self.weights)))

    def value(self) -> float:
        return self._weighted(self._outputs())

    def _outputs_at(self, k: int, delta) -> list:
        data = self.checked[k]._data
        orig = data.copy()
        try:
            data += delta
            return self._outputs()
        finally:
            data[...] = orig

    def _outputs_with(self, k: int, idx, step: float) -> list:
        data = self.checked[k]._data
        orig = data[idx]
        try:
            data[idx] = orig + step
            return self._outputs()
        finally:
            data[idx] = orig

    def element(self, k: int, idx, step: float) -> float:
        """F with ``step`` added to one element of checked input k."""
        return self._weighted(self._outputs_with(k, idx, step))

    def _slope(self, plus: list, minus: list, eps: float) -> float:
        return float(sum((w * (p - m)).sum() for p, m, w in zip(plus, minus, self.weights))
                     ) / (2 * eps)

    def numeric(self, k: int, idx, eps: float) -> float:
        """dF/dx at one element of input k, by central differences."""
        return self._slope(self._outputs_with(k, idx, eps), self._outputs_with(k, idx, -eps),
                           eps)

    def numeric_all(self, k: int, eps: float) -> np.ndarray:
        shape = self.checked[k]._data.shape
        out = np.zeros(shape)
        for idx in np.ndindex(shape):
            out[idx] = self.numeric(k, idx, eps)
        return out

    def directional(self, k: int, u: np.ndarray, eps: float) -> float:
        """The derivative of F along direction u of input k: two evaluations."""
        return self._slope(self._outputs_at(k, eps * u), self._outputs_at(k, -eps * u), eps)


def analytic_gradients(fn, inputs: tuple, checked: list, weights: list, outs=None) -> list:
    """``(wᵀJ)`` for every checked input, from one backward (zeros where one is unused)."""
    from . import grad

    outs = _outputs(fn(*inputs)) if outs is None else outs
    live = [(o, w) for o, w in zip(outs, weights) if o._requires_grad]
    if not live:
        return [np.zeros(t.shape) for t in checked]
    found = grad([o for o, _ in live], list(checked),
                 [new_tensor(type(o), np.asarray(w, dtype=o._data.dtype), None) for o, w in live],
                 allow_unused=True)
    return [np.zeros(t.shape) if g is None else np.asarray(g._data, dtype=np.float64)
            for g, t in zip(found, checked)]


def random_direction(shape: tuple, rng) -> np.ndarray:
    """A random unit vector of ``shape`` (a Gaussian, normalised)."""
    u = rng.standard_normal(shape)
    norm = np.linalg.norm(u)
    return u / norm if norm > 0 else u


def locate(proj: _Projection, k: int, analytic: np.ndarray, u: np.ndarray, eps: float,
           atol: float, rtol: float, scan_limit: int = 4096):
    """Drill down from a failing direction to one failing element of input k, by bisection:
    the direction restricted to each half of the current elements is checked, and the search
    goes on in a half that fails. Returns ``(index, analytic, numeric)``, or None when no single
    element fails on its own (tiny errors that only add up along the direction).
    """
    flat = np.flatnonzero(u)
    shape = analytic.shape

    def fails(members) -> bool:
        v = np.zeros(u.size)
        v[members] = u.ravel()[members]
        v = v.reshape(shape) / np.linalg.norm(v)
        a = float((analytic * v).sum())
        return not close(a, proj.directional(k, v, eps), atol, rtol)

    def element(members):
        for f in members:
            idx = tuple(int(j) for j in np.unravel_index(f, shape))
            n = proj.numeric(k, idx, eps)
            if not close(analytic[idx], n, atol, rtol):
                return idx, float(analytic[idx]), n
        return None

    members = flat
    while len(members) > 1:
        half = len(members) // 2
        first, second = members[:half], members[half:]
        if fails(first):
            members = first
        elif fails(second):
            members = second
        else:  # the halves cancel or each is within tolerance: look element by element
            return element(members) if len(members) <= scan_limit else None
    return element(members)


def _describe_input(i: int, t) -> str:
    name = f" ({t.name})" if getattr(t, "name", None) else ""
    return f"input {i}{name} of shape {tuple(t.shape)}"


def _check_settings(where: str, fn, eps, atol, rtol, nondet_tol) -> None:
    if not callable(fn):
        raise ArgumentError(f"{where}: fn must be a function of the inputs, got "
                            f"{type(fn).__name__}")
    for key, value, low in (("eps", eps, "> 0"), ("atol", atol, ">= 0"), ("rtol", rtol, ">= 0")):
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, bool) and np.isfinite(value) and (value > 0 if key == "eps" else value >= 0)
        if not ok:
            raise ArgumentError(f"{where}: {key} must be a finite number {low}, got {value!r}")
    if nondet_tol != 0.0:
        raise ArgumentError(f"{where}: nondet_tol={nondet_tol!r}: every op here is "
                            "deterministic (a backward gives the same bits twice), so only 0 "
                            "is meaningful")


def gradcheck(fn, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, raise_exception: bool = True, fast_mode: bool = False,
              nondet_tol: float = 0.0) -> bool:
    """Check autodiff's gradient of ``fn(*inputs)`` against central differences, in float64.

    ``inputs`` (given as arguments, or as one tuple as in PyTorch) that are Tensors with
    ``requires_grad=True`` are checked; each must be float64 (float32 differences are too
    coarse to judge). A scalar output is differentiated as it is; a non-scalar output (or a
    tuple of outputs) is reduced with fixed random weights ``sum(r * out)`` (``seed``), which
    checks the whole vector-Jacobian product. Returns True, or raises ``GradcheckError`` naming
    the input, the element and both values (``raise_exception=False``: returns False).
    ``fast_mode=True`` checks one random direction per input (two forward evaluations each)
    and searches for the failing element only when a direction fails: for big inputs.
    Leaves every input's ``data`` and ``grad`` as it found them. ``nondet_tol`` is
    PyTorch's; only its default 0 is accepted (every op here is deterministic).
    """
    _check_settings("gradcheck", fn, eps, atol, rtol, nondet_tol)
    inputs = _inputs(inputs)
    checked = [(i, t) for i, t in enumerate(inputs) if isinstance(t, TensorBase)
               and t._requires_grad]
    if not checked:
        raise ArgumentError("gradcheck: no input is a Tensor with requires_grad=True, so there "
                            "is nothing to check; pass the inputs to differentiate as "
                            "Tensor(x, dtype='float64', requires_grad=True)")
    for i, t in checked:
        if t._data.dtype != np.float64:
            raise DTypeError(
                f"gradcheck: input {i} has dtype {t._data.dtype} (shape {t.shape}); gradcheck "
                "needs float64, since float32 central differences are too coarse. Build it "
                "with Tensor(x, dtype='float64', requires_grad=True)"
            )
    outs = _outputs(fn(*inputs))
    if not outs:
        raise ArgumentError("gradcheck: fn returned no Tensor to differentiate")
    for j, o in enumerate(outs):
        if o._data.dtype.kind != "f":  # (PyTorch refuses these too) nothing to differentiate
            raise DTypeError(f"gradcheck: output {j} of fn has dtype {o._data.dtype} (shape "
                             f"{o.shape}): only floating outputs have gradients to check")
    rng = np.random.default_rng(seed)
    weights = [np.ones(o.shape) if o._data.size == 1 and len(outs) == 1 else
               rng.standard_normal(o.shape) for o in outs]
    tensors = [t for _, t in checked]
    proj = _Projection(fn, inputs, tensors, weights)
    analytic = analytic_gradients(fn, inputs, tensors, weights, outs)
    how = "" if len(outs) == 1 and outs[0]._data.size == 1 else (
        " of sum(r * output), r fixed random weights,")

    def fail(i, t, idx, a, n, extra=""):
        if not raise_exception:
            return False
        err = GradcheckError(
            f"gradcheck: {_describe_input(i, t)}, element {idx}: analytic gradient{how} "
            f"{a:.8g} but numeric {n:.8g} (|diff| {abs(a - n):.3g} > atol {atol} + rtol "
            f"{rtol} * |numeric|){extra}")
        err.input, err.element, err.analytic, err.numeric = i, idx, a, n
        raise err

    direction_rng = np.random.default_rng(seed + 7)
    for k, ((i, t), a) in enumerate(zip(checked, analytic)):
        if t._data.size == 0:
            continue
        if fast_mode:
            u = random_direction(t.shape, direction_rng)
            a_u, n_u = float((a * u).sum()), proj.directional(k, u, eps)
            if close(a_u, n_u, atol, rtol):
                continue
            found = locate(proj, k, a, u, eps, atol, rtol)
            extra = (f"; fast_mode: along a random direction u the analytic (gradient·u) is "
                     f"{a_u:.8g} but the numeric derivative {n_u:.8g}")
            if found is None:
                if not raise_exception:
                    return False
                err = GradcheckError(
                    f"gradcheck: {_describe_input(i, t)}: along a random unit direction u, "
                    f"analytic gradient{how} · u = {a_u:.8g} but numeric {n_u:.8g} (|diff| "
                    f"{abs(a_u - n_u):.3g} > atol {atol} + rtol {rtol} * |numeric|); no single "
                    "element fails on its own (small errors add up): rerun with "
                    "fast_mode=False to compare every element")
                err.input, err.analytic, err.numeric = i, a_u, n_u
                raise err
            return fail(i, t, found[0], found[1], found[2], extra)
        for idx in np.ndindex(t._data.shape):  # perturb the input in place, one element at a time
            numeric = proj.numeric(k, idx, eps)
            if not close(a[idx], numeric, atol, rtol):
                return fail(i, t, idx, float(a[idx]), numeric)
    return True


def gradgradcheck(fn, *inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, seed: int = 0, raise_exception: bool = True,
                  fast_mode: bool = False, nondet_tol: float = 0.0) -> bool:
    """Check second derivatives: the gradient of ``fn`` (computed with ``create_graph=True``)
    is itself checked by ``gradcheck``, with respect to the inputs and to ``grad_outputs``
    (random float64 weights by default; Tensors or arrays, one per output), as
    ``torch.autograd.gradgradcheck``."""
    _check_settings("gradgradcheck", fn, eps, atol, rtol, nondet_tol)
    inputs = _inputs(inputs)
    outs = _outputs(fn(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = [new_tensor(type(o), rng.standard_normal(o.shape), None) for o in outs]
    elif isinstance(grad_outputs, (TensorBase, np.ndarray)):
        grad_outputs = [grad_outputs]
    proto = outs[0] if outs else None
    grad_outputs = [g if isinstance(g, TensorBase) else new_tensor(
        type(proto), np.asarray(g, dtype=np.float64), None) for g in grad_outputs]
    if len(grad_outputs) != len(outs) or any(
            tuple(g.shape) != tuple(o.shape) for g, o in zip(grad_outputs, outs)):
        raise ArgumentError(f"gradgradcheck: grad_outputs must be one per output of fn, of its "
                            f"shape: outputs {[tuple(o.shape) for o in outs]}, grad_outputs "
                            f"{[tuple(g.shape) for g in grad_outputs]}")
    grad_outputs = [g.detach().requires_grad_(True) for g in grad_outputs]
    first_derivatives = first_derivative_fn(fn, inputs)
    return gradcheck(first_derivatives, *inputs, *grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     seed=seed, raise_exception=raise_exception, fast_mode=fast_mode)


def first_derivative_fn(fn, inputs: tuple):
    """``(*inputs, *grad_outputs) -> the gradients of fn's outputs (weighted by grad_outputs)
    with respect to the inputs that require grad``, with ``create_graph=True``: the function
    whose own gradient is fn's second derivative."""
    from . import grad

    diff = [i for i, t in enumerate(inputs) if isinstance(t, TensorBase) and t._requires_grad]
    n = len(inputs)

    def first_derivatives(*args):
        xs, vs = args[:n], args[n:]
        ys = _outputs(fn(*xs))
        pairs = [(y, v) for y, v in zip(ys, vs) if y._requires_grad]
        if not pairs:
            return tuple(new_tensor(type(xs[i]), np.zeros(xs[i].shape), None) for i in diff)
        gs = grad([y for y, _ in pairs], [xs[i] for i in diff], [v for _, v in pairs],
                  create_graph=True, allow_unused=True)
        return tuple(new_tensor(type(xs[i]), np.zeros(xs[i].shape), None) if g is None else g
                     for g, i in zip(gs, diff))

    return first_derivatives
