"""The embedded model served by the shared llama-server, spoken to like any OpenAI endpoint.

``ServerChatModel`` is LangChain's ``ChatOpenAI`` pointed at the server's
OpenAI-compatible ``/v1``: the code path of every OpenAI-compatible provider.
Its HTTP transport finds the server (``LocalServer.ensure``) at each request,
which starts it on first use, adds the server's API key, and, when a request
finds the server gone or loses it mid-reply, starts another and sends the
request once more.

A call is timed by its progress, not by the wall clock from sending: replies
are streamed, the server sends their headers when a slot takes the request
(it pings a silent stream every 30 s), and the transport reads each reply
whole before handing it on (so a reply lost midway is sent again, whole).
A call fails when no slot takes it or the stream stays silent for
``model_call_timeout_s``, or when its reply outlasts ``reply_cap_s`` from the
moment a slot took it (that timeout at least, more for a larger token cap at
``served_min_decode_tps``): candidates decoded together on shared cores are
not failed while they progress.

A JSON schema is turned into a GBNF grammar (``json_schema_grammar``) by the
converter the locked llama-cpp-python sdist ships (pure Python, kept by ``make
setup`` beside the server's sources: ``server_build.converter_at``), with two
changes, and sent in llama.cpp's ``grammar`` field. The server's own
``json_schema`` field goes through its chat template's response-format parser
(which also admits a fenced block), and changed what the 0.5B answers: the
grammar keeps every reply as the embedded models were always asked for it.
Usage comes from the server's replies; its own per-request counts (``timings``,
sent with a streamed reply's last chunk) are kept in the reply's metadata.

Why one module: the chat model, the transports it sends through and the grammar it binds
are one way of speaking to llama-server; the router reaches all of them here and nothing
else uses the transports.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import lru_cache
from types import ModuleType
from typing import Any

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import Field, SecretStr, SkipValidation

from devfactory.models.local_server import (
    Endpoint,
    LocalServer,
    ServerError,
    ServerPlan,
    ServerStatus,
    local_server,
    server_status,
)
from devfactory.models.packaged import PackagedModel, SchemaOrder
from devfactory.models.server_build import converter_at
from devfactory.settings import FlatSettings, Settings

BASE_URL = "http://llama-server/v1"
"""The host is a placeholder: requests go to the server's unix socket."""
LOST = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""What a request gets when the server is gone or dies under it (a timeout is not one)."""


KEPT_HEADERS = frozenset({"content-type"})
"""The headers of a reply read whole that still hold (its length and chunking no longer do)."""


def _addressed(request: httpx.Request, endpoint: Endpoint) -> httpx.Request:
    request.headers["Authorization"] = f"Bearer {endpoint.key}"
    return request


def reply_cap_s(request: httpx.Request, floor_s: float, min_tps: float) -> float | None:
    """Return how long a reply to ``request`` may take once a slot has it (None: no chat reply).

    ``floor_s`` at least; a cap of N tokens raises it to N / ``min_tps``.
    """
    if not request.url.path.endswith("/chat/completions"):
        return None
    try:
        body = json.loads(request.content)
        tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    except (ValueError, AttributeError):
        tokens = None
    if not isinstance(tokens, int) or tokens <= 0:
        return floor_s
    return max(floor_s, tokens / min_tps)


class _Clock:
    """The deadline of one reply, counted from its headers (a slot took the request)."""

    def __init__(self, request: httpx.Request, cap_s: float | None) -> None:
        self.request = request
        self.cap_s = cap_s
        self.started = time.monotonic()

    def check(self) -> None:
        """Raise ``httpx.ReadTimeout`` once the reply has outlasted its cap."""
        if self.cap_s is not None and time.monotonic() - self.started > self.cap_s:
            raise httpx.ReadTimeout(
                f"the model server's reply ran past {self.cap_s:g} s after a slot took it "
                "(served_min_decode_tps)",
                request=self.request,
            )


def _whole(response: httpx.Response, body: bytes) -> httpx.Response:
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() in KEPT_HEADERS]
    return httpx.Response(response.status_code, headers=headers, content=body)


def read_whole(response: httpx.Response, clock: _Clock) -> httpx.Response:
    """Return ``response`` read to its end within ``clock``'s cap."""
    body = bytearray()
    stream = response.stream
    assert isinstance(stream, httpx.SyncByteStream)
    try:
        for piece in stream:
            body += piece
            clock.check()
    finally:
        stream.close()
    return _whole(response, bytes(body))


async def aread_whole(response: httpx.Response, clock: _Clock) -> httpx.Response:
    """``read_whole`` for async callers."""
    body = bytearray()
    stream = response.stream
    assert isinstance(stream, httpx.AsyncByteStream)
    try:
        async for piece in stream:
            body += piece
            clock.check()
    finally:
        await stream.aclose()
    return _whole(response, bytes(body))


