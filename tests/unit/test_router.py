"""Aliases resolve through the configured chain to what is reachable now."""

from __future__ import annotations

import httpx
import pytest
from langchain_ollama import ChatOllama

from devfactory.models import router as router_mod
from devfactory.models.router import ModelRouter, ModelsConfig, ModelUnavailableError
from devfactory.settings import Settings


def ollama(models: list[str] | None) -> httpx.Client:
    """An HTTP client whose Ollama has ``models`` pulled (None: server down)."""

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/tags"
        if models is None:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"models": [{"name": m} for m in models]})

    return httpx.Client(transport=httpx.MockTransport(handle))


@pytest.fixture
def no_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(router_mod, "embedded_available", lambda: False)


def test_ollama_serves_when_it_has_the_model(settings: Settings) -> None:
    router = ModelRouter(settings, http=ollama(["qwen2.5-coder:7b", "qwen2.5-coder:1.5b"]))
    resolved = router.resolve("factory/coder")
    assert resolved.label == "ollama:qwen2.5-coder:7b"
    assert isinstance(resolved.chat, ChatOllama)
    assert [f.label for f in resolved.fallbacks][:1] == ["ollama:qwen2.5-coder:1.5b"]


def test_a_model_missing_on_ollama_falls_through_the_chain(
    settings: Settings, no_embedded: None
) -> None:
    router = ModelRouter(settings, http=ollama(["qwen2.5-coder:1.5b:latest"]))
    assert router.resolve("factory/architect").label == "ollama:qwen2.5-coder:1.5b"


def test_nothing_reachable_is_a_clear_error(settings: Settings, no_embedded: None) -> None:
    router = ModelRouter(settings, http=ollama(None))
    with pytest.raises(ModelUnavailableError, match="no model can serve 'factory/fast'.*ollama"):
        router.resolve("factory/fast")


def test_model_chain_restricts_providers(settings: Settings, no_embedded: None) -> None:
    router = ModelRouter(
        settings.with_overrides(model_chain="embedded"), http=ollama(["qwen2.5-coder:7b"])
    )
    with pytest.raises(ModelUnavailableError):
        router.resolve("factory/coder")


def test_init_chat_model_providers_need_their_credentials(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, no_embedded: None
) -> None:
    config = ModelsConfig.model_validate(
        {
            "aliases": {
                alias: [{"provider": "openai", "model": "gpt-4o-mini"}]
                for alias in (
                    "factory/architect",
                    "factory/coder",
                    "factory/fast",
                    "factory/cheap",
                    "local/embed",
                )
            }
        }
    )
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    router = ModelRouter(settings, config, http=ollama(None))
    with pytest.raises(ModelUnavailableError):
        router.resolve("factory/fast")


def test_the_packaged_config_covers_every_alias(settings: Settings) -> None:
    config = ModelsConfig.load(settings)
    for alias in ("factory/architect", "factory/coder", "factory/fast", "factory/cheap"):
        assert config.aliases[alias][-1].provider == "embedded"  # offline always works
    assert config.aliases["local/embed"][0].kind == "embeddings"


def test_a_config_without_an_alias_is_refused() -> None:
    with pytest.raises(ValueError, match="no chain for alias 'factory/cheap'"):
        ModelsConfig.model_validate(
            {
                "aliases": {
                    a: [{"provider": "ollama", "model": "m"}]
                    for a in ("factory/architect", "factory/coder", "factory/fast", "local/embed")
                }
            }
        )


def test_ollama_host_without_scheme(settings: Settings) -> None:
    router = ModelRouter(settings.with_overrides(ollama_host="gpu-box:11434"))
    assert router.ollama_host == "http://gpu-box:11434"


def test_a_resolved_model_serves_as_many_calls_at_once_as_its_first_link(
    settings: Settings,
) -> None:
    router = ModelRouter(
        settings.with_overrides(ollama_num_parallel=3),
        http=ollama(["qwen2.5-coder:7b", "qwen2.5-coder:1.5b"]),
    )
    resolved = router.resolve("factory/coder")
    assert resolved.label.startswith("ollama:")
    assert resolved.parallel == 3
    assert resolved.fallbacks[0].parallel == 3
