"""The build plan: validated, checked against the pipeline and the requirement's names."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import ValidationError

from devfactory.checks.code.criteria import criteria_of, criteria_status
from devfactory.checks.code.plan_coverage import coverage
from devfactory.contracts import StageRecord
from devfactory.graph.checkpoints import upgrade
from devfactory.graph.planning.build_plan import draft_plan, stage_items
from devfactory.repairs.plan_repair import normalise_plan
from devfactory.repairs.repair import plan_normaliser
from devfactory.software.plan import (
    BuildPlan,
    FileRole,
    check_plan,
    find_plan,
    missing_interfaces,
    module_name,
    named_interfaces,
)
from devfactory.software.source import signatures
from devfactory.teams import load_teams
from tests.fakes import ScriptedModels, run_graph

TEAMS = load_teams()
MVP = {slug: TEAMS[slug].owns for slug in (
    "business-analysis", "solution-architecture", "backend-engineering", "qa-engineering",
    "documentation",
)}  # fmt: skip
CLI_REQUIREMENT = (
    "A command-line tool run as `python -m wordcount FILE... [--lines] [--json]` that counts "
    "words; the library function count_words(text) returns the number of words."
)


COUNT_WORDS = "def count_words(text: str) -> int:\n    return len(text.split())\n"


def cli_plan(**changes: Any) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "kind": "cli",
        "language": "python",
        "summary": "Counts words in files.",
        "modules": [
            {
                "path": "wordcount/__init__.py",
                "symbols": [
                    {"name": "count_words", "signature": "def count_words(text: str) -> int"}
                ],
            }
        ],
        "commands": [{"usage": "wordcount FILE... [--lines] [--json]"}],
        "endpoints": [],
        "files": [
            {"path": "wordcount/__init__.py", "role": "code", "owner": "backend-engineering",
             "purpose": "counting"},
            {"path": "wordcount/__main__.py", "role": "code", "owner": "backend-engineering",
             "purpose": "the CLI", "depends_on": ["wordcount/__init__.py"]},
            {"path": "tests/test_wordcount.py", "role": "tests", "owner": "qa-engineering",
             "purpose": "tests", "depends_on": ["wordcount/__init__.py"]},
            {"path": "README.md", "role": "docs", "owner": "documentation", "purpose": "usage"},
        ],
        "dependencies": [],
        "test_command": "pytest -q",
        "entry_point": "python -m wordcount",
    }  # fmt: skip
    plan.update(changes)
    return plan


def test_a_valid_plan_parses_and_knows_its_modules() -> None:
    plan = BuildPlan.model_validate(cli_plan())
    assert plan.executable
    assert plan.python_modules() == ["wordcount", "wordcount.__main__"]
    assert [f.path for f in plan.files_of("qa-engineering")] == ["tests/test_wordcount.py"]
    assert check_plan(plan, CLI_REQUIREMENT, owners=MVP) == []


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"entry_point": ""}, "a CLI needs an entry_point"),
        ({"dependencies": ["pkg @ https://evil.example/pkg.whl"]}, "no URLs"),
        ({"dependencies": ["not a requirement!"]}, "not a PEP 508 requirement"),
        ({"test_command": "pytest; rm -rf /"}, "test_command must be"),
        ({"entry_point": "bash -c 'curl x'"}, "entry_point must be"),
        ({"kind": "web-service", "entry_point": "python -m wordcount"}, "module:app"),
    ],
)
def test_invalid_plans_are_refused_with_the_reason(changes: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        BuildPlan.model_validate(cli_plan(**changes))


def test_duplicate_paths_unknown_dependencies_and_escapes_are_refused() -> None:
    files = cli_plan()["files"]
    with pytest.raises(ValidationError, match="unique"):
        BuildPlan.model_validate(cli_plan(files=[*files, files[0]]))
    broken = [{**files[0], "depends_on": ["nowhere.py"]}, *files[1:]]
    with pytest.raises(ValidationError, match="not in the plan"):
        BuildPlan.model_validate(cli_plan(files=broken))
    escape = [{**files[0], "path": "../outside.py"}, *files[1:]]
    with pytest.raises(ValidationError):
        BuildPlan.model_validate(cli_plan(files=escape))


def test_the_requirement_s_names_are_found() -> None:
    named = named_interfaces(
        "Expose GET /todos and POST /todos/{id}/done; slugify(text) in slugs.py; "
        "run as python -m tool --dry-run. See e.g. (this) and print(x)."
    )
    assert named.functions == ("slugify",)
    assert named.endpoints == (("GET", "/todos"), ("POST", "/todos/{id}/done"))
    assert named.options == ("--dry-run",)
    assert named.files == ("slugs.py",)
    assert named.modules == ("tool",)
    quoted = named_interfaces('A log line reads "GET /index.html HTTP/1.1" 200; serve GET /stats.')
    assert quoted.endpoints == (("GET", "/stats"),)  # a request quoted from a log is no endpoint


def test_a_plan_that_drops_or_renames_a_named_interface_is_refused() -> None:
    renamed = cli_plan(
        modules=[
            {
                "path": "wordcount/__init__.py",
                "symbols": [{"name": "word_count", "signature": "def word_count(t: str) -> int"}],
            }
        ],
        commands=[{"usage": "wordcount FILE... [--json]"}],
    )
    problems = missing_interfaces(BuildPlan.model_validate(renamed), CLI_REQUIREMENT)
    assert any("`count_words(...)`" in p for p in problems)
    assert any("--lines" in p for p in problems)
    no_module = cli_plan(entry_point="python -m counter")
    no_module["files"][0]["path"] = "counter.py"
    no_module["files"][1]["path"] = "cli.py"
    no_module["modules"][0]["path"] = "counter.py"
    no_module["files"][1]["depends_on"] = ["counter.py"]
    no_module["files"][2]["depends_on"] = ["counter.py"]
    problems = missing_interfaces(BuildPlan.model_validate(no_module), CLI_REQUIREMENT)
    assert any("python -m wordcount" in p for p in problems)
    package_only = cli_plan()  # `python -m wordcount` fails on a package without __main__
    package_only["files"] = [f for f in package_only["files"] if "__main__" not in f["path"]]
    package_only["files"][1]["depends_on"] = ["wordcount/__init__.py"]
    problems = missing_interfaces(BuildPlan.model_validate(package_only), CLI_REQUIREMENT)
    assert any("python -m wordcount" in p for p in problems)
    assert missing_interfaces(BuildPlan.model_validate(cli_plan()), CLI_REQUIREMENT) == []


def test_owners_must_be_pipeline_teams_that_write_that_kind_of_file() -> None:
    plan = cli_plan()
    plan["files"][0]["owner"] = "frontend-engineering"
    plan["files"][2]["owner"] = "backend-engineering"
    problems = check_plan(BuildPlan.model_validate(plan), CLI_REQUIREMENT, owners=MVP)
    assert any("frontend-engineering" in p and "not a team of this pipeline" in p for p in problems)
    assert any("backend-engineering does not write tests files" in p for p in problems)
    assert any("give it to qa-engineering" in p for p in problems)


def test_teams_get_their_planned_files_and_nothing_for_a_cli_frontend() -> None:
    plan = BuildPlan.model_validate(cli_plan())
    assert [d.path for d in stage_items(TEAMS["backend-engineering"], plan)] == [
        "wordcount/__init__.py",
        "wordcount/__main__.py",
    ]
    assert stage_items(TEAMS["frontend-engineering"], plan) == []
    assert [d.path for d in stage_items(TEAMS["solution-architecture"], plan)] == [
        "architecture/architecture.md",
        "architecture/plan.json",
    ]
    record = {"team": "solution-architecture", "outcome": "PASSED", "result": {
        "status": "COMPLETE", "confidence": 0.9, "reasoning": "r", "artifacts": [
        {"path": "architecture/plan.json", "kind": "json", "content": json.dumps(cli_plan())}
    ]}}  # fmt: skip
    found = find_plan({"solution-architecture": StageRecord.model_validate(record)})
    assert found is not None and found.kind.value == "cli"
    blocked = StageRecord.model_validate({**record, "outcome": "BLOCKED"})
    assert find_plan({"solution-architecture": blocked}) is None


def _plan_reply(replies: list[str]) -> ScriptedModels:
    def script(call: Any) -> str:
        return replies[min(call.n, len(replies) - 1)]

    return ScriptedModels(script)


def _ask(models: ScriptedModels, retries: int = 2) -> Any:
    messages = [
        SystemMessage("You are the Solution Architecture team of devfactory."),
        HumanMessage("Requirement: ...\nWrite the file `architecture/plan.json`: the plan."),
    ]
    return draft_plan(
        models.chat,
        messages,
        path="architecture/plan.json",
        requirement=CLI_REQUIREMENT,
        owners=MVP,
        teams=TEAMS,
        max_parse_retries=retries,
        max_model_errors=1,
    )


def test_a_malformed_plan_is_repaired_or_asked_again() -> None:
    fenced = "```json\n" + json.dumps(cli_plan(kind="CLI")) + ",\n```"  # fence, comma, case
    drafted = _ask(_plan_reply([fenced]))
    assert drafted.problem == ""
    assert drafted.plan is not None and drafted.plan.kind.value == "cli"
    assert json.loads(drafted.artifact.content)["entry_point"] == "python -m wordcount"


def test_a_file_listed_twice_and_dangling_dependencies_are_repaired() -> None:
    plan = cli_plan()
    tests = plan["files"][2]
    plan["files"].append({**tests, "depends_on": ["wordcount/__main__.py", "util.py"]})
    plan["files"][0]["depends_on"] = ["wordcount/__init__.py"]  # itself
    models = _plan_reply([json.dumps(plan)])
    drafted = _ask(models)
    assert drafted.problem == "" and drafted.plan is not None, drafted.problem
    assert len(models.chat.calls) == 1  # repaired, not asked again
    files = {f.path: f for f in drafted.plan.files}
    assert [f.path for f in drafted.plan.files].count("tests/test_wordcount.py") == 1
    assert files["tests/test_wordcount.py"].depends_on == [
        "wordcount/__init__.py",
        "wordcount/__main__.py",
    ]
    assert files["wordcount/__init__.py"].depends_on == []


def test_a_dependency_cycle_and_repeated_commands_are_repaired() -> None:
    plan = cli_plan()
    plan["files"][0]["depends_on"] = ["wordcount/__main__.py"]  # and __main__ imports it
    plan["commands"] = plan["commands"] * 3
    models = _plan_reply([json.dumps(plan)])
    drafted = _ask(models)
    assert drafted.problem == "" and drafted.plan is not None, drafted.problem
    files = {f.path: f for f in drafted.plan.files}
    assert files["wordcount/__init__.py"].depends_on == []
    assert files["wordcount/__main__.py"].depends_on == ["wordcount/__init__.py"]
    assert [c.usage for c in drafted.plan.commands] == ["wordcount FILE... [--lines] [--json]"]
    assert "commands: 2 repeated entries dropped [plan-shape]" in drafted.repairs


@pytest.mark.parametrize(
    ("written", "method", "path"),
    [
        ("GET /items/<int:item_id>/", "", "/items/{item_id}"),
        ("'/items?category=tools'", "get", "/items"),
        ("items/{id}", "DELETE", "/items/{id}"),
        ("`/`", "POST", "/"),
        ("http://localhost:8000/items/:sku/adjust", "POST", "/items/{sku}/adjust"),
        ("/items/{sku:str} (returns the item)", "GET", "/items/{sku}"),
        ("/items/[sku],", "DELETE", "/items/{sku}"),
    ],
)
def test_endpoint_paths_are_written_as_the_plan_asks(written: str, method: str, path: str) -> None:
    endpoint = {"path": written, "summary": ""} | ({"method": method} if method else {})
    repairs: list[str] = []
    data = normalise_plan(cli_plan(kind="web-service", endpoints=[endpoint],
                                   entry_point="wordcount.api:app"), repairs)  # fmt: skip
    plan = BuildPlan.model_validate(data)
    assert (plan.endpoints[0].method, plan.endpoints[0].path) == (method.upper() or "GET", path)
    assert f"endpoint {written!r} -> {path!r}" in repairs


def test_an_endpoint_path_that_stays_unclean_is_left_to_fail() -> None:
    repairs: list[str] = []
    data = normalise_plan(cli_plan(endpoints=[{"method": "GET", "path": "/items/$sku"}]), repairs)
    assert data["endpoints"][0]["path"] == "/items/$sku" and repairs == []
    with pytest.raises(ValidationError, match="endpoints.0.path"):
        BuildPlan.model_validate(data)
    bad = cli_plan(kind="web-service", entry_point="wordcount.api:app")
    bad["endpoints"] = [{"method": "GET", "path": "/items/$sku"}]
    drafted = _ask(_plan_reply([json.dumps(bad)]), retries=0)  # the value is named in the problem
    assert "endpoints.0.path: String should match pattern" in drafted.problem
    assert "(got '/items/$sku')" in drafted.problem


def test_a_file_path_that_names_an_object_in_a_module_becomes_the_module_s_file() -> None:
    plan = cli_plan(kind="web-service", entry_point="wordcount:app")
    plan["files"].insert(1, {"path": "wordcount:app", "role": "code",
                             "owner": "backend-engineering", "purpose": "the app"})  # fmt: skip
    plan["files"][2]["depends_on"] = ["wordcount:app"]  # __main__.py
    repairs: list[str] = []
    parsed = BuildPlan.model_validate(normalise_plan(plan, repairs))
    assert [f.path for f in parsed.files].count("wordcount/__init__.py") == 1
    assert "wordcount:app" not in {f.path for f in parsed.files}
    assert parsed.files[1].depends_on == ["wordcount/__init__.py"]  # followed, not dropped
    assert repairs[:2] == [
        "wordcount:app: an object in a module, planned as its file wordcount/__init__.py",
        "wordcount/__init__.py: listed twice, merged into its first entry",
    ]
    alone = cli_plan(files=[{"path": "short.api:app", "role": "code",
                             "owner": "backend-engineering", "purpose": "app"}])  # fmt: skip
    alone["modules"] = []
    repairs = []
    assert normalise_plan(alone, repairs)["files"][0]["path"] == "short/api.py"
    assert normalise_plan(cli_plan(), []) == cli_plan()  # nothing to repair: untouched


def test_a_plan_without_a_tests_file_gets_one_for_the_team_that_writes_tests() -> None:
    plan = cli_plan()
    plan["files"] = [f for f in plan["files"] if f["role"] != "tests"]
    models = _plan_reply([json.dumps(plan)])
    drafted = _ask(models)
    assert drafted.problem == "" and drafted.plan is not None, drafted.problem
    assert len(models.chat.calls) == 1  # repaired, not asked again
    tests = [f for f in drafted.plan.files if f.role is FileRole.TESTS]
    assert [(t.path, t.owner) for t in tests] == [("tests/test_wordcount.py", "qa-engineering")]
    assert tests[0].depends_on == ["wordcount/__init__.py", "wordcount/__main__.py"]


def test_a_module_missing_from_the_files_is_planned_for_the_team_that_writes_code() -> None:
    plan = cli_plan()
    plan["files"] = [f for f in plan["files"] if f["path"] != "wordcount/__init__.py"]
    for item in plan["files"]:
        item["depends_on"] = [d for d in item.get("depends_on", []) if "__init__" not in d]
    models = _plan_reply([json.dumps(plan)])
    drafted = _ask(models)
    assert drafted.problem == "" and drafted.plan is not None, drafted.problem
    assert len(models.chat.calls) == 1  # repaired, not asked again
    added = next(f for f in drafted.plan.files if f.path == "wordcount/__init__.py")
    assert (added.role, added.owner) == (FileRole.CODE, "backend-engineering")
    assert "a module missing from the files" in " ".join(drafted.repairs)


def test_a_tests_file_planned_as_code_goes_to_the_team_that_writes_tests() -> None:
    plan = cli_plan()  # as the 0.5B model planned data-csv2json
    plan["files"][2].update(role="code", owner="backend-engineering")
    models = _plan_reply([json.dumps(plan)])
    drafted = _ask(models)
    assert drafted.problem == "" and drafted.plan is not None, drafted.problem
    assert len(models.chat.calls) == 1  # repaired, not asked again
    tests = next(f for f in drafted.plan.files if f.path == "tests/test_wordcount.py")
    assert (tests.role, tests.owner) == (FileRole.TESTS, "qa-engineering")
    said = "tests/test_wordcount.py: role code -> tests (a tests file by its name) [tests-by-name]"
    assert said in drafted.repairs
    assert [f.path for f in drafted.plan.files if f.role is FileRole.TESTS] == [tests.path]


def test_a_package_run_with_python_m_gets_its_main_planned() -> None:
    plan = cli_plan()  # as the 0.5B model planned cli-romanconv: __init__ only
    plan["files"] = [f for f in plan["files"] if "__main__" not in f["path"]]
    for item in plan["files"]:
        item["depends_on"] = [d for d in item.get("depends_on", []) if "__main__" not in d]
    models = _plan_reply([json.dumps(plan)])
    drafted = _ask(models)
    assert drafted.problem == "" and drafted.plan is not None, drafted.problem
    assert len(models.chat.calls) == 1  # repaired, not asked again
    main = next(f for f in drafted.plan.files if f.path == "wordcount/__main__.py")
    assert (main.role, main.owner) == (FileRole.CODE, "backend-engineering")
    assert main.depends_on == ["wordcount/__init__.py"]
    assert any("`python -m` runs a package" in r for r in drafted.repairs)
    single = cli_plan(entry_point="python -m counter")  # a plain module runs as it is
    single["files"] = [{"path": "counter.py", "role": "code", "owner": "backend-engineering",
                        "purpose": "all"}]  # fmt: skip
    single["modules"][0]["path"] = "counter.py"
    repairs: list[str] = []
    repaired = plan_normaliser(MVP)(single, repairs)
    assert [f["path"] for f in repaired["files"]] == ["counter.py", "tests/test_counter.py"]
    assert not any("__main__" in r for r in repairs)


def test_a_plan_dropping_a_named_interface_is_asked_again_with_the_reason() -> None:
    dropped = cli_plan(commands=[{"usage": "wordcount FILE..."}])
    models = _plan_reply([json.dumps(dropped), json.dumps(cli_plan())])
    drafted = _ask(models)
    assert drafted.problem == "" and drafted.plan is not None
    second = models.chat.calls[1].prompt
    assert "Your last plan was refused" in second and "--lines" in second


def test_a_plan_that_stays_invalid_comes_back_with_the_problems() -> None:
    models = _plan_reply(["{not a plan"])
    drafted = _ask(models, retries=1)
    assert drafted.plan is None and drafted.artifact is None
    assert drafted.problem.startswith("architecture/plan.json: no valid build plan")
    assert len(models.chat.calls) == 2  # 1 + max_parse_retries, then no further round

    still_dropping = _plan_reply([json.dumps(cli_plan(commands=[]))])
    drafted = _ask(still_dropping, retries=1)
    assert drafted.plan is None and "--lines" in drafted.problem
    assert len(still_dropping.chat.calls) == 2


def test_coverage_names_missing_files_and_undefined_symbols() -> None:
    plan = BuildPlan.model_validate(cli_plan())
    files = {"wordcount/__init__.py": "def other() -> int:\n    return 1\n"}
    problems = coverage(plan, files, teams=["backend-engineering"])
    lines = [p.line() for p in problems]
    assert "wordcount/__main__.py [plan]: planned file is missing" in lines
    assert any("does not define `count_words`" in line for line in lines)
    assert all(p.owner == "backend-engineering" for p in problems)


def test_acceptance_criteria_are_reported_per_test() -> None:
    criteria = criteria_of("AC-1: counts words\nAC-2: --lines counts lines\nAC-3: json\nAC-1 again")
    assert criteria == ["AC-1", "AC-2", "AC-3"]

    class Case:
        def __init__(self, name: str, outcome: str) -> None:
            self.name, self.outcome = name, outcome

    status = criteria_status(
        criteria,
        [Case("test_ac1_counts", "passed"), Case("test_ac_2_lines", "failed"),
         Case("test_ac2_more", "passed")],
    )  # fmt: skip
    assert status == {"AC-1": "passed", "AC-2": "failed", "AC-3": "not covered"}


def test_signatures_show_the_interface_not_the_bodies() -> None:
    source = (
        "import re\n\nLIMIT = 80\n\ndef slugify(text: str, n: int = 80) -> str:\n"
        "    secret_body = 1\n    return text\n\nclass Store:\n    def add(self, x: int) -> None:\n"
        "        pass\n\ndef _hidden():\n    pass\n"
    )
    shown = signatures(source)
    assert "def slugify(text: str, n: int = 80) -> str: ..." in shown
    assert "def add(self, x: int) -> None: ..." in shown
    assert "LIMIT = 80" in shown
    assert "secret_body" not in shown and "_hidden" not in shown


def test_module_names_follow_the_src_layout() -> None:
    assert module_name("src/pkg/__init__.py") == "pkg"
    assert module_name("pkg/core.py") == "pkg.core"
    assert module_name("my-tool.py") == ""
    assert FileRole("tests") is FileRole.TESTS


def test_a_cli_plan_skips_the_teams_it_gives_nothing_and_the_run_completes(settings: Any) -> None:
    from tests.fakes import always_good

    def script(call: Any) -> str:
        if call.kind == "draft" and call.path == "architecture/plan.json":
            return json.dumps(cli_plan())
        if call.kind == "draft" and call.path == "wordcount/__init__.py":
            return COUNT_WORDS
        return always_good(call)

    models = ScriptedModels(script)
    state = run_graph("full", models, settings, CLI_REQUIREMENT)
    assert state["outcome"]["status"] == "COMPLETED", state["outcome"]
    stages = state["stages"]
    frontend = stages["frontend-engineering"]
    assert frontend["outcome"] == "SKIPPED" and frontend["stopped_by"] == "plan"
    assert frontend["reason"].startswith("nothing to do in this plan")
    for team in ("api-design", "database-engineering", "ux-ui-design", "devops-infrastructure"):
        assert stages[team]["outcome"] == "SKIPPED", team
        assert models.chat.count(team) == 0  # no model call for a team with nothing to do
    written = {
        a["path"] for r in stages.values() for a in (r.get("result") or {}).get("artifacts", [])
    }
    assert {"wordcount/__init__.py", "wordcount/__main__.py", "tests/test_wordcount.py"} <= written
    assert not any(p.endswith("app.py") for p in written)
    drafted = [
        c.path for c in models.chat.calls if c.team == "backend-engineering" and c.kind == "draft"
    ]
    assert drafted == ["wordcount/__init__.py", "wordcount/__main__.py"]  # one call per file
    main = next(c for c in models.chat.calls if c.path == "wordcount/__main__.py")
    assert "def count_words(text: str) -> int" in main.prompt  # its dependency's interface


def test_a_plan_that_stays_invalid_blocks_architecture_with_the_reason(settings: Any) -> None:
    from tests.fakes import always_good

    def script(call: Any) -> str:
        if call.kind == "draft" and call.path == "architecture/plan.json":
            return json.dumps(cli_plan(commands=[]))  # drops --lines and --json
        return always_good(call)

    models = ScriptedModels(script)
    state = run_graph("mvp", models, settings.with_overrides(max_stage_attempts=2), CLI_REQUIREMENT)
    architecture = state["stages"]["solution-architecture"]
    assert architecture["outcome"] == "BLOCKED"
    assert "the requirement names the option --lines" in architecture["reason"]
    assert state["stages"]["backend-engineering"]["outcome"] == "SKIPPED"
    assert state["outcome"]["status"] == "FAILED"


FILLER = "\n\n".join(
    f"## {topic}\n" + f"The {topic.lower()} of the organisation are reviewed by its board. " * 12
    for topic in ("Billing policy", "Office hours", "Travel rules", "Holiday calendar")
)
LONG_SPEC = (
    f"# wordcount\n{CLI_REQUIREMENT}\n\n## Counting rules\nA word is a maximal run of "
    f"non-whitespace; count_words(text) ignores leading and trailing blanks.\n\n{FILLER}"
)


def test_each_call_sees_only_the_parts_of_a_long_spec_it_needs(settings: Any) -> None:
    from tests.fakes import always_good

    def script(call: Any) -> str:
        if call.kind == "draft" and call.path == "architecture/plan.json":
            return json.dumps(cli_plan())
        return always_good(call)

    models = ScriptedModels(script)
    state = run_graph("mvp", models, settings.with_overrides(requirement_tokens=150), LONG_SPEC)
    assert state["outcome"]["status"] == "COMPLETED", state["outcome"]
    code = next(c for c in models.chat.calls if c.path == "wordcount/__init__.py")
    assert "count_words(text) ignores leading and trailing blanks" in code.prompt
    assert "reviewed by its board" not in code.prompt
    assert "[left out of this excerpt, less relevant here: Billing policy;" in code.prompt
    team_calls = [c for c in models.chat.calls if c.kind in ("draft", "report")]
    assert team_calls and all(c.prompt.count("reviewed by its board") < 12 * 4 for c in team_calls)
    # the run keeps the whole requirement: only what each call is shown is cut
    assert state["requirement"] == LONG_SPEC


def test_a_second_attempt_says_why_it_runs_again(settings: Any) -> None:
    from langgraph.checkpoint.memory import InMemorySaver
    from rich.console import Console

    from devfactory.cli.progress import Progress
    from devfactory.events import StageStarted
    from devfactory.graph import build_graph
    from devfactory.graph.context import Context
    from tests.fakes import always_good

    def script(call: Any) -> str:
        if call.kind == "draft" and call.path == "architecture/plan.json":
            again = "The gate rejected your last attempt" in call.prompt
            return json.dumps(cli_plan() if again else cli_plan(commands=[]))
        return always_good(call)

    graph = build_graph("mvp").compile(checkpointer=InMemorySaver())
    events = [
        e
        for _, e in graph.stream(
            {"run_id": "t", "requirement": CLI_REQUIREMENT, "pipeline": "mvp"},
            {"configurable": {"thread_id": "t"}},
            context=Context(
                settings=settings.with_overrides(max_stage_attempts=2),
                models=ScriptedModels(script),
            ),
            stream_mode="custom",
            subgraphs=True,
        )
        if isinstance(e, StageStarted) and e.team == "solution-architecture"
    ]
    assert [e.attempt for e in events] == [1, 2] and events[0].because == []
    assert any("the requirement names the option --lines" in b for b in events[1].because)
    out = Console(record=True, width=300, force_terminal=False)
    Progress("mvp", out)(events[1])
    shown = out.export_text()
    assert "\n  again because: " in shown and "the requirement names the option --lines" in shown


def test_the_lean_pipeline_plans_codes_and_tests_without_a_requirements_document(
    settings: Any,
) -> None:
    from tests.fakes import always_good

    def script(call: Any) -> str:
        if call.kind == "draft" and call.path == "architecture/plan.json":
            return json.dumps(cli_plan())  # its README.md has no writer in this pipeline
        return always_good(call)

    models = ScriptedModels(script)
    state = run_graph("lean", models, settings, CLI_REQUIREMENT)
    assert state["outcome"]["status"] == "COMPLETED", state["outcome"]
    assert list(state["stages"]) == [
        "solution-architecture", "backend-engineering", "qa-engineering",
    ]  # fmt: skip
    assert {s["outcome"] for s in state["stages"].values()} == {"PASSED"}
    plan = find_plan(upgrade(state)["stages"])
    assert plan is not None and "README.md" not in {f.path for f in plan.files}
    drafted = [c.path for c in models.chat.calls if c.kind == "draft"]
    assert "wordcount/__main__.py" in drafted and "tests/test_wordcount.py" in drafted
    assert "analysis/requirements.md" not in drafted and "README.md" not in drafted


@pytest.mark.parametrize("pipeline", ["mvp", "lean", "full"])
def test_a_requirement_naming_no_package_is_shown_no_plan_to_copy(pipeline: str) -> None:
    from devfactory.graph.planning.build_plan import plan_request
    from devfactory.pipelines import load_pipeline

    owners = {slug: TEAMS[slug].owns for slug in load_pipeline(pipeline).teams}
    asked = plan_request(
        [HumanMessage("draft it")],
        path="architecture/plan.json",
        requirement="Something that counts words in text files.",
        owners=owners,
        teams=TEAMS,
    )[-1].content
    assert "No starting point: the requirement names no package" in asked
    assert '"files"' not in asked and '"entry_point"' not in asked  # no plan object at all
    named = plan_request(
        [HumanMessage("draft it")], path="architecture/plan.json", requirement=CLI_REQUIREMENT,
        owners=owners, teams=TEAMS,
    )[-1].content  # fmt: skip
    assert "No starting point" not in named and '"entry_point": "python -m wordcount"' in named


PROSE_LIBRARY = (
    "Write a small Python library called isbnlite. Its is_valid function takes the text of a "
    "book number and says whether it is a valid ISBN-10. Its convert function turns an "
    "ISBN-10 into an ISBN-13."
)


def _read_facts() -> Any:
    """The facts a model read from ``PROSE_LIBRARY`` (checked against its words elsewhere)."""
    from devfactory.software.requirement import Function, RequirementFacts

    return RequirementFacts(
        module="isbnlite",
        functions=(
            Function("is_valid", "text: str", "bool", ()),
            Function("convert", "isbn10: str", "str", ()),
        ),
    )


def test_the_plan_starts_from_the_module_and_functions_the_run_read() -> None:
    from devfactory.graph.planning.build_plan import plan_request
    from devfactory.graph.planning.plan_start import starting_plan

    assert starting_plan(PROSE_LIBRARY, MVP) is None  # no code span names anything
    start = starting_plan(PROSE_LIBRARY, MVP, _read_facts())
    assert start is not None and start["kind"] == "library" and start["entry_point"] == ""
    assert start["files"][0]["path"] == "isbnlite/__init__.py"
    assert [s["signature"] for s in start["modules"][0]["symbols"]] == [
        "def is_valid(text: str) -> bool", "def convert(isbn10: str) -> str",
    ]  # fmt: skip
    asked = plan_request(
        [HumanMessage("draft it")], path="architecture/plan.json", requirement=PROSE_LIBRARY,
        owners=MVP, teams=TEAMS, facts=_read_facts(),
    )[-1].content  # fmt: skip
    assert "- function `convert`" in asked and "No starting point" not in asked
    assert json.dumps(start) in asked


def test_a_plan_drafted_from_read_facts_shows_them_and_their_start_passes_the_checks() -> None:
    from devfactory.graph.planning.plan_start import starting_plan

    start = starting_plan(PROSE_LIBRARY, MVP, _read_facts())
    models = _plan_reply([json.dumps(start)])  # the model keeps the start as it is
    messages = [
        SystemMessage("You are the Solution Architecture team of devfactory."),
        HumanMessage("Requirement: ...\nWrite the file `architecture/plan.json`: the plan."),
    ]
    drafted = draft_plan(
        models.chat, messages, path="architecture/plan.json", requirement=PROSE_LIBRARY,
        owners=MVP, teams=TEAMS, max_parse_retries=0, max_model_errors=1, facts=_read_facts(),
    )  # fmt: skip
    prompt = models.chat.calls[0].prompt
    assert "isbnlite/__init__.py" in prompt and "def convert(isbn10: str) -> str" in prompt
    assert drafted.problem == "" and drafted.plan is not None
    assert [f.path for f in drafted.plan.files][0] == "isbnlite/__init__.py"


def test_the_report_is_judged_on_the_criteria_without_the_out_of_scope_list(settings: Any) -> None:
    from tests.fakes import always_good

    def script(call: Any) -> str:
        if call.kind == "draft" and call.path == "architecture/plan.json":
            return json.dumps(cli_plan())
        return always_good(call)

    models = ScriptedModels(script)
    run_graph("lean", models, settings, CLI_REQUIREMENT)
    report = next(c for c in models.chat.calls if c.kind == "report")
    draft = next(c for c in models.chat.calls if c.kind == "draft")
    assert "## Acceptance criteria" in report.prompt and "## Out of scope" not in report.prompt
    assert report.team == draft.team == "solution-architecture"


@pytest.mark.parametrize("pipeline", ["mvp", "lean"])
def test_the_plan_request_starts_from_the_names_the_requirement_gives(pipeline: str) -> None:
    from devfactory.graph.planning.build_plan import plan_request
    from devfactory.graph.planning.plan_start import starting_plan
    from devfactory.pipelines import load_pipeline

    owners = {slug: TEAMS[slug].owns for slug in load_pipeline(pipeline).teams}
    start = starting_plan(CLI_REQUIREMENT, owners)
    assert start is not None
    plan = BuildPlan.model_validate(start)
    assert check_plan(plan, CLI_REQUIREMENT, owners=owners) == []  # it keeps every named interface
    assert plan.kind.value == "cli" and plan.entry_point == "python -m wordcount"
    assert [c.usage for c in plan.commands] == ["wordcount FILE... [--lines] [--json]"]
    assert plan.modules[0].symbols[0].signature == "def count_words(text)"
    assert [f.path for f in plan.files][:3] == [
        "wordcount/__init__.py", "wordcount/__main__.py", "tests/test_wordcount.py",
    ]  # fmt: skip
    assert plan.files[2].owner == "qa-engineering"
    assert ("README.md" in {f.path for f in plan.files}) == (pipeline == "mvp")
    asked = plan_request(
        [HumanMessage("draft it")], path="architecture/plan.json", requirement=CLI_REQUIREMENT,
        owners=owners, teams=TEAMS,
    )[-1].content  # fmt: skip
    assert "A starting point, filled in from the names the requirement gives" in asked
    assert json.dumps(start) in asked and "moonphase" not in asked


def test_a_web_service_and_a_library_start_from_their_module() -> None:
    from devfactory.graph.planning.plan_start import starting_plan

    owners = MVP
    web = starting_plan(
        "A FastAPI app object named `app` in the module `todo_api`: POST /todos creates one "
        "and GET /todos/{id} reads it.",
        owners,
    )
    assert web is not None and web["kind"] == "web-service"
    assert web["entry_point"] == "todo_api:app" and "fastapi" in web["dependencies"]
    assert web["endpoints"] == [
        {"method": "POST", "path": "/todos"}, {"method": "GET", "path": "/todos/{id}"},
    ]  # fmt: skip
    lib = starting_plan(
        "Build a Python module `intervals` with `merge(xs: list[tuple[int, int]]) -> "
        "list[tuple[int, int]]`, sorted.",
        owners,
    )
    assert lib is not None and lib["kind"] == "library" and lib["entry_point"] == ""
    assert lib["modules"][0]["symbols"][0]["signature"] == (
        "def merge(xs: list[tuple[int, int]]) -> list[tuple[int, int]]"
    )
    assert starting_plan("Count the words in some text.", owners) is None


def test_a_web_service_also_run_with_dash_m_starts_with_its_command_file() -> None:
    from devfactory.graph.planning.plan_start import starting_plan

    start = starting_plan(
        "A FastAPI service `python -m notes serve` in the module `notes`: GET /notes lists them.",
        MVP,
    )
    assert start is not None and start["kind"] == "web-service"
    assert start["entry_point"] == "notes:app"
    main = next(f for f in start["files"] if f["path"] == "notes/__main__.py")
    assert main["depends_on"] == ["notes/__init__.py"] and "command line" in main["purpose"]


def test_fields_a_plan_leaves_out_are_taken_from_the_starting_plan() -> None:
    plan = cli_plan()
    del plan["kind"], plan["summary"]
    plan["files"] = []
    models = _plan_reply([json.dumps(plan)])
    drafted = _ask(models)
    assert drafted.problem == "" and drafted.plan is not None, drafted.problem
    assert len(models.chat.calls) == 1
    assert drafted.plan.kind.value == "cli" and drafted.plan.summary
    assert {f.path for f in drafted.plan.files} >= {
        "wordcount/__init__.py",
        "tests/test_wordcount.py",
    }
    assert drafted.plan.commands[0].usage == "wordcount FILE... [--lines] [--json]"  # its own kept


def test_the_stage_record_lists_the_repairs_made_to_the_plan(settings: Any) -> None:
    from tests.fakes import always_good

    plan = cli_plan()
    plan["files"] += [dict(plan["files"][0]), dict(plan["files"][0])]  # listed three times

    def script(call: Any) -> str:
        if call.kind == "draft" and call.path == "architecture/plan.json":
            return json.dumps(plan)
        if call.kind == "draft" and call.path == "wordcount/__init__.py":
            return COUNT_WORDS
        return always_good(call)

    state = run_graph("lean", ScriptedModels(script), settings, CLI_REQUIREMENT)
    repairs = state["stages"]["solution-architecture"]["repairs"]
    assert (
        "architecture/plan.json: wordcount/__init__.py: listed twice, merged into its first "
        "entry [plan-shape] (2 times)"
    ) in repairs
    assert state["stages"]["backend-engineering"]["repairs"] == []


def test_a_file_is_told_how_to_import_or_run_the_modules_it_depends_on() -> None:
    from devfactory.graph.planning.build_plan import interface_brief

    data = cli_plan()
    data["files"][2]["depends_on"] = ["wordcount/__init__.py", "wordcount/__main__.py"]
    plan = BuildPlan.model_validate(data)
    written = {
        "wordcount/__init__.py": "LIMIT = 3\n\ndef count_words(text):\n    return 0\n\n"
        "def _helper():\n    pass\n\nclass Counter:\n    pass\n",
        "wordcount/__main__.py": "import sys\n\ndef main():\n    pass\n",
    }
    brief = interface_brief(plan, "tests/test_wordcount.py", written, limit=800)
    assert "Import it as: `from wordcount import LIMIT, count_words, Counter`." in brief
    assert "Run it as `python -m wordcount` in a subprocess" in brief
    assert "_helper" not in brief.split("Import it as")[1].split("\n")[0]
    # a module that does not parse gets no import line (its text is shown as written)
    broken = {**written, "wordcount/__init__.py": "def count_words(:\n"}
    assert "Import it as" not in interface_brief(plan, "tests/test_wordcount.py", broken, 800)


@pytest.mark.parametrize("pipeline", ["full", "lean"])
def test_a_plan_by_tools_gives_the_pipelines_api_infra_and_ops_teams_their_deliverables(
    pipeline: str,
) -> None:
    from devfactory.graph.planning.plan_start import tool_plan
    from devfactory.pipelines import load_pipeline

    owners = {slug: TEAMS[slug].owns for slug in load_pipeline(pipeline).teams}
    web = tool_plan(
        "A FastAPI app object named `app` in the module `todo_api`: `POST /todos` creates one "
        "(201) and `GET /todos/{id}` reads it (200, or 404).",
        owners,
    )
    library = tool_plan(
        "The module `lamps` has `glow(n: int) -> str`: `glow(2)` is `'**'`.", owners
    )
    assert web is not None and library is not None
    others = {"api-design", "devops-infrastructure", "sre-operations"}
    web_files = {f.path: (f.owner, f.role.value) for f in web.files if f.owner in others}
    library_files = {f.path: f.owner for f in library.files if f.owner in others}
    if pipeline == "lean":  # a pipeline without those teams gets none of their files
        assert web_files == {} and library_files == {}
        return
    assert web_files == {
        "api/openapi.yaml": ("api-design", "api"),
        "Dockerfile": ("devops-infrastructure", "infra"),
        "infra/ci.yml": ("devops-infrastructure", "infra"),
        "docs/runbook.md": ("sre-operations", "ops"),
    }
    # a library is run in no container and answers no probe: its CI workflow alone
    assert library_files == {"infra/ci.yml": "devops-infrastructure"}
    assert check_plan(web, "", owners=owners) == []
    # a repository's own Dockerfile is kept: the plan gives the team the rest
    kept = tool_plan(
        "A FastAPI app object named `app` in the module `todo_api`: `GET /todos` lists them.",
        owners,
        existing=("Dockerfile",),
    )
    assert kept is not None and "Dockerfile" not in {f.path for f in kept.files}
    assert "infra/ci.yml" in {f.path for f in kept.files}
