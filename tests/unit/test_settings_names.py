"""Every setting read today is read the same way tomorrow: names, variables, types, bounds.

``tests/data/settings_fields.json`` was written from the one ``Settings`` class
before it was cut by concern into ``devfactory/settings/`` (issue 61): each
field's name, the environment variables that set it, its type, its default and
its bounds. The composed class must match it field for field (settings added
since are new ones), so every
``DEVFACTORY_<NAME>`` (and ``DATABASE_URL``, ``OLLAMA_HOST``, the flat sandbox
limits) that worked before still works. Then one variable per concern is set
and read back through the composed class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devfactory.settings import FLAT_LIMITS, Settings

SNAPSHOT = Path(__file__).parents[1] / "data" / "settings_fields.json"


def described() -> dict[str, Any]:
    """Describe each field as the snapshot does (the home folder written ``~``)."""
    home = str(Path.home())
    found: dict[str, Any] = {}
    for name, info in sorted(Settings.model_fields.items()):
        alias = info.validation_alias
        names = getattr(alias, "choices", None) or ([alias] if alias else [])
        default = info.get_default(call_default_factory=True)
        found[name] = {
            "variables": sorted(str(n) for n in names) or [f"DEVFACTORY_{name.upper()}"],
            "type": str(info.annotation).replace("typing.", ""),
            "default": repr(default).replace(home, "~"),
            "bounds": sorted(
                f"{key} {getattr(item, key)}"
                for item in info.metadata
                for key in ("ge", "gt", "le", "lt", "max_length", "min_length")
                if getattr(item, key, None) is not None
            ),
        }
    found["(flat sandbox limits)"] = sorted(f"DEVFACTORY_{n.upper()}" for n in FLAT_LIMITS)
    return found


def test_every_setting_is_read_by_the_same_variables_with_the_same_type_default_and_bounds() -> (
    None
):
    now, before = described(), json.loads(SNAPSHOT.read_text())
    changed = {name for name, said in before.items() if now.get(name) != said}
    assert not changed, f"read otherwise than before the cut: {sorted(changed)}"
    assert set(now) >= set(before)  # a setting added since is new, none is lost


@pytest.mark.parametrize(
    ("variable", "value", "field", "read"),
    [
        ("DEVFACTORY_MAX_STAGE_ATTEMPTS", "5", "max_stage_attempts", 5),
        (
            "OLLAMA_HOST",
            "http://ollama.example:11434",
            "ollama_host",
            "http://ollama.example:11434",
        ),
        ("DEVFACTORY_EMBEDDED_THREADS", "3", "embedded_threads", 3),
        ("DEVFACTORY_API_PORT", "8123", "api_port", 8123),
        ("DEVFACTORY_CHAT_HISTORY_TURNS", "4", "chat_history_turns", 4),
        ("DEVFACTORY_RECALL_K", "2", "recall_k", 2),
        ("DEVFACTORY_REPO_MAX_MB", "64", "repo_max_mb", 64),
        ("DEVFACTORY_MUTATION_MIN_SCORE", "0.25", "mutation_min_score", 0.25),
        ("DEVFACTORY_INCIDENT_WINDOW", "7", "incident_window", 7),
        ("DEVFACTORY_BUDGET_RUN_TOKENS", "9000", "budget_run_tokens", 9000),
        ("DEVFACTORY_MAX_CLARIFICATIONS", "1", "max_clarifications", 1),
        ("DEVFACTORY_RETENTION_DAYS", "12", "retention_days", 12),
        ("DEVFACTORY_SANDBOX_INSTALL_SECONDS", "200", "sandbox_install_seconds", 200),
    ],
)
def test_a_variable_of_each_concern_is_read_through_the_composed_settings(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str, read: object
) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(Settings(), field) == read
    assert getattr(Settings(), field) != Settings.model_fields[field].get_default(
        call_default_factory=True
    )


def test_a_flat_sandbox_limit_is_read_into_the_nested_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEVFACTORY_SANDBOX_CPU_SECONDS", "17")
    assert Settings().sandbox_limits.cpu_seconds == 17
