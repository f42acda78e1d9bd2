# devfactory image: the CLI, API and workers, and the embedded model (docker-compose.yml).
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake graphviz git bubblewrap \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
ENV CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/venv PATH="/opt/venv/bin:$PATH" \
    DEVFACTORY_DATA_DIR=/data
COPY pyproject.toml uv.lock README.md ./
COPY devfactory ./devfactory
# llama.cpp's own llama-server, as `make setup` builds it: from the sources the locked
# llama-cpp-python sdist vendors (locked, never installed: downloaded from the registry
# and checked against uv.lock), with the same CMAKE_ARGS, installed beside the
# interpreter (/opt/venv/bin/llama-server). Its sources, build tree and uv's cache are
# not kept; the stamp is. Every process of a container shares one server.
RUN uv sync --frozen --no-dev --compile-bytecode \
    && UV_CACHE_DIR="$(uv cache dir)" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
       python -m devfactory.models.server_build --lock uv.lock \
    && /opt/venv/bin/llama-server --version \
    && rm -rf /opt/venv/.llama-server-build/src /opt/venv/.llama-server-build/build \
    && uv cache clean
# run folders live in /data/runs/<run-id> (DEVFACTORY_RUNS_DIR), beside the users file
VOLUME ["/data"]
ENTRYPOINT ["devfactory"]
CMD ["--help"]
