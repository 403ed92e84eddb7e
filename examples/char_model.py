"""Character-level language models of English words: Bengio et al.'s MLP, then self-attention.

The words are a Debian word list (wamerican's /usr/share/dict/words: ``apt-get install
wamerican``), kept when they are lowercase a-z only (no names, possessives or accents), shuffled
with a fixed seed and split 80/10/10 into train, validation and test words. A word is read as
".word." over 27 symbols ("." starts and ends it); both models learn p(next character | the
characters before it), and every loss below is the mean negative log-likelihood per predicted
character (the end "." included), in nats: a uniform guess scores ln 27 = 3.30.

- ``mlp`` (Bengio, Ducharme, Vincent and Jauvin 2003; makemore part 2): the previous
  ``--context`` characters, each an embedding, concatenated, one tanh hidden layer, a softmax
  over the next character.
- ``attention``: a small causal transformer that sees the whole prefix: character and
  position embeddings, ``--blocks`` pre-LayerNorm blocks of multi-head causal self-attention and
  a GELU MLP, each added to its input (residual), then a LayerNorm and a linear read-out.

Both train with Adam and a cosine-decaying learning rate, print the train and validation loss
per epoch and the median time of a training epoch, sample new words, and draw their curves (and
the MLP's character embedding, the attention model's attention maps for one word).

    python examples/char_model.py                      # both models, then the comparison
    python examples/char_model.py --model mlp --context 5
"""

import argparse
import math
import os
import re

import matplotlib.pyplot as plt
import numpy as np
from _common import (
    Stopwatch,
    add_threads_flag,
    check_out_dir,
    nonnegative_int,
    plot_curves,
    positive_int,
    probability,
    run,
    save,
    set_threads,
)
from tqdm import tqdm

import tinygrad_np
from tinygrad_np import data, nn, no_grad, optim
from tinygrad_np.nn import functional as F

WORDS = "/usr/share/dict/words"
WORDS_MISSING = (f"char_model: no word list at {{path}}: install Debian's wamerican "
                 f"(apt-get install wamerican) for {WORDS}, or pass --words FILE (one word a line)")
END = 0  # "." ends a word, and pads the MLP's context before its first letter
ALPHABET = "." + "abcdefghijklmnopqrstuvwxyz"
STOI = {c: i for i, c in enumerate(ALPHABET)}
IGNORE = -100  # cross_entropy's ignore_index: the padding after a word's end
MIN_WORDS = 10  # the fewest words whose 80/10/10 split leaves a validation and a test word

# --- the data ---------------------------------------------------------------------------------


def load_words(path: str = WORDS) -> list[str]:
    """The lowercase a-z words of a word list, deduplicated, in the file's order."""
    if not os.path.isfile(path):
        raise SystemExit(WORDS_MISSING.format(path=path))
    with open(path, encoding="utf-8", errors="replace") as f:
        words = [w.strip() for w in f]
    return list(dict.fromkeys(w for w in words if re.fullmatch("[a-z]+", w)))


def split_words(words: list[str], seed: int) -> dict[str, list[str]]:
    """80 / 10 / 10 percent of the words, shuffled by ``seed``: train, val, test."""
    order = np.random.default_rng(seed).permutation(len(words))
    a, b = int(0.8 * len(words)), int(0.9 * len(words))
    pick = lambda ix: [words[i] for i in ix]  # noqa: E731
    return {"train": pick(order[:a]), "val": pick(order[a:b]), "test": pick(order[b:])}


def encode(word: str) -> list[int]:
    return [STOI[c] for c in word]


