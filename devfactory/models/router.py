"""Resolve model aliases to models through a configured fallback chain.

Chat aliases resolve to a ``ResolvedModel`` (the available entries, in the
configured order); ``local/embed`` resolves to an ``Embedder``. The router's
models are watched by its ``HealthBook`` (``models/health.py``): each call's
chain is ordered when it is made, so a link whose circuit is open is left out,
a degraded one goes after the healthy ones, and a recovered one takes its place
back. With everything healthy the order is the configured one, or, for an alias
that prefers the cheapest, the cheapest first (``AliasRoute``). ``model_source``
is the one hook every entry point uses to get its models: the router, or what
``models_factory`` names (tests and plugins).

Why one module: which model answers a call is one decision made of parts that
must agree: the configured chain and its route, what is reachable, what is
within the price ceiling, and the order each call takes by health. Readers
(``devfactory models``, GET /models, the console) see that order from ``view``,
computed by the same ``rank`` the calls use, so the two cannot drift apart.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ConfigDict, Field, model_validator

from devfactory.config import load_config
from devfactory.control.budget import PriceTable, load_prices
from devfactory.models.aliases import CHAT_ALIASES, EMBED_ALIAS
from devfactory.models.embeddings import (
    OLLAMA_DIMS,
    Embedder,
    EmbedderUnavailableError,
    embedded_minilm,
    minilm_available,
    ollama_embedder,
)
from devfactory.models.health import HealthBook, HealthPolicy, Standing, WatchedModel
from devfactory.models.local_server import ServerPlan, default_threads, embedded_available
from devfactory.models.packaged import (
    PACKAGED,
    EmbeddedModelError,
    PackagedModel,
    ensure_model_file,
    packaged,
)
from devfactory.redact import redact, shown_url
from devfactory.settings import Settings

DEFAULT_OLLAMA = "http://127.0.0.1:11434"
log = logging.getLogger(__name__)


class ModelUnavailableError(RuntimeError):
    """No provider in an alias's chain can serve it."""


class ModelEntry(BaseModel):
    """One link of an alias's provider chain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    kind: Literal["chat", "embeddings"] = "chat"
    draft: str | None = Field(
        default=None,
        description="An embedded chat model's speculative draft: another packaged model with "
        "its tokenizer, which proposes tokens the model checks in one batch "
        "(embedded_speculative switches every draft off).",
    )

    @model_validator(mode="after")
    def _packaged_only(self) -> ModelEntry:
        """Refuse an embedded chat model, or a draft, that no package carries."""
        if self.provider == "embedded" and self.kind == "chat" and self.model not in PACKAGED:
            raise ValueError(f"no embedded model is called {self.model!r} (known: "
                             f"{', '.join(PACKAGED)})")  # fmt: skip
        if self.draft is not None:
            if self.provider != "embedded" or self.kind != "chat":
                raise ValueError("only an embedded chat model takes a draft")
            if self.draft not in PACKAGED or self.draft == self.model:
                raise ValueError(f"the draft {self.draft!r} is not another packaged model")
        return self

    @property
    def label(self) -> str:
        """Name the model as the CLI shows it, e.g. ``ollama:qwen2.5-coder:7b``."""
        return f"{self.provider}:{self.model}"


class AliasRoute(BaseModel):
    """How an alias picks among its healthy links (``models.yaml``'s mapping form)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefer: Literal["order", "cheapest"] = Field(
        default="order",
        description="order: the chain's order; cheapest: the cheapest healthy link first "
        "(prices.yaml; ties keep the chain's order).",
    )
    max_usd_per_mtok: float | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="Leave out every link whose dearer price (input or output, USD per "
        "million tokens) is above this; None: no ceiling.",
    )


