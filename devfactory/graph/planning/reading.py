"""Read a run's requirement once: the parser's facts, and the model's where the parser left gaps.

The ``plan`` node calls ``read_once`` before any stage works. The parser
(``software/requirement.read_requirement``) reads what the text states
exactly; only where it leaves something open (``proposed.leaves_open``) is a
model asked, each question decoded constrained by its schema
(``prose_fact_calls`` 0 asks nothing):

1. the interface open (no module, or nothing it exposes): first the smallest
   question, the kind of software and its name (``ProposedKind``); the name
   is taken where the text writes it, and a command line's usage line is then
   made by the rules from the words (``requirement.as_command_line``); what is
   still open is asked as that kind's facts (``KIND_FIELDS``), up to
   ``prose_fact_calls`` calls;
2. a command line whose line the rules made from words naming no argument:
   its positional arguments alone, one call: the model writes the command
   line's parser and the rules read the arguments it adds, each ``help`` its
   quote (``arguments_reading``: ``code``; or listed as JSON, ``json``).

Code then checks every fact's quote and names against the text and merges
only what the parser left empty (``software/proposed``). The result is kept in
the run's state (``requirement_facts``), and every reader of the facts reads
it from there (``state.requirement_facts_of``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel

from devfactory.contracts import ArtifactKind, Usage
from devfactory.graph.context import Context
from devfactory.graph.model_io.prompt_files import render_prompt
from devfactory.graph.model_io.structured import extract_file
from devfactory.graph.oversight import metering
from devfactory.graph.state import RunUpdate
from devfactory.models.io import (
    Answer,
    JsonSchema,
    ask_structured,
    grammar_schema,
    invoke,
    served_by,
    text_of,
    usage_of,
)
from devfactory.models.router import ModelUnavailableError
from devfactory.settings import Settings
from devfactory.software.proposed import (
    KIND_FIELDS,
    Limits,
    ProposedArguments,
    ProposedFacts,
    ProposedKind,
    RunFacts,
    arguments_in_parser,
    arguments_open,
    as_command,
    interface_open,
    leaves_open,
    named_module,
    run_facts,
)
from devfactory.software.requirement import RequirementFacts, as_command_line, read_requirement

log = logging.getLogger(__name__)

Asked = TypeVar("Asked", bound=BaseModel)
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


_FACT_LINES = {
    "module": '- "module": the module or package it names, with "name", or null;',
    "functions": '- "functions": each public function it names, with "name", "parameters" (each '
    'with "name" and "type", the type in words or as Python) and "returns";',
    "command": '- "command": the command line run as `python -m <program>`, with "program", '
    '"positionals" (the arguments it takes that are no option, named in capitals, such as '
    '"FILE", "FILE..." for one that repeats, "[FILE]" for one that may be left out) and '
    '"options" (each with "flags", such as ["-o", "--output"], "takes_value" and '
    '"value_name"), or null;',
    "routes": '- "routes": each HTTP route, with "method", "path" (such as "/items/{id}") and '
    'the "statuses" it gives;',
    "exit_codes": '- "exit_codes": each exit status, with "code" and "meaning";',
    "examples": '- "examples": each example it states in words, with "call" (the call or the '
    'input) and "expected" (the result or the output).',
}
"""What the task asks of each fact, one line each, in ``ProposedFacts``'s order."""


def schema(limits: Limits, asked: tuple[str, ...] = KIND_FIELDS["unsure"]) -> JsonSchema:
    """Return ``ProposedFacts``'s grammar with the caps: facts per kind, a quote's length.

    Only the facts ``asked`` are in it (a library's requirement is asked no routes).
    """
    found = grammar_schema(ProposedFacts)
    found["properties"] = {k: v for k, v in found["properties"].items() if k in asked}
    if "required" in found:
        found["required"] = [k for k in found["required"] if k in asked]

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
        if name in found["properties"]:
            found["properties"][name]["maxItems"] = limits.per_kind
    return found


def _completed(
    requirement: str, parsed: RequirementFacts, kind: ProposedKind | None
) -> tuple[RequirementFacts, list[str]]:
    """Complete the parser's facts with the model's kind and name; say what was filled.

    The name is taken where the requirement writes it (``named_module``); told
    the software is a command line, the rules make its usage line from the words
    (``as_command_line``), which only the text's own flags and arguments fill.
    """
    if kind is None:
        return parsed, []
    said = []
    name = named_module(kind, requirement)
    if not parsed.module and name:
        parsed = replace(parsed, module=name)
        said.append(f"filled module {name} from the model's reading of the kind")
    if kind.kind == "command line":
        lined = as_command_line(requirement, parsed)
        if lined.usages != parsed.usages:
            said.append(f"made the usage line {lined.usages[0].line} from the words")
        parsed = lined
    return parsed, said


