"""tinygrad_np.data without a network: batching, one-hot, splits, IDX parsing and its errors, data
directories, and the real MNIST / Fashion-MNIST copies when this machine has them."""

import dataclasses
import gzip
import os
import re
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import DataError, DTypeError, OutOfRangeError, ShapeError, Tensor, data
from tinygrad_np.data import DataLoader, load_idx, one_hot, train_test_split

IDX_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B,
             np.dtype("i4"): 0x0C, np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``, written independently of the loader."""
    array = np.asarray(array)
    head = bytes([0, 0, IDX_CODES[array.dtype], array.ndim])
    head += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as IDX, gzipped when the name ends in .gz."""
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


# --- DataLoader ----------------------------------------------------------------------------------


def numbered(n=10, features=3):
    """Rows whose content says which sample they are: X[i] = i, y[i] = i."""
    return np.repeat(np.arange(n, dtype=np.float32)[:, None], features, axis=1), np.arange(n)


def test_unshuffled_batches_are_in_order_views_and_the_last_one_is_short():
    X, y = numbered(10)
    loader = DataLoader(X, y, batch_size=4, shuffle=False)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    assert np.array_equal(np.concatenate([yb for _, yb in batches]), y)
    assert all(np.shares_memory(xb, X) and np.shares_memory(yb, y) for xb, yb in batches)


def test_drop_last_drops_the_short_batch():
    X, y = numbered(10)
    loader = DataLoader(X, y, batch_size=4, drop_last=True, seed=0)
    assert len(loader) == 2 and [len(yb) for _, yb in loader] == [4, 4]
    assert len(DataLoader(X, y, batch_size=12, drop_last=True)) == 0


def test_shuffled_epoch_visits_every_sample_once_and_keeps_pairs():
    X, y = numbered(103)
    seen = []
    for xb, yb in DataLoader(X, y, batch_size=8, seed=1):
        assert np.array_equal(xb[:, 0], yb) and xb.shape[1:] == (3,)
        seen.extend(yb.tolist())
    assert sorted(seen) == list(range(103)) and seen != list(range(103))


def epoch_orders(loader, epochs=3):
    return [np.concatenate([yb for _, yb in loader]) for _ in range(epochs)]


def test_int_seed_replays_the_same_epochs_and_each_epoch_reshuffles():
    X, y = numbered(50)
    first = epoch_orders(DataLoader(X, y, batch_size=7, seed=3))
    again = epoch_orders(DataLoader(X, y, batch_size=7, seed=3))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    other = epoch_orders(DataLoader(X, y, batch_size=7, seed=4), epochs=1)
    assert not np.array_equal(first[0], other[0])


def test_without_seed_the_global_generator_decides_and_manual_seed_replays_it():
    X, y = numbered(50)
    loader = DataLoader(X, y, batch_size=7)
    tg.manual_seed(11)
    first = epoch_orders(loader)
    tg.manual_seed(11)
    assert all(np.array_equal(a, b) for a, b in zip(first, epoch_orders(loader)))


def test_a_generator_and_tensors_are_accepted():
    X, y = numbered(20)
    a = epoch_orders(DataLoader(Tensor(X), Tensor(y), 6, seed=np.random.default_rng(5)))
    b = epoch_orders(DataLoader(X, y, 6, seed=np.random.default_rng(5)))
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    xb, _ = next(iter(DataLoader(Tensor(X), y, 6, shuffle=False)))
    assert isinstance(xb, np.ndarray) and np.shares_memory(xb, X)



def test_splits_unpacked_in_scikit_learns_order_get_a_hint():
    X, y = np.zeros((100, 4), np.float32), np.arange(100) % 3
    X_train, X_test, y_train, y_test = data.train_test_split(X, y)  # sklearn's order: wrong here
    with pytest.raises(ShapeError, match=r"\(75, 4\).*\(25, 4\).*\(X_train, y_train, "
                                         r"X_test, y_test\).*scikit-learn"):
        data.DataLoader(X_train, y_train, batch_size=8)
    with pytest.raises(ShapeError) as info:
        data.DataLoader(X, y[:10])  # labels, just too few: no hint about the order
    assert "train_test_split" not in str(info.value)


