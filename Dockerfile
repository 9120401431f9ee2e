# One image for the Dagster code server, webserver and daemon (see docker-compose.yml).
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 DAGSTER_HOME=/opt/dagster/home TDM_HOME=/data
WORKDIR /opt/tdm
RUN pip install uv==0.13.9
COPY pyproject.toml requirements.lock README.md ./
RUN uv pip install --system --compile-bytecode -r requirements.lock
COPY tdm ./tdm
COPY assets ./assets
COPY resources ./resources
COPY pipelines ./pipelines
COPY schemas ./schemas
RUN uv pip install --system --compile-bytecode --no-deps . \
    && python -c "from tdm.masking.strategies import warm_up; warm_up()" \
    && mkdir -p "$DAGSTER_HOME" /data
COPY deploy/dagster.yaml deploy/workspace.yaml /opt/dagster/home/
