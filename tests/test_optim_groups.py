"""Param groups, state dicts checked on load, and the fused step against the per-parameter one.

The fused step keeps small parameters, their gradients and state in flat buffers and runs each
update rule once over all of them; it must give the per-parameter result to the bit, keep
``p.data`` the same array, and fall back to the per-parameter path whenever it cannot fuse.
"""

import copy

import numpy as np
import pytest
from test_optim import CASES, IDS

from tinygrad_np import OptimizerError, Tensor, nn, optim
from tinygrad_np.optim import optimizers
from tinygrad_np.optim.optimizer import ParamGroup

# --- a model with small and large parameters, in float64 ---------------------------------------

SHAPES = [(40, 900), (900,), (900, 7), (7,), (7, 3), (3,), ()]  # 36,000 elements: not fused


def make_params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [Tensor(rng.standard_normal(s).astype(dtype) * 0.3, requires_grad=True)
            for s in SHAPES]


def grad_stream(steps, seed=1, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]


def run(kind, kwargs, fused, steps=20, params=None, grads=None, skip=None):
    params = params or make_params()
    opt = getattr(optim, kind)(params, fused=fused, **kwargs)
    for t, gs in enumerate(grads or grad_stream(steps)):
        for i, (p, g) in enumerate(zip(params, gs)):
            p.grad = None if skip and skip(t, i) else g
        opt.step()
    return params, opt


@pytest.mark.parametrize("kind, kwargs", CASES, ids=IDS)
def test_fused_and_per_parameter_steps_agree_to_the_bit(kind, kwargs):
    fused, opt = run(kind, kwargs, fused=None)
    assert any(seg.flat is not None for seg in opt._segments), "nothing was fused"
    plain, _ = run(kind, kwargs, fused=False)
    for a, b in zip(fused, plain):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("kind, kwargs", CASES[:6], ids=IDS[:6])
def test_fused_float32_agrees_with_per_parameter_float32(kind, kwargs):
    grads = grad_stream(20, dtype=np.float32)
    fused, _ = run(kind, kwargs, None, params=make_params(dtype=np.float32), grads=grads)
    plain, _ = run(kind, kwargs, False, params=make_params(dtype=np.float32), grads=grads)
    for a, b in zip(fused, plain):
        assert a.data.dtype == np.float32
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("kind, kwargs", CASES[:8], ids=IDS[:8])
def test_fallbacks_agree_with_the_per_parameter_path(kind, kwargs):
    # some parameters miss their gradient now and then (skipped, own step counts): the segment
    # takes the per-parameter path for those steps and is fused again afterwards
    def skip(t, i):
        return i in (3, 5) and t % 4 == 1

    fused, opt = run(kind, kwargs, None, skip=skip)
    plain, opt2 = run(kind, kwargs, False, skip=skip)
    for a, b in zip(fused, plain):
        np.testing.assert_array_equal(a.data, b.data)
    assert opt.steps == opt2.steps and opt.steps[3] < opt.steps[0]


def test_p_data_stays_the_same_array_and_the_model_sees_every_update():
    model = nn.MLP([5, 4, 3], rng=np.random.default_rng(0))
    params = model.parameters()
    opt = optim.Adam(params, lr=0.1)
    arrays = [p.data for p in params]
    assert all(a.base is arrays[0].base is not None for a in arrays)  # one flat buffer
    x = Tensor(np.ones((2, 5), np.float32))
    for _ in range(3):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    assert [p.data for p in model.parameters()] == arrays
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))
    assert model.state_dict()["layers.0.weight"].tolist() == arrays[0].tolist()


def test_a_replaced_p_data_or_grad_still_works():
    params = make_params()
    params2 = make_params()
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    ref = optim.SGD(params2, lr=0.1, momentum=0.9, fused=False)
    for t, gs in enumerate(grad_stream(6)):
        if t == 2:  # the user swaps in new arrays (with the same values)
            params[5].data = params[5].data.copy()
            params2[5].data = params2[5].data.copy()
        for p, q, g in zip(params, params2, gs):
            p.grad, q.grad = Tensor(g.copy()), g.copy()
        opt.step()
        ref.step()
    for a, b in zip(params, params2):
        np.testing.assert_array_equal(a.data, b.data)


