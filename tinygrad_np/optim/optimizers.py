"""SGD, Adam, AdamW, RMSprop and Adagrad: PyTorch's documented update rules (torch.optim, 2.x),
with the same defaults and argument order. ``maximize=True`` (each of them, as in PyTorch)
ascends: the gradient is negated before weight decay and the update (``Optimizer.step``).

Each rule is written once, as NumPy passes with ``out=`` over arrays: ``step()`` runs it over
one parameter's arrays or over flat buffers that hold all the parameters of a group (see
optimizer.py). Nothing parameter-sized is allocated after the first step. State that decays
(moments, momentum) is flushed of subnormal values every 16 steps (see _FLUSH_EVERY).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import OptimizerError
from .optimizer import Optimizer, betas, flag, nonnegative, unit

# State that decays geometrically (a moment whose gradient stays 0) goes subnormal, below the
# float's normal range, and stays there for ~150 steps at beta 0.9 (float32) before it reaches
# 0. Intel CPUs compute each subnormal operand with a microcode assist, many times slower, and
# NumPy does not set the CPU's flush-to-zero flags, so such buffers are flushed to zero every
# _FLUSH_EVERY steps, with integer passes (which have no such cost). A flushed value is below
# 1.2e-38 (float32): it changes a weight by less than lr * 1.2e-38 / eps, nothing a float32 or
# float64 weight of normal size can hold.
_FLUSH_EVERY = 16


def _flush_subnormals(a: np.ndarray, tmp: np.ndarray) -> None:
    """Set the subnormal values of ``a`` to zero, in place; ``tmp`` (like ``a``) is scratch."""
    ints = _INTS.get(a.dtype)
    if ints is None or not (a.flags.c_contiguous and tmp.flags.c_contiguous):
        return
    kind, mask = ints
    bits, t = a.view(kind), tmp.view(kind)
    np.bitwise_and(bits, mask, out=t)  # the exponent bits: 0 for zeros and subnormals, else > 0
    np.negative(t, out=t)
    np.right_shift(t, 8 * kind.itemsize - 1, out=t)  # arithmetic: all ones where it was > 0
    np.bitwise_and(bits, t, out=bits)


# float dtype -> (the int of its size, its exponent bits); a Python int mask, as a NumPy
# scalar makes the pass several times slower
_INTS = {np.dtype(f): (np.dtype(i), m) for f, i, m in
         (("f2", "i2", 0x7C00), ("f4", "i4", 0x7F800000), ("f8", "i8", 0x7FF0000000000000))}


def _sub_scaled(p: np.ndarray, a: float, x: np.ndarray, tmp: np.ndarray) -> None:
    """p -= a * x, in place, using tmp for a * x (tmp may be x itself)."""
    np.multiply(x, a, out=tmp)
    np.subtract(p, tmp, out=p)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and L2 decay.

    g = grad + weight_decay * p; with momentum mu: b = g at the first step, then
    b = mu * b + (1 - dampening) * g, and g = g + mu * b (Nesterov) or g = b;
    finally p = p - lr * g. (A momentum switched on after the first step starts its buffer at
    zero; PyTorch starts it at the gradient, which is the same when dampening is 0.)
    """

    _spec = {"lr": nonnegative, "momentum": nonnegative, "dampening": nonnegative,
             "weight_decay": nonnegative, "nesterov": flag, "maximize": flag}

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 check_finite: bool = True, fused: bool | None = None):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize), check_finite, fused=fused)

    def _check_group(self, h, where):
        if h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
            raise OptimizerError(f"{where}: Nesterov momentum needs momentum > 0 and dampening "
                                 f"= 0, got momentum={h['momentum']}, dampening={h['dampening']}")

    def _buffers(self, group):
        return {"momentum_buffer": 0.0} if group["momentum"] else {}

    def _apply(self, p, g, state, tmp, t, group):
        lr, mu = group["lr"], group["momentum"]
        if not mu:
            _sub_scaled(p, lr, g, tmp)
            return
        buf = state["momentum_buffer"]
        if t == 1:
            np.copyto(buf, g)
        else:
            if t % _FLUSH_EVERY == 0:
                _flush_subnormals(buf, tmp)
            buf *= mu
            if group["dampening"]:
                np.multiply(g, 1.0 - group["dampening"], out=tmp)
                buf += tmp
            else:
                buf += g
        if group["nesterov"]:  # p -= lr * (g + mu * b), as two in-place steps
            _sub_scaled(p, lr, g, tmp)
            _sub_scaled(p, lr * mu, buf, tmp)
        else:
            _sub_scaled(p, lr, buf, tmp)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction, as torch.optim.Adam.

    g = grad + weight_decay * p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    with amsgrad, v_max = max(v_max, v) replaces v below;
    p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    The step count t is per parameter (a parameter without a gradient does not advance).
    """

    _spec = {"lr": nonnegative, "betas": betas, "eps": nonnegative,
             "weight_decay": nonnegative, "amsgrad": flag, "maximize": flag}

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 check_finite: bool = True, fused: bool | None = None):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize), check_finite,
                         fused=fused)

    def _buffers(self, group):
        if group["amsgrad"]:
            return {"exp_avg": 0.0, "exp_avg_sq": 0.0, "max_exp_avg_sq": 0.0}
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0}

    def _apply(self, p, g, state, tmp, t, group):
        b1, b2 = group["betas"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if t % _FLUSH_EVERY == 0:
            _flush_subnormals(m, tmp)
            _flush_subnormals(v, tmp)
            if group["amsgrad"]:
                _flush_subnormals(state["max_exp_avg_sq"], tmp)
        m *= b1
        np.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        # m / (sqrt(v) / s + eps) = s * m / (sqrt(v) + s * eps) with s = sqrt(1 - b2^t):
        # the same step with one pass less over the parameter
        s = math.sqrt(1.0 - b2**t)
        np.sqrt(v, out=tmp)
        tmp += s * group["eps"]
        np.divide(m, tmp, out=tmp)
        _sub_scaled(p, group["lr"] * s / (1.0 - b1**t), tmp, tmp)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), as torch.optim.AdamW:
    p = p * (1 - lr * weight_decay) first, then the Adam step on the plain gradient."""

    _l2 = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 check_finite: bool = True, fused: bool | None = None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         check_finite=check_finite, fused=fused)

    def _apply(self, p, g, state, tmp, t, group):
        if group["weight_decay"]:
            p *= 1.0 - group["lr"] * group["weight_decay"]
        super()._apply(p, g, state, tmp, t, group)


