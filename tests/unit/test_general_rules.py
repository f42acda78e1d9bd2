"""The requirement parser's rules, each on sentences of its own that no eval case has.

Every rule of the requirement parser, the skeletons, the example tests and the
filters states a general shape of requirement text; these tests hold each to
that shape with requirements written for the test, so a rule tuned to one eval
case's wording fails here. This file holds the parser's rules
(``software/requirement.py``) and the function examples' (``software/examples.py``);
``test_general_rules_kinds.py`` holds those of the kinds of software, the
skeleton toolkit and the probes, ``test_general_rules_plan.py`` the plan's names
and repairs, ``test_general_rules_prose.py`` the rules for requirements written
as prose. None of them quotes an eval case, nor do the parser's and the
script kind's own tests, nor the tests of the facts a model proposes where the
parser reads none: ``test_these_sentences_quote_no_evaluation_case`` holds all
seven to it with the comparison ``test_boundaries`` holds the rules to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devfactory.software.kinds import examples, skeleton
from devfactory.software.kinds.text_filter import stream
from devfactory.software.requirement import Option, Positional, blocks, read_requirement, sentences
from tests.unit.test_boundaries import ROOT, _prose, _runs

SHELVES = """# shelves

A shelf service over HTTP, written with FastAPI. The module `shelves_api` holds
it; its app is called `app` and the shelves live in memory.

- `GET /shelves`: 200 and the shelves; `?page=K` shows the K-th page, `?size=COUNT` its
  length, `?label=L` only the shelves with that label, `?code=EU` those of one region and
  `?row=N` those on row N.
- `GET /shelves/{id}`: 200 and the shelf, or 404.
"""

SQUARES = """# squares

Build a Python module `squares` of pure functions.

- `square(n: int) -> int`: `n` times itself (3 is `9`, -2 is `4`).
- `halve(n: int) -> int`: half of an even `n` (10 is `5`); an odd `n` raises `ValueError`.
"""

UPPER = """# shout

A small tool, started with `python -m shout FILE [--output OUT]`, that
prints the text of FILE in capitals.

