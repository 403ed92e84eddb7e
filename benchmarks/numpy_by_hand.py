"""The baselines written by hand in NumPy, as the seeds write them, plus the matmul-only floor.

``HandMLP`` is the seeds' backprop for a softmax MLP: forward keeping every Z and A, the fused
``dZ = (P - Y) / m`` at the output, ``dW = A^T dZ``, ``db = sum(dZ)``, ``dZ = (dZ W^T) * g'(Z)``
going down, then SGD or Adam updating parameters and optimizer state in place. float32
throughout, row-major layout (one sample per row), no tricks beyond that.

``MatmulFloor`` runs only the GEMMs of the same step (3 forward, 5 backward for W1) into
preallocated buffers: what no framework can beat.

``HandCNN`` and ``CNNMatmulFloor`` are the same two for W4, issue 14's CNN; ``reference_loss``
evaluates any framework's weights in float64, for the check that every row trains alike.
"""

from __future__ import annotations

import numpy as np

from .workloads import ADAM_BETAS, ADAM_EPS, CNN_IMAGE, Workload


class HandMLP:
    """A softmax MLP trained with hand-derived gradients (the seeds' formulas)."""

    def __init__(self, wl: Workload, weights):
        self.wl = wl
        self.params = [a.copy() for layer in weights for a in layer]  # W1, b1, W2, b2, ...
        if wl.optimizer == "adam":
            self.m = [np.zeros_like(p) for p in self.params]
            self.v = [np.zeros_like(p) for p in self.params]
            self.t = 0

    def gradients(self, X, y) -> list[np.ndarray]:
        relu = self.wl.activation == "relu"
        n_layers = len(self.params) // 2
        A, Z = [X], []
        for i in range(n_layers):
            W, b = self.params[2 * i], self.params[2 * i + 1]
            Z.append(A[-1] @ W + b)
            if i < n_layers - 1:
                A.append(np.maximum(Z[-1], 0) if relu else np.tanh(Z[-1]))
        m = len(X)
        E = np.exp(Z[-1] - Z[-1].max(axis=1, keepdims=True))
        dZ = E / E.sum(axis=1, keepdims=True)  # softmax P
        dZ[np.arange(m), y] -= 1  # P - Y
        dZ /= m
        grads = [None] * len(self.params)
        for i in reversed(range(n_layers)):
            grads[2 * i] = A[i].T @ dZ
            grads[2 * i + 1] = dZ.sum(axis=0)
            if i > 0:
                dA = dZ @ self.params[2 * i].T
                dZ = dA * (Z[i - 1] > 0) if relu else dA * (1 - A[i] * A[i])
        return grads

    def step(self, X, y) -> None:
        grads = self.gradients(X, y)
        lr = self.wl.lr
        if self.wl.optimizer == "sgd":
            for p, g in zip(self.params, grads):
                p -= lr * g
            return
        self.t += 1
        adam_update(self.params, grads, self.m, self.v, lr, self.t)

    def weights(self) -> list[np.ndarray]:
        return self.params


class MatmulFloor:
    """Only the step's matrix products, into buffers allocated once per batch size."""

    def __init__(self, wl: Workload, weights):
        self.W = [W.copy() for W, _ in weights]
        self.buffers = {}

    def _buffers_for(self, m: int):
        if m not in self.buffers:
            outs = [np.empty((m, W.shape[1]), np.float32) for W in self.W]  # Z (and dZ, dA)
            dW = [np.empty_like(W) for W in self.W]
            self.buffers[m] = (outs, [np.ones_like(o) for o in outs], dW)
        return self.buffers[m]

    def step(self, X, y) -> None:
        Z, dZ, dW = self._buffers_for(len(X))
        A = X
        for W, out in zip(self.W, Z):
            A = np.matmul(A, W, out=out)
        for i in reversed(range(len(self.W))):
            np.matmul((X if i == 0 else Z[i - 1]).T, dZ[i], out=dW[i])
            if i > 0:
                np.matmul(dZ[i], self.W[i].T, out=dZ[i - 1])

    def weights(self) -> list[np.ndarray]:
        return self.W


def adam_update(params, grads, m_buf, v_buf, lr: float, t: int) -> None:
    """PyTorch's Adam (bias-corrected, eps outside the square root), in place, float32."""
    b1, b2 = ADAM_BETAS
    step_size = lr / (1 - b1**t)
    sqrt_bc2 = np.sqrt(1 - b2**t)
    for p, g, m, v in zip(params, grads, m_buf, v_buf):
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        p -= step_size * m / (np.sqrt(v) / sqrt_bc2 + ADAM_EPS)


# --- W4: the CNN ------------------------------------------------------------------------------


def _conv_matrix(W: np.ndarray) -> np.ndarray:
    """PyTorch's (out, in, kH, kW) weight as the (kH*kW*in, out) matrix ``_im2col``'s patch
    rows multiply (rows in (kh, kw, c) order: each patch row copies whole channel vectors)."""
    return W.transpose(2, 3, 1, 0).reshape(-1, W.shape[0])


