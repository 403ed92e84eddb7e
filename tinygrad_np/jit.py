"""``tinygrad_np.jit``: record a training step, then replay it on arrays.

::

    @tinygrad_np.jit
    def step(xb, yb):
        loss = nn.cross_entropy(model(Tensor(xb)), yb)
        opt.zero_grad(); loss.backward(); opt.step()
        return loss

How it works. A call runs eagerly the first two times it sees a signature (the shapes and
dtypes of its array and Tensor arguments, the values of its other arguments, grad mode and the
train/eval flags of the modules it used), while a tracer records what runs: every op
(``Function.apply``), every backward walk of the engine, each gradient written into a
``.grad``, and the calls of ``opt.step()``, ``opt.zero_grad()``, ``model.train()`` and
schedulers' ``step()``. The record is compiled as it is made into a flat list of array kernels
writing into buffers allocated once, and each kernel is run beside the eager op on the same
data and checked against it. The two records must agree: what differs between two calls with
the same signature (a tensor made inside the step from data that changes, a different sequence
of ops) cannot be replayed and raises ``JitError``. From the third call on, the step is
replayed: no Tensor objects, no graph walk, and the real ``opt.step()``, ``opt.zero_grad()`` are
called at their places, so an optimizer's internals and a scheduler's new learning rate work as
in eager mode. The primitives in ``FAST_OPS`` (linear, matmul, the element-wise ops, sum/mean,
log_softmax, cross_entropy with integer labels, views) run as kernels writing into buffers
allocated once, in the eager formulas' order of operations (the same numbers, bit for bit);
every other primitive runs its own array forward and backward, copied into buffers (correct,
but it allocates). Comparisons, ``argmax`` and ``astype`` to integers are replayed too.

What is replayed and what raises:

- Arrays and Tensors passed as arguments are read afresh each call; any other argument (a
  number, a string) is part of the signature, so a new value traces again (never frozen).
  Everything else the step reads is bound at trace time: parameters by reference (updated in
  place by the optimizer; replaced parameters or modules, a changed requires_grad, or a changed
  hyperparameter attribute of a module, trigger a new trace), constants made inside the step by
  value (checked equal on two calls). The Python state it read is checked at every replay
  (``_global_checks``): the globals and closure variables of the step and of the user functions
  it ran, and what they hold through dicts, lists, tuples and plain objects' attributes (a
  config namespace, a dataclass), by identity, numbers and strings by value; a change traces
  again. Modules, optimizers and tensors found there are checked by identity.
- Random draws: ``nn.Dropout``, ``nn.functional.dropout`` and ``tinygrad_np.rand/randn/
  randint`` draw again at each replay from the same generator, so replayed and eager runs give
  the same numbers bit for bit. Other draws inside the step (``get_rng().uniform`` in your own
  code) raise ``JitError``.
- Reading a tensor's value in Python inside the step (``.item()``, ``float(t)``, ``bool(t)``,
  ``if loss > 1``, ``.tolist()``, ``.numpy()``, ``.data``, printing it), writing into a tensor
  in place outside an optimizer's step, tensor or module hooks, ``create_graph=True``,
  ``autograd.grad`` and custom Functions in PyTorch's (tensor) form raise ``JitError`` at trace
  time, naming the line. Return the tensors you need and read them outside.
- The step's own Python statements (prints, appends to lists, counters) run only while tracing.
- Returned Tensors are copies, detached from any graph. After a replay, ``p.grad`` lives in the
  jit's buffers, overwritten by the next replay: copy a gradient you want to keep.
- A label outside the classes (or an ``ignore_index`` label) at a replay runs that call eagerly,
  so errors and ignored labels behave as in eager mode; under ``detect_anomaly()`` every call is
  eager.
"""

from __future__ import annotations

import dis
import functools
import gc
import linecache
import operator
import os
import sys
import sysconfig
import threading
import types
import warnings
from collections import OrderedDict
from itertools import chain

import numpy as np

from . import _kernels, ops
from . import random as _random
from ._modes import _Default
from ._modes import state as _state
from .autograd import engine as _engine
from .autograd import function as _fn
from .autograd.function import Context, TensorBase, new_tensor, note_write, op_name
from .errors import GraphError

__all__ = ["jit", "JitFunction", "JitError"]


class JitError(GraphError):
    """A step that ``tinygrad_np.jit`` cannot replay faithfully (raised while tracing)."""


# === the public decorator =======================================================================


def jit(fn=None, *, cache_size: int = 8):
    """Compile ``fn`` (a training or evaluation step) into a replayable program.

    ``@jit`` or ``@jit(cache_size=8)``: at most ``cache_size`` signatures (argument shapes,
    dtypes and values) are kept, the least recently used dropped first. See the module
    docstring for what is replayed and what raises ``JitError``.
    """
    if fn is None:
        return functools.partial(jit, cache_size=cache_size)
    if isinstance(fn, JitFunction):
        return fn
    return JitFunction(fn, cache_size)


class JitFunction:
    """A jitted step: call it as the function it wraps.

    ``traces`` and ``replays`` count the calls of each kind; ``eager`` counts the calls that ran
    eagerly without recording (nested inside another trace, under ``detect_anomaly()``, or a
    replay that sent a call back to eager mode). ``programs()`` describes the compiled
    signatures.
    """

    def __init__(self, fn, cache_size: int = 8):
        self.fn = fn
        self.cache_size = max(1, int(cache_size))
        self.traces = self.replays = self.eager = 0
        self._entries: OrderedDict = OrderedDict()
        self._modules: list = []  # every module any trace saw: their train/eval flags key calls
        self._module_ids: set = set()
        self._lock = threading.Lock()
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"jit({getattr(self.fn, '__qualname__', self.fn)!r})"

    def __get__(self, obj, objtype=None):  # a jitted method binds like a function
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        if _state.anomaly or _fn._tracer is not None:
            self.eager += 1  # detect_anomaly checks every op eagerly; nested: the outer records
            return self.fn(*args, **kwargs)
        key, arrays = _signature(args, kwargs, self._modules)
        entry = self._entries.get(key)
        if entry is not None:
            program = entry.program
            if program is not None and program.valid():
                self._entries.move_to_end(key)
                result = program.run(arrays)
                if result is not _EAGER:
                    self.replays += 1
                    return result
                self.eager += 1
                return self.fn(*args, **kwargs)
        return self._trace(key, entry, args, kwargs, arrays)

    def _trace(self, key, entry, args, kwargs, arrays):
        if not _TRACE_LOCK.acquire(blocking=False):  # another thread is tracing: run eagerly
            self.eager += 1
            return self.fn(*args, **kwargs)
        try:
            trace = _Trace(self.fn, args, kwargs, arrays)
            result = trace.run()
        finally:
            _TRACE_LOCK.release()
        self.traces += 1
        for m in trace.modules.values():
            if id(m) not in self._module_ids:
                self._module_ids.add(id(m))
                self._modules.append(m)
        key = _signature(args, kwargs, self._modules)[0]  # now with the flags of its modules
        entry = self._entries.get(key)
        first = entry.first if entry is not None and entry.program is None else None
        if first is not None and first.still_valid():
            program = _Program(trace, first)  # raises JitError when the two calls differ
            self._entries[key] = _Entry(None, program)
        else:
            self._entries[key] = _Entry(trace, None)
        self._entries.move_to_end(key)
        while len(self._entries) > self.cache_size:
            self._entries.popitem(last=False)
        return result

    def programs(self) -> list[dict]:
        """For each compiled signature: its instructions and the ops that run through the slow
        path (the ops' own array forward/backward, copied into buffers)."""
        return [entry.program.describe() for entry in self._entries.values()
                if entry.program is not None]


class _Entry:
    __slots__ = ("first", "program")

    def __init__(self, first, program):
        self.first, self.program = first, program


_TRACE_LOCK = threading.Lock()
_EAGER = object()  # what a replay returns when this call must run eagerly


# === the signature of a call ====================================================================

_SCALARS = (int, float, bool, str, bytes, complex, type(None))


def _signature(args, kwargs, modules):
    """The cache key of a call and its array arguments, in order (the program's inputs)."""
    arrays: list = []
    parts = [_state.grad_enabled, _kernels.ENABLED, _Default.float]
    for a in args:
        if type(a) is np.ndarray:  # the common case, inline (this runs at every call)
            arrays.append(a)
            parts.append(a.shape)
            parts.append(a.dtype)
        else:
            parts.append(_part(a, arrays))
    if kwargs:
        for k in sorted(kwargs):
            parts.append((k, _part(kwargs[k], arrays)))
    if len(arrays) > 1 and len(set(map(id, arrays))) < len(arrays):
        ids = [id(a) for a in arrays]  # the same array twice is another program than two
        parts.append(("aliases", tuple(ids.index(i) for i in ids)))
    if modules:
        parts.append(tuple(map(_TRAINING, modules)))
    return tuple(parts), arrays


_TRAINING = operator.attrgetter("training")
_DATA = operator.attrgetter("_data")
_REQUIRES_GRAD = operator.attrgetter("_requires_grad")
_HOOKS = operator.attrgetter("_hooks")
_MODULE_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def _part(a, arrays):
    t = type(a)
    if t is np.ndarray:
        arrays.append(a)
        return (a.shape, a.dtype)
    if isinstance(a, TensorBase):
        arrays.append(a._data)
        return ("T", a._data.shape, a._data.dtype, a._requires_grad)
    if t in _SCALARS:
        return (t, a)
    if t is tuple or t is list:
        return (t, tuple(_part(x, arrays) for x in a))
    if t is dict:
        return (t, tuple((k, _part(a[k], arrays)) for k in sorted(a)))
    if isinstance(a, np.generic):
        return (t, a.item())
    return ("object", id(a))  # a module, an optimizer...: by identity (the trace holds it)


def _arrays_and_tensors(value, out: list) -> None:
    """The array arguments in ``_signature``'s order, with the Tensor each came from (or None)."""
    t = type(value)
    if t is np.ndarray:
        out.append((value, None))
    elif isinstance(value, TensorBase):
        out.append((value._data, value))
    elif t is tuple or t is list:
        for x in value:
            _arrays_and_tensors(x, out)
    elif t is dict:
        for k in sorted(value):
            _arrays_and_tensors(value[k], out)


# === slots: the arrays of a program =============================================================


class _Slot:
    """One array of the program. ``dynamic`` slots (the call's arrays, views of them, a
    ``.grad`` read inside the step) change at every replay: the kernels that read them are
    patched through ``sites``; every other slot holds one array for the program's life."""

    __slots__ = ("array", "kind", "tag", "dynamic", "sites", "owned", "origin")

    def __init__(self, array, kind, tag, dynamic=False, owned=False):
        self.array, self.kind, self.tag = array, kind, tag
        self.dynamic, self.owned = dynamic, owned
        self.sites = [] if dynamic else None
        self.origin = None  # for a cast of an argument: the argument's slot


class _Ref:
    """A slot inside an argument template of the slow path (resolved at each call)."""

    __slots__ = ("slot",)

    def __init__(self, slot):
        self.slot = slot


class _TRef(_Ref):
    """A slot given to a function that wants a Tensor (a comparison's operand)."""

    __slots__ = ()