def test_two_optimizers_on_the_same_parameters_both_update_them():
    w = [Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(2), requires_grad=True)]
    a = optim.SGD(w, lr=0.5)
    b = optim.SGD(w, lr=0.25)  # finds views of a's buffer: updates them in place, unfused
    w[0].grad, w[1].grad = np.ones(3), np.ones(2)
    a.step()
    b.step()
    np.testing.assert_array_equal(w[0].data, [0.25] * 3)
    np.testing.assert_array_equal(w[1].data, [0.25] * 2)


def test_a_deep_copy_of_model_and_optimizer_trains_like_the_original():

    model = nn.MLP([5, 4, 3], rng=np.random.default_rng(0))
    opt = optim.Adam(model.parameters(), lr=0.1)
    model2, opt2 = copy.deepcopy((model, opt))  # the copied views no longer share a buffer
    x = Tensor(np.ones((2, 5), np.float32))
    for m, o in ((model, opt), (model2, opt2)):
        for _ in range(3):
            o.zero_grad()
            m(x).sum().backward()
            o.step()
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_views_of_a_users_array_keep_sharing_it():
    big = np.ones(6)
    w = Tensor(big[:3], requires_grad=True)
    v = Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w, v], lr=0.5)
    w.grad, v.grad = np.ones(3), np.ones(3)
    opt.step()
    np.testing.assert_array_equal(big, [0.5, 0.5, 0.5, 1, 1, 1])


def test_a_nan_in_a_fused_segment_names_the_parameter_and_changes_nothing():
    params = make_params()
    opt = optim.Adam([(f"p{i}", p) for i, p in enumerate(params)], lr=0.1)
    before = [p.data.copy() for p in params]
    for p, g in zip(params, grad_stream(1)[0]):
        p.grad = g
    params[4].grad.data[1, 2] = np.inf
    with pytest.raises(OptimizerError, match=r"'p4' \(shape \(7, 3\)\).*1 Inf"):
        opt.step()
    assert all(np.array_equal(p.data, b) for p, b in zip(params, before))
    assert opt.steps == [0] * len(params)
    assert all((v == 0).all() for st in opt.state for v in st.values())


@pytest.mark.parametrize("kind, kwargs", [
    ("Adam", {}), ("Adam", dict(amsgrad=True)), ("AdamW", {}), ("SGD", dict(momentum=0.9)),
    ("RMSprop", dict(momentum=0.9, centered=True)),
])
@pytest.mark.parametrize("fused", [None, False])
def test_decayed_state_is_flushed_of_subnormals_and_the_weights_do_not_change(kind, kwargs,
                                                                              fused,
                                                                              monkeypatch):
    tiny = np.finfo(np.float32).tiny

    def subnormal(state):
        return sum(int(((v != 0) & (np.abs(v) < tiny)).sum()) for v in state.values())

    def train(every):
        monkeypatch.setattr(optimizers, "_FLUSH_EVERY", every)
        rng = np.random.default_rng(0)
        w = Tensor(rng.standard_normal(40).astype(np.float32), requires_grad=True)
        b = Tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
        opt = getattr(optim, kind)([w, b], lr=1e-3, fused=fused, **kwargs)
        for t in range(1100):  # half of w's gradient is 0 after step 3: its moments decay
            g = rng.standard_normal(40).astype(np.float32)
            g[20:] *= t < 3
            w.grad, b.grad = g, rng.standard_normal(3).astype(np.float32)
            opt.step()
        return w.data, opt.state[0]

    flushed, state = train(16)
    kept, state_kept = train(10**9)
    np.testing.assert_array_equal(flushed, kept)
    assert subnormal(state_kept) >= 10 and subnormal(state) <= subnormal(state_kept) // 4


# --- param groups --------------------------------------------------------------------------------


def two_part_model(seed=0):
    return nn.MLP([6, 5, 4, 3], rng=np.random.default_rng(seed), dtype=np.float64)


