"""nn.save / nn.load: round trips, atomic writes, and clear errors for bad files."""

import errno
import io
import json
import os
import signal
import stat
import subprocess
import sys
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import CheckpointError, Tensor, nn, optim


def model_and_optimizer():
    model = nn.MLP([4, 6, 3], rng=np.random.default_rng(0))
    opt = optim.Adam(model.parameters(), lr=0.01)
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    opt.step()
    return model, opt


def test_nested_state_round_trips_with_dtypes_and_shapes(tmp_path):
    model, opt = model_and_optimizer()
    state = {"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3,
             "note": "digits", "scalar": np.float64(0.5)}
    nn.save(state, tmp_path / "ckpt.npz")
    back = nn.load(tmp_path / "ckpt.npz")
    assert set(back) == set(state) and set(back["model"]) == set(state["model"])
    for key, arr in state["model"].items():
        assert back["model"][key].dtype == arr.dtype
        np.testing.assert_array_equal(back["model"][key], arr)
    assert int(back["epoch"]) == 3 and str(back["note"]) == "digits"
    assert back["optim"]["param_groups"]["0"]["betas"].tolist() == [0.9, 0.999]
    np.testing.assert_array_equal(back["optim"]["state"]["1"]["exp_avg_sq"],
                                  opt.state[1]["exp_avg_sq"])
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    mode = (tmp_path / "ckpt.npz").stat().st_mode & 0o777
    assert mode == 0o666 & ~umask  # as open() would create it, not mkstemp's 0600


def test_a_truncated_file_raises_naming_it(tmp_path):
    model, _ = model_and_optimizer()
    path = tmp_path / "model.npz"
    nn.save(model.state_dict(), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=f"cannot read {path}: it is truncated"):
            nn.load(path)


