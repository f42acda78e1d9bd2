"""Planned runs with a scripted model and the real sandbox: CLI, library, web service.

Each requirement gets its own plan (no ``app.py`` for a CLI), the engineering
teams write the planned files, the sandbox imports and tests them, a failing
test goes back to the team that owns the failing file with the assertion in
its prompt, and the run's folder is a git repository with one commit per
passed stage.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from tests.fakes import Call, Script, ScriptedModels, always_good

MVP = ["business-analysis", "solution-architecture", "backend-engineering", "qa-engineering",
       "documentation"]  # fmt: skip


def _file(owner: str, role: str, path: str, *deps: str) -> dict[str, Any]:
    return {"path": path, "role": role, "owner": owner, "purpose": f"{role}", "depends_on": [*deps]}


CASES: dict[str, dict[str, Any]] = {
    "cli": {
        "requirement": "A command-line tool run as `python -m wordcount FILE... [--lines]` that "
        "prints the number of words in the files; count_words(text) returns the word count.",
        "plan": {
            "kind": "cli",
            "summary": "Counts words.",
            "modules": [
                {
                    "path": "wordcount/__init__.py",
                    "symbols": [
                        {"name": "count_words", "signature": "def count_words(text: str) -> int"}
                    ],
                }
            ],
            "commands": [{"usage": "wordcount FILE... [--lines]"}],
            "files": [
                _file("backend-engineering", "code", "wordcount/__init__.py"),
                _file(
                    "backend-engineering", "code", "wordcount/__main__.py", "wordcount/__init__.py"
                ),
                _file(
                    "qa-engineering", "tests", "tests/test_wordcount.py", "wordcount/__init__.py"
                ),
                _file("documentation", "docs", "README.md"),
            ],
            "entry_point": "python -m wordcount",
        },
        "code": {
            "wordcount/__init__.py": '''
                """Count words."""


                def count_words(text: str) -> int:
                    """Return the number of words in text."""
                    return len(text.split())
            ''',
            "wordcount/__main__.py": """
                import argparse
                import sys
                from pathlib import Path

                from wordcount import count_words


                def main(argv=None) -> int:
                    parser = argparse.ArgumentParser(prog="wordcount")
                    parser.add_argument("files", nargs="+")
                    parser.add_argument("--lines", action="store_true")
                    args = parser.parse_args(argv)
                    for name in args.files:
                        text = Path(name).read_text()
                        print(len(text.splitlines()) if args.lines else count_words(text))
                    return 0


                if __name__ == "__main__":
                    sys.exit(main())
            """,
        },
        "tests": """
            import subprocess
            import sys

            from wordcount import count_words


            def test_ac1_counts_words():
                assert count_words("one two  three") == {expected}


            def test_ac2_cli_prints_the_count(tmp_path):
                f = tmp_path / "a.txt"
                f.write_text("a b\\nc\\n")
                out = subprocess.run([sys.executable, "-m", "wordcount", str(f)],
                                     capture_output=True, text=True, check=True)
                assert out.stdout.strip() == "3"
        """,
        "wrong": "4",
        "right": "3",
    },
    "library": {
        "requirement": "A Python library with reading_time(text, wpm=200) returning whole "
        "minutes to read text, rounded up, at least 1.",
        "plan": {
            "kind": "library",
            "summary": "Estimates reading time.",
            "modules": [
                {
                    "path": "readtime.py",
                    "symbols": [
                        {
                            "name": "reading_time",
                            "signature": "def reading_time(text: str, wpm: int = 200) -> int",
                        }
                    ],
                }
            ],  # noqa: E501
            "files": [
                _file("backend-engineering", "code", "readtime.py"),
                _file("qa-engineering", "tests", "tests/test_readtime.py", "readtime.py"),
                _file("documentation", "docs", "README.md"),
            ],
        },
        "code": {
            "readtime.py": '''
                import math


                def reading_time(text: str, wpm: int = 200) -> int:
                    """Return whole minutes to read text, at least 1."""
                    return max(1, math.ceil(len(text.split()) / wpm))
            ''',
        },
        "tests": """
            from readtime import reading_time


            def test_ac1_rounds_up():
                assert reading_time("w " * 201) == {expected}


            def test_ac2_at_least_one_minute():
                assert reading_time("") == 1
        """,
        "wrong": "1",
        "right": "2",
    },
    "web-service": {
        "requirement": 'A tiny web service with GET /health answering {"status": "ok"}.',
        "plan": {
            "kind": "web-service",
            "summary": "Health endpoint.",
            "modules": [
                {"path": "service.py", "symbols": [{"name": "app", "signature": "app = FastAPI()"}]}
            ],
            "endpoints": [{"method": "GET", "path": "/health"}],
            "files": [
                _file("backend-engineering", "code", "service.py"),
                _file("qa-engineering", "tests", "tests/test_service.py", "service.py"),
                _file("documentation", "docs", "README.md"),
            ],
            "dependencies": ["fastapi", "uvicorn", "httpx"],
            "entry_point": "service:app",
        },
        "code": {
            "service.py": """
                from fastapi import FastAPI

                app = FastAPI()


                @app.get("/health")
                def health() -> dict:
                    return {"status": "ok"}
            """,
        },
        "tests": """
            from fastapi.testclient import TestClient

            from service import app


            def test_ac1_health():
                reply = TestClient(app).get("/health")
                assert reply.json() == {"status": {expected}}


            def test_ac2_health_is_json():
                reply = TestClient(app).get("/health")
                assert reply.headers["content-type"] == "application/json"
        """,
        "wrong": '"down"',
        "right": '"ok"',
    },
}


def sandboxed(pg_settings: Settings, tmp_path: Path) -> Settings:
    """Settings that run the code, with one fix round and no person to ask."""
    return pg_settings.with_overrides(
        run_code=True,
        max_human_retries=0,
        max_fix_rounds=1,
        sandbox_cache_dir=tmp_path.parent / "sandbox-cache",  # shared by the module's runs
    )


def scripted(case: dict[str, Any]) -> Callable[[Call], str]:
    """A model that plans the case, writes its code, and gets QA's first test wrong."""

    def script(call: Call) -> str:
        if call.kind != "draft":
            return always_good(call)
        if call.path == "analysis/requirements.md":
            criteria = (
                "\n## Acceptance criteria\n- AC-1: the main behaviour.\n- AC-2: the second.\n"
            )
            return always_good(call) + criteria
        if call.path == "architecture/plan.json":
            return json.dumps({"language": "python", "test_command": "pytest -q", **case["plan"]})
        if call.path in case["code"]:
            return textwrap.dedent(case["code"][call.path]).strip() + "\n"
        if call.team == "qa-engineering":
            expected = case["wrong"] if call.n == 0 else case["right"]
            return textwrap.dedent(case["tests"]).strip().replace("{expected}", expected) + "\n"
        return always_good(call)

    return script


