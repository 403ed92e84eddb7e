"""The one way to define a differentiable op: a ``Function`` with ``forward`` and ``backward``.

Every primitive of the library (``tinygrad_np/ops.py``) and every op a user writes is a
subclass of ``Function``, called as ``Op.apply(*inputs)``. ``apply`` runs ``forward``, wraps
its result in a new Tensor and, when grad mode is on and an input requires grad, records a
``Context`` on it: the inputs, what forward saved for backward, and the write clock reading
that the in-place guard checks at backward.

Two forms, one mechanism:

- A user's ``Function`` (PyTorch's form): ``forward(ctx, *args)`` receives Tensors and runs
  without recording; ``backward(ctx, *grad_outputs)`` receives and returns Tensors, so a
  backward written with Tensor operations is itself differentiable.
- A library primitive sets ``array_mode = True``: ``forward`` receives the inputs' NumPy
  arrays, and ``backward`` is one formula written with operations that exist on both arrays
  and Tensors. A first-order backward calls it with arrays (no Tensor is made: the speed of
  hand-written NumPy); ``create_graph=True`` calls the same formula with Tensors, so second
  and third derivatives come from the same lines.

The in-place guard (PyTorch's version counters, kept per array): every write the library
makes into a tensor's array (in-place methods, ``t.data op= ...``, optimizers,
``load_state_dict``) stamps that array with a tick of one global clock. An op records the
clock's reading when it runs; at backward, if the clock has moved since, each array the op
saved is checked and a newer stamp raises ``GraphError`` naming the tensor, the op and the
line that created it. A first-order step pays one global read per op and one comparison per
backward node. Raw NumPy writes (``t.data[0] = 5``) bypass the clock; ``detect_anomaly()``
also catches those, by checksumming saved arrays.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import os
import threading
import traceback
import weakref
import zlib

import numpy as np

from .. import _kernels, _modes
from .._modes import state as _state
from ..errors import AnomalyError, ArgumentError, GraphError, NotDefinedError

# --- the tensor as the engine sees it ----------------------------------------------------------


class TensorBase:
    """The fields of a tensor that the engine reads and writes; ``tinygrad_np.Tensor`` adds the
    user-facing API. Ops return tensors of their first Tensor input's class."""

    __slots__ = ("_data", "_grad", "_requires_grad", "_ctx", "_index", "_stamp", "name",
                 "_hooks", "_retain", "__weakref__")

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None


def new_tensor(cls, data: np.ndarray, ctx, index: int = 0, stamp=None):
    """A tensor of class ``cls`` holding ``data``, made by op ``ctx`` (None for a constant)."""
    t = object.__new__(cls)
    t._data = data
    t._grad = None
    t._requires_grad = ctx is not None
    t._ctx = ctx
    t._index = index
    t._stamp = stamp
    t.name = None
    t._hooks = None
    t._retain = False
    return t


# --- the write clock: the in-place guard -------------------------------------------------------

_clock = itertools.count(1)
_clock_lock = threading.Lock()
_last_write = 0  # the clock reading of the most recent tracked write, anywhere
_rebased = False  # True once an in-place op was recorded (the walk then checks each edge)
_view_edits = False  # True once one was recorded on memory that views share (ops then check)

# every recorded op's number, in the order they ran: backward takes the latest first
_sequence = itertools.count()

# ``tinygrad_np.jit`` sets this while it records a step (None otherwise: one global read per op)
_tracer = None

# True once a module call with backward hooks was made: run_backward then clears what those
# calls keep for the length of a backward (state.pending)
hook_points = False


def note_write(t: TensorBase) -> None:
    """Record that ``t``'s array was just changed in place.

    Every in-place writer in the library calls this; tensors that share an array (views,
    ``detach()``) share its stamp, so a write through any of them is seen by all.
    """
    global _last_write
    with _clock_lock:
        tick = next(_clock)
        stamp = t._stamp
        if stamp is None:
            t._stamp = stamp = [0]
        stamp[0] = tick
        _last_write = tick
    if _tracer is not None:
        _tracer.on_write((t,))


