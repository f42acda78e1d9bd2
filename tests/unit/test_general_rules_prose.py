"""The parser's rules for requirements written as prose, each on sentences no eval case has.

A requirement that marks no interface with code spans states it in words: "a
module called X", "run as python -m X", "--top followed by a number", "a GET
request to /x/{id}", "a function called f that takes a string". Each rule here
is a general shape of such text, held to sentences written for the test
(``test_general_rules.py`` holds this file to quoting no eval case).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from devfactory.software.kinds import examples_file, reading, skeleton
from devfactory.software.requirement import (
    Function,
    RequirementFacts,
    left_open,
    read_requirement,
)

# --- the module ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "module"),
    [
        ("Ship a module called kiteline for flying kites.", "kiteline"),
        ("Ship a module named 'kiteline' for flying kites.", "kiteline"),
        ("We want a Python module kiteline that flies kites.", "kiteline"),
        ("It is a package called kiteline.", "kiteline"),
        ("Kites fly when it is run as python -m kiteline with a wind speed.", "kiteline"),
        ("Kites fly; start python3 -m kiteline. Then wait.", "kiteline"),
        ("We want a Python module that flies kites.", ""),
        ("The kites are checked with python -m pytest before release.", ""),
        ("Kites fly under python -m kites.tools.reel here.", ""),
        ("A terminal utility named reelcount tallies reels.", "reelcount"),
    ],
)
def test_the_module_in_words_is_run_with_dash_m_or_called_a_module_or_package(
    text: str, module: str
) -> None:
    assert read_requirement(text).module == module


# --- the command line ------------------------------------------------------------------------

KITES = """# kite log

A terminal tool, run as python -m kitelog, that sums the hours each kite flew.
It takes the path of a flight file as its argument, and when no file is given it
reads standard input instead.

The option --top followed by a number keeps only that many kites. An option --sep
that takes a string sets the column separator. The -q/--quiet switch prints no header.
--since DATE skips earlier flights.

