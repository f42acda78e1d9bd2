"""Per-invocation runtime context (not checkpointed): settings, models, policy, prices."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from devfactory.control.budget import PriceTable, Spend, load_prices
from devfactory.control.policy import Policy, load_policy
from devfactory.settings import Settings, get_settings


@lru_cache(maxsize=4)
def default_router(settings: Settings) -> Any:
    """Return the configured model router, one per settings (so Ollama is probed once)."""
    from devfactory.models.router import ModelRouter

    return ModelRouter(settings)


@dataclass(kw_only=True)
class Context:
    """What every node reads from ``Runtime[Context]``.

    ``models`` is any object with ``resolve(alias) -> ResolvedModel``; when it is
    None the configured ``ModelRouter`` (Ollama, providers, embedded) serves.
    ``project_spent`` is what the run's project spent in its other runs, read by
    the runner when it starts driving the run.
    """

    settings: Settings = field(default_factory=get_settings)
    models: Any = None
    policy: Policy | None = None
    prices: PriceTable | None = None
    project_spent: Spend = field(default_factory=Spend)
    memory: Any = None  # a MemoryService; None runs without memory (graph-logic tests)

    def model_source(self) -> Any:
        """Return the model source for this invocation."""
        return self.models if self.models is not None else default_router(self.settings)

    def get_policy(self) -> Policy:
        """Return the governance policy (the configured file or the packaged one)."""
        return self.policy or load_policy(self.settings.policy_file)

    def get_prices(self) -> PriceTable:
        """Return the price table (the configured file or the packaged one)."""
        return self.prices or load_prices(self.settings.prices_file)
