"""``devfactory serve --workers N``: bounded by ``api_workers_max``, refused with why past it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.api import __main__ as served
from devfactory.cli.common import EXIT_USAGE
from devfactory.settings import Settings, get_settings


class Exec(Exception):
    """Raised in place of ``os.execv``: the command line the CLI would have become."""


@pytest.fixture
def execs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Record what ``devfactory serve`` would exec, and exec nothing."""
    seen: list[list[str]] = []

    def execv(path: str, argv: list[str]) -> None:
        seen.append(argv)
        raise Exec

    monkeypatch.setattr("os.execv", execv)
    monkeypatch.setattr("devfactory.cli.service_commands.address_taken", lambda host, port: "")
    get_settings.cache_clear()
    yield seen
    get_settings.cache_clear()


def test_serve_past_the_cap_is_refused_with_the_setting_named(execs: list[list[str]]) -> None:
    result = CliRunner().invoke(cli.app, ["serve", "--workers", "5"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert "--workers 5 is over api_workers_max (4)" in result.output
    assert execs == []


def test_serve_within_the_cap_execs_the_server_with_its_processes(
    execs: list[list[str]],
) -> None:
    result = CliRunner().invoke(cli.app, ["serve", "--workers", "4", "--port", "8123"])
    assert isinstance(result.exception, Exec), result.output
    (argv,) = execs
    assert argv[1:3] == ["-m", "devfactory.api"]
    assert argv[argv.index("--workers") + 1] == "4"
    assert argv[argv.index("--port") + 1] == "8123"


def test_serve_defaults_to_one_process(execs: list[list[str]]) -> None:
    CliRunner().invoke(cli.app, ["serve"])
    (argv,) = execs
    assert argv[argv.index("--workers") + 1] == "1"


def test_the_cap_is_a_setting(execs: list[list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVFACTORY_API_WORKERS_MAX", "8")
    result = CliRunner().invoke(cli.app, ["serve", "--workers", "8"])
    assert isinstance(result.exception, Exec), result.output
    refused = CliRunner().invoke(cli.app, ["serve", "--workers", "9"])
    assert refused.exit_code == EXIT_USAGE
    assert "over api_workers_max (8)" in refused.output


def test_zero_workers_is_a_usage_error(execs: list[list[str]]) -> None:
    result = CliRunner().invoke(cli.app, ["serve", "--workers", "0"])
    assert result.exit_code == 2
    assert execs == []


@pytest.mark.parametrize("workers", [0, -1, 5])
def test_api_processes_refuses_outside_one_to_the_cap(tmp_path: Any, workers: int) -> None:
    with pytest.raises(ValueError, match=f"--workers {workers}"):
        Settings(data_dir=tmp_path).service.api_processes(workers)


def test_api_processes_names_the_connections_each_process_holds(tmp_path: Any) -> None:
    settings = Settings(data_dir=tmp_path, api_db_pool_size=10, api_workers_max=2)
    assert settings.service.api_processes(2) == 2
    with pytest.raises(ValueError, match="up to 13 database connections"):
        settings.service.api_processes(3)


def test_the_cap_itself_is_bounded(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="api_workers_max"):
        Settings(data_dir=tmp_path, api_workers_max=65)


def test_the_server_module_refuses_past_the_cap_before_serving(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(served.uvicorn, "run", lambda app, **kw: runs.append({"app": app, **kw}))
    monkeypatch.setattr(sys, "argv", ["devfactory serve", "--workers", "5"])
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as refused:
        served.main()
    assert refused.value.code == 2
    assert "over api_workers_max" in capsys.readouterr().err
    assert runs == []


def test_the_server_module_hands_uvicorn_an_app_factory_for_its_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(served.uvicorn, "run", lambda app, **kw: runs.append({"app": app, **kw}))
    monkeypatch.setattr(sys, "argv", ["devfactory serve", "--workers", "2", "--port", "8124"])
    get_settings.cache_clear()
    served.main()
    (run,) = runs
    # each process imports and calls it: an app object cannot be handed to another process
    assert run["app"] == "devfactory.api.__main__:served"
    assert (run["factory"], run["workers"], run["port"]) == (True, 2, 8124)
