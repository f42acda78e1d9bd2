"""The evaluation's splits, its single-call baseline and the side-by-side table, without a model.

The baseline's model is scripted here and no code runs: a fake executor answers
for the sandbox. Only dev cases are evaluated; held-out ones are only selected.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from eval import baseline, run
from eval.baseline import BaselineModel, code_of, plan_of, prompt, write_project
from eval.catalog import UnknownCaseError, load_cases
from eval.compare import render_comparison
from eval.executors import Check
from eval.factory import FactoryRun
from eval.measure import Measured
from eval.plan import read_plan
from eval.report import BEGIN, END, NOT_RUN, CaseResult, Meta

DEV = [case.id for case in load_cases(split="dev")]
HOLDOUT = [case.id for case in load_cases(split="holdout")]


# --- options and splits ----------------------------------------------------------------------


def test_the_options_parse_with_their_defaults() -> None:
    args = run.parse_args([])
    assert (args.split, args.baseline, args.with_baseline, args.compare) == (
        "all",
        None,
        False,
        None,
    )
    args = run.parse_args(["--split", "holdout", "--baseline", "single-call"])
    assert (args.split, args.baseline) == ("holdout", "single-call")
    assert run.modes_of(args) == ("baseline",)
    assert run.modes_of(run.parse_args(["--with-baseline"])) == ("factory", "baseline")
    assert run.modes_of(run.parse_args(["--reference"])) == ("reference",)
    assert run.modes_of(run.parse_args([])) == ("factory",)
    assert run.parse_args(["--compare", "a", "b"]).compare == [Path("a"), Path("b")]
    for bad in (["--split", "test"], ["--baseline", "two-calls"], ["--compare", "a"]):
        with pytest.raises(SystemExit):
            run.parse_args(bad)


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["--reference", "--baseline", "single-call"], "--reference and --baseline"),
        (["--baseline", "single-call", "--with-baseline"], "--baseline and --with-baseline"),
        (["--compare", "a", "b", "--with-baseline"], "--with-baseline and --compare"),
        (["--compare", "a", "b", "--resume"], "nothing to resume"),
    ],
)
def test_options_that_do_not_go_together_are_a_usage_error(
    argv: list[str], why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run.main(argv) == 2
    assert why in capsys.readouterr().err


def test_the_marked_splits_are_twelve_dev_and_twelve_held_out_cases() -> None:
    marked = {case.id for case in load_cases() if case.style == "marked"}
    assert len(marked & set(DEV)) == 12 and len(marked & set(HOLDOUT)) == 12
    assert not set(DEV) & set(HOLDOUT)
    assert [c.id for c in load_cases()] == sorted(DEV + HOLDOUT)
    assert "lib-textslug" in DEV and "cli-tempconv" in HOLDOUT


def test_cases_and_split_together_keep_the_named_cases_in_the_split() -> None:
    named = ["cli-tempconv", "lib-textslug", "web-todo"]
    assert [c.id for c in load_cases(named, split="dev")] == ["lib-textslug", "web-todo"]
    assert [c.id for c in load_cases(named, split="holdout")] == ["cli-tempconv"]
    assert [c.id for c in load_cases(named)] == named
    with pytest.raises(UnknownCaseError, match="split 'dev'"):
        load_cases(["cli-tempconv"], split="dev")
    with pytest.raises(UnknownCaseError, match="no split named"):
        load_cases(split="test")


def test_a_case_outside_the_split_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--cases", "cli-tempconv", "--split", "dev", "--reference"]) == 2
    assert "split 'dev'" in capsys.readouterr().err


# --- the one call ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("Here it is:\n```python\ndef f():\n    return 1\n```\nDone.", "def f():\n    return 1\n"),
        ("```py\nx = 1\n```", "x = 1\n"),
        ("```bash\npip install x\n```\n```Python\ny = 2\n```\n```python\nz = 3\n```", "y = 2\n"),
        (
            "Use it so:\n```python\nimport m\n```\nThe module:\n```python\nimport sys\n"
            "\ndef main():\n    return 0\n```\nRun:\n```python\nm.main()\n```",
            "import sys\n\ndef main():\n    return 0\n",
        ),
        ("```\nshort\n```\n```\nuntagged = True\n```", "untagged = True\n"),
        ("```text\nnot code at all, but long\n```\n```\nx = 1\n```", "x = 1\n"),
        ("```python\ndef cut_off(:\n    pass", "def cut_off(:\n    pass\n"),
        ("  def f():\n    return 1\n", "def f():\n    return 1\n"),
    ],
    ids=[
        "python",
        "py",
        "first-of-equal",
        "largest-python",
        "largest-untagged",
        "untagged-over-other",
        "unclosed",
        "no-fence",
    ],
)
def test_the_reply_s_largest_python_block_is_the_module(reply: str, code: str) -> None:
    assert code_of(reply) == code


RUN_AS_MAIN = 'so end it with `if __name__ == "__main__":`.'


@pytest.mark.parametrize(
    ("case_id", "usage"),
    [
        (
            "cli-wordcount",
            "Write the complete module `wordcount.py`. It is a command-line program, run as "
            f"`python -m wordcount`, {RUN_AS_MAIN}",
        ),
        (
            "data-csv2json",
            "Write the complete module `csv2json.py`. It is a data tool, run as "
            f"`python -m csv2json`, {RUN_AS_MAIN}",
        ),
        (
            "lib-textslug",
            "Write the complete module `textslug.py`. It is a library, imported as `textslug`.",
        ),
        (
            "web-todo",
            "Write the complete module `todo_api.py`. It is a web service: a FastAPI app object, "
            "named as the requirement says, in `todo_api.py`.",
        ),
    ],
    ids=["cli", "data", "library", "web-service"],
)
def test_the_prompt_is_frozen_per_kind(case_id: str, usage: str) -> None:
    """The exact messages of this version: a change to them is a new ``baseline.VERSION``."""
    case = load_cases([case_id])[0]
    assert baseline.VERSION == "single-call v2"
    assert baseline.system() == (
        "You are an expert Python programmer: you write complete, correct, working Python modules."
    )
    assert prompt(case) == (
        f"{case.requirement.rstrip()}\n\n{usage}\n\n"
        "Reply with one Python code block holding the whole module.\n"
    )
    assert baseline.transcript(case).startswith(f"# System\n\n{baseline.system()}\n\n# User\n\n")


def test_every_kind_has_its_usage_line() -> None:
    from eval.catalog import KINDS

    cases = {case.kind: case for case in load_cases()}
    assert set(cases) == set(KINDS)
    lines = {kind: prompt(case).splitlines()[-3] for kind, case in cases.items()}
    assert len(set(lines.values())) == len(KINDS)  # no kind falls back on another's line
    for kind in ("cli", "data"):
        assert f"run as `python -m {cases[kind].module}`" in lines[kind]


def test_the_module_is_written_as_a_run_s_folder(tmp_path: Path) -> None:
    case = load_cases(["cli-wordcount"])[0]
    folder = write_project(case, "```python\nprint('hi')\n```", tmp_path / "run")
    assert (folder / "wordcount.py").read_text() == "print('hi')\n"
    plan = read_plan(folder)
    assert plan.missing(folder) == [] and plan.modules() == ["wordcount"]
    assert (plan.kind, plan.test_command, plan.entry_point) == ("cli", "", "python -m wordcount")
    assert plan_of(load_cases(["web-todo"])[0])["entry_point"] == ""


class ScriptedChat:
    """Answers every call with one reply, and records the messages it was sent."""

    def __init__(self, reply: str, finish: str = "stop", fail: bool = False) -> None:
        self.reply, self.finish, self.fail = reply, finish, fail
        self.sent: list[Any] = []

    def invoke(self, messages: list[Any]) -> AIMessage:
        self.sent.append(messages)
        if self.fail:
            raise TimeoutError("no reply within 900 s")
        return AIMessage(
            content=self.reply,
            usage_metadata={"input_tokens": 300, "output_tokens": 120, "total_tokens": 420},
            response_metadata={"finish_reason": self.finish},
        )


class FakeExecutor:
    """Installs and imports everything; the acceptance tests pass ``passed`` of each case."""

    name = "fake"

    def __init__(self, passed: int = 3) -> None:
        self.passed = passed
        self.tested: list[str] = []

    def environment(self, dependencies: Any) -> tuple[Any, Check]:
        return None, Check(True, "installed")

    def imports(self, workspace: Path, env: Any, modules: Any) -> Check:
        return Check(True, "imported")

    def tests(self, workspace: Path, env: Any, command: str, timeout: int) -> Check:
        self.tested.append(sorted(p.name for p in workspace.glob("*.py"))[0])
        total = next(c for c in load_cases() if (workspace / f"{c.module}.py").is_file())
        failed = total.acceptance_count() - self.passed
        return Check(failed == 0, f"{self.passed} passed", passed=self.passed, failed=failed)


def scripted(
    monkeypatch: pytest.MonkeyPatch, chat: ScriptedChat, executor: FakeExecutor, docs: Path
) -> None:
    """Serve the baseline with ``chat``, measure with ``executor``, keep the docs in ``docs``."""
    monkeypatch.setattr(
        baseline, "resolve", lambda settings: BaselineModel(chat, "scripted:coder", 2048)
    )
    monkeypatch.setattr(run, "choose_executor", lambda *a, **k: executor)
    monkeypatch.setattr(run, "factory_missing", lambda: "")
    monkeypatch.setattr(run, "DOCS", docs)
    docs.write_text(f"# Quality\n{BEGIN}\nold\n{END}\n")


CODE = "```python\ndef slugify(text, max_length=80, separator='-'):\n    return text\n```"


def test_the_baseline_asks_once_per_case_and_measures_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat, executor, docs = ScriptedChat(CODE), FakeExecutor(passed=3), tmp_path / "quality.md"
    scripted(monkeypatch, chat, executor, docs)
    out = tmp_path / "results"
    argv = ["--cases", "lib-textslug,web-todo", "--baseline", "single-call", "--out", str(out)]
    assert run.main(argv) == 0
    assert len(chat.sent) == 2  # one call per case: a system line and the user's message
    assert [[m.type for m in sent] for sent in chat.sent] == [["system", "human"]] * 2
    textslug = load_cases(["lib-textslug"])[0]
    assert chat.sent[0][0].content == baseline.system()
    assert chat.sent[0][1].content == prompt(textslug)
    folder = out / "lib-textslug"
    assert (folder / "run" / "textslug.py").read_text().startswith("def slugify(")
    assert (folder / "reply.md").read_text() == CODE
    assert (folder / "prompt.md").read_text() == baseline.transcript(textslug)
    assert executor.tested == ["textslug.py", "todo_api.py"]
    data = json.loads((out / "results.json").read_text())
    assert data["meta"]["mode"] == "baseline" and data["meta"]["pipeline"] == "single-call"
    assert data["meta"]["served_by"] == (
        "scripted:coder at temperature 0.2, up to 2048 tokens; single-call v2"
    )
    row = data["cases"][0]
    assert (row["run"], row["tokens"], row["split"]) == ("ANSWERED", 420, "dev")
    assert row["measured"]["acceptance_passed"] == 3 and row["measured"]["imports"] is True
    head = (out / "results.md").read_text().splitlines()[0]
    assert head.startswith("Single-call baseline, model `models.yaml defaults` served by ")
    assert "pipeline `single-call`" in head
    assert docs.read_text() == f"# Quality\n{BEGIN}\nold\n{END}\n"  # a baseline alone: no docs
    # resumed, nothing is asked again; with another model serving, nothing is mixed in
    assert run.main([*argv, "--resume"]) == 0 and len(chat.sent) == 2
    for other in (
        BaselineModel(chat, "ollama:qwen2.5-coder:7b", 2048),
        BaselineModel(chat, "scripted:coder", 1024),  # another cap: another baseline
    ):
        monkeypatch.setattr(baseline, "resolve", lambda settings, other=other: other)
        assert run.main([*argv, "--resume"]) == 2 and len(chat.sent) == 2
    saved = json.loads((out / "results.json").read_text())
    saved["meta"]["served_by"] = "scripted:coder at temperature 0.2, up to 2048 tokens"
    (out / "results.json").write_text(json.dumps(saved))  # measured by an older version
    monkeypatch.setattr(
        baseline, "resolve", lambda settings: BaselineModel(chat, "scripted:coder", 2048)
    )
    assert run.main([*argv, "--resume"]) == 2 and len(chat.sent) == 2


def test_a_failed_or_cut_off_call_is_the_row_s_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "results"
    argv = ["--cases", "lib-textslug", "--baseline", "single-call", "--out", str(out)]
    scripted(monkeypatch, ScriptedChat("", fail=True), FakeExecutor(), tmp_path / "q.md")
    assert run.main([*argv, "--no-docs"]) == 0
    row = json.loads((out / "results.json").read_text())["cases"][0]
    assert row["run"] == "ERROR" and "TimeoutError: no reply within 900 s" in row["notes"]
    assert row["measured"]["acceptance_total"] > 0  # 0 of the case's tests, not 0 of 0
    scripted(monkeypatch, ScriptedChat(CODE, finish="length"), FakeExecutor(), tmp_path / "q.md")
    assert run.main([*argv, "--no-docs"]) == 0
    row = json.loads((out / "results.json").read_text())["cases"][0]
    assert row["run"] == "CUT OFF"
    assert "reply cut off at the token limit (2048 tokens, baseline_max_tokens)" in row["notes"]
    assert "| `lib-textslug` | library | CUT OFF | yes |" in (out / "results.md").read_text()
    assert row["measured"]["acceptance_passed"] == 3  # what the cut reply holds is measured


def test_a_cut_off_reply_is_marked_in_the_side_by_side_table() -> None:
    factory = rows("holdout", ("h-one", 3, 6, 10_000, 300.0), ("h-two", 1, 4, 9_000, 200.0))
    baseline_rows = rows("holdout", ("h-one", 2, 6, 2_400, 60.0), ("h-two", 1, 4, 900, 20.0))
    baseline_rows[0] = replace(baseline_rows[0], run=baseline.CUT_OFF)
    table = render_comparison(factory, FACTORY_META, baseline_rows, BASELINE_META)
    assert "| `h-one` | holdout | – | cli | 3/6 | 2/6 (cut off) | 1.50 |" in table
    assert "| `h-two` | holdout | – | cli | 1/4 | 1/4 | 1.00 |" in table
    assert "**Held-out, 2 cases: factory 4/10 acceptance tests" in table


def test_the_baseline_resolves_factory_coder_at_its_own_token_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = baseline.settings_for({"DEVFACTORY_STAGE_MAX_TOKENS": "1536"}, None)
    assert settings.generation.stage_max_tokens == 1536 and settings.generation.temperature == 0.2
    assert settings.generation.baseline_max_tokens == 2048
    seen: list[Any] = []

    class Chat:
        repeat_penalty, seed = 1.1, 0

    class Source:
        def __init__(self, settings: Any) -> None:
            self.settings = settings

        def resolve(self, alias: str) -> Any:
            seen.append((alias, self.settings.generation.stage_max_tokens))
            resolved = type("Resolved", (), {"label": "scripted:x", "plain": lambda self: "chat"})
            resolved.chat = Chat()
            return resolved()

    monkeypatch.setattr("devfactory.models.router.model_source", Source)
    model = baseline.resolve(settings)
    assert seen == [("factory/coder", 2048)]  # the model is built at the baseline's cap
    assert model == BaselineModel(
        "chat", "scripted:x", 2048, "temperature 0.2, repeat_penalty 1.1, seed 0"
    )
    assert model.served_by == (
        "scripted:x at temperature 0.2, repeat_penalty 1.1, seed 0, up to 2048 tokens; "
        "single-call v2"
    )
    at_the_cap = baseline.settings_for({"DEVFACTORY_BASELINE_MAX_TOKENS": "32768"}, None)
    assert baseline.resolve(at_the_cap).max_tokens == 32_768 and seen[-1][1] == 32_768


@pytest.mark.parametrize("value", ["255", "32769"])
def test_a_baseline_cap_out_of_bounds_is_refused(value: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="baseline_max_tokens"):
        baseline.settings_for({"DEVFACTORY_BASELINE_MAX_TOKENS": value}, None)


# --- side by side ----------------------------------------------------------------------------


def fake_run(requirement_file: Path, *, out: Path, **_: Any) -> FactoryRun:
    return FactoryRun("FAILED", "qa-engineering BLOCKED", out, "r1", 30_000, 600.0)


def test_with_baseline_runs_both_and_puts_them_side_by_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat, docs = ScriptedChat(CODE), tmp_path / "quality.md"
    scripted(monkeypatch, chat, FakeExecutor(passed=2), docs)
    ran: list[str] = []

    def factory(requirement_file: Path, *, out: Path, **kw: Any) -> FactoryRun:
        ran.append(requirement_file.parent.name)
        return fake_run(requirement_file, out=out, **kw)

    monkeypatch.setattr(run, "run_factory", factory)
    out = tmp_path / "results"
    argv = ["--cases", "lib-textslug,web-todo", "--with-baseline", "--out", str(out)]
    assert run.main(argv) == 0
    assert ran == ["lib-textslug", "web-todo"] and len(chat.sent) == 2
    factory_rows = json.loads((out / "factory" / "results.json").read_text())
    baseline_rows = json.loads((out / "baseline" / "results.json").read_text())
    assert (factory_rows["meta"]["mode"], baseline_rows["meta"]["mode"]) == ("factory", "baseline")
    table = (out / "comparison.md").read_text()
    assert table.strip() in docs.read_text()
    assert "| `lib-textslug` | dev | marked | library | 0/" in table
    assert "**Dev total**" in table
    # resumed, nothing is run again, in either mode
    assert run.main([*argv, "--resume", "--no-docs"]) == 0
    assert ran == ["lib-textslug", "web-todo"] and len(chat.sent) == 2


def rows(split: str, *scores: tuple[str, int, int, int | None, float]) -> list[CaseResult]:
    return [
        CaseResult(
            case,
            "cli",
            "FAILED" if passed < total else "COMPLETED",
            Measured(acceptance_passed=passed, acceptance_total=total, acceptance_collected=total),
            tokens=tokens,
            factory_seconds=seconds,
            split=split,
        )
        for case, passed, total, tokens, seconds in scores
    ]


FACTORY_META = Meta("factory", "embedded", "lean", "abc1234", "2026-11-24", "sandbox", "make eval")
BASELINE_META = Meta(
    "baseline", "embedded", "single-call", "abc1234", "2026-11-24", "sandbox", "eval -b", "e:q"
)


def test_the_side_by_side_table_has_the_held_out_total_as_its_headline() -> None:
    factory = rows("dev", ("d-one", 4, 8, 30_000, 600.0), ("d-two", 0, 10, 20_000, 65.0))
    factory += rows("holdout", ("h-one", 3, 6, 10_000, 300.0), ("h-two", 1, 4, None, 0.0))
    baseline_rows = rows("dev", ("d-one", 8, 8, 500, 40.0), ("d-two", 0, 10, 400, 30.0))
    baseline_rows += rows("holdout", ("h-one", 6, 6, 300, 20.0))
    baseline_rows += [CaseResult("h-two", "cli", NOT_RUN, split="holdout")]
    lines = render_comparison(factory, FACTORY_META, baseline_rows, BASELINE_META).splitlines()
    assert lines[0].startswith("Factory: Model `embedded`, pipeline `lean`, commit `abc1234`")
    assert "Baseline: Single-call baseline, model `embedded` served by `e:q`" in lines[0]
    assert "command: `make eval`" in lines[0] and "command: `eval -b`" in lines[0]
    assert lines[2] == (
        "- **Held-out, 1 case: factory 3/6 acceptance tests (50%, 0 cases pass all), single-call "
        "baseline 6/6 (100%, 1 case passes all); ratio 0.50; per passed test, factory 3,333 "
        "tokens and 1m 40s, baseline 50 tokens and 3.3 s.**"
    )  # h-two is not compared: the baseline did not run it
    assert lines[3].startswith("- Dev, 2 cases: factory 4/18 acceptance tests (22%, 0 cases")
    assert lines[3].endswith("ratio 0.50; per passed test, factory 12,500 tokens and 2m 46s, "
                             "baseline 112 tokens and 8.8 s.")  # fmt: skip
    assert lines[4].startswith("- All, 3 cases: factory 7/24")
    assert lines[6].startswith("| Case | Split | Style | Kind | Factory | Baseline | Ratio |")
    body = lines[8:]
    assert body[0] == (
        "| `h-one` | holdout | – | cli | 3/6 | 6/6 | 0.50 | 10,000 | 300 | 5m 00s | 20.0 s "
        "| FAILED |"
    )
    assert body[1] == (
        "| `h-two` | holdout | – | cli | 1/4 | not run | – | – | – | 0.0 s | – | FAILED |"
    )
    assert body[3] == (
        "| `d-two` | dev | – | cli | 0/10 | 0/10 | – | 20,000 | 400 | 1m 05s | 30.0 s | FAILED |"
    )  # no ratio where the baseline passed nothing
    assert body[4] == (
        "| **Held-out total** |  |  |  | **3/6** | **6/6** | **0.50** | 10,000 | 300 | 5m 00s "
        "| 20.0 s |  |"
    )
    assert body[5].startswith("| **Dev total** |  |  |  | **4/18** | **8/18** | **0.50** | 50,")
    assert body[6].startswith("| **Total** |  |  |  | **7/24** | **14/24** | **0.50** |")


def test_the_side_by_side_table_totals_each_style_within_and_across_splits() -> None:
    def styled(split: str, style: str, case: str, passed: int, total: int) -> CaseResult:
        [row] = rows(split, (case, passed, total, 100, 1.0))
        return replace(row, style=style)

    factory = [
        styled("dev", "prose", "d-prose", 1, 10),
        styled("holdout", "prose", "h-prose", 2, 10),
        styled("holdout", "marked", "h-marked", 6, 8),
        styled("dev", "marked", "d-marked", 3, 8),
    ]
    baseline_rows = [
        styled("dev", "prose", "d-prose", 0, 10),
        styled("holdout", "prose", "h-prose", 1, 10),
        styled("holdout", "marked", "h-marked", 3, 8),
        styled("dev", "marked", "d-marked", 3, 8),
    ]
    lines = render_comparison(factory, FACTORY_META, baseline_rows, BASELINE_META).splitlines()
    summaries = [line for line in lines if line.startswith("- ")]
    assert [line.split(",")[0] for line in summaries] == [
        "- **Held-out",
        "- Held-out (marked)",
        "- Held-out (prose)",
        "- Dev",
        "- Dev (marked)",
        "- Dev (prose)",
        "- Marked (all splits)",
        "- Prose (all splits)",
        "- All",
    ]
    assert summaries[2] == (
        "- Held-out (prose), 1 case: factory 2/10 acceptance tests (20%, 0 cases pass all), "
        "single-call baseline 1/10 (10%, 0 cases pass all); ratio 2.00; per passed test, "
        "factory 50 tokens and 0.5 s, baseline 100 tokens and 1.0 s."
    )
    assert summaries[7].startswith("- Prose (all splits), 2 cases: factory 3/20")
    cases = [line.split(" | ")[0] for line in lines if line.startswith("| `")]
    assert cases == ["| `h-marked`", "| `h-prose`", "| `d-marked`", "| `d-prose`"]
    assert lines[-12].startswith("| `h-prose` | holdout | prose | cli | 2/10 | 1/10 | 2.00 |")
    assert lines[-1].startswith("| **Total** |  |  |  | **12/36** | **7/36** | **1.71** |")
    assert lines[-7].startswith("| **Held-out (prose) total** |  |  |  | **2/10** | **1/10** |")


def test_one_split_alone_has_no_all_line() -> None:
    factory = rows("holdout", ("h-one", 3, 6, 10, 3.0))
    table = render_comparison(
        factory, FACTORY_META, rows("holdout", ("h-one", 0, 6, 5, 1.0)), BASELINE_META
    )
    assert "**Held-out, 1 case:" in table
    assert "ratio –; per passed test, factory 3 tokens and 1.0 s, baseline –.**" in table
    assert "All, " not in table and "**Total**" not in table


def test_compare_renders_two_folders_into_the_docs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eval.report import write_results

    docs = tmp_path / "quality.md"
    docs.write_text(f"# Quality\n{BEGIN}\nold\n{END}\n")
    monkeypatch.setattr(run, "DOCS", docs)
    factory_dir, baseline_dir = tmp_path / "f", tmp_path / "b"
    old = rows("", ("lib-textslug", 1, 17, 20_000, 400.0))  # written before splits
    write_results(factory_dir, old, FACTORY_META)
    write_results(baseline_dir, rows("", ("lib-textslug", 9, 17, 700, 50.0)), BASELINE_META)
    assert run.main(["--compare", str(factory_dir), str(baseline_dir)]) == 0
    text = docs.read_text()
    assert "**Dev, 1 case: factory 1/17 acceptance tests" in text  # the split from the catalog
    assert "| `lib-textslug` | dev | marked | cli | 1/17 | 9/17 | 0.11 |" in text  # catalog too
    assert run.main(["--compare", str(baseline_dir), str(factory_dir), "--no-docs"]) == 2
    assert run.main(["--compare", str(factory_dir), str(tmp_path / "none"), "--no-docs"]) == 2


def test_the_factory_s_own_table_totals_each_split_when_it_spans_two() -> None:
    from eval.report import render_markdown

    results = rows("dev", ("d-one", 4, 8, 10, 1.0)) + rows("holdout", ("h-one", 1, 6, 10, 1.0))
    lines = render_markdown(results, FACTORY_META).splitlines()
    assert lines[-5:-1] == [
        "",
        "- Held-out: 1/6 tests (17%), 0 of 1 cases pass.",
        "- Dev: 4/8 tests (50%), 0 of 1 cases pass.",
        "",
    ]
    assert lines[-1].startswith("**Acceptance: 5/14 tests (36%)")
    assert "Held-out" not in render_markdown(results[:1], FACTORY_META)
