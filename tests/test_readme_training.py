"""docs/readme-training.md (a README section to be): its blocks run and print what it shows."""

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "readme-training.md"
SHOWN = re.findall(r"```python\n((?:(?!```).)*)```\n\n```text\n(.*?)```", DOC.read_text(),
                   flags=re.S)


def test_the_section_pairs_code_with_output():
    assert len(SHOWN) == 2


@pytest.mark.parametrize("index", range(len(SHOWN)))
def test_block_prints_what_the_section_shows(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the checkpoint block writes a file
    code, shown = SHOWN[index]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"readme-training.md block {index}", "exec"), {"__name__": "__doc__"})
    assert out.getvalue() == shown
