"""The install step reaches the package index and nothing else (issue 58 item 3).

Real bubblewrap and uv install a local sdist whose build backend, while uv
builds it, tries the host: a TCP port on its loopback, an abstract unix
socket and a pathname one (and whether ``/proc/net/unix`` lists them), and
169.254.169.254:80; with a remote index configured, also the proxy it is
given, for the host's loopback, the metadata address and a plain request.
The backend writes what happened into the wheel it builds, so the installed
environment holds the report. The install must succeed from the local index
and none of those attempts may reach anything.
"""

from __future__ import annotations

import io
import json
import socket
import tarfile
import textwrap
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devfactory.sandbox.indexes import INDEX_VARIABLES
from devfactory.sandbox.installer import install_environment
from devfactory.sandbox.runner import Limits, Sandbox

NAME = "probe-pkg"
PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[project]
name = "probe-pkg"
version = "0.1"
"""
# the build backend: every attempt on the host is made while uv builds the wheel
BACKEND = """\
import base64, hashlib, json, os, socket, zipfile

TARGETS = json.loads(%r)


def attempt(family, address):
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(3)
    try:
        sock.connect(address)
        sock.sendall(b"build")
        return "connected"
    except OSError as exc:
        return type(exc).__name__ + ": " + str(exc)
    finally:
        sock.close()


def through(proxy, request):
    host, _, port = proxy.split("//")[-1].strip("/").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(request.encode())
            return sock.recv(200).decode("latin-1").split("\\r\\n")[0]
    except OSError as exc:
        return type(exc).__name__ + ": " + str(exc)


def probe():
    port = TARGETS["port"]
    report = {
        "tcp": attempt(socket.AF_INET, ("127.0.0.1", port)),
        "abstract": attempt(socket.AF_UNIX, "\\0" + TARGETS["abstract"]),
        "pathname": attempt(socket.AF_UNIX, TARGETS["pathname"]),
        "metadata": attempt(socket.AF_INET, ("169.254.169.254", 80)),
    }
    try:
        with open("/proc/net/unix") as listing:
            text = listing.read()
    except OSError:
        text = ""
    report["listed"] = [n for n in (TARGETS["abstract"], TARGETS["pathname"]) if n in text]
    proxy = os.environ.get("HTTPS_PROXY")
    if proxy:
        report["proxy"] = {
            "tcp": through(proxy, "CONNECT 127.0.0.1:%%d HTTP/1.1\\r\\n\\r\\n" %% port),
            "metadata": through(proxy, "CONNECT 169.254.169.254:80 HTTP/1.1\\r\\n\\r\\n"),
            "plain": through(proxy, "GET http://127.0.0.1:%%d/ HTTP/1.1\\r\\n\\r\\n" %% port),
        }
    return report


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {
        "probe_pkg/__init__.py": b"",
        "probe_pkg/report.json": json.dumps(probe()).encode(),
        "probe_pkg-0.1.dist-info/METADATA": (
            b"Metadata-Version: 2.1\\nName: probe-pkg\\nVersion: 0.1\\n"
        ),
        "probe_pkg-0.1.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\\nGenerator: probe\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%%s,sha256=%%s,%%d" %% (path, digest, len(data)))
    record.append("probe_pkg-0.1.dist-info/RECORD,,")
    files["probe_pkg-0.1.dist-info/RECORD"] = ("\\n".join(record) + "\\n").encode()
    name = "probe_pkg-0.1-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return name
