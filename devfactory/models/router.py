"""Resolve model aliases to models through a configured fallback chain.

Chat aliases resolve to a ``ResolvedModel`` (the first available entry, the
later ones as runtime fallbacks); ``local/embed`` resolves to an ``Embedder``.
``model_source`` is the one hook every entry point uses to get its models: the
router, or what ``models_factory`` names (tests and plugins).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any, Literal, Protocol

import httpx
import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ConfigDict, Field

from devfactory.models.aliases import CHAT_ALIASES, EMBED_ALIAS
from devfactory.models.embedded import build_embedded, embedded_available
from devfactory.models.embeddings import (
    OLLAMA_DIMS,
    Embedder,
    EmbedderUnavailableError,
    embedded_minilm,
    minilm_available,
    ollama_embedder,
)
from devfactory.redact import redact
from devfactory.settings import Settings

DEFAULT_OLLAMA = "http://127.0.0.1:11434"


class ModelUnavailableError(RuntimeError):
    """No provider in an alias's chain can serve it."""


class ModelEntry(BaseModel):
    """One link of an alias's provider chain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    kind: Literal["chat", "embeddings"] = "chat"

    @property
    def label(self) -> str:
        """Name the model as the CLI shows it, e.g. ``ollama:qwen2.5-coder:7b``."""
        return f"{self.provider}:{self.model}"


class ModelsConfig(BaseModel):
    """The parsed ``models.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    aliases: dict[str, tuple[ModelEntry, ...]]

    def model_post_init(self, __context: Any) -> None:
        """Require a non-empty chain for every alias the teams may name."""
        for alias in (*CHAT_ALIASES, EMBED_ALIAS):
            if not self.aliases.get(alias):
                raise ValueError(f"models config has no chain for alias {alias!r}")

    @classmethod
    def load(cls, settings: Settings) -> ModelsConfig:
        """Read ``settings.models_file`` or the packaged default."""
        if settings.models_file is not None:
            text = settings.models_file.read_text(encoding="utf-8")
        else:
            text = (files("devfactory.config") / "models.yaml").read_text(encoding="utf-8")
        return cls.model_validate(yaml.safe_load(text))


@dataclass(frozen=True)
class ResolvedModel:
    """A chat model chosen for an alias, with the providers that back it up."""

    alias: str
    label: str
    chat: BaseChatModel
    bind_schema: Callable[[BaseChatModel, dict[str, Any]], Runnable[Any, Any]]
    fallbacks: tuple[ResolvedModel, ...] = field(default=())

    def plain(self) -> Runnable[Any, Any]:
        """Return the model for free text, with the same fallbacks (secrets never reach it)."""
        if not self.fallbacks:
            return _REDACTED | self.chat
        return _REDACTED | self.chat.with_fallbacks([f.chat for f in self.fallbacks])

    def sampled(self, temperature: float, seed: int) -> Runnable[Any, Any]:
        """Return the model for free text sampled at ``temperature`` with ``seed``.

        Candidates of one body are drawn this way: the same prompt with another
        temperature or seed gives another answer, on every provider (each chat
        model is copied with the two settings; a provider without ``seed`` keeps
        its own).
        """

        def tuned(chat: BaseChatModel) -> BaseChatModel:
            fields = type(chat).model_fields
            update = {"temperature": temperature} if "temperature" in fields else {}
            if "seed" in fields:
                update["seed"] = seed
            return chat.model_copy(update=update)

        primary = tuned(self.chat)
        if not self.fallbacks:
            return _REDACTED | primary
        return _REDACTED | primary.with_fallbacks([tuned(f.chat) for f in self.fallbacks])

    def structured(self, schema: dict[str, Any]) -> Runnable[Any, Any]:
        """Return the model constrained to ``schema`` where the provider supports it."""
        primary = self.bind_schema(self.chat, schema)
        if not self.fallbacks:
            return _REDACTED | primary
        fallbacks = [f.bind_schema(f.chat, schema) for f in self.fallbacks]
        return _REDACTED | primary.with_fallbacks(fallbacks)