def _fill(v):
    t = type(v)
    if t is _Ref:
        return v.slot.array
    if t is _TRef:
        from .tensor import Tensor

        return new_tensor(Tensor, v.slot.array, None)
    if t is tuple or t is list:
        return t(_fill(x) for x in v)
    if t is _TargetsTmpl:
        return v.build()
    return v


class _TargetsTmpl:
    """The targets of a cross-entropy or NLL loss, rebuilt from the current labels at each call
    (``ops._targets`` checks them again, as the eager call does)."""

    __slots__ = ("op", "z", "target", "weight", "ignore_index", "smoothing", "source")

    def build(self):
        from .tensor import Tensor

        z = new_tensor(Tensor, self.z.slot.array, None)
        return ops._targets(self.op, z, self.target.slot.array, self.weight, self.ignore_index,
                            self.smoothing)


class _Obj:
    """An object compared by identity between the two traces (an optimizer, a module)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj


def _same(a, b) -> bool:
    """Equality of two record descriptors (identity for _Obj, NaN equal to NaN)."""
    ta = type(a)
    if ta is not type(b):
        return False
    if ta is tuple or ta is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if ta is _Obj:
        return a.obj is b.obj
    if ta is float:
        return a == b or (a != a and b != b)
    if ta is np.ndarray:
        return a.shape == b.shape and a.dtype == b.dtype and bool(
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an object without a usable ==: different
        return False


# === where the user's code is ===================================================================

_USER_CODE: dict = {}


def _is_user(code) -> bool:
    known = _USER_CODE.get(code)
    if known is None:
        known = _USER_CODE[code] = not os.path.abspath(code.co_filename).startswith(
            _fn._PACKAGE_DIR)
    return known


def _user_line(frame=None) -> str:
    """The innermost line of user code on the stack (from ``frame`` outwards)."""
    f = frame if frame is not None else sys._getframe(1)
    while f is not None:
        if _is_user(f.f_code):
            line = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
            return f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}: {line}"
        f = f.f_back
    return "<unknown line>"


# === the tracer =================================================================================


class _Node:
    """One recorded op: what its backward needs."""

    __slots__ = ("cls", "needs", "ins", "kwargs", "targs", "tkwargs", "out", "where", "bw",
                 "holder", "y", "extra", "index", "fast")

    def __init__(self, cls, needs, where, index):
        self.cls, self.needs, self.where, self.index = cls, needs, where, index
        self.bw = self.holder = self.y = self.extra = None
        self.fast = True


class _Unsupported(Exception):
    """Raised inside the tracer: the step cannot be replayed (becomes a JitError)."""


class _Trace:
    """Runs the step once, eagerly, while compiling what it does into a program."""

    def __init__(self, fn, args, kwargs, arrays):
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.thread = threading.get_ident()
        self.instrs: list = []
        self.guards: list = []
        self.binds: list = []  # (slot, index into the call's arrays)
        self.derived: list = []  # (slot, parent slot, op class, kwargs): views of arguments
        self.by_tensor: dict = {}
        self.by_array: dict = {}
        self.keep: list = []  # what the maps key by id: alive until the trace is done
        self.exts: list = []  # (tensor or None, array, where) for each outside array, in order
        self.events: list = []  # descriptors, compared with the other trace's
        self.wheres: dict = {}  # event index -> the user's line
        self.problems: list = []
        self.dead = False
        self.suspended = 0
        self.modules: dict = {}  # id -> module, first seen order
        self.snapshots: dict = {}
        self.nodes: dict = {}  # id(ctx) -> _Node
        self.all_nodes: list = []
        self.n_nodes = 0
        self.counts: dict = {}
        self.open: dict = {}  # frame of an intercepted call -> its return handler
        self.masks: list = []  # expected dropout masks of the dropout calls now running
        self.draws: list = []  # (generator getter, kind, shape/params) in draw order
        self.loss_ignore = -100
        self.grad_owner: dict = {}  # id(.grad Tensor) -> its leaf, after a backward
        self.const_frames: dict = {}
        self.in_backward = False
        self.owned: dict = {}  # id -> array: the buffers the program alone writes
        self.pending: list = []  # (leaf, expected .grad) to check after the eager backward
        self.mismatches: list = []
        self.inexact = 0
        self.out = None
        self.adopted: set = set()
        self.codes: dict = {}  # code -> (its globals, its functions): user code the step ran
        self.capture_rng = _random.get_rng()
        self.rng_start = _rng_state(self.capture_rng)
        flat: list = []
        for a in args:
            _arrays_and_tensors(a, flat)
        for k in sorted(kwargs):
            _arrays_and_tensors(kwargs[k], flat)
        for i, (arr, tensor) in enumerate(flat):
            known = self.by_array.get(id(arr))
            slot = known or _Slot(arr, "arg", ("a", i), dynamic=True)
            if known is None:
                self.binds.append((slot, i))
                self.by_array[id(arr)] = slot
            if tensor is not None:
                if tensor._requires_grad:
                    self.problem("a Tensor argument that requires grad (gradients into "
                                 "arguments are not replayed); pass its array, or call the "
                                 "step without jit")
                self.by_tensor[id(tensor)] = slot
                self.keep.append(tensor)
            self.keep.append(arr)

    # --- bookkeeping -------------------------------------------------------------------------

    def tag(self, kind: str) -> tuple:
        n = self.counts.get(kind, 0)
        self.counts[kind] = n + 1
        return (kind, n)

    def buffer(self, like, kind="b") -> _Slot:
        """A buffer of ``like``'s shape and dtype, written by the program at every call."""
        like = np.asarray(like)
        slot = _Slot(np.empty(like.shape, like.dtype), kind, self.tag(kind), owned=True)
        if kind == "b":
            self.owned[id(slot.array)] = slot.array
        return slot

    def const(self, value) -> _Slot:
        return _Slot(np.array(value, copy=True), "const", self.tag("k"))

    def emit(self, fn, *args, run: bool = True):
        """Append an instruction; run it now too (on the trace's own data) unless ``run`` is
        False (calls whose effect the eager step has already had)."""
        lst = list(args)
        for i, a in enumerate(lst):
            if type(a) is _Slot:
                if a.dynamic:
                    a.sites.append((lst, i))
                lst[i] = a.array
        self.instrs.append((fn, lst))
        if run:
            fn(*lst)
        return lst

    def guard(self, fn, *args):
        lst = list(args)
        for i, a in enumerate(lst):
            if type(a) is _Slot:
                if a.dynamic:
                    a.sites.append((lst, i))
                lst[i] = a.array
        self.guards.append((fn, lst))

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def fail(self, message: str) -> None:
        """Stop recording: the step cannot be replayed (reported when it returns)."""
        self.problem(message)
        self.dead = True

    def still_valid(self) -> bool:
        """Whether the modules this trace saw are as they were, and the tensors it read still
        require grad as they did (else it is not compared: a frozen layer traces afresh)."""
        return (all(_snapshot(m) == self.snapshots[id(m)] for m in self.modules.values())
                and all(t._requires_grad == rg for t, rg in self.ext_flags))

    def active(self) -> bool:
        return not self.dead and not self.suspended and threading.get_ident() == self.thread

    # --- running the step --------------------------------------------------------------------

    def run(self):
        self.watch = _watch_table()
        previous = sys.getprofile()
        _fn._tracer = self
        sys.setprofile(self._profile)
        try:
            result = self.fn(*self.args, **self.kwargs)
        finally:
            sys.setprofile(previous)
            _fn._tracer = None
        self.finish(result)
        return result

    def finish(self, result) -> None:
        if not self.dead:
            try:
                self.out = self.template_out(result)
            except _Unsupported as e:
                self.fail(str(e))
        for m in self.modules.values():
            if _snapshot(m) != self.snapshots[id(m)]:
                changed = _changed_attribute(self.snapshots[id(m)], _snapshot(m))
                self.problem(f"the step sets {type(m).__name__}.{changed} (module attributes "
                             "set inside the step are not replayed; set them outside)")
        self.check_rng()
        self.ext_flags = [(t, t._requires_grad) for t, _, _ in self.exts if t is not None]
        if self.mismatches:
            warnings.warn("tinygrad_np.jit: " + "; ".join(self.mismatches[:3]), RuntimeWarning,
                          stacklevel=3)
            self.problem("the compiled program does not reproduce the eager step (a bug in "
                         "tinygrad_np.jit): " + "; ".join(self.mismatches[:3]))
        if self.problems:
            unique = list(dict.fromkeys(self.problems))
            more = f" (and {len(unique) - 5} more)" if len(unique) > 5 else ""
            raise JitError("jit: this step cannot be replayed: " + "; ".join(unique[:5]) + more
                           + ". The call itself ran eagerly to its end.")
        self.events.append(("out", self.desc(self.out)))

    def check_rng(self) -> None:
        """The generator must have advanced exactly by the draws the program will make again."""
        rng = self.capture_rng
        if rng is not _random.get_rng() or self.rng_start is None:
            return
        replica = _rng_replica(rng, self.rng_start)
        for owner, kind, params in self.draws:
            if owner is rng:
                _draw_like(replica, kind, params)
        if replica.bit_generator.state != rng.bit_generator.state:
            self.problem("the step draws random numbers from tinygrad_np's generator that the "
                         "jit cannot draw again (get_rng().uniform/random/... in your own code); "
                         "use nn.Dropout, nn.functional.dropout or tinygrad_np.rand/randn/"
                         "randint, or draw outside the step and pass the array as an argument")

    # --- the profiler: calls the step makes that are not ops ---------------------------------

    def _profile(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            if code not in self.codes and not self.suspended and _is_state_code(code):
                self.codes[code] = (frame.f_globals, self.functions_of(code, frame))
            handler = self.watch.get(code)
            if handler is not None and threading.get_ident() == self.thread and not self.dead:
                try:
                    handler(self, frame)
                except _Unsupported as e:
                    self.fail(str(e))
        elif event == "return" and self.open:
            done = self.open.pop(frame, None)
            if done is not None:
                done(self, frame, arg)

    def functions_of(self, code, frame) -> list:
        """The function objects running ``code`` with the closure cells this frame sees (their
        cells are what ``_global_checks`` reads again at each replay)."""
        if not code.co_freevars:
            return []
        if getattr(self.fn, "__code__", None) is code:
            return [self.fn]
        values = [frame.f_locals.get(n, _EAGER) for n in code.co_freevars]
        found = []
        for f in gc.get_referrers(code):  # a nested function: only at trace time, once per code
            if type(f) is types.FunctionType and f.__code__ is code and f.__closure__ and all(
                    _cell_value(c) is v for c, v in zip(f.__closure__, values)):
                found.append(f)
        if not found:
            self.problem(f"the step calls {code.co_name} ({code.co_filename}:"
                         f"{code.co_firstlineno}), a nested function whose closure variables "
                         "the jit cannot find to check at each call; define it at module level "
                         "or pass the values it reads as arguments")
        return found

    def on_call(self, frame) -> None:
        """opt.step(), opt.zero_grad(), model.train(), scheduler.step(): replayed as calls."""
        if self.suspended:
            return
        obj, name, args, kwargs = _call_of(frame)
        self.emit(_k_call, obj, name, args, kwargs, run=False)
        self.events.append(("call", _Obj(obj), name, self.desc(args), self.desc(kwargs)))
        self.suspended += 1
        self.open[frame] = _Trace.end_call

    def end_call(self, frame, value) -> None:
        self.suspended -= 1

    def on_read(self, frame) -> None:
        if self.suspended or not _is_user(frame.f_back.f_code):
            return
        what = {"__bool__": "bool(tensor) (an if/while on a tensor)", "__float__": "float(tensor)",
                "__int__": "int(tensor)", "__index__": "a tensor used as a Python index",
                "__format__": "formatting a tensor's value", "__repr__": "printing a tensor",
                "__array__": "np.asarray(tensor)", "__contains__": "`in` on a tensor",
                "data": "tensor.data"}.get(frame.f_code.co_name, f".{frame.f_code.co_name}()")
        self.problem(f"{what} at {_user_line(frame.f_back)} reads a tensor's value in Python "
                     "inside the step, and a replay runs no Python: return the tensor from the "
                     "step and read it outside (loss = step(x, y); loss.item())")

    def on_set_grad(self, frame) -> None:
        if self.suspended or not _is_user(frame.f_back.f_code):
            return
        t, value = frame.f_locals["self"], frame.f_locals["value"]
        if value is not None:
            self.problem(f"assigning a gradient (t.grad = ...) at {_user_line(frame.f_back)} is "
                         "not replayed")
            return
        self.emit(_k_clear_grad, t, run=False)
        self.events.append(("cleargrad", _Obj(t)))

    def on_dropout(self, frame) -> None:
        """nn.Dropout.forward / nn.functional.dropout: work out the mask it is about to draw."""
        if self.suspended:
            return
        loc = frame.f_locals  # F.dropout(input, p, training, inplace, *, rng): nn.Dropout calls it
        owner, x, p, training, rng_arg = None, loc["input"], loc["p"], loc["training"], loc["rng"]
        if not training or p == 0.0 or not isinstance(x, TensorBase) or not 0.0 <= p <= 1.0:
            return
        rng = _random.get_rng(rng_arg)
        scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
        replica = _rng_replica(rng, _rng_state(rng))
        keep = replica.random(x._data.shape) >= p
        expected = keep * np.asarray(scale, dtype=x._data.dtype)
        self.masks.append((frame, expected, (owner, rng_arg, rng, p, scale)))
        self.open[frame] = _Trace.end_dropout

    def end_dropout(self, frame, value) -> None:
        self.masks = [m for m in self.masks if m[0] is not frame]

    def on_rand(self, frame) -> None:
        if self.suspended:
            return
        loc = dict(frame.f_locals)
        self.open[frame] = _Trace.end_rand
        self.open_rand = (frame.f_code.co_name, loc)

    def end_rand(self, frame, value) -> None:
        kind, loc = self.open_rand
        if not isinstance(value, TensorBase):
            return
        arr = value._data
        gen = loc.get("generator")
        if kind == "randint":
            low, high = loc["low"], loc["high"]
            if high is None:
                low, high = 0, low
            params = ("randint", low, high, loc["size"], arr.dtype)
        else:
            params = (kind, arr.shape, arr.dtype)
        out = self.buffer(arr, "r")
        np.copyto(out.array, arr)
        scratch = np.empty(arr.shape, np.float64) if kind != "randint" else None
        self.emit(_k_draw, gen, params, scratch, out, run=False)
        self.draws.append((_random.get_rng(gen), kind, params))
        self.events.append(("draw", params, _Obj(gen)))
        self.by_array[id(arr)] = out
        self.by_tensor[id(value)] = out
        self.keep += [arr, value]

    def on_const(self, frame) -> None:
        """A value-producing op that is not a Function (comparisons, argmax, astype to ints):
        recorded when it returns a tensor no op made."""
        if self.suspended:
            return
        self.open[frame] = _Trace.end_const
        self.const_frames[frame] = _args_of(frame)

    def end_const(self, frame, value) -> None:
        args, kwargs = self.const_frames.pop(frame)
        if self.dead or not isinstance(value, TensorBase) or id(value) in self.by_tensor:
            return
        try:
            self.compile_const(frame.f_code, args, kwargs, value)
        except _Unsupported as e:
            self.fail(str(e))

    def compile_const(self, code, args, kwargs, value) -> None:
        fn, ufunc = _CONST_OPS[code]
        where = _user_line()
        targs = [self.ttmpl(a, where) for a in args]
        tkwargs = {k: self.ttmpl(v, where) for k, v in kwargs.items()}
        out = self.buffer(value._data)
        operands = [a.slot if type(a) is _TRef else a for a in targs]
        if ufunc is not None and len(operands) == ufunc.nin and all(
                type(a) is _Slot or type(a) in (int, float, bool) for a in operands):
            self.emit(_k_binary if ufunc.nin == 2 else _k_unary, ufunc, *operands, out)
        else:
            self.emit(_k_const_op, fn, targs, tkwargs, out)
        self.check(out.array, value._data, f"{fn.__name__} at {where}")
        self.by_tensor[id(value)] = out
        self.by_array[id(value._data)] = out
        self.keep += [value, value._data]
        out.tag = self.tag("n")
        self.wheres[len(self.events)] = where
        self.events.append(("const", fn.__name__, self.desc(targs), self.desc(tkwargs)))

    def ttmpl(self, v, where):
        if isinstance(v, TensorBase):
            return _TRef(self.source(v, where))
        if type(v) is np.ndarray:
            return _Ref(self.source(v, where))
        if type(v) is tuple or type(v) is list:
            return type(v)(self.ttmpl(x, where) for x in v)
        return v

    def on_loss(self, frame) -> None:
        self.loss_ignore = frame.f_locals.get("ignore_index", -100)

    # --- the hooks of Function.apply, note_write and run_backward ----------------------------

    def on_write(self, tensors) -> None:
        if not self.active() or self.in_backward:  # the engine adding into a .grad: replayed
            return
        owner = _owner_of(tensors, _state.frame)
        if owner is not None and owner[1].startswith(("running_", "num_batches")):
            self.problem(f"{type(owner[0]).__name__}.{owner[1]} is updated in place at "
                         f"{_user_line()}: a BatchNorm in train mode updates its running "
                         "statistics at every call, which a replay cannot repeat. Jit the "
                         "evaluation step (in eval() mode BatchNorm writes nothing), build the "
                         "layer with track_running_stats=False, or train without jit")
            return
        what = f"{type(owner[0]).__name__}.{owner[1]}" if owner is not None else "a tensor"
        self.problem(f"an in-place write into {what} at {_user_line()} (in-place ops, "
                     "t.data[...] = v, load_state_dict): only optimizers' step() may change "
                     "tensors inside a jitted step; write it as y = f(x) instead")

    def on_hooked_call(self, module) -> None:
        """A module with hooks was called (one that runs no op is seen only here)."""
        if self.active():
            from .nn.module import CallFrame

            self.note_modules(CallFrame(module, None))

    def on_apply(self, cls, ctx, args, kwargs, out) -> None:
        if not self.active():
            return
        try:
            self.record(cls, ctx, args, kwargs, out)
        except _Unsupported as e:
            self.fail(str(e))

    def record(self, cls, ctx, args, kwargs, out) -> None:
        where = _user_line()
        if not cls.array_mode:
            raise _Unsupported(f"{cls.__name__} at {where} is a custom Function in PyTorch's "
                               "(tensor) form, which the jit cannot replay; define it with "
                               "array_mode = True (forward and backward on arrays)")
        self.note_modules(ctx.frame if ctx.frame is not None else _state.frame)
        node = _Node(cls, ctx.needs_input_grad, where, self.n_nodes)
        self.n_nodes += 1
        self.all_nodes.append(node)
        node.targs = [self.tmpl(a, where) for a in args]
        if cls is ops.CrossEntropy or cls is ops.NllLoss:
            t = node.targs[1]
            t.z = node.targs[0]
            t.op = "cross_entropy" if cls is ops.CrossEntropy else "nll_loss"
            t.ignore_index, self.loss_ignore = self.loss_ignore, -100
        node.tkwargs = {k: self.tmpl(v, where) for k, v in kwargs.items()}
        node.ins = [a.slot if type(a) is _Ref else a for a in node.targs]
        node.kwargs = kwargs
        node.out = out._data
        slot = None
        handler = _FORWARD.get(cls) if _kernels.ENABLED else None
        if handler is not None:
            slot = handler(self, node)
        if slot is None:
            node.fast = False
            slot = _fw_generic(self, node)
        slot.tag = ("n", node.index) if slot.tag[0] in "bv" else slot.tag
        self.check(slot.array, node.out, f"{op_name(cls)} at {where}")
        self.by_tensor[id(out)] = slot
        if id(node.out) not in self.by_array:
            self.by_array[id(node.out)] = slot
        self.keep += [out, node.out]
        if out._ctx is not None:
            self.nodes[id(out._ctx)] = node
            self.keep.append(out._ctx)
        self.wheres[len(self.events)] = where
        self.events.append(("op", cls, self.desc(node.targs), self.desc(node.tkwargs),
                            tuple(node.needs), out._ctx is not None))

    def check(self, mine, eager, what: str) -> None:
        """The program's value must be the eager one (bit for bit, or to float rounding)."""
        mine, eager = np.asarray(mine), np.asarray(eager)
        if mine.shape != eager.shape or mine.dtype != eager.dtype:
            self.mismatches.append(f"{what}: shape/dtype {mine.shape} {mine.dtype} vs "
                                   f"{eager.shape} {eager.dtype}")
            return
        if np.array_equal(mine, eager, equal_nan=mine.dtype.kind in "fc"):
            return
        if mine.dtype.kind in "fc":
            tol = 1e-4 if mine.dtype.itemsize <= 4 else 1e-10
            scale = float(np.max(np.abs(eager), initial=0.0)) if eager.size else 0.0
            if np.allclose(mine, eager, rtol=tol, atol=tol * max(scale, 1e-30), equal_nan=True):
                self.inexact += 1
                return
        self.mismatches.append(f"{what} differs from the eager result")

    def tmpl(self, v, where):
        if isinstance(v, TensorBase) or type(v) is np.ndarray:
            return _Ref(self.source(v, where))
        t = type(v)
        if t is tuple or t is list:
            return t(self.tmpl(x, where) for x in v)
        if t is ops._Targets:
            return self.targets_tmpl(v, where)
        return v

    def targets_tmpl(self, t, where):
        tm = _TargetsTmpl()
        tm.op = "cross_entropy"
        tm.z = None
        arr = t.labels if t.labels is not None else t.probs
        tm.target = _Ref(self.source(arr, where))
        tm.weight = t.weight
        tm.smoothing = t.eps
        tm.source = t
        return tm

    def desc(self, v):
        """A value as the other trace must reproduce it (slots by their tags)."""
        t = type(v)
        if t is _Ref or t is _TRef:
            return v.slot.tag
        if t is _Slot:
            return v.tag
        if t is tuple or t is list:
            return tuple(self.desc(x) for x in v)
        if t is dict:
            return tuple((k, self.desc(v[k])) for k in sorted(v))
        if t is _TargetsTmpl:
            return ("targets", v.target.slot.tag, None if v.weight is None else v.weight,
                    v.ignore_index, v.smoothing)
        if t in _SCALARS or isinstance(v, (np.generic, np.dtype, slice)) or v is Ellipsis:
            return v
        if isinstance(v, tuple):  # a namedtuple (a convolution's geometry)
            return tuple(v)
        if t is _OutTensor:
            return ("tensor", v.slot.tag)
        return _Obj(v)

    def source(self, v, where) -> _Slot:
        """The slot an op input comes from (found, or created on first sight)."""
        tensor = v if isinstance(v, TensorBase) else None
        if tensor is not None:
            slot = self.by_tensor.get(id(v))
            if slot is not None:
                return slot
            arr = v._data
        else:
            arr = v
        slot = self.by_array.get(id(arr))
        if slot is None:
            slot = self.new_source(tensor, arr, where)
            self.by_array[id(arr)] = slot
            self.keep.append(arr)
        if tensor is not None:
            self.by_tensor[id(tensor)] = slot
            self.keep.append(tensor)
        return slot

    def new_source(self, tensor, arr, where) -> _Slot:
        if tensor is not None and id(tensor) in self.grad_owner:  # p.grad read in the step
            leaf = self.grad_owner[id(tensor)]
            slot = _Slot(arr, "grad", self.tag("g"), dynamic=True)
            self.emit(_k_bind_grad, [slot], leaf, run=False)
            self.events.append(("readgrad", _Obj(leaf)))
            return slot
        for _, expected, info in self.masks:  # the mask a dropout call just drew
            if (arr.shape == expected.shape and arr.dtype == expected.dtype
                    and np.array_equal(arr, expected)):
                return self.dropout_slot(arr, info)
        base = arr.base
        while base is not None and id(base) not in self.by_array and base.base is not None:
            base = base.base
        parent = self.by_array.get(id(base)) if base is not None else None
        if (parent is not None and parent.kind == "arg" and arr.flags.c_contiguous
                and base.flags.c_contiguous and arr.size == base.size
                and arr.ctypes.data == base.ctypes.data):  # a reshaped argument
            slot = _Slot(arr, "view", self.tag("v"), dynamic=True)
            self.derived.append((slot, parent, ops.Reshape, {"shape": arr.shape}))
            return slot
        for bslot, _ in self.binds:  # an argument converted to another dtype
            a = bslot.array
            if (a.shape == arr.shape and a.dtype != arr.dtype and a.size
                    and np.array_equal(arr, a.astype(arr.dtype))):
                slot = self.buffer(arr, "c")
                slot.origin = bslot
                self.emit(_k_copy, slot, bslot)
                return slot
        if tensor is not None and tensor._ctx is not None and tensor._requires_grad:
            pass  # a tensor computed before the step: backward into it is refused later
        slot = _Slot(arr, "ext", self.tag("e"))
        self.exts.append((tensor, arr, where))
        return slot

    def dropout_slot(self, arr, info) -> _Slot:
        owner, rng_arg, rng, p, scale = info
        out = self.buffer(arr, "r")
        np.copyto(out.array, arr)
        u = np.empty(arr.shape, np.float64)
        keep = np.empty(arr.shape, np.bool_)
        self.emit(_k_dropout, owner, rng_arg, p, np.asarray(scale, dtype=arr.dtype), u, keep,
                  out, run=False)
        self.draws.append((rng, "random", (arr.shape,)))
        self.events.append(("dropout", _Obj(owner), _Obj(rng_arg), p, arr.shape, arr.dtype))
        self.masks = [m for m in self.masks if m[2] is not info]
        return out

    def note_modules(self, frame) -> None:
        while frame is not None:
            m = frame.module
            if id(m) not in self.modules:
                # the flag as an instance attribute, so a later train()/eval() (which sets it
                # there) leaves the attribute set that valid() compares unchanged
                m.__dict__.setdefault("training", m.training)
                self.modules[id(m)] = m
                self.snapshots[id(m)] = _snapshot(m)
                self.keep.append(m)
                d = m.__dict__
                if any(d.get(kind) for kind in _MODULE_HOOKS):
                    self.problem(f"{type(m).__name__} has forward or backward hooks, Python "
                                 "code that a replay would not run; remove them "
                                 "(handle.remove()) or call the step without jit")
            frame = frame.parent

    # --- backward ----------------------------------------------------------------------------

    def on_backward(self, roots, seeds, *, create_graph, inputs, accumulate, foreign) -> None:
        if not self.active():
            return
        try:
            self.compile_backward(roots, seeds, create_graph, inputs, accumulate, foreign)
        except _Unsupported as e:
            self.fail(str(e))
        self.in_backward = True

    def compile_backward(self, roots, seeds, create_graph, inputs, accumulate, foreign):
        where = _user_line()
        if create_graph:
            raise _Unsupported(f"backward(create_graph=True) at {where}: higher-order gradients "
                               "are not replayed")
        if inputs is not None or not accumulate:
            raise _Unsupported(f"autograd.grad / backward(inputs=...) at {where} is not "
                               "replayed; use loss.backward()")
        protect = []  # (leaf, buffer) pairs: see _k_protect
        self.emit(_k_protect, protect, run=False)
        grads: dict = {}
        for r, s in zip(roots, seeds):
            if id(s) in foreign:
                slot = self.source(s, where)
            else:
                slot = self.const(s)  # ones, from seed_for
            self.keep.append(r)
            grads[r] = slot if r not in grads else self.add(grads[r], slot)
        results, retained = {}, {}
        for node in _engine.walk_order(*roots):
            ctx = node._ctx
            g = grads.pop(node, None)
            if g is not None:
                if node._hooks:
                    raise _Unsupported(f"a tensor hook (register_hook, or a post-accumulate-grad "
                                       f"hook) reached by backward() at {where}: hooks run "
                                       "Python that a replay would not run")
                if ctx is None:
                    results[node] = g
                    continue
                if ctx.node_hooks and any(ctx.node_hooks.values()):
                    raise _Unsupported(f"a hook on {ctx.name()} (grad_fn.register_hook) reached "
                                       f"by backward() at {where}: hooks run Python that a "
                                       "replay would not run")
                if node._retain:
                    retained[node] = g
            if ctx is None or g is None:
                continue
            info = self.nodes.get(id(ctx))
            if info is None:
                raise _Unsupported(f"backward() at {where} reaches {op_name(ctx.fn)}, an op run "
                                   "before the step: only ops of the step itself are replayed "
                                   "(detach() what comes from outside)")
            if ctx.n_outputs != 1:
                raise _Unsupported(f"backward through the multi-output {op_name(ctx.fn)}")
            gis = info.bw(self, info, g)
            for i, gi in enumerate(gis):
                if gi is None or i >= len(ctx.inputs):
                    continue
                inp = ctx.inputs[i]
                if not isinstance(inp, TensorBase) or not inp._requires_grad:
                    continue
                gi = self.fit(info, i, inp, gi)
                prev = grads.get(inp)
                grads[inp] = gi if prev is None else self.add(prev, gi)
        for t, g in results.items():
            if t._requires_grad and t._ctx is None:
                self.commit(t, g, protect)
        for t, g in retained.items():
            self.commit(t, g, protect)

    def fit(self, info, i, inp, gi) -> _Slot:
        """The engine's _fit: a gradient of a broadcast shape summed back, another float dtype
        converted."""
        data = inp._data
        g = gi.array
        if g.shape != data.shape:
            if (_kernels.ENABLED and g.ndim == 2 and g.shape[1:] == data.shape
                    and g.dtype.kind == "f"):
                out = self.buffer(np.empty(data.shape, g.dtype))
                ones = self.const(np.ones(len(g), g.dtype))
                self.emit(_k_sum_rows, gi, ones, out)
                gi = out
            elif _engine._broadcasts_to(data.shape, g.shape):
                lead = g.ndim - len(data.shape)
                axes = tuple(range(lead)) + tuple(
                    lead + k for k, n in enumerate(data.shape) if n == 1 and g.shape[lead + k] != 1)
                kept = self.buffer(g.sum(axis=axes, keepdims=True) if axes else g)
                if axes:
                    self.emit(_k_sum_to, gi, axes, kept)
                else:
                    self.emit(_k_copy, kept, gi)
                view = kept.array.reshape(data.shape)
                gi = _Slot(view, "v", self.tag("v"))
            else:
                raise _Unsupported(f"backward of {op_name(info.cls)}: a gradient of shape "
                                   f"{g.shape} for an input of shape {data.shape}")
        if gi.array.dtype != data.dtype:
            out = self.buffer(np.empty(data.shape, data.dtype))
            self.emit(_k_copy, out, gi)
            gi = out
        return gi

    def add(self, a, b) -> _Slot:
        out = self.buffer(a.array + b.array)
        self.emit(_k_binary, np.add, a, b, out)
        return out

    def commit(self, t, g, protect) -> None:
        """Write gradient ``g`` into ``t.grad`` as the engine does (adopt or add in place)."""
        self.keep.append(t)
        cur = t._grad
        expected = g.array.copy() if cur is None else (cur._data + g.array)
        self.pending.append((t, expected))
        if g.owned and g.kind == "b" and id(g) not in self.adopted and g.array.base is None:
            self.adopted.add(id(g))
            own = new_tensor(type(t), g.array, None)
            protect.append((t, g.array))
            self.emit(_k_commit, t, g, own, run=False)
        else:
            buf = self.buffer(g.array)
            own = new_tensor(type(t), buf.array, None)
            self.emit(_k_commit_copy, t, g, own, run=False)
        self.events.append(("commit", _Obj(t), g.tag))

    def after_backward(self) -> None:
        self.in_backward = False
        if not self.active():
            return
        for t, expected in self.pending:
            got = t._grad
            if got is None:
                self.mismatches.append("a gradient the eager backward did not write")
                continue
            self.check(expected, got._data, f"the gradient of a tensor of shape {t.shape}")
            self.grad_owner[id(got)] = t
            self.keep.append(got)
        self.pending = []

    # --- outputs -----------------------------------------------------------------------------

    def template_out(self, value):
        t = type(value)
        if isinstance(value, TensorBase):
            return _OutTensor(self.source(value, "the step's return value"), type(value))
        if t is tuple or t is list:
            return t(self.template_out(x) for x in value)
        if t is dict:
            return {k: self.template_out(v) for k, v in value.items()}
        if t in _SCALARS or isinstance(value, np.generic):
            return value
        raise _Unsupported(f"the step returns a {t.__name__}; return Tensors, numbers, None, or "
                           "tuples, lists and dicts of them")


class _OutTensor:
    __slots__ = ("slot", "cls")

    def __init__(self, slot, cls):
        self.slot, self.cls = slot, cls


def _build(t):
    tt = type(t)
    if tt is _OutTensor:
        return new_tensor(t.cls, t.slot.array.copy(), None)
    if tt is tuple or tt is list:
        return tt(_build(x) for x in t)
    if tt is dict:
        return {k: _build(v) for k, v in t.items()}
    return t


def _args_of(frame):
    """(args, kwargs) of an intercepted function call, from its frame."""
    co, loc = frame.f_code, frame.f_locals
    n_pos, n_kw = co.co_argcount, co.co_kwonlyargcount
    names = co.co_varnames
    args = tuple(loc[k] for k in names[:n_pos])
    kwargs = {k: loc[k] for k in names[n_pos:n_pos + n_kw]}
    return args, kwargs


def _call_of(frame):
    """(object, method name, args, kwargs) of an intercepted method call, from its frame."""
    co, loc = frame.f_code, frame.f_locals
    n_pos, n_kw = co.co_argcount, co.co_kwonlyargcount
    names = co.co_varnames
    args = tuple(loc[k] for k in names[1:n_pos])
    kwargs = {k: loc[k] for k in names[n_pos:n_pos + n_kw]}
    extra = n_pos + n_kw
    if co.co_flags & 0x04:  # *args
        args += tuple(loc[names[extra]])
        extra += 1
    if co.co_flags & 0x08:  # **kwargs
        kwargs.update(loc[names[extra]])
    return loc[names[0]], co.co_name, args, kwargs


# --- modules: what a replay assumes about them ---------------------------------------------------


def _snapshot(m) -> tuple:
    """What of a module's attributes the record depends on: tensors and sub-modules by
    identity, numbers and strings by value, hook dicts by size."""
    items = []
    for k, v in m.__dict__.items():
        if k == "training":
            continue
        if type(v) in _SCALARS:
            items.append((k, "=", v))
        elif type(v) in (list, tuple):
            items.append((k, "[]", v, tuple(x if type(x) in _SCALARS else id(x) for x in v)))
        elif type(v) is dict and k.startswith(("_forward", "_backward")):
            items.append((k, "hooks", len(v)))
        else:
            items.append((k, "is", id(v)))
    return tuple(items)


def _owner_of(tensors, frame):
    """(module, attribute name) of a written tensor held by a module now running, or None."""
    arrays = {id(t._data) for t in tensors}
    while frame is not None:
        for k, v in frame.module.__dict__.items():
            if isinstance(v, TensorBase) and id(v._data) in arrays:
                return frame.module, k
        frame = frame.parent
    return None


def _changed_attribute(before, after) -> str:
    b = {item[0]: item for item in before}
    for item in after:
        if b.get(item[0]) != item:
            return item[0]
    return next(iter(set(b) - {item[0] for item in after}), "?")


def _structure_checks(modules):
    """What ``_Program.valid`` compares at each call: each module's attribute values and the
    items of its lists, by identity (the values are kept alive here, so no id is reused), and
    the sizes of its hook dicts (a module the step calls has none)."""
    dicts = tuple(m.__dict__ for m in modules)
    seqs = tuple(v for d in dicts for v in d.values() if type(v) in (list, tuple))
    hooks = tuple(v for d in dicts for k, v in d.items()
                  if type(v) is dict and k.startswith(("_forward", "_backward")))
    values = tuple(chain.from_iterable(map(dict.values, dicts)))
    items = tuple(chain.from_iterable(seqs))
    return (dicts, tuple(map(id, values)), seqs, tuple(map(id, items)), hooks,
            tuple(map(len, hooks)), (values, items))


def _with_submodules(modules) -> list:
    """The modules the step ran ops in, and every module below them: one that runs no op
    (an Identity, a Dropout in eval mode) is called all the same, so a hook registered on it
    later must make the step be traced again."""
    out, seen = [], set()
    for m in modules:
        for sub in [m, *(s for _, s in m.named_modules())]:
            if id(sub) not in seen:
                seen.add(id(sub))
                out.append(sub)
    return out


# --- the random generator ------------------------------------------------------------------------


def _rng_state(rng):
    try:
        return rng.bit_generator.state
    except Exception:  # noqa: BLE001 - a generator without a readable state: not checked
        return None


def _rng_replica(rng, state):
    replica = np.random.Generator(type(rng.bit_generator)())
    replica.bit_generator.state = state
    return replica


def _draw_like(rng, kind, params) -> None:
    """Draw what a recorded draw draws (to follow the generator's state)."""
    if kind == "random":
        rng.random(params[0])
    elif kind == "rand":
        rng.random(params[1])
    elif kind == "randn":
        rng.standard_normal(params[1])
    else:
        rng.integers(params[1], params[2], size=params[3])


# --- what the profiler watches -------------------------------------------------------------------

_CONST_OPS: dict = {}  # code -> (function, its ufunc when it is one on the arrays)


def _watch_table() -> dict:
    """Code object -> handler, for the calls the tracer intercepts (rebuilt per trace, so
    optimizers defined after import are included)."""
    from .nn import functional as F
    from .nn.module import Module
    from .optim import LRScheduler, Optimizer
    from .tensor import Tensor, rand, randint, randn

    table = {}
    for base, names in ((Optimizer, ("step", "zero_grad")), (LRScheduler, ("step",)),
                        (Module, ("zero_grad", "train"))):
        for cls in _subclasses(base):
            for name in names:
                code = getattr(cls.__dict__.get(name), "__code__", None)
                if code is not None:
                    table[code] = _Trace.on_call
    table[Tensor.zero_grad.__code__] = _Trace.on_call
    for name in ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__",
                 "__array__", "__format__", "__repr__", "__contains__"):
        table[getattr(Tensor, name).__code__] = _Trace.on_read
    table[Tensor.data.fget.__code__] = _Trace.on_read
    table[Tensor.grad.fset.__code__] = _Trace.on_set_grad
    table[F.dropout.__code__] = _Trace.on_dropout
    for fn in (rand, randn, randint):
        table[fn.__code__] = _Trace.on_rand
    if not _CONST_OPS:
        for fn, ufunc in ((ops.eq, np.equal), (ops.ne, np.not_equal), (ops.lt, np.less),
                          (ops.le, np.less_equal), (ops.gt, np.greater),
                          (ops.ge, np.greater_equal), (ops.logical_and, np.logical_and),
                          (ops.logical_or, np.logical_or), (ops.logical_xor, np.logical_xor),
                          (ops.logical_not, np.logical_not), (ops.sign, np.sign),
                          (ops.isnan, np.isnan), (ops.isinf, np.isinf),
                          (ops.isfinite, np.isfinite), (ops.floor, np.floor),
                          (ops.ceil, np.ceil), (ops.round, None), (ops.remainder, None),
                          (ops.floor_divide, None), (ops.argmax, None), (ops.argmin, None),
                          (ops.astype, None), (Tensor.any, None), (Tensor.all, None),
                          (F.one_hot, None)):
            _CONST_OPS[fn.__code__] = (fn, ufunc)
    for code in _CONST_OPS:
        table[code] = _Trace.on_const
    table[ops.cross_entropy.__code__] = _Trace.on_loss
    table[ops.nll_loss.__code__] = _Trace.on_loss
    return table


