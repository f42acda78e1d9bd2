"""Requests for a person through the real graph: what they carry, and the alternatives' effect.

The mvp graph runs on an in-memory checkpointer with a scripted model whose
source records the alias every stage asks for. A person answers by resuming
with a ``Decision``, as the runner does.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, StateSnapshot
from pydantic import ValidationError

from devfactory.control.hitl import Decision, Pause, make_pause
from devfactory.control.policy import ApprovalRule, GovernanceRecord, Policy, load_policy
from devfactory.events import DecisionRecorded, StageStarted
from devfactory.graph.checkpoints import upgrade
from devfactory.graph.context import Context
from devfactory.graph.oversight.requests import (
    CHEAP_ALIAS,
    enrich,
    estimate,
    facts,
    propose,
    sources,
)
from devfactory.models.router import ResolvedModel
from devfactory.settings import Settings
from tests.fakes import Call, Script, ScriptedModels, always_good, good_report
from tests.unit.test_unattended_runs import Run as UnattendedRun

TODO = "A REST API for a personal todo list"
MEDICAL = "Store patient medical records for a clinic"


class AliasModels(ScriptedModels):
    """The scripted model, labelled with the alias each caller asked for."""

    def resolve(self, alias: str) -> ResolvedModel:
        """Serve ``alias`` with the scripted model, named after the alias."""
        return dataclasses.replace(super().resolve(alias), label=alias)


class Run(UnattendedRun):
    """One attended run of the mvp graph, keeping the events its nodes emit."""

    def __init__(
        self, settings: Settings, script: Script = always_good, policy: Policy | None = None
    ) -> None:
        super().__init__(settings, script, policy=policy)
        self.models = AliasModels(script)
        self.context.models = self.models

    def start(self, requirement: str = TODO, **inputs: Any) -> StateSnapshot:
        payload = {"run_id": "t", "requirement": requirement, "pipeline": "mvp", **inputs}
        return self.drive(upgrade(payload))  # a first input, as the driver reads it

    def answer(self, **decision: Any) -> StateSnapshot:
        value = Decision(by="alice", role="approver", **decision).model_dump(mode="json")
        return self.drive(Command(resume=value))

    def started(self) -> list[tuple[str, str]]:
        return [(e.team, e.model) for e in self.events if isinstance(e, StageStarted)]


def governance_tokens() -> int:
    """Tokens the scripted model meters for the risk assessment (100 in, a quarter of its text)."""
    return 100 + len(always_good(Call(None, "governance", "", 0, [HumanMessage("")]))) // 4


def budget_paused(settings: Settings) -> tuple[Run, Pause]:
    """Start a run whose assessment alone passes the budget's warning line: it asks a person."""
    cap = int(governance_tokens() / 0.95)
    run = Run(settings)
    snapshot = run.start(budget={"run": {"tokens": cap}})
    [waiting] = snapshot.interrupts
    return run, Pause.model_validate(waiting.value)


def test_a_budget_request_carries_its_rule_estimate_sources_and_checked_alternatives(
    settings: Settings,
) -> None:
    run, pause = budget_paused(settings)
    assert (pause.kind, pause.team, pause.rule, pause.priority) == (
        "budget",
        "business-analysis",
        "budget",
        "HIGH",
    )
    assert pause.roles == ("approver", "admin")
    assert pause.estimate is not None
    spent = governance_tokens()
    assert (pause.estimate.spent_tokens, pause.estimate.stages_left) == (spent, 5)
    assert pause.estimate.tokens_to_finish == spent * 5  # the spend stands for one stage
    assert pause.estimate.basis.startswith("estimate: ")
    assert "stage business-analysis" in pause.sources
    assert any(s.startswith("spend r0:governance") for s in pause.sources)
    assert "run tokens near its cap" in pause.risk_factors[0]
    assert pause.reasoning.startswith("the run reached the warning line")
    offered = [a.id for a in pause.alternatives]
    # documentation is the only stage no later stage reads; the others are refused
    assert offered == ["cheaper_model", "drop_stage:documentation"]
    assert any(
        r.startswith("drop_stage:qa-engineering: documentation need")
        for r in pause.refused_alternatives
    )
    cheaper = pause.alternative("cheaper_model")
    assert cheaper is not None and cheaper.pros and cheaper.cons
    assert cheaper.estimated_cost_usd is not None
    assert pause.deadline_s is None  # no rule deadline, and pause_expiry_s is 0: none