- Exit codes: 0 on success; 1 if FILE cannot be read; 2 on usage errors.
"""


def test_a_query_placeholder_is_a_number_only_when_it_names_one_by_convention() -> None:
    made = skeleton(read_requirement(SHELVES), "Shelves.")
    assert made is not None
    assert (
        "def get_shelves(page: int | None = None, size: int | None = None, "
        "label: str | None = None, code: str | None = None, row: int | None = None):"
    ) in made.source


def test_an_argument_is_value_in_a_functions_own_sentence_is_an_example() -> None:
    bodies = {e.body.strip() for e in examples(read_requirement(SQUARES))}
    assert {"assert square(3) == 9", "assert square(-2) == 4", "assert halve(10) == 5"} <= bodies


def test_every_filter_drops_a_byte_order_mark_whatever_the_requirement_says() -> None:
    made = skeleton(read_requirement(UPPER), "Shout.")
    found = stream(read_requirement(UPPER))
    assert made is not None and found is not None
    assert "byte" not in UPPER and 'encoding="utf-8-sig"' in made.source


# --- blocks and sentences --------------------------------------------------------------------


def test_a_block_is_a_bullet_a_numbered_item_or_a_paragraph_and_headings_drop() -> None:
    text = (
        "# kettle\n\nThe kettle boils\nwater quickly.\n\n- first thing\n  wraps here\n"
        "* second thing\n+ third thing\n1. fourth thing\n2) fifth thing\n"
    )
    assert blocks(text) == [
        "The kettle boils water quickly.",
        "first thing wraps here",
        "second thing",
        "third thing",
        "fourth thing",
        "fifth thing",
    ]


def test_a_sentence_ends_at_a_stop_outside_code_never_at_an_abbreviation_or_a_semicolon() -> None:
    text = "Pick a colour, e.g. red. Then call `paint(c: str) -> None. done`; it dries. Last."
    assert sentences(text) == [
        "Pick a colour, e.g. red.",
        "Then call `paint(c: str) -> None. done`; it dries.",
        "Last.",
    ]


def test_a_code_span_may_wrap_a_line_but_never_a_paragraph() -> None:
    wrapped = read_requirement("Run it as `python -m lamp ON\n[--dim N]` at night.")
    assert [u.line for u in wrapped.usages] == ["python -m lamp ON [--dim N]"]
    torn = read_requirement("Run it as `python -m lamp ON\n\n[--dim N]` at night.")
    assert all(u.synthesised for u in torn.usages)  # no line read from code: words only


def test_a_wrapped_line_that_starts_with_a_number_and_a_stop_stays_in_its_bullet() -> None:
    text = "- `DELETE /kites/{id}`: removes the kite and answers\n  204. An unknown kite is 404.\n"
    [route] = read_requirement(text).routes
    assert route.statuses == (204, 404)
    assert blocks(text) == [
        "`DELETE /kites/{id}`: removes the kite and answers 204. An unknown kite is 404."
    ]


def test_fenced_code_is_one_block_never_cut_and_each_of_its_lines_is_code() -> None:
    text = (
        "The tool paints fences.\nIt is run like this:\n"
        "```sh\n$ python -m paintpot COLOUR [--coats N]\n# a comment. Not a heading\n```\n"
        "Then `dry(hours: int) -> bool` says when it is dry.\n"
    )
    facts = read_requirement(text)
    assert [u.line for u in facts.usages] == ["python -m paintpot COLOUR [--coats N]"]
    assert [f.name for f in facts.functions] == ["dry"]
    assert sentences(text) == [
        "The tool paints fences.",
        "It is run like this:",
        "```sh $ python -m paintpot COLOUR [--coats N] # a comment. Not a heading ```",
        "Then `dry(hours: int) -> bool` says when it is dry.",
    ]


def test_a_stray_backtick_pairs_with_nothing_outside_its_paragraph() -> None:
    text = (
        "Quote a tick ` like so.\n\n- `GET /hats`: 200 and the hats.\n\n> Quoted: `POST /hats`.\n"
    )
    facts = read_requirement(text)
    assert [(r.method, r.path) for r in facts.routes] == [("GET", "/hats"), ("POST", "/hats")]
    assert blocks(text)[-1] == "Quoted: `POST /hats`."


# --- the module ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "module"),
    [
        ("Write a module `teapot` with two helpers.", "teapot"),
        ("Ship a package named `teapot` for brewing.", "teapot"),
        ("A package called `teapot` brews.", "teapot"),
        ("The `teapot` module brews tea.", "teapot"),
        ("Start it with `python3 -m teapot` and wait; the `kettle` module helps.", "teapot"),
        ("The teapot brews tea for `guests`.", ""),
    ],
)
def test_the_module_is_the_one_run_with_dash_m_or_named_a_module_or_package(
    text: str, module: str
) -> None:
    assert read_requirement(text).module == module


# --- functions -------------------------------------------------------------------------------


def test_a_signature_is_typed_and_a_call_or_a_keyword_is_not() -> None:
    facts = read_requirement(
        "The module `garden`.\n\n- `plant(seed: str, depth: int = 2) -> bool`: sows it.\n"
        "- `water(bed)` waters a bed.\n- `dig() -> list[int]`: holes.\n"
        "- `plant(1, 2)` is a call; `if(x: int)` is no name; `garden(x: int)` is the module.\n"
    )
    assert [f.signature for f in facts.functions] == [
        "def plant(seed: str, depth: int = 2) -> bool",
        "def dig() -> list[int]",
    ]


def test_a_function_keeps_its_bullet_its_examples_and_the_rules_said_of_every_function() -> None:
    facts = read_requirement(
        "The module `garden`.\n\n- `sow(n: int) -> int`: seeds for `n` rows.\n"
        "- `reap(n: int) -> int`: the crop of `n` rows.\n\n"
        "For instance `sow(2)` is `8`.\n\nEvery function refuses a negative count.\n\n"
        "Run nothing with `python -m garden`.\n"
    )
    sow, reap = facts.functions
    assert sow.sentences == (
        "`sow(n: int) -> int`: seeds for `n` rows.",
        "For instance `sow(2)` is `8`.",
        "The module `garden`.",
        "Every function refuses a negative count.",
    )
    assert "For instance `sow(2)` is `8`." not in reap.sentences


def test_the_errors_are_the_exceptions_the_text_says_are_raised() -> None:
    facts = read_requirement(
        "A bad date raises `BadDate`... no: it raises `DateError`; a gap raise GapException "
        "and a `TypeError` is only mentioned."
    )
    assert facts.errors == ("DateError", "GapException")


# --- usage lines -----------------------------------------------------------------------------


def test_a_usage_line_gives_positionals_switches_options_and_their_values() -> None:
    facts = read_requirement(
        "Run `python -m ledger ACCOUNT... [REPORT] --from DATE [--to date] [-q|--quiet] "
        "[--at HH:MM]`."
    )
    [usage] = facts.usages
    assert usage.module == "ledger" and usage.command == ""
    assert usage.positionals == (
        Positional("ACCOUNT", True, False),
        Positional("REPORT", False, True),
    )
    assert [(o.flags, o.metavar, o.required) for o in usage.options] == [
        (("--from",), "DATE", True),
        (("--to",), "DATE", False),
        (("-q", "--quiet"), None, False),
        (("--at",), "VALUE", False),  # a value's name that is no word
    ]


def test_a_positionals_attribute_is_a_plural_for_many_and_never_a_keyword() -> None:
    assert Positional("ACCOUNT", many=True).dest == "accounts"
    assert Positional("LINES", many=True).dest == "lines"
    assert Positional("FROM").dest == "from_"


@pytest.mark.parametrize(
    ("line", "argv", "dests"),
    [
        ("INPUT [-o OUTPUT] [--delimiter CHAR]", "a -o b --delimiter ;", ["output", "delimiter"]),
        ("[-w WIDTH] [-q]", "-w 3 -q", ["width", "q"]),  # a switch keeps its letter
        ("[-i FILE] [-o FILE]", "-i a -o b", ["file", "o"]),  # a name once
        ("OUTPUT [-o OUTPUT]", "a -o b", ["o"]),  # the positional's already
        ("[-d WIDTH] [--width N]", "-d 1 --width 2", ["d", "width"]),  # a long flag's already
        ("[-i IN] [-n N] [-o|--out OUT]", "-i a -n 1 -o b", ["i", "n", "out"]),  # keyword, letter
    ],
)
def test_an_option_given_by_a_short_flag_alone_is_stored_by_its_values_name(
    line: str, argv: str, dests: list[str]
) -> None:
    from devfactory.software.kinds.command_line import parser_lines

    facts = read_requirement(f"Start `python -m lamps {line}`.")
    assert [o.dest for o in facts.options] == dests
    namespace: dict[str, Any] = {}  # the parser the tools write stores each under that name
    exec("import argparse\n" + "\n".join(parser_lines(facts, "lamps")), namespace)
    parsed = vars(namespace["build_parser"]().parse_args(argv.split()))
    assert set(dests) <= set(parsed), parsed


def test_subcommands_are_lowercase_first_words_and_an_outline_of_them_drops() -> None:
    facts = read_requirement(
        "Use `python -m vault ACTION NAME`:\n\n- `python -m vault lock NAME` locks it.\n"
        "- `python -m vault open NAME [--read-only]` opens it.\n"
    )
    assert facts.commands == ("lock", "open")
    assert [u.line for u in facts.usages] == [
        "python -m vault lock NAME",
        "python -m vault open NAME [--read-only]",
    ]


def _option(metavar: str, *said: str) -> Option:
    return Option(("--span",), metavar, False, said)


@pytest.mark.parametrize("metavar", ["N", "COUNT", "LIMIT", "PORT", "DAYS", "K", "INT", "INTEGER"])
def test_a_value_named_as_a_count_by_convention_is_an_integer(metavar: str) -> None:
    assert _option(metavar).integer


@pytest.mark.parametrize("name", ["N", "COUNT", "LIMIT", "INT", "WIDTH"])
def test_an_options_value_and_a_querys_are_numbers_by_the_same_names(name: str) -> None:
    made = skeleton(
        read_requirement(
            f"Start `python -m lamps --span {name}`.\n\nThe module `lamps_api` is a FastAPI "
            f"app.\n\n- `GET /lamps`: 200 and the lamps; `?span={name}` shows that many.\n"
        )
    )
    assert _option(name).integer
    assert made is not None and "span: int | None = None" in made.source


@pytest.mark.parametrize("name", ["FILE", "LOGFILE", "DATA_CSV", "SRC", "notes.txt", "JSON"])
def test_a_positional_is_a_file_when_its_name_says_so(name: str) -> None:
    assert Positional(name).file


@pytest.mark.parametrize("name", ["NAME", "WORD", "N", "ACCOUNT"])
def test_a_positional_named_otherwise_is_no_file(name: str) -> None:
    assert not Positional(name).file


def test_a_value_is_an_integer_when_said_so_right_after_its_option_only() -> None:
    assert _option("SPAN", "`--span SPAN`: a positive integer of hours.").integer
    assert _option("SPAN", "`--span SPAN` is a non-negative integer.").integer
    assert not _option("SPAN", "`--span SPAN`: a label. The total is an integer.").integer
    assert not _option("SPAN", "`--span SPAN`: the name of the span.").integer
    assert not Option(("--loud",), None, False, ("`--loud` is an integer.",)).integer


def test_an_options_values_are_the_backticked_words_it_is_said_to_be() -> None:
    assert _option("MODE", "`--span MODE` is `day`, `week` or `month`.").choices == (
        "day",
        "week",
        "month",
    )
    assert _option("MODE", "`--span MODE` must be one of `a`, `b` and `c`.").choices == (
        "a",
        "b",
        "c",
    )
    assert _option("MODE", "`--span MODE`: `day` by default.").choices == ()


# --- routes and statuses ---------------------------------------------------------------------


def test_a_route_is_a_method_and_a_path_in_backticks_with_the_statuses_of_its_bullet() -> None:
    facts = read_requirement(
        "- `PUT /rooms/{room}`: 200 and the room, 404 if none, 409 when it is booked.\n"
        "- `GET /rooms?free=true`: 200.\n- `FETCH /rooms` is not a method.\n"
        "- `POST /rooms`: 201.\n"
    )
    assert [(r.method, r.path, r.statuses) for r in facts.routes] == [
        ("PUT", "/rooms/{room}", (200, 404, 409)),
        ("GET", "/rooms", (200,)),
        ("POST", "/rooms", (201,)),
    ]
    assert facts.routes[2].success == 201


def test_a_number_of_some_unit_a_percentage_or_a_decimal_is_no_status() -> None:
    [route] = read_requirement(
        "- `POST /poems`: 201; at most 300 characters, 250 words or 100 lines; 150% zoom "
        "and 4.500 or 300.5 are no status; a long poem gives 413.\n"
    ).routes
    assert route.statuses == (201, 413)


def test_a_route_that_gives_only_refusals_succeeds_with_200() -> None:
    [route] = read_requirement("- `DELETE /rooms/{room}`: 404 if none.\n").routes
    assert route.success == 200


@pytest.mark.parametrize(
    ("text", "app", "framework", "dependencies"),
    [
        ("The application object named `server` serves `GET /a`.", "server", "fastapi",
         ("fastapi", "httpx")),
        ("A `site` app in Flask serves `GET /a`.", "site", "flask", ("flask",)),
        ("Serve `GET /a` with the standard library only.", "app", "fastapi", ()),
        ("A web page made with FastAPI.", "app", "fastapi", ("fastapi", "httpx")),
        ("A page with no routes at all.", "", "", ()),
    ],
)  # fmt: skip
def test_the_app_and_the_framework_are_the_named_ones_else_fastapis_app(
    text: str, app: str, framework: str, dependencies: tuple[str, ...]
) -> None:
    facts = read_requirement(text)
    assert (facts.app, facts.framework, facts.dependencies) == (app, framework, dependencies)


@pytest.mark.parametrize(
    "text",
    ["Use the standard library only.", "Stdlib only, please.", "Import only the standard library."],
)
def test_standard_library_only_is_said_in_any_of_its_common_words(text: str) -> None:
    assert read_requirement(text).stdlib_only


# --- exit statuses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "codes"),
    [
        ("Exit status: 0 on success, 3 when the disk is full; 4 if the key is wrong.", [0, 3, 4]),
        ("It exits with 5 on a timeout.", [5]),
        ("It exits 6 when interrupted, and exit code 7 means a lock is held.", [6, 7]),
        ("Exiting with 8 is for a bad key.", [8]),
        ("It exits after 3 tries.", []),
        ("It reads 2 files on start.", []),
    ],
)
def test_an_exit_status_is_a_digit_after_exit_or_before_on_when_if_for(
    said: str, codes: list[int]
) -> None:
    facts = read_requirement(f"Run `python -m pump`.\n\n{said}\n")
    assert [e.code for e in facts.exit_codes] == codes


def test_each_exit_status_means_its_own_part_of_the_sentence() -> None:
    facts = read_requirement(
        "Run `python -m pump`.\n\nExit codes: 0 on success; 3 when the tank is empty.\n"
    )
    assert [(e.code, e.meaning) for e in facts.exit_codes] == [
        (0, "0 on success"),
        (3, "3 when the tank is empty."),
    ]


def test_exit_statuses_are_read_only_for_a_command_line() -> None:
    assert read_requirement("It exits with 4 on a timeout.").exit_codes == ()


# --- the functions' examples -----------------------------------------------------------------

ROOTS = """# roots