def _ask(
    answer: type[Asked], prompt: str, resolved: Any, settings: Settings, **values: str
) -> Answer[Asked]:
    """Ask one small question, decoded under ``answer``'s schema, with ``prompt``'s two files.

    Two are asked (``<prompt>_system``, ``<prompt>_task``): the kind of software
    and its name (``ProposedKind``), the first and smallest, asked only where
    the parser left the interface open, so that the facts asked next are that
    kind's (a small model is offered no route to invent for a command line);
    and a command line's positional arguments (``ProposedArguments``).
    """
    messages = [
        SystemMessage(render_prompt(f"{prompt}_system")),
        HumanMessage(render_prompt(f"{prompt}_task", **values)),
    ]
    return ask_structured(
        resolved.structured(grammar_schema(answer)),
        messages,
        answer,
        max_parse_retries=settings.generation.max_parse_retries,
        max_model_errors=settings.generation.max_model_errors,
    )


def _arguments(
    resolved: Any, settings: Settings, requirement: str, line: str
) -> Answer[ProposedArguments]:
    """Ask a command line's positional arguments (``arguments_reading``): as code or as JSON.

    As ``code`` (the default), the model writes the command line's parser and
    the rules read each positional argument it adds, with its ``help`` as its
    quote (``proposed.arguments_in_parser``); as ``json``, it lists them under
    ``ProposedArguments``'s schema. Either way the quotes are checked after.
    """
    if settings.generation.arguments_reading == "json":
        return _ask(
            ProposedArguments, "arguments", resolved, settings, requirement=requirement, line=line
        )
    messages = [
        SystemMessage(render_prompt("parser_system")),
        HumanMessage(render_prompt("parser_task", requirement=requirement, line=line)),
    ]
    try:
        reply = invoke(resolved.plain(), messages, settings.generation.max_model_errors)
    except ModelUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - a failed call reads no argument, and says so
        return Answer(None, error=f"the call failed: {type(exc).__name__}: {exc}")
    code = extract_file(text_of(reply), ArtifactKind.PYTHON)
    return Answer(arguments_in_parser(code), usage_of(reply), served_by(reply))


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
    limits = Limits(settings.generation.prose_facts_per_kind, settings.generation.prose_quote_chars)
    parsed = read_requirement(requirement)
    if not leaves_open(parsed) or settings.generation.prose_fact_calls == 0:
        return Reading(run_facts(requirement, parsed, limits=limits))
    started = time.perf_counter()
    proposals: list[ProposedFacts] = []
    usage, served, problems = Usage(), "", []
    try:
        resolved = source().resolve(INTERFACE_ALIAS)
        asks, asked = settings.generation.prose_fact_calls, KIND_FIELDS["unsure"]
        if interface_open(parsed):
            kind = _ask(
                ProposedKind,
                "kind",
                resolved,
                settings,
                requirement=requirement.strip(),
                parsed=_parsed_block(parsed),
            )
            usage, served = usage.add(kind.usage), kind.model or resolved.label
            asked = KIND_FIELDS[kind.value.kind if kind.value else "unsure"]
            problems += [] if kind.value else [f"no kind was read: {kind.problem}"[:300]]
            parsed, said = _completed(requirement, parsed, kind.value)
            problems += said
        if not interface_open(parsed):  # the interface is read: ask only what is open in it
            asks = 0
            if arguments_open(parsed):
                line = "\n".join(u.line for u in parsed.usages)
                argued = _arguments(resolved, settings, requirement.strip(), line)
                usage, served = usage.add(argued.usage), argued.model or served or resolved.label
                if argued.value is None:
                    problems.append(f"the model's arguments were refused: {argued.problem}"[:300])
                else:
                    read, dropped = as_command(
                        argued.value,
                        parsed.module,
                        requirement,
                        limits,
                        by_name=settings.generation.arguments_reading == "code",
                    )
                    proposals.append(read)
                    problems += dropped
        messages = [
            SystemMessage(render_prompt("interface_system")),
            HumanMessage(
                render_prompt(
                    "interface_task",
                    requirement=requirement.strip(),
                    parsed=_parsed_block(parsed),
                    facts="\n".join(_FACT_LINES[name] for name in asked),
                    quote_chars=limits.quote_chars,
                    per_kind=limits.per_kind,
                )
            ),
        ]
        for _ in range(asks):
            answer = ask_structured(
                resolved.structured(schema(limits, asked)),
                messages,
                ProposedFacts,
                max_parse_retries=settings.generation.max_parse_retries,
                max_model_errors=settings.generation.max_model_errors,
            )
            usage, served = usage.add(answer.usage), answer.model or served or resolved.label
            if answer.value is None:
                problems.append(f"the model's facts were refused: {answer.problem}"[:300])
                continue
            proposals.append(answer.value)
            if not leaves_open(run_facts(requirement, parsed, proposals, limits=limits).facts):
                break
    except ModelUnavailableError as exc:
        problems.append(f"no model read the facts: {exc}"[:300])
    found = run_facts(requirement, parsed, proposals, limits=limits, calls=usage.calls)
    found = found.model_copy(update={"notes": (*found.notes, *problems)})
    return Reading(found, usage, served, usage.calls, time.perf_counter() - started)


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
