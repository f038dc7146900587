"""Typed errors every adapter raises; the message is what a person reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi.exceptions import RequestValidationError
    from pydantic import ValidationError

INTERNAL_MESSAGE = "Something went wrong; your work is saved."


class StudioError(Exception):
    """Base of every error a person may see. `message` says what failed and what to do next."""

    code: str = "internal"
    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServiceUnavailable(StudioError):
    """A backing service (Postgres, Ollama, ComfyUI) cannot be reached right now."""

    code, retryable = "service_unavailable", True


class ModelNotFound(StudioError):
    """The configured model is not installed on the LLM server."""

    code = "model_not_found"


class InvalidWorkflow(StudioError):
    """The image server rejected the workflow before running it."""

    code = "invalid_workflow"


class GenerationFailed(StudioError):
    """The image server ran the workflow and it failed."""

    code = "generation_failed"


class OutOfMemory(GenerationFailed):
    """The image server ran out of (GPU) memory; a smaller image may succeed."""

    code = "out_of_memory"


class GenerationCancelled(StudioError):
    """A generation was cancelled on purpose (stop or interjection)."""

    code = "generation_cancelled"


class InvalidGateAction(StudioError):
    """The person answered a gate with an action that gate does not accept."""

    code = "invalid_gate_action"


class InvalidInput(StudioError):
    """Input to the studio is malformed (empty thread id, bad settings, unknown role)."""

    code = "invalid_input"


class StructuredOutputError(StudioError):
    """A model's structured answer could not be parsed even after a retry."""

    code = "structured_output_error"


class Conflict(StudioError):
    """The thread is busy (multitask_strategy `reject`) or the id is taken."""

    code = "conflict"


class Unauthorized(StudioError):
    """No or a wrong client token / API key."""

    code = "unauthorized"


class NotFound(StudioError):
    """No such thread, run or asset (for this client)."""

    code = "not_found"


def friendly_validation(exc: ValidationError | RequestValidationError) -> str:
    """`field: problem; ...` with pydantic's `Value error, ` prefix removed."""
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        problems.append(f"{location}: {message}" if location else message)
    return "; ".join(problems)
