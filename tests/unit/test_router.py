"""Aliases resolve through the configured chain to what is reachable now."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from langchain_ollama import ChatOllama
from pydantic import ValidationError

from devfactory.models import router as router_mod
from devfactory.models.aliases import CHAT_ALIASES
from devfactory.models.health import is_timeout
from devfactory.models.local_server import ServerError, state_folder
from devfactory.models.packaged import CODER, SMALL, PackagedModel
from devfactory.models.router import ModelRouter, ModelsConfig, ModelUnavailableError
from devfactory.models.server_chat import ServerChatModel, served_slots
from devfactory.settings import Settings
from tests.fake_llama_server import write_binary


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
    monkeypatch.setattr(router_mod, "embedded_available", lambda *_: False)


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


EMBEDDED = "embedded:qwen2.5-coder-0.5b-instruct-q4_k_m"


@pytest.fixture
def weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Fake embedded weights, served wherever a llama-server is built."""
    model = tmp_path / "weights.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setattr(router_mod, "embedded_available", lambda *_: True)
    monkeypatch.setattr(router_mod, "ensure_model_file", lambda data_dir, *_: model)
    yield model
    shutil.rmtree(state_folder(model), ignore_errors=True)


def broken_binary(tmp_path: Path) -> Path:
    """A llama-server that is built but cannot start."""
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\nexit 1\n")
    binary.chmod(0o755)
    return binary


def test_the_embedded_model_is_served_by_its_server_alone(
    settings: Settings, tmp_path: Path, weights: Path
) -> None:
    chosen = settings.with_overrides(
        embedded_server_binary=broken_binary(tmp_path),
        model_chain="embedded",
        embedded_server_slots=3,
    )
    router = ModelRouter(chosen, http=ollama(None))
    resolved = router.resolve("factory/fast")
    assert (resolved.label, resolved.fallbacks) == (EMBEDDED, ())  # no second copy of weights
    assert isinstance(resolved.chat, ServerChatModel)  # built; started at its first call
    assert served_slots(resolved.chat) == resolved.parallel == 3
    shown = [(r["model"], r["order"]) for r in router.view({}) if r["alias"] == "factory/fast"]
    assert shown[-1] == (EMBEDDED, 1)  # after Ollama's, unavailable


def served_alone(
    settings: Settings, tmp_path: Path, model: PackagedModel, **changes: object
) -> Settings:
    """Return ``settings`` with every chat alias served by ``model`` alone, on a server that
    cannot start, and ``changes``."""
    config = yaml.safe_load((files("devfactory.config") / "models.yaml").read_text())
    for alias in CHAT_ALIASES:
        config["aliases"][alias] = [{"provider": "embedded", "model": model.name}]
    (tmp_path / "models.yaml").write_text(yaml.safe_dump(config))
    return settings.with_overrides(
        embedded_server_binary=broken_binary(tmp_path),
        models_file=tmp_path / "models.yaml",
        **changes,
    )


@pytest.mark.parametrize(
    ("model", "setting", "penalty"),
    [
        (SMALL, None, SMALL.repeat_penalty),
        (CODER, None, CODER.repeat_penalty),
        (SMALL, 1.3, 1.3),
        (CODER, 1.05, 1.05),
    ],
)
def test_each_model_samples_with_its_own_repeat_penalty_unless_one_is_set(
    settings: Settings,
    tmp_path: Path,
    weights: Path,
    model: PackagedModel,
    setting: float | None,
    penalty: float,
) -> None:
    chosen = served_alone(settings, tmp_path, model, embedded_repeat_penalty=setting)
    resolved = ModelRouter(chosen, http=ollama(None)).resolve("factory/fast")
    assert isinstance(resolved.chat, ServerChatModel)
    assert resolved.chat._default_params["extra_body"]["repeat_penalty"] == penalty


@pytest.mark.parametrize("setting", [None, "declared", "sorted"])
@pytest.mark.parametrize("model", [SMALL, CODER])
def test_each_model_orders_an_answers_fields_its_own_way_unless_one_is_set(
    settings: Settings,
    tmp_path: Path,
    weights: Path,
    model: PackagedModel,
    setting: str | None,
) -> None:
    chosen = served_alone(settings, tmp_path, model, embedded_schema_order=setting)
    resolved = ModelRouter(chosen, http=ollama(None)).resolve("factory/coder")
    assert isinstance(resolved.chat, ServerChatModel)
    assert resolved.chat.schema_order == (setting or model.schema_order)


