"""The chat's app root: sign-in by user name, and an avatar of its own for each speaker."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

from devfactory.chat import avatars
from devfactory.chat import offline_assets as frontend
from devfactory.teams import load_teams
from devfactory.users import Person


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chat")
    frontend.build(root)
    return root


@pytest.mark.parametrize("language", ["en-US", "de-DE", "fr-FR"])
def test_the_sign_in_form_asks_for_a_user_name_in_every_language(root: Path, language: str) -> None:
    served = root / ".chainlit" / "translations" / f"{language}.json"
    form = json.loads(served.read_text("utf-8"))["auth"]["login"]["form"]
    assert form["email"]["label"] == "User name"
    assert form["email"]["placeholder"] == "your user name"
    assert "email" not in form["email"]["required"].lower()
    assert form["password"]["label"]  # the rest of Chainlit's translation is kept


def test_every_chainlit_translation_is_written(root: Path) -> None:
    shipped = {p.name for p in (frontend.chainlit_package() / "translations").glob("*.json")}
    written = {p.name for p in (root / ".chainlit" / "translations").glob("*.json")}
    assert shipped and written == shipped


def test_each_team_and_the_moderator_has_an_avatar_of_its_own(root: Path) -> None:
    folder = root / "public" / "avatars"
    authors = [avatars.author_name(s.name) for s in load_teams().values()] + ["Moderator"]
    fills = set()
    for author in authors:
        # the file Chainlit's /avatars/<author> route looks up
        (svg,) = folder.glob(f"{avatars.avatar_id(author)}.*")
        fills.add(re.search(r'fill="(hsl[^"]+)"', svg.read_text("utf-8")).group(1))  # type: ignore[union-attr]
    assert len(fills) == len(authors) == 18


@pytest.mark.parametrize(
    ("name", "author"),
    [
        ("Backend Engineering", "Backend Engineering"),
        ("DevOps / Infrastructure", "DevOps - Infrastructure"),
        ("Compliance & Legal", "Compliance and Legal"),
    ],
)
def test_an_author_name_is_one_chainlit_can_fetch_an_avatar_for(name: str, author: str) -> None:
    assert avatars.author_name(name) == author
    assert re.fullmatch(r"[a-z0-9_-]+", avatars.avatar_id(author))


def test_a_name_chainlit_cannot_route_is_refused_an_avatar_id() -> None:
    with pytest.raises(ValueError, match="author_name"):
        avatars.avatar_id("UX / UI Design")


class Said:
    """A chat message as Chainlit would send it: only its author and text are kept."""

    sent: list[Said] = []

    def __init__(self, content: str = "", author: str = "Assistant", **kwargs: Any) -> None:
        self.content, self.author = content, author

    async def stream_token(self, token: str, is_sequence: bool = False) -> None:
        self.content = token if is_sequence else self.content + token

    async def send(self) -> Said:
        Said.sent.append(self)
        return self


class Step:
    """A Chainlit step that shows nothing."""

    def __init__(self, **kwargs: Any) -> None:
        self.output = ""

    async def __aenter__(self) -> Step:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class Replying:
    """A model that answers every prompt with the same two chunks."""

    async def astream(self, messages: list[Any]) -> AsyncIterator[AIMessageChunk]:
        for token in ("We would ", "do it."):
            yield AIMessageChunk(content=token)


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch) -> list[Said]:
    """Run the chat's conversations without Chainlit, a database or a model server."""
    from devfactory.chat import conversations

    session: dict[str, Any] = {}
    monkeypatch.setattr(Said, "sent", [])
    monkeypatch.setattr(conversations.cl, "Message", Said)
    monkeypatch.setattr(conversations.cl, "Step", Step)
    monkeypatch.setattr(
        conversations.cl,
        "user_session",
        SimpleNamespace(get=session.get, set=session.__setitem__),
    )
    factory = SimpleNamespace(models_for=lambda alias: Replying(), model_source=lambda: None)
    monkeypatch.setattr(conversations, "hub", lambda: SimpleNamespace(factory=factory))
    monkeypatch.setattr(conversations, "_memory", lambda: None)
    monkeypatch.setattr(conversations, "_owners", lambda person: None)
    return Said.sent


def test_every_team_speaks_in_the_chat_under_a_name_with_an_avatar_file(
    root: Path, chat: list[Said], monkeypatch: pytest.MonkeyPatch
) -> None:
    from devfactory.chat import conversations

    specs = list(load_teams().values())
    person = Person(name="alice", role="operator")
    for spec in specs:  # each team's own chat
        asyncio.run(conversations.team_chat(spec.slug, "How would you start?", person=person))
    alone = [said.author for said in chat]
    chat.clear()
    # a group discussion over every team, each round's speaker the next team
    rounds = conversations.settings.service.chat_group_rounds
    order = iter(specs)
    monkeypatch.setattr(
        conversations,
        "chosen",
        lambda key, default: {"teams": [s.slug for s in specs], "rounds": rounds}.get(key, default),
    )
    monkeypatch.setattr(
        conversations.talk,
        "choose_speaker",
        lambda *args, **kwargs: conversations.talk.Turn(next(order).slug, "", "next"),
    )
    asyncio.run(conversations.group_chat("How would you start?", person=person))
    *spoken, closing = chat
    assert "discussion ended" in closing.content
    together = [said.author for said in spoken]
    assert alone == [avatars.author_name(spec.name) for spec in specs]
    assert together == [*alone[:rounds], avatars.MODERATOR]
    assert any(author != spec.name for author, spec in zip(alone, specs, strict=True))
    folder = root / "public" / "avatars"
    for author in {*alone, *together}:
        assert len(list(folder.glob(f"{avatars.avatar_id(author)}.*"))) == 1, author
