"""The README's notebook example must run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    monkeypatch.chdir(tmp_path)  # the example writes runs/readme-lstm
    exec(compile(blocks[0], "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "209511 819"
    assert (tmp_path / "runs" / "readme-lstm" / "best.pt").exists()


def test_readme_has_no_placeholders_and_no_dead_links():
    text = README.read_text()
    assert not re.findall(r"__[A-Z_]+__", text), "unfilled placeholder in README"
    root = README.parent
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if "://" not in target:
            assert (root / target).exists(), f"README links to missing {target}"


def test_readme_opens_with_exactly_the_two_commands():
    text = README.read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["bash scripts/run.sh", "bash scripts/test.sh"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci
