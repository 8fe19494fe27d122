"""Stored secrets (the ConnectWise private key) encrypted with a key derived from
``PSASYNC_SECRET_KEY``.

The secret key may be any long random string; Fernet needs 32 bytes, so they are derived with
HKDF under a purpose label, which also keeps them apart from the session-signing key.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_SECRET_LENGTH = 16


class SecretKeyError(ValueError):
    """The secret key is missing, too short, or not the one the stored secrets were sealed with."""


def derive_key(secret: str, *, purpose: str) -> bytes:
    """32 bytes for one purpose (``"stored-secrets"``, ``"sessions"``) from the secret key."""
    if len(secret) < MIN_SECRET_LENGTH:
        raise SecretKeyError(
            f"PSASYNC_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters long"
        )
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
    return hkdf.derive(secret.encode())


class SecretBox:
    """Seals and opens stored secrets. Its repr never shows the key."""

    def __init__(self, secret: str) -> None:
        key = derive_key(secret, purpose="psasync stored secrets")
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def __repr__(self) -> str:
        return "SecretBox(<hidden>)"

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise SecretKeyError(
                "a stored secret cannot be decrypted: PSASYNC_SECRET_KEY has changed since it "
                "was saved; enter the ConnectWise keys again"
            ) from None
