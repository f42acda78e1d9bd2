"""``devfactory serve`` on an address another server holds: one line, exit 4, nothing started."""

from __future__ import annotations


def test_serve_on_a_taken_port_says_so_in_one_line_and_exits_4() -> None:
    import socket

    from typer.testing import CliRunner

    from devfactory import cli
    from devfactory.cli.service_commands import address_taken

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert "in use" in address_taken("127.0.0.1", port)
        result = CliRunner().invoke(cli.app, ["serve", "--host", "127.0.0.1", "--port", str(port)])
    assert result.exit_code == 4, result.output
    said = result.output.strip()
    assert said.startswith(f"error: cannot serve on 127.0.0.1:{port}: address already in use")
    assert len(said.splitlines()) == 1, said
    assert "console" not in said and "Traceback" not in said
    assert address_taken("127.0.0.1", port) == ""  # free again once the holder is gone
