"""The evaluation's cases are complete and consistent, and its reports render and parse."""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from eval import run
from eval.catalog import KINDS, STYLES, CaseError, count_test_items, load_case, load_cases
from eval.executors import (
    Check,
    ExecutorUnavailableError,
    SandboxExecutor,
    choose_executor,
    junit_counts,
    pytest_argv,
)
from eval.factory import FactoryRun, last_json_object, models_file, run_deadline, tokens_of
from eval.measure import ACCEPTANCE_COMMAND, Measured, merge_dependencies
from eval.plan import PlanError, read_plan
from eval.report import (
    BEGIN,
    END,
    CaseResult,
    Meta,
    grouped,
    render_markdown,
    replace_block,
    summary,
    write_results,
)

CASES = load_cases()
IDS = [case.id for case in CASES]
MARKED = [case for case in CASES if case.style == "marked"]
PROSE = [case for case in CASES if case.style == "prose"]


def test_there_are_twelve_cases_at_least_three_of_each_kind() -> None:
    kinds = Counter(case.kind for case in CASES)
    assert len(CASES) >= 12
    assert {kind: kinds[kind] >= 3 for kind in KINDS} == dict.fromkeys(KINDS, True)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_case_folder_is_complete(case) -> None:
    for part in (
        "requirement.md",
        "case.yaml",
        "acceptance/test_acceptance.py",
        "reference/architecture/plan.json",
    ):
        assert (case.folder / part).is_file(), part
    for dep in case.dependencies:
        Requirement(dep)  # PEP 508


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_case_yaml_states_its_style(case) -> None:
    data = yaml.safe_load((case.folder / "case.yaml").read_text(encoding="utf-8"))
    assert data.get("style") in STYLES
    assert case.style == data["style"]


@pytest.mark.parametrize("case", MARKED, ids=[case.id for case in MARKED])
def test_requirement_is_short_and_states_the_interface(case) -> None:
    text = case.requirement
    assert 60 <= len(text.split()) <= 200
    assert f"`{case.module}`" in text or f"-m {case.module}" in text
    for name in case.names:
        assert name in text, name
    if case.kind == "web-service":
        assert "FastAPI" in text and "named `app`" in text


