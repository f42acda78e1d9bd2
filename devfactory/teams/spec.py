"""``TeamSpec``: the validated, frozen form of a ``teams/<slug>/`` folder."""

from __future__ import annotations

from enum import StrEnum
from string import Template
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from devfactory.contracts import ArtifactKind, check_relative_path
from devfactory.models.aliases import CHAT_ALIASES
from devfactory.software.plan import FileRole

IDENTITY_FILES = ("SOUL.md", "AGENTS.md", "TOOLS.md", "objective.md")
_SLUG = r"^[a-z][a-z0-9-]{1,40}$"


class Cluster(StrEnum):
    """Families of teams, used for grouping in the UI and docs."""

    PRODUCT = "product"
    ARCHITECTURE = "architecture"
    ENGINEERING = "engineering"
    QUALITY = "quality"
    OPERATIONS = "operations"
    GOVERNANCE = "governance"
    DATA = "data"


class Deliverable(BaseModel):
    """A file the team writes: a document every run needs, or one the build plan gives it.

    ``format`` is ``build-plan`` for the one document that is asked for as a
    validated ``BuildPlan`` rather than drafted as free text, and
    ``plan-overview`` for a document that tells the plan again: tools render it
    from the plan when tools made the plan (``software/overview.py``), a model
    drafts it otherwise.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1, max_length=120)
    kind: ArtifactKind
    description: str = Field(min_length=1, max_length=300)
    format: Literal["file", "build-plan", "plan-overview"] = "file"

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        return check_relative_path(value)


class TeamSpec(BaseModel):
    """One team: its settings from ``team.yaml`` and its identity documents."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1, max_length=60)
    cluster: Cluster
    description: str = Field(min_length=1, max_length=300)
    model: str
    confidence_threshold: float = Field(ge=0.0, le=1.0)
    checks: tuple[str, ...] = Field(min_length=1)  # artifact checks (checks/artifact.py)
    tool_checks: tuple[str, ...] = ()  # tools run on its files in the sandbox (checks/tools/)
    build_checks: tuple[str, ...] = ()  # tools run on the built software for it (its final checks)
    may_ask: tuple[str, ...] = ()
    budget_share: float = Field(gt=0.0, le=1.0)
    # documents every run needs; the rest of a team's files come from the build plan
    deliverables: tuple[Deliverable, ...] = Field(default=(), max_length=2)
    owns: tuple[FileRole, ...] = ()  # the kinds of planned files the team writes
    soul: str = Field(min_length=1)
    agents: str = Field(min_length=1)
    tools_doc: str = Field(min_length=1)
    objective_template: str = Field(min_length=1)

    @field_validator("model")
    @classmethod
    def _known_alias(cls, value: str) -> str:
        if value not in CHAT_ALIASES:
            raise ValueError(f"model must be one of {CHAT_ALIASES}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TeamSpec:
        if not self.deliverables and not self.owns:
            raise ValueError(f"team {self.slug} needs deliverables or kinds of files it owns")
        if self.slug in self.may_ask:
            raise ValueError(f"team {self.slug} may not ask itself for clarification")
        try:
            self.render_objective(requirement="(validation)")
        except KeyError as exc:
            raise ValueError(f"objective.md uses unknown placeholder ${exc.args[0]}") from None
        except ValueError as exc:
            raise ValueError(f"objective.md is not a valid template: {exc}") from None
        return self

    def render_objective(self, *, requirement: str) -> str:
        """Render ``objective.md`` for one requirement.

        ``string.Template.substitute`` raises on unknown placeholders, so a typo
        in a team folder fails at load time, not mid-run.
        """
        return Template(self.objective_template).substitute(
            requirement=requirement, team_name=self.name
        )

    def objective_section(self, heading: str, *, requirement: str) -> str:
        """Return one ``## heading`` section of the rendered objective, heading included."""
        text = self.render_objective(requirement=requirement)
        marker = f"## {heading}"
        start = text.find(marker)
        if start < 0:
            return ""
        end = text.find("\n## ", start + len(marker))
        return text[start : end if end >= 0 else None].strip()

    @property
    def deliverable_paths(self) -> tuple[str, ...]:
        """Paths the team must produce, main deliverable first."""
        return tuple(d.path for d in self.deliverables)
