"""The shared model server, against a fake llama-server: start, reuse, leases, stops, restarts.

Each test serves its own fake model file, so it has its own server folder; the
fake (``tests/fake_llama_server.py``) listens on a unix socket, as the real
server does here, so these tests need no network.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import signal
import stat
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest
from pydantic import ValidationError

from devfactory.models import local_server as local_server_mod
from devfactory.models.fanout import in_order
from devfactory.models.local_server import (
    Endpoint,
    LocalServer,
    ProcessIdentity,
    ServerError,
    ServerPlan,
    alive,
    gauges,
    local_server,
    read_state,
    server_status,
    write_state,
)
from devfactory.models.router import ResolvedModel
from devfactory.models.server_chat import (
    ServerChatModel,
    bind_server_schema,
    build_served,
    json_schema_grammar,
    reply_cap_s,
    schema_grammar,
    served_slots,
)
from devfactory.settings import Settings
from tests.fake_llama_server import write_binary
from tests.server_callers import answered, other_process


@pytest.fixture
def fake_binary(tmp_path: Path) -> Path:
    """An executable that runs the fake server with llama-server's arguments."""
    return write_binary(tmp_path / "llama-server")


@pytest.fixture
def starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict]]:
    """Return a reader of every start of the fake (its pid and arguments), in order."""
    record = tmp_path / "starts.jsonl"
    monkeypatch.setenv("FAKE_LLAMA_RECORD", str(record))

    def read() -> list[dict]:
        if not record.exists():
            return []
        return [json.loads(line) for line in record.read_text().splitlines()]

    return read


Planner = Callable[..., ServerPlan]


@pytest.fixture
def plan_for(tmp_path: Path, fake_binary: Path) -> Iterator[Planner]:
    """Return a maker of plans for one fresh model file; stop its server after the test."""
    model = tmp_path / f"fake-{uuid.uuid4().hex[:8]}.gguf"
    model.write_bytes(b"GGUF" * 4)
    made: list[ServerPlan] = []

    def make(**overrides: object) -> ServerPlan:
        chosen: dict[str, object] = {
            "embedded_server_binary": fake_binary,
            "embedded_server_slots": 2,
            "embedded_ctx": 2048,
            "embedded_server_start_timeout_s": 20.0,
            **overrides,
        }
        settings = Settings(data_dir=tmp_path / "data", **chosen)  # type: ignore[arg-type]
        plan = ServerPlan.from_settings(settings, model, threads=1)
        made.append(plan)
        return plan

    yield make
    for plan in made:
        server = local_server(plan)
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


def chat_of(plan: ServerPlan, max_tokens: int = 16) -> ServerChatModel:
    return build_served(plan, max_tokens=max_tokens, temperature=0.2, timeout_s=30.0)


def sent(reply: object) -> dict:
    """Return what the fake says it was sent (its reply's text is that JSON)."""
    return json.loads(str(getattr(reply, "content", reply)))


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def metrics(server: LocalServer) -> dict[str, float]:
    endpoint = server.ensure()
    transport = httpx.HTTPTransport(uds=endpoint.socket)
    with httpx.Client(transport=transport) as client:
        text = client.get(
            "http://x/metrics", headers={"Authorization": f"Bearer {endpoint.key}"}
        ).text
    return gauges(text)