def _subclasses(cls) -> list:
    out, stack = [], [cls]
    while stack:
        c = stack.pop()
        if c not in out:
            out.append(c)
            stack.extend(c.__subclasses__())
    return out


# === the compiled program =======================================================================


class _Program:
    """A compiled signature: bind the call's arrays, check, run the instructions, build the
    outputs. Built from the second trace after comparing it with the first."""

    def __init__(self, trace: _Trace, first: _Trace):
        _compare(first, trace)
        self.reused = _reuse_buffers(trace)
        self.binds = tuple((i, slot, tuple(slot.sites)) for slot, i in trace.binds)
        self.derived = tuple((slot, parent, cls, kw, tuple(slot.sites))
                             for slot, parent, cls, kw in trace.derived)
        self.guards = tuple(trace.guards)
        self.instrs = tuple(trace.instrs)
        self.out = trace.out
        captured = []
        for (t1, _, _), (t2, a2, _) in zip(first.exts, trace.exts):
            if t2 is not None and t2 is t1:
                captured.append((t2, a2, t2._requires_grad))
        tensors = tuple(t for t, _, _ in captured)
        self.captured = (tensors, tuple(id(a) for _, a, _ in captured),
                         tuple(rg for _, _, rg in captured))
        self.structure = _structure_checks(_with_submodules(trace.modules.values()))
        self.globals = tuple(_global_checks(trace))
        self.inexact = trace.inexact
        self.slow = sorted({op_name(n.cls) for n in trace.all_nodes if not n.fast})
        self.lock = threading.Lock()
        # the objects the signature knows by id (a model passed as an argument): kept alive,
        # so that no other object can take the id and be replayed as this one
        self.objects = [a for a in _objects_in((trace.args, trace.kwargs))]

    def valid(self) -> bool:
        """Whether what the record assumed still holds (else the step is traced again)."""
        tensors, data_ids, flags = self.captured  # a parameter's array replaced (p.data = a),
        if (tuple(map(id, map(_DATA, tensors))) != data_ids  # requires_grad or hooks changed
                or tuple(map(_REQUIRES_GRAD, tensors)) != flags or any(map(_HOOKS, tensors))):
            return False
        dicts, ids, seqs, item_ids, hooks, sizes, _ = self.structure
        if (tuple(map(id, chain.from_iterable(map(dict.values, dicts)))) != ids
                or tuple(map(id, chain.from_iterable(seqs))) != item_ids
                or tuple(map(len, hooks)) != sizes):
            return False  # an attribute of a module (or an item of its lists) replaced, added
            # or removed since the trace, or a hook registered
        for kind, holder, key, obj in self.globals:  # see _global_checks
            if kind == _ITEM:
                current = holder.get(key, _EAGER)
            elif kind == _INDEX:
                current = holder[key]  # after the list's _LEN check
            elif kind == _LEN:
                current = len(holder)
            else:
                current = _cell_value(holder)
            if current is not obj and not (type(current) is type(obj) and type(obj) in _SCALARS
                                           and current == obj):
                return False  # a global, closure variable, entry or attribute changed
        return True

    def run(self, arrays):
        with self.lock:
            for i, slot, sites in self.binds:
                a = arrays[i]
                slot.array = a
                for lst, pos in sites:
                    lst[pos] = a
            for slot, parent, cls, kw, sites in self.derived:
                a = cls.forward(Context(), parent.array, **kw)
                slot.array = a
                for lst, pos in sites:
                    lst[pos] = a
            for fn, a in self.guards:
                if not fn(*a):
                    return _EAGER
            for fn, a in self.instrs:
                fn(*a)
            return _build(self.out)

    def describe(self) -> dict:
        return {"instructions": len(self.instrs), "slow_ops": self.slow,
                "inexact_checks": self.inexact, "buffers_reused": self.reused}


