"""The governance screen's independent check: what a text means, not which words it uses.

Keyword rules (``control/policy.py``) miss paraphrases, and a text's nearness
to risky phrasings follows vocabulary both ways. This check scores a text, each
of its sentences and each of its clauses (so a long text cannot dilute one
risky clause) with a classifier trained and calibrated on labelled examples
(``graph/screening/classifier.py``, fitted by ``graph/screening/train.py``): the
calibrated probability that a part states a risky intent, the line chosen by
cross-validation, and the intent a risky part shows. It also compares every
part with text addressed to the reviewers and with ordinary wording near it
(``config/risky_intents.yaml``), for the injection detector. It only measures:
the policy (``control/policy.py``) turns the scores into a level and reasons.

The embedder is the embedded all-MiniLM-L6-v2 (local, pinned, no network),
or memory's when the policy has thresholds for it; the model refuses vectors
of an embedder it was not trained on, and the policy then fails closed. No
training example is embedded at run time; the injection phrasings (a few
dozen) are embedded once per process.
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
from devfactory.graph.screening.classifier import load_model
from devfactory.models.embeddings import Embedder, embedded_minilm

Phrase = Annotated[str, Field(min_length=3, max_length=300)]


class Intent(BaseModel):
    """A risky intent: the risk factor it stands for and labelled examples of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]{1,60}$")
    factor: str = Field(min_length=3, max_length=120)
    level: Risk = Risk.HIGH
    examples: tuple[Phrase, ...] = Field(min_length=1, max_length=200)


class IntentSet(BaseModel):
    """The parsed intents file: the classifier's risky examples and the injection phrasings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intents: tuple[Intent, ...] = Field(min_length=1, max_length=200)
    injection: tuple[Phrase, ...] = Field(min_length=1, max_length=100)
    not_injection: tuple[Phrase, ...] = Field(default=(), max_length=100)


@dataclass(frozen=True)
class _Injections:
    """Text addressed to the reviewers, and ordinary wording near it, as unit vectors."""

    injection: np.ndarray  # (injection phrasings, dims)
    not_injection: np.ndarray  # (ordinary wording near injections, dims)


LENGTH_GROUP: Final = 8
"""Parts embedded in one call, grouped by length (see ``_embedded``)."""

_INDEXES: dict[tuple[str, str], _Injections] = {}
_LOCK = threading.Lock()

SPLITTING: Final = 2
"""How ``split_text`` cuts a text into parts; a model trained on another cutting is refused.

1: every line was a sentence of its own. 2: a line that continues a wrapped
paragraph joins the line before it (see ``_blocks``).
"""

WRAPPED_LINE: Final = 50
"""Characters from which a line counts as wrapped: the line after it continues it.

