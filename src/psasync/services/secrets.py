"""Keys derived from PSASYNC_SECRET_KEY for the web layer (sessions)."""

from psasync.store.secrets import derive_key


def session_key(secret: str) -> bytes:
    """The key session cookies are signed with (distinct from the stored-secrets key)."""
    return derive_key(secret, purpose="psasync sessions")
