"""How ComfyUI reports results and failures, translated into the studio's typed errors."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image

from adapters.errors import GenerationCancelled, GenerationFailed, InvalidWorkflow, OutOfMemory

_OOM_MARKERS = ("out of memory", "allocation on device", "outofmemoryerror")


class ComfyUIExecutionError(Exception):
    """ComfyUI's own report of a failed or interrupted run, kept as the `__cause__`."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        super().__init__(str(payload.get("exception_message") or payload.get("node_type") or ""))
        self.payload = dict(payload)


class ComfyUIRejection(Exception):
    """ComfyUI's validation body for a rejected prompt, kept as the `__cause__`."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        super().__init__(str(body.get("error") or body.get("node_errors") or body))
        self.body = dict(body)


@dataclass(frozen=True)
class ImageRef:
    """One output file on the server, as `/view` wants it."""

    filename: str
    subfolder: str
    type: str


def _node_label(node_id: str, workflow: Mapping[str, Any], class_type: str | None) -> str:
    node = workflow.get(node_id)
    title = node.get("_meta", {}).get("title") if isinstance(node, Mapping) else None
    kind = class_type or (node.get("class_type") if isinstance(node, Mapping) else None)
    label = f"node {node_id}"
    if title:
        label += f" '{title}'"
    return f"{label} ({kind})" if kind else label


def invalid_workflow(
    body: Mapping[str, Any], workflow: Mapping[str, Any], template: str
) -> InvalidWorkflow:
    """The error for a rejected prompt, naming each failing node and input (`d_invalid.json`).

    `error.details` is often empty; the structured cause is in `node_errors[id].errors[]`.
    """
    problems: list[str] = []
    for node_id, node_error in (body.get("node_errors") or {}).items():
        label = _node_label(str(node_id), workflow, node_error.get("class_type"))
        for err in node_error.get("errors") or []:
            input_name = (err.get("extra_info") or {}).get("input_name")
            where = f"{label}, input '{input_name}'" if input_name else label
            detail = err.get("details") or ""
            message = err.get("message") or err.get("type") or "invalid"
            problems.append(f"{where}: {message}" + (f" ({detail})" if detail else ""))
    if not problems:
        error = body.get("error") or {}
        if isinstance(error, Mapping):
            detail = error.get("details") or ""
            problems.append(str(error.get("message") or "invalid prompt"))
            if detail:
                problems[-1] += f" ({detail})"
        else:
            problems.append(str(error))
    return InvalidWorkflow(
        f"ComfyUI rejected the '{template}' workflow: "
        + "; ".join(problems)
        + ". The template and the server's nodes or models do not match."
    )


def is_out_of_memory(exception_type: str, message: str) -> bool:
    """Whether a runtime error is an out-of-memory (torch.OutOfMemoryError, CUDA OOM text)."""
    text = f"{exception_type} {message}".lower()
    return any(marker in text for marker in _OOM_MARKERS)


def execution_failure(payload: Mapping[str, Any]) -> GenerationFailed:
    """The error for an `execution_error` payload, with ComfyUI's exception message."""
    exc_type = str(payload.get("exception_type") or "")
    raw = str(payload.get("exception_message") or "").strip()
    # ComfyUI appends a TIPS paragraph to OOM messages (execution.py); the first line is the fact.
    first = raw.split("\n", 1)[0].strip() or exc_type or "unknown error"
    where = f"node {payload.get('node_id')} ({payload.get('node_type')})"
    if is_out_of_memory(exc_type, raw):
        return OutOfMemory(
            f"ComfyUI ran out of GPU memory in {where}: {first}. A smaller image may fit."
        )
    return GenerationFailed(f"ComfyUI failed in {where}: {exc_type}: {first}")


def outcome_error(entry: Mapping[str, Any]) -> Exception | None:
    """The typed error for a finished history entry, or None when it succeeded.

    Failed and interrupted runs both read `status_str: "error"`; the last status message tells
    which (`e_exec_error.json`, `f_interrupt.json`).
    """
    status = entry.get("status") or {}
    if status.get("status_str", "success") == "success":
        return None
    for kind, payload in reversed(status.get("messages") or []):
        if kind == "execution_interrupted":
            cancelled = GenerationCancelled("The generation was stopped before it finished.")
            cancelled.__cause__ = ComfyUIExecutionError(payload)
            return cancelled
        if kind == "execution_error":
            failure = execution_failure(payload)
            failure.__cause__ = ComfyUIExecutionError(payload)
            return failure
    return GenerationFailed("ComfyUI reported the generation as failed without saying why.")


def was_interrupted(entry: Mapping[str, Any]) -> bool:
    """Whether a history entry records an interrupted run."""
    return isinstance(outcome_error(entry), GenerationCancelled)


def queued_workflow(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow of a history entry (its queue tuple is `[number, id, prompt, extra, outs]`)."""
    queued = entry.get("prompt") or []
    return dict(queued[2]) if len(queued) > 2 and isinstance(queued[2], Mapping) else {}


def queued_extra(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The `extra_data` a history entry was queued with (it includes `client_id`)."""
    queued = entry.get("prompt") or []
    return dict(queued[3]) if len(queued) > 3 and isinstance(queued[3], Mapping) else {}


def output_images(entry: Mapping[str, Any], output_title: str = "output") -> list[ImageRef]:
    """The images saved by the workflow's output node(s), read from history, in batch order.

    Filenames get a server-side counter, so they are read, never predicted (gotcha 11).
    """
    workflow = queued_workflow(entry)
    wanted = {
        node_id
        for node_id, node in workflow.items()
        if isinstance(node, Mapping) and node.get("_meta", {}).get("title") == output_title
    }
    refs: list[ImageRef] = []
    for node_id, output in (entry.get("outputs") or {}).items():
        if wanted and node_id not in wanted:
            continue
        for image in output.get("images") or []:
            refs.append(
                ImageRef(
                    filename=str(image["filename"]),
                    subfolder=str(image.get("subfolder") or ""),
                    type=str(image.get("type") or "output"),
                )
            )
    return refs


def served_from_cache(entry: Mapping[str, Any], output_title: str = "output") -> bool:
    """Whether the output node was replayed from ComfyUI's cache (no new file written)."""
    workflow = queued_workflow(entry)
    outputs = {
        node_id
        for node_id, node in workflow.items()
        if isinstance(node, Mapping) and node.get("_meta", {}).get("title") == output_title
    }
    for kind, payload in (entry.get("status") or {}).get("messages") or []:
        if kind == "execution_cached" and outputs and outputs <= set(payload.get("nodes") or []):
            return True
    return False


def image_size(data: bytes, what: str) -> tuple[int, int]:
    """Width and height of an image file (the header is enough)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (OSError, ValueError) as exc:
        raise GenerationFailed(f"The {what} is not a readable image.") from exc
