"""Client tokens: whoever created a thread holds its token; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from adapters.errors import Unauthorized

TOKEN_PREFIX = "st_"


def new_token() -> str:
    """A fresh client token (shown once, at thread creation)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(request: Request) -> str | None:
    """The request's client token: `Authorization: Bearer` only. Tokens never go in a URL
    (URLs are logged): media and streams use short-lived signed URLs (`people/grants.py`)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def require_token(request: Request) -> str:
    """The caller's token hash; 401 when the request carries none."""
    token = bearer(request)
    if not token:
        raise Unauthorized("This call needs the thread's client token: Authorization: Bearer …")
    return token_hash(token)


def owns(owner_hash: str | None, caller_hash: str) -> bool:
    return owner_hash is not None and hmac.compare_digest(owner_hash, caller_hash)


def check_api_key(request: Request, api_key: str | None) -> None:
    """When the server has an API key, creating threads needs it (`X-Api-Key`)."""
    if api_key is None:
        return
    given = request.headers.get("x-api-key", "")
    if not hmac.compare_digest(given.encode(), api_key.encode()):
        raise Unauthorized("Creating a thread needs the server's API key (X-Api-Key).")
