"""Incident triggers and the operator's controls as pure rules (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import ValidationError

from devfactory.contracts import CheckRun, StageOutcome, StageRecord, Usage
from devfactory.control.incidents import (
    StageFact,
    Thresholds,
    Trigger,
    failing_streak,
    sandbox_violation,
    stage_triggers,
)
from devfactory.control.overrides import (
    Hold,
    OperationsRefusedError,
    Overrides,
    check_admin,
    check_threshold,
)
from devfactory.factory.incident_watch import IncidentWatch
from devfactory.factory.incidents_file import append_text, project_folder
from devfactory.settings import Settings
from devfactory.store.runs_table import RunRow

RULES = Thresholds(
    spend_multiple=5.0,
    latency_multiple=4.0,
    cost_multiple=3.0,
    failing_runs=3,
    min_samples=5,
    min_calls=2,
    baseline_calls=10,
)
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def usual(n: int = 6, *, cost: float = 0.0) -> list[StageFact]:
    """Stages of a project that spend alike: 1,000 tokens, 2 s and 2 calls each."""
    return [StageFact(team="t", tokens=1000, cost_usd=cost, seconds=2.0, calls=2) for _ in range(n)]


def kinds(fact: StageFact, history: list[StageFact]) -> set[str]:
    return {t.kind for t in stage_triggers(fact, history, RULES)}


def test_a_stage_like_the_others_fires_nothing() -> None:
    assert kinds(StageFact(team="a", tokens=1200, seconds=2.5, calls=2), usual()) == set()


def test_a_budget_spike_in_tokens_fires_past_the_multiple_and_not_at_it() -> None:
    assert kinds(StageFact(team="a", tokens=5000, seconds=2, calls=2), usual()) == set()
    fired = stage_triggers(StageFact(team="a", tokens=5001, seconds=2, calls=2), usual(), RULES)
    assert [t.kind for t in fired] == ["budget_spike"]
    assert "5001 tokens" in fired[0].summary and "median" in fired[0].summary


def test_a_priced_project_compares_cost_not_tokens() -> None:
    history = usual(cost=0.01)
    # ten times the tokens but the same cost: no spike where cost is what counts
    assert "budget_spike" not in kinds(
        StageFact(team="a", tokens=10_000, cost_usd=0.01, seconds=2, calls=2), history
    )
    assert "budget_spike" in kinds(
        StageFact(team="a", tokens=1000, cost_usd=0.06, seconds=2, calls=2), history
    )


def test_slow_model_calls_fire_a_latency_anomaly() -> None:
    fired = kinds(StageFact(team="a", tokens=1000, seconds=2 * 4.5, calls=2), usual())
    assert fired == {"model_latency"}


def test_dear_model_calls_fire_a_cost_anomaly() -> None:
    history = usual(cost=0.002)  # 0.001 a call
    fired = kinds(StageFact(team="a", tokens=1000, cost_usd=0.008, seconds=2, calls=2), history)
    assert "model_cost" in fired  # 0.004 a call, over 3x


def test_nothing_fires_before_the_project_has_enough_stages() -> None:
    huge = StageFact(team="a", tokens=10**7, seconds=1000, calls=1)
    assert stage_triggers(huge, usual(4), RULES) == []
    assert stage_triggers(huge, usual(5), RULES) != []


def fast(calls_each: int, n: int = 5) -> list[StageFact]:
    """Stages whose model answered in 0.01 s a call."""
    return [
        StageFact(team="t", tokens=1000, seconds=0.01 * calls_each, calls=calls_each)
        for _ in range(n)
    ]


def test_one_slow_call_or_a_warming_model_never_trips_latency_or_cost() -> None:
    rules = replace(RULES, min_calls=5, baseline_calls=20)
    history = fast(calls_each=4)  # 20 calls in all: a baseline
    for calls in (1, 4):  # 1 s a call, a hundred times the usual, but too few calls
        slow = StageFact(team="a", tokens=1000, seconds=1.0 * calls, cost_usd=1.0, calls=calls)
        assert stage_triggers(slow, history, rules) == [], calls
    truly = StageFact(team="a", tokens=1000, seconds=5.0, calls=5)  # n calls, each 1 s
    assert [t.kind for t in stage_triggers(truly, history, rules)] == ["model_latency"]


def test_latency_and_cost_need_a_baseline_of_enough_calls() -> None:
    rules = replace(RULES, min_calls=5, baseline_calls=20)
    slow = StageFact(team="a", tokens=1000, seconds=5.0, calls=5)
    short = fast(calls_each=4)[:4] + [StageFact(team="t", tokens=1000, seconds=0.03, calls=3)]
    assert sum(h.calls for h in short) == 19 and stage_triggers(slow, short, rules) == []
    enough = [*short[:4], StageFact(team="t", tokens=1000, seconds=0.04, calls=4)]
    assert [t.kind for t in stage_triggers(slow, enough, rules)] == ["model_latency"]


def test_a_free_project_never_fires_on_cost() -> None:
    assert "model_cost" not in kinds(StageFact(team="a", tokens=1000, seconds=2, calls=2), usual())


def test_failing_tests_fire_only_after_n_runs_in_a_row() -> None:
    assert failing_streak([True, True], RULES) is None  # too few runs yet
    assert failing_streak([True, True, False, True], RULES) is None  # the streak was broken
    fired = failing_streak([True, True, True, False], RULES)
    assert fired is not None and fired.kind == "failing_tests" and "3 runs" in fired.summary


def test_a_killed_fork_bomb_or_a_denied_network_call_is_a_sandbox_violation() -> None:
    assert sandbox_violation([("tests", "exit 1; 2 passed, 1 failed in 0.4 s")]) is None
    assert sandbox_violation([("tests", "exit 1; memory limit reached in 3.0 s")]) is None
    bomb = sandbox_violation([("smoke", "killed by SIGKILL; processes limit reached in 1.2 s")])
    assert bomb is not None and bomb.kind == "sandbox_violation" and "fork bomb" in bomb.summary
    net = sandbox_violation([("tests", "exit 1; network limit reached in 0.2 s")])
    assert net is not None and "network call" in net.summary


def test_the_sandbox_names_a_denied_network_call() -> None:
    from devfactory.sandbox.isolation import Outcome
    from devfactory.sandbox.results import judge

    output = "urllib.error.URLError: <urlopen error [Errno 101] Network is unreachable>"
    result = judge("smoke", ("python", "-m", "app"), Outcome(1, 0.2, output, False), sandboxed=True)
    assert result.killed == "network"
    assert "network limit reached" in result.summary()


def test_overrides_say_why_a_run_halts() -> None:
    stop = Hold("stop", "", "ann (admin)", "bad model", NOW)
    held = Hold("project", "shop", "incident:4", "budget_spike: ...", NOW, incident=4)
    assert Overrides().halt("shop") == ""
    assert "incident:4" in Overrides(projects={"shop": held}).halt("shop")
    assert Overrides(projects={"shop": held}).halt("other") == ""
    assert "emergency stop" in Overrides(stop=stop).halt("other")
    assert Overrides(thresholds={"qa": 0.9}).threshold("qa", 0.7) == 0.9
    assert Overrides(thresholds={"qa": 0.9}).threshold("docs", 0.7) == 0.7


def test_only_an_admin_changes_the_controls() -> None:
    check_admin("admin", "stop the factory")
    for role in ("viewer", "operator", "reviewer", "approver"):
        with pytest.raises(OperationsRefusedError, match="needs admin"):
            check_admin(role, "stop the factory")
    assert check_threshold(0.0) == 0.0 and check_threshold(1.0) == 1.0
    for bad in (-0.01, 1.01, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            check_threshold(bad)


def test_a_project_s_folder_never_escapes_projects(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert project_folder(settings, "shop") == tmp_path / "projects" / "shop"
    for name in ("../../etc", "a/b", ".hidden", ""):
        folder = project_folder(settings, name)
        assert folder.parent == tmp_path / "projects", name
        assert not folder.name.startswith("."), name
    assert project_folder(settings, "a/b") != project_folder(settings, "a_b")


def test_incidents_md_is_appended_and_never_written_through_a_link(tmp_path: Path) -> None:
    target = tmp_path / "p" / "INCIDENTS.md"
    append_text(target, "one\n")
    append_text(target, "two\n")
    assert target.read_text() == "one\ntwo\n"
    elsewhere = tmp_path / "elsewhere.md"
    elsewhere.write_text("kept\n")
    linked = tmp_path / "q" / "INCIDENTS.md"
    linked.parent.mkdir()
    linked.symlink_to(elsewhere)
    with pytest.raises(OSError):
        append_text(linked, "planted\n")
    assert elsewhere.read_text() == "kept\n"


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        ("operations_cache_s", 0.0, 1.0),
        ("incident_spend_multiple", 1.5, 100.0),
        ("incident_latency_multiple", 1.5, 100.0),
        ("incident_cost_multiple", 1.5, 100.0),
        ("incident_failing_runs", 1, 50),
        ("incident_window", 3, 500),
        ("incident_min_samples", 2, 500),
        ("incident_min_calls", 1, 1000),
        ("incident_baseline_calls", 1, 100_000),
        ("incident_last_actions", 1, 100),
    ],
)
def test_each_operations_setting_is_bounded_and_taken_at_its_caps(
    field: str, low: float, high: float
) -> None:
    assert Settings(**{field: low}).flat()[field] == low
    assert Settings(**{field: high}).flat()[field] == high
    step = 1 if isinstance(high, int) and isinstance(low, int) else 0.001
    for bad in (low - step, high + step):
        with pytest.raises(ValidationError):
            Settings(**{field: bad})


class Opened:
    """An IncidentSink that keeps what it was handed."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, Trigger, dict[str, Any]]] = []

    def open_incident(self, row: RunRow, trigger: Trigger, spend: dict[str, Any]) -> object:
        self.opened.append((row.run_id, trigger, spend))
        return None


