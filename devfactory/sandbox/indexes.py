"""Where an install's packages come from: uv's index variables, read as the sandbox needs them.

uv is told where to look by the factory's environment (``UV_DEFAULT_INDEX``
and the others in ``INDEX_VARIABLES``; its configuration files are off).
The install's sandbox has no network of its own, so each location becomes
either a local folder mounted read-only or a remote endpoint (host and port)
that the index proxy (``index_proxy``) may carry connections to, and nothing
else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

Endpoint = tuple[str, int]

INDEX_VARIABLES: Final = (
    "UV_DEFAULT_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_INDEX",
    "UV_FIND_LINKS",
)
"""uv's variables that say where packages come from (``index_sources`` reads them)."""
DEFAULT_INDEX: Final = "https://pypi.org/simple"
"""uv's index when no variable names one."""
INDEX_FILES: Final = {"pypi.org": "files.pythonhosted.org"}
"""Where an index's own files are served from, when that is another host."""
PORTS: Final = {"http": 80, "https": 443}


@dataclass(frozen=True)
class IndexSources:
    """Where an install finds packages: remote endpoints (via the proxy) and local folders.

    Attributes:
        remote: the (host, port) pairs of the remote indexes and of the
            hosts their files are served from; hosts in lower case, an
            address without brackets.
        local: folders mounted read-only into the sandbox: a ``file://``
            index's folder (the one above ``simple/``, where a PEP 503
            mirror keeps its files) and each find-links folder.

    """

    remote: frozenset[Endpoint] = frozenset()
    local: tuple[Path, ...] = ()


def index_sources(environ: Mapping[str, str], extra_hosts: Sequence[str] = ()) -> IndexSources:
    """Read where uv will look for packages from its variables; add ``extra_hosts``.

    ``UV_DEFAULT_INDEX`` or ``UV_INDEX_URL`` (default: PyPI),
    ``UV_EXTRA_INDEX_URL`` and ``UV_INDEX`` (space-separated, each maybe
    ``name=url``), ``UV_FIND_LINKS`` (comma-separated). Raises ValueError
    for a location that is neither ``https://``, ``http://``, ``file://``
    nor an absolute folder: the install could not reach it.
    """
    default = [environ[n] for n in ("UV_DEFAULT_INDEX", "UV_INDEX_URL") if environ.get(n)]
    locations = [(url, True) for url in (default or [DEFAULT_INDEX])]
    for name in ("UV_EXTRA_INDEX_URL", "UV_INDEX"):
        for item in environ.get(name, "").split():
            named, _, url = item.partition("=")
            has_name = bool(url) and "/" not in named and ":" not in named
            locations.append((url if has_name else item, True))
    locations += [(item.strip(), False) for item in environ.get("UV_FIND_LINKS", "").split(",")]
    remote: set[Endpoint] = set()
    local: list[Path] = []
    for location, is_index in locations:
        if not location:
            continue
        parts = urlsplit(location)
        if parts.scheme in PORTS:
            host = host_key(parts.hostname or "")
            remote.add((host, parts.port or PORTS[parts.scheme]))
            if host in INDEX_FILES:
                remote.add((INDEX_FILES[host], PORTS["https"]))
            continue
        if parts.scheme == "file" or (not parts.scheme and location.startswith("/")):
            folder = Path(unquote(parts.path)).resolve()
            if is_index and folder.name == "simple":
                folder = folder.parent  # a PEP 503 mirror links its files from beside simple/
            if len(folder.parts) < 2 or not folder.is_dir():
                raise ValueError(
                    f"the local index {location!r} is not a folder the install may read"
                )
            local.append(folder)
            continue
        raise ValueError(
            f"the index {location!r} is not https://, http://, file:// or an absolute folder"
        )
    remote.update(parse_hosts(extra_hosts))
    return IndexSources(frozenset(remote), tuple(dict.fromkeys(local)))


def parse_hosts(entries: Iterable[str]) -> set[Endpoint]:
    """Read ``host`` or ``host:port`` entries (port 443 when none); ValueError for a bad one."""
    found: set[Endpoint] = set()
    for entry in entries:
        parts = urlsplit(f"//{entry.strip()}")
        try:
            port = parts.port or PORTS["https"]
        except ValueError:
            raise ValueError(f"{entry!r} has no valid port") from None
        if parts.path or parts.query or parts.username or not parts.hostname:
            raise ValueError(f"{entry!r} is not host or host:port")
        found.add((host_key(parts.hostname), port))
    return found


def host_key(text: str) -> str:
    """Return a host as the proxy compares it: lower case, no trailing dot or brackets."""
    host = text.strip().strip("[]").lower().rstrip(".")
    if not host or any(c.isspace() or c in "/@?#\\" for c in host):
        raise ValueError(f"{text!r} is not a host name or address")
    return host