def _objects_in(v):
    t = type(v)
    if t is tuple or t is list:
        for x in v:
            yield from _objects_in(x)
    elif t is dict:
        for x in v.values():
            yield from _objects_in(x)
    elif t is not np.ndarray and t not in _SCALARS and not isinstance(v, (TensorBase,
                                                                          np.generic)):
        yield v


def _arrays_in(v):
    """The arrays inside an instruction argument that is not itself an array."""
    t = type(v)
    if t is np.ndarray:
        yield v
    elif t is list or t is tuple:
        for x in v:
            yield from _arrays_in(x)
    elif t is dict:
        for x in v.values():
            yield from _arrays_in(x)
    elif t is _Ref or t is _TRef:
        yield v.slot.array
    elif t is _TargetsTmpl:
        yield v.z.slot.array
        yield v.target.slot.array
    elif isinstance(v, TensorBase):
        yield v._data


def _reuse_buffers(trace) -> int:
    """Let an element-wise kernel write into its input's buffer when nothing reads that input
    afterwards (ReLU into the linear layer's output, ReLU's backward into the incoming
    gradient): the same operations on fewer arrays, so fewer cache misses. Only buffers the
    program owns, with no views of them anywhere, never returned or adopted as a .grad."""
    instrs, owned = trace.instrs, trace.owned
    pinned: set = set()
    places: dict = {}  # id(array) -> [(list, position)], top-level occurrences in order
    first, last = {}, {}
    for k, (fn, lst) in enumerate(instrs):
        for pos, a in enumerate(lst):
            if type(a) is np.ndarray:
                places.setdefault(id(a), []).append((lst, pos))
                first.setdefault(id(a), k)
                last[id(a)] = k
                if a.base is not None:
                    pinned.update((id(a), id(a.base)))
            else:
                for b in _arrays_in(a):
                    pinned.update((id(b), id(b.base)))
        if fn is _k_commit:
            pinned.add(id(lst[1]))
    for _, lst in trace.guards:
        pinned.update(id(a) for a in _arrays_in(lst))
    pinned.update(id(a) for a in _out_arrays(trace.out))
    merged = 0
    for k, (fn, lst) in enumerate(instrs):
        for o, i in _IN_PLACE.get(fn, ()):
            O, In = lst[o], lst[i]
            if (type(O) is not np.ndarray or type(In) is not np.ndarray or O is In
                    or id(O) not in owned or id(In) not in owned or id(O) in pinned
                    or id(In) in pinned or O.shape != In.shape or O.dtype != In.dtype
                    or O.strides != In.strides or first[id(O)] != k or last[id(In)] != k
                    or sum(x is In for x in lst) != 1):
                continue
            for ref, pos in places.pop(id(O)):
                ref[pos] = In
                places[id(In)].append((ref, pos))
            last[id(In)] = last.pop(id(O))
            merged += 1
            break
    return merged


