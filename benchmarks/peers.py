"""The MLP workloads (W1-W3) in the libraries a user might pick instead of tinygrad_np.

Each is written as that library's documentation writes a training step, starts from the
shared weights (``workloads.start_weights``) and updates them with the shared rules: SGD, or
Adam with PyTorch's constants and formulas (``numpy_by_hand.adam_update``, or the same
formulas inside JAX's jitted step). Each class is imported only in its own child process, and
only when its library is installed:

- ``JaxMLP``: one ``jax.jit``-compiled step, ``value_and_grad`` of the loss and the update,
  parameters and optimizer state donated to it (updated in their own buffers, as XLA allows).
  JAX dispatches asynchronously; ``sync()`` waits for the last step and ends every timed window.
- ``MyGradMLP``: ``mygrad.Tensor`` parameters, ``loss.backward()``, the update applied to each
  parameter's ``.data`` in place (MyGrad's defaults, memory guarding on).
- ``AutogradMLP``: HIPS autograd's ``value_and_grad`` of a loss written in ``autograd.numpy``
  (as in its ``neural_net`` example, with ``logsumexp``); parameters are plain arrays, updated
  in place.

None of them is written for W4's CNN yet: those rows are skipped.
"""

from __future__ import annotations

import numpy as np

from .numpy_by_hand import adam_update
from .workloads import ADAM_BETAS, ADAM_EPS, Unavailable, Workload


def _mlp_only(wl: Workload, name: str) -> None:
    if wl.model != "mlp":
        raise Unavailable(f"{name} is written for the MLP workloads only")


class _InPlaceOptimizer:
    """SGD or Adam (PyTorch's rules) on a list of float32 arrays, updated in place."""

    def __init__(self, wl: Workload, params: list[np.ndarray]):
        self.wl, self.t = wl, 0
        if wl.optimizer == "adam":
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]

    def update(self, params, grads) -> None:
        if self.wl.optimizer == "sgd":
            for p, g in zip(params, grads):
                p -= self.wl.lr * g
            return
        self.t += 1
        adam_update(params, grads, self.m, self.v, self.wl.lr, self.t)


class JaxMLP:
    def __init__(self, wl: Workload, weights):
        _mlp_only(wl, "the JAX row")
        import jax
        import jax.numpy as jnp

        self.jax = jax
        act = jax.nn.relu if wl.activation == "relu" else jnp.tanh

        def loss_fn(params, x, y):
            h = x
            for i, (W, b) in enumerate(params):
                h = h @ W + b
                if i < len(params) - 1:
                    h = act(h)
            logp = jax.nn.log_softmax(h, axis=1)
            return -jnp.take_along_axis(logp, y[:, None], axis=1).mean()

        grad_fn = jax.value_and_grad(loss_fn)
        lr = wl.lr
        b1, b2 = ADAM_BETAS

        def sgd_step(params, x, y):
            loss, g = grad_fn(params, x, y)
            return jax.tree_util.tree_map(lambda p, d: p - lr * d, params, g), loss

        def adam_step(params, m, v, t, x, y):
            loss, g = grad_fn(params, x, y)
            t = t + 1
            m = jax.tree_util.tree_map(lambda m, d: b1 * m + (1 - b1) * d, m, g)
            v = jax.tree_util.tree_map(lambda v, d: b2 * v + (1 - b2) * d * d, v, g)
            step_size = lr / (1 - b1**t)
            sqrt_bc2 = jnp.sqrt(1 - b2**t)
            params = jax.tree_util.tree_map(
                lambda p, m, v: p - step_size * m / (jnp.sqrt(v) / sqrt_bc2 + ADAM_EPS),
                params, m, v)
            return params, m, v, t, loss

        self.params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in weights]
        self.adam = wl.optimizer == "adam"
        if self.adam:
            self.m = jax.tree_util.tree_map(jnp.zeros_like, self.params)
            self.v = jax.tree_util.tree_map(jnp.zeros_like, self.params)
            self.t = jnp.zeros((), jnp.float32)
            self._step = jax.jit(adam_step, donate_argnums=(0, 1, 2, 3))
        else:
            self._step = jax.jit(sgd_step, donate_argnums=(0,))

    def step(self, X, y) -> None:
        if self.adam:
            self.params, self.m, self.v, self.t, _ = self._step(self.params, self.m, self.v,
                                                                self.t, X, y)
        else:
            self.params, _ = self._step(self.params, X, y)

    def sync(self) -> None:
        self.jax.block_until_ready(self.params)

    def weights(self) -> list[np.ndarray]:
        return [np.asarray(a) for layer in self.params for a in layer]


class MyGradMLP:
    def __init__(self, wl: Workload, weights):
        _mlp_only(wl, "the MyGrad row")
        import mygrad as mg
        from mygrad.nnet.activations import relu, tanh
        from mygrad.nnet.losses import softmax_crossentropy

        self.mg, self.loss_fn = mg, softmax_crossentropy
        self.act = relu if wl.activation == "relu" else tanh
        self.params = [mg.Tensor(a.copy()) for layer in weights for a in layer]
        self.opt = _InPlaceOptimizer(wl, [p.data for p in self.params])

    def step(self, X, y) -> None:
        h = X
        n_layers = len(self.params) // 2
        for i in range(n_layers):
            h = self.mg.matmul(h, self.params[2 * i]) + self.params[2 * i + 1]
            if i < n_layers - 1:
                h = self.act(h)
        self.loss_fn(h, y).backward()
        self.opt.update([p.data for p in self.params], [p.grad for p in self.params])

    def weights(self) -> list[np.ndarray]:
        return [p.data for p in self.params]


class AutogradMLP:
    def __init__(self, wl: Workload, weights):
        _mlp_only(wl, "the autograd row")
        import autograd.numpy as anp
        from autograd import value_and_grad
        from autograd.scipy.special import logsumexp

        relu = wl.activation == "relu"

        def loss_fn(params, X, y):
            h = X
            n_layers = len(params) // 2
            for i in range(n_layers):
                h = anp.dot(h, params[2 * i]) + params[2 * i + 1]
                if i < n_layers - 1:
                    h = anp.maximum(h, 0.0) if relu else anp.tanh(h)
            log_probs = h - logsumexp(h, axis=1, keepdims=True)
            return -anp.mean(log_probs[anp.arange(len(y)), y])

        self.grad_fn = value_and_grad(loss_fn)
        self.params = [a.copy() for layer in weights for a in layer]
        self.opt = _InPlaceOptimizer(wl, self.params)

    def step(self, X, y) -> None:
        _, grads = self.grad_fn(self.params, X, y)
        self.opt.update(self.params, grads)

    def weights(self) -> list[np.ndarray]:
        return self.params
