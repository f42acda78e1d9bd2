"""Each team's work across an evaluation's runs: its checks, what they found, its time and tokens.

Usage: ``python -m eval.teams OUT [--out FILE]``, where OUT is an ``eval.run`` output
folder (a folder per case, each with the run's ``run/run.json``). It writes a Markdown
report (to FILE, else stdout): a table a team (stages run and passed, attempts, model
seconds, tokens, the checks that ran and passed, the findings the gate sent back by
check) and a table a check of the final checks (ran, passed, findings, by the team the
findings went to), then each case's final status and the teams its final checks sent
work back to, then each mechanical repair of model output (``repairs/repair.py``) with
how often its note is in the stages' records (their last attempts, and apart the
attempts before them; a note names its repair, ``[quotes]``), in how many runs and for
which teams, every registered repair listed, those that never fired too. It reads what
the runs recorded; it runs nothing.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devfactory.repairs.repair import NAMES
from devfactory.runfiles import read_file

MAX_RUN_JSON = 64 << 20
"""The largest ``run.json`` read (a run's record; one past it is left out)."""
_CHECK = re.compile(r"(?:^|\s)[^\s\[]+ \[([a-z_]+)\]:")  # "path [check]: text", as gates word them
_REPAIR = re.compile(r" \[([a-z][a-z-]*)\](?: \((\d+) times\))?$")  # "what it did [name] (2 times)"


@dataclass
class TeamTotals:
    """One team's work summed over the runs."""

    stages: int = 0
    passed: int = 0
    attempts: int = 0
    seconds: float = 0.0
    tokens: int = 0
    checks_ran: int = 0
    checks_passed: int = 0
    findings: Counter[str] = field(default_factory=Counter)


@dataclass
class CheckTotals:
    """One final check summed over the runs."""

    ran: int = 0
    passed: int = 0
    findings: Counter[str] = field(default_factory=Counter)  # by the team they went to


def _ok(check: dict[str, Any]) -> bool:
    return bool(
        check.get("ran", True)
        and check.get("exit_code") == 0
        and not check.get("failed")
        and not check.get("errors")
    )


def runs_of(out: Path) -> dict[str, dict[str, Any]]:
    """Return each case's recorded run (``run/run.json``), by case."""
    found = {}
    for case in sorted(out.iterdir()):
        try:  # through runfiles: a run's folder is the run's, links and all
            found[case.name] = json.loads(read_file(case, "run/run.json", MAX_RUN_JSON))
        except (OSError, ValueError):
            continue
    return found


def totals(
    runs: dict[str, dict[str, Any]],
) -> tuple[dict[str, TeamTotals], dict[str, CheckTotals]]:
    """Sum each team's stages and each final check over the runs."""
    teams: dict[str, TeamTotals] = defaultdict(TeamTotals)
    checks: dict[str, CheckTotals] = defaultdict(CheckTotals)
    for run in runs.values():
        for stage in run.get("stages") or []:
            team = teams[str(stage.get("team"))]
            team.stages += 1
            team.passed += stage.get("outcome") == "PASSED"
            team.attempts += int(stage.get("attempts") or 0)
            team.seconds += float(stage.get("seconds") or 0.0)
            usage = stage.get("usage") or {}
            team.tokens += int(usage.get("input_tokens") or 0) + int(
                usage.get("output_tokens") or 0
            )
            for check in stage.get("checks") or []:
                if check.get("ran", True) and check.get("command"):
                    team.checks_ran += 1
                    team.checks_passed += _ok(check)
            for line in stage.get("gate_feedback") or []:
                team.findings.update(set(_CHECK.findall(str(line))))
        built = run.get("build") or {}
        for check in built.get("checks") or []:
            if check.get("ran", True) and check.get("command"):
                totals_of = checks[str(check.get("name"))]
                totals_of.ran += 1
                totals_of.passed += _ok(check)
        for owner, problems in (built.get("owners") or {}).items():
            for line in problems:
                for name in set(_CHECK.findall(str(line))):
                    checks[name].findings[owner] += 1
    return dict(teams), dict(checks)


@dataclass
class RepairTotals:
    """One repair's notes summed over the runs."""

    notes: int = 0  # in the stages' last attempts
    earlier: int = 0  # in the attempts before them (``earlier_repairs``)
    runs: set[str] = field(default_factory=set)
    teams: Counter[str] = field(default_factory=Counter)


def repairs_fired(runs: dict[str, dict[str, Any]]) -> dict[str, RepairTotals]:
    """Count each repair's notes in the stages' records, every repair listed (``NAMES``).

    A stage's last attempt and its earlier ones are counted apart: a repair whose
    notes are only in earlier attempts fired, but its attempt was not the one kept.
    """
    fired = {name: RepairTotals() for name in NAMES}
    for case, run in runs.items():
        for stage in run.get("stages") or []:
            for key in ("repairs", "earlier_repairs"):
                for note in stage.get(key) or []:
                    found = _REPAIR.search(str(note))
                    if found is None or found[1] not in fired:
                        continue
                    times = int(found[2] or 1)
                    totals_of = fired[found[1]]
                    if key == "repairs":
                        totals_of.notes += times
                    else:
                        totals_of.earlier += times
                    totals_of.runs.add(case)
                    totals_of.teams[str(stage.get("team"))] += times
    return fired


def report(runs: dict[str, dict[str, Any]]) -> str:
    """Return the Markdown report of ``runs``."""
    teams, checks = totals(runs)
    lines = [
        f"# Teams and checks over {len(runs)} run(s)",
        "",
        "| Team | Stages (passed) | Attempts | Model s | Tokens | Checks ran (passed) "
        "| Findings sent back, by check |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, team in sorted(teams.items()):
        found = ", ".join(f"{c} {n}" for c, n in team.findings.most_common()) or "-"
        lines.append(
            f"| {name} | {team.stages} ({team.passed}) | {team.attempts} | {team.seconds:.0f} "
            f"| {team.tokens:,} | {team.checks_ran} ({team.checks_passed}) | {found} |"
        )
    lines += [
        "",
        "| Final check | Ran | Passed | Findings, by the team they went to |",
        "|---|---|---|---|",
    ]
    for name, check in sorted(checks.items()):
        found = ", ".join(f"{t} {n}" for t, n in check.findings.most_common()) or "-"
        lines.append(f"| {name} | {check.ran} | {check.passed} | {found} |")
    lines += ["", "| Case | Status | Final checks sent back to |", "|---|---|---|"]
    for case, run in runs.items():
        owners = ", ".join(sorted((run.get("build") or {}).get("owners") or {})) or "-"
        lines.append(f"| {case} | {run.get('status')} | {owners} |")
    lines += [
        "",
        "| Repair | Notes (last attempts) | Notes (earlier attempts) | Runs | Teams |",
        "|---|---|---|---|---|",
    ]
    for name, fired in repairs_fired(runs).items():
        by = ", ".join(f"{t} {n}" for t, n in fired.teams.most_common()) or "-"
        lines.append(f"| {name} | {fired.notes} | {fired.earlier} | {len(fired.runs)} | {by} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the report of an evaluation's output folder."""
    parser = argparse.ArgumentParser(prog="python -m eval.teams", description=__doc__)
    parser.add_argument("out", type=Path, help="an eval.run output folder")
    parser.add_argument("--out", dest="file", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    runs = runs_of(args.out)
    if not runs:
        parser.error(f"no run/run.json under {args.out}")
    text = report(runs)
    if args.file:
        args.file.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
