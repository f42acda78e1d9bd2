"""API Design's document, validated by openapi-spec-validator in the sandbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devfactory.checks.tools.tool_frame import DriverCheck, Finding, Read, Tool, ToolContext

DRIVER = "openapi_check.py"


@dataclass(frozen=True)
class OpenApiCheck(DriverCheck):
    """The OpenAPI document is valid for its version (openapi-spec-validator)."""

    name = "openapi_valid"
    tool = Tool("openapi-spec-validator")
    driver = DRIVER
    keys = ("documents",)
    what = "the validator"
    promise = (
        "Each YAML or JSON file you write is an OpenAPI document, valid for the version it "
        "declares by openapi-spec-validator "
        "(its schema and rules: required fields, paths starting with `/`, every path "
        "parameter declared, every `$ref` resolving inside the document; nothing is fetched)."
    )

    def judges(self, path: str) -> bool:
        """Look at the team's YAML and JSON files: API Design's are its OpenAPI documents."""
        return path.endswith((".yaml", ".yml", ".json"))

    def read(self, report: dict[str, Any], context: ToolContext, paths: Sequence[str]) -> Read:
        """Read what the validator found in each document (one run of it)."""
        documents = report["documents"]
        findings: list[Finding] = []
        for path in paths:
            found = documents.get(path)
            if not isinstance(found, dict):
                findings.append(Finding(path, "the validator reported nothing on it"))
                continue
            for item in found.get("findings") or []:
                if isinstance(item, dict):
                    findings.append(Finding(path, f"{item.get('where')}: {item.get('message')}"))
        return Read(paths, findings)
