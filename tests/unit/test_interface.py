"""The facts a model proposes where the parser read none: checked against the text, kept once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from devfactory.factory.reports import ShownRun
from devfactory.graph.checkpoints import serializer, upgrade
from devfactory.graph.state import requirement_facts_of
from devfactory.settings import Settings
from devfactory.software.kinds import skeleton
from devfactory.software.proposed import (
    Limits,
    ProposedCommand,
    ProposedExample,
    ProposedExitCode,
    ProposedFacts,
    ProposedFunction,
    ProposedModule,
    ProposedOption,
    ProposedParameter,
    ProposedRoute,
    RunFacts,
    annotation,
    arguments_open,
    checked,
    interface_open,
    leaves_open,
    merged,
    plain,
    run_facts,
)
from devfactory.software.requirement import Positional, left_open, read_requirement
from tests.fakes import NO_FACTS, Call, ScriptedModels, always_good, run_graph

# A requirement written as people write tickets, in shapes the parser does not read: the
# library's name given as "its name is ...", its one function named without "called",
# "named" or a verb after it. The model is asked for these facts.
PROSE = """# Shelf labels

Build a small Python library for a bookshop's shelves; its name is shelfmark.

Its one function is label_for: given a title (a string) and a
shelf number (an integer), it gives the label as a string, such as
"B-12: Emma" for the title Emma on shelf 12.
"""

# The same library in the shapes the parser reads: "a library called ...", "a function
# named ... that takes ... and returns ...". Its facts are the parser's, never the model's.
CALLED = """# Shelf labels

Build a small Python library called shelfmark for a bookshop's shelves.