def test_the_schema_order_setting_takes_only_the_two_orders() -> None:
    assert Settings().serving.embedded_schema_order is None  # each model's own
    assert Settings(embedded_schema_order="declared").serving.embedded_schema_order == "declared"
    with pytest.raises(ValidationError):
        Settings(embedded_schema_order="reversed")  # type: ignore[arg-type]


def test_the_two_models_penalties_differ_as_measured() -> None:
    """Measured on dev cases (docs/quality.md): the 0.5B loops without one, the 1.5B loses with."""
    assert (SMALL.repeat_penalty, CODER.repeat_penalty) == (1.1, 1.0)


def test_the_repeat_penalty_is_bounded() -> None:
    assert Settings().serving.embedded_repeat_penalty is None  # each model's own
    assert Settings(embedded_repeat_penalty=1.0).serving.embedded_repeat_penalty == 1.0
    for bad in (0.99, 2.01):
        with pytest.raises(ValidationError):
            Settings(embedded_repeat_penalty=bad)


def test_without_a_built_server_the_embedded_model_is_unavailable(
    settings: Settings, tmp_path: Path
) -> None:
    chosen = settings.with_overrides(
        embedded_server_binary=tmp_path / "not-built", model_chain="embedded"
    )
    with pytest.raises(ModelUnavailableError, match="make setup"):
        ModelRouter(chosen, http=ollama(None)).resolve("factory/fast")


