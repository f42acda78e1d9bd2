"""The rules of the kinds of software and the skeleton toolkit.

Each on sentences of its own that no eval case has (see ``test_general_rules.py``,
which also holds this file to quoting none). The script kind's rule (``python
name.py``) has its own file, ``test_kind_script.py``.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from devfactory.graph.stage.build_loop.trials import TrialRunner
from devfactory.software.behaviour import coerced
from devfactory.software.kinds import (
    behaviour_tested,
    comparison,
    examples,
    examples_file,
    shape_of,
    skeleton,
)
from devfactory.software.kinds.command_line import COMMAND_LINE, command_examples
from devfactory.software.kinds.filter_examples import transform_examples
from devfactory.software.kinds.library import LIBRARY
from devfactory.software.kinds.text_filter import TEXT_FILTER, about_output, stream
from devfactory.software.kinds.web_service import WEB_SERVICE, handler_name
from devfactory.software.requirement import read_requirement
from devfactory.software.skeleton import stubs
from devfactory.software.source import stubbed_names

# --- which kind ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("- `GET /lamps`: 200.\n- `lamp(n: int) -> str`: one.", WEB_SERVICE),
        ("A web page in Flask, module `lamps`.", WEB_SERVICE),
        ("Start `python -m lamps FILE`; it prints FILE.", TEXT_FILTER),
        ("Start `python -m lamps FILE... [--dim N]`.", COMMAND_LINE),
        ("The module `lamps`: `lamp(n: int) -> str` names a lamp.", LIBRARY),
        ("Lamps that glow.", None),
    ],
)
def test_routes_or_a_framework_make_a_service_usage_lines_a_command_signatures_a_library(
    text: str, kind: object
) -> None:
    assert shape_of(read_requirement(text)) is kind


# --- a command line's example tests ----------------------------------------------------------

LAMPS = """# lamps

Start `python -m lamps INPUT NAME --colour HUE [--watts N]`.

