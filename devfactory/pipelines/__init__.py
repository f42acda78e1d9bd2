"""Pipelines are data: YAML files naming stages and their dependencies."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from devfactory.teams.registry import TeamRegistry, load_teams


class PipelineError(ValueError):
    """A pipeline file is malformed or names unknown teams."""


class StageDef(BaseModel):
    """One stage: a team and the stages whose output it needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    team: str
    needs: tuple[str, ...] = ()


class Pipeline(BaseModel):
    """A directed acyclic graph of stages, listed in a valid execution order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    description: str
    stages: tuple[StageDef, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _acyclic(self) -> Pipeline:
        seen: set[str] = set()
        for stage in self.stages:
            if stage.team in seen:
                raise ValueError(f"team {stage.team!r} appears twice")
            late = [n for n in stage.needs if n not in seen]
            if late:
                raise ValueError(
                    f"stage {stage.team!r} needs {late}, which must be listed before it"
                )
            seen.add(stage.team)
        return self

    def check_teams(self, teams: TeamRegistry) -> Pipeline:
        """Raise ``PipelineError`` unless every stage names a known team."""
        unknown = [s.team for s in self.stages if s.team not in teams]
        if unknown:
            raise PipelineError(f"pipeline {self.name!r} names unknown teams {unknown}")
        return self

    @property
    def teams(self) -> tuple[str, ...]:
        """Stage teams in execution order."""
        return tuple(s.team for s in self.stages)

    def needs(self, team: str) -> tuple[str, ...]:
        """Return the stages ``team`` depends on."""
        return next(s.needs for s in self.stages if s.team == team)

    @property
    def sinks(self) -> tuple[str, ...]:
        """Stages nothing depends on: the pipeline ends when all of them have."""
        needed = {n for s in self.stages for n in s.needs}
        return tuple(t for t in self.teams if t not in needed)

    @property
    def edges(self) -> set[tuple[str, str]]:
        """Dependency edges ``(upstream, downstream)``."""
        return {(n, s.team) for s in self.stages for n in s.needs}


def available_pipelines() -> tuple[str, ...]:
    """Name every packaged pipeline."""
    root = files("devfactory.pipelines")
    return tuple(sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml")))


@cache
def load_pipeline(name: str) -> Pipeline:
    """Load and validate the packaged pipeline ``name`` against the team registry."""
    if name not in available_pipelines():
        raise PipelineError(
            f"unknown pipeline {name!r}; choose one of {', '.join(available_pipelines())}"
        )
    text = (files("devfactory.pipelines") / f"{name}.yaml").read_text("utf-8")
    try:
        pipeline = Pipeline.model_validate(yaml.safe_load(text))
    except ValueError as exc:
        raise PipelineError(f"pipeline {name!r}: {exc}") from exc
    return pipeline.check_teams(load_teams())