def _im2col(padded: np.ndarray, k: int) -> np.ndarray:
    """(N, H+k-1, W+k-1, C) zero-padded NHWC -> (N*H*W, k*k*C) patches of the stride-1 'same'
    convolution: k*k copies of a shifted window, each moving whole channel vectors."""
    n, hp, wp, c = padded.shape
    h, w = hp - k + 1, wp - k + 1
    cols = np.empty((n, h, w, k, k, c), padded.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, :, i, j, :] = padded[:, i:i + h, j:j + w, :]
    return cols.reshape(n * h * w, k * k * c)


def _col2im(cols: np.ndarray, padded_shape, k: int) -> np.ndarray:
    """The adjoint of ``_im2col``: each patch's gradient added back where it came from; returns
    the gradient of the unpadded input."""
    n, hp, wp, c = padded_shape
    h, w = hp - k + 1, wp - k + 1
    patches = cols.reshape(n, h, w, k, k, c)
    out = np.zeros(padded_shape, cols.dtype)
    for i in range(k):
        for j in range(k):
            out[:, i:i + h, j:j + w, :] += patches[:, :, :, i, j, :]
    pad = k // 2
    return out[:, pad:pad + h, pad:pad + w, :]


def _pool2(z: np.ndarray, n: int, h: int, w: int, c: int):
    """2x2 max-pool of (N*H*W, C) rows (NHWC); returns the pooled (N, H/2, W/2, C) and the
    mask of each window's maximum for the backward pass.

    Where a window holds its maximum more than once (common: an unlit patch of the image makes
    every output there equal the bias), only the first in row-major order gets the gradient,
    as in PyTorch; a plain ``z == max`` mask would hand it to all of them.
    """
    z6 = z.reshape(n, h // 2, 2, w // 2, 2, c)
    corners = [z6[:, :, i, :, j, :] for i in (0, 1) for j in (0, 1)]  # row-major order
    pooled = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    mask = np.empty(z6.shape, bool)
    taken = np.zeros(pooled.shape, bool)
    for (i, j), corner in zip(((0, 0), (0, 1), (1, 0), (1, 1)), corners):
        cell = mask[:, :, i, :, j, :]
        np.equal(corner, pooled, out=cell)
        cell &= ~taken
        taken |= cell
    return pooled, mask


def _unpool2(mask: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """The gradient of ``_pool2``'s input, as (N*H*W, C) rows: each window's to its maximum."""
    return (mask * grad[:, :, None, :, None, :]).reshape(-1, grad.shape[-1])


class HandCNN:
    """W4 by hand: im2col + GEMM convolutions in NHWC, 2x2 max-pool, the linear layer, softmax
    cross-entropy, and the backward pass written out (GEMMs for the weight and input gradients,
    col2im for the second convolution's input), then Adam in place. float32 throughout.

    What a careful NumPy user does: channels last, so every copy moves whole channel vectors;
    zero-bordered input buffers allocated once per batch size (only the interior is written);
    pooling before the ReLU (max and ReLU commute, so this is the network's very forward pass
    and gradient: a window's gradient goes to its maximum, times "that maximum > 0") on arrays
    a quarter of the size; bias gradients as BLAS products. The parameters stay in PyTorch's
    conv layout (out, in, kH, kW) and tinygrad_np's linear layout (in, out), the layouts of
    ``cnn_initial_weights``.
    """

    def __init__(self, wl: Workload, weights):
        self.wl = wl
        self.params = [a.copy() for layer in weights for a in layer]  # conv1 W b, conv2 W b, fc W b
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0
        self.padded = {}  # batch size -> the two zero-bordered conv inputs

    def _padded_for(self, n: int, dtype):
        if (n, dtype) not in self.padded:
            W1, W2 = self.params[0], self.params[2]
            k, side = W1.shape[-1], CNN_IMAGE
            self.padded[n, dtype] = (
                np.zeros((n, side + k - 1, side + k - 1, W1.shape[1]), dtype),
                np.zeros((n, side // 2 + k - 1, side // 2 + k - 1, W2.shape[1]), dtype))
        return self.padded[n, dtype]

    def forward(self, X, params=None):
        """Logits, and what the backward pass needs."""
        W1, b1, W2, b2, Wf, bf = self.params if params is None else params
        n, k, c1, c2 = len(X), W1.shape[-1], W1.shape[0], W2.shape[0]
        h1, h2, p = CNN_IMAGE, CNN_IMAGE // 2, W1.shape[-1] // 2
        in1, in2 = self._padded_for(n, X.dtype)
        in1[:, p:p + h1, p:p + h1, :] = X.reshape(n, W1.shape[1], h1, h1).transpose(0, 2, 3, 1)
        cols1 = _im2col(in1, k)
        z1 = cols1 @ _conv_matrix(W1)
        z1 += b1
        p1, mask1 = _pool2(z1, n, h1, h1, c1)
        a1 = in2[:, p:p + h2, p:p + h2, :]
        np.maximum(p1, 0, out=a1)  # (N, 14, 14, 16), written into conv 2's padded input
        cols2 = _im2col(in2, k)
        z2 = cols2 @ _conv_matrix(W2)
        z2 += b2
        p2, mask2 = _pool2(z2, n, h2, h2, c2)
        a2 = np.maximum(p2, 0)  # (N, 7, 7, 32)
        flat = a2.transpose(0, 3, 1, 2).reshape(n, -1)  # PyTorch's flatten order (C, H, W)
        logits = flat @ Wf
        logits += bf
        return logits, (cols1, p1, mask1, in2.shape, cols2, p2, mask2, flat)

    def gradients(self, X, y) -> list[np.ndarray]:
        W1, b1, W2, b2, Wf, bf = self.params
        n, k, c2 = len(X), W1.shape[-1], W2.shape[0]
        logits, (cols1, p1, mask1, in2_shape, cols2, p2, mask2, flat) = self.forward(X)
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        logits[np.arange(n), y] -= 1
        dlogits = logits
        dlogits /= n
        ones = np.ones(n, dlogits.dtype)
        dWf = flat.T @ dlogits
        dbf = ones @ dlogits
        side2 = p2.shape[1]
        da2 = (dlogits @ Wf.T).reshape(n, c2, side2, side2).transpose(0, 2, 3, 1)
        da2 = da2 * (p2 > 0)
        dz2 = _unpool2(mask2, da2)
        dW2 = (cols2.T @ dz2).reshape(k, k, W2.shape[1], c2).transpose(3, 2, 0, 1)
        db2 = np.ones(len(dz2), dz2.dtype) @ dz2
        da1 = _col2im(dz2 @ _conv_matrix(W2).T, in2_shape, k)
        da1 *= p1 > 0
        dz1 = _unpool2(mask1, da1)
        dW1 = (cols1.T @ dz1).reshape(k, k, W1.shape[1], W1.shape[0]).transpose(3, 2, 0, 1)
        db1 = np.ones(len(dz1), dz1.dtype) @ dz1
        return [dW1, db1, dW2, db2, dWf, dbf]

    def step(self, X, y) -> None:
        grads = self.gradients(X, y)
        self.t += 1
        adam_update(self.params, grads, self.m, self.v, self.wl.lr, self.t)

    def weights(self) -> list[np.ndarray]:
        return self.params


class CNNMatmulFloor:
    """Only W4's GEMMs (3 forward, 3 weight gradients, 2 input gradients), on patch matrices
    made once: what no im2col implementation of this CNN can beat."""

    def __init__(self, wl: Workload, weights):
        (W1, _), (W2, _), (Wf, _) = weights
        self.W = [W1.reshape(W1.shape[0], -1).T.copy(), W2.reshape(W2.shape[0], -1).T.copy(),
                  Wf.copy()]
        self.buffers = {}

    def _buffers_for(self, n: int):
        if n not in self.buffers:
            rows = (n * CNN_IMAGE**2, n * (CNN_IMAGE // 2) ** 2, n)
            ins = [np.ones((r, W.shape[0]), np.float32) for r, W in zip(rows, self.W)]
            outs = [np.empty((r, W.shape[1]), np.float32) for r, W in zip(rows, self.W)]
            self.buffers[n] = ins, outs, [np.empty_like(W) for W in self.W]
        return self.buffers[n]

    def step(self, X, y) -> None:
        ins, outs, dW = self._buffers_for(len(X))
        for A, W, out in zip(ins, self.W, outs):
            np.matmul(A, W, out=out)
        for i in (2, 1, 0):
            np.matmul(ins[i].T, outs[i], out=dW[i])
            if i > 0:
                np.matmul(outs[i], self.W[i].T, out=ins[i])

    def weights(self) -> list[np.ndarray]:
        return self.W


def reference_loss(wl: Workload, params, X, y) -> float:
    """The mean cross-entropy of ``params`` (W1, b1, W2, b2, ... in the layouts of
    ``start_weights``) on (X, y), in float64: the neutral referee that checks every framework
    trains the same network."""
    params = [np.asarray(a, np.float64) for a in params]
    if wl.model == "cnn":
        net = HandCNN(wl, [params[i:i + 2] for i in range(0, len(params), 2)])
        logits = net.forward(np.asarray(X, np.float64))[0]
    else:
        A = np.asarray(X, np.float64)
        n_layers = len(params) // 2
        for i in range(n_layers):
            A = A @ params[2 * i] + params[2 * i + 1]
            if i < n_layers - 1:
                A = np.maximum(A, 0) if wl.activation == "relu" else np.tanh(A)
        logits = A
    z = logits - logits.max(axis=1, keepdims=True)
    return float((np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]).mean())
