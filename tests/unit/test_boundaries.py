"""The dependency rules of docs/architecture.md, and the size rule for modules."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path
from typing import Any

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
    "devfactory.factory.facade",
    "chainlit",
    "fastapi",
)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        # the graph is driven from the edges; it never knows who drives it
        ("graph", (*ENTRY_POINTS, "devfactory.factory.recorder")),
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
        # the checks judge what a run wrote: a service of the graph, as the software is (a
        # driver, run in the sandbox, applies a team's SQL to a scratch Postgres of its own)
        (
            "checks",
            (
                "langgraph",
                "devfactory.store",
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


PRODUCT_TEXT = (".py", ".md", ".yaml", ".yml", ".toml", ".json", ".txt", ".j2", ".jinja")


def _plain_word(name: str) -> bool:
    """Whether ``name`` is an ordinary word (``polls``, ``Version``), not an identifier."""
    return bool(re.fullmatch(r"[A-Za-z][a-z]+", name))


def _cases() -> list[dict[str, Any]]:
    paths = sorted((ROOT.parent / "eval" / "cases").glob("*/case.yaml"))
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in paths]


def case_names() -> dict[str, str]:
    """Map each name of an evaluation case to the case it comes from.

    A case's id, module and stated ``names`` count; options (``--json``), paths
    (``/items``), HTTP methods and other all-capital words (``PATCH``, ``TOTAL``)
    and messages (with spaces) do not.
    """
    found: dict[str, str] = {}
    for case in _cases():
        names = [case["id"], case["module"]]
        for name in case.get("names", ()):
            if not name.startswith(("-", "/")) and " " not in name and not name.isupper():
                names.append(name)
        found.update(dict.fromkeys(names, case["id"]))
    return found


def _prose(path: Path) -> list[tuple[int, str]]:
    """Return the numbered lines of ``path`` that are text: a Python file's strings and comments."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return list(enumerate(text.splitlines(), 1))
    found = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in (tokenize.STRING, tokenize.COMMENT):
            first = token.start[0]
            found += [(first + i, line) for i, line in enumerate(token.string.splitlines())]
    return found


def test_product_code_names_no_evaluation_case() -> None:
    """No repair, prompt or example may be tuned on a case: product code names none.

    A case's id and module count wherever they are written, as code or text; a
    module that is an ordinary word (``polls``) only where it is written as a
    module (``-m polls``, ``import polls``, ``polls.py``). Any other name of a case
    that is an identifier (``to_roman``) counts in text: strings, comments,
    prompts and docs. As Python code such a name is the product's own
    (``Field(max_length=...)``); an ordinary word (``load``) is the product's in
    any sense, and what a rule quotes of a case's sentences is
    ``test_rules_quote_no_evaluation_case``'s to find.
    """
    code_patterns, text_patterns = [], []
    for case in _cases():
        for name in (case["id"], case["module"]):
            word = re.escape(name)
            if _plain_word(name):
                pattern = rf"-m {word}\b|import {word}\b|from {word} import|(?<![\w/]){word}\.py\b"
            else:
                pattern = rf"(?<![\w-]){word}(?![\w-])"
            code_patterns.append((re.compile(pattern), name, case["id"]))
    for name, case_id in case_names().items():
        if not _plain_word(name):
            text_patterns.append(
                (re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])"), name, case_id)
            )
    hits = []
    for path in sorted(ROOT.rglob("*")):
        if path.suffix not in PRODUCT_TEXT or not path.is_file():
            continue
        where = path.relative_to(ROOT.parent)
        lines = enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for number, line in lines:
            hits += [
                f"{where}:{number}: {n!r} ({c})" for p, n, c in code_patterns if p.search(line)
            ]
        for number, line in _prose(path):
            hits += [
                f"{where}:{number}: {n!r} ({c})" for p, n, c in text_patterns if p.search(line)
            ]
    assert not hits, "product code names evaluation cases:\n" + "\n".join(sorted(set(hits)))


RULE_MODULES = (
    "software/requirement.py",
    "software/skeleton.py",
    "software/examples.py",
    "software/plan.py",  # the names a plan must keep, read from the requirement
    *(f"software/kinds/{p.name}" for p in sorted((ROOT / "software" / "kinds").glob("*.py"))),
    "graph/planning/plan_start.py",  # the plan pre-filled from the requirement's names
    "repairs/repair.py",
    "repairs/plan_repair.py",
)
QUOTE_WORDS = 5  # a run of this many words, in order, is a quote rather than a shape


def _runs(text: str) -> set[tuple[str, ...]]:
    """Return the runs of ``QUOTE_WORDS`` words of ``text``, never across a sentence's end.

    Quotes, backticks and commas are read through (a rule's comment may quote a
    case's example without them); a regex's escapes and alternatives end a run,
    and so does ``python -m``, which is Python's way to run a module, not a case's.
    """
    found: set[tuple[str, ...]] = set()
    for piece in re.split(r"[.;:!?()\[\]{}|<>=\n]+|\\[a-z]|python -m", text.lower()):
        words = re.findall(r"[\w']+", piece)
        found |= {tuple(words[i : i + QUOTE_WORDS]) for i in range(len(words) - QUOTE_WORDS + 1)}
    return found


def test_rules_quote_no_evaluation_case() -> None:
    """A rule's literals state shapes of requirement text, never a case's own sentences.

    Compares every string and comment of the tools' rules (the parser, the
    skeletons, the example tests, the filters and the repairs) with the text of
    every evaluation case: a run of ``QUOTE_WORDS`` words they share is a rule
    written from that case. Unlike a list of names, this catches a case's
    wording whatever words it uses, and lets a rule use a general word a case
    happens to use too.
    """
    quoted: dict[tuple[str, ...], str] = {}
    for folder in sorted((ROOT.parent / "eval" / "cases").iterdir()):
        for path in (folder / "requirement.md", folder / "case.yaml"):
            if path.is_file():
                quoted.update(dict.fromkeys(_runs(path.read_text(encoding="utf-8")), folder.name))
    hits = []
    for module in RULE_MODULES:
        for number, line in _prose(ROOT / module):
            for run in sorted(_runs(line) & quoted.keys()):
                hits.append(f"devfactory/{module}:{number}: {' '.join(run)!r} ({quoted[run]})")
    assert not hits, "rules quote evaluation cases:\n" + "\n".join(hits)
