"""Views of a stored value's secrets: redacted for readers, revealed for those allowed.

Where the secrets of a stored value are comes from its area's schema
(:mod:`domain.secret_schema`); sealing them before they enter an event is
:mod:`domain.secrets`. Every view is a copy: the stored value is never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel

from domain.secret_schema import Path, secret_paths_below, secret_paths_in
from domain.secrets import REDACTED, SecretCodec, is_sealed, require_codec

#: What decides a value's secrets: its area's schema, or ``None`` when the area is not
#: known (then anything that looks sealed is taken for a secret: see :func:`redact`).
Schema = type[BaseModel] | None


def secret_places(model: Schema, value: Any) -> list[Path]:
    """Paths of the secrets of a stored value: the schema's secret fields, or without a
    schema every string that looks sealed (``enc:v1:``/``enc:v2:``)."""
    if model is None:
        return list(_sealed_looking(value, ()))
    return secret_paths_in(model, value)


def _sealed_looking(value: Any, path: Path) -> Iterator[Path]:
    if is_sealed(value):
        yield path
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _sealed_looking(item, (*path, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _sealed_looking(item, (*path, index))


def redact(value: Any, model: Schema) -> Any:
    """Copy of a stored value of ``model`` with each secret field's text ``********``.

    Only the schema's secret fields are redacted; any other field is shown as it is,
    whatever its text. With ``model=None`` (an area no longer registered: its schema is
    unknown) every string that looks sealed is redacted, since nothing says it is not a
    secret."""
    return _replaced(value, secret_places(model, value), lambda _: REDACTED)


def reveal(value: Any, model: Schema, codec: SecretCodec | None) -> Any:
    """Copy of a stored value of ``model`` with each sealed secret field decrypted.

    Text in other fields is never opened. With ``model=None`` nothing can be told to be
    a secret, so nothing is revealed: sealed-looking text is redacted as :func:`redact`
    does. Raises :class:`SecretKeyError` when a secret does not open with ``codec``."""
    if model is None:
        return redact(value, None)

    def opened(sealed: Any) -> Any:
        return require_codec(codec).open(sealed) if is_sealed(sealed) else sealed

    return _replaced(value, secret_paths_in(model, value), opened)


def redact_ops(ops: list[Any], model: Schema) -> list[Any]:
    """RFC 6902 operations on a stored value of ``model`` with the secrets they carry
    redacted: an operation's value is redacted where its path and the schema place a
    secret field (``/keys/0/api_key``, or ``/keys/0`` with an ``api_key`` inside)."""
    result: list[Any] = []
    for op in ops:
        if not (isinstance(op, dict) and "value" in op):
            result.append(op)
            continue
        pointer = parse_pointer(op.get("path"))
        if model is None or pointer is None:  # nothing says where it is: judge by its look
            places = list(_sealed_looking(op["value"], ()))
        else:
            places = secret_paths_below(model, pointer, op["value"])
        result.append({**op, "value": _replaced(op["value"], places, lambda _: REDACTED)})
    return result


def parse_pointer(pointer: Any) -> Path | None:
    """The parts of an RFC 6901 JSON pointer (``None`` when it is not one)."""
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        return None
    if not pointer:
        return ()
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/"))


def _replaced(value: Any, paths: list[Path], change: Callable[[Any], Any]) -> Any:
    """A copy of ``value`` (containers copied, so the caller's value is never touched)
    with the item at each of ``paths`` replaced by ``change(item)``."""
    result = _copy(value)
    for path in paths:
        if not path:
            result = change(result)
            continue
        node = result
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = change(node[path[-1]])
    return result


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _copy(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
