"""Runtime settings: every limit the factory enforces lives here.

Values come from the environment (``DEVFACTORY_*``, plus the conventional
``DATABASE_URL`` and ``OLLAMA_HOST``) or an optional TOML file named by
``DEVFACTORY_CONFIG``; defaults are safe for a laptop. Each default and bound
is written once: here, or for what one sandboxed command may use in
``sandbox.limits.Limits``, which the settings hold as ``sandbox_limits``.

Why one module: it is the one list of every cap and switch, with the sources
it is read from; split, a reader would have two lists to search.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal, get_args, get_origin

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from devfactory.control.ceilings import MAX_RUN_DEADLINE_S
from devfactory.repos.remotes import MAX_ENTRIES as MAX_HOST_ENTRIES
from devfactory.repos.remotes import HostPolicy
from devfactory.sandbox.index_proxy import parse_networks
from devfactory.sandbox.indexes import parse_hosts
from devfactory.sandbox.limits import INSTALL_SECONDS, INSTALL_SECONDS_RANGE, Limits
from devfactory.webguard import check_origin, check_proxy

FLAT_LIMITS: Final = {f"sandbox_{item.name}": item.name for item in fields(Limits)}
"""Each sandbox limit's flat setting name (``sandbox_cpu_seconds``) and its field in ``Limits``."""
RepairName = Literal[
    "quotes",
    "stdlib-imports",
    "cut-marks",
    "except-names",
    "pytest-import",
    "mock-imports",
    "broken-tests",
    "project-imports",
    "method-aliases",
    "unbound-tests",
    "starting-plan",
    "plan-shape",
    "unwritten-files",
    "tests-by-name",
    "module-files",
    "python-m-main",
    "missing-tests",
    "owners",
    "unknown-fields",
    "confidence",
    "lists",
    "no-question",
    "diagram",
    "openapi-required",
]
"""Each mechanical repair's name in ``repairs/repair.py``'s registry (one name, every kind)."""


