"""Ask the model for small tests of a unit's behaviour, and choose its code by agreement with them.

The build loop (``build.py``) calls these for a unit the model's tests can
call (``kinds.behaviour_tested``: a planned function, a filter's transform): ``asked``
gets the tests, one JSON object under ``ProposedTests``'s schema per call,
checked by code (``software/behaviour.checked``); ``agreed`` runs every
candidate on every test's arguments in one sandbox call each and keeps the
one dual agreement picks (``graph/stage/build_loop/agreement.choose``), among those tied on
the requirement's own examples. Stubs never take part.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from devfactory.contracts import Usage
from devfactory.graph.model_io.briefs import requirement_seen
from devfactory.graph.model_io.prompt_files import render_prompt
from devfactory.graph.stage.build_loop.agreement import Choice, choose
from devfactory.graph.stage.build_loop.trials import Trial, TrialRunner
from devfactory.graph.stage.drafting import Drafting
from devfactory.graph.state import requirement_facts_of
from devfactory.models.fanout import at_once, in_order
from devfactory.models.io import JsonSchema, ask_structured, grammar_schema
from devfactory.settings import Settings
from devfactory.software.behaviour import (
    VARIADIC,
    BehaviourTest,
    Checked,
    Hints,
    Limits,
    ProposedTest,
    ProposedTests,
    ProposedValueTest,
    ProposedValueTests,
    arity,
    as_passed,
    checked,
    examples_said,
    hints_of,
    matrix,
    passes,
    raisable,
)
from devfactory.software.kinds import Comparison, examples
from devfactory.software.requirement import RequirementFacts
from devfactory.software.skeleton import Skeleton, Unit
from devfactory.software.source import unwritten


@dataclass(frozen=True)
class TestsRequest:
    """What asking for a unit's tests sends, and what checking the answer needs."""

    messages: list[BaseMessage]
    schema: JsonSchema
    takes: tuple[int, int]  # the unit's fewest and most positional arguments
    said: dict[tuple[str, str], str]  # what the requirement's examples say of calls
    limits: Limits
    form: type[ProposedTests] | type[ProposedValueTests]  # what the reply is decoded as
    hints: Hints  # the unit's annotations, that JSON values are read by
    raisable: frozenset[str] = frozenset()  # the exceptions the words name (``raisable``)


def tests_request(
    requirement: str,
    facts: RequirementFacts,
    skeleton_source: str,
    unit: Unit,
    settings: Settings,
    team_name: str,
) -> TestsRequest:
    """Return the request for tests of ``unit`` of the skeleton, under the settings' caps.

    ``behaviour_test_values`` picks the form: Python literals inside JSON strings
    (``literal``), or JSON values (``json``).
    """
    limits = Limits(
        settings.generation.behaviour_tests_per_sentence,
        settings.generation.behaviour_tests_per_unit,
        settings.generation.behaviour_test_value_chars,
    )
    signature, takes, names = _signature(skeleton_source, unit.name)
    form = (
        ProposedValueTests if settings.generation.behaviour_test_values == "json" else ProposedTests
    )
    values = render_prompt(
        f"behaviour_values_{settings.generation.behaviour_test_values}",
        unit=unit.name,
        takes=_takes(takes, names),
    )
    schema = grammar_schema(form)
    schema["properties"]["tests"]["maxItems"] = limits.per_unit
    fields = schema["properties"]["tests"]["items"]["properties"]
    chars = limits.value_chars
    if form is ProposedValueTests:  # a call gives as many values as the unit takes
        fields["arguments"]["minItems"] = takes[0]
        if takes[1] < VARIADIC:
            fields["arguments"]["maxItems"] = takes[1]
        fields["arguments"]["items"] = _bounded(fields["arguments"]["items"], chars)
    fields["expected"] = _bounded(fields["expected"], chars)
    if form is ProposedTests:
        fields["arguments"] = _bounded(fields["arguments"], chars)
    messages: list[BaseMessage] = [
        SystemMessage(render_prompt("behaviour_system", team_name=team_name)),
        HumanMessage(
            render_prompt(
                "behaviour_task",
                requirement=requirement_seen(
                    requirement, f"{unit.name} {' '.join(unit.sentences)}", settings
                ),
                function="\n".join([f"`{signature}`", *unit.told]),
                about="\n".join(f"- {s}" for s in unit.sentences),
                unit=unit.name,
                per_sentence=limits.per_sentence,
                per_unit=limits.per_unit,
                values=values.strip(),
            )
        ),
    ]
    said = examples_said(examples(facts))
    hints = hints_of(skeleton_source, unit.name)
    return TestsRequest(
        messages, schema, takes, said, limits, form, hints, raisable(requirement, *unit.told)
    )


