"""Where a stage goes after its report: the gate, the clarification broker, a person.

A person's guidance or answer is screened (``scope.vet``) before the team
reads it; past the approved scope an approver decides first.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.contracts import Escalation, GateVerdict, StageOutcome
from devfactory.control.hitl import DecisionRecord, make_pause
from devfactory.control.run_records import ClarificationEntry, NoticeEntry
from devfactory.events import ClarificationRouted
from devfactory.graph.broker import Broker
from devfactory.graph.broker import consult as consult_broker
from devfactory.graph.context import Context
from devfactory.graph.emit import emit
from devfactory.graph.gate import Route, assess
from devfactory.graph.model_io.briefs import requirement_budget, requirement_view
from devfactory.graph.oversight import metering
from devfactory.graph.oversight.interrupts import decide
from devfactory.graph.oversight.phases import task_key
from devfactory.graph.oversight.requests import course_update
from devfactory.graph.planning.build_plan import stage_items
from devfactory.graph.screening.scope import Vetted, vet
from devfactory.graph.stage.setup import StageSetup, finish, max_attempts
from devfactory.graph.state import Answer, StageState, StageUpdate, build_plan_of
from devfactory.memory.packing import approx_tokens


def gate(
    state: StageState, runtime: Runtime[Context], setup: StageSetup
) -> Command[Literal["draft", "clarify", "escalate", "retain"]]:
    """Decide the report's fate: pass, retry with the problems, ask another team, or escalate.

    At the attempt cap a person is asked for guidance (``escalate``) while the
    stage has human retries left; after that the stage ends BLOCKED.
    """
    result = state["candidate"]
    attempt = state["attempt"]
    verdict = assess(
        setup.spec,
        result,
        attempt=attempt,
        max_attempts=max_attempts(state, runtime),
        extra_problems=[*state.get("draft_problems", []), *state.get("check_problems", [])],
        expected=[i.path for i in stage_items(setup.spec, build_plan_of(state))],
        # an admin's override set at run time (devfactory threshold), else team.yaml's
        threshold=runtime.context.threshold(setup.spec.slug, setup.spec.confidence_threshold),
    )
    history = [*state.get("history", []), *(f"attempt {attempt}: {p}" for p in verdict.problems)]
    done = {**state, "history": history}
    if verdict.route is Route.PASS:
        return finish(setup, done, runtime, StageOutcome.PASSED, "", result)
    if verdict.route is Route.CLARIFY:
        return Command(goto="clarify", update={"feedback": verdict.problems, "history": history})
    if verdict.route is Route.BLOCK:
        if state.get("human_retries", 0) < runtime.context.settings.runs.max_human_retries:
            return Command(
                goto="escalate",
                update={"history": history, "verdict": GateVerdict(reason=verdict.reason)},
            )
        return finish(setup, done, runtime, StageOutcome.BLOCKED, verdict.reason, result)
    return Command(goto="draft", update={"feedback": verdict.problems, "history": history})


def clarify(
    state: StageState, runtime: Runtime[Context], setup: StageSetup
) -> Command[Literal["draft", "consult"]]:
    """Route the team's question through the broker; a refusal or no answer goes to a person.

    Every question is recorded in the run's ``clarifications``; the answering
    teams' model calls are metered to them.
    """
    spec, settings = setup.spec, runtime.context.settings
    ask = state["candidate"].clarification_needed
    assert ask is not None  # the gate routes here only with a question
    asked = state.get("asked", 0) + 1
    key = f"{metering.spend_key(state, spec.slug)}:q{asked}"
    entry: ClarificationEntry = {
        "key": key,
        "asker": spec.slug,
        "target": ask.target_team,
        "question": ask.question,
        "attempt": state["attempt"],
    }
    update: StageUpdate = {"asked": asked}
    if asked > settings.runs.max_clarifications:
        why = (
            f"request limit reached: {spec.slug} may route {settings.runs.max_clarifications} "
            "questions per objective"
        )
        entry["outcome"], entry["reason"], entry["hops"] = "escalated", why, []
    else:
        drafted = "\n".join(
            f"#### {d.path}\n{d.content[: settings.generation.upstream_chars]}"
            for d in state.get("drafts", [])
        )
        budget = requirement_budget(settings)
        broker = Broker(
            teams=setup.teams,
            requirement=requirement_view(
                state["requirement"], ask.question, budget=budget, count=approx_tokens
            ),
            stages=state["stages"],
            resolve=lambda s: runtime.context.model_source().resolve(s.model),
            max_hops=settings.runs.max_hops,
            max_parse_retries=settings.generation.max_parse_retries,
            max_model_errors=settings.generation.max_model_errors,
            context_chars=settings.generation.upstream_chars,
        )
        consultation = consult_broker(
            broker,
            asker=spec.slug,
            target=ask.target_team,
            question=ask.question,
            asker_context=drafted,
        )
        for who, usage in consultation.usage.items():  # each answering team's own entry
            spent_key = metering.spend_key(state, who, f":answers:{spec.slug}")
            update.setdefault("spend", {})[spent_key] = metering.add_spend(
                state.get("spend", {}),
                spent_key,
                who,
                usage,
                consultation.models[who],
                runtime.context,
                consultation.seconds[who],
            )
        entry["hops"] = list(consultation.hops)
        entry["answered_by"] = consultation.answered_by
        entry["outcome"] = "answered" if consultation.answer else "escalated"
        entry["reason"] = consultation.escalate
        if consultation.answer:
            answer = Answer(
                {
                    "from": f"the {setup.names[consultation.answered_by]} team",
                    "question": ask.question,
                    "answer": consultation.answer,
                }
            )
            update["answers"] = [*state.get("answers", []), answer]
    update["clarifications"] = {key: entry}
    emit(runtime, ClarificationRouted(**entry))
    if entry["outcome"] == "answered":
        return Command(goto="draft", update=update)
    update["escalation"] = Escalation(**entry)
    return Command(goto="consult", update=update)


def _stopped(
    setup: StageSetup,
    state: StageState,
    runtime: Runtime[Context],
    vetted: Vetted,
    what: str,
    decided: dict[str, DecisionRecord],
) -> Command[Any]:
    """End the stage BLOCKED because an approver rejected a person's text for it."""
    reason = f"governance rejected the {what}: {vetted.rejected}"
    return finish(
        setup,
        state,
        runtime,
        StageOutcome.BLOCKED,
        reason[:1000],
        state["candidate"],
        stopped_by="governance",
        update={"decisions": decided, "notices": vetted.publish(runtime)},
    )