def as_word(name: str, text: str) -> bool:
    """Whether ``name`` occurs in ``text`` as a word of its own, not inside a longer one."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


@pytest.mark.parametrize("case", PROSE, ids=[case.id for case in PROSE])
def test_a_prose_requirement_states_the_interface_in_words(case) -> None:
    text = case.requirement
    assert 60 <= len(text.split()) <= 220
    assert "`" not in text and "~~~" not in text  # no code span, no fence of either kind
    assert not re.search(r"(?m)^(?: {4}|\t)\S", text)  # no indented code block either
    for name in (case.module, *case.names):
        assert as_word(name, text), name
    if case.kind == "web-service":
        assert "FastAPI" in text
        assert re.search(r"\b(?:named|called) app\b", text), "the app object is named in words"


def test_the_word_check_finds_names_only_as_whole_words() -> None:
    text = "Run tallyho with --top 3; a GET request to /items/ followed by an id."
    assert as_word("tallyho", text) and as_word("--top", text) and as_word("/items", text)
    assert not as_word("tally", text) and not as_word("--to", text) and not as_word("item", text)


def test_the_prose_cases_cover_every_kind_in_both_splits() -> None:
    # 6 held-out and 6 dev cases, 3 of each kind, then 4 dev cases (2 cli, 1 data, 1
    # library) whose commands, arguments and functions are named only in running words
    assert len(PROSE) == 16
    kinds = Counter(case.kind for case in PROSE)
    assert kinds == {"cli": 5, "library": 4, "web-service": 3, "data": 4}
    splits = Counter(case.split for case in PROSE)
    assert splits == {"dev": 10, "holdout": 6}
    for split in ("dev", "holdout"):
        assert {case.kind for case in PROSE if case.split == split} == set(KINDS), split


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_acceptance_tests_parse_and_use_the_stated_interface(case) -> None:
    source = (case.acceptance_dir / "test_acceptance.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    tests = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    assert 5 <= len(tests) <= 10
    assert case.acceptance_count() >= len(tests)  # parameters are literal, so countable
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    runs_it = f'"-m", "{case.module}"' in source
    assert case.module in imported or runs_it
    if case.kind in ("cli", "data"):
        assert runs_it, "a program is tested through `python -m`"
    if case.kind == "web-service":
        assert {"fastapi.testclient", case.module} <= imported
    for name in case.names:
        assert name.lower() in source.lower(), name


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reference_is_laid_out_as_a_run_folder(case) -> None:
    plan = read_plan(case.reference_dir)
    assert plan.missing(case.reference_dir) == []
    assert case.module in plan.modules()
    build = pytest.importorskip("devfactory.software.plan")
    text = (case.reference_dir / "architecture/plan.json").read_text(encoding="utf-8")
    build.BuildPlan.model_validate_json(text)  # the plan format the factory writes


def test_case_yaml_must_be_valid_and_name_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "cli-thing"
    folder.mkdir()
    good = yaml.safe_load((CASES[0].folder / "case.yaml").read_text(encoding="utf-8"))
    (folder / "case.yaml").write_text(yaml.safe_dump({**good, "kind": "gui"}))
    with pytest.raises(CaseError, match="kind"):
        load_case(folder)
    (folder / "case.yaml").write_text(yaml.safe_dump({**good, "style": "terse"}))
    with pytest.raises(CaseError, match="style"):
        load_case(folder)
    unstyled = {k: v for k, v in good.items() if k != "style"}
    (folder / "case.yaml").write_text(yaml.safe_dump({**unstyled, "id": "cli-thing"}))
    assert load_case(folder).style == "marked"  # a case says prose, or it is marked
    (folder / "case.yaml").write_text(yaml.safe_dump(good))
    with pytest.raises(CaseError, match="cli-thing"):
        load_case(folder)


def test_count_test_items_multiplies_literal_parametrize_lists() -> None:
    source = """
import pytest

@pytest.mark.parametrize("a", [1, 2, 3])
@pytest.mark.parametrize("b", (1, 2))
def test_grid(a, b): ...

def test_plain(): ...

