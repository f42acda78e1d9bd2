"""Where git may connect for a run's repository: the host policy, checked and pinned.

A repository URL names a host, and a host name is only a promise: it can
resolve to the factory's own loopback, a cloud's metadata address or a private
network, and an HTTP server can redirect git anywhere. So a remote source goes
through three steps before git connects, and pushes back to it go through the
same three:

1. ``remote_of`` reads the URL strictly (the shapes git and curl read alike:
   ``https://``, ``http://``, ``ssh://``, ``user@host:path``) and rebuilds it
   from its checked parts, so git is handed exactly what was checked.
   ``git://`` is refused: it is neither authenticated nor encrypted, and
   anything listening on a port answers it.
2. ``HostPolicy.check_host`` takes the host only if the ``repo_allowed_hosts``
   setting lists it: by name (``github.com``), by pattern (``*.example.com``,
   or ``*`` for any name) or, for an address in the URL, by address or CIDR.
   No name is resolved here, so a request can check it without any network.
3. ``HostPolicy.pin`` (in the worker that clones, never in a request)
   resolves the name, checks every address it has, and returns the ``Pin``:
   git is then held to the one checked address (curl's resolve list for
   http(s), ssh's ``HostName`` with the name kept for its host key) and
   follows no redirect. Loopback, link-local, private, shared, multicast,
   unspecified and reserved addresses (an IPv4 address inside an IPv6 one
   too) are refused unless the policy lists them by address or CIDR.

Every refusal is a ``RemoteRefusedError`` that says why in words safe to show
the person who asked: the policy and the address, never anything the host said.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from devfactory.sandbox import index_proxy
from devfactory.sandbox.index_proxy import IPAddress, IPNetwork, embedded_ipv4

Resolver = Callable[[str, int, float], list[IPAddress]]

SCHEMES: Final = frozenset({"http", "https", "ssh"})
"""The remote transports a run's repository may use."""
PORTS: Final = {"http": 80, "https": 443, "ssh": 22}
MAX_ENTRIES: Final = 200
"""The most entries ``repo_allowed_hosts`` may hold."""

_URL = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://"
    r"(?:(?P<userinfo>[A-Za-z0-9._~!$&'()*+,;=:%-]*)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>/[^\s?#\\]*)$",
    re.ASCII,
)
_SCP = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):"
    r"(?P<path>[^\s?#\\]+)$",
    re.ASCII,
)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.ASCII)


class RemoteRefusedError(ValueError):
    """A remote repository the host policy refuses, or a URL it cannot read (said safely)."""


@dataclass(frozen=True)
class Remote:
    """A remote repository's URL as checked: its transport, host and port, and the URL itself.

    Attributes:
        scheme: ``http``, ``https`` or ``ssh`` (an scp-like ``user@host:path`` is ssh).
        host: the host name in lower case, or an address without brackets.
        port: the port git connects to (the scheme's own when the URL names none).
        url: the URL rebuilt from its checked parts: what git is given.

    """

    scheme: str
    host: str
    port: int
    url: str

    @property
    def address(self) -> IPAddress | None:
        """The address the URL names instead of a host name (None: it names a host)."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


@dataclass(frozen=True)
class Pin:
    """A remote held to one checked address: the git options and ssh command that do it."""

    remote: Remote
    address: IPAddress

    def git_options(self) -> list[str]:
        """Return git's ``-c`` options: no redirect, no proxy, the host resolved as checked."""
        options = ["-c", "http.followRedirects=false", "-c", "http.proxy="]
        if self.remote.scheme in ("http", "https") and self.remote.address is None:
            shown = f"[{self.address}]" if self.address.version == 6 else str(self.address)
            where = f"{self.remote.host}:{self.remote.port}:{shown}"
            options += ["-c", f"http.curloptResolve={where}"]
        return options

    def ssh_command(self) -> str:
        """Return ``GIT_SSH_COMMAND``: ssh to the checked address, the host's key by its name.

        No user configuration (``-F /dev/null``: a ``ProxyCommand`` there would
        connect elsewhere), no proxy, no prompt, and an unknown host key is refused.
        Every value is a checked host name or address, so the shell git runs it
        with sees no metacharacter.
        """
        return " ".join(
            [
                "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes",
                f"-o HostName={self.address} -o HostKeyAlias={self.remote.host}",
                "-o CheckHostIP=no -o UpdateHostKeys=no -o ProxyCommand=none",
                "-o ProxyJump=none -o ControlMaster=no -o ControlPath=none",
                "-o PermitLocalCommand=no -o ForwardAgent=no -o ForwardX11=no",
            ]
        )


