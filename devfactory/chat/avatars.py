"""Each speaker's avatar in the chat: drawn here, served from the app root's ``public/avatars``.

Chainlit shows a message's author as an avatar (its name in the avatar's
tooltip) and fetches it from ``/avatars/<author>``, which serves
``public/avatars/<id>.*`` (``avatar_id``) or else the app's icon, the same for
everyone. ``write_avatars`` draws one for every team and the moderator: a disc in
a colour of its own with the speaker's initials, as SVG (no image library, no
outside host). Chainlit's route takes only letters, digits, ``_``, ``.``, ``-``
and spaces, so a team named with ``/`` or ``&`` speaks as ``author_name``'s
spelling of it.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from devfactory.teams import load_teams

MODERATOR = "Moderator"
_ROUTABLE = re.compile(r"^[a-zA-Z0-9_ .-]+$")  # what Chainlit's /avatars/{id} route accepts


def author_name(name: str) -> str:
    """Return ``name`` as an author Chainlit can fetch an avatar for (``/`` and ``&`` spelt out)."""
    spelt = re.sub(r"\s*&\s*", " and ", name)
    spelt = re.sub(r"\s*/\s*", " - ", spelt)
    return re.sub(r"[^a-zA-Z0-9_ .-]", "", spelt).strip() or "speaker"


def avatar_id(author: str) -> str:
    """Return the file name (without suffix) Chainlit looks up for ``author``'s avatar."""
    if not _ROUTABLE.match(author):
        raise ValueError(f"Chainlit cannot serve an avatar for {author!r}; use author_name()")
    return author.strip().lower().replace(" ", "_").replace(".", "_")


def initials(name: str) -> str:
    """Return up to two initials of ``name`` ("Backend Engineering" -> "BE")."""
    words = [w for w in re.split(r"[\s/&-]+", name) if w and w[0].isalnum()]
    return "".join(w[0].upper() for w in words[:2]) or "?"


def avatar_svg(name: str, hue: int) -> str:
    """Draw ``name``'s avatar: its initials on a disc of ``hue``."""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
        f'<circle cx="32" cy="32" r="32" fill="hsl({hue}, 55%, 42%)"/>'
        '<text x="32" y="32" dy=".35em" text-anchor="middle" fill="#fff" '
        'font-family="Inter, Arial, sans-serif" font-size="26" font-weight="700">'
        f"{escape(initials(name))}</text></svg>"
    )


def speakers() -> list[str]:
    """Return every author that speaks in the chat, as ``author_name`` spells it."""
    names = sorted(spec.name for spec in load_teams().values())
    return [author_name(name) for name in [*names, MODERATOR]]


def write_avatars(folder: Path) -> dict[str, Path]:
    """Write every speaker's avatar into ``folder``, each in a hue of its own; return them."""
    folder.mkdir(parents=True, exist_ok=True)
    authors = speakers()
    written = {}
    for n, author in enumerate(authors):
        path = folder / f"{avatar_id(author)}.svg"
        path.write_text(avatar_svg(author, n * 360 // len(authors)), "utf-8")
        written[author] = path
    return written
