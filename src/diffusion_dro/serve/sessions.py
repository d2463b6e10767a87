"""Page sessions: a signed, HttpOnly cookie naming a pseudonymous user of the built-in app.

Why not hand the page an API key: any visitor could then read every user's events
and generations of that app (``GET /v1/events``, ``/v1/stats``). Instead the server
holds the built-in app itself and the page gets a cookie ``<user_id>.<HMAC>``; with it
the page may only generate, record events as that user about that user's own
generations, and fetch those images (see ``routers/page_events.py``).

The cookie is stateless (nothing to store or expire server-side) and signed with a
secret kept in ``DATA_ROOT/serve-session.key`` (created 0600 on first start), so a
visitor keeps their pseudonymous id across restarts, which per-user normalisation
in curation relies on. Delete the file to end every session. ``SameSite=Strict``
keeps other sites from posting with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from diffusion_dro.errors import InputError

__all__ = ["PageSessions", "COOKIE", "SECRET_FILE"]

COOKIE = "dro_session"
SECRET_FILE = "serve-session.key"
MAX_AGE_S = 180 * 24 * 3600


class PageSessions:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret must be at least 32 bytes")
        self._secret = secret

    @classmethod
    def from_data_root(cls, root: Path) -> PageSessions:
        """The secret in ``root/serve-session.key``, created (random, mode 0600) if absent."""
        path = root / SECRET_FILE
        if not path.exists():
            root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=root, prefix=".session-key-")  # created 0600
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(secrets.token_bytes(32))
                    f.flush()
                    os.fsync(f.fileno())
                os.link(tmp, path)  # atomic and never overwrites: if another process won the race, use theirs
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        secret = path.read_bytes()
        if len(secret) < 32:
            raise InputError(f"{path} holds {len(secret)} bytes; a session secret needs at least 32. "
                             "Delete the file and a new one is made on the next start (this ends every page session).")
        return cls(secret)

    def _sign(self, user_id: str) -> str:
        mac = hmac.new(self._secret, user_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def new(self) -> tuple[str, str]:
        """A fresh pseudonymous user id and its cookie value."""
        user_id = f"u-{secrets.token_hex(8)}"
        return user_id, f"{user_id}.{self._sign(user_id)}"

    def user_of(self, token: str | None) -> str | None:
        """The user a cookie value names, or None when it is missing or not signed by this secret."""
        if not token or "." not in token:
            return None
        user_id, sig = token.rsplit(".", 1)
        return user_id if hmac.compare_digest(sig.encode(), self._sign(user_id).encode()) else None

    @staticmethod
    def event_prefix(user_id: str) -> str:
        """Every ``client_event_id`` of a page session starts with this, so sessions cannot claim each other's ids."""
        return f"{user_id}."