def test_a_person_choosing_the_cheaper_model_moves_the_remaining_stages_to_the_cheap_alias(
    settings: Settings,
) -> None:
    run, _ = budget_paused(settings)
    assert run.started() == []
    snapshot = run.answer(
        action="approve", alternative="cheaper_model", caps={"tokens": 10_000_000}
    )
    assert snapshot.values["outcome"]["status"] == "COMPLETED", snapshot.values["outcome"]
    assert snapshot.values["course"] == {"model": CHEAP_ALIAS}
    teams = [team for team, _ in run.started()]
    assert teams[0] == "business-analysis" and "documentation" in teams
    assert {model for _, model in run.started()} == {CHEAP_ALIAS}
    [budget] = [d for d in snapshot.values["decisions"].values() if d["kind"] == "budget"]
    assert (budget["alternative"], budget["by"]) == ("cheaper_model", "alice")


def test_a_person_dropping_a_stage_skips_it_without_model_work(settings: Settings) -> None:
    run, _ = budget_paused(settings)
    snapshot = run.answer(
        action="approve", alternative="drop_stage:documentation", caps={"tokens": 10_000_000}
    )
    docs = snapshot.values["stages"]["documentation"]
    assert (docs["outcome"], docs["stopped_by"]) == ("SKIPPED", "person")
    assert docs["reason"].startswith("dropped by alice (approver)")
    assert run.models.chat.count("documentation") == 0
    assert "documentation" not in [team for team, _ in run.started()]
    assert snapshot.values["stages"]["qa-engineering"]["outcome"] == "PASSED"
    # a stage a person dropped is left out on purpose: the run still completes
    assert snapshot.values["outcome"]["status"] == "COMPLETED", snapshot.values["outcome"]
    # the stages that ran used their own models: only the drop was chosen
    assert CHEAP_ALIAS not in {model for _, model in run.started()}


def test_an_alternative_the_request_did_not_offer_is_refused_and_asked_again(
    settings: Settings,
) -> None:
    run, _ = budget_paused(settings)
    snapshot = run.answer(action="approve", alternative="drop_stage:business-analysis")
    [waiting] = snapshot.interrupts  # ask_person refuses it and asks again
    assert "offers no alternative 'drop_stage:business-analysis'" in waiting.value["error"]
    assert run.started() == []


def test_a_governance_approver_may_narrow_the_scope_which_is_screened_again(
    settings: Settings,
) -> None:
    run = Run(settings)
    paused = run.start(MEDICAL)
    [waiting] = paused.interrupts
    pause = Pause.model_validate(waiting.value)
    assert (pause.kind, pause.rule, pause.priority) == ("governance", "governance-high", "HIGH")
    assert [a.id for a in pause.alternatives] == ["narrow_scope"]
    assert "cheaper_model: rule governance-high does not allow cheaper_model" in (
        pause.refused_alternatives
    )
    assert pause.risk_factors and pause.sources[:2] == ("requirement", "governance assessment")
    snapshot = run.answer(action="approve", alternative="narrow_scope", text=TODO)
    assert snapshot.values["requirement"] == TODO
    assert snapshot.values["governance"]["risk"] == "LOW"  # assessed again, as a modify is
    assert snapshot.values["outcome"]["status"] == "COMPLETED"
    assert "course" not in snapshot.values or "scope" not in snapshot.values["course"]


def test_the_estimate_averages_the_finished_stages_over_the_ones_left() -> None:
    state: dict[str, Any] = {
        "pipeline": "mvp",
        "spend": {
            "r0:governance:g1": {"team": "governance", "input_tokens": 100, "cost_usd": 0.01},
            "r0:business-analysis": {
                "team": "business-analysis",
                "input_tokens": 900,
                "output_tokens": 1000,
                "cost_usd": 0.03,
            },
        },
        "stages": {"business-analysis": {"outcome": "PASSED"}},
        "course": {"drop:documentation": "alice (approver)"},
    }
    est = estimate(state)
    assert (est.spent_tokens, est.stages_done, est.stages_left) == (2000, 1, 3)
    assert est.tokens_to_finish == 6000 and round(est.cost_to_finish_usd, 6) == 0.12
    assert "1 finished stage(s), times 3 stage(s) left" in est.basis


