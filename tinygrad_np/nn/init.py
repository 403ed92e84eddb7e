"""Weight initializers, in two spellings.

- PyTorch's in-place functions fill an existing tensor and return it:
  ``nn.init.kaiming_uniform_(conv.weight, a=math.sqrt(5))``, ``xavier_normal_``, ``zeros_``,
  ``uniform_``, ``normal_``, ``trunc_normal_``, ``constant_``, ``ones_``, ``eye_``,
  ``orthogonal_``, with ``calculate_gain``. They read a convolution weight (out, in, *kernel)
  as PyTorch does, and a 2-D weight in this library's (in, out) layout, as ``Linear``'s, so a
  ported PyTorch init loop gets each layer's true fans (``_calculate_fan_in_and_fan_out``).
- The shape functions below return a fresh ``np.ndarray`` (what ``nn.Linear(init=...)``
  takes), reading 2-D shapes in this library's (in, out) layout.

Every draw of either kind goes through a NumPy generator (``tinygrad_np.random.get_rng``), so
``tinygrad_np.manual_seed(n)`` or an explicit ``rng=`` (``generator=`` for the in-place
functions) makes weights identical from run to run.
``rng`` may also be a legacy ``np.random.RandomState``, to reproduce code that seeded NumPy's
global generator. Values are drawn in float64 (exactly NumPy's draws) and then cast to ``dtype``
(the default float dtype, float32, unless given).

The shape functions' fans follow this library's weight layout ``(in_features, out_features)``:
for a 2-D shape ``(a, b)``, ``fan_in = a`` and ``fan_out = b`` (PyTorch's ``(out, in)`` layout
reads them the other way round). The standard schemes:

=================  ==========================================  ==============================
name               distribution                                keeps this variance
=================  ==========================================  ==============================
lecun_uniform      U(-b, b), b = sqrt(3 / fan_in)              Var = 1 / fan_in (LeCun 1998)
xavier_uniform     U(-b, b), b = sqrt(6 / (fan_in + fan_out))  Var = 2 / (fan_in + fan_out)
xavier_normal      N(0, sqrt(2 / (fan_in + fan_out)))          (Glorot & Bengio 2010)
he_uniform         U(-b, b), b = sqrt(6 / fan_in)              Var = 2 / fan_in
he_normal          N(0, sqrt(2 / fan_in))                      (He et al. 2015, for ReLU)
=================  ==========================================  ==============================

Other schemes are one line with ``uniform`` and ``normal``; the seed experiments' own, exactly:

- seed 003's four (its draws have shape ``(out, in)``; transpose for this layout):
  ``uniform(s, -0.05, 0.05)``, ``uniform(s, -1/sqrt(fan_in), 1/sqrt(fan_in))`` (its "LeCun",
  also PyTorch's default ``nn.Linear`` init), ``uniform(s, -sqrt(2/(fan_in+fan_out)), ...)``
  (its "Xavier") and ``uniform(s, -sqrt(2/fan_in), ...)`` (its "He"). Its Xavier and He bounds
  are the standard ones divided by sqrt(3): their variance is a third of what the names promise.
- seed 004's ``np.random.randn(*s) * 0.01`` is ``normal(s, std=0.01)``;
- seed 001's ``np.random.normal(0.0, 0.3, s)`` is ``normal(s, std=0.3)``.
"""

from __future__ import annotations

import math
import statistics
import weakref

import numpy as np

from .._modes import get_default_dtype
from ..errors import ArgumentError, DTypeError, ShapeError
from ..random import get_rng


def _cast(values: np.ndarray, dtype) -> np.ndarray:
    return values.astype(dtype or get_default_dtype(), copy=False)


def _fans(shape, name: str) -> tuple[int, int]:
    shape = tuple(shape)
    if len(shape) != 2:
        raise ShapeError(f"nn.init.{name}: needs a 2-D weight shape (fan_in, fan_out), got "
                         f"{shape}; use uniform() or normal() with your own bound for other shapes")
    return shape


