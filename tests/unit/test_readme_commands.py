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


def test_the_readme_says_every_exit_code_the_command_line_gives() -> None:
    from devfactory.cli import common

    said = README[README.index("Exit codes: `0`") :].split("\n\n", 1)[0]
    codes = [
        0,
        *(v for k, v in vars(common).items() if k.startswith("EXIT_") and k != "EXIT_CODES"),
    ]
    assert len(codes) == 10
    for code in codes:
        assert f"`{code}`" in said, code
    assert "`8` the run is held" in " ".join(said.split())


def test_the_demos_other_pipelines_and_ollama_are_one_line_away() -> None:
    start = README.index("`make demo` (`devfactory demo`)")
    block = README[start:].split("```bash\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    run = next(line for line in lines if "--pipeline mvp" in line)
    assert "# or full" in run
    path = re.search(r"--file (\S+)", run)
    assert path and (Path(__file__).resolve().parents[2] / path[1]).is_file()
    assert any(re.match(r"OLLAMA_HOST=http://\S+ make demo\b", line) for line in lines)
