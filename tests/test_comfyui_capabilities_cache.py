"""One ComfyUI client, one capabilities cache: the image generator and the Media Lab on the
same client ask the server once, and `refresh` asks again."""

from __future__ import annotations

import pytest

from adapters.comfyui import ComfyUIImageGenerator
from adapters.media_lab.comfyui import ComfyUIMediaLab
from tests.comfyui_server import LoopbackComfyUI

pytestmark = pytest.mark.anyio


def asked(server: LoopbackComfyUI) -> int:
    """How many times `/object_info` was fetched."""
    return sum(
        1 for method, path, _, _ in server.requests if (method, path) == ("GET", "/object_info")
    )


async def test_generator_and_media_lab_share_their_clients_capabilities() -> None:
    async with LoopbackComfyUI() as server:
        async with ComfyUIImageGenerator(server.base_url) as generator:
            lab = ComfyUIMediaLab(server.base_url, client=generator.client)
            first = await generator.capabilities()
            assert await lab.capabilities() is first  # the client's cache, not a second ask
            assert await generator.capabilities() is first
            assert asked(server) == 1

            server.checkpoints = ("dreamshaper_8.safetensors",)
            fresh = await lab.capabilities(refresh=True)
            assert asked(server) == 2
            assert await generator.capabilities() is fresh
            assert fresh.checkpoints == ("dreamshaper_8.safetensors",)
