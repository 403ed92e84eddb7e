"""Optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) and learning-rate schedulers.

The update rules are PyTorch's documented ones (torch.optim, 2.x), with the same defaults.
Updates happen in place: ``p.data`` stays the same array for the whole run, and every state
buffer is allocated once, at construction, together with one scratch array per parameter for
intermediate results (and, with L2 ``weight_decay``, one buffer per parameter at the first step).
So a step after the first allocates no parameter-sized arrays, and anyone holding ``p.data``
(a Module, another optimizer) sees the new values.

One set of hyperparameters covers all parameters (no per-group settings); they are plain
attributes (``opt.lr``), which the schedulers change.

``step()`` skips parameters whose ``.grad`` is None. Before updating anything it checks every
gradient's shape and, unless ``check_finite=False`` (a little faster), that it holds no NaN or
Inf: a bad gradient raises ``OptimizerError`` naming the parameter, and no parameter changes.
Pass ``model.named_parameters()`` instead of ``model.parameters()`` to get names in errors.
"""

from __future__ import annotations

import math

import numpy as np

from .autograd.function import nonfinite as _nonfinite
from .autograd.function import note_writes
from .errors import OptimizerError
from .tensor import Tensor


def _collect(params, where: str) -> tuple[list[Tensor], list[str | None]]:
    """The parameter list and their names (from (name, Tensor) pairs or ``Tensor.name``)."""
    if isinstance(params, Tensor):
        raise OptimizerError(f"{where}: params must be an iterable of Tensors; wrap a single "
                             "tensor in a list: [w]")
    try:
        items = list(params)
    except TypeError:
        raise OptimizerError(f"{where}: params must be an iterable of Tensors, got "
                             f"{type(params).__name__}; pass model.parameters()") from None
    if not items:
        raise OptimizerError(f"{where}: got an empty parameter list; pass model.parameters() "
                             "of a model that has parameters")
    tensors, names, seen = [], [], set()
    for i, item in enumerate(items):
        name = None
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            name, item = item
        if not isinstance(item, Tensor) or not item.requires_grad:
            raise OptimizerError(
                f"{where}: parameter {name or i} is a {type(item).__name__}"
                f"{'' if not isinstance(item, Tensor) else ' that does not require grad'}; "
                "optimizers take Tensors created with requires_grad=True"
            )
        if id(item) in seen:
            raise OptimizerError(f"{where}: parameter {name or i} (shape {item.shape}) appears "
                                 "twice; it would be updated twice per step")
        seen.add(id(item))
        tensors.append(item)
        names.append(name or item.name)
    return tensors, names


def _check_nonnegative(where: str, **values) -> None:
    for key, v in values.items():
        if not v >= 0.0:
            raise OptimizerError(f"{where}: {key} must be >= 0, got {v}")


def _check_beta(where: str, key: str, v: float) -> None:
    if not 0.0 <= v < 1.0:
        raise OptimizerError(f"{where}: {key} must be in [0, 1), got {v}")


def _sub_scaled(p: np.ndarray, a: float, x: np.ndarray, tmp: np.ndarray) -> None:
    """p -= a * x, in place, using tmp for a * x (tmp may be x itself)."""
    np.multiply(x, a, out=tmp)
    np.subtract(p, tmp, out=p)