Module `roots` of pure functions.

- `cube(n: int) -> int`: `n` cubed; `cube(2)` is `8`, `cube(3)` returns `27`,
  `cube(-1)` gives `-1`, `cube(0)` evaluates to `0`, `cube(4)` == `64`, `cube(5)` -> `125`
  and `cube(6)` → `216`.
- `root(n: int) -> int`: the whole square root; `root(-4)` raises `ValueError`, and
  `root(x)` is `2` is no example (`x` is no literal).
- `label(tag: str) -> str`: the tag in brackets (`red` is `[red]`); `''` and `'  '` raise
  `EmptyTag`.
"""


def test_a_literal_call_is_returns_gives_or_maps_to_a_literal_value() -> None:
    bodies = [e.body.strip() for e in examples(read_requirement(ROOTS)) if e.about == "cube"]
    assert bodies == [
        "assert cube(2) == 8",
        "assert cube(3) == 27",
        "assert cube(-1) == -1",
        "assert cube(0) == 0",
        "assert cube(4) == 64",
        "assert cube(5) == 125",
        "assert cube(6) == 216",
    ]


def test_a_literal_call_that_raises_an_error_is_an_example() -> None:
    bodies = [e.body for e in examples(read_requirement(ROOTS)) if e.about == "root"]
    assert bodies == ["    with pytest.raises(ValueError):\n        root(-4)\n"]


def test_values_before_raises_in_a_one_argument_functions_own_bullet_are_examples() -> None:
    bodies = [e.body for e in examples(read_requirement(ROOTS)) if e.about == "label"]
    assert bodies == [
        "    assert label('red') == '[red]'\n",
        "    with pytest.raises(EmptyTag):\n        label('')\n",
        "    with pytest.raises(EmptyTag):\n        label('  ')\n",
    ]


def test_a_bare_argument_is_value_outside_a_functions_own_bullet_is_no_example() -> None:
    text = "Module `roots`.\n\n- `twice(n: int) -> int`: double.\n\nElsewhere 3 is `6`.\n"
    assert examples(read_requirement(text)) == []


# --- no sentence here is an eval case's ------------------------------------------------------


def _cases_runs() -> dict[tuple[str, ...], str]:
    quoted: dict[tuple[str, ...], str] = {}
    for folder in sorted((ROOT.parent / "eval" / "cases").iterdir()):
        for path in (folder / "requirement.md", folder / "case.yaml"):
            if path.is_file():
                quoted.update(dict.fromkeys(_runs(path.read_text(encoding="utf-8")), folder.name))
    return quoted


@pytest.mark.parametrize(
    "name",
    [
        "test_general_rules.py",
        "test_general_rules_kinds.py",
        "test_general_rules_plan.py",
        "test_general_rules_prose.py",
        "test_requirement_parser.py",
        "test_kind_script.py",
        "test_interface.py",
    ],
)
def test_these_sentences_quote_no_evaluation_case(name: str) -> None:
    """A run of five words shared with a case would make a rule's test that case's own."""
    quoted = _cases_runs()
    hits = [
        f"{name}:{number}: {' '.join(run)!r} ({quoted[run]})"
        for number, line in _prose(Path(__file__).with_name(name))
        for run in sorted(_runs(line) & quoted.keys())
    ]
    assert not hits, "\n".join(hits)
