"""The embedded model served by the shared llama-server, spoken to like any OpenAI endpoint.

``ServerChatModel`` is LangChain's ``ChatOpenAI`` pointed at the server's
OpenAI-compatible ``/v1``: the code path of every OpenAI-compatible provider.
Its HTTP transport finds the server (``LocalServer.ensure``) at each request,
which starts it on first use, adds the server's API key, and, when a request
finds the server gone or loses it mid-reply, starts another and sends the
request once more. A JSON schema is turned into GBNF by the same
``json_schema_grammar`` the in-process adapter uses and sent in llama.cpp's
``grammar`` field, so both constrain replies identically. Usage comes from the
server's replies; its own per-request counts (``timings``) are kept in the
reply's metadata.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import Field, SecretStr, SkipValidation

from devfactory.models.embedded import MODEL_NAME, MODEL_SIZE, json_schema_grammar
from devfactory.models.local_server import (
    Endpoint,
    LocalServer,
    ServerPlan,
    ServerStatus,
    local_server,
    server_status,
)
from devfactory.settings import Settings

BASE_URL = "http://llama-server/v1"
"""The host is a placeholder: requests go to the server's unix socket."""
LOST = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""What a request gets when the server is gone or dies under it (a timeout is not one)."""


def _addressed(request: httpx.Request, endpoint: Endpoint) -> httpx.Request:
    request.headers["Authorization"] = f"Bearer {endpoint.key}"
    return request


class ServerTransport(httpx.BaseTransport):
    """Send each request to the shared server (started if none runs); retry once after a restart."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
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
        endpoint = self.server.ensure()
        try:
            return self._via(endpoint).handle_request(_addressed(request, endpoint))
        except LOST:
            endpoint = self.server.recover(endpoint)
            return self._via(endpoint).handle_request(_addressed(request, endpoint))

    def close(self) -> None:
        """Close the connections to every server this transport used."""
        for transport in self._sockets.values():
            transport.close()


class AsyncServerTransport(httpx.AsyncBaseTransport):
    """``ServerTransport`` for async callers (a start waits in a thread)."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self._sockets: dict[str, httpx.AsyncHTTPTransport] = {}

    def _via(self, endpoint: Endpoint) -> httpx.AsyncHTTPTransport:
        if endpoint.socket not in self._sockets:
            self._sockets[endpoint.socket] = httpx.AsyncHTTPTransport(uds=endpoint.socket)
        return self._sockets[endpoint.socket]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; if the server is lost, restart it and send it once more."""
        await request.aread()
        endpoint = await asyncio.to_thread(self.server.ensure)
        try:
            return await self._via(endpoint).handle_async_request(_addressed(request, endpoint))
        except LOST:
            endpoint = await asyncio.to_thread(self.server.recover, endpoint)
            return await self._via(endpoint).handle_async_request(_addressed(request, endpoint))


class ServerChatModel(ChatOpenAI):
    """``ChatOpenAI`` on the shared llama-server, with llama.cpp's own sampling options."""

    server: SkipValidation[LocalServer] = Field(exclude=True)
    repeat_penalty: float = 1.1

    @property
    def _default_params(self) -> dict[str, Any]:
        params = dict(super()._default_params)
        params["extra_body"] = {"repeat_penalty": self.repeat_penalty, **(self.extra_body or {})}
        return params

    @property
    def _llm_type(self) -> str:
        return "devfactory-embedded-server"

    def count_tokens(self, text: str) -> int:
        """Count ``text`` in the served model's own tokens (for context packing)."""
        assert self.http_client is not None  # build_served gives it the server's transport
        reply = self.http_client.post(
            "http://llama-server/tokenize",
            json={"content": text, "add_special": False, "parse_special": False},
        )
        reply.raise_for_status()
        return len(reply.json()["tokens"])

    def _create_chat_result(
        self, response: Any, generation_info: dict[str, Any] | None = None
    ) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        raw = response if isinstance(response, dict) else response.model_dump()
        timings = raw.get("timings")
        if timings:
            for generation in result.generations:
                generation.message.response_metadata["timings"] = timings
        return result


def bind_server_schema(chat: BaseChatModel, schema: dict[str, Any]) -> Runnable[Any, Any]:
    """Constrain ``chat``'s replies to ``schema`` with llama.cpp's grammar (GBNF)."""
    grammar = json_schema_grammar(json.dumps(schema, sort_keys=True))
    extra = dict(getattr(chat, "extra_body", None) or {})
    repeat = getattr(chat, "repeat_penalty", None)
    if repeat is not None:
        extra.setdefault("repeat_penalty", repeat)
    return chat.bind(extra_body={**extra, "grammar": grammar})


def build_served(
    plan: ServerPlan, *, max_tokens: int, temperature: float, timeout_s: float | None
) -> ServerChatModel:
    """Return the chat model of ``plan``'s server (started at its first request)."""
    server = local_server(plan)
    return ServerChatModel(
        model=MODEL_NAME,
        base_url=BASE_URL,
        api_key=SecretStr("the-transport-adds-the-server-key"),
        temperature=temperature,
        seed=0,
        max_completion_tokens=max_tokens,
        timeout=timeout_s,
        max_retries=0,  # the transport retries once after a restart; the router does the rest
        stream_usage=True,
        http_socket_options=(),  # TCP keep-alive options mean nothing on a unix socket
        http_client=httpx.Client(transport=ServerTransport(server), timeout=timeout_s),
        http_async_client=httpx.AsyncClient(
            transport=AsyncServerTransport(server), timeout=timeout_s
        ),
        server=server,
    )


def embedded_server_status(settings: Settings) -> ServerStatus:
    """Return the embedded model's shared server as it is now (``devfactory models``)."""
    model = settings.data_dir / "models" / f"{MODEL_NAME}.gguf"
    return server_status(settings, model, MODEL_SIZE)


def served_slots(chat: BaseChatModel) -> int:
    """Return how many calls ``chat`` decodes at once: the server's slots, else 1.

    The running server's own count wins (it may have been started by a process
    with other settings); before it runs, the planned count.
    """
    if not isinstance(chat, ServerChatModel):
        return 1
    running = chat.server.running()
    return running.slots if running is not None else chat.server.plan.slots
