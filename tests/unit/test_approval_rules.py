"""Approval rules: each kind decides as written; thresholds, checks, alternatives, expiry.

Pure: the rules of ``control/approval_rules.py`` and the expiry of ``control/unattended.py``
on pauses built by hand, with policies written here or the packaged one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from devfactory.control.approval_rules import (
    Alternative,
    Facts,
    auto_approves,
    default_rule,
    on_expiry,
    roles_for,
    rule_for,
    screen_alternatives,
)
from devfactory.control.hitl import (
    Decision,
    DecisionError,
    Pause,
    check_decision,
    make_pause,
)
from devfactory.control.policy import Policy, Risk, load_policy
from devfactory.control.unattended import EXPIRY, expired
from devfactory.factory.reports import Pending, queue_order


def packaged() -> dict[str, Any]:
    text = (files("devfactory.config") / "policy.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def policy_with(*rules: dict[str, Any], **changes: Any) -> Policy:
    """The packaged policy with ``rules`` as its whole approval_rules list."""
    return Policy.model_validate({**packaged(), "approval_rules": list(rules), **changes})


CHEAPER = Alternative(id="cheaper_model", kind="cheaper_model", title="the cheap model")
DROP_DOCS = Alternative(
    id="drop_stage:documentation", kind="drop_stage", title="drop docs", stage="documentation"
)
DROP_QA = Alternative(
    id="drop_stage:qa-engineering", kind="drop_stage", title="drop qa", stage="qa-engineering"
)
NARROW = Alternative(id="narrow_scope", kind="narrow_scope", title="narrow it")
MVP_NEEDS = {
    "business-analysis": (),
    "solution-architecture": ("business-analysis",),
    "backend-engineering": ("solution-architecture",),
    "qa-engineering": ("backend-engineering",),
    "documentation": ("qa-engineering",),
}


# --- the packaged file ---------------------------------------------------------------


def test_the_packaged_policy_has_a_rule_for_every_kind_and_the_two_new_pause_kinds() -> None:
    policy = load_policy()
    assert {r.action for r in policy.approval_rules} >= {
        "governance",
        "stage_gate",
        "budget",
        "review",
        "merge",
        "hold",
    }
    assert policy.roles["merge"] == ("approver", "admin")
    assert policy.roles["hold"] == ("admin",)
    assert policy.unattended.merge == "wait"  # an unattended run never merges by itself
    assert policy.approval_triggers.budget_tokens_over == 2_000_000


def test_an_older_file_with_the_approval_rules_mapping_still_loads(tmp_path: Path) -> None:
    data = packaged()
    data.pop("approval_rules")
    data["approval_rules"] = data.pop("approval_triggers") | {"confidence_below": 0.7}
    data["roles"] = {k: v for k, v in data["roles"].items() if k not in ("merge", "hold")}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    policy = load_policy(path)
    assert policy.approval_triggers.confidence_below == 0.7  # read as the triggers
    assert policy.approval_rules == ()  # every kind takes its default rule
    assert policy.roles["hold"] == ("admin",)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "x", "action": "review", "checks": ["tests_look_fine"]}, "tests_look_fine"),
        ({"name": "x", "action": "deploy"}, "action"),
        ({"name": "x", "action": "review", "on_expiry": "shrug"}, "on_expiry"),
        ({"name": "x", "action": "review", "on_expiry": "alternative:narrow_scope"}, "on_expiry"),
        ({"name": "x", "action": "stage_gate", "auto_approve": True}, "cannot be auto-approved"),
        ({"name": "x", "action": "hold", "on_expiry": "approve"}, "never expires"),
        ({"name": "x", "action": "review", "roles": ["boss"]}, "unknown roles"),
        ({"name": "x", "action": "review", "min_confidence": 1.5}, "min_confidence"),
        ({"name": "x", "action": "review", "deadline_s": 0}, "deadline_s"),
        ({"name": "x", "action": "review", "deadline_s": 365 * 86400 + 1}, "deadline_s"),
        ({"name": "x", "action": "review", "priority": "URGENT"}, "priority"),
        ({"name": "Bad Name", "action": "review"}, "name"),
    ],
)
def test_a_rule_that_could_not_act_as_written_refuses_to_load(
    rule: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        policy_with(rule)


def test_two_rules_with_one_name_refuse_to_load() -> None:
    with pytest.raises(ValidationError, match="more than once"):
        policy_with({"name": "a", "action": "review"}, {"name": "a", "action": "budget"})


def test_a_deadline_at_its_cap_loads() -> None:
    policy = policy_with({"name": "slow", "action": "review", "deadline_s": 365 * 86400})
    assert policy.approval_rules[0].deadline_s == 365 * 86400


# --- matching: first match wins, by team, kind and risk ---------------------------------


def test_the_first_rule_matching_team_kind_and_risk_wins() -> None:
    policy = policy_with(
        {"name": "qa-high", "action": "stage_gate", "team": "qa-engineering", "risk": "HIGH"},
        {"name": "qa", "action": "stage_gate", "team": "qa-engineering"},
        {"name": "gate", "action": "stage_gate"},
    )
    assert rule_for(policy, "blocked", "qa-engineering", Risk.HIGH).name == "qa-high"
    assert rule_for(policy, "clarification", "qa-engineering", Risk.LOW).name == "qa"
    assert rule_for(policy, "blocked", "backend-engineering", Risk.HIGH).name == "gate"
    assert rule_for(policy, "budget", "qa-engineering", None) == default_rule("budget")


def test_a_rules_roles_replace_the_kinds() -> None:
    policy = policy_with({"name": "boss", "action": "review", "roles": ["admin"]})
    assert roles_for(policy, rule_for(policy, "review", None, None), "review") == ("admin",)
    assert roles_for(policy, default_rule("budget"), "budget") == ("approver", "admin")


# --- each kind decides as written ------------------------------------------------------


def test_governance_rule_auto_approves_only_within_its_confidence_and_without_new_factors() -> None:
    policy = policy_with(
        {
            "name": "gov-medium",
            "action": "governance",
            "risk": "MEDIUM",
            "auto_approve": True,
            "min_confidence": 0.8,
            "checks": ["no_new_risk_factors"],
        }
    )
    rule = rule_for(policy, "governance", None, Risk.MEDIUM)
    assert auto_approves(rule, Facts(confidence=0.9)) == (
        True,
        ["confidence 0.90 >= 0.80", "no new risk factors"],
    )
    ok, why = auto_approves(rule, Facts(confidence=0.7))
    assert not ok and why == ["confidence 0.70 is below 0.80"]
    ok, why = auto_approves(rule, Facts(confidence=0.9, new_risk_factors=("handles PII",)))
    assert not ok and why == ["new risk factors: handles PII"]
    ok, why = auto_approves(rule, Facts())  # an unknown confidence fails the threshold
    assert not ok and why == ["confidence unknown is below 0.80"]
    assert rule_for(policy, "governance", None, Risk.HIGH).auto_approve is False


def test_budget_rule_auto_approves_within_its_cost_and_tokens_to_finish() -> None:
    policy = policy_with(
        {
            "name": "small-overrun",
            "action": "budget",
            "auto_approve": True,
            "max_cost_usd": 0.5,
            "max_tokens": 10_000,
        }
    )
    rule = rule_for(policy, "budget", "backend-engineering", Risk.LOW)
    assert auto_approves(rule, Facts(cost_to_finish_usd=0.5, tokens_to_finish=10_000))[0]
    ok, why = auto_approves(rule, Facts(cost_to_finish_usd=0.51, tokens_to_finish=100))
    assert not ok and why == ["estimated cost to finish $0.5100 is not within $0.5000"]
    ok, why = auto_approves(rule, Facts(cost_to_finish_usd=0.1, tokens_to_finish=10_001))
    assert not ok and why == ["estimated tokens to finish 10,001 is not within 10,000"]


def test_review_rule_auto_approves_only_when_its_checks_hold() -> None:
    policy = policy_with(
        {
            "name": "checked",
            "action": "review",
            "auto_approve": True,
            "checks": ["final_checks_passed", "no_blocked_stages", "within_budget"],
        }
    )
    rule = rule_for(policy, "review", None, Risk.LOW)
    assert auto_approves(rule, Facts(final_checks_passed=True))[0]
    assert auto_approves(rule, Facts(final_checks_passed=False)) == (
        False,
        ["the final checks did not pass"],
    )
    assert auto_approves(rule, Facts())[1] == ["no final checks ran"]
    ok, why = auto_approves(rule, Facts(final_checks_passed=True, blocked_stages=("qa",)))
    assert not ok and why == ["blocked stages: qa"]
    ok, why = auto_approves(rule, Facts(final_checks_passed=True, budget_breaches=("run 91%",)))
    assert not ok and why == ["at the warning line: run 91%"]


def test_merge_rule_waits_for_a_person_unless_it_says_otherwise() -> None:
    packaged_rule = rule_for(load_policy(), "merge", None, Risk.LOW)
    assert not auto_approves(packaged_rule, Facts(final_checks_passed=True))[0]
    assert on_expiry(packaged_rule, "merge", ()).action == "wait"  # never merged by the clock
    policy = policy_with(
        {
            "name": "merge-green",
            "action": "merge",
            "auto_approve": True,
            "checks": ["final_checks_passed"],
        }
    )
    rule = rule_for(policy, "merge", None, None)
    assert auto_approves(rule, Facts(final_checks_passed=True)) == (
        True,
        ["the final checks passed"],
    )


def test_stage_gate_and_hold_are_never_auto_approved() -> None:
    gate = rule_for(load_policy(), "blocked", "qa-engineering", Risk.LOW)
    hold = rule_for(load_policy(), "hold", "qa-engineering", Risk.LOW)
    assert gate.action == "stage_gate" and hold.action == "hold"
    assert not auto_approves(gate, Facts(confidence=1.0))[0]
    assert not auto_approves(hold, Facts(confidence=1.0))[0]
    assert hold.priority == "CRITICAL"


# --- alternatives ----------------------------------------------------------------------


def test_the_policy_removes_alternatives_the_rule_forbids_or_the_pipeline_cannot_bear() -> None:
    rule = policy_with(
        {"name": "b", "action": "budget", "alternatives": ["cheaper_model", "drop_stage"]}
    ).approval_rules[0]
    screened = screen_alternatives(
        rule,
        [CHEAPER, CHEAPER, DROP_DOCS, DROP_QA, NARROW],
        needs=MVP_NEEDS,
        done={"business-analysis"},
    )
    assert [a.id for a in screened.kept] == ["cheaper_model", "drop_stage:documentation"]
    assert screened.removed == (
        "drop_stage:qa-engineering: documentation need qa-engineering's results",
        "narrow_scope: rule b does not allow narrow_scope",
    )


def test_a_stage_that_ran_cannot_be_dropped() -> None:
    rule = default_rule("budget")
    screened = screen_alternatives(rule, [DROP_DOCS], needs=MVP_NEEDS, done={"documentation"})
    assert screened.kept == () and screened.removed == (
        "drop_stage:documentation: documentation already ran",
    )


def pause(kind: str = "budget", **fields: Any) -> Pause:
    base: dict[str, Any] = {"title": "t", "question": "q"}
    return make_pause(load_policy(), kind, **(base | fields))  # type: ignore[arg-type]


def test_a_person_may_pick_only_an_offered_alternative_with_the_right_action() -> None:
    asked = pause(alternatives=(CHEAPER, DROP_DOCS, NARROW))
    check_decision(
        asked, Decision(action="approve", by="al", role="approver", alternative="cheaper_model")
    )
    with pytest.raises(DecisionError, match="offers no alternative 'drop_stage:qa'.*offered"):
        check_decision(
            asked, Decision(action="approve", by="al", role="approver", alternative="drop_stage:qa")
        )
    with pytest.raises(DecisionError, match="picked with approve, not reject"):
        check_decision(
            asked,
            Decision(
                action="reject", text="no", by="al", role="approver", alternative="cheaper_model"
            ),
        )
    with pytest.raises(DecisionError, match="narrow_scope needs the narrowed requirement"):
        check_decision(
            asked, Decision(action="approve", by="al", role="approver", alternative="narrow_scope")
        )
    blocked = pause("blocked", alternatives=(CHEAPER,))
    check_decision(  # a blocked stage takes no approve: the alternative is an answer
        blocked, Decision(action="answer", by="op", role="operator", alternative="cheaper_model")
    )


# --- expiry ----------------------------------------------------------------------------


def test_an_expired_request_takes_its_rules_on_expiry() -> None:
    policy = policy_with(
        {"name": "review-expires", "action": "review", "on_expiry": "reject"},
        {"name": "budget-cheap", "action": "budget", "on_expiry": "alternative:cheaper_model"},
        {"name": "gov", "action": "governance", "on_expiry": "approve"},
        {"name": "gate", "action": "stage_gate", "on_expiry": "wait"},
    )
    review = pause("review", rule="review-expires")
    decided = expired(review, policy, waited_s=60, deadline="rule review-expires")
    assert decided is not None
    assert (decided.action, decided.by, decided.role) == ("reject", EXPIRY, "reviewer")
    assert decided.text.startswith(
        "the pause waited 60 s for a person (rule review-expires) and EXPIRED "
        "(rule review-expires: on_expiry reject)"
    )
    budget = pause(rule="budget-cheap", alternatives=(DROP_DOCS, CHEAPER))
    decided = expired(budget, policy, waited_s=5)
    assert decided is not None
    assert (decided.action, decided.alternative) == ("approve", "cheaper_model")
    check_decision(budget, decided)  # what the worker sends passes the same check
    governance = pause("governance", rule="gov")
    decided = expired(governance, policy, waited_s=5)
    assert decided is not None and (decided.action, decided.role) == ("approve", "approver")
    assert expired(pause("blocked", rule="gate"), policy, waited_s=5) is None


def test_an_expired_request_without_the_named_alternative_takes_the_unattended_rule() -> None:
    policy = policy_with(
        {"name": "budget-cheap", "action": "budget", "on_expiry": "alternative:cheaper_model"}
    )
    decided = expired(pause(rule="budget-cheap"), policy, waited_s=5)
    assert decided is not None  # the unattended budget rule: stop at the warning line
    assert (decided.action, decided.by) == ("reject", EXPIRY)
    assert "unattended rule budget: stop" in decided.text


def test_a_hold_never_expires_and_a_rule_unknown_now_falls_back_to_the_kinds_default() -> None:
    hold = pause("hold", rule="hold")
    assert expired(hold, load_policy(), waited_s=10**6) is None
    gone = pause("review", rule="a-rule-since-removed")
    decided = expired(gone, load_policy(), waited_s=5)  # default: the unattended review rule
    assert decided is not None and decided.action == "approve"


# --- the queue -------------------------------------------------------------------------


def test_the_queue_is_sorted_by_priority_then_deadline() -> None:
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)

    def item(name: str, priority: str, deadline_s: float | None, ago_s: float = 0) -> Pending:
        asked = pause("review", priority=priority, deadline_s=deadline_s, title=name)
        return Pending("r-" + name, "i-" + name, asked, now - timedelta(seconds=ago_s))

    items = [
        item("low-soon", "LOW", 10),
        item("high-late", "HIGH", 3600),
        item("high-none", "HIGH", None),
        item("critical", "CRITICAL", None),
        item("high-soon", "HIGH", 600, ago_s=300),
        item("medium", "MEDIUM", 60),
    ]
    assert [p.pause.title for p in queue_order(items)] == [
        "critical",
        "high-soon",
        "high-late",
        "high-none",
        "medium",
        "low-soon",
    ]
    soon = items[4]
    assert soon.deadline == now + timedelta(seconds=300)
    assert not soon.expired(now) and soon.expired(now + timedelta(seconds=300))
    assert items[2].deadline is None and not items[2].expired(now)
