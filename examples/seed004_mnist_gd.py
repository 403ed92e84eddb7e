"""Seed 004: a 784-512-10 ReLU network, full-batch gradient descent on 1000 MNIST images.

The seed ("Demystifying Neural Networks") reads the first 1000 training and first 200 test
images, draws ``randn * 0.01`` for W1, b1, W2, b2 after ``np.random.seed(3)``, and runs 500
iterations of full-batch gradient descent at lr 0.1 in float64. It reports train 92.40% /
test 87.5% after 250 iterations and train 97.10% / test 91.5% after 500.

Faithful mode draws the same numbers from ``np.random.RandomState(3)`` in the same order,
so it prints the seed's four numbers to the digit: the gradients from ``loss.backward()`` are
the seed's hand-derived ones. As in the seed, the train accuracy comes from the last forward
pass (before that iteration's update), the test accuracy from the weights after it.

Improved mode: He-initialised weights, zero biases, bias-corrected Adam, float32.

    python examples/seed004_mnist_gd.py --mode faithful --data-dir DIR
"""

import numpy as np
from _common import Stopwatch, evaluate, jit_if, load_images, parse_args, run, save
from tqdm import tqdm

import tinygrad_np
from tinygrad_np import Tensor, nn, optim

CHECKPOINTS = (250, 500)  # the seed reports these two iterations


def seed_init(model, seed: int) -> None:
    """The seed's ``initialize_parameters``: W1, b1, W2, b2 = randn(...) * 0.01, in that order.

    The seed stores W as (out, in) and computes W @ X; our Linear stores (in, out) and
    computes X @ W, so each draw is transposed.
    """
    rs = np.random.RandomState(seed)
    for layer in model.layers:
        n_in, n_out = layer.weight.shape
        layer.weight.data[...] = rs.randn(n_out, n_in).T * 0.01
        layer.bias.data[...] = rs.randn(n_out, 1)[:, 0] * 0.01


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv, epochs=500, seed=3,
                      epochs_help="full-batch iterations")
    faithful = args.mode == "faithful"
    tinygrad_np.set_default_dtype(np.float64 if faithful else np.float32)
    tinygrad_np.manual_seed(args.seed)
    X_train, y_train, X_test, y_test = load_images(
        args.dataset, args.data_dir, limit=1000 if args.limit is None else args.limit,
        dtype=np.float64 if faithful else np.float32)
    print(f"{args.dataset}: {len(X_train)} train / {len(X_test)} test images, mode {args.mode}")

    if faithful:
        model = nn.MLP([784, 512, 10], activation="relu")
        seed_init(model, args.seed)
        optimizer = optim.SGD(model.parameters(), lr=0.1)
    else:
        model = nn.MLP([784, 512, 10], activation="relu", init="he_uniform")
        optimizer = optim.Adam(model.parameters(), lr=1e-3)

    X = Tensor(X_train)

    def train_step():
        logits = model(X)
        loss = logits.cross_entropy(y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, logits

    train_step = jit_if(args.jit, train_step)
    costs, report, watch = [], {}, Stopwatch()
    for it in tqdm(range(1, args.epochs + 1), desc="iterations", mininterval=1):
        with watch:
            loss, logits = train_step()
        costs.append(loss.item())
        if it == 1:
            tqdm.write(f"cost before training: {costs[0]!r}")
        if it in CHECKPOINTS or it == args.epochs:
            train_acc = float((logits.argmax(axis=1) == y_train).mean())
            _, test_acc = evaluate(model, X_test, y_test)
            report[it] = (train_acc, test_acc)
            tqdm.write(f"after {it} iterations: train {100 * train_acc:.2f}% / "
                       f"test {100 * test_acc:.1f}%  (cost {costs[-1]:.4f})")
    print(watch.report("iteration") + f", {1 / watch.median:.1f} it/s")

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(np.arange(1, len(costs) + 1), costs)
    ax.set_xlabel("iteration")
    ax.set_ylabel("softmax cost (mean cross-entropy)")
    ax.set_title(f"Seed 004 ({args.mode}): cost per iteration")
    ax.grid(alpha=0.3)
    save(fig, args.out, f"seed004_{args.mode}_{args.dataset}_cost.png")
    return {"costs": costs, "report": report, "seconds_per_iteration": watch.median}


if __name__ == "__main__":
    run(main)
