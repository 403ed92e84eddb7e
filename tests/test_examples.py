"""The examples run end to end on small data, their loss falls, and their quirks are the seeds'.

The MNIST examples read a stand-in data set here (scikit-learn's 8x8 digits scaled up to
28x28 uint8, returned by a replaced ``data.mnist``), so these tests need no download and no
data directory; tests/test_slow_seeds.py runs them on the real files.
"""

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from seed001_cells import DW1_58, DW2_59, LABELS, W1, W2, X
from threadpoolctl import threadpool_limits

import tinygrad_np
from tinygrad_np import Tensor, data, nn

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def load_example(name: str):
    """Import examples/<name>.py as a module (the examples import their sibling _common)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def restore_default_dtype():
    """The examples set float64 (faithful) or float32 (improved); leave float32 behind, and the
    BLAS threads that their --threads set as they were."""
    with threadpool_limits(limits=None):
        yield
    tinygrad_np.set_default_dtype(np.float32)


def small_mnist(data_dir=None):
    """MNIST-shaped stand-in: the 1797 8x8 digits, each pixel a 3x3 block, padded to 28x28."""
    X, y = data.digits()
    images = np.kron(X.reshape(-1, 8, 8) * (255 / 16), np.ones((3, 3)))
    images = np.pad(images, ((0, 0), (2, 2), (2, 2))).round().astype(np.uint8)
    return images[:1500], y[:1500], images[1500:], y[1500:]


@pytest.fixture
def fake_mnist(monkeypatch):
    monkeypatch.setattr(data, "mnist", small_mnist)
    monkeypatch.setattr(data, "fashion_mnist", small_mnist)


def pngs(directory: Path) -> list[str]:
    names = sorted(p.name for p in directory.glob("*.png"))
    for name in names:
        assert (directory / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    return names


# --- seed 000 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["faithful", "improved"])
def test_seed000_runs_and_learns(fake_mnist, tmp_path, mode, capsys):
    seed000 = load_example("seed000_mnist_adam")
    h = seed000.main(["--mode", mode, "--limit", "500", "--epochs", "3", "--out", str(tmp_path)])
    assert h["train loss"][-1] < h["train loss"][0]
    assert h["test"][-1] > 0.3  # ten classes: chance is 0.1
    assert "Epoch: 2 of 3: Accuracy:" in capsys.readouterr().out
    assert pngs(tmp_path) == [f"seed000_{mode}_mnist_curves.png",
                              f"seed000_{mode}_mnist_predictions.png"]


def test_seed000_optimizer_is_adam_without_bias_correction_on_weights_sgd_on_biases():
    seed000 = load_example("seed000_mnist_adam")
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = Tensor(rng.standard_normal(2), requires_grad=True)
    w0, b0 = w.data.copy(), b.data.copy()
    opt = seed000.SeedAdam([w, b], lr=0.01)
    m, v = np.zeros_like(w0), np.zeros_like(w0)
    for _ in range(3):
        gw, gb = rng.standard_normal((3, 2)), rng.standard_normal(2)
        w.grad, b.grad = gw.copy(), gb.copy()
        opt.step()
        m, v = 0.9 * m + 0.1 * gw, 0.999 * v + 0.001 * gw**2
        w0 -= 0.01 * m / (np.sqrt(v) + 1e-8)  # no division by 1 - beta^t
        b0 -= 0.01 * gb
        np.testing.assert_allclose(w.data, w0, rtol=1e-12)
        np.testing.assert_allclose(b.data, b0, rtol=1e-12)


# --- seed 001 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["faithful", "improved"])
def test_seed001_runs_learns_and_shows_the_wrong_gradient(fake_mnist, tmp_path, mode, capsys):
    seed001 = load_example("seed001_mnist_sgd")
    h = seed001.main(["--mode", mode, "--limit", "1500", "--epochs", "3", "--out", str(tmp_path)])
    assert h["train loss"][-1] < h["train loss"][0]
    assert h["train"][-1] > h["train"][0]
    # the seed's formula is not the gradient: far off in size and direction
    assert min(h["gradient_differences"].values()) > 0.3
    out = capsys.readouterr().out
    assert "hand gradient vs loss.backward()" in out and "Epoch 3/3 - Loss:" in out
    assert pngs(tmp_path) == [f"seed001_{mode}_mnist_curves.png"]


def test_seed001_hand_gradient_is_the_seeds_formula_on_its_printed_fixture():
    """Cells [43]-[59] of the seed: its weights, inputs, labels and the gradients it printed."""
    seed001 = load_example("seed001_mnist_sgd")
    model = nn.MLP([2, 2, 4], activation="tanh", dtype=np.float64)
    for layer, w in zip(model.layers, (W1, W2)):  # the seed's column 0 multiplies a constant 1
        layer.weight.data[...] = w[:, 1:].T
        layer.bias.data[...] = w[:, 0]
    hand = seed001.seed_hand_gradient(model, X, LABELS)
    for i, printed in enumerate((DW1_58, DW2_59)):
        np.testing.assert_allclose(hand[f"layers.{i}.bias"], printed[:, 0], atol=2e-8)
        np.testing.assert_allclose(hand[f"layers.{i}.weight"], printed[:, 1:].T, atol=2e-8)
    # and the true gradient of the same (summed) loss is something else
    model(Tensor(X)).cross_entropy(LABELS, reduction="sum").backward()
    assert not np.allclose(model.layers[1].weight.grad, DW2_59[:, 1:].T, atol=1e-2)


# --- seed 002 ----------------------------------------------------------------------------------

def test_seed002_faithful_reproduces_the_seeds_printed_run(tmp_path):
    """Same RandomState(432) draws in the same order: the seed's printed losses and 0.953."""
    seed002 = load_example("seed002_digits_sgd")
    h = seed002.main(["--mode", "faithful", "--out", str(tmp_path)])
    printed = {1: 120.10748063870817, 2: 111.60073049838431, 3: 94.45606195479442,
               97: 1.9158704458028466, 98: 3.013109498701423, 100: 2.1896857628603104}
    for epoch, loss in printed.items():
        assert h["epoch_losses"][epoch - 1] == pytest.approx(loss, rel=1e-10), epoch
    assert h["sample_accuracy"] == pytest.approx(61 / 64)  # printed as 0.953
    assert pngs(tmp_path) == ["seed002_faithful_loss.png", "seed002_faithful_predictions.png"]


