"""A stage's memory: recall before its first attempt, retain (and extract facts) after it.

Fact extraction runs inline, metered in the run's ledger, unless the factory
has a fact queue (``fact_queue``) and no token, cost or time cap applies to
the run: then it runs after the stage on the queue's worker, its event kept
(audit, feed) when it ends, and a full queue extracts inline.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from devfactory.contracts import StageOutcome, StageRecord
from devfactory.control.budget import Caps
from devfactory.events import FactsExtracted, Recalled
from devfactory.graph.context import Context
from devfactory.graph.emit import emit
from devfactory.graph.model_io.prompt_files import render_prompt
from devfactory.graph.oversight import metering
from devfactory.graph.stage.setup import StageSetup, halted_by
from devfactory.graph.state import Recollection, StageState, StageUpdate, stage_plan_of
from devfactory.memory.facts import Ask, Extraction, FactsOutcome, extraction_schema
from devfactory.models.io import Answer, ask_structured
from devfactory.models.router import ModelUnavailableError

if TYPE_CHECKING:
    from devfactory.memory.service import MemoryService


def recall(state: StageState, runtime: Runtime[Context], setup: StageSetup) -> StageUpdate:
    """Recall what the team and the factory know, once, before the first attempt."""
    memory = runtime.context.memory
    if memory is None or halted_by(state["stages"]) or state.get("fix_round"):
        return {}
    query = state["requirement"]
    if state.get("revision"):
        query += "\n" + state.get("review_feedback", "")
    team, owner = setup.spec.slug, state.get("owner", "")
    project = state.get("project", "default")
    recalled = memory.recall(team=team, project=project, query=query, owners=[owner])
    emit(runtime, Recalled(team=team, memories=len(recalled)))
    return {
        "memories": [
            Recollection(
                bank=m.bank, kind=m.kind, text=m.text, provenance=m.provenance, score=m.score
            )
            for m in recalled
        ],
        "mental_model": memory.mental_model(team, owner),
    }


def fact_asker(setup: StageSetup, context: Context) -> Ask:
    """Return the ``Ask`` mem0's extraction goes through: the fact model, bounded and repaired."""
    settings = context.settings
    resolved = context.model_source().resolve(settings.recall.fact_alias)
    bound = resolved.structured(extraction_schema(settings.recall.max_facts_per_stage))

    def ask(existing: str, new: str) -> Answer[Extraction]:
        values = {"team_name": setup.spec.name, "max_facts": settings.recall.max_facts_per_stage}
        messages: list[BaseMessage] = [
            SystemMessage(render_prompt("facts_system", **values)),
            HumanMessage(render_prompt("facts_task", existing=existing, new=new, **values)),
        ]
        answer = ask_structured(
            bound,
            messages,
            Extraction,
            max_parse_retries=settings.generation.max_parse_retries,
            max_model_errors=settings.generation.max_model_errors,
        )
        answer.model = answer.model or resolved.label
        return answer

    return ask


def retain(state: StageState, runtime: Runtime[Context], setup: StageSetup) -> StageUpdate:
    """Retain what the finished stage learned (idempotent: a re-run adds nothing new).

    Then, when the stage passed, the budget has room and fact memory is on,
    mem0 extracts the team's new facts with the cheap model; that call is
    metered to the team like any other.
    """
    memory = runtime.context.memory
    if memory is None or state.get("kept"):
        return {}
    team = setup.spec.slug
    record = state["stages"][team]
    where: dict[str, Any] = {
        "run_id": state["run_id"],
        "project": state.get("project", "default"),
        "revision": state.get("revision", 0),
        "owner": state.get("owner", ""),
    }
    memory.retain_stage(record, **where)
    if memory.facts is None or record.outcome is not StageOutcome.PASSED:
        return {}
    budget = metering.check(state, team, runtime.context)
    if budget.exhausted or budget.near:
        skipped = "skipped: the budget is too close to its cap"
        emit(runtime, FactsExtracted(team=team, added=[], problem=skipped))
        return {}
    if memory.later is not None and uncapped(state, team):
        context = runtime.context
        if memory.later.submit(lambda: _extract_later(memory, record, setup, context, where)):
            return {}  # the queue's worker extracts after the stage; a full queue: inline
    started = time.perf_counter()
    try:
        outcome = memory.extract_facts(record, ask=fact_asker(setup, runtime.context), **where)
    except ModelUnavailableError as exc:
        emit(runtime, FactsExtracted(team=team, added=[], problem=str(exc)))
        return {}
    if outcome is None:
        return {}
    seconds = time.perf_counter() - started
    emit(runtime, _extracted(team, outcome, seconds))
    key = metering.spend_key(state, team, ":facts")
    entry = metering.add_spend(
        state.get("spend", {}), key, team, outcome.usage, outcome.model, runtime.context, seconds
    )
    return {"spend": {key: entry}}


def uncapped(state: StageState, team: str) -> bool:
    """Say whether no token, cost or time cap applies to the run (or its project, or team).

    Only then may fact extraction leave the run's ledger: its calls could
    never take a capped run past its cap unseen.
    """
    caps = state.get("budget") or {}
    planned = stage_plan_of(state)
    team_caps = planned["team_caps"].get(team) if planned else None
    found = [caps.get("run"), caps.get("project"), team_caps]
    return all((c or Caps()) == Caps() for c in found)


def _extracted(team: str, outcome: FactsOutcome, seconds: float) -> FactsExtracted:
    return FactsExtracted(
        team=team,
        added=outcome.added,
        model=outcome.model,
        problem=outcome.problem,
        seconds=round(seconds, 2),
    )


def _extract_later(
    memory: MemoryService,
    record: StageRecord,
    setup: StageSetup,
    context: Context,
    where: dict[str, Any],
) -> None:
    """Extract a passed stage's facts on the fact queue's worker; keep its event."""
    started = time.perf_counter()
    try:
        outcome = memory.extract_facts(record, ask=fact_asker(setup, context), **where)
    except ModelUnavailableError as exc:
        outcome = FactsOutcome(problem=str(exc))
    if outcome is None:
        return
    event = _extracted(record.team, outcome, time.perf_counter() - started)
    if context.record is not None:
        context.record(event)  # the run's stream has moved on: kept, not streamed
