"""Initializers: statistics against their formulas, reproducibility, and the seeds' own schemes
expressed exactly."""

import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import ShapeError, nn
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