def test_a_live_servers_timeout_is_the_calls_failure(
    settings: Settings, tmp_path: Path, weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_DELAY_S", "3")  # a slot takes the call, then nothing for 3 s
    chosen = settings.with_overrides(
        embedded_server_binary=write_binary(tmp_path / "llama-server"),
        model_chain="embedded",
        model_call_timeout_s=1.0,
    )
    router = ModelRouter(chosen, http=ollama(None))
    resolved = router.resolve("factory/fast")
    assert isinstance(resolved.chat, ServerChatModel)
    try:
        with pytest.raises(Exception) as raised:
            resolved.plain().invoke("hello")
        assert is_timeout(raised.value)
        assert {h.label: h for h in router.health.snapshot()}[EMBEDDED].timeouts == 1
    finally:
        resolved.chat.server.stop()


def test_a_server_that_cannot_start_fails_the_call_saying_why(
    settings: Settings, tmp_path: Path, weights: Path
) -> None:
    chosen = settings.with_overrides(
        embedded_server_binary=broken_binary(tmp_path),
        model_chain="embedded",
        embedded_server_start_timeout_s=10.0,
    )
    router = ModelRouter(chosen, http=ollama(None))
    with pytest.raises(ServerError, match="model server"):
        router.resolve("factory/fast").plain().invoke("hello")
    assert {h.label: h for h in router.health.snapshot()}[EMBEDDED].errors == 1


def test_before_a_run_a_server_that_cannot_start_is_the_reason_no_model_serves(
    settings: Settings, tmp_path: Path, weights: Path
) -> None:
    chosen = served_alone(settings, tmp_path, SMALL, embedded_server_start_timeout_s=10.0)
    why = ModelRouter(chosen, http=ollama(None)).start_servers()
    assert why is not None and why.startswith("no model can serve 'factory/")
    assert f"{EMBEDDED}: the model server" in why


def test_before_a_run_an_alias_goes_on_to_the_next_model_past_a_server_that_cannot_start(
    settings: Settings, tmp_path: Path, weights: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = yaml.safe_load((files("devfactory.config") / "models.yaml").read_text())
    behind = [{"provider": "embedded", "model": SMALL.name}, {"provider": "ollama", "model": "m"}]
    for alias in CHAT_ALIASES:
        config["aliases"][alias] = behind
    (tmp_path / "models.yaml").write_text(yaml.safe_dump(config))
    chosen = settings.with_overrides(
        embedded_server_binary=broken_binary(tmp_path),
        models_file=tmp_path / "models.yaml",
        embedded_server_start_timeout_s=10.0,
    )
    router = ModelRouter(chosen, http=ollama(["m"]))
    assert router.start_servers() is None  # Ollama serves every alias
    assert "goes on to the next model of its chain" in caplog.text
    assert caplog.text.count(f"{EMBEDDED}: the model server") == len(CHAT_ALIASES)


CODER_15B = "embedded:qwen2.5-coder-1.5b-instruct-q4_k_m"


def test_an_embedded_model_or_draft_no_package_carries_is_refused_in_the_config() -> None:
    chains = {
        a: [{"provider": "ollama", "model": "m"}]
        for a in ("factory/architect", "factory/fast", "factory/cheap", "local/embed")
    }
    for link, why in (
        ({"provider": "embedded", "model": "qwen2.5-coder-7b"}, "no embedded model is called"),
        ({"provider": "embedded", "model": CODER_15B.split(":")[1], "draft": "tiny"},
         "not another packaged model"),
        ({"provider": "ollama", "model": "m", "draft": "qwen2.5-coder-0.5b-instruct-q4_k_m"},
         "only an embedded chat model takes a draft"),
    ):  # fmt: skip
        with pytest.raises(ValueError, match=why):
            ModelsConfig.model_validate({"aliases": {**chains, "factory/coder": [link]}})


def test_the_defaults_try_the_1_5b_before_the_0_5b_where_judgement_counts(
    settings: Settings,
) -> None:
    preset = Path(router_mod.__file__).parent.parent / "config" / "models-0.5b.yaml"
    small = ModelsConfig.load(settings.with_overrides(models_file=preset))
    config = ModelsConfig.load(settings)
    for alias in ("factory/coder", "factory/architect", "factory/fast", "factory/cheap"):
        embedded = [e.label for e in small.aliases[alias] if e.provider == "embedded"]
        assert embedded == [EMBEDDED]  # the 0.5B preset keeps every alias on the 0.5B
    for alias in ("factory/coder", "factory/architect"):
        embedded = [e for e in config.aliases[alias] if e.provider == "embedded"]
        assert [e.label for e in embedded] == [CODER_15B, EMBEDDED]
        assert embedded[0].draft is None  # it lost on 2 cores (bench/speculative.json)
    for alias in ("factory/fast", "factory/cheap"):
        assert [e.label for e in config.aliases[alias] if e.provider == "embedded"] == [EMBEDDED]
    for alias, chain in config.aliases.items():  # Ollama stays first where it is reachable
        assert chain[0].provider == "ollama", alias


def test_each_embedded_model_is_its_own_server_and_a_corrupt_one_leaves_the_other(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each model file gets its own server plan (the 1.5B with its draft); corrupt weights of
    the 1.5B leave the 0.5B serving the coder alias."""
    from devfactory.models.packaged import CODER, SMALL, EmbeddedModelError

    files = {SMALL.name: tmp_path / "small.gguf", CODER.name: tmp_path / "coder.gguf"}
    for path in files.values():
        path.write_bytes(b"GGUF")
    binary = write_binary(tmp_path / "llama-server")
    broken: set[str] = set()

    def weights(data_dir: Path, model: Any = SMALL) -> Path:
        if model.name in broken:
            raise EmbeddedModelError(f"{model.title}: the joined file's SHA-256 is wrong")
        return files[model.name]

    monkeypatch.setattr(router_mod, "embedded_available", lambda *_: True)
    monkeypatch.setattr(router_mod, "ensure_model_file", weights)
    drafted = {"provider": "embedded", "model": CODER.name, "draft": SMALL.name}
    chains = ModelsConfig.load(settings).model_dump()["aliases"]
    for alias in ("factory/coder", "factory/architect"):
        chains[alias] = [drafted if e["model"] == CODER.name else e for e in chains[alias]]
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump({"aliases": chains}))
    chosen = settings.with_overrides(
        embedded_server_binary=binary, model_chain="embedded", models_file=models
    )
    router = ModelRouter(chosen, http=ollama(None))
    resolved = router.resolve("factory/coder")
    assert resolved.label == CODER_15B
    assert [f.label for f in resolved.fallbacks] == [EMBEDDED]
    plan = resolved.chat.server.plan  # type: ignore[attr-defined]
    assert (plan.model, plan.draft) == (files[CODER.name], files[SMALL.name])
    assert "--model-draft" in plan.command(tmp_path / "s.sock")
    assert router.embedded_servers() == [(CODER, SMALL), (SMALL, None)]
    plain = ModelRouter(chosen.with_overrides(embedded_speculative=False), http=ollama(None))
    assert plain.resolve("factory/coder").chat.server.plan.draft is None  # type: ignore[attr-defined]

    broken.add(CODER.name)
    fresh = ModelRouter(chosen, http=ollama(None)).resolve("factory/coder")
    assert fresh.label == EMBEDDED  # the 0.5B serves the alias: the chain goes on
    for path in files.values():
        for draft in (None, files[SMALL.name]):
            shutil.rmtree(state_folder(path, draft=draft), ignore_errors=True)
