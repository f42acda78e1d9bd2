"""How a stage writes its files.

Attempts and retries, tokens and sampling, the build loop's candidates, the
model's tests, the repairs of model output and the fix rounds.

``Settings.generation`` (``settings/__init__.py``): each field is given by its flat name,
``DEVFACTORY_<NAME>``, as every setting is.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devfactory.settings.concern import Concern

RepairName = Literal[
    "quotes",
    "stdlib-imports",
    "cut-marks",
    "except-names",
    "pytest-import",
    "mock-imports",
    "app-calls",
    "self-fixtures",
    "broken-tests",
    "module-checks",
    "relative-imports",
    "absent-imports",
    "project-imports",
    "handler-calls",
    "entry-calls",
    "method-aliases",
    "unbound-tests",
    "unknown-fixtures",
    "starting-plan",
    "plan-shape",
    "unwritten-files",
    "tests-by-name",
    "module-files",
    "python-m-main",
    "missing-tests",
    "owners",
    "unknown-fields",
    "confidence",
    "lists",
    "no-question",
    "diagram",
    "openapi-required",
    "repeats",
    "cut-tests",
    "refuted-tests",
]
"""Each mechanical repair's name in ``repairs/repair.py`` (``NAMES``: one name, every kind)."""


class GenerationSettings(Concern):
    """How a stage writes its files."""

    # Confidence gate and repair limits.
    max_stage_attempts: int = Field(default=3, ge=1, le=10)
    """Gate attempts per stage before it is BLOCKED."""
    disagreeing_tests_attempt: int = Field(default=1, ge=0, le=10)
    """The stage attempt from which a team's tests that fail on code passing every one of the
    requirement's own examples are taken out (software/disagreeing_tests.py); 0: only at the
    stage's last attempt, each attempt before asking the team to mend them (on the 1.5B the last
    attempt still had them: docs/quality.md)."""
    max_parse_retries: int = Field(default=2, ge=0, le=5)
    """Requests again after an invalid report, a report that only echoes its request, or a Python
    draft the gate would refuse."""
    max_model_errors: int = Field(default=2, ge=1, le=5)
    """Tries per model call on transport errors."""
    recursion_limit: int = Field(default=100, ge=4, le=10_000)
    """LangGraph's recursion limit per run."""

    # Generation limits.
    stage_max_tokens: int = Field(default=1024, ge=64, le=32_768)
    """Tokens one model call may write."""
    baseline_max_tokens: int = Field(default=2048, ge=256, le=32_768)
    """Generation cap of the evaluation's single-call baseline (eval/baseline.py), which writes a
    whole module in one reply: its own cap, not stage_max_tokens."""
    upstream_chars: int = Field(default=1500, ge=200, le=100_000)
    """Characters of each upstream artifact shown to a stage."""
    max_continuations: int = Field(default=1, ge=0, le=4)
    """Calls that continue a file cut off at stage_max_tokens before it is reported unfinished."""
    loop_repeat_penalty: float = Field(default=1.1, ge=1.0, le=2.0)
    """The repeat penalty of the one call that asks again for a Python file whose reply looped
    (one block of lines written over until the token limit); that call is sampled at
    candidate_temperature too (at the stage's temperature with this penalty, the 1.5B looped
    again in the demo's QA stage). Embedded models and Ollama; others keep their own."""
    context_tokens: int = Field(default=2500, ge=200, le=200_000)
    """Token budget of a stage's packed context (objective, recall, upstream)."""
    requirement_tokens: int = Field(default=1200, ge=100, le=200_000)
    """The most of the requirement one call sees (within context_tokens); a longer spec is cut to
    its overview and the sections most relevant to the call."""
    feedback_tokens: int = Field(default=1000, ge=100, le=200_000)
    """The most tokens of the gate's feedback one call sees, and again of the answers, guidance
    and check findings: problems that differ only in their numbers are said once with their
    count, the rest named by how many were left out."""
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    """Sampling temperature of a stage's calls."""

    candidates: int = Field(default=3, ge=1, le=16)
    """Bodies drawn for each unit of a module (a function, a command, a module with routes), each
    run against the example tests; the best is kept. Drawn at temperatures from `temperature` up
    to `candidate_temperature`."""
    parallel_candidates: int = Field(default=4, ge=1, le=8)
    """Calls of one unit drawn at once (its candidates, the model's tests of it, the whole
    module's answers), at most as many as its model serves at once (`ResolvedModel.parallel`); 1:
    one after another. Results are taken in the order drawn, so the choice among given candidates
    does not depend on which came first."""
    behaviour_tests_per_sentence: int = Field(default=3, ge=1, le=8)
    """Tests the model may write of one behaviour sentence of a unit it can call (a planned
    function, a filter's transform); candidates are chosen by dual agreement with them among
    those tied on the requirement's examples."""
    behaviour_tests_per_unit: int = Field(default=8, ge=1, le=24)
    """Tests of a unit's behaviour kept in all (each run on every candidate)."""
    behaviour_test_calls: int = Field(default=1, ge=0, le=4)
    """Model calls asking for a unit's behaviour tests (0: none are asked; later calls only while
    fewer than `behaviour_tests_per_unit` were kept)."""
    behaviour_test_value_chars: int = Field(default=400, ge=40, le=4000)
    """The longest text one value of a behaviour test may be (an argument, the result; in the
    `literal` form the whole arguments), bounded in the grammar itself: a model that repeats
    lines inside a value until the token limit leaves no test at all."""
    repairs_off: tuple[RepairName, ...] = ()
    """Mechanical repairs of model output left out, by name (repairs/repair.py: quotes,
    stdlib-imports, cut-marks, except-names, pytest-import, mock-imports, app-calls, self-fixtures,
    broken-tests, module-checks, relative-imports, project-imports, handler-calls, entry-calls,
    method-aliases, unbound-tests, unknown-fixtures, the plan's, the report's, diagram,
    openapi-required, repeats, cut-tests, refuted-tests): what each does for a model is
    measured with it on and off (docs/quality.md). Unset, every repair is made."""
    behaviour_test_values: Literal["literal", "json"] = "json"
    """How the model writes a behaviour test's arguments and result: as JSON values (`json`: read
    back by the function's annotations, a list and a tuple compare alike, an object expected of a
    function returning text compared with the JSON text it returns), or as Python literals inside
    JSON strings (`literal`). On the dev units both embedded models wrote more right tests as JSON
    (docs/quality.md)."""
    prose_fact_calls: int = Field(default=1, ge=0, le=4)
    """Model calls asking for the facts the parser left open (no module, or no function, usage
    line or route), after one asking the kind of software and its name; a command line's
    arguments left open are one call more; 0: nothing is asked. A requirement whose interface the
    parser reads costs none."""
    arguments_reading: Literal["code", "json"] = "code"
    """How a command line's positional arguments left open are asked: the model writes its
    argparse parser and the rules read the arguments it adds, each help text its quote (`code`),
    or it lists them under a JSON schema (`json`); the quotes are checked either way
    (docs/quality.md)."""
    prose_facts_per_kind: int = Field(default=8, ge=1, le=32)
    """Facts of each kind (functions, routes, exit codes, examples) kept of the model's; the rest
    are dropped as over the cap."""
    prose_quote_chars: int = Field(default=300, ge=20, le=2000)
    """The longest quote a model's fact may carry; a longer one is dropped."""
    whole_module_candidates: int = Field(default=1, ge=0, le=3)
    """Calls per module and attempt asking for the whole module in one reply, as a fair single
    call writes it (0: none). It competes with the unit-by-unit build on the same tests, and is
    what a run whose plan blocked delivers, marked not accepted."""
    whole_module_max_tokens: int = Field(default=2048, ge=256, le=16_384)
    """The token cap of a whole-module reply (not stage_max_tokens: a whole module needs more
    than one file's usual reply)."""
    candidate_temperature: float = Field(default=0.9, ge=0.0, le=2.0)
    """The temperature of the last candidate drawn, and of the one call that asks again for a
    file whose reply looped."""
    repair_rounds: int = Field(default=2, ge=0, le=8)
    """Repairs of a unit's best candidate, each shown the failing assertion."""
    max_fix_rounds: int = Field(default=1, ge=0, le=5)
    """Times the final checks' failures go back to the teams that own the files."""
    kept_tests_to_code: bool = False
    """A test a tests' team keeps through its last attempt that fails on its own assertion is the
    code's to fix (checks/code/blame.py): the final checks send it to the code's team, whose fix
    round is judged with it and whose build loop runs it; off (the default: on the dev cases it
    acted on, the 1.5B's kept tests were wrong and no hidden test changed, docs/quality.md): the
    tests' team's stage ends BLOCKED on it."""
    run_code: bool = True
    """Run the build plan's code in the sandbox and gate stages on the results (off only for
    graph-logic tests; an off run says so in every stage record)."""
