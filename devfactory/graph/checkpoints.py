"""How a run's state is kept in its checkpoints: the serializer that knows the state's models.

LangGraph's serializer (``JsonPlusSerializer``) packs a pydantic model as its
class's module path, name and fields, and on load imports that class again,
but only a class it was told about: left permissive, it restores any class a
checkpoint names (and warns that a later version will not); told a list, it
restores those and hands back every other model as a plain dict. The state's
models are listed here, so they come back as themselves, and nothing else a
checkpoint names is imported.

A model that moves to another module after a checkpoint was written comes back
from it as a dict; ``upgrade`` (``graph/upgrade.py``) reads such values again.
"""

from __future__ import annotations

from typing import Final

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel

from devfactory.contracts import (
    Artifact,
    CheckRun,
    FinalChecks,
    RunOutcome,
    StageRecord,
    TaskResult,
    Usage,
)
from devfactory.control.budget import Caps
from devfactory.software.plan import BuildPlan

STATE_MODELS: Final[tuple[type[BaseModel], ...]] = (
    Artifact,
    BuildPlan,
    Caps,
    CheckRun,
    FinalChecks,
    RunOutcome,
    StageRecord,
    TaskResult,
    Usage,
)
"""Every model the run's state holds as a value (its fields' models travel inside it)."""


def serializer() -> JsonPlusSerializer:
    """Return the checkpoints' serializer: it restores the state's models and no other class."""
    return JsonPlusSerializer(
        allowed_msgpack_modules=[(model.__module__, model.__name__) for model in STATE_MODELS]
    )
