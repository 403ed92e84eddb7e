"""The switches every op reads: grad mode, anomaly mode, the running module call, the default
dtype.

Grad mode, anomaly mode and the module call are per thread, as in PyTorch: a thread that
evaluates under ``no_grad()`` never stops another thread's training from recording. Each
context manager keeps the previous value on a per-thread stack, not on the instance, so one
``@no_grad()`` decorator is safe in recursion and in several threads at once.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from .errors import ArgumentError, DTypeError


class _State(threading.local):
    """One per thread; new threads start with grad mode on and anomaly mode off."""

    def __init__(self):
        self.grad_enabled = True
        self.anomaly = False
        self.frame = None  # the innermost Module call running in this thread (a CallFrame)
        self.saved = []  # previous values of the switches, one entry per active manager
        self.standin = None  # the old value of a tensor that x[i] op= v is writing back into
        self.hooks_off = False  # True while the graph drawer walks: no hook runs
        self.pending = []  # module calls holding their outputs' gradients for the backward
        # running (cleared when it ends: under create_graph they would tie a graph to itself)


state = _State()


class _Switch:
    """Base of the context managers that set one switch for a block (or decorated function)."""

    attr = ""

    def value(self):
        raise NotImplementedError

    def __enter__(self):
        s = state
        s.saved.append(getattr(s, self.attr))
        setattr(s, self.attr, self.value())
        return self

    def __exit__(self, *exc):
        s = state
        setattr(s, self.attr, s.saved.pop())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper


class _Bare(_Switch):
    """A switch without arguments, usable as ``@no_grad`` as well as ``@no_grad()`` (PyTorch
    takes both)."""

    def __new__(cls, fn=None):
        if fn is not None:
            if not callable(fn):
                raise ArgumentError(f"{cls.__name__}() takes no arguments; as a decorator it "
                                    f"takes a function, got {type(fn).__name__}")
            return cls()(fn)
        return super().__new__(cls)


class no_grad(_Bare):
    """Record no graph inside this block (or decorated function): for evaluation and updates."""

    attr = "grad_enabled"

    def value(self):
        return False


class enable_grad(_Bare):
    """Record the graph inside this block, even within ``no_grad()``."""

    attr = "grad_enabled"

    def value(self):
        return True


class set_grad_enabled(_Switch):
    """``set_grad_enabled(False)`` as a context manager or decorator, or called on its own to
    switch grad mode for the rest of this thread (as ``torch.set_grad_enabled``)."""

    attr = "grad_enabled"

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = getattr(state, self.attr)
        setattr(state, self.attr, self.mode)  # takes effect now, like PyTorch's

    def value(self):
        return self.mode

    def __enter__(self):
        # the first entry restores what was on before the constructor switched; later entries
        # (a decorated function called again) restore whatever is on at the time
        prev, self._prev = self._prev, None
        state.saved.append(getattr(state, self.attr) if prev is None else prev)
        setattr(state, self.attr, self.mode)
        return self


class inference_mode(_Switch):
    """PyTorch's ``inference_mode()``: here the same as ``no_grad()`` (nothing else is saved by
    skipping the graph); ``inference_mode(False)`` changes nothing."""

    attr = "grad_enabled"

    def __new__(cls, mode=True):
        if callable(mode):  # @inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def value(self):
        return False if self.mode else state.grad_enabled


def is_grad_enabled() -> bool:
    return state.grad_enabled


class detect_anomaly(_Switch):
    """Check every op's output and every backward gradient for NaN/Inf, and name the culprit.

    While active, each op also keeps the user-code line that created it (so errors can point
    at it) and a checksum of every array it saved for backward, so a raw write into one
    (``t.data[0] = 5``) is caught at backward. Off, it costs one attribute read per op.
    """

    attr = "anomaly"

    def __init__(self, mode: bool = True, check_nan: bool = True):
        _only_check_nan(check_nan)
        self.mode = bool(mode)

    def value(self):
        return self.mode


class set_detect_anomaly(set_grad_enabled):
    """``set_detect_anomaly(True)`` switches ``detect_anomaly`` on for the rest of this thread,
    or for a ``with`` block (as ``torch.autograd.set_detect_anomaly``)."""

    attr = "anomaly"

    def __init__(self, mode: bool, check_nan: bool = True):
        _only_check_nan(check_nan)
        super().__init__(mode)


def _only_check_nan(check_nan) -> None:
    if not check_nan:
        raise ArgumentError("detect_anomaly: check_nan=False is not supported here: anomaly "
                            "mode always checks for NaN and Inf (that is what it is for)")


def is_anomaly_enabled() -> bool:
    return state.anomaly


# --- dtypes ---------------------------------------------------------------------------------

_DTYPE_NAMES = {
    "float32": np.float32, "float64": np.float64, "float16": np.float16,
    "float": np.float32, "double": np.float64, "half": np.float16,
    "int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
    "long": np.int64, "int": np.int32, "uint8": np.uint8, "bool": np.bool_,
}


def resolve_dtype(dtype, where: str = "Tensor") -> np.dtype:
    """Turn 'float32', np.float32 or np.dtype('float32') into an np.dtype, or explain the error."""
    try:
        dt = np.dtype(_DTYPE_NAMES.get(dtype, dtype)) if isinstance(dtype, str) else np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind not in "fiub":
        raise DTypeError(
            f"{where}: unknown or unsupported dtype {dtype!r}; use one of {', '.join(_DTYPE_NAMES)}"
        )
    return dt


class _Default:
    float = np.dtype(np.float32)


def set_default_dtype(dtype) -> None:
    """Set the dtype of floating tensors built from Python numbers and lists, and of the float
    results of integer tensors (``Tensor([1, 2]) / 2``); float32 at start."""
    dt = resolve_dtype(dtype, "set_default_dtype")
    if dt.kind != "f":
        raise DTypeError(f"set_default_dtype: {dt} is not a floating dtype; use float32 or float64")
    _Default.float = dt


def get_default_dtype() -> np.dtype:
    return _Default.float
