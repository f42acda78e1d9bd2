"""How many of the model's behaviour tests are kept and right? ``python -m eval.proposed_tests``.

The build loop asks the model for small tests of each function it writes
(``graph/stage/build_loop/model_tests.tests_request``) and chooses the code they agree with;
a test is only worth its place if it is right. For each unit of each chosen case
that the loop would ask tests of (``kinds.behaviour_tested``), this asks once as
a run does, under the run's settings (``--set behaviour_test_values=json`` for
the other form), keeps what ``software/behaviour.checked`` keeps, and calls the
case's reference solution on every kept test's arguments (a unit the reference
does not define, such as a filter's ``transform``, is not asked) (the sandbox's own
calls driver, run locally: the reference is the evaluation's code, not a
model's) to count the right ones. Results go to ``--out`` as ``tests.json`` and
``tests.md``.

Exit codes: 0 when every unit was asked (whatever the answers), 2 on usage
errors, 4 when no model can be resolved.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval import probe
from eval.catalog import Case
from eval.probe import EXIT_OK

DRIVER = Path(__file__).resolve().parent.parent / "devfactory" / "sandbox" / "drivers" / "calls.py"


@dataclass
class Asked:
    """One unit's tests: asked, kept by the checks, right on the reference."""

    case: str
    unit: str
    proposed: int = 0
    kept: int = 0
    right: int = 0
    seconds: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)  # "call -> expected, reference gives outcome"


def outcomes(case: Case, unit: str, arguments: list[str]) -> list[str]:
    """Return what the case's reference gives on each argument tuple (the calls driver's form)."""
    with tempfile.TemporaryDirectory(prefix="eval-calls-") as scratch:
        report = Path(scratch) / "report.json"
        done = subprocess.run(  # noqa: S603 - our driver, on the evaluation's own reference
            [sys.executable, "-I", "-B", str(DRIVER), str(case.folder / "reference"),
             str(report), case.module, unit, json.dumps(arguments)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0 or not report.is_file():
            return []
        found = json.loads(report.read_text(encoding="utf-8")).get("outcomes", [])
    return [str(o) for o in found] if isinstance(found, list) else []


def reference_functions(case: Case) -> set[str]:
    """Return the top-level functions of the case's reference module."""
    path = case.folder / "reference" / f"{case.module}.py"
    if not path.is_file():
        path = case.folder / "reference" / case.module / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def ask_case(case: Case, settings: Any, source: Any) -> list[Asked]:
    """Ask for tests of every unit of ``case`` the build loop asks tests of; judge them."""
    from devfactory.graph.planning.reading import read_facts
    from devfactory.graph.stage.build_loop.model_tests import tests_request
    from devfactory.models.io import ask_structured
    from devfactory.software.behaviour import ProposedTest, ProposedValueTest, checked, passes
    from devfactory.software.kinds import behaviour_tested, comparison, skeleton

    requirement = (case.folder / "requirement.md").read_text(encoding="utf-8")
    facts = read_facts(requirement, settings, lambda: source).facts.facts
    made = skeleton(facts, "")
    if made is None:
        return []
    resolved = source.resolve("factory/coder")
    defined = reference_functions(case)
    rows: list[Asked] = []
    for unit in made.units:
        if unit.name not in defined or not behaviour_tested(facts, unit):
            continue
        started = time.perf_counter()
        request = tests_request(requirement, facts, made.source, unit, settings, "Backend")
        answer = ask_structured(
            resolved.structured(request.schema),
            request.messages,
            request.form,
            max_parse_retries=settings.generation.max_parse_retries,
            max_model_errors=settings.generation.max_model_errors,
        )
        proposed: list[ProposedTest | ProposedValueTest] = (
            list(answer.value.tests) if answer.value is not None else []
        )
        found = checked(
            proposed, unit=unit.name, requirement=requirement, takes=request.takes,
            limits=request.limits, said=request.said, hints=request.hints,
        )  # fmt: skip
        row = Asked(case.id, unit.name, len(proposed), len(found.tests))
        row.dropped = dict(found.dropped)
        got = outcomes(case, unit.name, [t.arguments for t in found.tests]) if found.tests else []
        compared = comparison(facts, unit.name)
        written = compared.written if compared is not None else None
        for test, outcome in zip(found.tests, got, strict=False):
            if passes(outcome, test, written):
                row.right += 1
            else:
                expected = f"!{test.raises}" if test.raises else test.expected
                row.wrong.append(f"{unit.name}{test.arguments} -> {expected}, reference {outcome}")
        row.seconds = round(time.perf_counter() - started, 1)
        rows.append(row)
    return rows


def render(rows: Sequence[Asked], title: str) -> str:
    """Render the rows and their totals as markdown."""
    total = [sum(getattr(r, k) for r in rows) for k in ("proposed", "kept", "right")]
    lines = [
        f"# {title}",
        "",
        f"**{len(rows)} units: {total[0]} proposed, {total[1]} kept, "
        f"{total[2]} right on the reference.**",
        "",
        "| case | unit | proposed | kept | right | s | dropped |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        dropped = ", ".join(f"{n} {why}" for why, n in sorted(r.dropped.items())) or "-"
        lines.append(
            f"| {r.case} | {r.unit} | {r.proposed} | {r.kept} | {r.right} | {r.seconds:g} "
            f"| {dropped} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    return probe.parser("python -m eval.proposed_tests", __doc__, split="dev").parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Ask for every chosen unit's tests; write ``tests.json`` and ``tests.md``."""
    args = parse_args(argv)
    run = probe.start(args, "eval.proposed_tests", "tests", "factory/coder")
    if isinstance(run, int):
        return run
    rows: list[Asked] = []
    for case in run.cases:
        for row in ask_case(case, run.settings, run.source):
            rows.append(row)
            print(f"{row.case} {row.unit}: {row.proposed} proposed, {row.kept} kept, "
                  f"{row.right} right ({row.seconds:g} s)", flush=True)  # fmt: skip
        run.keep("tests", rows)
    title = (
        f"Behaviour tests: {run.label}, values as {run.settings.generation.behaviour_test_values}"
    )
    (run.out / "tests.md").write_text(render(rows, title), encoding="utf-8")
    print(f"eval.proposed_tests: {run.out / 'tests.md'}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
