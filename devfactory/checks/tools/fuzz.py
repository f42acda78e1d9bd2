"""API Design's document run against the built service by schemathesis, in the sandbox.

The comparison of the two documents (``contract.py``) holds the service's declared
interface to the design; this check holds its behaviour to it. Once the code is built,
the service is started from the build plan's entry point in the sandbox and
schemathesis sends it valid requests generated from the designed document (bounded,
seeded and deterministic, ``drivers/api_fuzz.py``): a server error, a status the design
does not document, or a body or content type the design does not give is a failure of
that operation, which goes to the owner of the service's module (the design is the
contract). Software that serves nothing is not judged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from devfactory.checks.tools import tool_frame as frame
from devfactory.checks.tools.contract import designs
from devfactory.contracts import CheckRun
from devfactory.software.plan import module_name


@dataclass(frozen=True)
class ApiFuzzCheck:
    """The running service answers valid requests as the designed document says (schemathesis)."""

    name = "api_fuzz"
    tools = (frame.Tool("schemathesis"),)
    promise = (
        "Once the code is built, the service is started in the sandbox and schemathesis sends it "
        "valid requests generated from your OpenAPI document (a bounded, seeded draw per "
        "operation): a server error, a status you do not document, or a body or content type "
        "other than the one you give is a failure of that operation, sent to the owner of the "
        "service. Document every status the service answers valid requests with (404 for an "
        "unknown id, say)."
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at YAML and JSON files (those that are OpenAPI documents are run)."""
        design = path.endswith((".yaml", ".yml", ".json"))
        return not code and design and not path.startswith("tests/")

    def run(self, context: frame.ToolContext, paths: Sequence[str]) -> frame.ToolReport:
        """Start the service and run schemathesis on it with each designed document."""
        designed = designs(context.files)  # the OpenAPI documents, as contract.py reads them
        documents = [p for p in paths if p in designed]
        if not documents or not context.serve:
            return frame.ToolReport(
                []
            )  # no design, or software that serves nothing: nothing to run
        entry = next((a for a in context.serve if ":" in a and "{" not in a), "")
        service = next(
            (p for p in context.code if module_name(p) == entry.split(":")[0]),
            context.code[0] if context.code else "",
        )
        settings = context.settings
        examples = settings.checks.api_fuzz_examples if settings is not None else 10
        env = context.sandbox.environment([*context.dependencies, *context.packages])
        label = self.tools[0].label() + ", the service in the project's environment"
        runs: list[CheckRun] = []
        findings: list[frame.Finding] = []
        for design in documents:
            job = {
                "python": str(env.path / "bin" / "python"),
                "serve": list(context.serve),
                "spec": design,
                "examples": examples,
                "seed": 0,
                "startup_s": 30,
                "budget_s": max(1.0, context.sandbox.limits.wall_seconds - 40.0),
            }
            command = f"schemathesis run {design} against the running service ({entry})"
            arguments = [json.dumps(job)]
            result, report = frame.reported(
                self.name, "api_fuzz.py", context, arguments, "operations", beside=env
            )
            if report is None:
                said = "schemathesis did not report"
                failed = frame.not_reported(self.name, command, result, label, design, said)
                runs += failed.runs
                findings += failed.findings
                continue
            operations = report["operations"]
            tail = " ".join(str(report.get("tail", "")).split())[-400:]
            if not report.get("started"):
                findings.append(
                    frame.Finding(service, f"the service did not start to be tested: {tail}")
                )
                runs.append(
                    CheckRun(
                        name=self.name,
                        command=command,
                        exit_code=1,
                        errors=1,
                        sandboxed=result.sandboxed,
                        summary="the service did not start",
                        tool=label,
                    )
                )
                continue
            if not operations:
                said = f"schemathesis reported no operation (exit {report.get('exit')}): {tail}"
                findings.append(frame.Finding(design, said[:600]))
            failing = {name: said for name, said in operations.items() if said}
            for name, said in sorted(failing.items()):
                findings.append(frame.Finding(service, f"{name}: {'; '.join(said)[:600]}"))
            answer = len(operations) - len(failing)
            said = f"{answer} of {len(operations)} operation(s) answer as designed"
            runs.append(
                frame.ran(
                    self.name,
                    command,
                    result,
                    label,
                    passed=answer,
                    failed=len(failing),
                    summary=said,
                )
            )
        return frame.ToolReport(runs, findings)
