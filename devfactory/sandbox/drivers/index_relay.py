"""Give an install the index proxy as a proxy address on the sandbox's loopback, then run it.

Run inside an install's sandbox, which has no network of its own (a network
namespace with only its loopback)::

    python -I -S index_relay.py SOCKET -- COMMAND...

It listens on a free port of 127.0.0.1, carries each connection to the unix
socket SOCKET (the host's ``index_proxy.IndexProxy``, mounted into the
sandbox) and back, and runs COMMAND with the proxy variables naming that
port; it exits with COMMAND's exit status. It decides nothing: the proxy
outside chooses what a connection may reach. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import subprocess
import sys
import threading

# what would send uv elsewhere than the relay: the factory's own proxy settings
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def carry(client: socket.socket, path: str) -> None:
    """Copy bytes between ``client`` and the proxy's socket until both sides end."""
    with client, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as proxy:
        try:
            proxy.connect(path)
        except OSError:
            return
        peers = {client: proxy, proxy: client}
        with selectors.DefaultSelector() as selector:
            for conn in peers:
                selector.register(conn, selectors.EVENT_READ)
            while selector.get_map():
                for key, _ in selector.select():
                    source = key.fileobj
                    assert isinstance(source, socket.socket)
                    try:
                        chunk = source.recv(65536)
                        if chunk:
                            peers[source].sendall(chunk)
                            continue
                    except OSError:
                        return
                    selector.unregister(source)  # that side is done sending: pass it on
                    with contextlib.suppress(OSError):
                        peers[source].shutdown(socket.SHUT_WR)


def serve(listener: socket.socket, path: str) -> None:
    """Accept connections for as long as the command runs, each carried on its own thread."""
    while True:
        client, _ = listener.accept()
        threading.Thread(target=carry, args=(client, path), daemon=True).start()


def main(argv: list[str]) -> int:
    """Run the command after ``--`` with the relay as its proxy; return its exit status."""
    if len(argv) < 3 or argv[1] != "--":
        print("usage: index_relay.py SOCKET -- COMMAND...", file=sys.stderr)
        return 2
    path, command = argv[0], argv[2:]
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    port = listener.getsockname()[1]
    threading.Thread(target=serve, args=(listener, path), daemon=True).start()
    env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARIABLES}
    url = f"http://127.0.0.1:{port}"
    for name in ("HTTPS_PROXY", "HTTP_PROXY"):
        env[name] = env[name.lower()] = url
    try:
        return subprocess.call(command, env=env)  # noqa: S603 - the installer's own argv
    except OSError as exc:
        print(f"index_relay: could not start {command[0]}: {exc}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
