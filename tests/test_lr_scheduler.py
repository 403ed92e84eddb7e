"""Learning-rate schedulers: their formulas, torch.optim.lr_scheduler over many steps (with two
param groups), subclassing in both forms, state dicts and bad settings."""

import math
import warnings

import numpy as np
import pytest

from tinygrad_np import OptimizerError, Tensor, nn, optim


def two_groups(kind="SGD", **kwargs):
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    return getattr(optim, kind)([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.2,
                                **kwargs)


def torch_two_groups(kind="SGD", **kwargs):
    import torch

    a, b = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    return getattr(torch.optim, kind)([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.2,
                                      **kwargs)


CASES = [
    ("StepLR", dict(step_size=3, gamma=0.3), 40),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 30], gamma=0.5), 40),
    ("ExponentialLR", dict(gamma=0.95), 200),
    ("LinearLR", dict(start_factor=0.1, end_factor=1.0, total_iters=10), 40),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.25, total_iters=7), 40),
    ("LinearLR", dict(), 20),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001), 60),
    ("LambdaLR", dict(lr_lambda=lambda e: 1 / (1 + e)), 50),
    ("LambdaLR", dict(lr_lambda=[lambda e: 0.9**e, lambda e: min(1.0, (e + 1) / 4)]), 30),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=100), 99),
    ("OneCycleLR", dict(max_lr=[1.0, 0.3], epochs=4, steps_per_epoch=25, pct_start=0.25,
                        anneal_strategy="linear", div_factor=10, final_div_factor=100), 100),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=60, three_phase=True), 60),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=50, cycle_momentum=False), 50),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


@pytest.mark.needs_torch
@pytest.mark.parametrize("name, kwargs, steps", CASES, ids=IDS)
def test_schedulers_match_torch_over_many_steps(name, kwargs, steps):
    import torch

    cycles = name == "OneCycleLR" and kwargs.get("cycle_momentum", True)
    opt, topt = two_groups(momentum=0.9), torch_two_groups(momentum=0.9)
    ours = getattr(optim, name)(opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
    for _ in range(steps):
        topt.step()
        ours.step()
        theirs.step()
        assert isinstance(ours.get_last_lr(), list)
        if name == "OneCycleLR" and ours.last_epoch == ours.total_steps:
            # past the last step PyTorch extrapolates (below zero for "linear"): ours holds
            assert ours.get_last_lr() == pytest.approx([g["min_lr"] for g in opt.param_groups])
            continue
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-10, abs=1e-15)
        assert [g["lr"] for g in opt.param_groups] == ours.get_last_lr()
        if cycles:
            assert [g["momentum"] for g in opt.param_groups] == pytest.approx(
                [g["momentum"] for g in topt.param_groups], rel=1e-12)


@pytest.mark.needs_torch
def test_one_cycle_cycles_adams_beta1_and_turns_on_sgd_momentum():
    import torch

    for kind in ("Adam", "SGD"):
        opt, topt = two_groups(kind), torch_two_groups(kind)
        ours = optim.OneCycleLR(opt, max_lr=0.1, total_steps=30)
        theirs = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.1, total_steps=30)
        key = "betas" if kind == "Adam" else "momentum"
        for _ in range(29):
            topt.step()
            ours.step()
            theirs.step()
            for g, h in zip(opt.param_groups, topt.param_groups):
                assert np.allclose(g[key], h[key], rtol=1e-12), key
    with pytest.raises(OptimizerError, match="Adagrad has no momentum or betas"):
        optim.OneCycleLR(optim.Adagrad([Tensor(np.ones(1), requires_grad=True)]), max_lr=1,
                         total_steps=5)


@pytest.mark.needs_torch
@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.01, threshold_mode="abs"),
    dict(patience=1, cooldown=2, min_lr=[0.01, 0.02]),
    dict(factor=0.3, patience=0, min_lr=0.01, eps=0.02),
])
def test_reduce_on_plateau_matches_torch(kwargs):
    import torch

    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 10), 0.5 + 0.01 * rng.standard_normal(50)])
    opt, topt = two_groups(), torch_two_groups()
    ours = optim.ReduceLROnPlateau(opt, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    changes = 0
    for m in metrics:
        before = ours.get_last_lr()
        ours.step(m)
        theirs.step(m)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter) == \
            (pytest.approx(theirs.best), theirs.num_bad_epochs, theirs.cooldown_counter)
        changes += ours.get_last_lr() != before
    assert changes, "the schedule never lowered the learning rate"


