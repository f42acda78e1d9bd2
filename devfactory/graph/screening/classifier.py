"""The governance screen's trained classifier: its file format and how it scores vectors.

The classifier is fitted by ``graph/screening/train.py`` on labelled examples
(``config/risky_intents.yaml`` against ``config/ordinary_requirements.yaml``)
and shipped as ``config/screening_model.npz``: plain arrays and one JSON
header, read without pickle. Scoring needs numpy only, so a process loads a
file of about a megabyte and embeds none of the training texts.

Two parts, both on unit MiniLM vectors of a text's parts:

- *Risk*: a support vector machine with an RBF kernel (risky against
  ordinary), whose decision value is mapped to a probability by Platt
  scaling fitted on out-of-fold decisions; ``threshold`` is the probability
  at which cross-validation on the training data put the line.
- *Which intent*: a multinomial logistic regression over the risky
  intents, fitted on the risky examples, that names the factor a risky part
  adds to the decision.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

import numpy as np

from devfactory.control.policy import Risk

FORMAT: Final = 1
"""The file format's version; a file of another version is refused."""

PACKAGED: Final = "screening_model.npz"
"""The packaged model's name in ``devfactory.config``."""

_ARRAYS: Final = (
    "support_vectors",
    "dual_coef",
    "intent_weights",
    "intent_bias",
)
_STAMP: Final = (2020, 1, 1, 0, 0, 0)  # every member's date, so a retrained file is identical


@dataclass(frozen=True)
class IntentLabel:
    """A risky intent the classifier can name, and what naming it adds to a decision."""

    id: str
    factor: str
    level: Risk


