from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.areas import CacheConfig, CacheModelRule


def assert_rejected(data: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        CacheConfig.model_validate(data)
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_defaults() -> None:
    assert CacheConfig().model_dump() == {
        "enabled": True,
        "cache_type": "memory",
        "default_ttl_seconds": 3600,
        "max_ttl_seconds": 86400,
        "max_entries": 10000,
        "eviction_policy": "lru",
        "model_rules": [],
    }
    assert CacheModelRule(model_pattern="gpt-*").model_dump() == {
        "model_pattern": "gpt-*",
        "enabled": True,
        "ttl_seconds": None,
    }
    assert not CacheConfig.singleton


@pytest.mark.parametrize(
    "data",
    [
        {"cache_type": "redis"},
        *({"eviction_policy": p} for p in ["lru", "lfu", "fifo", "random", "priority", "ttl"]),
        {"default_ttl_seconds": 0},
        {"default_ttl_seconds": 86400},
        {"default_ttl_seconds": 60, "max_ttl_seconds": 60},
        {"default_ttl_seconds": 0, "max_ttl_seconds": 0},
        {"max_entries": 1},
        {"enabled": False},
        {"model_rules": [{"model_pattern": "a", "ttl_seconds": 0}, {"model_pattern": "b"}]},
        {"model_rules": [{"model_pattern": "p" * 200, "ttl_seconds": 86400, "enabled": False}]},
        {
            "max_ttl_seconds": 100,
            "default_ttl_seconds": 10,
            "model_rules": [{"model_pattern": "a", "ttl_seconds": 100}],
        },
    ],
)
def test_accepted(data: dict[str, Any]) -> None:
    cache = CacheConfig.model_validate(data)
    for name, expected in data.items():
        if name != "model_rules":
            assert getattr(cache, name) == expected


@pytest.mark.parametrize(
    ("data", "loc", "fragment"),
    [
        ({"cache_type": "memcached"}, ("cache_type",), "Input should be"),
        ({"eviction_policy": "mru"}, ("eviction_policy",), "Input should be"),
        ({"default_ttl_seconds": -1}, ("default_ttl_seconds",), "greater than or equal to 0"),
        ({"default_ttl_seconds": 86401}, ("default_ttl_seconds",), "less than or equal"),
        ({"max_ttl_seconds": -1}, ("max_ttl_seconds",), "greater than or equal to 0"),
        (
            {"default_ttl_seconds": 61, "max_ttl_seconds": 60},
            (),
            "default_ttl_seconds must be <= max_ttl_seconds",
        ),
        ({"max_entries": 0}, ("max_entries",), "greater than 0"),
        ({"model_rules": [{}]}, ("model_rules", 0, "model_pattern"), "Field required"),
        (
            {"model_rules": [{"model_pattern": ""}]},
            ("model_rules", 0, "model_pattern"),
            "at least 1 character",
        ),
        (
            {"model_rules": [{"model_pattern": "a", "ttl_seconds": 86401}]},
            ("model_rules", 0, "ttl_seconds"),
            "less than or equal to 86400",
        ),
        (
            {"model_rules": [{"model_pattern": "a", "ttl_seconds": -1}]},
            ("model_rules", 0, "ttl_seconds"),
            "greater than or equal to 0",
        ),
        (
            {"model_rules": [{"model_pattern": "a", "priority": 1}]},
            ("model_rules", 0, "priority"),
            "Extra inputs",
        ),
        (
            {
                "max_ttl_seconds": 100,
                "default_ttl_seconds": 10,
                "model_rules": [{"model_pattern": "a", "ttl_seconds": 101}],
            },
            (),
            "model_rules.0.ttl_seconds must be <= max_ttl_seconds",
        ),
        (
            {"model_rules": [{"model_pattern": "a"}, {"model_pattern": "a"}]},
            (),
            "model_rules.1.model_pattern: 'a' appears more than once",
        ),
        ({"redis_url": "redis://x"}, ("redis_url",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(data: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    assert_rejected(data, loc, fragment)


@given(st.integers(0, 86400), st.integers(0, 10**7))
def test_ttl_order_property(default: int, maximum: int) -> None:
    data = {"default_ttl_seconds": default, "max_ttl_seconds": maximum}
    if default <= maximum:
        assert CacheConfig.model_validate(data).default_ttl_seconds == default
    else:
        assert_rejected(data, (), "default_ttl_seconds must be <= max_ttl_seconds")


def test_round_trip() -> None:
    cache = CacheConfig.model_validate(
        {
            "cache_type": "redis",
            "eviction_policy": "lfu",
            "model_rules": [{"model_pattern": "gpt-*", "ttl_seconds": 60}],
        }
    )
    dumped = cache.model_dump(mode="json")
    orjson.dumps(dumped)
    assert CacheConfig.model_validate(dumped) == cache
