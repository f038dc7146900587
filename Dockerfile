# The studio's image: the API and UI (`studio serve`), the CLI and the migrations.
# Built by `docker compose build` (see compose.yaml); runs as a non-root user on port 8000.

# Build the wheel apart, so the image holds the installed package and no sources.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# README.md is the package's readme (pyproject); migrations/ ships inside the wheel.
COPY pyproject.toml README.md ./
COPY graph ./graph
COPY agents ./agents
COPY adapters ./adapters
COPY api ./api
COPY engine ./engine
COPY store ./store
COPY people ./people
COPY telemetry ./telemetry
COPY migrations ./migrations
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STUDIO_HOME=/data
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin studio \
    && mkdir -p /data \
    && chown studio:studio /data
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels

USER studio
WORKDIR /home/studio
VOLUME ["/data"]
EXPOSE 8000
# python:3.11-slim has no curl; the standard library is enough for one GET.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ok', timeout=4)"]
CMD ["studio", "serve", "--host", "0.0.0.0", "--port", "8000"]