class ServerTransport(httpx.BaseTransport):
    """Send each request to the shared server (started if none runs); retry once after a restart.

    Each reply is read whole within its cap (``reply_cap_s``): ``timeout_s`` is its floor,
    ``min_tps`` the slowest decoding a reply's token cap is given time for.
    """

    def __init__(self, server: LocalServer, timeout_s: float, min_tps: float) -> None:
        self.server = server
        self.timeout_s = timeout_s
        self.min_tps = min_tps
        self._sockets: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()  # candidates are drawn from several threads

    def _via(self, endpoint: Endpoint) -> httpx.HTTPTransport:
        with self._lock:
            if endpoint.socket not in self._sockets:
                self._sockets[endpoint.socket] = httpx.HTTPTransport(uds=endpoint.socket)
            return self._sockets[endpoint.socket]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; if the server is lost, restart it and send it once more."""
        request.read()  # a retry sends the same body again
        cap_s = reply_cap_s(request, self.timeout_s, self.min_tps)
        endpoint = self.server.ensure()
        try:
            return self._sent(endpoint, request, cap_s)
        except LOST:
            endpoint = self.server.recover(endpoint)
            return self._sent(endpoint, request, cap_s)

    def _sent(
        self, endpoint: Endpoint, request: httpx.Request, cap_s: float | None
    ) -> httpx.Response:
        response = self._via(endpoint).handle_request(_addressed(request, endpoint))
        return read_whole(response, _Clock(request, cap_s))

    def close(self) -> None:
        """Close the connections to every server this transport used."""
        for transport in self._sockets.values():
            transport.close()


class AsyncServerTransport(httpx.AsyncBaseTransport):
    """``ServerTransport`` for async callers (a start waits in a thread)."""

    def __init__(self, server: LocalServer, timeout_s: float, min_tps: float) -> None:
        self.server = server
        self.timeout_s = timeout_s
        self.min_tps = min_tps
        self._sockets: dict[str, httpx.AsyncHTTPTransport] = {}

    def _via(self, endpoint: Endpoint) -> httpx.AsyncHTTPTransport:
        if endpoint.socket not in self._sockets:
            self._sockets[endpoint.socket] = httpx.AsyncHTTPTransport(uds=endpoint.socket)
        return self._sockets[endpoint.socket]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; if the server is lost, restart it and send it once more."""
        await request.aread()
        cap_s = reply_cap_s(request, self.timeout_s, self.min_tps)
        endpoint = await asyncio.to_thread(self.server.ensure)
        try:
            return await self._sent(endpoint, request, cap_s)
        except LOST:
            endpoint = await asyncio.to_thread(self.server.recover, endpoint)
            return await self._sent(endpoint, request, cap_s)

    async def _sent(
        self, endpoint: Endpoint, request: httpx.Request, cap_s: float | None
    ) -> httpx.Response:
        response = await self._via(endpoint).handle_async_request(_addressed(request, endpoint))
        return await aread_whole(response, _Clock(request, cap_s))


@contextmanager
def _said_why() -> Iterator[None]:
    """Raise why the server could not start, not the client's bare "Connection error."."""
    try:
        yield
    except openai.APIConnectionError as exc:
        if isinstance(exc.__cause__, ServerError):
            raise exc.__cause__ from None
        raise


class ServerChatModel(ChatOpenAI):
    """``ChatOpenAI`` on the shared llama-server, with llama.cpp's own sampling options.

    A server that cannot start fails the call with its ``ServerError`` (what the
    supervisor or the server's log said), where the OpenAI client would only
    say it could not connect.
    """

    server: SkipValidation[LocalServer] = Field(exclude=True)
    repeat_penalty: float = 1.1
    schema_order: SchemaOrder = "sorted"  # the order of a structured answer's fields

    @property
    def _default_params(self) -> dict[str, Any]:
        params = dict(super()._default_params)
        params["extra_body"] = {"repeat_penalty": self.repeat_penalty, **(self.extra_body or {})}
        return params

    @property
    def _llm_type(self) -> str:
        return "devfactory-embedded-server"

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        with _said_why():
            yield from super()._stream(*args, **kwargs)

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        with _said_why():
            async for chunk in super()._astream(*args, **kwargs):
                yield chunk

    def count_tokens(self, text: str) -> int:
        """Count ``text`` in the served model's own tokens (for context packing)."""
        assert self.http_client is not None  # build_served gives it the server's transport
        reply = self.http_client.post(
            "http://llama-server/tokenize",
            json={"content": text, "add_special": False, "parse_special": False},
        )
        reply.raise_for_status()
        return len(reply.json()["tokens"])

    def _convert_chunk_to_generation_chunk(
        self,
        chunk: dict[str, Any],
        default_chunk_class: type,
        base_generation_info: dict[str, Any] | None,
    ) -> ChatGenerationChunk | None:
        """Keep the server's own counts, sent with a streamed reply's last chunk."""
        converted = super()._convert_chunk_to_generation_chunk(
            chunk, default_chunk_class, base_generation_info
        )
        timings = chunk.get("timings")
        if converted is not None and timings:
            converted.message.response_metadata["timings"] = timings
        return converted


