"""What the protocol lacks: a thread's outputs, its assets, the agents' timeline, settings."""

from __future__ import annotations

import base64
import json
from typing import Any, cast

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from langchain_core.messages import BaseMessage

from adapters.assets import SUFFIXES, AssetRecord
from adapters.errors import InvalidInput, NotFound
from api.http import callers
from api.http.audit_trail import audit
from api.http.deps import ServicesDep, ThreadDep, may_read_asset
from api.http.media_access import check_references
from engine.inputs import MAX_OFFSET, SettingsPatch
from graph import variants
from graph.state import PERSONAS, ROLES, StudioState, valid_settings
from people.client_tokens import bearer
from people.grants import has_signature

router = APIRouter(tags=["studio"])


def _cursor(record: AssetRecord) -> str:
    key = json.dumps([record.created_at.isoformat(), record.id])
    return base64.urlsafe_b64encode(key.encode()).decode()


def _after(cursor: str) -> tuple[str, str]:
    try:
        created, asset_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(created), str(asset_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor: not a cursor this API returned") from exc


def output_json(record: AssetRecord, critique: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "asset_id": record.id,
        "url": f"/assets/{record.id}",
        "content_type": record.content_type,
        "width": record.width,
        "height": record.height,
        "deliverable": record.deliverable,
        "iteration": record.iteration,
        "created_at": record.created_at.isoformat(),
        "lineage": {
            "job_id": record.job_id,
            "attempt": record.attempt,
            "seed": record.seed,
            "generator": record.generator,
            "spec": record.spec,
            "recipe": record.recipe,
            "sha256": record.sha256,
        },
        "scores": {
            **record.scores,
            **({"score": critique["score"], "reasons": critique["reasons"]} if critique else {}),
        },
        "verdict": record.verdict,
    }


@router.get("/threads/{thread_id}/outputs")
async def list_outputs(
    thread: ThreadDep,
    svc: ServicesDep,
    deliverable: str | None = None,
    iteration: int | None = Query(None, ge=0, le=MAX_OFFSET),
    cursor: str | None = None,
    limit: int = Query(20, ge=1, le=200),
) -> dict[str, Any]:
    """The thread's images, oldest first, with lineage and scores; `next_cursor` pages on."""
    tid = thread["thread_id"]
    records = await svc.studio.context.assets.list_thread(
        tid, deliverable=deliverable, iteration=iteration
    )
    values = (await svc.studio.graph.aget_state(svc.studio.config(tid))).values or {}
    if cursor:
        after = _after(cursor)
        records = [r for r in records if (r.created_at.isoformat(), r.id) > after]
    page = records[:limit]
    critiques = {c["asset_id"]: c for c in values.get("critiques", [])}
    # the state is the truth about which variant is current: a run from an earlier checkpoint
    # leaves the abandoned timeline's image marked `current` in the asset table
    current = set(variants.current_of(cast("StudioState", values)).values())
    stale = {r.id for r in page if r.verdict == "current" and r.id not in current}
    return {
        "items": [
            {
                **output_json(r, critiques.get(r.id)),
                **({"verdict": "superseded"} if r.id in stale else {}),
            }
            for r in page
        ],
        "next_cursor": _cursor(page[-1]) if len(records) > limit else None,
    }


@router.get("/assets/{asset_id}", response_class=FileResponse)
async def get_asset(asset_id: str, request: Request, svc: ServicesDep) -> FileResponse:
    """A media file (image, video, audio, captions) with its content type, for the thread's
    owner or a grant on it (`Authorization: Bearer`), or through a signed URL (`<img>` and
    `<video>` send no headers: `POST /threads/{id}/links`); ranges are served."""
    if bearer(request) is None and not has_signature(request.query_params):
        await callers.require(request)  # a session cookie, else 401
    record = await svc.studio.context.assets.get(asset_id)
    if record is None or not await may_read_asset(record.thread_id, record.id, request, svc):
        raise NotFound("Asset not found")
    root = svc.studio.context.assets.root.resolve()
    path = record.path.resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("Asset not found")
    return FileResponse(
        path,
        media_type=record.content_type,
        filename=f"{record.id}{SUFFIXES.get(record.content_type, '.bin')}",
        content_disposition_type="inline",
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else str(message.content)


@router.get("/threads/{thread_id}/timeline")
async def timeline(
    thread: ThreadDep,
    svc: ServicesDep,
    agent: str | None = None,
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """Messages in the order they were said; `agent` is a role id or a persona name."""
    values = (await svc.studio.graph.aget_state(svc.studio.config(thread["thread_id"]))).values
    entries = []
    for index, message in enumerate((values or {}).get("messages", [])):
        role = message.name or ("person" if message.type == "human" else "")
        entries.append(
            {
                "index": index,
                "id": message.id,
                "role": role,
                "persona": PERSONAS.get(role, "You" if role == "person" else role),
                "type": message.type,
                "text": _text(message),
            }
        )
    if agent:
        wanted = agent.lower()
        entries = [e for e in entries if wanted in (e["role"].lower(), e["persona"].lower())]
    return {"items": entries[offset : offset + limit], "total": len(entries)}


def _effective(svc: ServicesDep, values: dict[str, Any], pending: dict[str, Any]) -> Any:
    settings = {**(values.get("settings") or {}), **pending}
    overrides = settings.get("models") or {}
    models = {role: svc.studio.context.models.model_name(role, overrides) for role in ROLES}
    return {"settings": settings, "models": models, "backend": svc.studio.labels.get("models")}


@router.get("/threads/{thread_id}/settings")
async def get_settings(thread: ThreadDep, svc: ServicesDep) -> Any:
    """The thread's settings and the model each role uses."""
    values = (await svc.studio.graph.aget_state(svc.studio.config(thread["thread_id"]))).values
    return _effective(svc, values or {}, (thread.get("metadata") or {}).get("settings") or {})


@router.patch("/threads/{thread_id}/settings")
async def patch_settings(
    body: SettingsPatch, thread: ThreadDep, svc: ServicesDep, request: Request
) -> Any:
    """Change models per role and other settings; they apply from the thread's next run."""
    tid = thread["thread_id"]
    detail = {"changed": dict(body)}
    async with audit(
        request, "settings.changed", target=f"thread/{tid}", thread_id=tid, detail=detail
    ):
        await svc.studio.context.models.check(body.get("models"))  # "run `ollama pull NAME`"
        await check_references(request, body.get("references"))
        current = valid_settings((thread.get("metadata") or {}).get("settings"))
        merged: dict[str, Any] = {**current, **body}
        if "models" in body:
            merged["models"] = {**current.get("models", {}), **body["models"]}
        merged = dict(valid_settings(merged))
        row = await svc.studio.threads.upsert(tid, metadata={"settings": merged})
    values = (await svc.studio.graph.aget_state(svc.studio.config(thread["thread_id"]))).values
    return _effective(svc, values or {}, (row.get("metadata") or {}).get("settings") or {})


@router.get("/models")
async def list_models(svc: ServicesDep) -> Any:
    """The models a client may assign per role (Ollama's installed list) and the defaults."""
    models = svc.studio.context.models
    return {
        "installed": await models.installed(),
        "defaults": {role: models.model_name(role) for role in ROLES},
        "backend": svc.studio.labels.get("models"),
    }
