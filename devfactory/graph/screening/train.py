"""Fit and calibrate the governance screen's classifier, and write the model it ships.

Run ``python -m devfactory.graph.screening.train`` after changing the
training data (``--check`` only says whether the shipped model would change).

Why a trained classifier: the screen it replaces called a text risky when
it came near a risky phrasing, so it followed vocabulary both ways (a
dashboard of endpoint-protection agents stopped for an approver, a renamed
scheduled task went through). This one learns a boundary from labelled
examples on both sides, with ordinary twins that share the risky
examples' words. Why this classifier: on the MiniLM vectors a linear model
could not draw that boundary (logistic regression caught about half the
risky examples out of fold where an RBF support vector machine caught
three quarters, at the same false positives); an entailment model would
need weights no registry package ships. Everything runs on the embedded
MiniLM the factory already carries, with scikit-learn only here.

How, deterministically (a fixed fold split, libsvm's exact solver):

1. Every example of ``config/risky_intents.yaml`` is labelled risky, and
   every example of ``config/ordinary_requirements.yaml`` ordinary; so is
   each part of an ordinary example (its sentences and clauses), as the
   screen scores parts.
2. Five-fold cross-validation by example: each held-out example is scored
   as the screen scores a text (its highest part), giving out-of-fold
   decisions for all of them.
3. The line: the decision that lets ``FALSE_POSITIVE_RATE`` of the ordinary
   examples over it out of fold (they are hard ones by design, so ordinary
   requirements fare better). Platt scaling fitted on the out-of-fold
   decisions turns decisions into probabilities, the line included.
4. The final SVM is fitted on everything, and a logistic regression over
   the intents (risky examples only) names the intent of a risky part.

The model records the SHA-256 of its data and parameters
(``data_digest``); a test fails when the shipped model and the data
disagree, and another retrains and compares.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Final

import numpy as np
import sklearn
import yaml
from pydantic import BaseModel, ConfigDict, Field
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC

from devfactory.graph.screening.check import (
    SPLITTING,
    IntentSet,
    embedded_embedder,
    parse_intents,
    split_text,
)
from devfactory.graph.screening.classifier import IntentLabel, ScreeningModel, model_path
from devfactory.models.embeddings import Embedder

FOLDS: Final = 5
"""Cross-validation folds (stratified by label, shuffled with ``SEED``)."""

SEED: Final = 0
"""The fold split's seed: retraining on the same data gives the same model."""

PENALTY: Final = 10.0
"""The SVM's C: how hard a training error counts against a wider margin."""

PART_WEIGHT: Final = 0.5
"""Weight of each part of an ordinary example, its whole counting 1."""

FALSE_POSITIVE_RATE: Final = 0.10
"""Share of the ordinary training examples allowed over the line out of fold.

The training set's ordinary side is deliberately close to the risky one, so
this is far above what ordinary tickets see; what it costs on them was
measured on the development sets (the older tests/data/governance_*.yaml and
the first three held-out sets, never the current one): 0.10 is the highest
rate at which those sets' ordinary texts stayed under 2 % HIGH, the whole
screen measured (14 of 707, 6 of them by design), and every requirement we
ship stayed LOW or MEDIUM; 0.11 let 15 over (the third round chose 0.11 on
587 of them). The rate depends on how many easy examples the ordinary side
holds: choose it again after adding many.
"""

MIN_PART_WORDS: Final = 12
"""The shortest clause scored alone; the policy's ``min_part_words`` must match it.

Whole texts and sentences are always scored. Shorter clauses, out of their
sentence, read as risky too often ("IT can see which machines are not
protected"): on the development sets, 12 kept every diluted risky clause
there and the fewest false positives.
"""

INTENT_PENALTY: Final = 10.0
"""The intent regression's C."""

Example = Annotated[str, Field(min_length=3, max_length=300)]
Document = Annotated[str, Field(min_length=3, max_length=4000)]


class OrdinarySet(BaseModel):
    """The parsed ordinary examples, grouped by kind of software (the groups are for people).

    ``documents`` are whole requirement documents (headings, code spans, lists
    of routes and options), so that the line accounts for a text of many parts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    examples: dict[str, tuple[Example, ...]] = Field(min_length=1)
    documents: tuple[Document, ...] = ()


@dataclass(frozen=True)
class TrainingSet:
    """Labelled examples: risky ones with their intent's index, then ordinary ones."""

    intents: tuple[IntentLabel, ...]
    risky: tuple[tuple[str, int], ...]
    ordinary: tuple[str, ...]


