"""Seed 003: four weight initialisations compared on a 784-100 tanh-10 network (MNIST).

The seed (a lab report, "Exploring Neural Network Implementation and Analysis for
Classification Tasks") shuffles a 42,000-row Kaggle CSV of MNIST, scales pixels by their
maximum, and keeps 40,000 rows for training and 2,000 for testing. Its network is 784-100
tanh-10 softmax with "dropout, keep probability 0.9", trained by full-batch gradient descent
at lr 0.2 for 100 iterations. Biases start at zero; the weights come from one of four schemes,
drawn in the seed's own (out, in) layout:

    random  U(-0.05, 0.05)
    LeCun   U(-1/sqrt(fan_in), +1/sqrt(fan_in))
    Xavier  U(-sqrt(2/(fan_in+fan_out)), +...)   (the standard bound is sqrt(6/(...)))
    He      U(-sqrt(2/fan_in), +...)              (the standard bound is sqrt(6/fan_in))

Table I of the seed, train/test accuracy after 100 iterations: random 88.77/90.55,
LeCun 88.89/89.30, He 88.915/88.05, Xavier 88.85/88.20.

Its dropout is unusual, and faithful mode keeps it (``SeedDropout`` below): in training it
multiplies the hidden layer's pre-activation z by a 0/1 mask with ONE entry per hidden unit,
shared by every example of the batch (so each iteration switches off about 10 whole units),
and never rescales by 1/keep_prob, so the trained network sees larger activations at test
time than in training. (Its hand-written backward also lets gradient reach the weights of a
dropped unit, through tanh'(0) = 1; ``loss.backward()`` gives them none, as the forward pass
says.) We use the real MNIST training set instead of the CSV: shuffled with
``--seed``, 40,000 images for training and the next 2,000 for testing.

Improved mode: the standard bounds for LeCun/Xavier/He, inverted dropout (nn.Dropout after
tanh, a fresh mask per example), mini-batch Adam (batch 128, lr 1e-3, 10 epochs), float32.

    python examples/seed003_mnist_init.py --mode faithful --data-dir DIR
"""

import math

import numpy as np
from _common import Stopwatch, evaluate, jit_if, load_images, parse_args, plot_curves, run
from tqdm import tqdm

import tinygrad_np
from tinygrad_np import Tensor, data, nn, optim


def bounded(bound):
    """An init function for nn.Linear: U(-b, b) with b = bound(fan_in, fan_out)."""
    def init(shape, rng, dtype):
        b = bound(*shape)  # our weights are (in_features, out_features)
        return nn.init.uniform(shape, -b, b, rng, dtype)
    return init


SEED_INITS = {  # the seed's formulas, exactly
    "random": bounded(lambda fan_in, fan_out: 0.05),
    "LeCun": bounded(lambda fan_in, fan_out: 1 / math.sqrt(fan_in)),
    "Xavier": bounded(lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out))),
    "He": bounded(lambda fan_in, fan_out: math.sqrt(2 / fan_in)),
}
STANDARD_INITS = {
    "random": SEED_INITS["random"],
    "LeCun": "lecun_uniform",
    "Xavier": "xavier_uniform",
    "He": "he_uniform",
}
SEED_TABLE = {"random": ("88.77", "90.55"), "LeCun": ("88.89", "89.30"), "He": ("88.915", "88.05"),
              "Xavier": ("88.85", "88.20")}


class SeedDropout(nn.Module):
    """The seed's dropout on the pre-activation: z * mask, one mask entry per unit, no rescale.

    In training, each of the layer's units is kept with probability ``keep_prob`` for the whole
    batch; in eval mode it is the identity. Compare nn.Dropout (inverted dropout): a mask per
    element, survivors scaled by 1/keep_prob so that train and test activations match.
    """

    def __init__(self, keep_prob: float):
        self.keep_prob = keep_prob

    def forward(self, z):
        if not self.training:
            return z
        # tinygrad_np.rand draws what get_rng().uniform(size=...) draws; as a tensor, a jitted
        # step draws it again at every replay
        keep = tinygrad_np.rand(1, z.shape[1], dtype=z.dtype) < self.keep_prob
        return z * keep.astype(z.dtype)


def build(init, faithful: bool) -> nn.Module:
    """784-100 tanh-10 with the seed's dropout (faithful) or inverted dropout (improved)."""
    if faithful:
        return nn.Sequential(nn.Linear(784, 100, init=init), SeedDropout(keep_prob=0.9),
                             nn.Tanh(), nn.Linear(100, 10, init=init))
    return nn.Sequential(nn.Linear(784, 100, init=init), nn.Tanh(), nn.Dropout(p=0.1),
                         nn.Linear(100, 10, init=init))


