"""The tutorial notebooks in notebooks/ run from top to bottom in a fresh Jupyter kernel
(nbclient), show their graphs inline as SVG and print what their text says they print."""

import html
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebooks extra is not installed: "
                               "pip install -e '.[notebooks]' (make test installs it)")
nbclient = pytest.importorskip("nbclient", reason="the notebooks extra is not installed")
pytest.importorskip("ipykernel", reason="the notebooks extra is not installed")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
needs_dot = pytest.mark.needs_dot  # the inline SVG comes from Graphviz's dot


def run(name: str):
    """Execute a notebook; return (text printed, [SVG documents shown])."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    text, svgs = [], []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{name}: {out.ename}: {out.evalue}"
            if out.output_type == "stream" and out.name == "stdout":
                text.append(out.text)
            data = out.get("data", {})
            if "image/svg+xml" in data:
                svgs.append(html.unescape(data["image/svg+xml"]))  # dot writes - as &#45;
    return "".join(text), svgs


def test_every_notebook_is_tested():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == [
        "01-first-loop.ipynb", "02-custom-op.ipynb", "03-cnn-digits.ipynb"]


@needs_dot
def test_first_loop_trains_and_draws_both_pictures():
    text, svgs = run("01-first-loop.ipynb")
    assert "(1437, 64) (360, 64)" in text
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", text)[1])
    assert accuracy > 0.85
    assert len(svgs) == 2 and all(s.lstrip().startswith(("<?xml", "<svg")) for s in svgs)
    assert "layers.0.weight" in svgs[0] and "images" in svgs[0]
    assert "vector-Jacobian product" in svgs[1] and "dZ = (softmax(Z) − Y)·g / m" in svgs[1]


@needs_dot
def test_custom_op_notebook_diagnoses_then_passes():
    text, svgs = run("02-custom-op.ipynb")
    assert "diagnosis: ignores grad_output" in text
    assert "Softsign: first order checked at 3 point(s)" in text
    assert "second order: checked at the example inputs" in text
    assert "check_graph: the backward of SoftsignFirstTry (inputs (5, 6) -> output (5, 6); " \
           "created at " in text
    assert len(svgs) == 2 and "#ff8787" in svgs[0] and "SoftsignFirstTry" in svgs[0]
    assert "dx = g / (1 + |x|)²" in svgs[1]


@needs_dot
def test_cnn_notebook_trains_with_health():
    text, svgs = run("03-cnn-digits.ipynb")
    assert "(conv): Conv(1, 8, kernel_size=3)" in text
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", text)[1])
    assert accuracy > 0.85
    assert re.search(r"act +out mean [\d.]+ +std [\d.]+ \| dead \d+% \(\d+/512\)", text), text
    assert "update/weight" in text
    assert len(svgs) == 2 and "dead" in svgs[0] and "conv2d" in svgs[1]
    assert "dx = col2im(Wᵀ·g)" in svgs[1]
