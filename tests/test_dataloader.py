"""DataLoader over datasets (any object with __len__/__getitem__), TensorDataset, collate_fn,
generator=, X-only arrays; the array form's order and seeds are tested in test_data.py."""

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import Tensor
from tinygrad_np.data import DataLoader, TensorDataset, default_collate


def numbered(n=10, features=3):
    return np.repeat(np.arange(n, dtype=np.float32)[:, None], features, axis=1), np.arange(n)


class Squares:
    """A map-style dataset as a PyTorch user writes one: a sample is (features, label)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.array([i, i * i], np.float32), i % 3


def test_a_dataset_is_batched_by_stacking_each_field():
    loader = DataLoader(Squares(10), batch_size=4, shuffle=False)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    xb, yb = batches[0]
    assert xb.dtype == np.float32 and xb.shape == (4, 2) and xb[:, 1].tolist() == [0, 1, 4, 9]
    assert yb.tolist() == [0, 1, 2, 0] and yb.dtype.kind == "i"
    assert batches[2][0].shape == (2, 2)
    assert len(DataLoader(Squares(10), 4, drop_last=True)) == 2  # PyTorch's positional size


def test_a_dataset_and_arrays_shuffle_alike_for_the_same_seed():
    X, y = numbered(23)
    for seed in (0, 5):
        ours = [yb for _, yb in DataLoader(Squares(23), batch_size=5, seed=seed)]
        arrays = [yb for _, yb in DataLoader(X, y, batch_size=5, seed=seed)]
        assert all(np.array_equal(a % 3, b) for a, b in zip(arrays, ours))
    g1 = [xb[:, 0] for xb, _ in DataLoader(Squares(23), 5, generator=np.random.default_rng(1))]
    g2 = [xb[:, 0] for xb, _ in DataLoader(Squares(23), 5, seed=np.random.default_rng(1))]
    assert all(np.array_equal(a, b) for a, b in zip(g1, g2))
    seen = np.concatenate(g1)
    assert sorted(seen.tolist()) == list(range(23)) and seen.tolist() != list(range(23))


def test_tensor_dataset_keeps_tensors_and_matches_the_array_form():
    X, y = numbered(20)
    ds = TensorDataset(Tensor(X), y)
    assert len(ds) == 20
    x3, y3 = ds[3]
    assert isinstance(x3, Tensor) and not x3.requires_grad and x3.tolist() == [3.0] * 3
    assert isinstance(y3, np.integer) and y3 == 3
    a = list(DataLoader(ds, batch_size=6, seed=2))
    b = list(DataLoader(X, y, batch_size=6, seed=2))
    for (xa, ya), (xb, yb) in zip(a, b):
        assert isinstance(xa, Tensor) and isinstance(ya, np.ndarray)
        np.testing.assert_array_equal(xa.data, xb)
        np.testing.assert_array_equal(ya, yb)
    collated = list(DataLoader(ds, batch_size=6, seed=2, collate_fn=default_collate))
    for (xa, ya), (xc, yc) in zip(a, collated):  # the per-sample path agrees
        np.testing.assert_array_equal(xa.data, xc.data)
        np.testing.assert_array_equal(ya, yc)
    with pytest.raises(tg.ShapeError, match=r"\(20, 3\), \(19,\)"):
        TensorDataset(X, y[:19])


def test_x_only_arrays_and_datasets():
    X, _ = numbered(7)
    batches = list(DataLoader(X, batch_size=3, shuffle=False))
    assert [b.shape for b in batches] == [(3, 3), (3, 3), (1, 3)]
    assert np.shares_memory(batches[0], X)
    single = list(DataLoader([np.full(2, i) for i in range(5)], batch_size=2, shuffle=False))
    assert single[0].tolist() == [[0, 0], [1, 1]] and len(single) == 3
    numbers = list(DataLoader([0.5, 1.5, 2.5], batch_size=2, shuffle=False))
    assert numbers[0].dtype == np.float64 and numbers[0].tolist() == [0.5, 1.5]
    lists = list(DataLoader([[1.0, 2.0], [3.0, 4.0]], [0, 1], batch_size=2, shuffle=False))
    assert lists[0][0].shape == (2, 2) and lists[0][1].tolist() == [0, 1]  # lists as arrays


def test_collate_fn_and_dict_samples():
    class Words:
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return {"word": "abcd"[: i + 1], "length": i + 1}

    batch = next(iter(DataLoader(Words(), batch_size=4, shuffle=False)))
    assert batch["word"] == ["a", "ab", "abc", "abcd"] and batch["length"].tolist() == [1, 2, 3, 4]

    def pad(samples):
        width = max(len(s["word"]) for s in samples)
        return np.array([[ord(c) for c in s["word"].ljust(width)] for s in samples])

    padded = next(iter(DataLoader(Words(), batch_size=4, shuffle=False, collate_fn=pad)))
    assert padded.shape == (4, 4)


@pytest.mark.parametrize("make, exc, message", [
    (lambda: DataLoader(Squares(5), batch_size=0), tg.ArgumentError, "batch_size must be positive"),
    (lambda: DataLoader(Squares(5), batch_size=2.0), tg.ArgumentError, "batch_size must be an int"),
    (lambda: DataLoader(42, batch_size=2), tg.ArgumentError, "__len__ and __getitem__, got int"),
    (lambda: DataLoader(Squares(5), np.arange(5), batch_size=2), tg.ArgumentError,
     r"TensorDataset\(X, y\)"),
    (lambda: DataLoader(Squares(5), seed=1, generator=2), tg.ArgumentError, "not both"),
    (lambda: DataLoader(np.float32(1.0), batch_size=2), tg.ShapeError, "first dimension"),
    (lambda: next(iter(DataLoader([np.ones(2), np.ones(3)], 2, shuffle=False))), tg.ShapeError,
     r"shapes \(2,\) and \(3,\).*collate_fn="),
    (lambda: next(iter(DataLoader([(1, 2), (1,)], 2, shuffle=False))), tg.ShapeError,
     "same fields"),
    (lambda: next(iter(DataLoader([object(), object()], 2))), tg.ArgumentError,
     "cannot batch samples of type object"),
    (lambda: TensorDataset(), tg.ArgumentError, "at least one"),
])
def test_bad_input_is_a_tinygrad_error(make, exc, message):
    with pytest.raises(exc, match=message) as e:
        make()
    assert isinstance(e.value, tg.TinygradError)


def test_one_hot_and_split_raise_argument_errors():
    with pytest.raises(tg.ArgumentError, match="num_classes must be a positive int"):
        tg.data.one_hot([0], 0)
    with pytest.raises(tg.ArgumentError, match="cannot infer num_classes"):
        tg.data.one_hot(np.zeros(0, np.int64))
    X, y = numbered(10)
    with pytest.raises(tg.ArgumentError, match=r"test_size is a fraction in \(0, 1\)"):
        tg.data.train_test_split(X, y, test_size=1.5)
    with pytest.raises(tg.ArgumentError, match="cannot take 8 training and 5 test"):
        tg.data.train_test_split(X, y, n_train=8, n_test=5)


# --- settings of the wrong kind raise, naming the argument --------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    (dict(seed=0.5), "DataLoader: seed must be an int >= 0"),
    (dict(seed="abc"), "DataLoader: seed must be an int >= 0"),
    (dict(seed=-1), "DataLoader: seed must be an int >= 0"),
    (dict(generator=True), "DataLoader: seed must be an int >= 0"),
    (dict(shuffle="no"), "DataLoader: shuffle must be True or False.*'no'"),
    (dict(drop_last="no"), "DataLoader: drop_last must be True or False"),
    (dict(shuffle=None), "DataLoader: shuffle must be True or False"),
])
def test_bad_loader_settings_raise_a_library_error(kwargs, message):
    from tinygrad_np.errors import ArgumentError

    X, y = np.zeros((6, 2)), np.arange(6)
    with pytest.raises(ArgumentError, match=message):
        DataLoader(X, y, batch_size=2, **kwargs)
    loader = DataLoader(X, y, batch_size=4, shuffle=np.bool_(False), drop_last=np.bool_(True),
                        seed=np.int64(3))
    assert loader.shuffle is False and loader.drop_last is True and len(loader) == 1


def test_default_collate_of_no_samples_says_so():
    from tinygrad_np.errors import ArgumentError

    with pytest.raises(ArgumentError, match="default_collate: got an empty list of samples"):
        default_collate([])
