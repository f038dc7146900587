"""Text to speech: the `Speech` protocol, eSpeak NG (bundled, offline) and an HTTP TTS server.

eSpeak NG comes from the `espeakng-loader` wheel, which ships the library *and* its voice data,
so the embedded default speaks with nothing downloaded at run time. A server speaking OpenAI's
`POST /v1/audio/speech` (`TTS_URL`) is the configured alternative.
"""

from __future__ import annotations

import asyncio
import ctypes
import io
import threading
import wave
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import numpy as np
from numpy.typing import NDArray

from adapters.errors import GenerationFailed, ServiceUnavailable

Samples = NDArray[np.int16]
WORDS_PER_SECOND = 2.5
"""A comfortable voice-over pace: what a script is written and timed for (Saga's lines, the
offline model's, Lens's silence estimate)."""


@dataclass(frozen=True)
class Voiced:
    """One spoken line: mono 16-bit samples and what made them."""

    samples: Samples
    sample_rate: int
    engine: str
    """Who spoke, for labels and lineage (`eSpeak NG 1.52`, `TTS server tts-1/alloy`)."""

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


class Speech(Protocol):
    """Something that turns text into speech."""

    name: str
    """Short label shown to people (`espeak-ng`, `tts-server`)."""

    async def say(self, text: str, *, voice: str = "", speed: float = 1.0) -> Voiced:
        """Speak `text` (`speed` 1.0 is the engine's normal pace, 1.5 half again as fast)."""
        ...


_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: AUDIO_OUTPUT_SYNCHRONOUS
_UTF8 = 1  # espeakCHARS_UTF8
_POS_CHARACTER = 1
_RATE = 1  # espeak_PARAMETER: espeakRATE, words per minute
_NORMAL_WPM = 165
_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _ESpeakLibrary:
    """The process's one eSpeak NG instance: its C state is global, so calls take a lock."""

    def __init__(self) -> None:
        import espeakng_loader  # imported here: only the embedded voice needs it

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_Info.restype = ctypes.c_char_p
        self.lib.espeak_Info.argtypes = [ctypes.c_void_p]
        data = espeakng_loader.get_data_path().encode()
        self.sample_rate = int(self.lib.espeak_Initialize(_SYNCHRONOUS, 0, data, 0))
        if self.sample_rate <= 0:
            raise GenerationFailed("eSpeak NG could not start (its voice data is missing)")
        self.version = (self.lib.espeak_Info(None) or b"").decode(errors="replace")
        self.chunks: list[Samples] = []
        self.callback = _Callback(self._collect)  # kept referenced: C holds the pointer
        self.lib.espeak_SetSynthCallback(self.callback)
        self.lock = threading.Lock()

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        if count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def synthesize(self, text: str, voice: str, wpm: int) -> Samples:
        with self.lock:
            self.chunks = []
            if self.lib.espeak_SetVoiceByName((voice or "en").encode()) != 0:
                raise GenerationFailed(f"eSpeak NG has no voice {voice!r}; try 'en' or 'en-us'")
            self.lib.espeak_SetParameter(_RATE, wpm, 0)
            data = text.encode()
            status = self.lib.espeak_Synth(
                data, len(data) + 1, 0, _POS_CHARACTER, 0, _UTF8, None, None
            )
            self.lib.espeak_Synchronize()
            if status != 0:
                raise GenerationFailed(f"eSpeak NG could not speak the line (status {status})")
            chunks, self.chunks = self.chunks, []
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


_library: _ESpeakLibrary | None = None
_library_lock = threading.Lock()


def _espeak() -> _ESpeakLibrary:
    global _library
    with _library_lock:
        if _library is None:
            _library = _ESpeakLibrary()
        return _library


class ESpeakSpeech:
    """The embedded voice: eSpeak NG from its wheel, on the CPU, nothing downloaded."""

    name = "espeak-ng"

    async def say(self, text: str, *, voice: str = "", speed: float = 1.0) -> Voiced:
        library = await asyncio.to_thread(_espeak)
        wpm = int(max(80, min(450, _NORMAL_WPM * speed)))
        samples = await asyncio.to_thread(library.synthesize, text, voice or "en", wpm)
        return Voiced(samples, library.sample_rate, f"eSpeak NG {library.version}".strip())


class HttpSpeech:
    """A TTS server speaking OpenAI's `POST /v1/audio/speech` (asked for WAV)."""

    name = "tts-server"

    def __init__(
        self, base_url: str, *, model: str = "tts-1", voice: str = "alloy", timeout_s: float = 120
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.voice = voice
        self.timeout_s = timeout_s

    async def say(self, text: str, *, voice: str = "", speed: float = 1.0) -> Voiced:
        body = {
            "model": self.model,
            "input": text,
            "voice": voice or self.voice,
            "response_format": "wav",
            "speed": max(0.25, min(4.0, speed)),
        }
        url = f"{self.base_url}/v1/audio/speech"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(url, json=body)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"cannot reach the TTS server at {self.base_url}") from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(f"the TTS server answered {response.status_code}")
        if response.status_code != 200:
            raise GenerationFailed(
                f"the TTS server refused the line ({response.status_code}: {response.text[:200]})"
            )
        samples, rate = read_wav(response.content)
        return Voiced(samples, rate, f"TTS server {self.model}/{body['voice']}")


def read_wav(data: bytes) -> tuple[Samples, int]:
    """Mono 16-bit samples and the rate of a PCM WAV file (stereo is mixed down)."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise GenerationFailed(f"the TTS answer is not a WAV file: {exc}") from exc
    if width != 2:
        raise GenerationFailed(f"the TTS answer has {8 * width}-bit samples; expected 16-bit")
    samples = np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return samples, rate


def wav_bytes(samples: Samples, sample_rate: int) -> bytes:
    """Mono 16-bit PCM WAV bytes."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()