def test_foreign_files_raise_naming_them(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("not a zip at all")
    with pytest.raises(CheckpointError, match=f"cannot read {text}"):
        nn.load(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.zeros(3))
    with pytest.raises(CheckpointError, match=f"{plain} is an .npz file but not a tinygrad_np"):
        nn.load(plain)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(CheckpointError, match=f"cannot read {single}: it holds a single array"):
        nn.load(single)
    with pytest.raises(FileNotFoundError):
        nn.load(tmp_path / "missing.npz")


def test_a_crash_between_write_and_rename_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model, _ = model_and_optimizer()
    path = tmp_path / "model.npz"
    nn.save(model.state_dict(), path)
    old = model.state_dict()
    for p in model.parameters():
        p.data += 1

    def crash(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(CheckpointError, match=f"cannot write {path}: simulated crash"):
        nn.save(model.state_dict(), path)
    monkeypatch.undo()
    back = nn.load(path)
    for key, arr in old.items():
        np.testing.assert_array_equal(back[key], arr)
    assert os.listdir(tmp_path) == ["model.npz"]


def test_unstorable_states_are_refused_before_writing(tmp_path):
    path = tmp_path / "x.npz"
    cycle = {"a": {}}
    cycle["a"]["b"] = cycle
    for state, message in [({"a": {1: np.zeros(1)}}, r"key 1 in state\['a'\] cannot be stored"),
                           ({float("nan"): 1}, "key nan in state cannot be stored"),
                           ({b"w": 1}, "key b'w' in state cannot be stored"),
                           ({"a": object()}, r"state\['a'\] has type object"),
                           ({"a": {"b": [1, "x", None]}}, r"state\['a'\]\['b'\] has type list"),
                           ({"t": np.zeros(2, "i4,f4")}, "has type ndarray"),
                           (cycle, r"state\['a'\]\['b'\] is a dict that contains itself"),
                           ([np.zeros(1)], "expected a dict")]:
        with pytest.raises(CheckpointError, match=message):
            nn.save(state, path)
    assert os.listdir(tmp_path) == []


def flat(state, loaded=False) -> list:
    """Every dict and array of a nested state, in order, as comparable tuples (iteratively)."""
    out, stack = [], [((), state)]
    while stack:
        keys, node = stack.pop()
        if isinstance(node, dict):
            out.append((keys, "dict", tuple(node)))
            stack.extend(((*keys, k), v) for k, v in reversed(node.items()))
        else:
            assert (isinstance(node, np.ndarray) or type(node) in (int, float, bool, str)
                    or not loaded), f"{keys} holds {node!r}"
            a = np.asarray(node)
            out.append((keys, a.dtype.str, a.shape, a.tobytes()))
    return out


def same(original, loaded) -> bool:
    """Equal dicts (same key order) of arrays with the same dtype, shape and bytes."""
    return flat(original) == flat(loaded, loaded=True)


KEYS = ["allow_pickle", "file", "__tinygrad_np_checkpoint__", "__tinygrad_np_checkpoint__.json",
        "0.npy", "0", "a\0b", "\0", "", " ", ".", "..", "a/b", "/", "a.b", "ключ", "日本語",
        "\U0001f600", "\ud800", "nan", "x" * 300, "tab\there", "line\nbreak", "C:\\dir"]


def test_every_string_key_and_every_empty_dict_round_trips_exactly(tmp_path):
    state = {k: np.array([i], np.int16) for i, k in enumerate(KEYS)}
    state["nested"] = {k: {k: {}} for k in KEYS}
    state["empty"] = {}
    state["deep"] = d = {}
    for _ in range(2000):  # no recursion limit
        d["d"] = d = {}
    state["values"] = {"f16": np.float16(1.5), "c": np.complex64(1 - 2j), "u": "text \0 \ud800",
                       "b": np.array([True, False]), "be": np.arange(4, dtype=">i4"),
                       "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
                       "strided": np.arange(10)[::3], "none": np.zeros((0, 3, 0)),
                       "nan": np.array([np.nan, -0.0, np.inf])}
    nn.save(state, tmp_path / "keys.npz")
    back = nn.load(tmp_path / "keys.npz")
    assert same(state, back)
    nn.save({}, tmp_path / "nothing.npz")
    assert nn.load(tmp_path / "nothing.npz") == {}


def test_the_arrays_can_be_read_with_np_load_and_the_bytes_are_reproducible(tmp_path):
    state = {"w": np.arange(4.0), "opt": {"lr": 0.5}}
    nn.save(state, tmp_path / "a.npz")
    nn.save(state, tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz", allow_pickle=False) as plain:
        np.testing.assert_array_equal(plain["0"], state["w"])
        assert float(plain["1"]) == 0.5


def sgd_run(steps, checkpoint=None, resume_at=None):
    """Plain SGD (no momentum: its per-parameter state dicts are empty) on a fixed problem."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    model = nn.MLP([4, 6, 3], rng=np.random.default_rng(1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    for step in range(steps):
        if step == resume_at:  # a fresh process: new objects, everything from the file
            state = nn.load(checkpoint)
            model = nn.MLP([4, 6, 3], rng=np.random.default_rng(2))
            opt = optim.SGD(model.parameters(), lr=0.1)
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optim"])
        loss = nn.cross_entropy(model(Tensor(X)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if checkpoint is not None and resume_at is None:
            nn.save({"model": model.state_dict(), "optim": opt.state_dict()}, checkpoint)
            if step == 4:
                return model
    return model


def test_a_plain_sgd_checkpoint_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path):
    path = tmp_path / "sgd.npz"
    sgd_run(10, checkpoint=path)  # stops after saving step 4
    assert nn.load(path)["optim"]["state"] == {str(i): {} for i in range(4)}
    resumed = sgd_run(10, checkpoint=path, resume_at=5)
    straight = sgd_run(10)
    for (name, a), b in zip(resumed.named_parameters(), straight.parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


# --- damaged and hostile files --------------------------------------------------------------------


@pytest.mark.parametrize("zip64", [False, True])
def test_every_single_bit_flip_loads_the_original_or_raises_checkpoint_error(tmp_path, zip64,
                                                                             monkeypatch):
    if zip64:  # the layout of members over 2 GiB and of more than 65535 members, made small
        monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 100)
        monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)
    state = {"w": np.arange(30, dtype=np.float32), "opt": {"state": {"0": {}}, "lr": 0.1},
             "k\0": "s"}
    path = tmp_path / "c.npz"
    nn.save(state, path)
    assert same(state, nn.load(path))
    data = path.read_bytes()
    outcomes = {"same": 0, "refused": 0}
    fd = os.open(path, os.O_WRONLY)
    try:
        for bit in range(len(data) * 8):
            at = bit // 8
            os.pwrite(fd, bytes([data[at] ^ (1 << bit % 8)]), at)  # in place: fast
            try:
                back = nn.load(path)
            except CheckpointError:
                outcomes["refused"] += 1
            else:
                assert same(state, back), f"bit {bit} (byte {at}) gave another state: {back}"
                outcomes["same"] += 1  # a bit nobody reads (a date, a local copy of a field)
            os.pwrite(fd, data[at:at + 1], at)
        for cut in range(len(data)):  # and every truncation
            os.ftruncate(fd, cut)
            with pytest.raises(CheckpointError):
                nn.load(path)
            os.pwrite(fd, data[cut:], cut)
    finally:
        os.close(fd)
    assert outcomes["refused"] > 0.8 * len(data) * 8


def craft(path, entries, members=None, compression=zipfile.ZIP_STORED, manifest=None):
    """A zip with the given manifest entries and members (.npy bytes of the arrays named)."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, content in (members or {}).items():
            if isinstance(content, np.ndarray):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, content, version=(1, 0))
                content = buf.getvalue()
            zf.writestr(name, content)
        zf.writestr("__tinygrad_np_checkpoint__.json", manifest if manifest is not None else
                    json.dumps({"format": "tinygrad_np checkpoint", "version": 2,
                                "entries": entries}))
    return path


def leaf(keys, array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=(1, 0))
    return {"path": keys, "dtype": array.dtype.str, "shape": list(array.shape),
            "crc32": zlib.crc32(buf.getvalue())}


W = np.arange(4.0)


@pytest.mark.parametrize("entries, members, words", [
    ([leaf(["a"], W), leaf(["a", "b"], W)], {"0.npy": W, "1.npy": W}, "inside an array"),
    ([leaf(["a", "b"], W)], {"0.npy": W}, "before its parent"),
    ([{"path": ["a"]}, {"path": ["a"]}], {}, "twice"),
    ([leaf(["a"], W), leaf(["a"], W)], {"0.npy": W, "1.npy": W}, "twice"),
    ([leaf(["a"], W)], {}, r"missing \['0.npy'\]"),
    ([leaf(["a"], W)], {"0.npy": W, "1.npy": W}, r"unexpected \['1.npy'\]"),
    ([leaf(["a"], W)], {"0.npy": W[::-1].copy()}, "fails its CRC-32"),
    ([dict(leaf(["a"], W), shape=[5])], {"0.npy": W}, r"shape \(5,\) \(40 bytes\).*holds 32"),
    ([dict(leaf(["a"], W), dtype="<i8")], {"0.npy": W}, "header of 0.npy disagrees"),
    ([leaf(["a"], W)], {"0.npy": b"PK" + bytes(160)}, "not an .npy file"),
    ([dict(leaf(["a"], W), shape=[10**12])], {"0.npy": W}, r"shape \(1000000000000,\)"),
    ([dict(leaf(["a"], W), shape=[0, 2**62, 2**62])], {"0.npy": W}, "shape"),
    ([dict(leaf(["a"], W), shape=[-4])], {"0.npy": W}, "shape"),
    ([dict(leaf(["a"], W), shape=[True] * 4)], {"0.npy": W}, "shape"),
    ([dict(leaf(["a"], W), dtype="|O")], {"0.npy": W}, "dtype"),
    ([dict(leaf(["a"], W), dtype="float64")], {"0.npy": W}, "dtype"),
    ([dict(leaf(["a"], W), dtype="[('a', '<f8')]")], {"0.npy": W}, "dtype"),
    ([dict(leaf(["a"], W), dtype="(" * 10**5)], {"0.npy": W}, "dtype"),
    ([dict(leaf(["a"], W), dtype="<U100000000")], {"0.npy": W}, r"\(1600000000 bytes\)"),
    ([{"path": []}], {}, "no key path"),
    ([{"path": ["a"], "x": 1}], {}, "fields"),
    ([{"path": [1]}], {}, "no key path"),
])
def test_crafted_files_are_refused(tmp_path, entries, members, words):
    path = craft(tmp_path / "c.npz", entries, members)
    with pytest.raises(CheckpointError, match=words):
        nn.load(path)


@pytest.mark.parametrize("manifest, words", [
    ("{", "not valid JSON"),
    ('{"format": "tinygrad_np checkpoint", "format": "x", "version": 2, "entries": []}',
     "repeats a key"),
    ('[' * 100_000 + ']' * 100_000, "not valid JSON"),
    ('{"format": "tinygrad_np checkpoint", "version": 4, "entries": []}', "format version 4"),
    ('{"format": "other", "version": 2, "entries": []}', "does not describe"),
    ('{"format": "tinygrad_np checkpoint", "version": 2, "entries": {}}', "no list of entries"),
    (b"\xff", "not valid JSON"),
])
def test_a_bad_manifest_is_refused(tmp_path, manifest, words):
    with pytest.raises(CheckpointError, match=words):
        nn.load(craft(tmp_path / "c.npz", [], manifest=manifest))


def test_python_numbers_and_strings_come_back_as_themselves(tmp_path):
    state = {"epoch": 3, "lr": 0.01, "best": True, "note": "run 7", "big": -2**40,
             "np": np.float32(0.5), "zero_d": np.array(4)}
    nn.save(state, tmp_path / "c.npz")
    back = nn.load(tmp_path / "c.npz")
    for key in ("epoch", "lr", "best", "note", "big"):
        assert type(back[key]) is type(state[key]) and back[key] == state[key], key
    for key in ("np", "zero_d"):  # NumPy's own scalars and 0-d arrays stay arrays
        assert isinstance(back[key], np.ndarray) and back[key].shape == ()
        assert back[key] == state[key]
    assert back["np"].dtype == np.float32


def test_files_of_format_2_still_load_and_the_python_field_is_checked(tmp_path):
    epoch = leaf(["epoch"], np.array(3))
    members = {"0.npy": np.array(3)}
    old = nn.load(craft(tmp_path / "v2.npz", [epoch], members))
    assert isinstance(old["epoch"], np.ndarray) and old["epoch"] == 3  # version 2: an array
    with pytest.raises(CheckpointError, match="has fields"):  # version 2 has no such field
        nn.load(craft(tmp_path / "a.npz", [{**epoch, "python": "int"}], members))
    for python in ("str", "list", 3):
        manifest = json.dumps({"format": "tinygrad_np checkpoint", "version": 3,
                               "entries": [{**epoch, "python": python}]})
        with pytest.raises(CheckpointError, match="was a Python"):
            nn.load(craft(tmp_path / "b.npz", [], members, manifest=manifest))


def test_a_huge_declared_shape_allocates_nothing(tmp_path):
    huge = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    huge["shape"] = (10**9,)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, huge)
    path = craft(tmp_path / "c.npz", [{"path": ["w"], "dtype": "<f8", "shape": [10**9],
                                       "crc32": 0}], {"0.npy": buf.getvalue() + b"x" * 100})
    tracemalloc.start()
    with pytest.raises(CheckpointError, match=r"\(8000000000 bytes\).*holds 100 bytes"):
        nn.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1_000_000


def test_a_compressed_member_is_refused_without_inflating_it(tmp_path):
    zeros = np.zeros(50_000_000 // 8)  # a 50 MB array that deflates to about 50 kB
    path = craft(tmp_path / "bomb.npz", [leaf(["w"], zeros)], {"0.npy": zeros},
                 compression=zipfile.ZIP_DEFLATED)
    del zeros
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    with pytest.raises(CheckpointError, match="member 0.npy is compressed"):
        nn.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2_000_000


def test_a_checkpoint_of_format_1_says_how_to_recover_its_arrays(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(path, **{"__tinygrad_np_checkpoint__": np.asarray("1"), "model/w": np.zeros(2)})
    with pytest.raises(CheckpointError, match="older tinygrad_np .*format 1.*np.load"):
        nn.load(path)


@pytest.mark.timeout(20)
def test_a_fifo_or_a_directory_is_refused_at_once(tmp_path):
    fifo = tmp_path / "ckpt.npz"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match=f"cannot read {fifo}: it is a FIFO"):
        nn.load(fifo)  # opening a FIFO to read waits for a writer: this must not
    with pytest.raises(CheckpointError, match=f"cannot read {tmp_path}: it is a directory"):
        nn.load(tmp_path)


def test_saved_model_loads_into_a_fresh_model(tmp_path):
    model, _ = model_and_optimizer()
    nn.save(model.state_dict(), str(tmp_path / "m.npz"))
    fresh = nn.MLP([4, 6, 3], rng=np.random.default_rng(1))
    fresh.load_state_dict(nn.load(str(tmp_path / "m.npz")))
    for p, q in zip(model.parameters(), fresh.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


# --- where and how the file is written ------------------------------------------------------------


def test_saving_onto_a_symlink_writes_through_to_its_target(tmp_path):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "real.npz"
    link = tmp_path / "latest.npz"
    link.symlink_to(target)  # dangling: open() would create the target, so must save
    nn.save({"step": 1}, link)
    nn.save({"step": 2}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert int(nn.load(target)["step"]) == 2
    assert sorted(os.listdir(tmp_path)) == ["latest.npz", "runs"]
    assert os.listdir(tmp_path / "runs") == ["real.npz"]


def test_overwriting_keeps_the_files_permissions(tmp_path):
    path = tmp_path / "private.npz"
    nn.save({"step": 1}, path)
    path.chmod(0o600)
    nn.save({"step": 2}, path)
    assert path.stat().st_mode & 0o777 == 0o600 and int(nn.load(path)["step"]) == 2


def test_the_rename_is_made_durable_by_flushing_the_folder(tmp_path, monkeypatch):
    flushed, renamed = [], []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        flushed.append(("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file", bool(renamed)))
        real_fsync(fd)

    def replace(src, dst):
        renamed.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    nn.save({"w": np.zeros(3)}, tmp_path / "c.npz")
    assert flushed == [("file", False), ("dir", True)]  # the data before renaming, then the folder


def test_a_directory_or_a_missing_folder_is_refused_before_writing(tmp_path):
    with pytest.raises(CheckpointError, match=f"{tmp_path} is a directory; pass a file name"):
        nn.save({"w": np.zeros(1)}, tmp_path)
    missing = tmp_path / "no" / "such" / "c.npz"
    with pytest.raises(CheckpointError, match="folder .*no/such does not exist; create it"):
        nn.save({"w": np.zeros(1)}, missing)
    assert os.listdir(tmp_path) == []


def test_a_full_disk_keeps_the_old_checkpoint_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    nn.save({"step": 1}, path)
    real_fdopen = os.fdopen

    class FullDisk(io.RawIOBase):  # a file whose disk fills up after 100 bytes
        def __init__(self, f):
            self.f, self.room = f, 100

        def writable(self):
            return True

        def write(self, b):
            if len(b) > self.room:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.room -= len(b)
            return self.f.write(b)

        def fileno(self):
            return self.f.fileno()

        def close(self):
            self.f.close()
            super().close()

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    with pytest.raises(CheckpointError, match=f"cannot write {path}: No space left on device; "
                                              "the file was left as it was") as info:
        nn.save({"step": 2, "w": np.zeros(1000)}, path)
    assert "Free disk space" in str(info.value)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["c.npz"] and int(nn.load(path)["step"]) == 1


def test_odd_but_valid_paths_work_and_impossible_ones_are_refused(tmp_path):
    long_name = tmp_path / ("x" * 250 + ".npz")  # 254 bytes: no room left for ".tmp-..."
    nn.save({"step": 1}, long_name)
    assert int(nn.load(long_name)["step"]) == 1 and os.listdir(tmp_path) == [long_name.name]
    as_bytes = os.fsencode(tmp_path / "bytes.npz")
    nn.save({"step": 2}, as_bytes)
    assert int(nn.load(as_bytes)["step"]) == 2
    (tmp_path / "file").write_text("")
    with pytest.raises(CheckpointError, match="file is a file, not a folder"):
        nn.save({"step": 3}, tmp_path / "file" / "c.npz")
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(CheckpointError, match="a symlink that points, in the end, at itself"):
        nn.save({"step": 4}, tmp_path / "a")


def test_a_folder_or_file_without_permission_raises_checkpoint_error(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    nn.save({"step": 1}, path)
    real_open = os.open

    def denied(file, flags, *args, **kwargs):
        if os.fspath(file).startswith(str(path)):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), file)
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)  # as a read-only folder or file would (even for root)
    with pytest.raises(CheckpointError, match="cannot write .*Permission denied.*Save to a folder "
                                              "you can write to"):
        nn.save({"step": 2}, path)
    with pytest.raises(CheckpointError, match="cannot read .*Permission denied; check its "
                                              "permissions"):
        nn.load(path)
    monkeypatch.undo()
    assert int(nn.load(path)["step"]) == 1 and os.listdir(tmp_path) == ["c.npz"]


KILLED_WRITER = """
import os, signal, sys, time
import numpy as np
from tinygrad_np import nn

def die(src, dst):  # just before the rename, once all three writers got this far
    while len(os.listdir(os.path.dirname(dst))) < 3:
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGKILL)

os.replace = die
nn.save({"w": np.zeros(100_000)}, sys.argv[1])
"""


def test_later_saves_remove_the_temporaries_of_killed_writers_but_not_of_live_ones(tmp_path):
    path = tmp_path / "c.npz"
    writers = [subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)])
               for _ in range(3)]
    assert [w.wait(timeout=60) for w in writers] == [-signal.SIGKILL] * 3
    left = sorted(os.listdir(tmp_path))
    assert len(left) == 3 and all(name.startswith("c.npz.tmp-") for name in left)

    # the temporaries of two live writers: this process and a running child
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = left[0].split("-")[1]
        live = [f"other.npz.tmp-{host}-{pid}-0123abcd" for pid in (os.getpid(), sleeper.pid)]
        for name in live:
            (tmp_path / name).write_bytes(b"half a checkpoint")
        nn.save({"step": 1}, tmp_path / "other.npz")
        assert sorted(os.listdir(tmp_path)) == sorted(["c.npz", "other.npz"][1:] + live)
    finally:
        sleeper.kill()
        sleeper.wait()
    nn.save({"step": 2}, path)  # the sleeper is gone now: its temporary goes too
    assert sorted(os.listdir(tmp_path)) == sorted(["c.npz", "other.npz", live[0]])


def test_a_missing_file_raises_a_library_error_that_is_still_a_file_not_found_error(tmp_path):
    missing = tmp_path / "missing.npz"
    with pytest.raises(tg.CheckpointNotFoundError, match="nn.load: no such file") as info:
        nn.load(missing)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, tg.TinygradError)
    assert info.value.errno == errno.ENOENT and info.value.filename == str(missing)


@pytest.mark.parametrize("call, message", [
    (lambda p: nn.load(None), "nn.load: path must be a file name"),
    (lambda p: nn.save({"a": np.zeros(2)}, None), "nn.save: path must be a file name"),
    (lambda p: nn.save({"a": [np.zeros(2), np.zeros(3)]}, p), "'a'.* values of different sh"),
])
def test_bad_paths_and_ragged_lists_raise_checkpoint_errors(tmp_path, call, message):
    path = tmp_path / "c.npz"
    with pytest.raises(CheckpointError, match=message):
        call(path)
    assert not path.exists()