def test_seed002_improved_learns(tmp_path):
    seed002 = load_example("seed002_digits_sgd")
    h = seed002.main(["--mode", "improved", "--epochs", "20", "--out", str(tmp_path)])
    assert np.mean(h["losses"][-10:]) < np.mean(h["losses"][:10])
    assert h["test_accuracy"][-1] > 0.8


# --- seed 003 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["faithful", "improved"])
def test_seed003_runs_all_four_inits_and_prints_the_table(fake_mnist, tmp_path, mode, capsys):
    seed003 = load_example("seed003_mnist_init")
    epochs = "15" if mode == "faithful" else "2"
    h = seed003.main(["--mode", mode, "--limit", "400", "--epochs", epochs, "--out",
                      str(tmp_path)])
    assert list(h["logs"]) == ["random", "LeCun", "Xavier", "He"]
    for name, log in h["logs"].items():
        assert log["train loss"][-1] < log["train loss"][0], name
        assert log["train"][-1] > 0.2, name
    out = capsys.readouterr().out
    assert "Initialisation  train %  test %" in out and "(88.77 / 90.55)" in out
    assert pngs(tmp_path) == [f"seed003_{mode}_mnist_curves.png"]


def test_seed003_dropout_masks_whole_units_without_rescaling():
    seed003 = load_example("seed003_mnist_init")
    tinygrad_np.manual_seed(0)
    drop = seed003.SeedDropout(keep_prob=0.5)
    z = np.arange(1.0, 401.0).reshape(20, 20)
    out = drop(Tensor(z)).numpy()
    kept = (out != 0).all(axis=0)
    assert ((out == 0).all(axis=0) | kept).all()  # each unit: on for every example, or off
    assert 0 < kept.sum() < 20
    np.testing.assert_array_equal(out[:, kept], z[:, kept])  # survivors are not rescaled
    np.testing.assert_array_equal(drop.eval()(Tensor(z)).numpy(), z)


