"""A stand-in for ``llama-server`` speaking the few endpoints the factory uses.

Run as ``python -m tests.fake_llama_server <llama-server's arguments>`` (tests
write a small executable that does so, and name it as the server's binary). It
listens on the ``--host`` unix socket, asks for the API key from
``LLAMA_API_KEY`` on everything but ``/health``, decodes at most ``--parallel``
requests at once (the others wait, as llama.cpp defers them), and answers:

- ``/v1/chat/completions``: a reply whose text is the JSON of what the factory
  sent that llama.cpp would sample with (grammar, seed, temperature, ...), with
  ``usage`` and ``timings`` counting one token per word. Asked to stream, it
  sends the headers as soon as a slot takes the request, then one chunk per
  word, the last with ``usage`` and ``timings``, as llama-server does;
- ``/tokenize``: one token per word; ``/health``, ``/slots`` and ``/metrics``.

Its behaviour for a test comes from the environment: ``FAKE_LLAMA_DELAY_S``
(seconds each reply takes in its slot before its first word), ``FAKE_LLAMA_WORD_S``
(seconds between the words of a streamed reply), ``FAKE_LLAMA_LOAD_S`` (seconds ``/health`` says
"loading"), ``FAKE_LLAMA_DIE`` (exit at the first chat request),
``FAKE_LLAMA_RECORD`` (a file each start appends its arguments to, one JSON line),
and ``FAKE_LLAMA_SCRIPT`` (``module:function``, a script of ``tests/fakes.py``):
with it, a chat reply's text is what the scripted model answers to the messages
sent, so a whole run can be served by the fake (its weights' file is never read).

``write_binary(path)`` writes the executable that tests name as the server's binary.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import socketserver
import sys
import textwrap
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def write_binary(path: Path) -> Path:
    """Write an executable at ``path`` that runs this fake with llama-server's arguments."""
    path.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            export PYTHONPATH="{ROOT}${{PYTHONPATH:+:$PYTHONPATH}}"
            exec "{sys.executable}" -m tests.fake_llama_server "$@"
            """
        )
    )
    path.chmod(0o755)
    return path


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """A threaded HTTP server on a unix socket."""

    daemon_threads = True
    request_queue_size = 128  # callers at once wait, as llama-server's callers do


class State:
    """What the fake has decoded, for ``/metrics`` and ``/slots``."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.free = threading.Semaphore(slots)
        self.lock = threading.Lock()
        self.busy = 0
        self.peak = 0
        self.decodes = 0
        self.prompt_tokens = 0
        self.predicted_tokens = 0
        self.loaded_at = time.monotonic() + float(os.environ.get("FAKE_LLAMA_LOAD_S", "0"))


@cache
def scripted(script: str) -> Any:
    """Return the scripted model answering with ``script`` (``module:function``)."""
    from tests.fakes import ScriptedChatModel

    module, _, name = script.partition(":")
    return ScriptedChatModel(script=getattr(importlib.import_module(module), name))


def scripted_reply(script: str, messages: list[dict[str, Any]]) -> str:
    """Return what the scripted model of ``script`` answers to the OpenAI ``messages``."""
    from langchain_core.messages import convert_to_messages

    return str(scripted(script).invoke(convert_to_messages(messages)).content)


def words(text: str) -> int:
    """Count tokens as the fake does: one per word."""
    return len(text.split())


