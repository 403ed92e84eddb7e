"""The main job (a first version): softmax regression on scikit-learn's 8x8 digits."""

import numpy as np
from sklearn.datasets import load_digits

from tinygrad_np import Tensor

digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)
y = digits.target
X_train, y_train, X_test, y_test = X[:1437], y[:1437], X[1437:], y[1437:]

rng = np.random.default_rng(0)
W = Tensor(rng.standard_normal((64, 10)).astype(np.float32) * 0.01, requires_grad=True)
b = Tensor(np.zeros(10, dtype=np.float32), requires_grad=True)
for epoch in range(1, 101):
    loss = (Tensor(X_train) @ W + b).cross_entropy(y_train)
    W.grad = b.grad = None
    loss.backward()
    W.data -= 0.5 * W.grad
    b.data -= 0.5 * b.grad
    if epoch % 20 == 0:
        acc = ((Tensor(X_test) @ W + b).argmax(axis=1) == y_test).mean()
        print(f"epoch {epoch:3d}  loss {loss.item():.4f}  test accuracy {acc:.4f}")
