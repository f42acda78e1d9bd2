"""API Design's build check: the designed OpenAPI document against the service that was built.

Once the code is built, its modules are imported in the sandbox with the project's own
environment until one holds an application that makes its own OpenAPI document
(FastAPI's ``app.openapi()``), and that document's operations (each method and path,
a path's parameters compared by place, not by name) are held to the designed one's,
and for each operation both have, its success statuses and the top level of its JSON
schemas (``shapes.py``).
The design is the contract, so each difference goes to the side that broke it: an
operation the design has and the service lacks goes to the owner of the service's
module, one the service has and the design lacks to the owner of the design.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from devfactory.checks.tools import tool_frame as frame
from devfactory.checks.tools.shapes import drifts
from devfactory.contracts import CheckRun
from devfactory.software.plan import module_name

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAMETER = re.compile(r"\{[^}/]*\}")


def operations(paths: object) -> set[tuple[str, str]]:
    """Return an OpenAPI ``paths`` object's operations as (METHOD, path with ``{}`` parameters)."""
    found: set[tuple[str, str]] = set()
    if not isinstance(paths, Mapping):
        return found
    for path, item in paths.items():
        if not isinstance(item, Mapping):
            continue
        shape = _PARAMETER.sub("{}", str(path).rstrip("/") or "/")
        found |= {(method.upper(), shape) for method in item if method in METHODS}
    return found


def designs(files: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Return each OpenAPI document among ``files`` (not tests), parsed."""
    found = {}
    for path, text in files.items():
        if not path.endswith((".yaml", ".yml", ".json")) or path.startswith("tests/"):
            continue
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if isinstance(document, dict) and "openapi" in document and "paths" in document:
            found[path] = document
    return found


@dataclass(frozen=True)
class ServiceContractCheck:
    """The built service has exactly the operations the OpenAPI design has."""

    name = "service_contract"
    tools: tuple[frame.Tool, ...] = ()  # the service's own framework, in its own environment
    promise = (
        "Once the code is built, the service's own OpenAPI document (its framework makes it: "
        "FastAPI's `app.openapi()`, read in the sandbox) is compared with your design, "
        "operation by operation (method and path; a path parameter by its place, not its "
        "name), then each shared operation's success status and the top level of its response "
        "and request schemas (object or array, property names). The design is the contract: "
        "an operation or a property you designed that the service lacks "
        "goes back to the service's owner; one the service has that you did not design comes "
        "back to you."
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at the Python modules the plan calls code (one of them holds the service)."""
        return code and path.endswith(".py") and bool(module_name(path))

    def run(self, context: frame.ToolContext, paths: Sequence[str]) -> frame.ToolReport:
        """Ask the service for its document and compare it with the design."""
        designed = designs(context.files)
        if not designed:
            return frame.not_run(self.name, "not run: no OpenAPI design")
        modules = {module_name(p): p for p in paths}
        command = (
            f"the OpenAPI of the service in {', '.join(modules)} against {', '.join(designed)}"
        )
        env = context.sandbox.environment([*context.dependencies, *context.packages])
        result, report = frame.reported(
            self.name, "service_openapi.py", context, list(modules), env=env
        )
        if report is None:
            said = "the service's OpenAPI could not be read"
            framework = "the service's framework"
            return frame.not_reported(self.name, command, result, framework, paths[0], said)
        held = str(report.get("module") or "")
        if not held:
            quiet = CheckRun(
                name=self.name, command=command, exit_code=0, sandboxed=result.sandboxed,
                summary="no module makes an OpenAPI document (not a FastAPI service)", ran=False,
            )  # fmt: skip
            return frame.ToolReport([quiet], [])
        built = operations(report.get("paths"))
        service = {"paths": report.get("paths") or {}, "components": report.get("components") or {}}
        findings = []
        compared = 0
        for doc, design in designed.items():
            wanted = operations(design["paths"])
            for method, path in sorted(wanted - built):
                findings.append(
                    frame.Finding(
                        modules[held], f"the service has no {method} {path}, which {doc} designs"
                    )
                )
            for method, path in sorted(built - wanted):
                findings.append(
                    frame.Finding(
                        doc, f"designs no {method} {path}, which the service ({modules[held]}) has"
                    )
                )
            for method, path in sorted(wanted & built):
                compared += 1
                for drift in drifts(method, path, design, service):
                    owner = modules[held] if drift.side == "service" else doc
                    findings.append(frame.Finding(owner, drift.text))
        every = set().union(*(operations(d["paths"]) for d in designed.values())) | built
        run = CheckRun(
            name=self.name,
            command=command,
            exit_code=0,
            seconds=round(result.seconds, 2),
            passed=max(0, len(every) - len(findings)),
            failed=len(findings),
            sandboxed=result.sandboxed,
            summary=f"{len(findings)} difference(s) in {len(every)} operation(s)"
            if findings
            else f"{len(every)} operation(s) agree, {compared} compared in statuses and schemas",
            tool=f"the service's own OpenAPI ({held})",
        )
        return frame.ToolReport([run], findings)
