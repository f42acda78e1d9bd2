"""Run the factory once through its Python API and print the run's report as JSON.

``python -m eval.drive REQUIREMENT_FILE --pipeline mvp --out DIR`` is what the
evaluation runs while ``devfactory run`` has no ``--json``: ``Factory.start``
unattended, then one JSON object with the run's status, reason, folder, usage
and stages. It exits 0 for a COMPLETED run and 1 otherwise.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import traceback
from pathlib import Path
from typing import Any


def report_json(report: Any, usage: Any) -> dict[str, Any]:
    """Describe a ``RunReport`` and its spend as plain JSON."""
    return {
        "run_id": report.run_id,
        "status": report.status,
        "reason": report.reason,
        "out_dir": str(report.out_dir),
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "tokens": usage.input_tokens + usage.output_tokens,
            "calls": usage.calls,
            "cost_usd": usage.cost_usd,
        },
        "stages": [
            {
                "team": record.team,
                "outcome": str(getattr(record.outcome, "value", record.outcome)),
                "reason": record.reason,
                "tokens": record.usage.input_tokens + record.usage.output_tokens,
                "seconds": record.seconds,
            }
            for record in report.records
        ],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the factory on a requirement file; print the JSON report."""
    parser = argparse.ArgumentParser(prog="python -m eval.drive", description=__doc__)
    parser.add_argument("requirement_file", type=Path)
    parser.add_argument("--pipeline", default="mvp")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--project", default="eval")
    args = parser.parse_args(argv)
    try:
        from devfactory.runner import Factory
        from devfactory.settings import get_settings

        requirement = args.requirement_file.read_text(encoding="utf-8")
        with Factory(get_settings()) as factory:
            extra = {}
            if "unattended" in inspect.signature(factory.start).parameters:
                extra["unattended"] = True
            report = factory.start(
                requirement, pipeline=args.pipeline, project=args.project, out_dir=args.out, **extra
            )
            usage = factory.usage(report.run_id).total
    except Exception as exc:  # noqa: BLE001 - the evaluation reads the reason; the log the trace
        traceback.print_exc()
        failed = {
            "status": "ERROR",
            "reason": f"{type(exc).__name__}: {exc}",
            "out_dir": str(args.out),
        }
        print(json.dumps(failed))
        return 1
    print(json.dumps(report_json(report, usage)))
    return 0 if report.status == "COMPLETED" else 1


if __name__ == "__main__":
    sys.exit(main())
