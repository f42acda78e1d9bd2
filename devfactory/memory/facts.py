"""Team-native fact memory on mem0: extract and dedup each team's facts at the stage boundary.

mem0 (``mem0ai`` 2.2) does the memory work. Given what a team reported, it
looks up the team's closest existing facts (pgvector, scoped by
``agent_id`` = the team's slug), asks a model which facts are new, drops
exact repeats by hash, and stores the rest with its own history. Ours are the
parts around it:

* **The model.** Extraction runs on the ``factory/cheap`` alias through
  ``ExtractionChat``, a LangChain chat model handed to mem0's own ``langchain``
  LLM provider (as the embedder is handed to its ``langchain`` embedder).
  mem0's own extraction prompt is about 8,000 tokens and written for
  user/assistant chats, so it would not fit the embedded model's context. The
  chat model keeps the two sections of mem0's request that carry data
  (existing memories and the new message) and hands them to the caller's
  ``ask``. That call uses a short
  team-fact prompt and a grammar-bounded schema, and is repaired and retried
  like every other structured answer. It also says what the call spent, so
  the stage can meter it.
* **The embedder.** mem0 uses the embedder live memory uses, so the two layers
  share one vector space. The collection's name carries the embedder and its
  dimension, so another embedder gets a collection of its own and vectors
  never mix.
* **Files and telemetry.** ``MEM0_DIR`` and the history database live under
  the project's data directory, and telemetry is off. Both are set before
  mem0 is first imported, because mem0 reads them at import time.

This module is the one adapter to mem0: nothing else in devfactory imports
mem0 or knows its request, its tables or its scopes. The request's layout is
mem0's private prompt builder, so ``REQUEST_SECTIONS`` pins the sections the
installed version writes; ``check_request_layout`` rebuilds a request with
that builder when fact memory opens and refuses to open on another layout, so
an upgrade that moves them fails loudly instead of storing nothing.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, Field

from devfactory.contracts import Usage
from devfactory.memory.live import Owners, RecalledMemory
from devfactory.models.embeddings import Embedder
from devfactory.models.io import Answer, grammar_schema
from devfactory.redact import redact

PROVIDER = "devfactory-facts"
MAX_FACT_CHARS = 300


def owner_scope(owner: str) -> str:
    """Return mem0's ``user_id`` for the facts of ``owner``'s runs (never empty)."""
    return f"owner:{owner}"


def facts_bank(team: str) -> str:
    """Name a team's fact memory, as recall and the CLI show it."""
    return f"facts:{team}"


class ExtractedFact(BaseModel):
    """One self-contained fact the team learned."""

    text: str = Field(min_length=8, max_length=MAX_FACT_CHARS)


class Extraction(BaseModel):
    """The extraction model's answer: only the facts that are new."""

    memory: list[ExtractedFact]


def extraction_schema(max_facts: int) -> dict[str, Any]:
    """JSON schema of ``Extraction`` for grammars: at most ``max_facts`` facts."""
    schema = grammar_schema(Extraction)
    schema["properties"]["memory"]["maxItems"] = max_facts
    return schema


# ask(existing, new): existing is a JSON list of {"id", "text"}, new is the stage's digest.
Ask = Callable[[str, str], Answer[Extraction]]


@dataclass
class FactsOutcome:
    """What one extraction added, what it cost, and why it failed (if it did)."""

    added: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    problem: str = ""


@dataclass
class _Call:
    ask: Ask
    max_facts: int
    outcome: FactsOutcome


_CALL: ContextVar[_Call | None] = ContextVar("devfactory_fact_call", default=None)
_SECTION = re.compile(r"^## (?P<name>[^\n]+)\n(?P<body>.*?)(?=\n\n## |\n\n# |\Z)", re.M | re.S)

REQUEST_SECTIONS: Final = (
    "Summary",
    "Last k Messages",
    "Recently Extracted Memories",
    "Existing Memories",
    "New Messages",
    "Observation Date",
    "Current Date",
)
"""The sections of mem0 2.2's extraction request, in its order; two carry our data."""


_LABEL = re.compile(r"^\s*(?:[-*•]\s*|\d+[.)]\s*|(?:verified|decided|fact)\s*:\s*)+", re.I)


def _clean(text: str) -> str:
    """Drop a list marker or label a model copied from the digest ("- ", "Verified: ")."""
    return _LABEL.sub("", text).strip()


