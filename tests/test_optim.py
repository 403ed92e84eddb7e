"""Optimizers against the published update equations (and torch.optim when installed), in-place
updates, the non-finite-gradient guard, state round trips and the schedulers."""

import math
import tracemalloc
import warnings

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import OptimizerError, Tensor, nn, optim

# --- a fixed problem: mean((tanh(X W + b) - Y)^2), float64, with its gradient by hand ---------

_rng = np.random.default_rng(42)
X = _rng.standard_normal((8, 4))
Y = _rng.uniform(-0.9, 0.9, (8, 3))
W0 = _rng.standard_normal((4, 3)) * 0.5
B0 = _rng.standard_normal(3) * 0.1


def hand_grads(W, b):
    A = np.tanh(X @ W + b)
    dZ = 2 * (A - Y) / A.size * (1 - A * A)
    return [X.T @ dZ, dZ.sum(axis=0)]


def autodiff_loss(W, b):
    return ((Tensor(X) @ W + b).tanh() - Tensor(Y)).__pow__(2).mean()


# --- the reference: PyTorch's documented algorithms, written out plainly ---------------------

DEFAULTS = {
    "SGD": dict(lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0),
    "Adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False),
    "AdamW": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False),
    "RMSprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                    centered=False),
    "Adagrad": dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                    eps=1e-10),
}
for _h in DEFAULTS.values():
    _h["maximize"] = False


def reference_step(kind, h, theta, g, s, t):
    """One step of the algorithm boxes in the torch.optim documentation; returns new theta."""
    if kind in ("SGD", "Adam", "RMSprop", "Adagrad") and h["weight_decay"]:
        g = g + h["weight_decay"] * theta
    if kind == "SGD":
        if h["momentum"]:
            s["b"] = g if t == 1 else h["momentum"] * s["b"] + (1 - h["dampening"]) * g
            g = g + h["momentum"] * s["b"] if h["nesterov"] else s["b"]
        return theta - h["lr"] * g
    if kind in ("Adam", "AdamW"):
        if kind == "AdamW":
            theta = theta - h["lr"] * h["weight_decay"] * theta
        b1, b2 = h["betas"]
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * g**2
        m_hat = s["m"] / (1 - b1**t)
        if h["amsgrad"]:
            s["vmax"] = np.maximum(s.get("vmax", 0), s["v"])
            v_hat = s["vmax"] / (1 - b2**t)
        else:
            v_hat = s["v"] / (1 - b2**t)
        return theta - h["lr"] * m_hat / (np.sqrt(v_hat) + h["eps"])
    if kind == "RMSprop":
        a = h["alpha"]
        s["v"] = a * s.get("v", 0) + (1 - a) * g**2
        v_tilde = s["v"]
        if h["centered"]:
            s["gave"] = s.get("gave", 0) * a + (1 - a) * g
            v_tilde = v_tilde - s["gave"] ** 2
        if h["momentum"] > 0:
            s["b"] = h["momentum"] * s.get("b", 0) + g / (np.sqrt(v_tilde) + h["eps"])
            return theta - h["lr"] * s["b"]
        return theta - h["lr"] * g / (np.sqrt(v_tilde) + h["eps"])
    if kind == "Adagrad":
        lr_t = h["lr"] / (1 + (t - 1) * h["lr_decay"])
        s["sum"] = s.get("sum", h["initial_accumulator_value"]) + g**2
        return theta - lr_t * g / (np.sqrt(s["sum"]) + h["eps"])
    raise AssertionError(kind)


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.05)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.05, initial_accumulator_value=0.1)),
]
IDS = [f"{k}-{i}" for i, (k, _) in enumerate(CASES)]


def run_ours(kind, kwargs, steps=20):
    W, b = Tensor(W0.copy(), requires_grad=True), Tensor(B0.copy(), requires_grad=True)
    opt = getattr(optim, kind)([W, b], **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        autodiff_loss(W, b).backward()
        opt.step()
    return [W.data, b.data]


@pytest.mark.parametrize("kind, kwargs", CASES, ids=IDS)
def test_20_steps_match_the_published_equations(kind, kwargs):
    h = {**DEFAULTS[kind], **kwargs}
    thetas, states = [W0.copy(), B0.copy()], [{}, {}]
    for t in range(1, 21):
        grads = hand_grads(*thetas)
        thetas = [reference_step(kind, h, th, g, s, t) for th, g, s in zip(thetas, grads, states)]
    ours = run_ours(kind, kwargs)
    assert not np.allclose(ours[0], W0)  # it moved
    for a, r in zip(ours, thetas):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-14)