def handler(state: State, key: str) -> type[BaseHTTPRequestHandler]:
    """Return the request handler of a fake with ``state`` and API ``key``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Log nothing (a unix socket has no client address to log)."""

        def address_string(self) -> str:
            """Name the client (a unix socket has no address)."""
            return "unix"

        def send(self, status: int, body: Any, kind: str = "application/json") -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def allowed(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {key}":
                return True
            self.send(401, {"error": {"code": 401, "message": "Invalid API Key"}})
            return False

        def do_GET(self) -> None:
            if self.path == "/health":
                if time.monotonic() < state.loaded_at:
                    self.send(503, {"error": {"code": 503, "message": "Loading model"}})
                else:
                    self.send(200, {"status": "ok"})
            elif not self.allowed():
                return
            elif self.path == "/slots":
                with state.lock:
                    busy = state.busy
                self.send(
                    200,
                    [{"id": i, "n_ctx": 0, "is_processing": i < busy} for i in range(state.slots)],
                )
            elif self.path == "/metrics":
                with state.lock:
                    lines = {
                        "llamacpp:prompt_tokens_total": state.prompt_tokens,
                        "llamacpp:tokens_predicted_total": state.predicted_tokens,
                        "llamacpp:prompt_tokens_seconds": 250.5,
                        "llamacpp:predicted_tokens_seconds": 14.5,
                        "llamacpp:requests_processing": state.busy,
                        "llamacpp:n_decode_total": state.decodes,
                        "fake:peak_busy": state.peak,
                    }
                # as llama-server writes it: each sample after its HELP and TYPE lines
                text = "".join(
                    f"# HELP {k} {k}\n# TYPE {k} gauge\n{k} {v}\n" for k, v in lines.items()
                )
                self.send(200, text, "text/plain")
            else:
                self.send(404, {"error": {"code": 404, "message": "not found"}})

        def do_POST(self) -> None:
            if not self.allowed():
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/tokenize":
                self.send(200, {"tokens": list(range(words(body["content"])))})
            elif self.path == "/v1/chat/completions":
                self.chat(body)
            else:
                self.send(404, {"error": {"code": 404, "message": "not found"}})

        def chat(self, body: dict[str, Any]) -> None:
            if os.environ.get("FAKE_LLAMA_DIE"):
                os._exit(3)
            with state.free:
                with state.lock:
                    state.busy += 1
                    state.peak = max(state.peak, state.busy)
                try:
                    if body.get("stream"):
                        self.stream_started()  # the headers: a slot took the request
                    time.sleep(float(os.environ.get("FAKE_LLAMA_DELAY_S", "0")))
                    reply = self.reply(body)
                    if body.get("stream"):
                        self.stream_reply(reply)
                finally:
                    with state.lock:
                        state.busy -= 1
            if not body.get("stream"):
                self.send(200, reply)

        def stream_started(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()

        def event(self, data: str) -> None:
            piece = f"data: {data}\n\n".encode()
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.flush()

        def stream_reply(self, reply: dict[str, Any]) -> None:
            """Send ``reply`` as llama-server streams one: a chunk a word, then the counts."""
            pause = float(os.environ.get("FAKE_LLAMA_WORD_S", "0"))
            head = {k: reply[k] for k in ("id", "created", "model")}
            head["object"] = "chat.completion.chunk"
            text = reply["choices"][0]["message"]["content"]
            for i, word in enumerate(text.split(" ")):
                delta = {"content": word if i == 0 else f" {word}"}
                self.event(
                    json.dumps(
                        {**head, "choices": [{"index": 0, "finish_reason": None, "delta": delta}]}
                    )
                )
                time.sleep(pause)
            done = {"index": 0, "finish_reason": "stop", "delta": {}}
            self.event(json.dumps({**head, "choices": [done]}))
            counts = {"usage": reply["usage"], "timings": reply["timings"]}
            self.event(json.dumps({**head, "choices": [], **counts}))
            self.event("[DONE]")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def reply(self, body: dict[str, Any]) -> dict[str, Any]:
            """Return the whole reply to a chat request ``body``."""
            sent = {
                k: body.get(k)
                for k in ("temperature", "seed", "max_completion_tokens", "repeat_penalty")
            }
            sent["grammar"] = body.get("grammar")
            sent["json_schema"] = body.get("json_schema")
            sent["pid"] = os.getpid()
            script = os.environ.get("FAKE_LLAMA_SCRIPT")
            content = scripted_reply(script, body["messages"]) if script else json.dumps(sent)
            prompt = sum(words(str(m.get("content", ""))) for m in body["messages"])
            predicted = words(content)
            with state.lock:
                state.decodes += predicted
                state.prompt_tokens += prompt
                state.predicted_tokens += predicted
            return {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": predicted,
                    "total_tokens": prompt + predicted,
                },
                "timings": {"cache_n": 0, "prompt_n": prompt, "predicted_n": predicted},
            }

    return Handler


def main(argv: list[str]) -> None:
    """Serve on ``--host`` until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--parallel", type=int, default=1)
    args, _ = parser.parse_known_args(argv)
    if record := os.environ.get("FAKE_LLAMA_RECORD"):
        with open(record, "a") as out:
            out.write(json.dumps({"pid": os.getpid(), "argv": argv}) + "\n")
    state = State(args.parallel)
    server = Server(args.host, handler(state, os.environ["LLAMA_API_KEY"]))
    print(f"fake llama-server listening on {args.host}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