It exits with status 2 on bad usage, and its exit code is 3 when the log is unreadable.
"""


def test_a_program_run_with_dash_m_gets_the_usage_line_its_words_describe() -> None:
    facts = read_requirement(KITES)
    [usage] = facts.usages
    assert usage.synthesised
    assert usage.line == (
        "python -m kitelog [FILE] [--top N] [--sep VALUE] [-q|--quiet] [--since DATE]"
    )
    assert [(o.flags, o.metavar, o.integer) for o in usage.options] == [
        (("--top",), "N", True),
        (("--sep",), "VALUE", False),
        (("-q", "--quiet"), None, False),
        (("--since",), "DATE", False),
    ]
    assert usage.options[0].sentences == (
        "The option --top followed by a number keeps only that many kites.",
    )


@pytest.mark.parametrize(
    ("said", "metavar"),
    [
        ("--width followed by a whole number", "N"),
        ("--width N", "N"),
        ("--width <count>", "COUNT"),
        ("--width=5", "N"),
        ("--width 12", "N"),
        ("--label that takes a value", "VALUE"),
        ("--label, which takes a string,", "VALUE"),
        ("--out followed by a file name", "FILE"),
        ("--colour that takes a colour name", "NAME"),
        ("--tail option takes an integer", "N"),
        ("--depth, whose value must be an integer,", "N"),
        ("--spool option, whose argument is the spool name,", "NAME"),
        ("--plain", None),
        ("--plain switch", None),
    ],
)
def test_an_options_value_and_its_name_are_what_the_words_after_it_say(
    said: str, metavar: str | None
) -> None:
    facts = read_requirement(f"Run it as python -m reels. The {said} changes the reel.")
    [option] = facts.options
    assert option.metavar == metavar


@pytest.mark.parametrize(
    ("said", "default"),
    [
        ("--width followed by a number, which is 72 when not given,", "72"),
        ("--width N (default: 72)", "72"),
        ('--fill that takes a string and defaults to "-"', '"-"'),
        ("--width followed by a number", None),
    ],
)
def test_an_options_default_is_the_value_the_words_give_when_it_is_left_out(
    said: str, default: str | None
) -> None:
    text = f"Run it as python -m reels. The {said} pads the reel."
    [option] = read_requirement(text).options
    assert option.default == default
    made = skeleton(read_requirement(text), "Reels.")
    assert made is not None and (f"default={default}" in made.source) == (default is not None)


def test_an_option_is_required_only_where_the_words_say_so() -> None:
    text = "Run it as python -m reels. --spool NAME is required. --slack N is not."
    assert [o.required for o in read_requirement(text).options] == [True, False]


@pytest.mark.parametrize(
    ("said", "positional"),
    [
        ("It takes a file name.", ("FILE", False, False)),
        ("It takes the path of a CSV file as its argument.", ("FILE", False, False)),
        ("It reads the standard input when no file is given.", ("FILE", False, True)),
        ("It accepts one or more file names.", ("FILE", True, False)),
        ("It takes a date as its only argument.", ("DATE", False, False)),
        ("It prints the hour.", None),
    ],
)
def test_a_positional_in_words_is_a_file_maybe_many_maybe_left_out_or_the_noun_given(
    said: str, positional: tuple[str, bool, bool] | None
) -> None:
    [usage] = read_requirement(f"It is started as python -m spools. {said}").usages
    found = [(p.name, p.many, p.optional) for p in usage.positionals]
    assert found == ([positional] if positional else [])


def test_help_said_in_words_is_in_the_line_but_left_to_argparse() -> None:
    text = "Run it as python -m reels. --help explains it and --slow winds slowly."
    [usage] = read_requirement(text).usages
    assert usage.line == "python -m reels [--slow] [--help]"
    assert [o.flags for o in usage.options] == [("--slow",)]


def test_a_usage_line_written_in_plain_text_is_read_as_written() -> None:
    text = "Start it with python -m spools FILE... [--wind N].\nThe --wind option takes a number."
    [usage] = read_requirement(text).usages
    assert not usage.synthesised and usage.line == "python -m spools FILE... [--wind N]"
    assert [(p.name, p.many) for p in usage.positionals] == [("FILE", True)]
    assert usage.options[0].sentences[-1] == "The --wind option takes a number."


def test_a_plain_usage_line_that_leaves_out_an_option_the_words_give_is_rendered_anew() -> None:
    text = "Start it with python -m spools FILE. Also, --fast winds quickly."
    [usage] = read_requirement(text).usages
    assert usage.synthesised and usage.line == "python -m spools FILE [--fast]"


def test_a_program_called_x_run_as_a_python_module_is_the_command_line_x() -> None:
    text = "We need a utility called reelcount, started as a Python module, to count reels."
    facts = read_requirement(text)
    assert facts.module == "reelcount"
    assert [(u.line, u.synthesised) for u in facts.usages] == [("python -m reelcount", True)]


@pytest.mark.parametrize(
    ("said", "positional"),
    [
        ("Its input is standard input, or a reel file when one is named.", ("FILE", False, True)),
        ("It reads a log file or standard input.", ("FILE", False, True)),
        ("It accepts one or more words as arguments.", ("WORD", True, False)),
    ],
)
def test_a_file_or_standard_input_is_an_optional_file_and_nouns_as_arguments_repeat(
    said: str, positional: tuple[str, bool, bool]
) -> None:
    [usage] = read_requirement(
        f"A tool called reelcount, started as a Python module. {said}"
    ).usages
    assert [(p.name, p.many, p.optional) for p in usage.positionals] == [positional]


def test_an_option_without_which_the_command_is_a_usage_error_is_required() -> None:
    text = "Run it as python -m reels. Without --depth N the command is a usage error."
    assert [o.required for o in read_requirement(text).options] == [True]


def test_options_make_a_command_line_only_of_a_program_said_to_be_one() -> None:
    told = read_requirement("A command-line tool, module named spools, has --reverse.")
    assert [u.line for u in told.usages] == ["python -m spools [--reverse]"]
    untold = read_requirement("A module named spools whose reports mention --reverse.")
    assert untold.usages == ()


def test_a_program_run_with_dash_m_and_options_is_a_command_line_never_a_library() -> None:
    text = (
        "Build a Python module called spindle, run as python -m spindle, that spins yarn. "
        "It has a function called twist that takes a string and returns a string. "
        "The option --turns followed by a number sets how often.\n"
    )
    found = reading(read_requirement(text))
    assert found is not None and found.shape.name == "command line"
    made = skeleton(read_requirement(text), "Spins yarn.")
    assert made is not None
    assert "parser.add_argument('--turns', metavar='N', type=int" in made.source
    assert "def twist(text: str) -> str:" in made.source


def test_a_synthesised_usage_line_is_never_quoted_as_the_requirements_own() -> None:
    made = skeleton(read_requirement(KITES), "Kite hours.")
    marked = skeleton(read_requirement("Run it as `python -m kitelog [--top N]`."), "Hours.")
    assert made is not None and marked is not None
    assert "as the requirement's words describe it" in made.source
    assert "usage lines give it" not in made.source
    assert "as the requirement's usage lines give it" in marked.source


def test_a_file_read_or_standard_input_in_words_is_a_filter() -> None:
    found = reading(read_requirement(KITES))
    assert found is not None and found.shape.name == "filter"


# --- exit statuses ---------------------------------------------------------------------------


def test_exit_statuses_in_words_each_mean_their_own_clause() -> None:
    codes = read_requirement(KITES).exit_codes
    assert [(e.code, e.meaning) for e in codes] == [
        (2, "It exits with status 2 on bad usage"),
        (3, "its exit code is 3 when the log is unreadable."),
    ]


@pytest.mark.parametrize(
    ("said", "code"),
    [
        ("It exits with a status of 3 when the reel jams.", 3),
        ("The exit status is 4 if the spool is empty.", 4),
        ("It returns exit code 5 for a torn line.", 5),
        ("It exits with code zero when all went well.", 0),
    ],
)
def test_an_exit_status_in_words_is_read_in_its_common_phrasings(said: str, code: int) -> None:
    text = f"Run it as python -m reels. {said}"
    assert [e.code for e in read_requirement(text).exit_codes] == [code]


# --- routes ----------------------------------------------------------------------------------

HANGAR = """A hangar service in a Python module called hangar, keeping the gliders in memory.