class Optimizer:
    """Base class: holds the parameters, their per-parameter state and step counts.

    A subclass sets its hyperparameters (named in ``_hyper``, saved by ``state_dict``), then
    calls ``Optimizer.__init__``, and defines ``_new_state(p)`` (its buffers for one parameter)
    and ``_update(p, g, state, tmp, t)`` (one in-place step of parameter array ``p`` with
    gradient ``g`` at step ``t`` >= 1; ``tmp`` is a scratch array like ``p``).
    """

    _hyper: tuple[str, ...] = ("lr",)
    weight_decay = 0.0
    _l2 = True  # weight_decay adds weight_decay * p to the gradient (AdamW decays the weights)

    def __init__(self, params, lr: float, check_finite: bool = True):
        where = type(self).__name__
        self.params, self.names = _collect(params, where)
        _check_nonnegative(where, lr=lr)
        self.lr = float(lr)
        self.check_finite = check_finite
        self.steps = [0] * len(self.params)
        self.state = [self._new_state(p._data) for p in self.params]
        self._scratch = [np.empty_like(p._data) for p in self.params]
        self._decayed = None  # buffers for grad + weight_decay * p, made at the first such step

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None (PyTorch's default, set_to_none=True)."""
        for p in self.params:
            p._grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, or raise before changing any."""
        params = self.params
        live = [i for i, p in enumerate(params) if p._grad is not None]
        self._check_grads(live)
        wd = self.weight_decay if self._l2 else 0.0
        if wd and self._decayed is None:
            self._decayed = [np.empty_like(p._data) for p in params]
        for i in live:
            p = params[i]
            self.steps[i] += 1
            g = p._grad._data
            if wd:  # L2 penalty: the gradient of wd/2 * |p|^2 added, in a buffer
                g = np.multiply(p._data, wd, out=self._decayed[i])
                g += p._grad._data
            self._update(p._data, g, self.state[i], self._scratch[i], self.steps[i])
        note_writes([params[i] for i in live])  # a graph that saved the old values now refuses

    def _label(self, i: int) -> str:
        """``'layers.0.weight' (shape (4, 3))``, or ``parameter 0 (shape (4, 3))`` unnamed."""
        name = repr(self.names[i]) if self.names[i] else f"parameter {i}"
        return f"{name} (shape {self.params[i].shape})"

    def _check_grads(self, live: list[int]) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # inf - inf in a sum: no warning
            self._check_each(live)

    def _check_each(self, live: list[int]) -> None:
        where = f"{type(self).__name__}.step"
        for i in live:
            p = self.params[i]
            g = p._grad._data
            if g.shape != p.shape:
                raise OptimizerError(f"{where}: {self._label(i)} has a gradient of shape "
                                     f"{g.shape}; a .grad must have its parameter's shape")
            # a finite sum of squares (one BLAS call, no temporary) proves every element
            # finite; if it is not, look closer: it may have overflowed
            flat = g.reshape(-1)
            if (self.check_finite and not np.isfinite(np.dot(flat, flat))
                    and not np.isfinite(g).all()):
                raise OptimizerError(
                    f"{where}: the gradient of {self._label(i)} has "
                    f"{_nonfinite(g)} values; no parameter was updated. Lower the learning "
                    "rate, check the loss for log(0) or overflow (tinygrad_np.detect_anomaly() "
                    "names the op), or pass check_finite=False to skip this check"
                )

    # --- state --------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Hyperparameters, step counts and copies of every state buffer (for ``nn.save``)."""
        return {
            "optimizer": type(self).__name__,
            "hyperparameters": {k: getattr(self, k) for k in self._hyper},
            "steps": np.array(self.steps, dtype=np.int64),
            "state": {str(i): {k: v.copy() for k, v in st.items()}
                      for i, st in enumerate(self.state)},
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()`` output, so training resumes exactly where it stopped.

        Everything is checked before anything is assigned: on error (another optimizer, other
        parameters, other settings) ``OptimizerError`` is raised and this optimizer is unchanged.
        """
        where = f"{type(self).__name__}.load_state_dict"
        try:
            kind = str(state["optimizer"])
            saved_hyper, steps, saved = state["hyperparameters"], state["steps"], state["state"]
        except (KeyError, TypeError):
            raise OptimizerError(f"{where}: not an optimizer state dict (expected the keys "
                                 "optimizer, hyperparameters, steps, state)") from None
        if kind != type(self).__name__:
            raise OptimizerError(f"{where}: the state was saved by {kind}, not "
                                 f"{type(self).__name__}")
        n = len(self.params)
        steps = np.asarray(steps)
        if steps.shape != (n,) or len(saved) != n:
            raise OptimizerError(f"{where}: the state holds {len(saved)} parameters, this "
                                 f"optimizer has {n}; build it from the same model")
        hyper = {}
        for k in self._hyper:
            if k not in saved_hyper:
                raise OptimizerError(f"{where}: hyperparameter {k!r} is missing from the state")
            current, value = getattr(self, k), saved_hyper[k]
            hyper[k] = (tuple(float(v) for v in np.asarray(value)) if isinstance(current, tuple)
                        else type(current)(value))
        _check_nonnegative(where, lr=hyper["lr"])
        copies = []
        for i, own in enumerate(self.state):
            buffers = saved.get(str(i), {})
            if set(buffers) != set(own):
                raise OptimizerError(
                    f"{where}: {self._label(i)} has state {sorted(buffers)} in the file but "
                    f"{sorted(own)} here; was it saved with other settings (momentum, amsgrad, "
                    "centered)?")
            for k, buf in own.items():
                arr = np.asarray(buffers[k])
                if arr.shape != buf.shape or arr.dtype != buf.dtype:
                    raise OptimizerError(
                        f"{where}: state {k!r} of {self._label(i)} has shape {arr.shape} and "
                        f"dtype {arr.dtype} in the file, but {buf.shape} and {buf.dtype} here")
                copies.append((buf, arr))
        for k, v in hyper.items():
            setattr(self, k, v)
        self.steps = [int(s) for s in steps]
        for buf, arr in copies:
            np.copyto(buf, arr)

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyper)
        return f"{type(self).__name__}({hyper}; {len(self.params)} parameters)"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and L2 decay.

    g = grad + weight_decay * p; with momentum mu: b = g at the first step, then
    b = mu * b + (1 - dampening) * g, and g = g + mu * b (Nesterov) or g = b;
    finally p = p - lr * g.
    """

    _hyper = ("lr", "momentum", "dampening", "nesterov", "weight_decay")

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, check_finite: bool = True):
        _check_nonnegative("SGD", momentum=momentum, dampening=dampening,
                           weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise OptimizerError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0, "
                                 f"got momentum={momentum}, dampening={dampening}")
        self.momentum, self.dampening = float(momentum), float(dampening)
        self.nesterov, self.weight_decay = bool(nesterov), float(weight_decay)
        super().__init__(params, lr, check_finite)

    def _new_state(self, p):
        return {"momentum_buffer": np.zeros_like(p)} if self.momentum else {}

    def _update(self, p, g, state, tmp, t):
        mu = self.momentum
        if not mu:
            _sub_scaled(p, self.lr, g, tmp)
            return
        buf = state["momentum_buffer"]
        if t == 1:
            np.copyto(buf, g)
        else:
            buf *= mu
            if self.dampening:
                np.multiply(g, 1.0 - self.dampening, out=tmp)
                buf += tmp
            else:
                buf += g
        if self.nesterov:  # p -= lr * (g + mu * b), as two in-place steps
            _sub_scaled(p, self.lr, g, tmp)
            _sub_scaled(p, self.lr * mu, buf, tmp)
        else:
            _sub_scaled(p, self.lr, buf, tmp)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction, as torch.optim.Adam.

    g = grad + weight_decay * p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    with amsgrad, v_max = max(v_max, v) replaces v below;
    p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    The step count t is per parameter (a parameter without a gradient does not advance).
    """

    _hyper = ("lr", "betas", "eps", "weight_decay", "amsgrad")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, check_finite: bool = True):
        where = type(self).__name__
        if len(betas) != 2:
            raise OptimizerError(f"{where}: betas must be a pair (beta1, beta2), got {betas}")
        _check_beta(where, "betas[0]", betas[0])
        _check_beta(where, "betas[1]", betas[1])
        _check_nonnegative(where, eps=eps, weight_decay=weight_decay)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps, self.weight_decay, self.amsgrad = float(eps), float(weight_decay), bool(amsgrad)
        super().__init__(params, lr, check_finite)

    def _new_state(self, p):
        state = {"exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)}
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(p)
        return state

    def _update(self, p, g, state, tmp, t):
        b1, b2 = self.betas
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        np.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        if self.amsgrad:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        # m / (sqrt(v) / s + eps) = s * m / (sqrt(v) + s * eps) with s = sqrt(1 - b2^t):
        # the same step with one pass less over the parameter
        s = math.sqrt(1.0 - b2**t)
        np.sqrt(v, out=tmp)
        tmp += s * self.eps
        np.divide(m, tmp, out=tmp)
        _sub_scaled(p, self.lr * s / (1.0 - b1**t), tmp, tmp)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), as torch.optim.AdamW:
    p = p * (1 - lr * weight_decay) first, then the Adam step on the plain gradient."""

    _l2 = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, check_finite: bool = True):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, check_finite)

    def _update(self, p, g, state, tmp, t):
        if self.weight_decay:
            p *= 1.0 - self.lr * self.weight_decay
        super()._update(p, g, state, tmp, t)


