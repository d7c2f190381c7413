"""Secret fields: where they are in a value, and sealing them before it enters an event.

The cipher itself lives in infrastructure; the domain sees it through
:class:`SecretCodec`. A sealed secret is a string ``enc:v1:<token>`` (sealed before
keys had ids) or ``enc:v2:<key id>:<token>``. Redacted and revealed views of a
stored value are :mod:`domain.secret_views`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from pydantic import BaseModel, SecretStr

from domain.areas.base import AreaModel
from domain.errors import FieldError, InvalidValueError, SecretKeyError
from domain.limits import DEFAULT_LIMITS, ValueLimits
from domain.secret_schema import has_secret_fields, secret_paths_in

SECRET_PREFIX = "enc:v1:"  # noqa: S105 - a marker, not a password
SECRET_PREFIX_V2 = "enc:v2:"  # noqa: S105 - a marker, not a password
SEALED_PREFIXES = (SECRET_PREFIX, SECRET_PREFIX_V2)
REDACTED = "********"
NO_KEY_MESSAGE = (
    "no secret key is configured: set CONDUIT_CONFIG_SECRET_KEY "
    "(`conduit-config keygen` prints a new one)"
)

#: Why a sealed value given for a secret field is refused (it does not open here).
FOREIGN_SEALED = (
    "holds a secret sealed with a key this store does not have (or altered):"
    " send the plaintext, or ******** to keep the stored secret"
)

Path = tuple[str | int, ...]


class SecretCodec(Protocol):
    """Encrypts and decrypts secret field values (AES-GCM in infrastructure)."""

    def seal(self, plaintext: str) -> str:
        """Return ``enc:v2:…`` (or ``enc:v1:…``) for a plaintext."""

    def open(self, sealed: str) -> str:
        """Return the plaintext; raises :class:`SecretKeyError` if it cannot."""


def is_sealed(value: object) -> bool:
    """True for a string that looks like an encrypted secret (``enc:v1:`` or ``enc:v2:``).

    Only the place decides whether it is one: a non-secret field may hold such text."""
    return isinstance(value, str) and value.startswith(SEALED_PREFIXES)


def has_secrets(model: type[BaseModel]) -> bool:
    """Whether a model's fields can hold a ``SecretStr`` anywhere inside them."""
    return has_secret_fields(model)


def secret_paths(instance: BaseModel, prefix: Path = ()) -> Iterator[Path]:
    """Paths of every ``SecretStr`` inside a validated value: only part of its secrets
    (a union member with a plain ``str`` at a secret member's place is missed), so the
    secrets of a value use :func:`sealing_paths` or :func:`sealed_places`."""
    if not prefix and not has_secrets(type(instance)):
        return
    for name in type(instance).model_fields:
        yield from _walk(getattr(instance, name), (*prefix, name))


def sealing_paths(instance: BaseModel, sparse: Any) -> list[Path]:
    """Where the secrets of a validated value (``sparse``: its stored form) are: each
    ``SecretStr`` of the instance, and each place its schema makes secret (a union
    counts when any member is secret). Reads redact every such place, so each must be
    sealed: a place shown as ``********`` never holds plaintext in the log."""
    found = [*secret_paths(instance), *secret_paths_in(type(instance), sparse)]
    return list(dict.fromkeys(found))


def sealed_places(instance: BaseModel, stored: Any) -> Iterator[tuple[Path, str]]:
    """Each sealed secret of a stored value (``instance``: it validated) and its path:
    the one way rekey, verify, reads and rollback find what they open or re-seal."""
    for path in sealing_paths(instance, stored):
        sealed = get_path(stored, path)
        if is_sealed(sealed):
            yield path, sealed


def _walk(obj: Any, path: Path) -> Iterator[Path]:
    if isinstance(obj, SecretStr):
        yield path
    elif isinstance(obj, BaseModel):
        yield from secret_paths(obj, path)
    elif isinstance(obj, list | tuple):
        for index, item in enumerate(obj):
            yield from _walk(item, (*path, index))
    elif isinstance(obj, dict):
        for name, item in obj.items():
            yield from _walk(item, (*path, name))


def get_path(document: Any, path: Path) -> Any:
    """Value at ``path`` or ``None`` when absent."""
    node = document
    for part in path:
        in_list = isinstance(part, int) and isinstance(node, list) and part < len(node)
        in_dict = isinstance(part, str) and isinstance(node, dict) and part in node
        if not (in_list or in_dict):
            return None
        node = node[part]
    return node