def test_dataloader_rejects_bad_input_with_the_shapes_named():
    X, y = numbered(10)
    with pytest.raises(ShapeError, match=r"\(10, 3\).*\(9,\).*same length"):
        DataLoader(X, y[:9], batch_size=2)
    with pytest.raises(ShapeError, match="first dimension"):
        DataLoader(np.float32(1.0), y, batch_size=2)
    for bad in (0, -3):
        with pytest.raises(ValueError, match=f"batch_size must be positive, got {bad}"):
            DataLoader(X, y, batch_size=bad)
    for bad in (2.5, True, "8"):
        with pytest.raises(TypeError, match="batch_size must be an int"):
            DataLoader(X, y, batch_size=bad)


# --- one_hot and train_test_split ----------------------------------------------------------------


def test_one_hot_rows_shapes_and_dtypes():
    out = one_hot([2, 0, 1], 4)
    assert out.dtype == np.float32
    assert np.array_equal(out, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    assert one_hot(np.array([[1, 3]], np.uint8)).shape == (1, 2, 4)  # width inferred: max + 1
    assert one_hot(np.array([1]), 3, dtype=np.float64).dtype == np.float64
    assert one_hot(np.zeros(0, np.int64), 5).shape == (0, 5)
    assert np.array_equal(one_hot(Tensor(np.array([1])), 2), [[0, 1]])


def test_one_hot_reports_labels_out_of_range_and_bad_arguments():
    with pytest.raises(OutOfRangeError, match=r"label 10 at index \(2,\) is outside 0\.\.9"):
        one_hot([1, 2, 10, 11], 10)
    with pytest.raises(OutOfRangeError, match=r"label -1 at index \(1, 0\)"):
        one_hot([[0, 1], [-1, 0]], 3)
    with pytest.raises(DTypeError, match="integers, got dtype float64"):
        one_hot(np.array([1.0, 2.0]), 3)
    with pytest.raises(ValueError, match="positive int, got 0"):
        one_hot([0], 0)
    with pytest.raises(ValueError, match="cannot infer num_classes"):
        one_hot(np.zeros(0, np.int64))


def test_split_without_shuffle_is_seed_002s_first_80_last_20_as_views():
    X, y = numbered(1797)
    X_train, y_train, X_test, y_test = train_test_split(X, y, test_size=0.2, shuffle=False)
    assert (len(X_train), len(X_test)) == (1437, 360)
    assert np.array_equal(y_train, np.arange(1437))
    assert np.array_equal(y_test, np.arange(1437, 1797))
    assert np.shares_memory(X_train, X) and np.shares_memory(y_test, y)


def test_shuffled_split_is_disjoint_reproducible_and_keeps_pairs():
    X, y = numbered(100)
    X_train, y_train, X_test, y_test = train_test_split(X, y, n_test=30, seed=2)
    assert len(y_train) == 70 and len(y_test) == 30
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(100))
    assert np.array_equal(X_train[:, 0], y_train) and np.array_equal(X_test[:, 0], y_test)
    assert np.array_equal(train_test_split(X, y, n_test=30, seed=2)[3], y_test)
    assert not np.array_equal(train_test_split(X, y, n_test=30, seed=3)[3], y_test)


def test_split_can_take_a_subset_as_seed_003_does():
    X, y = numbered(100)
    _, y_train, _, y_test = train_test_split(X, y, n_train=40, n_test=2, seed=0)
    assert len(y_train) == 40 and len(y_test) == 2 and not set(y_train) & set(y_test)


def test_split_rejects_impossible_sizes():
    X, y = numbered(10)
    with pytest.raises(ValueError, match="fraction in"):
        train_test_split(X, y, test_size=1.5)
    with pytest.raises(ValueError, match="cannot take 8 training and 5 test samples from 10"):
        train_test_split(X, y, n_train=8, n_test=5)
    with pytest.raises(ShapeError, match=r"\(10, 3\).*\(4,\)"):
        train_test_split(X, y[:4])