class ModelsConfig(BaseModel):
    """The parsed ``models.yaml``.

    An alias is a list of links, or a mapping with the list under ``chain`` and
    its ``AliasRoute`` options beside it (``prefer``, ``max_usd_per_mtok``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    aliases: dict[str, tuple[ModelEntry, ...]]
    routes: dict[str, AliasRoute] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _split_routes(cls, data: Any) -> Any:
        """Read the mapping form of an alias into its chain and its route."""
        if not isinstance(data, dict) or not isinstance(data.get("aliases"), dict):
            return data
        aliases, routes = {}, dict(data.get("routes") or {})
        for alias, value in data["aliases"].items():
            if isinstance(value, dict):
                options = dict(value)
                if "chain" not in options:
                    raise ValueError(f"alias {alias!r} is a mapping without a 'chain' list")
                aliases[alias] = options.pop("chain")
                routes[alias] = options
            else:
                aliases[alias] = value
        return {**data, "aliases": aliases, "routes": routes}

    def model_post_init(self, __context: Any) -> None:
        """Require a non-empty chain for every alias the teams may name."""
        for alias in (*CHAT_ALIASES, EMBED_ALIAS):
            if not self.aliases.get(alias):
                raise ValueError(f"models config has no chain for alias {alias!r}")
        for alias in self.routes:
            if alias not in self.aliases:
                raise ValueError(f"models config routes an alias it does not chain: {alias!r}")

    def route(self, alias: str) -> AliasRoute:
        """Return how ``alias`` picks among its links (the chain's order by default)."""
        return self.routes.get(alias) or AliasRoute()

    @classmethod
    def load(cls, settings: Settings) -> ModelsConfig:
        """Read ``settings.serving.models_file`` or the packaged default."""
        return load_config(cls, settings.serving.models_file, "models.yaml")


def rate(prices: PriceTable, label: str) -> float:
    """Return what a link costs for routing: its dearer price, USD per million tokens."""
    price = prices.price(label)
    return max(price.input, price.output)


def rank(
    links: list[tuple[Standing, float, float]], prefer: Literal["order", "cheapest"]
) -> list[int]:
    """Return the indexes of ``(standing, score, rate)`` links in the order to try them.

    Healthy links first, in the chain's order (or cheapest first, ties in the
    chain's order); then degraded ones, best score first; blocked ones are left out.
    """
    ranked: list[tuple[int, float, int]] = []
    for i, (standing, score, cost) in enumerate(links):
        if standing is Standing.HEALTHY:
            ranked.append((0, cost if prefer == "cheapest" else 0.0, i))
        elif standing is Standing.DEGRADED:
            ranked.append((1, -score, i))
    return [i for _, _, i in sorted(ranked)]


@dataclass(frozen=True)
class Routing:
    """How a resolved alias orders its links at each call: by health, then by price."""

    alias: str
    book: HealthBook
    prefer: Literal["order", "cheapest"] = "order"
    rates: tuple[float, ...] = ()  # each link's ``rate``, in chain order

    def order(self, labels: tuple[str, ...]) -> list[int]:
        """Return the indexes of the links to try now, best first.

        Healthy links come first (in the chain's order, or cheapest first), then
        degraded ones (best score first); links whose circuit is open are left out.

        Raises:
            ModelUnavailableError: if every link's circuit is open.

        """
        found = [self.book.health(label) for label in labels]
        rates = self.rates or (0.0,) * len(labels)
        ranked = rank(
            [(h.standing, h.score, r) for h, r in zip(found, rates, strict=True)], self.prefer
        )
        if not ranked:
            waits = [
                f"{h.label} (tried again in {h.retry_in_s:.0f} s)" if h.retry_in_s else h.label
                for h in found
            ]
            raise ModelUnavailableError(
                f"every model of {self.alias!r} is failing and its circuit is open: "
                + ", ".join(waits)
            )
        return ranked


@dataclass(frozen=True)
class ResolvedModel:
    """A chat model chosen for an alias, with the providers that back it up.

    ``chat`` and ``label`` are the chain's first link (its tokenizer counts a
    stage's context). With ``routing``, each call orders the links by health
    (and price) when it is made; without it (a scripted model), the order is fixed.
    ``parallel`` is how many calls the first link serves at once (``parallel_of``):
    the build loop sends no more than that at a time. A fallback that serves
    fewer queues the rest itself (a server's slots, a provider's limits).
    """

    alias: str
    label: str
    chat: BaseChatModel
    bind_schema: Callable[[BaseChatModel, dict[str, Any]], Runnable[Any, Any]]
    fallbacks: tuple[ResolvedModel, ...] = field(default=())
    routing: Routing | None = None
    parallel: int = 1

    def _chain(self, make: Callable[[ResolvedModel], Runnable[Any, Any]]) -> Runnable[Any, Any]:
        """Return the links made by ``make``, redacted, with fallbacks, ordered per call."""
        links = (self, *self.fallbacks)
        if self.routing is None:
            head, *rest = [make(link) for link in links]
            return _REDACTED | (head.with_fallbacks(rest) if rest else head)
        routing, book = self.routing, self.routing.book
        watched = [WatchedModel(make(link), link.label, book) for link in links]
        labels = tuple(link.label for link in links)

        def pick(messages: Any) -> Runnable[Any, Any]:
            head, *rest = [watched[i] for i in routing.order(labels)]
            return head.with_fallbacks(rest) if rest else head

        return _REDACTED | RunnableLambda(pick, name=f"route:{self.alias}")

    def plain(self) -> Runnable[Any, Any]:
        """Return the model for free text, with the same fallbacks (secrets never reach it)."""
        return self._chain(lambda link: link.chat)

    def sampled(
        self,
        temperature: float,
        seed: int,
        max_tokens: int | None = None,
        repeat_penalty: float | None = None,
    ) -> Runnable[Any, Any]:
        """Return the model for free text sampled at ``temperature`` with ``seed``.

        Candidates of one body are drawn this way: the same prompt with another
        temperature or seed gives another answer, on every provider (each chat
        model is copied with the two settings; a provider without ``seed`` keeps
        its own). ``max_tokens`` replaces the reply's token cap where the
        provider has one (Ollama calls it ``num_predict``); ``repeat_penalty``
        replaces llama.cpp's repeat penalty where the provider samples with one
        (the embedded server and Ollama; others keep their own sampling).
        """

        def tuned(chat: BaseChatModel) -> BaseChatModel:
            fields = type(chat).model_fields
            update: dict[str, Any] = {"temperature": temperature} if "temperature" in fields else {}
            if "seed" in fields:
                update["seed"] = seed
            if max_tokens is not None:
                cap = next((f for f in ("max_tokens", "num_predict") if f in fields), None)
                if cap is not None:
                    update[cap] = max_tokens
            if repeat_penalty is not None and "repeat_penalty" in fields:
                update["repeat_penalty"] = repeat_penalty
            return chat.model_copy(update=update)

        return self._chain(lambda link: tuned(link.chat))

    def structured(self, schema: dict[str, Any]) -> Runnable[Any, Any]:
        """Return the model constrained to ``schema`` where the provider supports it."""
        return self._chain(lambda link: link.bind_schema(link.chat, schema))


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


def _bind_prompt_only(chat: BaseChatModel, schema: dict[str, Any]) -> Runnable[Any, Any]:
    return chat  # the prompt carries the contract; replies are repaired or retried


def parallel_of(entry: ModelEntry, settings: Settings, chat: BaseChatModel | None = None) -> int:
    """Return how many calls ``entry``'s model (``chat``, where built) serves at once.

    The embedded model served by llama-server as many as the server's slots;
    an Ollama server as many as its ``OLLAMA_NUM_PARALLEL``; any other provider
    (a cloud, an OpenAI-compatible server) a bounded number of concurrent requests.
    """
    if entry.provider == "embedded":
        if chat is None:
            return 1
        from devfactory.models.server_chat import served_slots

        return served_slots(chat)
    if entry.provider == "ollama":
        return settings.serving.ollama_num_parallel
    return settings.serving.provider_parallel


@dataclass(frozen=True)
class ChainLink:
    """One configured link as ``devfactory models`` and the API show it."""

    alias: str
    label: str
    available: bool
    rate: float  # USD per million tokens, the dearer of input and output
    over_ceiling: bool  # priced above the alias's ``max_usd_per_mtok``: never used
    prefer: str


class ModelRouter:
    """Resolve aliases against what is reachable now, once per alias per process.

    ``health`` watches every call of the models it resolves (one book per router,
    so per process: ``router_for``); the order of a chain is decided per call.
    """

    def __init__(
        self,
        settings: Settings,
        config: ModelsConfig | None = None,
        *,
        http: httpx.Client | None = None,
        health: HealthBook | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        self.settings = settings
        self.config = config or ModelsConfig.load(settings)
        self.health = health or HealthBook(HealthPolicy.from_settings(settings))
        self.prices = prices or load_prices(settings.serving.prices_file)
        self._http = http
        self._ollama_tags: set[str] | None = None
        self._cache: dict[str, ResolvedModel] = {}
        self._lock = threading.Lock()
        self._verified: dict[str, Path] = {}  # each embedded model's weights, checked once
        self._weights_lock = threading.Lock()

    @property
    def ollama_host(self) -> str:
        """Ollama's base URL, from ``OLLAMA_HOST`` (with or without a scheme)."""
        host = self.settings.serving.ollama_host or DEFAULT_OLLAMA
        return host if "://" in host else f"http://{host}"

    def ollama_models(self) -> set[str]:
        """Return the models the Ollama server has pulled (empty when unreachable)."""
        if self._ollama_tags is None:
            try:
                client = self._http or httpx.Client()
                resp = client.get(
                    f"{self.ollama_host}/api/tags", timeout=self.settings.serving.probe_timeout_s
                )
                resp.raise_for_status()
                names = {m["name"] for m in resp.json().get("models", [])}
                self._ollama_tags = names | {n.removesuffix(":latest") for n in names}
            except (httpx.HTTPError, ValueError, KeyError):
                self._ollama_tags = set()
        return self._ollama_tags

    def available(self, entry: ModelEntry) -> bool:
        """Say whether ``entry`` can serve now."""
        if (
            self.settings.serving.model_chain
            and entry.provider != self.settings.serving.model_chain
        ):
            return False
        if entry.provider == "ollama":
            return entry.model in self.ollama_models()
        if entry.kind == "embeddings":
            return entry.provider == "embedded" and minilm_available()
        if entry.provider == "embedded":
            return embedded_available(self.settings, packaged(entry.model))
        try:
            self._build(entry)
        except Exception:  # noqa: BLE001 - any construction failure means "not configured"
            return False
        return True

    def _server_plan(self, entry: ModelEntry) -> ServerPlan:
        """Return the plan of the shared server of ``entry``'s embedded model.

        One server per model file (and draft): the 1.5B with the 0.5B as its
        draft is another process than the 0.5B alone; their weights are mapped,
        so the page cache holds one copy of each file however many map it.
        """
        s = self.settings
        draft = None
        if entry.draft is not None and s.serving.embedded_speculative:
            try:
                draft = self._weights(packaged(entry.draft))
            except EmbeddedModelError as exc:  # the model still serves, only without help
                log.warning("%s is served without its draft: %s", entry.label, exc)
        threads = default_threads(s.serving.embedded_threads)
        return ServerPlan.from_settings(s, self._weights(packaged(entry.model)), threads, draft)

    def _weights(self, model: PackagedModel) -> Path:
        """Return ``model``'s file, joined and verified once per router."""
        with self._weights_lock:
            if model.name not in self._verified:
                self._verified[model.name] = ensure_model_file(
                    self.settings.storage.data_dir, model
                )
            return self._verified[model.name]

    def _served(self, entry: ModelEntry) -> BaseChatModel:
        """Return ``entry``'s embedded model as its shared server serves it (started on use)."""
        from devfactory.models.server_chat import build_served

        s = self.settings
        model = packaged(entry.model)
        penalty = s.serving.embedded_repeat_penalty  # the setting's, else the model's own
        return build_served(
            self._server_plan(entry),
            max_tokens=s.generation.stage_max_tokens,
            temperature=s.generation.temperature,
            timeout_s=s.serving.model_call_timeout_s,
            min_decode_tps=s.serving.served_min_decode_tps,
            repeat_penalty=model.repeat_penalty if penalty is None else penalty,
            schema_order=s.serving.embedded_schema_order or model.schema_order,
        )

    def _build(self, entry: ModelEntry) -> tuple[BaseChatModel, Callable[..., Runnable]]:
        s = self.settings
        chat: BaseChatModel
        if entry.provider == "ollama":
            from langchain_ollama import ChatOllama

            chat = ChatOllama(
                model=entry.model,
                base_url=self.ollama_host,
                temperature=s.generation.temperature,
                num_predict=s.generation.stage_max_tokens,
                num_ctx=s.serving.embedded_ctx,
                client_kwargs={"timeout": s.serving.model_call_timeout_s},
            )
            return chat, _bind_ollama
        if entry.provider == "embedded":
            from devfactory.models.server_chat import bind_server_schema

            return self._served(entry), bind_server_schema
        from langchain.chat_models import init_chat_model

        chat = init_chat_model(
            entry.model,
            model_provider=entry.provider,
            temperature=s.generation.temperature,
            max_tokens=s.generation.stage_max_tokens,
            timeout=s.serving.model_call_timeout_s,
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

    def over_ceiling(self, alias: str, entry: ModelEntry) -> bool:
        """Say whether ``entry`` costs more than ``alias``'s ceiling allows."""
        ceiling = self.config.route(alias).max_usd_per_mtok
        return ceiling is not None and rate(self.prices, entry.label) > ceiling

    def _resolve(self, alias: str) -> ResolvedModel:
        chain = [e for e in self.config.aliases.get(alias, ()) if e.kind == "chat"]
        if not chain:
            raise ModelUnavailableError(f"no chat models are configured for alias {alias!r}")
        route = self.config.route(alias)
        priced = [e for e in chain if not self.over_ceiling(alias, e)]
        if not priced:
            dear = ", ".join(f"{e.label} (${rate(self.prices, e.label):g})" for e in chain)
            raise ModelUnavailableError(
                f"no model of {alias!r} is priced within its ceiling of "
                f"${route.max_usd_per_mtok:g} per million tokens: {dear}"
            )
        ready = [e for e in priced if self.available(e)]
        if not ready:
            tried = ", ".join(e.label for e in priced)
            raise ModelUnavailableError(
                f"no model can serve {alias!r} (tried {tried}); start Ollama "
                f"({shown_url(self.ollama_host)}) or run `make setup` for the embedded model"
            )
        resolved, errors = [], []
        for entry in ready:
            try:
                chat, bind = self._build(entry)
            except Exception as exc:  # noqa: BLE001 - e.g. corrupt weights: try the next link
                errors.append(redact(f"{entry.label}: {exc}"))
                continue
            parallel = parallel_of(entry, self.settings, chat)
            resolved.append(ResolvedModel(alias, entry.label, chat, bind, parallel=parallel))
        if not resolved:
            raise ModelUnavailableError(f"no model could be loaded for {alias!r}: {errors}")
        head, *rest = resolved
        rates = tuple(rate(self.prices, link.label) for link in resolved)
        routing = Routing(alias, self.health, route.prefer, rates)
        return replace(head, fallbacks=tuple(rest), routing=routing)

    def start_servers(self) -> str | None:
        """Start the server of every embedded model an alias would call; say why none can serve.

        A server starts at its model's first call anyway; started here, before
        a run's first stage, one that cannot start is a reason a person reads at
        once. Its alias goes on to the next available link of its chain (the
        failure is logged); an alias left with no link returns why (None: every
        chat alias has a model that serves).
        """
        from devfactory.models.local_server import ServerError
        from devfactory.models.server_chat import ServerChatModel

        started: dict[str, str | None] = {}  # each server's label: why it did not start
        for alias in CHAT_ALIASES:
            try:
                resolved = self.resolve(alias)
            except ModelUnavailableError as exc:
                return str(exc)
            failed: list[str] = []
            for link in (resolved, *resolved.fallbacks):
                if not isinstance(link.chat, ServerChatModel):
                    break  # a provider that needs no start: the alias has a model
                if link.label not in started:
                    try:
                        link.chat.server.ensure()
                        started[link.label] = None
                    except ServerError as exc:
                        started[link.label] = redact(str(exc))
                why = started[link.label]
                if why is None:
                    break
                failed.append(f"{link.label}: {why}")
            else:
                return f"no model can serve {alias!r}: the embedded model's server could not " \
                    f"start ({'; '.join(failed)})"  # fmt: skip
            for why in failed:
                log.warning("%s; %r goes on to the next model of its chain", why, alias)
        return None

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
                return embedded_minilm(threads=max(1, self.settings.serving.embedded_threads or 1))
        raise EmbedderUnavailableError(f"no embedder in the {EMBED_ALIAS} chain is available")

    def embedded_servers(self) -> list[tuple[PackagedModel, PackagedModel | None]]:
        """Return each embedded chat model the chains name, with the draft it is served with.

        One entry per server (a model, and its draft where ``embedded_speculative``
        keeps it), in the order the chains name them.
        """
        found: list[tuple[PackagedModel, PackagedModel | None]] = []
        for chain in self.config.aliases.values():
            for entry in chain:
                if entry.provider != "embedded" or entry.kind != "chat":
                    continue
                draft = entry.draft if self.settings.serving.embedded_speculative else None
                pair = (packaged(entry.model), packaged(draft) if draft is not None else None)
                if pair not in found:
                    found.append(pair)
        return found

    def describe(self) -> list[tuple[str, str, bool]]:
        """List ``(alias, model label, available)`` for every configured entry."""
        return [
            (alias, e.label, self.available(e))
            for alias, chain in self.config.aliases.items()
            for e in chain
        ]

    def links(self) -> list[ChainLink]:
        """List every configured link with its availability, price and the alias's preference."""
        return [
            ChainLink(
                alias=alias,
                label=e.label,
                available=self.available(e),
                rate=rate(self.prices, e.label),
                over_ceiling=self.over_ceiling(alias, e),
                prefer=self.config.route(alias).prefer,
            )
            for alias, chain in self.config.aliases.items()
            for e in chain
        ]

    def view(self, health: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Return every link with its health (``health`` by label) and its place now.

        ``order`` is where a call made now would try the link (1 first; None: not
        tried, because it is unavailable, over its alias's price ceiling or its
        circuit is open). A link with no health yet made no call: it is trusted.
        """
        rows: list[dict[str, Any]] = []
        by_alias: dict[str, list[tuple[ChainLink, dict[str, Any]]]] = {}
        for link in self.links():  # the embedder's chain too: the first available serves
            found = health.get(link.label)
            row: dict[str, Any] = {
                "alias": link.alias,
                "model": link.label,
                "available": link.available,
                "usd_per_mtok": link.rate,
                "over_ceiling": link.over_ceiling,
                "prefer": link.prefer,
                "health": dict(found) if found is not None else None,
                "order": None,
            }
            rows.append(row)
            if link.available and not link.over_ceiling:
                by_alias.setdefault(link.alias, []).append((link, row))
        for alias, usable in by_alias.items():
            judged = [
                (
                    Standing((row["health"] or {}).get("standing", Standing.HEALTHY)),
                    float((row["health"] or {}).get("score", 1.0)),
                    link.rate,
                )
                for link, row in usable
            ]
            for place, i in enumerate(rank(judged, self.config.route(alias).prefer), start=1):
                usable[i][1]["order"] = place
        return rows


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
    if not settings.serving.models_factory:
        return router_for(settings)
    module, _, name = settings.serving.models_factory.partition(":")
    source: ModelSource = getattr(importlib.import_module(module), name)()
    return source
