"""The governance screen's independent check: what a text means, not which words it uses.

Keyword rules (``control/policy.py``) miss paraphrases. This check embeds a
text, each of its sentences and each of its clauses (so a long text cannot
dilute one risky clause), and compares every part with the maintained
phrasings of risky intents and of text addressed to the reviewers
(``config/risky_intents.yaml``). It only measures: the policy's thresholds,
calibrated per embedder, say what a similarity means.

The embedder is memory's when the policy has thresholds for it, else the
embedded all-MiniLM-L6-v2 (local, pinned, no network). The phrasings' vectors
are computed once per process for each embedder and intents file.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field

from devfactory.control.policy import Match, Risk, Screen, ScreeningRules
from devfactory.graph.context import Context
from devfactory.models.embeddings import Embedder, MiniLMEmbedder

Phrase = Annotated[str, Field(min_length=3, max_length=300)]


class Intent(BaseModel):
    """A risky intent: the risk factor it stands for and several ways to say it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]{1,60}$")
    factor: str = Field(min_length=3, max_length=120)
    level: Risk = Risk.HIGH
    phrasings: tuple[Phrase, ...] = Field(min_length=1, max_length=40)


class IntentSet(BaseModel):
    """The parsed intents file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intents: tuple[Intent, ...] = Field(min_length=1, max_length=200)
    injection: tuple[Phrase, ...] = Field(min_length=1, max_length=100)


@dataclass(frozen=True)
class _Index:
    """An intent set's phrasings as unit vectors of one embedder."""

    intents: IntentSet
    owner: np.ndarray  # the intent of each phrasing row
    phrasings: np.ndarray  # (phrasings, dims)
    injection: np.ndarray  # (injection phrasings, dims)


_INDEXES: dict[tuple[str, str], _Index] = {}
_LOCK = threading.Lock()

# sentence ends, then the joints inside a sentence
_SENTENCES = re.compile(r"(?<=[.!?;…])\s+|\s*\n+\s*|…")
_JOINS = r"(?:and|but|or|so|then|while|because)"
_CLAUSES = re.compile(rf"\s*[,:;()\[\]]\s*(?:{_JOINS}\b\s*)?|\s+-{{1,2}}\s+|\s+{_JOINS}\s+", re.I)


def intents_text(path: Path | None) -> str:
    """Return the intents file's text (``path``, or the packaged default)."""
    if path is not None:
        return path.read_text(encoding="utf-8")
    return (files("devfactory.config") / "risky_intents.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=8)
def parse_intents(text: str) -> IntentSet:
    """Parse and validate an intents file's text."""
    return IntentSet.model_validate(yaml.safe_load(text))


def split_text(text: str, *, min_words: int) -> list[str]:
    """Return the parts of ``text`` to score: the whole, each sentence, each clause.

    Each part appears once, in reading order; clauses shorter than
    ``min_words`` are only scored inside their sentence.
    """
    whole = " ".join(text.split())
    parts = [whole] if whole else []
    for sentence in _SENTENCES.split(text):
        sentence = " ".join(sentence.split()).strip(" .!?;:,")
        if not sentence:
            continue
        if sentence not in parts:
            parts.append(sentence)
        for clause in _CLAUSES.split(sentence):
            clause = clause.strip(" .!?;:,'\"")
            if len(clause.split()) >= min_words and clause not in parts:
                parts.append(clause)
    return parts


@lru_cache(maxsize=1)
def embedded_embedder() -> MiniLMEmbedder:
    """Return the process's embedded MiniLM (its ONNX session loads on first use)."""
    return MiniLMEmbedder(threads=1)


def screening_embedder(context: Context, rules: ScreeningRules) -> Embedder:
    """Return the embedder the check uses: the context's, memory's if calibrated, or MiniLM."""
    if context.embedder is not None:
        return context.embedder
    memory = context.memory
    if memory is not None and memory.live.embedder.name in rules.calibrated:
        return memory.live.embedder
    return embedded_embedder()


def _unit(vectors: list[list[float]]) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.clip(norms, 1e-12, None)


def _index(embedder: Embedder, text: str) -> _Index:
    key = (embedder.name, hashlib.sha256(text.encode()).hexdigest())
    with _LOCK:
        found = _INDEXES.get(key)
        if found is None:
            intents = parse_intents(text)
            owner = [i for i, intent in enumerate(intents.intents) for _ in intent.phrasings]
            phrasings = [p for intent in intents.intents for p in intent.phrasings]
            found = _Index(
                intents,
                np.asarray(owner),
                _unit(embedder.embed(phrasings)),
                _unit(embedder.embed(list(intents.injection))),
            )
            _INDEXES[key] = found
        return found


def measure(text: str, embedder: Embedder, rules: ScreeningRules) -> Screen:
    """Score ``text``'s parts against the intents; the policy judges the scores."""
    index = _index(embedder, intents_text(rules.intents_file))
    parts = split_text(text, min_words=rules.min_part_words)
    scored = parts[: rules.max_parts]
    if not scored:
        return Screen(embedder=embedder.name)
    vectors = _unit(embedder.embed(scored))
    similar = vectors @ index.phrasings.T  # parts x phrasings
    matches = []
    for i, intent in enumerate(index.intents.intents):
        block = similar[:, index.owner == i]
        part = int(block.max(axis=1).argmax())
        score = float(block[part].max())
        matches.append(
            Match(
                intent=intent.id,
                factor=intent.factor,
                level=intent.level,
                score=round(min(1.0, max(-1.0, score)), 4),
                part=scored[part][:300],
            )
        )
    matches.sort(key=lambda m: -m.score)
    injection = vectors @ index.injection.T
    worst = int(injection.max(axis=1).argmax())
    return Screen(
        embedder=embedder.name,
        intents=tuple(matches[:5]),
        injection=round(min(1.0, float(injection[worst].max())), 4),
        injection_part=scored[worst][:300],
        parts=len(scored),
        skipped=len(parts) - len(scored),
    )


def screen(text: str, context: Context) -> Screen:
    """Measure ``text`` with the context's embedder; a check that cannot run says why.

    Any failure (no embedder, a broken intents file, an embedder error) is
    reported in ``problem``, and the policy then fails closed.
    """
    rules = context.get_policy().screening
    try:
        return measure(text, screening_embedder(context, rules), rules)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the check cannot vouch: fail closed
        return Screen(problem=f"{type(exc).__name__}: {exc}"[:300])
