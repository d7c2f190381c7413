"""Hostile JSON *text*: bytes a client can send, including text no strict parser accepts
(``NaN``, ``Infinity``, ``\\ud800`` escapes, 400-digit numbers, nesting deeper than
Python's recursion limit, invalid UTF-8, a BOM, duplicate keys), alone or as the value of
one member of an otherwise valid document."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.strategies import hostile_json


def encode(value: Any, *, ascii_only: bool) -> bytes:
    """JSON text of ``value`` as a lenient encoder writes it: NaN and Infinity as bare
    tokens, lone surrogates as ``\\ud800`` escapes (``ascii_only``) or as their invalid
    UTF-8 bytes."""
    text = json.dumps(value, allow_nan=True, ensure_ascii=ascii_only)
    return text.encode("utf-8", "surrogatepass")


def _deep_text(depth: int, *, as_list: bool) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth if as_list else b'{"a":' * depth + b"1" + b"}" * depth


# Fragments no strict JSON parser accepts (or accepts only with a lossy conversion).
BAD_FRAGMENTS = (
    b"NaN",
    b"-NaN",
    b"Infinity",
    b"-Infinity",
    b"[NaN]",
    b'{"a": Infinity}',
    b'"\\ud800"',
    b'"\\udfff\\ud800"',
    b'{"\\ud800": 1}',
    b'"\\u0000"',
    b"1e999",
    b"-1e400",
    b"1" + b"0" * 400,
    b"9" * 4301,
    b"1" + b"0" * 100_000,
    b"18446744073709551616",
    b"-9223372036854775809",
    b"\xef\xbb\xbf{}",
    b'"\xff\xfe"',
    b'"\xc0\xaf"',
    b'"\xed\xa0\x80"',
    b'{"a": 1, "a": true}',
    b"{} []",
    b"",
    b"{",
    b'{"a":',
    b"[1,]",
    b"'x'",
    b"\x00",
    b"0x10",
    b"+1",
    b".5",
    b"01",
)


def hostile_fragment() -> st.SearchStrategy[bytes]:
    """One JSON value as text: a bad fragment, very deep nesting, or a hostile value."""
    depth = st.sampled_from((300, 1_000, 5_000, 100_000))
    return st.one_of(
        st.sampled_from(BAD_FRAGMENTS),
        st.builds(_deep_text, depth, as_list=st.booleans()),
        st.builds(encode, hostile_json(), ascii_only=st.booleans()),
    )


def embed(document: dict[str, Any], field: str, fragment: bytes) -> bytes:
    """JSON text of ``document`` with ``fragment`` as the (raw) value of ``field``."""
    marker = "\ue000fuzz-fragment\ue000"
    text = json.dumps({**document, field: marker}, ensure_ascii=False, allow_nan=True)
    quoted = json.dumps(marker, ensure_ascii=False).encode()
    return text.encode("utf-8", "surrogatepass").replace(quoted, fragment, 1)


def hostile_json_text(
    documents: st.SearchStrategy[dict[str, Any]], fields: Callable[[dict[str, Any]], list[str]]
) -> st.SearchStrategy[bytes]:
    """A near-valid document as JSON text with one member's value (one of ``fields`` of
    the drawn document, or a new one) replaced by a hostile fragment, or the fragment on
    its own."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        fragment = draw(hostile_fragment())
        document = draw(documents)
        names = fields(document) or ["extra"]
        if draw(st.integers(0, 9)) == 0:
            return fragment
        return embed(document, draw(st.sampled_from(names)), fragment)

    return build()
