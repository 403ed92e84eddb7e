"""Seed 001: a 784-32 tanh-10 network on MNIST, mini-batch SGD, and a wrong hand gradient.

The seed (a notebook, "Training an MLP from Scratch") scales pixels to [0, 1], one-hot encodes
the labels, and folds each bias into its weight matrix as a column multiplying a constant 1.
Weights (biases included) come from N(0, 0.3). It trains for 50 epochs of mini-batch SGD,
batch 128, lr 0.01, and prints the training loss and accuracy accumulated over each epoch:
0.7869 after epoch 1, 0.9823 (loss 0.0958) after epoch 50. It never evaluates on the test set.

Its backward pass is wrong: it multiplies y_hat - y by softmax(z2) * (1 - softmax(z2)) again
(the softmax derivative is already inside y_hat - y), and it never divides by the batch size.
Before training, this script computes that formula and the true gradient (``loss.backward()``)
on one batch and prints how far apart they are.

Faithful mode: the seed's data, sizes, N(0, 0.3) init, lr, batch size and epochs, float64.
A bias column of ones times a weight row is exactly a Linear layer's bias, so we use
nn.Linear with both weight and bias drawn from N(0, 0.3). The gradient is the true one
(from the graph) of the loss SUMMED over the batch, because the seed's update sums over the
batch too; only its extra softmax factor is gone.

Improved mode: Xavier-initialised weights (right for tanh), zero biases, bias-corrected Adam on
the mean loss, float32; same batch size and epochs. Both modes also print test accuracy.

    python examples/seed001_mnist_sgd.py --mode faithful --data-dir DIR
"""

import numpy as np
from _common import Stopwatch, evaluate, jit_if, load_images, parse_args, plot_curves, run
from tqdm import tqdm

import tinygrad_np
from tinygrad_np import Tensor, data, nn, optim


def seed_hand_gradient(model, x: np.ndarray, y: np.ndarray) -> dict:
    """Seed 001's backward(), in our layout (x @ W + b), for the batch (x, y).

    Its w1 is our [b1; W1] transposed, and its dj_dw1 is our [db1; dW1] transposed.
    """
    W1, b1 = model.layers[0].weight.data, model.layers[0].bias.data
    W2, b2 = model.layers[1].weight.data, model.layers[1].bias.data
    Y = data.one_hot(y, W2.shape[1], dtype=x.dtype)
    a1 = np.tanh(x @ W1 + b1)
    z2 = a1 @ W2 + b2
    s = np.exp(z2 - z2.max(axis=1, keepdims=True))
    s /= s.sum(axis=1, keepdims=True)
    dz2 = (s - Y) * s * (1 - s)  # the seed's dj_dyhat * dyhat_dz2: one softmax factor too many
    dz1 = (dz2 @ W2.T) * (1 - a1**2)  # then the usual tanh backprop, and no 1/m anywhere
    return {"layers.0.weight": x.T @ dz1, "layers.0.bias": dz1.sum(axis=0),
            "layers.1.weight": a1.T @ dz2, "layers.1.bias": dz2.sum(axis=0)}


def compare_gradients(model, x: np.ndarray, y: np.ndarray) -> dict:
    """Print, per parameter, how the seed's gradient differs from the true one on (x, y)."""
    hand = seed_hand_gradient(model, x, y)
    model.zero_grad()
    model(Tensor(x)).cross_entropy(y, reduction="sum").backward()
    print(f"Seed 001's hand gradient vs loss.backward() on one batch of {len(x)} "
          f"(summed cross-entropy):")
    print(f"  {'parameter':<16} {'|true|':>10} {'|seed|':>10} {'rel. diff':>10} {'cosine':>8}")
    differences = {}
    for name, p in model.named_parameters():
        g, h = p.grad.data.ravel(), hand[name].ravel()
        rel = np.linalg.norm(h - g) / np.linalg.norm(g)
        cos = g @ h / (np.linalg.norm(g) * np.linalg.norm(h))
        differences[name] = rel
        print(f"  {name:<16} {np.linalg.norm(g):10.4f} {np.linalg.norm(h):10.4f} "
              f"{rel:10.3f} {cos:8.3f}")
    model.zero_grad()
    return differences


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv, epochs=50, seed=0)
    faithful = args.mode == "faithful"
    dtype = np.float64 if faithful else np.float32
    tinygrad_np.set_default_dtype(dtype)
    tinygrad_np.manual_seed(args.seed)
    X_train, y_train, X_test, y_test = load_images(args.dataset, args.data_dir, args.limit, dtype)
    print(f"{args.dataset}: {len(X_train)} train / {len(X_test)} test images, mode {args.mode}")

    if faithful:
        normal = lambda shape, rng, dtype: nn.init.normal(shape, 0.0, 0.3, rng, dtype)  # noqa: E731
        model = nn.MLP([784, 32, 10], activation="tanh", init=normal, bias_init=normal)
        optimizer, reduction = optim.SGD(model.parameters(), lr=0.01), "sum"
    else:
        model = nn.MLP([784, 32, 10], activation="tanh", init="xavier_uniform")
        optimizer, reduction = optim.Adam(model.parameters(), lr=1e-3), "mean"
    differences = compare_gradients(model, X_train[:128], y_train[:128])

    def train_step(xb, yb):
        logits = model(Tensor(xb))
        loss = logits.cross_entropy(yb, reduction=reduction)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, logits

    train_step = jit_if(args.jit, train_step)
    loader = data.DataLoader(X_train, y_train, batch_size=128, shuffle=True, seed=args.seed)
    history = {"train loss": [], "train": [], "test": []}
    watch = Stopwatch()
    for epoch in tqdm(range(1, args.epochs + 1), desc="epochs", mininterval=1):
        loss_sum, correct = 0.0, 0
        with watch:
            for xb, yb in loader:
                loss, logits = train_step(xb, yb)
                loss_sum += loss.item() * (1 if reduction == "sum" else len(yb))
                correct += int((logits.argmax(axis=1) == yb).sum())
        history["train loss"].append(loss_sum / len(X_train))
        history["train"].append(correct / len(X_train))
        history["test"].append(evaluate(model, X_test, y_test)[1])
        tqdm.write(f"Epoch {epoch}/{args.epochs} - Loss: {history['train loss'][-1]:.4f} - "
                   f"Accuracy: {history['train'][-1]:.4f}  (test accuracy "
                   f"{history['test'][-1]:.4f})")
    print(f"final: train accuracy {history['train'][-1]:.4f} (during the epoch, as the seed), "
          f"test accuracy {history['test'][-1]:.4f}")
    print(watch.report())

    plot_curves(args.out, f"seed001_{args.mode}_{args.dataset}_curves.png",
                f"Seed 001 ({args.mode}, {args.dataset})", "epoch",
                loss={"training loss": history["train loss"]},
                accuracy={"training accuracy": history["train"],
                          "test accuracy": history["test"]})
    history.update(gradient_differences=differences, seconds_per_epoch=watch.median)
    return history


if __name__ == "__main__":
    run(main)
