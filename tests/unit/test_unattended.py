"""The unattended preset's rule table, its pre-approvals, and its CLI flags (no database)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, get_args

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.cli import common
from devfactory.control.hitl import Decision, DecisionError, Pause, check_decision, make_pause
from devfactory.control.policy import PauseKind, Policy, UnattendedRules, load_policy
from devfactory.control.unattended import (
    ACTOR,
    RULES,
    PreApproval,
    Rule,
    answer,
    check_pre_approver,
    rules_table,
)
from devfactory.factory.facade import RunReport
from devfactory.factory.intake import StartRequest

POLICY = load_policy()
HIGH_RISK = {"risk": "HIGH", "risk_factors": ["handles health or medical records"]}


def pause_for(rule: Rule, **details: Any) -> Pause:
    kind: PauseKind = "governance" if rule == "scope" else rule
    return make_pause(POLICY, kind, title=f"a {rule} pause", question="?", details=details)


def alice(project: str = "clinic", role: str = "approver") -> PreApproval:
    return PreApproval(
        project=project, by="alice", role=role, note="DPO signed", at=datetime.now(UTC)
    )


def test_every_pause_kind_has_a_recorded_rule() -> None:
    kinds = set(get_args(PauseKind)) - {"hold"}  # a hold waits for its operator
    assert kinds | {"scope"} == set(RULES)
    assert rules_table(POLICY) == {
        "governance": "pre_approved",
        "scope": "reject",
        "budget": "stop",
        "review": "approve",
        "blocked": "fail",
        "clarification": "decide",
        "merge": "wait",  # an unattended run never merges by itself
    }


@pytest.mark.parametrize(
    ("rule", "action", "role", "says"),
    [
        ("clarification", "reject", "operator", "list the assumption under assumptions_made"),
        ("blocked", "reject", "operator", "the stage ends BLOCKED and the run fails"),
        ("review", "approve", "reviewer", "approved by policy"),
        ("budget", "reject", "approver", "no budget override"),
        ("scope", "reject", "approver", "past the approved scope is rejected by policy"),
    ],
)
def test_each_rule_answers_like_a_person_that_the_policy_allows(
    rule: Rule, action: str, role: str, says: str
) -> None:
    pause = pause_for(rule)
    decision = answer(pause, POLICY, rule=rule)
    assert decision is not None
    assert (decision.action, decision.by, decision.role) == (action, ACTOR, role)
    assert says in decision.text and f"unattended rule {rule}: " in decision.text
    check_decision(pause, decision)  # the same check a person's answer passes
    assert decision.by_policy and decision.actor == ACTOR
    assert decision.summary().startswith(f"{action} by {ACTOR}: ")


def test_a_governance_approval_waits_unless_the_project_was_pre_approved() -> None:
    pause = pause_for("governance", **HIGH_RISK)
    assert answer(pause, POLICY, project="clinic") is None
    assert answer(pause, POLICY, project="clinic", pre_approval=alice("elsewhere")) is None
    decision = answer(pause, POLICY, project="clinic", pre_approval=alice())
    assert decision is not None
    assert (decision.action, decision.by, decision.role) == ("approve", ACTOR, "approver")
    assert "pre-approved for project clinic by alice (approver)" in decision.text
    assert "DPO signed" in decision.text and "rule governance: pre_approved" in decision.text
    check_decision(pause, decision)


def test_text_aimed_at_the_reviewers_is_never_pre_approved() -> None:
    pause = pause_for("governance", risk="HIGH", risk_factors=[POLICY.injection.factor])
    assert answer(pause, POLICY, project="clinic", pre_approval=alice()) is None


def test_a_pre_approval_by_a_role_the_policy_no_longer_allows_waits() -> None:
    pause = pause_for("governance", **HIGH_RISK)
    assert answer(pause, POLICY, project="clinic", pre_approval=alice(role="operator")) is None


def test_only_a_role_that_approves_governance_may_pre_approve() -> None:
    check_pre_approver(POLICY, "alice", "approver")
    check_pre_approver(POLICY, "root", "admin")
    for role in ("viewer", "operator", "reviewer"):
        with pytest.raises(DecisionError, match=f"role '{role}' may not pre-approve"):
            check_pre_approver(POLICY, "bob", role)
    with pytest.raises(DecisionError, match="are the factory's own"):
        check_pre_approver(POLICY, ACTOR, "approver")


def test_a_rule_set_to_wait_leaves_the_pause_to_a_person() -> None:
    waiting = POLICY.model_copy(
        update={"unattended": UnattendedRules(review="wait", clarification="wait")}
    )
    assert answer(pause_for("review"), waiting) is None
    assert answer(pause_for("clarification"), waiting) is None
    assert answer(pause_for("budget"), waiting) is not None


def test_a_rule_the_pause_does_not_allow_is_left_to_a_person() -> None:
    # the last review round offers approve or reject: a "reject" rule still fits it
    rejecting = POLICY.model_copy(update={"unattended": UnattendedRules(review="reject")})
    last = pause_for("review").model_copy(update={"actions": ("approve", "reject")})
    decided = answer(last, rejecting)
    assert decided is not None and decided.action == "reject"
    # a pause nobody may answer is not answered by the policy either
    nobody = pause_for("budget").model_copy(update={"roles": ()})
    assert answer(nobody, POLICY) is None


def test_the_policy_file_may_leave_out_the_unattended_section() -> None:
    data = POLICY.model_dump(mode="json", exclude={"unattended"})
    assert Policy.model_validate(data).unattended == UnattendedRules()
    with pytest.raises(ValueError, match="unattended"):
        Policy.model_validate({**data, "unattended": {"review": "sometimes"}})


def test_a_persons_decision_keeps_its_name_and_role() -> None:
    person = Decision(action="approve", by="bob", role="reviewer")
    assert not person.by_policy and person.actor == "bob (reviewer)"
    assert person.summary() == "approve by bob (reviewer)"


# -- the CLI ---------------------------------------------------------------------------------


class RecordingFactory:
    """Records how runs are started and projects pre-approved."""

    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []
        self.approved: list[dict[str, Any]] = []
        self.closed = False

    def start(self, asked: StartRequest, **kwargs: Any) -> RunReport:
        self.started.append({**vars(asked), **kwargs})
        return RunReport("r1", "COMPLETED", "", cli.Path("/tmp/o"), [])

    def approve_project(self, project: str, **kwargs: Any) -> PreApproval:
        check_pre_approver(POLICY, kwargs["by"], kwargs["role"])
        self.approved.append({"project": project, **kwargs})
        return PreApproval(
            project=project, by=kwargs["by"], role=kwargs["role"], at=datetime.now(UTC)
        )

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> RecordingFactory:
    factory = RecordingFactory()
    monkeypatch.setattr(common, "open_factory", lambda settings: factory)
    return factory


def test_run_unattended_flag_reaches_the_factory(fake: RecordingFactory) -> None:
    for args, expected in (
        (["--unattended"], True),
        (["--attended"], False),
        ([], None),  # None: the unattended setting decides
    ):
        result = CliRunner().invoke(cli.app, ["run", "A todo API", *args])
        assert result.exit_code == 0, result.output
        assert fake.started[-1]["unattended"] is expected


def test_approve_project_needs_an_approving_role(fake: RecordingFactory) -> None:
    refused = CliRunner().invoke(
        cli.app, ["approve-project", "clinic", "--by", "bob", "--role", "operator"]
    )
    assert refused.exit_code == cli.EXIT_USAGE, refused.output
    assert "role 'operator' may not pre-approve a project" in refused.output
    assert fake.approved == []
    ok = CliRunner().invoke(
        cli.app,
        ["approve-project", "clinic", "--by", "alice", "--role", "approver", "--note", "DPO ok"],
    )
    assert ok.exit_code == 0, ok.output
    assert "alice (approver) pre-approved project 'clinic'" in ok.output
    assert fake.approved == [
        {"project": "clinic", "by": "alice", "role": "approver", "note": "DPO ok", "revoke": False}
    ]
    assert fake.closed


@pytest.fixture
def users_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from devfactory.settings import get_settings
    from devfactory.users import UserStore

    path = tmp_path / "users.yaml"
    store = UserStore(path)
    store.add("olga", "olga operates the factory 42", "operator")
    store.add("alice", "alice approves the factory 42", "approver")
    monkeypatch.setenv("DEVFACTORY_USERS_FILE", str(path))
    monkeypatch.delenv("DEVFACTORY_OPERATOR", raising=False)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_the_cli_takes_a_persons_role_from_the_users_file(
    fake: RecordingFactory, users_file: Any
) -> None:
    olga = CliRunner().invoke(cli.app, ["approve-project", "shop", "--by", "olga"])
    assert olga.exit_code == cli.EXIT_USAGE, olga.output  # an operator, as the file says
    assert "role 'operator' may not pre-approve a project" in olga.output
    claimed = CliRunner().invoke(
        cli.app, ["approve-project", "shop", "--by", "olga", "--role", "approver"]
    )
    assert claimed.exit_code == cli.EXIT_USAGE, claimed.output
    assert "olga is an operator in" in claimed.output and "not an approver" in claimed.output
    unknown = CliRunner().invoke(cli.app, ["approve-project", "shop", "--by", "mallory"])
    assert unknown.exit_code == cli.EXIT_USAGE, unknown.output
    assert "mallory is not in the users file" in unknown.output
    assert fake.approved == []  # nothing was recorded in a role nobody has
    alice = CliRunner().invoke(cli.app, ["approve-project", "shop", "--by", "alice"])
    assert alice.exit_code == 0, alice.output
    assert "alice (approver) pre-approved project 'shop'" in alice.output
    assert [(a["by"], a["role"]) for a in fake.approved] == [("alice", "approver")]