# --- IDX -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
def test_idx_round_trip(tmp_path, suffix, dtype):
    rng = np.random.default_rng(0)
    for shape in [(7,), (3, 4, 5), (2, 0)]:
        array = (rng.standard_normal(shape) * 100).astype(dtype)
        loaded = load_idx(write_idx(tmp_path / f"a{len(shape)}{suffix}", array))
        assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
        assert loaded.shape == shape and np.array_equal(loaded, array)
        assert loaded.flags.writeable


def test_gzip_is_recognised_by_content_not_only_by_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = tmp_path / "no-suffix-idx2-ubyte"
    path.write_bytes(gzip.compress(idx_bytes(array)))
    assert np.array_equal(load_idx(path), array)


GOOD = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)


def corrupt_raw(raw: bytes, kind: str) -> bytes:
    """An IDX file with one kind of defect."""
    return {
        "bad magic": b"\x01" + raw[1:],
        "unknown type code": raw[:2] + b"\x07" + raw[3:],
        "empty file": b"",
        "header cut inside the dims": raw[:10],
        "zero dims": raw[:3] + b"\x00",
        "short payload": raw[:-7],
        "dims larger than the file": raw[:4] + (10**6).to_bytes(4, "big") + raw[8:],
        "trailing bytes": raw + b"\x00\x00\x05",
    }[kind]


EXPECTED_WORDS = {
    "bad magic": "bad magic number 01 00 08 03",
    "unknown type code": "bad magic number 00 00 07 03",
    "empty file": r"bad magic number \(empty file\)",
    "header cut inside the dims": "wrong dims: the header declares 3 dimensions",
    "zero dims": "wrong dims: the header declares 0 dimensions",
    "short payload": "short payload: .* need 60 bytes after the header, found 53",
    "dims larger than the file": r"short payload: dims \(1000000, 4, 5\)",
    "trailing bytes": "3 trailing bytes",
}


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("kind", list(EXPECTED_WORDS))
def test_each_corruption_raises_data_error_naming_file_and_defect(tmp_path, kind, suffix):
    path = tmp_path / f"broken-idx3-ubyte{suffix}"
    raw = corrupt_raw(idx_bytes(GOOD), kind)
    path.write_bytes(gzip.compress(raw) if suffix else raw)
    with pytest.raises(DataError, match=EXPECTED_WORDS[kind]) as info:
        load_idx(path)
    assert str(path) in str(info.value)


def gz_defect(blob: bytes, kind: str) -> bytes:
    if kind == "not gzip at all":
        return idx_bytes(GOOD)
    if kind == "truncated":
        return blob[: len(blob) // 2]
    damaged = bytearray(blob)  # "crc": the CRC-32 is the 8th to 5th last bytes of a gzip member
    damaged[-8] ^= 0xFF
    return bytes(damaged)


@pytest.mark.parametrize("kind, words", [
    ("not gzip at all", "bad gzip: the name ends in .gz"),
    ("truncated", "bad gzip stream .*truncated or damaged"),
    ("crc", "bad gzip stream .*CRC"),
])
def test_bad_gzip_raises_data_error(tmp_path, kind, words):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gz_defect(gzip.compress(idx_bytes(GOOD)), kind))
    with pytest.raises(DataError, match=words) as info:
        load_idx(path)
    assert str(path) in str(info.value)


def test_missing_file_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read .*nothing.idx"):
        load_idx(tmp_path / "nothing.idx")


def idx_header(code: int, dims) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(int(n).to_bytes(4, "big") for n in dims)


def gzip_of(path: Path, *parts, zeros: int = 0) -> Path:
    """Gzip ``parts`` followed by ``zeros`` zero bytes, streamed: a bomb costs no memory here."""
    out = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as f:
        for part in parts:
            f.write(out.compress(part))
        block = bytes(1 << 20)
        for _ in range(zeros >> 20):
            f.write(out.compress(block))
        f.write(out.compress(bytes(zeros % (1 << 20))) + out.flush())
    return path


