"""Write a run's output folder: one file per artifact, ``run.json`` and ``SUMMARY.md``.

What ``SUMMARY.md`` says is ``summary.py``'s; here it is written, like every file, without
following a link (reading them is ``runfiles``', the one way in). A run that delivers into a
repository adds its branch, what changed against the base and how the repository's own tests
fared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from devfactory.contracts import CheckRun, Delivery, FinalChecks, StageOutcome, StageRecord
from devfactory.control.budget import Spend
from devfactory.factory.findings import not_run_line, tallies
from devfactory.factory.summary import folder_path, render_summary
from devfactory.redact import redact, redact_data
from devfactory.repos.repository import RepositoryError, changed_files, delivery_of
from devfactory.repos.workspace import GIT_TIMEOUT_S
from devfactory.runfiles import is_regular_file, write_file
from devfactory.shown import shown, unhosted

SUMMARY_COMMIT = "devfactory: run summary"
SUBJECT_CHARS = 72  # a commit subject's length, as git tools show it


def stage_files(out_dir: Path, record: StageRecord) -> list[tuple[Path, str]]:
    """Say where each of a stage's artifacts belongs, with its content.

    A passed stage publishes its deliverables at their paths. A BLOCKED stage's
    last drafts (the build loop's best version of a module) are written at their
    paths too: the best so far is always delivered, and the stage record,
    ``run.json`` and ``SUMMARY.md`` say plainly that it was not accepted. (A
    refused Python file that does not even parse lies beside its path:
    ``summary.folder_path``.)
    """
    return [(out_dir / relative, content) for relative, content in _stage_files(record)]


def _stage_files(record: StageRecord) -> list[tuple[str, str]]:
    if record.result is None or record.outcome is StageOutcome.SKIPPED:
        return []
    return [(folder_path(record, a), a.content) for a in record.result.artifacts]


def write_stage_artifacts(out_dir: Path, record: StageRecord) -> list[str]:
    """Write a stage's files (idempotent: same record, same files); return what was refused.

    The files are the team's work as written: never redacted (a model is sent
    no secret, so it cannot write one) and never written through a link. A file
    that cannot be written is reported and the others are still written.
    """
    return _write_all(out_dir, _stage_files(record))


def write_draft(out_dir: Path, relative: str, content: str) -> list[str]:
    """Write the build loop's best version so far of one file; return what was refused."""
    return _write_all(out_dir, [(relative, content)])


def published_paths(out_dir: Path, record: StageRecord) -> list[str]:
    """Return a stage's files as they stand in the folder: a PASSED stage's, or a BLOCKED one's.

    Only regular files reached without following a link count, so a file whose
    write was refused (a planted link) is never taken for the team's work.
    """
    if record.outcome not in (StageOutcome.PASSED, StageOutcome.BLOCKED) or record.result is None:
        return []
    paths = [folder_path(record, a) for a in record.result.artifacts]
    return [path for path in paths if is_regular_file(out_dir, path)]


def check_line(check: CheckRun, root: Path | None = None) -> str:
    """Describe one sandbox check in a line.

    For example ``tests: pytest -q → exit 1, 3 passed 1 failed (2.1 s)``, or,
    for a check that never ran, ``run: not run (code not run: run_code is off)``.
    With ``root`` (the run's folder), the command names no path of the machine
    (``shown.unhosted``): the run's files relative to it, any other by its last name.
    """
    if not check.ran:
        return not_run_line(check)
    command = " ".join(check.command.split())
    if root is not None:
        command = unhosted(command, root)
    command = command if len(command) <= 80 else command[:79] + "…"
    ended = "did not exit" if check.exit_code is None else f"exit {check.exit_code}"
    counts = tallies(check)
    if check.exit_code is None and check.summary:
        counts.append(check.summary)
    where = "" if check.sandboxed else ", not sandboxed"
    outcome = ", ".join([ended, " ".join(counts)] if counts else [ended])
    tool = f" [{check.tool}]" if check.tool else ""
    return f"{check.name}{tool}: {command} → {outcome} ({check.seconds:.1f} s{where})"


def check_mark(check: CheckRun) -> str:
    """Mark a check for a list: ✓ passed, ✗ failed, – not run (never shown as passed)."""
    return "–" if not check.ran else "✓" if check.ok else "✗"


