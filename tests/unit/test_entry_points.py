"""The built code's entry points read from its syntax trees, and the threat model held to them."""

from __future__ import annotations

from devfactory.checks.tools.entry_points import (
    THREAT_MODEL,
    EntryPointsCheck,
    entry_points,
    unnamed,
)
from devfactory.checks.tools.tool_frame import ToolContext
from devfactory.contracts import CheckRun

WEB = """\
from fastapi import FastAPI

app = FastAPI()


@app.get("/todos/{todo_id}")
def show(todo_id: int) -> dict:
    with open("data/todos.json") as fh:
        return {"id": todo_id, "raw": fh.read()}


@app.route("/health", methods=["GET", "HEAD"])
def health() -> str:
    return "ok"
"""
CLI = """\
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("name")
parser.add_argument("--shout", action="store_true")
parser.add_argument("-q", "--quiet", action="store_true")
"""


def test_routes_options_and_opened_files_are_read_from_the_code() -> None:
    found = [(p.kind, p.shown, p.named_by, p.line) for p in entry_points("src/app.py", WEB)]
    assert found == [
        ("route", "GET /todos/{todo_id}", "/todos/", 6),
        ("route", "GET /health", "/health", 12),
        ("route", "HEAD /health", "/health", 12),
        ("file", "data/todos.json", "todos.json", 8),
    ]
    options = [p.shown for p in entry_points("src/cli.py", CLI)]
    assert options == ["--shout", "--quiet"]
    assert list(entry_points("src/broken.py", "def (:\n")) == []


def test_the_threat_model_must_name_each_once() -> None:
    points = [*entry_points("src/app.py", WEB), *entry_points("src/cli.py", CLI)]
    model = "# Threat model\nEntry points: GET /todos/{id}, /health, the --shout flag.\n"
    assert [(p.kind, p.shown) for p in unnamed(model, points)] == [
        ("file", "data/todos.json"),
        ("option", "--quiet"),
    ]


def test_the_check_sends_each_unnamed_entry_point_to_the_threat_model() -> None:
    files = {"src/app.py": WEB, THREAT_MODEL: "# Threat model\nGET /todos/{id} and /health\n"}
    context = ToolContext(sandbox=None, env=None, workspace=None, files=files)  # type: ignore[arg-type]
    report = EntryPointsCheck().run(context, ["src/app.py"])
    assert [(f.path, f.text) for f in report.findings] == [
        (
            THREAT_MODEL,
            "names no file data/todos.json (src/app.py line 8): add it to the entry points and "
            "the threats that reach the software through it",
        )
    ]
    [record] = report.runs
    assert isinstance(record, CheckRun) and record.failed == 1 and record.passed == 3
    no_model = EntryPointsCheck().run(
        ToolContext(None, None, None, {"src/app.py": WEB}), ["src/app.py"]
    )  # type: ignore[arg-type]
    assert no_model.findings == [] and not no_model.runs[0].ran