def uniform(shape, low: float, high: float, rng=None, dtype=None) -> np.ndarray:
    """U(low, high): NumPy's ``rng.uniform(low, high, shape)``, bit for bit before the cast."""
    return _cast(get_rng(rng).uniform(low, high, size=shape), dtype)


def normal(shape, mean: float = 0.0, std: float = 1.0, rng=None, dtype=None) -> np.ndarray:
    """N(mean, std^2), computed as ``rng.standard_normal(shape) * std + mean``.

    With ``mean=0`` this equals ``randn(*shape) * std`` and ``rng.normal(0, std, shape)`` bit
    for bit (seeds 004 and 001).
    """
    values = get_rng(rng).standard_normal(shape)
    if std != 1:
        values *= std
    if mean:
        values += mean
    return _cast(values, dtype)


def zeros(shape, rng=None, dtype=None) -> np.ndarray:
    """All zeros (the usual bias init). ``rng`` is accepted, and unused, for a uniform signature."""
    return np.zeros(shape, dtype=dtype or get_default_dtype())


def lecun_uniform(shape, rng=None, dtype=None) -> np.ndarray:
    """U(-b, b) with b = sqrt(3 / fan_in): variance 1 / fan_in."""
    fan_in, _ = _fans(shape, "lecun_uniform")
    b = math.sqrt(3.0 / fan_in)
    return uniform(shape, -b, b, rng, dtype)


def xavier_uniform(shape, rng=None, dtype=None) -> np.ndarray:
    """U(-b, b) with b = sqrt(6 / (fan_in + fan_out)) (Glorot uniform)."""
    fan_in, fan_out = _fans(shape, "xavier_uniform")
    b = math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, -b, b, rng, dtype)


def xavier_normal(shape, rng=None, dtype=None) -> np.ndarray:
    """N(0, std^2) with std = sqrt(2 / (fan_in + fan_out)) (Glorot normal, untruncated)."""
    fan_in, fan_out = _fans(shape, "xavier_normal")
    return normal(shape, 0.0, math.sqrt(2.0 / (fan_in + fan_out)), rng, dtype)


def he_uniform(shape, rng=None, dtype=None) -> np.ndarray:
    """U(-b, b) with b = sqrt(6 / fan_in) (Kaiming uniform for ReLU, gain sqrt(2))."""
    fan_in, _ = _fans(shape, "he_uniform")
    b = math.sqrt(6.0 / fan_in)
    return uniform(shape, -b, b, rng, dtype)


def he_normal(shape, rng=None, dtype=None) -> np.ndarray:
    """N(0, std^2) with std = sqrt(2 / fan_in) (Kaiming normal for ReLU, untruncated)."""
    fan_in, _ = _fans(shape, "he_normal")
    return normal(shape, 0.0, math.sqrt(2.0 / fan_in), rng, dtype)


SCHEMES = {
    "zeros": zeros,
    "lecun_uniform": lecun_uniform,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
}
ALIASES = {"lecun": "lecun_uniform", "xavier": "xavier_uniform", "glorot": "xavier_uniform",
           "he": "he_uniform", "kaiming": "he_uniform"}


def get(init, where: str):
    """Resolve ``init``: a scheme name (or alias), or a callable ``fn(shape, rng, dtype)``."""
    if callable(init):
        return init
    name = ALIASES.get(init, init)
    if name not in SCHEMES:
        raise ArgumentError(
            f"{where}: unknown init {init!r}; use one of {', '.join([*SCHEMES, *ALIASES])}, or a "
            "function fn(shape, rng, dtype) returning an array, e.g. "
            "lambda s, rng, dtype: nn.init.uniform(s, -0.05, 0.05, rng, dtype)"
        )
    return SCHEMES[name]


# --- PyTorch's in-place spellings -------------------------------------------------------------
#
# ``nn.init.kaiming_uniform_(layer.weight)`` and friends fill an existing tensor in place, as
# ``torch.nn.init`` does: under no_grad (so they work on parameters, which require grad), as a
# noted write (a graph built before that still needs the old values refuses to run backward),
# drawing from the library's generator or ``generator=``. The fans follow PyTorch's rule for the
# tensor's shape, whatever layer it belongs to (``_calculate_fan_in_and_fan_out``).


