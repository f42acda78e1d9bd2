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
        ("run_deadline_s", -1),
        ("run_deadline_s", 7 * 86_400 + 1),
        ("stop_grace_s", 0.5),
        ("stop_grace_s", 601),
    ],
)
def test_caps_out_of_range_are_refused(field: str, value: int) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("run_deadline_s", 0),
        ("run_deadline_s", 7 * 86_400),
        ("stop_grace_s", 1),
        ("stop_grace_s", 600),
    ],
)
def test_caps_at_their_bounds_are_taken(field: str, value: float) -> None:
    assert Settings(**{field: value}).flat()[field] == value


def test_a_run_has_no_time_cap_unless_one_is_set() -> None:
    assert Settings().runs.run_deadline_s == 0


def test_environment_and_toml_configure_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "devfactory.toml"
    toml.write_text("max_stage_attempts = 5\nrecursion_limit = 50\n")
    monkeypatch.setenv("DEVFACTORY_CONFIG", str(toml))
    monkeypatch.setenv("DEVFACTORY_RECURSION_LIMIT", "77")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/x")
    s = Settings()
    assert s.generation.max_stage_attempts == 5  # from the file
    assert s.generation.recursion_limit == 77  # the environment wins over the file
    assert s.storage.database_url == "postgresql://u@db/x"


def test_the_sandbox_limits_are_defined_once(tmp_path: Path) -> None:
    from devfactory.sandbox.limits import INSTALL_SECONDS, Limits
    from devfactory.sandbox.runner import Sandbox

    s = Settings(data_dir=tmp_path)
    assert s.sandboxing.sandbox_limits == Limits()
    assert s.sandboxing.sandbox_install_seconds == INSTALL_SECONDS
    assert Sandbox(cache_dir=tmp_path).install_seconds == INSTALL_SECONDS
    # the bounds are the limits' own: what the sandbox accepts, the settings accept
    assert Settings(sandbox_cpu_seconds=86_400).sandboxing.sandbox_limits.cpu_seconds == 86_400
    for flat, value in (("sandbox_cpu_seconds", 86_401), ("sandbox_memory_mb", 63)):
        with pytest.raises(ValidationError):
            Settings(**{flat: value})
        with pytest.raises(ValidationError):
            Limits(**{flat.removeprefix("sandbox_"): value})


def test_each_sandbox_limit_is_read_by_its_flat_name_in_every_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "devfactory.toml"
    toml.write_text("sandbox_wall_seconds = 33\nsandbox_cpu_seconds = 44\nsandbox_disk_mb = 32\n")
    monkeypatch.setenv("DEVFACTORY_CONFIG", str(toml))
    monkeypatch.setenv("DEVFACTORY_SANDBOX_CPU_SECONDS", "30")
    monkeypatch.setenv("DEVFACTORY_SANDBOX_MEMORY_MB", "512")
    limits = Settings(sandbox_disk_mb=48).sandboxing.sandbox_limits
    # init args, then the environment, then the file: limit by limit
    assert (limits.disk_mb, limits.cpu_seconds, limits.memory_mb) == (48, 30, 512)
    assert limits.wall_seconds == 33
    again = Settings().with_overrides(sandbox_wall_seconds=9).sandboxing.sandbox_limits
    assert (again.wall_seconds, again.cpu_seconds) == (9, 30)
    toml.write_text("[sandbox_limits]\nwall_seconds = 34\n")
    assert Settings().sandboxing.sandbox_limits.wall_seconds == 34
    monkeypatch.setenv("DEVFACTORY_SANDBOX_PROCESSES", "0")
    with pytest.raises(ValidationError, match="processes"):
        Settings()


def test_the_prompts_take_their_budgets_from_the_settings() -> None:
    from devfactory.graph.model_io.briefs import requirement_budget

    assert requirement_budget(Settings(context_tokens=2500, requirement_tokens=1200)) == 1200
    assert requirement_budget(Settings(context_tokens=500, requirement_tokens=900)) == 500
