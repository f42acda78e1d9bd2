"""The requirement parser: what a requirement states exactly, read by tools (no model)."""

from __future__ import annotations

from devfactory.software.kinds import shape_of
from devfactory.software.kinds.command_line import COMMAND_LINE
from devfactory.software.kinds.library import LIBRARY as LIBRARY_KIND
from devfactory.software.kinds.web_service import WEB_SERVICE
from devfactory.software.requirement import read_requirement, sentences

LIBRARY = """# stats

Build a Python module `stats` of pure functions. Standard library only.

- `mean(values: list[float]) -> float`: the arithmetic mean; an empty list raises
  `ValueError`. For example `mean([1, 2, 3])` is `2.0`.
- `clamp(x: int, low: int = 0, high: int = 10) -> int`: `x` limited to the range.
"""

CLI = """# tally

A word counter, started as `python -m tally FILE... [--top N] [--json]
[-o OUT]`, over the words of text files.

- `--top N`: print only the N most frequent words (N a positive integer).
- `--json`: write a single JSON object.
- Exit codes: 0 on success; 1 if a FILE cannot be read; 2 on usage errors, like no FILE given.
"""

SUBCOMMANDS = """# units

A program run as `python -m units COMMAND VALUE`:

- `python -m units to-metres FEET` prints the metres.
- `python -m units to-feet METRES` prints the feet.
- With no command, or one it does not know, it exits 2.
"""

WEB = """# notes

A notes service over HTTP, made with FastAPI: the application object named `app`
lives in the module `notes_api`; notes stay in memory.

- `POST /notes` with `{"text": str}`: 201 and the note; a text longer than 500
  characters gives 422.
- `GET /notes/{id}`: 200 and the note, or 404.
- `DELETE /notes/{id}`: 204 and no body, or 404.
"""


def test_a_library_gives_its_module_signatures_and_errors() -> None:
    facts = read_requirement(LIBRARY)
    assert (facts.module, shape_of(facts)) == ("stats", LIBRARY_KIND)
    assert [f.signature for f in facts.functions] == [
        "def mean(values: list[float]) -> float",
        "def clamp(x: int, low: int = 0, high: int = 10) -> int",
    ]
    assert facts.errors == ("ValueError",) and facts.stdlib_only and facts.dependencies == ()
    mean = facts.functions[0]
    assert any("arithmetic mean" in s for s in mean.sentences)  # its bullet, to quote
    assert not any("limited to the range" in s for s in mean.sentences)  # not clamp's


def test_a_usage_line_gives_positionals_options_and_exit_codes() -> None:
    facts = read_requirement(CLI)
    assert (facts.module, shape_of(facts)) == ("tally", COMMAND_LINE)
    [usage] = facts.usages
    assert [(p.name, p.many, p.optional) for p in usage.positionals] == [("FILE", True, False)]
    options = {o.flags: (o.metavar, o.required, o.integer) for o in usage.options}
    assert options == {
        ("--top",): ("N", False, True),
        ("--json",): (None, False, False),
        ("-o",): ("OUT", False, False),
    }
    assert [e.code for e in facts.exit_codes] == [0, 1, 2]
    assert "cannot be read" in facts.exit_codes[1].meaning
    assert "usage errors" in facts.exit_codes[2].meaning


def test_subcommand_lines_replace_the_outline() -> None:
    facts = read_requirement(SUBCOMMANDS)
    assert facts.commands == ("to-metres", "to-feet")
    assert [u.positionals[0].name for u in facts.usages] == ["FEET", "METRES"]
    assert [e.code for e in facts.exit_codes] == [2]


def test_routes_carry_the_status_codes_their_statements_give() -> None:
    facts = read_requirement(WEB)
    assert (facts.module, shape_of(facts), facts.app, facts.framework) == (
        "notes_api",
        WEB_SERVICE,
        "app",
        "fastapi",
    )
    routes = {(r.method, r.path): r.statuses for r in facts.routes}
    assert routes == {
        ("POST", "/notes"): (201, 422),  # "500 characters" is a length, not a status
        ("GET", "/notes/{id}"): (200, 404),
        ("DELETE", "/notes/{id}"): (204, 404),
    }
    assert facts.dependencies == ("fastapi", "httpx")


def test_sentences_keep_code_whole_and_bullets_apart() -> None:
    found = sentences("- Use `a.b()` here. Then stop.\n- Second item e.g. this.")
    assert found == ["Use `a.b()` here.", "Then stop.", "Second item e.g. this."]


def test_a_vague_requirement_settles_nothing() -> None:
    facts = read_requirement("A URL shortener with click analytics.")
    assert (facts.module, shape_of(facts), facts.functions, facts.usages) == ("", None, (), ())