def _sections(prompt: str) -> dict[str, str]:
    return {m["name"].strip(): m["body"].strip() for m in _SECTION.finditer(prompt)}


def read_request(request: str) -> tuple[str, str]:
    """Return the existing memories (a JSON list) and the new message of mem0's request.

    Raises:
        RuntimeError: the request has no new message, so mem0 wrote another layout.

    """
    parts = _sections(request)
    if "New Messages" not in parts:
        raise RuntimeError("mem0's extraction prompt has no 'New Messages' section")
    return parts.get("Existing Memories", "[]"), parts["New Messages"]


def check_request_layout() -> None:
    """Refuse to open on a mem0 whose extraction request is not the layout read here.

    Builds a request with the installed mem0's own prompt builder and reads it
    back. Call it after ``_prepare_environment`` (it imports mem0).

    Raises:
        RuntimeError: the sections differ from ``REQUEST_SECTIONS`` or do not
            give back the memories and message put in.

    """
    from importlib.metadata import version

    from mem0.configs.prompts import generate_additive_extraction_prompt

    existing = [{"id": "0", "text": "Existing fact"}]
    message = "assistant: New fact\n- detail"
    request = generate_additive_extraction_prompt(
        existing_memories=existing,
        new_messages=message,
        last_k_messages=[{"role": "user", "content": "older message"}],
    )
    written = tuple(_sections(request))
    problem = ""
    if written != REQUEST_SECTIONS:
        problem = f"its sections are {list(written)}, not {list(REQUEST_SECTIONS)}"
    elif read_request(request) != (json.dumps(existing), message):
        problem = "the existing memories and new message do not read back as written"
    if problem:
        raise RuntimeError(
            f"mem0 {version('mem0ai')} writes another extraction request: {problem}; "
            "update devfactory/memory/facts.py"
        )


def _prepare_environment(data_dir: Path) -> Path:
    """Point mem0 at ``data_dir`` and turn its telemetry off (before it is imported)."""
    home = data_dir / "mem0"
    home.mkdir(parents=True, exist_ok=True)
    # Without spaCy (not installed: it would download a model), mem0's keyword
    # scoring reads plain text and it links no entities; say so once, in the docs.
    logging.getLogger("mem0.utils.spacy_models").setLevel(logging.ERROR)
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ.setdefault("MEM0_DIR", str(home))
    return home


def _extract(request: str) -> str:
    """Answer mem0's extraction ``request`` through the current call's ``Ask``."""
    call = _CALL.get()
    if call is None:
        raise RuntimeError("fact extraction runs only inside TeamFacts.extract")
    existing, new = read_request(request)
    answer = call.ask(existing, new)
    outcome = call.outcome
    outcome.usage = outcome.usage.add(answer.usage)
    outcome.model = answer.model or outcome.model
    if answer.value is None:
        outcome.problem = answer.problem or "no valid extraction"
        raise RuntimeError(outcome.problem)
    facts = [_clean(f.text) for f in answer.value.memory][: call.max_facts]
    return json.dumps(
        {
            "memory": [
                {"id": str(i), "text": text, "attributed_to": "assistant"}
                for i, text in enumerate(facts)
                if text
            ]
        }
    )


class ExtractionChat(BaseChatModel):
    """mem0's chat model: answers its extraction request through the current ``Ask``.

    mem0 takes any LangChain chat model through its ``langchain`` provider, so
    the model needs no registration with mem0 and its config no bypass.
    """

    @property
    def _llm_type(self) -> str:
        return PROVIDER

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = next((m.text for m in messages if m.type == "human"), "")
        answer = AIMessage(content=_extract(request))
        return ChatResult(generations=[ChatGeneration(message=answer)])


def _embeddings(embedder: Embedder) -> Any:
    from langchain_core.embeddings import Embeddings

    class SharedEmbeddings(Embeddings):
        """Live memory's embedder, as the LangChain ``Embeddings`` mem0 accepts."""

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed(texts)

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed([text])[0]

    return SharedEmbeddings()


def collection_name(embedder: Embedder) -> str:
    """Name the mem0 collection (a table) of ``embedder``: one per embedder and dimension."""
    slug = re.sub(r"[^a-z0-9]+", "_", embedder.name.lower()).strip("_")[:40]
    return f"devfactory_facts_{slug}_{embedder.dims}"


