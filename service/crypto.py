"""Token encryption at rest: Fernet keys from the environment, the first encrypts, every key decrypts."""
from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from service.config import Settings


class CipherError(RuntimeError):
    """A stored secret cannot be decrypted with any configured key."""


def derived_key(secret_key: str) -> bytes:
    """A development Fernet key derived from SECRET_KEY (production must set TOKEN_ENCRYPTION_KEYS)."""
    digest = hashlib.sha256(b"deal-pulse token encryption:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def fernet_keys(settings: Settings) -> list[bytes]:
    """The configured keys in order; the derived development key when none are configured."""
    keys = [k.strip().encode() for k in settings.token_encryption_keys.split(",") if k.strip()]
    return keys or [derived_key(settings.secret_key)]


class Cipher:
    """Encrypts small JSON documents; rotation = put the new key first, re-encrypt, drop the old key."""

    def __init__(self, keys: list[bytes]):
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError):
            # The message must not echo the key material.
            raise CipherError("TOKEN_ENCRYPTION_KEYS holds a key that is not a valid Fernet key") from None

    @classmethod
    def from_settings(cls, settings: Settings) -> "Cipher":
        """The cipher the settings describe."""
        return cls(fernet_keys(settings))

    def seal(self, document: dict) -> bytes:
        """Encrypt a JSON-able document with the first key."""
        return self._fernet.encrypt(json.dumps(document, separators=(",", ":")).encode())

    def open(self, token: bytes) -> dict:
        """Decrypt with any configured key."""
        try:
            return json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            raise CipherError("stored secret does not decrypt with any configured key") from None

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt under the first key (for a key rotation sweep)."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise CipherError("stored secret does not decrypt with any configured key") from None
