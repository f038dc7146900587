"""Video media on the embedded path: eSpeak NG speaks, camera moves over renderer layers, PyAV
cuts an H.264/AAC MP4, and a real decoder reads back what was written."""

from __future__ import annotations

import io
import json
import threading
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import numpy as np
import pytest
from PIL import Image

from adapters.errors import ServiceUnavailable
from adapters.media.captions import Cue, overlay, parse_webvtt, webvtt
from adapters.media.cut import Shot, cut, decode, probe
from adapters.media.kit import ParallaxAnimator
from adapters.media.levels import levels
from adapters.media.motion import animate, camera, move_for, renderer_depth, spec_depth
from adapters.media.speech import ESpeakSpeech, HttpSpeech, wav_bytes
from adapters.renderer import Renderer
from adapters.specs import GenerationSpec

pytestmark = pytest.mark.anyio

W, H, FPS = 320, 180, 6


def spec(**fields: Any) -> GenerationSpec:
    base = {
        "deliverable": "scene-1",
        "prompt": "a kettle on a kitchen counter at golden hour",
        "subject": "kettle",
        "width": 456,
        "height": 256,
        "lighting": "golden hour",
        "seed": 3,
    }
    return GenerationSpec.model_validate({**base, **fields})


async def keyframe(s: GenerationSpec) -> bytes:
    images = await Renderer().generate(s, job_id="k", on_progress=lambda f, p: None)
    return images[0].png


async def test_espeak_speaks_a_line_from_its_wheel_data() -> None:
    voice = ESpeakSpeech()
    line = await voice.say("Meet Aurora, the kettle that boils in ninety seconds.")
    assert line.sample_rate == 22050
    assert 1.5 < line.seconds < 6
    assert line.engine.startswith("eSpeak NG")
    measured = levels(line.samples, line.sample_rate)
    assert -30 < measured.rms_db < 0
    faster = await voice.say("Meet Aurora, the kettle that boils in ninety seconds.", speed=1.6)
    assert faster.seconds < line.seconds * 0.8


class _Speech(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append({"path": self.path, **body})
        tone = (np.sin(np.arange(8000) / 8000 * 2 * np.pi * 220) * 8000).astype(np.int16)
        data = wav_bytes(tone, 16000)
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def tts_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Speech)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_tts_server_speaks_through_the_openai_speech_endpoint(tts_url: str) -> None:
    _Speech.bodies.clear()
    line = await HttpSpeech(tts_url, model="tts-1", voice="nova").say("Hello there", speed=1.2)
    assert line.sample_rate == 16000 and abs(line.seconds - 0.5) < 0.01
    assert _Speech.bodies == [
        {
            "path": "/v1/audio/speech",
            "model": "tts-1",
            "input": "Hello there",
            "voice": "nova",
            "response_format": "wav",
            "speed": 1.2,
        }
    ]
    assert line.engine == "TTS server tts-1/nova"


async def test_an_unreachable_tts_server_is_service_unavailable() -> None:
    with pytest.raises(ServiceUnavailable):
        await HttpSpeech("http://127.0.0.1:9").say("Hello")


def test_renderer_layers_put_the_subject_in_front_of_the_sky() -> None:
    s = spec(subject_x=0.5, subject_y=0.6, subject_scale=0.4, horizon=0.55)
    depth = renderer_depth(s)
    assert depth.shape == (256, 456)
    sky = float(depth[10, 10])
    subject = float(depth[int(0.6 * 256), int(0.5 * 456)])
    foreground = float(depth[250, 10])
    assert sky < 0.2 < foreground < subject + 1e-6
    assert subject > 0.8
    assert spec_depth(s, 456, 256)[int(0.6 * 256), int(0.5 * 456)] > 0.8


def test_shot_words_name_camera_moves() -> None:
    assert move_for("slow push in on the kettle") == "push_in"
    assert move_for("wide establishing shot, pan across the counter") == "pan_right"
    assert move_for("pull back to reveal the kitchen") == "pull_out"
    assert move_for("locked-off close-up") == "hold"
    assert move_for("a close-up") == "push_in"


