"""Artifact checks catch what they promise to catch."""

from __future__ import annotations

import pytest

from devfactory.checks.catalogue import CHECKS
from devfactory.contracts import Artifact


def art(path: str, kind: str, content: str) -> Artifact:
    return Artifact(path=path, kind=kind, content=content)


GOOD_MD = (
    "# Title\n\nThis document has enough words to be a real section of a real deliverable today.\n"
)
OPENAPI = "openapi: 3.1.0\ninfo: {title: Todo, version: '1'}\npaths:\n  /todos: {get: {}}\n"

CASES = [
    ("markdown_structure", [art("a.md", "markdown", GOOD_MD)], []),
    ("markdown_structure", [art("a.md", "markdown", "just words")], ["no heading", "too short"]),
    ("python_syntax", [art("a.py", "python", "def f():\n    return 1\n")], []),
    ("python_syntax", [art("a.py", "python", "def f(:\n")], ["syntax error at line 1"]),
    ("yaml_syntax", [art("a.yaml", "yaml", "a: 1\n")], []),
    ("yaml_syntax", [art("a.yaml", "yaml", "a: [1\n")], ["invalid YAML"]),
    ("json_syntax", [art("a.json", "json", '{"a": 1}')], []),
    ("json_syntax", [art("a.json", "json", "{a: 1}")], ["invalid JSON"]),
    ("openapi_structure", [art("o.yaml", "yaml", OPENAPI)], []),
    ("openapi_structure", [art("o.yaml", "yaml", "swagger: '2.0'\n")], ["openapi: 3.x"]),
    (
        "openapi_structure",
        [art("o.yaml", "yaml", "openapi: 3.0.0\ninfo: {}\npaths: {}\n")],
        ["title and a version", "at least one endpoint"],
    ),
    ("openapi_structure", [art("a.md", "markdown", GOOD_MD)], ["no OpenAPI document"]),
    ("sql_statements", [art("s.sql", "sql", "CREATE TABLE t (id int PRIMARY KEY);")], []),
    ("sql_statements", [art("s.sql", "sql", "DROP TABLE t;")], ["destructive"]),
    ("sql_statements", [art("s.sql", "sql", "CREATE TABLE t (id int;")], ["unbalanced"]),
    ("sql_statements", [art("s.sql", "sql", "hello world;")], ["not a recognised"]),
    (
        "mermaid_diagram",
        [art("a.md", "markdown", "# A\n```mermaid\nflowchart LR\n a-->b\n```")],
        [],
    ),
    ("mermaid_diagram", [art("a.md", "markdown", GOOD_MD)], ["no ```mermaid"]),
]


@pytest.mark.parametrize(("check", "artifacts", "expected"), CASES)
def test_check(check: str, artifacts: list[Artifact], expected: list[str]) -> None:
    problems = CHECKS.artifact[check](artifacts)
    assert len(problems) == len(expected), problems
    for problem, needle in zip(problems, expected, strict=True):
        assert needle in problem


def test_checks_only_read_their_own_kinds() -> None:
    python = [art("a.py", "python", "def f(:\n")]
    assert (
        CHECKS.run_artifact_checks(["markdown_structure", "yaml_syntax", "sql_statements"], python)
        == []
    )
    assert len(CHECKS.run_artifact_checks(["python_syntax", "markdown_structure"], python)) == 1
