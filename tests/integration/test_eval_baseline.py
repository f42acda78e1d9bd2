"""The single-call baseline's module is measured end to end, as a run's folder is.

The model is scripted to reply with a case's reference module in a code block, so
the reply must pass every acceptance test, here with this interpreter (no sandbox,
no model, no database).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from eval import baseline, run
from eval.baseline import BaselineModel
from eval.catalog import load_cases
from eval.executors import LocalExecutor


class RepliesWithTheReference:
    def __init__(self, code: str) -> None:
        self.code = code

    def invoke(self, messages: list[Any]) -> AIMessage:
        reply = f"Here is the module:\n\n```python\n{self.code}```\n\nIt does what was asked."
        return AIMessage(
            reply, usage_metadata={"input_tokens": 250, "output_tokens": 400, "total_tokens": 650}
        )


def test_a_correct_reply_passes_every_acceptance_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = load_cases(["lib-textslug"])[0]
    code = (case.reference_dir / f"{case.module}.py").read_text(encoding="utf-8")
    chat = RepliesWithTheReference(code)
    monkeypatch.setattr(baseline, "resolve", lambda settings: BaselineModel(chat, "scripted", 2048))
    monkeypatch.setattr(run, "choose_executor", lambda *a, **k: LocalExecutor())
    out = tmp_path / "results"
    argv = ["--cases", case.id, "--baseline", "single-call", "--out", str(out), "--no-docs"]
    assert run.main(argv) == 0
    row = json.loads((out / "results.json").read_text())["cases"][0]
    assert row["passed"], row
    assert row["tokens"] == 650 and row["run"] == "ANSWERED"
    measured = row["measured"]
    assert measured["acceptance_passed"] == case.acceptance_count()
    assert (measured["complete"], measured["installs"], measured["imports"]) == (True,) * 3
    assert measured["own_total"] is None  # the baseline writes no tests of its own
