"""A loopback ComfyUI 0.3.64 for tests: the captured HTTP routes and websocket sequences.

Reproduces `/work/shared/protocols/comfyui.md` and its captures: validation bodies from
`d_invalid.json`, event order from `a_basic.json`, routing from `i_client_ids.json` (per-prompt
events only reach the prompt's client id), previews as type 1 or, after `feature_flags`, type 4
(`b_blend_*.json`), the reconnect message and the same-client-id trap (`h_late_connect.json`),
the one-prompt cache (`g_cached.json`), targeted interrupts at node boundaries
(`f_interrupt.json`). Model-free nodes really run (Pillow); model nodes are simulated; every
saved file is a real PNG with ComfyUI's `prompt` text chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import io
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import uvicorn
from PIL import Image, ImageOps, PngImagePlugin
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

CUDA_OOM = (
    "CUDA out of memory. Tried to allocate 2.25 GiB. GPU 0 has a total capacity of 23.64 GiB of "
    "which 1.06 GiB is free. Including non-PyTorch memory, this process has 22.56 GiB memory in "
    "use. Of the allocated memory 21.80 GiB is allocated by PyTorch, and 310.59 MiB is reserved "
    "by PyTorch but unallocated. If reserved but unallocated memory is large try setting "
    "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See documentation "
    "for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)"
    "\nThis error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before "
    "you might have accidentally set the batch_size to a large number."
)
"""torch's CUDA OOM text plus the tips ComfyUI's execution.py appends."""
_TROUBLE = "500 Internal Server Error\n\nServer got itself in trouble"
_FLAGS = {"supports_preview_metadata": True, "max_upload_size": 104857600}
_OUTPUT_NODES = {"SaveImage", "PreviewImage", "SaveImageWebsocket", "SaveAnimatedWEBP"}
_PER_PROMPT = {
    "execution_start", "execution_cached", "executing", "executed", "execution_success",
    "execution_error",
}  # fmt: skip
_IMG, _RESAMPLE = ["IMAGE"], [["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]]
_BLEND_MODES = ["normal", "multiply", "screen", "overlay", "soft_light", "difference"]
SAMPLERS = ["euler", "euler_ancestral", "heun", "dpm_2", "lms", "dpmpp_2s_ancestral",
            "dpmpp_sde", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_3m_sde", "ddpm", "lcm", "ddim",
            "uni_pc"]  # fmt: skip
SCHEDULERS = ["simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal"]


def _int(default: int, low: int, high: int, step: int = 1) -> list[Any]:
    return ["INT", {"default": default, "min": low, "max": high, "step": step}]


def _float(default: float, low: float, high: float) -> list[Any]:
    return ["FLOAT", {"default": default, "min": low, "max": high, "step": 0.01}]


def _schema(files: list[str], ckpts: list[str], loras: list[str], ups: list[str]) -> dict[str, Any]:
    """`/object_info` for the nodes the templates use: V1 shapes, ImageBlend in the V3 dialect;
    the Stable Video Diffusion nodes are core nodes (a video model is a checkpoint file)."""
    size = {"width": _int(512, 1, 16384), "height": _int(512, 1, 16384)}
    # fmt: off
    table: dict[str, tuple[dict[str, Any], list[str]]] = {
        "EmptyImage": ({**size, "batch_size": _int(1, 1, 4096),
                        "color": _int(0, 0, 16777215)}, _IMG),
        "LoadImage": ({"image": [files, {"image_upload": True}]}, ["IMAGE", "MASK"]),
        "ImageScale": ({"image": _IMG, "upscale_method": _RESAMPLE, "width": _int(512, 0, 16384),
                        "height": _int(512, 0, 16384), "crop": [["disabled", "center"]]}, _IMG),
        "ImageScaleBy": ({"image": _IMG, "upscale_method": _RESAMPLE,
                          "scale_by": _float(1.0, 0.01, 8.0)}, _IMG),
        "ImageBlend": ({"image1": ["IMAGE", {}], "image2": ["IMAGE", {}],
                        "blend_factor": _float(0.5, 0.0, 1.0),
                        "blend_mode": ["COMBO", {"multiselect": False, "options": _BLEND_MODES}]},
                       _IMG),
        "ImageCompositeMasked": ({"destination": _IMG, "source": _IMG, "x": _int(0, 0, 16384),
                                  "y": _int(0, 0, 16384),
                                  "resize_source": ["BOOLEAN", {"default": False}]}, _IMG),
        "ImageBatch": ({"image1": _IMG, "image2": _IMG}, _IMG),
        "ImageAddNoise": ({"image": _IMG, "seed": _int(0, 0, 2**64 - 1),
                           "strength": _float(0.5, 0.0, 1.0)}, _IMG),
        "ImageInvert": ({"image": _IMG}, _IMG),
        "SaveImage": ({"images": ["IMAGE", {"tooltip": "The images to save."}],
                       "filename_prefix": ["STRING", {"default": "ComfyUI"}]}, []),
        "PreviewImage": ({"images": _IMG}, []),
        "SaveImageWebsocket": ({"images": _IMG}, []),
        "CheckpointLoaderSimple": ({"ckpt_name": [ckpts, {}]}, ["MODEL", "CLIP", "VAE"]),
        "LoraLoader": ({"model": ["MODEL"], "clip": ["CLIP"], "lora_name": [loras],
                        "strength_model": _float(1.0, -100.0, 100.0),
                        "strength_clip": _float(1.0, -100.0, 100.0)}, ["MODEL", "CLIP"]),
        "CLIPTextEncode": ({"text": ["STRING", {"multiline": True, "dynamicPrompts": True}],
                            "clip": ["CLIP"]}, ["CONDITIONING"]),
        "EmptyLatentImage": ({"width": _int(512, 16, 16384, 8), "height": _int(512, 16, 16384, 8),
                              "batch_size": _int(1, 1, 4096)}, ["LATENT"]),
        "KSampler": ({"model": ["MODEL"], "seed": _int(0, 0, 2**64 - 1),
                      "steps": _int(20, 1, 10000),
                      "cfg": ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1}],
                      "sampler_name": [SAMPLERS], "scheduler": [SCHEDULERS],
                      "positive": ["CONDITIONING"], "negative": ["CONDITIONING"],
                      "latent_image": ["LATENT"], "denoise": _float(1.0, 0.0, 1.0)}, ["LATENT"]),
        "VAEDecode": ({"samples": ["LATENT"], "vae": ["VAE"]}, _IMG),
        "VAEEncode": ({"pixels": _IMG, "vae": ["VAE"]}, ["LATENT"]),
        "UpscaleModelLoader": ({"model_name": [ups]}, ["UPSCALE_MODEL"]),
        "ImageUpscaleWithModel": ({"upscale_model": ["UPSCALE_MODEL"], "image": _IMG}, _IMG),
        "ImageOnlyCheckpointLoader": ({"ckpt_name": [ckpts]}, ["MODEL", "CLIP_VISION", "VAE"]),
        "SVD_img2vid_Conditioning": ({"clip_vision": ["CLIP_VISION"], "init_image": _IMG,
                                      "vae": ["VAE"], "width": _int(1024, 16, 16384, 8),
                                      "height": _int(576, 16, 16384, 8),
                                      "video_frames": _int(14, 1, 4096),
                                      "motion_bucket_id": _int(127, 1, 1023),
                                      "fps": _int(6, 1, 1024),
                                      "augmentation_level": _float(0.0, 0.0, 10.0)},
                                     ["CONDITIONING", "CONDITIONING", "LATENT"]),
        "VideoLinearCFGGuidance": ({"model": ["MODEL"], "min_cfg": _float(1.0, 0.0, 100.0)},
                                   ["MODEL"]),
        "SaveAnimatedWEBP": ({"images": _IMG, "filename_prefix": ["STRING", {"default": "ComfyUI"}],
                              "fps": _float(6.0, 0.01, 1000.0),
                              "lossless": ["BOOLEAN", {"default": True}],
                              "quality": _int(80, 0, 100),
                              "method": [["default", "fastest", "slowest"]]}, []),
    }
    # fmt: on
    return {
        name: {
            "input": {"required": required},
            "input_order": {"required": list(required)},
            "output": output,
            "output_is_list": [False] * len(output),
            "output_name": output,
            "name": name,
            "display_name": None if name == "ImageBlend" else name,
            "description": "",
            "python_module": "nodes",
            "category": "image",
            "output_node": name in _OUTPUT_NODES,
        }
        for name, (required, output) in table.items()
    }


_RIFE_VFI = {
    "input": {
        "required": {
            "ckpt_name": [["rife47.pth", "rife49.pth"], {"default": "rife47.pth"}],
            "frames": ["IMAGE"],
            "clear_cache_after_n_frames": _int(10, 1, 1000),
            "multiplier": ["INT", {"default": 2, "min": 1}],
            "fast_mode": ["BOOLEAN", {"default": True}],
            "ensemble": ["BOOLEAN", {"default": True}],
            "scale_factor": [[0.25, 0.5, 1.0, 2.0, 4.0], {"default": 1.0}],
        },
        "optional": {"optional_interpolation_states": ["INTERPOLATION_STATES"]},
    },
    "output": ["IMAGE"],
    "output_is_list": [False],
    "output_name": ["IMAGE"],
    "name": "RIFE VFI",
    "display_name": "RIFE VFI (recommend rife47 and rife49)",
    "description": "",
    "python_module": "custom_nodes.ComfyUI-Frame-Interpolation",
    "category": "ComfyUI-Frame-Interpolation/VFI",
    "output_node": False,
}
"""ComfyUI-Frame-Interpolation's RIFE node as its `/object_info` lists it."""


