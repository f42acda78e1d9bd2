"""The memory service the graph calls at stage boundaries: recall before, retain after.

Before a stage: the team's mental model and bounded recall (top-k above a
similarity threshold) from the team's bank, the project's bank and the shared
world. After a stage: its verified facts, decisions and artifact summaries go
to the team's bank with provenance (run, stage, team, round), a stage summary
to the project's bank, and the team's mental model is refreshed; with fact
memory on, mem0 extracts the team's new facts from a digest of the stage and
drops the ones it already holds (``facts.py``), and those facts are recalled
next to the live ones. A run's outcome goes to the shared world when it ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devfactory.contracts import StageOutcome, StageRecord
from devfactory.memory.facts import Ask, FactsOutcome, TeamFacts
from devfactory.memory.live import (
    SHARED,
    LiveMemory,
    MemoryItem,
    Recalled,
    project_bank,
    team_bank,
)

MENTAL_MODEL_FACTS = 6
DIGEST_CHARS = 1500


def _summary(content: str, limit: int = 240) -> str:
    """Summarise a file extractively: its first heading or meaningful lines."""
    lines = [ln.strip() for ln in content.splitlines() if ln.strip() and not ln.startswith("```")]
    return " ".join(lines)[:limit]


def digest(record: StageRecord, limit: int = DIGEST_CHARS) -> str:
    """Digest a passed stage for fact extraction: its verified facts, then its decisions.

    Plain bullet lists under two headings: a small model copies what it is
    shown, so the digest holds only sentences that may become facts (the files
    themselves are summarised in live memory).
    """
    result = record.result
    if result is None:
        return ""
    lines = ["Facts the team verified:", *(f"- {f}" for f in result.verified_facts)]
    if result.assumptions_made:
        lines += ["Decisions the team made:", *(f"- {a}" for a in result.assumptions_made)]
    if result.artifacts:
        lines.append("Files the team wrote: " + ", ".join(a.path for a in result.artifacts))
    return "\n".join(lines)[:limit]


@dataclass
class MemoryService:
    """Recall and retain for stages, on live memory."""

    live: LiveMemory
    k: int = 6
    threshold: float = 0.35
    facts: TeamFacts | None = None
    fact_k: int = 4

    def recall(self, *, team: str, project: str, query: str) -> list[Recalled]:
        """Recall what ``team`` and the factory know about ``query`` (bounded).

        Live memories (team, project, shared banks) come first, then the team's
        mem0 facts that say something the live memories do not.
        """
        banks = [team_bank(team), project_bank(project), SHARED]
        found = self.live.recall(
            banks,
            query,
            k=self.k,
            threshold=self.threshold,
            kinds=["fact", "decision", "artifact", "lesson", "stage", "run"],
        )
        if self.facts is not None and self.fact_k:
            known = {m.text.strip().lower() for m in found}
            for fact in self.facts.search(team, query, k=self.fact_k, threshold=self.threshold):
                if fact.text.strip().lower() not in known:
                    found.append(fact)
                    known.add(fact.text.strip().lower())
        return found

    def extract_facts(
        self, record: StageRecord, *, run_id: str, project: str, revision: int, ask: Ask
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
        return self.facts.extract(record.team, digest(record), source, ask)

    def mental_model(self, team: str) -> str:
        """Return the team's short summary of what it has learned."""
        return self.live.mental_model(team_bank(team))

    def retain_stage(self, record: StageRecord, *, run_id: str, project: str, revision: int) -> int:
        """Retain a finished stage's knowledge; return how many memories were new."""
        source: dict[str, Any] = {
            "run": run_id,
            "stage": record.team,
            "team": record.team,
            "round": revision,
            "outcome": record.outcome.value,
        }
        items: list[MemoryItem] = []
        result = record.result
        if record.outcome is StageOutcome.PASSED and result is not None:
            items += [MemoryItem("fact", f, source) for f in result.verified_facts]
            items += [MemoryItem("decision", a, source) for a in result.assumptions_made]
            items += [
                MemoryItem(
                    "artifact", f"{a.path}: {_summary(a.content)}", {**source, "path": a.path}
                )
                for a in result.artifacts
            ]
        elif record.outcome is StageOutcome.BLOCKED:
            items.append(
                MemoryItem("lesson", f"{record.team} was blocked: {record.reason[:400]}", source)
            )
        else:
            return 0
        added = self.live.retain(team_bank(record.team), items)
        stage = (
            f"{record.team} {record.outcome.value} in run {run_id}"
            + (f" (confidence {result.confidence:.2f})" if result else "")
            + (
                f": {', '.join(a.path for a in result.artifacts)}"
                if result and result.artifacts
                else ""
            )
        )
        added += self.live.retain(project_bank(project), [MemoryItem("stage", stage, source)])
        if record.outcome is StageOutcome.PASSED and result is not None:
            self._refresh(record.team, result.verified_facts, source)
        return added

    def _refresh(self, team: str, facts: list[str], source: dict[str, Any]) -> None:
        """Refresh the team's mental model: its newest facts first, bounded."""
        bank = team_bank(team)
        old = [ln[2:] for ln in self.live.mental_model(bank).splitlines() if ln.startswith("- ")]
        merged = list(dict.fromkeys([*facts, *old]))[:MENTAL_MODEL_FACTS]
        text = "\n".join(f"- {f}" for f in merged)
        if text:
            self.live.set_mental_model(bank, text, source)

    def retain_run(
        self, *, run_id: str, project: str, requirement: str, status: str, reason: str
    ) -> int:
        """Retain how a run ended in the shared world and the project's bank."""
        source = {"run": run_id, "project": project, "status": status}
        text = f"Run {run_id} ({project}) {status}: {requirement[:300]}" + (
            f" — {reason[:200]}" if reason else ""
        )
        item = MemoryItem("run", text, source)
        return self.live.retain(SHARED, [item]) + self.live.retain(project_bank(project), [item])