def groups_of(model, spec):
    params = model.parameters()
    return [{"params": params[:4], **spec[0]}, {"params": params[4:], **spec[1]}]


GROUP_CASES = [
    ("SGD", dict(lr=1e-2, momentum=0.9), [{}, {"lr": 1e-1, "weight_decay": 0.1}]),
    ("SGD", dict(lr=1e-2), [{"momentum": 0.5, "nesterov": True}, {"lr": 0.3}]),
    ("Adam", dict(lr=1e-2), [{"betas": (0.8, 0.9)}, {"lr": 1e-3, "amsgrad": True}]),
    ("AdamW", dict(lr=1e-2), [{"weight_decay": 0.5}, {}]),
    ("RMSprop", dict(lr=1e-2), [{"centered": True}, {"momentum": 0.3, "alpha": 0.9}]),
    ("Adagrad", dict(lr=1e-1, initial_accumulator_value=0.2), [{"lr_decay": 0.1}, {"lr": 0.3}]),
]


def batch(seed=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((16, 6)), rng.integers(0, 3, 16)


@pytest.mark.needs_torch
@pytest.mark.parametrize("kind, defaults, spec", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_param_groups_match_torch(kind, defaults, spec):
    import torch

    model = two_part_model()
    weights = [p.data.copy() for p in model.parameters()]
    opt = getattr(optim, kind)(groups_of(model, spec), **defaults)
    tparams = [torch.tensor(w, requires_grad=True) for w in weights]
    topt = getattr(torch.optim, kind)([{"params": tparams[:4], **spec[0]},
                                       {"params": tparams[4:], **spec[1]}], **defaults)
    X, y = batch()
    for _ in range(15):
        loss = nn.cross_entropy(model(Tensor(X)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        h = torch.tensor(X)
        for k in range(0, 6, 2):  # our Linear stores (in, out): x @ W + b
            h = h @ tparams[k] + tparams[k + 1]
            if k < 4:
                h = torch.relu(h)
        tloss = torch.nn.functional.cross_entropy(h, torch.tensor(y))
        topt.zero_grad()
        tloss.backward()
        topt.step()
    for p, t in zip(model.parameters(), tparams):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-11, atol=1e-13)
    for ours, theirs in zip(opt.param_groups, topt.param_groups):
        for key in opt.defaults:
            assert ours[key] == pytest.approx(theirs[key]), key


def test_groups_take_the_defaults_and_their_own_values():
    model = two_part_model()
    opt = optim.SGD(groups_of(model, [{}, {"lr": 1e-3}]), lr=1e-2, momentum=0.9)
    g0, g1 = opt.param_groups
    assert (g0["lr"], g1["lr"], g0["momentum"], g1["momentum"]) == (1e-2, 1e-3, 0.9, 0.9)
    assert g0["params"] == model.parameters()[:4]
    opt.param_groups[1]["lr"] = 0.5
    assert opt.param_groups[1]["lr"] == 0.5
    with pytest.raises(AttributeError, match=r"2 param groups.*param_groups\[i\]\['lr'\]"):
        _ = opt.lr
    with pytest.raises(AttributeError, match="2 param groups"):
        opt.lr = 0.1


def test_the_lr_shortcut_of_a_single_group_reads_and_sets_the_group():
    opt = optim.Adam(two_part_model().parameters(), lr=1e-3)
    assert opt.lr == 1e-3 and opt.betas == (0.9, 0.999) and opt.amsgrad is False
    opt.lr = 0.02
    assert opt.param_groups[0]["lr"] == 0.02
    with pytest.raises(OptimizerError, match="lr must be >= 0"):
        opt.lr = -1
    assert opt.lr == 0.02
    with pytest.raises(AttributeError, match="no attribute 'momentum'"):
        _ = opt.momentum


def test_add_param_group_and_its_checks():
    model = two_part_model()
    params = model.parameters()
    opt = optim.SGD(params[:4], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": params[4:], "lr": 0.01})
    assert len(opt.param_groups) == 2 and len(opt.params) == len(params)
    assert opt.param_groups[1]["momentum"] == 0.9
    opt.add_param_group({"params": Tensor(np.ones(2), requires_grad=True)})  # one tensor
    with pytest.raises(OptimizerError, match="already in param group 0"):
        opt.add_param_group({"params": params[:1]})
    with pytest.raises(OptimizerError, match="param group 3: momentum must be >= 0"):
        opt.add_param_group({"params": [Tensor(np.ones(2), requires_grad=True)],
                             "momentum": -1})
    with pytest.raises(OptimizerError, match="a dict with a 'params' entry"):
        opt.add_param_group(params[:1])
    assert len(opt.param_groups) == 3
    X, y = batch()
    nn.cross_entropy(model(Tensor(X)), y).backward()
    opt.step()
    assert opt.steps[:len(params)] == [1] * len(params)


def test_named_parameters_in_groups_name_the_culprit():
    model = two_part_model()
    named = model.named_parameters()
    opt = optim.SGD([{"params": named[:4]}, {"params": named[4:], "lr": 0.1}], lr=0.01)
    for p in model.parameters():
        p.grad = np.zeros_like(p.data)
    model.layers[2].bias.grad.data[0] = np.nan
    with pytest.raises(OptimizerError, match="'layers.2.bias'"):
        opt.step()


def test_zero_grad_set_to_none_false_zeroes_in_place():
    w = Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and (g.data == 0).all()
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [3, 3, 3])
    opt.zero_grad()
    assert w.grad is None


def test_step_calls_a_closure_and_returns_its_loss():
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == 5.0
    np.testing.assert_allclose(w.data, [0.8, -1.6])


class OldStyleAdam(optim.Optimizer):
    """An optimizer written the older way (examples/seed000 has one): attributes, lr, _update."""

    _hyper = ("lr", "betas", "eps")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.betas, self.eps = betas, eps
        super().__init__(params, lr)

    def _new_state(self, p):
        return {"m": np.zeros_like(p), "v": np.zeros_like(p)}

    def _update(self, p, g, state, tmp, t):
        b1, b2 = self.betas
        state["m"] *= b1
        state["m"] += (1 - b1) * g
        state["v"] *= b2
        state["v"] += (1 - b2) * g**2
        p -= self.lr * state["m"] / (np.sqrt(state["v"]) + self.eps)


def test_the_older_subclass_form_still_works_with_groups(tmp_path):
    a, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    opt = OldStyleAdam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    a.grad, b.grad = np.ones(3), np.ones(2)
    opt.step()
    step = 0.1 / (1 + 1e-8 / np.sqrt(0.001))  # m = 0.1, sqrt(v) = sqrt(0.001): 0.1/0.0316
    np.testing.assert_allclose(a.data, 1 - step * np.sqrt(1000) * 0.1, rtol=1e-9)
    np.testing.assert_allclose(b.data, 1 - 5 * step * np.sqrt(1000) * 0.1, rtol=1e-9)
    nn.save(opt.state_dict(), tmp_path / "o.npz")
    opt2 = OldStyleAdam([{"params": [a]}, {"params": [b], "lr": 0.2}], lr=0.1)
    opt2.load_state_dict(nn.load(tmp_path / "o.npz"))
    assert opt2.param_groups[1]["lr"] == 0.5 and opt2.steps == [1, 1]
    np.testing.assert_array_equal(opt2.state[1]["m"], opt.state[1]["m"])

    class Forced(OldStyleAdam):
        def __init__(self, params):
            self.betas, self.eps = (0.9, 0.999), 1e-8
            optim.Optimizer.__init__(self, params, 0.1, fused=True)

    with pytest.raises(OptimizerError, match="fused=True needs an element-wise update"):
        Forced([a])


def test_a_subclass_without_an_update_says_what_to_define():
    class Nothing(optim.Optimizer):
        pass

    with pytest.raises(NotImplementedError, match=r"_buffers\(group\) and _apply"):
        Nothing([Tensor(np.ones(2), requires_grad=True)], {"lr": 0.1})


# --- state dicts: round trips, and every check of the constructor on load ---------------------


@pytest.mark.parametrize("kind, defaults, spec", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_grouped_state_round_trips_through_a_file_and_resumes_exactly(kind, defaults, spec,
                                                                      tmp_path):
    X, y = batch()

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            nn.cross_entropy(model(Tensor(X)), y).backward()
            opt.step()

    model = two_part_model()
    opt = getattr(optim, kind)(groups_of(model, spec), **defaults)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    train(model, opt, 5)
    sched.step()
    nn.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()},
            tmp_path / "ckpt.npz")
    train(model, opt, 5)

    model2 = two_part_model(seed=1)
    opt2 = getattr(optim, kind)(groups_of(model2, [{}, {}]), **defaults)  # other lrs until load
    sched2 = optim.StepLR(opt2, step_size=2, gamma=0.5)
    state = nn.load(tmp_path / "ckpt.npz")
    model2.load_state_dict(state["model"])
    opt2.load_state_dict(state["opt"])
    sched2.load_state_dict(state["sched"])
    train(model2, opt2, 5)
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    for g, h in zip(opt.param_groups, opt2.param_groups):
        assert {k: v for k, v in g.items() if k != "params"} == \
               {k: v for k, v in h.items() if k != "params"}
        assert all(type(g[k]) is type(h[k]) for k in opt.defaults)  # bools stay bools
    assert sched.get_last_lr() == sched2.get_last_lr() and sched2.last_epoch == 1


def test_plain_sgd_state_survives_a_file(tmp_path):
    w = Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = np.ones(3)
    opt.step()
    nn.save(opt.state_dict(), tmp_path / "sgd.npz")
    opt2 = optim.SGD([Tensor(np.ones(3), requires_grad=True)], lr=0.5)
    opt2.load_state_dict(nn.load(tmp_path / "sgd.npz"))
    assert opt2.lr == 0.1 and opt2.steps == [1] and opt2.state == [{}]


def adam_state():
    w, b = (Tensor(np.ones((2, 3)), requires_grad=True), Tensor(np.ones(3), requires_grad=True))
    opt = optim.Adam([w, b], lr=0.1)
    w.grad, b.grad = np.ones((2, 3)), np.ones(3)
    opt.step()
    return opt


def set_group(key, value):
    return lambda s: s["param_groups"]["0"].__setitem__(key, value)


@pytest.mark.parametrize("corrupt, message", [
    (set_group("betas", (1.5, 0.9)), r"betas\[0\] must be in \[0, 1\), got 1.5"),
    (set_group("betas", np.array([0.9, 1.0])), r"betas\[1\] must be in \[0, 1\)"),
    (set_group("betas", 0.9), r"betas must be a pair"),
    (set_group("eps", -1.0), "eps must be >= 0, got -1.0"),
    (set_group("eps", np.array(np.nan)), "eps must be >= 0, got nan"),
    (set_group("lr", "0.1"), r"lr must be a number, got '0.1'"),
    (set_group("lr", True), "lr must be a number, got True"),
    (set_group("weight_decay", np.array([0.1, 0.2, 0.3])), "weight_decay must be a number"),
    (set_group("amsgrad", "False"), r"amsgrad must be True or False, got 'False'"),
    (set_group("amsgrad", np.array("False")), r"amsgrad must be True or False"),
    (set_group("amsgrad", 1), r"amsgrad must be True or False, got 1"),
    (lambda s: s.update(steps=np.array([-5, 1])), r"'steps'\] must be step counts.*-5"),
    (lambda s: s.update(steps=np.array([1.5, 1.0])), r"'steps'\] must be step counts"),
    (lambda s: s["param_groups"]["0"].update(params=np.array([1, 0])), "holds parameters"),
    (lambda s: s["param_groups"].update({"1": dict(s["param_groups"]["0"])}), "2 param groups"),
    (lambda s: s["state"].update({"0": np.zeros(3)}), r"has state array\("),
])
def test_load_state_dict_makes_the_constructors_checks_and_changes_nothing(corrupt, message,
                                                                            tmp_path):
    opt = adam_state()
    good = opt.state_dict()
    bad = adam_state().state_dict()
    corrupt(bad)
    for state in (bad, None):
        if state is None:  # and the same after a trip through a file, where numbers are arrays
            try:
                nn.save(bad, tmp_path / "bad.npz")
            except Exception:
                continue
            state = nn.load(tmp_path / "bad.npz")
        with pytest.raises(OptimizerError, match=message) as e:
            opt.load_state_dict(state)
        assert str(e.value).startswith("Adam.load_state_dict")
        after = opt.state_dict()
        assert after.keys() == good.keys() and opt.steps == [1, 1]
        for k in good["param_groups"]["0"]:
            assert np.array_equal(after["param_groups"]["0"][k], good["param_groups"]["0"][k])
        for i in ("0", "1"):
            for k, v in good["state"][i].items():
                np.testing.assert_array_equal(after["state"][i][k], v)


def test_amsgrad_false_saved_and_loaded_is_false_and_steps(tmp_path):
    opt = adam_state()
    nn.save(opt.state_dict(), tmp_path / "a.npz")
    loaded = nn.load(tmp_path / "a.npz")
    assert loaded["param_groups"]["0"]["amsgrad"] is False  # a Python bool comes back as one
    opt2 = adam_state()
    opt2.load_state_dict(loaded)
    assert opt2.amsgrad is False and opt2.betas == (0.9, 0.999)
    opt2.params[0].grad = np.ones((2, 3))
    opt2.step()  # the buffers fit the settings: no KeyError


def test_loading_other_buffer_settings_from_a_file_reallocates_them():
    a = optim.Adam([Tensor(np.ones(3), requires_grad=True)], lr=0.1, amsgrad=True)
    a.params[0].grad = np.ones(3)
    a.step()
    b = optim.Adam([Tensor(np.ones(3), requires_grad=True)], lr=0.1)
    b.load_state_dict(a.state_dict())  # the saved settings replace the current ones
    assert b.amsgrad is True
    np.testing.assert_array_equal(b.state[0]["max_exp_avg_sq"], a.state[0]["max_exp_avg_sq"])


def test_the_older_state_dict_format_still_loads():
    opt = adam_state()
    state = opt.state_dict()
    old = {"optimizer": "Adam", "hyperparameters": {k: v for k, v in
                                                    state["param_groups"]["0"].items()
                                                    if k != "params"},
           "steps": state["steps"], "state": state["state"]}
    opt2 = adam_state()
    opt2.params[0].grad = np.ones((2, 3))
    opt2.step()
    opt2.load_state_dict(old)
    assert opt2.steps == [1, 1]


def test_a_hyperparameter_that_needs_new_buffers_gets_them():
    w = Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = np.ones(3)
    opt.step()
    opt.param_groups[0]["momentum"] = 0.9  # as OneCycleLR does for a plain SGD
    opt.step()
    opt.step()
    # the buffer started at zero: b = g, then 0.9 + 1
    np.testing.assert_allclose(w.data, 1 - 0.1 - 0.1 * 1 - 0.1 * 1.9)
    assert set(opt.state[0]) == {"momentum_buffer"}


# --- a param group checks what is written into it ------------------------------------------


def assert_state_equal(a, b):
    assert a["param_groups"]["0"].keys() == b["param_groups"]["0"].keys()
    for key, value in a["param_groups"]["0"].items():
        assert np.array_equal(value, b["param_groups"]["0"][key]), key
    assert np.array_equal(a["steps"], b["steps"])
    for i, buffers in a["state"].items():
        for key, value in buffers.items():
            assert np.array_equal(value, b["state"][i][key]), (i, key)


def adam_after_one_step():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([0.5]), requires_grad=True)
    opt = optim.Adam([w, b], lr=0.1)
    w.grad, b.grad = np.array([1.0, -1.0]), np.array([2.0])
    opt.step()
    return opt


@pytest.mark.parametrize("write", [
    lambda g: g.__setitem__("lr", None),
    lambda g: g.__setitem__("lr", "0.1"),
    lambda g: g.__setitem__("lr", -1.0),
    lambda g: g.__setitem__("lr", float("nan")),
    lambda g: g.__setitem__("betas", (0.9, 1.5)),
    lambda g: g.__setitem__("amsgrad", "False"),
    lambda g: g.update(lr=0.2, eps=-1.0),
    lambda g: g.update({"lr": None}),
    lambda g: g.__ior__({"weight_decay": "x"}),
    lambda g: g.pop("eps"),
    lambda g: g.__delitem__("lr"),
    lambda g: g.popitem(),
    lambda g: g.clear(),
    lambda g: g.__setitem__("params", []),
])
def test_a_bad_write_into_a_param_group_raises_there_and_changes_nothing(write):
    opt = adam_after_one_step()
    before = copy.deepcopy(opt.state_dict())
    group = opt.param_groups[0]
    with pytest.raises(OptimizerError, match=r"Adam: param_groups\[0\]"):
        write(group)
    assert type(group["lr"]) is float and len(group) == len(before["param_groups"]["0"])
    opt.step()  # the next step runs, from the state before the bad write
    assert opt.steps == [2, 2]
    ref = adam_after_one_step()
    ref.step()
    assert_state_equal(opt.state_dict(), ref.state_dict())


def test_a_good_write_is_kept_in_the_normal_type_and_unknown_keys_pass():
    opt = adam_after_one_step()
    group = opt.param_groups[0]
    group["lr"] = 1
    group.update(betas=[0.8, 0.99], amsgrad=np.bool_(True))
    group |= {"eps": 1e-6}
    group.setdefault("initial_lr", 0.5)
    group["my_note"] = "anything"
    assert group["lr"] == 1.0 and type(group["lr"]) is float
    assert group["betas"] == (0.8, 0.99) and group["amsgrad"] is True
    assert group["eps"] == 1e-6 and group["initial_lr"] == 0.5
    assert group.pop("my_note") == "anything"
    opt.step()  # amsgrad switched on: the buffer it needs is made
    assert "max_exp_avg_sq" in opt.state[0]


def test_sgds_combined_check_runs_on_a_write():
    w = Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    with pytest.raises(OptimizerError, match="Nesterov momentum needs momentum > 0.*unchanged"):
        opt.param_groups[0]["momentum"] = 0.0
    assert opt.param_groups[0]["momentum"] == 0.9
    opt.param_groups[0].update(nesterov=False, momentum=0.0)  # checked together, so allowed
    assert opt.param_groups[0]["momentum"] == 0.0


def test_param_groups_survive_deepcopy_pickle_and_a_saved_state(tmp_path):
    import pickle

    opt = adam_after_one_step()
    for copied in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        group = copied.param_groups[0]
        assert isinstance(group, ParamGroup) and group._owner() is copied
        assert group["params"][0] is copied.params[0]
        with pytest.raises(OptimizerError, match="lr must be >= 0"):
            group["lr"] = -1.0
        copied.params[0].grad = np.ones(2)
        copied.params[1].grad = np.ones(1)
        copied.step()
        assert copied.steps == [2, 2]
    nn.save(opt.state_dict(), tmp_path / "o.npz")
    fresh = adam_after_one_step()
    fresh.param_groups[0]["lr"] = 0.5
    fresh.load_state_dict(nn.load(tmp_path / "o.npz"))
    assert fresh.param_groups[0]["lr"] == 0.1 and isinstance(fresh.param_groups[0], ParamGroup)


def test_an_optimizer_is_freed_without_the_cyclic_collector():
    # a group held its optimizer strongly: optimizer -> group -> optimizer, a cycle that kept
    # every dropped optimizer (and its state arrays) alive until gc ran
    import gc
    import weakref

    gc.disable()
    try:
        opt = adam_after_one_step()
        ref = weakref.ref(opt)
        del opt
        assert ref() is None
    finally:
        gc.enable()


def test_a_copied_group_is_a_dict_and_a_copied_optimizer_keeps_checked_groups():
    import pickle

    opt = adam_after_one_step()
    group = opt.param_groups[0]
    assert type(copy.copy(group)) is dict and type(copy.deepcopy(group)) is dict
    twin = copy.deepcopy(opt)
    assert isinstance(twin.param_groups[0], ParamGroup) and twin.param_groups[0]._owner() is twin
    del opt
    assert type(copy.copy(group)) is dict and type(pickle.loads(pickle.dumps(group))) is dict
