"""Chainlit's page without outside hosts: fonts and KaTeX's stylesheet served by the chat.

Chainlit's ``index.html`` links Google Fonts (Inter) and KaTeX's stylesheet on
jsDelivr, so every visit would tell those hosts and the page would break
offline. ``build`` writes a copy of Chainlit's frontend into the app root
(``[UI] custom_build`` in our Chainlit config points there) whose page links the
copies in ``chat/static`` instead, served from Chainlit's ``/public`` folder.
The page's scripts and styles are Chainlit's own (``assets`` is a link to
them). If a Chainlit upgrade adds another outside reference, ``localize``
refuses rather than serve it.

``build`` also writes Chainlit's translations into the app root's
``.chainlit/translations`` (Chainlit copies its own only where one is missing)
with the sign-in form asking for a user name, which is what the chat signs in
with, not an email address, and saying why a sign-in was refused (``signin_messages.py``).
And it draws each speaker's avatar (``avatars.py``).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from devfactory.chat.avatars import write_avatars
from devfactory.chat.signin_messages import with_refusals

BUILD = "frontend"  # under the app root; the config's custom_build names it
PUBLIC = "devfactory"  # under the app root's public/, served at /public/devfactory/
FONTS = f'<link rel="stylesheet" href="/public/{PUBLIC}/inter/inter.css" />'
KATEX = f'<link rel="stylesheet" href="/public/{PUBLIC}/katex/katex.min.css" />'
_PRECONNECT = re.compile(r'\s*<link\s+rel="preconnect"[^>]*>', re.I)
_FONT_BLOCK = re.compile(r"(<!-- FONT START -->).*?(<!-- FONT END -->)", re.S)
_KATEX = re.compile(r'<link\s+rel="stylesheet"\s+href="https://[^"]*/katex[^"]*\.css"\s*/?>', re.I)
# The sign-in form's first field (Chainlit calls it "email"): the chat signs in by user name.
USER_NAME = {
    "label": "User name",
    "placeholder": "your user name",
    "required": "user name is a required field",
}
_OUTSIDE = re.compile(r'(?:href|src)\s*=\s*["\']?(?:[a-z][a-z0-9+.-]*:)?//', re.I)


class FrontendError(RuntimeError):
    """Chainlit's page refers to an outside host we do not know how to replace."""


def chainlit_package() -> Path:
    """Return Chainlit's package folder (found without importing chainlit)."""
    spec = importlib.util.find_spec("chainlit")
    if spec is None or not spec.submodule_search_locations:
        raise FrontendError("chainlit is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def chainlit_dist() -> Path:
    """Return Chainlit's built frontend."""
    return chainlit_package() / "frontend" / "dist"


def signs_in_by_name(translation: dict[str, Any]) -> dict[str, Any]:
    """Return a Chainlit translation whose sign-in form asks for a user name, not an email."""
    form = translation.get("auth", {}).get("login", {}).get("form", {})
    if "email" in form:
        form["email"] = {**form["email"], **USER_NAME}
    return translation


def write_translations(root: Path) -> Path:
    """Write Chainlit's translations, signing in by user name, under the app ``root``.

    Each also says why a sign-in was refused (``signin.with_refusals``).
    """
    out = root / ".chainlit" / "translations"
    out.mkdir(parents=True, exist_ok=True)
    for source in sorted((chainlit_package() / "translations").glob("*.json")):
        translation = with_refusals(signs_in_by_name(json.loads(source.read_text("utf-8"))))
        (out / source.name).write_text(json.dumps(translation, indent=4, ensure_ascii=False))
    return out


def localize(html: str) -> str:
    """Return Chainlit's page with the fonts and KaTeX's stylesheet served by the chat.

    Raises:
        FrontendError: if the page still refers to an outside host afterwards.

    """
    html = _PRECONNECT.sub("", html)
    html, fonts = _FONT_BLOCK.subn(rf"\1\n    {FONTS}\n    \2", html)
    html, katex = _KATEX.subn(KATEX, html)
    outside = _OUTSIDE.findall(html)
    if fonts != 1 or katex != 1 or outside:
        raise FrontendError(
            "Chainlit's index.html changed: cannot serve it without outside hosts "
            f"(fonts replaced {fonts}, KaTeX replaced {katex}, outside references {outside})"
        )
    return html


def build(root: Path) -> Path:
    """Write the localized frontend and our static files under the app ``root``; return it."""
    dist = chainlit_dist()
    out = root / BUILD
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text(localize((dist / "index.html").read_text("utf-8")), "utf-8")
    for name in ("favicon.svg", "logo_dark.svg", "logo_light.svg"):
        if (dist / name).exists():
            shutil.copyfile(dist / name, out / name)
    assets = out / "assets"
    if assets.is_symlink() and assets.resolve() != (dist / "assets").resolve():
        assets.unlink()  # Chainlit moved (an upgrade): link the new one
    if not assets.exists():
        assets.symlink_to(dist / "assets", target_is_directory=True)
    public = root / "public" / PUBLIC
    with as_file(files("devfactory.chat") / "static") as static:
        shutil.copytree(static, public, dirs_exist_ok=True)
    write_translations(root)
    write_avatars(root / "public" / "avatars")
    return out
