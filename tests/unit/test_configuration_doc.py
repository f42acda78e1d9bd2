"""docs/configuration.md is every setting, made from the settings themselves and kept current."""

from __future__ import annotations

from pathlib import Path

from devfactory.settings import FLAT_LIMITS, FlatSettings
from devfactory.settings.reference import reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_reference_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == reference(), "run `make config-doc`"


def test_every_setting_has_a_row_with_its_meaning() -> None:
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[-2].strip()
        for line in reference().splitlines()
        if line.startswith("| `")
    }
    expected = (set(FlatSettings.model_fields) - {"sandbox_limits"}) | set(FLAT_LIMITS)
    assert set(rows) == expected
    assert all(rows.values()), [name for name, meaning in rows.items() if not meaning]


def test_a_row_says_the_default_and_what_is_accepted() -> None:
    rows = {
        line.split("|")[1].strip(" `"): line
        for line in reference().splitlines()
        if line.startswith("| `")
    }
    assert "| 3 | >= 1, <= 10 |" in rows["max_stage_attempts"]
    assert "| json | `literal` / `json` |" in rows["behaviour_test_values"]
    assert "`quotes` / `stdlib-imports`" in rows["repairs_off"]
    assert "| 60 | >= 1, <= 86400 |" in rows["sandbox_cpu_seconds"]  # a limit by its flat name
    assert str(Path.home()) not in reference()  # ~, never this machine's home
