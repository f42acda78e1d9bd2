"""The install's index proxy: what it carries and what it refuses (issue 58 item 3).

Each proxy here listens on its real unix socket; the index behind it is a
local test server on a unix socket too, reached through the proxy's
``dialer`` (unit tests have no TCP), and names resolve through a table, so
every test sees which address the proxy was about to connect to, if any.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devfactory.sandbox import runner
from devfactory.sandbox.index_proxy import (
    MAX_HEAD_BYTES,
    IndexProxy,
    IPAddress,
    ProxyLimits,
    parse_networks,
    refused_range,
)
from devfactory.sandbox.indexes import INDEX_VARIABLES, index_sources, parse_hosts
from devfactory.sandbox.installer import RELAY, RELAY_FOLDER, install_environment
from devfactory.sandbox.isolation import Outcome
from devfactory.sandbox.runner import Sandbox

INDEX = ("index.test", 443)
PUBLIC = ipaddress.ip_address("203.0.113.7")


class IndexServer:
    """A server on a unix socket that records what each connection sent first, then echoes."""

    def __init__(self, path: Path, greeting: bytes = b"") -> None:
        self.path = path
        self.greeting = greeting  # sent back first (an upstream proxy's answer)
        self.received: list[bytes] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.echo, args=(conn,), daemon=True).start()

    def echo(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                first = conn.recv(65536)
                self.received.append(first)
                conn.sendall(self.greeting + (b"" if self.greeting else first))
                while chunk := conn.recv(65536):
                    conn.sendall(chunk)
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()


class Net:
    """The proxy's view of the network: a name table, and a dialer to the test server."""

    def __init__(self, server: IndexServer, names: dict[str, list[str]]) -> None:
        self.server = server
        self.names = names
        self.resolved: list[str] = []
        self.dialed: list[tuple[str, int]] = []

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.resolved.append(host)
        if host not in self.names:
            raise OSError(f"{host} does not resolve")
        return [ipaddress.ip_address(a) for a in self.names[host]]

    def dial(self, host: str, port: int, timeout: float) -> socket.socket:
        self.dialed.append((host, port))
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(str(self.server.path))
        return conn


@pytest.fixture
def server(tmp_path: Path) -> Iterator[IndexServer]:
    test_server = IndexServer(tmp_path / "index.sock")
    yield test_server
    test_server.close()


def make_proxy(
    net: Net,
    endpoints: set[tuple[str, int]] | None = None,
    *,
    networks: tuple[str, ...] = (),
    limits: ProxyLimits | None = None,
    environ: dict[str, str] | None = None,
) -> IndexProxy:
    return IndexProxy(
        frozenset(endpoints if endpoints is not None else {INDEX}),
        networks=parse_networks(networks),
        limits=limits or ProxyLimits(idle_seconds=5, connect_seconds=5),
        environ=environ or {},
        resolver=net.resolve,
        dialer=net.dial,
    )


def connect(proxy: IndexProxy) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    conn.connect(str(proxy.socket_path))
    return conn