It offers a function named label_for that takes a title (a string) and a
shelf number (an integer) and returns the label as a string, such as
"B-12: Emma" for the title Emma on shelf 12.
"""

LIMITS = Limits(per_kind=8, quote_chars=300)

GOOD_MODULE = ProposedModule(name="shelfmark", quote="its name is shelfmark")
GOOD_FUNCTION = ProposedFunction(
    name="label_for",
    parameters=[
        ProposedParameter(name="title", type="a string"),
        ProposedParameter(name="shelf", type="an integer"),
    ],
    returns="string",
    quote="Its one function is label_for: given a title (a string)",
)


def _proposal(**changes: Any) -> ProposedFacts:
    return ProposedFacts(module=GOOD_MODULE, functions=[GOOD_FUNCTION]).model_copy(update=changes)


def test_the_parser_leaves_the_prose_requirement_open() -> None:
    parsed = read_requirement(PROSE)
    assert leaves_open(parsed)
    assert parsed.module == "" and parsed.functions == ()


def test_the_parser_reads_the_called_and_named_shapes_and_its_facts_win() -> None:
    parsed = read_requirement(CALLED)
    assert parsed.module == "shelfmark" and not leaves_open(parsed)
    [function] = parsed.functions
    assert function.signature == "def label_for(title: str, number: int) -> str"
    rival = ProposedFacts(
        module=ProposedModule(name="label_for", quote="It offers a function named label_for"),
        functions=[
            ProposedFunction(
                name="label_for",
                parameters=[ProposedParameter(name="shelf", type="an integer")],
                returns="int",
                quote="a function named label_for that takes a title",
            )
        ],
    )
    assert checked(rival, CALLED, LIMITS).dropped == []  # the rival's facts pass the checks

    kept = run_facts(CALLED, parsed, [rival], limits=LIMITS, calls=1)

    assert kept.facts == parsed and kept.kept == 0  # the parser's facts are never overwritten
    assert not any(n.startswith("filled") for n in kept.notes)


def test_a_script_the_script_kind_reads_is_not_left_open() -> None:
    script = (
        "Write a script `tally.py`, run as `python tally.py FILE [--top N]`, that counts "
        "the words of FILE."
    )
    assert read_requirement(script).module == ""  # the parser reads only `python -m` lines
    assert not leaves_open(read_requirement(script))


def test_a_quote_is_compared_without_markdown_case_or_line_breaks() -> None:
    assert plain("It offers a **function** named `label_for`\n that") == (
        "it offers a function named label_for that"
    )
    assert "given a title (a string) and a shelf number" in plain(PROSE)


def test_only_facts_whose_quote_and_names_are_in_the_text_survive_with_their_quotes() -> None:
    invented_quote = ProposedFunction(
        name="label_for", quote="a function label_for that formats every shelf in the shop"
    )
    invented_name = ProposedFunction(
        name="shelf_code", quote="Its one function is label_for: given a title"
    )
    invented_parameter = ProposedFunction(
        name="label_for",
        parameters=[ProposedParameter(name="author", type="str")],
        quote="Its one function is label_for",
    )
    proposal = _proposal(functions=[invented_quote, invented_name, invented_parameter])
    proposal.functions.append(GOOD_FUNCTION)

    found = checked(proposal, PROSE, LIMITS)

    assert found.module == GOOD_MODULE
    assert found.functions == [GOOD_FUNCTION]  # (c) alone, with its quote
    assert found.proposed == 5 and found.kept == 2
    assert len(found.dropped) == 3
    assert "is not in the requirement" in found.dropped[0]  # (a) its quote is invented
    assert "'shelf_code' not in the requirement" in found.dropped[1]  # (b) its name is
    assert "'author' not in the requirement" in found.dropped[2]


def test_a_command_s_flags_and_a_route_s_path_must_be_written_in_the_text() -> None:
    text = (
        "Run it as python -m stockwatch with an optional --limit flag that takes a number. "
        "The service answers GET requests on /shelves/<shelf> with 200 or 404."
    )
    proposal = ProposedFacts(
        command=ProposedCommand(
            program="stockwatch",
            options=[ProposedOption(flags=["--limit", "--verbose"], takes_value=True)],
            quote="Run it as python -m stockwatch",
        ),
        routes=[
            ProposedRoute(method="GET", path="/shelves/{shelf}", statuses=[200, 404],
                          quote="answers GET requests on /shelves/<shelf>"),
            ProposedRoute(method="POST", path="/orders", quote="answers GET requests"),
        ],
    )  # fmt: skip

    found = checked(proposal, text, LIMITS)

    assert found.command is None  # --verbose is not in the text
    assert "'--verbose' not in the requirement" in found.dropped[0]
    assert [r.path for r in found.routes] == ["/shelves/{shelf}"]
    assert "path '/orders' not in the requirement" in found.dropped[1]


def test_the_model_fills_only_what_the_parser_left_empty() -> None:
    marked = (
        "A module `shelfmark` with `label_for(title: str, shelf: int) -> str`: "
        "it returns the shelf's label."
    )
    parsed = read_requirement(marked)
    assert parsed.module == "shelfmark" and parsed.functions
    rival = ProposedFacts(
        module=ProposedModule(name="label_for", quote="with label_for"),
        functions=[ProposedFunction(name="label_for", returns="int", quote="it returns")],
    )

    facts, filled = merged(parsed, checked(rival, marked, LIMITS))

    assert facts == parsed and filled == []  # the parser's facts are never overwritten


def test_a_prose_requirement_gets_its_module_and_function_from_the_model() -> None:
    kept = run_facts(PROSE, read_requirement(PROSE), [_proposal()], limits=LIMITS, calls=1)

    assert kept.facts.module == "shelfmark"
    [function] = kept.facts.functions
    assert function.signature == "def label_for(title: str, shelf: int) -> str"
    assert function.sentences[0] == GOOD_FUNCTION.quote
    assert not leaves_open(kept.facts)
    assert kept.proposed == 2 and kept.kept == 2 and kept.calls == 1
    assert "filled function label_for from the model's facts" in kept.notes


def test_facts_past_the_cap_and_quotes_past_their_length_are_dropped() -> None:
    tight = Limits(per_kind=1, quote_chars=40)
    long_quote = "Its one function is label_for: given a title (a string)"
    examples = [
        ProposedExample(call="label_for('Emma', 12)", expected='"B-12: Emma"', quote="B-12: Emma"),
        ProposedExample(call="label_for('Emma', 1)", expected='"B-1: Emma"', quote="shelf 12"),
    ]
    proposal = _proposal(
        functions=[GOOD_FUNCTION.model_copy(update={"quote": long_quote})], examples=examples
    )

    found = checked(proposal, PROSE, tight)

    assert found.functions == []
    assert f"its quote is {len(long_quote)} characters, over 40" in found.dropped[0]
    assert found.examples == examples[:1]
    assert found.dropped[-1].endswith("over the cap of 1")


def test_an_example_s_expected_value_must_be_written_in_the_text() -> None:
    stated = ProposedExample(
        call="label_for('Emma', 12)", expected='"B-12: Emma"', quote='such as "B-12: Emma"'
    )
    guessed = stated.model_copy(update={"expected": '"B12 Emma"'})

    found = checked(ProposedFacts(examples=[stated, guessed]), PROSE, LIMITS)

    assert found.examples == [stated]
    assert "its expected value '\"B12 Emma\"' is not in the requirement" in found.dropped[0]


def test_types_in_words_become_python_annotations() -> None:
    assert annotation("a list of integers") == "list[int]"
    assert annotation("dict[str, int]") == "dict[str, int]"
    assert annotation("some kind of shelf thing") == ""


def test_the_kept_facts_round_trip_through_the_checkpointer() -> None:
    kept = run_facts(PROSE, read_requirement(PROSE), [_proposal()], limits=LIMITS, calls=1)
    serde = serializer()

    back = upgrade(serde.loads_typed(serde.dumps_typed({"requirement_facts": kept})))

    assert type(back["requirement_facts"]) is RunFacts and back["requirement_facts"] == kept
    assert requirement_facts_of({"requirement": PROSE, **back}) == kept.facts


def test_a_state_without_kept_facts_or_with_another_requirement_s_reads_the_text() -> None:
    kept = run_facts(PROSE, read_requirement(PROSE), [_proposal()], limits=LIMITS)

    assert requirement_facts_of({"requirement": PROSE}) == read_requirement(PROSE)
    other = "A module `dial` with `turn(n: int) -> int`."
    assert requirement_facts_of({"requirement": other, "requirement_facts": kept}).module == "dial"


def _reading(proposal: dict[str, Any]) -> Any:
    def script(call: Call) -> str:
        return json.dumps(proposal) if call.kind == "interface" else always_good(call)

    return script


@pytest.fixture
def reading(settings: Settings) -> Settings:
    return settings.with_overrides(prose_fact_calls=1)


def test_a_run_reads_its_facts_once_and_builds_the_skeleton_from_the_model_s(
    reading: Settings,
) -> None:
    proposal = _proposal(
        functions=[
            GOOD_FUNCTION,
            ProposedFunction(name="shelf_code", quote="a function named shelf_code"),
        ]
    )
    models = ScriptedModels(_reading(proposal.model_dump(mode="json")))

    state = run_graph("lean", models, reading, PROSE)

    assert models.chat.count("interface") == 1  # once a run, before any stage
    kept = state["requirement_facts"]
    assert kept["facts"]["module"] == "shelfmark" and kept["kept"] == 2
    assert any("shelf_code" in n and "not in the requirement" in n for n in kept["notes"])
    assert any(k.endswith(":interface") for k in state["spend"])
    shown = ShownRun.of(state).requirement_facts  # the run's view says what was dropped
    assert shown is not None and shown.facts.functions[0].name == "label_for"
    assert shown.notes == tuple(kept["notes"])
    drafted = [c.path for c in models.chat.calls if c.kind == "draft"]
    assert "architecture/plan.json" not in drafted  # the plan was made by tools from the facts
    units = [c for c in models.chat.calls if c.kind == "unit"]
    assert [c.path for c in units][:1] == ["label_for"]  # the build loop wrote its body
    assert "def label_for(title: str, shelf: int) -> str" in units[0].prompt
    code = {
        a["path"]: a["content"]
        for a in state["stages"]["backend-engineering"]["result"]["artifacts"]
    }
    assert "def label_for(title: str, shelf: int) -> str:" in code["shelfmark.py"]


MARKED = (
    "Write a module `shelfmark` with `label_for(title: str, shelf: int) -> str`, "
    "which returns the label of a title on a shelf."
)


@pytest.mark.parametrize("requirement", [MARKED, CALLED], ids=["code spans", "prose"])
def test_a_requirement_the_parser_reads_costs_no_model_call(
    reading: Settings, requirement: str
) -> None:
    models = ScriptedModels(_reading(_proposal().model_dump(mode="json")))

    state = run_graph("lean", models, reading, requirement)

    assert models.chat.count("interface") == 0
    assert state["requirement_facts"]["facts"]["module"] == "shelfmark"
    assert state["requirement_facts"]["calls"] == 0 and state["requirement_facts"]["notes"] == []
    assert not any(k.endswith(":interface") for k in state["spend"])


def test_a_reply_with_no_facts_leaves_the_parser_s_as_they_are(reading: Settings) -> None:
    models = ScriptedModels(_reading(NO_FACTS))

    state = run_graph("lean", models, reading, PROSE)

    assert models.chat.count("interface") == 1
    assert state["requirement_facts"]["facts"]["module"] == ""
    assert state["requirement_facts"]["proposed"] == 0


def test_the_stored_facts_survive_a_checkpoint_of_the_whole_run(reading: Settings) -> None:
    from devfactory.graph import build_graph
    from devfactory.graph.context import Context

    saver = InMemorySaver(serde=serializer())
    graph = build_graph("lean").compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": "facts"}}
    models = ScriptedModels(_reading(_proposal().model_dump(mode="json")))
    graph.invoke(
        {"run_id": "facts", "requirement": PROSE, "pipeline": "lean"},
        cfg,
        context=Context(settings=reading, models=models),
        durability="sync",
    )

    values = upgrade(graph.get_state(cfg).values)

    assert type(values["requirement_facts"]) is RunFacts
    assert values["requirement_facts"].facts.module == "shelfmark"


def test_the_calls_stop_at_their_cap_or_once_nothing_is_left_open(reading: Settings) -> None:
    two = reading.with_overrides(prose_fact_calls=2)
    empty = ScriptedModels(_reading(NO_FACTS))
    run_graph("lean", empty, two, PROSE)
    assert empty.chat.count("interface") == 2  # nothing filled: asked again, up to the cap

    filled = ScriptedModels(_reading(_proposal().model_dump(mode="json")))
    state = run_graph("lean", filled, two, PROSE)
    assert filled.chat.count("interface") == 1  # the first reply closed the gaps
    assert state["requirement_facts"]["calls"] == 2  # the kind, then one reading


def test_the_schema_the_model_decodes_under_carries_the_caps() -> None:
    from devfactory.graph.planning.reading import schema

    capped = schema(Limits(per_kind=3, quote_chars=120))

    assert capped["properties"]["functions"]["maxItems"] == 3
    function = capped["properties"]["functions"]["items"]
    assert function["properties"]["quote"]["maxLength"] == 120
    assert function["additionalProperties"] is False and "quote" in function["required"]


def test_the_stubs_check_knows_the_units_of_a_skeleton_made_from_the_model_s_facts() -> None:
    from devfactory.checks.code.unwritten import stubs_left

    kept = run_facts(PROSE, read_requirement(PROSE), [_proposal()], limits=LIMITS)
    made = skeleton(kept.facts)
    assert made is not None and made.path == "shelfmark.py"
    files = {made.path: made.source}

    assert stubs_left(files, {}, PROSE, facts=kept.facts) == [("shelfmark.py", "label_for")]
    assert stubs_left(files, {}, PROSE) == []  # the parser alone knows no unit of it


@pytest.mark.parametrize(
    ("name", "most", "least"),
    [("prose_fact_calls", 4, 0), ("prose_facts_per_kind", 32, 1), ("prose_quote_chars", 2000, 20)],
)
def test_the_facts_settings_are_bounded(name: str, most: int, least: int) -> None:
    from pydantic import ValidationError

    def made(value: int) -> Settings:
        values: dict[str, Any] = {name: value}
        return Settings(**values)

    assert made(most).flat()[name] == most and made(least).flat()[name] == least
    for outside in (most + 1, least - 1):
        with pytest.raises(ValidationError):
            made(outside)


# A command line whose name is given as "whose name is ...", never run with "python -m" in
# the text: the parser reads no module, so no command line, and the model's command is asked.
COMMAND = (
    "Write a command line tool whose name is stockwatch; it prints the items of a "
    "stock file that run low. It takes the path of the file and an optional --limit "
    "option that takes a number. With the --json switch it prints a JSON list. "
    "It exits with status 2 when the stock file is missing."
)
# The same tool run as "python -m stockwatch": the parser reads its usage line and exit codes.
COMMAND_RUN = COMMAND.replace(" whose name is stockwatch;", ", run as python -m stockwatch, that")


def _command(quote: str) -> ProposedFacts:
    return ProposedFacts(
        command=ProposedCommand(
            program="stockwatch",
            positionals=["FILE"],
            options=[
                ProposedOption(flags=["--limit"], takes_value=True, value_name="N"),
                ProposedOption(flags=["--json"]),
            ],
            quote=quote,
        ),
        exit_codes=[
            ProposedExitCode(code=2, meaning="unreadable", quote="status 2 when the stock file")
        ],
    )


def test_a_prose_command_line_gets_its_usage_line_options_and_exit_codes() -> None:
    parsed = read_requirement(COMMAND)
    assert parsed.module == "" and parsed.usages == () and leaves_open(parsed)

    facts = run_facts(COMMAND, parsed, [_command("whose name is stockwatch")], limits=LIMITS).facts

    assert facts.module == "stockwatch"
    [usage] = facts.usages
    assert usage.line == "python -m stockwatch FILE [--limit N] [--json]"
    limit, switch = usage.options
    assert limit.metavar == "N" and limit.integer and switch.metavar is None
    assert switch.sentences == ("With the --json switch it prints a JSON list.",)
    assert [(e.code, e.meaning) for e in facts.exit_codes] == [(2, "unreadable")]
    made = skeleton(facts)
    assert (
        made is not None and "parser.add_argument('--limit', metavar='N', type=int" in made.source
    )


# A web service whose module is named in words the parser reads, and whose routes give the
# path before the method ("the path /items, read with GET"), a shape the parser does not read.
SERVICE = (
    "Build a small web service in a module called pantry. The path /items, read with "
    "GET, lists the items and answers 200. The path /items/<item_id>, also read with GET, "
    "gives one item, or answers 404 if that item does not exist."
)
# The same service with each method before its path: the parser reads the routes.
SERVICE_ROUTED = (
    "Build a small web service in a module called pantry. Listing the items is a GET "
    "request to /items, which answers 200. Fetching one is a GET on /items/<item_id>, "
    "answering 404 if that item does not exist."
)


def test_a_prose_web_service_gets_its_routes_with_the_sentences_that_hold_their_quotes() -> None:
    parsed = read_requirement(SERVICE)
    assert parsed.module == "pantry" and parsed.routes == () and leaves_open(parsed)
    proposal = ProposedFacts(
        module=ProposedModule(name="service", quote="a small web service"),
        routes=[
            ProposedRoute(method="GET", path="/items", statuses=[200],
                          quote="The path /items, read with GET"),
            ProposedRoute(method="GET", path="/items/{item_id}", statuses=[200, 404],
                          quote="The path /items/<item_id>, also read with GET"),
        ],
    )  # fmt: skip

    kept = run_facts(SERVICE, parsed, [proposal], limits=LIMITS)
    facts = kept.facts

    assert facts.module == "pantry"  # the parser's, though the model's module passed its checks
    assert facts.framework == "fastapi" and facts.app == "app"
    assert not any(n.startswith("dropped") for n in kept.notes)
    listing, one = facts.routes
    assert listing.sentences == (
        "The path /items, read with GET, lists the items and answers 200.",
    )
    assert one.path == "/items/{item_id}" and one.statuses == (200, 404)
    made = skeleton(facts)
    assert (
        made is not None
        and made.path == "pantry.py"
        and "@app.get('/items/{item_id}'" in (made.source)
    )


@pytest.mark.parametrize(
    ("text", "proposal"),
    [
        (COMMAND_RUN, _command("run as python -m stockwatch")),
        (
            SERVICE_ROUTED,
            ProposedFacts(
                routes=[
                    ProposedRoute(
                        method="GET", path="/items", statuses=[200], quote="a GET request to /items"
                    ),
                    ProposedRoute(
                        method="POST",
                        path="/items/{item_id}",
                        statuses=[404],
                        quote="a GET on /items/<item_id>, answering 404",
                    ),
                ]
            ),
        ),
    ],  # fmt: skip
    ids=["command line", "routes"],
)
def test_a_command_line_or_routes_the_parser_reads_keep_the_parser_s_facts(
    text: str, proposal: ProposedFacts
) -> None:
    parsed = read_requirement(text)
    assert left_open(parsed) == ()  # module, interface and (for a command line) exit codes
    assert checked(proposal, text, LIMITS).dropped == []  # the model's facts pass the checks

    kept = run_facts(text, parsed, [proposal], limits=LIMITS, calls=1)

    assert kept.facts == parsed and kept.kept == 0  # the parser's facts are never overwritten
    assert not any(n.startswith("filled") for n in kept.notes)


def test_an_exit_code_must_be_in_its_quote_and_a_route_keeps_only_written_statuses() -> None:
    text = (
        "Run it as python -m stockwatch; it exits 2 when the file is missing. "
        "GET /items lists them, or answers 404."
    )
    proposal = ProposedFacts(
        command=ProposedCommand(
            program="stockwatch",
            options=[ProposedOption(flags=["limit"], takes_value=True)],
            quote="Run it as python -m stockwatch",
        ),
        exit_codes=[
            ProposedExitCode(code=2, quote="exits 2 when the file is missing"),
            ProposedExitCode(code=1, quote="exits 2 when the file is missing"),
        ],
        routes=[
            ProposedRoute(method="GET", path="/items", statuses=[200, 404], quote="GET /items")
        ],
    )

    found = checked(proposal, text, LIMITS)

    assert found.command is None and "'limit' is not an option's flag" in found.dropped[0]
    assert [e.code for e in found.exit_codes] == [2]
    assert "its quote does not give the code 1" in found.dropped[1]
    assert found.routes[0].statuses == [404]  # 200 is not written


def test_no_model_to_ask_leaves_the_parser_s_facts_and_says_so(reading: Settings) -> None:
    from langgraph.runtime import Runtime

    from devfactory.graph.context import Context
    from devfactory.graph.planning.reading import read_once
    from devfactory.models.router import ModelUnavailableError

    class NoModels:
        def resolve(self, alias: str) -> Any:
            raise ModelUnavailableError(f"no model serves {alias}")

    runtime: Any = Runtime(context=Context(settings=reading, models=NoModels()))

    update = read_once({"requirement": PROSE}, runtime)

    kept = update["requirement_facts"]
    assert kept.facts == read_requirement(PROSE) and kept.calls == 0 and "spend" not in update
    assert kept.notes == ("no model read the facts: no model serves factory/architect",)
    assert read_once({"requirement": PROSE, "requirement_facts": kept}, runtime) == {}


# A command line described in words, its arguments in a shape the parser's rules do not
# read ("whatever words follow the program's name"): the line it makes up names none.
SHOUT = """# Shout