class RMSprop(Optimizer):
    """RMSprop (Hinton 2012), as torch.optim.RMSprop.

    g = grad + weight_decay * p; v = alpha v + (1 - alpha) g^2; centered: a = alpha a +
    (1 - alpha) g and the denominator is sqrt(v - a^2) + eps, else sqrt(v) + eps; with momentum
    mu: b = mu b + g / denominator, p = p - lr b; else p = p - lr g / denominator.
    """

    _spec = {"lr": nonnegative, "alpha": unit, "eps": nonnegative,
             "weight_decay": nonnegative, "momentum": nonnegative, "centered": flag,
             "maximize": flag}

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False, check_finite: bool = True, fused: bool | None = None):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize),
                         check_finite, fused=fused)

    def _buffers(self, group):
        state = {"square_avg": 0.0}
        if group["centered"]:
            state["grad_avg"] = 0.0
        if group["momentum"]:
            state["momentum_buffer"] = 0.0
        return state

    def _apply(self, p, g, state, tmp, t, group):
        alpha = group["alpha"]
        sq = state["square_avg"]
        if t % _FLUSH_EVERY == 0:
            for buf in state.values():  # all of them decay
                _flush_subnormals(buf, tmp)
        sq *= alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - alpha
        sq += tmp
        if group["centered"]:
            avg = state["grad_avg"]
            avg *= alpha
            np.multiply(g, 1.0 - alpha, out=tmp)
            avg += tmp
            np.multiply(avg, avg, out=tmp)
            np.subtract(sq, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(sq, out=tmp)
        tmp += group["eps"]
        np.divide(g, tmp, out=tmp)
        if group["momentum"]:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += tmp
            _sub_scaled(p, group["lr"], buf, tmp)
        else:
            _sub_scaled(p, group["lr"], tmp, tmp)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), as torch.optim.Adagrad.

    g = grad + weight_decay * p; s = s + g^2 (s starts at initial_accumulator_value);
    p = p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps).
    A param group's own initial_accumulator_value starts its buffers (PyTorch uses the
    constructor's value for every group).
    """

    _spec = {"lr": nonnegative, "lr_decay": nonnegative, "weight_decay": nonnegative,
             "initial_accumulator_value": nonnegative, "eps": nonnegative, "maximize": flag}

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *,
                 maximize: bool = False, check_finite: bool = True, fused: bool | None = None):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize), check_finite, fused=fused)

    def _buffers(self, group):
        return {"sum": group["initial_accumulator_value"]}

    def _apply(self, p, g, state, tmp, t, group):
        s = state["sum"]
        np.multiply(g, g, out=tmp)
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += group["eps"]
        np.divide(g, tmp, out=tmp)
        _sub_scaled(p, group["lr"] / (1.0 + (t - 1) * group["lr_decay"]), tmp, tmp)