def test_seed003_inits_use_the_seeds_bounds():
    seed003 = load_example("seed003_mnist_init")
    rng = np.random.default_rng(0)
    bounds = {"random": 0.05, "LeCun": 1 / np.sqrt(784), "Xavier": np.sqrt(2 / 884),
              "He": np.sqrt(2 / 784)}
    for name, bound in bounds.items():
        w = seed003.SEED_INITS[name]((784, 100), rng, np.float64)
        assert w.shape == (784, 100)
        assert bound * 0.99 < np.abs(w).max() <= bound, name


# --- seed 004 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["faithful", "improved"])
def test_seed004_runs_and_learns(fake_mnist, tmp_path, mode, capsys):
    seed004 = load_example("seed004_mnist_gd")
    h = seed004.main(["--mode", mode, "--limit", "300", "--epochs", "30", "--out",
                      str(tmp_path)])
    assert h["costs"][-1] < h["costs"][0]
    train_acc, test_acc = h["report"][30]
    assert train_acc > 0.5 and test_acc > 0.3
    assert "after 30 iterations: train" in capsys.readouterr().out
    assert pngs(tmp_path) == [f"seed004_{mode}_mnist_cost.png"]


def test_seed004_faithful_init_is_the_seeds_randn_sequence():
    seed004 = load_example("seed004_mnist_gd")
    model = nn.MLP([784, 512, 10], dtype=np.float64)
    seed004.seed_init(model, 3)
    rs = np.random.RandomState(3)
    W1, b1, W2, b2 = (rs.randn(512, 784) * 0.01, rs.randn(512, 1) * 0.01,
                      rs.randn(10, 512) * 0.01, rs.randn(10, 1) * 0.01)
    np.testing.assert_array_equal(model.layers[0].weight.data, W1.T)
    np.testing.assert_array_equal(model.layers[0].bias.data, b1[:, 0])
    np.testing.assert_array_equal(model.layers[1].weight.data, W2.T)
    np.testing.assert_array_equal(model.layers[1].bias.data, b2[:, 0])


# --- the main job ------------------------------------------------------------------------------