Build shout, a tool for the terminal, started with python -m shout. Whatever
words follow the program's name are printed back in capitals, joined by single spaces.
The option --exclaim adds an exclamation mark at the end.
"""
WORDS = "Whatever words follow the program's name"


def _shout(positionals: list[str], quote: str = WORDS) -> ProposedFacts:
    return ProposedFacts(
        command=ProposedCommand(program="shout", positionals=positionals, quote=quote)
    )


def test_a_command_line_made_up_from_words_naming_no_argument_leaves_its_arguments_open() -> None:
    parsed = read_requirement(SHOUT)
    [usage] = parsed.usages
    assert usage.synthesised and usage.positionals == ()
    assert leaves_open(parsed) and arguments_open(parsed) and not interface_open(parsed)
    # a line the requirement writes, or words the rules read, leave nothing open
    for stated in (
        SHOUT + "\nIt is run as `python -m shout WORD... [--exclaim]`.\n",
        SHOUT.replace("Whatever\nwords follow the program's name", "It reads the file named"),
    ):
        assert read_requirement(stated).usages[0].positionals, stated
        assert not leaves_open(read_requirement(stated)), stated


def test_the_model_s_arguments_complete_the_line_the_parser_made_and_only_that() -> None:
    parsed = read_requirement(SHOUT)
    kept = run_facts(SHOUT, parsed, [_shout(["WORD..."])], limits=LIMITS)
    [usage] = kept.facts.usages
    assert usage.line == "python -m shout WORD... [--exclaim]"
    assert usage.positionals == (Positional("WORD", many=True),)
    assert usage.options == parsed.usages[0].options  # the parser's options stay as read
    assert kept.notes == ("filled usage line python -m shout WORD... [--exclaim] from the "
                          "model's facts",)  # fmt: skip
    assert not leaves_open(kept.facts)
    optional = run_facts(SHOUT, parsed, [_shout(["[text...]"])], limits=LIMITS).facts
    assert optional.usages[0].line == "python -m shout [TEXT...] [--exclaim]"
    # no argument read, a quote the requirement does not hold, another program: as parsed
    for proposal in (
        _shout([]),
        _shout(["WORD"], quote="the words given on the command line"),
        ProposedFacts(command=ProposedCommand(program="other", positionals=["X"], quote=WORDS)),
    ):
        assert run_facts(SHOUT, parsed, [proposal], limits=LIMITS).facts.usages == parsed.usages
    # a line with arguments, or one the requirement writes, is never changed
    stated = SHOUT + "\nIt is run as `python -m shout WORD... [--exclaim]`.\n"
    facts = read_requirement(stated)
    assert run_facts(stated, facts, [_shout(["A", "B"])], limits=LIMITS).facts == facts


def _arguments_reply(*arguments: dict[str, Any]) -> Any:
    def script(call: Call) -> str:
        if call.kind == "arguments":
            return json.dumps({"arguments": list(arguments)})
        return always_good(call)

    return script


def _parser_reply(code: str) -> Any:
    def script(call: Call) -> str:
        said = f"Here it is:\n```python\n{code}```\n"
        return said if call.kind == "parser" else always_good(call)

    return script


PARSER = f"""import argparse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shout")
    parser.add_argument("--exclaim", action="store_true")
    parser.add_argument("word", nargs="+", help="{WORDS}")
    return parser
