"""Seed 000: a 784-128-64-10 ReLU network on MNIST with the seed's home-made "Adam".

The seed (a notebook, "Neural Network from Scratch") scales MNIST pixels to [0, 1], draws every
weight AND bias from an unscaled ``np.random.randn``, and trains for 20 epochs on shuffled
mini-batches of 32 with lr 0.001. Its optimizer is Adam with two quirks that faithful mode
keeps (``SeedAdam`` below):

- the weights get Adam's two moving averages (betas 0.9 / 0.999, eps 1e-8) but WITHOUT bias
  correction, so the first steps are about 3x larger than Adam's (0.1 g / sqrt(0.001 g^2));
- the biases get plain SGD at the same lr (0.001), so with randn biases they barely move.

After each epoch it prints the test accuracy and the test loss, computed on probabilities
clipped to [1e-10, 1 - 1e-10] (we print that clipped loss too): 0.5901 after the first epoch
("Epoch: 0 of 20"), 0.9514 (loss 0.2586) after the last, best 0.953. Then it plots accuracy and
loss per epoch and a strip of 10 test digits with their true and predicted labels.

Improved mode: He-initialised weights, zero biases, bias-corrected Adam (optim.Adam) on every
parameter, float32; same lr, batch size and epochs.

    python examples/seed000_mnist_adam.py --mode faithful --data-dir DIR
"""

import numpy as np
from _common import (
    Stopwatch,
    evaluate,
    jit_if,
    load_images,
    parse_args,
    plot_curves,
    plot_digits,
    predict,
    run,
)
from tqdm import tqdm

import tinygrad_np
from tinygrad_np import Tensor, data, get_rng, nn, no_grad, optim


class SeedAdam(optim.Optimizer):
    """The seed's update: Adam without bias correction on weights, plain SGD on biases.

    For a weight matrix W with gradient g:   m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2;
    W -= lr * m / (sqrt(v) + eps).   For a bias vector b:   b -= lr * g.
    (optim.Adam divides m by 1 - b1^t and v by 1 - b2^t before the step, for every parameter.)
    """

    _hyper = ("lr", "betas", "eps")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.betas, self.eps = betas, eps
        super().__init__(params, lr)

    def _new_state(self, p):
        return {"m": np.zeros_like(p), "v": np.zeros_like(p)} if p.ndim == 2 else {}

    def _update(self, p, g, state, tmp, t):
        if not state:  # a bias: plain SGD
            p -= self.lr * g
            return
        b1, b2 = self.betas
        m, v = state["m"], state["v"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g**2
        p -= self.lr * m / (np.sqrt(v) + self.eps)


def seed_clipped_loss(model, X, y) -> float:
    """The seed's categorical_crossentropy: mean -log(p_true), p clipped to [1e-10, 1 - 1e-10]."""
    model.eval()
    with no_grad():
        p = model(Tensor(X)).softmax(axis=1).numpy()
    model.train()
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-10, 1 - 1e-10)).mean())


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv, epochs=20, seed=0)
    faithful = args.mode == "faithful"
    dtype = np.float64 if faithful else np.float32
    tinygrad_np.set_default_dtype(dtype)
    tinygrad_np.manual_seed(args.seed)
    X_train, y_train, X_test, y_test = load_images(args.dataset, args.data_dir, args.limit, dtype)
    print(f"{args.dataset}: {len(X_train)} train / {len(X_test)} test images, mode {args.mode}")

    if faithful:
        randn = lambda shape, rng, dtype: nn.init.normal(shape, 0.0, 1.0, rng, dtype)  # noqa: E731
        model = nn.MLP([784, 128, 64, 10], init=randn, bias_init=randn)
        optimizer = SeedAdam(model.parameters(), lr=1e-3)
    else:
        model = nn.MLP([784, 128, 64, 10], init="he_uniform")
        optimizer = optim.Adam(model.parameters(), lr=1e-3)

    def train_step(xb, yb):
        loss = model(Tensor(xb)).cross_entropy(yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    train_step = jit_if(args.jit, train_step)
    loader = data.DataLoader(X_train, y_train, batch_size=32, shuffle=True, seed=args.seed)
    history = {"train loss": [], "test loss": [], "test": []}
    watch = Stopwatch()
    for epoch in range(args.epochs):
        running = 0.0
        with watch:
            for xb, yb in tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
                               mininterval=1):
                loss = train_step(xb, yb)
                running += loss.item() * len(yb)
        test_loss, test_acc = evaluate(model, X_test, y_test)
        history["train loss"].append(running / len(X_train))
        history["test loss"].append(test_loss)
        history["test"].append(test_acc)
        loss_text = f"loss: {test_loss:.4f}"
        if faithful:
            clipped = seed_clipped_loss(model, X_test, y_test)
            loss_text = f"loss: {clipped:.4f} (clipped as the seed; unclipped {test_loss:.4f})"
        print(f"Epoch: {epoch} of {args.epochs}: Accuracy: {test_acc:.4f}, {loss_text}  "
              f"[train loss {history['train loss'][-1]:.4f}, {watch.laps[-1]:.2f} s]")

    history["train"] = evaluate(model, X_train, y_train)[1]
    print(f"final test accuracy {history['test'][-1]:.4f}, best {max(history['test']):.4f}; "
          f"train accuracy {history['train']:.4f}")
    print(watch.report())
    plot_curves(args.out, f"seed000_{args.mode}_{args.dataset}_curves.png",
                f"Seed 000 ({args.mode}, {args.dataset})", "epoch",
                loss={"train loss": history["train loss"], "test loss": history["test loss"]},
                accuracy={"test accuracy": history["test"]})
    shown = get_rng().choice(len(X_test), min(10, len(X_test)), replace=False)
    plot_digits(args.out, f"seed000_{args.mode}_{args.dataset}_predictions.png",
                f"Seed 000 ({args.mode}): test images, true/pred", X_test[shown],
                y_test[shown], predict(model, X_test[shown]))
    history["seconds_per_epoch"] = watch.median
    return history


if __name__ == "__main__":
    run(main)
