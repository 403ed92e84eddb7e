"""One process-wide ``numpy.random.Generator`` behind every random draw in tinygrad_np.

``manual_seed(n)`` makes a run reproducible bit for bit; any function that draws also takes an
explicit ``rng=`` for code that wants its own stream.
"""

import numpy as np

from .errors import ArgumentError

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator (like ``torch.manual_seed``) and return it."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def get_rng(rng: np.random.Generator | None = None) -> np.random.Generator:
    """``rng`` if given (a NumPy ``Generator`` or a legacy ``RandomState``), else the global
    generator."""
    if rng is None:
        return _rng
    if not isinstance(rng, (np.random.Generator, np.random.RandomState)):
        raise ArgumentError(f"generator/rng must be a NumPy Generator (np.random.default_rng(0)) "
                            f"or RandomState, or None for the library's own; got "
                            f"{type(rng).__module__}.{type(rng).__name__} (a seed goes to "
                            "tinygrad_np.manual_seed)")
    return rng