def _redact_messages(messages: Any) -> Any:
    """Redact the text of every message a model is about to be sent."""
    if isinstance(messages, str):
        return redact(messages)
    if not isinstance(messages, list):
        return messages
    return [_redacted_message(m) for m in messages]


def _redacted_message(message: Any) -> Any:
    """Return ``message`` with its text redacted: itself when nothing in it is a secret."""
    if not isinstance(message, BaseMessage) or not isinstance(message.content, str):
        return message
    content = redact(message.content)
    if content == message.content:
        return message
    return message.model_copy(update={"content": content})


_REDACTED: Runnable[Any, Any] = RunnableLambda(_redact_messages, name="redact_secrets")


class ModelSource(Protocol):
    """What a stage needs: a model for an alias."""

    def resolve(self, alias: str) -> ResolvedModel:
        """Return the model serving ``alias``."""
        ...


def _bind_ollama(chat: BaseChatModel, schema: dict[str, Any]) -> Runnable[Any, Any]:
    return chat.bind(format=schema)


def _bind_embedded(chat: BaseChatModel, schema: dict[str, Any]) -> Runnable[Any, Any]:
    return chat.bind(json_schema=schema)


def _bind_prompt_only(chat: BaseChatModel, schema: dict[str, Any]) -> Runnable[Any, Any]:
    return chat  # the prompt carries the contract; replies are repaired or retried


