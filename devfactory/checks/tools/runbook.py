"""SRE's runbook held to the software: its health probes answered, every command it names real.

A runbook is followed at three in the morning: a command it names that does not exist,
or a health check that does not answer, fails the person on call. Once the software is
built, the shell commands of SRE / Operations' Markdown (its ``ops`` files) are read as
the README's are (``readme.py``). A probe of the service (``curl``, ``wget`` or
``http`` of a loopback URL) is run against the service itself, started in the sandbox
from the build plan's entry point on the port the probe names; a probe in the runbook
of software that serves nothing is a finding. Every other command is not run (a
runbook restarts and deletes things) but its program must exist: installed in the
project's environment or the system, a console script or a file of the project, or
a known operator's tool the sandbox does not hold (``kubectl``, ``systemctl``,
``docker``...). ``python -m MODULE`` must name a module there is.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from devfactory.checks.tools import tool_frame as frame
from devfactory.checks.tools.readme import Example, examples, run_and_judge
from devfactory.contracts import CheckRun

OPERATOR_TOOLS = frozenset(
    {
        "aws", "az", "gcloud", "kubectl", "helm", "k9s", "kustomize", "oc", "terraform",
        "ansible", "ansible-playbook", "docker", "docker-compose", "podman", "systemctl",
        "journalctl", "service", "supervisorctl", "nginx", "psql", "pg_dump", "pg_restore",
        "pg_isready", "redis-cli", "mysql", "mysqldump", "mongosh", "sqlite3", "ssh", "scp",
        "rsync", "crontab", "htop", "iotop", "lsof", "netstat", "ss", "dig", "nslookup",
        "openssl", "jq", "yq", "vault", "consul", "promtool", "amtool", "logrotate", "strace",
        "gunicorn", "uvicorn", "make", "git", "curl", "wget", "http",
    }
)  # fmt: skip
"""Programs a runbook may name that a sandbox need not hold: an operator's tools."""

PROBE = re.compile(
    r"^(curl|wget|http|https)\b.*?\bhttps?://(localhost|127\.0\.0\.1|0\.0\.0\.0)(?::(\d{2,5}))?"
)
WRAPPERS = frozenset({"sudo", "time", "nohup", "env", "exec", "watch", "timeout"})


def program_of(command: str) -> str:
    """Return the program a command runs (``-m MODULE`` for ``python -m``; "" when unclear)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return ""
    while words and (words[0] in WRAPPERS or re.fullmatch(r"[A-Za-z_]\w*=.*", words[0])):
        words = words[2:] if words[0] == "timeout" else words[1:]
    if not words:
        return ""
    if re.fullmatch(r"python3?(\.\d+)?", words[0]) and len(words) > 2 and words[1] == "-m":
        return f"-m {words[2]}"
    program = words[0]
    return "" if any(c in program for c in "$`|;&<>()") else program


def _said(example: Example, outcome: dict[str, object], serving: Example | None) -> str:
    why = outcome.get("why")
    if example.kind == "exists":
        return f"names `{example.text}`: {why}"
    if example is serving:
        return f"the service did not start for the probes (`{example.text}`): {why}"
    return f"`{example.text[:120]}` {why}"


@dataclass(frozen=True)
class RunbookCheck:
    """The runbook's probes answer against the running service; every command it names exists."""

    name = "runbook_commands"
    tools = (frame.Tool("markdown-it-py"),)
    promise = (
        "Once the code is built, the shell commands of your runbook are read: each probe of the "
        "service (`curl`, `wget` or `http` of a localhost URL) runs against the service itself, "
        "started in the sandbox from the build plan's entry point on the port the probe names, "
        "and must succeed (use `curl -f` for a status check); every other command is not run, "
        "but the program it names must exist (installed, a console script or file of the "
        "project, `python -m` of a real module, or a common operator's tool such as kubectl or "
        "systemctl). Name only routes and commands the software has."
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at Markdown files (the plan's roles say which are SRE's)."""
        return not code and path.endswith((".md", ".markdown"))

    def run(self, context: frame.ToolContext, paths: Sequence[str]) -> frame.ToolReport:
        """Look up every program, then start the service and run the probes."""
        label = self.tools[0].label() + ", the project's environment"
        runs: list[CheckRun] = []
        findings: list[frame.Finding] = []
        for path in (p for p in paths if context.roles.get(p) == "ops"):
            runnable, skipped = examples(context.files.get(path, ""))
            shells = [e for e in runnable if e.kind == "shell"]
            shells += [Example(s.line, "shell", s.text) for s in skipped]  # named all the same
            probes = [e for e in shells if PROBE.match(e.text)]
            looked_up = []
            for example in shells:
                program = program_of(example.text)
                if example in probes or not program or program in OPERATOR_TOOLS:
                    continue
                looked_up.append(Example(example.line, "exists", program))
            for probe in probes if not context.serve else []:
                findings.append(
                    frame.Finding(
                        path,
                        f"line {probe.line}: `{probe.text[:120]}` probes a service, but the "
                        "software serves nothing (the build plan's entry point is no web app)",
                    )
                )
            started: list[Example] = []
            if probes and context.serve:
                ports = [m.group(3) for p in probes if (m := PROBE.match(p.text)) and m.group(3)]
                port = ports[0] if ports else "8000"
                serve = shlex.join(a.replace("{port}", port) for a in context.serve)
                started = [Example(probes[0].line, "shell", serve), *probes]
            todo = [*looked_up, *started]
            if not todo:
                quiet = "no command to look up or probe to run"
                runs += frame.not_run(self.name, quiet, label).runs
                continue
            command = f"{len(looked_up)} program(s) of {path} looked up, {len(probes)} probe(s) run"
            seconds = (
                context.settings.checks.readme_command_s if context.settings is not None else 20.0
            )
            said = functools.partial(_said, serving=started[0] if started else None)
            done = run_and_judge(context, self.name, path, todo, seconds, label, command, said)
            findings += done.findings
            summary = f"{done.record.passed} of {len(todo)} found or answered"
            runs.append(
                done.record.model_copy(update={"summary": summary})
                if done.outcomes
                else done.record
            )
        return frame.ToolReport(runs, findings)
