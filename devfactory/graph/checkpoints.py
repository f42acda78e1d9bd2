"""How a run's state is kept in its checkpoints: the serializer that knows the state's models.

LangGraph's serializer (``JsonPlusSerializer``) packs a pydantic model as its
class's module path, name and fields, and on load imports that class again,
but only a class it was told about: left permissive, it restores any class a
checkpoint names (and warns that a later version will not); told a list, it
restores those and hands back every other model as a plain dict. The state's
models are listed here, so they come back as themselves, and nothing else a
checkpoint names is imported.

A checkpoint written before the state held models holds their JSON dumps, and a
model that moved to another module since its checkpoint was written comes back
from it as a dict. ``upgrade`` reads such a state once into today's, by the state's
own type hints; ``RunCheckpoints``, the Postgres checkpointer every entry point
compiles the graphs on, applies it to every checkpoint and pending write it reads,
so no node and no reader ever sees an earlier version's state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import Enum
from functools import cache
from typing import Any, Final, cast, get_args, get_origin, get_type_hints

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, TypeAdapter
from pydantic_core import to_jsonable_python
from typing_extensions import is_typeddict

from devfactory.contracts import (
    Artifact,
    CheckRun,
    Escalation,
    FinalChecks,
    GateVerdict,
    Hop,
    Repository,
    RunOutcome,
    StageRecord,
    TaskResult,
    Usage,
)
from devfactory.control.budget import Caps, Spend, SpendEntry
from devfactory.control.hitl import DecisionRecord
from devfactory.control.policy import GovernanceRecord
from devfactory.graph.state import RESET, StageState
from devfactory.software.plan import BuildPlan
from devfactory.software.proposed import RunFacts

STATE_MODELS: Final[tuple[type[BaseModel], ...]] = (
    Artifact,
    BuildPlan,
    Caps,
    CheckRun,
    DecisionRecord,
    Escalation,
    FinalChecks,
    GateVerdict,
    GovernanceRecord,
    Hop,
    Repository,
    RunFacts,
    RunOutcome,
    Spend,
    SpendEntry,
    StageRecord,
    TaskResult,
    Usage,
)
"""Every model the run's state holds as a value (its fields' models travel inside it)."""


def _classes_in(hint: Any, found: set[type]) -> None:
    """Add the models and enums a type hint names, and those their fields name, to ``found``."""
    if isinstance(hint, type) and hint not in found:
        if issubclass(hint, Enum):
            found.add(hint)
        elif issubclass(hint, BaseModel):
            found.add(hint)
            for field in hint.model_fields.values():
                _classes_in(field.annotation, found)
    for arg in get_args(hint):
        _classes_in(arg, found)


def stored_classes() -> list[type]:
    """Return the classes a checkpoint of the state names: its models, and their fields' enums.

    A model is packed with its fields' values as they are, so an enum member in
    one is packed as its own class, and must be listed too.
    """
    found: set[type] = set()
    for model in STATE_MODELS:
        _classes_in(model, found)
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


def serializer() -> JsonPlusSerializer:
    """Return the checkpoints' serializer: it restores the state's classes and no other."""
    return JsonPlusSerializer(
        allowed_msgpack_modules=[(c.__module__, c.__name__) for c in stored_classes()]
    )


def _holds_model(hint: Any) -> bool:
    """Say whether a type hint names a pydantic model anywhere inside it (a TypedDict's too)."""
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return True
    if is_typeddict(hint):
        return any(_holds_model(field) for field in get_type_hints(hint).values())
    return any(_holds_model(arg) for arg in get_args(hint))


@cache
def _typed_keys() -> dict[str, tuple[Any, TypeAdapter[Any]]]:
    """Return each state key that holds models: its type, and the adapter that reads it."""
    hints = get_type_hints(StageState)  # the run's keys and a stage's (it extends RunState)
    return {key: (hint, TypeAdapter(hint)) for key, hint in hints.items() if _holds_model(hint)}


def upgrade_value(key: str, value: Any) -> Any:
    """Return the value of the state's ``key`` as today's state holds it.

    A model's dump becomes the model (one already a model is kept as it is); an
    update that resets a keyed value keeps its ``RESET`` mark; the empty dict an
    earlier version wrote for "none" becomes None where the key holds one model.
    """
    typed = _typed_keys().get(key)
    if typed is None or value is None:
        return value
    hint, adapter = typed
    keyed = get_origin(hint) is dict  # a keyed value, which ``RESET`` may empty
    if isinstance(value, Mapping) and RESET in value:
        if not keyed:
            return value
        rest = {k: v for k, v in value.items() if k != RESET}
        return {RESET: value[RESET], **adapter.validate_python(rest)}
    if isinstance(value, Mapping) and not value and not keyed and type(None) in get_args(hint):
        return None
    return adapter.validate_python(value)


def upgrade(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return a run's state (or a stage's) as today's: models where an earlier version kept dicts.

    Idempotent: today's state comes back as it was. A value that is not what its
    key's type says raises pydantic's ``ValidationError``: never read half-typed.
    """
    return {key: upgrade_value(key, value) for key, value in values.items()}


def dumped(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return a run's state as plain JSON, each model as its dump: what readers outside it read.

    The run's row, its view, its report and the API show the state as they always
    have; a value JSON cannot hold is kept as its text, as the views' column keeps it.
    """
    return cast(dict[str, Any], to_jsonable_python(dict(values), by_alias=False, fallback=str))


def upgraded(found: CheckpointTuple) -> CheckpointTuple:
    """Return a checkpoint read from the database with its values and pending writes upgraded."""
    checkpoint = found.checkpoint
    return found._replace(
        checkpoint={**checkpoint, "channel_values": upgrade(checkpoint["channel_values"])},
        pending_writes=[
            (task, channel, upgrade_value(channel, value))
            for task, channel, value in found.pending_writes or []
        ],
    )


class RunCheckpoints(PostgresSaver):
    """The Postgres checkpointer of the runs: the state's serializer, and every read upgraded."""

    def __init__(self, pool: ConnectionPool) -> None:
        """Keep checkpoints on ``pool``, serialized with the state's models."""
        super().__init__(pool, serde=serializer())  # type: ignore[arg-type]

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Return the checkpoint ``config`` names, as today's state."""
        found = super().get_tuple(config)
        return None if found is None else upgraded(found)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,  # noqa: A002 - the saver's own argument name
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """List checkpoints (newest first), each as today's state."""
        for found in super().list(config, filter=filter, before=before, limit=limit):
            yield upgraded(found)
