"""Documentation's README and SRE's runbook held to the delivered software, in the sandbox.

A README whose every example works passes (a CLI run by module and by its console
script, a Python block, a doctest; installs and clones skipped); a command that fails,
a doctest that prints something else and a command that hangs are each a finding at
their line for Documentation; a server a command starts answers the commands after it,
then is stopped; the settings cap the examples and their time. A runbook's probe runs
against the service started from the plan's entry point, and every command it names
must exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.tools import run_build_checks
from devfactory.sandbox.environments import tools_environment
from devfactory.sandbox.runner import Limits, Sandbox
from devfactory.settings import Settings
from devfactory.software.plan import BuildPlan, FileRole, PlannedFile, SoftwareKind

LIMITS = Limits(
    cpu_seconds=60, memory_mb=2048, processes=64, wall_seconds=90, output_chars=5000, file_size_mb=8
)

CALC = {
    "calc/__init__.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
    "calc/__main__.py": (
        "import argparse\n\nfrom calc import add\n\n\ndef main() -> int:\n"
        "    parser = argparse.ArgumentParser(prog='calc')\n"
        "    parser.add_argument('op', choices=['add'])\n"
        "    parser.add_argument('a', type=int)\n    parser.add_argument('b', type=int)\n"
        "    args = parser.parse_args()\n    print(add(args.a, args.b))\n    return 0\n\n\n"
        "if __name__ == '__main__':\n    raise SystemExit(main())\n"
    ),
    "pyproject.toml": (
        '[project]\nname = "calc"\nversion = "0.1.0"\n\n'
        '[project.scripts]\ncalc = "calc.__main__:main"\n'
    ),
}
README = """\
# Calc

```bash
git clone https://example.org/calc.git
cd calc-project
pip install -e .
```

```console
$ python -m calc add 2 3
5
$ calc add 10 20
30
```

```python
from calc import add
assert add(1, 2) == 3
```

```pycon
>>> from calc import add
>>> add(2, 3)
5
```
"""
PLAN = BuildPlan(
    kind=SoftwareKind.LIBRARY,
    summary="a calculator",
    files=[
        PlannedFile(
            path="calc/__init__.py", role=FileRole.CODE, owner="backend-engineering", purpose="x"
        ),
        PlannedFile(path="README.md", role=FileRole.DOCS, owner="documentation", purpose="x"),
    ],
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    box = Sandbox(mode="bwrap", cache_dir=tmp_path_factory.mktemp("cache"), limits=LIMITS)
    box.check()
    return box


def run_readme(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    readme: str,
    code: dict[str, str] | None = None,
    settings: Settings | None = None,
) -> tuple[Any, list[tuple[str, str]]]:
    monkeypatch.setattr(sandbox, "environment", lambda deps: tools_environment())  # offline
    files = {**(CALC if code is None else code), "README.md": readme}
    found = run_build_checks(
        [CHECKS.build["readme_commands"]],
        files,
        sandbox,
        code=[p for p in files if p.endswith(".py")],
        owner_of=PLAN.owner_of,
        settings=settings or Settings(),
    )
    [record] = found.checks
    return record, [(p.owner, p.line()) for p in found.problems]


def test_a_readme_whose_examples_all_work_passes(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, problems = run_readme(sandbox, monkeypatch, README)
    assert problems == []
    assert record.ok and record.sandboxed and (record.passed, record.failed) == (5, 0)
    assert record.summary == (
        "5 of 5 ran; 2 skipped (installs: the software and its dependencies are installed; "
        "needs the network)"
    )
    assert record.tool.startswith("markdown-it-py ")


def test_a_command_that_fails_goes_to_documentation_at_its_line(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = README.replace("$ calc add 10 20", "$ calc mul 10 20")
    record, problems = run_readme(sandbox, monkeypatch, broken)
    [(owner, line)] = problems
    assert owner == "documentation"
    assert line.startswith(
        "README.md [readme_commands]: line 12: `calc mul 10 20` failed (exit 2): usage: calc"
    )
    assert "invalid choice: 'mul'" in line
    assert (record.passed, record.failed) == (4, 1)


def test_a_doctest_that_prints_something_else_is_found(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, problems = run_readme(
        sandbox, monkeypatch, README.replace(">>> add(2, 3)\n5", ">>> add(2, 3)\n6")
    )
    [(_, line)] = problems
    assert line.startswith(
        "README.md [readme_commands]: line 22: `>>> from calc import add` failed"
    )
    assert "Expected: 6 Got: 5" in line


def test_a_server_a_command_starts_answers_the_commands_after_it_then_stops(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = {
        "todo/__init__.py": "",
        "todo/app.py": (
            "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
            "@app.get('/todos/{todo_id}')\ndef show(todo_id: int) -> dict:\n"
            "    return {'id': todo_id}\n"
        ),
    }
    readme = (
        "# Todo\n\n```bash\nuvicorn todo.app:app --port 8765\n"
        "curl -sf http://127.0.0.1:8765/todos/7\n"
        "curl -sf http://127.0.0.1:8765/nothing-here\n```\n"
    )
    record, problems = run_readme(sandbox, monkeypatch, readme, code=service)
    assert problems == [
        (
            "documentation",
            "README.md [readme_commands]: line 6: `curl -sf http://127.0.0.1:8765/nothing-here` "
            "failed (exit 22)",
        )
    ]
    assert (record.passed, record.failed) == (2, 1)
    assert "1 server(s) started and stopped" in record.summary


def test_a_command_that_hangs_fails_at_the_time_limit_and_the_cap_holds(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = "# Calc\n\n```bash\nsleep 30\npython -m calc add 1 1\n```\n"
    settings = Settings(readme_command_s=1.0)
    record, problems = run_readme(sandbox, monkeypatch, readme, settings=settings)
    assert problems == [
        (
            "documentation",
            "README.md [readme_commands]: line 4: `sleep 30` did not finish within 1 s and "
            "listens on no port",
        )
    ]
    assert record.seconds < 20
    capped = Settings(readme_commands_max=1)
    record, problems = run_readme(sandbox, monkeypatch, README, settings=capped)
    assert problems == [] and (record.passed, record.failed) == (1, 0)
    assert "4 past readme_commands_max not run" in record.summary


def test_the_documentation_team_names_the_check() -> None:
    from devfactory.teams import load_teams

    assert "readme_commands" in load_teams()["documentation"].build_checks


SERVICE = {
    "todo/__init__.py": "",
    "todo/app.py": (
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        "@app.get('/health')\ndef health() -> dict:\n    return {'status': 'ok'}\n"
    ),
}
RUNBOOK = """\
# Runbook

