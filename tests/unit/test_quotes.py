"""Quotes a draft left unescaped inside a string literal are escaped when that makes it parse."""

from __future__ import annotations

import ast

from devfactory.repairs.quotes import escape_inner_quotes

HELP = (
    '    parser.add_argument("--json", action="store_true", help="Print `{"files": '
    '[{"path": str}], "total": {"lines": int}}` instead.")'
)
SOURCE = f"import argparse\n\n\ndef main():\n    parser = argparse.ArgumentParser()\n{HELP}\n"


def _keywords(source: str) -> dict[str, object]:
    call = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call) and n.keywords
                and any(k.arg == "help" for k in n.keywords))  # fmt: skip
    return {k.arg or "": ast.literal_eval(k.value) for k in call.keywords}


def test_the_quotes_inside_the_broken_literal_are_escaped_and_its_neighbours_kept() -> None:
    fixed, rows = escape_inner_quotes(SOURCE)
    assert rows == [6]
    assert _keywords(fixed) == {
        "action": "store_true",  # not swallowed into one long string
        "help": 'Print `{"files": [{"path": str}], "total": {"lines": int}}` instead.',
    }


def test_each_broken_line_is_repaired_in_turn() -> None:
    source = SOURCE + '    print(\'it\'s done\')\n    print("say "hi" now")\n'
    fixed, rows = escape_inner_quotes(source)
    assert rows == [6, 7, 8]
    assert "print('it\\'s done')" in fixed and 'print("say \\"hi\\" now")' in fixed
    ast.parse(fixed)


def test_a_file_that_parses_or_breaks_otherwise_is_left_as_it_is() -> None:
    clean = 'x = \'a "quoted" word\'\ny = "it\'s"\n'
    assert escape_inner_quotes(clean) == (clean, [])
    cut = 'def f():\n    return "unfinished\n'  # cut off: no quote to escape
    assert escape_inner_quotes(cut) == (cut, [])
    other = SOURCE + "    if True print(1)\n"  # the quotes are fixable, the rest is not
    assert escape_inner_quotes(other) == (other, [])
    docstring = 'def f():\n    """A "quoted" doc."""\n    return (\n'
    assert escape_inner_quotes(docstring) == (docstring, [])


def test_a_literal_among_the_arguments_of_a_call_over_several_lines_is_repaired() -> None:
    source = 'f(\n    "--json",\n    help="Print {"files": 1} now",\n)\n'
    fixed, rows = escape_inner_quotes(source)
    assert rows == [3]
    assert 'help="Print {\\"files\\": 1} now",' in fixed
    ast.parse(fixed)


def test_a_python_draft_gets_the_repair_and_it_is_recorded_with_its_imports() -> None:
    from langchain_core.messages import HumanMessage

    from devfactory.graph.model_io.structured import draft_file
    from tests.unit.test_imports import model

    reply = SOURCE.replace("import argparse\n", "") + "    return json.dumps({})\n"
    got = draft_file(model(reply), [HumanMessage("x")], path="wc.py", kind="python",
                     max_model_errors=1)  # fmt: skip
    assert got.artifact is not None
    assert _keywords(got.artifact.content)["action"] == "store_true"
    assert got.repairs == [
        "quotes inside a string escaped (line 3) [quotes]",  # the reply's blank lines stripped
        "`import argparse` added (used, never imported) [stdlib-imports]",
        "`import json` added (used, never imported) [stdlib-imports]",
    ]
