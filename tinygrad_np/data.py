"""Data for training: mini-batches, one-hot labels, splits, IDX files and the standard data sets.

Everything here returns NumPy arrays (a dataset of Tensors gives Tensor batches); wrap a batch
with ``Tensor(xb)`` when it enters a model.
The core install is NumPy + graphviz, so the optional libraries (pooch for the download cache's
location, tqdm for the progress bar, scikit-learn for ``digits()``) are imported inside the
functions that need them: ``pip install 'tinygrad-np[data]'`` installs all three.

Where ``mnist()`` and ``fashion_mnist()`` look for the four IDX files, first match wins:

1. the ``data_dir`` argument, else the environment variable ``TINYGRAD_NP_MNIST_DIR``
   (``TINYGRAD_NP_FASHION_MNIST_DIR``): a directory that already holds the files, gzipped or not;
2. Fashion-MNIST only: ``/usr/share/datasets/fashion-mnist`` when it holds all four files
   (Debian's ``dataset-fashion-mnist`` package puts them there);
3. the per-user cache, ``$TINYGRAD_NP_CACHE`` or else ``pooch.os_cache("tinygrad_np")``, one
   folder per data set, downloading whatever is missing from ``base_url`` (else
   ``$TINYGRAD_NP_MNIST_URL`` / ``$TINYGRAD_NP_FASHION_MNIST_URL``, else the official mirror).

A download is checked against the official size and md5 of its ``.gz`` file before it is kept. It
may not grow past that size, nor take longer than ``timeout`` seconds per file, retries included
(default ``$TINYGRAD_NP_DOWNLOAD_TIMEOUT``, else 600); a transient failure (HTTP 5xx, 408 or 429,
a connection reset or cut short) is retried twice, after 1 s and 2 s. A failed or corrupt download
leaves nothing in the cache, and a killed one's temporary file is removed by the next download.

A directory you point at is not held to those checksums (a recompressed copy has a different
``.gz`` but the same content); it is checked for structure instead: IDX headers, 28x28 uint8
images, the 60,000/10,000 counts (from each header, before its payload is read), labels 0..9.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.client
import importlib
import importlib.util
import math
import os
import sys
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from . import _files
from .errors import (
    ArgumentError,
    DataError,
    DTypeError,
    MissingDependencyError,
    OutOfRangeError,
    ShapeError,
)
from .random import get_rng
from .tensor import Tensor

__all__ = ["DataLoader", "TensorDataset", "default_collate", "digits", "fashion_mnist",
           "load_idx", "mnist", "one_hot", "train_test_split"]

# --- batches, labels and splits ------------------------------------------------------------------


def _as_array(x) -> np.ndarray:
    """A Tensor's array, or ``np.asarray(x)``: the helpers here accept both."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _own_rng(fn: str, seed) -> np.random.Generator | None:
    """None stays None (use the global generator when drawing); an int seeds a new Generator."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) \
            or seed < 0:
        raise ArgumentError(f"{fn}: seed must be an int >= 0, a numpy.random.Generator or None, "
                            f"got {seed!r}; pass seed=0 for a fixed order")
    return np.random.default_rng(seed)


def _flag(fn: str, key: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentError(f"{fn}: {key} must be True or False, got {value!r}; a string such "
                            "as 'no' is not a flag (it would read as True)")
    return bool(value)


def _count(fn: str, key: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ArgumentError(f"{fn}: {key} must be a number of samples (an int), got {value!r}; "
                            "for a fraction pass test_size=")
    return int(value)


def _check_pair(fn: str, X: np.ndarray, y: np.ndarray) -> None:
    if X.ndim == 0 or y.ndim == 0:
        raise ShapeError(f"{fn}: X has shape {X.shape} and y has shape {y.shape}: both need a "
                         "first dimension that counts the samples")
    if len(X) != len(y):
        hint = ""
        if X.ndim > 1 and y.shape[1:] == X.shape[1:]:  # y looks like samples, not labels
            hint = ("; y has the samples' shape: if it came from train_test_split, that returns "
                    "(X_train, y_train, X_test, y_test), as mnist() does (scikit-learn's order "
                    "is X_train, X_test, y_train, y_test)")
        raise ShapeError(f"{fn}: X has shape {X.shape} and y has shape {y.shape}: they need the "
                         f"same length (first dimension), got {len(X)} samples and {len(y)} labels"
                         + hint)


class TensorDataset:
    """Samples from arrays or Tensors of equal length, as ``torch.utils.data.TensorDataset``:
    ``dataset[i]`` is the tuple of their rows ``i`` (Tensors stay Tensors, without grad)."""

    def __init__(self, *tensors):
        if not tensors:
            raise ArgumentError("TensorDataset: give at least one array or Tensor, as "
                                "TensorDataset(X, y)")
        arrays = [_as_array(t) for t in tensors]
        for a in arrays:
            if a.ndim == 0 or len(a) != len(arrays[0]):
                raise ShapeError(f"TensorDataset: the arrays have shapes "
                                 f"{', '.join(str(b.shape) for b in arrays)}; they need a first "
                                 "dimension of the same length (one row per sample)")
        self.tensors = tensors
        self._arrays = arrays
        self._kinds = [isinstance(t, Tensor) for t in tensors]

    def __len__(self) -> int:
        return len(self._arrays[0])

    def __getitem__(self, index):
        return self._rows(index)

    def _rows(self, index) -> tuple:
        return tuple(Tensor(a[index]) if is_tensor else a[index]
                     for a, is_tensor in zip(self._arrays, self._kinds))


def default_collate(samples: list):
    """One batch from a list of samples: arrays, numbers and Tensors are stacked along a new
    first axis (Tensors into a Tensor), tuples and dicts field by field, strings kept in a list.
    """
    if not len(samples):
        raise ArgumentError("default_collate: got an empty list of samples; a batch needs at "
                            "least one")
    first = samples[0]
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ShapeError(f"DataLoader: the samples of a batch have {len(first)} and "
                             f"{next(len(s) for s in samples if len(s) != len(first))} fields; "
                             "every sample must have the same fields")
        return tuple(default_collate(list(field)) for field in zip(*samples))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, Tensor):
        return Tensor(_stack([s.data for s in samples]))
    if isinstance(first, (np.ndarray, np.generic, int, float, bool)):
        return _stack([np.asarray(s) for s in samples])
    raise ArgumentError(f"DataLoader: cannot batch samples of type {type(first).__name__}; "
                        "return arrays, numbers, Tensors or tuples of them from __getitem__, or "
                        "pass collate_fn= to batch them yourself")


def _stack(arrays: list[np.ndarray]) -> np.ndarray:
    shape = arrays[0].shape
    for k, a in enumerate(arrays):
        if a.shape != shape:
            raise ShapeError(f"DataLoader: samples 0 and {k} of a batch have shapes {shape} and "
                             f"{a.shape}; samples must have one shape to be stacked (pad them, "
                             "or pass collate_fn= to batch them yourself)")
    return np.stack(arrays)


class DataLoader:
    """Iterate over mini-batches, reshuffled every epoch.

    Two forms. Arrays: ``DataLoader(X, y, batch_size=32)`` yields ``(xb, yb)`` NumPy arrays
    (``DataLoader(X, batch_size=32)``: ``xb`` alone); Tensors are read as their arrays. A
    dataset, as in PyTorch: any object with ``__len__`` and ``__getitem__`` (a
    ``TensorDataset``, or your own class returning a sample, or a tuple of them), batched by
    ``collate_fn`` (default: ``default_collate``, which stacks each field).

    ``for xb, yb in loader`` is one epoch; ``len(loader)`` is the number of batches in it. The last
    batch is smaller when ``batch_size`` does not divide the data, unless ``drop_last=True``.
    ``shuffle`` is True by default (PyTorch's is False: pass ``shuffle=False`` for evaluation
    order).

    ``seed`` (or PyTorch's name, ``generator``): None draws each epoch's order from the global
    generator (so ``tinygrad_np.manual_seed`` makes runs reproducible); an int or a
    ``numpy.random.Generator`` gives the loader its own stream, so the same seed replays the same
    sequence of epochs. The order is the same for arrays and for a dataset of the same length.

    Copies: for arrays without shuffling every batch is a view of ``X`` and ``y``. With shuffling
    each batch is gathered by fancy indexing from one permutation per epoch: no second copy of
    the data is held, and on MNIST-sized arrays it measured faster than copying the permuted set
    once per epoch and slicing views. A ``TensorDataset`` is batched the same way, without a
    Python call per sample.
    """

    def __init__(self, dataset, y=None, batch_size: int = 1, shuffle: bool = True,
                 drop_last: bool = False, seed: int | np.random.Generator | None = None, *,
                 collate_fn=None, generator: int | np.random.Generator | None = None):
        if isinstance(y, (int, np.integer)) and not isinstance(y, bool) and batch_size == 1:
            y, batch_size = None, y  # DataLoader(dataset, 32), PyTorch's positional batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise ArgumentError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
        if batch_size <= 0:
            raise ArgumentError(f"DataLoader: batch_size must be positive, got {batch_size}")
        if seed is not None and generator is not None:
            raise ArgumentError("DataLoader: pass seed= or generator=, not both (they are the "
                                "same setting)")
        shuffle = _flag("DataLoader", "shuffle", shuffle)
        drop_last = _flag("DataLoader", "drop_last", drop_last)
        rng = _own_rng("DataLoader", seed if generator is None else generator)
        array = isinstance(dataset, (np.ndarray, np.generic, Tensor))
        array_like = array or isinstance(dataset, (list, tuple))
        if y is not None and not array_like and hasattr(dataset, "__getitem__"):
            raise ArgumentError(f"DataLoader: got a dataset ({type(dataset).__name__}) and y; a "
                                "dataset returns its own labels from __getitem__: wrap arrays "
                                "as TensorDataset(X, y), or pass arrays X, y")
        if y is not None or array:  # the array form
            arrays = [_as_array(dataset)] if y is None else [_as_array(dataset), _as_array(y)]
            if y is not None:
                _check_pair("DataLoader", *arrays)
            elif arrays[0].ndim == 0:
                raise ShapeError(f"DataLoader: X has shape {arrays[0].shape}: it needs a first "
                                 "dimension that counts the samples")
            self.X, self.y, self.dataset = arrays[0], (arrays[1] if y is not None else None), None
            self._arrays, self._kinds = arrays, None
        else:  # a dataset (a list of samples is one too)
            if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
                raise ArgumentError(f"DataLoader: expected arrays (X, y) or a dataset with "
                                    f"__len__ and __getitem__, got {type(dataset).__name__}")
            self.dataset = dataset
            fast = isinstance(dataset, TensorDataset) and collate_fn is None
            self._arrays = dataset._arrays if fast else None
            self._kinds = dataset._kinds if fast else None
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self._rng = rng

    def __len__(self) -> int:
        n = len(self._arrays[0]) if self._arrays is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        arrays, size = self._arrays, self.batch_size
        n = len(arrays[0]) if arrays is not None else len(self.dataset)
        stop = n - n % size if self.drop_last else n
        order = get_rng(self._rng).permutation(n) if self.shuffle else None
        for start in range(0, stop, size):
            index = order[start:start + size] if order is not None else slice(start,
                                                                               start + size)
            if arrays is None:  # a dataset: one __getitem__ per sample, then collate
                rows = range(n)[index] if order is None else index.tolist()
                yield self.collate_fn([self.dataset[i] for i in rows])
            elif self._kinds is not None:  # a TensorDataset: its arrays, fancy-indexed
                yield tuple(Tensor(a[index]) if is_tensor else a[index]
                            for a, is_tensor in zip(arrays, self._kinds))
            elif len(arrays) == 1:
                yield arrays[0][index]
            else:
                yield arrays[0][index], arrays[1][index]


def one_hot(labels, num_classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """Integer labels of any shape -> an array of shape ``labels.shape + (num_classes,)``.

    ``num_classes`` defaults to ``labels.max() + 1``; pass it explicitly for a batch that may lack
    the highest class. A label outside ``0 .. num_classes - 1`` raises OutOfRangeError.
    """
    labels = _as_array(labels)
    if labels.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: labels must be integers, got dtype {labels.dtype}; convert "
                         "whole-number labels with labels.astype(np.int64)")
    if num_classes is None:
        if labels.size == 0:
            raise ArgumentError("one_hot: cannot infer num_classes from empty labels; pass "
                                "num_classes=")
        num_classes = int(labels.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ArgumentError(f"one_hot: num_classes must be a positive int, got "
                            f"{num_classes!r}")
    outside = (labels < 0) | (labels >= num_classes)
    if outside.any():
        where = tuple(int(i) for i in np.argwhere(outside)[0])
        raise OutOfRangeError(f"one_hot: label {labels[where]} at index {where} is outside "
                              f"0..{num_classes - 1} (num_classes={num_classes}); "
                              f"{int(outside.sum())} of {labels.size} labels are out of range")
    out = np.zeros(labels.shape + (int(num_classes),), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


def train_test_split(X, y, test_size: float = 0.25, *, n_test: int | None = None,
                     n_train: int | None = None, shuffle: bool = True,
                     seed: int | np.random.Generator | None = None):
    """Split samples into ``(X_train, y_train, X_test, y_test)``, the order ``mnist()`` returns.

    (scikit-learn's function returns ``X_train, X_test, y_train, y_test``: mind the order.)

    The test set has ``n_test`` rows, else ``ceil(test_size * len(X))`` as in scikit-learn; the
    training set has ``n_train`` rows, else all the others. Without shuffling the training rows
    come first and the test rows right after them, as views; with shuffling both are drawn from
    one permutation (``seed`` as in DataLoader). Seed 002 is ``test_size=0.2, shuffle=False``;
    seed 003 is ``n_train=40_000, n_test=2_000``.
    """
    X, y = _as_array(X), _as_array(y)
    fn = "train_test_split"
    _check_pair(fn, X, y)
    shuffle = _flag(fn, "shuffle", shuffle)
    rng = _own_rng(fn, seed)
    n_test = None if n_test is None else _count(fn, "n_test", n_test)
    n_train = None if n_train is None else _count(fn, "n_train", n_train)
    n = len(X)
    if n_test is None:
        if isinstance(test_size, (bool, np.bool_)) or not isinstance(
                test_size, (int, float, np.integer, np.floating)) or not 0 < test_size < 1:
            raise ArgumentError(f"train_test_split: test_size is a fraction in (0, 1), got "
                                f"{test_size!r}; pass n_test= for a number of samples")
        n_test = math.ceil(test_size * n)
    n_train = n - n_test if n_train is None else n_train
    if n_test < 0 or n_train < 0 or n_train + n_test > n:
        raise ArgumentError(f"train_test_split: cannot take {n_train} training and {n_test} "
                            f"test samples from {n}")
    if not shuffle:
        train, test = slice(0, n_train), slice(n_train, n_train + n_test)
    else:
        order = get_rng(rng).permutation(n)
        train, test = order[:n_train], order[n_train:n_train + n_test]
    return X[train], y[train], X[test], y[test]


# --- IDX files -----------------------------------------------------------------------------------

# IDX type codes (the third byte of the magic number); multi-byte values are big-endian.
_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"
# Deflate cannot compress better than about 1032:1, which bounds what a .gz file can hold.
_DEFLATE_MAX_RATIO = 1032
_MAX_NDIM = 32  # NumPy 1.x's limit (2.x allows 64); no IDX data set comes near it
_CHUNK = 1 << 20


def load_idx(path, *, shape: tuple | None = None, dtype=None) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not, into an array of its shape and dtype.

    The layout: two zero bytes, a type code, the number of dimensions n, n big-endian uint32
    sizes, then the values. Everything is checked; a bad magic number, a header cut short,
    a payload shorter or longer than the sizes say, or a damaged gzip stream raises DataError
    naming the file and the defect. ``shape`` and ``dtype``, when given, are what the header
    must declare: checked before any of the payload is read. Memory follows the bytes the file
    really holds, whatever its header declares. The array owns its memory and is writable.
    """
    path = Path(os.fsdecode(path))
    try:
        f, size = _files.open_regular(path)  # a FIFO or a device would never end
    except OSError as e:
        raise DataError(f"load_idx: cannot read {path}: {e.strerror or e}; point at the IDX "
                        "file itself") from None
    with f:
        try:
            gzipped = f.read(2) == _GZIP_MAGIC
            f.seek(0)
            if path.suffix == ".gz" and not gzipped:
                raise DataError(f"load_idx: {path}: bad gzip: the name ends in .gz but the file "
                                "does not start with the gzip bytes 1f 8b; download it again")
            if not gzipped:
                return _read_idx(f, path, size, exact=True, want=(shape, dtype))
            with gzip.GzipFile(fileobj=f, mode="rb") as g:
                return _read_idx(g, path, size * _DEFLATE_MAX_RATIO, exact=False,
                                 want=(shape, dtype))
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise DataError(f"load_idx: {path}: bad gzip stream ({e}): the file is truncated or "
                            "damaged; download it again") from None
        except OSError as e:
            raise DataError(f"load_idx: cannot read {path}: {e.strerror or e}") from None


def _read_idx(f, path: Path, max_bytes: int, exact: bool, want: tuple) -> np.ndarray:
    """Parse an open IDX stream of at most ``max_bytes`` (exactly that many when ``exact``)."""
    magic = f.read(4)
    codes = ", ".join(f"{code:02x} {np.dtype(t).name}" for code, t in _IDX_DTYPES.items())
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in _IDX_DTYPES:
        raise DataError(f"load_idx: {path}: bad magic number {magic.hex(' ') or '(empty file)'}: "
                        f"an IDX file starts with 00 00, a type code ({codes}) and the number "
                        "of dimensions; is this an IDX file?")
    ndim = magic[3]
    if ndim > _MAX_NDIM:
        raise DataError(f"load_idx: {path}: wrong dims: the header declares {ndim} dimensions; "
                        f"arrays have at most {_MAX_NDIM}: is this an IDX file?")
    head = f.read(4 * ndim)
    if ndim == 0 or len(head) < 4 * ndim:
        raise DataError(f"load_idx: {path}: wrong dims: the header declares {ndim} dimensions "
                        f"({4 * ndim} bytes of sizes) but holds {len(head)} bytes of sizes")
    shape = tuple(int.from_bytes(head[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = np.dtype(_IDX_DTYPES[magic[2]])
    _check_declared(path, shape, dtype, *want)
    expected = math.prod(shape) * dtype.itemsize
    if math.prod(n for n in shape if n) * dtype.itemsize > sys.maxsize:  # even with a 0 in it
        raise DataError(f"load_idx: {path}: wrong dims: {shape} is too large for an array")
    present = max_bytes - 4 - 4 * ndim
    if expected > present:
        found = f"found {present}" if exact else f"the file can hold at most {max_bytes}"
        raise DataError(f"load_idx: {path}: short payload: dims {shape} of {dtype.name} need "
                        f"{expected} bytes after the header, {found}: the file is truncated")
    if exact and present > expected:
        raise DataError(f"load_idx: {path}: {present - expected} trailing bytes after the "
                        f"{expected} bytes that dims {shape} of {dtype.name} need: wrong dims or "
                        "a damaged file")
    payload, got = _read_up_to(f, expected, expected if exact else _CHUNK)
    if got < expected:
        raise DataError(f"load_idx: {path}: short payload: dims {shape} of {dtype.name} need "
                        f"{expected} bytes after the header, found {got}: the file is truncated")
    extra = len(f.read(_CHUNK))  # reading to the end also checks a gzip stream's CRC and length
    if extra:
        at_least = "at least " if extra == _CHUNK else ""
        raise DataError(f"load_idx: {path}: {at_least}{extra} trailing bytes after the "
                        f"{expected} bytes that dims {shape} of {dtype.name} need: wrong dims or "
                        "a damaged file")
    array = payload.view(dtype)
    if not dtype.isnative:  # swap in place: no second copy of the data
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array.reshape(shape)


def _check_declared(path: Path, shape: tuple, dtype: np.dtype, want_shape, want_dtype) -> None:
    """Refuse a header that declares other than what the caller expects, before the payload."""
    want_dtype = None if want_dtype is None else np.dtype(want_dtype)
    if ((want_shape is None or shape == tuple(want_shape))
            and (want_dtype is None or dtype.newbyteorder("=") == want_dtype)):
        return
    expected = [] if want_dtype is None else [want_dtype.name]
    expected += [] if want_shape is None else [f"shape {tuple(want_shape)}"]
    raise DataError(f"load_idx: {path}: its header declares {dtype.name} of shape {shape}; "
                    f"expected {' of '.join(expected)}: is it the right file?")


def _read_up_to(f, n: int, start: int) -> tuple[np.ndarray, int]:
    """Read up to ``n`` bytes into a uint8 array of length n; return it and the count read.

    The buffer starts at ``start`` bytes and doubles as data arrives, so a header that declares
    more than the stream holds costs only what the stream holds.
    """
    buf = np.empty(min(n, start), np.uint8)
    got = 0
    while got < n:
        if got == len(buf):
            # no view of buf is alive (readinto's argument was a temporary): realloc is safe
            buf.resize(min(2 * len(buf), n), refcheck=False)
        read = f.readinto(buf[got:got + _CHUNK])  # small reads: gzip inflates into a temporary
        if not read:
            break
        got += read
    return buf, got


# --- MNIST and Fashion-MNIST ---------------------------------------------------------------------

_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclasses.dataclass(frozen=True)
class _Source:
    """Where a 28x28 IDX data set comes from and what it must look like."""

    title: str
    folder: str  # its folder in the cache
    dir_env: str
    url_env: str
    base_url: str
    md5: dict  # official md5 of each downloaded .gz file
    sizes: dict  # its size in bytes: what a download may not exceed
    system_dir: Path | None = None
    n_train: int = 60_000
    n_test: int = 10_000
    num_classes: int = 10

    @property
    def fn(self) -> str:
        """The loader's name, for error messages."""
        return self.folder.replace("-", "_")


# Official .gz md5s: ../shared/datasets/mnist/README.md, the same as torchvision's
# MNIST.resources (torchvision/datasets/mnist.py); the URL is the S3 copy PyTorch hosts, one of
# torchvision's MNIST.mirrors. The sizes are the official files' (those md5s fix the bytes).
_MNIST = _Source(
    "MNIST", "mnist", "TINYGRAD_NP_MNIST_DIR", "TINYGRAD_NP_MNIST_URL",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
     "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
     "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
     "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
    {"train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
     "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542},
)

# Official URL and md5s: zalandoresearch/fashion-mnist README.md, "Get the Data" table. Sizes:
# the byte counts torchvision's and Keras's download bars print for these files (e.g.
# "4422102/4422102"); each is the size of Debian's dataset-fashion-mnist copy plus its gzip
# header's file name, which Debian's copy lacks (len(name) + 1 bytes).
_FASHION_MNIST = _Source(
    "Fashion-MNIST", "fashion-mnist", "TINYGRAD_NP_FASHION_MNIST_DIR",
    "TINYGRAD_NP_FASHION_MNIST_URL", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
     "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
     "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
     "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
    {"train-images-idx3-ubyte.gz": 26421880, "train-labels-idx1-ubyte.gz": 29515,
     "t10k-images-idx3-ubyte.gz": 4422102, "t10k-labels-idx1-ubyte.gz": 5148},
    system_dir=Path("/usr/share/datasets/fashion-mnist"),
)


def mnist(data_dir=None, *, base_url: str | None = None, progress: bool = True,
          timeout: float | None = None):
    """MNIST handwritten digits: ``(X_train, y_train, X_test, y_test)``.

    Images are uint8 arrays of shape (60000, 28, 28) and (10000, 28, 28), pixel values 0..255
    (divide by 255 for the usual [0, 1] scale); labels are int64, 0..9. The module docstring says
    where the files are looked for and how downloads are checked; ``progress`` shows a download
    progress bar (tqdm); ``timeout`` is the seconds each downloaded file may take, retries
    included.
    """
    return _load(_MNIST, data_dir, base_url, progress, timeout)


def fashion_mnist(data_dir=None, *, base_url: str | None = None, progress: bool = True,
                  timeout: float | None = None):
    """Fashion-MNIST (Zalando's clothing images), same layout and dtypes as ``mnist()``.

    Labels: 0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt,
    7 sneaker, 8 bag, 9 ankle boot.
    """
    return _load(_FASHION_MNIST, data_dir, base_url, progress, timeout)


def _load(src: _Source, data_dir, base_url: str | None, progress: bool, timeout):
    timeout = _deadline(src, timeout)  # checked even when nothing is downloaded: fail early
    if data_dir is not None:
        paths = _find_files(src, Path(os.fsdecode(data_dir)), "the data_dir argument")
    elif os.environ.get(src.dir_env):
        paths = _find_files(src, Path(os.environ[src.dir_env]), f"${src.dir_env}")
    elif src.system_dir is not None and all(_local_file(src.system_dir, n) for n in _FILES):
        paths = [_local_file(src.system_dir, name) for name in _FILES]
    else:
        paths = _download(src, base_url or os.environ.get(src.url_env) or src.base_url, progress,
                          timeout)
    return _read_checked(src, paths)


def _local_file(directory: Path, name: str) -> Path | None:
    """``name.gz`` or ``name`` in ``directory``, whichever exists.

    Not only regular files: load_idx then says what is wrong with a FIFO or a folder of that name.
    """
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.exists():
            return candidate
    return None


def _find_files(src: _Source, directory: Path, origin: str) -> list[Path]:
    if directory.exists() and not directory.is_dir():
        raise DataError(f"{src.fn}: data directory {directory} (from {origin}) is a file; pass "
                        "the directory that holds the four IDX files")
    if not directory.is_dir():
        raise DataError(f"{src.fn}: data directory {directory} (from {origin}) does not exist")
    paths = [_local_file(directory, name) for name in _FILES]
    missing = [f"{name}[.gz]" for name, path in zip(_FILES, paths) if path is None]
    if missing:
        raise DataError(f"{src.fn}: data directory {directory} (from {origin}) lacks "
                        f"{', '.join(missing)}; put the four {src.title} IDX files there, or "
                        f"leave data_dir and ${src.dir_env} unset to download them into the cache")
    return paths


# --- downloads -----------------------------------------------------------------------------------
# Our own small downloader, not pooch.retrieve: pooch cannot bound a download's size or its total
# time (its timeout is per read), retries only through Pooch objects and then also on 404 and bad
# checksums, and names its temporary files so that a killed download's one cannot be told from a
# live one's. pooch still names the per-user cache folder.

_DEADLINE_ENV = "TINYGRAD_NP_DOWNLOAD_TIMEOUT"
_DEFAULT_DEADLINE = 600.0  # seconds per file, retries included
_READ_TIMEOUT = 30.0  # seconds a connection may stay silent
_ATTEMPTS = 3
_BACKOFF = 1.0  # seconds before the first retry, doubling after each


class _Failed(Exception):
    """One download attempt failed; ``transient`` says whether another attempt may succeed."""

    def __init__(self, reason: str, transient: bool):
        super().__init__(reason)
        self.transient = transient


def _deadline(src: _Source, timeout) -> float:
    origin = "timeout="
    if timeout is None and os.environ.get(_DEADLINE_ENV):
        timeout, origin = os.environ[_DEADLINE_ENV], f"${_DEADLINE_ENV}"
    if timeout is None:
        return _DEFAULT_DEADLINE
    try:
        seconds = float(timeout)
    except (TypeError, ValueError):
        seconds = math.nan
    if not seconds > 0:  # NaN too
        raise DataError(f"{src.fn}: {origin} is {timeout!r}; it is the seconds each downloaded "
                        f"file may take: a positive number such as {_DEFAULT_DEADLINE:g}")
    return seconds


def _download(src: _Source, base_url: str, progress: bool, timeout: float) -> list[Path]:
    """Fetch the missing ``.gz`` files into the cache, each checked before it is kept."""
    pooch = _require("pooch", f"downloading {src.title}")
    cache = Path(os.environ.get("TINYGRAD_NP_CACHE") or pooch.os_cache("tinygrad_np"))
    cache = cache / src.folder
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{src.fn}: cannot create the cache folder {cache}: {e.strerror or e}; "
                        "set $TINYGRAD_NP_CACHE to a folder you can write to") from None
    _files.remove_stale_temporaries(cache)
    paths = []
    for name in _FILES:
        gz, dest = f"{name}.gz", cache / f"{name}.gz"
        if not _cached(dest, src.sizes[gz], src.md5[gz]):
            _fetch(src, f"{base_url.rstrip('/')}/{gz}", dest, timeout, progress)
        paths.append(dest)
    return paths


def _md5():
    return hashlib.md5(usedforsecurity=False)  # a checksum, not security


def _cached(dest: Path, size: int, md5: str) -> bool:
    """Whether ``dest`` is a complete, verified copy; a damaged one is downloaded again."""
    try:
        if not dest.is_file() or dest.stat().st_size != size:
            return False
        digest = _md5()
        with dest.open("rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                digest.update(chunk)
    except OSError:
        return False
    return digest.hexdigest() == md5


def _fetch(src: _Source, url: str, dest: Path, timeout: float, progress: bool) -> None:
    """Download ``url`` to ``dest``, retrying transient failures, within ``timeout`` seconds."""
    gz = dest.name
    deadline = time.monotonic() + timeout
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            _fetch_once(url, dest, src.sizes[gz], src.md5[gz], deadline, timeout, progress)
            return
        except _Failed as e:
            failure = e
        except OSError as e:  # the network's errors are _Failed: this is the cache's disk
            raise DataError(f"{src.fn}: cannot write {dest}: {e.strerror or e}; nothing was kept "
                            "for it. Free disk space, or set $TINYGRAD_NP_CACHE to another "
                            "folder") from None
        wait = _BACKOFF * 2 ** (attempt - 1)
        if not failure.transient or attempt == _ATTEMPTS:
            break
        if time.monotonic() + wait >= deadline:
            failure = _Failed(f"{failure}, and the {timeout:g} s allowed for the file ran out "
                              f"before another attempt (pass timeout= or set ${_DEADLINE_ENV})",
                              False)
            break
        time.sleep(wait)
    attempts = f" ({attempt} attempts)" if attempt > 1 else ""
    raise DataError(f"{src.fn}: downloading {url} failed: {failure}{attempts}. Nothing was kept "
                    f"for it in {dest.parent}. Retry, pass base_url= (or ${src.url_env}) for "
                    "another mirror, or data_dir= for a directory that holds the files")


def _fetch_once(url: str, dest: Path, size: int, md5: str, deadline: float, timeout: float,
                progress: bool) -> None:
    """One attempt: stream into a temporary file that replaces ``dest`` only once verified."""
    request = urllib.request.Request(url, headers={"User-Agent": "tinygrad_np"})
    # each blocking read waits at most this long, so a stalled server cannot outlast the deadline
    # by more than one read
    read_timeout = max(0.01, min(_READ_TIMEOUT, deadline - time.monotonic()))
    try:
        response = urllib.request.urlopen(request, timeout=read_timeout)
    except urllib.error.HTTPError as e:
        e.close()
        raise _Failed(f"HTTP {e.code} {e.reason}", e.code >= 500 or e.code in (408, 429)) from None
    except urllib.error.URLError as e:  # no such host, connection refused, ...
        transient = isinstance(e.reason, (ConnectionError, TimeoutError))
        raise _Failed(str(e.reason), transient) from None
    except (OSError, http.client.HTTPException) as e:  # reset or timed out reading the headers
        raise _Failed(f"{type(e).__name__}: {e}", True) from None
    with response:
        announced = response.headers.get("Content-Length")
        if announced is not None and announced.strip() != str(size):
            raise _Failed(f"the server announces {announced.strip()[:30]} bytes; the official "
                          f"file has {size}", False)
        bar = _progress_bar(dest.name, size) if progress else None
        try:
            with _files.replaced(str(dest)) as f:
                _stream(response, f, size, md5, deadline, timeout, bar)
        finally:
            if bar is not None:
                bar.close()


def _stream(response, f, size: int, md5: str, deadline: float, timeout: float, bar) -> None:
    """Copy the body into ``f``: no more than ``size`` bytes, no later than ``deadline``."""
    digest, got = _md5(), 0
    while True:
        if time.monotonic() > deadline:
            raise _Failed(f"it took longer than the {timeout:g} s allowed for the file ({got} of "
                          f"{size} bytes arrived); pass timeout= or set ${_DEADLINE_ENV} for a "
                          "slow connection", False)
        try:
            chunk = response.read1(_CHUNK)  # what has arrived, without waiting for a full chunk
        except (OSError, http.client.HTTPException) as e:
            raise _Failed(f"the connection broke after {got} of {size} bytes "
                          f"({type(e).__name__}: {e})", True) from None
        if not chunk:
            break
        got += len(chunk)
        if got > size:
            raise _Failed(f"the server sent more than the {size} bytes of the official file",
                          False)
        digest.update(chunk)
        f.write(chunk)
        if bar is not None:
            bar.update(len(chunk))
    if got < size:
        raise _Failed(f"the server sent {got} of the {size} bytes", True)
    if digest.hexdigest() != md5:
        raise _Failed(f"its md5 is {digest.hexdigest()}, the official file's {md5}: the mirror "
                      "serves another file", False)


def _progress_bar(name: str, size: int):
    if importlib.util.find_spec("tqdm") is None:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=size, desc=name, unit="B", unit_scale=True, leave=False)


def _read_checked(src: _Source, paths: list[Path]):
    """Load the four files and check that they are the data set they claim to be.

    Each header must declare the expected uint8 shape before its payload is read, so a wrong or
    hostile file is refused before it costs memory.
    """
    counts = (src.n_train, src.n_train, src.n_test, src.n_test)
    arrays = [load_idx(path, shape=(n,) if i % 2 else (n, 28, 28), dtype=np.uint8)
              for i, (path, n) in enumerate(zip(paths, counts))]
    for path, labels in zip(paths[1::2], arrays[1::2]):
        if labels.size and labels.max() >= src.num_classes:
            raise DataError(f"{src.title}: {path} holds label {labels.max()}; expected labels "
                            f"0..{src.num_classes - 1}")
    X_train, y_train, X_test, y_test = arrays
    return X_train, y_train.astype(np.int64), X_test, y_test.astype(np.int64)


# --- the embedded data set -----------------------------------------------------------------------


def digits():
    """scikit-learn's 8x8 handwritten digits, seed 002's data set, shipped offline in its wheel.

    Returns ``(X, y)``: X float64 of shape (1797, 64), pixel values 0..16, not rescaled; y int64
    labels 0..9. Seed 002 trains on the first 80% and tests on the last 20%:
    ``train_test_split(X, y, test_size=0.2, shuffle=False)`` (1437 / 360).
    """
    sklearn_datasets = _require("sklearn.datasets", "digits()")
    X, y = sklearn_datasets.load_digits(return_X_y=True)
    return X.astype(np.float64, copy=False), y.astype(np.int64, copy=False)


def _require(module: str, needed_by: str):
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        package = {"sklearn": "scikit-learn"}.get(module.split(".")[0], module)
        raise MissingDependencyError(f"{needed_by} needs {package}, which is not installed: "
                                     "pip install 'tinygrad-np[data]'") from e