def test_closed_forms():
    opt = two_groups()
    sched = optim.LinearLR(opt, start_factor=0.5, total_iters=4)
    assert sched.get_last_lr() == [0.1, 0.025]  # epoch 0 is set at construction
    assert opt.param_groups[0]["initial_lr"] == 0.2
    lrs = []
    for _ in range(6):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    np.testing.assert_allclose(lrs, [0.125, 0.15, 0.175, 0.2, 0.2, 0.2], rtol=1e-15)
    opt = two_groups()
    sched = optim.MultiStepLR(opt, milestones=[3, 1], gamma=0.1)
    seen = [sched.get_last_lr()[1]] + [sched.step() or sched.get_last_lr()[1] for _ in range(4)]
    np.testing.assert_allclose(seen, [0.05, 0.005, 0.005, 0.0005, 0.0005], rtol=1e-14)
    opt = two_groups()
    sched = optim.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.5,
                             cycle_momentum=False)
    assert sched.get_last_lr()[0] == pytest.approx(1 / 25)
    for _ in range(4):
        sched.step()
    assert sched.get_last_lr() == pytest.approx([1.0, 1.0])
    for _ in range(5):
        sched.step()
    assert sched.get_last_lr()[0] == pytest.approx(1 / 25 / 1e4)
    sched.step()  # PyTorch allows one step past the end
    with pytest.raises(OptimizerError, match="stepped 11 times, past total_steps=10"):
        sched.step()


class Warmup(optim.LRScheduler):
    """The closed form: the learning rate at an epoch, from the group's initial one."""

    def __init__(self, optimizer, epochs):
        self.epochs = epochs
        super().__init__(optimizer)

    def lr_at(self, epoch, base_lr):
        return base_lr * min(1.0, (epoch + 1) / self.epochs)


class Halving(optim.LRScheduler):
    """PyTorch's chainable form: the next learning rates from the current ones."""

    def get_lr(self):
        if self.last_epoch == 0:
            return [g["lr"] for g in self.optimizer.param_groups]
        return [g["lr"] / 2 for g in self.optimizer.param_groups]


def test_both_subclass_forms():
    opt = two_groups()
    sched = Warmup(opt, 4)
    seen = [sched.get_last_lr()]
    for _ in range(4):
        sched.step()
        seen.append(sched.get_last_lr())
    np.testing.assert_allclose(seen, [[0.05, 0.0125], [0.1, 0.025], [0.15, 0.0375],
                                      [0.2, 0.05], [0.2, 0.05]], rtol=1e-15)
    opt = two_groups()
    sched = Halving(opt)
    sched.step()
    sched.step()
    assert sched.get_last_lr() == [0.05, 0.0125]

    class Nothing(optim.LRScheduler):
        pass

    with pytest.raises(NotImplementedError, match=r"override lr_at\(self, epoch, base_lr\).*"
                                                   r"or get_lr\(self\)"):
        Nothing(two_groups())


def test_the_readme_loop_still_reads_opt_lr():
    opt = optim.SGD([Tensor(np.ones(1), requires_grad=True)], lr=1.0)
    sched = optim.CosineAnnealingLR(opt, T_max=4)
    for _ in range(2):
        sched.step()
    assert opt.lr == pytest.approx(0.5) and sched.base_lr == 1.0
    assert optim.lr_scheduler.StepLR is optim.StepLR


@pytest.mark.parametrize("make", [
    lambda o: optim.StepLR(o, step_size=3, gamma=0.5),
    lambda o: optim.OneCycleLR(o, max_lr=1.0, total_steps=20),
    lambda o: optim.ReduceLROnPlateau(o, patience=1),
])
def test_scheduler_state_round_trips_through_a_file(make, tmp_path):
    opt = two_groups(momentum=0.9)
    sched = make(opt)
    for m in (1.0, 2.0, 3.0, 4.0, 5.0):
        sched.step(m) if isinstance(sched, optim.ReduceLROnPlateau) else sched.step()
    nn.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "s.npz")
    state = nn.load(tmp_path / "s.npz")
    opt2 = two_groups(momentum=0.9)
    sched2 = make(opt2)
    opt2.load_state_dict(state["opt"])
    sched2.load_state_dict(state["sched"])
    assert sched2.last_epoch == sched.last_epoch and sched2.get_last_lr() == sched.get_last_lr()
    for k in sched._counters:
        assert getattr(sched2, k) == getattr(sched, k)
    for _ in range(3):
        for s in (sched, sched2):
            s.step(6.0) if isinstance(s, optim.ReduceLROnPlateau) else s.step()
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]