def _out_arrays(t):
    tt = type(t)
    if tt is _OutTensor:
        yield t.slot.array
    elif tt is tuple or tt is list:
        for x in t:
            yield from _out_arrays(x)
    elif tt is dict:
        for x in t.values():
            yield from _out_arrays(x)


# The Python state a record depends on: what the step's code (and the user functions it called
# while tracing) read from globals and closure cells, and what is reached from there through
# dicts, lists, tuples and plain objects' attributes. Each check is (kind, holder, key, value):
# ``_Program.valid`` reads holder[key] (or the cell, or the length) at every call and compares
# it with the value at the end of the trace: by identity, numbers and strings by value. A big
# container (more than _BIG entries: a vocabulary, a data set) is checked by identity and length
# only, so an edit of one of its entries in place is not seen (docs/jit.md).
_ITEM, _INDEX, _CELL, _LEN = range(4)
_BIG = 64
_MAX_CHECKS = 1000  # a bound on the work done before every replay


def _global_checks(trace) -> list:
    """The checks of everything the recorded step may have read from Python state (see above).
    Values it cannot check cheaply are reported as problems of the trace (``JitError``)."""
    checks: list = []
    seen: set = set()

    def visit(value, name, depth):
        if len(checks) > _MAX_CHECKS:
            raise _Unsupported(
                f"the step reads {name}, which leads to more than {_MAX_CHECKS} Python values the "
                "jit would have to check at every call (it checks the globals, closure variables "
                "and what they hold, so that a change traces again); pass what the step needs as "
                "arguments, or call the step without jit")
        t = type(value)
        if t in _SCALARS or id(value) in seen or depth > 6:
            return
        seen.add(id(value))
        if t in (dict, list) and len(value) > _BIG:
            checks.append((_LEN, value, None, len(value)))  # (its identity: the holder's check)
            return
        if t is dict:
            checks.append((_LEN, value, None, len(value)))
            for k, v in value.items():
                checks.append((_ITEM, value, k, v))
                visit(v, f"{name}[{k!r}]", depth + 1)
        elif t is list:
            checks.append((_LEN, value, None, len(value)))
            for i, v in enumerate(value):
                checks.append((_INDEX, value, i, v))
                visit(v, f"{name}[{i}]", depth + 1)
        elif t is tuple:
            for i, v in enumerate(value):
                visit(v, f"{name}[{i}]", depth + 1)
        elif _plain_object(value):
            visit(value.__dict__, name + ".__dict__", depth)

    def read(code, g, cells):
        for n in _globals_read(code):
            if n in g:
                checks.append((_ITEM, g, n, g[n]))
                visit(g[n], n, 0)
        for n, cell in zip(code.co_freevars, cells):
            try:
                value = cell.cell_contents
            except ValueError:  # a variable not yet assigned in its enclosing function
                continue
            checks.append((_CELL, cell, n, value))
            visit(value, n, 0)

    try:
        for code, (g, fns) in trace.codes.items():
            for f in fns:
                read(code, g, f.__closure__ or ())
            if not fns:
                read(code, g, ())
        for a in _objects_in((trace.args, trace.kwargs)):
            visit(a, "an argument", 0)
    except _Unsupported as e:
        raise JitError(f"jit: this step cannot be replayed: {e}") from None
    return checks