def test_first_use_starts_a_private_server_that_a_second_process_reuses(
    plan_for: Planner, starts: Callable[[], list[dict]]
) -> None:
    plan = plan_for()
    assert starts() == []  # built, not started
    reply = chat_of(plan).invoke("hello there")
    [start] = starts()
    assert sent(reply)["pid"] == start["pid"]
    args = start["argv"]
    assert args[args.index("--parallel") + 1] == "2"
    assert args[args.index("--ctx-size") + 1] == str(2 * 2048)  # embedded_ctx per slot
    assert args[args.index("--threads") + 1] == "1"
    assert {"--cont-batching", "--metrics", "--slots"} <= set(args)
    server = local_server(plan)
    endpoint = server.ensure()
    assert endpoint.key not in " ".join(args)  # never on a command line that ps shows
    assert stat.S_IMODE(server.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((server.folder / "state.json").stat().st_mode) == 0o600
    assert (server.folder / "leases" / str(os.getpid())).exists()

    assert [pid for pid, _ in answered(other_process(plan))] == [start["pid"]]
    assert len(starts()) == 1  # reused, not started again


def test_a_request_without_the_key_is_refused(plan_for: Planner) -> None:
    endpoint = local_server(plan_for()).ensure()
    transport = httpx.HTTPTransport(uds=endpoint.socket)
    with httpx.Client(transport=transport) as client:
        assert client.get("http://x/slots").status_code == 401
        assert client.get("http://x/health").status_code == 200


def test_a_server_killed_mid_call_is_restarted_and_the_call_answered(
    plan_for: Planner, starts: Callable[[], list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_for()
    chat = chat_of(plan)
    monkeypatch.setenv("FAKE_LLAMA_DELAY_S", "2")  # read by the server when it starts
    first = local_server(plan).ensure()
    replies: list[object] = []
    call = threading.Thread(target=lambda: replies.append(chat.invoke("slow one")))
    call.start()
    assert wait_for(lambda: metrics(local_server(plan))["llamacpp:requests_processing"] == 1, 10)
    os.kill(first.pid, signal.SIGKILL)
    call.join(timeout=30)
    [reply] = replies
    first_start, second_start = starts()
    assert sent(reply)["pid"] == second_start["pid"] != first.pid
    assert local_server(plan).ensure().pid == second_start["pid"]


def test_calls_are_timed_by_their_progress_not_by_the_clock_from_sending(
    plan_for: Planner, starts: Callable[[], list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_for()
    monkeypatch.setenv("FAKE_LLAMA_WORD_S", "0.3")  # each word well within the timeout
    chat = build_served(plan, max_tokens=16, temperature=0.2, timeout_s=1.0, min_decode_tps=0.5)
    started = time.monotonic()
    replies = list(
        in_order([lambda: chat.invoke("one"), lambda: chat.invoke("two")], 2, lambda: True)
    )
    took = time.monotonic() - started
    assert [sent(reply)["max_completion_tokens"] for reply in replies] == [16, 16]
    words = len(str(replies[0].content).split(" "))
    assert took > words * 0.3 > 1.0  # each reply outlasted the timeout, and was answered
    assert len(starts()) == 1  # nothing was sent again


def test_a_reply_slower_than_the_decoding_floor_fails_as_a_timeout_and_is_not_resent(
    plan_for: Planner, starts: Callable[[], list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_for()
    monkeypatch.setenv("FAKE_LLAMA_WORD_S", "0.3")
    # 16 tokens at no less than 16 tokens/s: the floor, 1 s, is the cap; the reply takes ~4 s
    chat = build_served(plan, max_tokens=16, temperature=0.2, timeout_s=1.0, min_decode_tps=16.0)
    with pytest.raises(openai.APITimeoutError) as raised:
        chat.invoke("too slow")
    causes: list[BaseException] = [raised.value]
    while (cause := causes[-1].__cause__ or causes[-1].__context__) is not None:
        causes.append(cause)
    assert any("served_min_decode_tps" in str(cause) for cause in causes)
    assert len(starts()) == 1


def test_a_server_silent_in_its_slot_past_the_timeout_fails_the_call(
    plan_for: Planner, starts: Callable[[], list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_for()
    monkeypatch.setenv("FAKE_LLAMA_DELAY_S", "3")  # headers sent, then nothing for 3 s
    chat = build_served(plan, max_tokens=16, temperature=0.2, timeout_s=1.0)
    with pytest.raises(openai.APITimeoutError):
        chat.invoke("silent")
    assert len(starts()) == 1  # a timeout is not a lost server: it is not restarted


@pytest.mark.parametrize(
    ("path", "body", "cap"),
    [
        ("/v1/chat/completions", {"max_completion_tokens": 1024}, 2048.0),
        ("/v1/chat/completions", {"max_tokens": 100}, 900.0),  # the floor
        ("/v1/chat/completions", {}, 900.0),
        ("/tokenize", {"content": "x"}, None),
    ],
)
def test_a_replys_cap_is_the_timeout_raised_by_its_tokens_at_the_floor_rate(
    path: str, body: dict, cap: float | None
) -> None:
    request = httpx.Request("POST", f"http://llama-server{path}", json=body)
    assert reply_cap_s(request, 900.0, 0.5) == cap


def test_a_call_is_retried_once_and_then_fails(
    plan_for: Planner, starts: Callable[[], list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_for()
    monkeypatch.setenv("FAKE_LLAMA_DIE", "1")  # every server dies at its first chat request
    with pytest.raises(openai.APIConnectionError):
        chat_of(plan).invoke("never answered")
    assert len(starts()) == 2  # the first, and the one restart of the retry


def test_the_server_stops_when_its_last_user_is_gone(
    plan_for: Planner, starts: Callable[[], list[dict]]
) -> None:
    plan = plan_for(embedded_server_grace_s=0.5)
    [(pid, _)] = answered(other_process(plan))  # this process takes no lease
    folder = LocalServer(plan).folder
    assert wait_for(lambda: not alive(pid), 15), "the server outlived its last user"
    # its supervisor clears the state once the server has exited: a moment after, not at once
    assert wait_for(lambda: read_state(folder) is None, 15), "its state outlived it"
    assert len(starts()) == 1


def test_an_idle_server_stops_and_the_next_call_starts_another(
    plan_for: Planner, starts: Callable[[], list[dict]]
) -> None:
    plan = plan_for(embedded_server_idle_timeout_s=1.0)
    chat = chat_of(plan)
    first = sent(chat.invoke("one"))["pid"]
    assert wait_for(lambda: not alive(first), 15), "an idle server kept running"
    second = sent(chat.invoke("two"))["pid"]
    assert second != first and len(starts()) == 2


def test_a_start_waits_no_longer_than_the_start_timeout(
    plan_for: Planner, starts: Callable[[], list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_for(embedded_server_start_timeout_s=5.0)
    monkeypatch.setenv("FAKE_LLAMA_LOAD_S", "60")  # it starts, but says "loading" for a minute
    began = time.monotonic()
    with pytest.raises(ServerError, match="embedded_server_start_timeout_s"):
        local_server(plan).ensure()
    assert time.monotonic() - began < 5.0 + 10  # the wait, then at most a stop
    assert read_state(local_server(plan).folder) is None
    pids = [start["pid"] for start in starts()]
    assert wait_for(lambda: not any(map(alive, pids)), 15), "a server that never answered was kept"


def test_two_processes_drawing_at_once_are_answered_within_the_slot_cap(
    plan_for: Planner, starts: Callable[[], list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_for()  # two slots
    monkeypatch.setenv("FAKE_LLAMA_DELAY_S", "1")
    local_server(plan).ensure()
    procs = [other_process(plan, calls=2) for _ in range(2)]
    [start] = starts()
    for proc in procs:
        assert [(pid, sent(text)["pid"]) for pid, text in answered(proc)] == [
            (start["pid"], start["pid"])
        ] * 2
    assert metrics(local_server(plan))["fake:peak_busy"] == 2  # batched, never past the cap


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("embedded_server_slots", 8, 9),
        ("embedded_server_slots", 1, 0),
        ("embedded_server_start_timeout_s", 900.0, 901.0),
        ("embedded_server_idle_timeout_s", 86_400.0, 86_401.0),
        ("embedded_server_grace_s", 3600.0, 3601.0),
        ("served_min_decode_tps", 1000.0, 1001.0),
        ("served_min_decode_tps", 0.01, 0.0),
    ],
)
def test_every_wait_and_the_slots_are_bounded(name: str, good: object, bad: object) -> None:
    assert Settings(**{name: good}).flat()[name] == good  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Settings(**{name: bad})  # type: ignore[arg-type]


def test_a_schema_is_constrained_by_the_sdists_grammar_converter(plan_for: Planner) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 8}}}
    got = sent(bind_server_schema(chat_of(plan_for()), schema).invoke("name it"))
    assert got["grammar"] == json_schema_grammar(json.dumps(schema, sort_keys=True))
    assert got["json_schema"] is None  # the server's own converter is not asked
    assert got["repeat_penalty"] == 1.1 and got["seed"] == 0 and got["temperature"] == 0.2


def test_the_fields_of_an_answer_are_asked_in_the_models_order(plan_for: Planner) -> None:
    """``sorted``: alphabetical, as the embedded models always were; ``declared``: as listed."""
    schema = {
        "type": "object",
        "properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer"}},
        "required": ["zeta", "alpha"],
    }
    chat = chat_of(plan_for())
    sorted_ = sent(bind_server_schema(chat, schema).invoke("fill it"))["grammar"]
    other = chat.model_copy(update={"schema_order": "declared"})
    declared = sent(bind_server_schema(other, schema).invoke("fill it"))["grammar"]
    root = {
        g: next(ln for ln in g.splitlines() if ln.startswith("root ::="))
        for g in (declared, sorted_)
    }
    assert root[declared].index("zeta") < root[declared].index("alpha")
    assert root[sorted_].index("alpha") < root[sorted_].index("zeta")
    assert declared == schema_grammar(schema, "declared") != schema_grammar(schema, "sorted")


def test_a_sampled_candidate_reaches_the_server_with_its_own_seed_and_cap(
    plan_for: Planner,
) -> None:
    chat = chat_of(plan_for(), max_tokens=16)
    resolved = ResolvedModel("factory/coder", "embedded:x", chat, bind_server_schema)
    got = sent(resolved.sampled(0.7, 3, max_tokens=12).invoke("draw"))
    assert (got["temperature"], got["seed"], got["max_completion_tokens"]) == (0.7, 3, 12)
    assert got["repeat_penalty"] == 1.1  # the model's own, unless the call sets one
    plain = sent(chat.invoke("plain"))
    assert plain["max_completion_tokens"] == 16  # the copy changed alone
    unloop = sent(resolved.sampled(0.2, 4, repeat_penalty=1.25).invoke("again"))
    assert unloop["repeat_penalty"] == 1.25 and plain["repeat_penalty"] == 1.1


def test_usage_is_metered_from_the_servers_replies(plan_for: Planner) -> None:
    plan = plan_for()
    chat = chat_of(plan)
    before = metrics(local_server(plan))
    reply = chat.invoke("count these five words")
    after = metrics(local_server(plan))
    usage, timings = reply.usage_metadata, reply.response_metadata["timings"]
    assert usage is not None
    assert usage["input_tokens"] == timings["prompt_n"] + timings["cache_n"]
    assert usage["output_tokens"] == timings["predicted_n"]
    predicted = after["llamacpp:tokens_predicted_total"] - before["llamacpp:tokens_predicted_total"]
    assert usage["output_tokens"] == predicted > 0


def test_an_async_call_reaches_the_server(plan_for: Planner) -> None:
    reply = asyncio.run(chat_of(plan_for()).ainvoke("async hello"))
    assert sent(reply)["seed"] == 0


def test_tokens_are_counted_by_the_server(plan_for: Planner) -> None:
    assert chat_of(plan_for()).count_tokens("one two three") == 3


def test_the_slot_count_is_readable_from_the_model(plan_for: Planner) -> None:
    plan = plan_for(embedded_server_slots=3)
    chat = chat_of(plan)
    assert served_slots(chat) == 3  # planned, before it runs
    local_server(plan).ensure()
    assert served_slots(chat) == 3  # the running server's own count


def test_the_status_says_where_the_server_is_and_how_it_does(
    plan_for: Planner, tmp_path: Path, fake_binary: Path
) -> None:
    plan = plan_for()
    size = plan.model.stat().st_size
    settings = Settings(data_dir=tmp_path / "data", embedded_server_binary=fake_binary)
    assert server_status(settings, plan.model, size).line().startswith("not running")
    chat_of(plan).invoke("warm it up")
    status = server_status(settings, plan.model, size)
    endpoint = local_server(plan).ensure()
    assert (status.address, status.pid, status.slots, status.busy) == (
        f"unix:{endpoint.socket}",
        endpoint.pid,
        2,
        0,
    )
    line = status.line()
    assert "slots 0/2 busy" in line and "decoding 14.5 tokens/s" in line
    assert endpoint.key not in line + json.dumps(dataclasses.asdict(status))
    missing = settings.with_overrides(embedded_server_binary=tmp_path / "nowhere")
    assert server_status(missing, plan.model, size).line().startswith("not built")


def test_a_server_at_the_slot_cap_decodes_that_many_at_once(
    plan_for: Planner, starts: Callable[[], list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_for(embedded_server_slots=8)  # the most the settings allow
    monkeypatch.setenv("FAKE_LLAMA_DELAY_S", "1")
    chat = chat_of(plan)
    assert served_slots(chat) == 8
    replies: list[object] = []
    callers = [threading.Thread(target=lambda: replies.append(chat.invoke("hi"))) for _ in range(9)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=60)
    [start] = starts()
    assert start["argv"][start["argv"].index("--parallel") + 1] == "8"
    assert len(replies) == 9 and metrics(local_server(plan))["fake:peak_busy"] == 8


def test_a_failed_request_to_a_server_that_still_answers_keeps_it(
    plan_for: Planner, starts: Callable[[], list[dict]]
) -> None:
    server = local_server(plan_for())
    endpoint = server.ensure()
    assert server.recover(endpoint) == endpoint
    assert len(starts()) == 1


def test_a_supervisor_that_cannot_start_says_why(
    plan_for: Planner, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_for()
    monkeypatch.setattr(local_server_mod, "SUPERVISOR_MODULE", "devfactory.models.no_such_module")
    with pytest.raises(ServerError, match="No module named devfactory.models.no_such_module"):
        local_server(plan).ensure()


def test_the_servers_log_is_cut_past_its_cap_and_its_end_kept(tmp_path: Path) -> None:
    from devfactory.models.server_supervisor import LOG_KEPT_BYTES, bound_log

    log = tmp_path / "server.log"
    log.write_bytes(b"x" * 100)
    assert not bound_log(log, cap=100)  # at the cap: left alone
    log.write_bytes(b"a" * LOG_KEPT_BYTES + b"the last line\n")
    assert bound_log(log, cap=100)
    assert log.read_bytes() == b""
    kept = (tmp_path / "server.log.1").read_bytes()
    assert kept.endswith(b"the last line\n") and len(kept) == LOG_KEPT_BYTES
    with log.open("ab") as server:  # how the server holds it: the next line starts the file
        server.write(b"next\n")
    assert log.read_bytes() == b"next\n"


@pytest.fixture
def unrelated() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not the model server (the pid a stale state file may name)."""
    sleeper = subprocess.Popen(["sleep", "60"])
    assert wait_for(lambda: ProcessIdentity.of(sleeper.pid) is not None, 5)
    yield sleeper
    sleeper.kill()
    sleeper.wait()


@pytest.mark.parametrize(
    "stale",
    [
        "pid reused",  # an earlier process had the pid: it started before the one there now
        "another program",  # the start time agrees, the executable does not
        "written before the check",  # a state file with no start time or executable
    ],
)
def test_a_stale_state_file_signals_nothing_and_a_real_server_is_still_stopped(
    plan_for: Planner,
    fake_binary: Path,
    unrelated: subprocess.Popen[bytes],
    caplog: pytest.LogCaptureFixture,
    stale: str,
) -> None:
    """Issue 58 item 9: a pid a stale state file names is another process now: left alone."""
    server = local_server(plan_for())
    there = ProcessIdentity.of(unrelated.pid)
    assert there is not None
    recorded = {
        "pid reused": (there.ticks - 100, str(fake_binary.resolve())),
        "another program": (there.ticks, str(fake_binary.resolve())),
        "written before the check": (0, ""),
    }[stale]
    stale_state = Endpoint(
        socket=str(server.folder / "server.sock"),
        key="an old key",
        pid=unrelated.pid,
        supervisor=unrelated.pid,
        slots=2,
        model="old",
        started=time.time() - 3600,
        server_ticks=recorded[0],
        server_exe=recorded[1],
        supervisor_ticks=recorded[0],
        supervisor_exe=recorded[1],
    )
    write_state(server.folder, stale_state)
    assert server.process() is None  # not the server: nothing runs
    with caplog.at_level("WARNING", logger=local_server_mod.__name__):
        server.stop()
    time.sleep(0.2)
    assert unrelated.poll() is None, "a process a stale state file named was signalled"
    assert read_state(server.folder) is None  # the stale file is removed
    assert any("is stale" in r.getMessage() for r in caplog.records), caplog.text

    write_state(server.folder, stale_state)  # found by a process that needs the server
    endpoint = server.ensure()
    assert endpoint.pid != unrelated.pid and unrelated.poll() is None
    assert server.process() == endpoint.pid
    server.stop()  # the server it started is the server: it is stopped
    assert not alive(endpoint.pid) and not alive(endpoint.supervisor)
    assert read_state(server.folder) is None
    assert unrelated.poll() is None
