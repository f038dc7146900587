"""Job identity: stable job ids and the ComfyUI prompt ids derived from them (exactly-once)."""

from __future__ import annotations

import hashlib
import uuid

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "creative-studio/comfyui/prompt")


def job_id_for(thread_id: str, deliverable: str, iteration: int, attempt: int) -> str:
    """The job id the graph passes to `generate`: stable across crashes, new for each attempt."""
    return f"{thread_id}:{deliverable}:{iteration}:{attempt}"


def prompt_id_for(job_id: str) -> str:
    """The ComfyUI `prompt_id` for a job: the same job always maps to the same prompt.

    ComfyUI accepts a client-chosen id verbatim and does not check it for uniqueness
    (`j_queue.json`), so deriving it from the job is what makes reconciliation possible.
    """
    return str(uuid.uuid5(_NAMESPACE, job_id))


def _parts(job_id: str) -> list[str]:
    parts = job_id.rsplit(":", 3)
    return parts if len(parts) == 4 else [job_id]


def thread_of(job_id: str) -> str:
    """The thread a job belongs to (the job id itself when it is not in `job_id_for` form)."""
    return _parts(job_id)[0]


def attempt_of(job_id: str) -> int:
    """The attempt number of a job (0 when the job id carries none)."""
    parts = _parts(job_id)
    return int(parts[3]) if len(parts) == 4 and parts[3].isdigit() else 0


def seed_for(explicit_seed: int, job_id: str) -> int:
    """The seed a job samples with: varied by attempt, so a retry is never a silent cache hit.

    An explicit seed is honoured (plus the attempt); seed 0 means "choose one", derived from the
    job without its attempt so that attempts of the same deliverable differ by one.
    """
    base = explicit_seed
    if not base:
        stem = job_id.rsplit(":", 1)[0] if len(_parts(job_id)) == 4 else job_id
        base = int.from_bytes(hashlib.sha256(stem.encode()).digest()[:4], "big")
    return (base + attempt_of(job_id)) % 2**32
