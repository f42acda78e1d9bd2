"""The immutable audit log on real Postgres: what it records, what it refuses, what it detects."""

from __future__ import annotations

import stat
from pathlib import Path

import psycopg
import pytest

from devfactory.control.hitl import Decision
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from tests.fakes import ScriptedModels, answer_pending

MEDICAL = "Store patient medical records for a clinic"


@pytest.fixture
def approved_run(pg_settings: Settings, tmp_path: Path) -> str:
    """A HIGH-risk run approved by a person and completed."""
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        paused = factory.start(StartRequest(MEDICAL, out_dir=tmp_path / "out"))
        decision = Decision(action="approve", text="consent on file", by="alice", role="approver")
        done = answer_pending(factory, paused.run_id, decision)
    assert done.status == "COMPLETED"
    return done.run_id


def test_a_run_leaves_a_complete_intact_chain(pg_settings: Settings, approved_run: str) -> None:
    with Factory(pg_settings) as factory:
        events = factory.audit.events(approved_run)
        transitions = factory.transitions(approved_run)
        verified = factory.audit.verify(approved_run)
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_created" and events[0].payload["requirement"] == MEDICAL
    assert kinds.count("governance") == 1
    assert kinds.count("transition") == len(transitions) == 9  # review is off in these tests
    assert kinds.count("task_result") == kinds.count("usage") == 5
    [decision] = [e for e in events if e.kind == "decision"]
    assert decision.actor == "alice (approver)"
    assert decision.payload["action"] == "approve" and decision.payload["pause"] == "governance"
    # the transitions appear in the log in the order the state machine recorded them
    logged = [(e.payload["from"], e.payload["to"]) for e in events if e.kind == "transition"]
    assert logged == [(t.from_phase.value, t.to_phase.value) for t in transitions]
    # every link points at the one before it
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    assert verified.ok and verified.rows == len(events)


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE devfactory_audit SET actor = 'mallory' WHERE seq = 2", "UPDATE"),
        ("DELETE FROM devfactory_audit WHERE seq = 2", "DELETE"),
        ("TRUNCATE devfactory_audit", "TRUNCATE"),
    ],
)
def test_the_database_refuses_to_change_the_log(
    database_url: str, approved_run: str, statement: str, operation: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        before = conn.execute("SELECT count(*) FROM devfactory_audit").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
            conn.execute(statement)
        assert f"devfactory_audit is append-only: {operation} refused" in str(refused.value)
        after = conn.execute("SELECT count(*) FROM devfactory_audit").fetchone()
        assert before == after


def _tamper(database_url: str, sql: str) -> None:
    """Change the log the way only a superuser could: with its triggers switched off."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE devfactory_audit DISABLE TRIGGER USER")
        conn.execute(sql)
        conn.execute("ALTER TABLE devfactory_audit ENABLE TRIGGER USER")


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        (
            "UPDATE devfactory_audit SET body = replace(body, 'consent on file', 'no consent')"
            " WHERE kind = 'decision'",
            "content does not match its hash",
        ),
        (
            "UPDATE devfactory_audit SET actor = 'mallory (approver)' WHERE kind = 'decision'",
            "content does not match its hash",
        ),
        ("DELETE FROM devfactory_audit WHERE kind = 'decision'", "a row is missing"),
    ],
)
def test_a_tampered_chain_is_caught_at_the_exact_row(
    pg_settings: Settings, database_url: str, approved_run: str, sql: str, problem: str
) -> None:
    with Factory(pg_settings) as factory:
        target = next(e.seq for e in factory.audit.events(approved_run) if e.kind == "decision")
        _tamper(database_url, sql)
        verified = factory.audit.verify(approved_run)
    assert not verified.ok
    assert verified.broken_at == target
    assert problem in verified.problem


def test_rewriting_a_row_and_its_hash_is_caught_at_the_next_row(
    pg_settings: Settings, database_url: str, approved_run: str
) -> None:
    with Factory(pg_settings) as factory:
        events = factory.audit.events(approved_run)
        decision = next(e for e in events if e.kind == "decision")
        _tamper(
            database_url,
            f"UPDATE devfactory_audit SET hash = repeat('f', 64) WHERE run_id = '{approved_run}'"
            f" AND seq = {decision.seq}",
        )
        verified = factory.audit.verify(approved_run)
    assert verified.broken_at == decision.seq  # its own hash no longer matches its content
    assert "content does not match its hash" in verified.problem


def test_full_text_search_replays_what_happened(
    pg_settings: Settings, approved_run: str, tmp_path: Path
) -> None:
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        other = factory.start(
            StartRequest("A REST API for a personal todo list", out_dir=tmp_path / "two")
        )
        hits = factory.audit.search('"consent on file"')
        medical = factory.audit.search("patient records")
        scoped = factory.audit.search("business analysis", run_id=other.run_id)
        nothing = factory.audit.search("zeppelin")
    # the decision, and the two transitions it caused, quote the approver's words
    assert sorted(h.kind for h in hits) == ["decision", "transition", "transition"]
    assert {(h.run_id, h.actor) for h in hits} == {(approved_run, "alice (approver)")}
    assert all("«consent»" in h.snippet for h in hits)
    assert {h.run_id for h in medical} == {approved_run}
    assert scoped and {h.run_id for h in scoped} == {other.run_id}
    assert nothing == []


def test_appending_is_idempotent_by_key_and_chains_per_run(pg_settings: Settings) -> None:
    with Factory(pg_settings) as factory:
        log = factory.audit
        first = log.append("r-a", "note", {"n": 1}, actor="t", key="k1")
        again = log.append("r-a", "note", {"n": 1}, actor="t", key="k1")
        other = log.append("r-b", "note", {"n": 1}, actor="t")
        second = log.append("r-a", "note", {"n": 2}, actor="t")
    assert first is not None and again is None
    assert other is not None and other.seq == 1 and other.prev_hash == "0" * 64
    assert second is not None and second.seq == 2 and second.prev_hash == first.hash


# -- what the factory's own database role may do, and what the key and anchors catch ----------


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("UPDATE devfactory_audit SET actor = 'mallory'", "permission denied for table"),
        ("DELETE FROM devfactory_audit", "permission denied for table"),
        ("TRUNCATE devfactory_audit", "permission denied for table"),
        ("ALTER TABLE devfactory_audit DISABLE TRIGGER USER", "must be owner of table"),
        ("DROP TABLE devfactory_audit", "must be owner of table"),
        ("DELETE FROM devfactory_runs", "permission denied for table"),  # runs stay, too
        ("TRUNCATE devfactory_runs", "permission denied for table"),
    ],
)
def test_the_factorys_own_role_may_only_insert_and_select_audit_rows(
    pg_settings: Settings, approved_run: str, statement: str, refusal: str
) -> None:
    with Factory(pg_settings) as factory:
        assert factory.database.separated
        with psycopg.connect(factory.dsn, autocommit=True) as conn:
            role = conn.execute("SELECT current_user").fetchone()
            assert role is not None and role[0] == factory.database.role != "postgres"
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match=refusal):
                conn.execute(statement)
        assert factory.audit.verify(approved_run).ok


def test_a_chain_rewritten_whole_without_the_key_is_caught(
    pg_settings: Settings, database_url: str, approved_run: str
) -> None:
    from devfactory.memory.audit import link_hash

    with Factory(pg_settings) as factory:
        events = factory.audit.events(approved_run)
        target = next(e.seq for e in events if e.kind == "decision")
        # the attacker rewrites the decision and recomputes every link after it, the way
        # the unkeyed chain was made: consistent links, but not under the factory's key
        prev, rows = events[target - 2].hash, []
        for e in events[target - 1 :]:
            body = e.body.replace("consent on file", "no consent needed")
            link = link_hash(b"a guessed key", prev, e.run_id, e.seq, e.kind, e.actor, e.at, body)
            rows.append((body, prev, link, e.seq))
            prev = link
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("ALTER TABLE devfactory_audit DISABLE TRIGGER USER")
            for body, prev_hash, link, seq in rows:
                conn.execute(
                    "UPDATE devfactory_audit SET body = %s, prev_hash = %s, hash = %s"
                    " WHERE run_id = %s AND seq = %s",
                    (body, prev_hash, link, approved_run, seq),
                )
            conn.execute("ALTER TABLE devfactory_audit ENABLE TRIGGER USER")
        verified = factory.audit.verify(approved_run)
    assert not verified.ok and verified.broken_at == target
    assert "content does not match its hash" in verified.problem


@pytest.mark.parametrize(("cut", "seen"), [(3, "the log ends at event"), (None, "ends at event 0")])
def test_events_cut_off_the_end_or_all_of_them_are_caught_by_the_anchor(
    pg_settings: Settings, database_url: str, approved_run: str, cut: int | None, seen: str
) -> None:
    with Factory(pg_settings) as factory:
        total = len(factory.audit.events(approved_run))
        keep = 0 if cut is None else total - cut
        _tamper(
            database_url,
            f"DELETE FROM devfactory_audit WHERE run_id = '{approved_run}' AND seq > {keep}",
        )
        verified = factory.audit.verify(approved_run)
    assert not verified.ok and verified.broken_at == keep + 1
    assert "events were removed" in verified.problem and seen in verified.problem
    assert f"its anchor records {total}" in verified.problem


def test_the_chain_key_is_kept_outside_the_database(
    pg_settings: Settings, database_url: str, approved_run: str
) -> None:
    key_file = pg_settings.storage.data_dir / "audit.key"
    assert key_file.is_file() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    with psycopg.connect(database_url, autocommit=True) as conn:
        dump = conn.execute("SELECT string_agg(body || hash, '') FROM devfactory_audit").fetchone()
    assert dump is not None and key not in dump[0]
    other = pg_settings.with_overrides(data_dir=pg_settings.storage.data_dir.parent / "elsewhere")
    with Factory(other) as factory:  # another key cannot vouch for this chain
        wrong = factory.audit.verify(approved_run)
    assert not wrong.ok and wrong.broken_at == 1


def test_a_run_row_deleted_by_the_owner_is_caught_from_the_log_itself(
    pg_settings: Settings, database_url: str, approved_run: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:  # the owner role still can
        conn.execute("DELETE FROM devfactory_runs WHERE run_id = %s", (approved_run,))
    with Factory(pg_settings) as factory:
        verified = factory.verify_audit(approved_run)
        with pytest.raises(LookupError, match="no run"):
            factory.verify_audit("19990101-000000-000000")  # nothing at all: no such run
    assert not verified.ok and verified.row_deleted and verified.broken_at is None
    assert verified.rows > 10  # every event still verifies from the log and its anchor
    assert "row was deleted from the runs table" in verified.problem
