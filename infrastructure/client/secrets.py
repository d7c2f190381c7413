"""What the client runtime serves of a value's secrets: the plaintext, or nothing.

A secret this process cannot open (sealed under a key it does not hold, sealed while it
has no key, or redacted by a server that would not reveal it) is never handed out as if
it were the secret: the entry is not served, and the reason is in ``status().problems``
and raised by ``effective()``.
"""

from __future__ import annotations

from collections.abc import Callable

from domain.areas.base import AreaModel
from domain.errors import SecretKeyError
from domain.secret_views import reveal, secret_places
from domain.secrets import REDACTED, SecretCodec, get_path, is_sealed
from domain.values import JsonObject

#: Opens the secrets of a stored value of an area; raises :class:`SecretKeyError`.
Opener = Callable[[type[AreaModel], JsonObject], JsonObject]


def secret_opener(codec: SecretCodec | None) -> Opener:
    """The live view's opener: every secret field opened with ``codec``; raises
    :class:`SecretKeyError` naming the field (and the key it needs) when one cannot be."""

    def opened(model: type[AreaModel], value: JsonObject) -> JsonObject:
        for path in secret_places(model, value):
            text = get_path(value, path)
            where = ".".join(str(part) for part in path)
            if text == REDACTED:
                raise SecretKeyError(
                    f"secret {where} arrived redacted: this client may not reveal secrets"
                    " (follow the server with a token allowed to reveal them, reveal=True)"
                )
            if codec is None and is_sealed(text):
                raise SecretKeyError(
                    f"secret {where} is sealed and this process has no secret key:"
                    " set CONDUIT_CONFIG_SECRET_KEY"
                )
            if codec is not None and is_sealed(text):
                try:
                    codec.open(text)
                except SecretKeyError as exc:
                    raise SecretKeyError(f"secret {where}: {exc}") from None
        if codec is None:
            return value
        result: JsonObject = reveal(value, model, codec)
        return result

    return opened