"""


def test_open_arguments_are_read_from_the_parser_the_model_writes(reading: Settings) -> None:
    from devfactory.graph.planning.reading import read_facts

    models = ScriptedModels(_parser_reply(PARSER))
    found = read_facts(SHOUT, reading, lambda: models)
    assert found.facts.facts.usages[0].line == "python -m shout WORD... [--exclaim]"
    assert models.chat.count("parser") == 1 and models.chat.count("arguments") == 0
    [asked] = [c for c in models.chat.calls if c.kind == "parser"]
    assert "python -m shout [--exclaim]" in asked.prompt
    # a help in the model's words: kept where a sentence names the argument, that its quote
    for code in (
        PARSER.replace(WORDS, "the words to shout"),
        PARSER.replace(f', help="{WORDS}"', ""),
    ):
        found = read_facts(SHOUT, reading, lambda c=code: ScriptedModels(_parser_reply(c)))
        assert found.facts.facts.usages[0].line == "python -m shout WORD... [--exclaim]", code
    # a name no sentence holds with no quote, no positional, no code: the line the rules made
    for code in (
        PARSER.replace('"word", nargs="+", help="', '"target", nargs="+", help="aim at '),
        PARSER.replace('"word", nargs="+", ', '"--word", '),
        "def build_parser(:\n",  # no code that parses
    ):
        found = read_facts(SHOUT, reading, lambda c=code: ScriptedModels(_parser_reply(c)))
        assert found.facts.facts.usages == read_requirement(SHOUT).usages, code


def test_the_parser_s_positional_arguments_are_read_in_order_with_their_counts() -> None:
    from devfactory.software.proposed import arguments_in_parser

    code = (
        "def build_parser():\n    p = argparse.ArgumentParser()\n"
        "    p.add_argument('source', help='the file to read')\n"
        "    p.add_argument('--to', help='not positional')\n"
        "    p.add_argument('rest', nargs=argparse.REMAINDER)\n"
        "    p.add_argument('pair', nargs=2)\n"
        "    p.add_argument('maybe', nargs='?', help=f'{x}')\n"
        "    p.add_argument('any', nargs='*')\n"
        "    p.add_argument('not-a-name')\n"
        "    return p\n"
    )
    read = [(a.name, a.repeats, a.optional, a.quote) for a in arguments_in_parser(code).arguments]
    assert read == [
        ("SOURCE", False, False, "the file to read"),
        ("REST", True, False, ""),
        ("PAIR", True, False, ""),
        ("MAYBE", False, True, ""),  # a help that is no plain string quotes nothing
        ("ANY", True, True, ""),
    ]


def test_open_arguments_asked_as_json_ask_the_model_for_them_alone_once(reading: Settings) -> None:
    from devfactory.graph.planning.reading import read_facts

    many = reading.with_overrides(prose_fact_calls=3, arguments_reading="json")
    models = ScriptedModels(always_good)  # it reads no argument
    found = read_facts(SHOUT, many, lambda: models)
    assert models.chat.count("arguments") == 1  # one reading answers it, whatever it finds
    assert models.chat.count("interface") == 0 and models.chat.count("kind") == 0
    assert found.facts.facts.usages == read_requirement(SHOUT).usages
    [asked] = [c for c in models.chat.calls if c.kind == "arguments"]
    assert "python -m shout [--exclaim]" in asked.prompt
    word = {"name": "WORD", "repeats": True, "optional": False, "quote": WORDS}
    models = ScriptedModels(_arguments_reply(word))
    found = read_facts(SHOUT, many, lambda: models)
    assert found.facts.facts.usages[0].line == "python -m shout WORD... [--exclaim]"
    # the words after a lead-in are the quote; words the requirement lacks drop the argument
    led = {**word, "quote": f"The requirement says: {WORDS}"}
    found = read_facts(SHOUT, many, lambda: ScriptedModels(_arguments_reply(led))).facts
    assert found.facts.usages[0].line == "python -m shout WORD... [--exclaim]"
    made_up = {**word, "quote": "the words typed on the command line"}
    found = read_facts(SHOUT, many, lambda: ScriptedModels(_arguments_reply(made_up))).facts
    assert found.facts.usages == read_requirement(SHOUT).usages
    assert any(n.startswith("dropped argument WORD: its quote") for n in found.notes)
    off = reading.with_overrides(prose_fact_calls=0)
    silent = ScriptedModels(_arguments_reply(word))
    assert read_facts(SHOUT, off, lambda: silent).facts.facts == read_requirement(SHOUT)
    assert silent.chat.count("arguments") == 0 and silent.chat.count("parser") == 0


NAMED_IN_PASSING = (
    "Please write a small tool for shouting, and name it shoutout. People start it from a "
    "shell. With the option --loud every letter is upper case. It prints the words it is "
    "given, joined by spaces."
)


def _kind_then(kind: dict[str, str], facts: dict[str, Any] = NO_FACTS) -> Any:
    def script(call: Call) -> str:
        if call.kind == "kind":
            return json.dumps(kind)
        return json.dumps(facts) if call.kind == "interface" else always_good(call)

    return script


def test_the_kind_and_name_the_model_reads_let_the_rules_make_the_command_line(
    reading: Settings,
) -> None:
    from devfactory.graph.planning.reading import read_facts

    assert read_requirement(NAMED_IN_PASSING).module == ""  # the rules alone read nothing
    models = ScriptedModels(_kind_then({"kind": "command line", "name": "shoutout"}))
    found = read_facts(NAMED_IN_PASSING, reading, lambda: models).facts
    assert found.facts.module == "shoutout"
    assert found.facts.usages[0].line.startswith("python -m shoutout")
    assert "[--loud]" in found.facts.usages[0].line  # the option the text's flag names
    assert any("filled module shoutout" in n for n in found.notes)
    assert models.chat.count("interface") == 0  # the interface is read: only its arguments
    [arguments] = [c for c in models.chat.calls if c.kind == "parser"]
    assert "python -m shoutout [--loud]" in arguments.prompt
    # a name the requirement does not write is no module, and a library is asked no command
    models = ScriptedModels(_kind_then({"kind": "library", "name": "yeller"}))
    found = read_facts(NAMED_IN_PASSING, reading, lambda: models).facts
    assert found.facts.module == "" and found.facts.usages == ()
    [facts_call] = [c for c in models.chat.calls if c.kind == "interface"]
    assert '"functions"' in facts_call.prompt and '"command"' not in facts_call.prompt
    assert found.calls == 2  # the kind, then the facts of a library