def _host(text: str) -> str:
    """Return a URL's host checked: an address (brackets dropped) or a DNS name in lower case."""
    if text.startswith("["):
        try:
            return str(ipaddress.IPv6Address(text[1:-1]))
        except ValueError:
            raise RemoteRefusedError(f"{text!r} is not an IPv6 address") from None
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        pass
    name = text.lower()
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise RemoteRefusedError(f"{text!r} is not a host name")
    if not re.search(r"[a-z]", labels[-1]):
        raise RemoteRefusedError(f"{text!r} is not a host name (an address is written a.b.c.d)")
    try:  # a legacy address form the C library still reads (0x7f000001, 2130706433)
        socket.inet_aton(name)
    except OSError:
        return name
    raise RemoteRefusedError(f"{text!r} reads as an address: write it as a.b.c.d")


def remote_of(source: str) -> Remote:
    """Read a remote repository's URL strictly; raise ``RemoteRefusedError`` when it is not one.

    Only the shapes that git, curl and ssh read the same way are taken: no
    query, fragment, backslash or space, at most one ``@`` (in the user part),
    a host name or an address. The URL given to git is rebuilt from these parts.
    """
    found = _URL.match(source)
    if found:
        scheme = found["scheme"].lower()
        if scheme == "git":
            raise RemoteRefusedError(
                "git:// is refused: it is neither authenticated nor encrypted; use https or ssh"
            )
        if scheme not in SCHEMES:
            raise RemoteRefusedError(f"the scheme {scheme!r} is not https, http or ssh")
        host = _host(found["host"])
        port = int(found["port"]) if found["port"] else PORTS[scheme]
        if not 0 < port < 65536:
            raise RemoteRefusedError(f"the port {port} is not a port")
        shown_host = f"[{host}]" if ":" in host else host
        userinfo = f"{found['userinfo']}@" if found["userinfo"] is not None else ""
        explicit = f":{port}" if found["port"] else ""
        url = f"{scheme}://{userinfo}{shown_host}{explicit}{found['path']}"
        return Remote(scheme, host, port, url)
    found = _SCP.match(source)
    if found and "://" not in source:
        host = _host(found["host"])
        user = f"{found['user']}@" if found["user"] else ""
        shown_host = f"[{host}]" if ":" in host else host
        return Remote("ssh", host, PORTS["ssh"], f"{user}{shown_host}:{found['path']}")
    raise RemoteRefusedError(
        "the repository's URL is not one the factory reads (https://host/path, "
        "ssh://user@host/path or user@host:path, without query, fragment or spaces)"
    )


def special_kind(address: IPAddress) -> str:
    """Name what makes ``address`` one git may not reach unlisted ("" for a public address)."""
    inner = embedded_ipv4(address)
    if inner is not None and (kind := special_kind(inner)):
        return kind
    for test, kind in (
        ("is_unspecified", "an unspecified"),
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local"),
        ("is_multicast", "a multicast"),
        ("is_reserved", "a reserved"),
        ("is_private", "a private"),
    ):
        if getattr(address, test):
            return kind
    return "" if address.is_global else "a non-public"