@pytest.mark.parametrize("order", ["optimizer first", "scheduler built first"])
@pytest.mark.parametrize("name, kwargs, steps", CASES + [
    ("ReduceLROnPlateau", dict(patience=1, factor=0.5), 30)], ids=IDS + ["ReduceLROnPlateau"])
def test_a_resumed_schedule_trains_every_epoch_at_the_uninterrupted_rate(name, kwargs, steps,
                                                                         order):
    # the common resume (load the optimizer, build the scheduler, load its state) used to
    # train the first resumed epoch at the epoch-0 rate while get_last_lr() said otherwise
    def metric(epoch):
        return 1.0 if epoch % 4 else 2.0

    def advance(sched, epoch):
        sched.step(metric(epoch)) if name == "ReduceLROnPlateau" else sched.step()

    def rates(opt):
        return [v for g in opt.param_groups for v in (g["lr"], g["momentum"])]

    cut = min(13, steps - 2)
    opt = two_groups(momentum=0.9)
    sched = getattr(optim, name)(opt, **kwargs)
    expected = []
    for epoch in range(steps):
        if epoch == cut:
            saved = (opt.state_dict(), sched.state_dict())
        expected.append(rates(opt))
        advance(sched, epoch)
    opt2 = two_groups(momentum=0.9)
    if order == "optimizer first":
        opt2.load_state_dict(saved[0])
        sched2 = getattr(optim, name)(opt2, **kwargs)
    else:
        sched2 = getattr(optim, name)(opt2, **kwargs)
        opt2.load_state_dict(saved[0])
    sched2.load_state_dict(saved[1])
    for epoch in range(cut, steps):
        assert rates(opt2) == pytest.approx(expected[epoch], rel=1e-12), epoch
        advance(sched2, epoch)


def test_a_bad_scheduler_state_changes_nothing():
    sched = optim.StepLR(two_groups(), step_size=2)
    sched.step()
    for bad in ({"last_epoch": 1}, {"last_epoch": -3, "base_lrs": [0.1, 0.2],
                                    "last_lr": [0.1, 0.2]},
                {"last_epoch": 1.5, "base_lrs": [0.1, 0.2], "last_lr": [0.1, 0.2]},
                {"last_epoch": 1, "base_lrs": [0.1], "last_lr": [0.1]}):
        with pytest.raises(OptimizerError, match="StepLR.load_state_dict"):
            sched.load_state_dict(bad)
        assert sched.last_epoch == 1 and sched.base_lrs == [0.2, 0.05]
    old = {"base_lr": 0.2, "last_epoch": 4}  # the format before param groups
    one = optim.StepLR(optim.SGD([Tensor(np.ones(1), requires_grad=True)], lr=0.2), 2)
    one.load_state_dict(old)
    assert one.last_epoch == 4


@pytest.mark.parametrize("make, message", [
    (lambda o: optim.StepLR(o, step_size=0), "step_size must be a positive"),
    (lambda o: optim.StepLR(o, step_size=2.5), "step_size must be a positive"),
    (lambda o: optim.MultiStepLR(o, milestones="abc"), "milestones must be a list"),
    (lambda o: optim.LinearLR(o, start_factor=0), r"start_factor must be in \(0, 1\]"),
    (lambda o: optim.LinearLR(o, total_iters=0), "total_iters must be a positive"),
    (lambda o: optim.LambdaLR(o, lr_lambda=[lambda e: 1]), "a list of 2 functions"),
    (lambda o: optim.LambdaLR(o, lr_lambda=0.5), "must be a function"),
    (lambda o: optim.OneCycleLR(o, max_lr=1.0), "give total_steps, or epochs and"),
    (lambda o: optim.OneCycleLR(o, max_lr=[1.0], total_steps=5), "max_lr has 1 values"),
    (lambda o: optim.OneCycleLR(o, max_lr=1, total_steps=5, anneal_strategy="cosine"),
     "anneal_strategy must be 'cos' or 'linear'"),
    (lambda o: optim.OneCycleLR(o, max_lr=1, total_steps=5, pct_start=1.5), "pct_start"),
    (lambda o: optim.ReduceLROnPlateau(o, mode="minimum"), "mode must be 'min'"),
    (lambda o: optim.ReduceLROnPlateau(o, factor=1.0), "factor must be < 1"),
    (lambda o: optim.ReduceLROnPlateau(o, threshold_mode="relative"), "threshold_mode"),
    (lambda o: optim.ReduceLROnPlateau(o, patience=-1), "patience must be"),
    (lambda o: optim.ReduceLROnPlateau(o).step(), r"pass the metric.*step\(val_loss\)"),
    (lambda o: optim.StepLR(o, 2, last_epoch=3), "no 'initial_lr'"),
    (lambda o: optim.ExponentialLR([o], gamma=0.9), "expected an optimizer"),
])
def test_bad_scheduler_settings_raise_clear_errors(make, message):
    with pytest.raises(OptimizerError, match=message):
        make(two_groups())


