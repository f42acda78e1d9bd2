"""The chat's parts that need no browser: people and passwords, rendering, talk helpers."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from devfactory.chat import run_steps as runs
from devfactory.chat import talk
from devfactory.chat.view import pause_markdown, stage_markdown
from devfactory.control.hitl import Pause
from devfactory.teams import load_teams
from devfactory.users import Person, UserError, UserStore


def test_people_sign_in_with_their_password_and_role(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.yaml")
    store.add("alice", "correct horse battery", "approver")
    assert store.verify("alice", "correct horse battery") == store.people()[0]
    assert store.verify("alice", "wrong horse battery") is None
    assert store.verify("mallory", "correct horse battery") is None
    text = (tmp_path / "users.yaml").read_text()
    assert "correct horse" not in text and "$argon2id$" in text  # only a salted hash is kept
    assert stat.S_IMODE((tmp_path / "users.yaml").stat().st_mode) == 0o600
    store.add("alice", "a new password here", "viewer")  # replacing changes password and role
    assert store.verify("alice", "correct horse battery") is None
    assert store.verify("alice", "a new password here").role == "viewer"  # type: ignore[union-attr]
    assert stat.S_IMODE((tmp_path / "users.yaml").stat().st_mode) == 0o600
    assert store.remove("alice") and not store.remove("alice")


@pytest.mark.parametrize(
    ("name", "password", "role", "error"),
    [
        ("bob", "short", "operator", "at least 12"),
        ("bob", "password123456", "operator", "too easy to guess"),
        ("bob", "long enough, surely", "owner", "unknown role"),
        ("bob smith", "long enough, surely", "operator", "a name is"),
    ],
)
def test_bad_people_are_refused(
    tmp_path: Path, name: str, password: str, role: str, error: str
) -> None:
    with pytest.raises(UserError, match=error):
        UserStore(tmp_path / "users.yaml").add(name, password, role)


def test_a_stage_step_shows_model_status_confidence_claims_checks_and_files() -> None:
    copied = (
        "- Imports are only the standard library, the plan's dependencies"
        " and the plan's own modules"
    )
    record = {
        "team": "backend-engineering",
        "outcome": "PASSED",
        "model": "embedded:qwen",
        "attempts": 2,
        "usage": {"input_tokens": 10, "output_tokens": 5},
        "seconds": 1.5,
        "checks": [
            {"name": "tests", "command": "pytest -q", "exit_code": 0, "passed": 12},
            {"name": "run", "command": "", "summary": "code not run: run_code is off"},
        ],
        "result": {
            "confidence": 0.91,
            "assumptions_made": ["one region", "titles are unique", copied],
            "verified_facts": ["titles are unique", copied],
            "artifacts": [{"path": "src/backend/app.py"}],
        },
    }
    text = stage_markdown(record, load_teams())
    for part in (
        "**Backend Engineering** · PASSED · confidence 0.91",
        "model `embedded:qwen` · 2 attempt(s) · 10/5 tokens · 1.5 s",
        "**Verified by checks**\n\n- tests: 12 passed (pytest, sandboxed)\n\n",
        "**Claims (not verified)**\n\n- titles are unique\n- one region (assumed)\n\n",
        "➖ `run: not run (code not run: run_code is off)`",
        "- `src/backend/app.py`",
    ):
        assert part in text
    assert "**Verified facts**" not in text and "**Assumptions**" not in text
    assert "Imports are only" not in text  # copied from the team's acceptance criteria


def test_a_pause_tells_a_person_without_the_role_who_may_answer() -> None:
    pause = Pause(
        kind="governance",
        title="HIGH risk",
        question="approve?",
        actions=("approve", "reject", "modify"),
        roles=("approver", "admin"),
    )
    assert "needs one of: approver, admin" in pause_markdown("r1", pause, "operator")
    assert "needs one of" not in pause_markdown("r1", pause, "approver")


def test_sources_are_cited_by_number() -> None:
    sources = [talk.Source(1, "r1", "backend-engineering", "a"), talk.Source(2, "r2", "qa", "b")]
    assert talk.cited("as [2] says", sources) == [sources[1]]
    assert talk.cited("no citation", sources) == sources


def test_a_chat_starting_again_does_not_list_the_run_its_first_message_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page replaced its socket while olga's first message started a run: one question shown."""
    started: set[str] = set()
    sent: list[str] = []
    attached: list[str] = []
    open_row = SimpleNamespace(
        run_id="r-new", status="PAUSED", shown_status="PAUSED", requirement="a clinic", owner="olga"
    )
    waiting = SimpleNamespace(run_id="r-new", pause=SimpleNamespace(roles=("operator",)))

    meanwhile = ["r-new"]

    def list_runs(limit: int, owner: str) -> list[SimpleNamespace]:
        started.update(meanwhile)  # the first message's start_run returns while the list is read
        return [open_row]

    factory = SimpleNamespace(
        list_runs=list_runs, pending=lambda: [waiting], get=lambda run_id: open_row
    )

    class Message:
        def __init__(self, content: str, **_: object) -> None:
            self.content = content

        async def send(self) -> None:
            sent.append(self.content)

    async def attach(person: Person, run_id: str) -> None:
        attached.append(run_id)

    monkeypatch.setattr(runs, "hub", lambda: SimpleNamespace(factory=factory))
    monkeypatch.setattr(runs, "started_here", lambda: started)
    monkeypatch.setattr(runs, "policy", lambda: None)
    monkeypatch.setattr(runs, "may_see_run", lambda person, owner, rules: True)
    monkeypatch.setattr(runs, "attach", attach)
    monkeypatch.setattr(runs.cl, "Message", Message)
    asyncio.run(runs.show_open_runs(Person("olga", "operator")))
    assert (sent, attached) == ([], [])
    meanwhile.clear()  # a run started elsewhere (another session) is listed once, as before
    started.clear()
    asyncio.run(runs.show_open_runs(Person("olga", "operator")))
    assert attached == ["r-new"] and len(sent) == 1 and "r-new" in sent[0]
