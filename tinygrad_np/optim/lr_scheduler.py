"""Learning-rate schedulers, as torch.optim.lr_scheduler: they set each param group's "lr".

Call ``step()`` once per epoch after the optimizer's steps (OneCycleLR: once per batch), as in
PyTorch; ``ReduceLROnPlateau.step(metric)`` takes the validation metric. Building a scheduler
already sets the learning rate of epoch 0 (LinearLR's warm-up starts at
``start_factor * lr``), and records each group's starting value as ``group["initial_lr"]``.
``get_last_lr()`` returns a list, one learning rate per param group.

The built-in schedulers compute the closed form (the learning rate at epoch e from the group's
initial learning rate), which PyTorch's chainable forms (each step from the previous learning
rate) match to float rounding; a learning rate changed by hand between steps is overwritten.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from ..errors import OptimizerError
from .optimizer import Optimizer, nonnegative, number


def _positive_int(where: str, key: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OptimizerError(f"{where}: {key} must be a positive number of epochs (an int), "
                             f"got {value!r}")
    return int(value)


def _learning_rate(where: str, key: str, value) -> float:
    v = nonnegative(where, key, value)
    if not math.isfinite(v):
        raise OptimizerError(f"{where}: {key} must be finite, got {v}")
    return v


def _per_group(where: str, key: str, optimizer, value) -> list[float]:
    """One value per param group, from a number or a list of them (PyTorch's _format_param)."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise OptimizerError(f"{where}: {key} has {len(value)} values, the optimizer has "
                                 f"{n} param groups; give one number or one per group")
        return [number(where, f"{key}[{k}]", v) for k, v in enumerate(value)]
    return [number(where, key, value)] * n