async def test_a_push_in_moves_near_layers_and_zooms() -> None:
    s = spec()
    still = await keyframe(s)
    frames = list(
        animate(still, renderer_depth(s), "parallax", seconds=2, fps=FPS, width=W, height=H)
    )
    assert len(frames) == 12 and frames[0].shape == (H, W, 3)
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 2
    assert camera("push_in", 1.0).zoom > camera("push_in", 0.0).zoom


async def test_a_clip_is_a_real_h264_mp4_of_the_asked_length() -> None:
    s = spec()
    clip = await ParallaxAnimator().animate(
        await keyframe(s), s, move="push_in", seconds=2, fps=FPS, width=W, height=H, layered=True
    )
    found = probe(clip.mp4)
    assert (found.width, found.height, found.frames) == (W, H, 12)
    assert found.video_codec == "h264" and found.audio_codec is None
    assert found.fps == FPS and abs(found.seconds - 2.0) < 0.01
    assert "renderer depth layers" in clip.engine
    Image.fromarray(next(decode(clip.mp4))).save("/tmp/vt/clip-first.png")


async def test_the_cut_has_voice_captions_and_the_scripted_length() -> None:
    s1, s2 = spec(), spec(lighting="night", seed=9, subject="kettle on a table")
    animator = ParallaxAnimator()
    clips = [
        await animator.animate(
            await keyframe(s), s, move=m, seconds=1.5, fps=FPS, width=W, height=H, layered=True
        )
        for s, m in ((s1, "push_in"), (s2, "pan_left"))
    ]
    voice = await ESpeakSpeech().say("Boil in ninety seconds.")
    cues = [Cue(0.0, 1.5, "Boil in ninety seconds"), Cue(1.5, 3.0, "Aurora")]
    mp4 = cut(
        [Shot(clips[0].mp4, 1.5), Shot(clips[1].mp4, 1.5)],
        fps=FPS,
        width=W,
        height=H,
        voice=(voice.samples, voice.sample_rate),
        captions=cues,
    )
    found = probe(mp4)
    assert found.video_codec == "h264" and found.audio_codec == "aac"
    assert found.frames == 18 and found.fps == FPS and (found.width, found.height) == (W, H)
    assert abs(found.seconds - 3.0) < 0.1 and abs(found.audio_seconds - 3.0) < 0.1
    assert found.container.startswith("mov")
    frames = list(decode(mp4))
    box = overlay(cues[0].text, W, H).box
    band = frames[2][box[1] : box[3], box[0] : box[2]].astype(float)
    assert band.max() > 230 and band.min() < 40  # white type, dark outline: it reads
    Image.fromarray(frames[4]).save("/tmp/vt/cut-frame.png")
    Image.fromarray(frames[14]).save("/tmp/vt/cut-frame-2.png")


def test_webvtt_round_trips() -> None:
    cues = [Cue(0.0, 2.25, "Meet Aurora."), Cue(2.25, 65.5, "Boils --> fast")]
    text = webvtt(cues)
    assert text.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.250\nMeet Aurora.")
    assert parse_webvtt(text) == [cues[0], Cue(2.25, 65.5, "Boils -> fast")]


def test_levels_find_loudness_and_silent_gaps() -> None:
    rate = 8000
    tone = (np.sin(np.arange(rate) / rate * 2 * np.pi * 300) * 16000).astype(np.int16)
    track = np.concatenate([tone, np.zeros(rate, np.int16), tone])
    found = levels(track, rate)
    assert abs(found.rms_db - (-9.2)) < 0.5
    assert found.gaps == [(1.0, 2.0)] and found.longest_gap == 1.0
    with wave.open(io.BytesIO(wav_bytes(track, rate))) as wav:
        assert wav.getnframes() == len(track)
