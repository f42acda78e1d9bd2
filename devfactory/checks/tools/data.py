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

from devfactory.checks.tools.tool_frame import (
    Finding,
    Tool,
    ToolContext,
    ToolReport,
    judged_run,
    not_reported,
    reported,
)


@dataclass(frozen=True)
class DataContractCheck:
    """The team's JSON Schemas are valid and its sample data holds to them (jsonschema)."""

    name = "data_contract"
    tool = Tool("jsonschema")
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

    def run(self, context: ToolContext, paths: Sequence[str]) -> ToolReport:
        """Check the schemas and validate the samples, in one run in the sandbox."""
        label = self.tool.label()
        command = f"jsonschema: schemas and samples of {' '.join(paths)}"
        result, report = reported(
            self.name, "data_contract.py", context, paths, "schemas", "samples"
        )
        if report is None:
            return not_reported(self.name, command, result, label, paths[0], "jsonschema")
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
            run = judged_run(self.name, command, result, label, [], [])
            return ToolReport([run.model_copy(update={"summary": "no JSON Schema written"})], [])
        return ToolReport(
            [judged_run(self.name, command, result, label, judged, findings)], findings
        )
