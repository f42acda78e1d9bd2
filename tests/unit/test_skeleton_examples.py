"""Skeletons, example tests and splicing: what tools write before and around the model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devfactory.graph.stage.build_loop.splice import SpliceError, fragment, splice
from devfactory.software.kinds import examples, examples_file, skeleton
from devfactory.software.requirement import read_requirement
from devfactory.software.skeleton import STUB, UnitKind
from tests.unit.test_requirement_parser import CLI, LIBRARY, SUBCOMMANDS, WEB

ROMAN = """# numerals

Build a Python module `numerals`.

- `to_roman(n: int) -> str`: `n` from 1 to 3999 (4 is `IV`, 1994 is `MCMXCIV`). Anything
  else raises `ValueError`.
- `from_roman(s: str) -> int`: only canonical numerals (so `IIII` and `VX` raise
  `ValueError`).

Examples: `to_roman(9)` is `"IX"`; `from_roman("XL")` returns `40`; `to_roman(0)` raises
`ValueError`.
"""


def write(tmp_path: Path, name: str, source: str) -> Path:
    (tmp_path / name).write_text(source)
    return tmp_path


def run(tmp_path: Path, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=tmp_path, capture_output=True, text=True
    )


def test_a_cli_skeleton_answers_help_and_refuses_bad_usage_before_any_model(
    tmp_path: Path,
) -> None:
    made = skeleton(read_requirement(CLI), "Count words.")
    assert made is not None and made.path == "tally.py"
    assert [(u.name, u.kind) for u in made.units] == [("run", UnitKind.COMMAND)]
    write(tmp_path, "tally.py", made.source)
    helped = run(tmp_path, "tally", "--help")
    assert helped.returncode == 0 and "--top" in helped.stdout and "-o" in helped.stdout
    assert run(tmp_path, "tally", "--no-such-option").returncode == 2
    assert run(tmp_path, "tally").returncode == 2  # FILE... is required
    assert run(tmp_path, "tally", "a.txt", "--top", "x").returncode == 2  # N is an integer
    stub = run(tmp_path, "tally", "a.txt")
    assert "NotImplementedError" in stub.stderr  # the body is the model's to write


FILTER = """# squeeze

Build a command-line program, run as `python -m squeeze [FILE] [--upper] [--keep N]
[--output OUT]`, that drops repeated lines of a UTF-8 text file.

- Input: FILE, or standard input when FILE is omitted or is `-`.
- `--upper`: print the kept lines in upper case. `--keep N`: keep at most N lines.
- A line holding only `STOP` is refused: print `squeeze: <message>` on stderr and exit 3.
- Exit codes: 0 on success; 1 when FILE cannot be read; 2 on usage errors.
"""

TRANSFORM_BODY = """
def transform(text: str, upper: bool = False, keep: int | None = None) -> str:
    seen = []
    for line in text.splitlines():
        if line == "STOP":
            raise ValueError("STOP is not a line")
        if line not in seen:
            seen.append(line)
    kept = seen[:keep] if keep is not None else seen
    return "\\n".join(line.upper() if upper else line for line in kept)