@dataclass(frozen=True, eq=False)
class ScreeningModel:
    """A fitted screen: the risk classifier, its calibration and line, and the intent namer.

    Attributes:
        embedder: the embedder whose vectors it was trained on (another one's are refused).
        data_sha256: SHA-256 of the training data and parameters it was fitted on.
        intents: the intents, in the order of ``intent_weights``' rows.
        support_vectors: the SVM's support vectors, one unit vector per row.
        dual_coef: their coefficients (label times Lagrange multiplier).
        intercept: the SVM's bias.
        gamma: the RBF kernel's width.
        platt: (a, b) of P(risky) = 1 / (1 + exp(a * decision + b)).
        threshold: the probability at or above which a part shows a risky intent.
        intent_weights: the intent regression's weights, one row per intent.
        intent_bias: its bias per intent.
        min_part_words: the shortest clause scored alone when it was calibrated.
        splitting: the version of the text cutting its parts came from
            (``graph/screening/check.py``'s ``SPLITTING``; 1 in files that predate it).
        cross_validation: out-of-fold figures on the training data at ``threshold``.

    """

    embedder: str
    data_sha256: str
    intents: tuple[IntentLabel, ...]
    support_vectors: np.ndarray
    dual_coef: np.ndarray
    intercept: float
    gamma: float
    platt: tuple[float, float]
    threshold: float
    intent_weights: np.ndarray
    intent_bias: np.ndarray
    min_part_words: int
    splitting: int = 1
    cross_validation: dict[str, Any] = field(default_factory=dict)

    def decision(self, vectors: np.ndarray) -> np.ndarray:
        """Return the SVM's decision value for each row of ``vectors`` (> 0 leans risky)."""
        vectors = np.asarray(vectors, dtype=np.float64)
        support = self.support_vectors.astype(np.float64)
        # |x - s|^2 = |x|^2 + |s|^2 - 2 x.s, computed whole, clipped against rounding below 0
        squared = (
            (vectors**2).sum(axis=1)[:, None]
            + (support**2).sum(axis=1)[None, :]
            - 2.0 * vectors @ support.T
        )
        kernel = np.exp(-self.gamma * np.clip(squared, 0.0, None))
        return kernel @ self.dual_coef + self.intercept

    def risk(self, vectors: np.ndarray) -> np.ndarray:
        """Return the calibrated probability that each row states a risky intent."""
        a, b = self.platt
        return 1.0 / (1.0 + np.exp(a * self.decision(vectors) + b))

    def intent(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return each row's likeliest intent (an index into ``intents``) and its probability."""
        logits = np.asarray(vectors, dtype=np.float64) @ self.intent_weights.T + self.intent_bias
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        odds /= odds.sum(axis=1, keepdims=True)
        return odds.argmax(axis=1), odds.max(axis=1)

    def header(self) -> dict[str, Any]:
        """Return everything but the arrays, as written to the file's JSON header."""
        return {
            "format": FORMAT,
            "embedder": self.embedder,
            "data_sha256": self.data_sha256,
            "intents": [
                {"id": i.id, "factor": i.factor, "level": i.level.value} for i in self.intents
            ],
            "intercept": self.intercept,
            "gamma": self.gamma,
            "platt": list(self.platt),
            "threshold": self.threshold,
            "min_part_words": self.min_part_words,
            "splitting": self.splitting,
            "cross_validation": self.cross_validation,
        }

    def save(self, path: Path) -> None:
        """Write the model as an ``.npz`` (arrays and a JSON header), the same bytes each time."""
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        arrays["header"] = np.array(json.dumps(self.header(), sort_keys=True, indent=1))
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays.items():
                member = zipfile.ZipInfo(f"{name}.npy", date_time=_STAMP)
                member.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(member, "w") as out:
                    np.lib.format.write_array(out, np.ascontiguousarray(array), allow_pickle=False)

    @classmethod
    def load(cls, path: Path) -> ScreeningModel:
        """Read a model written by ``save``; refuse another format or inconsistent arrays."""
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"].item()))
            arrays = {name: np.array(data[name]) for name in _ARRAYS}
        if header.get("format") != FORMAT:
            raise ValueError(f"{path.name}: format {header.get('format')!r}, expected {FORMAT}")
        intents = tuple(
            IntentLabel(i["id"], i["factor"], Risk(i["level"])) for i in header["intents"]
        )
        model = cls(
            embedder=header["embedder"],
            data_sha256=header["data_sha256"],
            intents=intents,
            intercept=float(header["intercept"]),
            gamma=float(header["gamma"]),
            platt=(float(header["platt"][0]), float(header["platt"][1])),
            threshold=float(header["threshold"]),
            min_part_words=int(header["min_part_words"]),
            splitting=int(header.get("splitting", 1)),
            cross_validation=header["cross_validation"],
            **arrays,
        )
        model.check()
        return model

    def check(self) -> None:
        """Refuse arrays whose shapes disagree or values that cannot be a fitted model."""
        support, dims = self.support_vectors.shape
        problems = []
        if self.dual_coef.shape != (support,):
            problems.append(f"dual_coef {self.dual_coef.shape} for {support} support vectors")
        if self.intent_weights.shape != (len(self.intents), dims):
            problems.append(f"intent_weights {self.intent_weights.shape}")
        if self.intent_bias.shape != (len(self.intents),):
            problems.append(f"intent_bias {self.intent_bias.shape}")
        if not 0.0 < self.threshold < 1.0 or self.gamma <= 0.0:
            problems.append(f"threshold {self.threshold}, gamma {self.gamma}")
        if problems:
            raise ValueError("inconsistent screening model: " + "; ".join(problems))


def model_path(path: Path | None) -> Path:
    """Return the model file to read: ``path``, or the packaged one."""
    return path if path is not None else Path(str(files("devfactory.config") / PACKAGED))


@lru_cache(maxsize=4)
def _cached(path: Path, mtime_ns: int, size: int) -> ScreeningModel:
    return ScreeningModel.load(path)


def load_model(path: Path | None = None) -> ScreeningModel:
    """Return the model at ``path`` (or the packaged one), read once per version of the file."""
    found = model_path(path)
    stat = found.stat()
    return _cached(found, stat.st_mtime_ns, stat.st_size)
