"""Hypothesis strategies for hostile JSON values: deep, wide, huge numbers, odd Unicode,
NaN; what a JSON parser could hand to the domain, plus what a lenient one would (NaN, lone
surrogates, integers beyond 64 bits). ``VALUE_CORPUS`` holds one value of each kind, for
sweeps that run on every run. JSON *text* is in :mod:`tests.fuzz.text`.

Deep values are built iteratively, so that building one never recurses.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

# Characters that broke, or could break, something: NUL, lone surrogates, direction marks,
# zero-width and BOM, non-characters, combining marks, emoji (with joiners), non-BMP,
# digits that str.isdigit() accepts but int() or a database does not, line separators.
ODD_CHARS = (
    "\x00",
    "\ud800",
    "\udbff",
    "\udc80",
    "\udfff",
    "\u202e",
    "\u200f",
    "\u200b",
    "\ufeff",
    "\uffff",
    "\ufffe",
    "e\u0301",
    "\u0301",
    "\u0345\u0345\u0345",
    "\U0001f600",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467",
    "\U0001d518",
    "\U0010ffff",
    "\u00b2",
    "\u0663",
    "\uff10",
    "\U0001d7e1",
    "\u2028",
    "\u0085",
    "\x7f",
    "\t",
    "\n",
    "\\",
    '"',
    "/",
    "~",
    "%00",
    "%ff",
    "${x}",
    "'",
)
# Object keys that JSON pointers, dotted field paths or prototype-minded code get wrong.
ODD_KEYS = ("", "/", "~", "~0", "~1", "~01", ".", "..", "a.b", "a/b", "0", "-", "$ref", "__proto__")
BIG_INTS = (
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64 - 1,
    2**64,
    -(2**64),
    10**20,
    -(10**100),
    10**308,
    10**4299,  # 4,300 digits: the longest a Python int may be printed with
)
ODD_FLOATS = (
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    0.1,
    1e16,
    9007199254740993.0,
)
# Lengths of huge strings: past the 2,000 and 500 limits of string fields, past 1 MiB.
HUGE_LENGTHS = (2_001, 65_536, 1_048_577)


def odd_text(max_size: int = 12) -> st.SearchStrategy[str]:
    """Short text mixing ordinary characters, any code point (surrogates included) and
    the odd characters above."""
    piece = st.one_of(
        st.sampled_from(ODD_CHARS),
        st.characters(codec=None),
        st.text(max_size=4),
    )
    return st.lists(piece, max_size=max_size).map("".join)


def huge_text() -> st.SearchStrategy[str]:
    """A string of one repeated character (or emoji), longer than any field allows."""
    return st.builds(
        lambda char, size: char * size,
        st.sampled_from(("x", "\u00e9", "\U0001f600", "\u0301", "\ud800")),
        st.sampled_from(HUGE_LENGTHS),
    )


def odd_keys() -> st.SearchStrategy[str]:
    """Object keys: JSON-pointer specials, empty, odd Unicode, or plain."""
    return st.one_of(st.sampled_from(ODD_KEYS), odd_text(6), st.sampled_from(("a", "b", "key")))


def numbers() -> st.SearchStrategy[int | float]:
    """Integers of any size up to 4,300 digits, and floats with NaN, infinities, -0.0 and
    subnormals."""
    return st.one_of(
        st.sampled_from(BIG_INTS),
        st.integers(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from(ODD_FLOATS),
        st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    )


def scalars() -> st.SearchStrategy[Any]:
    """JSON scalars, hostile ones included."""
    return st.one_of(st.none(), st.booleans(), numbers(), odd_text(), st.text(max_size=8))


def nested(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Lists and objects of ``children`` (a few members each)."""
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(odd_keys(), children, max_size=4),
    )


def deep_json(min_depth: int = 2, max_depth: int = 600) -> st.SearchStrategy[Any]:
    """A value nested ``min_depth..max_depth`` levels deep, built without recursion:
    lists, objects or both alternating, around a hostile leaf."""

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        depth = draw(
            st.one_of(
                st.integers(min_depth, max_depth),
                st.sampled_from(sorted({min_depth, 32, 64, 100, 128, 255, 256, 300, max_depth})),
            )
        )
        shape = draw(st.sampled_from(("list", "object", "alternate")))
        key = draw(odd_keys())
        value = draw(scalars())
        for level in range(depth):
            as_list = shape == "list" or (shape == "alternate" and level % 2 == 0)
            value = [value] if as_list else {key: value}
        return value

    return build()


def wide_json() -> st.SearchStrategy[Any]:
    """An object with thousands of keys or a list with up to 100,000 items."""
    sizes = st.sampled_from((1_000, 10_000, 100_000))
    return st.one_of(
        st.builds(lambda n, v: {f"k{i}": v for i in range(n)}, sizes, scalars()),
        st.builds(lambda n, v: [v] * n, sizes, scalars()),
        st.builds(lambda n: list(range(n)), sizes),
    )


def hostile_json() -> st.SearchStrategy[Any]:
    """Any hostile JSON value: scalars, small containers, deep, wide, huge strings."""
    small = st.recursive(scalars(), nested, max_leaves=12)
    return st.one_of(small, deep_json(), wide_json(), huge_text(), numbers(), odd_text())


def hostile_object() -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object whose members are hostile (what a free-form field receives)."""
    return st.one_of(
        st.dictionaries(odd_keys(), hostile_json(), min_size=1, max_size=3),
        deep_json(max_depth=600).map(lambda v: {"deep": v}),
        wide_json().map(lambda v: v if isinstance(v, dict) else {"wide": v}),
    )


def nest(depth: int, leaf: Any = 1, *, as_list: bool = False) -> Any:
    """``leaf`` wrapped ``depth`` times in a list or a one-member object (iteratively)."""
    value = leaf
    for _ in range(depth):
        value = [value] if as_list else {"a": value}
    return value


# One value of each kind that broke, or could break, a store: past the nesting the JSON
# encoders allow (255) and far past any sane limit, integers past 64 bits, non-finite
# floats, invalid Unicode and NUL in strings and keys, pointer-special keys, past the
# string, key, member and size limits. Swept through every channel on every run.
VALUE_CORPUS: tuple[Any, ...] = (
    nest(33),
    nest(254),
    nest(300),
    nest(300, as_list=True),
    nest(600, leaf="\ud800"),
    2**63,
    2**64,
    -(2**63) - 1,
    10**400,
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    "\ud800",
    {"\udfff": 1},
    "a\x00b",
    {"\x00": 1},
    {"": 1, "/": 2, "~": 3, "~1": 4, ".": 5},
    "x" * 70_000,
    "\u00e9" * 300_000,
    {"k" * 300: 1},
    {f"k{i}": i for i in range(10_001)},
    list(range(10_001)),
    "\u00b2\u0663",
)
