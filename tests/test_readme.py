"""The README's Python code blocks are executed, so they cannot rot, and the output the README
shows after a block is what that block prints."""

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
# a python block followed (after an optional "It prints:") by a text block of its output
SHOWN = re.findall(r"```python\n((?:(?!```).)*)```\n(?:\nIt prints:\n)?\n```text\n(.*?)```",
                   README.read_text(), flags=re.S)


def test_readme_has_code():
    assert BLOCKS, "README.md has no ```python blocks"


def params(blocks):  # a block that renders needs Graphviz's dot (tests/conftest.py)
    return [pytest.param(i, marks=[pytest.mark.needs_dot] if ".render(" in code else [])
            for i, code in enumerate(blocks)]


@pytest.mark.parametrize("index", params(BLOCKS))
def test_readme_block_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {"__name__": "__readme__"})
    assert os.getcwd() == str(tmp_path)


def test_readme_shows_some_output():
    assert len(SHOWN) >= 2, "README.md no longer pairs a python block with its printed output"


@pytest.mark.parametrize("index", params(code for code, _ in SHOWN))
def test_readme_output_is_what_the_block_prints(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, shown = SHOWN[index]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README.md shown block {index}", "exec"), {"__name__": "__readme__"})
    assert out.getvalue() == shown