def commit_message(record: StageRecord, team_name: str, root: Path | None = None) -> str:
    """Return a stage's commit message: what it did, then how sure and how checked.

    The subject is the first line of the team's reasoning (clipped), or, for a
    BLOCKED stage, "NOT ACCEPTED" and why; the body says confidence, attempts,
    outcome, model and one line per sandbox check.
    Redacted like everything else the run records, and without control
    characters (someone will read it with ``git log`` in a terminal). With
    ``root`` (the run's folder, which may be a branch of someone's repository),
    nothing of the machine is in it: paths relative to the run, any other by
    its last name (``shown.unhosted``).
    """
    if root is not None:
        record = record.model_copy(
            update={
                "reason": unhosted(record.reason, root),
                "result": record.result.model_copy(
                    update={"reasoning": unhosted(record.result.reasoning, root)}
                )
                if record.result
                else None,
            }
        )
    reasoning = shown(record.result.reasoning if record.result else record.reason)
    first = next((line.strip() for line in reasoning.splitlines() if line.strip()), "")
    subject = f"{team_name}: {first or record.outcome.value.lower()}"
    if record.outcome is StageOutcome.BLOCKED:
        why = next((ln.strip() for ln in shown(record.reason).splitlines() if ln.strip()), "")
        subject = f"{team_name}: NOT ACCEPTED, best version kept: {why or 'blocked'}"
    if len(subject) > SUBJECT_CHARS:
        subject = subject[: SUBJECT_CHARS - 1] + "…"
    body = [
        f"confidence: {record.result.confidence:.2f}" if record.result else "confidence: -",
        f"attempts: {record.attempts}",
        f"outcome: {record.outcome.value}",
        f"model: {record.model or '-'}",
    ]
    body += [f"{check_mark(c)} {check_line(c, root)}" for c in record.checks]
    return shown(redact("\n".join([subject, "", *body]))) + "\n"


def _write_all(out_dir: Path, files: Sequence[tuple[str, str]]) -> list[str]:
    problems = []
    for relative, content in files:
        try:
            write_file(out_dir, relative, content)
        except OSError as exc:
            problems.append(f"{relative}: {exc}" if relative not in str(exc) else str(exc))
    return problems


def write_run_files(
    out_dir: Path,
    *,
    run_id: str,
    requirement: str,
    pipeline: str,
    status: str,
    reason: str,
    records: Sequence[StageRecord],
    spend: Mapping[str, Spend],
    final_checks: FinalChecks | None = None,
    instructions: Mapping[str, str] | None = None,
) -> list[str]:
    """Write every stage's files, ``run.json`` and ``SUMMARY.md``; return what was refused.

    ``spend`` is the run's ledger summed by team (``graph.oversight.metering.spend_by_team``):
    the one count of its calls and tokens, which ``devfactory usage`` and the
    API show too. ``final_checks`` are those of the built software (checks,
    score, each acceptance criterion, problems), when the run reached them;
    ``run.json`` shows them as ``build``. ``instructions`` holds each team's
    instruction files, so that a claim copied from them is not listed. What
    the run records (not the files the teams wrote) is redacted of secrets.
    """
    problems = [p for record in records for p in write_stage_artifacts(out_dir, record)]
    doc = {
        "run_id": run_id,
        "requirement": redact(requirement),
        "pipeline": pipeline,
        "status": status,
        "reason": redact(reason),
        "usage": _usage(Spend.total(spend.values())),
        "usage_by_team": {team: _usage(s) for team, s in spend.items()},
        "seconds": round(sum(r.seconds for r in records), 3),
        "stages": [_recorded(r) for r in records],
        "build": redact_data(final_checks.model_dump(mode="json") if final_checks else {}),
    }
    delivery = delivery_of(out_dir, run_id)
    if delivery is not None:
        doc["repository"] = delivery_doc(out_dir, delivery, final_checks)
    summary = redact(render_summary(doc, records, instructions=instructions))
    return problems + _write_all(
        out_dir, [("run.json", json.dumps(doc, indent=2)), ("SUMMARY.md", summary)]
    )


def delivery_doc(
    out_dir: Path, delivery: Delivery, final_checks: FinalChecks | None
) -> dict[str, Any]:
    """Describe a run's branch for ``run.json``: where, from what, what changed, the old tests."""
    try:
        changed = changed_files(out_dir, delivery, timeout=GIT_TIMEOUT_S)
    except RepositoryError as exc:
        changed = [f"(not listed: {exc})"]
    ran = [c for c in (final_checks.checks if final_checks else []) if c.name == "existing_tests"]
    old_tests = check_line(ran[-1]) if ran else "not run yet (they run in the final checks)"
    return {
        **delivery.model_dump(),
        "changed": changed,
        "old_tests": f"{check_mark(ran[-1])} {old_tests}" if ran else old_tests,
    }


def _usage(spend: Spend) -> dict[str, Any]:
    """Describe a spend for ``run.json``: calls, tokens in, out and in all, cost, model time."""
    return {**spend.model_dump(), "total_tokens": spend.tokens}


def _recorded(record: StageRecord) -> dict[str, Any]:
    """Return a stage record for ``run.json``: redacted, but its files as the team wrote them."""
    doc: dict[str, Any] = redact_data(record.model_dump(mode="json", exclude={"result"}))
    if record.result is not None:
        result = record.result.model_dump(mode="json", exclude={"artifacts"})
        doc["result"] = {
            **redact_data(result),
            "artifacts": [a.model_dump(mode="json") for a in record.result.artifacts],
        }
    else:
        doc["result"] = None
    return doc
