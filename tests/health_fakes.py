"""Fake providers that serve, fail, hang and recover, behind a real ``ModelRouter``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict

from devfactory.models.aliases import CHAT_ALIASES, EMBED_ALIAS
from devfactory.models.health import HealthBook, HealthPolicy
from devfactory.models.router import ModelEntry, ModelRouter, ModelsConfig
from devfactory.settings import Settings

Mode = Literal["ok", "fail", "hang"]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Behaviour:
    """What one fake provider does now, and what it was sent."""

    label: str
    clock: FakeClock
    mode: Mode = "ok"
    latency_s: float = 0.5  # each call takes this long on the fake clock
    timeout_s: float = 30.0  # a hung call ends at its client's timeout, this long
    sent: list[list[BaseMessage]] = field(default_factory=list)
    kwargs: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def call(self, messages: list[BaseMessage], **kwargs: Any) -> str:
        """Serve, fail or hang as told; return the reply's text."""
        self.sent.append(list(messages))
        self.kwargs.append(kwargs)
        if self.mode == "fail":
            self.clock.advance(self.latency_s)
            raise httpx.ConnectError(f"{self.label}: connection refused")
        if self.mode == "hang":
            # no reply comes; the client gives up at its timeout (here a short real wait,
            # and the fake clock moves by the whole timeout)
            self.release.wait(0.05)
            self.clock.advance(self.timeout_s)
            raise httpx.ReadTimeout(f"{self.label}: timed out")
        self.clock.advance(self.latency_s)
        return f"reply from {self.label}"


class FakeProvider(BaseChatModel):
    """A chat model whose behaviour the test sets (``Behaviour``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    behaviour: Behaviour
    temperature: float = 0.2
    seed: int | None = None

    @property
    def _llm_type(self) -> str:
        return "fake-provider"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self.behaviour.call(messages, temperature=self.temperature, seed=self.seed, **kwargs)
        reply = AIMessage(text, response_metadata={"model_name": "provider-own-name"})
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        text = self.behaviour.call(messages, **kwargs)
        for word in text.split(" "):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word + " "))


def bind_recording(chat: BaseChatModel, schema: dict[str, Any]) -> Runnable[Any, Any]:
    """Bind ``schema`` as a provider's constrained decoding would."""
    return chat.bind(json_schema=schema)


def config_with(
    chain: list[str], routes: dict[str, Any] | None = None, alias: str = "factory/fast"
) -> ModelsConfig:
    """A models config whose ``alias`` is ``chain`` (labels), every other alias the same."""

    def links(labels: list[str]) -> list[dict[str, str]]:
        return [dict(zip(("provider", "model"), lb.split(":", 1), strict=True)) for lb in labels]

    aliases: dict[str, Any] = {a: links(chain) for a in CHAT_ALIASES}
    if routes is not None:
        aliases[alias] = {**routes, "chain": links(chain)}
    aliases[EMBED_ALIAS] = [{"provider": "embedded", "model": "m", "kind": "embeddings"}]
    return ModelsConfig.model_validate({"aliases": aliases})


class FakeRouter(ModelRouter):
    """The real router with fake providers: every configured link is reachable."""

    def __init__(
        self,
        settings: Settings,
        config: ModelsConfig,
        providers: dict[str, Behaviour],
        *,
        clock: Callable[[], float],
        policy: HealthPolicy | None = None,
    ) -> None:
        book = HealthBook(policy or HealthPolicy.from_settings(settings), clock=clock)
        super().__init__(settings, config, health=book)
        self.providers = providers
        self.built: list[str] = []

    def available(self, entry: ModelEntry) -> bool:
        """Say every configured fake is reachable."""
        return entry.label in self.providers

    def _labels(self, entry: ModelEntry) -> list[str]:
        """Make one link of each fake, whether or not this host has built llama-server."""
        return [entry.label]

    def _build(self, entry: ModelEntry) -> tuple[BaseChatModel, Callable[..., Runnable]]:
        self.built.append(entry.label)
        return FakeProvider(behaviour=self.providers[entry.label]), bind_recording


def fake_router(
    settings: Settings, labels: list[str], routes: dict[str, Any] | None = None, **policy: Any
) -> tuple[FakeRouter, dict[str, Behaviour], FakeClock]:
    """Return a router over fake providers ``labels`` (in chain order), their behaviours, clock."""
    clock = FakeClock()
    providers = {label: Behaviour(label, clock) for label in labels}
    base = HealthPolicy.from_settings(settings)
    chosen = HealthPolicy(**{**base.__dict__, **policy})
    router = FakeRouter(
        settings, config_with(labels, routes), providers, clock=clock, policy=chosen
    )
    return router, providers, clock
