"""Speed kernels: array-only replacements for a few textbook formulas in ``ops.py``.

Each kernel computes what its formula computes, faster on NumPy, and is used only for
first-order work on arrays (a ``create_graph`` backward always runs the textbook formula).
``ENABLED`` switches them all off at once: ``tests/test_fastpath.py`` trains with and without
them and compares. ``python -m benchmarks.micro`` measures what each one saves.
"""

from __future__ import annotations

import numpy as np

ENABLED = True

_CONSTANTS: dict = {}  # (maker, its arguments) -> the read-only array it made


def constant(make, *args) -> np.ndarray:
    """``make(*args)`` (np.ones, np.arange), made once and kept read-only: the vectors of ones
    for the BLAS reductions below and the loss's row offsets are asked for every training step,
    and making them (np.ones is a Python function) costs as much as the small product itself."""
    key = (make, args)
    a = _CONSTANTS.get(key)
    if a is None:
        if len(_CONSTANTS) > 64:  # many shapes (a varying batch size): keep the cache small
            _CONSTANTS.clear()
        a = _CONSTANTS[key] = make(*args)
        a.flags.writeable = False
    return a


def sum_rows(g: np.ndarray) -> np.ndarray:
    """``g.sum(axis=0)`` for a 2-D float ``g``, as the product ``ones @ g``: NumPy sums a short
    column one row at a time, while a matrix-vector product runs across rows in BLAS. (A bias
    gradient.)"""
    return constant(np.ones, len(g), g.dtype) @ g


def row_max(Z: np.ndarray) -> np.ndarray:
    """``Z.max(axis=1, keepdims=True)`` for a 2-D ``Z``. NumPy reduces a short row with one
    call per row; down the columns of the transposed copy it is one vectorised pass, which wins
    for up to about 32 columns (class scores)."""
    if Z.shape[1] > 32:
        return Z.max(axis=1, keepdims=True)
    return np.maximum.reduce(Z.T.copy(), axis=0)[:, None]


def row_sum(E: np.ndarray) -> np.ndarray:
    """``E.sum(axis=1, keepdims=True)`` for a 2-D float ``E``, as the product ``E @ ones``."""
    return E @ constant(np.ones, (E.shape[1], 1), E.dtype)


def log_softmax_rows(Z: np.ndarray) -> np.ndarray:
    """``log_softmax(Z, axis=1)`` of a 2-D float ``Z`` with the row reductions above."""
    shifted = Z - row_max(Z)
    return shifted - np.log(row_sum(np.exp(shifted)))


# --- convolution and pooling (ops.Conv2d, ops.MaxPool2d) ----------------------------------------
#
# The convolution runs over chunks of samples whose columns (K = C/G * kh * kw filter taps by
# L = oh * ow positions each) fit in the L2 cache: unfold a chunk, multiply, move on. The whole
# (N, K, L) column array is never made, so no chunk of memory that size is allocated and freed
# each step (for a small CNN it was the largest temporary, twice: the columns and their
# gradient), and col2im adds into an output whose chunk is still in cache. The backward
# unfolds each chunk again, which costs less than keeping the columns. Products are the
# formula's, sample by sample (one GEMM per sample and group, as NumPy's matmul runs them), so
# y and dx are bit-identical to it; dW and db add in another order.

CHUNK_BYTES = 1 << 19  # the columns of one chunk of samples


