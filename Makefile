# devfactory: `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin

# llama.cpp is compiled for any x86-64 with AVX2 (never -march=native).
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
export UV_LINK_MODE ?= copy
export LANGGRAPH_CLI_NO_ANALYTICS := 1

EVAL_ARGS ?=
DEMO_ARGS ?=

.PHONY: help setup system-deps demo chat test test-unit test-integration test-e2e test-browser lint format config-doc graph bench bench-memory eval clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# --compile-bytecode: the packages are installed compiled, so no command compiles them as it starts
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode
	@touch $@

# llama.cpp's own server, from the sources the locked llama-cpp-python sdist vendors (uv's
# cache, else the registry, checked against uv.lock), and the sdist's grammar converter; a
# stamp makes a second run instant, and a changed build script runs again.
$(BIN)/llama-server: $(VENV)/.synced devfactory/models/server_build.py
	UV_CACHE_DIR="$${UV_CACHE_DIR:-$$($(UV) cache dir 2>/dev/null)}" $(BIN)/python -m devfactory.models.server_build
	@touch $@

system-deps: ## Install Graphviz (PNG graphs), Chromium (browser tests) and bubblewrap (the sandbox) from Debian when missing.
	@missing=""; command -v dot >/dev/null || missing="graphviz"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -x /usr/bin/bwrap ] || missing="$$missing bubblewrap"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing from Debian:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: install$$missing (apt-get install$$missing): PNG graphs, browser tests and the sandbox need them"; fi; fi

setup: $(VENV)/.synced $(BIN)/llama-server system-deps ## Create .venv from uv.lock and build llama-server (llama.cpp compiled once).

demo: setup ## Build a small command line from a ticket (config/demo_requirement.md), unattended on the lean pipeline; exits non-zero, saying why, unless the run COMPLETED.
	$(BIN)/devfactory models
	$(BIN)/devfactory demo $(DEMO_ARGS)

# The tests that decode with the real model run alone after the rest (their model slows 3-4x
# beside busy processes); the rest run on TEST_WORKERS processes, a file to a worker.
TEST_WORKERS ?= 2

test: setup ## Run every test: unit, integration (real Postgres) and e2e (real model); TEST_WORKERS=2 processes share the tests that need no model.
	$(BIN)/pytest -m "not alone" -n $(TEST_WORKERS) --dist loadfile; rest=$$?; \
	$(BIN)/pytest -m alone; alone=$$?; \
	exit $$(( rest != 0 ? rest : alone ))

test-unit: setup ## Unit tests only (no network, scripted model).
	$(BIN)/pytest tests/unit

test-integration: setup ## Integration tests (embedded Postgres or DATABASE_URL).
	$(BIN)/pytest tests/integration

test-e2e: setup ## End-to-end tests (CLI, real embedded model).
	$(BIN)/pytest tests/e2e

test-browser: setup ## Browser tests of the chat (Debian chromium, headless; screenshots in test-output/).
	$(BIN)/pytest tests/browser

chat: setup ## Serve the chat on http://127.0.0.1:8000 (add people first: devfactory users add).
	$(BIN)/devfactory chat

lint: setup ## ruff and mypy.
	$(BIN)/ruff check devfactory tests bench eval
	$(BIN)/ruff format --check devfactory tests bench eval
	$(BIN)/mypy devfactory

format: setup ## Apply ruff's formatting and fixes.
	$(BIN)/ruff check --fix devfactory tests bench eval
	$(BIN)/ruff format devfactory tests bench eval

config-doc: setup ## Regenerate docs/configuration.md from the settings' own descriptions.
	$(BIN)/python -c "from devfactory.settings.reference import reference; open('docs/configuration.md', 'w').write(reference())"

graph: setup ## Regenerate docs/graph-*.mmd from the pipelines.
	$(BIN)/devfactory graph --pipeline mvp -o docs/graph-mvp.mmd
	$(BIN)/devfactory graph --pipeline full -o docs/graph-full.mmd

bench: setup ## Speed targets beside their references (CLI, API, workers, per stage, model wrapper, model server) into docs/performance.md; BENCH_ARGS="--quick --no-model --with-case".
	$(BIN)/python -m bench.suite --docs docs/performance.md $(BENCH_ARGS)

bench-memory: setup ## Memory benchmark: recall p50/p95 at 10k and 100k memories, recall@10, embedder speed.
	$(BIN)/python -m bench.memory_bench --sizes 10000 100000 --queries 200 --out bench/memory.json

eval: setup ## Score the factory's builds with hidden acceptance tests (docs/quality.md); EVAL_ARGS="--split holdout --with-baseline" adds one call of the same model per case, "--reference" self-tests.
	$(BIN)/python -m eval.run $(EVAL_ARGS)

clean: ## Remove the virtualenv and build outputs (keeps ~/.devfactory).
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache out
