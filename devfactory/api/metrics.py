"""Prometheus metrics, computed from Postgres at each scrape.

The runs, their stages and the queue live in Postgres, shared by every API
process and worker, so each scrape reads them there: any API replica gives the
same numbers, and none is lost when a worker restarts. Stage latency, tokens
and cost come from the ``stage_finished`` events of the run event feed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
_STAGES = """
SELECT body->'record'->>'team' AS team, coalesce(body->'record'->>'model', '') AS model,
       (body->'record'->>'seconds')::float AS seconds,
       coalesce((body->'record'->'usage'->>'input_tokens')::bigint, 0) AS input_tokens,
       coalesce((body->'record'->'usage'->>'output_tokens')::bigint, 0) AS output_tokens,
       coalesce((body->'record'->>'cost_usd')::float, 0) AS cost_usd
FROM devfactory_events WHERE kind = 'stage_finished'
"""


class FactoryCollector(Collector):
    """Collect the factory's metrics from its database."""

    def __init__(self, factory: Any) -> None:
        self.factory = factory

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family."""
        with self.factory.pool.connection() as conn:
            by_status = conn.execute(
                "SELECT status, count(*) AS n FROM devfactory_runs GROUP BY status"
            ).fetchall()
            stages = conn.execute(_STAGES).fetchall()
        runs = GaugeMetricFamily("devfactory_runs", "Runs by lifecycle status.", labels=["status"])
        for row in by_status:
            got = cast(dict[str, Any], row)
            runs.add_metric([got["status"]], got["n"])
        yield runs
        yield GaugeMetricFamily(
            "devfactory_queue_depth", "Runs waiting for a worker.", value=self.factory.queue.depth()
        )
        counts = {
            cast(dict[str, Any], r)["status"]: cast(dict[str, Any], r)["n"] for r in by_status
        }
        paused = counts.get("PAUSED", 0)
        yield GaugeMetricFamily(
            "devfactory_pauses_waiting", "Runs waiting for a person.", value=paused
        )
        yield from _stage_metrics([cast(dict[str, Any], r) for r in stages])


def _stage_metrics(stages: list[dict[str, Any]]) -> Iterator[Metric]:
    latency = HistogramMetricFamily(
        "devfactory_stage_seconds", "Seconds a stage took, by team.", labels=["team"]
    )
    teams = sorted({s["team"] for s in stages if s["team"]})
    for team in teams:
        seconds = [s["seconds"] or 0.0 for s in stages if s["team"] == team]
        buckets = [(str(b), sum(1 for v in seconds if v <= b)) for b in BUCKETS]
        latency.add_metric([team], [*buckets, ("+Inf", len(seconds))], sum(seconds))
    yield latency
    tokens = CounterMetricFamily(
        "devfactory_tokens",
        "Tokens used, by team, model and direction.",
        labels=["team", "model", "direction"],
    )
    cost = CounterMetricFamily(
        "devfactory_cost_usd",
        "Model cost in US dollars, by team and model.",
        labels=["team", "model"],
    )
    totals: dict[tuple[str, str], list[float]] = {}
    for s in stages:
        kept = totals.setdefault((s["team"] or "", s["model"]), [0, 0, 0.0])
        kept[0] += s["input_tokens"]
        kept[1] += s["output_tokens"]
        kept[2] += s["cost_usd"]
    for (team, model), (sent, received, usd) in sorted(totals.items()):
        tokens.add_metric([team, model, "input"], sent)
        tokens.add_metric([team, model, "output"], received)
        cost.add_metric([team, model], usd)
    yield tokens
    yield cost