class ModelRouter:
    """Resolve aliases against what is reachable now, once per alias per process."""

    def __init__(
        self,
        settings: Settings,
        config: ModelsConfig | None = None,
        *,
        http: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.config = config or ModelsConfig.load(settings)
        self._http = http
        self._ollama_tags: set[str] | None = None
        self._cache: dict[str, ResolvedModel] = {}
        self._lock = threading.Lock()

    @property
    def ollama_host(self) -> str:
        """Ollama's base URL, from ``OLLAMA_HOST`` (with or without a scheme)."""
        host = self.settings.ollama_host or DEFAULT_OLLAMA
        return host if "://" in host else f"http://{host}"

    def ollama_models(self) -> set[str]:
        """Return the models the Ollama server has pulled (empty when unreachable)."""
        if self._ollama_tags is None:
            try:
                client = self._http or httpx.Client()
                resp = client.get(
                    f"{self.ollama_host}/api/tags", timeout=self.settings.probe_timeout_s
                )
                resp.raise_for_status()
                names = {m["name"] for m in resp.json().get("models", [])}
                self._ollama_tags = names | {n.removesuffix(":latest") for n in names}
            except (httpx.HTTPError, ValueError, KeyError):
                self._ollama_tags = set()
        return self._ollama_tags

    def available(self, entry: ModelEntry) -> bool:
        """Say whether ``entry`` can serve now."""
        if self.settings.model_chain and entry.provider != self.settings.model_chain:
            return False
        if entry.provider == "ollama":
            return entry.model in self.ollama_models()
        if entry.kind == "embeddings":
            return entry.provider == "embedded" and minilm_available()
        if entry.provider == "embedded":
            return embedded_available()
        try:
            self._build(entry)
        except Exception:  # noqa: BLE001 - any construction failure means "not configured"
            return False
        return True

    def _build(self, entry: ModelEntry) -> tuple[BaseChatModel, Callable[..., Runnable]]:
        s = self.settings
        chat: BaseChatModel
        if entry.provider == "ollama":
            from langchain_ollama import ChatOllama

            chat = ChatOllama(
                model=entry.model,
                base_url=self.ollama_host,
                temperature=s.temperature,
                num_predict=s.stage_max_tokens,
                num_ctx=s.embedded_ctx,
                client_kwargs={"timeout": s.model_call_timeout_s},
            )
            return chat, _bind_ollama
        if entry.provider == "embedded":
            chat = build_embedded(
                s.data_dir,
                max_tokens=s.stage_max_tokens,
                temperature=s.temperature,
                n_ctx=s.embedded_ctx,
                n_threads=s.embedded_threads,
                timeout_s=s.model_call_timeout_s,
            )
            return chat, _bind_embedded
        from langchain.chat_models import init_chat_model

        chat = init_chat_model(
            entry.model,
            model_provider=entry.provider,
            temperature=s.temperature,
            max_tokens=s.stage_max_tokens,
            timeout=s.model_call_timeout_s,
        )
        return chat, _bind_prompt_only

    def resolve(self, alias: str) -> ResolvedModel:
        """Return the first available chat model for ``alias``, later ones as fallbacks.

        Raises:
            ModelUnavailableError: if no entry of the chain is available.

        """
        with self._lock:
            if alias not in self._cache:
                self._cache[alias] = self._resolve(alias)
            return self._cache[alias]

    def _resolve(self, alias: str) -> ResolvedModel:
        chain = [e for e in self.config.aliases.get(alias, ()) if e.kind == "chat"]
        if not chain:
            raise ModelUnavailableError(f"no chat models are configured for alias {alias!r}")
        ready = [e for e in chain if self.available(e)]
        if not ready:
            tried = ", ".join(e.label for e in chain)
            raise ModelUnavailableError(
                f"no model can serve {alias!r} (tried {tried}); start Ollama "
                f"({self.ollama_host}) or run `make setup` for the embedded model"
            )
        resolved, errors = [], []
        for entry in ready:
            try:
                chat, bind = self._build(entry)
            except Exception as exc:  # noqa: BLE001 - e.g. corrupt weights: try the next link
                errors.append(redact(f"{entry.label}: {exc}"))
                continue
            resolved.append(ResolvedModel(alias, entry.label, chat, bind))
        if not resolved:
            raise ModelUnavailableError(f"no model could be loaded for {alias!r}: {errors}")
        head, *rest = resolved
        return ResolvedModel(alias, head.label, head.chat, head.bind_schema, tuple(rest))

    def embedder(self) -> Embedder:
        """Return the first available embedder of the ``local/embed`` chain.

        An Ollama embedding model serves when it is pulled and its dimension is
        known; the embedded MiniLM serves when nothing before it does. Either is
        the process's one instance (``shared_embedder``), built on first use.
        """
        for entry in self.config.aliases[EMBED_ALIAS]:
            if not self.available(entry):
                continue
            if entry.provider == "ollama":
                dims = OLLAMA_DIMS.get(entry.model.split(":")[0])
                if dims is not None:
                    return ollama_embedder(self.ollama_host, entry.model, dims)
            elif entry.provider == "embedded":
                return embedded_minilm(threads=max(1, self.settings.embedded_threads or 1))
        raise EmbedderUnavailableError(f"no embedder in the {EMBED_ALIAS} chain is available")

    def describe(self) -> list[tuple[str, str, bool]]:
        """List ``(alias, model label, available)`` for every configured entry."""
        return [
            (alias, e.label, self.available(e))
            for alias, chain in self.config.aliases.items()
            for e in chain
        ]


@lru_cache(maxsize=4)
def router_for(settings: Settings) -> ModelRouter:
    """Return the router for ``settings``, one per process (so Ollama is probed once)."""
    return ModelRouter(settings)


@lru_cache(maxsize=4)
def model_source(settings: Settings) -> ModelSource:
    """Return the models every entry point uses: ``models_factory``'s, else the router.

    ``models_factory`` (``module:function``, ``DEVFACTORY_MODELS_FACTORY``) names
    a function returning any object with ``resolve(alias)``: a scripted model in
    tests, a plugin elsewhere. The CLI, the chat and Studio all honour it, and
    each process builds it once.
    """
    if not settings.models_factory:
        return router_for(settings)
    module, _, name = settings.models_factory.partition(":")
    source: ModelSource = getattr(importlib.import_module(module), name)()
    return source