def helper(): ...
"""
    assert count_test_items(source) == 7
    with pytest.raises(ValueError, match="literal"):
        count_test_items('@pytest.mark.parametrize("a", VALUES)\ndef test_x(a): ...\n')


# --- reading a run's folder ----------------------------------------------------------------


def write_plan(root: Path, plan: Any) -> None:
    (root / "architecture").mkdir(parents=True, exist_ok=True)
    text = plan if isinstance(plan, str) else json.dumps(plan)
    (root / "architecture/plan.json").write_text(text)


def test_plan_names_missing_files_and_the_modules_to_import(tmp_path: Path) -> None:
    write_plan(
        tmp_path,
        {
            "kind": "cli",
            "dependencies": ["rich>=13"],
            "test_command": "pytest -q",
            "entry_point": "python -m tool",
            "files": [
                {"path": "src/tool/__init__.py", "owner": "backend-engineering", "role": "code"},
                {"path": "src/tool/__main__.py", "owner": "backend-engineering", "role": "code"},
                {"path": "src/tool/core.py", "owner": "backend-engineering", "role": "code"},
                {"path": "tests/test_core.py", "owner": "qa-engineering", "role": "tests"},
                {"path": "README.md", "owner": "documentation", "role": "docs"},
            ],
        },
    )
    (tmp_path / "README.md").write_text("# tool\n")
    plan = read_plan(tmp_path)
    assert plan.modules() == ["tool", "tool.core"]
    assert plan.missing(tmp_path)[0] == "src/tool/__init__.py"
    assert len(plan.missing(tmp_path)) == 4
    assert plan.dependencies == ("rich>=13",)


@pytest.mark.parametrize(
    ("plan", "why"),
    [
        (None, "no architecture/plan.json"),
        ("{not json", "not readable JSON"),
        ({"files": []}, "lists no files"),
        ({"files": [{"path": "/etc/passwd"}]}, "not inside the project"),
        ({"files": [{"path": "../up.py"}]}, "not inside the project"),
        ({"files": [{"path": "a.py"}], "dependencies": "fastapi"}, "list of strings"),
    ],
)
def test_an_unusable_plan_says_why(tmp_path: Path, plan: Any, why: str) -> None:
    if plan is not None:
        write_plan(tmp_path, plan)
    with pytest.raises(PlanError, match=why):
        read_plan(tmp_path)


# --- what the factory and pytest report ----------------------------------------------------


def test_the_last_json_object_after_the_logs_is_the_report() -> None:
    output = (
        "database: embedded\n{ not json\n"
        '{"event": "stage", "team": "qa"}\n'
        '{\n  "run_id": "r1",\n  "status": "FAILED",\n  "usage": {"tokens": 5}\n}\n'
        "bye\n"
    )
    assert last_json_object(output) == {"run_id": "r1", "status": "FAILED", "usage": {"tokens": 5}}
    assert last_json_object("no report at all") is None


@pytest.mark.parametrize(
    ("report", "tokens"),
    [
        ({"usage": {"tokens": 12}}, 12),
        ({"usage": {"input_tokens": 3, "output_tokens": 4}}, 7),
        ({"usage": {"total": {"input_tokens": 1, "output_tokens": 1}}}, 2),
        ({"total_tokens": 9}, 9),
        ({"stages": [{"tokens": 2}, {"usage": {"input_tokens": 3}}]}, 5),
        ({"status": "ERROR"}, None),
    ],
)
def test_tokens_are_read_from_every_usage_shape(report: dict, tokens: int | None) -> None:
    assert tokens_of(report) == tokens


def test_junit_counts_and_pytest_commands(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite tests="6" failures="1" errors="1" skipped="1"/></testsuites>'
    )
    assert junit_counts(junit) == (3, 1, 1)
    assert junit_counts(tmp_path / "none.xml") is None
    assert pytest_argv("pytest -q tests", "/py") == ["/py", "-m", "pytest", "-q", "tests"]
    assert pytest_argv("python -m pytest tests", "/py") == ["/py", "-m", "pytest", "tests"]
    assert pytest_argv("make test", "/py") is None
    assert pytest_argv(ACCEPTANCE_COMMAND, "/py")[:3] == ["/py", "-m", "pytest"]


class FakeSandbox:
    """Answers as ``devfactory.sandbox.runner.Sandbox`` does, from canned results."""

    def __init__(self, install_exit: int = 0) -> None:
        self.install_exit = install_exit

    def environment(self, dependencies: list[str]) -> SimpleNamespace:
        if "bad dep" in dependencies:
            raise ValueError("dependency 'bad dep' is not a PEP 508 requirement")
        install = SimpleNamespace(exit_code=self.install_exit, output="resolving\nno fastapi==99")
        return SimpleNamespace(ok=self.install_exit == 0, install=install)

    def compile_and_import(self, workspace: Path, env: Any, modules: list[str]) -> Any:
        output = "ok a\nb: ImportError: boom\n    File b.py\ncompiled 2 file(s), 0 error(s)"
        return SimpleNamespace(exit_code=1, output=output)

    def run_tests(self, workspace: Path, env: Any, command: str) -> tuple[Any, Any]:
        cases = [
            SimpleNamespace(name="test_ok", outcome="passed", message=""),
            SimpleNamespace(name="test_bad", outcome="failed", message="assert 1 == 2\nmore"),
        ]
        report = SimpleNamespace(passed=3, failed=1, errors=0, cases=cases)
        return SimpleNamespace(exit_code=1, output=""), report


def test_the_sandbox_results_become_checks(tmp_path: Path) -> None:
    executor = SandboxExecutor(FakeSandbox())
    env, installed = executor.environment(["fastapi"])
    assert installed == Check(True, "installed")
    imported = executor.imports(tmp_path, env, ["a", "b"])
    assert imported == Check(False, "import failed: b: ImportError: boom")
    tests = executor.tests(tmp_path, env, ACCEPTANCE_COMMAND, 60)
    assert (tests.ok, tests.passed, tests.failed, tests.total) == (False, 3, 1, 4)
    assert tests.summary == "3 passed, 1 failed, 0 errors; first: test_bad: assert 1 == 2"
    assert not SandboxExecutor(FakeSandbox(install_exit=1)).environment([])[1].ok
    refused = executor.environment(["bad dep"])[1]
    assert not refused.ok and "PEP 508" in refused.summary


def test_dependencies_are_merged_by_package_the_plan_first() -> None:
    merged = merge_dependencies(["FastAPI>=0.110", "rich"], ["fastapi", "httpx"], ["pytest"])
    assert merged == ["FastAPI>=0.110", "rich", "httpx", "pytest"]


def test_generated_code_never_runs_unisolated_outside_the_self_test() -> None:
    with pytest.raises(ExecutorUnavailableError, match="only --reference"):
        choose_executor("local", reference=False)
    assert choose_executor("local", reference=True).name.startswith("local")


@pytest.mark.parametrize(
    ("model", "provider", "name"),
    [
        ("qwen2.5-coder:7b", "ollama", "qwen2.5-coder:7b"),
        ("ollama:qwen2.5-coder:1.5b", "ollama", "qwen2.5-coder:1.5b"),
        ("openai:gpt-4o-mini", "openai", "gpt-4o-mini"),
    ],
)
def test_models_file_serves_every_chat_alias_with_the_model(
    tmp_path: Path, model: str, provider: str, name: str
) -> None:
    from devfactory.models.aliases import CHAT_ALIASES, EMBED_ALIAS
    from devfactory.models.router import ModelsConfig
    from devfactory.settings import Settings

    path = models_file(model, tmp_path / "models.yaml")
    config = ModelsConfig.load(Settings(models_file=path, data_dir=tmp_path))
    for alias in CHAT_ALIASES:
        assert [(e.provider, e.model) for e in config.aliases[alias]] == [(provider, name)]
    assert config.aliases[EMBED_ALIAS]  # embeddings keep their chain


# --- the results table -----------------------------------------------------------------------


def fake_results() -> list[CaseResult]:
    full = Measured(
        complete=True,
        installs=True,
        imports=True,
        own_passed=3,
        own_total=3,
        acceptance_passed=8,
        acceptance_total=8,
        acceptance_collected=8,
    )
    partial = Measured(
        complete=False,
        missing=["tests/test_api.py"],
        installs=True,
        imports=False,
        acceptance_passed=2,
        acceptance_total=12,
        acceptance_collected=12,
        notes=["missing planned files: tests/test_api.py", "import failed: a | b"],
    )
    return [
        CaseResult("cli-wordcount", "cli", "COMPLETED", full, tokens=12345, factory_seconds=61),
        CaseResult("web-todo", "web-service", "COMPLETED", partial, tokens=900, eval_seconds=4.5),
        CaseResult("lib-x", "library", "FAILED", None, reason="qa-engineering BLOCKED"),
    ]


META = Meta("factory", "qwen2.5-coder:7b", "mvp", "abc1234", "2026-11-22", "sandbox", "make eval")


def test_results_render_as_a_markdown_table_with_totals() -> None:
    table = render_markdown(fake_results(), META)
    lines = table.splitlines()
    assert "Model `qwen2.5-coder:7b`, pipeline `mvp`, commit `abc1234`, 2026-11-22" in lines[0]
    assert lines[2].startswith("| Case | Kind | Run | Plan complete |")
    assert lines[4] == (
        "| `cli-wordcount` | cli | COMPLETED | yes | yes | yes | 3/3 | 8/8 | 12,345 | 1m 01s |  |"
    )
    assert lines[5].startswith(
        "| `web-todo` | web-service | COMPLETED | **no** | yes | **no** | – | 2/12 | 900 |"
    )
    assert "import failed: a \\| b" in lines[5]  # a pipe in a note does not split the row
    assert lines[6].startswith("| `lib-x` | library | FAILED | – | – | – | – | – | – |")
    assert lines[6].endswith("| qa-engineering BLOCKED |")
    assert "**Acceptance: 10/20 tests (50%); 1 of 3 cases pass all their" in lines[-1]
    assert summary(fake_results())["tokens"] == 13245


def test_the_docs_block_is_replaced_between_the_markers_only() -> None:
    doc = f"# Quality\n\nintro\n\n{BEGIN}\nold table\n{END}\n\n## After\n"
    new = replace_block(doc, "new table")
    assert new == f"# Quality\n\nintro\n\n{BEGIN}\nnew table\n{END}\n\n## After\n"
    assert replace_block(new, "newer") == replace_block(doc, "newer")
    quoted = f"Between the `{BEGIN}` and `{END}` markers.\n\n{BEGIN}\nold\n{END}\n"
    assert replace_block(quoted, "new") == (
        f"Between the `{BEGIN}` and `{END}` markers.\n\n{BEGIN}\nnew\n{END}\n"
    )  # prose that quotes the markers is left alone
    appended = replace_block("# Quality\n", "first")
    assert appended.endswith(f"{BEGIN}\nfirst\n{END}\n")


class NoExecutor:
    name = "none"

    def environment(self, dependencies: Any) -> tuple[Any, Check]:
        raise AssertionError("nothing is measured for a run without a folder")


def offline(monkeypatch: pytest.MonkeyPatch, factory: Any) -> None:
    """Run the evaluation with ``factory`` standing in for the factory, and no sandbox."""
    monkeypatch.setattr(run, "run_factory", factory)
    monkeypatch.setattr(run, "choose_executor", lambda *a, **k: NoExecutor())
    monkeypatch.setattr(run, "factory_missing", lambda: "")


def test_a_failed_run_becomes_a_row_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "quality.md"
    docs.write_text(f"# Quality\n{BEGIN}\n{END}\n")

    def failed_run(requirement_file: Path, *, out: Path, **_: Any) -> FactoryRun:
        return FactoryRun("FAILED", "solution-architecture BLOCKED: no plan", out, "r1", 77, 3.0)

    offline(monkeypatch, failed_run)
    monkeypatch.setattr(run, "DOCS", docs)
    out = tmp_path / "results"
    assert run.main(["--cases", "web-todo,lib-textslug", "--out", str(out)]) == 0
    data = json.loads((out / "results.json").read_text())
    assert [c["case"] for c in data["cases"]] == ["web-todo", "lib-textslug"]
    assert data["cases"][0]["run"] == "FAILED"
    assert data["cases"][0]["notes"] == "solution-architecture BLOCKED: no plan"
    assert data["summary"]["tokens"] == 154
    # a run that built nothing scores 0 of the case's acceptance tests, not 0 of 0
    assert data["summary"]["acceptance_total"] == sum(
        case.acceptance_count() for case in load_cases(["web-todo", "lib-textslug"])
    )
    assert "| `web-todo` | web-service | FAILED | – | – | – | – | 0/12 | 77 |" in docs.read_text()


def test_unknown_cases_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--cases", "no-such-case", "--reference"]) == 2
    assert "no-such-case" in capsys.readouterr().err


def test_the_time_budget_cuts_the_run_and_leaves_later_cases_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    timeouts: list[float] = []
    clock = iter([0.0, 0.0, 0.0, 500.0, 500.0, 500.0])  # the second case finds no time left

    def slow_run(requirement_file: Path, *, out: Path, timeout: float, **_: Any) -> FactoryRun:
        timeouts.append(timeout)
        reason = f"killed after {timeout:.0f} s"
        return FactoryRun("ERROR", reason, out, "r1", None, timeout, killed=True)

    monkeypatch.setattr(run.time, "monotonic", lambda: next(clock, 500.0))
    offline(monkeypatch, slow_run)
    out = tmp_path / "results"
    argv = ["--cases", "web-todo,lib-textslug", "--time-budget", "400", "--out", str(out)]
    assert run.main([*argv, "--no-docs", "--run-timeout", "3600"]) == 0
    assert timeouts == [400.0]  # the run was cut at what was left of the budget, not 3600 s
    saved = json.loads((out / "results.json").read_text())
    rows = {r["case"]: r for r in saved["cases"]}
    # the cut run measured nothing about the case: NOT RUN, so that --resume runs it again
    assert rows["web-todo"]["run"] == "NOT RUN"
    assert "cut after 400 s by the time budget" in rows["web-todo"]["reason"]
    assert rows["lib-textslug"]["run"] == "NOT RUN"
    assert "time budget (400 s) was spent" in rows["lib-textslug"]["reason"]
    assert "2 not run" in (out / "results.md").read_text()
    timeouts.clear()
    monkeypatch.setattr(run.time, "monotonic", lambda: 0.0)
    resumed = ["--cases", "web-todo,lib-textslug", "--out", str(out), "--run-timeout", "60"]
    assert run.main([*resumed, "--no-docs", "--resume"]) == 0
    assert timeouts == [60.0, 60.0]  # both run again, each under its own timeout
    rows = {r["case"]: r for r in json.loads((out / "results.json").read_text())["cases"]}
    # a run past the case's own timeout is a measurement: an ERROR row, kept by --resume
    assert rows["web-todo"]["run"] == "ERROR"
    assert rows["web-todo"]["notes"] == "killed after 60 s"


def test_a_run_that_stopped_at_a_cap_the_budget_shortened_is_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the run stops itself a little before the timeout it is given (run_deadline): under a
    # budget-shortened timeout that stop measured less than the other cases had, as a kill
    ends: list[tuple[str, float]] = [("FAILED", 399.0), ("COMPLETED", 399.0), ("FAILED", 50.0)]
    given: list[float] = []

    def capped_run(requirement_file: Path, *, out: Path, timeout: float, **_: Any) -> FactoryRun:
        given.append(timeout)
        status, seconds = ends.pop(0)
        reason = "time cap reached" if seconds >= run_deadline(timeout) else "BLOCKED: no plan"
        return FactoryRun(status, "" if status == "COMPLETED" else reason, out, "r1", 9, seconds)

    monkeypatch.setattr(run.time, "monotonic", lambda: 0.0)
    offline(monkeypatch, capped_run)
    out = tmp_path / "results"
    argv = ["--cases", "web-todo", "--time-budget", "400", "--out", str(out), "--no-docs"]
    for expected in ("NOT RUN", "COMPLETED", "FAILED"):
        assert run.main([*argv, "--run-timeout", "3600"]) == 0
        row = json.loads((out / "results.json").read_text())["cases"][0]
        # a completed run, or one that failed before its cap, is the case's result
        assert row["run"] == expected, row
    assert given == [400.0, 400.0, 400.0]
    # the same stop under the case's own timeout is a measurement: its row is kept
    ends.append(("FAILED", 399.0))
    assert run.main([*argv, "--run-timeout", "400"]) == 0
    assert json.loads((out / "results.json").read_text())["cases"][0]["run"] == "FAILED"


def test_settings_for_the_runs_are_checked_and_passed_as_factory_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run.setting_overrides(["stage_max_tokens=1536", "max-stage-attempts = 2"]) == {
        "DEVFACTORY_MEMORY_ENABLED": "false",  # the default: no run recalls an earlier one
        "DEVFACTORY_INCIDENTS_ENABLED": "false",  # no streak of failing cases holds the next
        "DEVFACTORY_STAGE_MAX_TOKENS": "1536",
        "DEVFACTORY_MAX_STAGE_ATTEMPTS": "2",
    }
    assert run.setting_overrides(["memory_enabled=true"]) == {
        "DEVFACTORY_MEMORY_ENABLED": "true",
        "DEVFACTORY_INCIDENTS_ENABLED": "false",
    }
    seen: list[dict[str, str]] = []

    def recorded(requirement_file: Path, *, out: Path, overrides: Any, **_: Any) -> FactoryRun:
        seen.append(overrides)
        return FactoryRun("FAILED", "no plan", out, "r1", 1, 1.0)

    offline(monkeypatch, recorded)
    out = tmp_path / "results"
    argv = ["--cases", "web-todo", "--no-docs", "--out", str(out), "--set", "fact_memory=false"]
    assert run.main(argv) == 0
    assert seen == [
        {
            "DEVFACTORY_MEMORY_ENABLED": "false",
            "DEVFACTORY_INCIDENTS_ENABLED": "false",
            "DEVFACTORY_FACT_MEMORY": "false",
        }
    ]
    assert "--set fact_memory=false" in (out / "results.md").read_text()
    assert run.main(["--set", "no_such_setting=1", "--out", str(out)]) == 2


def test_the_factory_runs_through_the_cli_unattended_with_a_json_report(tmp_path: Path) -> None:
    from eval.factory import factory_command

    argv = factory_command("A tool", "mvp", tmp_path)
    assert Path(argv[0]).name == "devfactory" and argv[1:3] == ["run", "A tool"]
    assert {"--unattended", "--json", "--no-input"} <= set(argv)
    assert argv[argv.index("--out") + 1] == str(tmp_path)


def test_the_factory_is_measured_on_the_lean_pipeline_unless_told_otherwise() -> None:
    # the quality targets are set on lean: the documented command must measure it
    assert run.parse_args(["--split", "holdout", "--with-baseline"]).pipeline == "lean"
    assert run.parse_args(["--pipeline", "mvp"]).pipeline == "mvp"


def test_the_results_name_the_models_file_a_set_chose() -> None:
    # results measured with another models file were labelled "models.yaml defaults"
    chosen = run.parse_args(["--set", "models_file=/tmp/x/models-all-1.5b.yaml"])
    assert run.model_label(chosen) == "models file models-all-1.5b.yaml"
    assert run.model_label(run.parse_args(["--set", "stage_max_tokens=512"])) == (
        "models.yaml defaults"
    )
    assert run.model_label(run.parse_args(["--model", "embedded:x"])) == "embedded:x"


def failing_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every factory run fail at once, offline; return the cases run, in order."""
    ran: list[str] = []

    def fake_run(requirement_file: Path, *, out: Path, **_: Any) -> FactoryRun:
        ran.append(requirement_file.parent.name)
        return FactoryRun("FAILED", "no plan", out, "r1", 10, 1.0)

    offline(monkeypatch, fake_run)
    return ran


