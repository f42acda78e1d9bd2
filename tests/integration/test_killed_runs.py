"""A run that cannot run to its end still reports: past its time cap, or sent SIGTERM.

Either way its folder holds ``run.json`` and ``SUMMARY.md`` with the tokens it
spent and the files it kept, so that whoever gave it a fixed time (an
evaluation) counts what it spent and built.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedModels, always_good
from tests.integration.cli import cli_env, finish, run, start

TODO = "A REST API for a personal todo list"
CAP_S = 4


def test_a_run_past_its_time_cap_stops_itself_with_its_spend_and_its_best_version(
    pg_settings: Settings, tmp_path: Path
) -> None:
    def script(call: Call) -> str:
        if call.team == "solution-architecture" and call.kind == "draft":
            time.sleep(CAP_S + 0.5)  # its first file outlasts the run's time cap
        return always_good(call)

    out = tmp_path / "out"
    models = ScriptedModels(script)
    settings = pg_settings.with_overrides(run_deadline_s=CAP_S)
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(TODO, pipeline="mvp", out_dir=out))
        row = factory.get(report.run_id)
    assert report.status == "FAILED" == row.status
    assert report.reason.startswith(f"time cap of {CAP_S} s reached (spent ")
    assert models.chat.count("backend-engineering") == 0  # nothing began after the cap
    doc = json.loads((out / "run.json").read_text())
    assert (doc["status"], doc["reason"]) == ("FAILED", report.reason)
    assert doc["usage"]["total_tokens"] > 0
    stages = {s["team"]: s for s in doc["stages"]}
    assert stages["business-analysis"]["outcome"] == "PASSED"
    architecture = stages["solution-architecture"]
    assert (architecture["outcome"], architecture["reason"]) == (
        "BLOCKED",
        f"time cap of {CAP_S} s reached",
    )
    # the best version so far is in the folder: the passed stage's files, and the
    # blocked stage's draft, published as not accepted
    kept = [
        a["path"]
        for s in (stages["business-analysis"], architecture)
        for a in s["result"]["artifacts"]
    ]
    assert "architecture/architecture.md" in kept
    for path in kept:
        assert (out / path).is_file(), path
    summary = (out / "SUMMARY.md").read_text()
    assert "FAILED" in summary and f"time cap of {CAP_S} s reached" in summary


def test_devfactory_run_sent_sigterm_stops_at_its_next_step_and_reports_resumable(
    database_url: str, tmp_path: Path
) -> None:
    env = cli_env(database_url, tmp_path)
    env["DEVFACTORY_TEST_HOLD_AT"] = "business-analysis report"  # the signal lands mid-call
    env["DEVFACTORY_REVIEW_REQUIRED"] = "false"
    out = tmp_path / "out"
    calls = tmp_path / "calls.log"
    proc = start(env, "run", TODO, "--out", str(out), "--json", "--no-input", "--unattended")
    deadline = time.monotonic() + 120
    while "business-analysis report" not in (calls.read_text() if calls.exists() else ""):
        assert proc.poll() is None and time.monotonic() < deadline, "the run never reached BA"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    (tmp_path / "calls.log.go").touch()  # the call under way ends after the signal
    code, stdout, stderr = finish(proc)
    assert code == 130, stderr
    report = json.loads(stdout)
    assert report["status"] == "INTERRUPTED"
    assert "received SIGTERM" in report["reason"]
    assert f"devfactory resume {report['run_id']}" in report["reason"]
    doc = json.loads((out / "run.json").read_text())
    assert doc["status"] == "INTERRUPTED" and doc["usage"]["total_tokens"] > 0
    assert [s["team"] for s in doc["stages"]] == ["business-analysis"]  # it stopped after it
    assert (out / "analysis" / "requirements.md").is_file()
    assert "INTERRUPTED" in (out / "SUMMARY.md").read_text()
    # the checkpoint is resumable: the run goes on from the next stage, and ends
    ba_calls = calls.read_text().count("business-analysis")
    code, stdout, stderr = run(env, "resume", report["run_id"], "--json", "--no-input")
    assert code == 0, stderr
    assert json.loads(stdout)["status"] == "COMPLETED"
    assert calls.read_text().count("business-analysis") == ba_calls  # not done again
    assert json.loads((out / "run.json").read_text())["status"] == "COMPLETED"


def test_a_run_whose_step_outlasts_the_grace_period_is_ended_at_once_and_still_reports(
    database_url: str, tmp_path: Path
) -> None:
    env = cli_env(database_url, tmp_path)
    env["DEVFACTORY_TEST_HOLD_AT"] = "business-analysis draft"  # it outlasts the grace period
    env["DEVFACTORY_STOP_GRACE_S"] = "1"
    out = tmp_path / "out"
    calls = tmp_path / "calls.log"
    proc = start(env, "run", TODO, "--out", str(out), "--json", "--no-input", "--unattended")
    deadline = time.monotonic() + 120
    while "business-analysis draft" not in (calls.read_text() if calls.exists() else ""):
        assert proc.poll() is None and time.monotonic() < deadline, "the run never reached BA"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    code, stdout, stderr = finish(proc)  # the call is held until the test lets it go: ...
    assert not (tmp_path / "calls.log.go").exists()  # ... it did not wait for the call to end
    assert code == 130, stderr
    assert "continue it with `devfactory resume" in stderr
    doc = json.loads((out / "run.json").read_text())
    assert doc["status"] == "INTERRUPTED"
    assert doc["reason"].startswith(
        "stopped: ended at once: the grace period of 1 s after SIGTERM ran out; "
    )
    assert [s["team"] for s in doc["stages"]] == []  # BA was under way: nothing of it saved
    assert doc["usage"]["total_tokens"] > 0  # governance's call, at least
    # its checkpoint is resumable: the run goes on from the step that was cut short
    quick = {k: v for k, v in env.items() if k != "DEVFACTORY_TEST_HOLD_AT"}
    code, stdout, stderr = run(quick, "resume", doc["run_id"], "--json", "--no-input")
    assert code == 0, stderr
    assert json.loads(stdout)["status"] == "COMPLETED"


def test_the_build_loop_past_the_time_cap_draws_no_more_and_its_best_version_is_kept(
    pg_settings: Settings, tmp_path: Path
) -> None:
    from tests.integration.test_build_loop import REQUIREMENT, RIGHT, script

    requirement = REQUIREMENT.replace(
        "one function `double(n: int) -> int` that returns\ntwice `n`.",
        "two functions: `double(n: int) -> int` returns twice `n`, and\n"
        "`triple(n: int) -> int` returns three times `n`.",
    )
    assert "triple" in requirement
    cap = 10
    first: list[float] = []

    def unit(call: Call) -> str:
        if call.path == "double":  # its first candidate comes back past the run's time cap
            time.sleep(max(0.0, first[0] + cap + 0.5 - time.monotonic()))
        return RIGHT

    def timed(call: Call) -> str:
        first[:] = first or [time.monotonic()]  # the drive began before its first call
        return script(unit)(call)

    out = tmp_path / "out"
    models = ScriptedModels(timed)
    settings = pg_settings.with_overrides(
        run_code=True, candidates=3, repair_rounds=1, run_deadline_s=cap
    )
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(requirement, pipeline="lean", out_dir=out))
    assert report.status == "FAILED"
    assert report.reason.startswith(f"time cap of {cap} s reached")
    asked = [c.path for c in models.chat.calls if c.kind == "unit"]
    assert asked == ["double"]  # one candidate, and nothing drawn for `triple`
    kept = (out / "doubler.py").read_text()  # the best version so far, in the folder
    assert "return n * 2" in kept and "def triple" in kept
    doc = json.loads((out / "run.json").read_text())
    [built] = [s for s in doc["stages"] if s["outcome"] == "BLOCKED"]
    assert built["reason"] == f"time cap of {cap} s reached"
    assert "doubler.py" in [a["path"] for a in built["result"]["artifacts"]]
    assert any("triple: not written: the run's time cap was reached" in r for r in built["repairs"])
