"""``embed`` for Studio's store index (``store.index.embed`` in ``langgraph.json``).

The server's store indexes what is put in it with the factory's own embedded
MiniLM (384 dimensions, no server), so Studio's store searches by meaning
offline, as the factory's memory does. Why the module is named ``py``: see the
package's docstring.
"""

from __future__ import annotations

from collections.abc import Sequence

from devfactory.models.embeddings import embedded_minilm


def embed(texts: Sequence[str]) -> list[list[float]]:
    """Embed texts for the server's store index (with the process's one MiniLM)."""
    return embedded_minilm().embed(list(texts))