def peak_memory(fn) -> tuple[int, str]:
    """Peak bytes allocated (NumPy arrays included) while ``fn()`` runs; fn must raise DataError."""
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            fn()
        return tracemalloc.get_traced_memory()[1], str(info.value)
    finally:
        tracemalloc.stop()


def test_a_header_declaring_more_than_the_stream_holds_costs_only_what_it_holds(tmp_path):
    path = gzip_of(tmp_path / "big-idx1-ubyte.gz", idx_header(0x08, [10**9]),
                   np.random.default_rng(0).bytes(1 << 20))
    assert path.stat().st_size < 1_100_000
    peak, message = peak_memory(lambda: load_idx(path))
    assert "need 1000000000 bytes after the header, found 1048576" in message
    assert peak < 8 << 20


def test_trailing_bytes_are_counted_without_reading_them_all(tmp_path):
    path = gzip_of(tmp_path / "t-idx1-ubyte.gz", idx_header(0x08, [100]), bytes(100),
                   zeros=100 << 20)
    peak, message = peak_memory(lambda: load_idx(path))
    assert "at least 1048576 trailing bytes after the 100 bytes" in message
    assert peak < 8 << 20


def test_the_expected_shape_and_dtype_are_checked_before_the_payload(tmp_path):
    bomb = gzip_of(tmp_path / "bomb-idx3-ubyte.gz", idx_header(0x08, [200_000, 28, 28]),
                   zeros=20 << 20)  # the rest of the 157 MB it announces is not needed
    peak, message = peak_memory(lambda: load_idx(bomb, shape=(60000, 28, 28), dtype=np.uint8))
    assert ("its header declares uint8 of shape (200000, 28, 28); expected uint8 of shape "
            "(60000, 28, 28): is it the right file?") in message
    assert peak < 1 << 20
    ints = write_idx(tmp_path / "i-idx1-ubyte", np.arange(3, dtype=np.int32))
    with pytest.raises(DataError, match=r"declares int32 of shape \(3,\); expected uint8:"):
        load_idx(ints, dtype=np.uint8)
    with pytest.raises(DataError, match=r"expected shape \(4,\):"):
        load_idx(ints, shape=(4,))
    assert load_idx(ints, shape=(3,), dtype=np.int32).tolist() == [0, 1, 2]  # >i4 is int32


def test_mnist_refuses_a_gzip_bomb_from_its_header(tmp_path, small_sources):
    write_set(tmp_path, small_set(np.random.default_rng(0)))
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    gzip_of(tmp_path / "train-images-idx3-ubyte.gz", idx_header(0x08, [600_000, 28, 28]),
            zeros=50 << 20)  # of the 470 MB its header announces
    peak, message = peak_memory(lambda: data.mnist(tmp_path))
    assert "declares uint8 of shape (600000, 28, 28); expected uint8 of shape (20, 28, 28)" \
        in message
    assert peak < 1 << 20


@pytest.mark.timeout(20)
def test_a_fifo_a_directory_or_a_device_is_refused_at_once(tmp_path):
    fifo = tmp_path / "train-images-idx3-ubyte"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=f"cannot read {fifo}: it is a FIFO .*not a regular file"):
        load_idx(fifo)  # opening a FIFO to read waits for a writer: this must not
    with pytest.raises(DataError, match="it is a directory, not a regular file"):
        load_idx(tmp_path)
    with pytest.raises(DataError, match="it is a character device"):
        load_idx("/dev/zero")  # endless


