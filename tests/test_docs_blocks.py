"""Every page in docs/: each python block runs, and the output shown after it is what it
prints (the README's own blocks: test_readme.py)."""

import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
FILES = sorted(DOCS.glob("*.md"))
SHOWN = [(f.name, i, code, shown) for f in FILES for i, (code, shown) in enumerate(re.findall(
    r"```python\n((?:(?!```).)*)```\n(?:\nIt prints:\n)?\n```text\n(.*?)```", f.read_text(),
    flags=re.S))]
BLOCKS = [(f.name, i, code) for f in FILES for i, code in enumerate(
    re.findall(r"```python\n(.*?)```", f.read_text(), flags=re.S))]


def test_the_pages_show_output():
    names = {name for name, *_ in SHOWN}
    assert {"layers.md", "training.md", "jit.md"} <= names


@pytest.mark.parametrize("name,index,code", BLOCKS, ids=[f"{n}-{i}" for n, i, _ in BLOCKS])
def test_block_runs(name, index, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, f"{name} block {index}", "exec"), {"__name__": "__docs__"})


@pytest.mark.parametrize("name,index,code,shown", SHOWN, ids=[f"{n}-{i}" for n, i, _, _ in SHOWN])
def test_output_is_what_the_block_prints(name, index, code, shown, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"{name} shown block {index}", "exec"), {"__name__": "__docs__"})
    assert out.getvalue() == shown