def test_the_sources_of_a_review_are_the_stage_records_and_their_files() -> None:
    files = [{"path": p, "kind": "text", "content": "x"} for p in ("app/main.py", "README.md")]
    record = {
        "team": "backend-engineering",
        "outcome": "PASSED",
        "result": {"status": "COMPLETE", "confidence": 0.9, "reasoning": "r", "artifacts": files},
    }
    state = upgrade({"stages": {"backend-engineering": record}})
    review = make_pause(load_policy(), "review", title="t", question="q")
    assert sources(review, state) == (
        "stage record backend-engineering (PASSED)",
        "file app/main.py",
        "file README.md",
    )


def test_the_cheaper_model_is_estimated_at_its_cost_ratio_up_to_the_cap(
    settings: Settings,
) -> None:
    for wrong in (0.0, 1.01):
        with pytest.raises(ValidationError, match="cheap_model_cost_ratio"):
            settings.with_overrides(cheap_model_cost_ratio=wrong)
    state: dict[str, Any] = {
        "pipeline": "mvp",
        "spend": {"r0:business-analysis": {"team": "business-analysis", "cost_usd": 0.04}},
        "stages": {"business-analysis": {"outcome": "PASSED"}},
    }
    budget = make_pause(
        load_policy(), "budget", title="t", question="q", team="solution-architecture"
    )
    for ratio in (0.25, 1.0):  # 1.0 is the cap: as dear as the team's own models
        runtime = Runtime(
            context=Context(settings=settings.with_overrides(cheap_model_cost_ratio=ratio))
        )
        [cheaper, *drops] = propose(budget, state, runtime)
        assert cheaper.kind == "cheaper_model"
        assert cheaper.estimated_cost_usd == pytest.approx(0.16 * ratio)  # 4 stages left
        # the asking stage is not offered for dropping; every later one is, before screening
        assert [d.stage for d in drops] == [
            "backend-engineering",
            "qa-engineering",
            "documentation",
        ]
        assert drops[0].estimated_cost_usd == pytest.approx(0.12)


def test_a_rule_that_auto_approves_decides_as_the_policy_and_is_recorded_like_a_person(
    settings: Settings,
) -> None:
    rule = {
        "name": "budget-auto",
        "action": "budget",
        "auto_approve": True,
        "max_tokens": 1_000_000,
        "checks": ["no_blocked_stages"],
    }
    policy = load_policy().model_copy(
        update={"approval_rules": (ApprovalRule.model_validate(rule),)}
    )
    run = Run(settings, policy=policy)
    cap = int(governance_tokens() / 0.95)
    snapshot = run.start(budget={"run": {"tokens": cap}})
    assert snapshot.interrupts == ()  # nobody was asked
    [budget] = [d for d in snapshot.values["decisions"].values() if d["kind"] == "budget"]
    assert (budget["action"], budget["by"], budget["role"]) == (
        "approve",
        "policy:rule:budget-auto",
        "approver",
    )
    assert budget["text"].startswith("auto-approved by rule budget-auto: estimated tokens")
    [event] = [e for e in run.events if isinstance(e, DecisionRecorded)]
    assert event.by == "policy:rule:budget-auto" and event.key.endswith(":budget-auto")
    # approved at the warning line, the stage went on, and stopped at the cap itself
    ba = snapshot.values["stages"]["business-analysis"]
    assert (ba["outcome"], ba["stopped_by"]) == ("BLOCKED", "budget")
    assert run.models.chat.count("business-analysis") > 0  # it drafted before the cap


