"""The run state's typed keys: the build plan kept once, the outcome, and old checkpoints' keys."""

from __future__ import annotations

import json
from typing import get_type_hints

from devfactory.contracts import FinalChecks, RunOutcome
from devfactory.control.budget import SpendEntry
from devfactory.control.policy import GovernanceRecord, Risk
from devfactory.factory.reports import ShownRun
from devfactory.graph.checkpoints import upgrade
from devfactory.graph.state import (
    RESET,
    RunState,
    build_plan_of,
    final_checks_of,
    keep_plan,
    outcome_of,
    stage_plan_of,
)
from devfactory.software.plan import BuildPlan
from devfactory.store.views import HIDDEN, shown
from tests.unit.test_build_plan import cli_plan
from tests.unit.test_checkpoints import FIXTURE, _stored

CHECKS = {
    "checks": [{"name": "tests", "command": "pytest -q", "exit_code": 0, "passed": 2}],
    "score": 1.0,
    "criteria": {"AC-1": "passed"},
    "problems": [],
}
STAGE_PLAN = {
    "pipeline": "lean",
    "stages": [{"team": "solution-architecture", "needs": []}],
    "team_caps": {"solution-architecture": {"tokens": 100, "cost_usd": None, "seconds": None}},
}


def test_the_outcome_keeps_its_wire_form_and_reads_back_through_the_model() -> None:
    failed = RunOutcome.failed("stage qa BLOCKED: no", blocked=["qa-engineering"])
    assert failed.model_dump(mode="json") == {
        "status": "FAILED",
        "reason": "stage qa BLOCKED: no",
        "blocked": ["qa-engineering"],
        "final_checks": None,
    }
    done = RunOutcome.completed(FinalChecks.model_validate(CHECKS))
    assert outcome_of(upgrade({"outcome": done.model_dump(mode="json")})) == done
    assert RunOutcome.rejected("reject by bob").status == "REJECTED"
    assert outcome_of({}) is None


def test_the_build_plan_is_kept_in_state_and_read_from_the_records_without_it() -> None:
    plan = BuildPlan.model_validate(cli_plan())
    assert (
        build_plan_of(upgrade({"build_plan": plan.model_dump(mode="json"), "stages": {}})) == plan
    )
    record = {"team": "solution-architecture", "outcome": "PASSED", "result": {
        "status": "COMPLETE", "confidence": 0.9, "reasoning": "r", "artifacts": [
        {"path": "architecture/plan.json", "kind": "json", "content": json.dumps(cli_plan())}
    ]}}  # fmt: skip
    old = {"build_plan": {}, "stages": {"solution-architecture": record}}
    assert build_plan_of(upgrade(old)) == plan
    assert build_plan_of({"stages": {}}) is None


def test_a_stage_handing_back_its_copy_never_changes_the_kept_plan() -> None:
    plan = BuildPlan.model_validate(cli_plan())
    assert keep_plan(None, plan) == plan  # the stage that passed with it
    assert keep_plan(plan, None) == plan  # a parallel stage's empty copy
    assert keep_plan(plan, plan) == plan
    assert keep_plan(plan, {RESET: True}) is None  # a revision starts without it
    assert keep_plan({RESET: True}, None) is None  # a channel's first value: a reset


def test_a_checkpoint_written_before_the_keys_were_renamed_still_reads() -> None:
    old = {
        "plan": STAGE_PLAN,
        "build": CHECKS,
        "outcome": {"status": "COMPLETED", "reason": "", "blocked": [], "build": CHECKS},
    }
    assert stage_plan_of(old) == STAGE_PLAN
    outcome = outcome_of(upgrade(old))
    assert outcome is not None and outcome.final_checks == FinalChecks.model_validate(CHECKS)
    paused = {"plan": STAGE_PLAN, "build": CHECKS}  # waiting for its review
    checks = final_checks_of(upgrade(paused))
    assert checks is not None and checks.criteria == {"AC-1": "passed"}
    nothing_ran = {"status": "COMPLETED", "reason": "", "blocked": [], "build": {}}
    assert RunOutcome.model_validate(nothing_ran).final_checks is None
    new_key = {"final_checks": None, "build": CHECKS}
    assert final_checks_of(upgrade(new_key)) is None  # the new key wins


def test_the_final_checks_read_from_a_runs_json_are_those_its_typed_state_holds() -> None:
    checks = FinalChecks.model_validate(CHECKS)
    other = checks.model_copy(update={"score": 0.5})
    states = [
        {"final_checks": checks},  # the round's, before the run ended
        {"final_checks": other, "outcome": RunOutcome.failed("no", final_checks=checks)},
        {"final_checks": checks, "outcome": RunOutcome.completed(None)},
        {"final_checks": None, "build": CHECKS},  # the new key wins
        {"plan": STAGE_PLAN, "build": CHECKS},  # written before the keys were renamed
        {"outcome": {"status": "COMPLETED", "reason": "", "blocked": [], "build": CHECKS}},
        {},
    ]
    for state in states:
        typed = upgrade(state)
        assert ShownRun.of(shown(typed)).last_checks == final_checks_of(typed), state
    assert ShownRun.of(shown(states[1])).last_checks == checks  # the outcome's win
    assert ShownRun.of(shown(states[0])).final_checks == checks  # the round's own


def test_the_governance_read_from_a_runs_json_is_the_record_its_state_holds() -> None:
    record = GovernanceRecord(
        risk=Risk.HIGH, action="approve", reasons=["deletes data"], risk_factors=["rm -rf"]
    )
    assert ShownRun.of(shown({"governance": record})).governance == record
    assert ShownRun.of({"governance": {}}).governance is None  # not assessed yet
    assert ShownRun.of({}).governance is None


def test_the_ledger_read_from_a_runs_json_is_the_one_its_state_holds() -> None:
    ledger = {
        "r0:qa-engineering": SpendEntry(team="qa-engineering", input_tokens=3, cost_usd=0.1),
        "governance": SpendEntry(team="governance", calls=1, model="local"),
    }
    read = ShownRun.of(shown({"spend": ledger})).spend
    assert read == ledger == upgrade({"spend": ledger})["spend"]
    assert ShownRun.of({"spend": None}).spend == {} == ShownRun.of({}).spend


def test_the_shown_run_has_every_key_of_the_state_its_view_shows() -> None:
    earlier = {"plan": "stage_plan", "build": "final_checks"}  # read under today's names
    shown_keys = set(get_type_hints(RunState)) - HIDDEN - set(earlier)
    assert set(ShownRun.model_fields) == shown_keys
    for old, new in earlier.items():
        assert old in str(ShownRun.model_fields[new].validation_alias)


def test_an_earlier_version_s_run_read_from_its_view_is_its_typed_state() -> None:
    doc = json.loads(FIXTURE.read_text())
    for part in ("completed", "paused"):
        stored = _stored(doc[part]["root"])[0]
        typed = upgrade(stored)
        state = ShownRun.of(json.loads(json.dumps(shown(stored), default=str)))
        assert state == ShownRun.of(shown(typed))  # the view of either reads the same
        assert state.governance == typed["governance"]
        assert state.spend == typed.get("spend", {}) and state.budget == typed["budget"]
        assert state.stages == typed.get("stages", {})
        assert state.stage_plan == typed["stage_plan"]
        assert state.last_checks == final_checks_of(typed)
        assert state.outcome == typed.get("outcome")
        assert state.unattended is typed["unattended"] and state.owner == typed["owner"]
