"""docs/readme-nn-layers.md (a README section waiting to be placed): its Python block runs and
prints exactly the output shown after it."""

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "readme-nn-layers.md"


def test_the_cnn_example_prints_what_the_section_shows(tmp_path, monkeypatch):
    (code, shown), = re.findall(r"```python\n(.*?)```\n\nIt prints:\n\n```text\n(.*?)```",
                                DOC.read_text(), flags=re.S)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "__doc_example__"})
    assert out.getvalue() == shown
