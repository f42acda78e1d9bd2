"""Links planted in a finished run's folder lead every reader nowhere.

A run's folder is written by a model, by the code it ran and by whoever owns a
repository given to ``--repo``. Here, after a real run (real Postgres, the
scripted model), the names that the readers read (``SUMMARY.md``, ``run.json``,
every published artifact, the paths Project Q&A quotes) are replaced by links
to files outside the run: a secret of the data directory (``audit.key``) and a
root-only (0600) file, one of them behind a linked folder. Then every reader is
called (the API over HTTP, the console's diffs, the chat's attachments, Project
Q&A, the purge) and not one byte of either file comes back, and nothing outside
the run is removed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from fastapi.testclient import TestClient

from devfactory.api.app import create_app
from devfactory.chat import talk
from devfactory.chat.view import artifact_files
from devfactory.factory.artifacts import published_paths
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.runfiles import MAX_DEPTH
from devfactory.settings import Settings
from devfactory.users import UserStore
from tests.fakes import ScriptedModels

TODO = "A REST API for a personal todo list"
ROOT_ONLY = b"ROOT-ONLY: the host's most private line\n"


@dataclass
class Planted:
    """A finished run whose folder now holds links to two files outside it."""

    factory: Factory
    http: TestClient
    admin: dict[str, str]
    run_id: str
    out: Path
    records: list[dict[str, object]]
    published: list[str]  # the run's published artifacts, each now a link or behind one
    secrets: list[bytes]  # what no reader may return: the data directory's key, a 0600 file
    outside: Path


def leaked(secrets: list[bytes], data: bytes | str) -> bool:
    """Say whether any line of any secret appears in ``data``."""
    raw = data.encode() if isinstance(data, str) else data
    return any(line and line in raw for secret in secrets for line in secret.splitlines())


@pytest.fixture
def planted(pg_settings: Settings, tmp_path: Path, database_url: str) -> Iterator[Planted]:
    store = UserStore.of(pg_settings)
    key = store.create_key("root", "admin")[1]
    out = tmp_path / "out"
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        report = factory.start(StartRequest(TODO, out_dir=out))
        assert report.status == "COMPLETED"
        records = [r.model_dump(mode="json") for r in report.records]
        published = sorted({p for r in report.records for p in published_paths(out, r)})
        assert "analysis/requirements.md" in published and len(published) > 3
        key_file = pg_settings.storage.data_dir / "audit.key"
        outside = tmp_path / "outside"
        outside.mkdir()
        root_only = outside / "shadow"
        root_only.write_bytes(ROOT_ONLY)
        root_only.chmod(0o600)
        # a folder of links: "analysis" becomes a link to it, so its files lie behind one
        (outside / "analysis").mkdir()
        for path in published:
            if path.startswith("analysis/"):
                (outside / path).parent.mkdir(parents=True, exist_ok=True)
                os.symlink(root_only, outside / path)
        shutil.rmtree(out / "analysis")
        (out / "analysis").symlink_to(outside / "analysis", target_is_directory=True)
        for path in published:
            if not path.startswith("analysis/"):
                (out / path).unlink()
                (out / path).symlink_to(root_only)
        for name, target in (("SUMMARY.md", key_file), ("run.json", root_only)):
            (out / name).unlink()
            (out / name).symlink_to(target)
        with psycopg.connect(database_url, autocommit=True) as conn:  # ready to be purged
            conn.execute(
                "UPDATE devfactory_runs SET archived_at = now() WHERE run_id = %s",
                (report.run_id,),
            )
        with TestClient(create_app(pg_settings, factory=factory)) as http:
            yield Planted(
                factory,
                http,
                {"Authorization": f"Bearer {key}"},
                report.run_id,
                out,
                records,
                published,
                [key_file.read_bytes(), ROOT_ONLY],
                outside,
            )


def test_the_api_lists_and_serves_none_of_the_linked_files(planted: Planted) -> None:
    http, run = planted.http, planted.run_id
    listed = http.get(f"/runs/{run}/artifacts", headers=planted.admin)
    assert listed.status_code == 200
    names = {f["path"] for f in listed.json()["files"]}
    assert not names & {"SUMMARY.md", "run.json", *planted.published}
    for path in ["SUMMARY.md", "run.json", *planted.published]:
        got = http.get(f"/runs/{run}/artifacts/{path}", headers=planted.admin)
        assert got.status_code == 400 and "link" in got.json()["error"]["message"], (path, got)
        assert not leaked(planted.secrets, got.content)


def test_the_console_s_diffs_show_what_was_committed_not_what_a_link_points_at(
    planted: Planted,
) -> None:
    got = planted.http.get(f"/console/api/runs/{planted.run_id}/diffs", headers=planted.admin)
    assert got.status_code == 200
    diffs = got.json()["stages"]
    assert diffs and any("requirements.md" in s["diff"] for s in diffs)  # the history is shown
    assert not leaked(planted.secrets, got.content)


def test_the_chat_attaches_nothing_a_link_points_at_and_says_what_it_left_out(
    planted: Planted,
) -> None:
    found = artifact_files(planted.out, planted.records, file_limit=1 << 20, total_limit=1 << 22)
    assert not any(leaked(planted.secrets, data) for _, data in found.attached)
    left_out = dict(found.left_out)
    assert {"SUMMARY.md", "run.json", *planted.published} <= set(left_out)
    assert "symbolic link" in left_out["SUMMARY.md"]
    assert "symbolic link" in left_out["analysis/requirements.md"]  # behind a linked folder


def test_project_questions_quote_no_linked_file(planted: Planted) -> None:
    memory = planted.factory.memory
    sources = talk.project_sources(
        memory,
        project="default",
        run_ids={planted.run_id},
        out_dirs={planted.run_id: str(planted.out)},
        teams=[str(r["team"]) for r in planted.records],
        owners=None,
        question="What are the requirements and the architecture of the todo list API?",
        k=50,
        threshold=-1.0,
    )
    quoted = [s.text for s in sources if s.text.split(":", 1)[0] in planted.published]
    assert quoted  # artifact memories naming the planted paths were among the sources
    assert not any(leaked(planted.secrets, s.text) for s in sources)


def test_a_purge_reads_no_linked_run_json_and_removes_nothing_outside(planted: Planted) -> None:
    done = planted.factory.purge(planted.run_id, by="root", role="admin")
    assert done["folder"].startswith("kept ")  # its run.json is a link: not this run's proof
    assert (planted.outside / "shadow").read_bytes() == ROOT_ONLY
    assert sorted(p.name for p in planted.outside.iterdir()) == ["analysis", "shadow"]
    assert (
        planted.factory.settings.storage.data_dir / "audit.key"
    ).read_bytes() == planted.secrets[0]


def test_a_purge_removes_a_deep_tree_and_no_file_a_link_in_it_points_at(
    pg_settings: Settings, tmp_path: Path, database_url: str
) -> None:
    out = tmp_path / "out"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me\n")
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        run_id = factory.start(StartRequest(TODO, out_dir=out)).run_id
        (out / "vendor").symlink_to(outside, target_is_directory=True)
        (out / "notes.md").symlink_to(outside / "precious")
        fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
        for _ in range(1100):  # deeper than Python's recursion limit: shutil.rmtree raised
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        os.symlink(outside, "up", dir_fd=fd)
        os.close(fd)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE devfactory_runs SET archived_at = now() WHERE run_id = %s", (run_id,)
            )
        done = factory.purge(run_id, by="root", role="admin")
    assert done["folder"] == f"deleted {out}"
    assert not out.exists() and not out.is_symlink()
    assert sorted(p.name for p in outside.iterdir()) == ["precious"]
    assert (outside / "precious").read_text() == "keep me\n"


def test_the_api_serves_a_file_up_to_its_cap_and_lists_up_to_its_cap(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(run_file_max_bytes=64 * 1024, run_files_listed=100)
    key = UserStore.of(settings).create_key("root", "admin")[1]
    admin = {"Authorization": f"Bearer {key}"}
    out = tmp_path / "out"
    with Factory(settings, models=ScriptedModels()) as factory:
        run_id = factory.start(StartRequest(TODO, out_dir=out)).run_id
        (out / "at-cap.txt").write_bytes(b"a" * (64 * 1024))
        (out / "past-cap.txt").write_bytes(b"a" * (64 * 1024 + 1))
        with TestClient(create_app(settings, factory=factory)) as http:
            served = http.get(f"/runs/{run_id}/artifacts/at-cap.txt", headers=admin)
            refused = http.get(f"/runs/{run_id}/artifacts/past-cap.txt", headers=admin)
            whole = http.get(f"/runs/{run_id}/artifacts", headers=admin).json()
            (out / "many").mkdir()
            for n in range(120):
                (out / "many" / f"{n:03}.txt").write_text("x")
            capped = http.get(f"/runs/{run_id}/artifacts", headers=admin).json()
    assert served.status_code == 200 and len(served.content) == 64 * 1024
    assert refused.status_code == 413 and "65536" in refused.json()["error"]["message"]
    assert not whole["more"] and "at-cap.txt" in {f["path"] for f in whole["files"]}
    assert capped["more"] and len(capped["files"]) < 100


def test_the_api_lists_only_what_it_serves_and_counts_what_it_left_out(
    pg_settings: Settings, tmp_path: Path
) -> None:
    """Issue 58 item 13 (c, d): nothing left out silently; nothing listed that is not served.

    A file too deep to list is counted; a file whose name holds a newline, a
    carriage return or a bidirectional control is neither listed (counted
    instead) nor served, however its URL escapes the name.
    """
    key = UserStore.of(pg_settings).create_key("root", "admin")[1]
    admin = {"Authorization": f"Bearer {key}"}
    out = tmp_path / "out"
    unsafe = ["two\nlines.txt", "carriage\rreturn.txt", "evil\u202etxt.exe"]
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        run_id = factory.start(StartRequest(TODO, out_dir=out)).run_id
        with TestClient(create_app(pg_settings, factory=factory)) as http:
            before = http.get(f"/runs/{run_id}/artifacts", headers=admin).json()
            deepest = out.joinpath(*["deep"] * (MAX_DEPTH + 1))
            deepest.mkdir(parents=True)
            (deepest / "too-deep.txt").write_text("x")
            os.mkfifo(out / "pipe")
            for name in unsafe:
                (out / name).write_text("served nowhere\n")
            after = http.get(f"/runs/{run_id}/artifacts", headers=admin).json()
            served = {
                name: http.get(f"/runs/{run_id}/artifacts/{quote(name)}", headers=admin)
                for name in unsafe
            }
            plain = http.get(f"/runs/{run_id}/artifacts/run.json", headers=admin)
    assert before["left_out"] == {"deep_folders": 0, "not_regular": 0, "unsafe_names": 0}
    assert after["left_out"] == {"deep_folders": 1, "not_regular": 1, "unsafe_names": 3}
    listed = {f["path"] for f in after["files"]}
    assert listed == {f["path"] for f in before["files"]}  # none of the new ones
    assert plain.status_code == 200 and "run.json" in listed
    for name, got in served.items():
        assert got.status_code == 404, (name, got.status_code)
        assert b"served nowhere" not in got.content
    message = served["carriage\rreturn.txt"].json()["error"]["message"]
    assert "control or invisible character" in message
