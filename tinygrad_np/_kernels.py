"""Speed kernels: array-only replacements for a few textbook formulas in ``ops.py``.

Each kernel computes what its formula computes, faster on NumPy, and is used only for
first-order work on arrays (a ``create_graph`` backward always runs the textbook formula).
``ENABLED`` switches them all off at once: ``tests/test_fastpath.py`` trains with and without
them and compares. ``python -m benchmarks.micro`` measures what each one saves.
"""

from __future__ import annotations

import numpy as np

ENABLED = True


def sum_rows(g: np.ndarray) -> np.ndarray:
    """``g.sum(axis=0)`` for a 2-D float ``g``, as the product ``ones @ g``: NumPy sums a short
    column one row at a time, while a matrix-vector product runs across rows in BLAS. (A bias
    gradient.)"""
    return np.ones(len(g), g.dtype) @ g


def row_max(Z: np.ndarray) -> np.ndarray:
    """``Z.max(axis=1, keepdims=True)`` for a 2-D ``Z``. NumPy reduces a short row with one
    call per row; down the columns of the transposed copy it is one vectorised pass, which wins
    for up to about 32 columns (class scores)."""
    if Z.shape[1] > 32:
        return Z.max(axis=1, keepdims=True)
    return Z.T.copy().max(axis=0)[:, None]


def row_sum(E: np.ndarray) -> np.ndarray:
    """``E.sum(axis=1, keepdims=True)`` for a 2-D float ``E``, as the product ``E @ ones``."""
    return E @ np.ones((E.shape[1], 1), E.dtype)


def log_softmax_rows(Z: np.ndarray) -> np.ndarray:
    """``log_softmax(Z, axis=1)`` of a 2-D float ``Z`` with the row reductions above."""
    shifted = Z - row_max(Z)
    return shifted - np.log(row_sum(np.exp(shifted)))