def right_tests_and(case: dict[str, Any], backend: Callable[[Call], str | None]) -> Script:
    """The case's model with QA's tests right, and Backend's drafts ``backend``'s where given."""
    base = scripted(case)

    def script(call: Call) -> str:
        if call.team == "backend-engineering" and call.kind == "draft":
            drafted = backend(call)
            if drafted is not None:
                return drafted
        if call.team == "qa-engineering" and call.kind == "draft":
            return (
                textwrap.dedent(case["tests"]).strip().replace("{expected}", case["right"]) + "\n"
            )
        return base(call)

    return script


@pytest.mark.parametrize("name", list(CASES))
def test_a_planned_run_builds_tests_and_commits(
    name: str, pg_settings: Settings, tmp_path: Path
) -> None:
    case = CASES[name]
    settings = sandboxed(pg_settings, tmp_path)
    models = ScriptedModels(scripted(case))
    out = tmp_path / "out"
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(case["requirement"], pipeline="mvp", out_dir=out))
    assert report.status == "COMPLETED", report.reason
    planned = {f["path"] for f in case["plan"]["files"]}
    written = {str(p.relative_to(out)) for p in out.rglob("*") if ".git" not in p.parts}
    assert planned <= written
    assert not any(p.endswith("app.py") for p in written)
    records = {r.team: r for r in report.records}
    # QA's first test was wrong: the sandbox failed it, QA got the assertion, fixed it
    qa = records["qa-engineering"]
    assert qa.attempts == 2
    assert any("tests" in line and "AssertionError" in line or "assert" in line
               for line in qa.gate_feedback)  # fmt: skip
    second = [c for c in models.chat.calls if c.team == "qa-engineering" and c.kind == "draft"][1]
    assert "The gate rejected your last attempt" in second.prompt
    assert case["wrong"] in second.prompt  # the failing assertion, as pytest printed it
    tests = [c for c in qa.checks if c.name == "tests"]
    assert tests and tests[-1].exit_code == 0 and tests[-1].passed >= 1 and tests[-1].sandboxed
    backend = records["backend-engineering"]
    assert any(c.name == "import" and c.ok for c in backend.checks)
    # the run's folder is a git repository, one commit per passed stage
    log = subprocess.run(
        ["git", "-C", str(out), "log", "--format=%an|%s"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    authors = [line.split("|", 1)[0] for line in log]
    for team in MVP:
        assert authors.count(_name(team)) == 1, (team, log)
    doc = json.loads((out / "run.json").read_text())
    assert doc["stages"][3]["checks"]
    # the final checks: every check passed, each criterion as QA's tests said
    build = doc["build"]
    assert build["score"] == 1.0 and not build["problems"]
    ran = {c["name"] for c in build["checks"]}
    assert ran >= {"install", "import", "tests"}
    assert ("smoke" in ran) == (name != "library")  # a library has no entry point to run
    # every criterion covered by a test that ran (an uncovered one would go back to QA)
    assert build["criteria"] == {"AC-1": "passed", "AC-2": "passed"}
    assert any(c["name"] == "traceability" and c["passed"] == 2 for c in build["checks"])
    summary = (out / "SUMMARY.md").read_text()
    assert "## The built software (score 1.00)" in summary and "AC-1 passed" in summary


def _name(slug: str) -> str:
    from devfactory.teams import load_teams

    return load_teams()[slug].name


def test_a_code_bug_found_by_qa_goes_back_to_the_code_team_in_a_fix_round(
    pg_settings: Settings, tmp_path: Path
) -> None:
    case = CASES["library"]
    buggy = '''
        import math


        def reading_time(text: str, wpm: int = 200) -> int:
            """Return whole minutes to read text, at least 1."""
            return max(1, math.ceil(len(text.split()) / (wpm - wpm)))
    '''
    script = right_tests_and(
        case, lambda c: textwrap.dedent(buggy).strip() + "\n" if c.n == 0 else None
    )
    settings = sandboxed(pg_settings, tmp_path)
    models = ScriptedModels(script)
    out = tmp_path / "out"
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(case["requirement"], pipeline="mvp", out_dir=out))
        moves = [t.reason for t in factory.transitions(report.run_id)]
    assert report.status == "COMPLETED", report.reason
    # QA's tests were right, so QA passed once; the failure was raised in readtime.py
    assert models.chat.count("qa-engineering", "draft") == 1
    assert models.chat.count("qa-engineering", "report") == 0  # the sandbox judged: tools report
    assert models.chat.count("backend-engineering", "draft") == 2
    fix = [c for c in models.chat.calls if c.team == "backend-engineering" and c.kind == "draft"][1]
    assert "ZeroDivisionError" in fix.prompt and "Fix round 1" in fix.prompt
    assert any(m.startswith("fix round 1: the built software fails its checks") for m in moves)
    # teams with nothing to fix kept their work: no further model calls
    assert models.chat.count("business-analysis", "draft") == 1
    assert models.chat.count("documentation", "draft") == 1
    log = subprocess.run(
        ["git", "-C", str(out), "log", "--format=%an"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert log.count("Backend Engineering") == 2


def test_a_right_test_qa_keeps_through_its_attempts_goes_to_the_code_team_and_is_passed(
    pg_settings: Settings, tmp_path: Path
) -> None:
    case = CASES["library"]
    floored = case["code"]["readtime.py"].replace("math.ceil", "math.floor")  # 201 words: 1
    script = right_tests_and(
        case, lambda c: textwrap.dedent(floored).strip() + "\n" if c.n == 0 else None
    )
    settings = sandboxed(pg_settings, tmp_path).with_overrides(kept_tests_to_code=True)
    models = ScriptedModels(script)
    with Factory(settings, models=models) as factory:
        report = factory.start(
            StartRequest(case["requirement"], pipeline="mvp", out_dir=tmp_path / "out")
        )
        moves = [t.reason for t in factory.transitions(report.run_id)]
    assert report.status == "COMPLETED", report.reason
    # the failure ended in QA's own assertion: QA checked its test on every attempt it had,
    # kept it, and at its last the failure became the code's
    assert models.chat.count("qa-engineering", "draft") == settings.generation.max_stage_attempts
    assert any(m.startswith("fix round 1: the built software fails its checks; back to backend")
               for m in moves)  # fmt: skip
    fix = [c for c in models.chat.calls if c.team == "backend-engineering" and c.kind == "draft"][1]
    assert "the tests' team kept this test" in fix.prompt and "assert 1 == 2" in fix.prompt
    assert (
        models.chat.count("qa-engineering", "draft") == settings.generation.max_stage_attempts
    )  # kept


@pytest.mark.parametrize("kept", [False, True], ids=["default", "kept-tests-to-code"])
def test_a_bug_nobody_fixes_fails_the_run_after_the_fix_rounds(
    pg_settings: Settings, tmp_path: Path, kept: bool
) -> None:
    case = CASES["library"]
    broken = "def reading_time(text: str, wpm: int = 200) -> int:\n    return 1 // 0\n"
    settings = sandboxed(pg_settings, tmp_path).with_overrides(kept_tests_to_code=kept)
    models = ScriptedModels(right_tests_and(case, lambda _: broken))
    with Factory(settings, models=models) as factory:
        report = factory.start(
            StartRequest(case["requirement"], pipeline="mvp", out_dir=tmp_path / "out")
        )
    assert report.status == "FAILED"
    assert "readtime.py" in report.reason and "ZeroDivisionError" in report.reason
    drafts = models.chat.count("backend-engineering", "draft")
    if not kept:
        assert "the built software fails its checks" in report.reason
        assert (
            drafts == 1 + settings.generation.max_fix_rounds
        )  # the fix round's one draft, unjudged
        return
    # in the fix round the code's stage is judged with QA's kept tests, which its code fails
    # on every attempt it has: the stage ends BLOCKED, saying why
    assert "stage backend-engineering BLOCKED" in report.reason
    assert drafts == 1 + settings.generation.max_fix_rounds * settings.generation.max_stage_attempts


def test_a_file_the_gate_would_refuse_is_asked_again_at_once_not_the_whole_stage(
    pg_settings: Settings, tmp_path: Path
) -> None:
    case = CASES["cli"]
    undefined = '"""Words."""\n\n\ndef count_words(text: str) -> int:\n    return len(words)\n'
    first = {"wordcount/__init__.py": undefined}  # its first draft only
    settings = sandboxed(pg_settings, tmp_path)
    models = ScriptedModels(right_tests_and(case, lambda c: first.pop(c.path, None)))
    with Factory(settings, models=models) as factory:
        report = factory.start(
            StartRequest(case["requirement"], pipeline="mvp", out_dir=tmp_path / "out")
        )
    assert report.status == "COMPLETED", report.reason
    backend = {r.team: r for r in report.records}["backend-engineering"]
    assert backend.attempts == 1 and not backend.gate_feedback  # no attempt spent on it
    drafts = [c for c in models.chat.calls if c.team == "backend-engineering" and c.kind == "draft"]
    assert [c.path for c in drafts] == ["wordcount/__init__.py"] * 2 + ["wordcount/__main__.py"]
    finding = "wordcount/__init__.py [lint]: line 5: F821 Undefined name `words`"
    assert f"{finding} (the line: `return len(words)`)" in drafts[1].prompt
    assert undefined.strip() in drafts[1].prompt  # the draft it is to correct
    assert f"wordcount/__init__.py: asked again at once: {finding}" in " ".join(backend.repairs)
    assert models.chat.count("backend-engineering", "report") == 0  # the tools' report on code run