def _config_text(name: str) -> str:
    return (files("devfactory.config") / name).read_text(encoding="utf-8")


def training_set(
    intents: IntentSet | None = None, ordinary: OrdinarySet | None = None
) -> TrainingSet:
    """Return the labelled examples (the packaged files unless given)."""
    intents = intents or parse_intents(_config_text("risky_intents.yaml"))
    ordinary = ordinary or OrdinarySet.model_validate(
        yaml.safe_load(_config_text("ordinary_requirements.yaml"))
    )
    labels = tuple(IntentLabel(i.id, i.factor, i.level) for i in intents.intents)
    risky = tuple((text, n) for n, i in enumerate(intents.intents) for text in i.examples)
    plain = tuple(dict.fromkeys(t for group in ordinary.examples.values() for t in group))
    plain += tuple(t for t in (*intents.not_injection, *ordinary.documents) if t not in plain)
    return TrainingSet(labels, risky, plain)


def data_digest(
    data: TrainingSet, embedder: str, false_positive_rate: float = FALSE_POSITIVE_RATE
) -> str:
    """Return the SHA-256 of the examples, their labels, the parameters and the embedder."""
    record = {
        "embedder": embedder,
        "intents": [[i.id, i.factor, i.level.value] for i in data.intents],
        "risky": [[data.intents[n].id, text] for text, n in data.risky],
        "ordinary": list(data.ordinary),
        "parameters": [FOLDS, SEED, PENALTY, PART_WEIGHT, false_positive_rate, MIN_PART_WORDS],
        "splitting": SPLITTING,
        "intent_penalty": INTENT_PENALTY,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


class _Vectors:
    """Unit vectors of texts, each text embedded once."""

    def __init__(self, embedder: Embedder, texts: list[str]) -> None:
        unique = list(dict.fromkeys(texts))
        matrix = np.asarray(embedder.embed(unique), dtype=np.float64)
        matrix /= np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)
        self.row = {text: n for n, text in enumerate(unique)}
        self.matrix = matrix

    def of(self, texts: list[str]) -> np.ndarray:
        return self.matrix[[self.row[t] for t in texts]]


