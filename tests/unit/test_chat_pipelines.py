"""The chat offers every pipeline in ``pipelines/``: ``lean`` too, none typed out by hand."""

from __future__ import annotations

from devfactory.chat.chainlit_app import pipeline_select
from devfactory.pipelines import available_pipelines, load_pipeline


def test_the_chat_offers_every_packaged_pipeline_lean_included_mvp_chosen_first() -> None:
    select = pipeline_select().to_dict()  # what Chainlit sends to the browser
    assert select["id"] == "pipeline"
    offered = [item["value"] for item in select["items"]]
    assert offered == list(available_pipelines())
    assert {"lean", "mvp", "full"} <= set(offered)
    assert select["initial"] == "mvp"
    for name in offered:
        assert f"{name}: {len(load_pipeline(name).teams)} teams" in select["description"]


def test_the_initial_choice_is_the_first_pipeline_when_the_default_is_gone() -> None:
    first = available_pipelines()[0]
    assert pipeline_select(default="no-such-pipeline").to_dict()["initial"] == first
