"""The README's commands work after `make setup`, which puts uv in .tools/bin, not on PATH."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")


def test_the_readme_never_runs_a_bare_uv() -> None:
    bare = re.findall(r"(?<![\w/.-])uv (?:run|sync|pip)\b[^`\n]*", README)
    assert not bare, f"`make setup` may leave uv off PATH (it is .tools/bin/uv): {bare}"


def test_the_readme_runs_studio_from_the_virtualenv() -> None:
    assert ".venv/bin/langgraph dev" in README
