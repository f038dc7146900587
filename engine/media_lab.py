"""The Media Lab of one process: its backend (ComfyUI or embedded), stores, job service, limits.

`media_services` is built with the studio (the `media` graph's runs get it as their context);
`MediaLab` wraps it with the run manager once the engine runs, for the HTTP API and the CLI.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.assets import AssetStore
from adapters.media_lab.probe import UploadLimits
from adapters.media_lab.protocol import MediaLab as MediaBackend
from engine.media_jobs import ASSISTANT, MediaJobs
from engine.settings import Settings
from graph.media_state import MediaServices
from people import accounts
from people.errors import LimitReached
from people.limits import UserLimits, check_generations, running_runs
from store.database import Pool
from store.media_jobs import MediaJobStore
from store.media_presets import PresetStore, builtin_versions
from store.uploads import UploadStore

if TYPE_CHECKING:
    from engine.manager import RunManager

logger = logging.getLogger("studio.media")
MEDIA_ASSISTANT = ASSISTANT
"""The `media` graph's id: runs of this assistant execute the Media Lab graph."""
_JOBS_UNFINISHED = """
    SELECT count(*)::int AS n FROM media_jobs j JOIN runs r ON r.run_id = j.run_id
    WHERE j.owner = %s AND r.status IN ('pending', 'running')
"""


def build_backend(settings: Settings) -> MediaBackend | None:
    """ComfyUI's Media Lab when `COMFYUI_URL` names a server (None: the embedded CPU one)."""
    urls = settings.comfyui_urls
    if not urls:
        logger.info("media lab: embedded (CPU: Pillow, OpenCV optical flow, PyAV)")
        return None
    from adapters.media_lab.comfyui import ComfyUIMediaLab

    logger.info("media lab: ComfyUI at %s (embedded where the server lacks the nodes)", urls[0])
    return ComfyUIMediaLab(urls[0], token=settings.comfyui_token)


def media_services(assets: AssetStore, backend: MediaBackend | None = None) -> MediaServices:
    """The `media` graph's services on the studio's database and asset folder (the embedded
    backend unless another is given)."""
    if backend is None:
        from adapters.media_lab.embedded import EmbeddedMediaLab

        backend = EmbeddedMediaLab()
    return MediaServices(
        lab=backend,
        uploads=UploadStore(assets.pool, assets.root),
        jobs=MediaJobStore(assets.pool, assets.root),
        presets=PresetStore(assets.pool),
        assets=assets,
    )


@dataclass(frozen=True)
class MediaLab:
    """The Media Lab as the HTTP API and the CLI use it."""

    jobs: MediaJobs
    services: MediaServices
    max_upload_bytes: int
    limits: UploadLimits
    """What an upload may be (pixels, duration, frames, fps), checked by content."""
    quotas: UserLimits
    """The per-user defaults (`STUDIO_LIMIT_*`); a user's own override them."""

    @classmethod
    async def open(
        cls, manager: RunManager, services: MediaServices, settings: Settings
    ) -> MediaLab:
        """The lab on the run engine: the code's built-in presets are merged in first, and the
        engine hands it the Media Lab requests said in studio threads."""
        await services.presets.merge_builtins(builtin_versions())
        limits = UploadLimits(
            max_bytes=settings.media_max_upload_bytes,
            max_pixels=settings.media_max_pixels,
            max_duration_s=settings.media_max_duration_s,
        )
        quotas = settings.user_limits
        jobs = MediaJobs(manager, services)
        lab = cls(jobs, services, settings.media_max_upload_bytes, limits, quotas)
        from engine.media_chat import ThreadMediaRequests  # it names this class

        chat = ThreadMediaRequests(lab, manager.log, settings.media_lab)
        manager.runner.on_media_request = chat
        return lab

    async def check_quota(self, user_id: str) -> None:
        """A job counts as a generation (`daily_generations`, with the user's studio images: the
        ledger counts it when the job is recorded) and as a run (`concurrent_runs`);
        `LimitReached` (429) past either."""
        pool = self.services.jobs.pool
        limits = self.quotas.for_user(await accounts.user_by_id(pool, user_id))
        await check_generations(pool, user_id, limits.daily_generations)
        if limits.concurrent_runs > 0:
            running = await running_runs(pool, user_id) + await _count(
                pool, _JOBS_UNFINISHED, user_id
            )
            if running >= limits.concurrent_runs:
                raise LimitReached(
                    f"Run limit reached: {limits.concurrent_runs} runs and media jobs at once; "
                    "one must finish (or be cancelled) first",
                    retry_after=30,
                    limit="concurrent_runs",
                )


async def _count(pool: Pool, query: str, user_id: str) -> int:
    async with pool.connection() as conn:
        row = await (await conn.execute(query, [user_id])).fetchone()
    return int(row["n"]) if row else 0
