"""Bad input gets a clear error and loses nothing.

Hostile text, bad arguments, links planted in a run's folder, a lost database.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedModels, always_good, good_report
from tests.integration.cli import cli_env, run

CLINIC = "A REST API for a clinic's patient notes"
MARKUP = (
    "A todo list [/x] [bold]shouting[/bold] \x1b[31mred\x1b[0m \x07 :thumbs_up:"
    " \u202egnp.exe\u202c \u2066isolated\u2069"  # bidirectional controls (Trojan Source)
)
BIDI = ("\u202e", "\u202c", "\u2066", "\u2069")


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(database_url, tmp_path)


def runs_in(settings: Settings) -> int:
    with Factory(settings) as factory:
        return len(factory.list_runs(100))


def test_text_that_looks_like_markup_or_escapes_is_shown_as_written_everywhere(
    env: dict[str, str], tmp_path: Path
) -> None:
    requirement = f"{MARKUP} for the {CLINIC.lower()}"  # HIGH risk: it waits for a person
    code, out, err = run(env, "run", requirement, "--no-input", "--out", str(tmp_path / "o"))
    assert code == 6, err
    run_id = out.split("PAUSED run ", 1)[1].split()[0]
    reads = {
        "list": run(env, "list"),
        "status": run(env, "status", run_id),
        "pending": run(env, "pending"),
        "audit show": run(env, "audit", "show", run_id),
        "audit search": run(env, "audit", "search", "shouting"),
    }
    for command, (code, out, err) in reads.items():
        assert code == 0, f"{command}: {err}"
        assert "\x1b" not in out and "\x07" not in out, command  # no terminal escapes
        assert not any(c in out for c in BIDI), command  # nothing reorders what is read
    for command in ("list", "status", "pending", "audit show"):  # the text as written
        assert "[/x]" in reads[command][1], command
    assert "[bold]shouting[/bold]" in reads["status"][1]
    assert "«shouting»" in reads["audit search"][1]
    assert "<U+202E>gnp.exe<U+202C>" in reads["status"][1]  # shown, so a reader sees the trick


def test_a_budget_past_any_real_cap_is_refused_before_a_run_exists(
    env: dict[str, str], pg_settings: Settings
) -> None:
    code, _, err = run(env, "run", "A todo list", "--budget-tokens", str(2**63 + 1))
    assert code == 2 and "--budget-tokens" in err and "Traceback" not in err
    assert runs_in(pg_settings) == 0


def test_arguments_that_are_not_utf8_are_refused_with_the_reason(
    env: dict[str, str], pg_settings: Settings
) -> None:
    code, _, err = run(env, "run", b"A todo list \xff\xfe")
    assert code == 2 and "not valid UTF-8" in err
    assert "Traceback" not in err and "resume" not in err
    assert runs_in(pg_settings) == 0


def test_an_output_folder_that_is_a_file_is_refused_before_a_run_exists(
    env: dict[str, str], pg_settings: Settings, tmp_path: Path
) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("mine\n")
    code, _, err = run(env, "run", "A todo list", "--out", str(taken))
    assert code == 2 and "as the run's folder" in err and "Traceback" not in err
    assert taken.read_text() == "mine\n" and runs_in(pg_settings) == 0


def test_a_database_that_is_not_there_exits_4_with_the_reason(env: dict[str, str]) -> None:
    closed = make_conninfo(env["DATABASE_URL"], host="127.0.0.1", port="9")
    code, _, err = run({**env, "DATABASE_URL": closed}, "list")
    assert code == 4 and "could not connect to Postgres" in err and "Traceback" not in err


def test_a_database_that_stops_mid_run_exits_4_and_the_run_resumes_later(
    env: dict[str, str], pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    stopping = {
        **env,
        "DEVFACTORY_TEST_STOP_DB_AT": "solution-architecture",
        "DEVFACTORY_TEST_ADMIN_DSN": database_url,
        "DEVFACTORY_REVIEW_REQUIRED": "false",
        "DEVFACTORY_RUN_LEASE_SECONDS": "5",
    }
    code, _, err = run(stopping, "run", "A todo list", "--no-input", "--out", str(tmp_path / "o"))
    assert code == 4, err
    assert "the database is unavailable" in err and "Traceback" not in err
    name = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(make_conninfo(database_url, dbname="postgres"), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    with Factory(pg_settings) as factory:
        [row] = factory.list_runs(1)
        assert row.shown_status == "INTERRUPTED"  # its driver is gone: anyone may resume it
    resumed = run({**env, "DEVFACTORY_REVIEW_REQUIRED": "false"}, "resume", row.run_id)
    assert resumed[0] == 0 and "COMPLETED" in resumed[1], resumed[2]


def test_nul_bytes_and_hostile_json_from_a_model_never_crash_a_run(
    pg_settings: Settings, tmp_path: Path
) -> None:
    def script(call: Call) -> str:
        if call.team == "business-analysis" and call.kind == "report" and call.n == 0:
            return "{" * 50_000  # invalid output: retried
        if call.team == "business-analysis" and call.kind == "report" and call.n == 1:
            return json.dumps({"confidence": int("9" * 4000)})  # past Python's digit limit
        if call.team == "business-analysis" and call.kind == "report":
            facts = ["Todos have\x00 a title"]
            return json.dumps(good_report(call.spec, verified_facts=facts))
        if call.kind == "draft":
            return always_good(call) + "\x00\n"
        return always_good(call)

    with Factory(
        pg_settings.with_overrides(max_parse_retries=2), models=ScriptedModels(script)
    ) as f:
        report = f.start(StartRequest("A todo list API", out_dir=tmp_path / "out"))
        memories = f.search_memory(
            "team:business-analysis", "what does a todo have?", k=5, threshold=0.0
        )
    assert report.status == "COMPLETED"
    assert any("Todos have a title" in m.text for m in memories)  # stored, without the NUL
    assert "\x00" not in (tmp_path / "out" / "analysis" / "requirements.md").read_text()


def test_links_in_the_run_folder_are_never_followed_and_no_record_is_lost(
    pg_settings: Settings, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").symlink_to(outside / "precious.txt")
    (out / "analysis").symlink_to(outside, target_is_directory=True)
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        report = factory.start(StartRequest("A todo list API", out_dir=out))
        events = factory.audit_events(report.run_id)
        verified = factory.verify_audit(report.run_id)
    assert report.status == "COMPLETED"  # the state is in Postgres; files are refused, not fatal
    assert verified.ok
    assert (outside / "precious.txt").read_text() == "keep me\n"
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
    refused = [e.payload for e in events if e.kind == "notice"]
    assert any(n["kind"] == "artifact_refused" and "analysis" in n["message"] for n in refused), (
        refused
    )
    assert any("run.json" in n["message"] for n in refused), refused
    kinds = [e.kind for e in events]
    assert kinds.count("task_result") == kinds.count("usage") == 5  # every stage recorded
