"""Artifact checks: each file a stage returned, read as text, is well formed for its kind.

Markdown has a heading, YAML and JSON parse, an OpenAPI document has paths, SQL
is not destructive, a mermaid diagram is there. Each is a function made an
``ArtifactCheck`` (a ``checks.Check``: its name is the function's, its promise the
decorator's), listed in ``catalogue.CHECKS`` and named per team under ``checks`` in
its ``team.yaml``. The gate runs a team's on every attempt (``graph/gate.py``),
and the run's validation runs them again on each passed stage
(``graph/run_nodes.py``). Each reads the artifacts' text only: it never runs
code, knows nothing of the build plan, and its problems are short sentences ([]
when it passed).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import yaml

from devfactory.contracts import Artifact, ArtifactKind

CheckFn = Callable[[Sequence[Artifact]], list[str]]

_MERMAID = re.compile(
    r"```mermaid\s*\n\s*(graph|flowchart|sequenceDiagram|classDiagram|erDiagram|stateDiagram"
    r"|C4Context|C4Container|C4Component|journey|gantt)\b",
)
_SQL_START = re.compile(
    r"^(create|alter|insert|comment|grant|revoke|with|select|update|begin|commit|set)\b", re.I
)


def _of(artifacts: Sequence[Artifact], *kinds: ArtifactKind) -> list[Artifact]:
    return [a for a in artifacts if a.kind in kinds]


@dataclass(frozen=True)
class ArtifactCheck:
    """A named check of a stage's files read as text, and the promise its team is told."""

    name: str
    run: CheckFn
    promise: str

    def __call__(self, artifacts: Sequence[Artifact]) -> list[str]:
        """Run the check over ``artifacts``."""
        return self.run(artifacts)


def artifact_check(promise: str) -> Callable[[CheckFn], ArtifactCheck]:
    """Make the function below an ``ArtifactCheck`` named as it is, promising ``promise``."""

    def make(run: CheckFn) -> ArtifactCheck:
        return ArtifactCheck(run.__name__, run, promise)

    return make


@artifact_check("Markdown files have a `# ` heading and at least 15 words.")
def markdown_structure(artifacts: Sequence[Artifact]) -> list[str]:
    """Check that markdown files have a heading and say something."""
    problems = []
    for art in _of(artifacts, ArtifactKind.MARKDOWN):
        if not re.search(r"^#{1,3} \S", art.content, re.M):
            problems.append(f"{art.path}: markdown has no heading")
        if len(art.content.split()) < 15:
            problems.append(f"{art.path}: markdown is too short to be useful (<15 words)")
    return problems


@artifact_check("Python files are valid Python syntax.")
def python_syntax(artifacts: Sequence[Artifact]) -> list[str]:
    """Check that Python files parse."""
    problems = []
    for art in _of(artifacts, ArtifactKind.PYTHON):
        try:
            ast.parse(art.content, filename=art.path)
        except SyntaxError as exc:
            problems.append(f"{art.path}: Python syntax error at line {exc.lineno}: {exc.msg}")
    return problems


def _load_yaml(art: Artifact) -> tuple[object, str | None]:
    try:
        return yaml.safe_load(art.content), None
    except yaml.YAMLError as exc:
        return None, f"{art.path}: invalid YAML: {str(exc).splitlines()[0]}"


@artifact_check("YAML files are valid YAML.")
def yaml_syntax(artifacts: Sequence[Artifact]) -> list[str]:
    """Check that YAML files parse."""
    return [p for art in _of(artifacts, ArtifactKind.YAML) if (p := _load_yaml(art)[1])]


@artifact_check("JSON files are valid JSON.")
def json_syntax(artifacts: Sequence[Artifact]) -> list[str]:
    """Check that JSON files parse."""
    problems = []
    for art in _of(artifacts, ArtifactKind.JSON):
        try:
            json.loads(art.content)
        except json.JSONDecodeError as exc:
            problems.append(f"{art.path}: invalid JSON at line {exc.lineno}: {exc.msg}")
    return problems


@artifact_check(
    "The API spec is OpenAPI 3 (`openapi: 3.x`) with info.title, info.version and paths."
)
def openapi_structure(artifacts: Sequence[Artifact]) -> list[str]:
    """Check for an OpenAPI 3 document with info and at least one path."""
    docs = _of(artifacts, ArtifactKind.YAML, ArtifactKind.JSON)
    if not docs:
        return ["no OpenAPI document (yaml or json artifact) was produced"]
    problems = []
    for art in docs:
        doc, error = _load_yaml(art)  # YAML is a superset of JSON
        if error:
            problems.append(error)
            continue
        if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3."):
            problems.append(f"{art.path}: missing 'openapi: 3.x' version field")
            continue
        info = doc.get("info")
        if not isinstance(info, dict) or not info.get("title") or not info.get("version"):
            problems.append(f"{art.path}: 'info' needs a title and a version")
        paths = doc.get("paths")
        if not isinstance(paths, dict) or not paths:
            problems.append(f"{art.path}: 'paths' must define at least one endpoint")
    return problems


@artifact_check(
    "SQL files hold CREATE/ALTER/INSERT statements, none destructive, parentheses balanced."
)
def sql_statements(artifacts: Sequence[Artifact]) -> list[str]:
    """Check that SQL files are non-destructive statements, parentheses balanced."""
    problems = []
    for art in _of(artifacts, ArtifactKind.SQL):
        body = re.sub(r"--[^\n]*", "", art.content)
        statements = [s.strip() for s in body.split(";") if s.strip()]
        if not statements:
            problems.append(f"{art.path}: no SQL statements")
        for stmt in statements:
            if re.match(r"^(drop|truncate|delete)\b", stmt, re.I):
                problems.append(f"{art.path}: destructive statement: {stmt[:60]!r}")
            elif not _SQL_START.match(stmt):
                problems.append(f"{art.path}: not a recognised SQL statement: {stmt[:60]!r}")
        if body.count("(") != body.count(")"):
            problems.append(f"{art.path}: unbalanced parentheses")
    return problems


MERMAID_EXAMPLE = "```mermaid\nflowchart LR\n  client --> api\n  api --> db\n```"


def has_mermaid(markdown: str) -> bool:
    """Say whether ``markdown`` carries a typed mermaid diagram."""
    return _MERMAID.search(markdown) is not None


@artifact_check(
    f"A markdown file contains a mermaid diagram block, for example:\n{MERMAID_EXAMPLE}"
)
def mermaid_diagram(artifacts: Sequence[Artifact]) -> list[str]:
    """Check that a markdown file carries a typed mermaid diagram."""
    if any(has_mermaid(a.content) for a in _of(artifacts, ArtifactKind.MARKDOWN)):
        return []
    return ["no ```mermaid diagram (graph/flowchart/sequenceDiagram/...) in the markdown"]
