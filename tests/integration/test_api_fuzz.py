"""API Design's document run against the built service by schemathesis, in the bubblewrap sandbox.

A service that answers valid requests as designed passes; one that fails with a server
error, or answers with a status the design does not document, has that operation sent
to the owner of the service; software that serves nothing is not judged.
"""

from __future__ import annotations

from typing import Any

import pytest

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.tools import run_build_checks
from devfactory.sandbox.environments import tools_environment
from devfactory.sandbox.runner import Limits, Sandbox

LIMITS = Limits(
    cpu_seconds=120,
    memory_mb=2048,
    processes=64,
    wall_seconds=120,
    output_chars=5000,
    file_size_mb=8,
)
DESIGN = """\
openapi: 3.1.0
info: {title: Todos, version: 1.0.0}
paths:
  /todos/{todo_id}:
    get:
      parameters:
        - name: todo_id
          in: path
          required: true
          schema: {type: integer, minimum: 1, maximum: 1000}
      responses:
        '200':
          description: the todo
          content:
            application/json:
              schema:
                type: object
                required: [title, done]
                properties: {title: {type: string}, done: {type: boolean}}
        '404': {description: no such todo}
"""
SERVICE = """\
from fastapi import FastAPI, HTTPException

app = FastAPI()


@app.get("/todos/{todo_id}")
def show(todo_id: int) -> dict:
    if todo_id > 500:
        raise HTTPException(status_code=404, detail="no such todo")
    return {"title": f"todo {todo_id}", "done": False}
"""
SERVE = ("python", "-m", "uvicorn", "todo.app:app", "--host", "127.0.0.1", "--port", "{port}")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    box = Sandbox(mode="bwrap", cache_dir=tmp_path_factory.mktemp("cache"), limits=LIMITS)
    box.check()
    return box


def fuzz(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    design: str = DESIGN,
    serve: tuple[str, ...] = SERVE,
) -> tuple[list[Any], list[tuple[str, str]]]:
    monkeypatch.setattr(sandbox, "environment", lambda deps: tools_environment())  # offline
    files = {"todo/__init__.py": "", "todo/app.py": service, "api/openapi.yaml": design}
    found = run_build_checks(
        [CHECKS.build["api_fuzz"]],
        files,
        sandbox,
        code=["todo/__init__.py", "todo/app.py"],
        owner_of=lambda path: "api-design" if path.startswith("api/") else "backend-engineering",
        serve=serve,
    )
    return found.checks, [(p.owner, p.line()) for p in found.problems]


def test_a_service_that_answers_as_designed_passes(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    [record], problems = fuzz(sandbox, monkeypatch, SERVICE)
    assert problems == []
    assert record.ok and record.sandboxed and (record.passed, record.failed) == (1, 0)
    assert record.tool.startswith("schemathesis 4.")


def test_a_server_error_and_an_undocumented_status_go_to_the_service(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashes = SERVICE.replace(
        "    if todo_id > 500:",
        "    if todo_id % 2:\n        raise RuntimeError('odd')\n    if todo_id > 500:",
    )
    [record], problems = fuzz(sandbox, monkeypatch, crashes)
    [(owner, line)] = problems
    assert owner == "backend-engineering"
    assert (
        line.startswith("todo/app.py [api_fuzz]: GET /todos/{todo_id}: ") and "Server error" in line
    )
    assert (record.passed, record.failed) == (0, 1)
    undocumented = DESIGN.replace("        '404': {description: no such todo}\n", "")
    _, problems = fuzz(sandbox, monkeypatch, SERVICE, design=undocumented)
    [(owner, line)] = problems
    assert owner == "backend-engineering" and "Undocumented HTTP status code" in line


def test_software_that_serves_nothing_is_not_judged(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fuzz(sandbox, monkeypatch, SERVICE, serve=()) == ([], [])


def test_api_design_names_the_check() -> None:
    from devfactory.teams import load_teams

    assert "api_fuzz" in load_teams()["api-design"].build_checks
