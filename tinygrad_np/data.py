"""Data for training: mini-batches, one-hot labels, splits, IDX files and the standard data sets.

Everything here returns NumPy arrays; wrap a batch with ``Tensor(xb)`` when it enters a model.
The core install is NumPy + graphviz, so the optional libraries (pooch for downloads, tqdm for
its progress bar, scikit-learn for ``digits()``) are imported inside the functions that need
them: ``pip install 'tinygrad-np[data]'`` installs all three.

Where ``mnist()`` and ``fashion_mnist()`` look for the four IDX files, first match wins:

1. the ``data_dir`` argument, else the environment variable ``TINYGRAD_NP_MNIST_DIR``
   (``TINYGRAD_NP_FASHION_MNIST_DIR``): a directory that already holds the files, gzipped or not;
2. Fashion-MNIST only: ``/usr/share/datasets/fashion-mnist`` when it holds all four files
   (Debian's ``dataset-fashion-mnist`` package puts them there);
3. the per-user cache, ``$TINYGRAD_NP_CACHE`` or else ``pooch.os_cache("tinygrad_np")``, one
   folder per data set, downloading whatever is missing from ``base_url`` (else
   ``$TINYGRAD_NP_MNIST_URL`` / ``$TINYGRAD_NP_FASHION_MNIST_URL``, else the official mirror).

A download is checked against the official md5 of its ``.gz`` file before it is kept, so a failed
or corrupt download leaves nothing in the cache. A directory you point at is not held to those
checksums (a recompressed copy has a different ``.gz`` but the same content); it is checked for
structure instead: IDX headers, 28x28 uint8 images, the 60,000/10,000 counts, labels 0..9.
"""

from __future__ import annotations

import dataclasses
import gzip
import importlib
import importlib.util
import math
import os
import sys
import zlib
from pathlib import Path

import numpy as np

from . import _files
from .errors import DataError, DTypeError, OutOfRangeError, ShapeError
from .random import get_rng
from .tensor import Tensor

# --- batches, labels and splits ------------------------------------------------------------------


def _as_array(x) -> np.ndarray:
    """A Tensor's array, or ``np.asarray(x)``: the helpers here accept both."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _own_rng(seed) -> np.random.Generator | None:
    """None stays None (use the global generator when drawing); an int seeds a new Generator."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _check_pair(fn: str, X: np.ndarray, y: np.ndarray) -> None:
    if X.ndim == 0 or y.ndim == 0:
        raise ShapeError(f"{fn}: X has shape {X.shape} and y has shape {y.shape}: both need a "
                         "first dimension that counts the samples")
    if len(X) != len(y):
        raise ShapeError(f"{fn}: X has shape {X.shape} and y has shape {y.shape}: they need the "
                         f"same length (first dimension), got {len(X)} samples and {len(y)} labels")


