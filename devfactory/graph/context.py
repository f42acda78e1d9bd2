"""Per-invocation runtime context (not checkpointed): settings, models, policy, prices, memory."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from devfactory.control.budget import Caps, PriceTable, Spend, load_prices
from devfactory.control.deadline import Deadline
from devfactory.control.overrides import Hold, Overrides
from devfactory.control.policy import Policy, load_policy
from devfactory.control.unattended import PreApproval
from devfactory.settings import Settings, get_settings

if TYPE_CHECKING:  # the graph is drawn and compiled without opening memory
    from devfactory.events import Event
    from devfactory.memory.service import MemoryService
    from devfactory.models.embeddings import Embedder
    from devfactory.models.router import ModelSource
    from devfactory.sandbox.runner import Sandbox


@dataclass(kw_only=True)
class Context:
    """What every node reads from ``Runtime[Context]``.

    Attributes:
        settings: the factory's settings.
        models: what serves each model alias; None means ``model_source(settings)``
            (the configured router, or the ``models_factory`` hook).
        policy: the governance policy; None means the configured file.
        prices: the price table; None means the configured file.
        project_spent: what the run's project spent in its other runs, read by
            the runner when it starts driving the run.
        memory: the memory service; None runs without memory (graph-logic tests).
        embedder: what the governance screen embeds with; None means memory's
            embedder when the policy has thresholds for it, else the embedded MiniLM.
        sandbox: where generated code runs; None means ``Sandbox.from_settings``.
        pre_approval: the run's project's standing pre-approval (an unattended run's
            governance approval proceeds on it), read by the runner; None: there is none.
        record: keeps each event a node emits before the node's writes are saved
            (the runner's recorder, ``graph/emit.py``); None: events are only streamed.
        overrides: reads the operator's controls now (held teams, confidence
            thresholds; ``factory/switchboard.py``, cached under a second); None: there are none.
        live_caps: reads the caps an admin set for the run's project now (None from
            it: none were); the budget check applies their project caps at each attempt.
        deadline: this drive's time cap (``run_deadline_s``), set by the runner; the
            budget check stops a stage past it, and the build loop draws no more
            candidates. None: no cap.

    """

    settings: Settings = field(default_factory=get_settings)
    models: ModelSource | None = None
    policy: Policy | None = None
    prices: PriceTable | None = None
    project_spent: Spend = field(default_factory=Spend)
    memory: MemoryService | None = None
    embedder: Embedder | None = None
    pre_approval: PreApproval | None = None
    sandbox: Sandbox | None = None
    record: Callable[[Event], None] | None = None
    overrides: Callable[[], Overrides] | None = None
    live_caps: Callable[[], Mapping[str, Caps | None] | None] | None = None
    deadline: Deadline | None = None

    def held(self, team: str) -> Hold | None:
        """Return the operator's hold on ``team`` (None: it may work)."""
        return self.overrides().teams.get(team) if self.overrides is not None else None

    def threshold(self, team: str, default: float) -> float:
        """Return ``team``'s confidence threshold: an admin's override, else ``default``."""
        return self.overrides().threshold(team, default) if self.overrides else default

    def project_caps(self) -> Mapping[str, Caps | None] | None:
        """Return the caps an admin set for the run's project now (None: none, or not read)."""
        return self.live_caps() if self.live_caps is not None else None

    def out_of_time(self) -> str:
        """Say why the run must stop now: its time cap is reached ("" while time is left)."""
        return self.deadline.passed() if self.deadline is not None else ""

    def model_source(self) -> ModelSource:
        """Return the model source for this invocation."""
        if self.models is not None:
            return self.models
        from devfactory.models.router import model_source

        return model_source(self.settings)

    def get_sandbox(self) -> Sandbox:
        """Return the sandbox for generated code (``SandboxUnavailableError`` if none works)."""
        if self.sandbox is None:
            from devfactory.sandbox.runner import Sandbox

            settings = self.settings
            self.sandbox = Sandbox.from_settings(settings.sandboxing, settings.storage.data_dir)
        self.sandbox.check()
        return self.sandbox

    def get_policy(self) -> Policy:
        """Return the governance policy (the configured file or the packaged one)."""
        return self.policy or load_policy(self.settings.runs.policy_file)

    def get_prices(self) -> PriceTable:
        """Return the price table (the configured file or the packaged one)."""
        return self.prices or load_prices(self.settings.serving.prices_file)
