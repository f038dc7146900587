"""The OpenAPI document as the server behaves: every error an operation can answer, one shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

ERRORS: dict[int, str] = {
    401: "No client token, or a token this server never issued (`WWW-Authenticate: Bearer`).",
    403: "The `Host` is not one this studio serves (STUDIO_ALLOWED_HOSTS).",
    404: "No such thread, run, checkpoint or asset for this client (others' are invisible).",
    409: "The thread is busy (`multitask_strategy: reject`), not at a gate, or the id is taken.",
    413: "The body is over STUDIO_MAX_BODY_BYTES.",
    422: "The request is invalid; the message names the field and the limit.",
    429: "Too many requests; retry later (`retryable` is true).",
}
"""What any operation may answer besides its success, each with the one error shape."""


class ErrorDetail(BaseModel):
    code: str
    """`invalid_input`, `not_found`, `unauthorized`, `conflict`, `too_large`, ..."""
    message: str
    retryable: bool


class ErrorBody(BaseModel):
    """Every error: `{error: {code, message, retryable}, detail: message}`."""

    error: ErrorDetail
    detail: str
    """The same message, where FastAPI and LangGraph clients look for it."""


def install_openapi(app: FastAPI) -> None:
    """Serve the document with the errors of every operation documented (`ErrorBody`), in
    place of FastAPI's own validation-error shape, which the server never sends."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        for name, model in (("ErrorDetail", ErrorDetail), ("ErrorBody", ErrorBody)):
            found = model.model_json_schema(ref_template="#/components/schemas/{model}")
            found.pop("$defs", None)
            schemas[name] = found
        body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                for status, description in ERRORS.items():
                    responses[str(status)] = {"description": description, "content": body}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
