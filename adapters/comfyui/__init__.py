"""ComfyUI image generation: websocket client, workflow templates, and the `ImageGenerator`s
(one server, or a pool of them)."""

from adapters.comfyui.capabilities import Capabilities, Missing
from adapters.comfyui.client import ComfyUIClient, Timeouts
from adapters.comfyui.generator import ComfyUIImageGenerator
from adapters.comfyui.jobs import job_id_for, prompt_id_for
from adapters.comfyui.pool import ComfyUIPool
from adapters.comfyui.templates import TEMPLATES
from adapters.specs import downscaled  # the OOM retry's smaller spec, re-exported for callers

__all__ = [
    "TEMPLATES",
    "Capabilities",
    "ComfyUIClient",
    "ComfyUIImageGenerator",
    "ComfyUIPool",
    "Missing",
    "Timeouts",
    "downscaled",
    "job_id_for",
    "prompt_id_for",
]
