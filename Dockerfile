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
RUN uv sync --frozen --no-dev --compile-bytecode
# run folders live in /data/runs/<run-id> (DEVFACTORY_RUNS_DIR), beside the users file
VOLUME ["/data"]
ENTRYPOINT ["devfactory"]
CMD ["--help"]
