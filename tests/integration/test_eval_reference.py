"""The evaluation's hidden tests can be met, and a run's folder is measured end to end.

The reference solutions must pass every acceptance test of their case (one CLI,
one web service here; ``make eval EVAL_ARGS=--reference`` checks all of them, in the
sandbox). This test runs them with this interpreter, so that it proves the tests can be
met without depending on the sandbox or on installing anything.
The second test measures a "run" whose folder holds a reference, through the
same path a factory run takes, with the factory replaced by a copy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eval import run
from eval.catalog import load_cases
from eval.executors import LocalExecutor
from eval.factory import FactoryRun
from eval.report import BEGIN, END

ROOT = Path(__file__).resolve().parents[2]


def test_reference_solutions_pass_every_acceptance_test(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "eval.run", "--reference", "--cases", "cli-wordcount,web-todo"]
        + ["--executor", "local", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((tmp_path / "results.json").read_text())
    assert [c["case"] for c in data["cases"]] == ["cli-wordcount", "web-todo"]
    for case in data["cases"]:
        measured = case["measured"]
        assert case["passed"], case
        assert measured["acceptance_total"] > 0
        assert measured["acceptance_passed"] == measured["acceptance_total"]
        assert measured["acceptance_collected"] == measured["acceptance_total"]
        assert measured["own_passed"] == measured["own_total"] > 0
        assert (measured["complete"], measured["installs"], measured["imports"]) == (True,) * 3
    assert (tmp_path / "results.md").read_text().count("| REFERENCE |") == 2


def test_a_run_folder_is_measured_and_the_docs_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = load_cases(["cli-dedupe"])[0]

    def builds_the_reference(requirement_file: Path, *, out: Path, **_: Any) -> FactoryRun:
        shutil.copytree(case.reference_dir, out)
        (out / ".git").mkdir()  # a run's folder is a git repository: not copied
        return FactoryRun("COMPLETED", "", out, "run-1", 4321, 12.5)

    docs = tmp_path / "quality.md"
    docs.write_text(f"# Quality\n\n{BEGIN}\n{END}\n\nkept\n")
    monkeypatch.setattr(run, "run_factory", builds_the_reference)
    monkeypatch.setattr(run, "choose_executor", lambda *a, **k: LocalExecutor())
    monkeypatch.setattr(run, "factory_missing", lambda: "")
    monkeypatch.setattr(run, "DOCS", docs)
    out = tmp_path / "results"
    args = ["--cases", "cli-dedupe", "--out", str(out), "--model", "qwen2.5-coder:7b"]
    assert run.main(args) == 0

    result = json.loads((out / "results.json").read_text())["cases"][0]
    assert result["passed"] and result["tokens"] == 4321 and result["run"] == "COMPLETED"
    assert result["measured"]["acceptance_passed"] == case.acceptance_count()
    assert (out / "models.yaml").is_file()
    text = docs.read_text()
    assert "Model `qwen2.5-coder:7b`, pipeline `lean`" in text
    assert "| `cli-dedupe` | cli | COMPLETED | yes | yes | yes | 2/2 | 9/9 | 4,321 |" in text
    assert text.endswith(f"{END}\n\nkept\n")
