"""A small CNN on MNIST (or Fashion-MNIST): two 3x3 convolutions, max-pooling, dropout, Adam.

The layers of PyTorch's MNIST example (conv 32, conv 64, max-pool, dropout, fc 128), with each
convolution padded and followed by a pool, so that the second one runs on 14x14 maps instead of
24x24 (a third of its multiply-adds) and the first linear layer takes 3136 features, not 9216:

    Conv2d(1, 32, 3, padding=1) - ReLU - MaxPool2d(2)        # 32 x 14 x 14
    Conv2d(32, 64, 3, padding=1) - ReLU - MaxPool2d(2)       # 64 x 7 x 7
    Dropout(0.25) - Flatten - Linear(3136, 128) - ReLU - Dropout(0.5) - Linear(128, 10)

Adam (lr 1e-3), batches of 64, the learning rate falling along a cosine to 0 over the run
(stepped after every batch), 8 epochs, no data augmentation, float32. After each epoch it
prints the test loss and accuracy; at the end the median time of a training epoch, and it
draws the curves, a grid of test images with their predictions, and the test images it gets
wrong.

    python examples/mnist_cnn.py --data-dir DIR                 # MNIST
    python examples/mnist_cnn.py --dataset fashion              # Fashion-MNIST (Debian's copy)
    python examples/mnist_cnn.py --limit 12000 --epochs 1       # a quick look
"""

import argparse

import numpy as np
from _common import (
    Stopwatch,
    add_threads_flag,
    check_out_dir,
    evaluate,
    load_images,
    nonnegative_int,
    plot_curves,
    plot_digits,
    positive_float,
    positive_int,
    predict,
    run,
    set_threads,
)
from tqdm import tqdm

import tinygrad_np
from tinygrad_np import Tensor, data, get_rng, nn, optim


class Net(nn.Module):
    def __init__(self, classes: int = 10):
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(0.25), nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


CLASSES = {
    "mnist": [str(i) for i in range(10)],
    "fashion": ["T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
                "bag", "boot"],
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=["mnist", "fashion"], default="mnist")
    p.add_argument("--data-dir", default=None,
                   help="directory holding the four IDX .gz files (default: the loader's "
                        "environment variable, Debian's copy for Fashion-MNIST, or its cache)")
    p.add_argument("--epochs", type=positive_int, default=8, help="epochs (default 8)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="default 64")
    p.add_argument("--lr", type=positive_float, default=1e-3,
                   help="Adam's initial lr (default 1e-3)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="quick runs: train on the first N images, test on N // 5")
    p.add_argument("--out", default="out", help="directory for the plots (default out/)")
    add_threads_flag(p)
    args = p.parse_args(argv)
    if args.limit is not None and args.limit < args.batch_size:
        p.error(f"argument --limit: must be at least one batch (--batch-size {args.batch_size}), "
                f"got {args.limit}")
    check_out_dir(p, args.out)
    set_threads(args.threads)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    tinygrad_np.set_default_dtype(np.float32)
    tinygrad_np.manual_seed(args.seed)
    X_train, y_train, X_test, y_test = load_images(args.dataset, args.data_dir, args.limit,
                                                   np.float32)
    # images as (N, channels, height, width), as Conv2d takes them
    X_train, X_test = X_train.reshape(-1, 1, 28, 28), X_test.reshape(-1, 1, 28, 28)
    print(f"{args.dataset}: {len(X_train)} train / {len(X_test)} test images")

    model = Net()
    print(f"{sum(p.size for p in model.parameters()):,} parameters")
    loader = data.DataLoader(X_train, y_train, batch_size=args.batch_size, shuffle=True,
                             seed=args.seed)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    schedule = optim.CosineAnnealingLR(optimizer, T_max=args.epochs * len(loader))

    history = {"train loss": [], "test loss": [], "train": [], "test": []}
    watch = Stopwatch()
    for epoch in range(args.epochs):
        loss_sum, correct = 0.0, 0
        with watch:
            bar = tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
                       mininterval=1)
            for xb, yb in bar:
                logits = model(Tensor(xb))
                loss = logits.cross_entropy(yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                loss_sum += loss.item() * len(yb)
                correct += int((logits.data.argmax(axis=1) == yb).sum())
                bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        test_loss, test_acc = evaluate(model, X_test, y_test, batch_size=500)
        history["train loss"].append(loss_sum / len(X_train))
        history["train"].append(correct / len(X_train))  # with dropout on, while it learns
        history["test loss"].append(test_loss)
        history["test"].append(test_acc)
        print(f"epoch {epoch + 1}/{args.epochs}: train loss {history['train loss'][-1]:.4f}, "
              f"test loss {test_loss:.4f}, test accuracy {test_acc:.4f}  "
              f"[{watch.laps[-1]:.1f} s]")

    print(f"test accuracy {history['test'][-1]:.4f} ({args.dataset}, {args.epochs} epochs)")
    print(watch.report())
    name = f"mnist_cnn_{args.dataset}"
    plot_curves(args.out, f"{name}_curves.png", f"CNN on {args.dataset}", "epoch",
                loss={"train loss": history["train loss"], "test loss": history["test loss"]},
                accuracy={"train accuracy (dropout on)": history["train"],
                          "test accuracy": history["test"]})
    labels = np.array(CLASSES[args.dataset])
    shown = get_rng().choice(len(X_test), min(20, len(X_test)), replace=False)
    flat = lambda X: X.reshape(len(X), -1)  # noqa: E731  (plot_digits takes rows of pixels)
    plot_digits(args.out, f"{name}_predictions.png", f"{args.dataset} test images: true / pred",
                flat(X_test[shown]), labels[y_test[shown]],
                labels[predict_batched(model, X_test[shown])])
    pred = predict_batched(model, X_test)
    wrong = np.flatnonzero(pred != y_test)
    print(f"{len(wrong)} of {len(y_test)} test images wrong")
    wrong = wrong[:20]
    if len(wrong):
        plot_digits(args.out, f"{name}_mistakes.png",
                    f"the first {len(wrong)} test images it gets wrong: true / pred",
                    flat(X_test[wrong]), labels[y_test[wrong]], labels[pred[wrong]])
    history["wrong"], history["seconds_per_epoch"] = int((pred != y_test).sum()), watch.median
    return history


def predict_batched(model, X, batch_size: int = 500) -> np.ndarray:
    """predict() a few hundred images at a time: a convolution's columns for 10,000 images
    at once would take gigabytes."""
    return np.concatenate([predict(model, X[i:i + batch_size])
                           for i in range(0, len(X), batch_size)])


if __name__ == "__main__":
    run(main)