## Is it up?

```bash
curl -fsS http://127.0.0.1:8766/health
```

## Restart

```bash
sudo systemctl restart todo
kubectl rollout restart deployment/todo
python -m todo.app
python -m uvicorn --version
```
"""
SERVE = ("python", "-m", "uvicorn", "todo.app:app", "--host", "127.0.0.1", "--port", "{port}")


def run_runbook(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, runbook: str, serve: tuple[str, ...] = SERVE
) -> tuple[Any, list[tuple[str, str]]]:
    monkeypatch.setattr(sandbox, "environment", lambda deps: tools_environment())  # offline
    files = {**SERVICE, "ops/runbook.md": runbook}
    found = run_build_checks(
        [CHECKS.build["runbook_commands"]],
        files,
        sandbox,
        code=["todo/__init__.py", "todo/app.py"],
        owner_of=lambda path: (
            "sre-operations" if path.startswith("ops/") else "backend-engineering"
        ),
        roles={"ops/runbook.md": "ops", "todo/app.py": "code", "todo/__init__.py": "code"},
        serve=serve,
    )
    [record] = found.checks
    return record, [(p.owner, p.line()) for p in found.problems]


def test_a_runbook_whose_probe_answers_and_whose_commands_exist_passes(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, problems = run_runbook(sandbox, monkeypatch, RUNBOOK)
    assert problems == []
    # looked up: python -m todo.app, python -m uvicorn; then the service started and probed
    assert record.ok and (record.passed, record.failed) == (4, 0) and record.sandboxed
    assert record.command == "2 program(s) of ops/runbook.md looked up, 1 probe(s) run"


def test_a_probe_of_a_missing_route_and_an_invented_command_go_to_sre(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = RUNBOOK.replace("/health", "/healthz").replace(
        "python -m uvicorn --version", "todoctl restart --all"
    )
    record, problems = run_runbook(sandbox, monkeypatch, broken)
    assert problems == [
        (
            "sre-operations",
            "ops/runbook.md [runbook_commands]: line 15: names `todoctl`: no program todoctl is "
            "installed, a console script or a file of the project",
        ),
        (
            "sre-operations",
            "ops/runbook.md [runbook_commands]: line 6: `curl -fsS http://127.0.0.1:8766/healthz` "
            "failed (exit 22): curl: (22) The requested URL returned error: 404",
        ),
    ]
    assert record.failed == 2


def test_a_probe_in_the_runbook_of_software_that_serves_nothing_is_found(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, problems = run_runbook(sandbox, monkeypatch, RUNBOOK, serve=())
    assert problems[0] == (
        "sre-operations",
        "ops/runbook.md [runbook_commands]: line 6: `curl -fsS http://127.0.0.1:8766/health` "
        "probes a service, but the software serves nothing (the build plan's entry point is no "
        "web app)",
    )


def test_sre_names_the_runbook_check() -> None:
    from devfactory.teams import load_teams

    assert "runbook_commands" in load_teams()["sre-operations"].build_checks