class DataLoader:
    """Iterate over ``(xb, yb)`` mini-batches of NumPy arrays, reshuffled every epoch.

    ``for xb, yb in loader`` is one epoch; ``len(loader)`` is the number of batches in it. The last
    batch is smaller when ``batch_size`` does not divide the data, unless ``drop_last=True``.

    ``seed``: None draws each epoch's order from the global generator (so
    ``tinygrad_np.manual_seed`` makes runs reproducible); an int or a ``numpy.random.Generator``
    gives the loader its own stream, so the same seed replays the same sequence of epochs.

    Copies: without shuffling every batch is a view of ``X`` and ``y``. With shuffling each batch is
    gathered by fancy indexing from one permutation per epoch. That was faster than copying the
    whole permuted data set once per epoch and slicing views from it (60,000 x 784 float32, batch
    32: 27 ms against 44 ms per epoch here) and it does not hold a second copy of the data.
    """

    def __init__(self, X, y, batch_size: int, shuffle: bool = True, drop_last: bool = False,
                 seed: int | np.random.Generator | None = None):
        X, y = _as_array(X), _as_array(y)
        _check_pair("DataLoader", X, y)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
        if batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be positive, got {batch_size}")
        self.X, self.y = X, y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._rng = _own_rng(seed)

    def __len__(self) -> int:
        n = len(self.X)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n, size = len(self.X), self.batch_size
        stop = n - n % size if self.drop_last else n
        if not self.shuffle:
            for start in range(0, stop, size):
                yield self.X[start:start + size], self.y[start:start + size]
            return
        order = get_rng(self._rng).permutation(n)
        for start in range(0, stop, size):
            index = order[start:start + size]
            yield self.X[index], self.y[index]


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
            raise ValueError("one_hot: cannot infer num_classes from empty labels; pass "
                             "num_classes=")
        num_classes = int(labels.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be a positive int, got {num_classes!r}")
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
    _check_pair("train_test_split", X, y)
    n = len(X)
    if n_test is None:
        if not 0 < test_size < 1:
            raise ValueError(f"train_test_split: test_size is a fraction in (0, 1), got "
                             f"{test_size!r}; pass n_test= for a number of samples")
        n_test = math.ceil(test_size * n)
    n_train = n - n_test if n_train is None else n_train
    if n_test < 0 or n_train < 0 or n_train + n_test > n:
        raise ValueError(f"train_test_split: cannot take {n_train} training and {n_test} test "
                         f"samples from {n}")
    if not shuffle:
        train, test = slice(0, n_train), slice(n_train, n_train + n_test)
    else:
        order = get_rng(_own_rng(seed)).permutation(n)
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
    path = Path(path)
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
# torchvision's MNIST.mirrors.
_MNIST = _Source(
    "MNIST", "mnist", "TINYGRAD_NP_MNIST_DIR", "TINYGRAD_NP_MNIST_URL",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
     "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
     "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
     "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
)

# Official URL and md5s: zalandoresearch/fashion-mnist README.md, "Get the Data" table.
_FASHION_MNIST = _Source(
    "Fashion-MNIST", "fashion-mnist", "TINYGRAD_NP_FASHION_MNIST_DIR",
    "TINYGRAD_NP_FASHION_MNIST_URL", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
     "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
     "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
     "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
    system_dir=Path("/usr/share/datasets/fashion-mnist"),
)


def mnist(data_dir=None, *, base_url: str | None = None, progress: bool = True):
    """MNIST handwritten digits: ``(X_train, y_train, X_test, y_test)``.

    Images are uint8 arrays of shape (60000, 28, 28) and (10000, 28, 28), pixel values 0..255
    (divide by 255 for the usual [0, 1] scale); labels are int64, 0..9. The module docstring says
    where the files are looked for and how downloads are checked; ``progress`` shows a download
    progress bar (tqdm).
    """
    return _load(_MNIST, data_dir, base_url, progress)


def fashion_mnist(data_dir=None, *, base_url: str | None = None, progress: bool = True):
    """Fashion-MNIST (Zalando's clothing images), same layout and dtypes as ``mnist()``.

    Labels: 0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt,
    7 sneaker, 8 bag, 9 ankle boot.
    """
    return _load(_FASHION_MNIST, data_dir, base_url, progress)


def _load(src: _Source, data_dir, base_url: str | None, progress: bool):
    if data_dir is not None:
        paths = _find_files(src, Path(data_dir), "the data_dir argument")
    elif os.environ.get(src.dir_env):
        paths = _find_files(src, Path(os.environ[src.dir_env]), f"${src.dir_env}")
    elif src.system_dir is not None and all(_local_file(src.system_dir, n) for n in _FILES):
        paths = [_local_file(src.system_dir, name) for name in _FILES]
    else:
        paths = _download(src, base_url or os.environ.get(src.url_env) or src.base_url, progress)
    return _read_checked(src, paths)


def _local_file(directory: Path, name: str) -> Path | None:
    """``name.gz`` or ``name`` in ``directory``, whichever exists."""
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    return None


def _find_files(src: _Source, directory: Path, origin: str) -> list[Path]:
    if not directory.is_dir():
        raise DataError(f"{src.fn}: data directory {directory} (from {origin}) does not exist")
    paths = [_local_file(directory, name) for name in _FILES]
    missing = [f"{name}[.gz]" for name, path in zip(_FILES, paths) if path is None]
    if missing:
        raise DataError(f"{src.fn}: data directory {directory} (from {origin}) lacks "
                        f"{', '.join(missing)}; put the four {src.title} IDX files there, or "
                        f"leave data_dir and ${src.dir_env} unset to download them into the cache")
    return paths


def _download(src: _Source, base_url: str, progress: bool) -> list[Path]:
    """Fetch the missing ``.gz`` files into the cache; pooch checks each md5 before keeping it."""
    pooch = _require("pooch", f"downloading {src.title}")
    cache = Path(os.environ.get("TINYGRAD_NP_CACHE") or pooch.os_cache("tinygrad_np"))
    cache = cache / src.folder
    bar = progress and importlib.util.find_spec("tqdm") is not None
    paths = []
    for name in _FILES:
        url = f"{base_url.rstrip('/')}/{name}.gz"
        try:
            paths.append(Path(pooch.retrieve(url, known_hash=f"md5:{src.md5[name + '.gz']}",
                                             fname=f"{name}.gz", path=cache, progressbar=bar)))
        except (OSError, ValueError) as e:  # requests' errors are OSErrors; a bad md5 ValueError
            raise DataError(f"{src.fn}: downloading {url} failed: {e}. "
                            f"Nothing was kept for it in {cache}. Retry, pass base_url= (or "
                            f"${src.url_env}) for another mirror, or data_dir= for a directory "
                            "that holds the files") from e
    return paths


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
        raise ImportError(f"{needed_by} needs {package}, which is not installed: "
                          "pip install 'tinygrad-np[data]'") from e
