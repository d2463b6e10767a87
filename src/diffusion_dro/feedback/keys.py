"""Per-app API keys: random, shown once, stored only as a SHA-256 hash.

A key reads ``dro_<12 hex prefix>_<43 url-safe chars>`` (256 random bits). Keys are
high-entropy secrets, so a plain SHA-256 (no salt, no slow hash) is enough to make
a stolen database useless for authenticating, and lets lookup be one index probe.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["new_key", "hash_key", "key_prefix"]


def new_key() -> str:
    return f"dro_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_prefix(key: str) -> str:
    """The non-secret part shown in listings, e.g. ``dro_1a2b3c4d5e6f``."""
    return "_".join(key.split("_")[:2])[:32]
