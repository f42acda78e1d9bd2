"""QA Engineering's tests judged by the bugs they catch: a mutation score (cosmic-ray).

Tests that pass tell nothing when they would pass whatever the code did. Once the
software is built, cosmic-ray's operators mutate the planned code one change at a
time (``a + b`` to ``a - b``, ``>`` to ``>=``, ``True`` to ``False``, a number
changed, ``and`` to ``or``...), a bounded, seeded draw of them spread over the code
modules (``drivers/mutation_run.py``), and the tests run on each mutant in the
sandbox. A mutant the tests fail on is caught. Tests that catch none of them, or
fewer than ``mutation_min_score`` of them, go back to the owner of the tests. The
tests must pass on the code as it is first; when the tests check found them failing,
nothing is run or recorded here (that check says why), and when the first run here
fails, the record says the score was not judged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devfactory.checks.tools import tool_frame as frame


@dataclass(frozen=True)
class MutationCheck:
    """The tests catch mutants of the planned code (cosmic-ray), not only pass on it."""

    name = "mutation_score"
    tools = (frame.Tool("cosmic-ray"),)
    promise = (
        "Once the code is built, cosmic-ray mutates it one small change at a time (an operator, "
        "a comparison, a constant, a boolean), a bounded draw of mutants spread over the code "
        "modules, and your tests run on each: tests that catch none of the mutants (or fewer "
        "than the `mutation_min_score` setting asks) come back to you. Assert on what the code "
        "returns or prints for given inputs, not only that it runs."
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at the Python test files (the plan's tests, once the run says which)."""
        name = path.rsplit("/", 1)[-1]
        return not code and name.endswith(".py") and name.startswith("test")

    def run(self, context: frame.ToolContext, paths: Sequence[str]) -> frame.ToolReport:
        """Run the baseline and the drawn mutants in one run in the sandbox."""
        tests = [p for p in paths if not context.tests or p in context.tests]
        modules = [p for p in context.code if p.endswith(".py") and p in context.files]
        label = self.tools[0].label() + ", pytest in the project's environment"
        if not tests or not modules:
            said = "no test file" if not tests else "no code module"
            return frame.not_run(self.name, f"not run: {said}")
        ran = next((c for c in context.code_checks if c.name == "tests"), None)
        if ran is not None and not ran.ok:
            return frame.ToolReport([])  # the tests fail as they are: their own check says so, once
        settings = context.settings
        most = settings.checks.mutation_mutants_max if settings is not None else 12
        run_s = settings.checks.mutation_run_s if settings is not None else 30.0
        least = settings.checks.mutation_min_score if settings is not None else 0.0
        env = context.sandbox.environment([*context.dependencies, *context.packages])
        job = {
            "python": str(env.path / "bin" / "python"),
            "tests": tests,
            "modules": modules,
            "mutants": most,
            "run_s": run_s,
            "budget_s": max(1.0, context.sandbox.limits.wall_seconds - 10.0),
            "seed": 0,
        }
        command = (
            f"cosmic-ray: up to {most} mutants of {', '.join(modules)}; pytest -x {' '.join(tests)}"
        )
        result, report = frame.reported(
            self.name,
            "mutation_run.py",
            context,
            [json.dumps(job)],
            "baseline",
            lists=("mutants",),
            beside=env,
        )
        if report is None:
            said = "the mutants did not run"
            return frame.not_reported(self.name, command, result, label, tests[0], said)
        baseline, mutants = report["baseline"], report["mutants"]
        if not baseline.get("ok"):
            said = "not judged: the tests do not pass on the code as it is"
            quiet = frame.ran(self.name, command, result, label, summary=said)
            return frame.ToolReport([quiet], [])
        judged = [m for m in mutants if isinstance(m, dict) and m.get("outcome") != "incompetent"]
        caught = [m for m in judged if m.get("outcome") == "killed"]
        missed = [m for m in judged if m.get("outcome") == "survived"]
        score = len(caught) / len(judged) if judged else 1.0
        measured = report.get("coverage")
        covered: dict[str, Any] = measured if isinstance(measured, dict) else {}
        percent = covered.get("percent")
        summary = (
            f"{len(caught)} of {len(judged)} mutants caught ({score:.0%}); "
            f"{report.get('places', 0)} places could be mutated; "
            + (f"line coverage {percent}%" if percent is not None else "coverage not measured")
        )
        findings = []
        least_covered = settings.checks.coverage_min if settings is not None else 0.0
        if percent is not None and percent < least_covered:
            shares: dict[str, float] = covered.get("modules") or {}
            low = ", ".join(f"{m} {p}%" for m, p in sorted(shares.items(), key=lambda i: i[1])[:3])
            findings.append(
                frame.Finding(
                    tests[0],
                    f"the tests run {percent}% of the code's lines, below coverage_min "
                    f"({least_covered}%); least run: {low}",
                )
            )
        if judged and (not caught or score < least):
            examples = "; ".join(
                f"{m.get('module')} line {m.get('line')}: {m.get('diff') or m.get('operator')}"
                for m in missed[:3]
            )
            how = "none" if not caught else f"only {len(caught)} ({score:.0%}, below {least:.0%})"
            findings.append(
                frame.Finding(
                    tests[0],
                    f"the tests catch {how} of {len(judged)} mutants of the code: they still pass "
                    f"with {examples}. Assert on what the code returns or prints for given inputs",
                )
            )
        run = frame.ran(
            self.name,
            command,
            result,
            label,
            passed=len(caught),
            failed=len(missed) if findings else 0,  # survivors alone are normal: the summary says
            summary=summary,
        )
        return frame.ToolReport([run], findings)
