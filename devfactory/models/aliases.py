"""The model aliases: what team specs and the factory name instead of models.

``config/models.yaml`` maps each alias to a chain of providers; the router
serves the first available one.
"""

from __future__ import annotations

CHAT_ALIASES = ("factory/architect", "factory/coder", "factory/fast", "factory/cheap")
EMBED_ALIAS = "local/embed"
