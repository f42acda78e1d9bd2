"""Per-invocation runtime context (not checkpointed): settings and models."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from devfactory.settings import Settings, get_settings


@lru_cache(maxsize=4)
def _default_router(settings: Settings) -> Any:
    from devfactory.models.router import ModelRouter

    return ModelRouter(settings)


@dataclass(kw_only=True)
class Context:
    """What every stage reads from ``Runtime[Context]``.

    ``models`` is any object with ``resolve(alias) -> ResolvedModel``; when it is
    None the configured ``ModelRouter`` (Ollama, providers, embedded) serves.
    """

    settings: Settings = field(default_factory=get_settings)
    models: Any = None

    def model_source(self) -> Any:
        """Return the model source for this invocation."""
        return self.models if self.models is not None else _default_router(self.settings)
