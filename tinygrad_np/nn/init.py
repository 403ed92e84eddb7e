"""Weight initializers: each returns a fresh ``np.ndarray`` of the given shape.

Every draw goes through a NumPy generator (``tinygrad_np.random.get_rng(rng)``), so
``tinygrad_np.manual_seed(n)`` or an explicit ``rng=`` makes weights identical from run to run.
``rng`` may also be a legacy ``np.random.RandomState``, to reproduce code that seeded NumPy's
global generator. Values are drawn in float64 (exactly NumPy's draws) and then cast to ``dtype``
(the default float dtype, float32, unless given).

Fans follow this library's weight layout ``(in_features, out_features)``: for a 2-D shape
``(a, b)``, ``fan_in = a`` and ``fan_out = b`` (PyTorch's ``(out, in)`` layout reads them the
other way round). The standard schemes:

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

import numpy as np

from .._modes import get_default_dtype
from ..errors import ArgumentError, ShapeError
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
