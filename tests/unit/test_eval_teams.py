"""eval.teams sums each team's stages and each final check over an evaluation's recorded runs."""

from __future__ import annotations

import json
from pathlib import Path

from eval.teams import main, report, runs_of

RUN = {
    "status": "FAILED",
    "stages": [
        {
            "team": "api-design",
            "outcome": "PASSED",
            "attempts": 2,
            "seconds": 30.5,
            "usage": {"input_tokens": 100, "output_tokens": 50},
            "checks": [
                {"name": "openapi_valid", "command": "openapi-spec-validator", "exit_code": 0},
                {
                    "name": "openapi_valid",
                    "command": "openapi-spec-validator",
                    "exit_code": 0,
                    "failed": 1,
                },
            ],  # fmt: skip
            "gate_feedback": [
                "attempt 1: api/openapi.yaml [openapi_valid]: paths: bad",
                "attempt 2: use 'pytest --fixtures [testpath]' for help; def f(x: list[str]):",
            ],
        },
        {
            "team": "backend-engineering",
            "outcome": "BLOCKED",
            "attempts": 3,
            "seconds": 100,
            "repairs": [
                "app.py: `import re` added (used, never imported) [stdlib-imports] (2 times)",
                "report: confidence parsed from text [confidence]",
                "report: JSON syntax repaired",  # below the registry: no repair of its own
                "app.py: passes [4/4] examples [ok]",  # a bracket naming no repair
            ],
            "earlier_repairs": [
                "attempt 1: app.py: `import re` added (used, never imported) [stdlib-imports]",
                "attempt 2: test_app.py: `from app import f` added [project-imports]",
            ],
        },
    ],
    "build": {
        "checks": [
            {"name": "api_fuzz", "command": "schemathesis run", "exit_code": 0, "failed": 1},
            {"name": "licences", "command": "", "summary": "not run"},
        ],
        "owners": {"backend-engineering": ["app.py [api_fuzz]: GET /x: Server error"]},
    },
}


def test_each_team_and_final_check_is_summed_from_the_recorded_runs(tmp_path: Path) -> None:
    for case in ("web-a", "web-b"):
        folder = tmp_path / case / "run"
        folder.mkdir(parents=True)
        (folder / "run.json").write_text(json.dumps(RUN), encoding="utf-8")
    (tmp_path / "broken" / "run").mkdir(parents=True)
    (tmp_path / "broken" / "run" / "run.json").write_text("{not json", encoding="utf-8")
    runs = runs_of(tmp_path)
    assert list(runs) == ["web-a", "web-b"]  # one that does not read is left out
    text = report(runs)
    assert "| api-design | 2 (2) | 4 | 61 | 300 | 4 (2) | openapi_valid 2 |" in text
    assert "| backend-engineering | 2 (0) | 6 | 200 | 0 | 0 (0) | - |" in text
    assert "| api_fuzz | 2 | 0 | backend-engineering 2 |" in text
    assert "| licences |" not in text  # a check that did not run is not counted as run
    assert "| web-a | FAILED | backend-engineering |" in text
    assert "| stdlib-imports | 4 | 2 | 2 | backend-engineering 6 |" in text
    assert "| project-imports | 0 | 2 | 2 | backend-engineering 2 |" in text  # earlier only
    assert "| confidence | 2 | 0 | 2 | backend-engineering 2 |" in text
    assert "| quotes | 0 | 0 | 0 | - |" in text  # every registered repair listed, fired or not
    assert "| ok |" not in text
    out = tmp_path / "teams.md"
    assert main([str(tmp_path), "--out", str(out)]) == 0 and out.read_text() == text