class Settings(BaseSettings):
    """Factory configuration. Every cap is bounded and validated."""

    model_config = SettingsConfigDict(
        env_prefix="DEVFACTORY_", extra="ignore", frozen=True, populate_by_name=True
    )

    data_dir: Path = Field(
        default=Path.home() / ".devfactory",
        description="Where the factory keeps its state: the embedded Postgres, the joined "
        "models, the users file, the audit key, the runs' folders.",
    )
    runs_dir: Path | None = Field(
        default=None,
        description="Where each run's folder is made, as <runs_dir>/<run-id> (default: "
        "<data_dir>/runs, so the API, the workers and the chat that share the data directory "
        "see the same files); a run's own folder (--out) wins.",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "DEVFACTORY_DATABASE_URL"),
        description="Postgres with pgvector (postgresql://user:pass@host:5432/db); unset, the "
        "factory starts its own in <data_dir>/pg.",
    )
    database_connect_timeout_s: float = Field(
        default=5.0, ge=1.0, le=120.0, description="How long to wait for Postgres to answer."
    )
    database_prepare_wait_s: float = Field(
        default=120.0,
        ge=1.0,
        le=3600.0,
        description="How long a starting process waits while another migrates the database.",
    )
    database_app_password: str | None = Field(
        default=None,
        description="Password of the restricted role the factory runs as "
        "(default: kept in <data_dir>/db-app-secret).",
    )
    # The audit chain's key and anchors live outside the database.
    audit_key: str | None = Field(
        default=None,
        description="The audit chain's HMAC key itself (default: read from audit_key_file).",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="The file holding the audit chain's HMAC key, made on first use "
        "(default: <data_dir>/audit.key).",
    )
    audit_anchor_dir: Path | None = Field(
        default=None, description="Where chain heads are anchored (default: <data_dir>/audit)."
    )
    ollama_host: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OLLAMA_HOST", "DEVFACTORY_OLLAMA_HOST"),
        description="The Ollama server the model chains try first (default: "
        "http://127.0.0.1:11434).",
    )
    ollama_num_parallel: int = Field(
        default=1,
        ge=1,
        le=64,
        validation_alias=AliasChoices("OLLAMA_NUM_PARALLEL", "DEVFACTORY_OLLAMA_NUM_PARALLEL"),
        description="Requests the Ollama server decodes at once for one model (its own "
        "OLLAMA_NUM_PARALLEL): how many calls an Ollama model is sent at a time.",
    )
    provider_parallel: int = Field(
        default=4,
        ge=1,
        le=16,
        description="Requests sent at once to a model of any other provider (a cloud or an "
        "OpenAI-compatible server); the embedded model is sent as many as its server's slots.",
    )
    models_file: Path | None = Field(
        default=None,
        description="The aliases' model chains (default: the packaged models.yaml, the embedded "
        "1.5B on the coder and architect; models-0.5b.yaml keeps every alias on the 0.5B).",
    )
    model_chain: str | None = Field(
        default=None,
        description="Restrict every alias to providers of this kind (e.g. 'embedded').",
    )

    # Confidence gate and repair limits.
    max_stage_attempts: int = Field(
        default=3, ge=1, le=10, description="Gate attempts per stage before it is BLOCKED."
    )
    disagreeing_tests_attempt: int = Field(
        default=1,
        ge=0,
        le=10,
        description="The stage attempt from which a team's tests that fail on code passing every "
        "one of the requirement's own examples are taken out (software/disagreeing_tests.py); "
        "0: only at the stage's last attempt, each attempt before asking the team to mend "
        "them (on the 1.5B the last attempt still had them: docs/quality.md).",
    )
    max_parse_retries: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Requests again after an invalid report, a report that only echoes its "
        "request, or a Python draft the gate would refuse.",
    )
    max_model_errors: int = Field(
        default=2, ge=1, le=5, description="Tries per model call on transport errors."
    )
    recursion_limit: int = Field(
        default=100, ge=4, le=10_000, description="LangGraph's recursion limit per run."
    )
    run_lease_seconds: float = Field(
        default=60.0,
        ge=5.0,
        le=3600.0,
        description="How long a run's driver holds it without renewing (renewed every third).",
    )

    model_call_timeout_s: float = Field(
        default=900.0,
        gt=0,
        le=7200,
        description="Seconds one model call may take; past it the call fails, is retried up "
        "to max_model_errors times (then the next model of the alias's chain), and the stage "
        "is BLOCKED with the reason. A call of the shared llama-server is timed by its "
        "progress instead: this long to be taken into a slot, or silent after that, and "
        "served_min_decode_tps for the whole reply.",
    )
    served_min_decode_tps: float = Field(
        default=0.5,
        ge=0.01,
        le=1000.0,
        description="The slowest a reply of the shared llama-server may decode, tokens/s over "
        "its whole cap: from the moment a slot takes it, a reply capped at N tokens has "
        "max(model_call_timeout_s, N / this) seconds. Candidates decoded together share "
        "the cores, so a limit counted from sending would fail a call that is progressing.",
    )

    # HEALTH: provider health, circuit breakers (models/health.py).
    health_failures_to_open: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Failed model calls in a row (errors and timeouts) that open a model's "
        "circuit: its calls then fail at once and the alias's next model serves.",
    )
    health_cooldown_s: float = Field(
        default=60.0,
        ge=1.0,
        le=3600.0,
        description="Seconds an open circuit waits before one trial call (half-open); the "
        "trial's success closes it, its failure opens it again for as long.",
    )
    health_window: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Recent calls of a model its health score is taken over.",
    )
    health_window_s: float = Field(
        default=600.0,
        ge=10.0,
        le=86_400.0,
        description="Seconds a call counts in its model's health score (so a degraded model "
        "left unused is trusted again once its failures are this old).",
    )
    health_min_score: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="A model scoring under this is degraded: tried after the healthy models "
        "of its alias.",
    )
    health_min_calls: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Calls a model's window must hold before a low score degrades it (one "
        "unlucky call moves nothing; failures in a row still open its circuit).",
    )
    health_slow_s: float = Field(
        default=30.0,
        ge=0.1,
        le=3600.0,
        description="The median latency (seconds) that halves the speed part of a score.",
    )
    health_latency_weight: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="How much of a health score is speed; the rest is the share of calls "
        "that succeeded.",
    )
    health_snapshot_s: float = Field(
        default=5.0,
        ge=0.5,
        le=3600.0,
        description="At most one health snapshot per process this often (and soon after a "
        "circuit changes), for `devfactory models`, GET /models and the console.",
    )
    health_fresh_s: float = Field(
        default=900.0,
        ge=10.0,
        le=86_400.0,
        description="A process's health snapshot older than this is not shown (the process "
        "stopped making calls, or ended); older than ten times this, it is deleted.",
    )

    # Workers (devfactory worker): the run queue and its watchdog.
    worker_poll_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How often an idle worker looks at the queue (a NOTIFY wakes it sooner).",
    )
    watchdog_interval_s: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="How often the watchdog requeues runs whose worker died.",
    )
    api_host: str = Field(default="127.0.0.1", description="Where `devfactory serve` listens.")
    api_port: int = Field(
        default=8080, ge=1, le=65535, description="Where `devfactory serve` listens."
    )
    api_public_origin: str | None = Field(
        default=None,
        description="The console's address as browsers open it (scheme://host[:port]); only "
        "forms on its pages may sign in and out. Default: the address each request was sent to "
        "(its Host header).",
    )
    api_events_poll_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How often a live event stream looks for new events without a NOTIFY.",
    )
    api_finished_runs_kept: int = Field(
        default=256,
        ge=0,
        le=100_000,
        description="How many finished runs' details (GET /runs/{id}) each `devfactory serve` "
        "process keeps rendered, served with no query until the database announces a change "
        "of the run; the least recently read goes first. 0: none are kept.",
    )
    api_finished_run_kept_s: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="The longest a finished run's detail is served as kept, should a change "
        "of it ever go unheard; then it is read again.",
    )
    api_db_pool_size: int = Field(
        default=16,
        ge=2,
        le=100,
        description="The most database connections one `devfactory serve` process holds; its "
        "routes run in threads, each holding one while it queries.",
    )
    api_workers_max: int = Field(
        default=4,
        ge=1,
        le=64,
        description="The most processes `devfactory serve --workers N` may start. Each holds "
        "up to api_db_pool_size + 3 database connections (its routes' pool, two for console "
        "sign-ins, one LISTEN) and its own password_checks_at_once: keep N times that under "
        "the database's max_connections and the machine's memory.",
    )
    web_max_body_kb: int = Field(
        default=1024,
        ge=1,
        le=1_048_576,
        description="The largest request body the API and the chat accept (KiB); 413 past it, "
        "refused before it is read.",
    )
    web_frame_ancestors: tuple[str, ...] = Field(
        default=(),
        description="Origins (scheme://host[:port]) whose pages may show the chat and the API "
        "in a frame (JSON list in the environment); none by default, so no page can lay them "
        "under a decoy button.",
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=(),
        max_length=64,
        description="Addresses or networks (10.0.0.0/8) of the reverse proxies in front of the "
        "API and the chat (JSON list in the environment): only a request from one of them may "
        "name its client in X-Forwarded-For (and its scheme in X-Forwarded-Proto). None by "
        "default: the address a connection comes from is the client's, whatever it sends.",
    )
    run_file_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=64 * 1024,
        le=1024 * 1024 * 1024,
        description="The largest file of a run's folder a reader takes whole (the API's "
        "download, a file the chat attaches, the run.json a purge checks); larger ones are "
        "refused (413 over the API).",
    )
    run_files_listed: int = Field(
        default=10_000,
        ge=100,
        le=1_000_000,
        description="Entries (files, folders, links) a listing of a run's folder looks at "
        "before it stops and says there are more.",
    )
    chat_attachment_bytes: int = Field(
        default=20 * 1024 * 1024,
        ge=64 * 1024,
        le=1024 * 1024 * 1024,
        description="Bytes of a finished run's files the chat attaches to its message in all; "
        "the files past it are named in the message, not attached.",
    )
    pause_expiry_s: float = Field(
        default=0,
        ge=0,
        le=365 * 86400,
        description="Seconds a pause may wait for a person where its approval rule gives no "
        "deadline_s; past it the request is EXPIRED and the watchdog answers it by the rule's "
        "on_expiry (by default the policy's unattended rule), recorded as policy:expiry (0: "
        "such pauses never expire). A rule set to wait, a hold, and a governance approval "
        "nobody pre-approved, still wait.",
    )

    # APPROVALS: requests for a person (control/approval_rules.py,
    # graph/oversight/requests.py); the rules themselves are the policy file's approval_rules.
    cheap_model_cost_ratio: float = Field(
        default=0.3,
        gt=0.0,
        le=1.0,
        description="The share of the estimated cost to finish that the cheaper_model "
        "alternative (the remaining stages on factory/cheap) is estimated at, shown with it.",
    )
    retention_days: float = Field(
        default=0,
        ge=0,
        le=36500,
        description="Days after which the watchdog archives a finished run (0: never); an "
        "admin may then purge its checkpoints, live events and folder (devfactory purge).",
    )
    max_run_crashes: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Drives of one run that may die before the watchdog fails it with the reason.",
    )

    # Generation limits.
    stage_max_tokens: int = Field(
        default=1024, ge=64, le=32_768, description="Tokens one model call may write."
    )
    baseline_max_tokens: int = Field(
        default=2048,
        ge=256,
        le=32_768,
        description="Generation cap of the evaluation's single-call baseline (eval/baseline.py), "
        "which writes a whole module in one reply: its own cap, not stage_max_tokens.",
    )
    upstream_chars: int = Field(
        default=1500,
        ge=200,
        le=100_000,
        description="Characters of each upstream artifact shown to a stage.",
    )
    max_continuations: int = Field(
        default=1,
        ge=0,
        le=4,
        description="Calls that continue a file cut off at stage_max_tokens before it is "
        "reported unfinished.",
    )
    loop_repeat_penalty: float = Field(
        default=1.1,
        ge=1.0,
        le=2.0,
        description="The repeat penalty of the one call that asks again for a Python file whose "
        "reply looped (one block of lines written over until the token limit); that call is "
        "sampled at candidate_temperature too (at the stage's temperature with this penalty, "
        "the 1.5B looped again in the demo's QA stage). Embedded models and Ollama; others keep "
        "their own.",
    )
    context_tokens: int = Field(
        default=2500,
        ge=200,
        le=200_000,
        description="Token budget of a stage's packed context (objective, recall, upstream).",
    )
    requirement_tokens: int = Field(
        default=1200,
        ge=100,
        le=200_000,
        description="The most of the requirement one call sees (within context_tokens); a "
        "longer spec is cut to its overview and the sections most relevant to the call.",
    )
    temperature: float = Field(
        default=0.2, ge=0.0, le=2.0, description="Sampling temperature of a stage's calls."
    )
    embedded_threads: int = Field(default=0, ge=0, le=256, description="0: one per core, at most 4")
    embedded_repeat_penalty: float | None = Field(
        default=None,
        ge=1.0,
        le=2.0,
        description="llama.cpp's repeat penalty for every embedded model (1.0: none); unset, "
        "each packaged model samples with its own, chosen by measurement (docs/quality.md).",
    )
    embedded_schema_order: Literal["sorted", "declared"] | None = Field(
        default=None,
        description="The order every embedded model writes a structured answer's fields in: "
        "`sorted` (alphabetical) or `declared` (the schema's own, as Ollama keeps it); unset, "
        "each packaged model's own (docs/quality.md).",
    )
    embedded_ctx: int = Field(
        default=8192, ge=1024, le=32_768, description="Context of the embedded model (per slot)."
    )
    embedded_server_binary: Path | None = Field(
        default=None, description="llama-server's path (default: beside the Python interpreter)."
    )
    embedded_server_slots: int = Field(
        default=4,
        ge=1,
        le=8,
        description="Sequences the shared server decodes at once (--parallel), each with "
        "embedded_ctx tokens of context; a running server keeps the slots it started with.",
    )
    embedded_speculative: bool = Field(
        default=True,
        description="Serve an embedded model with the draft models.yaml gives it (speculative "
        "decoding: the draft proposes tokens the model checks in one batch); off: every "
        "embedded model decodes alone.",
    )
    embedded_draft_max: int = Field(
        default=8,
        ge=1,
        le=32,
        description="The most tokens a draft proposes at a time (--spec-draft-n-max).",
    )
    embedded_draft_min: int = Field(
        default=0,
        ge=0,
        le=32,
        description="The fewest tokens a draft proposes before its model checks them "
        "(--spec-draft-n-min).",
    )
    embedded_server_start_timeout_s: float = Field(
        default=120.0,
        ge=1.0,
        le=900.0,
        description="How long a process waits for the shared server to start (or for another "
        "process starting it).",
    )
    embedded_server_idle_timeout_s: float = Field(
        default=900.0,
        ge=1.0,
        le=86_400.0,
        description="The shared server stops after decoding nothing for this long.",
    )
    embedded_server_grace_s: float = Field(
        default=10.0,
        ge=0.5,
        le=3600.0,
        description="The shared server stops this long after the last process using it is gone.",
    )
    probe_timeout_s: float = Field(
        default=1.5,
        gt=0,
        le=30,
        description="How long a server is asked whether it is there: Ollama (which models it "
        "has) and Langfuse (at start).",
    )

    # Control plane: policy, clarification broker, people, review.
    policy_file: Path | None = Field(
        default=None,
        description="Governance rules: risk actions, approval rules, roles per pause, risk "
        "patterns (default: the packaged policy.yaml).",
    )
    prices_file: Path | None = Field(
        default=None,
        description="USD per million tokens by model label, local models 0 (default: the "
        "packaged prices.yaml).",
    )
    max_clarifications: int = Field(
        default=2, ge=0, le=10, description="Questions one objective may route to other teams."
    )
    max_hops: int = Field(
        default=2, ge=1, le=5, description="Depth of a clarification chain (A asks B asks C)."
    )
    max_human_retries: int = Field(
        default=2, ge=0, le=10, description="Times a person may send a BLOCKED stage back."
    )
    max_review_rounds: int = Field(
        default=2, ge=0, le=10, description="Times a person may send the result back for changes."
    )
    max_governance_rounds: int = Field(
        default=3, ge=1, le=10, description="Times a requirement may be modified and re-assessed."
    )
    operator: str | None = Field(
        default=None, description="Who answers pauses from this CLI (default: the OS user)."
    )
    operator_role: str = Field(
        default="approver", min_length=1, description="The role the CLI operator answers as."
    )
    review_required: bool = Field(
        default=True, description="Pause for a person's final review before COMPLETED."
    )
    unattended: bool = Field(
        default=False,
        description="Start runs unattended (batch workers): the policy's unattended rules "
        "answer every pause; a governance approval waits unless the project is pre-approved.",
    )

    candidates: int = Field(
        default=3,
        ge=1,
        le=16,
        description="Bodies drawn for each unit of a module (a function, a command, a "
        "module with routes), each run against the example tests; the best is kept. Drawn "
        "at temperatures from `temperature` up to `candidate_temperature`.",
    )
    parallel_candidates: int = Field(
        default=4,
        ge=1,
        le=8,
        description="Calls of one unit drawn at once (its candidates, the model's tests of it, "
        "the whole module's answers), at most as many as its model serves at once "
        "(`ResolvedModel.parallel`); 1: one after another. Results are taken in the order "
        "drawn, so the choice among given candidates does not depend on which came first.",
    )
    behaviour_tests_per_sentence: int = Field(
        default=3,
        ge=1,
        le=8,
        description="Tests the model may write of one behaviour sentence of a unit it can call "
        "(a planned function, a filter's transform); candidates are chosen by dual agreement "
        "with them among those tied on the requirement's examples.",
    )
    behaviour_tests_per_unit: int = Field(
        default=8,
        ge=1,
        le=24,
        description="Tests of a unit's behaviour kept in all (each run on every candidate).",
    )
    behaviour_test_calls: int = Field(
        default=1,
        ge=0,
        le=4,
        description="Model calls asking for a unit's behaviour tests (0: none are asked; "
        "later calls only while fewer than `behaviour_tests_per_unit` were kept).",
    )
    repairs_off: tuple[RepairName, ...] = Field(
        default=(),
        description="Mechanical repairs of model output left out, by name (repairs/repair.py: "
        "quotes, stdlib-imports, cut-marks, except-names, pytest-import, mock-imports, "
        "broken-tests, project-imports, method-aliases, unbound-tests, the plan's, the report's, "
        "diagram, "
        "openapi-required): what each does for a model is measured with it on and off "
        "(docs/quality.md). Unset, every repair is made.",
    )
    behaviour_test_values: Literal["literal", "json"] = Field(
        default="json",
        description="How the model writes a behaviour test's arguments and result: as JSON "
        "values (`json`: read back by the function's annotations, a list and a tuple compare "
        "alike), or as Python literals inside JSON strings (`literal`). On the dev units both "
        "embedded models wrote more right tests as JSON (docs/quality.md).",
    )
    prose_fact_calls: int = Field(
        default=1,
        ge=0,
        le=4,
        description="Model calls asking for the facts the parser left open (no module, or no "
        "function, usage line or route; 0: none are asked). A requirement whose interface the "
        "parser reads costs none.",
    )
    prose_facts_per_kind: int = Field(
        default=8,
        ge=1,
        le=32,
        description="Facts of each kind (functions, routes, exit codes, examples) kept of the "
        "model's; the rest are dropped as over the cap.",
    )
    prose_quote_chars: int = Field(
        default=300,
        ge=20,
        le=2000,
        description="The longest quote a model's fact may carry; a longer one is dropped.",
    )
    whole_module_candidates: int = Field(
        default=1,
        ge=0,
        le=3,
        description="Calls per module and attempt asking for the whole module in one reply, as "
        "a fair single call writes it (0: none). It competes with the unit-by-unit build on "
        "the same tests, and is what a run whose plan blocked delivers, marked not accepted.",
    )
    whole_module_max_tokens: int = Field(
        default=2048,
        ge=256,
        le=16_384,
        description="The token cap of a whole-module reply (not stage_max_tokens: a whole "
        "module needs more than one file's usual reply).",
    )
    candidate_temperature: float = Field(
        default=0.9,
        ge=0.0,
        le=2.0,
        description="The temperature of the last candidate drawn, and of the one call that asks "
        "again for a file whose reply looped.",
    )
    repair_rounds: int = Field(
        default=2,
        ge=0,
        le=8,
        description="Repairs of a unit's best candidate, each shown the failing assertion.",
    )
    max_fix_rounds: int = Field(
        default=1,
        ge=0,
        le=5,
        description="Times the final checks' failures go back to the teams that own the files.",
    )
    run_code: bool = Field(
        default=True,
        description="Run the build plan's code in the sandbox and gate stages on the results "
        "(off only for graph-logic tests; an off run says so in every stage record).",
    )

    # Memory: bounded recall before each stage.
    memory_enabled: bool = Field(default=True, description="Recall and retain at stage boundaries.")
    recall_k: int = Field(default=6, ge=0, le=50, description="Memories recalled per stage.")
    recall_threshold: float = Field(
        default=0.35, ge=-1.0, le=1.0, description="Minimum cosine similarity to recall."
    )
    fact_memory: bool = Field(
        default=True, description="Extract and dedup each team's facts with mem0 after a stage."
    )
    fact_alias: str = Field(default="factory/cheap", description="The model that extracts facts.")
    fact_k: int = Field(default=4, ge=0, le=50, description="Team facts recalled per stage.")
    max_facts_per_stage: int = Field(
        default=6, ge=1, le=20, description="The most facts one stage may add."
    )
    fact_queue: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Stages whose fact extraction may wait for a background worker after the "
        "stage, for runs with no token, cost or time cap (0: always inline, metered in the "
        "run's ledger). A full queue extracts inline.",
    )
    fact_queue_flush_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="How long closing the factory waits for queued fact extractions; "
        "the rest are dropped with a log line.",
    )

    # The chat (devfactory chat).
    chat_host: str = Field(default="127.0.0.1", description="Where the chat listens.")
    chat_port: int = Field(
        default=8000, ge=1, le=65535, description="Where `devfactory chat` listens."
    )
    users_file: Path | None = Field(
        default=None, description="People who may sign in (default: <data_dir>/users.yaml)."
    )
    chat_header_auth: bool = Field(
        default=False,
        description="Trust chat_header_user/role set by a proxy in front of the chat.",
    )
    chat_header_user: str = Field(
        default="X-Forwarded-User",
        description="The proxy's header naming the person (with `chat_header_auth`).",
    )
    chat_header_role: str = Field(
        default="X-Forwarded-Role",
        description="The proxy's header naming their role (with `chat_header_auth`).",
    )
    chat_public_origin: str | None = Field(
        default=None,
        description="The chat's address as browsers open it (scheme://host[:port]); only "
        "pages from it may call the chat. Default: http://<chat_host>:<chat_port>.",
    )
    chat_session_minutes: int = Field(
        default=60, ge=1, le=7 * 24 * 60, description="How long a chat sign-in lasts."
    )
    console_sessions_per_person: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Console sign-ins one person may hold at once (browsers, devices); "
        "signing in past it ends their oldest.",
    )
    chat_login_max_failures: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Wrong passwords for one name from one address (chat and console) before "
        "that name is locked at that address; others there may still sign in.",
    )
    chat_login_flood_failures: int = Field(
        default=50,
        ge=2,
        le=10_000,
        description="Wrong passwords from one address across names, or for one name across "
        "addresses, before the whole address, or the name everywhere, is locked (a flood).",
    )
    chat_login_window_s: int = Field(
        default=300, ge=1, le=86_400, description="The window those failures are counted in."
    )
    chat_login_lockout_s: int = Field(
        default=60,
        ge=1,
        le=86_400,
        description="How long a name's first lock at an address lasts; each next one lasts "
        "twice as long, up to chat_login_lockout_max_s.",
    )
    chat_login_lockout_max_s: int = Field(
        default=3600,
        ge=1,
        le=86_400,
        description="The longest sign-in lock, and how long a flood locks an address or a "
        "name; a name at an address starts afresh once quiet this long.",
    )
    password_checks_at_once: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Password hashes a process works at once (each Argon2id check takes 64 "
        "MiB), in threads of their own: sign-ins never hold the threads other requests need.",
    )
    password_checks_waiting: int = Field(
        default=16,
        ge=0,
        le=1024,
        description="Sign-ins that may wait for a password check past password_checks_at_once; "
        "one more is refused at once (503, try again), never queued without bound.",
    )
    chat_secret_recheck_s: float = Field(
        default=1.0,
        ge=0.1,
        le=60,
        description="How old the chat's copy of its signing secret may grow before it reads "
        "the database again: a rotation ends every chat sign-in within this time.",
    )
    chat_max_active_runs: int = Field(
        default=2, ge=1, le=32, description="Runs the chat drives at once; more wait in line."
    )
    chat_group_rounds: int = Field(
        default=4, ge=1, le=12, description="Turns in a group chat before the moderator sums up."
    )
    chat_history_turns: int = Field(
        default=8, ge=0, le=50, description="Earlier turns a team sees in a direct chat."
    )
    models_factory: str | None = Field(
        default=None,
        description="module:function returning the model source (tests and plugins only).",
    )

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="'text' log lines for people, or 'json': one JSON object a line, with "
        "the run, stage, team and step it is about (devfactory --log-format).",
    )

    # The sandbox that runs generated code (docs/sandbox.md).
    sandbox: Literal["bwrap", "unsandboxed"] = Field(
        default="bwrap",
        description="'bwrap' isolates generated code with bubblewrap; 'unsandboxed' runs it "
        "with limits but no isolation (trusted code only; every result says so).",
    )
    sandbox_limits: Limits = Field(
        default_factory=Limits,
        description="What one sandboxed command may use (defaults and bounds: sandbox/limits.py); "
        "each limit is also read by its flat name (sandbox_cpu_seconds, "
        "DEVFACTORY_SANDBOX_CPU_SECONDS, ...).",
    )
    sandbox_install_seconds: int = Field(
        default=INSTALL_SECONDS,
        ge=INSTALL_SECONDS_RANGE[0],
        le=INSTALL_SECONDS_RANGE[1],
        description="Time to build one dependency environment.",
    )
    sandbox_cache_dir: Path | None = Field(
        default=None,
        description="Environments and uv's cache (default: <data_dir>/sandbox).",
    )
    sandbox_index_hosts: tuple[str, ...] = Field(
        default=(),
        max_length=50,
        description="host or host:port (443 when none) an install may reach besides the hosts "
        "of its indexes (UV_DEFAULT_INDEX, UV_INDEX_URL, UV_EXTRA_INDEX_URL, UV_INDEX; "
        "files.pythonhosted.org with PyPI): a mirror's file host (sandbox/index_proxy.py).",
    )
    sandbox_index_networks: tuple[str, ...] = Field(
        default=(),
        max_length=50,
        description="Address ranges (10.0.0.0/8, an address) an install may reach though they "
        "are loopback, link-local, private or reserved: where a private index lives.",
    )

    # REPOSITORY: a run delivered into an existing repository on a branch
    # (`devfactory run --repo PATH_OR_URL [--base BRANCH]`, repos/repository.py).
    repo_git_timeout_s: float = Field(
        default=300.0,
        ge=5.0,
        le=3600.0,
        description="Seconds one clone, fetch or push of a run's repository may take.",
    )
    repo_max_mb: int = Field(
        default=500,
        ge=1,
        le=20_000,
        description="The largest clone a run takes, in MiB on disk (a larger one is removed "
        "and the run refused).",
    )
    repo_map_files: int = Field(
        default=300,
        ge=10,
        le=5000,
        description="Paths of the repository's tree the plan is shown (the rest are counted).",
    )
    repo_map_chars: int = Field(
        default=6000,
        ge=500,
        le=100_000,
        description="Characters of the repository map (tree, public names, tests) in a prompt.",
    )
    repo_file_chars: int = Field(
        default=12_000,
        ge=200,
        le=200_000,
        description="Characters of an existing file a team that modifies it is shown.",
    )
    repo_local_roots: tuple[Path, ...] = Field(
        default=(),
        max_length=50,
        description="Folders on the API's machine under which a repository path is taken over "
        "the API (none: the API takes only URLs; the CLI takes any path its user can read).",
    )
    repo_read_bytes: int = Field(
        default=20_000_000,
        ge=10_000,
        le=1_000_000_000,
        description="Bytes of the base branch's text files read to lay out the old tests' "
        "workspace (files past it are left out, and the check says so).",
    )
    licence_allowed: tuple[str, ...] = Field(
        default=(
            "MIT",
            "MIT-0",
            "BSD-2-Clause",
            "BSD-3-Clause",
            "Apache-2.0",
            "ISC",
            "0BSD",
            "PSF-2.0",
            "Python-2.0",
            "Unlicense",
            "Zlib",
            "MPL-2.0",
            "HPND",
            "CC0-1.0",
        ),
        max_length=200,
        description="The licences (SPDX identifiers) a run's declared dependencies may carry: "
        "Compliance & Legal's build check reads each one's licence from its installed "
        "metadata, and a dependency under any other licence, or one it cannot read, fails the "
        "run with the reason. An expression passes when it can be satisfied from this list "
        "(MIT OR GPL-3.0-only passes; MIT AND GPL-3.0-only does not).",
    )
    pipeline_run_s: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Seconds each data or ML script (one with a __main__ block) may run on its "
        "sample data in Data and ML Engineering's build check before it fails.",
    )
    mutation_mutants_max: int = Field(
        default=12,
        ge=1,
        le=500,
        description="The most mutants of the built code QA Engineering's mutation check runs "
        "the tests on (one operator drawn per place, seeded, spread over the code modules); "
        "each costs one run of the tests.",
    )
    mutation_run_s: float = Field(
        default=30.0,
        ge=1.0,
        le=600.0,
        description="Seconds one run of the tests may take in the mutation check (the run on "
        "a mutant gets four times the first run's time, at least 5 s, at most this; one that "
        "runs past it counts as caught). All of them together stay within the sandbox's wall "
        "time.",
    )
    mutation_min_score: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="The share of the mutants the tests must catch (0.5: half). Tests that "
        "catch none fail whatever this is.",
    )
    coverage_min: float = Field(
        default=0.0,
        ge=0.0,
        le=100.0,
        description="The share (percent) of the code modules' lines the tests must run, "
        "measured by coverage.py on the mutation check's first run; the record always gives "
        "it. 0: reported, never sent back.",
    )
    api_fuzz_examples: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="The most requests schemathesis generates for each operation and phase "
        "when API Design's document is run against the built service (seeded, deterministic); "
        "the run stays within the sandbox's wall time.",
    )
    readme_command_s: float = Field(
        default=20.0,
        ge=1.0,
        le=300.0,
        description="Seconds one example of the README (a shell command, a Python block, a "
        "doctest session) may run in Documentation's build check before it fails; one that "
        "has started a server by then is kept running for the examples after it. All of them "
        "together stay within the sandbox's wall time.",
    )
    readme_commands_max: int = Field(
        default=20,
        ge=1,
        le=200,
        description="The most examples of a README that Documentation's build check runs; "
        "the check's record says how many past it were not run.",
    )
    repo_allowed_hosts: tuple[str, ...] = Field(
        default=(),
        max_length=MAX_HOST_ENTRIES,
        description="The hosts a run's repository may be cloned from and pushed to: names "
        "(github.com), patterns (*.example.com; * for any name) and, to reach a loopback, "
        "link-local, private or reserved address at all, that address or its CIDR "
        "(127.0.0.1, 10.0.0.0/8). Empty: no remote host (repos/remotes.py).",
    )
    repo_resolve_timeout_s: float = Field(
        default=10.0,
        ge=0.5,
        le=120.0,
        description="Seconds a worker waits for a repository's host name to resolve.",
    )
    repo_clone_cpu_s: int = Field(
        default=600, ge=10, le=86_400, description="CPU seconds each process of a clone may use."
    )
    repo_clone_memory_mb: int = Field(
        default=1024,
        ge=256,
        le=16_384,
        description="Memory a clone's git may use, in MiB (its repo_max_mb tmpfs comes on top).",
    )
    repo_clone_processes: int = Field(
        default=64, ge=8, le=1024, description="Processes and threads a clone may run at once."
    )
    repo_max_clones: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Clones at once across every worker; a worker that finds none free hands "
        "the run back to the queue for repo_clone_retry_s.",
    )
    repo_clone_retry_s: float = Field(
        default=5.0,
        ge=0.5,
        le=600.0,
        description="How long a run that found every clone slot taken waits in the queue.",
    )

    # OPERATIONS: override controls and incidents (factory/switchboard.py).
    operations_cache_s: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="How long a process reuses what it read of the operator's controls (the "
        "emergency stop, paused teams and projects, thresholds) at a step boundary.",
    )
    incidents_enabled: bool = Field(
        default=True, description="Open incidents (and pause the project) when a trigger fires."
    )
    incident_spend_multiple: float = Field(
        default=5.0,
        ge=1.5,
        le=100.0,
        description="A stage spending more than this times the median of its team's recent "
        "stages in the project (cost, or tokens where nothing is priced) is a budget spike.",
    )
    incident_latency_multiple: float = Field(
        default=5.0,
        ge=1.5,
        le=100.0,
        description="Model seconds per call over this times the team's median in the project "
        "is anomalous.",
    )
    incident_cost_multiple: float = Field(
        default=5.0,
        ge=1.5,
        le=100.0,
        description="Model cost per call over this times the team's median in the project is "
        "anomalous.",
    )
    incident_failing_runs: int = Field(
        default=3,
        ge=1,
        le=50,
        description="Runs of a project in a row whose final tests failed that open an incident.",
    )
    incident_window: int = Field(
        default=20,
        ge=3,
        le=500,
        description="How many of a team's recent stages in a project the medians are taken over.",
    )
    incident_min_samples: int = Field(
        default=5,
        ge=2,
        le=500,
        description="Stages a team must have finished in a project before its spend, latency "
        "or cost compared with their median can open an incident.",
    )
    incident_min_calls: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Model calls a stage must have made before its seconds or cost per call "
        "can open an incident: one slow call, or a model warming up, never does.",
    )
    incident_baseline_calls: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="Model calls a team's recent stages in a project must have made, in all, "
        "before their median per call is the baseline that latency and cost are compared with.",
    )
    incident_last_actions: int = Field(
        default=10, ge=1, le=100, description="Audit events an incident record quotes."
    )

    # Budgets (None: no cap). Tokens count for every model; cost follows the price table.
    budget_run_tokens: int | None = Field(
        default=2_000_000, ge=1, description="Tokens one run may spend (`--budget-tokens`)."
    )
    budget_run_cost_usd: float | None = Field(
        default=5.0, gt=0, description="USD one run may spend (`--budget-cost`)."
    )
    budget_run_seconds: float | None = Field(
        default=None, gt=0, description="Model seconds one run may spend."
    )
    budget_project_tokens: int | None = Field(
        default=None, ge=1, description="Tokens all runs of a project may spend (`--project`)."
    )
    budget_project_cost_usd: float | None = Field(
        default=None, gt=0, description="USD all runs of a project may spend."
    )
    budget_project_seconds: float | None = Field(
        default=None, gt=0, description="Model seconds all runs of a project may spend."
    )
    budget_warn_at: float = Field(
        default=0.9, gt=0, lt=1, description="Fraction of a cap that pauses for an override."
    )
    run_deadline_s: int = Field(
        default=0,
        ge=0,
        le=MAX_RUN_DEADLINE_S,
        description="Wall-clock seconds one drive of a run may take (0: no time cap). Past it "
        "the run stops itself at the next step boundary, FAILED like a run out of budget, "
        "with its tokens and its best version so far in run.json and SUMMARY.md; the build "
        "loop draws no more candidates and every stage's budget check stops it.",
    )
    stop_grace_s: float = Field(
        default=15.0,
        ge=1.0,
        le=600.0,
        description="Seconds `devfactory run` and `resume` wait, after a SIGTERM asked the "
        "run to stop at its next step boundary, before they end it at once (as a second "
        "signal does), its files written from its last saved step; either way the run "
        "stays resumable.",
    )

    @field_validator("repo_allowed_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        HostPolicy.parse(value)  # a typo is an error at start-up, not a refusal later
        return tuple(entry.strip().lower() for entry in value)

    @field_validator("sandbox_index_hosts")
    @classmethod
    def _index_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_hosts(value)  # a typo is an error at start-up, not a refused install later
        return value

    @field_validator("sandbox_index_networks")
    @classmethod
    def _index_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_networks(value)
        return value

    @field_validator("web_frame_ancestors")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_origin(origin) for origin in value)

    @field_validator("api_public_origin")
    @classmethod
    def _api_origin(cls, value: str | None) -> str | None:
        return check_origin(value) if value else None

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_proxy(entry) for entry in value)

    @model_validator(mode="after")
    def _expand(self) -> Settings:
        object.__setattr__(self, "data_dir", self.data_dir.expanduser().resolve())
        if self.runs_dir is not None:
            object.__setattr__(self, "runs_dir", self.runs_dir.expanduser().resolve())
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read init args, then the environment, then ``DEVFACTORY_CONFIG`` (TOML).

        Each source's flat sandbox limits are nested there (``FlatLimits``), so
        the order holds limit by limit.
        """
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get("DEVFACTORY_CONFIG")
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(FlatLimits(source) for source in sources)

    def run_folder(self, run_id: str) -> Path:
        """Return the folder a run gets when it is given none (``runs_dir``/<run-id>)."""
        return (self.runs_dir or self.data_dir / "runs") / run_id

    def api_processes(self, workers: int) -> int:
        """Return ``workers`` if `devfactory serve` may start that many processes, else raise.

        Raises:
            ValueError: ``workers`` is under 1 or over ``api_workers_max``, saying why.

        """
        if workers < 1:
            raise ValueError(f"--workers {workers}: serve runs at least one process")
        if workers > self.api_workers_max:
            raise ValueError(
                f"--workers {workers} is over api_workers_max ({self.api_workers_max}): each "
                f"process holds up to {self.api_db_pool_size + 3} database connections; raise "
                "DEVFACTORY_API_WORKERS_MAX if the database and the memory have room"
            )
        return workers

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a validated copy with ``changes`` applied (a limit by its flat name too)."""
        return Settings(**{**self.model_dump(), **changes})