A GET request to /gliders lists the gliders with status 200. POST /gliders parks one
and answers 201, or 422 when its wing span of 250 cm is missing.
GET /gliders/<id> returns one glider, or 404 if there is none; DELETE /gliders/:id
answers 204. It answers 404 when nothing is parked there.
"""


def test_a_route_in_words_is_a_method_and_a_path_with_the_statuses_said_after_it() -> None:
    facts = read_requirement(HANGAR)
    assert [(r.method, r.path, r.statuses) for r in facts.routes] == [
        ("GET", "/gliders", (200,)),
        ("POST", "/gliders", (201, 422)),
        ("GET", "/gliders/{id}", (404,)),
        ("DELETE", "/gliders/{id}", (204, 404)),
    ]
    assert facts.routes[3].sentences[-1] == "It answers 404 when nothing is parked there."
    hangar = read_requirement("A GET request to /hangars/ followed by a code answers 200.")
    assert [r.path for r in hangar.routes] == ["/hangars/{code}"]
    found = reading(facts)
    assert found is not None and found.shape.name == "web service"


def test_a_service_in_words_takes_the_body_and_the_query_parameters_its_words_give() -> None:
    text = (
        "A module called hangar.\n\nA POST request to /gliders with a name and a span parks "
        "one. A GET request to /gliders lists them; a query parameter called pilot keeps "
        "those of one pilot, and a query parameter limit, a whole number, keeps that many.\n"
    )
    made = skeleton(read_requirement(text), "Hangar.")
    assert made is not None
    assert "def post_gliders(body: dict[str, Any] = Body(...)):" in made.source
    assert "def get_gliders(pilot: str | None = None, limit: int | None = None):" in made.source


def test_routes_without_a_module_make_no_example_tests_they_could_not_import() -> None:
    facts = read_requirement("It answers GET /gliders with 200 and GET /gliders/{id} with 404.")
    assert len(facts.routes) == 2 and facts.module == ""
    assert examples_file(facts) is None
    assert examples_file(read_requirement(f"A module called hangar.\n\n{HANGAR}")) is not None


# --- functions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "signature"),
    [
        (
            "a function called fold_sail that takes a string and a whole number and returns "
            "a list of strings",
            "def fold_sail(text: str, n: int) -> list[str]",
        ),
        (
            "a function named is_calm that takes a wind speed, returning true or false",
            "def is_calm(speed) -> bool",
        ),
        (
            "a function called knots that takes the list of integers speeds and returns the "
            "number of gusts",
            "def knots(speeds: list[int]) -> int",
        ),
        ("a function called breeze that takes no arguments", "def breeze()"),
        (
            "a function called tint that takes three whole numbers, hue, shade and glow, and "
            "gives back a tuple of three integers",
            "def tint(hue: int, shade: int, glow: int) -> tuple[int, int, int]",
        ),
        (
            "a function called splice that takes two ropes and a slack from 0 to 9, which is 2 "
            "when not given, and returns a string",
            "def splice(rope1, rope2, slack=2) -> str",
        ),
        (
            "a function called moor that takes a knot name, a word of two to nine letters "
            "here, and returns a string",
            "def moor(name) -> str",
        ),
    ],
)
def test_a_function_in_words_gets_its_parameters_and_only_the_types_said(
    said: str, signature: str
) -> None:
    facts = read_requirement(f"Write a module called rigging with {said}.")
    assert [f.signature for f in facts.functions] == [signature]
    assert facts.functions[0].sentences[0].startswith("Write a module called rigging")


def test_the_function_name_before_takes_or_returns_is_a_function_in_words() -> None:
    text = "A module called rigging.\n\nThe function coil takes a string and returns a string.\n"
    assert [f.signature for f in read_requirement(text).functions] == ["def coil(text: str) -> str"]


def test_a_function_is_read_only_by_a_name_that_is_written_as_an_identifier() -> None:
    text = "Write a module called rigging with a function called the best one that takes a rope."
    assert read_requirement(text).functions == ()


def test_the_words_are_read_only_where_no_code_span_marks_the_interface() -> None:
    text = (
        "The module `rigging` has `hoist(sail: str) -> bool`.\n\n"
        "It also answers GET /sails and is run as python -m rigging --fast.\n"
    )
    facts = read_requirement(text)
    assert [f.name for f in facts.functions] == ["hoist"]
    assert facts.routes == () and facts.usages == ()


DOCKS = (
    "We need a module called docks with two functions.\n\n"
    "The function is_berth takes a label, returning true or false: whether it is a berth. "
    "For example B-12 and C-7 are berths, but B-0 is not.\n\n"
    "The function to_slip takes a berth and returns its slip number. So B-12 gives 1012."
)


def test_a_functions_examples_in_prose_are_tests_that_pass_on_right_code_only(
    tmp_path: Path,
) -> None:
    made = examples_file(read_requirement(DOCKS))
    assert made is not None
    body = made.source.split("from docks import is_berth, to_slip\n", 1)[1]
    assert "assert is_berth('B-12') == True" in body
    assert "assert is_berth('C-7') == True" in body
    assert "assert is_berth('B-0') == False" in body
    # no type is said of the slip number: compared as the digits it is shown as
    assert "assert str(to_slip('B-12')) == '1012'" in body
    assert made.of("is_berth") == ["test_is_berth", "test_is_berth_2", "test_is_berth_3"]
    (tmp_path / "test_examples.py").write_text(made.source, encoding="utf-8")
    right = (
        "def is_berth(text):\n    return text[0] in 'BC' and text[2:] != '0'\n"
        "def to_slip(berth):\n    return 1000 + int(berth[2:])\n"
    )
    for code, passes in ((right, True), (right.replace("!= '0'", "!= '7'"), False)):
        (tmp_path / "docks.py").write_text(code, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (done.returncode == 0) is passes, done.stdout[-2000:]


@pytest.mark.parametrize(
    "said",
    [
        "B-12 and C-7 are berth names.",  # the word does not end its clause: no verdict
        "A B-12 is berth when it is free.",  # a condition, not a verdict
        "Each berth is a berth, but a slip is not.",  # no value holds a digit or is quoted
        "So 12 gives 1012.",  # an untyped argument that reads as a number: its type is open
        "So B-12 gives slip 1012.",  # the result is not what the clause ends with
    ],
)
def test_prose_that_settles_no_call_makes_no_example(said: str) -> None:
    text = (
        "We need a module called docks.\n\n"
        f"The function is_berth takes a label, returning true or false. {said}\n\n"
        f"The function to_slip takes a berth and returns its slip number. {said}"
    )
    assert examples_file(read_requirement(text)) is None


# --- what the words leave open ---------------------------------------------------------------


def test_left_open_names_what_no_rule_found_and_facts_are_made_of_verified_facts() -> None:
    assert left_open(read_requirement("Count the kites in the sky.")) == ("module", "interface")
    assert left_open(read_requirement("Run it as python -m kitelog.")) == ("exit_codes",)
    assert left_open(read_requirement(KITES)) == ()
    verified = RequirementFacts(
        module="kitecount",
        functions=(Function("count", "sky: str", "int", ("It counts kites.",)),),
    )
    assert left_open(verified) == ()
    made = skeleton(verified, "Counts kites.")
    assert made is not None and "def count(sky: str) -> int:" in made.source


@pytest.mark.parametrize(
    "piece",
    [
        "--a --b followed by a number, ",
        "it exits with status 2, and ",
        "the function called fold takes a and b and c ",
        "GET /reels/{id} gives 404, POST /reels with a name gives 201, ",
    ],
)
def test_a_long_text_without_a_full_stop_is_read_in_linear_time(piece: str) -> None:
    text = "A tool called reels, started as a Python module. " + piece * 2500
    started = time.monotonic()
    read_requirement(text)
    assert time.monotonic() - started < 10  # seconds; quadratic rules took minutes here
