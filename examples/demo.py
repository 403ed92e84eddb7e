"""The main job: train an MLP on scikit-learn's 8x8 digits with tinygrad_np, in a few seconds.

Offline (the digits ship inside scikit-learn). Prints the loss and test accuracy of every epoch
under a progress bar, then writes three pictures to --out (default out/):

    curves.png   training and test loss, test accuracy, per epoch
    digits.png   test digits with their true and predicted labels (mistakes in red)
    graph.png    the computation graph of one training step, gradients coloured by size

``--graph-only`` draws just graph.png and backward.png, the backward pass with each op's
vector-Jacobian product (``make graph`` uses it for the README's pictures).
``--checkpoint FILE`` saves the model, the optimizer and the history after every epoch
(atomically: a crash never leaves half a file) and, when FILE exists, resumes from it. Each
epoch shuffles with its own generator seeded by (seed, epoch), so a resumed run sees the same
batches as an uninterrupted one and ends with the same weights.
"""

import argparse
import os
import shlex

import numpy as np
from _common import (
    OUTPUTS,
    Stopwatch,
    add_threads_flag,
    check_out_dir,
    evaluate,
    nonnegative_int,
    plot_curves,
    plot_digits,
    positive_int,
    predict,
    run,
    set_threads,
)
from tqdm import tqdm

import tinygrad_np
from tinygrad_np import Tensor, data, nn, optim
from tinygrad_np.viz import GraphvizNotFoundError


def draw_training_step(model, X: np.ndarray, y: np.ndarray, out_dir: str,
                       backward: bool = False) -> str:
    """Run forward and backward on a small batch and render that step's graph to graph.png
    (with ``backward``: the backward pass, each op with its vector-Jacobian product, to
    backward.png)."""
    loss = model(Tensor(X, name="images")).cross_entropy(y)
    model.zero_grad()
    loss.backward(retain_graph=backward)  # the backward picture recomputes each edge's gradient
    drawing = tinygrad_np.draw_graph(loss, params=model, show_grads=True, backward=backward)
    os.makedirs(out_dir, exist_ok=True)
    png = os.path.join(out_dir, "backward.png" if backward else "graph.png")
    try:
        path = drawing.render(outfile=png, cleanup=True)
        OUTPUTS.append(path)
        print(f"wrote {path}")
    except GraphvizNotFoundError:  # render() saved the DOT source before it looked for `dot`
        path = drawing.filepath
        OUTPUTS.append(path)
        print(f"wrote {path}, not {png}: Graphviz's dot program is missing (make demo installs "
              f"it, or apt-get / brew install graphviz), then run: dot -Tpng "
              f"{shlex.quote(path)} -o {shlex.quote(png)}")
    model.zero_grad()
    return path


def check_checkpoint(p: argparse.ArgumentParser, path: str):
    """--checkpoint must name a file, new or old, in a folder that exists and can be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        p.error(f"argument --checkpoint: {path} is a folder; pass a file name, such as "
                f"{os.path.join(path, 'demo.npz')}")
    if not os.path.isdir(folder):
        p.error(f"argument --checkpoint: the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        p.error(f"argument --checkpoint: cannot write in {folder}")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out", help="directory for the pictures (default out/)")
    p.add_argument("--epochs", type=positive_int, default=30,
                   help="training epochs (default 30)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")
    p.add_argument("--graph-only", action="store_true", help="only draw graph.png and exit")
    p.add_argument("--checkpoint", metavar="FILE", help="save every epoch; resume if FILE exists")
    add_threads_flag(p)
    args = p.parse_args(argv)
    check_out_dir(p, args.out)
    if args.checkpoint:  # nn.save would only fail after the first epoch
        check_checkpoint(p, args.checkpoint)
    set_threads(args.threads)

    tinygrad_np.manual_seed(args.seed)
    X, y = data.digits()
    X = (X / 16.0).astype(np.float32)  # pixel values 0..16 -> [0, 1]
    X_train, y_train, X_test, y_test = data.train_test_split(X, y, test_size=0.2, seed=args.seed)
    model = nn.MLP([64, 64, 32, 10], activation="relu")
    if args.graph_only:
        draw_training_step(model, X_train[:4], y_train[:4], args.out)
        draw_training_step(model, X_train[:4], y_train[:4], args.out, backward=True)
        return {}

    print(f"digits: {len(X_train)} train / {len(X_test)} test images of 8x8 pixels; "
          f"model {model}")
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    history = {"train loss": [], "test loss": [], "test accuracy": []}
    first = 1
    if args.checkpoint and os.path.exists(args.checkpoint):
        state = nn.load(args.checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = {name: list(values) for name, values in state["history"].items()}
        first = int(state["epoch"]) + 1
        print(f"resumed from {args.checkpoint} after epoch {first - 1}")
    watch = Stopwatch()
    epochs = range(first, args.epochs + 1)
    for epoch in (bar := tqdm(epochs, desc="training", unit="epoch", initial=first - 1,
                              total=args.epochs)):
        loss_sum = 0.0
        loader = data.DataLoader(X_train, y_train, batch_size=32, shuffle=True,
                                 seed=np.random.default_rng([args.seed, epoch]))
        with watch:
            for xb, yb in loader:
                loss = model(Tensor(xb)).cross_entropy(yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                loss_sum += loss.item() * len(yb)
        test_loss, test_acc = evaluate(model, X_test, y_test)
        history["train loss"].append(loss_sum / len(X_train))
        history["test loss"].append(test_loss)
        history["test accuracy"].append(test_acc)
        bar.set_postfix(loss=f"{loss_sum / len(X_train):.3f}", test_acc=f"{test_acc:.3f}")
        tqdm.write(f"epoch {epoch:2d}  train loss {loss_sum / len(X_train):.4f}  "
                   f"test loss {test_loss:.4f}  test accuracy {test_acc:.4f}")
        if args.checkpoint:
            nn.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "epoch": epoch, "history": history}, args.checkpoint)
    print(f"test accuracy: {history['test accuracy'][-1]:.4f} "
          f"({int(round(history['test accuracy'][-1] * len(X_test)))}/{len(X_test)}) after "
          f"{args.epochs} epochs, {watch.seconds:.2g} s of training for the {len(epochs)} "
          "epochs of this run")

    plot_curves(args.out, "curves.png", "MLP 64-64-32-10 on the 8x8 digits", "epoch",
                loss={"train loss": history["train loss"], "test loss": history["test loss"]},
                accuracy={"test accuracy": history["test accuracy"]})
    pred = predict(model, X_test)
    wrong = np.flatnonzero(pred != y_test)[:8]
    right = np.flatnonzero(pred == y_test)[:40 - len(wrong)]
    shown = np.sort(np.concatenate([right, wrong]))
    plot_digits(args.out, "digits.png", "Test digits: true / predicted (mistakes in red)",
                X_test[shown], y_test[shown], pred[shown], ncols=10)
    draw_training_step(model, X_train[:4], y_train[:4], args.out)
    return history


if __name__ == "__main__":
    run(main)