def test_a_rule_whose_threshold_fails_leaves_the_request_to_a_person(settings: Settings) -> None:
    rule = {"name": "budget-auto", "action": "budget", "auto_approve": True, "max_tokens": 10}
    policy = load_policy().model_copy(
        update={"approval_rules": (ApprovalRule.model_validate(rule),)}
    )
    run = Run(settings, policy=policy)
    snapshot = run.start(budget={"run": {"tokens": int(governance_tokens() / 0.95)}})
    [waiting] = snapshot.interrupts
    assert (waiting.value["kind"], waiting.value["rule"]) == ("budget", "budget-auto")
    assert not [e for e in run.events if isinstance(e, DecisionRecorded)]


def docs_blocked(call: Call) -> str:
    """Documentation reports BLOCKED every time; every other team does its work."""
    if call.team == "documentation" and call.kind == "report":
        report = good_report(call.spec, status="BLOCKED", blockers=["no style guide"])
        return json.dumps(report)
    return always_good(call)


def blocked_docs(settings: Settings) -> tuple[Run, Pause]:
    run = Run(settings.with_overrides(max_human_retries=1), docs_blocked)
    snapshot = run.start()
    [waiting] = snapshot.interrupts
    return run, Pause.model_validate(waiting.value)


def test_a_blocked_stage_offers_the_cheaper_model_and_dropping_itself(
    settings: Settings,
) -> None:
    run, pause = blocked_docs(settings)
    assert (pause.kind, pause.team, pause.rule) == ("blocked", "documentation", "stage-gate")
    assert [a.id for a in pause.alternatives] == [
        "cheaper_model",
        "drop_stage:documentation",
        "narrow_scope",
    ]
    assert pause.risk_factors == ("no style guide",) and pause.confidence is not None
    snapshot = run.answer(action="answer", alternative="drop_stage:documentation")
    docs = snapshot.values["stages"]["documentation"]
    assert (docs["outcome"], docs["stopped_by"]) == ("SKIPPED", "person")
    assert "dropped: answer (alternative drop_stage:documentation) by alice" in docs["reason"]


def test_a_blocked_stage_on_the_cheaper_model_gets_a_fresh_set_of_attempts_on_it(
    settings: Settings,
) -> None:
    run, _ = blocked_docs(settings)
    before = len(run.started())
    snapshot = run.answer(action="answer", alternative="cheaper_model")
    again = run.started()[before:]
    assert again and {team for team, _ in again} == {"documentation"}
    assert {model for _, model in again} == {CHEAP_ALIAS}
    assert (
        len(again) == settings.generation.max_stage_attempts
    )  # a fresh set, all on the cheap alias
    assert snapshot.values["stages"]["documentation"]["outcome"] == "BLOCKED"


def test_a_pause_on_text_past_the_approved_scope_offers_no_alternatives(
    settings: Settings,
) -> None:
    runtime = Runtime(context=Context(settings=settings))
    state: dict[str, Any] = {
        "pipeline": "mvp",
        "governance": GovernanceRecord(
            risk="LOW", action="proceed", reasons=[], risk_factors=["handles personal data"]
        ),
        "stages": {},
    }
    pause = make_pause(
        load_policy(),
        "governance",
        title="HIGH risk in an answer",
        question="pass it on?",
        details={"risk_factors": ["handles personal data", "handles health records"]},
    )
    run_approval = enrich(pause, state, runtime)
    assert [a.id for a in run_approval.alternatives] == ["cheaper_model", "narrow_scope"]
    later = enrich(pause, state, runtime, scope=True)
    assert later.alternatives == () and later.rule == "governance"
    assert later.risk_factors == ("handles personal data", "handles health records")
    # on later text, only what the run was not approved with is new
    assert facts(later, state, runtime, scope=True).new_risk_factors == ("handles health records",)
    assert len(facts(run_approval, state, runtime).new_risk_factors) == 2


def test_a_blocked_stage_given_a_narrowed_scope_works_to_it_once_screened(
    settings: Settings,
) -> None:
    run, _ = blocked_docs(settings)
    narrowed = "Document only the public endpoints in one README"
    snapshot = run.answer(action="answer", alternative="narrow_scope", text=narrowed)
    assert snapshot.values["course"] == {"scope": narrowed}
    later = [c for c in run.models.chat.calls if c.team == "documentation"][-1]
    assert f"A person narrowed the run's scope; work to this: {narrowed}" in later.prompt
