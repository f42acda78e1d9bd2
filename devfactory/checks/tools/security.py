"""The delivered code scanned for flaws (bandit) and secrets (detect-secrets), once built.

Security Engineering writes its threat model before the code exists; this check,
named under its ``build_checks``, holds the code that gets built to it: bandit's
serious findings and every secret detect-secrets finds go to the owner of the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devfactory.checks.tools import tool_frame as frame


def serious(severity: str, confidence: str) -> bool:
    """Say whether a bandit finding keeps the code from passing.

    High severity does; so does medium severity found with high confidence (an
    ``eval`` of input, an unsafe YAML load, a SQL string built from input). The rest
    (an import of ``subprocess``, a string that might be a password) is reported in
    the check's record, not sent back.
    """
    return severity == "HIGH" or (severity == "MEDIUM" and confidence == "HIGH")


@dataclass(frozen=True)
class CodeSecurityCheck:
    """The delivered code has no serious bandit finding and no secret (detect-secrets)."""

    name = "code_security"
    tools = (frame.Tool("bandit"), frame.Tool("detect-secrets"))
    promise = (
        "Once the code is built, bandit scans every code file (not tests): a high-severity "
        "finding, or a medium one found with high confidence (`eval` of input, an unsafe YAML "
        "load, SQL built from strings, `shell=True`), goes back to the file's owner; so does "
        "every secret detect-secrets finds (keys, tokens, passwords written in the code)."
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at the Python files the plan calls code."""
        return code and path.endswith(".py")

    def run(self, context: frame.ToolContext, paths: Sequence[str]) -> frame.ToolReport:
        """Scan the code with both tools in one run in the sandbox."""
        label = ", ".join(t.label() for t in self.tools)
        command = f"bandit -f json; detect-secrets scan: {' '.join(paths)}"
        result, report = context.sandbox.run_driver(
            self.name, frame.DRIVERS / "security_scan.py", paths, context.workspace, context.env
        )
        scans: dict[str, dict[str, Any]] = {}
        broken = []
        for key in ("bandit", "detect-secrets"):
            value = report.get(key)
            if isinstance(value, dict) and "error" not in value:
                scans[key] = value
            else:
                broken.append(
                    f"{key}: {value.get('error') if isinstance(value, dict) else 'no report'}"
                )
        if result.exit_code != 0 or broken:
            run = frame.broken_run(self.name, command, result, label)
            said = "; ".join(broken)
            return frame.ToolReport(
                [run], [frame.Finding(paths[0], f"the scan did not report: {said or run.summary}")]
            )
        findings: list[frame.Finding] = []
        noted = 0
        for item in scans["bandit"].get("results", []):
            if serious(str(item.get("severity")), str(item.get("confidence"))):
                text = (
                    f"line {item.get('line')}: bandit {item.get('test')} "
                    f"({str(item.get('severity')).lower()} severity): {item.get('text')}"
                )
                findings.append(frame.Finding(str(item.get("path")), text))
            else:
                noted += 1
        for item in scans["detect-secrets"].get("results", []):
            text = (
                f"line {item.get('line')}: a secret in the code ({item.get('type')}): "
                "read it from the environment instead"
            )
            findings.append(frame.Finding(str(item.get("path")), text))
        run = frame.judged_run(self.name, command, result, label, paths, findings)
        if noted:
            run = run.model_copy(
                update={"summary": f"{run.summary}; {noted} minor bandit note(s) not sent back"}
            )
        return frame.ToolReport([run], findings)
