"""Which models serve the teams, and how.

The model chains and providers (Ollama, the price table), each provider's
health and circuit breaker, and the embedded ``llama-server`` (threads, slots,
the draft model of speculative decoding).

``Settings.serving`` (``settings/__init__.py``): each field is given by its flat name,
``DEVFACTORY_<NAME>``, as every setting is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field

from devfactory.settings.concern import Concern


class ServingSettings(Concern):
    """Which models serve the teams, and how."""

    ollama_host: str | None = Field(
        default=None, validation_alias=AliasChoices("OLLAMA_HOST", "DEVFACTORY_OLLAMA_HOST")
    )
    """The Ollama server the model chains try first (default: http://127.0.0.1:11434)."""
    ollama_num_parallel: int = Field(
        default=1,
        ge=1,
        le=64,
        validation_alias=AliasChoices("OLLAMA_NUM_PARALLEL", "DEVFACTORY_OLLAMA_NUM_PARALLEL"),
    )
    """Requests the Ollama server decodes at once for one model (its own OLLAMA_NUM_PARALLEL):
    how many calls an Ollama model is sent at a time."""
    provider_parallel: int = Field(default=4, ge=1, le=16)
    """Requests sent at once to a model of any other provider (a cloud or an OpenAI-compatible
    server); the embedded model is sent as many as its server's slots."""
    models_file: Path | None = None
    """The aliases' model chains (default: the packaged models.yaml, the embedded 1.5B on the
    coder and architect; models-0.5b.yaml keeps every alias on the 0.5B)."""
    model_chain: str | None = None
    """Restrict every alias to providers of this kind (e.g. 'embedded')."""

    model_call_timeout_s: float = Field(default=900.0, gt=0, le=7200)
    """Seconds one model call may take; past it the call fails, is retried up to max_model_errors
    times (then the next model of the alias's chain), and the stage is BLOCKED with the reason. A
    call of the shared llama-server is timed by its progress instead: this long to be taken into
    a slot, or silent after that, and served_min_decode_tps for the whole reply."""
    served_min_decode_tps: float = Field(default=0.5, ge=0.01, le=1000.0)
    """The slowest a reply of the shared llama-server may decode, tokens/s over its whole cap:
    from the moment a slot takes it, a reply capped at N tokens has max(model_call_timeout_s, N /
    this) seconds. Candidates decoded together share the cores, so a limit counted from sending
    would fail a call that is progressing."""

    # HEALTH: provider health, circuit breakers (models/health.py).
    health_failures_to_open: int = Field(default=3, ge=1, le=100)
    """Failed model calls in a row (errors and timeouts) that open a model's circuit: its calls
    then fail at once and the alias's next model serves."""
    health_cooldown_s: float = Field(default=60.0, ge=1.0, le=3600.0)
    """Seconds an open circuit waits before one trial call (half-open); the trial's success
    closes it, its failure opens it again for as long."""
    health_window: int = Field(default=20, ge=1, le=1000)
    """Recent calls of a model its health score is taken over."""
    health_window_s: float = Field(default=600.0, ge=10.0, le=86_400.0)
    """Seconds a call counts in its model's health score (so a degraded model left unused is
    trusted again once its failures are this old)."""
    health_min_score: float = Field(default=0.5, ge=0.0, le=1.0)
    """A model scoring under this is degraded: tried after the healthy models of its alias."""
    health_min_calls: int = Field(default=5, ge=1, le=1000)
    """Calls a model's window must hold before a low score degrades it (one unlucky call moves
    nothing; failures in a row still open its circuit)."""
    health_slow_s: float = Field(default=30.0, ge=0.1, le=3600.0)
    """The median latency (seconds) that halves the speed part of a score."""
    health_latency_weight: float = Field(default=0.2, ge=0.0, le=1.0)
    """How much of a health score is speed; the rest is the share of calls that succeeded."""
    health_snapshot_s: float = Field(default=5.0, ge=0.5, le=3600.0)
    """At most one health snapshot per process this often (and soon after a circuit changes), for
    `devfactory models`, GET /models and the console."""
    health_fresh_s: float = Field(default=900.0, ge=10.0, le=86_400.0)
    """A process's health snapshot older than this is not shown (the process stopped making
    calls, or ended); older than ten times this, it is deleted."""

    # APPROVALS: requests for a person (control/approval_rules.py,
    # graph/oversight/requests.py); the rules themselves are the policy file's approval_rules.
    cheap_model_cost_ratio: float = Field(default=0.3, gt=0.0, le=1.0)
    """The share of the estimated cost to finish that the cheaper_model alternative (the
    remaining stages on factory/cheap) is estimated at, shown with it."""
    embedded_threads: int = Field(default=0, ge=0, le=256)
    """0: one per core, at most 4"""
    embedded_repeat_penalty: float | None = Field(default=None, ge=1.0, le=2.0)
    """llama.cpp's repeat penalty for every embedded model (1.0: none); unset, each packaged
    model samples with its own, chosen by measurement (docs/quality.md)."""
    embedded_schema_order: Literal["sorted", "declared"] | None = None
    """The order every embedded model writes a structured answer's fields in: `sorted`
    (alphabetical) or `declared` (the schema's own, as Ollama keeps it); unset, each packaged
    model's own (docs/quality.md)."""
    embedded_ctx: int = Field(default=8192, ge=1024, le=32_768)
    """Context of the embedded model (per slot)."""
    embedded_server_binary: Path | None = None
    """llama-server's path (default: beside the Python interpreter)."""
    embedded_server_slots: int = Field(default=4, ge=1, le=8)
    """Sequences the shared server decodes at once (--parallel), each with embedded_ctx tokens of
    context; a running server keeps the slots it started with."""
    embedded_speculative: bool = True
    """Serve an embedded model with the draft models.yaml gives it (speculative decoding: the
    draft proposes tokens the model checks in one batch); off: every embedded model decodes
    alone."""
    embedded_draft_max: int = Field(default=8, ge=1, le=32)
    """The most tokens a draft proposes at a time (--spec-draft-n-max)."""
    embedded_draft_min: int = Field(default=0, ge=0, le=32)
    """The fewest tokens a draft proposes before its model checks them (--spec-draft-n-min)."""
    embedded_server_start_timeout_s: float = Field(default=120.0, ge=1.0, le=900.0)
    """How long a process waits for the shared server to start (or for another process starting
    it)."""
    embedded_server_idle_timeout_s: float = Field(default=900.0, ge=1.0, le=86_400.0)
    """The shared server stops after decoding nothing for this long."""
    embedded_server_grace_s: float = Field(default=10.0, ge=0.5, le=3600.0)
    """The shared server stops this long after the last process using it is gone."""
    probe_timeout_s: float = Field(default=1.5, gt=0, le=30)
    """How long a server is asked whether it is there: Ollama (which models it has) and Langfuse
    (at start)."""
    prices_file: Path | None = None
    """USD per million tokens by model label, local models 0 (default: the packaged prices.yaml)."""
    models_factory: str | None = None
    """module:function returning the model source (tests and plugins only)."""