def _bounded(value: JsonSchema, chars: int) -> JsonSchema:
    """Return ``value``'s schema with its text at most ``chars`` long, its other types as they are.

    Written as an alternative of its own: llama-cpp-python's converter reads a
    list of types as bare types, without their bounds.
    """
    types = value.get("type")
    if types == "string":
        return {**value, "maxLength": chars}
    if not isinstance(types, list) or "string" not in types:
        return value
    others = {k: v for k, v in value.items() if k != "description"}
    others["type"] = [t for t in types if t != "string"]
    text = {"type": "string", "maxLength": chars}
    described = {"description": value["description"]} if "description" in value else {}
    return {**described, "anyOf": [text, others]}


def asked(work: Drafting, made: Skeleton, unit: Unit) -> tuple[Checked, Usage, str]:
    """Ask for tests of ``unit`` (up to ``behaviour_test_calls`` calls); return those kept.

    Also returns the calls' usage and the model that served them. The calls
    stop once ``behaviour_tests_per_unit`` tests are kept; a failed call or a
    reply that never validates adds nothing.
    """
    settings = work.settings
    requirement = work.state["requirement"]
    facts = requirement_facts_of(work.state)
    request = tests_request(requirement, facts, made.source, unit, settings, work.setup.spec.name)
    limits = request.limits
    proposed: list[ProposedTest | ProposedValueTest] = []
    found, usage, model, empty = Checked(), Usage(), "", []
    ask = partial(
        ask_structured,
        work.resolved.structured(request.schema),
        request.messages,
        request.form,
        max_parse_retries=settings.generation.max_parse_retries,
        max_model_errors=settings.generation.max_model_errors,
    )

    def more() -> bool:  # asked before each call is sent: while too few are kept
        return len(found.tests) < limits.per_unit

    asks = [ask] * settings.generation.behaviour_test_calls
    for answer in in_order(asks, at_once(settings, work.resolved), more):
        usage, model = usage.add(answer.usage), answer.model or model
        if not more():  # sent while an earlier answer was on its way: its cost counts, no more
            continue
        if answer.value is not None and answer.value.tests:
            proposed += answer.value.tests
        else:  # said in the stage's notes: a failed call, a reply that never validated, none
            invalid = f"no reply validated: {answer.problems[-1]}" if answer.problems else ""
            empty.append(answer.error or invalid or "a reply with no test")
        found = checked(
            proposed,
            unit=unit.name,
            requirement=requirement,
            takes=request.takes,
            limits=limits,
            said=request.said,
            hints=request.hints,
            raisable=request.raisable,
        )
    found.empty = empty
    return found, usage, model


def agreed(
    made: Skeleton,
    unit: Unit,
    drawn: Sequence[Trial],
    tests: Sequence[BehaviourTest],
    runner: TrialRunner,
    compared: Comparison | None,
) -> tuple[Trial, Choice, list[BehaviourTest]] | None:
    """Return the candidate dual agreement keeps, why, and the tests it passes as written.

    Only candidates that are no stub (``source.unwritten``) take part (None when
    none is left).
    Each is called on every test's arguments in one sandbox call; outcomes are
    compared as the kind says (``compared``). The tests returned pass on the
    chosen candidate as plain values, so they hold as QA's pytest asserts.
    """
    pool = [t for t in drawn if not unwritten(t.source, [unit.name], skeleton=made.source)]
    if not pool:
        return None
    arguments = [t.arguments for t in tests]
    outcomes = [runner.behaviour(t.source, unit.name, arguments) for t in pool]
    written = compared.written if compared is not None else None
    choice = choose(
        [t.score for t in pool],
        matrix(outcomes, tests, written),
        outcomes,
        [bool(t.raises) for t in tests],
    )
    mine = outcomes[choice.index]
    kept = (
        [as_passed(o, t) for t, o in zip(tests, mine, strict=True) if passes(o, t)] if mine else []
    )
    return pool[choice.index], choice, kept


def _signature(source: str, name: str) -> tuple[str, tuple[int, int], tuple[str, ...]]:
    """Return ``name``'s ``def`` line in the skeleton, how many arguments it takes, and their names.

    The names are the positional parameters in order, a ``*args`` last as ``*args``.
    """
    takes = arity(source, name) or (0, 0)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            head = copy.copy(node)
            head.body, head.decorator_list = [ast.Expr(ast.Constant(...))], []
            names = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
            if node.args.vararg is not None:
                names.append(f"*{node.args.vararg.arg}")
            return ast.unparse(head).split("\n")[0], takes, tuple(names)
    return f"def {name}(...)", takes, ()


def _takes(takes: tuple[int, int], names: Sequence[str] = ()) -> str:
    """Say how many arguments a call gives, and which in order, for the prompt."""
    fewest, most = takes
    if fewest == most:
        said = f"exactly {fewest} argument{'s' if fewest != 1 else ''}"
    elif most >= VARIADIC:
        said = f"{fewest} or more arguments"
    else:
        said = f"from {fewest} to {most} arguments"
    if not names:
        return said
    return f"{said}, in this order: {', '.join(f'`{n}`' for n in names)}"
