"""A drafted Python file is checked at once, with the gate's own rules and wording."""

from __future__ import annotations

from devfactory.checks.precheck import draft_problems, no_test
from devfactory.software.plan import BuildPlan, FileRole
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


MODULE = (
    "import re\n\n\ndef count_words(text: str) -> int:\n"
    '    """Count the words."""\n    return len(re.split(" ", text))\n\n\n'
    "def _split(text):\n    return text.split()\n"
)


def test_a_test_file_with_no_test_is_said_first_with_the_code_it_copied() -> None:
    # the module written out again, cut where the copy shown was cut: it does not parse
    copied = 'import re\n\ndef count_words(text: str) -> int:\n    """Count the\n\ndef _split(t'
    found = draft_problems(
        "tests/test_wordcount.py", copied, PLAN, written={"wordcount/__init__.py": MODULE}
    )
    assert found[0] == (
        "tests/test_wordcount.py holds no test: write test functions (`def test_...():`), each "
        "calling the project's code and asserting what the requirement says it does; it defines "
        "`count_words`, `_split` again, copied from wordcount/__init__.py: import it "
        "(`from wordcount import count_words`), never copy the code"
    )
    assert "[lint]" in found[1]  # and then why it does not parse
    # a test file that holds a test, a conftest, a code file or no plan: nothing of the kind
    tested = "from wordcount import count_words\n\ndef test_one():\n    assert count_words('a')\n"
    assert no_test("tests/test_wordcount.py", tested, PLAN, {}) == ""
    assert no_test("wordcount/__init__.py", "X = 1\n", PLAN, {}) == ""
    plan = PLAN.model_copy(deep=True)
    plan.files[-2].path = "tests/conftest.py"
    assert plan.files[-2].role is FileRole.TESTS
    assert no_test("tests/conftest.py", "import pytest\n", plan, {}) == ""
    assert draft_problems("tests/test_wordcount.py", "X = 1\n", None) == []
    # one that copies nothing is still told it holds no test
    assert draft_problems("tests/test_wordcount.py", "import wordcount\n", PLAN) == [
        "tests/test_wordcount.py holds no test: write test functions (`def test_...():`), each "
        "calling the project's code and asserting what the requirement says it does"
    ]
