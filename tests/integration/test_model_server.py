"""The shared llama-server with the real embedded weights: restart, reuse, callers at once, usage.

Skipped where ``llama-server`` is not built. The server is the host's one
server of the embedded model (shared with the rest of the suite, whatever slots
it was started with), but for the one-slot tests' own server (the same weights
under another name); every call is small (a few prompt words, at most 16 tokens,
32 for a schema-constrained one) and the server decodes on one thread
(``DEVFACTORY_EMBEDDED_THREADS=1``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest
from langchain_core.messages import AIMessage

from devfactory.models.fanout import in_order
from devfactory.models.io import usage_of
from devfactory.models.local_server import Endpoint, ServerPlan, embedded_available, local_server
from devfactory.models.packaged import ensure_model_file
from devfactory.models.server_chat import ServerChatModel, bind_server_schema, build_served
from devfactory.settings import Settings
from tests.server_callers import answered, other_process

pytestmark = [
    pytest.mark.skipif(
        not embedded_available(Settings()),
        reason="llama-server is not built here (make setup builds it)",
    ),
    pytest.mark.alone,  # the host's one server of the weights; its slot tests time calls
]

MAX_TOKENS = 16


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> ServerPlan:
    """The plan of the embedded model's server: two slots, one thread."""
    data = tmp_path_factory.mktemp("served")
    settings = Settings(data_dir=data, embedded_server_slots=2, embedded_threads=1)
    return ServerPlan.from_settings(settings, ensure_model_file(data), threads=1)


@pytest.fixture(scope="module")
def one_slot(plan: ServerPlan, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPlan]:
    """A server of its own with one slot: the same weights under another name."""
    alias = tmp_path_factory.mktemp("one-slot") / f"one-slot-{plan.model.name}"
    alias.symlink_to(plan.model)  # a server's folder is keyed by the file's name and size
    single = dataclasses.replace(plan, model=alias, slots=1)
    yield single
    server = local_server(single)
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)


def chat_of(plan: ServerPlan, max_tokens: int = MAX_TOKENS) -> ServerChatModel:
    return build_served(plan, max_tokens=max_tokens, temperature=0.2, timeout_s=300.0)


def get(endpoint: Endpoint, path: str) -> httpx.Response:
    transport = httpx.HTTPTransport(uds=endpoint.socket)
    with httpx.Client(transport=transport, timeout=10) as client:
        return client.get(
            f"http://llama-server{path}", headers={"Authorization": f"Bearer {endpoint.key}"}
        )


def metrics(endpoint: Endpoint) -> dict[str, float]:
    found = {}
    for line in get(endpoint, "/metrics").text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition(" ")
            found[name] = float(value)
    return found


def busy(endpoint: Endpoint) -> int:
    return sum(1 for slot in get(endpoint, "/slots").json() if slot.get("is_processing"))


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_real_server_answers_and_a_second_process_reuses_it(plan: ServerPlan) -> None:
    reply = chat_of(plan).invoke("Say hi.")
    assert isinstance(reply, AIMessage) and str(reply.content).strip()
    endpoint = local_server(plan).ensure()
    [(pid, text)] = answered(other_process(plan, max_tokens=MAX_TOKENS), timeout=300)
    assert pid == endpoint.pid and text.strip()  # the running server, not another


def kill_mid_call(plan: ServerPlan, chat: ServerChatModel) -> tuple[Endpoint, object] | None:
    """Kill the server while a call decodes; return it and the call's reply (None: not caught)."""
    first = local_server(plan).ensure()
    replies: list[object] = []

    def draw() -> None:
        replies.append(chat.invoke("Count from one to twenty in words."))

    call = threading.Thread(target=draw)
    call.start()
    wait_for(lambda: not call.is_alive() or busy(first) > 0, 120)
    caught = call.is_alive()
    if caught:
        os.kill(first.pid, signal.SIGKILL)
    call.join(timeout=300)
    return (first, replies[0]) if caught else None


def test_a_real_server_killed_mid_call_is_restarted_and_the_call_answered(
    plan: ServerPlan,
) -> None:
    chat = chat_of(plan)
    for _ in range(3):  # a call may end before it is seen decoding: try again
        if (killed := kill_mid_call(plan, chat)) is not None:
            first, reply = killed
            assert isinstance(reply, AIMessage) and str(reply.content).strip()
            assert local_server(plan).ensure().pid != first.pid
            return
    pytest.fail("no call was still decoding when looked at, three times")


def test_two_processes_drawing_at_once_are_both_answered_within_the_slot_cap(
    plan: ServerPlan,
) -> None:
    endpoint = local_server(plan).ensure()
    procs = [other_process(plan, max_tokens=MAX_TOKENS) for _ in range(2)]
    seen: list[int] = []
    while any(proc.poll() is None for proc in procs):
        seen.append(busy(endpoint))
        time.sleep(0.1)
    results = [answered(proc, timeout=300) for proc in procs]
    assert all(pid == endpoint.pid and text.strip() for [(pid, text)] in results)
    assert max(seen, default=0) <= endpoint.slots