@dataclass
class Scenario:
    """Switches a test flips to make the server behave like a real one under stress."""

    node_delay_s: float = 0.0
    step_delay_s: float = 0.0
    fail_node: str | None = None
    """Class type that raises a RuntimeError when it runs (an `execution_error`)."""
    oom_above_pixels: int | None = None
    """KSampler / EmptyImage / EmptyLatentImage larger than this raise CUDA out-of-memory."""
    drop_socket_at_node: str | None = None
    """Close the prompt owner's websocket when this class type starts (once)."""
    hang_at_node: str | None = None
    """Go silent when this class type starts, until `release()` or an interrupt."""
    hold_queue: bool = False
    """Leave prompts pending until `release()`."""


@dataclass
class Latent:
    width: int
    height: int
    batch: int
    seed: int = 0
    text: str = ""
    source: list[Image.Image] = field(default_factory=list)
    denoise: float = 1.0
    video: bool = False
    """From SVD_img2vid_Conditioning: decodes to frames that move over the init image."""


class NodeFailure(Exception):
    def __init__(self, exception_type: str, message: str) -> None:
        super().__init__(message)
        self.exception_type, self.message = exception_type, message


class Interrupted(Exception):
    pass


class LoopbackComfyUI:
    """An in-process ComfyUI on 127.0.0.1 (an ephemeral port unless one is given)."""

    def __init__(
        self,
        *,
        token: str | None = None,
        port: int = 0,
        checkpoints: tuple[str, ...] = (
            "v1-5-pruned-emaonly.safetensors",
            "sd_xl_base_1.0.safetensors",
        ),
        loras: tuple[str, ...] = ("film-grain.safetensors",),
        upscale_models: tuple[str, ...] = ("RealESRGAN_x4plus.pth",),
        video_models: tuple[str, ...] = (),
        frame_interpolation: bool = False,
    ) -> None:
        self.token, self.port = token, port
        self.frame_interpolation = frame_interpolation
        """List `RIFE VFI` (ComfyUI-Frame-Interpolation, a custom node) in `/object_info`."""
        self.video_models = video_models
        """Image-to-video checkpoints (e.g. `svd_xt.safetensors`); none by default."""
        self.checkpoints, self.loras, self.upscale_models = checkpoints, loras, upscale_models
        self.scenario = Scenario()
        self.requests: list[tuple[str, str, Any, dict[str, str]]] = []
        """(method, path without `/api`, JSON body, headers) of every HTTP request."""
        self.ws_connections: list[dict[str, str | None]] = []
        self.files: dict[tuple[str, str, str], bytes] = {}
        """(type, subfolder, filename) -> bytes: the input, output and temp folders."""
        self.history: dict[str, dict[str, Any]] = {}
        self.sockets: dict[str, WebSocket] = {}
        self.running: list[Any] | None = None
        self.current_node: str | None = None
        self._metadata: set[str] = set()
        self._pending: list[tuple[float, int, list[Any]]] = []
        self._number = self._seq = 0
        self._cache: dict[str, tuple[str, Any, Any]] = {}
        self._interrupt = False
        self._wake, self._release = asyncio.Event(), asyncio.Event()
        self._server: uvicorn.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle and test helpers ---------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> LoopbackComfyUI:
        routes = self._routes()
        prefixed = [_with_api_prefix(route) for route in routes]
        config = uvicorn.Config(
            Starlette(routes=routes + prefixed),
            host="127.0.0.1",
            port=self.port,
            log_level="critical",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._tasks = [asyncio.create_task(self._server.serve()), asyncio.create_task(self._work())]
        while not self._server.started:  # noqa: ASYNC110 - uvicorn offers only this flag
            await asyncio.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        for ws in list(self.sockets.values()):
            with contextlib.suppress(Exception):
                await ws.close(code=1001)
        self._server.should_exit = True
        await self._tasks[0]
        self._tasks[1].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._tasks[1]

    def release(self) -> None:
        """Let held prompts run and hung nodes finish."""
        self.scenario.hold_queue = False
        self._release.set()
        self._wake.set()

    def posts(self, path: str) -> list[Any]:
        """JSON bodies of the POSTs to `path`."""
        return [body for method, p, body, _ in self.requests if method == "POST" and p == path]

    def queued_ids(self) -> list[str]:
        """Running then pending prompt ids."""
        running = [self.running[1]] if self.running else []
        return running + [entry[1] for _, _, entry in sorted(self._pending)]

    async def wait_for(self, predicate: Any, within_s: float = 5.0) -> None:
        """Poll `predicate` (server state) until it holds; fail after `within_s`."""
        async with asyncio.timeout(within_s):
            while not predicate():  # noqa: ASYNC110 - server state has no event to wait on
                await asyncio.sleep(0.005)

    def object_info(self) -> dict[str, Any]:
        inputs = sorted(n for (t, s, n) in self.files if t == "input" and not s)
        ckpts = [*self.checkpoints, *self.video_models]
        info = _schema(inputs, ckpts, list(self.loras), list(self.upscale_models))
        if self.frame_interpolation:
            info["RIFE VFI"] = _RIFE_VFI
        return info

    # -- HTTP ---------------------------------------------------------------------------------
    def _routes(self) -> list[Route | WebSocketRoute]:
        table = {
            "/prompt": (self._prompt, ["GET", "POST"]),
            "/queue": (self._queue, ["GET", "POST"]),
            "/interrupt": (self._interrupt_route, ["POST"]),
            "/free": (self._free, ["POST"]),
            "/history": (self._history, ["GET", "POST"]),
            "/history/{prompt_id}": (self._history, ["GET"]),
            "/view": (self._view, ["GET"]),
            "/upload/image": (self._upload, ["POST"]),
            "/system_stats": (self._stats, ["GET"]),
            "/features": (self._features, ["GET"]),
            "/object_info": (self._info, ["GET"]),
            "/object_info/{node_class}": (self._info, ["GET"]),
        }
        routes: list[Route | WebSocketRoute] = [
            Route(path, self._guarded(handler), methods=methods)
            for path, (handler, methods) in table.items()
        ]
        return [*routes, WebSocketRoute("/ws", self._ws)]

    def _guarded(self, handler: Any) -> Any:
        """Record the request, then apply the bearer token and the Origin (CSRF) checks."""

        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            body: Any = None
            if raw and "json" in request.headers.get("content-type", ""):
                with contextlib.suppress(ValueError):
                    body = json.loads(raw)
            path = request.url.path.removeprefix("/api")
            self.requests.append((request.method, path, body, dict(request.headers)))
            if self.token and request.headers.get("authorization") != f"Bearer {self.token}":
                return Response(status_code=401)
            origin = request.headers.get("origin")
            if origin and origin.split("://")[-1] != request.headers.get("host"):
                return Response(status_code=403)
            response: Response = await handler(request, raw)
            return response

        return endpoint

    async def _prompt(self, request: Request, raw: bytes) -> Response:
        if request.method == "GET":
            return JSONResponse({"exec_info": {"queue_remaining": len(self.queued_ids())}})
        self._number += 1  # counts every POST, invalid ones too (§5)
        try:
            body = json.loads(raw)
        except ValueError:
            return PlainTextResponse(_TROUBLE, status_code=500)
        if not isinstance(body, dict) or "prompt" not in body:
            return _rejected(_error("no_prompt", "No prompt provided", "No prompt provided"))
        if not isinstance(body["prompt"], dict):
            return PlainTextResponse(_TROUBLE, status_code=500)
        prompt = body["prompt"]
        error, node_errors, outputs = self._validate(prompt)
        if error is not None:
            return _rejected(error, node_errors)
        prompt_id = str(body.get("prompt_id") or uuid.uuid4())
        number = float(body["number"]) if "number" in body else self._number
        if body.get("front"):
            number = -self._number
        extra = dict(body.get("extra_data") or {})
        if body.get("client_id") is not None:
            extra["client_id"] = body["client_id"]
        self._seq += 1
        entry = [number, prompt_id, prompt, extra, outputs]
        heapq.heappush(self._pending, (number, self._seq, entry))
        await self._status()
        self._wake.set()
        return JSONResponse({"prompt_id": prompt_id, "number": number, "node_errors": node_errors})

    def _validate(self, prompt: dict[str, Any]) -> tuple[Any, dict[str, Any], list[str]]:
        info = self.object_info()
        for node_id, node in prompt.items():
            if "class_type" not in node:
                message = "Cannot execute because a node is missing the class_type property."
                return _error("invalid_prompt", message, f"Node ID '#{node_id}'"), {}, []
            if node["class_type"] not in info:
                message = f"Cannot execute because node {node['class_type']} does not exist."
                return _error("invalid_prompt", message, f"Node ID '#{node_id}'"), {}, []
        outputs = [n for n, node in prompt.items() if info[node["class_type"]]["output_node"]]
        if not outputs:
            return _error("prompt_no_outputs", "Prompt has no outputs", ""), {}, []
        node_errors: dict[str, Any] = {}
        valid = []
        for output in outputs:
            errors: dict[str, list[dict[str, Any]]] = {}
            self._check(prompt, output, info, errors, set())
            for node_id, errs in errors.items():
                class_type = prompt[node_id]["class_type"]
                entry = {"errors": errs, "dependent_outputs": [], "class_type": class_type}
                node_errors.setdefault(node_id, entry)["dependent_outputs"].append(output)
            if not errors:
                valid.append(output)
        if not valid:
            message = "Prompt outputs failed validation"
            return _error("prompt_outputs_failed_validation", message, ""), node_errors, []
        return None, node_errors, valid

    def _check(
        self,
        prompt: dict[str, Any],
        node_id: str,
        info: dict[str, Any],
        errors: dict[str, list[dict[str, Any]]],
        seen: set[str],
    ) -> None:
        """Validate one node and, through its links, its ancestors (execution.py's order)."""
        seen.add(node_id)
        node, errs = prompt[node_id], []
        for name, spec in info[node["class_type"]]["input"]["required"].items():
            extra = {"input_name": name}
            value = node.get("inputs", {}).get(name)
            if value is None:
                errs.append(
                    _item("required_input_missing", "Required input is missing", name, extra)
                )
            elif isinstance(value, list):
                source = prompt.get(value[0]) if isinstance(value[0], str) else None
                if source is None:
                    message, key = "Exception when validating node", repr(value[0])
                    errs.append(_item("exception_during_validation", message, key, {}))
                elif spec[0] not in info[source["class_type"]]["output"][value[1] : value[1] + 1]:
                    message = "Return type mismatch between linked nodes"
                    errs.append(_item("return_type_mismatch", message, name, extra))
                elif value[0] not in seen:
                    self._check(prompt, value[0], info, errors, seen)
            elif node["class_type"] == "LoadImage":
                if _file_key(value) not in self.files:
                    detail = f"image - Invalid image file: {value}"
                    message = "Custom validation failed for node"
                    errs.append(_item("custom_validation_failed", message, detail, extra))
            elif spec[0] in ("INT", "FLOAT"):
                low, high = spec[1].get("min", value), spec[1].get("max", value)
                if not isinstance(value, int | float):
                    message = f"Failed to convert an input value to a {spec[0]} value"
                    errs.append(_item("invalid_input_type", message, f"{name}, {value}", extra))
                elif value < low:
                    message = f"Value {value} smaller than min of {low}"
                    errs.append(_item("value_smaller_than_min", message, name, extra))
                elif value > high:
                    message = f"Value {value} bigger than max of {high}"
                    errs.append(_item("value_bigger_than_max", message, name, extra))
            elif isinstance(spec[0], list) or spec[0] == "COMBO":
                options = spec[0] if isinstance(spec[0], list) else spec[1]["options"]
                if value not in options:
                    detail = f"{name}: '{value}' not in {options}"
                    errs.append(_item("value_not_in_list", "Value not in list", detail, extra))
        if errs:
            errors[node_id] = errs

    async def _queue(self, request: Request, raw: bytes) -> Response:
        if request.method == "GET":
            running = [self.running] if self.running else []
            pending = [entry for _, _, entry in sorted(self._pending)]
            return JSONResponse({"queue_running": running, "queue_pending": pending})
        body = json.loads(raw or b"{}")
        doomed = set(body.get("delete") or [])
        keep = [] if body.get("clear") else self._pending
        self._pending = [item for item in keep if item[2][1] not in doomed]
        heapq.heapify(self._pending)
        await self._status()  # the only trace of a delete on the websocket (§5)
        return Response(status_code=200)

    async def _interrupt_route(self, request: Request, raw: bytes) -> Response:
        target = json.loads(raw).get("prompt_id") if raw else None
        if target is None or (self.running is not None and self.running[1] == target):
            self._interrupt = True
            self._release.set()  # a hung node ends; the interrupt lands at the next boundary
        return Response(status_code=200)

    async def _free(self, request: Request, raw: bytes) -> Response:
        if json.loads(raw or b"{}").get("free_memory"):
            self._cache.clear()
        return Response(status_code=200)

    async def _history(self, request: Request, raw: bytes) -> Response:
        if request.method == "POST":
            body = json.loads(raw or b"{}")
            if body.get("clear"):
                self.history.clear()
            for prompt_id in body.get("delete") or []:
                self.history.pop(prompt_id, None)
            return Response(status_code=200)
        if "prompt_id" in request.path_params:
            prompt_id = request.path_params["prompt_id"]
            return JSONResponse({k: v for k, v in self.history.items() if k == prompt_id})
        limit = int(request.query_params.get("max_items", 10000))
        return JSONResponse(dict(list(self.history.items())[-limit:]))

    async def _view(self, request: Request, raw: bytes) -> Response:
        query = request.query_params
        name, kind = query.get("filename", ""), query.get("type", "output")
        if ".." in name:
            return Response(status_code=400)
        data = self.files.get((kind, query.get("subfolder", ""), name))
        if data is None:
            return Response(status_code=404)
        disposition = {"Content-Disposition": f'filename="{name}"'}
        kind = "image/webp" if name.endswith(".webp") else "image/png"
        return Response(data, media_type=kind, headers=disposition)

    async def _upload(self, request: Request, raw: bytes) -> Response:
        fields = _multipart(raw, request.headers.get("content-type", ""))
        name, data = fields.get("image", (None, b""))
        if not name:
            return Response(status_code=400)
        sub = fields.get("subfolder", (None, b""))[1].decode()
        kind = fields.get("type", (None, b""))[1].decode() or "input"
        overwrite = fields.get("overwrite", (None, b""))[1].decode() in ("true", "1")
        if ".." in f"{sub}/{name}":
            return Response(status_code=400)
        stem, dot, ext = name.rpartition(".")
        candidate, n = name, 1
        # Same bytes under the same name: same name; different bytes: renamed (c_upload.json).
        while not overwrite and self.files.get((kind, sub, candidate), data) != data:
            candidate, n = f"{stem} ({n}){dot}{ext}", n + 1
        self.files[(kind, sub, candidate)] = data
        return JSONResponse({"name": candidate, "subfolder": sub, "type": kind})

    async def _stats(self, request: Request, raw: bytes) -> Response:
        device = {"name": "cuda:0 NVIDIA Loopback : cudaMallocAsync", "type": "cuda", "index": 0,
                  "vram_total": 25757220864, "vram_free": 24000000000}  # fmt: skip
        system = {"os": "posix", "comfyui_version": "0.3.64", "python_version": "3.11.7",
                  "pytorch_version": "2.8.0+cu128", "embedded_python": False}  # fmt: skip
        return JSONResponse({"system": system, "devices": [device]})

    async def _features(self, request: Request, raw: bytes) -> Response:
        return JSONResponse(_FLAGS)

    async def _info(self, request: Request, raw: bytes) -> Response:
        info = self.object_info()
        if "node_class" in request.path_params:
            wanted = request.path_params["node_class"]
            info = {k: v for k, v in info.items() if k == wanted}  # unknown class: 200 {}
        return JSONResponse(info)

    # -- websocket ----------------------------------------------------------------------------
    async def _ws(self, ws: WebSocket) -> None:
        auth = ws.headers.get("authorization")
        client_id = ws.query_params.get("clientId")
        self.ws_connections.append({"client_id": client_id, "authorization": auth})
        if self.token and auth != f"Bearer {self.token}":
            await ws.close(code=1008)  # before accept: the handshake fails with HTTP 403
            return
        sid = client_id or uuid.uuid4().hex
        await ws.accept()
        self.sockets[sid] = ws  # replaces an older socket with this id; that one stays open
        self._metadata.discard(sid)
        status = {"status": {"exec_info": {"queue_remaining": len(self.queued_ids())}}, "sid": sid}
        await ws.send_text(json.dumps({"type": "status", "data": status}))
        if self.running and self.running[3].get("client_id") == sid and self.current_node:
            executing = {"type": "executing", "data": {"node": self.current_node}}  # no prompt_id
            await ws.send_text(json.dumps(executing))
        first = True
        try:
            while True:
                message = json.loads(await ws.receive_text())
                if first and message.get("type") == "feature_flags":
                    self._metadata.add(sid)
                    await ws.send_text(json.dumps({"type": "feature_flags", "data": _FLAGS}))
                first = False
        except (WebSocketDisconnect, ValueError, RuntimeError):
            pass
        finally:
            self.sockets.pop(sid, None)  # h_late_connect.json: this drops a newer socket too

    def _targets(self, sid: str | None, kind: str) -> dict[str, WebSocket]:
        """Per-prompt events go to the prompt's client only; others are broadcast when the
        prompt has no client id (gotchas 1 and 2)."""
        if sid is not None or kind in _PER_PROMPT:
            return {sid: self.sockets[sid]} if sid in self.sockets else {}
        return dict(self.sockets)

    async def _send(self, sid: str | None, kind: str, data: dict[str, Any]) -> None:
        for ws in self._targets(sid, kind).values():
            with contextlib.suppress(Exception):
                await ws.send_text(json.dumps({"type": kind, "data": data}))

    async def _preview(self, sid: str | None, prompt_id: str, node: str, jpeg: bytes) -> None:
        for target, ws in self._targets(sid, "preview").items():
            if target in self._metadata:
                meta = {"node_id": node, "prompt_id": prompt_id, "display_node_id": node,
                        "parent_node_id": None, "real_node_id": node,
                        "image_type": "image/jpeg"}  # fmt: skip
                head = json.dumps(meta).encode()
                frame = (4).to_bytes(4, "big") + len(head).to_bytes(4, "big") + head + jpeg
            else:
                frame = (1).to_bytes(4, "big") + (1).to_bytes(4, "big") + jpeg  # 1 = JPEG
            with contextlib.suppress(Exception):
                await ws.send_bytes(frame)

    async def _status(self) -> None:
        data = {"status": {"exec_info": {"queue_remaining": len(self.queued_ids())}}}
        await self._send(None, "status", data)

    # -- worker -------------------------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending and not self.scenario.hold_queue:
                _, _, entry = heapq.heappop(self._pending)
                await self._execute(entry)

    async def _execute(self, entry: list[Any]) -> None:
        """Run one prompt with a_basic.json's message order; history before `executing: null`."""
        _, prompt_id, prompt, extra, outputs = entry
        sid = extra.get("client_id")
        self.running, self._interrupt, self._release = entry, False, asyncio.Event()
        await self._status()
        messages: list[list[Any]] = []

        async def record(kind: str, data: dict[str, Any]) -> None:
            data = {**data, "prompt_id": prompt_id, "timestamp": int(time.time() * 1000)}
            messages.append([kind, data])
            await self._send(sid, kind, data)

        await record("execution_start", {})
        order = _order(prompt, outputs)
        signature = _signatures(prompt, order)
        cached = [n for n in order if self._cache.get(n, ("",))[0] == signature[n]]
        await record("execution_cached", {"nodes": cached})
        results: dict[str, Any] = {}
        ui_outputs: dict[str, Any] = {}
        executed: list[str] = []
        try:
            for node_id in order:
                class_type = prompt[node_id]["class_type"]
                if node_id in cached:  # no `executing`; `executed` replays the old file
                    _, results[node_id], ui = self._cache[node_id]
                else:
                    self.current_node = node_id
                    executing = {"node": node_id, "display_node": node_id, "prompt_id": prompt_id}
                    await self._send(sid, "executing", executing)
                    await self._before_node(sid, class_type)
                    if self._interrupt:  # checked at each node start (f_interrupt.json)
                        raise Interrupted(node_id)
                    inputs = {
                        k: results[v[0]][v[1]] if isinstance(v, list) else v
                        for k, v in prompt[node_id]["inputs"].items()
                    }
                    node = (sid, prompt_id, node_id, class_type)
                    results[node_id], ui = await self._run_node(node, inputs, prompt, extra)
                    executed.append(node_id)
                if ui:
                    ui_outputs[node_id] = ui
                    done = {"node": node_id, "display_node": node_id, "output": ui}
                    await self._send(sid, "executed", {**done, "prompt_id": prompt_id})
        except Interrupted as exc:
            node_id = str(exc)
            ui_outputs = {}  # an interrupted prompt keeps no outputs (f_interrupt.json)
            interrupted = {"node_id": node_id, "node_type": prompt[node_id]["class_type"]}
            await record("execution_interrupted", {**interrupted, "executed": executed})
        except NodeFailure as exc:
            node_id = self.current_node or ""
            failure = {"node_id": node_id, "node_type": prompt[node_id]["class_type"],
                       "executed": executed, "exception_message": exc.message,
                       "exception_type": exc.exception_type, "current_inputs": {},
                       "traceback": ['  File "/srv/ComfyUI/execution.py", line 496\n'],
                       "current_outputs": order}  # fmt: skip
            await record("execution_error", failure)
        else:
            await record("execution_success", {})
        self._cache = {n: (signature[n], results[n], ui_outputs.get(n)) for n in results}
        ok = messages[-1][0] == "execution_success"
        meta = {n: {"node_id": n, "display_node": n, "parent_node": None, "real_node_id": n}
                for n in ui_outputs}  # fmt: skip
        status = {"status_str": "success" if ok else "error", "completed": ok, "messages": messages}
        self.history[prompt_id] = {
            "prompt": entry, "outputs": ui_outputs, "status": status, "meta": meta,
        }  # fmt: skip
        self.running, self.current_node = None, None
        await self._status()
        await self._send(sid, "executing", {"node": None, "prompt_id": prompt_id})

    async def _before_node(self, sid: str | None, class_type: str) -> None:
        if self.scenario.drop_socket_at_node == class_type:
            self.scenario.drop_socket_at_node = None
            if sid in self.sockets:
                with contextlib.suppress(Exception):
                    await self.sockets[sid].close(code=1011)
        if self.scenario.hang_at_node == class_type:
            await self._release.wait()
        await asyncio.sleep(self.scenario.node_delay_s)

    def _check_memory(self, pixels: int) -> None:
        limit = self.scenario.oom_above_pixels
        if limit is not None and pixels > limit:
            raise NodeFailure("torch.OutOfMemoryError", CUDA_OOM)

    async def _run_node(
        self,
        node: tuple[str | None, str, str, str],
        i: dict[str, Any],
        prompt: dict[str, Any],
        extra: dict[str, Any],
    ) -> tuple[tuple[Any, ...], Any]:
        """Run one node: (outputs, UI output or None)."""
        sid, prompt_id, node_id, class_type = node
        if class_type == self.scenario.fail_node:
            message = "mat1 and mat2 shapes cannot be multiplied (154x2048 and 768x320)\n"
            raise NodeFailure("RuntimeError", message)
        if class_type in ("EmptyImage", "EmptyLatentImage"):
            self._check_memory(i["width"] * i["height"] * i["batch_size"])
            if class_type == "EmptyLatentImage":
                return (Latent(i["width"], i["height"], i["batch_size"]),), None
            rgb = tuple(i["color"].to_bytes(3, "big"))
            return ([Image.new("RGB", (i["width"], i["height"]), rgb)] * i["batch_size"],), None
        if class_type == "KSampler":
            latent: Latent = i["latent_image"]
            self._check_memory(latent.width * latent.height * latent.batch)
            await self._sample(sid, prompt_id, node_id, i["steps"])
            sampled = Latent(latent.width, latent.height, latent.batch, i["seed"], i["positive"])
            sampled.source, sampled.denoise = latent.source, i["denoise"]
            sampled.video = latent.video
            return (sampled,), None
        if class_type in ("SaveImage", "PreviewImage"):
            return (), {"images": self._save(class_type, i, prompt, extra)}
        if class_type == "SaveAnimatedWEBP":
            return (), {"images": [self._save_webp(i)], "animated": [True]}
        if class_type == "LoadImage":
            try:
                image = Image.open(io.BytesIO(self.files[_file_key(i["image"])])).convert("RGB")
            except OSError as exc:
                message = f"cannot identify image file '/srv/ComfyUI/input/{i['image']}'\n"
                raise NodeFailure("PIL.UnidentifiedImageError", message) from exc
            return ([image], None), None
        return _transform(class_type, i), None

    def _save(self, class_type: str, i: dict[str, Any], prompt: Any, extra: Any) -> list[Any]:
        """SaveImage: a counter suffix per prefix, and the `prompt` (+ extra_pnginfo) chunks."""
        kind = "output" if class_type == "SaveImage" else "temp"
        sub, _, prefix = str(i.get("filename_prefix", "ComfyUI_temp")).rpartition("/")
        info = PngImagePlugin.PngInfo()
        info.add_text("prompt", json.dumps(prompt))
        for key, value in (extra.get("extra_pnginfo") or {}).items():
            info.add_text(key, json.dumps(value))
        saved = []
        for image in i["images"]:
            taken = [n for (t, s, n) in self.files if (t, s) == (kind, sub)]
            name = f"{prefix}_{1 + sum(n.startswith(prefix + '_') for n in taken):05}_.png"
            out = io.BytesIO()
            image.save(out, format="PNG", pnginfo=info, compress_level=1)
            self.files[(kind, sub, name)] = out.getvalue()
            saved.append({"filename": name, "subfolder": sub, "type": kind})
        return saved

    def _save_webp(self, i: dict[str, Any]) -> dict[str, Any]:
        """SaveAnimatedWEBP: every image as one frame of an animated WEBP at `fps`."""
        sub, _, prefix = str(i.get("filename_prefix", "ComfyUI")).rpartition("/")
        taken = [n for (t, s, n) in self.files if (t, s) == ("output", sub)]
        name = f"{prefix}_{1 + sum(n.startswith(prefix + '_') for n in taken):05}_.webp"
        out, frames = io.BytesIO(), i["images"]
        duration = max(1, round(1000 / float(i["fps"])))
        frames[0].save(out, format="WEBP", save_all=True, append_images=frames[1:],
                       duration=duration, loop=0, quality=int(i["quality"]))  # fmt: skip
        self.files[("output", sub, name)] = out.getvalue()
        return {"filename": name, "subfolder": sub, "type": "output"}

    async def _sample(self, sid: str | None, prompt_id: str, node_id: str, steps: int) -> None:
        for step in range(1, steps + 1):
            if self._interrupt:  # ComfyUI also checks inside ProgressBar updates
                raise Interrupted(node_id)
            await asyncio.sleep(self.scenario.step_delay_s)
            preview = io.BytesIO()
            Image.new("RGB", (64, 64), (step * 9 % 256, 80, 160)).save(preview, format="JPEG")
            progress = {"value": step, "max": steps, "prompt_id": prompt_id, "node": node_id}
            # b_blend_*.json: legacy sends progress then the frame; metadata, the frame first.
            if sid in self._metadata:
                await self._preview(sid, prompt_id, node_id, preview.getvalue())
            await self._send(sid, "progress", progress)
            if sid not in self._metadata:
                await self._preview(sid, prompt_id, node_id, preview.getvalue())


def _transform(class_type: str, i: dict[str, Any]) -> tuple[Any, ...]:
    """The stateless nodes' outputs: model stand-ins, and real Pillow image operations."""
    if class_type == "ImageOnlyCheckpointLoader":
        return tuple(f"{kind}:{i['ckpt_name']}" for kind in ("model", "clip_vision", "vae"))
    if class_type == "VideoLinearCFGGuidance":
        return (i["model"],)
    if class_type == "SVD_img2vid_Conditioning":
        still = i["init_image"][0].resize((i["width"], i["height"]))
        latent = Latent(i["width"], i["height"], i["video_frames"], source=[still], video=True)
        return ("video+", "video-", latent)
    if class_type == "CheckpointLoaderSimple":
        return tuple(f"{kind}:{i['ckpt_name']}" for kind in ("model", "clip", "vae"))
    if class_type == "LoraLoader":
        return (i["model"], i["clip"])
    if class_type == "UpscaleModelLoader":
        return (f"upscale:{i['model_name']}",)
    if class_type == "CLIPTextEncode":
        return (str(i["text"]),)
    if class_type == "VAEEncode":
        pixels = i["pixels"]
        return (Latent(pixels[0].width, pixels[0].height, len(pixels), source=pixels),)
    if class_type == "VAEDecode":
        return (_decode(i["samples"]),)
    return (_image_op(class_type, i),)


def _image_op(class_type: str, i: dict[str, Any]) -> list[Image.Image]:
    """Real Pillow versions of ComfyUI's model-free image nodes."""
    images = i.get("image") or i.get("image1") or i.get("destination") or i.get("frames")
    if class_type == "ImageScale":
        size = (i["width"] or images[0].width, i["height"] or images[0].height)
        if i["crop"] == "center":
            return [ImageOps.fit(im, size) for im in images]
        return [im.resize(size) for im in images]
    if class_type == "ImageScaleBy":  # comfy.utils: lanczos through PIL, the rest in torch
        factor, method = (
            i["scale_by"],
            _PIL_METHODS.get(i["upscale_method"], Image.Resampling.BICUBIC),
        )
        size = (round(images[0].width * factor), round(images[0].height * factor))
        return [im.resize(size, method) for im in images]
    if class_type == "ImageUpscaleWithModel":  # a stand-in: the model's scale, by its name
        factor = 2 if "x2" in i["upscale_model"].lower() else 4
        return [im.resize((im.width * factor, im.height * factor)) for im in images]
    if class_type == "ImageBlend":
        if len(images) != len(i["image2"]):
            raise NodeFailure(
                "RuntimeError",
                f"The size of tensor a ({len(images)}) must match the size of tensor b "
                f"({len(i['image2'])}) at non-singleton dimension 0\n",
            )
        pairs = zip(images, i["image2"], strict=True)
        return [_blend(a, b, i["blend_factor"], i["blend_mode"]) for a, b in pairs]
    if class_type == "ImageBatch":  # torch.cat; image2 resized to image1 when they differ
        return [*images, *(im.resize(images[0].size) for im in i["image2"])]
    if class_type == "RIFE VFI":  # the model is simulated: in-betweens are cross-fades
        m, frames = i["multiplier"], []
        for a, b in itertools.pairwise(images):
            frames += [a, *(Image.blend(a, b, k / m) for k in range(1, m))]
        return [*frames, images[-1]]
    if class_type == "ImageCompositeMasked":
        composed = [im.copy() for im in images]
        for im in composed:
            im.paste(i["source"][0], (i["x"], i["y"]))
        return composed
    rng = np.random.default_rng(i.get("seed", 0))
    out = []
    for im in images:
        pixels = np.asarray(im, dtype=np.float32)
        if class_type == "ImageInvert":
            pixels = 255 - pixels
        else:  # ImageAddNoise
            pixels = pixels + rng.normal(0, 255 * i["strength"], pixels.shape)
        out.append(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))
    return out


