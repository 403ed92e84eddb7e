"""One process-wide ``numpy.random.Generator`` behind every random draw in tinygrad_np.

``manual_seed(n)`` makes a run reproducible bit for bit; any function that draws also takes an
explicit ``rng=`` for code that wants its own stream.
"""

import numpy as np

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator (like ``torch.manual_seed``) and return it."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def get_rng(rng: np.random.Generator | None = None) -> np.random.Generator:
    """``rng`` if given, else the global generator."""
    return _rng if rng is None else rng
