import pytest

from devfactory.control.hitl import DecisionError, Pause
from devfactory.factory.reports import Pending, choose_pending
from devfactory.store.runs_table import RunStateError


def pending(ident: str, kind: str = "governance") -> Pending:
    pause = Pause(kind=kind, title="t", question="q", actions=("approve",), roles=("admin",))
    return Pending("r1", ident, pause)


GOVERNANCE = pending("3f9a2c71d4e8b0a6", "governance")
REVIEW = pending("3f9a2c0055aa11bb", "review")


@pytest.mark.parametrize("ident", [None, "", "   ", "3", "3f9a2"])
def test_an_answer_without_a_real_id_answers_nothing(ident: str | None) -> None:
    with pytest.raises(DecisionError, match="at least 6 characters"):
        choose_pending("r1", [GOVERNANCE], interrupt_id=ident, kind=None)


def test_the_full_id_or_an_unambiguous_prefix_picks_exactly_one_question() -> None:
    assert choose_pending("r1", [GOVERNANCE, REVIEW], interrupt_id=GOVERNANCE.interrupt_id,
                          kind=None) == [GOVERNANCE]  # fmt: skip
    assert choose_pending("r1", [GOVERNANCE, REVIEW], interrupt_id="3f9a2c7", kind=None) == [
        GOVERNANCE
    ]
    with pytest.raises(DecisionError, match="several pending questions"):
        choose_pending("r1", [GOVERNANCE, REVIEW], interrupt_id="3f9a2c", kind=None)
    with pytest.raises(DecisionError, match="no pending question has id"):
        choose_pending("r1", [GOVERNANCE, REVIEW], interrupt_id="ffffff", kind=None)


def test_a_kind_given_with_the_id_must_be_that_questions_kind() -> None:
    with pytest.raises(DecisionError, match="is a review question, not a governance one"):
        choose_pending("r1", [GOVERNANCE, REVIEW], interrupt_id="3f9a2c00", kind="governance")


def test_a_question_nobody_waits_on_any_more_is_a_state_error() -> None:
    with pytest.raises(RunStateError):
        choose_pending("r1", [], interrupt_id=GOVERNANCE.interrupt_id, kind=None)
