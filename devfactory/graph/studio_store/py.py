"""``embed`` for Studio's store index (``store.index.embed`` in ``langgraph.json``).

The server's store indexes what is put in it with the factory's own embedded
MiniLM (384 dimensions, no server), so Studio's store searches by meaning
offline, as the factory's memory does. Why the module is named ``py``: see the
package's docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from devfactory.models.embeddings import MiniLMEmbedder


@lru_cache(maxsize=1)
def _embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def embed(texts: Sequence[str]) -> list[list[float]]:
    """Embed texts for the server's store index."""
    return _embedder().embed(list(texts))