_GLOBALS_READ: dict = {}


def _globals_read(code) -> tuple:
    """The global names ``code`` loads (not its attribute names: ``model.train()`` reads no
    global called train)."""
    names = _GLOBALS_READ.get(code)
    if names is None:
        names = _GLOBALS_READ[code] = tuple(dict.fromkeys(
            i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL",
                                                                          "LOAD_NAME")))
    return names


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:  # not assigned yet
        return _EAGER


_STATE_CODE: dict = {}


def _is_state_code(code) -> bool:
    known = _STATE_CODE.get(code)
    if known is None:
        known = _STATE_CODE[code] = _is_state_file(code.co_filename)
    return known


def _plain_object(v) -> bool:
    """An object whose attributes are the user's state (a config, a trainer, a dataclass):
    not a module, optimizer, tensor, class, function or library object (those are checked by
    identity; modules' attributes by ``_structure_checks``, optimizers read theirs at replay)."""
    from .nn.module import Module
    from .optim import LRScheduler, Optimizer

    t = type(v)
    if t is types.SimpleNamespace or (t.__name__ == "Namespace" and t.__module__ == "argparse"):
        return True  # argparse's and types' namespaces: the usual holders of a script's config
    if isinstance(v, (Module, Optimizer, LRScheduler, TensorBase, np.ndarray, type, JitFunction)):
        return False
    d = getattr(v, "__dict__", None)
    if type(d) is not dict:
        return False
    filename = getattr(sys.modules.get(t.__module__), "__file__", None)
    if filename is None:  # builtins (a Python module, a function...), or a class made in exec
        return t.__module__ == "__main__"
    return _is_state_file(filename)


_LIBRARY_DIRS = tuple({os.path.abspath(sysconfig.get_path(k)) + os.sep
                       for k in ("stdlib", "platstdlib", "purelib", "platlib")})


def _is_state_file(filename: str) -> bool:
    """Code or classes of the user's own (not tinygrad_np's, the standard library's or an
    installed package's), whose globals and closures a step's record may depend on."""
    if filename.startswith("<"):
        return not filename.startswith("<frozen")
    path = os.path.abspath(filename)
    return not path.startswith(_fn._PACKAGE_DIR) and not path.startswith(_LIBRARY_DIRS)


def _compare(first: _Trace, second: _Trace) -> None:
    """Two traces of one signature must record the same program; what differs is refused."""
    for k, (a, b) in enumerate(zip(first.events, second.events)):
        if not _same(a, b) and a[0] == b[0] and a[:2] == b[:2] and a[0] in ("op", "const"):
            raise JitError(
                f"jit: {_event_text(b)} at {second.wheres.get(k)} was given other Python values "
                "(numbers, indices, options) on two calls with the same argument shapes: a "
                "number computed inside the step from data (float(np.max(x)), a counter, a "
                "global that changes) would be frozen by a replay. Pass it as an argument "
                "(an array, to be read at each call), or compute it with tinygrad_np ops")
        if a[0] == b[0] == "out" and not _same(a, b):
            raise JitError("jit: the step returns Python values (numbers) that differ between "
                           "two calls with the same argument shapes; a replay would freeze them. "
                           "Return tensors and read them outside (loss.item())")
        if not _same(a, b):
            raise JitError(
                "jit: two calls with the same argument shapes ran different steps "
                f"({_event_text(a)} on one call, {_event_text(b)} on the other): the step's "
                "Python code takes another path from call to call (on a value that is not an "
                "argument: a counter, a random choice, an attribute), so it cannot be replayed. "
                "Pass such values as arguments, or call the step without jit")
    if len(first.events) != len(second.events):
        raise JitError("jit: two calls with the same argument shapes ran a different number of "
                       "ops; the step's Python code takes another path from call to call")
    for (t1, a1, _), (t2, a2, where) in zip(first.exts, second.exts):
        if t2 is not None and t2 is t1:
            continue  # the same tensor (a parameter): read by reference
        if a1 is a2:
            continue  # the same array: read by reference
        if not _same(a1, a2):
            what = "tensor" if t2 is not None else "array"
            for i, (slot, _) in enumerate(second.binds):
                if np.may_share_memory(a2, slot.array):
                    raise JitError(
                        f"jit: the {what} used at {where} is a NumPy view of argument {i} taken "
                        "inside the step (xb[:8], xb.T): a replay reads only the arguments "
                        "themselves, so it would freeze this view's values. Index the Tensor "
                        "instead (Tensor(xb)[:8]), or pass the part you need as an argument")
            raise JitError(
                f"jit: the {what} used at {where} is not an argument of the step, is made "
                "inside it, and holds other values on another call (NumPy work on the "
                "arguments, random numbers, a value read from a .grad); a replay would freeze "
                "it. Pass it as an argument, compute it with tinygrad_np ops from the "
                "arguments, or draw it with tinygrad_np.rand/randn or nn.Dropout")


def _event_text(e) -> str:
    if e[0] == "op":
        return f"op {op_name(e[1])}"
    if e[0] == "call":
        return f"a call of {type(e[1].obj).__name__}.{e[2]}()"
    return e[0]


_max = np.maximum.reduce

# === kernels: each mirrors the eager computation it replaces ====================================
#
# Buffers are written with out=, in the same order of operations as the eager formulas, so a
# replay gives the eager numbers (the tracer checks that on the trace's own data). Reductions
# call the ufuncs' reduce directly: what x.sum() and x.max() run, without np.sum's wrapper.

_sum = np.add.reduce


def _k_copy(dst, src):
    np.copyto(dst, src, casting="unsafe")


def _k_binary(ufunc, a, b, out):
    ufunc(a, b, out=out)


def _k_unary(ufunc, a, out):
    ufunc(a, out=out)


def _k_matmul(a, b, out):
    np.matmul(a, b, out=out)


def _k_matmul_nt(a, b, out):  # a @ b.T
    np.matmul(a, b.T, out=out)


def _k_matmul_tn(a, b, out):  # a.T @ b
    np.matmul(a.T, b, out=out)


def _k_linear(x, w, b, y):  # Linear.fast_forward: y = x @ w; y += b
    np.matmul(x, w, out=y)
    np.add(y, b, out=y)


