"""The dependency rules of docs/architecture.md, and the size rule for modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2] / "devfactory"


def imports(package: str) -> set[str]:
    found: set[str] = set()
    target = ROOT / package
    paths = target.rglob("*.py") if target.is_dir() else [target.with_suffix(".py")]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
    return found


DATABASE = ("psycopg", "psycopg_pool", "pgserver", "langgraph.checkpoint", "devfactory.store")
ENTRY_POINTS = (
    "devfactory.api",
    "devfactory.chat",
    "devfactory.cli",
    "devfactory.runner",
    "chainlit",
    "fastapi",
)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        # the graph is driven from the edges; it never knows who drives it
        ("graph", (*ENTRY_POINTS, "devfactory.recorder")),
        # teams are data with a loader: nothing of the run, the graph or memory
        ("teams", ("devfactory.graph", "devfactory.memory", *ENTRY_POINTS)),
        # memory serves the graph and the entry points, and imports neither
        ("memory", ("devfactory.graph", *ENTRY_POINTS)),
        # control holds pure rules: no database, no graph, no models
        ("control", (*DATABASE, "devfactory.graph", "devfactory.models", "devfactory.memory")),
        # models serve aliases; which team uses which alias is the teams' business
        ("models", ("devfactory.teams", "devfactory.graph", "devfactory.memory", *ENTRY_POINTS)),
        # what a run builds and how it is judged is a service of the graph
        (
            "software",
            (
                "langgraph",
                *DATABASE,
                "devfactory.graph",
                "devfactory.memory",
                "devfactory.teams",
                "devfactory.models",
                *ENTRY_POINTS,
            ),
        ),
        # the sandbox runs commands; it knows nothing of plans, runs or teams
        (
            "sandbox",
            (
                "langgraph",
                *DATABASE,
                "devfactory.software",
                "devfactory.graph",
                "devfactory.memory",
                "devfactory.teams",
                "devfactory.models",
                *ENTRY_POINTS,
            ),
        ),
        # the API is a client of the factory, like the chat, and never of the chat
        ("api", ("chainlit", "devfactory.chat", "devfactory.cli")),
        # the chat and the CLI are separate entry points
        ("chat", ("devfactory.cli", "devfactory.api")),
        ("cli", ("chainlit", "devfactory.api")),
        # events and contracts are plain data every part may read
        ("events", ("langgraph", *DATABASE, "devfactory.graph", *ENTRY_POINTS)),
        ("contracts", ("langgraph", *DATABASE, "devfactory.graph", *ENTRY_POINTS)),
    ],
)
def test_package_does_not_import(package: str, forbidden: tuple[str, ...]) -> None:
    bad = {m for m in imports(package) if m.startswith(forbidden)}
    assert not bad, f"{package} imports {bad}"


def test_teams_folders_hold_no_python() -> None:
    for folder in (ROOT / "teams").iterdir():
        if folder.is_dir() and (folder / "team.yaml").exists():
            assert not list(folder.glob("*.py")), f"{folder.name} has Python code"


SOFT_MODULE_LINES = 400  # past this a module says why it is still one concept
WHY_ONE_MODULE = "Why one module:"


def test_a_long_module_says_why_it_is_one_concept() -> None:
    """Modules are cut by concept, not by count (STYLE.md); a long one gives its reason."""
    unexplained = {}
    for path in ROOT.rglob("*.py"):
        text = path.read_text()
        if len(text.splitlines()) <= SOFT_MODULE_LINES:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        reason = doc.partition(WHY_ONE_MODULE)[2].strip()
        if len(reason) < 40:  # a sentence, not the bare words
            unexplained[str(path.relative_to(ROOT))] = len(text.splitlines())
    assert not unexplained, (
        f"over {SOFT_MODULE_LINES} lines without '{WHY_ONE_MODULE} <reason>' in the docstring: "
        f"{unexplained}"
    )


# Names of the evaluation's cases that are ordinary words or common identifiers: product
# code may use them for its own reasons. A module among them counts only where it is
# written as code (`polls`, `-m polls`, `polls.py`, `polls/`, `polls:app`, import polls).
GENERIC_CASE_NAMES = frozenset(
    """app line load parse export merge intersect subtract contains runs encode decode ratio
    Version version compare bump prerelease prefix keys votes close results winner tags adjust
    delta below Location visits malformed holidays separator max_length intervals inventory
    polls bookmarks""".split()
)
PRODUCT_TEXT = (".py", ".md", ".yaml", ".yml", ".toml", ".json", ".txt", ".j2", ".jinja")


def case_names() -> dict[str, str]:
    """Map each distinctive name of an evaluation case to the case it comes from.

    A case's id and module always count; of its stated ``names``, options (``--json``),
    paths (``/items``), HTTP methods and other all-capital words (``PATCH``, ``TOTAL``),
    messages (with spaces) and ``GENERIC_CASE_NAMES`` do not.
    """
    found: dict[str, str] = {}
    for path in sorted((ROOT.parent / "eval" / "cases").glob("*/case.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        names = [case["id"], case["module"]]
        for name in case.get("names", ()):
            plain = not name.startswith(("-", "/")) and " " not in name and not name.isupper()
            if plain and name not in GENERIC_CASE_NAMES:
                names.append(name)
        found.update(dict.fromkeys(names, case["id"]))
    return found


def test_product_code_names_no_evaluation_case() -> None:
    """No repair, prompt or example may be tuned on a case: product code names none."""
    patterns = {}
    for name, case in case_names().items():
        word = re.escape(name)
        if name in GENERIC_CASE_NAMES:  # a module that is a word: only where written as code
            pattern = (
                rf"`{word}`|-m {word}\b|import {word}\b|from {word} import|\b{word}(\.py|/|:\w)"
            )
        else:
            pattern = rf"(?<![\w-]){word}(?![\w-])"
        patterns[name] = (re.compile(pattern), case)
    hits = []
    for path in sorted(ROOT.rglob("*")):
        if path.suffix not in PRODUCT_TEXT or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name, (pattern, case) in patterns.items():
                if pattern.search(line):
                    hits.append(f"{path.relative_to(ROOT.parent)}:{number}: {name!r} ({case})")
    assert not hits, "product code names evaluation cases:\n" + "\n".join(hits)
