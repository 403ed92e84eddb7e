"""Initializers: statistics against their formulas, reproducibility, and the seeds' own schemes
expressed exactly."""

import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import ShapeError, Tensor, nn
from tinygrad_np.nn import init

SHAPE = (1000, 1500)  # 1.5 million draws: the std of the sample std is ~0.06%
FAN_IN, FAN_OUT = SHAPE

# name: (bound of a uniform, or None; expected std)
STANDARD = {
    "lecun_uniform": (math.sqrt(3 / FAN_IN), math.sqrt(1 / FAN_IN)),
    "xavier_uniform": (math.sqrt(6 / (FAN_IN + FAN_OUT)), math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "xavier_normal": (None, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "he_uniform": (math.sqrt(6 / FAN_IN), math.sqrt(2 / FAN_IN)),
    "he_normal": (None, math.sqrt(2 / FAN_IN)),
}


@pytest.mark.parametrize("name", list(STANDARD))
def test_statistics_match_the_formula(name):
    bound, std = STANDARD[name]
    w = getattr(init, name)(SHAPE, rng=np.random.default_rng(0), dtype=np.float64)
    assert w.shape == SHAPE
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=3e-3)
    if bound is not None:
        assert -bound <= w.min() and w.max() <= bound
        assert w.max() == pytest.approx(bound, rel=1e-4)  # the bound is reached, not smaller
    else:  # a Gaussian: ~0.27% of draws beyond 3 std
        assert (np.abs(w) > 3 * std).mean() == pytest.approx(0.0027, rel=0.1)


def test_uniform_normal_and_zeros():
    rng = np.random.default_rng(1)
    u = init.uniform(SHAPE, -0.05, 0.05, rng=rng, dtype=np.float64)
    assert -0.05 <= u.min() and u.max() < 0.05
    assert u.std() == pytest.approx(0.1 / math.sqrt(12), rel=3e-3)
    n = init.normal(SHAPE, mean=2.0, std=0.3, rng=rng, dtype=np.float64)
    assert n.mean() == pytest.approx(2.0, abs=5 * 0.3 / math.sqrt(n.size))
    assert n.std() == pytest.approx(0.3, rel=3e-3)
    z = init.zeros((3, 2))
    assert z.dtype == np.float32 and not z.any()


def test_default_dtype_and_errors():
    assert init.he_uniform((3, 2)).dtype == np.float32
    assert init.he_uniform((3, 2), dtype="float64").dtype == np.float64
    with pytest.raises(ShapeError, match=r"he_normal: needs a 2-D weight shape.*\(7,\)"):
        init.he_normal((7,))


def test_fixed_seeds_give_identical_draws():
    for name in ("uniform", "normal", *STANDARD):
        fn = getattr(init, name)
        args = ((-1.0, 1.0) if name == "uniform" else ())
        tg.manual_seed(11)
        a = fn((30, 20), *args)
        tg.manual_seed(11)
        b = fn((30, 20), *args)
        c = fn((30, 20), *args, rng=np.random.default_rng(11))
        assert np.array_equal(a, b) and np.array_equal(a, c), name
        assert not np.array_equal(a, fn((30, 20), *args)), name


def test_float32_weights_are_the_float64_draws_rounded():
    a = init.he_uniform((40, 30), rng=np.random.default_rng(2))
    b = init.he_uniform((40, 30), rng=np.random.default_rng(2), dtype=np.float64)
    assert np.array_equal(a, b.astype(np.float32))


# --- the seeds' schemes, bit for bit (seeds draw weights of shape (out, in)) -------------------

IN, OUT = 784, 100


def test_seed_003_schemes_are_expressible_exactly():
    def draw(fn):
        return fn(np.random.RandomState(0))

    seed = {  # the expressions in seed 003's Layer.__init_params__
        "random": lambda r: r.uniform(size=(OUT, IN)) * 0.1 - 0.05,
        "lecun": lambda r: r.uniform(low=-1 / np.sqrt(IN), high=1 / np.sqrt(IN), size=(OUT, IN)),
        "xe": lambda r: r.uniform(low=-np.sqrt(2 / (IN + OUT)), high=np.sqrt(2 / (IN + OUT)),
                                  size=(OUT, IN)),
        "he": lambda r: r.uniform(low=-np.sqrt(2 / IN), high=np.sqrt(2 / IN), size=(OUT, IN)),
    }
    bounds = {"random": 0.05, "lecun": 1 / math.sqrt(IN), "xe": math.sqrt(2 / (IN + OUT)),
              "he": math.sqrt(2 / IN)}
    for name, b in bounds.items():
        ours = draw(lambda r, b=b: init.uniform((OUT, IN), -b, b, rng=r, dtype=np.float64))
        assert np.array_equal(ours, draw(seed[name])), name


def test_seed_003_through_linear_in_this_layout():
    def seed_xavier(shape, rng, dtype):  # the seed's bound, drawn in its (out, in) order
        fan_in, fan_out = shape
        b = math.sqrt(2 / (fan_in + fan_out))
        return init.uniform((fan_out, fan_in), -b, b, rng, dtype).T

    layer = nn.Linear(IN, OUT, init=seed_xavier, rng=np.random.RandomState(4), dtype="float64")
    r = np.random.RandomState(4)
    b = np.sqrt(2 / (IN + OUT))
    assert np.array_equal(layer.weight.data, r.uniform(low=-b, high=b, size=(OUT, IN)).T)
    assert not layer.bias.data.any()  # seed 003: biases zero


def test_seed_004_randn_times_0_01_is_normal_with_std_0_01():
    ours = np.random.RandomState(3)
    seed = np.random.RandomState(3)
    for shape in [(512, 784), (512, 1), (10, 512), (10, 1)]:  # W1, b1, W2, b2, in its order
        a = init.normal(shape, std=0.01, rng=ours, dtype=np.float64)
        assert np.array_equal(a, seed.randn(*shape) * 0.01), shape


def test_seed_001_normal_0_0_3_is_normal_with_std_0_3():
    ours, seed = np.random.RandomState(1), np.random.RandomState(1)
    a = init.normal((32, 785), std=0.3, rng=ours, dtype=np.float64)
    assert np.array_equal(a, seed.normal(loc=0.0, scale=0.3, size=(32, 785)))
    g1, g2 = np.random.default_rng(1), np.random.default_rng(1)
    b = init.normal((32, 785), std=0.3, rng=g1, dtype=np.float64)
    assert np.array_equal(b, g2.normal(0.0, 0.3, (32, 785)))


def test_linear_accepts_scheme_names_and_aliases():
    for name, alias in [("he_uniform", "he"), ("xavier_uniform", "xavier"),
                        ("lecun_uniform", "lecun"), ("xavier_uniform", "glorot")]:
        a = nn.Linear(20, 10, init=name, rng=np.random.default_rng(5)).weight.data
        b = nn.Linear(20, 10, init=alias, rng=np.random.default_rng(5)).weight.data
        c = getattr(init, name)((20, 10), rng=np.random.default_rng(5))
        assert np.array_equal(a, b) and np.array_equal(a, c), alias


# --- PyTorch's in-place spellings ------------------------------------------------------------


def _param(*shape, dtype="float64"):
    return tg.Tensor(np.zeros(shape, dtype), requires_grad=True)


@pytest.mark.parametrize("shape", [(32, 16, 3, 3), (8, 4, 5), (3, 7, 1, 1, 2)])
def test_fans_of_a_kernel_follow_pytorchs_rule(shape):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(_param(*shape))
    receptive = math.prod(shape[2:])
    assert (fan_in, fan_out) == (shape[1] * receptive, shape[0] * receptive)
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        init._calculate_fan_in_and_fan_out(_param(5))


def test_fans_of_a_matrix_read_this_librarys_linear_layout():
    layer = tg.nn.Linear(64, 32)  # weight (in, out): a ported PyTorch init loop gets fan_in 64
    assert init._calculate_fan_in_and_fan_out(layer.weight) == (64, 32)
    with tg.no_grad():
        init.kaiming_normal_(layer.weight, nonlinearity="relu",
                             generator=np.random.default_rng(0))
    assert abs(layer.weight.data.std() - math.sqrt(2 / 64)) < 0.01


@pytest.mark.needs_torch
def test_fans_and_gains_equal_pytorchs():
    import torch

    for shape in [(32, 16, 3, 3), (8, 4, 5)]:  # a 2-D weight is read as (in, out) here
        assert init._calculate_fan_in_and_fan_out(_param(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    for args in [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
                 ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu",)]:
        assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


BIG = (600, 50, 3, 3)  # fan_in 450, fan_out 5400; 270,000 draws
FI, FO = 50 * 9, 600 * 9


@pytest.mark.parametrize("fn,bound,std", [
    (lambda t, g: init.kaiming_uniform_(t, generator=g), math.sqrt(6 / FI), None),  # a=0
    (lambda t, g: init.kaiming_uniform_(t, a=math.sqrt(5), generator=g), 1 / math.sqrt(FI),
     None),
    (lambda t, g: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu", generator=g),
     math.sqrt(6 / FO), None),
    (lambda t, g: init.kaiming_normal_(t, nonlinearity="relu", generator=g), None,
     math.sqrt(2 / FI)),
    (lambda t, g: init.xavier_uniform_(t, gain=2.0, generator=g), 2 * math.sqrt(6 / (FI + FO)),
     None),
    (lambda t, g: init.xavier_normal_(t, generator=g), None, math.sqrt(2 / (FI + FO))),
    (lambda t, g: init.uniform_(t, -0.3, 0.1, generator=g), None, 0.4 / math.sqrt(12)),
    (lambda t, g: init.normal_(t, 1.0, 0.5, generator=g), None, 0.5),
])
def test_in_place_initializers_draw_what_they_promise(fn, bound, std):
    w = _param(*BIG)
    assert fn(w, np.random.default_rng(0)) is w
    v = w.data
    if bound is not None:
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.999 * bound
        assert v.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    else:
        assert v.std() == pytest.approx(std, rel=0.01)


def test_in_place_initializers_work_on_parameters_and_note_the_write():
    layer = nn.Conv2d(3, 4, 3)
    x = tg.Tensor(np.ones((1, 3, 5, 5), np.float32))
    loss = layer(x).sum()  # the graph holds the weight as it was
    before = layer.weight.data
    init.kaiming_normal_(layer.weight, mode="fan_out")  # grad mode is on; no error
    assert layer.weight.data is before and layer.weight.requires_grad  # filled in place
    with pytest.raises(tg.GraphError):
        loss.backward()  # the in-place guard saw the write
    init.zeros_(layer.bias)
    assert not layer.bias.data.any() and layer.bias.dtype == np.float32


def test_in_place_initializers_use_the_library_generator():
    a, b = _param(20, 30), _param(20, 30)
    tg.manual_seed(7)
    init.xavier_uniform_(a)
    tg.manual_seed(7)
    init.xavier_uniform_(b)
    np.testing.assert_array_equal(a.data, b.data)
    c = _param(20, 30)
    init.uniform_(c, -1, 1, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(c.data, np.random.default_rng(1).uniform(-1, 1, (20, 30)))


def test_constant_ones_zeros_eye_trunc_normal_orthogonal():
    w = _param(3, 4)
    assert (init.constant_(w, 0.25).data == 0.25).all()
    assert (init.ones_(w).data == 1).all() and not init.zeros_(w).data.any()
    np.testing.assert_array_equal(init.eye_(w).data, np.eye(3, 4))
    t = init.trunc_normal_(_param(200, 300), mean=0.5, std=1.0, a=-1.0, b=1.5,
                           generator=np.random.default_rng(0)).data
    assert t.min() >= -1.0 and t.max() <= 1.5 and t.max() > 1.49 and t.min() < -0.99
    for shape in [(6, 4), (4, 6), (5, 2, 3)]:
        q = init.orthogonal_(_param(*shape), gain=2.0, generator=np.random.default_rng(0))
        m = q.data.reshape(shape[0], -1)
        gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
        np.testing.assert_allclose(gram, 4 * np.eye(len(gram)), atol=1e-12)


def test_in_place_initializer_errors():
    with pytest.raises(tg.ArgumentError, match=r"xavier_uniform_: expected a Tensor.*"
                                               r"nn.init.xavier_uniform\(shape\)"):
        init.xavier_uniform_(np.zeros((3, 4)))
    with pytest.raises(tg.ArgumentError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_uniform_(_param(3, 4), mode="fan_avg")
    with pytest.raises(tg.ArgumentError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(tg.DTypeError, match="floating tensor"):
        init.ones_(tg.Tensor(np.zeros(3, np.int64)))
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        init.kaiming_uniform_(_param(5))


@pytest.mark.needs_torch
def test_kaiming_on_an_embedding_table_uses_pytorchs_fans():
    # the table is (num_embeddings, embedding_dim) as in PyTorch, not Linear's (in, out): its
    # std came out 4.5x too small
    import copy
    import pickle

    import torch

    e = nn.Embedding(1000, 50)
    assert nn.init._calculate_fan_in_and_fan_out(e.weight) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.nn.Embedding(1000, 50).weight)
    for table in (copy.deepcopy(e).weight, pickle.loads(pickle.dumps(e)).weight):
        assert nn.init._calculate_fan_in_and_fan_out(table) == (50, 1000)
    nn.init.kaiming_normal_(e.weight)
    assert abs(e.weight.numpy().std() - (2 / 50) ** 0.5) < 0.01


@pytest.mark.parametrize("args", [(0, 1, 5, 6), (10, 1, -2, 2), (0, 1, -6, -5), (0, 1, 40, 41)])
def test_trunc_normal_far_in_a_tail_is_quick_and_inside_the_bounds(args):
    # it redrew until every value fell inside: forever for bounds 8 std from the mean
    mean, std, a, b = args
    w = Tensor(np.zeros(20000))
    nn.init.trunc_normal_(w, mean, std, a, b, generator=np.random.default_rng(0))
    v = w.numpy()
    assert a <= v.min() and v.max() <= b
    near = a if abs(a - mean) < abs(b - mean) else b
    assert (np.abs(v - near) < (b - a) / 4).mean() > 0.5  # the mass sits at the near bound
    if (mean, std, a, b) == (0, 1, 5, 6):  # the truncated normal's mean: 5.1837
        assert abs(v.mean() - 5.1837) < 0.01


@pytest.mark.parametrize("call, message", [
    (lambda w: nn.init.uniform_(w, 1, 0), "needs a <= b"),
    (lambda w: nn.init.uniform_(w, float("nan"), 1), "a must be a finite number"),
    (lambda w: nn.init.normal_(w, 0, -1), "std must be >= 0"),
    (lambda w: nn.init.trunc_normal_(w, std=0), "std must be > 0"),
    (lambda w: nn.init.trunc_normal_(w, mean=float("nan")), "mean must be a finite"),
    (lambda w: nn.init.constant_(w, np.array([1.0, 2.0, 3.0])), "val must be a number"),
    (lambda w: nn.init.uniform_(w, generator=5), "generator/rng must be a NumPy Generator"),
])
def test_in_place_initializers_refuse_bad_settings(call, message):
    w = Tensor(np.zeros(3))
    with pytest.raises(tg.ArgumentError, match=message):
        call(w)
    assert w.numpy().tolist() == [0, 0, 0]