def train_full_batch(model, X_train, y_train, X_test, y_test, iterations, watch,
                     jit=False) -> dict:
    """The seed's fit(): one gradient step on all 40,000 images per iteration, lr 0.2.

    As in the seed, the train loss comes from the training forward pass (dropout on, before
    the update); train and test accuracy from evaluation after the update.
    """
    optimizer = optim.SGD(model.parameters(), lr=0.2)
    X, log = Tensor(X_train), {k: [] for k in ("train loss", "test loss", "train", "test")}

    def train_step():
        model.train()
        loss = model(X).cross_entropy(y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    train_step = jit_if(jit, train_step)
    for _ in tqdm(range(iterations), desc="iterations", leave=False, mininterval=1):
        with watch:
            loss = train_step()
        log["train loss"].append(loss.item())
        log["train"].append(evaluate(model, X_train, y_train)[1])
        test_loss, test_acc = evaluate(model, X_test, y_test)
        log["test loss"].append(test_loss)
        log["test"].append(test_acc)
    return log


def train_mini_batch(model, X_train, y_train, X_test, y_test, epochs, seed, watch,
                     jit=False) -> dict:
    """Improved: Adam on shuffled mini-batches of 128, evaluated after every epoch."""
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    def train_step(xb, yb):
        loss = model(Tensor(xb)).cross_entropy(yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    train_step = jit_if(jit, train_step)
    loader = data.DataLoader(X_train, y_train, batch_size=128, shuffle=True, seed=seed)
    log = {k: [] for k in ("train loss", "test loss", "train", "test")}
    for _ in tqdm(range(epochs), desc="epochs", leave=False, mininterval=1):
        model.train()
        with watch:
            for xb, yb in loader:
                train_step(xb, yb)
        train_loss, train_acc = evaluate(model, X_train, y_train)
        test_loss, test_acc = evaluate(model, X_test, y_test)
        for key, value in zip(log, (train_loss, test_loss, train_acc, test_acc)):
            log[key].append(value)
    return log


def main(argv=None) -> dict:
    def extra(p):
        p.add_argument("--init", choices=["all", *SEED_INITS], default="all",
                       help="which initialisation(s) to train (default: all four)")

    args = parse_args(__doc__.splitlines()[0], argv, epochs=100, improved_epochs=10, seed=0,
                      epochs_help="full-batch iterations (faithful) or epochs (improved)",
                      min_limit=(20, "a twentieth of it is the test set"), extra=extra)
    faithful = args.mode == "faithful"
    dtype = np.float64 if faithful else np.float32
    tinygrad_np.set_default_dtype(dtype)

    X, y, _, _ = load_images(args.dataset, args.data_dir, dtype=dtype)  # the 60,000 train images
    n_train = 40_000 if args.limit is None else args.limit
    X_train, y_train, X_test, y_test = data.train_test_split(
        X, y, n_train=n_train, n_test=n_train // 20, seed=args.seed)  # shuffled, as the seed
    print(f"{args.dataset}: {len(X_train)} train / {len(X_test)} test images (shuffled with "
          f"seed {args.seed}), mode {args.mode}")

    inits = SEED_INITS if faithful else STANDARD_INITS
    names = list(inits) if args.init == "all" else [args.init]
    logs, watch = {}, Stopwatch()
    for name in names:
        tinygrad_np.manual_seed(args.seed)
        model = build(inits[name], faithful)
        if faithful:
            logs[name] = train_full_batch(model, X_train, y_train, X_test, y_test,
                                          args.epochs, watch, args.jit)
        else:
            logs[name] = train_mini_batch(model, X_train, y_train, X_test, y_test,
                                          args.epochs, args.seed, watch, args.jit)
        print(f"{name:>6} init: train {100 * logs[name]['train'][-1]:.2f}% / "
              f"test {100 * logs[name]['test'][-1]:.2f}%")

    unit = "iteration" if faithful else "epoch"
    print(f"\nInitialisation  train %  test %   (the seed's Table I: train / test, "
          f"{args.epochs} {unit}s)")
    for name in names:
        ours = f"{100 * logs[name]['train'][-1]:7.2f}  {100 * logs[name]['test'][-1]:6.2f}"
        seed_train, seed_test = SEED_TABLE[name]
        print(f"{name:<14}  {ours}   ({seed_train} / {seed_test})")
    print(watch.report(unit))

    xlabel = "iteration" if faithful else "epoch"
    plot_curves(args.out, f"seed003_{args.mode}_{args.dataset}_curves.png",
                f"Seed 003 ({args.mode}): four initialisations", xlabel,
                loss={f"{n} {k}": logs[n][f"{k} loss"] for n in names for k in ("train", "test")},
                accuracy={f"{n} {k}": logs[n][k] for n in names for k in ("train", "test")})
    return {"logs": logs, "seconds_per_epoch": watch.median}


if __name__ == "__main__":
    run(main)
