"""The confidence gate: decide whether a stage's TaskResult may pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from devfactory.checks.catalogue import CHECKS
from devfactory.contracts import Status, TaskResult
from devfactory.control.error_line import lead_with_error
from devfactory.teams.spec import TeamSpec


class Route(StrEnum):
    """Where the gate sends a stage next."""

    PASS = "pass"
    RETRY = "retry"
    CLARIFY = "clarify"
    BLOCK = "block"


@dataclass(frozen=True)
class Verdict:
    """The gate's decision and the problems behind it."""

    route: Route
    problems: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """Say why the stage did not pass, each problem's error line first.

        The reason is cut at 600 characters; a check's output ends with its error,
        so the error is moved to the front of its problem to survive the cut.
        """
        return "; ".join(lead_with_error(p) for p in self.problems)[:600]


def inspect(
    spec: TeamSpec,
    result: TaskResult,
    expected: Sequence[str] | None = None,
    threshold: float | None = None,
) -> list[str]:
    """List everything that keeps ``result`` from passing ``spec``'s gate.

    ``expected`` are the paths the team had to write this stage (its documents
    and the files the build plan gives it); by default its documents.
    ``threshold`` is the confidence it needs: an admin's override set at run
    time (``Context.threshold``), else the team's own.
    """
    expected = spec.deliverable_paths if expected is None else tuple(expected)
    needed = spec.confidence_threshold if threshold is None else threshold
    problems: list[str] = []
    if result.status is Status.NEEDS_CLARIFICATION and result.clarification_needed:
        ask = result.clarification_needed
        problems.append(
            f"you asked {ask.target_team}: {ask.question!r}; no further attempt is left to "
            "wait for an answer, so decide it yourself and list it under assumptions_made"
        )
    elif result.status is not Status.COMPLETE:
        problems.append(f"status is {result.status.value}: {'; '.join(result.blockers)}")
    if result.confidence < needed:
        problems.append(
            f"confidence {result.confidence:.2f} is below the team's threshold "
            f"{needed:.2f}: improve the deliverables until every "
            "acceptance criterion holds, then report your honest confidence"
        )
    produced = {a.path for a in result.artifacts}
    missing = [p for p in expected if p not in produced]
    if missing:
        problems.append(f"missing deliverables: {', '.join(missing)}")
    stray = sorted(produced - set(expected))
    if stray:
        problems.append(f"artifacts outside your deliverables: {', '.join(stray)}")
    problems.extend(CHECKS.run_artifact_checks(spec.checks, result.artifacts))
    return problems


def assess(
    spec: TeamSpec,
    result: TaskResult,
    *,
    attempt: int,
    max_attempts: int,
    extra_problems: Sequence[str] = (),
    expected: Sequence[str] | None = None,
    threshold: float | None = None,
) -> Verdict:
    """Decide the route for ``result`` on its ``attempt``-th try (1-based).

    ``threshold``: the confidence needed, when not the team's own (``inspect``).

    ``extra_problems`` are found before the report (a draft that was cut or
    empty, a plan refused, the sandbox's failures on the team's files) and
    count like any other: no confidence outweighs them.

    Every shortfall, a self-declared BLOCKED included, gets the bounded retry
    with the problems as feedback (a team often "blocks" on a question it can
    settle with a stated assumption); at the cap the stage is BLOCKED. A
    question for another team goes to the clarification broker while an
    attempt is left to use its answer.
    """
    problems = [*extra_problems, *inspect(spec, result, expected, threshold)]
    if not problems:
        return Verdict(Route.PASS)
    asking = result.status is Status.NEEDS_CLARIFICATION and result.clarification_needed
    if asking and attempt < max_attempts:
        return Verdict(Route.CLARIFY, [p for p in problems if not p.startswith("you asked ")])
    if attempt >= max_attempts:
        return Verdict(
            Route.BLOCK, [f"gate failed {attempt} of {max_attempts} attempts", *problems]
        )
    return Verdict(Route.RETRY, problems)


def settle_echoed_block(result: TaskResult) -> tuple[TaskResult, str]:
    """Read a BLOCKED report whose every blocker only repeats the request: the gate's policy.

    The report was asked again (``structured.echoed_blockers``) and echoed
    again. A line of the request is no reason to stop, so the report is read
    as COMPLETE with no blockers, and the gate's other checks (the files', the
    confidence) decide as they do for any report. A 0.5B model listed Solution
    Architecture's own acceptance criteria as blockers, at confidence 0.95, in
    4 of 12 evaluation runs. Returns the result as read and the line that says
    so (recorded with the reply's repairs).
    """
    quoted = "; ".join(repr(b[:60]) for b in result.blockers[:3])
    read = result.model_copy(update={"status": Status.COMPLETE, "blockers": []})
    return read, f"status BLOCKED read as COMPLETE: every blocker repeated the request ({quoted})"