class TeamFacts:
    """Each team's fact memory: mem0 on pgvector, scoped by ``agent_id``.

    Args:
        dsn: the factory's Postgres (mem0 gets a small pool of its own, because
            it reads rows as tuples and commits itself).
        embedder: live memory's embedder.
        data_dir: where mem0's directory and history database go.
        max_facts: the most facts one extraction may add (bounds the schema too).

    """

    def __init__(self, dsn: str, embedder: Embedder, data_dir: Path, *, max_facts: int = 6) -> None:
        home = _prepare_environment(data_dir)
        check_request_layout()
        from mem0 import Memory
        from mem0.configs.base import MemoryConfig
        from mem0.embeddings.configs import EmbedderConfig
        from mem0.llms.configs import LlmConfig
        from mem0.vector_stores.configs import VectorStoreConfig

        self.embedder = embedder
        self.max_facts = max_facts
        self.collection = collection_name(embedder)
        self.pool = ConnectionPool(dsn, min_size=1, max_size=4, open=False)
        self.pool.open(wait=True, timeout=15)
        config = MemoryConfig(
            vector_store=VectorStoreConfig(
                provider="pgvector",
                config={
                    "connection_pool": self.pool,
                    "collection_name": self.collection,
                    "embedding_model_dims": embedder.dims,
                    "hnsw": True,
                },
            ),
            embedder=EmbedderConfig(provider="langchain", config={"model": _embeddings(embedder)}),
            llm=LlmConfig(provider="langchain", config={"model": ExtractionChat()}),
            history_db_path=str(home / "history.db"),
        )
        self.mem0 = Memory(config)

    def close(self) -> None:
        """Close mem0's pool and history database."""
        self.mem0.close()
        self.pool.close()

    def extract(
        self, team: str, digest: str, source: dict[str, Any], ask: Ask, *, owner: str
    ) -> FactsOutcome:
        """Extract ``team``'s new facts from ``digest`` and store them as ``owner``'s.

        mem0 dedups against ``owner``'s facts only (its ``user_id`` scope), so
        nobody's facts are merged into another person's. Never raises: a failed
        extraction is reported in ``problem`` and stores nothing.
        """
        outcome = FactsOutcome()
        token = _CALL.set(_Call(ask, self.max_facts, outcome))
        try:
            result = self.mem0.add(
                [{"role": "assistant", "content": redact(digest)}],
                agent_id=team,
                user_id=owner_scope(owner),
                metadata={k: v for k, v in source.items() if v is not None},
                infer=True,
            )
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            outcome.problem = outcome.problem or f"{type(exc).__name__}: {exc}"
            return outcome
        finally:
            _CALL.reset(token)
        outcome.added = [r["memory"] for r in result.get("results", []) if r.get("event") == "ADD"]
        return outcome

    def search(
        self, team: str, query: str, *, k: int, threshold: float, owners: Owners
    ) -> list[RecalledMemory]:
        """Return ``team``'s facts of ``owners`` closest to ``query`` (at most ``k``).

        ``owners`` None: every owner's facts; otherwise each owner's are searched
        apart (mem0 filters one ``user_id`` at a time) and the best ``k`` kept.
        """
        if k <= 0 or not query.strip():
            return []
        scopes: list[dict[str, str]] = (
            [{"agent_id": team}]
            if owners is None
            else [{"agent_id": team, "user_id": owner_scope(o)} for o in dict.fromkeys(owners)]
        )
        found: list[dict[str, Any]] = []
        for filters in scopes:
            got = self.mem0.search(
                query[:2000], filters=filters, top_k=k, threshold=max(threshold, 0.0)
            )
            found.extend(got.get("results", []))
        found.sort(key=lambda r: float(r.get("score") or 0.0), reverse=True)
        return [
            RecalledMemory(
                facts_bank(team),
                "fact",
                r["memory"],
                dict(r.get("metadata") or {}),
                float(r.get("score") or 0.0),
            )
            for r in found[:k]
        ]

    def all(self, team: str, *, limit: int = 100) -> list[str]:
        """Return ``team``'s stored facts, newest first."""
        rows = self.mem0.get_all(filters={"agent_id": team}, top_k=limit)
        items = sorted(rows.get("results", []), key=lambda r: r.get("created_at") or "")
        return [r["memory"] for r in reversed(items)]

    def counts(self) -> dict[str, int]:
        """Return how many facts each team holds (read through mem0's store, no SQL)."""
        [rows] = self.mem0.vector_store.list(filters=None, top_k=None)
        held = Counter(str((row.payload or {}).get("agent_id")) for row in rows)
        return dict(sorted(held.items()))