Hard-wrapped prose fills its lines (60 to 100 characters); lines written
one per item, without a list marker, are most often shorter.
"""

# sentence ends, then the joints inside a sentence
_SENTENCES = re.compile(r"(?<=[.!?;…])\s+|…")
_JOINS = r"(?:and|but|or|so|then|while|because)"
_CLAUSES = re.compile(rf"\s*[,:;()\[\]]\s*(?:{_JOINS}\b\s*)?|\s+-{{1,2}}\s+|\s+{_JOINS}\s+", re.I)
# a line that starts a block of its own: a list item, a heading, a quote, a table row, a fence
_BLOCK_START = re.compile(r"^\s*(?:[-*+•]\s|\d+[.)]\s|#|>|\||```)")


def intents_text(path: Path | None) -> str:
    """Return the intents file's text (``path``, or the packaged default)."""
    if path is not None:
        return path.read_text(encoding="utf-8")
    return (files("devfactory.config") / "risky_intents.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=8)
def parse_intents(text: str) -> IntentSet:
    """Parse and validate an intents file's text."""
    return IntentSet.model_validate(yaml.safe_load(text))


def _blocks(text: str) -> list[str]:
    """Return the paragraphs, list items and lone lines of ``text``, wrapped lines joined.

    A line break inside a wrapped paragraph is not a sentence end: scored
    alone, the halves of a sentence cut at a wrap ("Build a script, run as
    ..., that", "them") read as anything. A line joins the one before it
    when that one is a wrapped line of prose (``WRAPPED_LINE`` characters or
    more, not a heading or a fence) and it does not start a block itself.
    """
    blocks: list[str] = []
    previous = ""
    for line in text.split("\n"):
        stripped = line.strip()
        wrapped = len(previous) >= WRAPPED_LINE and not previous.startswith(("#", "```"))
        if stripped and wrapped and not _BLOCK_START.match(line):
            blocks[-1] = f"{blocks[-1]} {stripped}"
        elif stripped:
            blocks.append(stripped)
        previous = stripped
    return blocks


def split_text(text: str, *, min_words: int) -> list[str]:
    """Return the parts of ``text`` to score: the whole, each sentence, each clause.

    Each part appears once, in reading order; clauses shorter than
    ``min_words`` are only scored inside their sentence. Sentences end at
    sentence punctuation and at the end of a block (``_blocks``).
    """
    whole = " ".join(text.split())
    parts = [whole] if whole else []
    for block in _blocks(text):
        for sentence in _SENTENCES.split(block):
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


def _embedded(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Return unit vectors of ``texts``, embedded in groups of similar length.

    A batch is padded to its longest text, so a text's whole and its short
    sentences in one batch cost as many tokens as the whole each: grouped by
    length, a 24-part document embeds several times faster.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors: list[list[float]] = [[] for _ in texts]
    for start in range(0, len(order), LENGTH_GROUP):
        group = order[start : start + LENGTH_GROUP]
        for i, vector in zip(group, embedder.embed([texts[i] for i in group]), strict=True):
            vectors[i] = vector
    return _unit(vectors)


def _vectors(embedder: Embedder, texts: tuple[str, ...]) -> np.ndarray:
    return _unit(embedder.embed(list(texts))) if texts else np.zeros((0, embedder.dims))


def _injections(embedder: Embedder, text: str) -> _Injections:
    key = (embedder.name, hashlib.sha256(text.encode()).hexdigest())
    with _LOCK:
        found = _INDEXES.get(key)
        if found is None:
            intents = parse_intents(text)
            found = _Injections(
                _vectors(embedder, intents.injection), _vectors(embedder, intents.not_injection)
            )
            _INDEXES[key] = found
        return found


def _nearest(vectors: np.ndarray, phrasings: np.ndarray) -> np.ndarray:
    """Return each part's best similarity to ``phrasings`` (-1 when there are none)."""
    if not len(phrasings):
        return np.full(len(vectors), -1.0)
    return (vectors @ phrasings.T).max(axis=1)


def _clip(value: float) -> float:
    return round(min(1.0, max(-1.0, float(value))), 4)


class ScreeningUnavailableError(RuntimeError):
    """The check cannot vouch for a text with this embedder, model or policy."""


def measure(text: str, embedder: Embedder, rules: ScreeningRules) -> Screen:
    """Score ``text``'s parts with the trained classifier and the injection phrasings.

    For each intent the part reported is the likeliest to be risky among the
    parts that show that intent, best first; the policy compares each with the
    model's line. An uncalibrated embedder is measured against a neutral
    injection line, for the record only: the policy then fails closed anyway.

    Raises:
        ScreeningUnavailableError: the model was trained on another embedder,
            calibrated with another ``min_part_words`` than the policy's, or on parts
            cut another way (``SPLITTING``).

    """
    model = load_model(rules.model_file)
    if model.embedder != embedder.name:
        raise ScreeningUnavailableError(
            f"the screening model was trained on {model.embedder}, not {embedder.name}"
        )
    if model.min_part_words != rules.min_part_words:
        raise ScreeningUnavailableError(
            f"the screening model was calibrated with min_part_words {model.min_part_words}, "
            f"the policy says {rules.min_part_words}"
        )
    if model.splitting != SPLITTING:
        raise ScreeningUnavailableError(
            f"the screening model was trained on parts cut by version {model.splitting}, "
            f"this screen cuts by version {SPLITTING}"
        )
    injections = _injections(embedder, intents_text(rules.intents_file))
    calibration = rules.calibrated.get(embedder.name) or Calibration(injection=0.5)
    parts = split_text(text, min_words=rules.min_part_words)
    scored = parts[: rules.max_parts]
    model_id, line = model.data_sha256[:12], round(model.threshold, 4)
    if not scored:
        return Screen(embedder=embedder.name, model=model_id, threshold=line)
    vectors = _embedded(embedder, scored)
    risk = model.risk(vectors)
    which, _ = model.intent(vectors)
    best: dict[int, int] = {}  # intent -> its likeliest risky part
    for part in np.argsort(-risk, kind="stable"):
        best.setdefault(int(which[part]), int(part))
    matches = tuple(
        Match(
            intent=model.intents[intent].id,
            factor=model.intents[intent].factor,
            level=model.intents[intent].level,
            probability=round(float(risk[part]), 4),
            part=scored[part][:300],
        )
        for intent, part in list(best.items())[:5]
    )
    injection = _nearest(vectors, injections.injection)
    ordinary = _nearest(vectors, injections.not_injection)
    pairs = zip(injection, ordinary, strict=True)
    worst = int(np.argmax([calibration.injection_slack(float(a), float(b)) for a, b in pairs]))
    return Screen(
        embedder=embedder.name,
        model=model_id,
        threshold=line,
        intents=matches,
        injection=_clip(injection[worst]),
        injection_part=scored[worst][:300],
        injection_benign=_clip(ordinary[worst]),
        parts=len(scored),
        skipped=len(parts) - len(scored),
    )


def screen(text: str, context: Context) -> Screen:
    """Measure ``text`` with the context's embedder; a check that cannot run says why.

    Any failure (no embedder, a broken intents or model file, an embedder
    error, a model trained on another embedder) is reported in ``problem``,
    and the policy then fails closed.
    """
    rules = context.get_policy().screening
    try:
        return measure(text, screening_embedder(context, rules), rules)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the check cannot vouch: fail closed
        return Screen(problem=f"{type(exc).__name__}: {exc}"[:300])