@pytest.mark.needs_dot
def test_demo_writes_three_pictures_and_a_test_accuracy(tmp_path):
    """What `make demo` runs, with its default settings, into a temporary directory."""
    run = subprocess.run([sys.executable, str(EXAMPLES / "demo.py"), "--out", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith("test accuracy: ")]
    assert len(lines) == 1, run.stdout
    assert float(lines[0].split()[2]) > 0.9
    assert "epoch 30  train loss" in run.stdout
    assert pngs(tmp_path) == ["curves.png", "digits.png", "graph.png"]


@pytest.mark.needs_dot
def test_demo_graph_only_draws_just_the_graph(tmp_path):
    run = subprocess.run([sys.executable, str(EXAMPLES / "demo.py"), "--graph-only", "--out",
                          str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert pngs(tmp_path) == ["backward.png", "graph.png"]
    assert "epoch" not in run.stdout


def test_demo_without_dot_keeps_the_dot_source_and_says_in_one_line_how_to_draw_it(tmp_path):
    """Graphviz missing anyway (no `dot` on PATH): the demo still trains and draws its other
    pictures, writes graph.gv, says how to turn it into graph.png, and exits 0."""
    (tmp_path / "bin").mkdir()
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, str(EXAMPLES / "demo.py"), "--epochs", "2", "--out",
                          str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**os.environ, "PATH": str(tmp_path / "bin")})
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "epoch  2  train loss" in run.stdout
    assert pngs(out) == ["curves.png", "digits.png"]
    assert (out / "graph.gv").read_text().startswith("digraph")
    (hint,) = [line for line in run.stdout.splitlines() if "graph.gv" in line]
    assert "Graphviz" in hint and "apt-get" in hint and "brew" in hint
    command = f"dot -Tpng {out / 'graph.gv'} -o {out / 'graph.png'}"
    assert hint.endswith(f"then run: {command}")
    if shutil.which("dot"):  # and the command it prints does make graph.png
        subprocess.run(shlex.split(command), check=True)
        assert pngs(out) == ["curves.png", "digits.png", "graph.png"]


# --- the CNN -----------------------------------------------------------------------------------

def test_mnist_cnn_runs_learns_and_draws(fake_mnist, tmp_path, capsys):
    mnist_cnn = load_example("mnist_cnn")
    h = mnist_cnn.main(["--limit", "640", "--epochs", "3", "--out", str(tmp_path)])
    assert h["train loss"][-1] < h["train loss"][0]
    assert h["test loss"][-1] < h["test loss"][0]
    assert h["test"][-1] > 0.5  # ten classes: chance is 0.1
    out = capsys.readouterr().out
    assert "epoch 3/3: train loss" in out and "s per epoch (median of 3" in out
    expected = ["mnist_cnn_mnist_curves.png", "mnist_cnn_mnist_predictions.png"]
    if h["wrong"]:
        expected.insert(1, "mnist_cnn_mnist_mistakes.png")
    assert pngs(tmp_path) == expected


def test_mnist_cnn_shapes_match_pytorchs_layout():
    """(N, 1, 28, 28) in, (N, 10) out; the convolution weights are (out, in, kH, kW) as
    PyTorch's and the flattened maps are 64 x 7 x 7."""
    mnist_cnn = load_example("mnist_cnn")
    tinygrad_np.manual_seed(0)
    net = mnist_cnn.Net().eval()
    shapes = {name: tuple(p.shape) for name, p in net.named_parameters()}
    assert [s for s in shapes.values() if len(s) == 4] == [(32, 1, 3, 3), (64, 32, 3, 3)]
    assert (3136, 128) in shapes.values()  # nn.Linear's (in, out) layout
    assert net(Tensor(np.zeros((2, 1, 28, 28), np.float32))).shape == (2, 10)


# --- the character models ----------------------------------------------------------------------

# A stand-in for /usr/share/dict/words (Debian's wamerican), so these tests need no install.
# Capitals, possessives, accents and repeats are in it because the loader drops them.
WORDS = """
about above across action active actor actual added adding address admit adult advice afraid
after again against agent agree ahead allow almost alone along already also always amount angle
angry animal answer anyone appear apple area argue around arrive artist aside asleep attack
avoid awake away baby back badly baker balance ball band bank basket battle beach bear beauty
because become before begin behind being belong below bench better between beyond bicycle bird
bitter black blade blame blanket blind block blood board boat body bone border bottle bottom
bounce brain branch brave bread break breath bridge bright bring broken brother brown brush
bubble bucket build burden butter button cabin cable camera camp candle canvas carbon career
careful carpet carry castle cattle cause ceiling center chain chair chance change chapter charge
cheap check cheese cherry chicken child choice circle city claim class clean clear climb clock
close cloth cloud coast coffee coin cold collect color column combine comfort common company
copper corner cotton could count country couple course cover crack cradle crash cream create
credit crowd crystal cupboard curtain cushion custom damage dance danger daring darken daughter
debate decide deep defend degree deliver demand depend desert design detail device diamond
dinner direct dirty discover distance divide doctor dollar donkey double dragon drawer dream
dress drink driver during eager early earth easily eastern effort eight either elbow elder
electric eleven empty enemy energy engine enjoy enough enter equal escape evening event every
exact example except expect expert eyebrow fabric factory fairly falling family famous farmer
father feather feeling fellow fence fever field fifteen figure finger finish flame flavor
flower follow forest forget formal fortune forward fossil fountain fragile freedom fresh friend
frozen garden gather gentle giant ginger glass global golden govern grain grape grass gravity
Alice Boston Alice's dog's caf\u00e9 na\u00efve apple apple garden
""".split()


@pytest.fixture
def word_file(tmp_path) -> Path:
    path = tmp_path / "words"
    path.write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    return path


def test_char_model_keeps_lowercase_ascii_words_once_and_splits_80_10_10(word_file):
    char_model = load_example("char_model")
    words = char_model.load_words(str(word_file))
    assert "apple" in words and "Alice" not in words and "dog's" not in words
    assert "na\u00efve" not in words and all(w.isascii() and w.isalpha() for w in words)
    assert len(words) == len(set(words)) == 293
    split = char_model.split_words(words, seed=0)
    assert [len(split[k]) for k in ("train", "val", "test")] == [234, 29, 30]
    assert sorted(split["train"] + split["val"] + split["test"]) == sorted(words)
    assert split == char_model.split_words(words, seed=0) != char_model.split_words(words, 1)


def test_char_model_examples_are_the_next_character_after_the_context():
    char_model = load_example("char_model")
    X, Y = char_model.contexts(["ab", "c"], 2)  # ".ab." and ".c.": a=1, b=2, c=3
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 2], [0, 0], [0, 3]])
    np.testing.assert_array_equal(Y, [1, 2, 0, 3, 0])
    X, Y = char_model.sequences(["ab", "c"], 4)
    np.testing.assert_array_equal(X, [[0, 1, 2, 0], [0, 3, 0, 0]])
    np.testing.assert_array_equal(Y, [[1, 2, 0, -100], [3, 0, -100, -100]])
    # both models are scored on the same predictions: one per letter and one per word end
    words = ["apple", "be", "cherry"]
    assert len(char_model.contexts(words, 3)[1]) == (char_model.sequences(words, 7)[1] >= 0).sum()


