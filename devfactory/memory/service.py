"""The memory service the graph calls at stage boundaries: recall before, retain after.

Before a stage: the team's mental model and bounded recall (top-k above a
similarity threshold) from the team's bank, the project's bank and the shared
world. After a stage: its verified facts worth recalling (``recallable_facts``:
not a passed check's report), decisions and artifact summaries go
to the team's bank with provenance (run, stage, team, round), a stage summary
to the project's bank, and the team's mental model is refreshed; with fact
memory on, mem0 extracts the team's new facts from a digest of the stage and
drops the ones it already holds (``facts.py``), and those facts are recalled
next to the live ones. A run's outcome goes to the shared world when it ends.

Everything retained belongs to the run's owner, and everything recalled or
searched is limited to the owners the caller may see (``Owners``: a run recalls
its own owner's memories; a person, their own or, for the policy's
``see_all_runs`` roles, everyone's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg_pool import ConnectionPool

from devfactory.contracts import StageOutcome, StageRecord
from devfactory.control.error_line import error_line
from devfactory.memory.deferred import FactQueue
from devfactory.memory.facts import Ask, FactsOutcome, TeamFacts
from devfactory.memory.live import (
    SHARED,
    BankStats,
    LiveMemory,
    MemoryItem,
    Owners,
    RecalledMemory,
    project_bank,
    team_bank,
)
from devfactory.models.embeddings import Embedder
from devfactory.settings import Settings
from devfactory.shown import unhosted

MENTAL_MODEL_FACTS = 6
DIGEST_CHARS = 1500


def _summary(content: str, limit: int = 240) -> str:
    """Summarise a file extractively: its first heading or meaningful lines."""
    lines = [ln.strip() for ln in content.splitlines() if ln.strip() and not ln.startswith("```")]
    return " ".join(lines)[:limit]


def recallable_facts(record: StageRecord) -> list[str]:
    """Return the stage's verified facts worth recalling in a later run.

    A fact that only reports one of the stage's checks that passed
    (``install: exit 0 in 0.0 s``) or never ran (``run: code not run:
    run_code is off``) teaches nothing about the software: every run runs its
    checks again, and such facts would crowd out the ones that help. A failed
    check's report keeps its reason, and every other fact (what the team found,
    fixed or settled) is kept.
    """
    if record.result is None:
        return []
    failed = {c.name for c in record.checks if c.ran and not c.ok}
    said = {c.name for c in record.checks if c.ok or not c.ran} - failed
    return [
        fact
        for fact in record.result.verified_facts
        if ":" not in fact or fact.split(":", 1)[0].strip() not in said
    ]


def what_failed(reason: str) -> str:
    """Return the line of ``reason`` that says what failed, as memory keeps it.

    Its error line (``control/error_line``: the exception and its message, the
    assertion) where it has one, else its first line; never a traceback's
    frames, nor a path of the machine (``shown.unhosted``).
    """
    reason = unhosted(reason)
    first = next((line.strip() for line in reason.splitlines() if line.strip()), "")
    return (error_line(reason, problems=True) or first)[:400]


def lesson(record: StageRecord) -> str:
    """Return what a BLOCKED stage teaches: the team and the line that says what failed."""
    return f"{record.team} was blocked: {what_failed(record.reason) or 'no reason given'}"


def digest(record: StageRecord, limit: int = DIGEST_CHARS) -> str:
    """Digest a passed stage for fact extraction: its verified facts, then its decisions.

    Plain bullet lists under two headings: a small model copies what it is
    shown, so the digest holds only sentences that may become facts (the files
    themselves are summarised in live memory).
    """
    result = record.result
    if result is None:
        return ""
    lines = ["Facts the team verified:", *(f"- {f}" for f in recallable_facts(record))]
    if result.assumptions_made:
        lines += ["Decisions the team made:", *(f"- {a}" for a in result.assumptions_made)]
    if result.artifacts:
        lines.append("Files the team wrote: " + ", ".join(a.path for a in result.artifacts))
    return "\n".join(lines)[:limit]


@dataclass(frozen=True)
class MemoryStats:
    """What memory holds: the live banks, the embedder, and each team's fact count."""

    banks: list[BankStats]
    embedder: str
    dims: int
    facts: dict[str, int] = field(default_factory=dict)  # team -> facts
    facts_table: str = ""  # "" when fact memory is off