- `--colour HUE` is `red`, `green` or `blue`.
- Exit codes: 0 on success; 1 if INPUT does not exist; 2 on a missing or bad argument.
"""


def _probes(text: str) -> dict[str, str]:
    facts = read_requirement(text)
    return {e.name: e.body for e in command_examples(facts, "python -m lamps")}


def test_help_is_always_probed_and_names_each_options_flag() -> None:
    body = _probes(LAMPS)["help"]
    assert "assert '--colour' in done.stdout" in body and "assert '--watts' in done.stdout" in body


@pytest.mark.parametrize(
    ("meaning", "probed"),
    [
        ("2 on usage errors", True),
        ("2 for an unknown option", True),
        ("2 when an option is invalid", True),
        ("2 on a missing or bad argument", True),
        ("2 if a flag is not recognised or the subcommand is wrong", True),
        ("2 when the lamp is missing", False),
        ("2 when the bulb is broken", False),
    ],
)
def test_an_unknown_option_is_probed_when_status_2_means_bad_usage(
    meaning: str, probed: bool
) -> None:
    text = f"Start `python -m lamps NAME`.\n\nExit codes: 0 on success; {meaning}.\n"
    assert ("unknown_option" in _probes(text)) is probed


def test_no_arguments_is_probed_when_status_2_says_something_is_missing_or_none() -> None:
    said = "Start `python -m lamps NAME`.\n\nExit codes: 0 on success; 2 {}.\n"
    assert "no_arguments" in _probes(said.format("for bad usage, like no NAME given"))
    assert "no_arguments" in _probes(said.format("when NAME is missing"))
    assert "no_arguments" not in _probes(said.format("on usage errors"))
    optional = (
        "Start `python -m lamps [NAME]`.\n\nExit codes: 0 on success; 2 when none is given.\n"
    )
    assert "no_arguments" not in _probes(optional)


def test_an_unreadable_file_is_probed_for_a_positional_named_as_a_file() -> None:
    text = "Start `python -m lamps SOURCE`.\n\nExit codes: 0 on success; 1 if SOURCE is missing.\n"
    assert "run_cli(str(tmp_path / 'no-such-file.txt'))" in _probes(text)["unreadable_file"]
    named = "Start `python -m lamps NAME`.\n\nExit codes: 0 on success; 1 if NAME is missing.\n"
    assert "unreadable_file" not in _probes(named)
    other = "Start `python -m lamps SOURCE`.\n\nExit codes: 0 on success; 1 if SOURCE is empty.\n"
    assert "unreadable_file" not in _probes(other)
    data = "Start `python -m lamps DATA`.\n\nExit codes: 0 on success; 1 if DATA is missing.\n"
    assert "unreadable_file" in _probes(data)  # the filter's names for a file are the same


def test_an_unreadable_file_probe_gives_each_required_option_a_value_the_text_allows() -> None:
    text = (
        "Start `python -m lamps PATH --colour HUE --watts N --room ROOM`.\n\n"
        "- `--colour HUE` must be `red` or `blue`.\n"
        "- `--room` takes a name, e.g. `hall` or `den`.\n"
        "- Exit codes: 0 on success; 1 when PATH can't be read.\n"
    )
    body = _probes(text)["unreadable_file"]
    assert "'--colour', 'red', '--watts', '1', '--room', 'hall'" in body
    two = LAMPS  # a second required positional: no file probe, its value is no guess
    assert "unreadable_file" not in _probes(two)


# --- a filter --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "usage",
    [
        "python -m lamps FILE",
        "python -m lamps LOGFILE",
        "python -m lamps DATA_CSV",
        "python -m lamps [SRC]",
        "python -m lamps NOTES --flip",
    ],
)
def test_a_filter_reads_one_input_named_as_a_file_or_standard_input(usage: str) -> None:
    said = "It reads stdin when NOTES is left out." if "NOTES" in usage else "It prints it."
    assert stream(read_requirement(f"Start `{usage}`. {said}")) is not None


@pytest.mark.parametrize(
    "usage",
    [
        "python -m lamps NAME",
        "python -m lamps FILE...",
        "python -m lamps FILE OTHER",
        "python -m lamps turn FILE",
        "python -m lamps FILE [--text WORDS]",
    ],
)
def test_no_filter_without_exactly_one_file_input_and_no_subcommand(usage: str) -> None:
    assert stream(read_requirement(f"Start `{usage}`; it prints it.")) is None


def test_a_filters_output_option_is_where_it_writes_and_the_others_are_parameters() -> None:
    found = stream(read_requirement("Start `python -m lamps FILE [--dim N] [-d|--dest DEST]`."))
    assert found is not None and found.output is not None
    assert found.output.dest == "dest" and [o.dest for o in found.options] == ["dim"]


def test_a_filters_statuses_are_those_whose_meaning_says_unreadable_or_refused() -> None:
    text = (
        "Start `python -m lamps FILE`.\n\nExit codes: 0 on success; 3 when FILE does "
        "not exist; 4 on malformed input; 2 on usage errors.\n"
    )
    found = stream(read_requirement(text))
    assert found is not None and (found.unreadable, found.refused) == (3, 4)
    plain = stream(read_requirement("Start `python -m lamps FILE`."))
    assert plain is not None and (plain.unreadable, plain.refused) == (1, 1)


def test_a_filter_reads_stdin_when_its_input_may_be_left_out_or_be_a_dash() -> None:
    optional = stream(read_requirement("Start `python -m lamps [FILE]`; else it reads stdin."))
    dash = stream(read_requirement("Start `python -m lamps FILE`; `-` reads standard input."))
    said_only = stream(read_requirement("Start `python -m lamps FILE`; stdin is never read."))
    assert optional is not None and dash is not None and said_only is not None
    assert optional.stdin and dash.stdin and not said_only.stdin


def test_a_filters_messages_start_with_the_prefix_the_requirement_writes() -> None:
    start = "Start `python -m lamps FILE`."
    said = {
        "own": "Errors print `lamps: <why>` on stderr.",
        "error": "Errors print `error: why` on stderr.",
        "other": "A dark lamp prints `oops: <why>` on standard error.",
        "bare": "Each message starts with `dim:`.",
        "both": "Messages read `lamps: <why>`; `warn: <why>` is a warning message.",
        "no message": "Each line `key: value` sets a lamp; a bad `key: value` is an error.",
        "none": "",
    }
    prefixes = {}
    for name, sentence in said.items():
        found = stream(read_requirement(f"{start} {sentence}"))
        assert found is not None
        prefixes[name] = found.prefix
    assert prefixes == {
        "own": "lamps:",
        "error": "error:",
        "other": "oops:",
        "bare": "dim:",
        "both": "lamps:",
        "no message": "lamps:",
        "none": "lamps:",
    }


GLOW = (
    "We want a program called glow, started with python -m glow. It reads the file named on the "
    "command line, or standard input when none is named. The option --dim takes a whole "
    "number and the option --shout is a switch. "
)


def _shown(sentence: str) -> list[str]:
    facts = read_requirement(GLOW + sentence)
    found = stream(facts)
    assert found is not None
    return [e.body for e in transform_examples(facts, found.options, "transform")]


def test_a_filters_output_shown_for_an_input_in_words_is_run_on_that_input_with_its_options() -> (
    None
):
    bodies = _shown(
        'So the input "red\\tlamp\\n" is printed as "RED LAMP\\n", and with --dim 3 and '
        "--shout the input \u201cdark\u201d becomes `DARK!!!`."
    )
    assert len(bodies) == 2
    assert "source.write_text('red\\tlamp\\n', encoding='utf-8')" in bodies[0]
    assert "done = run_cli(str(source))\n" in bodies[0]
    assert "assert done.stdout == 'RED LAMP\\n'" in bodies[0]
    assert "run_cli(str(source), '--dim', '3', '--shout')" in bodies[1]
    # shown without a final newline: printed with one (as _write_output ends it) or without
    assert "assert done.stdout in ('DARK!!!\\n', 'DARK!!!')" in bodies[1]
    # a command that fails says what was asked and what it printed, on stdout too
    assert "must return 'RED LAMP'; it printed: \" + done.stdout + done.stderr\n" in bodies[0]


def test_an_option_at_its_default_or_given_a_count_in_words_makes_an_output_example() -> None:
    bodies = _shown(
        'So with the default dim "red" becomes "RED", and with a dim of 2 "red" becomes "rd".'
    )
    assert len(bodies) == 2
    assert "done = run_cli(str(source))\n" in bodies[0]  # the default: no option given
    assert "run_cli(str(source), '--dim', '2')" in bodies[1]
    assert "assert done.stdout in ('rd\\n', 'rd')" in bodies[1]
    negative = _shown('With a dim of -1, "red" becomes "re".')
    assert len(negative) == 1 and "'--dim', '-1'" in negative[0]


def test_an_example_in_parentheses_is_the_commands_only_where_its_clause_is_of_the_whole() -> None:
    # a clause of the input's lines: the example is the command on a one-line input
    whole = _shown("Each line is printed backwards (`abc` becomes `cba`).")
    assert len(whole) == 1 and "assert done.stdout in ('cba\\n', 'cba')" in whole[0]
    # a part the words name (a header cell's key): one step, not the command's output
    assert (
        _shown('Keys: each header cell lower-cased (`" Unit Price"` becomes `unit_price`).') == []
    )
    # parentheses closed before the example: read as any other sentence
    assert len(_shown('Each cell (a word) is kept, so "red" becomes "RED".')) == 1


@pytest.mark.parametrize(
    "sentence",
    [
        'Dimmed a little, "red" becomes "rd".',  # the option in words, not its flag
        'With --dim three, "red" becomes "rd".',  # a count in words
        'With a dim of three, "red" becomes "rd".',  # a count in words, the option in words
        'With a shout of 2, "red" becomes "rd".',  # a switch takes no count
        'With -b, "red" becomes "rd".',  # no such option
        'With --dim, "red" becomes "rd".',  # the value it takes is not given
        'The word "red" and the word "rd" are both lamps.',  # nothing done between them
    ],
)
def test_no_output_example_where_the_words_do_not_say_how_the_command_is_run(
    sentence: str,
) -> None:
    assert _shown(sentence) == []


def test_output_examples_are_tests_of_the_transform_that_pass_on_right_code_only(
    tmp_path: Path,
) -> None:
    facts = read_requirement(GLOW + 'For example, "a\\nb\\n" is printed as "1 a\\n2 b\\n".')
    made = examples_file(facts)
    assert made is not None and made.of("transform") == ["test_output"]
    # a failure says which call must return what
    # the transform may leave out the final newline the command adds: shown without it
    assert r"transform('a\\nb\\n') must return '1 a\\n2 b'" in made.source
    (tmp_path / "test_examples.py").write_text(made.source, encoding="utf-8")
    right = "for n, line in enumerate(sys.stdin if len(sys.argv) < 2 else open(sys.argv[1]), 1):"
    for body, passes in (
        (right + "\n    print(n, line, end='')\n", True),
        (right + "\n    print(line, end='')\n", False),
    ):
        (tmp_path / "glow.py").write_text("import sys\n" + body, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "output"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (done.returncode == 0) is passes, done.stdout[-2000:]


def test_only_a_filters_transform_is_called_on_the_models_tests_and_compared_as_written() -> None:
    facts = read_requirement("Start `python -m lamps LOGFILE [--dim N]`; it prints LOGFILE.")
    compared = comparison(facts, "transform")
    assert compared is not None
    assert (
        compared.written("'lit'") == "'lit\\n'" and compared.written("!ValueError") == "!ValueError"
    )
    assert comparison(facts, "build_parser") is None  # its examples tell other units apart
    command = read_requirement("Start `python -m lamps NAME... [--dim N]`.")
    assert comparison(command, "transform") is None  # no filter, nothing called


def test_the_model_writes_tests_of_a_planned_function_or_a_transform_with_sentences() -> None:
    library = read_requirement("The module `lamps`: `lamp(n: int) -> str` names lamp `n`.")
    made = skeleton(library)
    assert made is not None
    [unit] = [u for u in made.units if u.name == "lamp"]
    assert behaviour_tested(library, unit)
    assert not behaviour_tested(library, replace(unit, sentences=()))  # nothing said
    assert not behaviour_tested(library, replace(unit, name="other"))  # no such function
    flt = read_requirement("Start `python -m lamps LOGFILE [--dim N]`; it prints LOGFILE.")
    made = skeleton(flt)
    assert made is not None
    assert [u.name for u in made.units if behaviour_tested(flt, u)] == ["transform"]


# --- a web service ---------------------------------------------------------------------------

DESKS = """# desks