def test_resume_keeps_the_cases_measured_and_runs_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = failing_runs(monkeypatch)
    out = tmp_path / "results"
    first = ["--cases", "web-todo", "--no-docs", "--out", str(out), "--pipeline", "lean"]
    assert run.main(first) == 0
    saved = json.loads((out / "results.json").read_text())
    saved["meta"]["commit"] = "abc1234"  # measured on an earlier checkout
    saved["cases"][0]["commit"] = "abc1234"
    (out / "results.json").write_text(json.dumps(saved))
    monkeypatch.setattr(run, "commit", lambda: "def5678")
    again = ["--cases", "web-todo,lib-textslug", "--no-docs", "--out", str(out)]
    assert run.main([*again, "--pipeline", "lean", "--resume"]) == 0
    assert ran == ["web-todo", "lib-textslug"]  # web-todo once, before the resume
    rows = json.loads((out / "results.json").read_text())["cases"]
    assert [(r["case"], r["commit"]) for r in rows] == [
        ("web-todo", "abc1234"),
        ("lib-textslug", "def5678"),
    ]
    table = (out / "results.md").read_text()
    assert "commits `abc1234` (1 case), `def5678` (1 case)" in table
    # another pipeline's results are not mixed in
    assert run.main([*again, "--pipeline", "mvp", "--resume"]) == 2
    assert ran == ["web-todo", "lib-textslug"]
    # rows merged by hand: a resume with nothing to run writes the totals and header anew
    merged = json.loads((out / "results.json").read_text())
    merged["summary"]["cases"] = 99
    (out / "results.json").write_text(json.dumps(merged))
    assert run.main([*again, "--pipeline", "lean", "--resume"]) == 0
    assert ran == ["web-todo", "lib-textslug"]  # nothing ran
    rewritten = json.loads((out / "results.json").read_text())
    assert rewritten["summary"]["cases"] == 2 and rewritten["meta"]["commit"] == "def5678"


