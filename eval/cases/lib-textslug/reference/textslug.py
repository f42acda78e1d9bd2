"""Turn titles into URL slugs."""

from __future__ import annotations

import re
import unicodedata

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int = 80, separator: str = "-") -> str:
    """Return ``text`` as an ASCII slug of at most ``max_length`` characters."""
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = _NOT_ALNUM.split(ascii_text.lower().replace("'", ""))
    words = [word for word in words if word]
    if not words:
        return ""
    slug = words[0][:max_length]
    for word in words[1:]:
        longer = f"{slug}{separator}{word}"
        if len(longer) > max_length:
            break
        slug = longer
    return slug