def _chunk(N: int, K: int, L: int, itemsize: int) -> int:
    return max(1, min(N, CHUNK_BYTES // max(1, K * L * itemsize)))


def _columns(out: np.ndarray, xpad: np.ndarray, geo) -> np.ndarray:
    """``out`` (n, K, L) <- unfold(xpad) for the n samples of ``xpad`` (already padded)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = geo.kernel, geo.stride, geo.dilation, geo.out
    s = xpad.strides
    windows = np.lib.stride_tricks.as_strided(
        xpad, (xpad.shape[0], xpad.shape[1], kh, kw, oh, ow),
        (s[0], s[1], s[2] * dh, s[3] * dw, s[2] * sh, s[3] * sw), writeable=False)
    np.copyto(out.reshape(windows.shape), windows)
    return out


def conv2d(xpad: np.ndarray, weight: np.ndarray, bias, groups: int, geo) -> np.ndarray:
    """y = W @ unfold(x) + b over the padded input ``xpad``, chunk by chunk."""
    N = xpad.shape[0]
    O, G = weight.shape[0], groups
    K, L = weight[0].size * G, geo.out[0] * geo.out[1]
    y = np.empty((N, O, L), dtype=np.result_type(weight, xpad))
    c = _chunk(N, K, L, xpad.itemsize)
    cols = np.empty((c, K, L), xpad.dtype)
    w = weight.reshape(G, O // G, K // G)
    for s in range(0, N, c):
        e = min(N, s + c)
        part = _columns(cols[:e - s], xpad[s:e], geo).reshape(e - s, G, K // G, L)
        np.matmul(w, part, out=y[s:e].reshape(e - s, G, O // G, L))
    if bias is not None:
        y += bias.reshape(1, O, 1)
    return y.reshape((N, O) + tuple(geo.out))


def conv2d_backward(g: np.ndarray, xpad: np.ndarray, weight: np.ndarray, groups: int, geo,
                    slices, need):
    """(dx of the padded input, dW, db) of the convolution, chunk by chunk: dWᵀ = sum of
    cols @ gᵀ (BLAS runs it faster than g @ colsᵀ here), dcols = Wᵀ @ g folded back with one
    strided add per kernel element (``slices``, in the formula's order), db a matrix-vector
    product per sample."""
    N, O = g.shape[:2]
    C = xpad.shape[1]
    G = groups
    K, L = weight[0].size * G, geo.out[0] * geo.out[1]
    taps = geo.kernel[0] * geo.kernel[1]
    gy = g.reshape(N, G, O // G, L)
    c = _chunk(N, K, L, xpad.itemsize)
    cols = np.empty((c, K, L), xpad.dtype) if need[1] else None
    dcols = np.empty((c, G, K // G, L), g.dtype) if need[0] else None
    dwt = np.zeros((G, K // G, O // G), g.dtype) if need[1] else None
    dx = np.zeros(xpad.shape, g.dtype) if need[0] else None
    wt = weight.reshape(G, O // G, K // G).swapaxes(-1, -2)
    for s in range(0, N, c):
        e = min(N, s + c)
        part = gy[s:e]
        if need[1]:
            cs = _columns(cols[:e - s], xpad[s:e], geo).reshape(e - s, G, K // G, L)
            dwt += (cs @ part.swapaxes(-1, -2)).sum(axis=0)
        if need[0]:
            d = np.matmul(wt, part, out=dcols[:e - s]).reshape((e - s, C, taps) + geo.out)
            into = dx[s:e]
            for k, (rows, columns) in enumerate(slices):
                into[:, :, rows, columns] += d[:, :, k]
    dw = None if dwt is None else np.ascontiguousarray(dwt.swapaxes(-1, -2)).reshape(
        weight.shape)
    db = (g.reshape(N, O, L) @ np.ones(L, g.dtype)).sum(axis=0) if need[2] else None
    return dx, dw, db


def max_pool2d(x: np.ndarray, slices):
    """Max pooling of the padded ``x`` as one pass per kernel element (``slices``: where
    element k of every window is, in window order) instead of an argmax over a copy of all
    windows: ``(y, first)``, ``first`` the window position of the first maximum, as the
    formula's argmax gives. None if a NaN reached the output (the formula then decides)."""
    rows, columns = slices[0]
    y = x[:, :, rows, columns].copy()
    code = np.min_scalar_type(len(slices) - 1).type
    first = np.zeros(y.shape, code)
    bigger = np.empty(y.shape, bool)
    step = np.empty(y.shape, code)
    for k, (rows, columns) in enumerate(slices[1:], 1):
        v = x[:, :, rows, columns]
        np.greater(v, y, out=bigger)  # strictly: an equal value later does not take over
        # first = k where bigger: k exceeds every earlier position, so a max does it (a masked
        # copy is several times slower)
        np.maximum(first, np.multiply(bigger, code(k), out=step), out=first)
        np.maximum(y, v, out=y)
    if np.isnan(y.sum()):
        return None
    return y, first


def max_pool2d_backward(g: np.ndarray, first: np.ndarray, slices, padded_shape, tiles: bool):
    """dx of the padded input: g at each window's first maximum, added up where windows
    overlap (in window order, as the formula's fold adds); written directly when the windows
    tile the input."""
    dx = (np.empty if tiles else np.zeros)(padded_shape, g.dtype)
    hit = np.empty(first.shape, bool)
    for k, (rows, columns) in enumerate(slices):
        np.equal(first, k, out=hit)
        if tiles:
            np.multiply(g, hit, out=dx[:, :, rows, columns])
        else:
            dx[:, :, rows, columns] += g * hit
    return dx
