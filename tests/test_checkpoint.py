"""nn.save / nn.load: round trips, atomic writes, and clear errors for bad files."""

import os

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
    with pytest.raises(OSError, match="simulated crash"):
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
