"""Read a run's requirement once: the parser's facts, and the model's where the parser left gaps.

The ``plan`` node calls ``read_once`` before any stage works. The parser
(``software/requirement.read_requirement``) reads what the text states
exactly; only where it leaves something open (``proposed.leaves_open``: no
module or nothing it exposes, up to ``prose_fact_calls`` calls; or a command
line it made up from words that named no argument, one call) is a model asked
for the rest as one JSON object under ``ProposedFacts``'s schema, decoded
constrained by it (``prose_fact_calls`` 0 asks nothing). Code then
checks every fact's quote and names against the text and merges only what
the parser left empty (``software/proposed``). The result is kept in the run's
state (``requirement_facts``), and every reader of the facts reads it from there
(``state.requirement_facts_of``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from devfactory.contracts import Usage
from devfactory.graph.context import Context
from devfactory.graph.model_io.prompt_files import render_prompt
from devfactory.graph.oversight import metering
from devfactory.graph.state import RunUpdate
from devfactory.models.io import JsonSchema, ask_structured, grammar_schema
from devfactory.models.router import ModelUnavailableError
from devfactory.settings import Settings
from devfactory.software.proposed import (
    Limits,
    ProposedFacts,
    RunFacts,
    arguments_open,
    interface_open,
    leaves_open,
    run_facts,
)
from devfactory.software.requirement import RequirementFacts, read_requirement

log = logging.getLogger(__name__)
INTERFACE = "interface"  # the spend's name in the run's ledger
INTERFACE_ALIAS = "factory/architect"


def _parsed_block(facts: RequirementFacts) -> str:
    """Say what the parser read, so the model adds only what it left open."""
    rows = [f"- module: {facts.module or '(none)'}"]
    rows += [f"- function: {f.signature}" for f in facts.functions]
    for u in facts.usages:
        rows.append(f"- usage line: {u.line}")
        if arguments_open(replace(facts, usages=(u,))):
            rows.append(
                f'- positional arguments of `python -m {u.module}`: not read (in "command", '
                "the arguments the requirement says it takes, or none)"
            )
    rows += [f"- route: {r.method} {r.path}" for r in facts.routes]
    return "\n".join(rows)


def schema(limits: Limits) -> JsonSchema:
    """Return ``ProposedFacts``'s grammar with the caps: facts per kind, a quote's length."""
    found = grammar_schema(ProposedFacts)

    def capped(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: capped(v) for k, v in node.items()}
            props = node.get("properties")
            if isinstance(props, dict) and "quote" in props:
                props["quote"] = {**props["quote"], "maxLength": limits.quote_chars}
            return node
        if isinstance(node, list):
            return [capped(v) for v in node]
        return node

    found = capped(found)
    for name in ("functions", "routes", "exit_codes", "examples"):
        found["properties"][name]["maxItems"] = limits.per_kind
    return found


@dataclass(frozen=True)
class Reading:
    """The run's facts, and what reading them cost (no model call: zero)."""

    facts: RunFacts
    usage: Usage = field(default_factory=Usage)
    served: str = ""
    calls: int = 0
    seconds: float = 0.0


def read_facts(requirement: str, settings: Settings, source: Callable[[], Any]) -> Reading:
    """Read ``requirement``: the parser's facts, and the model's where the parser left gaps.

    ``source`` returns the model source (``Context.model_source``); it is called
    only when the parser leaves the interface open and ``prose_fact_calls`` is
    not 0. A model that cannot be reached, or replies nothing valid, leaves the
    parser's facts as they are, and the notes say so.
    """
    limits = Limits(settings.prose_facts_per_kind, settings.prose_quote_chars)
    parsed = read_requirement(requirement)
    if not leaves_open(parsed) or settings.prose_fact_calls == 0:
        return Reading(run_facts(requirement, parsed, limits=limits))
    started = time.perf_counter()
    messages = [
        SystemMessage(render_prompt("interface_system")),
        HumanMessage(
            render_prompt(
                "interface_task",
                requirement=requirement.strip(),
                parsed=_parsed_block(parsed),
                quote_chars=limits.quote_chars,
                per_kind=limits.per_kind,
            )
        ),
    ]
    proposals: list[ProposedFacts] = []
    usage, served, problems, calls = Usage(), "", [], 0
    try:
        resolved = source().resolve(INTERFACE_ALIAS)
        # only the arguments open: one reading answers it, whatever it finds
        asks = settings.prose_fact_calls if interface_open(parsed) else 1
        for _ in range(asks):
            answer = ask_structured(
                resolved.structured(schema(limits)),
                messages,
                ProposedFacts,
                max_parse_retries=settings.max_parse_retries,
                max_model_errors=settings.max_model_errors,
            )
            calls += answer.usage.calls
            usage, served = usage.add(answer.usage), answer.model or served or resolved.label
            if answer.value is None:
                problems.append(f"the model's facts were refused: {answer.problem}"[:300])
                continue
            proposals.append(answer.value)
            if not leaves_open(run_facts(requirement, parsed, proposals, limits=limits).facts):
                break
    except ModelUnavailableError as exc:
        problems.append(f"no model read the facts: {exc}"[:300])
    found = run_facts(requirement, parsed, proposals, limits=limits, calls=calls)
    found = found.model_copy(update={"notes": (*found.notes, *problems)})
    return Reading(found, usage, served, calls, time.perf_counter() - started)


def read_once(state: Mapping[str, Any], runtime: Runtime[Context]) -> RunUpdate:
    """Return the state update that keeps the run's facts (nothing when they are kept already).

    A requirement whose interface the parser reads costs no model call
    (``read_facts``); the model's calls are metered as the run's spend.
    """
    requirement = state["requirement"]
    stored = state.get("requirement_facts")
    if isinstance(stored, RunFacts) and stored.holds(requirement):
        return {}
    reading = read_facts(requirement, runtime.context.settings, runtime.context.model_source)
    for note in reading.facts.notes:
        log.info("requirement facts: %s", note)
    update: RunUpdate = {"requirement_facts": reading.facts}
    if reading.calls:
        key = metering.spend_key(state, INTERFACE)
        update["spend"] = {
            key: metering.add_spend(
                {}, key, INTERFACE, reading.usage, reading.served, runtime.context, reading.seconds
            )
        }
    return update