def test_a_resume_with_other_cases_keeps_the_rows_it_measured_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = failing_runs(monkeypatch)
    out = tmp_path / "results"
    for case in ("web-todo", "lib-textslug", "web-todo"):  # a folder measured case by case
        argv = ["--cases", case, "--no-docs", "--out", str(out), "--resume"]
        assert run.main(argv) == 0
    assert ran == ["web-todo", "lib-textslug"]  # the second web-todo was kept
    saved = json.loads((out / "results.json").read_text())
    assert sorted(r["case"] for r in saved["cases"]) == ["lib-textslug", "web-todo"]
    assert saved["summary"]["cases"] == 2
    assert "lib-textslug" in (out / "results.md").read_text()


def styled(split: str, style: str, case: str, passed: int, total: int) -> CaseResult:
    measured = Measured(
        acceptance_passed=passed, acceptance_total=total, acceptance_collected=total
    )
    return CaseResult(case, "cli", "COMPLETED", measured, split=split, style=style)


STYLED = [
    styled("dev", "marked", "d-marked", 4, 8),
    styled("holdout", "prose", "h-prose", 1, 10),
    styled("dev", "prose", "d-prose", 0, 6),
    styled("holdout", "marked", "h-marked", 6, 6),
]


def test_rows_are_grouped_by_split_then_by_style_within_and_across_splits() -> None:
    groups = grouped(STYLED, lambda r: (r.split, r.style))
    assert [(label, [r.case for r in rows]) for label, rows in groups] == [
        ("Held-out", ["h-prose", "h-marked"]),
        ("Held-out (marked)", ["h-marked"]),
        ("Held-out (prose)", ["h-prose"]),
        ("Dev", ["d-marked", "d-prose"]),
        ("Dev (marked)", ["d-marked"]),
        ("Dev (prose)", ["d-prose"]),
        ("Marked (all splits)", ["d-marked", "h-marked"]),
        ("Prose (all splits)", ["h-prose", "d-prose"]),
    ]
    one_split = [r for r in STYLED if r.split == "holdout"]
    assert [label for label, _ in grouped(one_split, lambda r: (r.split, r.style))] == [
        "Held-out",
        "Held-out (marked)",
        "Held-out (prose)",
    ]
    one_style = [r for r in STYLED if r.style == "marked"]
    assert [label for label, _ in grouped(one_style, lambda r: (r.split, r.style))] == [
        "Held-out",
        "Dev",
    ]  # one style: no style groups, as before there were styles


def test_the_table_and_results_json_total_each_split_and_style(tmp_path: Path) -> None:
    lines = render_markdown(STYLED, META).splitlines()
    assert "- Held-out (prose): 1/10 tests (10%), 0 of 1 cases pass." in lines
    assert "- Held-out (marked): 6/6 tests (100%), 1 of 1 cases pass." in lines
    assert "- Prose (all splits): 1/16 tests (6%), 0 of 2 cases pass." in lines
    assert lines.index("- Held-out: 7/16 tests (44%), 1 of 2 cases pass.") < lines.index(
        "- Dev: 4/14 tests (29%), 0 of 2 cases pass."
    )
    write_results(tmp_path, STYLED, META)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["by_split"]["holdout"]["acceptance_passed"] == 7
    assert data["by_style"]["prose"]["acceptance_total"] == 16
    assert data["by_style"]["marked"]["cases_passing"] == 1
    assert data["by_split_and_style"]["dev/prose"]["acceptance_total"] == 6
    assert set(data["by_split_and_style"]) == {
        "dev/marked",
        "dev/prose",
        "holdout/marked",
        "holdout/prose",
    }
    assert [c["style"] for c in data["cases"]] == ["marked", "prose", "prose", "marked"]
