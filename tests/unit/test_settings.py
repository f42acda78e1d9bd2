"""Every cap is in config and validated."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from devfactory.settings import Settings


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_stage_attempts", 0),
        ("max_stage_attempts", 11),
        ("max_parse_retries", -1),
        ("recursion_limit", 3),
        ("stage_max_tokens", 10),
        ("max_model_errors", 0),
    ],
)
def test_caps_out_of_range_are_refused(field: str, value: int) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_environment_and_toml_configure_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "devfactory.toml"
    toml.write_text("max_stage_attempts = 5\nrecursion_limit = 50\n")
    monkeypatch.setenv("DEVFACTORY_CONFIG", str(toml))
    monkeypatch.setenv("DEVFACTORY_RECURSION_LIMIT", "77")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/x")
    s = Settings()
    assert s.max_stage_attempts == 5  # from the file
    assert s.recursion_limit == 77  # the environment wins over the file
    assert s.database_url == "postgresql://u@db/x"