def head_of(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def ask(proxy: IndexProxy, request: bytes) -> bytes:
    """Send one request; return the proxy's answer (its status line and body)."""
    with connect(proxy) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
        return answer


def test_a_connect_to_an_index_host_is_relayed(server: IndexServer) -> None:
    net = Net(server, {"index.test": [str(PUBLIC)]})
    with make_proxy(net) as proxy, connect(proxy) as conn:
        conn.sendall(b"CONNECT index.test:443 HTTP/1.1\r\nHost: index.test:443\r\n\r\n")
        assert head_of(conn).startswith(b"HTTP/1.1 200")
        conn.sendall(b"tls bytes")
        assert conn.recv(100) == b"tls bytes"
    assert net.dialed == [(str(PUBLIC), 443)]  # the checked address itself, not the name
    assert proxy.refusals == []


@pytest.mark.parametrize(
    "request_line",
    [
        b"CONNECT elsewhere.test:443 HTTP/1.1",  # not an index host
        b"CONNECT index.test:22 HTTP/1.1",  # an index host, another port
        b"CONNECT 127.0.0.1:5432 HTTP/1.1",  # the host's loopback (Postgres)
        b"CONNECT 169.254.169.254:80 HTTP/1.1",  # a cloud's metadata
        b"CONNECT [::1]:8000 HTTP/1.1",
        b"GET http://127.0.0.1:8000/health HTTP/1.1",  # a plain request to the API
        b"GET http://169.254.169.254/latest/meta-data/ HTTP/1.1",
    ],
)
def test_a_request_for_anything_but_an_index_host_is_refused_unresolved(
    server: IndexServer, request_line: bytes
) -> None:
    net = Net(server, {"index.test": [str(PUBLIC)], "elsewhere.test": [str(PUBLIC)]})
    with make_proxy(net) as proxy:
        answer = ask(proxy, request_line + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403") and b"is not an index host" in answer
    assert net.resolved == [] and net.dialed == []
    assert server.received == []
    assert proxy.refusals and "is not an index host" in proxy.refusals[0]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "169.254.169.254",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.100.100.200",  # shared address space: a cloud's metadata
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",  # IPv4 inside IPv6: judged as the IPv4 address
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_an_index_name_that_resolves_to_the_hosts_own_or_a_private_address_is_refused(
    server: IndexServer, address: str
) -> None:
    net = Net(server, {"index.test": [address]})
    with make_proxy(net) as proxy:
        answer = ask(proxy, b"CONNECT index.test:443 HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403") and b"may not reach" in answer
    assert net.dialed == [] and server.received == []


def test_of_an_index_names_addresses_only_the_reachable_ones_are_tried(server: IndexServer) -> None:
    net = Net(server, {"index.test": ["127.0.0.1", str(PUBLIC)]})
    with make_proxy(net) as proxy, connect(proxy) as conn:
        conn.sendall(b"CONNECT index.test:443 HTTP/1.1\r\n\r\n")
        assert head_of(conn).startswith(b"HTTP/1.1 200")
    assert net.dialed == [(str(PUBLIC), 443)]


def test_a_listed_network_and_host_let_a_local_index_through(server: IndexServer) -> None:
    """The allow list the settings give: a private index on the host's loopback."""
    net = Net(server, {})
    endpoints = {("127.0.0.1", 8443)}
    with make_proxy(net, endpoints, networks=("127.0.0.0/8",)) as proxy, connect(proxy) as conn:
        conn.sendall(b"CONNECT 127.0.0.1:8443 HTTP/1.1\r\n\r\n")
        assert head_of(conn).startswith(b"HTTP/1.1 200")
        conn.sendall(b"hello")
        assert conn.recv(100) == b"hello"
    assert net.dialed == [("127.0.0.1", 8443)]
    with make_proxy(Net(server, {}), endpoints) as unlisted:  # the host alone is not enough
        assert ask(unlisted, b"CONNECT 127.0.0.1:8443 HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 403")


def test_a_plain_request_to_an_http_index_goes_on_in_origin_form(server: IndexServer) -> None:
    net = Net(server, {"index.test": [str(PUBLIC)]})
    request = b"GET http://index.test/simple/six/ HTTP/1.1\r\nHost: index.test\r\n\r\n"
    with make_proxy(net, {("index.test", 80)}) as proxy, connect(proxy) as conn:
        conn.sendall(request)
        echoed = head_of(conn)
    assert echoed == b"GET /simple/six/ HTTP/1.1\r\nHost: index.test\r\n\r\n"
    assert net.dialed == [(str(PUBLIC), 80)]


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /simple/ HTTP/1.1\r\n\r\n",  # not a proxy request
        b"CONNECT index.test HTTP/1.1\r\n\r\n",  # no port
        b"CONNECT user@index.test:443 HTTP/1.1\r\n\r\n",
        b"GET ftp://index.test/ HTTP/1.1\r\n\r\n",
        b"CONNECT index.test:443 HTTP/1.1\r\nX: " + b"a" * (MAX_HEAD_BYTES + 10),
    ],
)
def test_a_malformed_request_is_refused(server: IndexServer, request_bytes: bytes) -> None:
    net = Net(server, {"index.test": [str(PUBLIC)]})
    with make_proxy(net) as proxy:
        assert ask(proxy, request_bytes).startswith(b"HTTP/1.1 400")
    assert net.dialed == []