class LRScheduler:
    """Base class of the schedulers: sets each param group's ``"lr"`` at every ``step()``.

    Write a schedule by subclassing it and overriding one of two methods:

    - ``lr_at(epoch, base_lr)``, this library's closed form: the learning rate at ``epoch``
      (0 at construction, +1 per ``step()``) of a group whose initial learning rate is
      ``base_lr``. For a linear warm-up over 5 epochs:
      ``return base_lr * min(1.0, (epoch + 1) / 5)``.
    - ``get_lr()``, PyTorch's chainable form: the list of new learning rates, one per group of
      ``self.optimizer.param_groups``, usually from the current ``group["lr"]`` and
      ``self.last_epoch`` (already advanced when it is called).

    Set your own attributes before calling ``super().__init__(optimizer)``: it computes the
    learning rate of epoch 0 at once.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        where = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise OptimizerError(f"{where}: expected an optimizer, got "
                                 f"{type(optimizer).__name__}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, (int, np.integer)) \
                or last_epoch < -1:
            raise OptimizerError(f"{where}: last_epoch must be an int >= -1 (-1: a new "
                                 f"schedule), got {last_epoch!r}")
        self.optimizer = optimizer
        added = []
        if last_epoch == -1:
            added = [g for g in optimizer.param_groups if "initial_lr" not in g]
            for group in added:
                group["initial_lr"] = group["lr"]
        elif any("initial_lr" not in group for group in optimizer.param_groups):
            raise OptimizerError(f"{where}: last_epoch={last_epoch} resumes a schedule, but the "
                                 "optimizer's param groups have no 'initial_lr'; load the "
                                 "optimizer's state first, or leave last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        try:
            self.step()
        except OptimizerError:
            for group in added:  # a schedule that fails at epoch 0 leaves the optimizer as it was
                del group["initial_lr"]
            raise

    @property
    def base_lr(self) -> float:
        """The initial learning rate, when the optimizer has one param group."""
        if len(self.base_lrs) != 1:
            raise AttributeError(f"{type(self).__name__}: the optimizer has "
                                 f"{len(self.base_lrs)} param groups; read base_lrs[i]")
        return self.base_lrs[0]

    def lr_at(self, epoch: int, base_lr: float) -> float:
        raise NotImplementedError(
            f"{type(self).__name__}: a scheduler subclass must override lr_at(self, epoch, "
            "base_lr) -> float (the learning rate at that epoch, for a param group whose "
            "initial learning rate is base_lr) or get_lr(self) -> list (PyTorch's chainable "
            "form: one new learning rate per param group)")

    def get_lr(self) -> list[float]:
        return [self.lr_at(self.last_epoch, base) for base in self.base_lrs]

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or jump to ``epoch``) and set the learning rates; a schedule that
        gives a learning rate that is not a number >= 0 raises, and nothing changes."""
        previous = self.last_epoch
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        try:
            # all checked before any is set: a user's lr_lambda or get_lr may give anything
            lrs = [_learning_rate(f"{type(self).__name__}.step: at epoch {self.last_epoch}",
                                  f"the learning rate of param group {k}", lr)
                   for k, lr in enumerate(self.get_lr())]
        except OptimizerError as e:
            self.last_epoch = previous
            raise OptimizerError(f"{e}; check the schedule (lr_lambda, get_lr) for that "
                                 "epoch") from None
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per param group (a list, as in
        PyTorch)."""
        return list(self._last_lr)

    # --- state --------------------------------------------------------------------------------

    _counters: tuple[str, ...] = ()  # more state a subclass saves (numbers)

    def state_dict(self) -> dict:
        """The epoch, initial learning rates and counters (not the settings, not lambdas):
        numbers and arrays, for ``nn.save``."""
        return {"last_epoch": self.last_epoch, "base_lrs": np.array(self.base_lrs),
                "last_lr": np.array(self._last_lr),
                **{k: getattr(self, k) for k in self._counters}}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()`` output; on error nothing changes."""
        where = f"{type(self).__name__}.load_state_dict"
        n = len(self.optimizer.param_groups)
        try:
            last_epoch = state["last_epoch"]
            if "base_lrs" in state:
                base_lrs = [float(v) for v in np.asarray(state["base_lrs"]).reshape(-1)]
                last_lr = [float(v) for v in np.asarray(state["last_lr"]).reshape(-1)]
            else:  # written before param groups existed: one group
                base_lrs = [float(state["base_lr"])]
                last_lr = [group["lr"] for group in self.optimizer.param_groups]
            counters = {k: float(np.asarray(state[k])) for k in self._counters}
        except (KeyError, TypeError, ValueError):
            raise OptimizerError(f"{where}: not a scheduler state dict (expected the keys "
                                 "last_epoch, base_lrs, last_lr, as state_dict() returns)"
                                 ) from None
        last_epoch = np.asarray(last_epoch)
        if last_epoch.shape != () or last_epoch.dtype.kind not in "iu" or last_epoch < -1:
            raise OptimizerError(f"{where}: last_epoch must be an integer >= -1, got "
                                 f"{last_epoch!r}")
        if len(base_lrs) != n or len(last_lr) != n:
            raise OptimizerError(f"{where}: the state is for {len(base_lrs)} param groups, the "
                                 f"optimizer has {n}")
        for key, values in (("base_lrs", base_lrs), ("last_lr", last_lr)):
            for k, v in enumerate(values):
                _learning_rate(where, f"{key}[{k}]", v)
        self.last_epoch, self.base_lrs, self._last_lr = int(last_epoch), base_lrs, last_lr
        for k, v in counters.items():
            setattr(self, k, type(getattr(self, k))(v))
        self._restore_groups()

    def _restore_groups(self) -> None:
        # Building a scheduler set the learning rate of epoch 0: the next epoch must train at
        # the one the state was saved with, whichever of optimizer and scheduler was loaded first
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch); ``lr_lambda`` is a function, or a list of functions, one
    per param group. The functions are not saved by ``state_dict()``."""

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        n = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 1
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if len(lambdas) != n or not all(callable(f) for f in lambdas):
            raise OptimizerError(f"LambdaLR: lr_lambda must be a function or a list of {n} "
                                 f"functions (one per param group), got {lr_lambda!r}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        where = f"LambdaLR: lr_lambda at epoch {self.last_epoch}"
        return [base * number(where, f"the factor of param group {k}", f(self.last_epoch))
                for k, (base, f) in enumerate(zip(self.base_lrs, self.lr_lambdas))]


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size): multiply by gamma every step_size epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        self.step_size = _positive_int("StepLR", "step_size", step_size)
        self.gamma = nonnegative("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma ** (number of milestones <= epoch)."""

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1,
                 last_epoch: int = -1):
        try:
            self.milestones = sorted(int(m) for m in milestones)
        except (TypeError, ValueError):
            raise OptimizerError(f"MultiStepLR: milestones must be a list of epochs (ints), got "
                                 f"{milestones!r}") from None
        self.gamma = nonnegative("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = nonnegative("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        return base_lr * self.gamma**epoch


class LinearLR(LRScheduler):
    """Warm-up (or cool-down): the factor goes linearly from ``start_factor`` to ``end_factor``
    over ``total_iters`` epochs, then stays: lr = base_lr * (start_factor + (end_factor -
    start_factor) * min(epoch, total_iters) / total_iters)."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1):
        start_factor = number("LinearLR", "start_factor", start_factor)
        end_factor = number("LinearLR", "end_factor", end_factor)
        if not 0.0 < start_factor <= 1.0 or not 0.0 <= end_factor <= 1.0:
            raise OptimizerError(f"LinearLR: start_factor must be in (0, 1] and end_factor in "
                                 f"[0, 1], got start_factor={start_factor}, "
                                 f"end_factor={end_factor}")
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = _positive_int("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        share = min(self.total_iters, epoch) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * share)


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2 (SGDR without restarts;
    past T_max it rises again, as PyTorch's does)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        self.T_max = _positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = nonnegative("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        cos = math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (base_lr - self.eta_min) * (1.0 + cos) / 2.0


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2018), as PyTorch's, stepped once per batch.

    The learning rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first
    ``pct_start`` of ``total_steps`` (or ``epochs * steps_per_epoch``), then falls to
    ``max_lr / div_factor / final_div_factor``, along a cosine (``anneal_strategy="cos"``) or a
    line; ``three_phase=True`` comes back down to the start before the final fall. With
    ``cycle_momentum`` (the default), the momentum (SGD) or beta1 (Adam) moves the opposite way,
    between ``max_momentum`` and ``base_momentum``. One ``step()`` more than ``total_steps``
    is allowed, as in PyTorch; it keeps the final learning rate and momentum (PyTorch's go on
    along the curve, and below zero for a linear one).
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1):
        where = "OneCycleLR"
        if not isinstance(optimizer, Optimizer):
            raise OptimizerError(f"{where}: expected an optimizer, got "
                                 f"{type(optimizer).__name__}")
        if total_steps is not None:
            self.total_steps = _positive_int(where, "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_positive_int(where, "epochs", epochs)
                                * _positive_int(where, "steps_per_epoch", steps_per_epoch))
        else:
            raise OptimizerError(f"{where}: give total_steps, or epochs and steps_per_epoch "
                                 "(the number of batches per epoch)")
        pct_start = number(where, "pct_start", pct_start)
        div_factor = number(where, "div_factor", div_factor)
        final_div_factor = number(where, "final_div_factor", final_div_factor)
        if not div_factor > 0 or not final_div_factor > 0:
            raise OptimizerError(f"{where}: div_factor and final_div_factor must be > 0 (the "
                                 f"learning rate is divided by them), got {div_factor}, "
                                 f"{final_div_factor}")
        if not 0.0 <= pct_start <= 1.0:
            raise OptimizerError(f"{where}: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise OptimizerError(f"{where}: anneal_strategy must be 'cos' or 'linear', got "
                                 f"{anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        end = float(pct_start * self.total_steps)
        if three_phase:
            self.phases = [(end - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (2 * end - 2, "max_lr", "initial_lr", "base_momentum",
                            "max_momentum"),
                           (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum",
                            "max_momentum")]
        else:
            self.phases = [(end - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (self.total_steps - 1, "max_lr", "min_lr", "base_momentum",
                            "max_momentum")]
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group, top in zip(groups, _per_group(where, "max_lr", optimizer, max_lr)):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise OptimizerError(f"{where}: {type(optimizer).__name__} has no momentum or "
                                     "betas to cycle; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            if last_epoch == -1:
                for group, top, base in zip(
                        groups, _per_group(where, "max_momentum", optimizer, max_momentum),
                        _per_group(where, "base_momentum", optimizer, base_momentum)):
                    self._set_momentum(group, top)
                    group["max_momentum"], group["base_momentum"] = top, base
        super().__init__(optimizer, last_epoch)

    def _restore_groups(self) -> None:
        if self.cycle_momentum and 0 <= self.last_epoch <= self.total_steps:
            self.get_lr()  # sets each group's momentum (or beta1) for the restored step
        super()._restore_groups()

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise OptimizerError(f"OneCycleLR: stepped {step} times, past total_steps="
                                 f"{self.total_steps}; make total_steps (or epochs * "
                                 "steps_per_epoch) the number of batches you train on")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for k, (end, lr0, lr1, m0, m1) in enumerate(self.phases):
                if step <= end or k == len(self.phases) - 1:
                    # the step after the last one (last_epoch == total_steps) holds the final
                    # values: PyTorch extrapolates there, and its linear schedule's lr goes
                    # below zero
                    pct = min((step - start) / (end - start), 1.0)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m0], group[m1], pct))
                    break
                start = end
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rates by ``factor`` when a metric stopped improving, as PyTorch's.

    ``step(metric)`` once per epoch with the validation loss (``mode="min"``) or accuracy
    (``mode="max"``). An epoch improves when the metric beats the best so far by more than
    ``threshold`` (relative: ``best * (1 - threshold)`` in min mode; ``threshold_mode="abs"``:
    ``best - threshold``). After more than ``patience`` epochs without improvement each group's
    lr becomes ``max(lr * factor, min_lr)`` (unless that changes it by less than ``eps``), and
    ``cooldown`` epochs follow in which bad epochs are not counted.
    """

    _counters = ("best", "num_bad_epochs", "cooldown_counter")

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr=0.0, eps: float = 1e-8):
        where = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise OptimizerError(f"{where}: expected an optimizer, got "
                                 f"{type(optimizer).__name__}")
        factor = number(where, "factor", factor)
        if not factor < 1.0:
            raise OptimizerError(f"{where}: factor must be < 1 (the learning rate is multiplied "
                                 f"by it), got {factor}")
        if mode not in ("min", "max"):
            raise OptimizerError(f"{where}: mode must be 'min' (a loss) or 'max' (an accuracy), "
                                 f"got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise OptimizerError(f"{where}: threshold_mode must be 'rel' or 'abs', got "
                                 f"{threshold_mode!r}")
        for key, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise OptimizerError(f"{where}: {key} must be a number of epochs >= 0, got "
                                     f"{value!r}")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, int(patience)
        self.threshold = nonnegative(where, "threshold", threshold)
        self.threshold_mode = threshold_mode
        self.cooldown, self.eps = int(cooldown), nonnegative(where, "eps", eps)
        self.min_lrs = _per_group(where, "min_lr", optimizer, min_lr)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs, self.cooldown_counter, self.last_epoch = 0, 0, 0
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self._last_lr = list(self.base_lrs)

    def _is_better(self, a: float) -> bool:
        best, th = self.best, self.threshold
        if self.mode == "min":
            return a < (best * (1.0 - th) if self.threshold_mode == "rel" else best - th)
        return a > (best * (th + 1.0) if self.threshold_mode == "rel" else best + th)

    def step(self, metrics=None, epoch: int | None = None) -> None:
        """Count one epoch with this value of the monitored metric."""
        if metrics is None:
            raise OptimizerError("ReduceLROnPlateau.step: pass the metric it watches, as "
                                 "sched.step(val_loss)")
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise OptimizerError(f"ReduceLROnPlateau.step: the metric must be one number (the "
                                 f"epoch's validation loss, a float), got {metrics!r}; for "
                                 "several values pass their mean") from None
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown are not counted
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, floor)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