def _plain(address: IPAddress) -> IPAddress:
    """Return an IPv4-mapped IPv6 address as the IPv4 address it is; others as they are."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def system_resolver(host: str, port: int, timeout: float) -> list[IPAddress]:
    """Resolve ``host`` with the C library, giving up after ``timeout`` seconds.

    ``getaddrinfo`` has no timeout of its own: it runs on a daemon thread that is
    left to finish alone when the time is up.
    """
    found: list[IPAddress] = []
    failed: list[str] = []

    def lookup() -> None:
        try:
            found.extend(index_proxy.system_resolver(host, port))
        except OSError as exc:
            failed.append(exc.strerror or type(exc).__name__)

    worker = threading.Thread(target=lookup, name=f"resolve-{host}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise RemoteRefusedError(f"the host name {host} did not resolve within {timeout:g} s")
    if failed or not found:
        raise RemoteRefusedError(f"the host name {host} does not resolve")
    return found


@dataclass(frozen=True)
class HostPolicy:
    """The hosts a run's repository may be on: names, name patterns, addresses and networks.

    An empty policy allows no remote host at all (local paths have their own
    rule, ``repo_local_roots``).
    """

    names: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Sequence[str]) -> HostPolicy:
        """Read ``repo_allowed_hosts``: each entry a name, ``*.suffix``, ``*``, an address or CIDR.

        Raises ``ValueError`` naming the first entry that is none of these.
        """
        if len(entries) > MAX_ENTRIES:
            raise ValueError(f"repo_allowed_hosts holds more than {MAX_ENTRIES} entries")
        names: list[str] = []
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            try:
                networks.append(ipaddress.ip_network(entry, strict=True))
                continue
            except ValueError as exc:
                if "/" in entry or entry.startswith("["):
                    why = f"repo_allowed_hosts: {raw!r} is not a network: {exc}"
                    raise ValueError(why) from None
            if entry != "*":
                try:
                    _host(entry[2:] if entry.startswith("*.") else entry)
                except RemoteRefusedError as exc:
                    raise ValueError(f"repo_allowed_hosts: {raw!r}: {exc}") from None
            names.append(entry)
        return cls(tuple(names), tuple(networks))

    def listed(self, address: IPAddress) -> bool:
        """Say whether the policy lists ``address`` itself (by address or by CIDR)."""
        plain = _plain(address)
        return any(plain.version == net.version and plain in net for net in self.networks)

    def allows_name(self, host: str) -> bool:
        """Say whether the host name ``host`` is listed, by name or by pattern."""
        for entry in self.names:
            if entry == "*" or entry == host:
                return True
            if entry.startswith("*.") and host.endswith(entry[1:]):
                return True
        return False

    def check_host(self, remote: Remote) -> Remote:
        """Refuse a remote whose host the policy does not list; no name is resolved here."""
        address = remote.address
        if address is not None:
            if not self.listed(address):
                raise RemoteRefusedError(
                    f"the address {_plain(address)} is not listed in repo_allowed_hosts"
                )
            return remote
        if not self.names and not self.networks:
            raise RemoteRefusedError(
                "no remote host is allowed (the repo_allowed_hosts setting is empty)"
            )
        if not self.allows_name(remote.host):
            raise RemoteRefusedError(f"the host {remote.host} is not listed in repo_allowed_hosts")
        return remote

    def check_address(self, host: str, address: IPAddress) -> None:
        """Refuse an address git would connect to that is special and not listed itself."""
        if self.listed(address):
            return
        kind = special_kind(address)
        if kind:
            plain = _plain(address)
            where = f"{host} resolves to {plain}" if host != str(address) else str(plain)
            raise RemoteRefusedError(
                f"{where}, {kind} address, which repo_allowed_hosts does not list"
            )

    def pin(self, remote: Remote, *, timeout: float, resolver: Resolver | None = None) -> Pin:
        """Resolve the remote's host, check every address it has, and hold git to the first.

        Every address must pass, not only the one chosen: a name that also
        resolves to a private address is refused whole. ``resolver``: the
        system's (``system_resolver``) unless given.
        """
        self.check_host(remote)
        literal = remote.address
        if literal is not None:
            addresses = [literal]
        else:
            addresses = (resolver or system_resolver)(remote.host, remote.port, timeout)
        for address in addresses:
            self.check_address(remote.host, address)
        return Pin(remote, addresses[0])
