"""nn.save / nn.load: round trips, atomic writes, and clear errors for bad files."""

import errno
import io
import os
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_np import CheckpointError, nn, optim


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
    assert back["optim"]["hyperparameters"]["betas"].tolist() == [0.9, 0.999]
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
    with pytest.raises(CheckpointError, match=f"cannot read {single}.*single ndarray"):
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
    for state, message in [({"a/b": np.zeros(1)}, "key 'a/b' cannot be stored"),
                           ({"a": {1: np.zeros(1)}}, "key 1 cannot be stored"),
                           ({"a": object()}, "'a' has type object"),
                           ([np.zeros(1)], "expected a dict")]:
        with pytest.raises(CheckpointError, match=message):
            nn.save(state, path)
    assert os.listdir(tmp_path) == []


def test_saved_model_loads_into_a_fresh_model(tmp_path):
    model, _ = model_and_optimizer()
    nn.save(model.state_dict(), str(tmp_path / "m.npz"))
    fresh = nn.MLP([4, 6, 3], rng=np.random.default_rng(1))
    fresh.load_state_dict(nn.load(str(tmp_path / "m.npz")))
    for p, q in zip(model.parameters(), fresh.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


# --- where and how the file is written -----------------------------------------------------------


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
