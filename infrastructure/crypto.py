"""AES-256-GCM encryption of secret field values."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.errors import SecretKeyError, SettingsError
from domain.secrets import SECRET_PREFIX

_AAD = b"conduit-config:secret:v1"
_NONCE_BYTES = 12
KEY_FILE_NAME = "secret.key"


def generate_key() -> str:
    """A new random 32-byte key, base64url without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def decode_key(text: str, *, source: str) -> bytes:
    """Decode a base64url key; raises :class:`SettingsError` naming ``source``."""
    cleaned = text.strip()
    try:
        key = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        raise SettingsError(f"{source}: not valid base64url") from None
    if len(key) != 32:
        raise SettingsError(f"{source}: must decode to 32 bytes, got {len(key)}")
    return key


def load_or_create_key_file(home: Path) -> bytes:
    """The embedded default's key: read ``home/secret.key``, creating it (mode 0600) once."""
    path = home / KEY_FILE_NAME
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_key() + "\n")
    return decode_key(path.read_text(), source=str(path))


class AesGcmCodec:
    """Seals secrets as ``enc:v1:<base64url(nonce || ciphertext+tag)>``.

    ``open`` raises :class:`SecretKeyError` when the value was sealed with another key
    or was tampered with.
    """

    def __init__(self, *, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), _AAD)
        return SECRET_PREFIX + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()

    def open(self, sealed: str) -> str:
        token = sealed.removeprefix(SECRET_PREFIX)
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _AAD)
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretKeyError(
                "a secret cannot be decrypted with the configured key (wrong key or tampered)"
            ) from None
        return plain.decode()
