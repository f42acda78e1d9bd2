"""The command line starts light: ``devfactory --help`` loads typer and the standard library.

A command's own ``--help`` runs the CLI's callback first (click's order), which
reads the settings and sets up logging; it still loads none of the run's
machinery.

Each check runs in a fresh interpreter, so what an earlier test imported
cannot hide a heavy import; each lists the modules it finds, so a failure says
which import came back.
"""

from __future__ import annotations

import pytest

from tests.cli_probe import MACHINERY, among, loaded

# Modules ``devfactory --help`` must not load: settings and validation, the terminal's
# renderer, the database driver, logging's processors, secret scanning, and everything
# of LangChain, LangGraph, the models and the graph.
HEAVY = (
    "pydantic",
    "pydantic_settings",
    "rich",
    "psycopg",
    "psycopg_pool",
    "structlog",
    "detect_secrets",
    "yaml",
    "langchain_core",
    "langgraph",
    "devfactory.settings",
    "devfactory.graph",
    "devfactory.models",
    "devfactory.factory.facade",
)


@pytest.mark.parametrize("args", [["--help"], []], ids=["--help", "no arguments"])
def test_help_loads_no_settings_renderer_database_or_graph(args: list[str]) -> None:
    code, out, modules = loaded(*args)
    assert code in (0, 2), out  # no arguments: help, exit 2 (click's rule)
    assert "Usage: devfactory" in out
    assert among(modules, HEAVY) == []


@pytest.mark.parametrize(
    "args",
    [["run", "--help"], ["status", "--help"], ["audit", "show", "--help"], ["memory", "--help"]],
    ids=" ".join,
)
def test_a_commands_help_loads_none_of_the_runs_machinery(args: list[str]) -> None:
    code, out, modules = loaded(*args)
    assert code == 0, out
    assert f"Usage: devfactory {args[0]}" in out
    assert among(modules, MACHINERY) == []


def test_help_lists_the_commands_under_their_panels() -> None:
    _, text, _ = loaded("--help")
    for panel, command in (
        ("Runs:", "status"),
        ("Waiting for a person:", "pending"),
        ("Service:", "worker"),
        ("Records:", "audit"),
    ):
        assert panel in text, text
        assert text.index(panel) < text.index(f"  {command} "), text
    assert "full, lean, mvp" not in text  # a command's options are on its own help


def test_a_commands_help_names_every_packaged_pipeline() -> None:
    from devfactory.pipelines import available_pipelines

    code, out, modules = loaded("submit", "--help")
    assert code == 0, out
    assert "Pipeline: " + ", ".join(available_pipelines()) in " ".join(out.split())
    assert among(modules, MACHINERY) == []


def test_the_consoles_are_made_once_on_first_use() -> None:
    from devfactory.cli import common
    from devfactory.cli.terminal import SafeConsole

    assert common.console is common.console
    assert isinstance(common.err, SafeConsole) and common.err.stderr
    assert not common.console.stderr
    with pytest.raises(AttributeError):
        _ = common.nothing_here


def test_the_setup_and_the_image_install_the_packages_compiled() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sync = [line for line in (root / "Makefile").read_text().splitlines() if " sync " in line]
    image = [line for line in (root / "Dockerfile").read_text().splitlines() if " sync " in line]
    assert sync and all("--compile-bytecode" in line for line in sync), sync
    assert image and all("--compile-bytecode" in line for line in image), image
