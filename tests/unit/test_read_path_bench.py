"""The read-path benchmark's arithmetic and report, and its place in ``make bench``'s table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import psutil
import pytest

from bench import suite
from bench.read_path_bench import (
    ROUTES,
    Round,
    compared,
    cpu_snapshot,
    cpu_spent,
    order,
    report,
    summarise,
)


def _round(latencies: list[float], wall: float, server: float = 0.0) -> Round:
    return Round(tuple(latencies), wall, server_cpu_s=server, database_cpu_s=0.5, client_cpu_s=1)


def test_rounds_pool_requests_over_their_summed_wall_time() -> None:
    pooled = summarise([_round([0.01] * 100, 1.0, server=0.2), _round([0.03] * 100, 3.0, 0.6)])
    assert pooled.requests == 200
    assert pooled.requests_per_s == 50.0  # 200 requests in 4 s, not the mean of 100 and 33.3
    assert pooled.server_cpu_ms == 4.0  # 0.8 s over 200 requests
    assert pooled.database_cpu_ms == 5.0
    assert pooled.client_cpu_ms == 10.0


def test_percentiles_are_taken_over_every_call_of_every_round() -> None:
    pooled = summarise([_round([i / 1000 for i in range(1, 51)], 1.0),
                        _round([i / 1000 for i in range(51, 101)], 1.0)])  # fmt: skip
    assert pooled.p50_ms == pytest.approx(50.0, abs=1.0)
    assert pooled.p90_ms == pytest.approx(90.0, abs=1.0)
    assert pooled.p95_ms == pytest.approx(95.0, abs=1.0)
    assert pooled.p99_ms == pytest.approx(99.0, abs=1.0)


def test_no_timed_request_is_an_error_not_a_zero() -> None:
    with pytest.raises(ValueError, match="no request"):
        summarise([_round([], 1.0)])


def test_the_ratio_is_the_read_path_over_the_floor() -> None:
    floor = summarise([_round([0.02] * 500, 1.0, server=0.5)])  # 500 req/s, 1 ms CPU each
    run = summarise([_round([0.025] * 400, 1.0, server=1.2)])  # 400 req/s, 3 ms CPU each
    ratio = compared(run, floor)
    assert ratio["throughput_ratio"] == 0.8
    assert ratio["p50_ratio"] == 1.25
    assert ratio["server_cpu_ratio"] == 3.0


def test_a_floor_without_cpu_gives_no_cpu_ratio() -> None:
    floor = summarise([_round([0.02] * 10, 1.0, server=0.0)])
    run = summarise([_round([0.02] * 10, 1.0, server=0.1)])
    assert compared(run, floor)["server_cpu_ratio"] is None


def test_rounds_alternate_so_that_drift_weighs_on_both_routes() -> None:
    timed = order(4)
    assert timed == ["health", "get_run", "get_run", "health"] * 2
    assert all(timed.count(route) == 4 for route in ROUTES)


def test_cpu_spent_counts_new_processes_whole_and_drops_ended_ones() -> None:
    before = {1: 10.0, 2: 5.0}
    after = {1: 10.5, 3: 0.25}  # 2 ended, 3 began (a new database backend)
    assert cpu_spent(before, after) == 0.75


class _Gone:
    pid = 99

    def cpu_times(self) -> Any:
        raise psutil.NoSuchProcess(99)


def test_a_snapshot_leaves_out_processes_that_are_gone() -> None:
    me = psutil.Process()
    found = cpu_snapshot([me, _Gone()])  # type: ignore[list-item]
    assert list(found) == [me.pid]
    assert found[me.pid] > 0


def _result(run_rps: float, health_rps: float) -> dict[str, Any]:
    def route(rps: float, p50: float, cpu: float) -> dict[str, float]:
        return {
            "requests": 1000, "requests_per_s": rps, "p50_ms": p50, "p90_ms": p50 * 2,
            "p95_ms": p50 * 3, "p99_ms": p50 * 4, "server_cpu_ms": cpu,
            "database_cpu_ms": 0.4, "client_cpu_ms": 1.1,
        }  # fmt: skip

    run, health = route(run_rps, 120.0, 2.5), route(health_rps, 90.0, 1.1)
    return {
        "workers": 2,
        "clients": 50,
        "rounds": 3,
        "requests_per_round": 1000,
        "health": health,
        "get_run": run,
        "ratio": {"throughput_ratio": round(run_rps / health_rps, 3), "p50_ratio": 1.333,
                  "server_cpu_ratio": None},
    }  # fmt: skip


def test_the_report_gives_each_route_and_their_ratio() -> None:
    text = report(_result(440.0, 550.0))
    assert "serve --workers 2, 50 clients, 3 round(s) of 1000 requests per route" in text
    assert re.search(r"GET /health +550\.0 req/s +p50 90\.0 ms +p95 270\.0 ms", text)
    assert re.search(r"GET /runs/\{id\} +440\.0 req/s +p50 120\.0 ms", text)
    assert "server CPU 2.5 ms/req" in text
    assert "throughput 0.80x, p50 1.33x, server CPU per request -" in text


@pytest.mark.parametrize(("run_rps", "met"), [(440.0, True), (439.0, False)])
def test_the_suite_judges_the_throughput_ratio_against_0_8(run_rps: float, met: bool) -> None:
    throughput, p50, p95, cpu = suite.read_path(_result(run_rps, 550.0))
    assert throughput.name == "GET /runs/{id} throughput, 50 clients, serve --workers 2"
    assert throughput.reference_value == 550.0
    assert throughput.met is met
    assert (p50.value, p50.reference_value, p50.met) == (120.0, 90.0, None)
    assert (p95.value, p95.reference_value) == (360.0, 270.0)
    assert (cpu.value, cpu.reference_value, cpu.met) == (2.5, 1.1, None)


def test_the_suite_table_carries_the_ratio_target_and_no_absolute_latency_target(
    tmp_path: Path,
) -> None:
    bench = Path(suite.__file__).parent
    for name in ("cli.json", "service.json", "stage.json"):
        (tmp_path / name).write_text((bench / name).read_text())
    (tmp_path / "read_path.json").write_text(json.dumps(_result(300.0, 550.0)))
    table = suite.table(suite.figures(tmp_path, model=False))
    row = next(line for line in table.splitlines() if "throughput, 50 clients, serve" in line)
    assert "| GET /health, same clients: 550 req/s | 0.55x | >= 0.8x | **no** |" in row
    one_process = [line for line in table.splitlines() if "1 process" in line]
    assert one_process and all(line.endswith("| - | - |") for line in one_process)
