"""ComfyUI's HTTP API (httpx) plus the process's one websocket, with typed errors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.comfyui.capabilities import Capabilities
from adapters.comfyui.events import EventStream
from adapters.comfyui.outcomes import ComfyUIRejection, ImageRef, invalid_workflow
from adapters.errors import GenerationFailed, InvalidInput, ServiceUnavailable


@dataclass(frozen=True)
class Timeouts:
    """Network timeouts. None of them bounds GPU work: a stall detector watches that instead."""

    connect_s: float = 5.0
    read_s: float = 30.0
    """For one HTTP request or response body (queueing, history, a `/view` download)."""
    ws_open_s: float = 10.0
    reconnect_max_s: float = 5.0
    """Longest pause between websocket reconnection attempts (the backoff doubles up to it)."""


@dataclass(frozen=True)
class QueueEntry:
    """One `/queue` item; the server sends `[number, prompt_id, prompt, extra_data, outputs]`."""

    prompt_id: str
    running: bool
    workflow: dict[str, Any]
    extra_data: dict[str, Any]

    @property
    def client_id(self) -> str | None:
        """The websocket client its events go to."""
        value = self.extra_data.get("client_id")
        return str(value) if value is not None else None


class ComfyUIClient:
    """Talks to one ComfyUI server; the bearer token (if any) goes on HTTP and the websocket."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        client_id: str | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id or uuid.uuid4().hex
        self.timeouts = timeouts or Timeouts()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(self.timeouts.read_s, connect=self.timeouts.connect_s),
        )
        ws_base = "ws" + self.base_url.removeprefix("http")
        self.events = EventStream(
            f"{ws_base}/ws?clientId={self.client_id}",
            headers=headers,
            open_timeout_s=self.timeouts.ws_open_s,
            reconnect_max_s=self.timeouts.reconnect_max_s,
        )
        self._caps: Capabilities | None = None

    async def capabilities(self, *, refresh: bool = False) -> Capabilities:
        """What the server can run (cached for everyone using this client; `refresh` asks
        again)."""
        if self._caps is None or refresh:
            stats, info = await asyncio.gather(self.system_stats(), self.object_info())
            self._caps = Capabilities.from_responses(stats, info)
        return self._caps

    def forget_capabilities(self) -> None:
        """The server changed under us (it refused a workflow): ask again next time."""
        self._caps = None

    async def aclose(self) -> None:
        """Close the websocket and the HTTP connection pool."""
        await self.events.aclose()
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                f"Cannot reach ComfyUI at {self.base_url} ({type(exc).__name__}). Check "
                "COMFYUI_URL and that ComfyUI is running; generation waits until it is back."
            ) from exc
        if response.status_code in (401, 403):
            raise InvalidInput(
                f"ComfyUI at {self.base_url} refused the request (HTTP {response.status_code}): "
                "check the ComfyUI token, or the proxy in front of ComfyUI."
            ) from httpx.HTTPStatusError("refused", request=response.request, response=response)
        return response

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._request(method, path, **kwargs)
        try:
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPStatusError, ValueError) as exc:
            raise GenerationFailed(
                f"ComfyUI answered {method} {path} with HTTP {response.status_code}: "
                f"{response.text[:200]!r}"
            ) from exc

    async def system_stats(self) -> dict[str, Any]:
        """Versions, and the devices with their memory."""
        return dict(await self._json("GET", "/system_stats"))

    async def object_info(self) -> dict[str, Any]:
        """Every node class the server has, with its input schema and model options."""
        return dict(await self._json("GET", "/object_info"))

    async def queue_prompt(
        self,
        workflow: Mapping[str, Any],
        *,
        prompt_id: str,
        extra_data: Mapping[str, Any],
        template: str,
    ) -> dict[str, Any]:
        """Queue `workflow` under our id and client id; return `node_errors` from a 200.

        Raises `InvalidWorkflow` for a 400 (validation errors arrive over HTTP, never over the
        websocket). A 200 can still carry `node_errors` for dropped outputs (gotcha 5).
        """
        payload = {
            "prompt": dict(workflow),
            "client_id": self.client_id,
            "prompt_id": prompt_id,
            "extra_data": dict(extra_data),
        }
        response = await self._request("POST", "/prompt", json=payload)
        if response.status_code == 400:
            try:
                body = response.json()
            except ValueError:
                body = {"error": response.text}
            raise invalid_workflow(body, workflow, template) from ComfyUIRejection(body)
        body = await self._json_of(response, "/prompt")
        return dict(body.get("node_errors") or {})

    async def _json_of(self, response: httpx.Response, path: str) -> dict[str, Any]:
        try:
            response.raise_for_status()
            return dict(response.json())
        except (httpx.HTTPStatusError, ValueError, TypeError) as exc:
            raise GenerationFailed(
                f"ComfyUI answered {path} with HTTP {response.status_code}: {response.text[:200]!r}"
            ) from exc

    async def queue(self) -> list[QueueEntry]:
        """The running and pending prompts, running first."""
        body = await self._json("GET", "/queue")
        entries: list[QueueEntry] = []
        for key, running in (("queue_running", True), ("queue_pending", False)):
            for item in body.get(key) or []:
                entries.append(
                    QueueEntry(
                        prompt_id=str(item[1]),
                        running=running,
                        workflow=dict(item[2]) if isinstance(item[2], Mapping) else {},
                        extra_data=dict(item[3]) if isinstance(item[3], Mapping) else {},
                    )
                )
        return entries

    async def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The finished record of a prompt, or None: unknown, pending and running ids read `{}`."""
        body = await self._json("GET", f"/history/{prompt_id}")
        entry = body.get(prompt_id) if isinstance(body, Mapping) else None
        return dict(entry) if isinstance(entry, Mapping) else None

    async def delete_queued(self, prompt_ids: Sequence[str]) -> None:
        """Remove pending prompts (the running one needs `interrupt`). No event confirms it."""
        await self._expect_ok("POST", "/queue", json={"delete": list(prompt_ids)})

    async def interrupt(self, prompt_id: str) -> None:
        """Stop `prompt_id` at its next node boundary; a no-op when it is not the running one."""
        await self._expect_ok("POST", "/interrupt", json={"prompt_id": prompt_id})

    async def delete_history(self, prompt_ids: Sequence[str]) -> None:
        """Forget finished prompts."""
        await self._expect_ok("POST", "/history", json={"delete": list(prompt_ids)})

    async def _expect_ok(self, method: str, path: str, **kwargs: Any) -> None:
        response = await self._request(method, path, **kwargs)
        if response.status_code != 200:
            raise GenerationFailed(f"ComfyUI answered {path} with HTTP {response.status_code}.")

    async def view(self, ref: ImageRef) -> bytes:
        """Download one output file, byte for byte (its PNG chunks keep the workflow)."""
        params = {"filename": ref.filename, "subfolder": ref.subfolder, "type": ref.type}
        response = await self._request("GET", "/view", params=params)
        if response.status_code != 200:
            raise GenerationFailed(
                f"ComfyUI could not serve {ref.subfolder}/{ref.filename} ({ref.type}): HTTP "
                f"{response.status_code}. Temp files vanish when ComfyUI restarts."
            )
        return response.content

    async def upload_image(self, data: bytes, name: str) -> str:
        """Upload an input image; return the name a `LoadImage` node must use.

        The server renames on collision and dedups identical bytes, so the returned name (with
        its subfolder) is the only one to trust (gotcha 10).
        """
        files = {"image": (name, data, "image/png")}
        response = await self._request(
            "POST", "/upload/image", files=files, data={"type": "input", "overwrite": "false"}
        )
        body = await self._json_of(response, "/upload/image")
        subfolder = str(body.get("subfolder") or "")
        return f"{subfolder}/{body['name']}" if subfolder else str(body["name"])
