"""The install step's one way out: a proxy that reaches the package index and nothing else.

Installing runs code a model chose (an sdist's build backend), so the
install's sandbox has no network of its own: a new network namespace with
only its own loopback, where the host's loopback services, abstract unix
sockets and link-local addresses do not exist. A local index (a ``file://``
URL or a find-links folder) is mounted read-only and needs nothing more
(``indexes``). A remote one is reached through ``IndexProxy``: it
listens on a unix socket in a private folder that is mounted into the
sandbox, where a relay (``drivers/index_relay.py``) turns it into a proxy
address on the sandbox's loopback for uv.

The proxy takes only a ``CONNECT host:port`` (uv's way to an ``https://``
index) or a plain request for an ``http://`` index, and only to the hosts
and ports of the configured indexes (``pypi.org`` and
``files.pythonhosted.org`` by default) and those the operator adds. It
resolves each name itself and connects only to an address outside the
ranges where the host's own and its network's services live (loopback,
link-local, private, shared, unspecified, multicast and reserved; an IPv4
address inside an IPv6 one too), unless the operator lists that range.
With an upstream proxy in the factory's environment (``HTTPS_PROXY``,
``NO_PROXY``) it tunnels through that one instead, which then resolves the
name. Everything is bounded: connections at once (more wait to be
accepted), bytes in all, a request's head, the time a connection may stay
idle. The ranges are listed here rather than taken from ``ipaddress``'s
``is_private``, whose documentation and benchmarking ranges hold no host's
service and are where some networks route the index.

Why one module: what a connection may reach (the refused ranges, the
upstream proxy) and the proxy that reads, checks and carries each
connection are one mechanism; cut apart, the check would sit away from the
only code that must call it before every connect.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import selectors
import socket
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from devfactory.sandbox.indexes import PORTS, Endpoint, host_key

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[IPAddress]]
Dialer = Callable[[str, int, float], socket.socket]

MAX_HEAD_BYTES: Final = 16 << 10
"""The longest request head (request line and headers) the proxy reads."""
MAX_REFUSALS: Final = 20
"""How many refusals a proxy remembers to report (the first ones)."""
SOCKET_NAME: Final = "proxy.sock"
_REFUSED: Final = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # unspecified ("this host")
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared (carrier-grade NAT; some clouds' metadata)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local (cloud metadata at 169.254.169.254)
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.168.0.0/16",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
        "::/96",  # unspecified, loopback, IPv4-compatible
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
# an IPv4 address carried inside an IPv6 one by a translation prefix (RFC 6052)
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_PROXY_VARIABLES: Final = {
    "http": ("http_proxy", "HTTP_PROXY"),
    "https": ("https_proxy", "HTTPS_PROXY"),
}


class ProxyRefusedError(Exception):
    """A request the proxy does not carry; ``status`` is the HTTP status it answers with."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


