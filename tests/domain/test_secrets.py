"""Secret sealing, redaction and reveal, with a fake reversible codec (no real cipher)."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from domain.areas import ProviderConfig
from domain.errors import InvalidValueError, SecretKeyError
from domain.secret_views import redact, reveal
from domain.secrets import (
    REDACTED,
    SECRET_PREFIX,
    is_sealed,
    seal_secrets,
    secret_paths,
)
from domain.values import normalize, validate


class FakeCodec:
    """Reversible stand-in for the AES-GCM codec; counts its calls."""

    def __init__(self) -> None:
        self.sealed: list[str] = []
        self.opened: list[str] = []

    def seal(self, plaintext: str) -> str:
        self.sealed.append(plaintext)
        return enc(plaintext)

    def open(self, sealed: str) -> str:
        self.opened.append(sealed)
        try:
            token = sealed.removeprefix(SECRET_PREFIX).encode()
            plaintext = base64.b64decode(token, altchars=b"-_", validate=True).decode()[::-1]
        except ValueError as exc:
            raise SecretKeyError("cannot open this secret") from exc
        if enc(plaintext) != sealed:
            raise SecretKeyError("cannot open this secret")
        return plaintext


def enc(plaintext: str) -> str:
    return SECRET_PREFIX + base64.urlsafe_b64encode(plaintext[::-1].encode()).decode()


def provider(*keys: tuple[str, str]) -> dict[str, Any]:
    return {
        "provider_type": "openai",
        "keys": [{"name": name, "api_key": api_key} for name, api_key in keys],
    }


def seal(
    value: dict[str, Any],
    previous: dict[str, Any] | None,
    codec: FakeCodec | None,
    *,
    may_reveal: bool = False,
) -> dict[str, Any]:
    sparse = normalize(ProviderConfig, value, key="openai")
    instance = validate(ProviderConfig, sparse, key="openai")
    return seal_secrets(instance, sparse, previous, codec, may_reveal=may_reveal)


def api_keys(value: dict[str, Any]) -> list[str]:
    return [k["api_key"] for k in value["keys"]]


def test_fake_codec_round_trip() -> None:
    codec = FakeCodec()
    assert codec.open(codec.seal("sk-1")) == "sk-1"
    assert codec.seal("sk-1") == enc("sk-1") != "enc:v1:sk-1"
    for bad in ("sk-1", "enc:v1:!!!", "enc:v1:" + base64.b64encode(b"\xff\xfe").decode()):
        with pytest.raises(SecretKeyError):
            codec.open(bad)


def test_plaintext_is_sealed() -> None:
    codec = FakeCodec()
    result = seal(provider(("a", "sk-a"), ("b", "sk-b")), None, codec)
    assert api_keys(result) == [enc("sk-a"), enc("sk-b")]
    assert all(is_sealed(k) for k in api_keys(result))
    assert codec.sealed == ["sk-a", "sk-b"]
    assert "sk-a" not in repr(result)
    assert result["provider_type"] == "openai"


def test_placeholder_keeps_previous_ciphertext() -> None:
    codec = FakeCodec()
    previous = provider(("a", enc("old-a")), ("b", enc("old-b")))
    result = seal(provider(("a", REDACTED), ("b", "new-b")), previous, codec)
    assert api_keys(result) == [enc("old-a"), enc("new-b")]
    assert codec.sealed == ["new-b"]


def test_placeholder_matches_list_items_by_name_when_reordered() -> None:
    codec = FakeCodec()
    previous = provider(("a", enc("old-a")), ("b", enc("old-b")), ("c", enc("old-c")))
    value = provider(("c", REDACTED), ("a", REDACTED), ("b", REDACTED))
    result = seal(value, previous, codec)
    assert [k["name"] for k in result["keys"]] == ["c", "a", "b"]
    assert api_keys(result) == [enc("old-c"), enc("old-a"), enc("old-b")]
    assert codec.sealed == []
    assert codec.opened == []


@pytest.mark.parametrize(
    "previous",
    [
        None,
        {"provider_type": "openai"},
        {"provider_type": "openai", "keys": []},
        provider(("a", "plain")),
    ],
)
def test_placeholder_without_previous_secret(previous: dict[str, Any] | None) -> None:
    with pytest.raises(InvalidValueError) as info:
        seal(provider(("a", REDACTED)), previous, FakeCodec())
    (error,) = info.value.errors
    assert error.field == "keys.0.api_key"
    assert "redaction placeholder" in error.message
    assert REDACTED not in str(info.value).replace(error.field, "")


def test_placeholder_at_new_index_without_match() -> None:
    previous = provider(("a", enc("old-a")))
    with pytest.raises(InvalidValueError) as info:
        seal(provider(("a", REDACTED), ("b", REDACTED)), previous, FakeCodec())
    assert [e.field for e in info.value.errors] == ["keys.1.api_key"]


def test_placeholder_on_new_name_does_not_take_another_keys_secret() -> None:
    # "b" is new; it sits at the index where "a" used to be, but names decide the match.
    previous = provider(("a", enc("old-a")))
    with pytest.raises(InvalidValueError) as info:
        seal(provider(("b", REDACTED), ("a", REDACTED)), previous, FakeCodec())
    assert [e.field for e in info.value.errors] == ["keys.0.api_key"]


def test_unchanged_plaintext_keeps_old_ciphertext_for_who_may_reveal() -> None:
    codec = FakeCodec()
    previous = provider(("a", enc("sk-a")), ("b", enc("sk-b")))
    result = seal(provider(("b", "sk-b"), ("a", "sk-a-2")), previous, codec, may_reveal=True)
    assert api_keys(result) == [enc("sk-b"), enc("sk-a-2")]
    assert codec.sealed == ["sk-a-2"]  # sk-b was not sealed again


class SaltedCodec(FakeCodec):
    """Seals like AES-GCM does: the same plaintext twice gives two ciphertexts."""

    def seal(self, plaintext: str) -> str:
        self.sealed.append(plaintext)
        return enc(f"{plaintext}#{len(self.sealed)}")

    def open(self, sealed: str) -> str:
        return super().open(sealed).rsplit("#", 1)[0]


def test_plaintext_is_sealed_anew_for_who_may_not_reveal() -> None:
    # Keeping the old ciphertext would tell the writer their guess was right.
    codec = SaltedCodec()
    previous = {"provider_type": "openai", "keys": [{"name": "a", "api_key": enc("sk-a#0")}]}
    right = seal(provider(("a", "sk-a")), previous, codec)
    wrong = seal(provider(("a", "sk-x")), previous, codec)
    assert codec.sealed == ["sk-a", "sk-x"]
    assert codec.opened == []  # the stored secret is never compared with the guess
    assert api_keys(right) == [enc("sk-a#1")] != api_keys(previous)
    assert api_keys(wrong) == [enc("sk-x#2")]
    kept = seal(provider(("a", "sk-a")), previous, codec, may_reveal=True)
    assert api_keys(kept) == api_keys(previous)


def test_sealed_value_equal_to_old_is_kept_without_open() -> None:
    codec = FakeCodec()
    previous = provider(("a", enc("sk-a")))
    result = seal(provider(("a", enc("sk-a"))), previous, codec)
    assert api_keys(result) == [enc("sk-a")]
    assert codec.opened == []
    assert codec.sealed == []


def test_new_sealed_value_must_open() -> None:
    codec = FakeCodec()
    result = seal(provider(("a", enc("sk-new"))), provider(("a", enc("sk-a"))), codec)
    assert api_keys(result) == [enc("sk-new")]
    assert codec.opened == [enc("sk-new")]
    # One that does not open is bad input naming its field, not a key problem.
    with pytest.raises(InvalidValueError, match=r"keys\.0\.api_key: holds a secret sealed"):
        seal(provider(("a", "enc:v1:!!!")), None, codec)
    with pytest.raises(SecretKeyError, match="CONDUIT_CONFIG_SECRET_KEY"):
        seal(provider(("a", "enc:v1:!!!")), None, None)  # no key at all: the store's problem


def test_plaintext_without_codec() -> None:
    with pytest.raises(SecretKeyError, match="CONDUIT_CONFIG_SECRET_KEY"):
        seal(provider(("a", "sk-a")), None, None)
    # Nothing to encrypt: no codec needed.
    assert seal({"provider_type": "groq"}, None, None) == {"provider_type": "groq"}
    assert api_keys(seal(provider(("a", REDACTED)), provider(("a", enc("x"))), None)) == [enc("x")]


STORED = {
    "provider_type": "openai",
    "keys": [
        {"name": "a", "api_key": enc("one"), "organization": enc("not-a-secret")},
        {"name": "b", "api_key": enc("two"), "organization": "enc:v2:KID:plain-text"},
    ],
}


def test_redact_follows_the_schema() -> None:
    before = copy.deepcopy(STORED)
    assert redact(STORED, ProviderConfig) == {
        "provider_type": "openai",
        "keys": [
            {"name": "a", "api_key": REDACTED, "organization": enc("not-a-secret")},
            {"name": "b", "api_key": REDACTED, "organization": "enc:v2:KID:plain-text"},
        ],
    }
    assert before == STORED


def test_redact_without_a_schema_takes_anything_sealed_looking() -> None:
    value = {"a": enc("x"), "b": ["enc:v2:k:y", {"c": "plain"}], "d": 5}
    assert redact(value, None) == {"a": REDACTED, "b": [REDACTED, {"c": "plain"}], "d": 5}
    assert redact(enc("x"), None) == REDACTED
    assert redact(5, None) == 5


def test_reveal_opens_only_secret_fields() -> None:
    before = copy.deepcopy(STORED)
    codec = FakeCodec()
    assert reveal(STORED, ProviderConfig, codec) == {
        "provider_type": "openai",
        "keys": [
            {"name": "a", "api_key": "one", "organization": enc("not-a-secret")},
            {"name": "b", "api_key": "two", "organization": "enc:v2:KID:plain-text"},
        ],
    }
    assert codec.opened == [enc("one"), enc("two")]
    assert before == STORED
    with pytest.raises(SecretKeyError, match="CONDUIT_CONFIG_SECRET_KEY"):
        reveal(STORED, ProviderConfig, None)
    assert reveal({"provider_type": "groq"}, ProviderConfig, None) == {"provider_type": "groq"}


def test_reveal_without_a_schema_reveals_nothing() -> None:
    codec = FakeCodec()
    assert reveal({"a": enc("x"), "b": "y"}, None, codec) == {"a": REDACTED, "b": "y"}
    assert codec.opened == []


def test_non_secret_field_holding_sealed_text_is_stored_as_given() -> None:
    codec = FakeCodec()
    value = provider(("a", "sk-a"))
    value["keys"][0]["organization"] = "enc:v1:abc"
    result = seal(value, None, codec)
    assert result["keys"][0]["organization"] == "enc:v1:abc"
    assert codec.opened == []
    assert codec.sealed == ["sk-a"]


def test_secret_paths() -> None:
    instance = validate(ProviderConfig, provider(("a", "1"), ("b", "2"), ("c", "3")), key="openai")
    assert list(secret_paths(instance)) == [
        ("keys", 0, "api_key"),
        ("keys", 1, "api_key"),
        ("keys", 2, "api_key"),
    ]
    assert list(secret_paths(validate(ProviderConfig, {"provider_type": "groq"}, key="g"))) == []
