"""Runtime settings: every limit the factory enforces, one part per concern.

Values come from the environment (``DEVFACTORY_*``, plus the conventional
``DATABASE_URL`` and ``OLLAMA_HOST``) or an optional TOML file named by
``DEVFACTORY_CONFIG``; defaults are safe for a laptop. Each default and bound
is written once: in the part of its concern, or for what one sandboxed command
may use in ``sandbox.limits.Limits`` (``sandbox_limits``).

``Settings`` holds one model per concern: ``settings.storage.data_dir``,
``settings.generation.stage_max_tokens`` (``PARTS`` names them). Every setting
is still given by its flat name, as it was before the parts were nested: in the
environment (``DEVFACTORY_STAGE_MAX_TOKENS``), the TOML file, ``Settings(...)``,
``with_overrides(...)`` and ``--set``. ``FlatSettings`` reads those sources flat
(the parts are its mixins) and ``Settings`` sorts what it read into the parts
(``tests/unit/test_settings_names.py`` holds every flat name, type, default and
bound; the reference, ``docs/configuration.md``, is ``settings/reference.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, model_validator
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

__all__ = [
    "FLAT_LIMITS",
    "PARTS",
    "PART_OF",
    "FlatSettings",
    "RepairName",
    "Settings",
    "get_settings",
]

FLAT_LIMITS: Final = {f"sandbox_{item.name}": item.name for item in fields(Limits)}
"""Each sandbox limit's flat setting name (``sandbox_cpu_seconds``) and its field in ``Limits``."""

PARTS: Final[dict[str, type[BaseModel]]] = {
    "storage": StorageSettings,
    "serving": ServingSettings,
    "generation": GenerationSettings,
    "runs": RunControlSettings,
    "service": ServiceSettings,
    "recall": RecallSettings,
    "sandboxing": SandboxSettings,
    "repos": RepositorySettings,
    "checks": CheckSettings,
    "operations": OperationsSettings,
}
"""Each part of ``Settings`` by the attribute it is read at, in the reference's order."""

PART_OF: Final = {name: part for part, model in PARTS.items() for name in model.model_fields}
"""Each setting's flat name and the part that holds it (``stage_max_tokens``: ``generation``)."""


class FlatSettings(
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
    """Every setting by its flat name, read from its sources: what ``Settings`` is sorted from."""

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


class Settings(BaseModel):
    """Factory configuration, one model per concern. Every cap is bounded and validated.

    Given flat, as every source gives it (``Settings(stage_max_tokens=512)`` and the
    environment, read as ``FlatSettings`` reads them), or nested (a part by its name).
    """

    model_config = ConfigDict(frozen=True)

    storage: StorageSettings
    serving: ServingSettings
    generation: GenerationSettings
    runs: RunControlSettings
    service: ServiceSettings
    recall: RecallSettings
    sandboxing: SandboxSettings
    repos: RepositorySettings
    checks: CheckSettings
    operations: OperationsSettings

    def __init__(self, **given: Any) -> None:
        """Make the settings from flat names and the sources, or from their parts."""
        super().__init__(**given)

    @model_validator(mode="before")
    @classmethod
    def _sorted(cls, data: Any) -> Any:
        """Read flat settings (and the sources besides) into their parts."""
        if not isinstance(data, Mapping) or (data and set(data) <= set(PARTS)):
            return data  # nested already, or not settings: validated as it is
        flat = FlatSettings(**data)
        return {
            part: model.model_construct(
                **{name: getattr(flat, name) for name in model.model_fields}
            )
            for part, model in PARTS.items()
        }

    def flat(self, mode: Literal["python", "json"] = "python") -> dict[str, object]:
        """Return every setting by its flat name (what ``Settings(**...)`` takes back)."""
        return {
            name: value
            for part in PARTS
            for name, value in getattr(self, part).model_dump(mode=mode).items()
        }

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a validated copy with ``changes`` applied, by flat name (a limit's too).

        Raises:
            ValueError: a name is no setting's (a misspelt override is never ignored).

        """
        unknown = sorted(set(changes) - set(PART_OF) - set(FLAT_LIMITS))
        if unknown:
            raise ValueError(f"no such setting: {', '.join(unknown)}")
        return Settings(**{**self.flat(), **changes})

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Settings:
        """Return a copy; ``update`` names settings flat and is validated (``with_overrides``)."""
        if update:
            return self.with_overrides(**update)
        return super().model_copy(deep=deep)


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
