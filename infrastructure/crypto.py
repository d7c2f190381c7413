"""AES-256-GCM encryption of secret field values, with a keyring.

A sealed secret names the key that sealed it: ``enc:v2:<KID>:<base64url(nonce ||
ciphertext+tag)>``, where KID is derived from the key itself (so a key and its id can
never disagree) and is part of the authenticated data. Values sealed before key ids
existed (``enc:v1:<token>``) are still opened, by trying each key of the ring.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.errors import SecretKeyError, SettingsError

V1_PREFIX = "enc:v1:"
V2_PREFIX = "enc:v2:"
_V1_AAD = b"conduit-config:secret:v1"
_V2_AAD = b"conduit-config:secret:v2:"
_KEY_ID_LABEL = b"conduit-config secret key id"
_KID = re.compile(r"[0-9a-f]{16}")
_NONCE_BYTES = 12
KEY_FILE_NAME = "secret.key"


def generate_key() -> str:
    """A new random 32-byte key, base64url without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def key_id(key: bytes) -> str:
    """The id of a key: the first 16 hex digits of HMAC-SHA256(key, a fixed label).
    It names the key without revealing it."""
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def decode_key(text: str, *, source: str) -> bytes:
    """Decode a base64url key; raises :class:`SettingsError` naming ``source`` (never
    the text itself: it may be a key)."""
    cleaned = text.strip()
    try:
        key = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        raise SettingsError(f"{source}: not valid base64url") from None
    if len(key) != 32:
        raise SettingsError(f"{source}: must decode to 32 bytes, got {len(key)}")
    return key


def decode_key_list(text: str, *, source: str) -> list[bytes]:
    """Comma-separated base64url keys (blanks ignored); a bad one raises
    :class:`SettingsError` naming ``source`` and its index (from 0)."""
    parts = [part.strip() for part in text.split(",")]
    return [
        decode_key(part, source=f"{source}[{index}]") for index, part in enumerate(parts) if part
    ]


def load_or_create_key_file(home: Path) -> bytes:
    """The embedded default's key: read ``home/secret.key``, creating it (mode 0600) once."""
    path = home / KEY_FILE_NAME
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_key() + "\n")
    return decode_key(path.read_text(), source=str(path))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def key_id_of(sealed: str) -> str | None:
    """The key id a sealed secret names; ``None`` for ``enc:v1`` (and anything else)."""
    if not sealed.startswith(V2_PREFIX):
        return None
    kid = sealed[len(V2_PREFIX) :].partition(":")[0]
    return kid if _KID.fullmatch(kid) else None


class AesGcmCodec:
    """A keyring: seals with the current key, opens with the key a value names (or, for
    ``enc:v1``, the current key and then each retired one).

    ``open`` raises :class:`SecretKeyError` naming the key id a value needs when this
    process does not hold it, or saying the value does not decrypt (tampered); the
    ciphertext is never part of a message.
    """

    def __init__(self, *, key: bytes, retired: Sequence[bytes] = ()) -> None:
        self.current_id = key_id(key)
        self._keys: dict[str, AESGCM] = {self.current_id: AESGCM(key)}
        for old in retired:
            self._keys.setdefault(key_id(old), AESGCM(old))

    @property
    def ids(self) -> tuple[str, ...]:
        """Ids of every key of the ring, the current one first."""
        return tuple(self._keys)

    @staticmethod
    def key_id_of(sealed: str) -> str | None:
        """The key id a sealed value names (``None`` for ``enc:v1``)."""
        return key_id_of(sealed)

    def seal(self, plaintext: str) -> str:
        """``enc:v2:<current id>:<token>`` for a plaintext."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        aad = _V2_AAD + self.current_id.encode()
        sealed = self._keys[self.current_id].encrypt(nonce, plaintext.encode(), aad)
        return f"{V2_PREFIX}{self.current_id}:{_b64(nonce + sealed)}"

    def open(self, sealed: str) -> str:
        """The plaintext of a sealed value; raises :class:`SecretKeyError`."""
        if sealed.startswith(V2_PREFIX):
            return self._open_v2(sealed)
        if sealed.startswith(V1_PREFIX):
            for kid in self._keys:
                plain = self._try(kid, sealed[len(V1_PREFIX) :], _V1_AAD)
                if plain is not None:
                    return plain
            raise SecretKeyError(
                "a secret sealed without a key id (enc:v1) does not decrypt with any key of"
                f" this process's keyring ({', '.join(self._keys)}): wrong key or tampered"
            )
        raise SecretKeyError("a secret is not in a sealed form this release knows")

    def opens_with_current(self, sealed: str) -> bool:
        """Whether the current key (and only it) opens a sealed value."""
        kid = key_id_of(sealed)
        if sealed.startswith(V1_PREFIX):
            token, aad = sealed[len(V1_PREFIX) :], _V1_AAD
        elif kid == self.current_id:
            token, aad = sealed[len(V2_PREFIX) + len(kid) + 1 :], _V2_AAD + kid.encode()
        else:
            return False
        return self._try(self.current_id, token, aad) is not None

    def _open_v2(self, sealed: str) -> str:
        kid = key_id_of(sealed)
        if kid is None:
            raise SecretKeyError("a sealed secret (enc:v2) does not name a valid key id")
        if kid not in self._keys:
            raise SecretKeyError(
                f"a secret is sealed with key {kid}, not in this process's keyring"
                f" (current key {self.current_id}): add that key to"
                " CONDUIT_CONFIG_RETIRED_SECRET_KEYS to read it"
            )
        plain = self._try(kid, sealed[len(V2_PREFIX) + len(kid) + 1 :], _V2_AAD + kid.encode())
        if plain is None:
            raise SecretKeyError(f"a secret sealed with key {kid} does not decrypt (tampered)")
        return plain

    def _try(self, kid: str, token: str, aad: bytes) -> str | None:
        try:
            raw = _unb64(token)
            plain = self._keys[kid].decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], aad)
            return plain.decode()
        except (InvalidTag, binascii.Error, ValueError):
            return None