_CHAR_RULE = r'char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})'
_GRAMMAR_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _converter() -> ModuleType:
    """Load the sdist's ``llama_grammar.py`` from where ``make setup`` kept it."""
    path = converter_at()
    spec = importlib.util.spec_from_file_location("devfactory_llama_grammar", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ServerError(f"llama.cpp's grammar converter is not at {path}: run `make setup`")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=64)
def json_schema_grammar(schema_json: str) -> str:
    """Convert a JSON schema to GBNF that a small model cannot wander out of.

    Two changes to the converter of llama-cpp-python (pinned at 0.3.36): bounded
    strings use GBNF's ``{m,n}`` repetition instead of thousands of nested
    optionals, and string characters exclude raw control characters, which
    would make the JSON invalid.
    """
    grammar: Any = _converter()  # the sdist's module, loaded from its file: untyped
    original = grammar._build_repetition

    def compact(
        item_rule: str,
        min_items: int,
        max_items: int | None,
        separator_rule: str | None = None,
        item_rule_is_literal: bool = False,
    ) -> str:
        if separator_rule is None and not item_rule_is_literal and (max_items or 0) > 1:
            return f"{item_rule}{{{min_items},{max_items}}}"
        return str(original(item_rule, min_items, max_items, separator_rule, item_rule_is_literal))

    with _GRAMMAR_LOCK:
        grammar._build_repetition = compact
        try:
            text = str(grammar.json_schema_to_gbnf(schema_json))
        finally:
            grammar._build_repetition = original
    lines = [_CHAR_RULE if ln.startswith("char ::=") else ln for ln in text.splitlines()]
    return "\n".join(lines) + "\n"


def schema_grammar(schema: dict[str, Any], order: SchemaOrder) -> str:
    """Return ``schema``'s grammar, its fields to be written in ``order``.

    The converter writes an object's fields in the order the schema lists them:
    ``sorted`` lists them alphabetically (as the embedded models have always
    been asked), ``declared`` as the schema declares them.
    """
    return json_schema_grammar(json.dumps(schema, sort_keys=order == "sorted"))


def bind_server_schema(chat: BaseChatModel, schema: dict[str, Any]) -> Runnable[Any, Any]:
    """Constrain ``chat``'s replies to ``schema`` with llama.cpp's grammar (GBNF)."""
    grammar = schema_grammar(schema, getattr(chat, "schema_order", "sorted"))
    extra = dict(getattr(chat, "extra_body", None) or {})
    repeat = getattr(chat, "repeat_penalty", None)
    if repeat is not None:
        extra.setdefault("repeat_penalty", repeat)
    return chat.bind(extra_body={**extra, "grammar": grammar})


def build_served(
    plan: ServerPlan,
    *,
    max_tokens: int,
    temperature: float,
    timeout_s: float,
    min_decode_tps: float = FlatSettings.model_fields["served_min_decode_tps"].default,
    repeat_penalty: float = ServerChatModel.model_fields["repeat_penalty"].default,
    schema_order: SchemaOrder = "sorted",
) -> ServerChatModel:
    """Return the chat model of ``plan``'s server (started at its first request).

    ``timeout_s`` bounds the wait for a slot and any silence after it;
    ``min_decode_tps`` the whole reply (``reply_cap_s``).
    """
    server = local_server(plan)
    return ServerChatModel(
        model=plan.model.stem,  # the alias the server was started with (--alias)
        base_url=BASE_URL,
        api_key=SecretStr("the-transport-adds-the-server-key"),
        temperature=temperature,
        repeat_penalty=repeat_penalty,
        schema_order=schema_order,
        seed=0,
        max_completion_tokens=max_tokens,
        timeout=timeout_s,
        max_retries=0,  # the transport retries once after a restart; the router does the rest
        streaming=True,  # the headers say a slot took the call; progress times it, not sending
        stream_usage=True,
        http_socket_options=(),  # TCP keep-alive options mean nothing on a unix socket
        http_client=httpx.Client(
            transport=ServerTransport(server, timeout_s, min_decode_tps), timeout=timeout_s
        ),
        http_async_client=httpx.AsyncClient(
            transport=AsyncServerTransport(server, timeout_s, min_decode_tps), timeout=timeout_s
        ),
        server=server,
    )


def embedded_server_status(
    settings: Settings, model: PackagedModel, draft: PackagedModel | None = None
) -> ServerStatus:
    """Return ``model``'s shared server (with ``draft``) as it is now (``devfactory models``)."""
    drafted = draft.file(settings.storage.data_dir) if draft is not None else None
    return server_status(settings, model.file(settings.storage.data_dir), model.size, drafted)


def served_slots(chat: BaseChatModel) -> int:
    """Return how many calls ``chat`` decodes at once: the server's slots, else 1.

    The running server's own count wins (it may have been started by a process
    with other settings); before it runs, the planned count.
    """
    if not isinstance(chat, ServerChatModel):
        return 1
    running = chat.server.running()
    return running.slots if running is not None else chat.server.plan.slots
