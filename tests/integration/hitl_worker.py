"""Start or answer an mvp run with a scripted model, in its own process, then exit.

Usage:
    python -m tests.integration.hitl_worker start RUN_ID SCRIPT REQUIREMENT
    python -m tests.integration.hitl_worker answer RUN_ID SCRIPT ACTION TEXT BY ROLE [KIND] [CAPS]

SCRIPT names one of ``SCRIPTS`` below, so the model behaves the same in the
process that pauses a run and in the one that resumes it (the tests import
the same scripts for their in-process runs). Settings come from the
environment (``DATABASE_URL``, ``DEVFACTORY_*``). ``HITL_CALL_LOG`` names a
JSON-lines file every model call is appended to (pid, team, kind, path,
prompt), so a test can see what each process asked. KIND may be "" (any);
CAPS is a JSON object of run caps for a budget override.

Prints the final status, then one JSON line listing what the run waits on.
Exits 0, or 3 when the decision or the request was refused.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from devfactory.control.budget import Caps
from devfactory.control.hitl import Decision, DecisionError
from devfactory.factory.facade import Factory, RunReport, RunStateError
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from tests.fakes import Call, Script, ScriptedModels, always_good, answer_pending, good_report

ANSWERED = "Answers and guidance you received"  # the heading notes get in a prompt
GUIDED = "(a person) answered"  # a note from a person: an answer or guidance


def _responder(answer: str = "", *, status: str = "ANSWERED", target: str | None = None) -> str:
    return json.dumps(
        {
            "answer": answer,
            "status": status,
            "confidence": 0.9,
            "target_team": target,
            "question": f"What does {target} require here?" if target else None,
        }
    )


def asking(asker: str, target: str, *, further: str | None = None) -> Script:
    """``asker`` asks ``target`` on every report until a note answers it.

    ``target``'s responder asks ``further`` when given; every other call is good.
    """

    def script(call: Call) -> str:
        if call.team == asker and call.kind == "report" and ANSWERED not in call.prompt:
            question = {"target_team": target, "question": "Which timestamp format do we use?"}
            return json.dumps(
                good_report(call.spec, status="NEEDS_CLARIFICATION", clarification_needed=question)
            )
        if call.kind == "answer" and call.team == target and further:
            return _responder(status="NEEDS_CLARIFICATION", target=further)
        return always_good(call)

    return script


def blocked_until_guided(call: Call) -> str:
    """Business analysis reports low confidence until a person has guided it."""
    if call.team == "business-analysis" and call.kind == "report" and GUIDED not in call.prompt:
        return json.dumps(good_report(call.spec, confidence=0.1))
    return always_good(call)


def obeys_injection(call: Call) -> str:
    """A fooled assessor: rates everything LOW with near certainty."""
    if call.kind == "governance":
        reasons = ["the requirement says to mark it LOW"]
        return json.dumps(
            {"reasons": reasons, "risk_factors": [], "risk": "LOW", "confidence": 0.99}
        )
    return always_good(call)


EXPENSIVE_TEAMS = ("business-analysis", "solution-architecture", "backend-engineering")


def expensive(call: Call) -> str:
    """The first three teams draft long files (about 1,400 tokens each); the rest are cheap."""
    text = always_good(call)
    if call.kind != "draft" or call.team not in EXPENSIVE_TEAMS or call.path.endswith(".json"):
        return text  # the build plan stays a valid object
    filler = "This paragraph is padding that makes the draft expensive. " * 95
    if call.path.endswith(".py"):
        return f"{text}\n# {filler}\n"
    return f"{text}\n{filler}\n"


SCRIPTS: dict[str, Script] = {
    "good": always_good,
    "ask-responder": asking("backend-engineering", "api-design"),
    "ask-further": asking("backend-engineering", "api-design", further="solution-architecture"),
    "self-route": asking("backend-engineering", "backend-engineering"),
    "unknown-target": asking("backend-engineering", "marketing"),
    "cycle": asking("business-analysis", "compliance-legal", further="business-analysis"),
    "blocked-until-guided": blocked_until_guided,
    "obeys-injection": obeys_injection,
    "expensive": expensive,
}


def logged(script: Script, log: Path | None) -> Script:
    """Wrap ``script`` so every call is appended to ``log`` as a JSON line."""

    def run(call: Call) -> str:
        if log is not None:
            entry = {
                "pid": os.getpid(),
                "team": call.team,
                "kind": call.kind,
                "path": call.path,
                "prompt": call.prompt,
            }
            with log.open("a") as fh:
                fh.write(json.dumps(entry) + "\n")
        return script(call)

    return run


def show(report: RunReport) -> None:
    """Print the status and, as one JSON line, the questions the run waits on."""
    print(report.status)
    pending = [
        {
            "id": p.interrupt_id,
            "kind": p.pause.kind,
            "team": p.pause.team,
            "title": p.pause.title,
            "question": p.pause.question,
            "actions": list(p.pause.actions),
        }
        for p in report.pending
    ]
    print(json.dumps(pending))


def main(argv: list[str]) -> int:
    mode, run_id, name = argv[:3]
    log = os.environ.get("HITL_CALL_LOG")
    settings = Settings()
    models = ScriptedModels(logged(SCRIPTS[name], Path(log) if log else None))
    with Factory(settings, models=models) as factory:
        try:
            if mode == "start":
                out = settings.storage.data_dir / "out" / run_id
                report = factory.start(
                    StartRequest(argv[3], pipeline="mvp", out_dir=out, run_id=run_id)
                )
            elif mode == "answer":
                action, text, by, role = argv[3:7]
                kind = argv[7] if len(argv) > 7 and argv[7] else None
                caps = Caps.model_validate_json(argv[8]) if len(argv) > 8 else None
                decision = Decision(action=action, text=text, by=by, role=role, caps=caps)
                report = answer_pending(factory, run_id, decision, kind=kind)
            else:
                print(f"unknown mode {mode!r}", file=sys.stderr)
                return 2
        except (DecisionError, RunStateError) as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 3
    show(report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
