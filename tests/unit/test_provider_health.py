"""Provider health: circuit breakers, chains ordered by health per call, cost-aware routing.

Fake providers (``tests/health_fakes.py``) serve, fail, hang (a call that ends
at its client's timeout) and recover behind the real ``ModelRouter``; the
health book's clock is the test's, so no test sleeps through a cool-down.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage
from pydantic import ValidationError
from typer.testing import CliRunner

from devfactory.models.health import (
    Breaker,
    CircuitOpenError,
    HealthBook,
    HealthPolicy,
    HealthPublisher,
    ProviderHealth,
    Standing,
    WatchedModel,
    is_timeout,
)
from devfactory.models.io import invoke, served_by
from devfactory.models.router import ModelRouter, ModelsConfig, ModelUnavailableError
from devfactory.settings import Settings
from tests.health_fakes import FakeClock, config_with, fake_router

PRIMARY, BACKUP, LAST = "ollama:big", "ollama:small", "embedded:qwen2.5-coder-0.5b-instruct-q4_k_m"
ASK = [HumanMessage("Say hello.")]


def ask(model: Any) -> str:
    """Invoke a chain once (no retries) and return the label of the link that served."""
    return served_by(invoke(model, ASK, tries=1))


# --- the breaker -------------------------------------------------------------------------


def test_all_healthy_keeps_the_configured_order_and_labels_the_reply(settings: Settings) -> None:
    router, fakes, _ = fake_router(settings, [PRIMARY, BACKUP, LAST])
    model = router.resolve("factory/fast")
    for _ in range(3):
        assert ask(model.plain()) == PRIMARY
    assert len(fakes[PRIMARY].sent) == 3 and not fakes[BACKUP].sent and not fakes[LAST].sent
    reply = invoke(model.plain(), ASK, tries=1)
    assert reply.response_metadata["provider_model_name"] == "provider-own-name"
    health = router.health.health(PRIMARY)
    assert health.breaker is Breaker.CLOSED and health.calls == 4 and health.p50_s == 0.5


def test_the_circuit_opens_after_n_failures_and_the_next_call_goes_to_the_healthy_one(
    settings: Settings,
) -> None:
    router, fakes, _ = fake_router(settings, [PRIMARY, BACKUP], failures_to_open=3)
    model = router.resolve("factory/fast").plain()
    fakes[PRIMARY].mode = "fail"
    for n in range(1, 4):
        assert ask(model) == BACKUP  # each failure falls back within the same call
        assert len(fakes[PRIMARY].sent) == n
    health = router.health.health(PRIMARY)
    assert health.breaker is Breaker.OPEN and health.score == 0.0
    assert health.standing is Standing.BLOCKED and health.errors == 3
    assert "connection refused" in health.last_error
    assert ask(model) == BACKUP
    assert len(fakes[PRIMARY].sent) == 3  # an open circuit is not called at all
    assert len(fakes[BACKUP].sent) == 4


def test_a_hung_provider_times_out_counts_as_a_failure_and_is_left_out(
    settings: Settings,
) -> None:
    router, fakes, _ = fake_router(settings, [PRIMARY, BACKUP], failures_to_open=2)
    model = router.resolve("factory/fast").plain()
    fakes[PRIMARY].mode = "hang"
    assert ask(model) == BACKUP and ask(model) == BACKUP
    health = router.health.health(PRIMARY)
    assert health.timeouts == 2 and health.errors == 0
    assert health.breaker is Breaker.OPEN
    assert health.p50_s == 30.0  # a timeout counts at its whole length
    assert ask(model) == BACKUP and len(fakes[PRIMARY].sent) == 2


def test_half_open_after_the_cool_down_a_success_closes_it_and_the_order_comes_back(
    settings: Settings,
) -> None:
    router, fakes, clock = fake_router(
        settings, [PRIMARY, BACKUP], failures_to_open=2, cooldown_s=60
    )
    model = router.resolve("factory/fast").plain()
    fakes[PRIMARY].mode = "fail"
    ask(model), ask(model)
    assert router.health.health(PRIMARY).retry_in_s == pytest.approx(60 - 0.5)
    clock.advance(30)
    fakes[PRIMARY].mode = "ok"  # recovered, but the cool-down is not over
    assert ask(model) == BACKUP and len(fakes[PRIMARY].sent) == 2
    clock.advance(31)
    assert ask(model) == PRIMARY  # the trial call goes to the recovered provider first
    health = router.health.health(PRIMARY)
    assert health.breaker is Breaker.CLOSED and health.failures == 0
    assert health.score > 0.9  # a clean record: the failures before the trial are cleared
    assert ask(model) == PRIMARY


def test_a_failed_trial_opens_the_circuit_again_for_a_whole_cool_down(
    settings: Settings,
) -> None:
    router, fakes, clock = fake_router(
        settings, [PRIMARY, BACKUP], failures_to_open=1, cooldown_s=60
    )
    model = router.resolve("factory/fast").plain()
    fakes[PRIMARY].mode = "fail"
    ask(model)
    clock.advance(61)
    due = router.health.health(PRIMARY)
    assert due.standing is Standing.HEALTHY and due.breaker is Breaker.HALF_OPEN  # trial due
    assert ask(model) == BACKUP and len(fakes[PRIMARY].sent) == 2  # the trial failed
    health = router.health.health(PRIMARY)
    assert health.breaker is Breaker.OPEN and health.retry_in_s == pytest.approx(59.5)
    clock.advance(30)
    assert ask(model) == BACKUP and len(fakes[PRIMARY].sent) == 2


def test_half_open_lets_exactly_one_trial_through() -> None:
    clock = FakeClock()
    book = HealthBook(HealthPolicy(failures_to_open=1, cooldown_s=10), clock=clock)
    book.record("m", "error", 1.0, "boom")
    assert not book.admit("m")
    clock.advance(10)
    assert book.admit("m")  # the trial
    assert not book.admit("m")  # a second caller waits for the trial's outcome
    assert book.health("m").standing is Standing.BLOCKED
    book.release("m")  # the trial's caller was cancelled: the slot is free again
    assert book.admit("m")
    book.record("m", "ok", 0.2)
    assert book.admit("m") and book.admit("m")


def test_every_circuit_open_is_a_clear_error_naming_each_model(settings: Settings) -> None:
    router, fakes, _ = fake_router(settings, [PRIMARY, BACKUP], failures_to_open=1)
    model = router.resolve("factory/fast").plain()
    fakes[PRIMARY].mode = fakes[BACKUP].mode = "fail"
    with pytest.raises(httpx.ConnectError):
        ask(model)
    with pytest.raises(ModelUnavailableError, match="circuit is open: ollama:big .*ollama:small"):
        ask(model)


def test_a_degraded_provider_goes_after_the_healthy_ones_until_its_failures_age_out(
    settings: Settings,
) -> None:
    router, fakes, clock = fake_router(
        settings, [PRIMARY, BACKUP], failures_to_open=5, min_score=0.7, min_calls=4, window_s=600
    )
    model = router.resolve("factory/fast").plain()
    for mode in ("ok", "fail", "ok"):
        fakes[PRIMARY].mode = mode  # type: ignore[assignment]
        ask(model)
    assert router.health.health(PRIMARY).standing is Standing.HEALTHY  # too few calls to judge
    fakes[PRIMARY].mode = "fail"  # half its calls failed, never five in a row
    ask(model)
    health = router.health.health(PRIMARY)
    assert health.breaker is Breaker.CLOSED and health.standing is Standing.DEGRADED
    fakes[PRIMARY].mode = "ok"
    sent = len(fakes[PRIMARY].sent)
    assert ask(model) == BACKUP and len(fakes[PRIMARY].sent) == sent
    clock.advance(601)  # its record is older than the window: trusted again
    assert ask(model) == PRIMARY


def test_the_score_follows_the_documented_formula() -> None:
    clock = FakeClock()
    book = HealthBook(HealthPolicy(slow_s=30, latency_weight=0.2, window=4), clock=clock)
    assert book.health("m").score == 1.0  # no evidence yet
    for outcome in ("ok", "ok", "error", "ok"):
        book.record("m", outcome, 10.0)  # type: ignore[arg-type]
    # 3 of 4 succeeded; median 10 s -> speed 30 / (30 + 10)
    assert book.health("m").score == pytest.approx(0.8 * 0.75 + 0.2 * 0.75)
    book.record("m", "ok", 10.0)  # the window keeps the last four: ok, error, ok, ok
    assert book.health("m").score == pytest.approx(0.8 * 0.75 + 0.2 * 0.75)
    book.record("m", "ok", 10.0)  # error, ok, ok, ok
    assert book.health("m").score == pytest.approx(0.8 * 0.75 + 0.2 * 0.75)
    book.record("m", "ok", 30.0)  # ok, ok, ok, ok; median 10 s
    assert book.health("m").score == pytest.approx(0.8 + 0.2 * 0.75)


@pytest.mark.parametrize(
    ("exc", "timeout"),
    [
        (httpx.ReadTimeout("t"), True),
        (TimeoutError(), True),
        (httpx.ConnectError("refused"), False),
        (ValueError("bad"), False),
    ],
)
def test_timeouts_are_told_from_errors(exc: BaseException, timeout: bool) -> None:
    assert is_timeout(exc) is timeout


# --- every way of asking goes through the book --------------------------------------------


def test_structured_and_sampled_links_keep_their_binding_redaction_and_health(
    settings: Settings,
) -> None:
    router, fakes, _ = fake_router(settings, [PRIMARY, BACKUP], failures_to_open=1)
    resolved = router.resolve("factory/fast")
    secret = "sk-" + "a" * 40
    fakes[PRIMARY].mode = "fail"
    reply = invoke(resolved.structured({"type": "object"}), [HumanMessage(f"key {secret}")], 1)
    assert served_by(reply) == BACKUP
    assert fakes[BACKUP].kwargs[-1]["json_schema"] == {"type": "object"}
    assert secret not in str(fakes[BACKUP].sent[-1]) and secret not in str(fakes[PRIMARY].sent)
    assert router.health.health(PRIMARY).breaker is Breaker.OPEN
    assert served_by(invoke(resolved.sampled(0.9, 7), ASK, 1)) == BACKUP
    assert fakes[BACKUP].kwargs[-1]["temperature"] == 0.9
    assert fakes[BACKUP].kwargs[-1]["seed"] == 7
    assert len(fakes[PRIMARY].sent) == 1  # neither asked the open circuit


def test_streaming_both_ways_records_and_falls_back(settings: Settings) -> None:
    router, fakes, _ = fake_router(settings, [PRIMARY, BACKUP], failures_to_open=2)
    model = router.resolve("factory/fast").plain()
    fakes[PRIMARY].mode = "fail"
    text = "".join(str(c.content) for c in model.stream(ASK))
    assert text.strip() == f"reply from {BACKUP}"

    async def collect() -> str:
        return "".join([str(c.content) async for c in model.astream(ASK)])

    assert asyncio.run(collect()).strip() == f"reply from {BACKUP}"
    assert router.health.health(PRIMARY).breaker is Breaker.OPEN
    assert router.health.health(BACKUP).calls == 2
    assert asyncio.run(model.ainvoke(ASK)).response_metadata["model_name"] == BACKUP


def test_a_watched_link_that_is_open_raises_at_once() -> None:
    clock = FakeClock()
    book = HealthBook(HealthPolicy(failures_to_open=1, cooldown_s=60), clock=clock)
    book.record("m", "error", 1.0, "down")

    class Never:
        def invoke(self, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("an open circuit called its model")

    link = WatchedModel(Never(), "m", book)  # type: ignore[arg-type]
    with pytest.raises(CircuitOpenError, match="m: circuit open.*tried again in 60 s"):
        link.invoke(ASK)


def test_a_trial_let_go_of_frees_its_slot_and_counts_no_failure() -> None:
    # a half-open trial interrupted, or a stream closed after its first chunk, is no failure
    clock = FakeClock()
    book = HealthBook(HealthPolicy(failures_to_open=1, cooldown_s=10), clock=clock)

    class Inner:
        def invoke(self, *args: Any, **kwargs: Any) -> Any:
            raise KeyboardInterrupt

        def stream(self, *args: Any, **kwargs: Any) -> Any:
            yield "a"
            yield "b"

    link = WatchedModel(Inner(), "m", book)  # type: ignore[arg-type]
    for let_go in ("interrupted", "closed"):
        book.record("m", "error", 1.0, "down")
        clock.advance(10)
        if let_go == "interrupted":
            with pytest.raises(KeyboardInterrupt):
                link.invoke(ASK)
        else:
            chunks = link.stream(ASK)
            assert next(chunks) == "a"  # the trial is under way: no second caller
            assert not book.admit("m")
            chunks.close()
        assert book.admit("m"), let_go  # the slot is free again for the next trial
        assert book.health("m").errors == 1 + (let_go == "closed"), let_go


# --- cost-aware routing -------------------------------------------------------------------

MINI, FOUR_O, HAIKU = "openai:gpt-4o-mini", "openai:gpt-4o", "anthropic:claude-3-5-haiku"


def test_prefer_cheapest_puts_the_cheapest_healthy_first(settings: Settings) -> None:
    # prices.yaml: haiku 4.00 (output), gpt-4o-mini 0.60, gpt-4o 10.00
    router, fakes, _ = fake_router(
        settings, [FOUR_O, HAIKU, MINI], {"prefer": "cheapest"}, failures_to_open=1
    )
    model = router.resolve("factory/fast").plain()
    assert ask(model) == MINI
    fakes[MINI].mode = "fail"
    assert ask(model) == HAIKU  # the cheapest healthy one now
    assert ask(model) == HAIKU and len(fakes[MINI].sent) == 2  # its open circuit: skipped
    other = router.resolve("factory/coder").plain()  # no preference: the chain's order
    assert ask(other) == FOUR_O


def test_a_price_ceiling_leaves_dearer_links_out(settings: Settings) -> None:
    router, fakes, _ = fake_router(
        settings, [FOUR_O, HAIKU, MINI], {"prefer": "order", "max_usd_per_mtok": 5.0}
    )
    resolved = router.resolve("factory/fast")
    assert [resolved.label, *(f.label for f in resolved.fallbacks)] == [HAIKU, MINI]
    assert FOUR_O not in router.built  # never even built for this alias
    assert ask(resolved.plain()) == HAIKU
    links = {(link.alias, link.label): link for link in router.links()}
    assert links[("factory/fast", FOUR_O)].over_ceiling
    assert links[("factory/fast", FOUR_O)].rate == 10.0
    assert not links[("factory/coder", FOUR_O)].over_ceiling


def test_nothing_under_the_ceiling_is_a_clear_error(settings: Settings) -> None:
    router, _, _ = fake_router(settings, [FOUR_O, HAIKU], {"max_usd_per_mtok": 1.0})
    with pytest.raises(
        ModelUnavailableError,
        match=r"no model of 'factory/fast' is priced within its ceiling of \$1 .*gpt-4o \(\$10\)",
    ):
        router.resolve("factory/fast")


def test_the_mapping_form_is_checked_and_the_list_form_still_reads() -> None:
    plain = config_with([PRIMARY])
    assert plain.route("factory/fast").prefer == "order" and plain.routes == {}
    routed = config_with([PRIMARY], {"prefer": "cheapest", "max_usd_per_mtok": 1000})
    assert routed.aliases["factory/fast"][0].label == PRIMARY
    assert routed.route("factory/fast").max_usd_per_mtok == 1000
    with pytest.raises(ValidationError, match="less than or equal to 1000"):
        config_with([PRIMARY], {"max_usd_per_mtok": 1000.5})
    with pytest.raises(ValidationError, match="Extra inputs"):
        config_with([PRIMARY], {"prefer_cheap": True})
    with pytest.raises(ValidationError, match="prefer"):
        config_with([PRIMARY], {"prefer": "fastest"})
    data = config_with([PRIMARY]).model_dump()
    data["aliases"]["factory/fast"] = {"prefer": "cheapest"}
    del data["routes"]
    with pytest.raises(ValidationError, match="without a 'chain' list"):
        ModelsConfig.model_validate(data)


def test_the_packaged_config_routes_the_cheap_alias_by_price(settings: Settings) -> None:
    route = ModelsConfig.load(settings).route("factory/cheap")
    assert route.prefer == "cheapest" and route.max_usd_per_mtok == 1.0


# --- what readers are shown ---------------------------------------------------------------


def test_the_view_orders_each_alias_by_the_health_it_is_given(settings: Settings) -> None:
    router, _, _ = fake_router(settings, [PRIMARY, BACKUP, LAST])
    blocked = {"standing": "blocked", "score": 0.0, "breaker": "open"}
    degraded = {"standing": "degraded", "score": 0.3, "breaker": "closed"}
    rows = [
        r for r in router.view({PRIMARY: blocked, BACKUP: degraded}) if r["alias"] == "factory/fast"
    ]
    assert [(r["model"], r["order"]) for r in rows] == [(PRIMARY, None), (BACKUP, 2), (LAST, 1)]
    assert rows[0]["health"]["breaker"] == "open" and rows[2]["health"] is None
    # the embedder's chain is shown too (devfactory models lists what serves memory)
    embed = [r for r in router.view({}) if r["alias"] == "local/embed"]
    assert embed and all(r["health"] is None for r in embed)


def test_the_publisher_writes_soon_after_a_breaker_changes_and_a_failing_sink_fails_no_call(
    settings: Settings,
) -> None:
    router, fakes, _ = fake_router(settings, [PRIMARY, BACKUP], failures_to_open=1)
    written: list[list[ProviderHealth]] = []
    opened, failed = threading.Event(), threading.Event()

    def sink(snapshot: list[ProviderHealth]) -> None:
        if not failed.is_set():
            failed.set()
            raise OSError("database gone")
        written.append(snapshot)
        if any(h.breaker is Breaker.OPEN for h in snapshot):
            opened.set()

    publisher = HealthPublisher(router.health, sink, interval_s=3600, min_gap_s=0.01)
    try:
        model = router.resolve("factory/fast").plain()
        assert ask(model) == PRIMARY  # the first write fails: the call does not
        assert failed.wait(5) and not written
        fakes[PRIMARY].mode = "fail"
        assert ask(model) == BACKUP
        # the breaker changed: written at once, not after the hour-long interval
        assert opened.wait(5)
    finally:
        publisher.close()
    last = {h.label: h for h in written[-1]}
    assert last[PRIMARY].breaker is Breaker.OPEN and last[BACKUP].calls == 1
    assert publisher.flush()  # closed: its listener is gone, a flush still writes
    assert len(written) >= 2


def test_a_callers_flush_is_never_overwritten_by_an_older_snapshot_of_the_thread(
    settings: Settings,
) -> None:
    router, fakes, _ = fake_router(settings, [PRIMARY, BACKUP], failures_to_open=1)
    written: list[dict[str, int]] = []
    in_sink, release = threading.Event(), threading.Event()

    def sink(snapshot: list[ProviderHealth]) -> None:
        calls = {h.label: h.calls for h in snapshot}
        if threading.current_thread().name == "health-publisher" and not in_sink.is_set():
            in_sink.set()  # the thread holds its snapshot (BACKUP: 1 call) and waits
            assert release.wait(5)
        written.append(calls)

    publisher = HealthPublisher(router.health, sink, interval_s=3600, min_gap_s=0.01)
    try:
        model = router.resolve("factory/fast").plain()
        fakes[PRIMARY].mode = "fail"
        assert ask(model) == BACKUP  # the breaker opens: the thread writes at once
        assert in_sink.wait(5)
        assert ask(model) == BACKUP and ask(model) == BACKUP
        flushing = threading.Thread(target=publisher.flush)
        flushing.start()  # the caller's flush, with BACKUP at 3 calls
        flushing.join(0.3)
        release.set()
        flushing.join(5)
        assert not flushing.is_alive()
    finally:
        release.set()
        publisher.close()
    # the thread's held snapshot (taken as the breaker opened: BACKUP at 0 or 1 call) is
    # written before the caller's, never after it
    counts = [w.get(BACKUP, 0) for w in written]
    assert counts[0] < 3 and counts == sorted(counts) and counts[-1] == 3


# --- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "top", "over", "under"),
    [
        ("health_failures_to_open", 100, 101, 0),
        ("health_cooldown_s", 3600.0, 3600.5, 0.5),
        ("health_window", 1000, 1001, 0),
        ("health_window_s", 86_400.0, 86_401.0, 9.0),
        ("health_min_score", 1.0, 1.01, -0.01),
        ("health_min_calls", 1000, 1001, 0),
        ("health_slow_s", 3600.0, 3601.0, 0.05),
        ("health_latency_weight", 1.0, 1.5, -0.1),
        ("health_snapshot_s", 3600.0, 3601.0, 0.4),
        ("health_fresh_s", 86_400.0, 86_401.0, 9.0),
    ],
)
def test_every_health_setting_is_bounded(
    tmp_path: Path, field: str, top: float, over: float, under: float
) -> None:
    capped = Settings(data_dir=tmp_path, **{field: top})
    assert capped.flat()[field] == top
    assert getattr(HealthPolicy.from_settings(capped), field.removeprefix("health_"), top) == top
    for bad in (over, under):
        with pytest.raises(ValidationError):
            Settings(data_dir=tmp_path, **{field: bad})


def test_a_book_at_the_largest_window_and_threshold_still_judges(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, health_window=1000, health_failures_to_open=100)
    clock = FakeClock()
    book = HealthBook(HealthPolicy.from_settings(settings), clock=clock)
    for _ in range(99):
        book.record("m", "error", 1.0)
    assert book.health("m").breaker is Breaker.CLOSED
    book.record("m", "timeout", 1.0)
    assert book.health("m").breaker is Breaker.OPEN
    for _ in range(1100):
        book.record("n", "ok", 1.0)
    assert book.health("n").calls == 1100 and book.health("n").score > 0.9


# --- the CLI without a database -------------------------------------------------------------


def test_devfactory_models_shows_the_routing_without_health(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from devfactory import cli
    from devfactory.cli import common
    from devfactory.settings import get_settings

    monkeypatch.setenv("DEVFACTORY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    monkeypatch.setattr(ModelRouter, "ollama_models", lambda self: {"qwen2.5-coder:0.5b"})
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["models", "--no-health", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    cheap = [r for r in doc["models"] if r["alias"] == "factory/cheap"]
    assert cheap[0]["model"] == "ollama:qwen2.5-coder:0.5b" and cheap[0]["order"] == 1
    assert all(r["prefer"] == "cheapest" and r["health"] is None for r in cheap)
    assert all(r["order"] is None for r in doc["models"] if not r["available"])
    assert doc["health_problem"] == ""
    monkeypatch.setenv("COLUMNS", "200")
    common._consoles.cache_clear()  # a console as wide as the table
    try:
        shown = CliRunner().invoke(cli.app, ["models", "--no-health"])
    finally:
        common._consoles.cache_clear()
    assert shown.exit_code == 0, shown.output
    line = next(ln for ln in shown.stdout.splitlines() if "factory/cheap" in ln)
    assert "ollama:qwen2.5-coder:0.5b" in line and "(cheapest)" in line and " 1 " in line