@dataclass(frozen=True)
class ProxyLimits:
    """What one install's proxy carries at most.

    ``connections`` at once (more wait in the listen queue, as uv's
    concurrent downloads do), ``total_bytes`` in both directions over all
    connections, ``idle_seconds`` without a byte either way before a
    connection is closed, ``connect_seconds`` to reach the index.
    """

    connections: int = 64
    total_bytes: int = 16 << 30
    idle_seconds: float = 120.0
    connect_seconds: float = 30.0


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Read address ranges (``10.0.0.0/8``, ``fd00::/8``, one address); ValueError for a bad one."""
    try:
        return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)
    except ValueError as exc:
        raise ValueError(f"not an address range: {exc}") from None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), or None."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refused_range(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> IPNetwork | None:
    """Return the refused range ``address`` is in (None: the install may reach it).

    An IPv4 address carried inside an IPv6 one (``embedded_ipv4``) is judged
    as that IPv4 address too. A range in ``allowed`` (the operator's) lets its
    addresses through.
    """
    candidates = [a for a in (embedded_ipv4(address), address) if a is not None]
    if any(c.version == net.version and c in net for c in candidates for net in allowed):
        return None
    for candidate in candidates:
        for net in _REFUSED:
            if candidate.version == net.version and candidate in net:
                return net
    return None


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` with the C library (an address resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def system_dialer(host: str, port: int, timeout: float) -> socket.socket:
    """Open a TCP connection to ``host``: a checked address, or the upstream proxy."""
    return socket.create_connection((host, port), timeout=timeout)


@dataclass(frozen=True)
class Upstream:
    """The factory's own proxy, through which the index is reached where it has one."""

    host: str
    port: int
    authorization: str = ""  # a Proxy-Authorization value, from the URL's user and password

    @classmethod
    def parse(cls, url: str) -> Upstream:
        """Read an ``http://[user:password@]host[:port]`` proxy URL; ValueError otherwise."""
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the upstream proxy must be an http:// URL, not {parts.scheme}://")
        auth = ""
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            auth = "Basic " + base64.b64encode(pair.encode()).decode()
        return cls(parts.hostname, parts.port or PORTS["http"], auth)


def upstream_for(scheme: str, host: str, environ: Mapping[str, str]) -> Upstream | None:
    """Return the proxy the factory's environment names for ``scheme``'s ``host`` (None: direct)."""
    url = next((environ[n] for n in _PROXY_VARIABLES[scheme] if environ.get(n)), "")
    url = url or environ.get("all_proxy", "") or environ.get("ALL_PROXY", "")
    if not url:
        return None
    bypass = environ.get("no_proxy", "") or environ.get("NO_PROXY", "")
    if _bypassed(host, bypass):
        return None
    return Upstream.parse(url)


def _bypassed(host: str, no_proxy: str) -> bool:
    """Say whether ``NO_PROXY`` names ``host``: ``*``, the host, or a domain above it."""
    for entry in no_proxy.split(","):
        name = entry.strip().lower()
        if name == "*":
            return True
        if name.count(":") == 1:  # host:port (an IPv6 address has more colons)
            name = name.partition(":")[0]
        name = name.strip("[]").lstrip(".")
        if name and (host == name or host.endswith(f".{name}")):
            return True
    return False


@dataclass
class _Request:
    """A request's head as the client sent it, and what it asks for."""

    scheme: str  # "https" for a CONNECT tunnel, "http" for a plain request
    host: str
    port: int
    head: bytes  # the whole head (CONNECT: not sent on)
    forward: bytes  # what goes to the index first: a plain request's head in origin form
    rest: bytes  # bytes the client sent after the head


@dataclass
class IndexProxy:
    """Carry an install's connections to its indexes' endpoints, and refuse all else.

    Use as a context manager: it listens on ``socket_path`` (in a fresh 0700
    folder, handed to ``owner``, the user the sandboxed code runs as) from
    entering until leaving. ``refusals`` names what it refused, the first
    ``MAX_REFUSALS``.
    """

    endpoints: frozenset[Endpoint]
    networks: tuple[IPNetwork, ...] = ()
    limits: ProxyLimits = field(default_factory=ProxyLimits)
    owner: tuple[int, int] | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    resolver: Resolver = system_resolver
    dialer: Dialer = system_dialer
    refusals: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.folder: Path | None = None
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(self.limits.connections)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self._spent = 0

    @property
    def socket_path(self) -> Path:
        """The unix socket it listens on (in its private folder)."""
        if self.folder is None:
            raise RuntimeError("the index proxy is not started")
        return self.folder / SOCKET_NAME

    def __enter__(self) -> IndexProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Make the private folder, listen on its socket, and start accepting."""
        self.folder = Path(tempfile.mkdtemp(prefix="devfactory-index-"))  # 0700
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.socket_path))
            self.socket_path.chmod(0o600)
            if self.owner is not None:
                for path in (self.folder, self.socket_path):
                    os.chown(path, *self.owner)
            listener.listen(self.limits.connections)
            listener.settimeout(0.2)
        except BaseException:
            listener.close()
            self._remove_folder()
            raise
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept, name="index-proxy", daemon=True)
        self._accepting.start()

    def close(self) -> None:
        """Stop accepting, end every connection, and remove the folder."""
        self._stopping.set()
        if self._accepting is not None:
            self._accepting.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            workers = list(self._workers)
        for worker in workers:
            worker.join(timeout=5)
        self._remove_folder()

    def _remove_folder(self) -> None:
        """Remove the private folder and its socket (nothing else is ever in it)."""
        if self.folder is not None:
            with contextlib.suppress(OSError):
                (self.folder / SOCKET_NAME).unlink(missing_ok=True)
                self.folder.rmdir()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue  # as many connections as allowed: the next ones wait in the queue
            try:
                conn, _ = self._listener.accept()
            except OSError:  # the accept timeout, or the listener closed
                self._slots.release()
                continue
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._workers.add(worker)
                self._open.add(conn)
            worker.start()

    def _serve(self, client: socket.socket) -> None:
        """Carry one connection: read its request, check it, then relay until either side ends."""
        server: socket.socket | None = None
        try:
            client.settimeout(self.limits.idle_seconds)
            try:
                request = _read_request(client)
                self._check(request)
                server = self._connect(request)
            except ProxyRefusedError as exc:
                self._refuse(client, exc)
                return
            server.settimeout(self.limits.idle_seconds)
            with self._lock:
                self._open.add(server)
            if request.scheme == "https":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if request.forward + request.rest:
                server.sendall(request.forward + request.rest)
            self._relay(client, server)
        except OSError:
            pass  # a side went away: nothing to answer
        finally:
            with self._lock:
                self._open.discard(client)
                if server is not None:
                    self._open.discard(server)
                self._workers.discard(threading.current_thread())
            client.close()
            if server is not None:
                server.close()
            self._slots.release()

    def _check(self, request: _Request) -> None:
        """Refuse a request for an endpoint that is not an index's (no name is resolved here)."""
        if (request.host, request.port) not in self.endpoints:
            raise ProxyRefusedError(403, f"{request.host}:{request.port} is not an index host")

    def _connect(self, request: _Request) -> socket.socket:
        """Open the way to the index: through the upstream proxy, or to a checked address."""
        upstream = upstream_for(request.scheme, request.host, self.environ)
        if upstream is not None:
            return self._through(upstream, request)
        try:
            addresses = [ipaddress.ip_address(request.host)]  # an address names itself
        except ValueError:
            try:
                addresses = self.resolver(request.host, request.port)
            except (OSError, UnicodeError):
                raise ProxyRefusedError(502, f"{request.host} does not resolve") from None
        allowed = [a for a in addresses if refused_range(a, self.networks) is None]
        if not allowed:
            shown = ", ".join(f"{a} (in {refused_range(a, self.networks)})" for a in addresses)
            raise ProxyRefusedError(
                403, f"{request.host} resolves only to addresses the install may not reach: {shown}"
            )
        for address in allowed:
            with contextlib.suppress(OSError):
                return self.dialer(str(address), request.port, self.limits.connect_seconds)
        raise ProxyRefusedError(502, f"{request.host}:{request.port} could not be reached")

    def _through(self, upstream: Upstream, request: _Request) -> socket.socket:
        """Open the way through the factory's own proxy (which resolves the name)."""
        auth = (
            f"Proxy-Authorization: {upstream.authorization}\r\n" if upstream.authorization else ""
        )
        try:
            conn = self.dialer(upstream.host, upstream.port, self.limits.connect_seconds)
        except OSError:
            raise ProxyRefusedError(502, "the upstream proxy could not be reached") from None
        try:
            if request.scheme == "http":  # a plain request goes on whole, in absolute form
                line, _, headers = request.head.partition(b"\r\n")
                request.forward = line + b"\r\n" + auth.encode() + headers
                return conn
            target = f"{_shown(request.host)}:{request.port}"
            conn.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{auth}\r\n".encode())
            answer = _read_head(conn)
            status = answer.split(b"\r\n", 1)[0].split()
            if len(status) < 2 or status[1] != b"200":
                raise ProxyRefusedError(502, "the upstream proxy refused the tunnel")
            return conn
        except (OSError, ProxyRefusedError) as exc:
            conn.close()
            if isinstance(exc, ProxyRefusedError):
                raise
            raise ProxyRefusedError(502, "the upstream proxy did not answer") from None

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        """Copy bytes both ways until both sides end, one idles too long, or the bytes run out."""
        peers = {client: server, server: client}
        with selectors.DefaultSelector() as selector:
            for conn in peers:
                selector.register(conn, selectors.EVENT_READ)
            while selector.get_map():
                ready = selector.select(timeout=self.limits.idle_seconds)
                if not ready or self._stopping.is_set():
                    return
                for key, _ in ready:
                    source = key.fileobj
                    assert isinstance(source, socket.socket)
                    chunk = source.recv(65536)
                    if not chunk:  # that side is done sending: pass it on, keep the other
                        selector.unregister(source)
                        with contextlib.suppress(OSError):
                            peers[source].shutdown(socket.SHUT_WR)
                        continue
                    if not self._spend(len(chunk)):
                        return
                    peers[source].sendall(chunk)

    def _spend(self, count: int) -> bool:
        """Count bytes carried; False (and a refusal noted) once the allowance is spent."""
        with self._lock:
            self._spent += count
            within = self._spent <= self.limits.total_bytes
        if not within:
            self._note(f"more than {self.limits.total_bytes} bytes")
        return within

    def _refuse(self, client: socket.socket, exc: ProxyRefusedError) -> None:
        self._note(str(exc))
        reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}.get(exc.status, "Error")
        body = f"{exc}\n".encode()
        head = f"HTTP/1.1 {exc.status} {reason}\r\nContent-Type: text/plain\r\n"
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        with contextlib.suppress(OSError):
            client.sendall(head.encode() + body)

    def _note(self, why: str) -> None:
        with self._lock:
            if len(self.refusals) < MAX_REFUSALS and why not in self.refusals:
                self.refusals.append(why)