def test_char_model_attention_is_causal():
    """The logits at position t do not change when the characters after t do."""
    char_model = load_example("char_model")
    tinygrad_np.manual_seed(0)
    model = char_model.Transformer(length=8, d=16, heads=2, blocks=2).eval()
    a = np.array([[0, 1, 2, 3, 4, 5, 6, 7]])
    b = a.copy()
    b[0, 5:] = [20, 21, 22]
    la, lb = model(a).numpy(), model(b).numpy()
    np.testing.assert_allclose(la[0, :5], lb[0, :5], rtol=1e-5, atol=1e-6)
    assert not np.allclose(la[0, 5:], lb[0, 5:])
    weights = model.blocks[0].attn.last_weights[0]  # (heads, T, T): nothing above the diagonal
    assert weights.shape == (2, 8, 8)
    assert (np.triu(weights, k=1) == 0).all()
    np.testing.assert_allclose(weights.sum(axis=-1), 1, rtol=1e-5)


def test_char_model_trains_both_models_samples_words_and_draws(word_file, tmp_path, capsys):
    char_model = load_example("char_model")
    results = char_model.main(["--words", str(word_file), "--epochs", "6", "--out",
                               str(tmp_path)])
    for name, h in results.items():
        assert h["train loss"][-1] < h["train loss"][0], name
        assert h["val"] < np.log(27), name  # better than a uniform guess over the 27 symbols
        assert len(h["samples"]) == 20 and all(set(w) <= set("abcdefghijklmnopqrstuvwxyz")
                                               for w in h["samples"])
    out = capsys.readouterr().out
    assert "mlp (context 3) epoch 6/6: train loss" in out and "attention epoch 6/6" in out
    assert "val loss: attention" in out and out.count("s per epoch (median of 6") == 2
    assert pngs(tmp_path) == ["char_attention_maps.png", "char_both_curves.png",
                              "char_mlp_embedding.png"]


