"""Acceptance tests for the `envfile` module, written from the requirement alone."""

from pathlib import Path

import pytest
from envfile import EnvSyntaxError, load, parse


def test_the_example_from_the_requirement() -> None:
    text = "export NAME = demo\nGREETING=\"hi ${NAME}!\"\nRAW='${NAME}'  # as written\n"
    assert parse(text) == {"NAME": "demo", "GREETING": "hi demo!", "RAW": "${NAME}"}


def test_blank_lines_and_comments_are_skipped() -> None:
    text = "# settings\n\n   \n   # indented comment\nPORT=8080\n"
    assert parse(text) == {"PORT": "8080"}


def test_split_at_first_equals_last_value_wins_and_empty_values() -> None:
    text = "QUERY=a=b=c\nMODE=slow\nEMPTY=\nMODE = fast \n"
    assert parse(text) == {"QUERY": "a=b=c", "MODE": "fast", "EMPTY": ""}


def test_single_quoted_values_are_taken_literally() -> None:
    text = "A=1\nB = '  x # y \\n ${A}  '\n"
    assert parse(text) == {"A": "1", "B": "  x # y \\n ${A}  "}


def test_double_quoted_values_process_escapes_and_keep_hashes() -> None:
    text = 'A="one\\ntwo \\"q\\" back\\\\slash"\nB="x # not a comment"   # a comment\n'
    assert parse(text) == {"A": 'one\ntwo "q" back\\slash', "B": "x # not a comment"}


def test_unquoted_values_drop_comments_after_a_space_only() -> None:
    text = "A=x   # comment\nB=x#y\nC=a b  c\n"
    assert parse(text) == {"A": "x", "B": "x#y", "C": "a b  c"}


def test_references_to_earlier_keys_are_expanded() -> None:
    text = 'A=1\nB=${A}2\nC="${A}-${MISSING}"\nD=${E}\nE=5\n'
    assert parse(text) == {"A": "1", "B": "12", "C": "1-", "D": "", "E": "5"}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("A=1\nnot a pair\n", 2),
        ("A=1\n\n1BAD=2\n", 3),
        ("MY KEY=1\n", 1),
        ('A=1\nB="open\n', 2),
        ("A='x' trailing\n", 1),
    ],
)
def test_syntax_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(EnvSyntaxError) as caught:
        parse(text)
    assert isinstance(caught.value, ValueError)
    assert caught.value.line == line


def test_load_parses_a_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.env"
    path.write_text("export DESSERT=crème brûlée\nSIZE='large'\n", encoding="utf-8")
    assert load(str(path)) == {"DESSERT": "crème brûlée", "SIZE": "large"}