"""


def test_a_filter_cli_reads_and_writes_by_tools_and_asks_the_model_only_for_the_transform(
    tmp_path: Path,
) -> None:
    facts = read_requirement(FILTER)
    made = skeleton(facts, "Squeeze.")
    assert made is not None
    assert [(u.name, u.kind) for u in made.units] == [("transform", UnitKind.COMMAND)]
    assert "def transform(text: str, upper: bool = False, keep: int | None = None) -> str:" in (
        made.source
    )
    told = made.units[0].told  # what its tests are told: `text` is the input, read
    assert told[0].startswith("Return, as one string, what the command outputs for the input")
    assert "(already read from the file or standard input)" in told[0]
    assert [t.split(" is ")[0] for t in told[1:3]] == ["`upper`", "`keep`"]
    write(tmp_path, "squeeze.py", made.source)
    (tmp_path / "in.txt").write_text("\ufeffa\nb\na\n")  # a byte-order mark is dropped
    stub = run(tmp_path, "squeeze", "in.txt")
    assert "NotImplementedError" in stub.stderr  # the transform is the model's to write
    missing = run(tmp_path, "squeeze", "nope.txt")  # the reading needs no model at all
    assert missing.returncode == 1 and missing.stderr.startswith("squeeze: nope.txt: ")

    written = splice(made.source, fragment(TRANSFORM_BODY, "transform"), "transform")
    write(tmp_path, "squeeze.py", written)
    done = run(tmp_path, "squeeze", "in.txt", "--upper")
    assert (done.returncode, done.stdout) == (0, "A\nB\n")  # the output ends with a newline
    piped = subprocess.run(
        [sys.executable, "-m", "squeeze", "-", "--keep", "1"],
        cwd=tmp_path, input="x\nx\ny\n", capture_output=True, text=True,
    )  # fmt: skip
    assert (piped.returncode, piped.stdout) == (0, "x\n")
    saved = run(tmp_path, "squeeze", "in.txt", "--output", "out.txt")
    assert (saved.returncode, saved.stdout) == (0, "")
    assert (tmp_path / "out.txt").read_text() == "a\nb\n"
    (tmp_path / "bad.txt").write_text("a\nSTOP\n")
    refused = run(tmp_path, "squeeze", "bad.txt", "--output", "never.txt")
    assert (refused.returncode, refused.stderr.strip()) == (3, "squeeze: STOP is not a line")
    assert not (tmp_path / "never.txt").exists()  # a refused input writes nothing


def test_a_cli_over_many_files_or_with_subcommands_is_written_whole() -> None:
    for text in (CLI, SUBCOMMANDS):
        made = skeleton(read_requirement(text), "Whole.")
        assert made is not None and [u.name for u in made.units][-1] == "run"


REPORT = """# tallies

Build a script, run as `python -m tallies DATA_CSV --by FIELD [--top N]`, that sums a
CSV file's `amount` column (an integer) by a field.

`--by` is `region`, `product` or `month`; `--top N` keeps the N largest groups.