def test_char_model_without_the_word_list_says_how_to_install_it(tmp_path):
    char_model = load_example("char_model")
    with pytest.raises(SystemExit, match="apt-get install wamerican"):
        char_model.main(["--words", str(tmp_path / "missing"), "--out", str(tmp_path)])


# --- bad command lines -------------------------------------------------------------------------

BAD_ARGS = [  # each stops at parse time, before any data is read
    ("mnist_cnn", ["--limit", "-100"], "--limit", "must be a positive integer, got -100"),
    ("mnist_cnn", ["--limit", "10"], "--limit", "at least one batch (--batch-size 64)"),
    ("mnist_cnn", ["--lr", "nan"], "--lr", "must be a finite number > 0, got nan"),
    ("seed003_mnist_init", ["--limit", "0"], "--limit", "must be a positive integer, got 0"),
    ("seed000_mnist_adam", ["--seed", "-1"], "--seed", "must be an integer >= 0, got -1"),
    ("seed004_mnist_gd", ["--threads", "-2"], "--threads", "must be an integer >= 0, got -2"),
    ("char_model", ["--heads", "3"], "--heads", "3 heads do not divide the width --d-model 64"),
    ("demo", ["--epochs", "0"], "--epochs", "must be a positive integer, got 0"),
    ("demo", ["--checkpoint", "/nonexistent/dir/ck.npz"], "--checkpoint",
     "the folder /nonexistent/dir does not exist"),
]


def run_example(name: str, args: list[str], out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), *args, "--out",
                           str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("name, args, option, message", BAD_ARGS)
def test_a_bad_option_stops_the_run_with_one_line_naming_it(tmp_path, name, args, option,
                                                            message):
    out = tmp_path / "out"
    run = run_example(name, args, out)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines()[-1].startswith(f"{name}.py: error: argument {option}: ")
    assert message in run.stderr.splitlines()[-1]
    assert run.stdout == "" and not out.exists()


def test_an_out_path_that_is_a_file_stops_the_run_before_training(tmp_path):
    (tmp_path / "afile").write_text("keep me")
    run = run_example("seed002_digits_sgd", [], tmp_path / "afile")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "argument --out: " in run.stderr and "is a file, not a folder" in run.stderr
    assert run.stdout == "" and (tmp_path / "afile").read_text() == "keep me"


def test_seed002_takes_no_data_dir_since_it_reads_scikit_learns_digits(tmp_path):
    run = run_example("seed002_digits_sgd", ["--data-dir", str(tmp_path)], tmp_path / "out")
    assert run.returncode == 2 and "unrecognized arguments: --data-dir" in run.stderr


def test_a_library_error_is_one_line_and_exit_1_without_a_traceback(tmp_path):
    """A corrupt checkpoint: nn.load's CheckpointError, reported before the first epoch."""
    (tmp_path / "ck.npz").write_bytes(b"not a zip file")
    out = tmp_path / "out"
    run = run_example("demo", ["--checkpoint", str(tmp_path / "ck.npz")], out)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    (line,) = [line for line in run.stderr.splitlines() if "error" in line]
    assert line.startswith("demo.py: error: nn.load: cannot read ") and "corrupt" in line
    assert "epoch" not in run.stdout and not out.exists()


def test_a_failed_run_removes_the_plots_it_wrote(tmp_path, monkeypatch):
    """_common.run: a failure after the first plot leaves none behind."""
    common = load_example("_common")
    out = tmp_path / "out"

    def main():
        fig = common.plt.figure()
        common.save(fig, str(out), "first.png")
        raise tinygrad_np.errors.DataError("the second plot failed")

    monkeypatch.setattr(sys, "argv", ["example.py"])
    with pytest.raises(SystemExit, match="^example.py: error: the second plot failed$"):
        common.run(main)
    assert not (out / "first.png").exists()
