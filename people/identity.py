"""Who is calling: one `Caller` per request, whatever credential it came with.

`via` says how the caller was recognised: `session` (the browser's cookie), `token` (a personal
access token), `local` (the home's owner token: the CLI and the browser on this machine),
`proxy` (a trusted reverse proxy's header, `STUDIO_TRUSTED_USER_HEADER`), `thread_token` (a
thread's own client token: that one thread, as its owner) or `grant` (a share grant's token:
that one thread, `view` or `direct`). The last two are scoped: `thread_id` names the only thread
they reach and `access` what they may do there (`thread_token`: `scope_hash`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "creator", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "creator", "viewer")
Via = Literal["session", "token", "local", "proxy", "thread_token", "grant"]


@dataclass(frozen=True)
class Caller:
    """The person (or scoped credential) behind a request."""

    user_id: str
    name: str
    role: Role
    via: str
    thread_id: str | None = None
    """For `thread_token` and `grant` callers: the one thread the credential reaches."""
    access: Literal["owner", "view", "direct"] | None = None
    """For scoped callers: what they may do on `thread_id`."""
    grant_id: str | None = None
    """For `grant` callers: the grant (its signed URLs die with it)."""
    scope_hash: str | None = None
    """For `thread_token` callers: the token's SHA-256; they reach the threads it created (one,
    or several for a token from before accounts, which kept one token for all its threads)."""

    def is_admin(self) -> bool:
        return self.role == "admin" and not self.scoped

    @property
    def scoped(self) -> bool:
        """Whether this credential reaches one thread (or a token's threads) only."""
        return self.via in ("thread_token", "grant")

    @property
    def limit_key(self) -> str:
        """Whose budget this caller's requests spend: the user's, or the grant's."""
        return self.user_id
