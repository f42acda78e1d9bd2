"""The benchmarks' own llama-server: the shared server's code, in a private state folder.

The shared server is found through a host-wide folder (``<tmp>/devfactory-llama-<uid>``);
a benchmark that used it would share slots with whatever else runs, and would run with
the slots someone else started it with. Pointing the temporary folder of this process
(and of the workers it starts, through ``TMPDIR``) at a folder of its own gives the
benchmark a server of its own, started, leased, found and stopped by the very code
every process uses (``LocalServer``, ``ServerTransport``), with the slots it asks for.

A request asks for exactly ``tokens`` generated tokens (``ignore_eos``) and reads no
prompt cache, so that every round decodes the same work; the server's own per-request
counts (``timings``) are returned with the reply.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import tempfile
from pathlib import Path
from typing import Any, Final

import httpx

from devfactory.models.local_server import LocalServer, ServerPlan, default_threads, local_server
from devfactory.models.packaged import ensure_model_file
from devfactory.models.server_chat import ServerTransport
from devfactory.settings import FlatSettings, Settings

MODEL_ENV: Final = "DEVFACTORY_BENCH_MODEL"
"""The model file the benchmark's server serves, for the processes it starts."""
SLOTS_ENV: Final = "DEVFACTORY_BENCH_SLOTS"
"""The slots of the benchmark's server, for the processes it starts."""
PROMPTS: Final = (
    "Explain in plain words what a unit test is for.",
    "Describe how a command-line tool reads its arguments.",
    "Say why a web service keeps its state in a database.",
    "Tell how a hash map finds a key.",
    "Explain what a git commit records.",
    "Describe what a compiler does with a source file.",
    "Say what a thread pool is good for.",
    "Explain why logs carry timestamps.",
)
"""One prompt per sequence, the same set in every round (a round of n uses the first n)."""


def private_tmp(folder: Path) -> dict[str, str]:
    """Make ``folder`` this process's temporary folder; return the env that gives it to children.

    ``folder`` should have a short path: the server's unix socket lives under it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)
    return {"TMPDIR": str(folder)}


def plan(settings: Settings, model: Path, slots: int) -> ServerPlan:
    """Return the server plan of ``settings`` for ``model``, with ``slots`` sequences at once."""
    threads = default_threads(settings.serving.embedded_threads)
    return dataclasses.replace(ServerPlan.from_settings(settings, model, threads), slots=slots)


def model_file(settings: Settings) -> Path:
    """Return the embedded model's file: ``MODEL_ENV``'s, else the data directory's (verified)."""
    named = os.environ.get(MODEL_ENV)
    return Path(named) if named else ensure_model_file(settings.storage.data_dir)


def client(server: LocalServer, timeout_s: float = 600.0) -> httpx.Client:
    """Return an HTTP client that reaches ``server`` the way ``ServerChatModel`` does."""
    min_tps = FlatSettings.model_fields["served_min_decode_tps"].default
    return httpx.Client(transport=ServerTransport(server, timeout_s, min_tps), timeout=timeout_s)


def server_of(settings: Settings) -> LocalServer:
    """Return this process's handle on the benchmark's server (``MODEL_ENV``, ``SLOTS_ENV``)."""
    slots = int(os.environ.get(SLOTS_ENV, settings.serving.embedded_server_slots))
    return local_server(plan(settings, model_file(settings), slots))


def generate(http: httpx.Client, prompt: str, tokens: int, seed: int = 0) -> dict[str, Any]:
    """Ask the server for exactly ``tokens`` tokens after ``prompt``; return its ``timings``.

    Raises:
        httpx.HTTPStatusError: the server refused the request.

    """
    reply = http.post(
        "http://llama-server/v1/chat/completions",
        json={
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": tokens,
            "temperature": 0.0,
            "seed": seed,
            "ignore_eos": True,  # every sequence decodes the same number of tokens
            "cache_prompt": False,  # every round reads its prompts afresh
        },
    )
    reply.raise_for_status()
    body = reply.json()
    timings = dict(body["timings"])
    timings["completion_tokens"] = body["usage"]["completion_tokens"]
    return timings


_MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+(?:\s+(?P<path>.*))?$")


def mapped_pss_kib(smaps: str, suffix: str = ".gguf") -> int:
    """Return the PSS (KiB) of a process's mappings of files whose names end with ``suffix``.

    ``smaps`` is the text of ``/proc/<pid>/smaps``: a header line per mapping,
    then its fields; the weights are memory-mapped, so this is the share of the
    model file that the process holds.
    """
    total, inside = 0, False
    for line in smaps.splitlines():
        header = _MAPPING.match(line)
        if header:
            inside = (header.group("path") or "").strip().endswith(suffix)
        elif inside and line.startswith("Pss:"):
            total += int(line.split()[1])
    return total


def emit(result: dict[str, Any], out: Path | None) -> None:
    """Add the machine to ``result``, print it as JSON, and write it to ``out`` when given."""
    result["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform()}
    text = json.dumps(result, indent=1)
    print(text)
    if out:
        out.write_text(text + "\n")