_PIL_METHODS = {
    "nearest-exact": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "area": Image.Resampling.BOX,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


def _blend(a: Image.Image, b: Image.Image, factor: float, mode: str) -> Image.Image:
    """ComfyUI's ImageBlend (comfy_extras/nodes_post_processing.py) on 0..1 floats: image2 is
    resized to image1 (bicubic, centre crop) when they differ; SaveImage truncates to bytes."""
    if b.size != a.size:
        b = ImageOps.fit(b, a.size, Image.Resampling.BICUBIC)
    x = np.asarray(a.convert("RGB"), np.float32) / 255
    y = np.asarray(b.convert("RGB"), np.float32) / 255
    if mode == "normal":
        mixed = y
    elif mode == "multiply":
        mixed = x * y
    elif mode == "screen":
        mixed = 1 - (1 - x) * (1 - y)
    elif mode == "overlay":
        mixed = np.where(x <= 0.5, 2 * x * y, 1 - 2 * (1 - x) * (1 - y))
    elif mode == "soft_light":
        g = np.where(x <= 0.25, ((16 * x - 12) * x + 4) * x, np.sqrt(x))
        mixed = np.where(y <= 0.5, x - (1 - 2 * y) * x * (1 - x), x + (2 * y - 1) * (g - x))
    else:  # difference
        mixed = x - y
    out = np.clip(x * (1 - factor) + mixed * factor, 0, 1)
    return Image.fromarray((out * 255).astype(np.uint8))


def _with_api_prefix(route: Route | WebSocketRoute) -> Route | WebSocketRoute:
    """Every route also answers under `/api` (k_api_prefix.json)."""
    if isinstance(route, WebSocketRoute):
        return WebSocketRoute("/api" + route.path, route.endpoint)
    return Route("/api" + route.path, route.endpoint, methods=list(route.methods or []))


def _error(kind: str, message: str, details: str) -> dict[str, Any]:
    return {"type": kind, "message": message, "details": details, "extra_info": {}}


def _rejected(error: dict[str, Any], node_errors: dict[str, Any] | None = None) -> Response:
    return JSONResponse({"error": error, "node_errors": node_errors or {}}, status_code=400)


def _item(kind: str, message: str, details: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "message": message, "details": details, "extra_info": extra}


def _file_key(name: str) -> tuple[str, str, str]:
    """`sub/name.png`, or `name.png [output]` (c_upload.json), as a (type, sub, name) key."""
    kind = "input"
    if name.endswith("]") and " [" in name:
        name, _, kind = name[:-1].rpartition(" [")
    sub, _, base = name.rpartition("/")
    return (kind, sub, base)


def _multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """Form fields as (filename, bytes); python-multipart is not installed."""
    boundary = content_type.partition("boundary=")[2].strip('"').encode()
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in body.split(b"--" + boundary)[1:-1]:
        head, _, data = part[2:-2].partition(b"\r\n\r\n")
        params: dict[str, str] = {}
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("content-disposition"):
                params = dict(p.strip().split("=", 1) for p in line.split(";")[1:])
        filename = params.get("filename", "").strip('"') or None
        fields[params.get("name", "").strip('"')] = (filename, data)
    return fields


def _order(prompt: dict[str, Any], outputs: list[str]) -> list[str]:
    """Dependencies first, each node once: only outputs and their ancestors run (§4)."""
    order: list[str] = []

    def visit(node_id: str) -> None:
        if node_id not in order:
            for value in prompt[node_id]["inputs"].values():
                if isinstance(value, list):
                    visit(value[0])
            order.append(node_id)

    for output in outputs:
        visit(output)
    return order


def _signatures(prompt: dict[str, Any], order: list[str]) -> dict[str, str]:
    """Cache keys: a node with its inputs and, through links, its ancestors' keys."""
    signatures: dict[str, str] = {}
    for node_id in order:
        node = prompt[node_id]
        inputs = {
            k: f"{signatures[v[0]]}:{v[1]}" if isinstance(v, list) else v
            for k, v in node["inputs"].items()
        }
        raw = json.dumps([node["class_type"], inputs], sort_keys=True, default=str)
        signatures[node_id] = hashlib.sha256(raw.encode()).hexdigest()
    return signatures


def _decode(latent: Latent) -> list[Image.Image]:
    """A real image from a simulated latent: a seeded two-colour gradient with grain; a video
    latent decodes to its init image under a slow push in, one frame per latent in the batch."""
    if latent.video:
        still, frames = latent.source[0], []
        for index in range(latent.batch):
            zoom = 1.0 + 0.15 * index / max(1, latent.batch - 1)
            w, h = round(still.width / zoom), round(still.height / zoom)
            box = ((still.width - w) // 2, (still.height - h) // 2)
            frames.append(still.crop((*box, box[0] + w, box[1] + h)).resize(still.size))
        return frames
    digest = hashlib.sha256(f"{latent.seed}:{latent.text}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ramp = np.linspace(0.0, 1.0, latent.height, dtype=np.float32)[:, None, None]
    grain = rng.normal(0, 6, (latent.height, latent.width, 3))
    image = Image.fromarray(
        np.clip(top * (1 - ramp) + bottom * ramp + grain, 0, 255).astype(np.uint8)
    )
    if latent.source:
        image = Image.blend(latent.source[0].resize(image.size), image, min(1.0, latent.denoise))
    return [image] * latent.batch
