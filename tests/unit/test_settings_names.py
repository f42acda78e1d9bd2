"""Every setting read today is read the same way tomorrow: names, variables, types, bounds.

``tests/data/settings_fields.json`` was written from the one ``Settings`` class
before it was cut by concern into ``devfactory/settings/`` (issue 61): each
field's name, the environment variables that set it, its type, its default and
its bounds. The composed class must match it field for field (settings added
since are new ones), so every
``DEVFACTORY_<NAME>`` (and ``DATABASE_URL``, ``OLLAMA_HOST``, the flat sandbox
limits) that worked before still works. Then every variable is set to a value
other than its default and read back in its part of the nested ``Settings``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from devfactory.settings import FLAT_LIMITS, PART_OF, FlatSettings, Settings

SNAPSHOT = Path(__file__).parents[1] / "data" / "settings_fields.json"


def described() -> dict[str, Any]:
    """Describe each field as the snapshot does (the home folder written ``~``)."""
    home = str(Path.home())
    found: dict[str, Any] = {}
    for name, info in sorted(FlatSettings.model_fields.items()):
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


# A value other than the default for the settings whose type alone does not give one.
GIVEN = {
    "database_url": "postgresql://probe@localhost:5999/probe",
    "database_app_password": "probe-secret",
    "audit_key": "probe-key",
    "ollama_host": "http://probe.example:11434",
    "model_chain": "ollama",
    "models_factory": "scripted",
    "repairs_off": '["quotes"]',
    "operator": "probe",
    "operator_role": "probe-role",
    "budget_warn_at": "0.5",
    "api_host": "0.0.0.0",
    "chat_host": "0.0.0.0",
    "api_public_origin": "https://factory.example",
    "chat_public_origin": "https://chat.example",
    "web_frame_ancestors": '["https://portal.example"]',
    "trusted_proxies": '["10.0.0.1"]',
    "chat_header_user": "X-Probe-User",
    "chat_header_role": "X-Probe-Role",
    "fact_alias": "factory/coder",
    "sandbox_limits": '{"cpu_seconds": 17}',
    "sandbox_index_hosts": '["pypi.example"]',
    "sandbox_index_networks": '["10.1.0.0/16"]',
    "repo_local_roots": '["/tmp"]',
    "repo_allowed_hosts": '["github.com"]',
    "licence_allowed": '["MIT"]',
}


def another_value(name: str, info: FieldInfo) -> str:
    """Return a valid value of setting ``name`` other than its default, as a variable says it."""
    if name in GIVEN:
        return GIVEN[name]
    default = info.get_default(call_default_factory=True)
    kind = info.annotation
    if type(None) in get_args(kind):  # optional: what it is when given
        kind = next(a for a in get_args(kind) if a is not type(None))
    if get_origin(kind) is Literal:
        return str(next(c for c in get_args(kind) if c != default))
    if kind is bool:
        return str(not default).lower()
    if kind is Path:
        return "/tmp/devfactory-settings-probe"
    assert kind in (int, float), f"{name}: say a value for it in GIVEN"
    near = 1 if default is None else default
    for candidate in (near + 1, near - 1, near * 1.1, near / 2, near * 2):
        try:
            FlatSettings(**{name: candidate})
        except ValidationError:
            continue
        return str(candidate)
    raise AssertionError(f"{name}: no value near its default is valid; say one in GIVEN")


VARIABLES = [
    (variable, name)
    for name, info in FlatSettings.model_fields.items()
    for variable in (
        getattr(info.validation_alias, "choices", None) or [f"DEVFACTORY_{name.upper()}"]
    )
]


@pytest.mark.parametrize(("variable", "name"), VARIABLES)
def test_every_variable_is_read_into_its_part(
    monkeypatch: pytest.MonkeyPatch, variable: str, name: str
) -> None:
    """Each variable that set a flat setting sets it in its part, as the flat read does."""
    monkeypatch.setenv(str(variable), another_value(name, FlatSettings.model_fields[name]))
    settings = Settings()
    read = getattr(getattr(settings, PART_OF[name]), name)
    assert read == getattr(FlatSettings(), name)
    assert read != FlatSettings.model_fields[name].get_default(call_default_factory=True)


@pytest.mark.parametrize("flat", sorted(FLAT_LIMITS))
def test_every_flat_sandbox_limit_is_read_into_the_limits(
    monkeypatch: pytest.MonkeyPatch, flat: str
) -> None:
    limit = FLAT_LIMITS[flat]
    default = getattr(Settings().sandboxing.sandbox_limits, limit)
    monkeypatch.setenv(f"DEVFACTORY_{flat.upper()}", str(default + 1))
    assert getattr(Settings().sandboxing.sandbox_limits, limit) == default + 1


def test_an_override_is_validated_by_its_flat_name_and_a_misspelt_one_refused() -> None:
    settings = Settings()
    assert settings.with_overrides(stage_max_tokens=512).generation.stage_max_tokens == 512
    copied = settings.model_copy(update={"run_files_listed": 700, "sandbox_cpu_seconds": 9})
    assert copied.storage.run_files_listed == 700
    assert copied.sandboxing.sandbox_limits.cpu_seconds == 9
    with pytest.raises(ValueError, match="no such setting: stage_max_tokenz"):
        settings.with_overrides(stage_max_tokenz=512)
    with pytest.raises(ValidationError):
        settings.model_copy(update={"stage_max_tokens": 1})  # under its bound
    assert settings.model_copy() == settings