def note_writes(tensors) -> None:
    """``note_write`` for several tensors written together (an optimizer step): one tick."""
    global _last_write
    with _clock_lock:
        tick = next(_clock)
        for t in tensors:
            stamp = t._stamp
            if stamp is None:
                t._stamp = stamp = [0]
            stamp[0] = tick
        _last_write = tick
    if _tracer is not None:
        _tracer.on_write(tensors)


def shared_stamp(t: TensorBase) -> list:
    """``t``'s write stamp, created if it has none yet (for a new tensor sharing its array)."""
    stamp = t._stamp
    if stamp is None:
        t._stamp = stamp = [0]
    return stamp


def version(t: TensorBase) -> int:
    """The clock reading of the last tracked write into ``t``'s array (0: never written)."""
    return 0 if t._stamp is None else t._stamp[0]


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` takes the hook off again."""

    _ids = itertools.count(1)  # (next() on it is atomic: handles made in threads differ)

    def __init__(self, hooks: dict, hook, prepend: bool = False):
        n = next(RemovableHandle._ids)
        self.id = -n if prepend else n  # hooks run in the order of their ids (see ordered)
        self._hooks = hooks
        hooks[self.id] = hook

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def ordered(hooks: dict) -> list:
    """(id, hook) pairs in the order they run: by registration, those registered with
    prepend=True first (latest first). A snapshot, safe while another thread registers."""
    return sorted(hooks.items(), key=_first)


def _first(item):
    return item[0]


# --- Context -----------------------------------------------------------------------------------


class _Output:
    """Stands in ``ctx.saved_tensors`` for one of the op's own outputs (holding the output
    itself would make a reference cycle output -> ctx -> output). It keeps the output's array,
    so backward still has the values if the caller dropped that output."""

    __slots__ = ("index", "data")

    def __init__(self, index: int, data: np.ndarray):
        self.index, self.data = index, data

    def __repr__(self) -> str:
        return f"<the op's output {self.index}, shape {tuple(self.data.shape)}>"


def moved(saved: tuple, old: np.ndarray, new: np.ndarray) -> tuple:
    """``saved`` (what an op saved for backward) with the array ``old`` replaced by ``new``,
    also where it stands for one of the op's outputs."""
    return tuple(new if s is old else _Output(s.index, new)
                 if isinstance(s, _Output) and s.data is old else s for s in saved)


class Context:
    """What one op call keeps for its backward: ``ctx`` in ``forward`` and ``backward``.

    ``save_for_backward(*values)`` in forward, ``saved_tensors`` in backward;
    ``needs_input_grad[i]`` says whether input i needs a gradient; any other attribute
    (``ctx.axis = axis``) can be set in forward and read in backward. The engine's fields:
    ``fn`` (the Function), ``inputs``, ``attrs`` (forward's keyword arguments), ``seq`` (its
    place in the order ops were recorded), ``stamp`` (the write clock at forward), ``frame``
    (the module call it ran in), ``trace`` (the user's line, under detect_anomaly), ``freed``.
    """

    # defaults every op shares, overridden per instance only where an op differs
    saved_tensors = ()  # what forward saved: arrays for a primitive (Tensors while a
    # create_graph backward runs), Tensors for a user's Function
    freed = False
    n_outputs = 1
    outputs = None
    checksums = None
    materialize_grads = True
    trace = None
    stash = None  # what a speed kernel keeps from its forward for its backward
    stamp = 0
    frame = None
    arrays = None  # a primitive's input arrays as forward received them
    replaced = None  # for an in-place op: the tensor standing for the value it overwrote
    node_hooks = None  # {"pre": {...}, "post": {...}}: register_prehook / register_hook

    def save_for_backward(self, *values) -> None:
        self.saved_tensors = values

    def mark_dirty(self, *tensors) -> None:
        """Inputs that forward changed in place and returns (PyTorch's in-place Function): each
        tensor object takes this op's place in the graph, as ``y.mul_(2)`` does, and the ops
        that used it before keep its old value."""
        self.__dict__.setdefault("dirty", []).extend(tensors)

    def mark_non_differentiable(self, *outputs) -> None:
        """Outputs that get no gradient (indices, masks): they are returned not requiring grad."""
        self.__dict__.setdefault("non_differentiable", []).extend(id(o) for o in outputs)

    def set_materialize_grads(self, value: bool) -> None:
        """Whether an output that received no gradient is passed to backward as zeros (the
        default) or as None."""
        self.materialize_grads = bool(value)

    @property
    def op(self) -> str:
        return op_name(self.fn)

    @property
    def parents(self) -> tuple:
        """The inputs that are tensors, in argument order."""
        return tuple(a for a in self.inputs if isinstance(a, TensorBase))

    def name(self) -> str:
        """PyTorch's name for this node: ``SquareBackward`` for a Function ``Square`` of yours,
        ``MulBackward0`` for the library's ``Mul``."""
        return f"{self.fn.__name__}Backward{'0' if self.fn.array_mode else ''}"

    @property
    def next_functions(self) -> tuple:
        """``(node, output index)`` per tensor input, as PyTorch's: the record of the op that
        made it, an ``AccumulateGrad`` for a leaf that requires grad, ``(None, 0)`` for a
        constant. Following them from ``loss.grad_fn`` walks the graph backward."""
        out = []
        for p in self.parents:
            p = as_of(p, self.stamp)  # (edited in place after this op used it: the old value)
            if p._ctx is not None:
                out.append((p._ctx, p._index))
            else:
                out.append((AccumulateGrad(p) if p._requires_grad else None, 0))
        return tuple(out)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    def register_prehook(self, hook) -> RemovableHandle:
        """Call ``hook(grad_outputs)`` before this op's backward runs (a tuple, one gradient per
        output); it may return a new tuple, which backward gets instead."""
        return self._node_hook("pre", hook)

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad_inputs, grad_outputs)`` after this op's backward (``grad_inputs``:
        one entry per tensor input, as ``next_functions``, None where there is no gradient); it
        may return a new ``grad_inputs``, which flows on instead."""
        return self._node_hook("post", hook)

    def _node_hook(self, kind: str, hook) -> RemovableHandle:
        if not callable(hook):
            raise ArgumentError(f"{self.name()}.register_{'pre' if kind == 'pre' else ''}hook: "
                                f"the hook must be callable, got {type(hook).__name__}")
        if self.node_hooks is None:
            self.node_hooks = {"pre": {}, "post": {}}
        return RemovableHandle(self.node_hooks[kind], hook)


class AccumulateGrad:
    """The end of a walk through ``next_functions``: where a leaf's gradient is added up."""

    __slots__ = ("variable",)
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad of a leaf of shape {tuple(self.variable._data.shape)}>"


def as_of(t, stamp: int):
    """The tensor that stood for ``t``'s value when the clock read ``stamp``: an in-place op
    recorded on a tensor since (``y.mul_(3)``) makes the tensor object stand for its result and
    keeps the old value as ``ctx.replaced`` (a dict by output index when a Function marked
    several inputs dirty)."""
    while t._ctx is not None and t._ctx.stamp > stamp and t._ctx.replaced is not None:
        old = t._ctx.replaced
        if type(old) is dict:
            old = old.get(t._index)
            if old is None:
                break
        t = old
    return t


_OP_NAMES: dict = {}


def op_name(fn) -> str:
    """The name an op goes by in messages and pictures: ``cross_entropy`` for the library's
    ``CrossEntropy``, the class name itself for a user's Function."""
    name = _OP_NAMES.get(fn)
    if name is None:
        name = fn.__name__
        if fn.array_mode:
            name = "".join(("_" + c.lower()) if c.isupper() and i else c.lower()
                           for i, c in enumerate(name))
        _OP_NAMES[fn] = name
    return name


# --- Function ----------------------------------------------------------------------------------


class Function:
    """Base class of every differentiable op. Subclass it and define static methods::

        class Square(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        y = Square.apply(x)

    ``backward`` returns one gradient per positional argument of ``forward`` (None where there
    is none, as for non-tensor arguments), of that argument's shape: a gradient of a broadcast
    shape is summed back to the input's shape, as in PyTorch. A wrong count, or a shape or
    dtype that does not fit, raises ``GraphError`` naming the op and the input.

    PyTorch's other forms work too: ``forward(*args)`` without ctx, with a static
    ``setup_context(ctx, inputs, output)`` that saves what backward needs (``inputs``: forward's
    arguments, keywords and defaults bound to their places); ``vjp`` as another name for
    ``backward``; ``ctx.mark_dirty(x)`` for a forward that changes an input in place and
    returns it; ``@once_differentiable`` on a backward that cannot be differentiated again.
    """

    array_mode = False  # library primitives: forward gets NumPy arrays (see the module docs)
    fast_forward = None  # an array-mode speed kernel used instead of forward when kernels are on
    fast_backward = None
    _separate_setup = False  # forward without ctx, and a setup_context (set per subclass)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "vjp" in own:  # PyTorch: vjp is backward's other name; a class defines one of them
            if "backward" in own:
                raise ArgumentError(f"{cls.__name__}: define backward or vjp, not both (vjp is "
                                    "another name for backward)")
            cls.backward = own["vjp"]
        cls._separate_setup = cls.setup_context is not Function.setup_context
        if cls._separate_setup and cls.array_mode:
            raise ArgumentError(f"{cls.__name__}: setup_context is for PyTorch's form "
                                "(forward on Tensors); an array_mode forward takes ctx itself")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotDefinedError("a Function subclass must define a static forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotDefinedError("a Function subclass must define a static backward(ctx, "
                              "*grad_outputs) returning one gradient per input of forward")

    vjp = backward

    @staticmethod
    def setup_context(ctx, inputs: tuple, output):
        """Defined instead of taking ctx in forward: save what backward needs from forward's
        ``inputs`` and its ``output``."""
        raise NotDefinedError("setup_context is defined by a Function whose forward takes no "
                              "ctx (forward(*args))")

    @classmethod
    def apply(cls, *args, **kwargs):
        state = _state
        proto = None
        needs = []
        arrays = []  # what an array-mode forward receives
        for a in args:
            if isinstance(a, TensorBase):
                if proto is None:
                    proto = a
                needs.append(a._requires_grad)
                arrays.append(a._data)
            else:
                needs.append(False)
                arrays.append(a)
        if _view_edits:
            _check_views(cls, args, state)
        ctx = Context()
        ctx.fn = cls
        record = state.grad_enabled and True in needs
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        if record:
            ctx.inputs, ctx.attrs = args, kwargs
        if not cls.array_mode:
            return _apply_tensor_form(cls, ctx, args, kwargs, proto, record, state)
        if cls.fast_forward is not None and _kernels.ENABLED:
            y = cls.fast_forward(ctx, *arrays, **kwargs)
        else:
            y = cls.forward(ctx, *arrays, **kwargs)
        if type(y) is not np.ndarray:
            # NumPy returns scalars for 0-d results: the output becomes a 0-d array, and a
            # saved scalar output must become that same array, or a create_graph backward
            # would take it for a constant of the formula (no second derivative through it)
            scalar, y = y, np.asarray(y)
            for s in ctx.saved_tensors:  # (a loop, not a generator: this runs for every loss)
                if s is scalar:
                    ctx.saved_tensors = tuple(y if s is scalar else s for s in ctx.saved_tensors)
                    break
        out = object.__new__(type(proto))  # new_tensor, inlined: this is the hottest path
        out._data = y
        out._grad = None
        out._index = 0
        out._stamp = _alias_stamp(y, args) if y.base is not None else None
        out.name = None
        out._hooks = None
        out._retain = False
        if record:
            out._requires_grad = True
            out._ctx = ctx
            ctx.seq = next(_sequence)
            ctx.stamp = _last_write
            ctx.frame = state.frame
            ctx.arrays = arrays  # so backward can tell an input given a new array (t.data = a)
            if state.anomaly:
                _anomaly_record(ctx, (out,))
        else:
            out._requires_grad = False
            out._ctx = None
            if state.anomaly:
                _check_finite_output(cls, (out,), args)
        if _tracer is not None:
            _tracer.on_apply(cls, ctx, args, kwargs, out)
        return out


def _alias_stamp(y: np.ndarray, args) -> list | None:
    """The write stamp of the input whose array ``y`` is, or is a view of (reshape, transpose,
    basic indexing), so that a write through either is seen by the ops that saved the other."""
    base = y if y.base is None else y.base
    for a in args:
        if isinstance(a, TensorBase):
            d = a._data
            if d is y or d is base or d.base is base:
                stamp = shared_stamp(a)
                if len(stamp) == 1:  # now a view family: [tick, tick of the last in-place op
                    stamp.extend((0, False))  # recorded through it, holds a grad leaf's memory]
                if a._ctx is None and a._requires_grad:
                    stamp[2] = True
                return stamp
    return None


def _check_views(cls, args, state) -> None:
    """Refuse an input whose memory an in-place op recorded on a view of it (or on the tensor
    it is a view of) changed after it was computed: its graph describes the old values.

    (PyTorch rebuilds such a tensor's graph; here an op on it raises instead.) Leaves that
    require grad are variables and a detached tensor is a constant: their values are what
    they are.
    """
    for i, a in enumerate(args):
        if not isinstance(a, TensorBase) or a is state.standin:
            continue
        stamp = a._stamp
        if stamp is None or len(stamp) == 1 or not stamp[1]:
            continue
        if a._ctx is not None:
            fresh = a._ctx.stamp
        elif a._requires_grad or a._index is not None:
            continue
        else:
            fresh = 0  # a constant you made, whose view now depends on a tensor that requires grad
        if stamp[1] > fresh:
            what = "a constant tensor" if a._ctx is None else f"the output of {op_name(a._ctx.fn)}"
            raise GraphError(
                f"{op_name(cls)}: input {i} ({what} of shape {tuple(a._data.shape)}) shares its "
                "memory with a view (or the tensor it is a view of) that an in-place op changed "
                "after it was computed (v = y[0]; v.mul_(2)), so its values no longer match its "
                "graph and its gradient would be wrong. Write through the tensor you use next "
                "(y[0] *= 2 is recorded on y), or clone() the view before changing it in place"
            )


def _apply_tensor_form(cls, ctx, args, kwargs, proto, record, state):
    """``apply`` for a Function in PyTorch's form: forward on Tensors, without recording."""
    if cls._separate_setup:
        bound = _bound(cls, args, kwargs)
        if len(bound.args) != len(args):  # keywords or defaults took positional places: those
            return cls.apply(*bound.args, **bound.kwargs)  # are inputs (needs_input_grad)
        _no_tensor_keywords(cls, bound.kwargs)
        with _modes.no_grad():
            result = cls.forward(*args, **bound.kwargs)
            cls.setup_context(ctx, args, result)
    else:
        if kwargs:  # keywords that name forward's parameters take their places (a tensor so
            # passed is an input, with a gradient), as PyTorch binds them; defaults stay out
            bound = _bound(cls, (ctx, *args), kwargs, defaults=False)
            if len(bound.args) != len(args) + 1:
                return cls.apply(*bound.args[1:], **bound.kwargs)
            _no_tensor_keywords(cls, kwargs)
        with _modes.no_grad():
            result = cls.forward(ctx, *args, **kwargs)
    single = not isinstance(result, tuple)
    results = (result,) if single else result
    if proto is None:
        proto = next((r for r in results if isinstance(r, TensorBase)), None)
        if proto is None:
            return result  # no tensors in or out: nothing to record
    skip = set(ctx.__dict__.get("non_differentiable", ()))
    dirty = _check_dirty(cls, ctx, args, results, record)
    if dirty and state.anomaly:  # (before the tensors are rebased: a refused op changes none)
        _check_finite_output(cls, dirty, args)
    # each output keeps its place among forward's results, non-tensors included: backward gets
    # one gradient per result, None for a number or a string, as in PyTorch
    outputs, made, places = [], [], [None] * len(results)
    for pos, r in enumerate(results):
        if isinstance(r, np.ndarray):
            r = new_tensor(type(proto), r, None)
        if not isinstance(r, TensorBase):
            outputs.append(r)  # a number or None passes through, as in PyTorch
            continue
        keep = record and id(r) not in skip and r._data.dtype.kind == "f"
        if dirty and any(r is d for d in dirty):
            out = _rebase(ctx, r, pos, keep, record)
        else:
            out = new_tensor(type(proto), r._data, ctx if keep else None, pos,
                             _alias_stamp(r._data, args))
        # what forward saved of this output now stands for the recorded output
        ctx.saved_tensors = tuple(_Output(pos, r._data) if s is r else s
                                  for s in ctx.saved_tensors)
        outputs.append(out)
        made.append(out)
        places[pos] = out
    ctx.n_outputs = len(results)
    if record:
        ctx.seq = next(_sequence)
        ctx.stamp = _last_write
        if dirty:
            _views_edited(ctx, dirty)
        ctx.frame = state.frame
        ctx.outputs = tuple(None if o is None else weakref.ref(o) for o in places)
        # shapes and dtypes: the zero gradient of an output the caller dropped (None: not a
        # tensor, its gradient stays None)
        ctx.output_meta = tuple(None if o is None else (o._data.shape, o._data.dtype)
                                for o in places)
        if state.anomaly:
            _anomaly_record(ctx, made)
    elif state.anomaly:
        _check_finite_output(cls, made, args)
    if _tracer is not None:
        _tracer.on_apply(cls, ctx, args, kwargs, None)
    return outputs[0] if single else tuple(outputs)


def once_differentiable(backward):
    """Decorate a Function's ``backward`` that cannot itself be differentiated (it leaves the
    Tensors for NumPy, say), as PyTorch's: it runs without recording, and if a create_graph
    backward goes through it, differentiating its gradients again raises ``GraphError``
    instead of treating them as constants (a silently wrong second derivative)."""

    @functools.wraps(backward)
    def wrapper(ctx, *grad_outputs):
        with _modes.no_grad():
            result = backward(ctx, *grad_outputs)
        if not _state.grad_enabled or not any(isinstance(g, TensorBase) for g in grad_outputs):
            return result  # a first-order backward (an array_mode one gets arrays)
        deps = [t for t in (*grad_outputs, *ctx.saved_tensors, *ctx.parents)
                if isinstance(t, TensorBase) and t._requires_grad]
        if not deps:
            return result
        single = type(result) is not tuple
        tied = tuple(g if g is None else _OnceDifferentiated.apply(
            g if isinstance(g, TensorBase) else new_tensor(type(deps[0]), np.asarray(g), None),
            *deps, op=op_name(ctx.fn)) for g in ((result,) if single else result))
        return tied[0] if single else tied

    return wrapper


class _OnceDifferentiated(Function):
    """``value``, whose gradient refuses: it came from a backward marked @once_differentiable"""

    array_mode = True

    @staticmethod
    def forward(ctx, value, *deps, op):
        ctx.origin = op
        return value

    @staticmethod
    def backward(ctx, g):
        raise GraphError(
            f"backward: a gradient computed by the backward of {ctx.origin}, which is marked "
            "@once_differentiable, is being differentiated again; that backward is not "
            "recorded, so its derivative is unknown. Write it with Tensor operations (without "
            "@once_differentiable) to get higher-order gradients")


def _bound(cls, args, kwargs, defaults: bool = True):
    """forward's arguments bound to its parameters, as PyTorch binds them: keywords take their
    positional places, and for the setup_context form (``defaults``) the defaults too, so that
    ``inputs`` holds every parameter in its place."""
    sig = cls.__dict__.get("_forward_signature")
    if sig is None:
        sig = inspect.signature(cls.forward)
        cls._forward_signature = sig  # (per class: a subclass's forward has its own)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise ArgumentError(f"{op_name(cls)}.apply: {e}") from None
    if defaults:
        bound.apply_defaults()
    return bound


def _no_tensor_keywords(cls, kwargs) -> None:
    """A tensor that requires grad left as a keyword (keyword-only, or after a parameter given
    no value) is not an input: its gradient would be lost without a word."""
    for name, value in kwargs.items():
        if isinstance(value, TensorBase) and value._requires_grad:
            raise ArgumentError(
                f"{op_name(cls)}.apply: the tensor passed as {name}= requires grad but does not "
                "take a positional place of forward (a keyword-only parameter, or one after a "
                "parameter given no value), so it would get no gradient; pass it, and the "
                "arguments before it, by position")


def _check_dirty(cls, ctx, args, results, record) -> list | None:
    """The inputs forward marked dirty (changed in place), checked, and their writes noted (a
    raw NumPy write in forward bypasses the clock): the ops that saved them see the change."""
    dirty = ctx.__dict__.pop("dirty", None)  # (kept, the list would tie ctx to its outputs)
    if not dirty:
        return None
    name = op_name(cls)
    for d in dirty:
        if not any(d is a for a in args):
            raise ArgumentError(f"{name}: mark_dirty() was given a tensor that is not an input "
                                "of forward; mark only the inputs forward changed in place")
        if not any(d is r for r in results):
            raise ArgumentError(f"{name}: an input marked dirty (changed in place) must also be "
                                "returned by forward, as in PyTorch (return x after x.add_(1))")
        family = d._stamp
        if record and (d._ctx is None and d._requires_grad
                       or family is not None and len(family) > 1 and family[2]):
            raise GraphError(
                f"{name}: forward changed in place (mark_dirty) a leaf tensor that requires grad "
                f"(shape {tuple(d._data.shape)}), or a view of one; its gradient would be "
                "lost. Call the op on a clone() of it, or under no_grad()")
    note_writes(dirty)
    return dirty


def _rebase(ctx, r, index: int, keep: bool, record: bool):
    """A dirty input returned as output ``index``: the tensor object now stands for the op's
    result; a stand-in keeps its old place in the graph, for this op's input and for the ops
    that used it before (as ``tensor._in_place`` does for the library's in-place ops)."""
    if not record or (not keep and r._ctx is None and not r._requires_grad):
        return r  # (a buffer or a counter edited in place: it stays the plain tensor it was)
    old = new_tensor(type(r), r._data, r._ctx, r._index, shared_stamp(r))
    old._requires_grad = r._requires_grad
    old._hooks, r._hooks = r._hooks, None  # hooks stay with the old value, as PyTorch's
    ctx.inputs = tuple(old if a is r else a for a in ctx.inputs)
    ctx.replaced = {**(ctx.replaced or {}), index: old}
    # (also marked non-differentiable, it had a graph: its new values are a constant, while
    # the ops that used the old ones still reach the old node through this record)
    r._ctx, r._index, r._requires_grad = ctx, index, keep
    return r


def _views_edited(ctx, dirty) -> None:
    global _rebased, _view_edits
    _rebased = True
    for d in dirty:
        family = d._stamp
        if len(family) > 1:  # views share this memory: their graphs describe the old values
            family[1] = ctx.stamp
            _view_edits = True


# --- anomaly mode ------------------------------------------------------------------------------


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def user_frame() -> str:
    """The innermost stack frame outside tinygrad_np (subpackages included, so an op made in a
    layer's forward points at the line that called the layer): where the user created an op."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "<unknown>"


def nonfinite(a) -> str:
    """'2 NaN and 1 Inf': what is not finite in array ``a``."""
    n_nan, n_inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
    return " and ".join(s for s in (f"{n_nan} NaN" if n_nan else "",
                                    f"{n_inf} Inf" if n_inf else "") if s)


def shapes(values) -> str:
    return ", ".join(str(tuple(v.shape)) for v in values if hasattr(v, "shape"))


def _check_finite_output(cls, outputs, args, trace=None) -> None:
    for out in outputs:
        data = out._data
        if data.dtype.kind == "f" and not np.isfinite(data).all():
            raise AnomalyError(
                f"detect_anomaly: {op_name(cls)} produced {nonfinite(data)} in its output of "
                f"shape {tuple(data.shape)} from inputs {shapes(a for a in args)}; created at "
                f"{trace or user_frame()}"
            )


def _checksum(a) -> int | None:
    return zlib.crc32(np.ascontiguousarray(a).view(np.uint8)) if isinstance(a, np.ndarray) \
        else None


def _anomaly_record(ctx: Context, outputs) -> None:
    ctx.trace = user_frame()
    _check_finite_output(ctx.fn, outputs, ctx.inputs, ctx.trace)
    ctx.checksums = tuple(_checksum(_array(s)) for s in ctx.saved_tensors)


def _array(value):
    if isinstance(value, TensorBase):
        return value._data
    return value if isinstance(value, np.ndarray) else None