@pytest.mark.parametrize("dims, words", [
    ([1] * 33, "declares 33 dimensions; arrays have at most 32"),
    ([1] * 255, "declares 255 dimensions"),
    ([0, 2**32 - 1, 2**32 - 1, 2**32 - 1], "too large for an array"),
])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_impossible_dims_are_refused(tmp_path, dims, words, suffix):
    path = tmp_path / f"d-idx-ubyte{suffix}"
    raw = idx_header(0x08, dims) + b"\0"
    path.write_bytes(gzip.compress(raw) if suffix else raw)
    with pytest.raises(DataError, match=words):
        load_idx(path)


def test_zero_size_dimensions_and_multi_member_gzip_load(tmp_path):
    for dims in ([0], [5, 0], [0, 3, 4]):
        assert load_idx(write_idx(tmp_path / "z.gz", np.zeros(dims, np.uint8))).shape == \
            tuple(dims)
    raw = idx_bytes(GOOD)
    path = tmp_path / "two-members.gz"  # concatenated gzip members are one stream (RFC 1952)
    path.write_bytes(gzip.compress(raw[:30]) + gzip.compress(raw[30:]))
    assert np.array_equal(load_idx(path), GOOD)


@pytest.mark.parametrize("cut", range(1, 9))
def test_a_gzip_trailer_cut_short_is_refused(tmp_path, cut):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(GOOD))[:-cut])  # CRC-32 and length: 8 bytes
    with pytest.raises(DataError, match="bad gzip stream"):
        load_idx(path)


# --- data directories (small files stand in for the 60,000 / 10,000 ones) -------------------------

FILES = data._FILES


def small_set(rng, n_train=20, n_test=10, side=28):
    return [rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
            rng.integers(0, 10, n_train, dtype=np.uint8),
            rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
            rng.integers(0, 10, n_test, dtype=np.uint8)]


def write_set(directory: Path, arrays, suffixes=(".gz", "", ".gz", "")) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, array, suffix in zip(FILES, arrays, suffixes):
        write_idx(directory / f"{name}{suffix}", array)
    return directory


@pytest.fixture
def small_sources(monkeypatch):
    """Both loaders expect 20 training and 10 test images, and no download can succeed."""
    for attr in ("_MNIST", "_FASHION_MNIST"):
        src = getattr(data, attr)
        monkeypatch.setattr(data, attr, dataclasses.replace(
            src, n_train=20, n_test=10, base_url="http://127.0.0.1:9/", system_dir=None))
        monkeypatch.delenv(src.dir_env, raising=False)
        monkeypatch.delenv(src.url_env, raising=False)


def check_same(loaded, arrays):
    assert [a.dtype for a in loaded] == [np.uint8, np.int64, np.uint8, np.int64]
    assert all(np.array_equal(a, b) for a, b in zip(loaded, arrays))


def test_data_dir_with_gzipped_and_raw_files_loads(tmp_path, small_sources):
    arrays = small_set(np.random.default_rng(0))
    check_same(data.mnist(write_set(tmp_path, arrays)), arrays)
    check_same(data.fashion_mnist(str(tmp_path)), arrays)