"""


@dataclass
class HostSockets:
    """What the host offers and records: a loopback TCP port, an abstract and a pathname socket."""

    port: int
    abstract: str
    pathname: Path
    accepted: list[str] = field(default_factory=list)


def _record(server: socket.socket, what: str, accepted: list[str], stop: threading.Event) -> None:
    server.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = server.accept()
        except OSError:
            continue
        accepted.append(what)
        conn.close()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[HostSockets]:
    tcp = socket.create_server(("127.0.0.1", 0))
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    name = f"devfactory-probe-{uuid.uuid4().hex}"
    abstract.bind("\0" + name)
    pathname = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = tmp_path / "host.sock"  # like a database's socket in its own folder
    pathname.bind(str(path))
    path.chmod(0o777)
    found = HostSockets(tcp.getsockname()[1], name, path)
    stop = threading.Event()
    servers = ((tcp, "tcp"), (abstract, "abstract"), (pathname, "pathname"))
    threads = []
    for server, what in servers:
        server.listen()
        thread = threading.Thread(target=_record, args=(server, what, found.accepted, stop))
        thread.start()
        threads.append(thread)
    yield found
    stop.set()
    for thread in threads:
        thread.join(timeout=2)
    for server, _ in servers:
        server.close()


def write_index(root: Path, host: HostSockets) -> Path:
    """Write a PEP 503 index of one sdist (``root/simple``, files in ``root/files``)."""
    targets = {"port": host.port, "abstract": host.abstract, "pathname": str(host.pathname)}
    sources = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: probe-pkg\nVersion: 0.1\n",
        "pyproject.toml": PYPROJECT,
        "backend.py": BACKEND % json.dumps(targets),
    }
    files = root / "files"
    files.mkdir(parents=True)
    with tarfile.open(files / "probe_pkg-0.1.tar.gz", "w:gz") as sdist:
        for name, text in sources.items():
            data = text.encode()
            info = tarfile.TarInfo(f"probe_pkg-0.1/{name}")
            info.size = len(data)
            info.mode = 0o644
            sdist.addfile(info, io.BytesIO(data))
    page = root / "simple" / NAME / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        textwrap.dedent(
            """\
            <!DOCTYPE html><html><body>
            <a href="../../files/probe_pkg-0.1.tar.gz">probe_pkg-0.1.tar.gz</a>
            </body></html>
            """
        )
    )
    for folder in (root, files, page.parent, page.parent.parent):
        folder.chmod(0o755)
    return root


@pytest.mark.parametrize("indexes", ["local", "local and remote"])
def test_the_install_reaches_the_index_and_nothing_of_the_host(
    tmp_path: Path, host: HostSockets, indexes: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 58 item 3: build code run by the install reaches no host socket, port or address.

    ``local``: the index is a ``file://`` folder, so the install has no way
    out at all. ``local and remote``: the sdist comes from a find-links
    folder and PyPI stays configured, so uv goes through the index proxy
    (PyPI is asked for the name and answers none), which the build code
    then tries for itself.
    """
    for name in INDEX_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    index = write_index(tmp_path / "index", host)
    if indexes == "local":
        monkeypatch.setenv("UV_DEFAULT_INDEX", f"file://{index}/simple")
    else:
        monkeypatch.setenv("UV_FIND_LINKS", str(index / "files"))
    box = Sandbox(
        mode="bwrap", cache_dir=tmp_path / "cache", install_seconds=300,
        limits=Limits(wall_seconds=60, memory_mb=1024, processes=64),
    )  # fmt: skip
    box.check()
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    env = install_environment(box, (NAME,), scratch)

    assert env.ok, env.install.output
    [report_file] = env.path.glob("lib/python*/site-packages/probe_pkg/report.json")
    report = json.loads(report_file.read_text())
    for what in ("tcp", "abstract", "pathname", "metadata"):
        assert report[what] != "connected", (what, report)
    assert report["tcp"].startswith("ConnectionRefusedError")  # its own loopback: nobody there
    assert report["abstract"].startswith("ConnectionRefusedError")
    assert report["metadata"].startswith("OSError: [Errno 101]")  # no route out at all
    assert report["listed"] == []  # the host's unix sockets are not even named
    if indexes == "local":
        assert "proxy" not in report
    else:
        for what, answer in report["proxy"].items():
            assert answer.startswith("HTTP/1.1 403"), (what, report)
        assert "is not an index host" in env.install.output  # the refusals are reported
    assert host.accepted == []
