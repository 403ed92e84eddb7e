"""What every example repeats: command-line flags, loading images, evaluation, timing, plots.

Everything that makes a seed experiment what it is (sizes, init, optimizer, quirks) lives in
that seed's own script; this file holds only the plumbing the scripts share.
"""

import argparse
import math
import os
import re
import sys
import time

import matplotlib

matplotlib.use("Agg")  # write PNG files; never open a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import tinygrad_np  # noqa: E402
from tinygrad_np import Tensor, TinygradError, data, no_grad  # noqa: E402

# --- command-line values -------------------------------------------------------------------------
# argparse types: a bad value stops the run at parse time with argparse's one-line
# "error: argument --limit: ..." and exit status 2, before any data is read or any epoch trained.


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1: epochs, sizes, batch sizes, --limit."""
    return _int_at_least(text, 1, "a positive integer")


def nonnegative_int(text: str) -> int:
    """An integer >= 0: seeds (NumPy's generators reject negative ones), --threads (0: keep
    the BLAS library's default)."""
    return _int_at_least(text, 0, "an integer >= 0")


def positive_float(text: str) -> float:
    """A finite number > 0: learning rates (nan or inf would train to nan without a word)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def probability(text: str) -> float:
    """A number in [0, 1): a dropout rate (1 would zero every unit, and nothing could learn)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text}")
    return value