def consult(
    state: StageState, runtime: Runtime[Context], setup: StageSetup
) -> Command[Literal["draft", "retain"]]:
    """Ask a person the question no team could answer; "reject" lets the team decide alone.

    The answer is screened first; an approver who rejects it stops the stage.
    An unattended run is answered at once: the team decides and lists its assumption.
    """
    esc = state["escalation"]
    assert esc is not None  # the broker routes here only with a question for a person
    target = setup.names.get(esc.target, esc.target)
    pause = make_pause(
        runtime.context.get_policy(),
        "clarification",
        title=f"{setup.spec.name} asks {target}: {esc.question}"[:200],
        question=f"{esc.question}\n(escalated to a person: {esc.reason})",
        team=setup.spec.slug,
        details={"target": esc.target, "reason": esc.reason, "key": esc.key},
    )
    decision = decide(pause, state, runtime)  # unattended: at once, the team decides
    decided = {task_key(): DecisionRecord.of("clarification", decision)}
    text = "no answer: decide it yourself and record the decision under assumptions_made"
    if decision.by_policy:
        text = decision.text  # names the rule, and asks for the assumption to be listed
    notices: dict[str, NoticeEntry] = {}
    if decision.action == "answer":
        vetted = vet(
            state,
            runtime,
            decision.text,
            source=f"{decision.by}'s answer to {setup.spec.name}",
            key=task_key(),
            team=setup.spec.slug,
        )
        decided |= vetted.decisions
        if vetted.rejected:
            return _stopped(setup, state, runtime, vetted, "answer to the team's question", decided)
        text, notices = vetted.text, vetted.publish(runtime)
    who, outcome = f"{decision.by} (a person)", "answered_by_person"
    if decision.by_policy:
        who, outcome = f"the factory's policy ({decision.by})", "decided_by_team"
    answer = Answer({"from": who, "question": esc.question, "answer": text})
    return Command(
        goto="draft",
        update={
            "answers": [*state.get("answers", []), answer],
            "escalation": None,
            "notices": notices,
            "decisions": decided,
            "clarifications": {
                esc.key: cast(
                    ClarificationEntry,
                    {**dict(esc), "outcome": outcome, "answered_by": decision.by},
                )
            },
        },
    )