def test_the_bytes_carried_are_bounded(server: IndexServer) -> None:
    net = Net(server, {"index.test": [str(PUBLIC)]})
    with make_proxy(net, limits=ProxyLimits(total_bytes=1000, idle_seconds=5)) as proxy:
        with connect(proxy) as conn:
            conn.sendall(b"CONNECT index.test:443 HTTP/1.1\r\n\r\n")
            assert head_of(conn).startswith(b"HTTP/1.1 200")
            conn.sendall(b"x" * 3000)
            echoed = b""
            with contextlib.suppress(OSError):  # ended once the allowance is spent
                while chunk := conn.recv(4096):
                    echoed += chunk
        assert len(echoed) < 3000
        assert any("more than 1000 bytes" in why for why in proxy.refusals)


def test_connections_at_once_are_bounded(server: IndexServer) -> None:
    net = Net(server, {"index.test": [str(PUBLIC)]})
    with make_proxy(net, limits=ProxyLimits(connections=1, idle_seconds=5)) as proxy:
        first = connect(proxy)
        first.sendall(b"CONNECT index.test:443 HTTP/1.1\r\n\r\n")
        assert head_of(first).startswith(b"HTTP/1.1 200")
        with connect(proxy) as second:  # queued, not served while the first is open
            second.sendall(b"CONNECT index.test:443 HTTP/1.1\r\n\r\n")
            second.settimeout(0.5)
            with pytest.raises(TimeoutError):
                second.recv(100)
            first.close()
            second.settimeout(10)
            assert head_of(second).startswith(b"HTTP/1.1 200")


def test_an_idle_tunnel_is_closed(server: IndexServer) -> None:
    net = Net(server, {"index.test": [str(PUBLIC)]})
    with make_proxy(net, limits=ProxyLimits(idle_seconds=0.3)) as proxy, connect(proxy) as conn:
        conn.sendall(b"CONNECT index.test:443 HTTP/1.1\r\n\r\n")
        head_of(conn)
        started = time.monotonic()
        assert conn.recv(100) == b""  # the proxy ended it
        assert time.monotonic() - started < 5


def test_an_upstream_proxy_carries_the_tunnel_with_its_credentials(tmp_path: Path) -> None:
    upstream = IndexServer(tmp_path / "upstream.sock", greeting=b"HTTP/1.1 200 OK\r\n\r\n")
    net = Net(upstream, {})
    environ = {"HTTPS_PROXY": "http://me:s%40cret@proxy.corp:3128", "NO_PROXY": "other.test"}
    try:
        with make_proxy(net, environ=environ) as proxy, connect(proxy) as conn:
            conn.sendall(b"CONNECT index.test:443 HTTP/1.1\r\n\r\n")
            assert head_of(conn).startswith(b"HTTP/1.1 200")
    finally:
        upstream.close()
    assert net.dialed == [("proxy.corp", 3128)] and net.resolved == []  # it resolves the name
    [sent] = upstream.received
    assert sent.startswith(b"CONNECT index.test:443 HTTP/1.1\r\n")
    assert b"Proxy-Authorization: Basic bWU6c0BjcmV0\r\n" in sent  # me:s@cret


def test_the_upstream_proxy_is_bypassed_for_no_proxy_hosts(server: IndexServer) -> None:
    net = Net(server, {"index.test": [str(PUBLIC)]})
    environ = {"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": ".test"}
    with make_proxy(net, environ=environ) as proxy, connect(proxy) as conn:
        conn.sendall(b"CONNECT index.test:443 HTTP/1.1\r\n\r\n")
        assert head_of(conn).startswith(b"HTTP/1.1 200")
    assert net.dialed == [(str(PUBLIC), 443)]


def test_its_socket_is_private_and_gone_after(server: IndexServer) -> None:
    proxy = make_proxy(Net(server, {}))
    with proxy:
        folder = proxy.socket_path.parent
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(proxy.socket_path.stat().st_mode) == 0o600
        assert stat.S_ISSOCK(proxy.socket_path.stat().st_mode)
    assert not folder.exists()


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("203.0.113.80", False),  # documentation ranges: no host's own service lives there
        ("151.101.0.223", False),
        ("2a04:4e42::223", False),
        ("127.0.0.53", True),
        ("169.254.169.254", True),
        ("::ffff:10.0.0.1", True),
        ("2002:a9fe:a9fe::1", True),  # 6to4 of 169.254.169.254
        ("ff02::1", True),
    ],
)
def test_refused_ranges(address: str, refused: bool) -> None:
    assert (refused_range(ipaddress.ip_address(address)) is not None) is refused
    everything = parse_networks(["::/0", "0.0.0.0/0"])
    assert refused_range(ipaddress.ip_address(address), everything) is None