def _set_path(document: Any, path: Path, value: Any) -> None:
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _previous_at(previous: Any, current: Any, path: Path) -> Any:
    """The previous secret at the same place; list items match by ``name`` when they have one."""
    node_prev, node_cur = previous, current
    for part in path:
        if isinstance(part, int):
            if not isinstance(node_prev, list) or not isinstance(node_cur, list):
                return None
            item = node_cur[part]
            name = item.get("name") if isinstance(item, dict) else None
            if name is not None:
                matches = [p for p in node_prev if isinstance(p, dict) and p.get("name") == name]
                node_prev = matches[0] if matches else None
            else:
                node_prev = node_prev[part] if part < len(node_prev) else None
            node_cur = item
        else:
            node_prev = node_prev.get(part) if isinstance(node_prev, dict) else None
            node_cur = node_cur.get(part) if isinstance(node_cur, dict) else None
    return node_prev


def seal_secrets(
    instance: AreaModel,
    sparse: dict[str, Any],
    previous: dict[str, Any] | None,
    codec: SecretCodec | None,
    *,
    limits: ValueLimits = DEFAULT_LIMITS,
    may_reveal: bool = False,
) -> dict[str, Any]:
    """Encrypt every plaintext secret of a sparse value in place and return it.

    Each secret given is stored as :func:`_stored_form` says; the sealed value must
    keep within ``limits`` (ciphertext is longer than its plaintext). Raises
    :class:`InvalidValueError` (also for a sealed value no key of ``codec`` opens) or
    :class:`SecretKeyError` (no codec, or the codec refuses to seal).
    """
    paths = sealing_paths(instance, sparse)
    area = instance.area_name
    for path in paths:
        given = get_path(sparse, path)
        if isinstance(given, str):
            old = _previous_at(previous, sparse, path) if previous else None
            field = _field_name(path)
            stored = _stored_form(given, old, codec, field=field, area=area, may_reveal=may_reveal)
            _set_path(sparse, path, stored)
    if paths:
        _check_sealed(sparse, {_field_name(path) for path in paths}, limits, area=area)
    return sparse


def _stored_form(
    given: str, old: Any, codec: SecretCodec | None, *, field: str, area: str, may_reveal: bool
) -> str:
    """What a secret given as ``given`` is stored as, where ``old`` is stored now.

    ``********`` keeps ``old``; a sealed value is kept but must open with this store's
    key. A plaintext is always sealed anew, so writing it is a change whether or not it
    equals the stored secret: keeping the old ciphertext would tell the writer that
    their guess was right. Only for a caller who ``may_reveal`` the secret anyway does
    an unchanged plaintext keep its old ciphertext (so history shows no change).
    Raises :class:`InvalidValueError` or :class:`SecretKeyError` as
    :func:`seal_secrets` does."""
    if given == REDACTED:
        if not is_sealed(old):
            raise InvalidValueError.single(
                field, "is the redaction placeholder but no secret is stored here"
            )
        return str(old)
    if is_sealed(given):
        if given != old:
            _require_opens(codec, given, field, area)
        return given
    if may_reveal and is_sealed(old) and _opens_to(codec, old, given):
        return str(old)
    return require_codec(codec).seal(given)


def _field_name(path: Path) -> str:
    return ".".join(str(part) for part in path)


def _check_sealed(
    sparse: dict[str, Any], secret_fields: set[str], limits: ValueLimits, *, area: str
) -> None:
    """The limits again, now that secrets are ciphertext; a secret that only the sealing
    made too long says so (its plaintext was within the limits)."""
    errors = limits.errors(sparse)
    if errors:
        raise InvalidValueError(
            [
                FieldError(e.field, f"{e.message} once encrypted")
                if e.field in secret_fields
                else e
                for e in errors
            ],
            area=area,
        )


def _require_opens(codec: SecretCodec | None, sealed: str, field: str, area: str) -> None:
    """A sealed value given for a secret must open with this store's keys. One that does
    not is bad input (sealed elsewhere, or altered), not a problem of the store: a field
    error that names neither the value nor key ids. Without any key it is the store's
    problem (:class:`SecretKeyError`)."""
    try:
        require_codec(codec).open(sealed)
    except SecretKeyError:
        if codec is None:
            raise
        raise InvalidValueError.single(field, FOREIGN_SEALED, area=area) from None


def _opens_to(codec: SecretCodec | None, sealed: str, plaintext: str) -> bool:
    # An old secret sealed with a rotated-away key must not block writing a new one.
    try:
        return require_codec(codec).open(sealed) == plaintext
    except SecretKeyError:
        if codec is None:
            raise
        return False


def require_codec(codec: SecretCodec | None) -> SecretCodec:
    """``codec``; raises :class:`SecretKeyError` when no key is configured (``None``)."""
    if codec is None:
        raise SecretKeyError(NO_KEY_MESSAGE)
    return codec
