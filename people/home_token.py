"""The home's owner token: who the CLI acts as, until the studio has accounts.

Every `STUDIO_HOME` has one client token, kept in `STUDIO_HOME/owner-token` (mode 0600, made on
first use). The CLI owns the threads it starts with it (`threads.owner_hash`, as for any client
token), so `studio serve` on the same home shows them to whoever holds it: the browser on this
machine receives it from a loopback-only bootstrap (`GET /local/owner`, `api/http/pages.py`).

It is an ordinary client token, nothing more: ownership is "the SHA-256 of a credential", so
accounts can replace it by making the CLI act with its user's credential instead of this file
(and by claiming the home's threads for that user once).
"""

from __future__ import annotations

import contextlib
import hmac
import os
from collections.abc import Callable
from pathlib import Path

from people.client_tokens import new_token, token_hash

FILE_NAME = "owner-token"


def token_path(home: Path) -> Path:
    return home / FILE_NAME


def home_token(home: Path) -> str:
    """The home's owner token, made (readable by its user only) if it does not exist yet."""
    return home_secret(token_path(home), new_token)


def home_secret(path: Path, make: Callable[[], str]) -> str:
    """The secret in `path` (mode 0600), made with `make()` if it does not exist yet."""
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = make()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(token + "\n")
        try:  # first writer wins: another process may be making it at the same moment
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # never readable by others, whoever widened it
    token = path.read_text().strip()
    if not token:
        raise RuntimeError(f"{path} is empty; delete it to make a new one")
    return token


def home_owner_hash(home: Path) -> str:
    """The hash threads owned by the home's token carry (`threads.owner_hash`)."""
    return token_hash(home_token(home))


def is_home_token(home: Path, token: str | None) -> bool:
    """Whether `token` is the home's owner token."""
    if not token or not token_path(home).exists():
        return False
    return hmac.compare_digest(token_hash(token), home_owner_hash(home))