def _target(tensor, name: str):
    from ..autograd.function import TensorBase

    if not isinstance(tensor, TensorBase):
        base = name.rstrip("_")
        hint = (f"; nn.init.{base}(shape) makes a new array" if base in SCHEMES
                or base in ("uniform", "normal") else "")
        raise ArgumentError(f"nn.init.{name}: expected a Tensor to fill in place (such as "
                            f"layer.weight), got {type(tensor).__name__}{hint}")
    if tensor.dtype.kind != "f":
        raise DTypeError(f"nn.init.{name}: needs a floating tensor, got dtype {tensor.dtype} "
                         f"(shape {tensor.shape})")
    return tensor


def _fill(tensor, values, name: str):
    from .._modes import no_grad

    with no_grad():
        return _target(tensor, name).copy_(np.asarray(values))


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The gain PyTorch recommends for a nonlinearity: 1 for linear, conv and sigmoid, 5/3 for
    tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope ``param``, default
    0.01), 3/4 for selu."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ArgumentError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ArgumentError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of "
                        f"{', '.join(linear)}, tanh, relu, leaky_relu, selu")


# 2-D weights in PyTorch's own (rows, features) layout: nn.Embedding's table, whose fan_in is
# its feature width as in PyTorch (id -> a weak reference, so the table is not kept alive; a
# WeakSet would compare tensors with ==, which is elementwise here)
_TABLES: dict = {}


def _mark_table(weight) -> None:
    """Read ``weight`` (a 2-D tensor) in PyTorch's layout: fan_in = shape[1]."""
    key = id(weight)
    _TABLES[key] = weakref.ref(weight, lambda _, key=key: _TABLES.pop(key, None))


def _is_table(tensor) -> bool:
    ref = _TABLES.get(id(tensor))
    return ref is not None and ref() is tensor


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """The fans of a weight, in this library's layouts: a 2-D weight is (in, out) as
    ``Linear``'s, so fan_in = shape[0] and fan_out = shape[1] (what the other initializers
    here read); a convolution weight (out, in / groups, *kernel) is PyTorch's layout, so
    fan_in = in * prod(kernel) and fan_out = out * prod(kernel).

    A PyTorch init loop ported as is (``kaiming_normal_(layer.weight)`` for every layer) thus
    gets each layer's true fan_in; a 2-D matrix in PyTorch's own (out, in) layout needs
    ``mode="fan_out"`` for its fan_in. An ``nn.Embedding`` table is read as PyTorch reads it
    (fan_in = embedding_dim)."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ShapeError(f"nn.init: fan in and fan out cannot be computed for a tensor of shape "
                         f"{shape}: it needs at least 2 dimensions (a 1-D bias has no fans; use "
                         "uniform_ or zeros_)")
    if len(shape) == 2:
        return (shape[1], shape[0]) if _is_table(tensor) else (shape[0], shape[1])
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode: str, name: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ArgumentError(f"nn.init.{name}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _finite(name: str, **values) -> None:
    for key, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not math.isfinite(v):
            raise ArgumentError(f"nn.init.{name}: {key} must be a finite number, got {v!r}")


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with U(a, b) (NumPy's ``uniform(a, b)`` draws, cast to the tensor's dtype)."""
    _finite("uniform_", a=a, b=b)
    if not a <= b:
        raise ArgumentError(f"nn.init.uniform_: needs a <= b, got a={a}, b={b}")
    return _fill(tensor, get_rng(generator).uniform(a, b, tuple(tensor.shape)), "uniform_")


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with N(mean, std^2)."""
    _finite("normal_", mean=mean, std=std)
    if std < 0:
        raise ArgumentError(f"nn.init.normal_: std must be >= 0, got {std}")
    return _fill(tensor, normal(tuple(tensor.shape), mean, std, generator, np.float64),
                 "normal_")


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None):
    """Fill with N(mean, std^2) truncated to [a, b] (absolute bounds, as PyTorch).

    Draws outside are drawn again while that is cheap (at least a fifth of the mass lies in
    [a, b]); otherwise each value is the inverse normal CDF of a uniform draw between the
    bounds' CDFs, as PyTorch does, so bounds far in a tail cost no more than wide ones."""
    _finite("trunc_normal_", mean=mean, std=std, a=a, b=b)
    if not a < b:
        raise ArgumentError(f"nn.init.trunc_normal_: needs a < b, got a={a}, b={b}")
    if not std > 0:
        raise ArgumentError(f"nn.init.trunc_normal_: std must be > 0, got {std}")
    rng = get_rng(generator)
    shape = tuple(tensor.shape)
    lo, hi = (a - mean) / std, (b - mean) / std
    flip = lo > 0  # the tail above the mean, drawn as its mirror image: the CDF keeps precision
    if flip:
        lo, hi = -hi, -lo
    cdf = statistics.NormalDist().cdf
    p_lo, p_hi = cdf(lo), cdf(hi)
    if p_hi - p_lo >= 0.2:
        z = rng.standard_normal(shape)
        outside = (z < lo) | (z > hi)
        while outside.any():  # each round keeps at least a fifth: a few rounds
            z[outside] = rng.standard_normal(int(outside.sum()))
            outside = (z < lo) | (z > hi)
    elif p_hi > p_lo:
        inv = np.vectorize(statistics.NormalDist().inv_cdf, otypes=[np.float64])
        z = np.clip(inv(rng.uniform(p_lo, p_hi, shape)), lo, hi)
    else:  # both bounds beyond the reach of float64's CDF: everything sits at the near bound
        z = np.full(shape, hi)
    values = mean + std * (-z if flip else z)
    return _fill(tensor, np.clip(values, a, b), "trunc_normal_")


