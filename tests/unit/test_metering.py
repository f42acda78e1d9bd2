"""The run's spend ledger summed by team, and by team and model (what the run's row keeps)."""

from __future__ import annotations

from devfactory.graph.checkpoints import upgrade
from devfactory.graph.oversight.metering import spend_by_team, spend_by_team_and_model


def _entry(team: str, model: str | None, tokens: int, calls: int) -> dict[str, object]:
    entry: dict[str, object] = {
        "team": team,
        "input_tokens": tokens,
        "output_tokens": 1,
        "calls": calls,
        "cost_usd": 0.5,
        "seconds": 2.0,
    }
    if model is not None:
        entry["model"] = model
    return entry


STATE = upgrade(
    {
        "spend": {
            "r0:backend-engineering": _entry("backend-engineering", "embedded", 100, 2),
            "r1:backend-engineering": _entry("backend-engineering", "ollama:qwen", 50, 1),
            "r0:governance": _entry("governance", "embedded", 10, 1),
            "r0:qa-engineering": _entry("qa-engineering", None, 7, 1),  # kept before models were
        }
    }
)  # a ledger as an earlier version kept it


def test_by_team_sums_every_round() -> None:
    found = spend_by_team(STATE)
    assert found["backend-engineering"].calls == 3
    assert found["backend-engineering"].tokens == 152
    assert set(found) == {"backend-engineering", "governance", "qa-engineering"}


def test_by_team_and_model_splits_a_team_by_model_and_names_a_missing_one() -> None:
    rows = {(r["team"], r["model"]): r for r in spend_by_team_and_model(STATE)}
    assert rows["backend-engineering", "embedded"]["input_tokens"] == 100
    assert rows["backend-engineering", "ollama:qwen"]["calls"] == 1
    assert rows["qa-engineering", "not recorded"]["input_tokens"] == 7
    assert sum(r["calls"] for r in rows.values()) == 5  # every call, counted once