def test_a_watch_hands_a_fired_trigger_and_the_drive_s_spend_to_its_sink(tmp_path: Path) -> None:
    sink = Opened()
    row = RunRow("r-1", "req", "mvp", "IN_PROGRESS", "", str(tmp_path), None, None, NOW, NOW)
    # no model call: the stage's spend is not weighed against history, so no store is read
    watch = IncidentWatch(sink, cast(Any, None), Settings(data_dir=tmp_path), row)
    spent = Usage(input_tokens=40, output_tokens=2)
    passed = StageRecord(team="a", outcome=StageOutcome.PASSED, usage=spent, cost_usd=0.5)
    watch.stage(passed)
    assert sink.opened == []  # nothing fired
    stopped = CheckRun(name="tests", command="pytest", summary="processes limit reached")
    blocked = StageRecord(
        team="b", outcome=StageOutcome.BLOCKED, usage=spent, seconds=2.0, checks=[stopped]
    )
    watch.stage(blocked)
    ((run_id, trigger, spend),) = sink.opened
    assert (run_id, trigger.kind) == ("r-1", "sandbox_violation")
    # since the last gate: only the stage after the one that passed; the run: both
    assert spend == {
        "since_last_gate": {"tokens": 42, "cost_usd": 0.0, "seconds": 2.0},
        "run": {"tokens": 84, "cost_usd": 0.5, "seconds": 2.0},
    }