def constant_(tensor, val: float):
    """Fill with ``val``, a number (as PyTorch; ``copy_`` copies an array)."""
    if np.ndim(val) != 0:
        raise ArgumentError(f"nn.init.constant_: val must be a number, got an array of shape "
                            f"{np.shape(val)}; use tensor.copy_(array) to copy values")
    return _fill(tensor, val, "constant_")


def ones_(tensor):
    """Fill with ones."""
    return _fill(tensor, 1.0, "ones_")


def zeros_(tensor):
    """Fill with zeros."""
    return _fill(tensor, 0.0, "zeros_")


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal)."""
    if tensor.ndim != 2:
        raise ShapeError(f"nn.init.eye_: needs a 2-D tensor, got shape {tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape), "eye_")


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Fill with U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot uniform)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_target(tensor, "xavier_uniform_"))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Fill with N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)) (Glorot normal)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_target(tensor, "xavier_normal_"))
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None):
    """Fill with U(-b, b), b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a)
    (He uniform). PyTorch's Conv2d and Linear defaults are ``a=sqrt(5)``: b = 1 / sqrt(fan_in)."""
    fan = _fan(_target(tensor, "kaiming_uniform_"), mode, "kaiming_uniform_")
    if fan == 0:
        return tensor
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None):
    """Fill with N(0, std^2), std = gain / sqrt(fan) (He normal)."""
    fan = _fan(_target(tensor, "kaiming_normal_"), mode, "kaiming_normal_")
    if fan == 0:
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator)


def orthogonal_(tensor, gain: float = 1.0, generator=None):
    """Fill with a (semi-)orthogonal matrix times ``gain``: the Q of the QR decomposition of a
    Gaussian matrix of shape (size(0), numel / size(0)), signs fixed so that it is uniformly
    distributed (as PyTorch)."""
    _target(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ShapeError(f"nn.init.orthogonal_: needs at least 2 dimensions, got shape "
                         f"{tuple(tensor.shape)}")
    rows = tensor.shape[0]
    cols = tensor.size // rows if rows else 0
    flat = get_rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape), "orthogonal_")