def _k_linear_bw(g, x, w, gx, gw):
    if gx is not None:
        np.matmul(g, w.T, out=gx)
    if gw is not None:
        np.matmul(x.T, g, out=gw)


def _k_sum_rows(g, ones, out):  # _kernels.sum_rows
    np.matmul(ones, g, out=out)


def _k_sum_to(g, axes, out):
    _sum(g, axis=axes, keepdims=True, out=out)


def _k_relu(x, y):
    np.maximum(x, 0, out=y)


def _k_relu_bw(g, y, mask, gx):  # g * (y > 0)
    np.greater(y, 0, out=mask)
    np.multiply(g, mask, out=gx)


def _k_tanh_bw(g, y, t, gx):  # g * (1 - y * y)
    np.multiply(y, y, out=t)
    np.subtract(1, t, out=t)
    np.multiply(g, t, out=gx)


def _k_sigmoid(x, y):  # 0.5 * (1 + tanh(0.5 * x))
    np.multiply(x, 0.5, out=y)
    np.tanh(y, out=y)
    np.add(y, 1, out=y)
    np.multiply(y, 0.5, out=y)


def _k_sigmoid_bw(g, y, t, gx):  # g * y * (1 - y)
    np.multiply(g, y, out=gx)
    np.subtract(1, y, out=t)
    np.multiply(gx, t, out=gx)


def _k_div_bw(g, y, b, out):  # -g * y / b
    np.negative(g, out=out)
    np.multiply(out, y, out=out)
    np.divide(out, b, out=out)


def _k_sqrt_bw(g, y, t, out):  # g / (y * 2)
    np.multiply(y, 2, out=t)
    np.divide(g, t, out=out)


def _k_sum(x, axes, keepdims, out):
    _sum(x, axis=axes, keepdims=keepdims, out=out)


def _k_mean(x, axes, keepdims, n, out):
    _sum(x, axis=axes, keepdims=keepdims, out=out)
    np.divide(out, n, out=out)


def _log_softmax_rows(Z, zt, m, m_col, shifted, e, s, ones, out):
    """_kernels.log_softmax_rows into buffers (zt is None for more than 32 columns)."""
    if zt is None:
        _max(Z, axis=1, keepdims=True, out=m_col)
    else:
        np.copyto(zt, Z.T)
        _max(zt, axis=0, out=m)
    np.subtract(Z, m_col, out=shifted)
    np.exp(shifted, out=e)
    np.matmul(e, ones, out=s)
    np.log(s, out=s)
    np.subtract(shifted, s, out=out)


def _k_log_softmax_bw(g, y, axis, e, s, out):  # g - exp(y) * sum(g)
    np.exp(y, out=e)
    _sum(g, axis=axis, keepdims=True, out=s)
    np.multiply(e, s, out=e)
    np.subtract(g, e, out=out)


def _k_ce(Z, labels, base, fi, zt, m, m_col, shifted, e, s, ones, logp, logp_flat, picked,
          denominator, loss):
    """CrossEntropy.fast_forward with integer labels, no weights, mean or sum."""
    _log_softmax_rows(Z, zt, m, m_col, shifted, e, s, ones, logp)
    np.add(base, labels, out=fi)
    np.take(logp_flat, fi, out=picked)
    np.negative(picked, out=picked)
    _sum(picked, out=loss)
    if denominator is not None:
        np.divide(loss, denominator, out=loss)


def _k_ce_bw(g, logp, fi, d, p, p_flat, picked, scale):
    """CrossEntropy.backward from the stash: (softmax - onehot) * g / d."""
    np.exp(logp, out=p)
    if d is None:
        scale = g
    else:
        np.divide(g, d, out=scale)
    np.take(p_flat, fi, out=picked)
    np.subtract(picked, 1, out=picked)
    np.put(p_flat, fi, picked)
    np.multiply(p, scale, out=p)


def _g_labels(labels, unsigned, n_classes) -> bool:
    """The replay's cross-entropy path needs every label in 0..C-1 (else the call runs eagerly:
    an error, or an ignore_index label). Seen as unsigned, a negative label is huge: one pass."""
    return labels.size and _max(labels.view(unsigned)) < n_classes



def _k_view_backward(cls, ctx, g, out):  # a reshape of a gradient that is not contiguous
    np.copyto(out, cls.backward(ctx, g))


def _k_index_put(out, index, g):  # zeros with g at a basic index: getitem's backward
    out.fill(0)
    out[index] = g


def _k_fwd_generic(cls, holder, needs, args, kwargs, out):
    """Any primitive: its own array forward, its result copied into the buffer."""
    ctx = Context()
    ctx.fn, ctx.needs_input_grad = cls, needs
    a = [_fill(x) for x in args]
    kw = {k: _fill(v) for k, v in kwargs.items()}
    if cls.fast_forward is not None and _kernels.ENABLED:
        y = cls.fast_forward(ctx, *a, **kw)
    else:
        y = cls.forward(ctx, *a, **kw)
    np.copyto(out, y)
    holder[0] = ctx


def _k_bwd_generic(cls, holder, g, outs):
    ctx = holder[0]
    if cls.fast_backward is not None and _kernels.ENABLED:
        res = cls.fast_backward(ctx, g)
    else:
        res = cls.backward(ctx, g)
    if type(res) is not tuple:
        res = (res,)
    for o, r in zip(outs, res):
        if o is not None:
            np.copyto(o, r)


def _k_protect(pairs):
    """Before a backward writes its buffers: a .grad still holding one of them (kept from the
    last call, no zero_grad in between) is moved to a copy, so accumulating into it stays
    right."""
    for t, buf in pairs:
        cur = t._grad
        if cur is not None and cur._data is buf:
            t._grad = new_tensor(type(t), buf.copy(), None)


def _k_commit(t, g, own):
    """engine._add_to_grad: adopt the gradient's buffer, or add into the existing .grad."""
    cur = t._grad
    if cur is None:
        t._grad = own
        return
    _accumulate(t, cur, g)


def _k_commit_copy(t, g, own):
    cur = t._grad
    if cur is None:
        np.copyto(own._data, g)
        t._grad = own
        return
    _accumulate(t, cur, g)


def _accumulate(t, cur, g):
    data = cur._data
    if not cur._requires_grad and data.shape == g.shape and data.flags.writeable:
        np.add(data, g, out=data, casting="unsafe")
        note_write(cur)
    else:
        t._grad = new_tensor(type(t), (data + g).astype(t._data.dtype, copy=False), None)


def _k_clear_grad(t):
    t._grad = None


def _k_bind_grad(holder, leaf):
    """``p.grad`` read by an op inside the step: bind its current array."""
    slot = holder[0]
    g = leaf._grad
    if g is None:
        raise JitError("jit: the step reads the .grad of a tensor that has none at this call")
    a = g._data
    slot.array = a
    for lst, pos in slot.sites:
        lst[pos] = a


def _k_const_op(fn, args, kwargs, out):
    """A comparison, argmax, astype...: the function itself, on Tensors of the buffers."""
    r = fn(*[_fill(a) for a in args], **{k: _fill(v) for k, v in kwargs.items()})
    a = r._data if isinstance(r, TensorBase) else np.asarray(r)
    if a.shape != out.shape:
        raise JitError(f"jit: {fn.__name__} gave a result of shape {a.shape} at this call but "
                       f"{out.shape} when traced (a shape that depends on the values, like "
                       "one_hot without num_classes): pass num_classes, or call without jit")
    np.copyto(out, a)


def _k_call(obj, name, args, kwargs):
    getattr(obj, name)(*args, **kwargs)


def _k_dropout(owner, rng_arg, p, scale, u, keep, out):
    """nn.Dropout / F.dropout's mask, drawn again: keep = rng.random(shape) >= p."""
    rng = _random.get_rng(owner.rng if owner is not None else rng_arg)
    rng.random(out=u)
    np.greater_equal(u, p, out=keep)
    np.multiply(keep, scale, out=out)


def _k_draw(gen, params, scratch, out):
    """tinygrad_np.rand/randn/randint, drawn again from the same generator."""
    rng = _random.get_rng(gen)
    kind = params[0]
    if kind == "rand":
        rng.random(out=scratch)
    elif kind == "randn":
        rng.standard_normal(out=scratch)
    else:
        np.copyto(out, rng.integers(params[1], params[2], size=params[3]), casting="unsafe")
        return
    np.copyto(out, scratch, casting="unsafe")


# === compiling each primitive ===================================================================
#
# A forward handler returns the output slot (None: use the slow path) and sets ``node.bw``, the
# backward handler, which returns one gradient slot (or None) per input.


def _fw_generic(tr, n) -> _Slot:
    holder = [None]
    y = tr.buffer(n.out)
    tr.emit(_k_fwd_generic, n.cls, holder, n.needs, n.targs, n.tkwargs, y)
    n.holder, n.bw = holder, _bw_generic
    return y


def _bw_generic(tr, n, g):
    ctx = n.holder[0]
    fn = n.cls.fast_backward if n.cls.fast_backward is not None and _kernels.ENABLED \
        else n.cls.backward
    res = fn(ctx, g.array)
    if type(res) is not tuple:
        res = (res,)
    outs = [tr.buffer(r) if r is not None and i < len(n.needs) and n.needs[i] else None
            for i, r in enumerate(res)]
    tr.emit(_k_bwd_generic, n.cls, n.holder, g, [None if o is None else o.array for o in outs])
    return outs


def _slots(n, count) -> bool:
    return all(type(x) is _Slot for x in n.ins[:count])


def _fw_linear(tr, n):
    ins = n.ins
    if not _slots(n, 2):
        return None
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    if x.array.ndim != 2 or w.array.ndim != 2:
        return None
    if b is not None and not (type(b) is _Slot and b.array.dtype == n.out.dtype
                              and b.array.shape == n.out.shape[1:]):
        return None
    y = tr.buffer(n.out)
    if b is None:
        tr.emit(_k_matmul, x, w, y)
    else:
        tr.emit(_k_linear, x, w, b, y)
    n.bw = _bw_linear
    return y


def _bw_linear(tr, n, g):
    x, w = n.ins[0], n.ins[1]
    need = n.needs
    gx = tr.buffer(np.empty(x.array.shape, np.result_type(g.array, w.array))) if need[0] else None
    gw = tr.buffer(np.empty(w.array.shape, np.result_type(x.array, g.array))) if need[1] else None
    if gx is not None or gw is not None:
        tr.emit(_k_linear_bw, g, x, w, gx, gw)
    return [gx, gw, g if len(need) > 2 and need[2] else None]


def _fw_matmul(tr, n):
    if not _slots(n, 2) or n.ins[0].array.ndim != 2 or n.ins[1].array.ndim != 2:
        return None
    y = tr.buffer(n.out)
    tr.emit(_k_matmul, n.ins[0], n.ins[1], y)
    n.bw = _bw_matmul
    return y


def _bw_matmul(tr, n, g):
    a, b = n.ins
    ga = gb = None
    if n.needs[0]:
        ga = tr.buffer(g.array @ b.array.T)
        tr.emit(_k_matmul_nt, g, b, ga)
    if n.needs[1]:
        gb = tr.buffer(a.array.T @ g.array)
        tr.emit(_k_matmul_tn, a, g, gb)
    return [ga, gb]