def check_out_dir(p: argparse.ArgumentParser, path: str, option: str = "--out"):
    """Stop before training when ``path`` cannot become the output folder (a file in the way,
    a folder this user cannot write in), rather than after the whole run, at the first plot."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):  # the nearest part of the path that exists
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        p.error(f"argument {option}: {probe} is a file, not a folder; pass a folder for the "
                f"outputs")
    if not os.access(probe, os.W_OK | os.X_OK):
        p.error(f"argument {option}: cannot write in {probe}; pass a folder you can write in")


# Every file this run wrote, so that run() can remove them when the run fails.
OUTPUTS: list[str] = []


def run(main):
    """Run an example's ``main()`` as a script.

    An error tinygrad_np reports itself (a missing data folder, a corrupt checkpoint) is meant
    for the user: print its one-line message and exit with status 1, without a traceback. On
    any failure, remove the files this run already wrote, so a failed run leaves no partial
    outputs behind. Other exceptions are bugs and keep their traceback.
    """
    try:
        main()
    except BaseException as e:
        for path in OUTPUTS:
            if os.path.isfile(path):
                os.remove(path)
        if isinstance(e, TinygradError):
            sys.exit(f"{os.path.basename(sys.argv[0])}: error: {e}")
        raise


def add_threads_flag(p: argparse.ArgumentParser):
    """``--threads N``: BLAS threads for this run (default 1; 0 keeps the library's default).

    One, because these batches are small: on 2 cores a second thread saved nothing for batches
    of 32 or 128 on an idle machine, and made them about twice as slow when another process kept
    the other core busy (a thread that waits for a core stalls every matmul). Seed 004's
    1000-image full batch gains from ``--threads 2`` on an idle machine only. Set here, by the
    scripts, never when tinygrad_np is imported.
    """
    p.add_argument("--threads", type=nonnegative_int, default=1,
                   help="BLAS threads (default 1, fastest for these small batches; "
                        "0: the BLAS library's own default)")


def set_threads(n: int):
    """Limit BLAS (and OpenMP) to ``n`` threads for the rest of the process; 0 changes nothing."""
    if n > 0:
        threadpool_limits(n)


def parse_args(description: str, argv=None, *, epochs: int, seed: int, improved_epochs=None,
               epochs_help: str = "epochs", datasets=("mnist", "fashion"), data_dir: bool = True,
               min_limit: tuple[int, str] = (1, ""), extra=None):
    """The flags every seed script takes. ``improved_epochs`` is the improved mode's default
    when it differs from the faithful one; ``data_dir=False`` for a script that reads no IDX
    files; ``min_limit`` is the smallest --limit the script can run on and why;
    ``extra(parser)`` adds a script's own flags."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--mode", choices=["faithful", "improved"], default="faithful",
                   help="faithful: the seed's recipe, quirks included; improved: what a "
                        "practitioner would do (default: faithful)")
    default = f"{epochs}" if improved_epochs is None else f"{epochs}, improved {improved_epochs}"
    p.add_argument("--epochs", type=positive_int, default=None,
                   help=f"{epochs_help} (default {default})")
    p.add_argument("--seed", type=nonnegative_int, default=seed,
                   help=f"random seed (default {seed})")
    p.add_argument("--dataset", choices=list(datasets), default=datasets[0])
    if data_dir:
        p.add_argument("--data-dir", default=None,
                       help="directory holding the four IDX .gz files (default: the loader's "
                            "environment variable or cache)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="quick runs: train on N images only, and test on fewer")
    p.add_argument("--out", default="out", help="directory for the plots (default out/)")
    add_threads_flag(p)
    p.add_argument("--jit", action="store_true",
                   help="replay each training step with tinygrad_np.jit (the same numbers; the "
                        "first two steps of each batch shape run eagerly while it records)")
    if extra is not None:
        extra(p)
    args = p.parse_args(argv)
    low, why = min_limit
    if args.limit is not None and args.limit < low:
        p.error(f"argument --limit: must be at least {low} ({why}), got {args.limit}")
    check_out_dir(p, args.out)
    set_threads(args.threads)
    if args.epochs is None:
        improved = args.mode == "improved" and improved_epochs is not None
        args.epochs = improved_epochs if improved else epochs
    return args


def jit_if(flag: bool, step):
    """``tinygrad_np.jit(step)`` when ``--jit`` was given, else ``step`` itself."""
    return tinygrad_np.jit(step) if flag else step


def load_images(dataset: str, data_dir=None, limit=None, dtype=np.float64):
    """MNIST or Fashion-MNIST as flat rows scaled to [0, 1] and int64 labels.

    Returns ``X_train (N, 784), y_train, X_test, y_test``; with ``limit`` only the first
    ``limit`` training and ``limit // 5`` test images are kept.
    """
    loader = data.mnist if dataset == "mnist" else data.fashion_mnist
    X_train, y_train, X_test, y_test = loader(data_dir)
    if limit is not None:
        X_train, y_train = X_train[:limit], y_train[:limit]
        X_test, y_test = X_test[: max(limit // 5, 1)], y_test[: max(limit // 5, 1)]
    flat = lambda X: (X.reshape(len(X), -1) / 255.0).astype(dtype)  # noqa: E731
    return flat(X_train), y_train, flat(X_test), y_test


def evaluate(model, X: np.ndarray, y: np.ndarray, batch_size: int = 5000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on (X, y), in eval mode, without a graph."""
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    with no_grad():
        for start in range(0, len(X), batch_size):
            logits = model(Tensor(X[start:start + batch_size]))
            yb = y[start:start + batch_size]
            loss_sum += logits.cross_entropy(yb, reduction="sum").item()
            correct += int((logits.argmax(axis=1) == yb).sum())
    model.train(was_training)
    return loss_sum / len(X), correct / len(X)


def predict(model, X: np.ndarray) -> np.ndarray:
    """Predicted class of each row of X (eval mode, no graph)."""
    was_training = model.training
    model.eval()
    with no_grad():
        labels = model(Tensor(X)).argmax(axis=1)
    model.train(was_training)
    return labels


class Stopwatch:
    """Times each ``with watch:`` block (one epoch of training, never evaluation).

    The median lap is the number to quote on a shared machine: a burst of load from other
    processes slows a few laps, not the middle one. ``cpu_laps`` are this process's CPU seconds
    in the same blocks: with one BLAS thread they leave out the time spent waiting for a core,
    so they stay near an idle machine's lap under load (shared caches still cost something).
    """

    def __init__(self):
        self.laps, self.cpu_laps = [], []

    def __enter__(self):
        self._start, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.laps.append(time.perf_counter() - self._start)
        self.cpu_laps.append(time.process_time() - self._cpu)

    @property
    def seconds(self) -> float:
        return sum(self.laps)

    @property
    def median(self) -> float:
        return float(np.median(self.laps))

    @property
    def cpu_median(self) -> float:
        return float(np.median(self.cpu_laps))

    def report(self, unit: str = "epoch") -> str:
        return (f"{self.median:.3g} s per {unit} (median of {len(self.laps)}; mean "
                f"{self.seconds / len(self.laps):.3g}; training only; CPU time "
                f"{self.cpu_median:.3g} s)")


def save(fig, out_dir: str, name: str) -> str:
    """Write ``fig`` to ``out_dir/name``, close it, and print where it went."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    OUTPUTS.append(path)
    plt.close(fig)
    print(f"wrote {path}")
    return path


def plot_curves(out_dir: str, name: str, title: str, xlabel: str, loss: dict, accuracy: dict):
    """Loss (left) and accuracy (right) curves; each dict maps a legend label to a series."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for ax, series, ylabel in ((ax_loss, loss, "loss"), (ax_acc, accuracy, "accuracy")):
        # held-out (test or val) curves dashed; "X train" and "X test" share X's colour when
        # there are several X
        groups = [re.sub(r"\b(test|val|train)\b", "", label).strip() for label in series]
        colours = {g: f"C{i}" for i, g in enumerate(dict.fromkeys(groups))}
        for (label, values), group in zip(series.items(), groups):
            held_out = re.search(r"\b(test|val)\b", label)
            ax.plot(np.arange(1, len(values) + 1), values, "--" if held_out else "-",
                    color=colours[group] if len(colours) > 1 else None, label=label)
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return save(fig, out_dir, name)


def plot_digits(out_dir: str, name: str, title: str, images: np.ndarray, true: np.ndarray,
                pred: np.ndarray, ncols: int = 10):
    """A grid of images titled ``true/pred``; wrong predictions in red."""
    side = int(round(np.sqrt(images.shape[1])))
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.2 * ncols, 1.45 * nrows + 0.4),
                             squeeze=False, layout="constrained")
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, t, p in zip(axes.ravel(), images, true, pred):
        ax.imshow(image.reshape(side, side), cmap="gray_r")
        ax.set_title(f"true {t}\npred {p}", fontsize=9, color="black" if t == p else "red")
    fig.suptitle(title)
    return save(fig, out_dir, name)