@dataclass(frozen=True)
class Reindexed:
    """A bank re-embedded: how many memories, with which embedder."""

    count: int
    embedder: str
    dims: int


class FactMemoryOffError(LookupError):
    """A ``facts:`` bank was asked for while fact memory is off."""


@dataclass
class MemoryService:
    """Recall and retain for stages, on live memory."""

    live: LiveMemory
    k: int = 6
    threshold: float = 0.35
    facts: TeamFacts | None = None
    fact_k: int = 4
    later: FactQueue | None = None  # extractions after the stage, where the budget allows
    flush_s: float = 30.0

    @classmethod
    def open(
        cls, settings: Settings, pool: ConnectionPool, dsn: str, embedder: Embedder
    ) -> MemoryService:
        """Open memory as the settings describe it (mem0 facts only when ``fact_memory``)."""
        facts = None
        if settings.recall.fact_memory:
            facts = TeamFacts(
                dsn,
                embedder,
                settings.storage.data_dir,
                max_facts=settings.recall.max_facts_per_stage,
            )
        return cls(
            LiveMemory(pool, embedder),
            k=settings.recall.recall_k,
            threshold=settings.recall.recall_threshold,
            facts=facts,
            fact_k=settings.recall.fact_k,
            later=FactQueue(settings.recall.fact_queue)
            if facts and settings.recall.fact_queue
            else None,
            flush_s=settings.recall.fact_queue_flush_s,
        )

    def close(self) -> None:
        """Finish (or drop, past ``flush_s``) queued fact extractions, then close mem0."""
        if self.later is not None:
            self.later.close(self.flush_s)
        if self.facts is not None:
            self.facts.close()

    def recall(
        self, *, team: str, project: str, query: str, owners: Owners
    ) -> list[RecalledMemory]:
        """Recall what ``team`` and the factory know about ``query`` (bounded).

        Live memories (team, project, shared banks) come first, then the team's
        mem0 facts that say something the live memories do not; only ``owners``'
        memories count (None: everyone's).
        """
        banks = [team_bank(team), project_bank(project), SHARED]
        found = self.live.recall(
            banks,
            query,
            k=self.k,
            threshold=self.threshold,
            owners=owners,
            kinds=["fact", "decision", "artifact", "lesson", "stage", "run"],
        )
        if self.facts is not None and self.fact_k:
            known = {m.text.strip().lower() for m in found}
            facts = self.facts.search(
                team, query, k=self.fact_k, threshold=self.threshold, owners=owners
            )
            for fact in facts:
                if fact.text.strip().lower() not in known:
                    found.append(fact)
                    known.add(fact.text.strip().lower())
        return found

    def extract_facts(
        self,
        record: StageRecord,
        *,
        run_id: str,
        project: str,
        revision: int,
        owner: str,
        ask: Ask,
    ) -> FactsOutcome | None:
        """Have mem0 extract and dedup a passed stage's facts; None when there is nothing to do."""
        result = record.result
        if self.facts is None or record.outcome is not StageOutcome.PASSED or result is None:
            return None
        source = {
            "run": run_id,
            "stage": record.team,
            "team": record.team,
            "round": revision,
            "project": project,
        }
        return self.facts.extract(record.team, digest(record), source, ask, owner=owner)

    def mental_model(self, team: str, owner: str) -> str:
        """Return the team's short summary of what it learned in ``owner``'s runs."""
        return self.live.mental_model(team_bank(team), owner)

    def retain_stage(
        self, record: StageRecord, *, run_id: str, project: str, revision: int, owner: str
    ) -> int:
        """Retain a finished stage's knowledge as ``owner``'s; return how many were new."""
        source: dict[str, Any] = {
            "run": run_id,
            "stage": record.team,
            "team": record.team,
            "round": revision,
            "outcome": record.outcome.value,
        }
        items: list[MemoryItem] = []
        result = record.result
        facts = recallable_facts(record)
        if record.outcome is StageOutcome.PASSED and result is not None:
            items += [MemoryItem("fact", f, source) for f in facts]
            items += [MemoryItem("decision", a, source) for a in result.assumptions_made]
            items += [
                MemoryItem(
                    "artifact", f"{a.path}: {_summary(a.content)}", {**source, "path": a.path}
                )
                for a in result.artifacts
            ]
        elif record.outcome is StageOutcome.BLOCKED:
            items.append(MemoryItem("lesson", lesson(record), source))
        else:
            return 0
        stage = (
            f"{record.team} {record.outcome.value} in run {run_id}"
            + (f" (confidence {result.confidence:.2f})" if result else "")
            + (
                f": {', '.join(a.path for a in result.artifacts)}"
                if result and result.artifacts
                else ""
            )
        )
        bank = team_bank(record.team)
        batch = [(bank, item) for item in items]
        batch.append((project_bank(project), MemoryItem("stage", stage, source)))
        if record.outcome is StageOutcome.PASSED and result is not None:
            model = self._refreshed(bank, facts, source, owner)
            batch += [(bank, model)] if model is not None else []
        return self.live.retain_all(batch, owner=owner)  # one embedding call, one insert

    def _refreshed(
        self, bank: str, facts: list[str], source: dict[str, Any], owner: str
    ) -> MemoryItem | None:
        """Return the bank's mental model of ``owner``'s runs: the newest facts first, bounded."""
        model = self.live.mental_model(bank, owner)
        old = [ln[2:] for ln in model.splitlines() if ln.startswith("- ")]
        merged = list(dict.fromkeys([*facts, *old]))[:MENTAL_MODEL_FACTS]
        text = "\n".join(f"- {f}" for f in merged)
        return MemoryItem("mental_model", text, source) if text else None

    def retain_run(
        self, *, run_id: str, project: str, requirement: str, status: str, reason: str, owner: str
    ) -> int:
        """Retain how a run ended in the shared world and the project's bank, as ``owner``'s."""
        source = {"run": run_id, "project": project, "status": status}
        failed = what_failed(reason)[:200]
        text = f"Run {run_id} ({project}) {status}: {requirement[:300]}" + (
            f" — {failed}" if failed else ""
        )
        item = MemoryItem("run", text, source)
        return self.live.retain_all([(SHARED, item), (project_bank(project), item)], owner=owner)

    def search(
        self, bank: str, query: str, *, k: int, threshold: float, owners: Owners
    ) -> list[RecalledMemory]:
        """Return ``owners``' memories of one bank closest to ``query`` (``facts:<team>``: mem0)."""
        if bank.startswith("facts:"):
            if self.facts is None:
                raise FactMemoryOffError("fact memory is off (DEVFACTORY_FACT_MEMORY=false)")
            team = bank.removeprefix("facts:")
            return self.facts.search(team, query, k=k, threshold=threshold, owners=owners)
        return self.search_banks([bank], query, k=k, threshold=threshold, owners=owners)

    def search_banks(
        self, banks: Sequence[str], query: str, *, k: int, threshold: float, owners: Owners
    ) -> list[RecalledMemory]:
        """Return ``owners``' live memories of ``banks`` closest to ``query``, best first."""
        return self.live.recall(list(banks), query, k=k, threshold=threshold, owners=owners)

    def recent(self, bank: str, *, owners: Owners, limit: int) -> list[RecalledMemory]:
        """Return the newest memories of a live bank that ``owners`` may see."""
        return self.live.recent(bank, owners=owners, limit=limit)

    def stats(self) -> MemoryStats:
        """Describe every bank, the embedder in use and the facts each team holds."""
        embedder = self.live.embedder
        return MemoryStats(
            banks=self.live.stats(),
            embedder=embedder.name,
            dims=embedder.dims,
            facts=self.facts.counts() if self.facts is not None else {},
            facts_table=self.facts.collection if self.facts is not None else "",
        )

    def reindex(self, bank: str) -> Reindexed:
        """Re-embed ``bank`` with the embedder in use now (after switching embedders)."""
        count = self.live.reindex(bank)
        return Reindexed(count, self.live.embedder.name, self.live.embedder.dims)