Errors exit 1 with a message on stderr: a value that is not an integer, or an unreadable
file. A `--by` value not listed exits 2.
"""


def test_an_options_listed_values_become_choices_and_an_integer_said_of_another_does_not_count(
    tmp_path: Path,
) -> None:
    facts = read_requirement(REPORT)
    options = {o.flags[-1]: (o.integer, o.choices) for o in facts.options}
    assert options == {"--by": (False, ("region", "product", "month")), "--top": (True, ())}
    made = skeleton(facts, "Sums.")
    assert made is not None
    write(tmp_path, "tallies.py", made.source)
    assert run(tmp_path, "tallies", "--help").returncode == 0
    assert run(tmp_path, "tallies", "a.csv", "--by", "colour").returncode == 2  # not listed
    (tmp_path / "a.csv").write_text("region,amount\n")
    stub = run(tmp_path, "tallies", "a.csv", "--by", "region")  # parses: the body runs
    assert "NotImplementedError" in stub.stderr
    # the unreadable-file probe gives the required option a value the parser takes
    [probe] = [e for e in examples(facts) if e.name == "unreadable_file"]
    assert "run_cli(str(tmp_path / 'no-such-file.txt'), '--by', 'region')" in probe.body


def test_subcommands_become_subparsers(tmp_path: Path) -> None:
    made = skeleton(read_requirement(SUBCOMMANDS), "Convert units.")
    assert made is not None
    write(tmp_path, "units.py", made.source)
    assert "to-metres" in run(tmp_path, "units", "--help").stdout
    assert run(tmp_path, "units", "nope", "1").returncode == 2
    assert run(tmp_path, "units").returncode == 2


def test_a_web_skeleton_serves_its_routes_with_their_statuses(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    made = skeleton(read_requirement(WEB), "Notes.")
    assert made is not None
    assert [(u.name, u.kind) for u in made.units] == [
        ("post_notes", UnitKind.ROUTE),
        ("get_notes_id", UnitKind.ROUTE),
        ("delete_notes_id", UnitKind.ROUTE),
    ]
    # the state the handlers share is declared by tools, so each is written on its own
    assert "notes: dict[int, dict[str, Any]] = {}" in made.source
    assert "def new_id() -> int:" in made.source and "def get_notes_id(id: int):" in made.source
    write(tmp_path, "notes_api.py", made.source)
    probe = (
        "from fastapi.testclient import TestClient\nimport notes_api\n"
        "routes = {(m, r.path): r.status_code for r in notes_api.app.routes "
        "if hasattr(r, 'status_code') for m in r.methods}\nprint(sorted(routes.items()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "(('POST', '/notes'), 201)" in done.stdout
    assert "(('DELETE', '/notes/{id}'), 204)" in done.stdout
    assert "(('GET', '/notes/{id}'), None)" in done.stdout


def test_web_handlers_take_the_json_body_and_the_query_the_requirement_shows(
    tmp_path: Path,
) -> None:
    pytest.importorskip("fastapi")
    text = WEB + "- `GET /notes`: 200 and the notes; `?pinned=true` only the pinned ones.\n"
    text += "- `POST /notes/{id}/pin`: 200 and the note.\n"
    made = skeleton(read_requirement(text), "Notes.")
    assert made is not None
    assert "def post_notes(body: dict[str, Any] = Body(...)):" in made.source  # "with {...}"
    assert "def get_notes(pinned: bool | None = None):" in made.source
    assert "def post_notes_id_pin(id: int, body: dict[str, Any] | None = Body(None)):" in (
        made.source
    )
    assert "def get_notes_id(id: int):" in made.source  # GET takes no body
    # each handler is told how FastAPI answers for its status: a dict, or the 204's Response
    said = " ".join(made.source.split())
    assert said.count("never `Response(content=...)`") == 4  # all but the DELETE
    assert "It answers `Response(status_code=204)` (no body)." in said
    write(tmp_path, "notes_api.py", made.source)
    probe = (
        "from fastapi.testclient import TestClient\nimport notes_api\n"
        "c = TestClient(notes_api.app, raise_server_exceptions=False)\n"
        "print(c.post('/notes').status_code, c.post('/notes', json=[1]).status_code,"
        " c.post('/notes', json={'text': 'a'}).status_code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True
    )
    # no body and a body that is no object are refused by FastAPI; an object reaches the stub
    assert done.stdout.split() == ["422", "422", "500"], done.stderr


def test_a_library_skeleton_keeps_signatures_and_quotes_the_requirement() -> None:
    made = skeleton(read_requirement(LIBRARY), "Stats.")
    assert made is not None
    assert "def clamp(x: int, low: int = 0, high: int = 10) -> int:" in made.source
    assert "the arithmetic mean" in made.source and made.source.count(STUB) == 2
    assert [u.name for u in made.units] == ["mean", "clamp"]


def test_examples_become_tests_that_quote_their_sentence() -> None:
    facts = read_requirement(ROMAN)
    bodies = {e.body.strip() for e in examples(facts)}
    assert "assert to_roman(4) == 'IV'" in bodies
    assert "assert to_roman(1994) == 'MCMXCIV'" in bodies
    assert 'assert to_roman(9) == "IX"' in bodies
    assert 'assert from_roman("XL") == 40' in bodies
    assert "with pytest.raises(ValueError):\n        from_roman('IIII')" in bodies
    assert "with pytest.raises(ValueError):\n        to_roman(0)" in bodies
    made = examples_file(facts)
    assert made is not None and "(4 is `IV`, 1994 is `MCMXCIV`)" in made.source  # quoted
    assert set(made.about.values()) == {"to_roman", "from_roman"}
    compile(made.source, "t.py", "exec")


def test_the_examples_pass_on_a_right_module_and_fail_on_a_wrong_one(tmp_path: Path) -> None:
    made = examples_file(read_requirement(ROMAN))
    assert made is not None
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_examples.py").write_text(made.source)
    right = (
        "V = [(1000,'M'),(900,'CM'),(500,'D'),(400,'CD'),(100,'C'),(90,'XC'),(50,'L'),"
        "(40,'XL'),(10,'X'),(9,'IX'),(5,'V'),(4,'IV'),(1,'I')]\n"
        "def to_roman(n):\n    if not 1 <= n <= 3999: raise ValueError(n)\n    out=''\n"
        "    for v,s in V:\n        while n>=v: out+=s; n-=v\n    return out\n"
        "def from_roman(s):\n    for n in range(1,4000):\n        if to_roman(n)==s: return n\n"
        "    raise ValueError(s)\n"
    )
    write(tmp_path, "numerals.py", right)
    ok = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests"], cwd=tmp_path,
                        capture_output=True, text=True)  # fmt: skip
    assert ok.returncode == 0, ok.stdout
    write(tmp_path, "numerals.py", right.replace("(4,'IV'),", ""))
    wrong = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests"], cwd=tmp_path,
                           capture_output=True, text=True)  # fmt: skip
    assert wrong.returncode == 1 and "to_roman(4)" in wrong.stdout


def test_cli_examples_are_probes_the_requirement_settles() -> None:
    names = [e.name for e in examples(read_requirement(CLI))]
    assert names == ["help", "unknown_option", "no_arguments", "unreadable_file"]


def test_web_examples_probe_unknown_ids_for_404() -> None:
    found = examples(read_requirement(WEB))
    assert [e.body.strip() for e in found] == [
        "answer = client.post('/notes', json={'text': 'example'})\n"
        "    assert answer.status_code < 500, answer.text",  # the shape its sentence shows
        "assert client.get('/notes/999999').status_code == 404",
        "assert client.delete('/notes/999999').status_code == 404",
    ]
    listing = WEB + "- `GET /notes`: 200 and a JSON list of the notes.\n"
    [listed] = [e for e in examples(read_requirement(listing)) if e.name == "get_list_is_200"]
    assert "client.get('/notes')" in listed.body and listed.about == "get_notes"
    assert listed.quote.startswith("`GET /notes`: 200")


def test_a_reply_is_spliced_as_the_unit_its_helpers_and_imports_only() -> None:
    made = skeleton(read_requirement(LIBRARY), "Stats.")
    assert made is not None
    reply = (
        "Sure:\n```python\nimport math\nfrom __future__ import annotations\n\n"
        "def _total(xs):\n    return math.fsum(xs)\n\n"
        "def mean(values):\n    if not values: raise ValueError('empty')\n"
        "    return _total(values) / len(values)\n\n"
        "def clamp(x, low=0, high=10):\n    return 5\n\nprint(mean([1, 2]))\n```"
    )
    piece = fragment(reply, "mean", others=frozenset({"clamp"}))
    assert piece.imports == ("import math",) and len(piece.helpers) == 1
    spliced = splice(made.source, piece, "mean")
    assert "import math" in spliced and "def _total(xs)" in spliced
    assert "return 5" not in spliced and "print(" not in spliced  # clamp is not mean's
    assert spliced.count(STUB) == 1  # clamp still waits for its own unit


def test_only_the_helpers_the_unit_reaches_are_kept() -> None:
    reply = (
        "```python\nLIMIT = 3\n\n"
        "def _cap(n):\n    return min(n, LIMIT)\n\n"
        "def _total(xs):\n    return sum(_cap(x) for x in xs)\n\n"
        "def mean(values):\n    return _total(values) / len(values)\n\n"
        "def run(args):\n    print(mean(args))\n    return 0\n\n"
        "def _unused():\n    return 1\n```"
    )
    piece = fragment(reply, "mean")
    kept = "".join(piece.helpers)
    # mean uses _total, which uses _cap, which reads LIMIT: all kept, in the reply's order
    assert [h.split("\n")[0] for h in piece.helpers] == [
        "LIMIT = 3",
        "def _cap(n):",
        "def _total(xs):",
    ]
    # a runner of the model's own, and what nothing of mean's reaches, are dropped
    assert "def run(" not in kept and "_unused" not in kept


@pytest.mark.parametrize(
    ("reply", "why"),
    [("```python\ndef mean(:\n```", "does not parse"), ("def other(): pass", "no top-level")],
)
def test_a_reply_without_the_unit_is_refused(reply: str, why: str) -> None:
    with pytest.raises(SpliceError, match=why):
        fragment(reply, "mean")


def test_a_route_handler_is_spliced_under_the_skeletons_decorator() -> None:
    made = skeleton(read_requirement(WEB), "Notes.")
    assert made is not None
    reply = (
        "```python\nfrom fastapi import FastAPI\napp = FastAPI()\nnotes = {}\n\n"
        "@app.post('/notes')\ndef post_notes(body: dict[str, Any] = Body(...)):\n"
        "    note = {'id': new_id(), 'text': body['text']}\n"
        "    notes[note['id']] = note\n    return note\n```"
    )
    spliced = splice(made.source, fragment(reply, "post_notes"), "post_notes")
    assert "@app.post('/notes', status_code=201)\ndef post_notes(" in spliced  # the spec's
    assert "@app.post('/notes')\n" not in spliced  # the reply's own decorator is dropped
    assert spliced.count("app = FastAPI()") == 1 and spliced.count("notes: dict[") == 1
    assert "notes = {}" not in spliced  # the declared state is not declared again
    assert STUB in fragment(spliced, "get_notes_id").unit  # the other handlers wait their turn


@pytest.mark.parametrize(
    ("post", "outcome"),
    [
        ("    raise HTTPException(status_code=422, detail='no')", "passed"),  # a refusal is fine
        ("    return {'id': new_id().next(), **body}", "failed"),  # AttributeError: a 500
    ],
)
def test_a_handler_that_crashes_on_a_well_shaped_body_fails_the_examples(
    tmp_path: Path, post: str, outcome: str
) -> None:
    pytest.importorskip("fastapi")
    facts = read_requirement(WEB)
    made, tests = skeleton(facts, "Notes."), examples_file(facts)
    assert made is not None and tests is not None
    source = made.source.replace(f"    {STUB}", post, 1)  # the first handler: POST /notes
    write(tmp_path, "notes_api.py", source)
    (tmp_path / "test_examples.py").write_text(tests.source)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_examples.py",
         "-k", "post_never_a_server_error"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert f"1 {outcome}" in done.stdout, done.stdout[-2000:]


def test_a_filter_whose_option_would_clash_with_the_transforms_text_is_written_whole() -> None:
    clash = FILTER.replace("[--upper]", "[--text]").replace("`--upper`", "`--text`")
    made = skeleton(read_requirement(clash), "Squeeze.")  # it still parses
    assert made is not None and [u.name for u in made.units] == ["run"]


def test_a_docstring_keeps_each_quoted_text_whole_and_an_empty_one_pairs_with_itself() -> None:
    from devfactory.software.skeleton import doc

    sentence = (
        'Blank input returns "". Then, for example, shout("a b") is "A B!" and '
        'shout("one  two", mark="?") is "ONE  TWO?"; a name made of many words such as '
        '"the quick brown fox jumps over it" is kept whole on one line of the docstring.'
    )
    rendered = doc([sentence], "    ")
    flat = " ".join(line.strip() for line in rendered.splitlines())
    for quoted in ('""', '"a b"', '"A B!"', '"one  two"', '"?"', '"ONE  TWO?"'):
        assert quoted in rendered, quoted  # not broken across lines, spaces kept
    assert '"the quick brown fox jumps over it"' in rendered
    assert flat.count('"') == sentence.count('"') + 6  # and the docstring's own quotes
    assert all(len(line) <= 88 for line in rendered.splitlines())