@pytest.mark.needs_torch
@pytest.mark.parametrize("kind, kwargs", CASES, ids=IDS)
def test_20_steps_match_torch_optim(kind, kwargs):
    import torch

    W = torch.tensor(W0.copy(), requires_grad=True)
    b = torch.tensor(B0.copy(), requires_grad=True)
    opt = getattr(torch.optim, kind)([W, b], **kwargs)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for _ in range(20):
        opt.zero_grad()
        ((torch.tanh(Xt @ W + b) - Yt) ** 2).mean().backward()
        opt.step()
    for a, r in zip(run_ours(kind, kwargs), (W, b)):
        np.testing.assert_allclose(a, r.detach().numpy(), rtol=1e-12, atol=1e-14)


MAXIMIZE_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1)),
]


@pytest.mark.needs_torch
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "per-parameter"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05], ids=["no-decay", "decay"])
@pytest.mark.parametrize("kind, kwargs", MAXIMIZE_CASES, ids=[k for k, _ in MAXIMIZE_CASES])
def test_maximize_matches_torch_optim(kind, kwargs, weight_decay, fused):
    import torch

    kwargs = dict(kwargs, weight_decay=weight_decay, maximize=True)
    W = torch.tensor(W0.copy(), requires_grad=True)
    b = torch.tensor(B0.copy(), requires_grad=True)
    topt = getattr(torch.optim, kind)([W, b], **kwargs)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    ours = [Tensor(W0.copy(), requires_grad=True), Tensor(B0.copy(), requires_grad=True)]
    opt = getattr(optim, kind)(ours, **kwargs, fused=fused)
    assert (opt._segments[0].flat is not None) == fused  # W and b share one flat buffer
    for _ in range(20):
        topt.zero_grad()
        (-((torch.tanh(Xt @ W + b) - Yt) ** 2).mean()).backward()
        topt.step()
        opt.zero_grad()
        (-autodiff_loss(*ours)).backward()
        grads = [p.grad.data.copy() for p in ours]
        opt.step()
        for p, g in zip(ours, grads):  # the gradient was read, never negated in place
            np.testing.assert_array_equal(p.grad.data, g)
    for a, r in zip(ours, (W, b)):
        np.testing.assert_allclose(a.data, r.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", list(DEFAULTS))
def test_maximize_is_a_flag_and_is_saved(kind, tmp_path):
    w = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(OptimizerError, match=f"{kind}: maximize must be True or False"):
        getattr(optim, kind)([w], maximize="yes")
    opt = getattr(optim, kind)([w], maximize=True)
    nn.save(opt.state_dict(), tmp_path / "o.npz")
    fresh = getattr(optim, kind)([w])
    fresh.load_state_dict(nn.load(tmp_path / "o.npz"))
    assert fresh.maximize is True


def test_a_state_saved_before_maximize_existed_loads_as_descent():
    w = Tensor(np.ones(2), requires_grad=True)
    state = optim.Adam([w]).state_dict()
    del state["param_groups"]["0"]["maximize"]
    opt = optim.Adam([w], maximize=True)
    opt.load_state_dict(state)
    assert opt.maximize is False


@pytest.mark.needs_torch
def test_defaults_are_pytorchs():
    import torch

    p = Tensor(np.zeros(2), requires_grad=True)
    for kind, ours in DEFAULTS.items():
        theirs = getattr(torch.optim, kind)([torch.zeros(2, requires_grad=True)]).defaults
        assert {k: theirs[k] for k in ours} == ours, kind
        assert all(getattr(getattr(optim, kind)([p]), k) == v for k, v in ours.items()), kind


# --- in place, no allocation ------------------------------------------------------------------


@pytest.mark.parametrize("kind, kwargs", CASES, ids=IDS)
def test_updates_in_place_without_parameter_sized_allocations(kind, kwargs):
    rng = np.random.default_rng(0)
    p = Tensor(rng.standard_normal((500, 500)), requires_grad=True)  # 2 MB
    q = Tensor(rng.standard_normal(7), requires_grad=True)
    opt = getattr(optim, kind)([p, q], **kwargs)
    arrays = (p.data, q.data)
    p.grad, q.grad = rng.standard_normal(p.shape), rng.standard_normal(q.shape)
    opt.step()  # the first step may allocate (weight-decay buffers)
    buffers = [id(b) for st in opt.state for b in st.values()]
    before = p.data.copy()
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < p.data.nbytes / 10, f"step allocated {peak} bytes"
    assert (p.data, q.data) == arrays and p.data is arrays[0]
    assert [id(b) for st in opt.state for b in st.values()] == buffers
    assert not np.array_equal(p.data, before)


# --- gradients that must not be applied -------------------------------------------------------


def two_params():
    return (Tensor(np.ones((2, 3)), requires_grad=True),
            Tensor(np.ones(3), requires_grad=True))


@pytest.mark.parametrize("kind", list(DEFAULTS))
def test_a_non_finite_gradient_raises_naming_the_parameter_and_changes_nothing(kind):
    w, b = two_params()
    opt = getattr(optim, kind)([w, b], lr=0.1)
    w.grad, b.grad = np.full((2, 3), 0.5), np.array([0.5, np.nan, np.inf])
    with pytest.raises(OptimizerError, match=r"parameter 1 \(shape \(3,\)\).*1 NaN and 1 Inf") as e:
        opt.step()
    assert str(e.value).count("shape") == 1, f"the shape is stated once: {e.value}"
    assert (w.data == 1).all() and (b.data == 1).all() and opt.steps == [0, 0]
    assert all((buf == buf.flat[0]).all() for st in opt.state for buf in st.values())


def test_named_parameters_name_the_culprit_and_the_check_can_be_turned_off():
    model = nn.MLP([3, 4, 2])
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    for p in model.parameters():
        p.grad = np.zeros_like(p.data)
    model.layers[1].weight.grad[0, 0] = np.nan
    with pytest.raises(OptimizerError, match="'layers.1.weight'.*check_finite=False") as e:
        opt.step()
    assert str(e.value).count("shape (4, 2)") == 1, f"the shape is stated once: {e.value}"
    w = Tensor(np.ones(2), requires_grad=True, name="w_out")
    w.grad = np.array([np.inf, 0.0])
    with pytest.raises(OptimizerError, match="'w_out'"):
        optim.Adam([w]).step()
    optim.SGD([w], lr=0.1, check_finite=False).step()
    assert np.isinf(w.data[0])


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_finite_gradients_whose_sum_of_squares_overflows_are_not_an_error(fused, dtype):
    big = np.finfo(dtype).max / 2  # their squares overflow; they do not
    w = Tensor(np.zeros(2, dtype), requires_grad=True)
    b = Tensor(np.zeros(3, dtype), requires_grad=True)  # two small ones: a fused segment
    opt = optim.SGD([w, b], lr=1e-30 if dtype is np.float64 else 1e-8, fused=fused)
    w.grad, b.grad = np.full(2, big, dtype), np.full(3, -big, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no RuntimeWarning reaches the user
        opt.step()
    assert np.isfinite(w.data).all() and np.isfinite(b.data).all()
    w.grad = np.array([big, np.inf], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(OptimizerError, match="1 Inf"):
            opt.step()


def test_a_gradient_of_the_wrong_shape_raises_before_any_update():
    w, b = two_params()
    with pytest.raises(tg.ShapeError, match=r"gradient of shape \(1, 3\).*shape \(3,\)"):
        b.grad = np.ones((1, 3))  # refused where it is made, as in PyTorch
    w.grad, b.grad = np.ones((2, 3)), np.ones(3)
    b.data = np.ones((1, 3))  # the parameter changed shape after its gradient was set
    with pytest.raises(OptimizerError,
                       match=r"parameter 1 \(shape \(1, 3\)\) has a gradient of shape \(3,\)"):
        optim.SGD([w, b], lr=0.1).step()
    assert (w.data == 1).all()


def test_parameters_without_gradient_are_skipped_and_keep_their_own_step_count():
    w, b = two_params()
    opt = optim.Adam([w, b], lr=0.1)
    w.grad = np.ones((2, 3))
    opt.step()
    opt.step()
    assert (b.data == 1).all() and opt.steps == [2, 0]
    b.grad = np.ones(3)
    w.grad = None
    opt.step()
    # b's first step: bias-corrected Adam moves each weight by lr * 1 / (1 + eps) ~ lr
    np.testing.assert_allclose(b.data, 1 - 0.1 / (1 + 1e-8), rtol=1e-12)
    assert opt.steps == [2, 1]


def test_zero_grad_sets_grads_to_none():
    w, b = two_params()
    w.grad, b.grad = np.ones((2, 3)), np.ones(3)
    optim.SGD([w, b]).zero_grad()
    assert w.grad is None and b.grad is None


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda p: optim.SGD([p], lr=-0.1), "lr must be >= 0"),
    (lambda p: optim.Adam([p], lr=float("nan")), "lr must be >= 0"),
    (lambda p: optim.SGD(p, lr=0.1), "wrap a single tensor in a list"),
    (lambda p: optim.SGD(nn.Linear(2, 2), lr=0.1), "pass model.parameters()"),
    (lambda p: optim.SGD([p, p], lr=0.1), "appears twice"),
    (lambda p: optim.SGD([Tensor(np.ones(2))], lr=0.1), "does not require grad"),
    (lambda p: optim.SGD([np.ones(2)], lr=0.1), "is a ndarray"),
    (lambda p: optim.SGD([p], lr=0.1, nesterov=True), "Nesterov momentum needs"),
    (lambda p: optim.SGD([p], lr=0.1, momentum=-0.9), "momentum must be >= 0"),
    (lambda p: optim.Adam([p], betas=(0.9, 1.0)), r"betas\[1\] must be in \[0, 1\)"),
    (lambda p: optim.Adam([p], betas=(0.9,)), "betas must be a pair"),
    (lambda p: optim.RMSprop([p], alpha=1.5), r"alpha must be in \[0, 1\)"),
    (lambda p: optim.Adagrad([p], eps=-1), "eps must be >= 0"),
    (lambda p: optim.StepLR(optim.SGD([p]), step_size=0), "step_size must be a positive"),
    (lambda p: optim.CosineAnnealingLR(optim.SGD([p]), T_max=0), "T_max must be a positive"),
    (lambda p: optim.StepLR([p], step_size=2), "expected an optimizer"),
])
def test_bad_settings_raise_clear_errors(make, message):
    with pytest.raises(OptimizerError, match=message):
        make(Tensor(np.ones(2), requires_grad=True))


