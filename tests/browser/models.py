"""The chat server's models in browser tests (``DEVFACTORY_MODELS_FACTORY``).

A scripted model, so that a test knows what each team says: governance rates a
requirement HIGH when it mentions patients (so the run pauses for approval),
teams pass their gates, and the chat's teams and moderators answer as
``tests.fakes.chat_reply`` does (a team asked to ``SAY`` something says it).
"""

from __future__ import annotations

import json

from tests.fakes import Call, ScriptedModels, always_good, good_report

# A team asked to say something says it, each ``IMG[`` written ``![``: the reply holds the
# images a prompt-injected model would write, the person's own message none.
SAY = "Say exactly: "


def script(call: Call) -> str:
    if call.kind == "chat" and call.prompt.startswith(SAY):
        return call.prompt.removeprefix(SAY).replace("IMG[", "![")
    if call.kind == "governance" and "patient" in call.prompt.lower():
        return json.dumps(
            {
                "reasons": ["stores health data"],
                "risk_factors": ["health data"],
                "risk": "HIGH",
                "confidence": 0.9,
            }
        )
    return always_good(call)


def scripted() -> ScriptedModels:
    """Return the model source the chat server uses in browser tests."""
    return ScriptedModels(script)


def console_script(call: Call) -> str:
    """As ``script``, and Backend Engineering's first report asks Solution Architecture."""
    if call.team == "backend-engineering" and call.kind == "report" and call.n == 0:
        question = {"target_team": "solution-architecture", "question": "Which store do we use?"}
        return json.dumps(
            good_report(call.spec, status="NEEDS_CLARIFICATION", clarification_needed=question)
        )
    return script(call)


def console_scripted() -> ScriptedModels:
    """Return the model source the console's server and worker use in browser tests."""
    return ScriptedModels(console_script)
