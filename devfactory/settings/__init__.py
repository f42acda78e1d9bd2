"""Runtime settings: every limit the factory enforces, one part per concern.

Values come from the environment (``DEVFACTORY_*``, plus the conventional
``DATABASE_URL`` and ``OLLAMA_HOST``) or an optional TOML file named by
``DEVFACTORY_CONFIG``; defaults are safe for a laptop. Each default and bound
is written once: in the part of its concern (``storage``, ``serving``,
``generation``, ``run_control``, ``surfaces``, ``memory_recall``, ``sandboxing``,
``repository_access``, ``check_limits``, ``operations``), or for what one
sandboxed command may use in ``sandbox.limits.Limits``, which the settings hold
as ``sandbox_limits``. ``Settings`` is made of the parts, every field read by
its flat name as before they were cut apart (``tests/unit/test_settings_names.py``
holds every name, type, default and bound); this module adds the sources it is
read from, the flat sandbox limits and the reference (``docs/configuration.md``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from devfactory.sandbox.limits import Limits
from devfactory.settings.check_limits import CheckSettings
from devfactory.settings.generation import GenerationSettings, RepairName
from devfactory.settings.memory_recall import RecallSettings
from devfactory.settings.operations import OperationsSettings
from devfactory.settings.repository_access import RepositorySettings
from devfactory.settings.run_control import RunControlSettings
from devfactory.settings.sandboxing import SandboxSettings
from devfactory.settings.serving import ServingSettings
from devfactory.settings.storage import StorageSettings
from devfactory.settings.surfaces import ServiceSettings

__all__ = ["FLAT_LIMITS", "PARTS", "RepairName", "Settings", "get_settings", "reference"]

FLAT_LIMITS: Final = {f"sandbox_{item.name}": item.name for item in fields(Limits)}
"""Each sandbox limit's flat setting name (``sandbox_cpu_seconds``) and its field in ``Limits``."""

PARTS: Final[tuple[type[BaseModel], ...]] = (
    StorageSettings,
    ServingSettings,
    GenerationSettings,
    RunControlSettings,
    ServiceSettings,
    RecallSettings,
    SandboxSettings,
    RepositorySettings,
    CheckSettings,
    OperationsSettings,
)
"""The parts ``Settings`` is made of, in the order the reference lists them."""