def test_cosine_formula_and_no_warnings():
    opt = two_groups()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched = optim.CosineAnnealingLR(opt, T_max=4, eta_min=0.01)
        lrs = []
        for _ in range(8):
            sched.step()
            lrs.append(sched.get_last_lr()[0])
    expected = [0.01 + 0.19 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(1, 9)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-14)


# --- settings and schedule values that are not numbers, or would make the lr negative -------


def sgd():
    return optim.SGD([Tensor(np.zeros(2), requires_grad=True)], lr=0.1, momentum=0.9)


@pytest.mark.parametrize("build, message", [
    (lambda o: optim.StepLR(o, 2, gamma="x"), "StepLR: gamma must be a number"),
    (lambda o: optim.MultiStepLR(o, [2], gamma=None), "MultiStepLR: gamma must be a number"),
    (lambda o: optim.ExponentialLR(o, gamma=-1.0), "ExponentialLR: gamma must be >= 0"),
    (lambda o: optim.LinearLR(o, start_factor="0.5"), "LinearLR: start_factor must be a num"),
    (lambda o: optim.CosineAnnealingLR(o, 5, eta_min="0"), "eta_min must be a number"),
    (lambda o: optim.OneCycleLR(o, max_lr="1", total_steps=5), "max_lr must be a number"),
    (lambda o: optim.OneCycleLR(o, 1.0, total_steps=5, pct_start="a"), "pct_start must be a"),
    (lambda o: optim.OneCycleLR(o, 1.0, total_steps=5, div_factor=0), "div_factor and final"),
    (lambda o: optim.ReduceLROnPlateau(o, factor="0.5"), "factor must be a number"),
    (lambda o: optim.ReduceLROnPlateau(o, min_lr=[None]), r"min_lr\[0\] must be a number"),
    (lambda o: optim.StepLR(o, 2, last_epoch=2.5), "last_epoch must be an int >= -1"),
    (lambda o: optim.LambdaLR(o, lambda e: "x"), "factor of param group 0 must be a number"),
    (lambda o: optim.LambdaLR(o, lambda e: -1.0), "learning rate of param group 0 must be >="),
    (lambda o: optim.LambdaLR(o, lambda e: math.nan), "must be >= 0, got nan"),
])
def test_bad_scheduler_settings_raise_and_leave_the_optimizer_alone(build, message):
    o = sgd()
    before = dict(o.param_groups[0])
    with pytest.raises(OptimizerError, match=message):
        build(o)
    assert dict(o.param_groups[0]) == before  # no initial_lr, the lr it had


def test_a_lambda_that_turns_negative_later_raises_at_that_step_and_changes_nothing():
    o = sgd()
    sched = optim.LambdaLR(o, lambda e: 1.0 - e / 2)
    sched.step()
    sched.step()  # lr 0 is allowed
    with pytest.raises(OptimizerError, match=r"at epoch 3: the learning rate .* >= 0.*lr_lambda"):
        sched.step()
    assert sched.last_epoch == 2 and o.param_groups[0]["lr"] == 0.0
    assert sched.get_last_lr() == [0.0]


@pytest.mark.parametrize("metric", ["abc", np.array([0.5, 0.4]), None, [0.5]])
def test_plateau_step_takes_one_number(metric):
    o = sgd()
    sched = optim.ReduceLROnPlateau(o)
    with pytest.raises(OptimizerError, match="ReduceLROnPlateau.step: .*metric"):
        sched.step(metric)
    assert sched.last_epoch == 0 and sched.best == math.inf
    sched.step(np.float32(0.5))
    sched.step(Tensor(np.array(0.25)))
    assert sched.best == 0.25


@pytest.mark.parametrize("key, value", [("base_lrs", np.array([-5.0])),
                                        ("last_lr", np.array([np.nan]))])
def test_a_loaded_scheduler_state_with_a_negative_lr_is_refused(key, value):
    o = sgd()
    sched = optim.StepLR(o, step_size=2)
    state = sched.state_dict()
    state[key] = value
    with pytest.raises(OptimizerError, match=rf"{key}\[0\] must be"):
        sched.load_state_dict(state)
    assert sched.base_lrs == [0.1] and o.param_groups[0]["lr"] == 0.1