# --- state dicts: resuming is exact -----------------------------------------------------------

_data_rng = np.random.default_rng(7)
BATCHES = [(_data_rng.standard_normal((16, 6)).astype(np.float32),
            _data_rng.integers(0, 3, 16)) for _ in range(20)]

RESUME_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("AdamW", dict(lr=1e-2)),
    ("RMSprop", dict(lr=1e-2, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
]


def train(model, opt, sched, batches):
    for xb, yb in batches:
        loss = nn.cross_entropy(model(Tensor(xb)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def fresh(kind, kwargs, seed):
    model = nn.MLP([6, 8, 3], rng=np.random.default_rng(seed))
    opt = getattr(optim, kind)(model.parameters(), **kwargs)
    return model, opt, optim.StepLR(opt, step_size=3, gamma=0.5)


@pytest.mark.parametrize("kind, kwargs", RESUME_CASES, ids=[k for k, _ in RESUME_CASES])
def test_save_and_resume_reproduces_training_exactly(kind, kwargs, tmp_path):
    model, opt, sched = fresh(kind, kwargs, seed=0)
    train(model, opt, sched, BATCHES[:10])
    nn.save({"model": model.state_dict(), "optim": opt.state_dict(),
             "sched": sched.state_dict()}, tmp_path / "ckpt.npz")
    train(model, opt, sched, BATCHES[10:])

    model2, opt2, sched2 = fresh(kind, kwargs, seed=1)  # other weights until the load
    state = nn.load(tmp_path / "ckpt.npz")
    model2.load_state_dict(state["model"])
    opt2.load_state_dict(state["optim"])
    with pytest.raises(OptimizerError, match="StepLR.load_state_dict: not a scheduler state"):
        sched2.load_state_dict(state["optim"])  # the wrong dict, and nothing changes
    assert sched2.last_epoch == 0
    sched2.load_state_dict(state["sched"])
    train(model2, opt2, sched2, BATCHES[10:])

    for (name, a), (_, b) in zip(model.named_parameters(), model2.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    assert opt.lr == opt2.lr and opt.steps == opt2.steps


def test_optimizer_state_dict_is_a_snapshot():
    w, _ = two_params()
    opt = optim.Adam([w], lr=0.1)
    w.grad = np.ones((2, 3))
    opt.step()
    saved = opt.state_dict()
    opt.step()
    assert saved["steps"].tolist() == [1]
    assert not np.array_equal(saved["state"]["0"]["exp_avg"], opt.state[0]["exp_avg"])


def same_groups(a, b):
    """Two state dicts hold the same param groups (values compared as arrays)."""
    ga, gb = a["param_groups"], b["param_groups"]
    return ga.keys() == gb.keys() and all(
        ga[k].keys() == gb[k].keys() and all(np.array_equal(ga[k][h], gb[k][h]) for h in ga[k])
        for k in ga)


@pytest.mark.parametrize("corrupt, message", [
    (lambda s: s.update(optimizer="SGD"), "saved by SGD, not Adam"),
    (lambda s: s.update(steps=np.array([1, 1])), "holds 1 parameters, this optimizer has 2"),
    (lambda s: s["state"]["1"].pop("max_exp_avg_sq"), "other settings"),
    (lambda s: s["state"]["1"].update(exp_avg=np.zeros(4)), r"'exp_avg' of parameter 1"),
    (lambda s: s["state"]["1"].update(exp_avg=np.zeros(3, np.float32)), "dtype float32"),
    (lambda s: s["param_groups"]["0"].pop("eps"), "'eps' is missing"),
    (lambda s: s["param_groups"]["0"].update(lr=-1.0), "lr must be >= 0"),
    (lambda s: s.pop("state"), "not an optimizer state dict"),
])
def test_a_failed_optimizer_load_changes_nothing(corrupt, message):
    w, b = two_params()
    opt = optim.Adam([w, b], lr=0.1, amsgrad=True)
    w.grad, b.grad = np.ones((2, 3)), np.ones(3)
    opt.step()
    good = opt.state_dict()
    bad = optim.Adam([Tensor(np.ones((2, 3)), requires_grad=True),
                      Tensor(np.ones(3), requires_grad=True)], lr=0.3, amsgrad=True).state_dict()
    if "steps" in message or "parameters" in message:
        bad["state"].pop("1")
    corrupt(bad)
    with pytest.raises(OptimizerError, match=message):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert same_groups(after, good) and opt.steps == [1, 1]
    for i in ("0", "1"):
        for k, v in good["state"][i].items():
            np.testing.assert_array_equal(after["state"][i][k], v)


# --- schedulers -------------------------------------------------------------------------------


def test_step_lr_and_cosine_follow_their_formulas():
    p = Tensor(np.ones(1), requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    sched = optim.StepLR(opt, step_size=3, gamma=0.1)
    seen = []
    for _ in range(7):
        sched.step()
        seen.append(sched.get_last_lr())
    np.testing.assert_allclose(seen, [[0.5], [0.5], [0.05], [0.05], [0.05], [0.005], [0.005]],
                               rtol=1e-14)
    opt = optim.SGD([p], lr=1.0)
    cos = optim.CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    lrs = []
    for _ in range(8):
        cos.step()
        lrs.append(opt.lr)
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(1, 9)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-14)
    assert lrs[3] == pytest.approx(0.1) and lrs[7] == pytest.approx(1.0)


@pytest.mark.needs_torch
def test_schedulers_match_torch():
    import torch

    for ours_cls, theirs_cls, kw in [
        (optim.StepLR, torch.optim.lr_scheduler.StepLR, dict(step_size=3, gamma=0.3)),
        (optim.CosineAnnealingLR, torch.optim.lr_scheduler.CosineAnnealingLR,
         dict(T_max=5, eta_min=0.01)),
    ]:
        opt = optim.SGD([Tensor(np.ones(1), requires_grad=True)], lr=0.2)
        topt = torch.optim.SGD([torch.ones(1, requires_grad=True)], lr=0.2)
        ours, theirs = ours_cls(opt, **kw), theirs_cls(topt, **kw)
        for _ in range(13):
            topt.step()
            ours.step()
            theirs.step()
            assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