def test_the_usage_metered_through_the_server_equals_its_own_counts(plan: ServerPlan) -> None:
    chat = chat_of(plan)
    endpoint = local_server(plan).ensure()
    before = metrics(endpoint)
    reply = chat.invoke("Name a colour.")
    after = metrics(endpoint)
    assert isinstance(reply, AIMessage)
    metered, timings = usage_of(reply), reply.response_metadata["timings"]
    assert metered.input_tokens == timings["prompt_n"] + timings["cache_n"] > 0
    assert metered.output_tokens == timings["predicted_n"] > 0
    predicted = after["llamacpp:tokens_predicted_total"] - before["llamacpp:tokens_predicted_total"]
    processed = after["llamacpp:prompt_tokens_total"] - before["llamacpp:prompt_tokens_total"]
    assert (predicted, processed) == (timings["predicted_n"], timings["prompt_n"])


def test_a_schema_constrained_reply_of_the_real_server_is_valid(plan: ServerPlan) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    reply = bind_server_schema(chat_of(plan), schema).invoke('Answer {"ok": true}.')
    assert json.loads(str(reply.content))["ok"] in (True, False)


def test_the_real_server_writes_an_answers_fields_in_the_order_they_are_sent(
    plan: ServerPlan,
) -> None:
    schema = {
        "type": "object",
        "properties": {"zeta": {"type": "integer"}, "alpha": {"type": "integer"}},
        "required": ["zeta", "alpha"],
    }
    chat = chat_of(plan, max_tokens=32)
    for order, first in (("declared", "zeta"), ("sorted", "alpha")):
        ordered = chat.model_copy(update={"schema_order": order, "temperature": 0.0})
        reply = bind_server_schema(ordered, schema).invoke("Give two numbers as JSON.")
        assert list(json.loads(str(reply.content))) == [first, ({"zeta", "alpha"} - {first}).pop()]


def test_every_teams_report_grammar_is_taken_by_the_real_server(plan: ServerPlan) -> None:
    """llama-server parses each schema's grammar; one it cannot parse is refused (HTTP 400)."""
    from devfactory.graph.model_io.schema import report_schema
    from devfactory.teams import load_teams

    chat = chat_of(plan, max_tokens=1)
    for spec in load_teams().values():
        for can_ask in (True, False):
            schema = report_schema(spec, can_ask=can_ask)
            assert isinstance(bind_server_schema(chat, schema).invoke("Report."), AIMessage)


def test_with_one_slot_the_same_request_gives_the_same_text_in_every_process(
    one_slot: ServerPlan,
) -> None:
    hot = 1.0  # sampled widely: without the seed, the replies would differ
    chat = build_served(one_slot, max_tokens=MAX_TOKENS, temperature=hot, timeout_s=300.0)
    prompt = "Say the number 0."  # what the other process's first call asks
    first, again = (str(chat.invoke(prompt).content) for _ in range(2))
    other_one = other_process(one_slot, max_tokens=MAX_TOKENS, temperature=hot)
    [(pid, other)] = answered(other_one, timeout=300)
    endpoint = local_server(one_slot).ensure()
    assert endpoint.slots == 1 and pid == endpoint.pid  # one server, one slot, for both
    assert first.strip() and first == again == other  # the same seed (0) each time


def test_with_several_slots_every_candidate_drawn_at_once_is_valid(plan: ServerPlan) -> None:
    schema = {
        "type": "object",
        "properties": {
            "colour": {"type": "string", "enum": ["red", "green", "blue"]},
            "ok": {"type": "boolean"},
        },
        "required": ["colour", "ok"],
    }
    endpoint = local_server(plan).ensure()
    assert endpoint.slots >= 2
    chat = chat_of(plan, max_tokens=32)
    width = min(endpoint.slots, 4)  # a few candidates, decoded in one batch
    asks = [
        lambda seed=seed: bind_server_schema(
            chat.model_copy(update={"seed": seed, "temperature": 0.9}), schema
        ).invoke("Pick a colour and say if it is ok, as JSON.")
        for seed in range(width)
    ]
    replies = list(in_order(asks, width, lambda: True))  # all in flight at once
    assert len(replies) == width
    for reply in replies:
        jsonschema.validate(json.loads(str(reply.content)), schema)


def test_the_token_count_is_the_servers(plan: ServerPlan) -> None:
    assert chat_of(plan).count_tokens("def add(a, b):\n    return a + b\n") > 5


def test_devfactory_models_shows_the_running_server(plan: ServerPlan, tmp_path: Path) -> None:
    endpoint = local_server(plan).ensure()
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "devfactory"), "models", "--no-health", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DEVFACTORY_DATA_DIR": str(tmp_path / "data")},
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    server = json.loads(shown.stdout)["embedded_servers"]["qwen2.5-coder-0.5b-instruct-q4_k_m"]
    assert (server["running"], server["pid"], server["slots"]) == (
        True,
        endpoint.pid,
        endpoint.slots,
    )
    assert server["address"] == f"unix:{endpoint.socket}" and endpoint.key not in shown.stdout
