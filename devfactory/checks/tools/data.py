"""Data Engineering's data contracts: each JSON Schema valid, and its sample data valid by it.

The team's data contracts are JSON Schemas (a JSON file declaring ``$schema``, or
named ``*.schema.json``); jsonschema checks each against its draft's metaschema,
then validates the team's sample data (JSON, JSON Lines, CSV) against the schema
each belongs to (``drivers/data_contract.py`` says how a sample is matched and read).
Every error is a finding at its file, with the record and the place in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devfactory.checks.tools.tool_frame import DriverCheck, Finding, Read, Tool, ToolContext


@dataclass(frozen=True)
class DataContractCheck(DriverCheck):
    """The team's JSON Schemas are valid and its sample data holds to them (jsonschema)."""

    name = "data_contract"
    tool = Tool("jsonschema")
    driver = "data_contract.py"
    invocation = "jsonschema: schemas and samples of"  # both, in one run
    keys = ("schemas", "samples")
    what = "jsonschema"
    promise = (
        "Each JSON Schema you write (a JSON file declaring `$schema`, or named `*.schema.json`) "
        "must be valid for its draft (2020-12 when it declares none), and your sample data "
        "(JSON, JSON Lines, CSV) must validate against the schema whose name its own contains "
        "(or the only one, for a plainly data file: JSON Lines, CSV, or a name with sample, "
        "example, fixture or seed): every record, with `format` checked and CSV cells read as "
        "the types the schema gives their columns."
    )

    def judges(self, path: str) -> bool:
        """Look at the team's JSON, JSON Lines and CSV files."""
        return path.endswith((".json", ".jsonl", ".ndjson", ".csv"))

    def read(self, report: dict[str, Any], context: ToolContext, paths: Sequence[str]) -> Read:
        """Read each schema's errors, then each sample's against its schema."""
        schemas, samples = report["schemas"], report["samples"]
        findings: list[Finding] = []
        for path, found in schemas.items():
            for error in found.get("errors") or []:
                findings.append(Finding(path, str(error)))
        judged = list(schemas)
        for path, found in samples.items():
            owner = found.get("schema")
            if not owner or schemas.get(owner, {}).get("errors"):
                continue  # no schema is for it (a configuration, say), or none that is valid
            judged.append(path)
            for error in found.get("errors") or []:
                if isinstance(error, dict):
                    said = f"{error.get('where')}: {error.get('message')}"
                    findings.append(Finding(path, f"{said} (schema {found['schema']})"))
        if not schemas:
            return Read([], [], summary="no JSON Schema written")
        return Read(judged, findings)