def contexts(words: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The MLP's examples: each character of each word (and its end) with the k before it."""
    X, Y = [], []
    for w in words:
        ctx = [END] * k
        for i in encode(w) + [END]:
            X.append(ctx)
            Y.append(i)
            ctx = ctx[1:] + [i]
    return np.array(X, dtype=np.int64).reshape(-1, k), np.array(Y, dtype=np.int64)


def sequences(words: list[str], length: int) -> tuple[np.ndarray, np.ndarray]:
    """The attention model's examples: ".word" as input and "word." as targets, one row per word,
    the targets padded with IGNORE (and the inputs with "."; causal attention never looks at
    them for a real position)."""
    X = np.full((len(words), length), END, dtype=np.int64)
    Y = np.full((len(words), length), IGNORE, dtype=np.int64)
    for row, w in enumerate(words):
        ids = encode(w)[:length]
        X[row, 1:len(ids) + 1] = ids[:length - 1]
        Y[row, :len(ids) + 1] = (ids + [END])[:length]
    return X, Y


# --- the models -------------------------------------------------------------------------------


class MLP(nn.Module):
    """Bengio et al. 2003: embed the last k characters, concatenate, tanh layer, softmax."""

    def __init__(self, context: int, emb: int = 16, hidden: int = 256, vocab: int = 27):
        self.context = context
        self.embed = nn.Embedding(vocab, emb)
        self.hidden = nn.Linear(context * emb, hidden, init="xavier")
        self.out = nn.Linear(hidden, vocab, init="xavier")

    def forward(self, idx):  # idx (N, context) -> logits (N, vocab)
        x = self.embed(idx).flatten(1)
        return self.out(self.hidden(x).tanh())


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t attends to positions 0..t only."""

    def __init__(self, d: int, heads: int, dropout: float):
        if d % heads:
            raise ValueError(f"the model width {d} must be a multiple of the {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d, init="xavier")
        self.proj = nn.Linear(d, d, init="xavier")
        self.drop = nn.Dropout(dropout)
        self.last_weights = None  # (B, heads, T, T) of the last call, for the picture

    def forward(self, x):
        B, T, d = x.shape
        h = self.heads
        # (B, T, 3d) -> three (B, heads, T, d / heads)
        q, k, v = self.qkv(x).reshape(B, T, 3, h, d // h).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) * (1.0 / math.sqrt(d // h))
        future = np.triu(np.ones((T, T), dtype=bool), k=1)  # key after the query: hidden
        weights = scores.masked_fill(future, -np.inf).softmax(dim=-1)
        self.last_weights = weights.data
        y = self.drop(weights) @ v  # (B, heads, T, d / heads)
        return self.proj(y.permute(0, 2, 1, 3).reshape(B, T, d))


class Block(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float):
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, heads, dropout)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d, init="xavier"),
                                 nn.Dropout(dropout))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Transformer(nn.Module):
    """Character and position embeddings, pre-LayerNorm blocks, a final LayerNorm, a read-out."""

    def __init__(self, length: int, d: int = 64, heads: int = 4, blocks: int = 2,
                 dropout: float = 0.0, vocab: int = 27):
        self.length = length
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(length, d)
        self.blocks = [Block(d, heads, dropout) for _ in range(blocks)]
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, init="xavier")

    def forward(self, idx):  # idx (B, T) -> logits (B, T, vocab)
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(np.arange(T))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


# --- training ---------------------------------------------------------------------------------


def flat_loss(logits, targets, reduction="mean"):
    """Cross-entropy of (..., vocab) logits against (...) labels, padding ignored."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           reduction=reduction, ignore_index=IGNORE)


def trim(xb, yb):
    """Cut a batch of sequences after its longest word (causal: the rest changes nothing)."""
    n = int((yb != IGNORE).sum(axis=1).max())
    return xb[:, :n], yb[:, :n]


def evaluate(model, X, Y, batch_size: int = 1024) -> tuple[float, float]:
    """Mean loss per predicted character and next-character accuracy, in eval mode."""
    was_training = model.training
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    with no_grad():
        for start in range(0, len(X), batch_size):
            xb, yb = X[start:start + batch_size], Y[start:start + batch_size]
            if yb.ndim == 2:
                xb, yb = trim(xb, yb)
            logits = model(xb)
            loss_sum += flat_loss(logits, yb, "sum").item()
            real = yb != IGNORE
            correct += int((logits.data.argmax(axis=-1) == yb)[real].sum())
            count += int(real.sum())
    model.train(was_training)
    return loss_sum / count, correct / count


def train(name, model, X, Y, val, test, args, batch_size: int, lr: float) -> dict:
    """Adam with a cosine schedule; per epoch the train loss (dropout on, averaged while it
    learns) and the validation loss; at the end all three losses of the final model."""
    loader = data.DataLoader(X, Y, batch_size=batch_size, shuffle=True, seed=args.seed)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    schedule = optim.CosineAnnealingLR(optimizer, T_max=args.epochs * len(loader))
    params = sum(p.size for p in model.parameters())
    print(f"\n{name}: {params:,} parameters, {len(loader)} batches of {batch_size} per epoch, "
          f"Adam lr {lr:g} decaying along a cosine over {args.epochs} epochs")
    history = {"train loss": [], "val loss": [], "val accuracy": []}
    watch = Stopwatch()
    for epoch in range(args.epochs):
        loss_sum, count = 0.0, 0
        with watch:
            bar = tqdm(loader, desc=f"{name} epoch {epoch + 1}/{args.epochs}", leave=False,
                       mininterval=1)
            for xb, yb in bar:
                if yb.ndim == 2:
                    xb, yb = trim(xb, yb)
                loss = flat_loss(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                n = int((yb != IGNORE).sum())
                loss_sum, count = loss_sum + loss.item() * n, count + n
                bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        val_loss, val_acc = evaluate(model, *val)
        history["train loss"].append(loss_sum / count)
        history["val loss"].append(val_loss)
        history["val accuracy"].append(val_acc)
        print(f"{name} epoch {epoch + 1}/{args.epochs}: train loss {loss_sum / count:.4f}, "
              f"val loss {val_loss:.4f}, val next-character accuracy {val_acc:.3f}  "
              f"[{watch.laps[-1]:.1f} s]")
    history["train"] = evaluate(model, X, Y)[0]  # the final model, in eval mode
    history["val"], history["test"] = history["val loss"][-1], evaluate(model, *test)[0]
    history["seconds_per_epoch"] = watch.median
    print(f"{name}: train loss {history['train']:.4f}, val loss {history['val']:.4f}, test "
          f"loss {history['test']:.4f} (final model, eval mode); {watch.report()}")
    return history


# --- sampling and pictures --------------------------------------------------------------------


def sample(model, n: int, max_len: int, rng) -> list[str]:
    """n words drawn one character at a time from the model, until it draws the end "."."""
    was_training = model.training
    model.eval()
    words = []
    with no_grad():
        for _ in range(n):
            ids = [END]
            while len(ids) <= max_len:
                if isinstance(model, MLP):
                    ctx = ([END] * model.context + ids)[-model.context:]
                    logits = model(np.array([ctx]))[0]
                else:
                    logits = model(np.array([ids[-model.length:]]))[0, -1]
                p = logits.softmax(dim=-1).data.astype(np.float64)
                nxt = int(rng.choice(len(p), p=p / p.sum()))
                if nxt == END:
                    break
                ids.append(nxt)
            words.append("".join(ALPHABET[i] for i in ids[1:]))
    model.train(was_training)
    return words


def show_samples(name, model, all_words, rng, n: int = 20) -> list[str]:
    words = sample(model, n, 30, rng)
    known = set(all_words)
    print(f"{name} samples ({sum(w in known for w in words)} of {n} are in the word list):")
    print("  " + " ".join(words))
    return words


def plot_embedding(out_dir: str, model: MLP) -> str:
    """The 27 characters' embeddings projected on their two principal axes."""
    E = model.embed.weight.data.astype(np.float64)
    E = E - E.mean(axis=0)
    xy = E @ np.linalg.svd(E, full_matrices=False)[2][:2].T
    fig, ax = plt.subplots(figsize=(6, 6), layout="constrained")
    colour = {".": "C2", **dict.fromkeys("aeiouy", "C1")}
    ax.scatter(xy[:, 0], xy[:, 1], s=260, c=[colour.get(c, "C0") for c in ALPHABET])
    for (x, y), c in zip(xy, ALPHABET):
        ax.text(x, y, c, ha="center", va="center", color="white", fontweight="bold")
    ax.set_title('MLP character embeddings, first two principal axes (vowels orange, "." green)')
    ax.grid(alpha=0.3)
    return save(fig, out_dir, "char_mlp_embedding.png")


def plot_attention(out_dir: str, model: Transformer, word: str) -> str:
    """Each head's attention weights in each block while reading ".word"."""
    was_training = model.training
    model.eval()
    with no_grad():
        model(np.array([[END] + encode(word)]))
    model.train(was_training)
    chars = list("." + word)
    rows, cols = len(model.blocks), model.blocks[0].attn.heads
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.7 * rows), squeeze=False,
                             layout="constrained")
    for b, block in enumerate(model.blocks):
        for h in range(cols):
            ax = axes[b, h]
            ax.imshow(block.attn.last_weights[0, h], cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks(range(len(chars)), chars)
            ax.set_yticks(range(len(chars)), chars)
            ax.set_title(f"block {b + 1}, head {h + 1}", fontsize=9)
    fig.suptitle(f'attention weights reading ".{word}" (row: query, column: key)')
    return save(fig, out_dir, "char_attention_maps.png")


# --- main -------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["mlp", "attention", "both"], default="both")
    p.add_argument("--words", default=WORDS, help=f"word list, one a line (default {WORDS})")
    p.add_argument("--epochs", type=positive_int, default=10,
                   help="epochs for each model (default 10)")
    p.add_argument("--context", type=positive_int, default=3,
                   help="the MLP's context: characters it sees (default 3, as makemore)")
    p.add_argument("--d-model", type=positive_int, default=64,
                   help="attention: width (default 64)")
    p.add_argument("--heads", type=positive_int, default=4,
                   help="attention: heads, dividing the width (default 4)")
    p.add_argument("--blocks", type=positive_int, default=2, help="attention: blocks (default 2)")
    p.add_argument("--dropout", type=probability, default=0.0,
                   help="attention: dropout (default 0)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help=f"quick runs: N random words only (at least {MIN_WORDS})")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="out", help="directory for the plots (default out/)")
    add_threads_flag(p)
    args = p.parse_args(argv)
    if args.model != "mlp" and args.d_model % args.heads:
        p.error(f"argument --heads: {args.heads} heads do not divide the width --d-model "
                f"{args.d_model}; each head takes an equal share of it")
    if args.limit is not None and args.limit < MIN_WORDS:
        p.error(f"argument --limit: must be at least {MIN_WORDS} (the 80/10/10 split needs a "
                f"validation and a test word), got {args.limit}")
    check_out_dir(p, args.out)
    set_threads(args.threads)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    tinygrad_np.set_default_dtype(np.float32)
    tinygrad_np.manual_seed(args.seed)
    words = load_words(args.words)
    if args.limit is not None:  # a random sample: the list is in alphabetical order
        keep = np.random.default_rng(args.seed).permutation(len(words))[:args.limit]
        words = [words[i] for i in np.sort(keep)]
    if len(words) < MIN_WORDS:
        raise SystemExit(f"char_model: {args.words} holds {len(words)} lowercase a-z words, "
                         f"fewer than the {MIN_WORDS} needed; pass a text file with one word "
                         f"a line")
    split = split_words(words, args.seed)
    length = max(map(len, words)) + 1
    print(f"{len(words):,} words from {args.words}: {len(split['train']):,} train, "
          f"{len(split['val']):,} val, {len(split['test']):,} test; longest "
          f"{length - 1} letters")
    rng = np.random.default_rng(args.seed)
    results, names = {}, {}
    if args.model in ("mlp", "both"):
        model = MLP(args.context)
        names["mlp"] = f"mlp (context {args.context})"
        h = train(names["mlp"], model, *contexts(split["train"], args.context),
                  contexts(split["val"], args.context), contexts(split["test"], args.context),
                  args, batch_size=256, lr=3e-3)
        h["samples"] = show_samples("mlp", model, words, rng)
        plot_embedding(args.out, model)
        results["mlp"] = h
    if args.model in ("attention", "both"):
        model = Transformer(length, args.d_model, args.heads, args.blocks, args.dropout)
        names["attention"] = "attention"
        h = train("attention", model, *sequences(split["train"], length),
                  sequences(split["val"], length), sequences(split["test"], length), args,
                  batch_size=64, lr=3e-3)
        h["samples"] = show_samples("attention", model, words, rng)
        shown = "sanitation" if "sanitation" in words else max(split["val"][:50], key=len)
        plot_attention(args.out, model, shown)
        results["attention"] = h
    loss = {f"{names[m]} {part}": h[f"{part} loss"] for m, h in results.items()
            for part in ("train", "val")}
    accuracy = {f"{names[m]} val": h["val accuracy"] for m, h in results.items()}
    plot_curves(args.out, f"char_{args.model}_curves.png",
                "character models: loss per character (nats)", "epoch", loss=loss,
                accuracy=accuracy)
    if len(results) == 2:
        a, m = results["attention"]["val"], results["mlp"]["val"]
        print(f"\nval loss: attention {a:.4f} vs mlp {m:.4f} "
              f"({'attention' if a < m else 'mlp'} lower by {abs(m - a):.4f})")
    return results


if __name__ == "__main__":
    run(main)
