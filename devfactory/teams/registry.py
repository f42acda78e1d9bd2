"""Load every ``teams/<slug>/`` folder into a frozen ``TeamSpec``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable

import yaml

from devfactory.teams.checks import ARTIFACT_CHECKS
from devfactory.teams.spec import TeamSpec


class TeamRegistryError(ValueError):
    """A team folder is missing, malformed or inconsistent with the others."""


class TeamRegistry(Mapping[str, TeamSpec]):
    """An immutable mapping of slug to ``TeamSpec``, validated as a whole."""

    def __init__(self, teams: Mapping[str, TeamSpec]) -> None:
        self._teams = dict(sorted(teams.items()))
        for spec in self._teams.values():
            unknown = [t for t in spec.may_ask if t not in self._teams]
            if unknown:
                raise TeamRegistryError(f"{spec.slug}: may_ask names unknown teams {unknown}")
            missing = [c for c in spec.checks if c not in ARTIFACT_CHECKS]
            if missing:
                raise TeamRegistryError(f"{spec.slug}: unknown checks {missing}")

    def __getitem__(self, slug: str) -> TeamSpec:
        try:
            return self._teams[slug]
        except KeyError:
            raise TeamRegistryError(
                f"unknown team {slug!r}; known teams: {', '.join(self._teams)}"
            ) from None

    def __contains__(self, slug: object) -> bool:
        return slug in self._teams

    def __iter__(self) -> Iterator[str]:
        return iter(self._teams)

    def __len__(self) -> int:
        return len(self._teams)


def _read(folder: Traversable, name: str) -> str:
    item = folder / name
    if not item.is_file():
        raise TeamRegistryError(f"team folder {folder.name!r} lacks {name}")
    return item.read_text(encoding="utf-8")


def load_team(folder: Traversable) -> TeamSpec:
    """Load one team folder."""
    raw = yaml.safe_load(_read(folder, "team.yaml"))
    if not isinstance(raw, dict):
        raise TeamRegistryError(f"{folder.name}/team.yaml must be a mapping")
    if raw.get("slug") != folder.name:
        raise TeamRegistryError(f"{folder.name}/team.yaml: slug {raw.get('slug')!r} != folder")
    if "tools" in raw and "checks" not in raw:  # the key's earlier name
        warnings.warn(
            f"{folder.name}/team.yaml: `tools` is now called `checks`",
            DeprecationWarning,
            stacklevel=2,
        )
        raw["checks"] = raw.pop("tools")
    try:
        return TeamSpec(
            **raw,
            soul=_read(folder, "SOUL.md"),
            agents=_read(folder, "AGENTS.md"),
            tools_doc=_read(folder, "TOOLS.md"),
            objective_template=_read(folder, "objective.md"),
        )
    except ValueError as exc:
        raise TeamRegistryError(f"{folder.name}: {exc}") from exc


def load_teams(root: Traversable | None = None) -> TeamRegistry:
    """Load every team folder under ``root`` (the packaged ``teams/`` by default)."""
    if root is None:
        return _packaged_teams()
    teams = {
        entry.name: load_team(entry)
        for entry in root.iterdir()
        if entry.is_dir() and (entry / "team.yaml").is_file()
    }
    if not teams:
        raise TeamRegistryError(f"no team folders under {root}")
    return TeamRegistry(teams)


@lru_cache(maxsize=1)
def _packaged_teams() -> TeamRegistry:
    return load_teams(files("devfactory.teams"))