Desk booking over HTTP with FastAPI, in the module `desks_api`; it stores desks in memory.

- `GET /desks`: 200 and every desk; `?free=true` only the free ones, `?floor=3` one
  floor, `?limit=N` at most N, `?wing=W` one wing.
- `POST /desks` with `{"name": str, "seats": int, "ratio": float, "quiet": bool}`: 201 and
  the desk.
- `PUT /desks/{desk_id}`: 200 and the desk, or 404.
- `DELETE /desks/{desk_id}`: 204, or 404.
- `PATCH /wings/{wing}`: 200 and the wing, or 404.
"""


def _desks() -> str:
    made = skeleton(read_requirement(DESKS), "Desks.")
    assert made is not None
    return made.source


def test_a_handler_is_named_by_its_method_and_the_words_of_its_path() -> None:
    names = [handler_name(r) for r in read_requirement(DESKS).routes]
    assert names == ["get_desks", "post_desks", "put_desks_desk_id", "delete_desks_desk_id",
                     "patch_wings_wing"]  # fmt: skip


def test_a_query_value_gives_its_type_true_a_bool_a_numeral_an_int_else_a_string() -> None:
    assert (
        "def get_desks(free: bool | None = None, floor: int | None = None, "
        "limit: int | None = None, wing: str | None = None):"
    ) in _desks()


def test_a_body_is_required_where_the_route_is_said_with_one_and_optional_elsewhere() -> None:
    source = _desks()
    assert "def post_desks(body: dict[str, Any] = Body(...)):" in source
    assert "def put_desks_desk_id(desk_id: int, body: dict[str, Any] | None = Body(None)):" in (
        source
    )
    assert "def delete_desks_desk_id(desk_id: int):" in source


def test_an_id_is_a_number_the_service_gives_out_and_another_key_is_text() -> None:
    source = _desks()
    assert "def patch_wings_wing(wing: str, body" in source
    assert "desks: dict[int, dict[str, Any]] = {}" in source and "def new_desk_id() -> int:" in (
        source
    )


@pytest.mark.parametrize(
    ("said", "store"),
    [
        ("keeping the bookings in memory", "bookings"),
        ("it keeps all seats in memory", "seats"),
        ("it stores its bookings in memory", "bookings"),
        ("holding the chairs in memory", "chairs"),
        ("storing lamps in memory", "lamps"),
        ("whose rooms are held in memory", "rooms"),
        ("it keeps them in memory", "desks"),
        ("everything is kept in memory", "desks"),
        ("with no state saved", "desks"),
    ],
)
def test_the_store_is_what_the_text_keeps_in_memory_else_the_first_path_word(
    said: str, store: str
) -> None:
    text = f"A FastAPI service in the module `desks_api`, {said}.\n\n- `GET /desks/{{id}}`: 404.\n"
    made = skeleton(read_requirement(text), "Desks.")
    assert made is not None
    assert f"\n{store}: dict[int, dict[str, Any]] = {{}}" in made.source


def test_a_service_examples_list_probe_unknown_ids_and_send_a_body_of_the_shape_shown() -> None:
    found = {e.name: e.body for e in examples(read_requirement(DESKS))}
    assert "client.get('/desks')" in found["get_list_is_200"]
    assert (
        "client.post('/desks', json={'name': 'example', 'seats': 1, 'ratio': 1.5, 'quiet': True})"
        in found["post_never_a_server_error"]
    )
    assert "client.delete('/desks/999999').status_code == 404" in found["delete_unknown_is_404"]
    assert "client.put('/desks/999999', json={})" in found["put_never_a_server_error"]
    assert "patch_never_a_server_error" in found and "patch_unknown_is_404" not in found


def test_an_unknown_key_that_is_not_an_id_is_a_word_no_object_has() -> None:
    text = "FastAPI, module `rooms_api`.\n\n- `GET /rooms/{room_code}`: 200, or 404.\n"
    [probe] = [e.body for e in examples(read_requirement(text)) if e.name == "get_unknown_is_404"]
    assert "client.get('/rooms/no-such-room-code')" in probe


def test_a_handler_answers_as_its_status_of_success_asks() -> None:
    made = skeleton(
        read_requirement(
            "FastAPI, module `desks_api`.\n\n- `DELETE /desks/{id}`: 204, or 404.\n"
            "- `GET /go/{id}`: 307 to the desk's page.\n- `GET /desks`: 200 and all desks.\n"
        ),
        "Desks.",
    )
    assert made is not None
    assert "@app.delete('/desks/{id}', status_code=204)" in made.source
    assert "`Response(status_code=204)` (no body)" in made.source
    assert "`RedirectResponse(url, status_code=307)`" in made.source
    assert "from fastapi.responses import RedirectResponse" in made.source
    assert "@app.get('/desks')\n" in made.source and "FastAPI sends it with status 200" in (
        made.source.replace("\n    ", " ")
    )


def test_a_flask_service_is_written_as_one_unit_with_its_routes_in_flasks_form() -> None:
    facts = read_requirement(
        "A Flask app in the module `desks_api`.\n\n- `GET /desks/{id}`: 404.\n"
    )
    made = skeleton(facts, "Desks.")
    assert made is not None and [u.kind for u in made.units] == ["module"]
    assert "@app.route('/desks/<id>', methods=['GET'])" in made.source


# --- the skeleton toolkit --------------------------------------------------------------------


def test_a_capitalised_name_no_builtin_has_in_a_signature_or_an_error_is_a_class_to_define() -> (
    None
):
    facts = read_requirement(
        "The module `atlas`.\n\n- `route(a: Place, b: Place) -> Optional[Path]`: the way; "
        "a gap raises `NoWayError`.\n"
        "- `near(p: Place) -> list[Place]`: raises `ValueError` if far.\n"
    )
    lines, units = stubs(facts)
    source = "\n".join(lines)
    assert [(u.name, u.kind) for u in units][:3] == [
        ("Place", "class"),
        ("Path", "class"),
        ("NoWayError", "class"),
    ]
    assert "class NoWayError(Exception):" in source and "class Place:" in source
    assert units[2].sentences == ("`route(a: Place, b: Place) -> Optional[Path]`: the way; "
                                  "a gap raises `NoWayError`.",)  # fmt: skip
    assert "class ValueError" not in source and "class Optional" not in source


# --- the probes' inputs ----------------------------------------------------------------------


def test_a_filters_transform_is_shown_the_outputs_as_calls_and_its_quotes_to_the_space() -> None:
    facts = read_requirement(
        GLOW + r'So "ab\n" is printed as "   1  ab\n", and with --dim 2 "x" becomes "  x".'
    )
    made = skeleton(facts, "Glows.")
    stub = made.source[made.source.index("def transform") :].split("\n\n\n", 1)[0]
    assert r'"   1  ab\\n"' in stub  # the docstring quotes the output with its spaces
    assert r"        transform('ab\n') == '   1  ab'" in stub  # the command adds the newline
    assert "        transform('x', dim=2) == '  x'" in stub
    assert "transform" in stubbed_names(made.source)  # still a stub to be written


def test_a_filters_transform_is_judged_by_the_outputs_shown_and_the_command_lines_examples() -> (
    None
):
    facts = read_requirement(GLOW + 'For example, "a\\nb\\n" is printed as "1 a\\n2 b\\n".')
    made = skeleton(facts, "Glows.")
    runner = TrialRunner(None, None, examples_file(facts), "glow")
    [transform] = [u for u in made.units if u.name == "transform"]
    assert runner._names(transform) == ["test_help", "test_output"]
    # a command line that is no filter is judged by its own examples alone
    command = read_requirement("Start `python -m lamps NAME... [--dim N]`.")
    [run] = [u for u in skeleton(command, "Lamps.").units if u.name == "run"]
    assert TrialRunner(None, None, examples_file(command), "lamps")._names(run) == ["test_help"]


@pytest.mark.parametrize(
    ("said", "told"),
    [
        ("An unreadable file makes it print an error message and exit with status 1.", False),
        ("", False),
        ("A malformed line is an error: it exits with status 3.", True),
        ("Bad input is refused with a message.", True),
        # one status for a refused input and an unreadable file: a clause of each
        ("Exit status 1 says: a glow not a whole number, or an unreadable file.", True),
        ("Exit status 1 says: a missing file, or one that cannot be read.", False),
    ],
)  # fmt: skip
def test_a_transform_is_told_how_to_refuse_only_where_the_requirement_refuses_input(
    said: str, told: bool
) -> None:
    made = skeleton(read_requirement(GLOW + said), "Glows.")
    stub = made.source[made.source.index("def transform") :].split("\n\n\n", 1)[0]
    assert ("To refuse the input" in stub) is told


@pytest.mark.parametrize(
    ("said", "csv"),
    [
        ("It turns a CSV sheet of glows with a header row into lines.", "header"),
        ("INPUT is a CSV table, one glow a row.", "rows"),
        ("The output is CSV, one glow a row.", ""),  # what it makes, not what it reads
        ("It turns a list of glows into CSV, one a row.", ""),
        ("It is a tool to sum a CSV sheet of glows.", "rows"),  # "to" of the tool, not the CSV
        ("It reads `glows.csv` and prints lamps.", ""),  # a file's name says nothing
    ],
)  # fmt: skip
def test_a_transform_reading_csv_is_told_to_read_it_with_the_csv_module(
    said: str, csv: str
) -> None:
    facts = read_requirement("Start `python -m lamps INPUT [--dim N]`. " + said)
    found = stream(facts)
    assert found is not None and found.csv == csv
    made = skeleton(facts, "Lamps.")
    stub = made.source[made.source.index("def transform") :].split("\n\n\n", 1)[0]
    told = " ".join(stub.split())
    assert ("`csv.DictReader(io.StringIO(text))`" in told) is (csv == "header")
    assert ("read its rows with `csv.reader(io.StringIO(text))`" in told) is (csv == "rows")
    assert ("import csv\nimport io\n" in made.source) is bool(csv)
    compile(made.source, "lamps.py", "exec")


@pytest.mark.parametrize(
    ("said", "binary"),
    [
        ("It shows a hex dump of the lamps.", True),
        ("It shows an input file's raw bytes, eight per row.", True),
        ("Any binary data will do.", True),
        ("It sums each lamp's size in bytes.", False),  # a text's size: still text
        ("It counts the bytes, words and lamps.", False),
        ("Lamps may open with a byte-order mark.", False),  # a text file's mark: no bytes
        ("It prints the lamps, one a line.", False),
    ],
)  # fmt: skip
def test_a_filter_reading_bytes_gives_its_transform_the_files_bytes(
    said: str, binary: bool, tmp_path: Path
) -> None:
    facts = read_requirement("Start `python -m lamps INPUT [--dim N]`. " + said)
    found = stream(facts)
    assert found is not None and found.binary is binary
    made = skeleton(facts, "Lamps.")
    head = "def transform(data: bytes, dim: int | None = None) -> str:"
    assert (head in made.source) is binary
    assert ('open(path, "rb")' in made.source) is binary
    if not binary:
        return
    told = " ".join(made.source[made.source.index(head) :].split("\n\n\n", 1)[0].split())
    assert "for the input's bytes `data` (already read, in binary," in told
    # run for real: a byte that is no UTF-8 reaches the transform as it is, in the file and on stdin
    body = made.source.replace(
        "    raise NotImplementedError", "    return ' '.join(f'{b:02x}' for b in data)", 1
    )
    (tmp_path / "lamps.py").write_text(body, encoding="utf-8")
    (tmp_path / "in.bin").write_bytes(b"\xff\x00A")
    done = subprocess.run(
        [sys.executable, "-m", "lamps", "in.bin"], cwd=tmp_path, capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, "ff 00 41\n"), done.stderr


def test_a_bytes_parameter_takes_the_models_json_text_as_bytes() -> None:
    assert coerced("hi", "bytes") == b"hi"
    assert coerced("b'\\xff\\x00'", "bytes") == b"\xff\x00"  # a bytes literal, read
    assert coerced([255, 0, 65], "bytes") == b"\xff\x00A"
    assert coerced([256], "bytes") == [256] and coerced(True, "bytes") is True  # no bytes
    assert coerced("é", "bytes | None") == "é".encode()


def test_a_transform_is_quoted_what_the_output_is_not_how_the_input_is_read() -> None:
    facts = read_requirement(
        GLOW + "It prints the lines glowing. If a glow file cannot be read, it writes an error "
        'message to standard error and exits with status 1. For example, "a" is printed as "*a*".'
    )
    made = skeleton(facts, "Glows.")
    stub = made.source[made.source.index("def transform") :].split("\n\n\n", 1)[0]
    [transform] = [u for u in made.units if u.name == "transform"]
    for said in (" ".join(stub.split()), " ".join(transform.sentences)):
        assert "named on the" not in said and "cannot be read" not in said, said
        assert "The option --dim takes a whole number" in said
        assert "It prints the lines glowing." in said and '"a" is printed as "*a*"' in said
    assert "except (OSError, UnicodeDecodeError)" in made.source  # tools read it, and fail to


@pytest.mark.parametrize(
    ("sentence", "quoted"),
    [
        ("It reads the named file, or standard input, and prints it glowing.",
         "It ... prints it glowing."),
        ("It reads standard input.", None),
        ("It reads the file and counts its glowing lines.",
         "It reads the file and counts its glowing lines."),
        ("The option --palette takes a file of colours.",
         "The option --palette takes a file of colours."),
        ("If the file does not exist it exits 1; an empty file prints nothing.",
         "... an empty file prints nothing."),
        ("Lines that cannot be read as numbers are skipped.",
         "Lines that cannot be read as numbers are skipped."),
    ],
)  # fmt: skip
def test_only_the_clauses_that_read_the_input_or_fail_to_are_left_out(
    sentence: str, quoted: str | None
) -> None:
    assert about_output([sentence]) == ([quoted] if quoted else [])


@pytest.mark.parametrize(
    ("said", "parameter"),
    [
        (
            "The option --dim takes an integer, the dimming level, which is 3 if omitted. ",
            "dim: int = 3",
        ),
        ("The option --dim takes an integer, the dimming level. ", "dim: int | None = None"),
        (
            'The option --mark takes a text to end lines with, which is "*" if omitted. ',
            'mark: str = "*"',
        ),
    ],
)
def test_a_transforms_parameter_has_the_default_the_command_passes(
    said: str, parameter: str
) -> None:
    facts = read_requirement(
        "We want a program called glow, started with python -m glow. It reads the file "
        "named on the command line, or standard input when none is named. " + said
    )
    made = skeleton(facts, "Glows.")
    assert made is not None
    signature = made.source[made.source.index("def transform") :].split("\n", 1)[0]
    assert parameter in signature, signature


def test_an_options_help_is_its_whole_sentences_that_fit_never_one_cut_mid_word() -> None:
    from devfactory.software.kinds.command_line import _help

    first = "The option --mark takes a text to end lines with, which is a star if omitted."
    long = "So " + " ".join(["the input 'x' is printed as 'x*'"] * 6) + "."
    assert _help((first, long)) == first  # the second would pass 160 characters
    cut = _help((long,))
    assert len(cut) <= 160 and cut.endswith("...") and long.startswith(cut[:-3])
    assert long[len(cut) - 3] == " "  # cut where a word ends
    assert _help(()) == ""
