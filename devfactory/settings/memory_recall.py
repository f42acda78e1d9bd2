"""What a stage recalls.

Memory: the earlier runs recalled before each stage, and the facts kept.

``Settings.recall`` (``settings/__init__.py``): each field is given by its flat name,
``DEVFACTORY_<NAME>``, as every setting is.
"""

from __future__ import annotations

from pydantic import Field

from devfactory.settings.concern import Concern


class RecallSettings(Concern):
    """What a stage recalls."""

    # Memory: bounded recall before each stage.
    memory_enabled: bool = True
    """Recall and retain at stage boundaries."""
    recall_k: int = Field(default=6, ge=0, le=50)
    """Memories recalled per stage."""
    recall_threshold: float = Field(default=0.35, ge=-1.0, le=1.0)
    """Minimum cosine similarity to recall."""
    fact_memory: bool = True
    """Extract and dedup each team's facts with mem0 after a stage."""
    fact_alias: str = "factory/cheap"
    """The model that extracts facts."""
    fact_k: int = Field(default=4, ge=0, le=50)
    """Team facts recalled per stage."""
    max_facts_per_stage: int = Field(default=6, ge=1, le=20)
    """The most facts one stage may add."""
    fact_queue: int = Field(default=0, ge=0, le=64)
    """Stages whose fact extraction may wait for a background worker after the stage, for runs
    with no token, cost or time cap (0: always inline, metered in the run's ledger). A full queue
    extracts inline."""
    fact_queue_flush_s: float = Field(default=30.0, gt=0, le=600)
    """How long closing the factory waits for queued fact extractions; the rest are dropped with
    a log line."""
