"""Memory stays flat: training leaves no Tensor behind, with the cyclic garbage collector off.

A graph that held a reference cycle would only be freed by ``gc.collect()``; with collection
disabled, any such leak shows up as a growing count of live Tensors.
"""

import gc

import numpy as np

from tinygrad_np import Tensor, manual_seed, nn, optim


def live_tensors() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is Tensor)


def test_seed000_network_keeps_a_flat_number_of_live_tensors_over_2000_steps():
    manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.random((256, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=256)
    model = nn.MLP([784, 128, 64, 10], activation="relu")
    opt = optim.Adam(model.parameters(), lr=1e-3)
    counts = {}
    gc.disable()
    try:
        for step in range(1, 2001):
            i = (step * 32) % 256
            loss = nn.cross_entropy(model(Tensor(X[i:i + 32])), y[i:i + 32])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step in (200, 1000, 2000):
                counts[step] = live_tensors()
    finally:
        gc.enable()
    assert np.isfinite(loss.item())
    # after warm-up the only live tensors are the parameters and the last step's graph
    assert counts[200] == counts[1000] == counts[2000], counts
    assert counts[2000] < 50, counts