def escalate(
    state: StageState, runtime: Runtime[Context], setup: StageSetup
) -> Command[Literal["draft", "retain"]]:
    """Ask a person about a stage out of attempts: guidance earns a fresh set, reject blocks it.

    Guidance is screened first; an approver who rejects it stops the stage. The
    person may pick an alternative instead: the cheaper model (a fresh set of
    attempts on ``factory/cheap``), dropping the stage (SKIPPED, by "person"), or
    a narrowed scope (screened as guidance is, then read by every later stage).
    """
    spec = setup.spec
    reason = state["verdict"].reason
    pause = make_pause(
        runtime.context.get_policy(),
        "blocked",
        title=f"{spec.name} is BLOCKED after {state['attempt']} attempts"[:200],
        question=(
            f"{reason}\nGive guidance and {spec.name} tries again with a fresh set of "
            "attempts, or reject to fail the run."
        ),
        team=spec.slug,
        details={"attempts": state["attempt"], "reason": reason},
    )
    decision = decide(pause, state, runtime)  # unattended: no more retries, BLOCKED
    decided = {task_key(): DecisionRecord.of("blocked", decision)}
    course = course_update(pause, state, runtime, decision)
    if any(k.startswith("drop:") for k in course):  # the person drops this stage
        return finish(
            setup,
            state,
            runtime,
            StageOutcome.SKIPPED,
            f"{reason} (dropped: {decision.summary()})"[:1000],
            state["candidate"],
            stopped_by="person",
            update={"decisions": decided, "course": course},
        )
    if course and not decision.text.strip():  # the cheaper model, with no guidance
        chosen = f"{decision.by} chose to continue with {course['model']}"
        return Command(
            goto="draft",
            update={
                "human_retries": state.get("human_retries", 0) + 1,
                "feedback": [chosen],
                "decisions": decided,
                "course": course,
            },
        )
    if decision.action == "reject":
        return finish(
            setup,
            state,
            runtime,
            StageOutcome.BLOCKED,
            f"{reason} (stopped: {decision.summary()})"[:1000],
            state["candidate"],
            stopped_by="policy" if decision.by_policy else "person",
            update={"decisions": decided},
        )
    vetted = vet(
        state,
        runtime,
        decision.text,
        source=f"{decision.by}'s guidance for {spec.name}",
        key=task_key(),
        team=spec.slug,
    )
    decided |= vetted.decisions
    if vetted.rejected:
        return _stopped(setup, state, runtime, vetted, "guidance", decided)
    guidance = Answer(
        {
            "from": f"{decision.by} (a person)",
            "question": "how to get unblocked",
            "answer": vetted.text,
        }
    )
    if "scope" in course:  # narrow_scope: the screened text is the scope of every later stage
        course["scope"] = vetted.text
    return Command(
        goto="draft",
        update={
            "human_retries": state.get("human_retries", 0) + 1,
            "answers": [*state.get("answers", []), guidance],
            "feedback": [f"guidance from {decision.by}: {vetted.text}"],
            "decisions": decided,
            "notices": vetted.publish(runtime),
            "course": course,
        },
    )
