"""Live team memory: banks of embedded texts in Postgres (pgvector, HNSW).

Banks: ``team:<slug>`` (what a team learned), ``project:<name>`` (what a
project's runs produced) and ``factory-shared-world`` (what every team may
recall). Each bank records the embedder and dimension that filled it; using
it with another embedder is refused until ``reindex`` re-embeds it.

Every memory belongs to the owner of the run it came from. Recall takes the
owners whose memories the caller may see (``owners``; None for every owner,
which only the policy's ``see_all_runs`` roles and the local operator get), so
one person's requirement never reaches another's search, recall or prompt.
Memories marked ``shared`` are for everyone; runs write none.

Why a table of our own rather than LangGraph's ``PostgresStore``: the store
fixes one vector dimension for all namespaces, while banks here must record
and enforce their own embedder and dimension, carry provenance columns for
audit, and be re-embedded in place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from psycopg_pool import ConnectionPool

from devfactory.models.embeddings import Embedder
from devfactory.redact import redact, redact_data
from devfactory.store.rows import fetch_all, fetch_one

SHARED = "factory-shared-world"


def team_bank(slug: str) -> str:
    """Name a team's bank."""
    return f"team:{slug}"


def project_bank(project: str) -> str:
    """Name a project's bank."""
    return f"project:{project}"


class EmbedderMismatchError(RuntimeError):
    """A bank was filled by another embedder (or dimension) than the one in use."""


@dataclass(frozen=True)
class MemoryItem:
    """Something to retain: a fact, a decision, an artifact summary, a mental model."""

    kind: str
    text: str
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecalledMemory:
    """A memory returned by recall, with its bank and cosine similarity."""

    bank: str
    kind: str
    text: str
    provenance: dict[str, Any]
    score: float


@dataclass(frozen=True)
class BankStats:
    """What one bank holds."""

    bank: str
    embedder: str
    dims: int
    memories: int
    kinds: dict[str, int]


def _vector(values: Sequence[float]) -> str:
    return "[" + ",".join(f"{v:.7g}" for v in values) + "]"


def _hash(kind: str, text: str, owner: str) -> str:
    """Hash a memory per owner: two people's identical facts are two memories, one each."""
    return hashlib.sha256(f"{owner}\n{kind}\n{text}".encode()).hexdigest()


# None: every owner's memories; else only these owners' (and the shared ones)
Owners = Sequence[str] | None


