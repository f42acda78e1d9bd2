"""A drafted Python file is checked at once, with the gate's own rules and wording."""

from __future__ import annotations

from devfactory.software.plan import BuildPlan
from devfactory.software.precheck import draft_problems
from tests.unit.test_build_plan import cli_plan

PLAN = BuildPlan.model_validate(cli_plan())
PATH = "wordcount/__init__.py"


def test_a_clean_file_that_defines_its_planned_names_has_no_findings() -> None:
    source = (
        "import re\n\n\ndef count_words(text: str) -> int:\n    return len(re.split(' ', text))\n"
    )
    assert draft_problems(PATH, source, PLAN) == []
    # pytest fixtures are parameters, not undefined names
    assert (
        draft_problems(
            "tests/test_wordcount.py", "def test_a(tmp_path):\n    assert tmp_path\n", PLAN
        )
        == []
    )


def test_a_syntax_error_is_found_with_its_line_quoted_and_names_are_not_checked() -> None:
    source = 'def count_words(text):\n    print("say "hi" now")\n    return 0\n'
    found = draft_problems(PATH, source, PLAN)
    assert found and all(f.startswith(f"{PATH} [lint]: line 2: invalid-syntax") for f in found)
    assert '(the line: `print("say "hi" now")`)' in found[0]
    assert not any("does not define" in f for f in found)  # a broken file defines nothing


def test_an_undefined_name_and_a_missing_planned_name_are_found() -> None:
    undefined = "def count_words(text: str) -> int:\n    return len(n)\n"
    assert draft_problems(PATH, undefined, PLAN) == [
        f"{PATH} [lint]: line 2: F821 Undefined name `n` (the line: `return len(n)`)"
    ]
    renamed = "def word_count(text: str) -> int:\n    return len(text.split())\n"
    assert draft_problems(PATH, renamed, PLAN) == [
        f"{PATH} [plan]: does not define `count_words` (planned: def count_words(text: str) -> int)"
    ]
    assert draft_problems(PATH, renamed, None) == []  # no plan: lint only


def test_a_file_broken_everywhere_gets_the_first_findings_only() -> None:
    source = "\n".join(f"x{i} = y{i}" for i in range(30))
    found = draft_problems("wordcount/__main__.py", source, PLAN)
    assert len(found) == 8 and "Undefined name `y0`" in found[0]
