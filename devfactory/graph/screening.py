"""The governance screen's independent check: what a text means, not which words it uses.

Keyword rules (``control/policy.py``) miss paraphrases. This check embeds a
text, each of its sentences and each of its clauses (so a long text cannot
dilute one risky clause), and compares every part with the maintained
phrasings of risky intents and of text addressed to the reviewers
(``config/risky_intents.yaml``), and with ordinary requirements that look like
them (benign look-alikes, ordinary wording near an injection). A part shows an
intent when it is close to the intent and closer to it than to every
look-alike by a margin: "a screenshot tool the user starts" is near covert
screen capture, and nearer still to its look-alike. A second, linear
classifier (ridge regression on the same vectors, fitted to the file's risky
phrasings against its look-alikes when the file is loaded) catches a part
whose nearest intent is not quite close enough but whose direction is risky.
It only measures: the policy's lines, calibrated per embedder, say what a
score means; for each intent it reports the part that best shows it under them.

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
from typing import Annotated, Final

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field

from devfactory.control.policy import Calibration, Match, Risk, Screen, ScreeningRules
from devfactory.graph.context import Context
from devfactory.models.embeddings import Embedder, embedded_minilm

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
    benign: tuple[Phrase, ...] = Field(default=(), max_length=400)  # look-alikes of intents
    injection: tuple[Phrase, ...] = Field(min_length=1, max_length=100)
    not_injection: tuple[Phrase, ...] = Field(default=(), max_length=100)


@dataclass(frozen=True)
class _Index:
    """An intent set's phrasings as unit vectors of one embedder, and its risk classifier."""

    intents: IntentSet
    owner: np.ndarray  # the intent of each phrasing row
    phrasings: np.ndarray  # (phrasings, dims)
    benign: np.ndarray  # (benign look-alikes, dims)
    injection: np.ndarray  # (injection phrasings, dims)
    not_injection: np.ndarray  # (ordinary wording near injections, dims)
    direction: np.ndarray  # (dims + 1,): the risk classifier's weights, then its bias


RIDGE: Final = 0.003
"""The risk classifier's L2 penalty: larger is smoother (less tied to single phrasings)."""


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


def embedded_embedder() -> Embedder:
    """Return the process's embedded MiniLM, the one memory uses (its session loads once)."""
    return embedded_minilm(threads=1)


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


def _vectors(embedder: Embedder, texts: tuple[str, ...]) -> np.ndarray:
    return _unit(embedder.embed(list(texts))) if texts else np.zeros((0, embedder.dims))


def train_direction(risky: np.ndarray, benign: np.ndarray) -> np.ndarray:
    """Fit the linear risk classifier: ridge regression of +1 (risky) and -1 (benign).

    Both classes weigh the same whatever their sizes; the closed form makes it
    deterministic, and it takes milliseconds for a few hundred phrasings.
    """
    vectors = np.vstack([risky, benign]).astype(np.float64)
    target = np.r_[np.ones(len(risky)), -np.ones(len(benign))]
    weight = np.r_[np.full(len(risky), 0.5 / len(risky)), np.full(len(benign), 0.5 / len(benign))]
    design = np.hstack([vectors, np.ones((len(vectors), 1))])
    penalty = RIDGE * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0  # the bias is not penalised
    gram = design.T @ (design * weight[:, None]) + penalty
    return np.linalg.solve(gram, design.T @ (weight * target))


def _index(embedder: Embedder, text: str) -> _Index:
    key = (embedder.name, hashlib.sha256(text.encode()).hexdigest())
    with _LOCK:
        found = _INDEXES.get(key)
        if found is None:
            intents = parse_intents(text)
            owner = [i for i, intent in enumerate(intents.intents) for _ in intent.phrasings]
            phrasings = _vectors(
                embedder, tuple(p for intent in intents.intents for p in intent.phrasings)
            )
            benign = _vectors(embedder, intents.benign)
            not_injection = _vectors(embedder, intents.not_injection)
            ordinary = np.vstack([benign, not_injection])
            found = _Index(
                intents,
                np.asarray(owner),
                phrasings,
                benign,
                _vectors(embedder, intents.injection),
                not_injection,
                train_direction(phrasings, ordinary) if len(ordinary) else np.zeros(0),
            )
            _INDEXES[key] = found
        return found


def _nearest(vectors: np.ndarray, phrasings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each part's best similarity to ``phrasings`` and its row (-1 and -1: none)."""
    if not len(phrasings):
        none = np.full(len(vectors), -1)
        return none.astype(np.float32), none
    similar = vectors @ phrasings.T
    return similar.max(axis=1), similar.argmax(axis=1)


def _clip(value: float) -> float:
    return round(min(1.0, max(-1.0, float(value))), 4)


def _risk(vectors: np.ndarray, index: _Index, nearest: np.ndarray) -> np.ndarray:
    """Return the classifier's score of each part, per intent: -1 where it is not the nearest."""
    risk = np.full((len(vectors), len(index.intents.intents)), -1.0)
    if len(index.direction):
        score = np.clip(vectors @ index.direction[:-1] + index.direction[-1], -1.0, 1.0)
        risk[np.arange(len(vectors)), nearest] = score
    return risk


def measure(text: str, embedder: Embedder, rules: ScreeningRules) -> Screen:
    """Score ``text``'s parts against the intents and look-alikes; the policy judges them.

    For each intent the part reported is the one furthest past the
    embedder's calibration (the policy's lines), so one that passes is
    reported if any does. An uncalibrated embedder is measured against neutral
    lines, for the record only: the policy then fails closed anyway.
    """
    index = _index(embedder, intents_text(rules.intents_file))
    calibration = rules.calibrated.get(embedder.name) or Calibration(intent=0.5, injection=0.5)
    parts = split_text(text, min_words=rules.min_part_words)
    scored = parts[: rules.max_parts]
    if not scored:
        return Screen(embedder=embedder.name)
    vectors = _unit(embedder.embed(scored))
    similar = vectors @ index.phrasings.T  # parts x phrasings
    count = len(index.intents.intents)
    closest = np.stack([similar[:, index.owner == i].max(axis=1) for i in range(count)], axis=1)
    benign, alike = _nearest(vectors, index.benign)
    risk = _risk(vectors, index, closest.argmax(axis=1))
    ranked = []
    for i, intent in enumerate(index.intents.intents):
        slack = [
            calibration.intent_slack(float(closest[p, i]), float(benign[p]), float(risk[p, i]))
            for p in range(len(scored))
        ]
        part = int(np.argmax(slack))
        match = Match(
            intent=intent.id,
            factor=intent.factor,
            level=intent.level,
            score=_clip(closest[part, i]),
            part=scored[part][:300],
            benign=_clip(benign[part]),
            look_alike=index.intents.benign[alike[part]] if alike[part] >= 0 else "",
            risk=_clip(risk[part, i]),
        )
        ranked.append((slack[part], match))
    ranked.sort(key=lambda pair: -pair[0])
    injection = (vectors @ index.injection.T).max(axis=1)
    ordinary, _ = _nearest(vectors, index.not_injection)
    worst = int(
        np.argmax(
            [
                calibration.injection_slack(float(a), float(b))
                for a, b in zip(injection, ordinary, strict=True)
            ]
        )
    )
    return Screen(
        embedder=embedder.name,
        intents=tuple(match for _, match in ranked[:5]),
        injection=_clip(injection[worst]),
        injection_part=scored[worst][:300],
        injection_benign=_clip(ordinary[worst]),
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