class LiveMemory:
    """Retain and recall texts in memory banks."""

    def __init__(self, pool: ConnectionPool, embedder: Embedder, *, ef_search: int = 100) -> None:
        self.pool = pool
        self.embedder = embedder
        self.ef_search = ef_search

    # -- retain and recall -------------------------------------------------------------------

    def retain(self, bank: str, items: Iterable[MemoryItem], *, owner: str) -> int:
        """Embed and store ``items`` in ``bank`` as ``owner``'s (in one batch); return how many."""
        return self.retain_all([(bank, item) for item in items], owner=owner)

    def retain_all(self, batch: Sequence[tuple[str, MemoryItem]], *, owner: str) -> int:
        """Store each ``(bank, item)`` as ``owner``'s: one embedding call, one insert.

        A ``mental_model`` item replaces its bank's mental model of ``owner``'s
        runs (kept as given; the facts in it were redacted when retained as
        facts). Returns how many new memories other than mental models were stored.
        """
        rows: dict[tuple[str, str], tuple[str, MemoryItem]] = {}
        for bank, item in batch:
            if not item.text.strip():
                continue
            if item.kind != "mental_model":
                item = MemoryItem(item.kind, redact(item.text), redact_data(item.provenance))
            rows.setdefault((bank, _hash(item.kind, item.text, owner)), (bank, item))
        if not rows:
            return 0
        kept = list(rows.items())
        vectors = self.embedder.embed([item.text for _, (_, item) in kept])
        banks = list(dict.fromkeys(bank for bank, _ in rows.values()))
        models = list(dict.fromkeys(b for b, i in rows.values() if i.kind == "mental_model"))
        with self.pool.connection() as conn, conn.transaction():
            self._claim(conn, banks)
            if models:
                conn.execute(
                    "DELETE FROM devfactory_memories WHERE bank = ANY(%s) AND kind = 'mental_model'"
                    " AND owner = %s",
                    (models, owner),
                )
            added = conn.execute(
                "INSERT INTO devfactory_memories (bank, kind, text, provenance, content_hash,"
                " embedding, owner) SELECT b, k, t, p::jsonb, h, e::vector, %s"
                " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
                " %s::text[]) AS x(b, k, t, p, h, e)"
                " ON CONFLICT (bank, content_hash) DO NOTHING RETURNING kind",
                (
                    owner,
                    [bank for _, (bank, _) in kept],
                    [item.kind for _, (_, item) in kept],
                    [item.text for _, (_, item) in kept],
                    [json.dumps(item.provenance) for _, (_, item) in kept],
                    [content for (_, content), _ in kept],
                    [_vector(v) for v in vectors],
                ),
            ).fetchall()
        return sum(1 for row in added if cast(dict[str, Any], row)["kind"] != "mental_model")

    def _claim(self, conn: Any, banks: Sequence[str]) -> None:
        """Create the ``banks`` not yet made and check each is ours to fill (two statements)."""
        conn.execute(
            "INSERT INTO devfactory_memory_banks (bank, embedder, dims)"
            " SELECT unnest(%s::text[]), %s, %s ON CONFLICT (bank) DO NOTHING",
            (list(banks), self.embedder.name, self.embedder.dims),
        )
        rows = conn.execute(
            "SELECT bank, embedder, dims FROM devfactory_memory_banks WHERE bank = ANY(%s)",
            (list(banks),),
        ).fetchall()
        found = {r["bank"]: r for r in (cast(dict[str, Any], row) for row in rows)}
        for bank in banks:
            self._mismatch(bank, found[bank]["embedder"], found[bank]["dims"])

    def _mismatch(self, bank: str, embedder: str, dims: int) -> None:
        """Refuse ``bank`` when another embedder (or dimension) filled it."""
        if embedder != self.embedder.name or dims != self.embedder.dims:
            raise EmbedderMismatchError(
                f"memory bank {bank!r} was filled by {embedder} ({dims} dims) "
                f"but this factory embeds with {self.embedder.name} ({self.embedder.dims} dims); "
                f"run `devfactory memory reindex {bank}` to re-embed it"
            )

    def recall(
        self,
        banks: Sequence[str],
        query: str,
        *,
        k: int,
        threshold: float,
        owners: Owners,
        kinds: Sequence[str] | None = None,
    ) -> list[RecalledMemory]:
        """Return up to ``k`` memories of ``banks`` at least ``threshold`` similar to ``query``.

        Only ``owners``' memories and shared ones count (None: every owner's).
        One statement reads every bank: each bank's ``k`` nearest (a lateral
        join, so each bank's search is the indexed one it was alone), beside
        the bank's embedder, so a bank filled by another embedder is refused.
        """
        if not query.strip() or k <= 0 or not banks:
            return []
        [vector] = self.embedder.embed([query])
        dims, literal = self.embedder.dims, _vector(vector)
        mine = None if owners is None else list(owners)
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(f"SET LOCAL hnsw.ef_search = {int(self.ef_search)}")
            rows = conn.execute(
                "SELECT asked.bank, b.embedder, b.dims, m.kind, m.text, m.provenance, m.score"
                " FROM unnest(%s::text[]) WITH ORDINALITY AS asked(bank, pos)"
                " JOIN devfactory_memory_banks b ON b.bank = asked.bank"
                " LEFT JOIN LATERAL ("
                f" SELECT kind, text, provenance, 1 - (embedding::vector({dims})"
                f" <=> %s::vector({dims})) AS score FROM devfactory_memories"
                f" WHERE bank = b.bank AND vector_dims(embedding) = {dims}"
                " AND b.embedder = %s AND b.dims = %s"
                " AND (%s::text[] IS NULL OR kind = ANY(%s::text[]))"
                " AND (%s::text[] IS NULL OR shared OR owner = ANY(%s::text[]))"
                f" ORDER BY embedding::vector({dims}) <=> %s::vector({dims}) LIMIT %s"
                " ) m ON true ORDER BY asked.pos, m.score DESC",
                (
                    list(banks),
                    literal,
                    self.embedder.name,
                    dims,
                    kinds,
                    kinds,
                    mine,
                    mine,
                    literal,
                    k,
                ),
            ).fetchall()
        found: list[RecalledMemory] = []
        for r in (cast(dict[str, Any], row) for row in rows):
            self._mismatch(r["bank"], r["embedder"], r["dims"])
            if r["text"] is not None and float(r["score"]) >= threshold:
                found.append(
                    RecalledMemory(
                        r["bank"], r["kind"], r["text"], r["provenance"], float(r["score"])
                    )
                )
        found.sort(key=lambda m: m.score, reverse=True)
        return found[:k]

    # -- mental models -----------------------------------------------------------------------

    def recent(self, bank: str, *, owners: Owners, limit: int) -> list[RecalledMemory]:
        """Return ``bank``'s newest memories that ``owners`` may see (None: everyone's)."""
        mine = None if owners is None else list(owners)
        rows = fetch_all(
            self.pool,
            "SELECT kind, text, provenance FROM devfactory_memories WHERE bank = %s"
            " AND (%s::text[] IS NULL OR shared OR owner = ANY(%s::text[]))"
            " ORDER BY id DESC LIMIT %s",
            (bank, mine, mine, limit),
        )
        return [
            RecalledMemory(bank, r["kind"], r["text"], r["provenance"], 1.0)
            for r in (cast(dict[str, Any], row) for row in rows)
        ]

    def mental_model(self, bank: str, owner: str) -> str:
        """Return the bank's current mental model of ``owner``'s runs ("" when there is none)."""
        row = fetch_one(
            self.pool,
            "SELECT text FROM devfactory_memories WHERE bank = %s AND kind = 'mental_model'"
            " AND owner = %s ORDER BY id DESC LIMIT 1",
            (bank, owner),
        )
        return str(row["text"]) if row else ""

    # -- maintenance -------------------------------------------------------------------------

    def stats(self) -> list[BankStats]:
        """Describe every bank."""
        with self.pool.connection() as conn:
            banks = conn.execute(
                "SELECT bank, embedder, dims FROM devfactory_memory_banks ORDER BY bank"
            ).fetchall()
            counts = conn.execute(
                "SELECT bank, kind, count(*) AS n FROM devfactory_memories GROUP BY bank, kind"
            ).fetchall()
        kinds: dict[str, dict[str, int]] = {}
        for row in counts:
            r = cast(dict[str, Any], row)
            kinds.setdefault(r["bank"], {})[r["kind"]] = int(r["n"])
        return [
            BankStats(
                b["bank"],
                b["embedder"],
                b["dims"],
                sum(kinds.get(b["bank"], {}).values()),
                kinds.get(b["bank"], {}),
            )
            for b in (cast(dict[str, Any], row) for row in banks)
        ]

    def reindex(self, bank: str, *, batch: int = 256) -> int:
        """Re-embed every memory of ``bank`` with the current embedder; return how many."""
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "SELECT 1 FROM devfactory_memory_banks WHERE bank = %s FOR UPDATE", (bank,)
            ).fetchone()
            if row is None:
                raise LookupError(f"no memory bank {bank!r}")
            rows = conn.execute(
                "SELECT id, text FROM devfactory_memories WHERE bank = %s ORDER BY id", (bank,)
            ).fetchall()
            pending = [cast(dict[str, Any], r) for r in rows]
            for start in range(0, len(pending), batch):
                chunk = pending[start : start + batch]
                vectors = self.embedder.embed([r["text"] for r in chunk])
                for r, vector in zip(chunk, vectors, strict=True):
                    conn.execute(
                        "UPDATE devfactory_memories SET embedding = %s::vector WHERE id = %s",
                        (_vector(vector), r["id"]),
                    )
            conn.execute(
                "UPDATE devfactory_memory_banks SET embedder = %s, dims = %s WHERE bank = %s",
                (self.embedder.name, self.embedder.dims, bank),
            )
        return len(pending)