def nest_limits(values: Mapping[str, Any]) -> dict[str, Any]:
    """Move one source's flat sandbox limits (``sandbox_cpu_seconds``) into ``sandbox_limits``.

    A flat name wins over the same limit given in ``sandbox_limits`` by the same source.
    """
    nested = dict(values)
    flat = {FLAT_LIMITS[key]: nested.pop(key) for key in values if key in FLAT_LIMITS}
    if flat:
        given = nested.get("sandbox_limits") or {}
        nested["sandbox_limits"] = {
            **(asdict(given) if isinstance(given, Limits) else dict(given)),
            **flat,
        }
    return nested


class FlatLimits(PydanticBaseSettingsSource):
    """A settings source that reads each sandbox limit by its flat name too (``nest_limits``).

    The environment source reads only the settings' own fields, so the flat
    variables (``DEVFACTORY_SANDBOX_CPU_SECONDS``) are looked up in its variables here.
    """

    def __init__(self, source: PydanticBaseSettingsSource) -> None:
        super().__init__(source.settings_cls)
        self.source = source

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Answer no field alone: ``__call__`` reads the whole source."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """Return the source's values, flat limits nested."""
        values = dict(self.source())
        if isinstance(self.source, EnvSettingsSource):
            for flat in FLAT_LIMITS:
                name = self.source.env_prefix + flat
                value = self.source.env_vars.get(
                    name if self.source.case_sensitive else name.lower()
                )
                if value is not None:
                    values[flat] = value
        return nest_limits(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()


def reference() -> str:
    """Return ``docs/configuration.md``: every setting, its default, bounds and meaning.

    Made from the fields themselves (``make config-doc`` writes it; a test keeps
    it current), so the reference cannot drift from what is validated.
    """
    lines = [
        "# Configuration",
        "",
        "<!-- Made by `make config-doc` from devfactory/settings.py; do not edit by hand. -->",
        "",
        "Every setting is read from the environment (`DEVFACTORY_<NAME>`, upper case; the "
        "conventional `DATABASE_URL`, `OLLAMA_HOST` and `OLLAMA_NUM_PARALLEL` too) or from a "
        "TOML file named by `DEVFACTORY_CONFIG` (`name = value`), and validated within its "
        "bounds at start-up: a value outside them is an error that names the setting, never "
        "a silent default. A list is written as JSON in the environment "
        "(`DEVFACTORY_REPO_ALLOWED_HOSTS='[\"github.com\"]'`).",
        "",
        "| Setting | Default | Accepted | Meaning |",
        "|---|---|---|---|",
    ]
    home = str(Path.home())
    for name, info in Settings.model_fields.items():
        if name == "sandbox_limits":  # each limit by its flat name
            limits = Limits.__pydantic_fields__  # type: ignore[attr-defined]
            for flat, field_name in FLAT_LIMITS.items():
                lines.append(_reference_row(flat, limits[field_name], home))
            continue
        lines.append(_reference_row(name, info, home))
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def _schema_properties() -> dict[str, Any]:
    """Return each setting's JSON schema (where a list's longest length is said)."""
    properties: dict[str, Any] = Settings.model_json_schema()["properties"]
    return properties


def _reference_row(name: str, info: FieldInfo, home: str) -> str:
    """Return one setting's row of the reference."""
    default = info.get_default(call_default_factory=True)
    if default is None:
        shown = "unset"
    elif isinstance(default, bool):
        shown = str(default).lower()
    elif isinstance(default, tuple | list):
        shown = ", ".join(map(str, default)) if default else "none"
    else:
        shown = str(default).replace(home, "~")
    bounds = [
        f"{sign} {getattr(item, key)}"
        for item in info.metadata
        for key, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        if hasattr(item, key)
    ]
    most = _schema_properties().get(name, {}).get("maxItems")
    bounds += [f"at most {most} entries"] if most is not None else []
    choices = [a for a in get_args(info.annotation) if a is not type(None)]
    literal = next(
        (get_args(a) for a in [info.annotation, *choices] if get_origin(a) is Literal), ()
    )
    if literal:
        bounds.append(" / ".join(f"`{c}`" for c in literal))
    meaning = " ".join((info.description or "").split()).replace("|", "\\|")
    return f"| `{name}` | {shown} | {', '.join(bounds) or '-'} | {meaning} |"