def test_the_index_sources_follow_uvs_variables(tmp_path: Path) -> None:
    (tmp_path / "mirror" / "simple").mkdir(parents=True)
    (tmp_path / "wheels").mkdir()
    default = index_sources({})
    assert default.remote == {("pypi.org", 443), ("files.pythonhosted.org", 443)}
    assert default.local == ()
    found = index_sources(
        {
            "UV_DEFAULT_INDEX": f"file://{tmp_path}/mirror/simple",
            "UV_EXTRA_INDEX_URL": "https://user:pw@pkgs.example.com:8443/simple http://10.0.0.5/s",
            "UV_INDEX": "internal=https://Internal.Example.COM./simple",
            "UV_FIND_LINKS": f"{tmp_path}/wheels,https://wheels.example.org/list.html",
        },
        ["cdn.example.com", "files.example.com:8080"],
    )
    assert found.remote == {
        ("pkgs.example.com", 8443),
        ("10.0.0.5", 80),
        ("internal.example.com", 443),
        ("wheels.example.org", 443),
        ("cdn.example.com", 443),
        ("files.example.com", 8080),
    }
    root = tmp_path.resolve()
    assert found.local == (root / "mirror", root / "wheels")  # a mirror's files are beside simple/


@pytest.mark.parametrize(
    "environ",
    [
        {"UV_DEFAULT_INDEX": "ftp://index.example.com/simple"},
        {"UV_DEFAULT_INDEX": "file:///no/such/folder/simple"},
        {"UV_FIND_LINKS": "relative/folder"},
    ],
)
def test_an_index_the_install_cannot_use_is_an_error(environ: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        index_sources(environ)


@pytest.mark.parametrize("entry", ["a b", "host:notaport", "https://x/y", "user@host", ""])
def test_a_bad_extra_host_is_an_error(entry: str) -> None:
    with pytest.raises(ValueError):
        parse_hosts([entry])


# --- the installer's use of it ---------------------------------------------------------------


def installed_argvs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]
) -> list[list[str]]:
    """Run an install with bubblewrap's start faked; return each bubblewrap command line."""
    for name in INDEX_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    seen: list[list[str]] = []

    def fake_execute(argv: list[str], **_: object) -> Outcome:
        seen.append(list(argv))
        return Outcome(0, 0.1, "")

    monkeypatch.setattr(runner, "execute", fake_execute)
    monkeypatch.setattr(Sandbox, "check", lambda self: None)
    box = Sandbox(mode="bwrap", cache_dir=tmp_path / "cache")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert install_environment(box, ("six",), scratch).install.exit_code == 0
    return seen


def test_a_remote_index_is_reached_only_through_the_relay_and_the_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 58 item 3: neither install step shares the host's network."""
    venv, pip = installed_argvs(tmp_path, monkeypatch, {})
    for argv in (venv, pip):
        assert "--share-net" not in argv
        assert "--unshare-net" in argv or "--unshare-all" in argv
    command = pip[pip.index("--") + 1 :]
    relay = command.index(str(RELAY))
    assert command[relay + 1 : relay + 3] == [str(RELAY_FOLDER / "proxy.sock"), "--"]
    assert command[relay + 3].endswith("uv") and command[relay + 4 : relay + 6] == [
        "pip",
        "install",
    ]
    mounted = pip.index(str(RELAY_FOLDER))
    assert pip[mounted - 2] == "--ro-bind" and "devfactory-index-" in pip[mounted - 1]
    assert not Path(pip[mounted - 1]).exists()  # the proxy's folder is gone with the install
    assert str(RELAY) not in venv


def test_a_local_index_is_mounted_and_the_install_has_no_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 58 item 3: with a file:// index there is no proxy at all."""
    (tmp_path / "mirror" / "simple").mkdir(parents=True)
    environ = {"UV_DEFAULT_INDEX": f"file://{tmp_path}/mirror/simple", "HTTPS_PROXY": "http://p:1"}
    for argv in installed_argvs(tmp_path, monkeypatch, environ):
        assert "--share-net" not in argv and str(RELAY) not in argv
        mirror = str((tmp_path / "mirror").resolve())
        assert argv[argv.index(mirror) - 1 : argv.index(mirror) + 2] == [
            "--ro-bind",
            mirror,
            mirror,
        ]
        assert "HTTPS_PROXY" not in argv  # the factory's proxy stays outside