class Settings(
    OperationsSettings,
    CheckSettings,
    RepositorySettings,
    SandboxSettings,
    RecallSettings,
    ServiceSettings,
    RunControlSettings,
    GenerationSettings,
    ServingSettings,
    StorageSettings,
    BaseSettings,
):
    """Factory configuration. Every cap is bounded and validated; each concern is a part."""

    model_config = SettingsConfigDict(
        env_prefix="DEVFACTORY_", extra="ignore", frozen=True, populate_by_name=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read init args, then the environment, then ``DEVFACTORY_CONFIG`` (TOML).

        Each source's flat sandbox limits are nested there (``FlatLimits``), so
        the order holds limit by limit.
        """
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get("DEVFACTORY_CONFIG")
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(FlatLimits(source) for source in sources)

    def run_folder(self, run_id: str) -> Path:
        """Return the folder a run gets when it is given none (``runs_dir``/<run-id>)."""
        return (self.runs_dir or self.data_dir / "runs") / run_id

    def api_processes(self, workers: int) -> int:
        """Return ``workers`` if `devfactory serve` may start that many processes, else raise.

        Raises:
            ValueError: ``workers`` is under 1 or over ``api_workers_max``, saying why.

        """
        if workers < 1:
            raise ValueError(f"--workers {workers}: serve runs at least one process")
        if workers > self.api_workers_max:
            raise ValueError(
                f"--workers {workers} is over api_workers_max ({self.api_workers_max}): each "
                f"process holds up to {self.api_db_pool_size + 3} database connections; raise "
                "DEVFACTORY_API_WORKERS_MAX if the database and the memory have room"
            )
        return workers

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a validated copy with ``changes`` applied (a limit by its flat name too)."""
        return Settings(**{**self.model_dump(), **changes})


def nest_limits(values: Mapping[str, Any]) -> dict[str, Any]:
    """Move one source's flat sandbox limits (``sandbox_cpu_seconds``) into ``sandbox_limits``.

    A flat name wins over the same limit given in ``sandbox_limits`` by the same source.
    """
    nested = dict(values)
    flat = {FLAT_LIMITS[key]: nested.pop(key) for key in values if key in FLAT_LIMITS}
    if flat:
        given = nested.get("sandbox_limits") or {}
        nested["sandbox_limits"] = {
            **(asdict(given) if isinstance(given, Limits) else dict(given)),
            **flat,
        }
    return nested


class FlatLimits(PydanticBaseSettingsSource):
    """A settings source that reads each sandbox limit by its flat name too (``nest_limits``).

    The environment source reads only the settings' own fields, so the flat
    variables (``DEVFACTORY_SANDBOX_CPU_SECONDS``) are looked up in its variables here.
    """

    def __init__(self, source: PydanticBaseSettingsSource) -> None:
        super().__init__(source.settings_cls)
        self.source = source

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Answer no field alone: ``__call__`` reads the whole source."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """Return the source's values, flat limits nested."""
        values = dict(self.source())
        if isinstance(self.source, EnvSettingsSource):
            for flat in FLAT_LIMITS:
                name = self.source.env_prefix + flat
                value = self.source.env_vars.get(
                    name if self.source.case_sensitive else name.lower()
                )
                if value is not None:
                    values[flat] = value
        return nest_limits(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()


def reference() -> str:
    """Return ``docs/configuration.md``: every setting, its default, bounds and meaning.

    Made from the fields themselves (``make config-doc`` writes it; a test keeps
    it current), so the reference cannot drift from what is validated.
    """
    lines = [
        "# Configuration",
        "",
        "<!-- Made by `make config-doc` from devfactory/settings/; do not edit by hand. -->",
        "",
        "Every setting is read from the environment (`DEVFACTORY_<NAME>`, upper case; the "
        "conventional `DATABASE_URL`, `OLLAMA_HOST` and `OLLAMA_NUM_PARALLEL` too) or from a "
        "TOML file named by `DEVFACTORY_CONFIG` (`name = value`), and validated within its "
        "bounds at start-up: a value outside them is an error that names the setting, never "
        "a silent default. A list is written as JSON in the environment "
        "(`DEVFACTORY_REPO_ALLOWED_HOSTS='[\"github.com\"]'`). The settings are listed by "
        "concern, one section for each part of `devfactory/settings/`.",
    ]
    home = str(Path.home())
    for part in PARTS:
        module = part.__module__.rsplit(".", 1)[1]
        summary = (part.__doc__ or "").strip().rstrip(".")
        lines += ["", f"## {summary} (`{module}`)", ""]
        lines += ["| Setting | Default | Accepted | Meaning |", "|---|---|---|---|"]
        for name in part.model_fields:
            info = Settings.model_fields[name]
            if name == "sandbox_limits":  # each limit by its flat name
                limits = Limits.__pydantic_fields__  # type: ignore[attr-defined]
                for flat, field_name in FLAT_LIMITS.items():
                    lines.append(_reference_row(flat, limits[field_name], home))
                continue
            lines.append(_reference_row(name, info, home))
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def _schema_properties() -> dict[str, Any]:
    """Return each setting's JSON schema (where a list's longest length is said)."""
    properties: dict[str, Any] = Settings.model_json_schema()["properties"]
    return properties


def _reference_row(name: str, info: FieldInfo, home: str) -> str:
    """Return one setting's row of the reference."""
    default = info.get_default(call_default_factory=True)
    if default is None:
        shown = "unset"
    elif isinstance(default, bool):
        shown = str(default).lower()
    elif isinstance(default, tuple | list):
        shown = ", ".join(map(str, default)) if default else "none"
    else:
        shown = str(default).replace(home, "~")
    bounds = [
        f"{sign} {getattr(item, key)}"
        for item in info.metadata
        for key, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        if hasattr(item, key)
    ]
    most = _schema_properties().get(name, {}).get("maxItems")
    bounds += [f"at most {most} entries"] if most is not None else []
    choices = [a for a in get_args(info.annotation) if a is not type(None)]
    literal = next(
        (get_args(a) for a in [info.annotation, *choices] if get_origin(a) is Literal), ()
    )
    if literal:
        bounds.append(" / ".join(f"`{c}`" for c in literal))
    meaning = " ".join((info.description or "").split()).replace("|", "\\|")
    return f"| `{name}` | {shown} | {', '.join(bounds) or '-'} | {meaning} |"
