"""ComfyUI image generation: websocket client, workflow templates, and the `ImageGenerator`."""

from adapters.comfyui.capabilities import Capabilities, Missing
from adapters.comfyui.client import ComfyUIClient, Timeouts
from adapters.comfyui.generator import ComfyUIImageGenerator
from adapters.comfyui.jobs import job_id_for, prompt_id_for
from adapters.comfyui.templates import TEMPLATES
from adapters.specs import downscaled  # the OOM retry's smaller spec, re-exported for callers

__all__ = [
    "TEMPLATES",
    "Capabilities",
    "ComfyUIClient",
    "ComfyUIImageGenerator",
    "Missing",
    "Timeouts",
    "downscaled",
    "job_id_for",
    "prompt_id_for",
]
