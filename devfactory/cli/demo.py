"""``devfactory demo``: build a small program from a ticket, unattended, and show what ran.

The requirement is ``config/demo_requirement.md``: a command line written the way a
person writes a ticket (prose, no code spans), which reads a file or standard input and
takes an option. The run is unattended (the policy answers, nobody is asked), so the
command ends on its own: at the end it prints the run's folder, every check that ran on
the code with its result, and how to open the run in the console. It exits 0 only when
the run COMPLETED, else with the run's own exit code after saying why.
"""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING

from devfactory.cli import common
from devfactory.cli.common import OutOption, PipelineOption, app, get_settings, identity

if TYPE_CHECKING:
    from rich.table import Table

    from devfactory.factory.reports import RunReport

DEMO_PROJECT = "demo"


def demo_requirement() -> str:
    """Return the demo's requirement, as the package ships it."""
    return (files("devfactory.config") / "demo_requirement.md").read_text(encoding="utf-8")


def checks_table(report: RunReport) -> Table:
    """Return a table of every check each stage's last attempt ran, with its result."""
    from rich.table import Table

    from devfactory.cli.terminal import styled

    table = Table(title="Checks run on the code", title_justify="left")
    for column in ("stage", "check", "result", "where", "seconds", "summary"):
        table.add_column(column, overflow="fold")
    for record in report.records:
        for check in record.checks:
            if not check.ran:
                result = styled("not run", "yellow")
            else:
                result = styled("ok", "green") if check.ok else styled("failed", "bold red")
            table.add_row(
                record.team,
                check.name,
                result,
                "sandbox" if check.sandboxed else "host",
                f"{check.seconds:.1f}",
                check.summary,
            )
    return table


def delivered_files(report: RunReport) -> list[str]:
    """Return the files the run's stages wrote, in the order they were first written."""
    seen: dict[str, None] = {}
    for record in report.records:
        if record.result is not None:
            seen.update((a.path, None) for a in record.result.artifacts)
    return list(seen)


def closing(report: RunReport, port: int) -> None:
    """Print what the run built, the checks that judged it, and where to see it."""
    from devfactory.cli.common import console

    console.print()
    console.print(f"The run's folder: {report.out_dir}", soft_wrap=True)
    built = delivered_files(report)
    if built:
        console.print("Written there: " + ", ".join(built), soft_wrap=True)
    if any(record.checks for record in report.records):
        console.print(checks_table(report))
    else:
        console.print("No check ran on the code: no stage reached one.")
    console.print(
        f"See the run in the console: `devfactory users add NAME --role viewer` (once), "
        f"`devfactory serve`, then open http://127.0.0.1:{port}/console#/run/{report.run_id}",
        soft_wrap=True,
    )
    if report.status != "COMPLETED":
        console.print(
            "The demo did not complete: the reason is below, the details in the folder's "
            f"SUMMARY.md and run.json (`devfactory status {report.run_id}`).",
            soft_wrap=True,
        )


@app.command(rich_help_panel="Runs")
def demo(pipeline: PipelineOption = "lean", out: OutOption = None) -> None:
    """Build the demo's requirement unattended, then show the folder and the checks.

    The requirement is a small command line written as a ticket (``devfactory demo
    --help`` does not print it; the command does, before it starts). Exits 0 when
    the run COMPLETED, else the run's exit code (1 FAILED), saying why.
    """
    from rich.panel import Panel

    from devfactory.cli.common import console
    from devfactory.cli.driving import drive
    from devfactory.control.budget import Caps
    from devfactory.factory.intake import StartRequest

    text = demo_requirement()
    common.require_tools()
    settings = get_settings()
    who = identity(settings, None, None)
    console.print(Panel(text.strip(), title="The requirement", title_align="left", expand=False))

    asked = StartRequest(
        text,
        pipeline=pipeline,
        project=DEMO_PROJECT,
        caps=Caps(),
        out_dir=out,
        owner=who[0],
        unattended=True,
    )
    with common.session() as factory:
        drive(
            factory,
            pipeline,
            lambda f, p: f.start(asked, on_event=p),
            as_=who,
            then=lambda report: closing(report, settings.service.api_port),
        )
