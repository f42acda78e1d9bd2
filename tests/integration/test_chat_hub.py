"""The chat's run hub and group-chat moderator on the real factory (real Postgres)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from devfactory.chat import talk
from devfactory.chat.hub import BusyError, RunHub
from devfactory.control.hitl import Decision, DecisionError
from devfactory.factory.facade import Factory
from devfactory.settings import Settings
from devfactory.teams import load_teams
from tests.browser.models import scripted
from tests.fakes import Call, ScriptedModels, always_good


def _drain(hub: RunHub, run_id: str, since: int = 0) -> list[dict[str, Any]]:
    """Follow the run to its pause or end, on an event loop of its own (as a session does)."""

    async def follow() -> list[dict[str, Any]]:
        return [event.model_dump(mode="json") async for _, event in hub.follow(run_id, since=since)]

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, follow()).result(timeout=300)


def test_a_run_started_in_the_hub_pauses_is_refused_to_a_viewer_and_finishes_for_an_approver(
    pg_settings: Settings, tmp_path: Path
) -> None:
    hub = RunHub(Factory(pg_settings, models=scripted()), max_active=2, out_root=tmp_path)
    try:
        run_id = hub.start(
            "A REST API for a clinic's patient notes", pipeline="mvp", project="p", owner="olga"
        )
        events = _drain(hub, run_id)
        assert events[0]["event"] == "run_started" and events[0]["run_id"] == run_id
        [pending] = hub.factory.pending(run_id)
        assert pending.pause.kind == "governance"
        assert hub.factory.get(run_id).owner == "olga"
        assert [r.run_id for r in hub.factory.runs.list(5, owner="olga")] == [run_id]
        viewer = Decision(action="approve", by="vic", role="viewer")
        with pytest.raises(DecisionError, match="may not answer"):
            hub.answer(run_id, viewer, interrupt_id=pending.interrupt_id)
        assert not hub.driving(run_id)  # a refused answer resumes nothing
        approver = Decision(action="approve", by="alice", role="approver")
        hub.answer(run_id, approver, interrupt_id=pending.interrupt_id)
        with pytest.raises(BusyError):  # one driver per run
            hub.answer(run_id, approver, interrupt_id=pending.interrupt_id)
        more = _drain(hub, run_id, since=len(events))
        assert more[-1] == {
            "event": "run_finished",
            "run_id": run_id,
            "status": "COMPLETED",
            "reason": more[-1]["reason"],
        }
        finished = [e["record"]["team"] for e in more if e["event"] == "stage_finished"]
        assert len(finished) == 5
        # a session attaching later replays everything from the start
        assert _drain(hub, run_id) == events + more
    finally:
        hub.close()


def picks(speaker: str) -> Any:
    def script(call: Call) -> str:
        if call.kind == "select":
            return json.dumps({"speaker": speaker, "reason": "scripted"})
        return always_good(call)

    return script


def test_the_moderator_never_repeats_the_last_speaker_and_falls_back_to_who_spoke_least(
    settings: Settings,
) -> None:
    teams = load_teams()
    specs = [teams["business-analysis"], teams["solution-architecture"], teams["qa-engineering"]]
    models = ScriptedModels(picks("business-analysis"))
    turns: list[talk.Turn] = []
    for _ in range(4):
        turn = talk.choose_speaker(models, settings, question="q?", teams=specs, turns=turns)
        turns.append(talk.Turn(turn.speaker, f"{turn.speaker} spoke", turn.reason))
    # BA is picked whenever it may speak; right after BA its pick is unusable, so the team
    # that spoke least speaks (the first listed on a tie)
    assert [t.speaker for t in turns] == [
        "business-analysis",
        "solution-architecture",
        "business-analysis",
        "qa-engineering",
    ]
    assert "spoke least" in turns[1].reason
    assert all(a.speaker != b.speaker for a, b in zip(turns, turns[1:], strict=False))
