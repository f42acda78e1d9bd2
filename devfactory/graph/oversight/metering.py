"""Meter a stage's spend into the run's ledger and check it against the budget."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from devfactory.contracts import Usage
from devfactory.control.budget import BudgetCheck, Caps, Spend, SpendEntry, check_budget
from devfactory.graph.context import Context
from devfactory.graph.state import StageUpdate, stage_plan_of


def spend_key(state: Mapping[str, Any], team: str, suffix: str = "") -> str:
    """Key of a ledger entry: one per team, round (revision) and role."""
    return f"r{state.get('revision', 0)}:{team}{suffix}"


def add_spend(
    ledger: Mapping[str, SpendEntry],
    key: str,
    team: str,
    usage: Usage,
    model: str,
    context: Context,
    seconds: float = 0.0,
) -> SpendEntry:
    """Return the ledger entry ``key`` with ``usage`` (priced for ``model``) added."""
    cost = context.get_prices().cost(model, usage.input_tokens, usage.output_tokens)
    spend = (ledger.get(key) or Spend()) + Spend(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        calls=usage.calls,
        cost_usd=cost,
        seconds=seconds,
    )
    # the model is the one that served the entry's latest call (the costs page sums by it)
    return SpendEntry(team=team, model=model, **spend.model_dump())


def stage_spent(
    state: Mapping[str, Any],
    team: str,
    usage: Usage,
    model: str,
    started: float,
    context: Context,
) -> StageUpdate:
    """Return the state update for a stage's model work since ``started``."""
    seconds = time.perf_counter() - started
    key = spend_key(state, team)
    entry = add_spend(state.get("spend", {}), key, team, usage, model, context, seconds)
    return {
        "usage": Spend(**entry.model_dump(exclude={"team", "model", "seconds"})),  # no seconds
        "seconds": state.get("seconds", 0.0) + seconds,
        "spend": {key: entry},
    }


def run_spend(state: Mapping[str, Any], team: str | None = None) -> Spend:
    """Sum the run's ledger (only ``team``'s entries when given)."""
    entries = state.get("spend", {}).values()
    return Spend.total(e for e in entries if team is None or e.team == team)


def spend_by_team(state: Mapping[str, Any]) -> dict[str, Spend]:
    """Sum the run's ledger by team: every model call the run made, counted once.

    The ledger is the one count of a run's calls and tokens: every round and
    attempt of each team, its answers to questions and its fact extraction,
    and governance's calls (under ``governance``). ``run.json``, ``SUMMARY.md``,
    ``devfactory usage`` and the API's usage all read it through here. A stage
    record's ``usage`` is only that stage's last round.
    """
    teams: dict[str, Spend] = {}
    for entry in (state.get("spend") or {}).values():
        teams[entry.team] = teams.get(entry.team, Spend()) + entry
    return teams


def spend_by_team_and_model(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Sum the run's ledger by team and model (an entry counts under its latest call's model).

    Kept with the run's row, so that the console sums costs without reading checkpoints.
    """
    found: dict[tuple[str, str], Spend] = {}
    for entry in (state.get("spend") or {}).values():
        key = (entry.team or "?", entry.model or "not recorded")
        found[key] = found.get(key, Spend()) + entry
    return [
        {"team": team, "model": model, **spend.model_dump()}
        for (team, model), spend in sorted(found.items())
    ]


def check(state: Mapping[str, Any], team: str, context: Context) -> BudgetCheck:
    """Check the run, project and team caps before ``team``'s next model work.

    The project's caps are the ones an admin set for it now, when one did
    (``Context.project_caps``): a change made at run time holds from the next
    attempt of every running run. The run's own caps stay the run's.
    """
    caps: dict[str, Caps | None] = dict(state.get("budget") or {})
    live = context.project_caps()
    if live and "project" in live:
        caps["project"] = live["project"]
    spent = run_spend(state)
    planned = stage_plan_of(state)
    team_caps = planned["team_caps"].get(team) if planned else None
    return check_budget(
        run_spend=spent,
        project_spend=context.project_spent + spent,
        team_spend=run_spend(state, team),
        run_caps=caps.get("run") or Caps(),
        project_caps=caps.get("project") or Caps(),
        team_caps=team_caps or Caps(),
        warn_at=context.settings.runs.budget_warn_at,
        acknowledged=(state.get("budget_ack") or {}).keys(),
    )