def test_directory_from_the_environment(tmp_path, small_sources, monkeypatch):
    arrays = small_set(np.random.default_rng(1))
    monkeypatch.setenv("TINYGRAD_NP_FASHION_MNIST_DIR", str(write_set(tmp_path, arrays)))
    check_same(data.fashion_mnist(progress=False), arrays)
    monkeypatch.setenv("TINYGRAD_NP_MNIST_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(DataError, match=r"elsewhere \(from \$TINYGRAD_NP_MNIST_DIR\) does not"):
        data.mnist()


def test_system_fashion_mnist_directory_comes_before_downloading(tmp_path, small_sources,
                                                                  monkeypatch):
    arrays = small_set(np.random.default_rng(2))
    src = dataclasses.replace(data._FASHION_MNIST, system_dir=write_set(tmp_path, arrays))
    monkeypatch.setattr(data, "_FASHION_MNIST", src)
    check_same(data.fashion_mnist(), arrays)  # base_url points at a closed port: no download


def test_a_data_dir_that_is_a_file_and_bytes_paths(tmp_path, small_sources):
    arrays = small_set(np.random.default_rng(5))
    write_set(tmp_path / "set", arrays)
    with pytest.raises(DataError, match="set/t10k-labels-idx1-ubyte .*is a file; pass the "
                                        "directory"):
        data.mnist(tmp_path / "set" / "t10k-labels-idx1-ubyte")
    check_same(data.mnist(os.fsencode(tmp_path / "set")), arrays)
    assert np.array_equal(load_idx(os.fsencode(tmp_path / "set" / "t10k-labels-idx1-ubyte")),
                          arrays[3])


@pytest.mark.timeout(20)
def test_a_fifo_in_the_data_dir_is_named_not_waited_on(tmp_path, small_sources):
    write_set(tmp_path, small_set(np.random.default_rng(6)))
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    os.mkfifo(tmp_path / "t10k-images-idx3-ubyte.gz")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: it is a FIFO"):
        data.mnist(tmp_path)


def test_data_dir_missing_files_are_listed(tmp_path, small_sources):
    write_set(tmp_path, small_set(np.random.default_rng(3)))
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match=re.escape("lacks train-labels-idx1-ubyte[.gz], "
                                                  "t10k-images-idx3-ubyte[.gz]; put the four")):
        data.mnist(tmp_path)


@pytest.mark.parametrize("change, words", [
    (lambda a: a.__setitem__(0, a[0][:, :27, :]), r"shape \(20, 27, 28\); expected uint8 of "
                                                  r"shape \(20, 28, 28\)"),
    (lambda a: a.__setitem__(3, a[3][:9]), r"shape \(9,\); expected uint8 of shape \(10,\)"),
    (lambda a: a.__setitem__(1, a[1].astype(np.int32)), r"declares int32 of shape \(20,\); "
                                                         r"expected uint8 of shape \(20,\)"),
    (lambda a: a[3].__setitem__(4, 10), "holds label 10; expected labels 0..9"),
])
def test_data_dir_with_the_wrong_structure_is_refused(tmp_path, small_sources, change, words):
    arrays = small_set(np.random.default_rng(4))
    change(arrays)
    write_set(tmp_path, arrays)
    with pytest.raises(DataError, match=words):
        data.mnist(tmp_path)


# --- optional libraries --------------------------------------------------------------------------


def test_importing_the_package_imports_no_optional_library():
    code = ("import sys, tinygrad_np; from tinygrad_np import data; "
            "print(sorted({'pooch', 'sklearn', 'tqdm', 'matplotlib'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_digits_is_seed_002s_data():
    pytest.importorskip("sklearn")
    X, y = data.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64 and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16 and np.array_equal(np.unique(y), np.arange(10))


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"digits\(\) needs scikit-learn.*tinygrad-np\[data\]"):
        data.digits()


# --- the real data sets, when this machine has them (fixtures in tests/conftest.py) -------------


def test_real_mnist_directory(mnist_dir):
    X_train, y_train, X_test, y_test = data.mnist(mnist_dir)
    assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    assert X_train.dtype == np.uint8 and X_train.max() == 255
    # label counts per digit, from the copy's README
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                             5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_fashion_mnist_directory(fashion_mnist_dir):
    X_train, y_train, X_test, y_test = data.fashion_mnist(fashion_mnist_dir)
    assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    # Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_test=2.5), "n_test must be a number of samples"),
    (dict(n_test="2"), "n_test must be a number of samples"),
    (dict(n_test=2, n_train=3.0), "n_train must be a number of samples"),
    (dict(test_size="0.2"), "test_size is a fraction"),
    (dict(seed=0.5), "train_test_split: seed must be an int >= 0"),
    (dict(shuffle="no"), "train_test_split: shuffle must be True or False"),
])
def test_train_test_split_refuses_settings_of_the_wrong_kind(kwargs, message):
    from tinygrad_np.errors import ArgumentError

    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    with pytest.raises(ArgumentError, match=message):
        train_test_split(X, y, **kwargs)
    assert len(train_test_split(X, y, n_test=np.int64(2), seed=0)[2]) == 2