class RMSprop(Optimizer):
    """RMSprop (Hinton 2012), as torch.optim.RMSprop.

    g = grad + weight_decay * p; v = alpha v + (1 - alpha) g^2; centered: a = alpha a +
    (1 - alpha) g and the denominator is sqrt(v - a^2) + eps, else sqrt(v) + eps; with momentum
    mu: b = mu b + g / denominator, p = p - lr b; else p = p - lr g / denominator.
    """

    _hyper = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 check_finite: bool = True):
        _check_beta("RMSprop", "alpha", alpha)
        _check_nonnegative("RMSprop", eps=eps, weight_decay=weight_decay, momentum=momentum)
        self.alpha, self.eps, self.weight_decay = float(alpha), float(eps), float(weight_decay)
        self.momentum, self.centered = float(momentum), bool(centered)
        super().__init__(params, lr, check_finite)

    def _new_state(self, p):
        state = {"square_avg": np.zeros_like(p)}
        if self.centered:
            state["grad_avg"] = np.zeros_like(p)
        if self.momentum:
            state["momentum_buffer"] = np.zeros_like(p)
        return state

    def _update(self, p, g, state, tmp, t):
        alpha = self.alpha
        sq = state["square_avg"]
        sq *= alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - alpha
        sq += tmp
        if self.centered:
            avg = state["grad_avg"]
            avg *= alpha
            np.multiply(g, 1.0 - alpha, out=tmp)
            avg += tmp
            np.multiply(avg, avg, out=tmp)
            np.subtract(sq, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(sq, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        if self.momentum:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += tmp
            _sub_scaled(p, self.lr, buf, tmp)
        else:
            _sub_scaled(p, self.lr, tmp, tmp)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), as torch.optim.Adagrad.

    g = grad + weight_decay * p; s = s + g^2 (s starts at initial_accumulator_value);
    p = p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps).
    """

    _hyper = ("lr", "lr_decay", "weight_decay", "eps")

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10,
                 check_finite: bool = True):
        _check_nonnegative("Adagrad", lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                           initial_accumulator_value=initial_accumulator_value)
        self.lr_decay, self.weight_decay = float(lr_decay), float(weight_decay)
        self.eps = float(eps)
        self.initial_accumulator_value = float(initial_accumulator_value)
        super().__init__(params, lr, check_finite)

    def _new_state(self, p):
        return {"sum": np.full_like(p, self.initial_accumulator_value)}

    def _update(self, p, g, state, tmp, t):
        s = state["sum"]
        np.multiply(g, g, out=tmp)
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        _sub_scaled(p, self.lr / (1.0 + (t - 1) * self.lr_decay), tmp, tmp)


# --- learning-rate schedulers ------------------------------------------------------------------


class LRScheduler:
    """Sets ``optimizer.lr`` from a closed-form function of the epoch: call ``step()`` once per
    epoch, after the optimizer's steps (as in PyTorch)."""

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise OptimizerError(f"{type(self).__name__}: expected an optimizer, got "
                                 f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> float:
        return self.optimizer.lr

    def state_dict(self) -> dict:
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        try:
            base_lr, last_epoch = float(state["base_lr"]), int(state["last_epoch"])
        except (KeyError, TypeError, ValueError):
            raise OptimizerError(f"{type(self).__name__}.load_state_dict: not a scheduler state "
                                 "dict (expected the keys base_lr and last_epoch, as "
                                 "state_dict() returns)") from None
        self.base_lr, self.last_epoch = base_lr, last_epoch


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size): multiply by gamma every step_size epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if step_size < 1:
            raise OptimizerError(f"StepLR: step_size must be a positive number of epochs, got "
                                 f"{step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2 (SGDR without restarts;
    past T_max it rises again, as PyTorch's does)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        if T_max < 1:
            raise OptimizerError(f"CosineAnnealingLR: T_max must be a positive number of epochs, "
                                 f"got {T_max}")
        self.T_max, self.eta_min = int(T_max), float(eta_min)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        cos = math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1.0 + cos) / 2.0