def _shown(host: str) -> str:
    """Return ``host`` as a URL's authority writes it (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


def _read_head(conn: socket.socket) -> bytes:
    """Read up to the end of an HTTP head (bounded); the bytes after it are returned too."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD_BYTES:
            raise ProxyRefusedError(400, f"the request's head is over {MAX_HEAD_BYTES} bytes")
        chunk = conn.recv(4096)
        if not chunk:
            raise ProxyRefusedError(400, "the connection ended inside the request's head")
        data += chunk
    return data


def _read_request(client: socket.socket) -> _Request:
    """Read the client's request head: a CONNECT, or a plain request in absolute form."""
    data = _read_head(client)
    head, _, rest = data.partition(b"\r\n\r\n")
    head += b"\r\n\r\n"
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    words = line.split(" ")
    if len(words) != 3 or not words[2].startswith("HTTP/1."):
        raise ProxyRefusedError(400, "the request line is not METHOD TARGET HTTP/1.x")
    method, target, version = words
    if method == "CONNECT":
        parts = urlsplit(f"//{target}")
        scheme, forward = "https", b""
    elif target.lower().startswith("http://"):
        parts = urlsplit(target)
        path = parts.path or "/"
        origin = f"{path}?{parts.query}" if parts.query else path
        scheme = "http"
        forward = f"{method} {origin} {version}".encode("latin-1") + head[len(line) :]
    else:
        raise ProxyRefusedError(400, "only CONNECT and plain http:// requests are carried")
    try:
        port = parts.port or (PORTS[scheme] if scheme == "http" else 0)
        host = host_key(parts.hostname or "")
    except ValueError:
        port = 0
    if not port or parts.username is not None:
        raise ProxyRefusedError(400, f"the target {target[:100]!r} is not host:port")
    return _Request(scheme, host, port, head, forward, rest)