_BINARY = {ops.Add: np.add, ops.Sub: np.subtract, ops.Mul: np.multiply, ops.Div: np.divide}


def _operand(v):
    return v.array if type(v) is _Slot else v


def _fw_binary(tr, n):
    a, b = n.ins
    if type(a) is not _Slot and type(b) is not _Slot:
        return None
    y = tr.buffer(n.out)
    tr.emit(_k_binary, _BINARY[n.cls], a, b, y)
    n.y = y
    n.bw = _bw_binary
    return y


def _bw_binary(tr, n, g):
    a, b = n.ins
    need = n.needs
    cls = n.cls
    if cls is ops.Add:
        return [g if need[0] else None, g if need[1] else None]
    out = [None, None]
    if cls is ops.Sub:
        out[0] = g if need[0] else None
        if need[1]:
            out[1] = tr.buffer(-g.array)
            tr.emit(_k_unary, np.negative, g, out[1])
    elif cls is ops.Mul:
        if need[0]:
            out[0] = tr.buffer(g.array * _operand(b))
            tr.emit(_k_binary, np.multiply, g, b, out[0])
        if need[1]:
            out[1] = tr.buffer(g.array * _operand(a))
            tr.emit(_k_binary, np.multiply, g, a, out[1])
    else:  # Div
        if need[0]:
            out[0] = tr.buffer(g.array / _operand(b))
            tr.emit(_k_binary, np.divide, g, b, out[0])
        if need[1]:
            out[1] = tr.buffer(-g.array * n.y.array / _operand(b))
            tr.emit(_k_div_bw, g, n.y, b, out[1])
    return out


_UNARY = {ops.Neg: np.negative, ops.Exp: np.exp, ops.Log: np.log, ops.Tanh: np.tanh,
          ops.Sqrt: np.sqrt}


def _fw_unary(tr, n):
    x = n.ins[0]
    if type(x) is not _Slot:
        return None
    y = tr.buffer(n.out)
    tr.emit(_k_unary, _UNARY[n.cls], x, y)
    n.y = y
    n.bw = _bw_unary
    return y


def _bw_unary(tr, n, g):
    cls, x, y = n.cls, n.ins[0], n.y
    if cls is ops.Neg:
        out = tr.buffer(-g.array)
        tr.emit(_k_unary, np.negative, g, out)
    elif cls is ops.Exp:
        out = tr.buffer(g.array * y.array)
        tr.emit(_k_binary, np.multiply, g, y, out)
    elif cls is ops.Log:
        out = tr.buffer(g.array / x.array)
        tr.emit(_k_binary, np.divide, g, x, out)
    elif cls is ops.Tanh:
        out = tr.buffer(g.array * (1 - y.array * y.array))
        tr.emit(_k_tanh_bw, g, y, tr.buffer(y.array), out)
    else:  # Sqrt
        out = tr.buffer(g.array / (y.array * 2))
        tr.emit(_k_sqrt_bw, g, y, tr.buffer(y.array), out)
    return [out]


def _fw_relu(tr, n):
    x = n.ins[0]
    if type(x) is not _Slot or x.array.dtype.kind != "f":
        return None
    y = tr.buffer(n.out)
    tr.emit(_k_relu, x, y)
    n.y, n.bw = y, _bw_relu
    return y


def _bw_relu(tr, n, g):
    mask = tr.buffer(n.y.array > 0)
    out = tr.buffer(g.array * mask.array)
    tr.emit(_k_relu_bw, g, n.y, mask, out)
    return [out]


def _fw_sigmoid(tr, n):
    x = n.ins[0]
    if type(x) is not _Slot:
        return None
    y = tr.buffer(n.out)
    tr.emit(_k_sigmoid, x, y)
    n.y, n.bw = y, _bw_sigmoid
    return y


def _bw_sigmoid(tr, n, g):
    out = tr.buffer(g.array * n.y.array)
    tr.emit(_k_sigmoid_bw, g, n.y, tr.buffer(n.y.array), out)
    return [out]


def _fw_sum(tr, n):
    x = n.ins[0]
    if type(x) is not _Slot:
        return None
    axes, keepdims = n.kwargs.get("axes"), n.kwargs.get("keepdims", False)
    y = tr.buffer(n.out)
    if n.cls is ops.Sum:
        tr.emit(_k_sum, x, axes, keepdims, y)
    else:
        count = x.array.size // max(n.out.size, 1) if x.array.size else 0
        if not count:
            return None
        tr.emit(_k_mean, x, axes, keepdims, count, y)
        n.extra = count
    n.bw = _bw_sum
    return y


def _bw_sum(tr, n, g):
    shape = n.ins[0].array.shape
    kept = ops._kept_shape(shape, n.kwargs.get("axes"))
    gk = _view(tr, g, kept)
    if gk is None:
        gk = tr.buffer(g.array.reshape(kept))
        tr.emit(_k_copy, gk, g)  # not reached for the buffers a backward gets
    src = gk
    if n.cls is ops.Mean:
        src = tr.buffer(gk.array / n.extra)
        tr.emit(_k_binary, np.divide, gk, n.extra, src)
    return [_Slot(np.broadcast_to(src.array, shape), "v", tr.tag("v"))]


def _view(tr, slot, shape):
    """A reshaped view of a slot's array, or None when NumPy would have to copy."""
    v = slot.array.reshape(shape)
    if not np.may_share_memory(v, slot.array) and v.size:
        return None
    return _Slot(v, "v", tr.tag("v"))


def _fw_view(tr, n):
    """Reshape, Permute, Expand, basic indexing: a view of the input's buffer (no work)."""
    x = n.ins[0]
    if type(x) is not _Slot:
        return None
    if n.cls is ops.Getitem and not ops._is_basic_index(n.kwargs["index"]):
        return None
    ctx = Context()
    v = n.cls.forward(ctx, x.array, **n.kwargs)
    if not isinstance(v, np.ndarray) or not np.may_share_memory(v, x.array) and v.size:
        return None
    n.holder = ctx
    n.bw = _bw_view
    if x.dynamic:
        slot = _Slot(v, "view", tr.tag("v"), dynamic=True)
        tr.derived.append((slot, x, n.cls, dict(n.kwargs)))
        return slot
    return _Slot(v, "v", tr.tag("v"))


def _bw_view(tr, n, g):
    cls = n.cls
    if cls is ops.Expand:
        return [g]
    if cls is ops.Getitem:
        out = tr.buffer(np.empty(n.ins[0].array.shape, g.array.dtype))
        tr.emit(_k_index_put, out, n.kwargs["index"], g)
        return [out]
    r = cls.backward(n.holder, g.array)
    if not np.may_share_memory(r, g.array) and r.size:
        out = tr.buffer(r)
        tr.emit(_k_view_backward, cls, n.holder, g, out)
        return [out]
    return [_Slot(r, "v", tr.tag("v"))]


def _softmax_buffers(tr, Z):
    N, C = Z.shape
    wide = C > 32
    zt = None if wide else np.empty((C, N), Z.dtype)
    m = np.empty(N, Z.dtype)
    m_col = np.empty((N, 1), Z.dtype) if wide else m[:, None]
    return (zt, m, m_col, np.empty_like(Z), np.empty_like(Z), np.empty((N, 1), Z.dtype),
            np.ones((C, 1), Z.dtype))


def _fw_log_softmax(tr, n):
    z = n.ins[0]
    if type(z) is not _Slot or z.array.ndim != 2 or n.kwargs.get("axis") != 1 or not z.array.size:
        return None
    y = tr.buffer(n.out)
    tr.emit(_log_softmax_rows, z, *_softmax_buffers(tr, z.array), y)
    n.y, n.bw = y, _bw_log_softmax
    return y


def _bw_log_softmax(tr, n, g):
    y = n.y
    out = tr.buffer(y.array)
    e = np.empty_like(y.array)
    s = np.empty((y.array.shape[0], 1), y.array.dtype)
    tr.emit(_k_log_softmax_bw, g, y, 1, e, s, out)
    return [out]


def _fw_cross_entropy(tr, n):
    z, t, reduction = n.ins
    src = t.source
    labels = t.target.slot
    if (type(z) is not _Slot or z.array.ndim != 2 or not z.array.size or src.labels is None
            or not src.picked or src.weight is not None or src.ignore is not None
            or src.flat is None or reduction not in ("mean", "sum")
            or labels.kind not in ("arg", "ext", "c") or labels.array.ndim != 1):
        return None
    Z = z.array
    N, C = Z.shape
    checked = labels.origin if labels.kind == "c" else labels
    if checked.array.dtype.kind not in "iu" or (
            t.ignore_index is not None and 0 <= t.ignore_index < C):
        return None
    tr.guard(_g_labels, checked, np.dtype(f"u{checked.array.dtype.itemsize}"), C)
    base = np.arange(N, dtype=np.int64) * C
    fi = np.empty(N, np.int64)
    logp = np.empty_like(Z)
    picked = np.empty(N, Z.dtype)
    d = np.asarray(src.denominator, dtype=Z.dtype) if reduction == "mean" else None
    loss = tr.buffer(n.out)
    tr.emit(_k_ce, z, labels, base, fi, *_softmax_buffers(tr, Z), logp, logp.reshape(-1), picked,
            d, loss)
    n.extra = (logp, fi, None if d is None else src.denominator)
    n.bw = _bw_cross_entropy
    return loss


def _bw_cross_entropy(tr, n, g):
    logp, fi, d = n.extra
    p = tr.buffer(logp)
    picked = np.empty(len(fi), logp.dtype)
    scale = np.empty((), logp.dtype)
    tr.emit(_k_ce_bw, g, logp, fi, d, p, p.array.reshape(-1), picked, scale)
    return [p, None, None]


_FORWARD = {ops.Linear: _fw_linear, ops.Matmul: _fw_matmul, ops.Relu: _fw_relu,
            ops.Sigmoid: _fw_sigmoid, ops.Sum: _fw_sum, ops.Mean: _fw_sum,
            ops.LogSoftmax: _fw_log_softmax, ops.CrossEntropy: _fw_cross_entropy,
            ops.Reshape: _fw_view, ops.Permute: _fw_view, ops.Expand: _fw_view,
            ops.Getitem: _fw_view}
_FORWARD.update({cls: _fw_binary for cls in _BINARY})
_FORWARD.update({cls: _fw_unary for cls in _UNARY})

# (output position, input position) pairs of kernels that may write into their input
_IN_PLACE = {_k_relu: ((1, 0),), _k_relu_bw: ((3, 0),), _k_tanh_bw: ((3, 0),),
             _k_sigmoid: ((1, 0),), _k_sigmoid_bw: ((3, 0),), _k_unary: ((2, 1),),
             _k_binary: ((3, 1), (3, 2)), _k_div_bw: ((3, 0),), _k_sqrt_bw: ((3, 0),),
             _k_log_softmax_bw: ((5, 0),)}

FAST_OPS = tuple(sorted(op_name(cls) for cls in _FORWARD))
"""The primitives replayed by kernels writing into buffers allocated once (no allocation per
call); every other primitive runs its own array forward and backward, copied into buffers."""