def _design(
    labels: np.ndarray, parts: list[list[str]], vectors: _Vectors
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the rows to fit: each example whole, and each part of an ordinary one."""
    rows: list[str] = []
    target: list[int] = []
    weight: list[float] = []
    for label, its_parts in zip(labels, parts, strict=True):
        rows.append(its_parts[0])  # the whole, its whitespace collapsed as the screen scores it
        target.append(int(label))
        weight.append(1.0)
        if not label:
            for part in its_parts[1:]:
                rows.append(part)
                target.append(0)
                weight.append(PART_WEIGHT)
    return vectors.of(rows), np.asarray(target), np.asarray(weight)


def _svm(gamma: float) -> SVC:
    return SVC(C=PENALTY, kernel="rbf", gamma=gamma, class_weight="balanced")


def _line(decisions: np.ndarray, labels: np.ndarray, false_positive_rate: float) -> float:
    """Return the decision between the ordinary examples allowed over it and the rest."""
    ordinary = np.sort(decisions[labels == 0])[::-1]
    allowed = int(np.floor(false_positive_rate * len(ordinary)))
    if not allowed:
        return float(np.nextafter(ordinary[0], np.inf))
    return float((ordinary[allowed] + ordinary[allowed - 1]) / 2)


def train(
    embedder: Embedder,
    data: TrainingSet | None = None,
    *,
    false_positive_rate: float = FALSE_POSITIVE_RATE,
) -> ScreeningModel:
    """Fit, cross-validate and calibrate the screen on ``data`` (the packaged examples).

    ``false_positive_rate`` is for data other than the packaged examples (a few
    dozen in a test): the shipped model is always fitted at ``FALSE_POSITIVE_RATE``,
    which its data digest records.
    """
    data = data or training_set()
    examples = [t for t, _ in data.risky] + list(data.ordinary)
    labels = np.r_[np.ones(len(data.risky), dtype=int), np.zeros(len(data.ordinary), dtype=int)]
    parts = [split_text(t, min_words=MIN_PART_WORDS) for t in examples]
    vectors = _Vectors(embedder, [p for its in parts for p in its])
    design, target, weight = _design(labels, parts, vectors)
    gamma = 1.0 / (design.shape[1] * float(design.var()))  # scikit-learn's "scale", fixed once

    out_of_fold = np.zeros(len(examples))
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for fit_on, held in folds.split(np.zeros(len(labels)), labels):
        pick = list(fit_on)
        rows, fold_target, fold_weight = _design(labels[pick], [parts[i] for i in pick], vectors)
        fold = _svm(gamma).fit(rows, fold_target, sample_weight=fold_weight)
        for i in held:
            out_of_fold[i] = fold.decision_function(vectors.of(parts[i])).max()

    line = _line(out_of_fold, labels, false_positive_rate)
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(out_of_fold[:, None], labels)
    a, b = -float(platt.coef_[0, 0]), -float(platt.intercept_[0])
    threshold = float(1.0 / (1.0 + np.exp(a * line + b)))

    svm = _svm(gamma).fit(design, target, sample_weight=weight)
    risky = vectors.of([parts[i][0] for i in range(len(data.risky))])
    namer = LogisticRegression(C=INTENT_PENALTY, max_iter=5000).fit(
        risky, [n for _, n in data.risky]
    )
    caught = out_of_fold[labels == 1] >= line
    flagged = out_of_fold[labels == 0] >= line
    model = ScreeningModel(
        embedder=embedder.name,
        data_sha256=data_digest(data, embedder.name, false_positive_rate),
        intents=data.intents,
        support_vectors=svm.support_vectors_.astype(np.float32),
        dual_coef=svm.dual_coef_[0].astype(np.float64),
        intercept=float(svm.intercept_[0]),
        gamma=gamma,
        platt=(a, b),
        threshold=threshold,
        intent_weights=namer.coef_.astype(np.float64),
        intent_bias=namer.intercept_.astype(np.float64),
        min_part_words=MIN_PART_WORDS,
        splitting=SPLITTING,
        cross_validation={
            "folds": FOLDS,
            "risky": len(data.risky),
            "ordinary": len(data.ordinary),
            "recall": round(float(caught.mean()), 4),
            "false_positive_rate": round(float(flagged.mean()), 4),
            "scikit_learn": sklearn.__version__,
        },
    )
    _agrees(model, svm, design)
    return model


def _agrees(model: ScreeningModel, svm: SVC, design: np.ndarray) -> None:
    """Refuse to ship a model whose numpy scoring differs from scikit-learn's own."""
    ours = model.decision(design[:200])
    theirs = svm.decision_function(design[:200])
    if not np.allclose(ours, theirs, atol=1e-3):
        raise RuntimeError(f"numpy and scikit-learn disagree: {np.abs(ours - theirs).max()}")


def main(argv: list[str] | None = None) -> int:
    """Train on the packaged examples and write the model (or, with ``--check``, compare)."""
    parser = argparse.ArgumentParser(
        prog="python -m devfactory.graph.screening.train", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write the model")
    parser.add_argument(
        "--check", action="store_true", help="retrain and say whether the shipped model matches"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    model = train(embedded_embedder())
    cv = model.cross_validation
    print(
        f"trained on {cv['risky']} risky and {cv['ordinary']} ordinary examples in "
        f"{time.perf_counter() - started:.1f} s: {len(model.dual_coef)} support vectors, "
        f"line at probability {model.threshold:.3f}; out of fold recall {cv['recall']:.3f}, "
        f"false positives {cv['false_positive_rate']:.3f}"
    )
    shipped = model_path(None)
    if args.check:
        same = shipped.is_file() and shipped.read_bytes() == _bytes(model)
        print(f"{shipped}: {'matches' if same else 'DIFFERS from'} the retrained model")
        return 0 if same else 1
    out = args.out or shipped
    model.save(out)
    print(f"wrote {out} (data sha256 {model.data_sha256})")
    return 0


def _bytes(model: ScreeningModel) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        model.save(path)
        return path.read_bytes()


if __name__ == "__main__":
    sys.exit(main())
