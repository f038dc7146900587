"""Process settings, read once at startup from the environment (and `.env`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from graph.budgets import SessionDefaults
from graph.state import ROLES
from people.limits import (
    DEFAULT_CONCURRENT_RUNS,
    DEFAULT_DAILY_GENERATIONS,
    DEFAULT_RATE_PER_MINUTE,
    UserLimits,
)


def default_home() -> Path:
    """`$XDG_DATA_HOME/creative-studio`, else `~/.local/share/creative-studio`."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "creative-studio"


class Settings(BaseSettings, SessionDefaults):
    """Every setting the studio reads. Nothing else reads `os.environ`. The session defaults
    (STUDIO_MAX_ROUNDS, the thresholds, the budgets, STUDIO_GENERATOR_WAIT_S) are the fields
    of `SessionDefaults`, declared there once."""

    model_config = SettingsConfigDict(
        env_prefix="STUDIO_", env_file=".env", extra="ignore", frozen=False
    )

    home: Path = Field(default_factory=default_home)
    """STUDIO_HOME: data dir for the embedded Postgres and the asset store."""
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    """DATABASE_URL: a real Postgres; unset means the embedded one (pgserver) under `home`."""
    ollama_url: str | None = Field(None, validation_alias="OLLAMA_URL")
    """OLLAMA_URL: talk to Ollama; unset means the built-in offline model."""
    comfyui_url: str | None = Field(None, validation_alias="COMFYUI_URL")
    """COMFYUI_URL: generate through ComfyUI; unset means the built-in renderer. A
    comma-separated list of URLs is a pool: each job goes to the least busy server that can be
    reached (see `comfyui_urls`)."""
    comfyui_token: str | None = Field(None, validation_alias="COMFYUI_TOKEN")
    """COMFYUI_TOKEN: optional bearer token sent to ComfyUI (HTTP and websocket)."""
    tts_url: str | None = Field(None, validation_alias="TTS_URL")
    """TTS_URL: a TTS server speaking OpenAI's `POST /v1/audio/speech` for video voices;
    unset means eSpeak NG, bundled in its wheel (offline)."""
    tts_model: str = "tts-1"
    """STUDIO_TTS_MODEL: the model asked of the TTS server."""
    tts_voice: str = "alloy"
    """STUDIO_TTS_VOICE: the TTS server's voice unless a thread names one (settings.video.voice)."""
    default_models: dict[str, str] = Field(
        default_factory=lambda: {
            str(role): "gemma3" if role == "critic" else "llama3.2" for role in ROLES
        }
    )
    """STUDIO_DEFAULT_MODELS (JSON): Ollama model per role id (`llama3.2`, the critic `gemma3`)."""
    llm_timeout_s: float = 120.0
    """STUDIO_LLM_TIMEOUT_S: per-request timeout for Ollama (never infinite)."""
    llm_num_ctx: int = 8192
    """STUDIO_LLM_NUM_CTX: context window (tokens) asked of every Ollama model."""
    llm_retry_attempts: int = 3
    """STUDIO_LLM_RETRY_ATTEMPTS: tries per Ollama call (connection errors, 5xx, broken streams)."""
    llm_retry_backoff_s: float = 1.0
    """STUDIO_LLM_RETRY_BACKOFF_S: first pause between those tries (doubles, with jitter)."""
    offline_seed: int = 7
    """STUDIO_OFFLINE_SEED: seed of the built-in offline model."""
    offline_token_delay_s: float = 0.0
    """STUDIO_OFFLINE_TOKEN_DELAY_S: pause per token of the offline model (demos, tests)."""
    render_stage_delay_s: float = 0.0
    """STUDIO_RENDER_STAGE_DELAY_S: pause per drawing stage of the built-in renderer."""
    generation_concurrency: int = 2
    """STUDIO_GENERATION_CONCURRENCY: images generated at once per process."""
    api_key: str | None = None
    """STUDIO_API_KEY: when set, creating a thread over HTTP needs it (header `X-Api-Key`) as
    well as a signed-in creator or admin."""
    public_url: str | None = None
    """STUDIO_PUBLIC_URL: the address people open the studio at (`https://studio.example.org`),
    used in the one-time sign-in links `studio users add|reset` print; unset: the address
    `studio serve` listens on."""
    trusted_user_header: str | None = None
    """STUDIO_TRUSTED_USER_HEADER: the request header in which a trusted reverse proxy (SSO)
    names the signed-in user (`X-Forwarded-User`); unset: no header is trusted. Only set it
    when every request reaches the studio through that proxy, which sets (and never passes on)
    the header. A name seen for the first time becomes a creator."""
    limit_rate_per_minute: int = Field(DEFAULT_RATE_PER_MINUTE, ge=0)
    """STUDIO_LIMIT_RATE_PER_MINUTE: API calls that change something (any method but GET)
    per user per minute (0: no limit). An admin overrides it per user."""
    limit_concurrent_runs: int = Field(DEFAULT_CONCURRENT_RUNS, ge=0)
    """STUDIO_LIMIT_CONCURRENT_RUNS: runs pending or running at once per user (0: no limit)."""
    limit_daily_generations: int = Field(DEFAULT_DAILY_GENERATIONS, ge=0)
    """STUDIO_LIMIT_DAILY_GENERATIONS: generations a user may make per day (UTC): their
    threads' images and their Media Lab jobs, before new work waits for midnight (0: no limit)."""
    interject_grace_s: float = 10.0
    """STUDIO_INTERJECT_GRACE_S: how long an interjection lets the running node finish."""
    allowed_hosts: str = "localhost,127.0.0.1,::1"
    """STUDIO_ALLOWED_HOSTS: the host names the HTTP API answers (comma-separated; `*.x.org`
    for subdomains, `*` for any): others get 403, so a page on another site that resolves its
    name to this machine (DNS rebinding) cannot reach the studio. Add the names a proxy or
    other machines use to reach it."""
    max_body_bytes: int = Field(1_048_576, ge=1024)
    """STUDIO_MAX_BODY_BYTES: the largest request body the HTTP API reads (413 past it)."""
    max_run_log_bytes: int = Field(32 * 1_048_576, ge=65_536)
    """STUDIO_MAX_RUN_LOG_BYTES: what one run may write to the event log; past it only the
    essential events (messages, phases, gates, assets, notices, errors, its end) are kept."""
    media_lab: Literal["admins", "creators"] = "admins"
    """STUDIO_MEDIA_LAB: who may use the Media Lab (its page and every `/media` route):
    `admins` (the default) or `creators` too; viewers never."""
    media_max_upload_bytes: int = Field(256 * 1_048_576, ge=1024)
    """STUDIO_MEDIA_MAX_UPLOAD_BYTES: the largest Media Lab upload, streamed to disk (413 past
    it); the other request bodies keep STUDIO_MAX_BODY_BYTES."""
    media_max_pixels: int = Field(50_000_000, ge=1)
    """STUDIO_MEDIA_MAX_PIXELS: the most pixels (width x height) an uploaded image may have."""
    media_max_duration_s: float = Field(600.0, gt=0)
    """STUDIO_MEDIA_MAX_DURATION_S: the longest video the Media Lab takes."""
    log_format: Literal["text", "json"] = "text"
    """STUDIO_LOG_FORMAT: `text` (human lines) or `json` (one object per line, with the
    request, thread, run, node, iteration and user each line concerns). Secrets are redacted
    in both."""
    metrics_token: str | None = None
    """STUDIO_METRICS_TOKEN: when set, `GET /metrics` needs it as `Authorization: Bearer`;
    unset, `/metrics` answers only loopback clients that did not come through a proxy."""
    cors_origins: str = ""
    """STUDIO_CORS_ORIGINS: origins (comma-separated, e.g. `https://app.example.org`) whose
    pages may call the API from the browser, with credentials; empty (the default) turns CORS
    off; `*` lets any origin read answers, never with credentials."""
    otel_exporter_otlp_endpoint: str | None = Field(
        None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    """OTEL_EXPORTER_OTLP_ENDPOINT: an OTLP/HTTP collector's base URL (`http://host:4318`);
    when set, each run's nodes, model calls and image jobs are exported as traces to
    `/v1/traces`. Unset: no traces."""
    otel_service_name: str = Field("creative-studio", validation_alias="OTEL_SERVICE_NAME")
    """OTEL_SERVICE_NAME: the `service.name` the traces carry."""
    prometheus_multiproc_dir: Path | None = Field(None, validation_alias="PROMETHEUS_MULTIPROC_DIR")
    """PROMETHEUS_MULTIPROC_DIR: where the processes of one server write their metrics, so
    `/metrics` from any of them covers all (prometheus-client's multiprocess mode). `studio
    serve --workers N` sets it to a fresh directory for its workers; leave it unset otherwise."""

    @property
    def user_limits(self) -> UserLimits:
        """Every user's limits unless an admin set their own (`STUDIO_LIMIT_*`)."""
        return UserLimits(
            rate_per_minute=self.limit_rate_per_minute,
            concurrent_runs=self.limit_concurrent_runs,
            daily_generations=self.limit_daily_generations,
        )

    @property
    def allowed_host_names(self) -> list[str]:
        """`allowed_hosts` as a list."""
        return [name.strip() for name in self.allowed_hosts.split(",") if name.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        """`cors_origins` as origins, without trailing slashes."""
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip("/ ")]

    @property
    def comfyui_urls(self) -> list[str]:
        """The ComfyUI servers `COMFYUI_URL` names, in order (empty: the built-in renderer)."""
        return [url.strip() for url in (self.comfyui_url or "").split(",") if url.strip()]
