"""Benchmark what each model call sees of a long requirement (a ten-page spec).

It runs the mvp pipeline on a generated spec of about ten pages with the
scripted model of the tests (no inference: the prompts are what is measured)
twice: with the defaults (``requirement_tokens`` 1,200 of ``context_tokens``
2,500: each call sees the spec's overview and the sections that share the most
with its work) and with both lifted (each call carries the whole spec, as every
call did before the limit, when the context budget allowed it). For each team
call it reports the prompt's tokens (four characters a token), how many of the
spec's sections about the tool it saw, and whether upstream work reached it.

Usage: python -m bench.long_spec_bench [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

TOPICS = [
    ("Counting rules", "count_words splits on whitespace; words are maximal runs of non-blank"),
    ("Output formats", "the --json option prints one object; plain output is one line per file"),
    ("Errors and exit codes", "an unreadable file prints wordcount: PATH: REASON and exits 1"),
    ("Encodings", "files are read as UTF-8; undecodable bytes are replaced, not fatal"),
    ("Large inputs", "files are streamed line by line so memory stays flat"),
    ("Standard input", "a dash reads standard input once, counted as the file named -"),
    ("Totals", "with two or more files a final total line sums every column"),
]
FILLER = [
    "Billing and invoicing", "Office hours", "Travel policy", "Holiday calendar",
    "Procurement", "Brand guidelines", "Meeting etiquette", "Expense claims",
    "Hiring process", "Onboarding", "Facilities", "Security badges", "Parking",
    "Catering", "Training budget", "Performance reviews", "Remote work", "Equipment",
    "Insurance", "Pensions", "Volunteering", "Sustainability", "Press contacts",
]  # fmt: skip


def spec() -> str:
    """Return a requirement of about ten pages: the tool's sections among many others."""
    overview = (
        "# wordcount\nA command-line tool run as `python -m wordcount FILE... [--lines] "
        "[--json]` that counts words; the library function count_words(text) returns the "
        "number of words."
    )
    parts = [overview]
    for n, title in enumerate(FILLER):  # the tool's sections spread through the others
        text = f"The {title.lower()} of the organisation are reviewed every quarter by a board. "
        parts.append(f"## {title}\n" + text * 12)
        if n % 3 == 2 and n // 3 < len(TOPICS):
            topic, rule = TOPICS[n // 3]
            parts.append(f"## {topic}\n" + f"{rule.capitalize()}. " * 14)
    return "\n\n".join(parts)


def measure(requirement_tokens: int) -> dict[str, dict[str, int]]:
    """Run mvp on the spec; per team call: prompt tokens, and the tool's sections it saw."""
    from devfactory.memory.packing import approx_tokens
    from devfactory.settings import Settings
    from tests.fakes import ScriptedModels, always_good, run_graph
    from tests.unit.test_build_plan import cli_plan

    def script(call: Any) -> str:
        if call.kind == "draft" and call.path == "architecture/plan.json":
            return json.dumps(cli_plan())
        return always_good(call)

    models = ScriptedModels(script)
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            data_dir=Path(home), ollama_host="http://127.0.0.1:9", probe_timeout_s=0.2,
            review_required=False, max_human_retries=0, run_code=False,
            requirement_tokens=requirement_tokens,
            context_tokens=200_000 if requirement_tokens > 100_000 else 2500,
        )  # fmt: skip
        state = run_graph("mvp", models, settings, spec())
    assert state["outcome"]["status"] == "COMPLETED", state["outcome"]
    seen: dict[str, dict[str, int]] = defaultdict(dict)
    for call in models.chat.calls:
        if call.kind in ("draft", "report"):
            key = f"{call.kind} {call.path}" if call.kind == "draft" else f"report {call.team}"
            seen[key] = {
                "tokens": approx_tokens(call.prompt),
                "tool_sections": sum(f"## {t}\n" in call.prompt for t, _ in TOPICS),
                "other_sections": sum(f"## {t}\n" in call.prompt for t in FILLER),
                "upstream": int("From " in call.prompt),
            }
    return dict(seen)


def main() -> None:
    """Measure with and without the limit; print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/long_spec.json"))
    args = parser.parse_args()
    from devfactory.memory.packing import approx_tokens

    limited, whole = measure(1200), measure(200_000)
    rows = {k: {"excerpt": limited[k], "whole": whole.get(k, {})} for k in limited}
    result = {"spec_tokens": approx_tokens(spec()), "tool_sections": len(TOPICS), "calls": rows}
    print(f"spec: {result['spec_tokens']:,} tokens (approx.), {len(TOPICS)} sections on the tool")
    print(f"{len(FILLER)} other sections; columns: tokens, tool sections, other sections seen")
    print(f"{'call':34s} {'excerpt':>22s}   {'whole spec':>22s}")
    for key, row in rows.items():
        a, b = row["excerpt"], row["whole"]
        print(
            f"{key:34s} {a['tokens']:>8,} {a['tool_sections']:>5} {a['other_sections']:>6}   "
            f"{b['tokens']:>10,} {b['tool_sections']:>5} {b['other_sections']:>6}"
        )
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
