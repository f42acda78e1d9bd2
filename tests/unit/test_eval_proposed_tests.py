"""eval.proposed_tests judges the model's behaviour tests on each case's reference solution."""

from __future__ import annotations

from eval.catalog import load_cases
from eval.proposed_tests import Asked, outcomes, reference_functions, render


def test_the_reference_is_called_as_the_sandbox_calls_a_candidate() -> None:
    case = load_cases(["lib-isbncheck"])[0]
    assert {"is_valid", "to_isbn13"} <= reference_functions(case)
    got = outcomes(case, "is_valid", ["('0-306-40615-2',)", "('0-306-40615-3',)", "(None,)"])
    assert got[:2] == ["True", "False"] and len(got) == 3
    assert outcomes(case, "to_isbn13", ["('0306406152',)"]) == ["'9780306406157'"]
    assert outcomes(case, "no_such_function", ["(1,)"]) == []  # the import's failure: nothing


def test_the_report_totals_what_was_proposed_kept_and_right() -> None:
    rows = [
        Asked("lib-a", "f", 4, 2, 1, 3.0, {"expecting no literal": 2}),
        Asked("lib-a", "g", 3, 3, 3, 2.5),
    ]
    table = render(rows, "Behaviour tests")
    assert "**2 units: 7 proposed, 5 kept, 4 right on the reference.**" in table
    assert "| lib-a | f | 4 | 2 | 1 | 3 | 2 expecting no literal |" in table
