"""The last-known-good copy: written by a following client, used when the store is
unreachable at start, refused when damaged or another environment's, secrets sealed;
and the client catching up once the store answers again."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from domain.areas import CacheConfig, ProviderConfig, RouterConfig
from domain.environment import EntryState
from infrastructure.client import CorruptCopyError, connect
from infrastructure.client.lkg import LastKnownGood
from infrastructure.errors import StorageError
from infrastructure.settings import Settings
from tests.infrastructure.client.conftest import (
    ClientFor,
    Write,
    copy_path,
    gated_url,
)
from tests.network import Gate, eventually

PLAINTEXT = "sk-live-PLAINTEXT-4f1c9a"


def fill(client_for: ClientFor) -> int:
    """Write a few entries through a client, close it; returns the last position."""
    client = client_for("prod")
    client.set("router", "default", {"max_retries": 6})
    client.set("cache", "Embeddings", {"max_entries": 50})
    client.set("cache", "gone", {})
    client.set(
        "provider",
        "openai",
        {"provider_type": "openai", "keys": [{"name": "main", "api_key": PLAINTEXT}]},
    )
    last = client.set("feature_flag", "beta", {"enabled": True}).position
    client.wait_for(last)
    client.close()
    return last


def entry(
    area: str, key: str, version: int, position: int, stored: dict[str, object]
) -> EntryState:
    return EntryState(area, key, version, position, stored, deleted=False)


# -- the file ------------------------------------------------------------------------------


def test_save_then_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "prod.json"
    copy = LastKnownGood(path)
    assert copy.load("prod") is None  # no copy yet
    state = {
        ("router", "default"): entry("router", "default", 2, 7, {"max_retries": 1}),
        ("cache", "a"): EntryState("cache", "a", 3, 9, {}, deleted=True),
    }
    copy.save("prod", 9, state)
    assert copy.load("prod") == (9, state)
    assert sorted(p.name for p in path.parent.iterdir()) == ["prod.json"]  # no temporary left
    digest, _, body = path.read_bytes().partition(b"\n")
    assert len(digest) == 64
    assert b'"environment":"prod"' in body


def test_the_copy_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "prod.json"
    LastKnownGood(path).save("prod", 1, {})
    assert path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("where", [0, 10, 70, -2])  # digest, digest, body, end of body
def test_a_flipped_byte_is_refused(tmp_path: Path, where: int) -> None:
    path = tmp_path / "prod.json"
    state = {("router", "default"): entry("router", "default", 1, 1, {"max_retries": 1})}
    LastKnownGood(path).save("prod", 1, state)
    data = bytearray(path.read_bytes())
    data[where] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptCopyError, match="checksum"):
        LastKnownGood(path).load("prod")


@pytest.mark.parametrize(
    "content",
    [b"", b"not a copy", b"{}", b"\n{}"],
)
def test_garbage_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "prod.json"
    path.write_bytes(content)
    with pytest.raises(CorruptCopyError):
        LastKnownGood(path).load("prod")


def test_a_matching_checksum_over_a_wrong_body_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prod.json"
    for body in (b"[1, 2]", b'{"format": 1, "environment": "prod"}', b"{not json"):
        path.write_bytes(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
        with pytest.raises(CorruptCopyError):
            LastKnownGood(path).load("prod")


def test_another_environments_copy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "copy.json"
    LastKnownGood(path).save("staging", 3, {})
    with pytest.raises(CorruptCopyError, match="not a copy of environment 'prod'"):
        LastKnownGood(path).load("prod")
    assert LastKnownGood(path).load("staging") == (3, {})


def test_an_unreadable_copy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prod.json"
    path.mkdir()  # a directory where the file should be
    with pytest.raises(CorruptCopyError, match="cannot read"):
        LastKnownGood(path).load("prod")


def test_concurrent_saves_leave_a_valid_copy(tmp_path: Path) -> None:
    """Several clients of one environment (threads here, processes of a service in
    production) share the default path: their saves must not mix."""
    path = tmp_path / "prod.json"
    errors: list[BaseException] = []
    big = {
        ("cache", f"k{i}"): entry("cache", f"k{i}", 1, i, {"max_entries": i + 1})
        for i in range(300)
    }

    def saver(n: int) -> None:
        copy = LastKnownGood(path)
        try:
            for position in range(20):
                copy.save("prod", n * 1000 + position, big)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=saver, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    position, state = LastKnownGood(path).load("prod") or (None, None)
    assert position is not None and position % 1000 == 19
    assert state == big
    assert [p.name for p in tmp_path.iterdir()] == ["prod.json"]


# -- written by a client ---------------------------------------------------------------------


def test_closing_a_client_writes_its_copy(client_for: ClientFor, client_home: Path) -> None:
    last = fill(client_for)
    loaded = LastKnownGood(copy_path(client_home)).load("prod")
    assert loaded is not None
    position, state = loaded
    assert position == last
    assert state["router", "default"].stored == {"max_retries": 6}
    assert state["cache", "Embeddings"].stored == {"max_entries": 50}
    assert set(state) == {
        ("router", "default"),
        ("cache", "Embeddings"),
        ("cache", "gone"),
        ("provider", "openai"),
        ("feature_flag", "beta"),
    }


def test_a_following_client_writes_its_copy_without_closing(
    client_for: ClientFor, client_home: Path, write: Write
) -> None:
    client = client_for("prod")
    path = copy_path(client_home)
    first = write("set", "prod", "router", "default", {"max_retries": 1}).position

    def saved_position() -> int:
        loaded = LastKnownGood(path).load("prod") if path.exists() else None
        return loaded[0] if loaded else 0

    eventually(lambda: saved_position() == first, 5, "a copy after the first change")
    time.sleep(1.1)  # past the throttle: the next change is saved too
    second = write("set", "prod", "router", "default", {"max_retries": 2}).position
    client.wait_for(second)
    eventually(lambda: saved_position() == second, 5, "the copy at the second change")
    loaded = LastKnownGood(path).load("prod")
    assert loaded is not None
    assert loaded[1]["router", "default"].stored == {"max_retries": 2}
    assert not client.status().stale


def test_other_environments_do_not_enter_the_copy(
    client_for: ClientFor, client_home: Path, write: Write
) -> None:
    client = client_for("prod")
    write("set", "staging", "router", "default", {"max_retries": 9})
    last = write("set", "prod", "router", "default", {"max_retries": 1}).position
    client.wait_for(last)
    client.close()
    loaded = LastKnownGood(copy_path(client_home)).load("prod")
    assert loaded is not None
    assert loaded[0] == last
    assert list(loaded[1]) == [("router", "default")]


def test_no_copy_when_disabled(client_for: ClientFor, client_home: Path) -> None:
    client = client_for("prod", last_known_good=None)
    client.wait_for(client.set("router", "default", {"max_retries": 1}).position)
    client.close()
    assert not (client_home / "last-known-good").exists()


@pytest.mark.parametrize("as_text", [False, True])
def test_an_explicit_copy_path(client_for: ClientFor, tmp_path: Path, as_text: bool) -> None:
    path = tmp_path / "elsewhere" / "copy.json"
    client = client_for("prod", last_known_good=str(path) if as_text else path)
    client.wait_for(client.set("router", "default", {"max_retries": 1}).position)
    client.close()
    loaded = LastKnownGood(path).load("prod")
    assert loaded is not None
    assert loaded[1]["router", "default"].stored == {"max_retries": 1}


def test_the_copy_holds_secrets_sealed(client_for: ClientFor, client_home: Path) -> None:
    fill(client_for)
    raw = copy_path(client_home).read_bytes()
    assert PLAINTEXT.encode() not in raw
    assert b"enc:v2:" in raw
    assert b"api_key" in raw


# -- starting from the copy --------------------------------------------------------------------


def test_an_unreachable_store_starts_from_the_copy(
    client_for: ClientFor, client_settings: Settings, unreachable_settings: Settings
) -> None:
    last = fill(client_for)
    reference = client_for("prod")
    started = time.monotonic()
    client = client_for("prod", settings=unreachable_settings)
    assert time.monotonic() - started < 5
    assert client.position == last
    status = client.status()
    assert (status.environment, status.position, status.stale, status.connected) == (
        "prod",
        last,
        True,
        False,
    )
    assert status.last_error is not None and "127.0.0.1" in status.last_error
    assert client.manager(RouterConfig).current == RouterConfig(max_retries=6)
    assert client.manager(CacheConfig).all() == reference.manager(CacheConfig).all()
    assert client.get("cache", "Embeddings") == CacheConfig(max_entries=50)
    for area in ("router", "cache", "provider", "feature_flag", "http"):
        assert client.view.area(area) == reference.view.area(area), area
    provider = client.manager(ProviderConfig).get("openai")
    assert provider is not None
    assert provider.keys[0].api_key == SecretStr(PLAINTEXT)
    assert provider.keys[0].api_key.get_secret_value() == PLAINTEXT  # revealed with the key
    with pytest.raises(StorageError, match="unreachable"):
        client.set("router", "default", {"max_retries": 1})


def test_overrides_apply_to_a_copy(client_for: ClientFor, unreachable_settings: Settings) -> None:
    fill(client_for)
    client = client_for(
        "prod",
        settings=unreachable_settings,
        environ={"CONDUIT__CACHE__EMBEDDINGS__ENABLED": "false"},
    )
    assert client.get("cache", "Embeddings") == CacheConfig(max_entries=50, enabled=False)
    assert client.effective("cache", "Embeddings").sources["enabled"] == "env"


def test_unreachable_without_a_copy_fails(
    client_for: ClientFor, unreachable_settings: Settings
) -> None:
    with pytest.raises(StorageError, match=r"127\.0\.0\.1"):
        client_for("prod", settings=unreachable_settings)
    with pytest.raises(StorageError):
        client_for("prod", settings=unreachable_settings, last_known_good=None)


def test_unreachable_with_a_copy_of_another_environment_fails(
    client_for: ClientFor, unreachable_settings: Settings, client_home: Path
) -> None:
    fill(client_for)
    with pytest.raises(StorageError):  # staging has no copy of its own
        client_for("staging", settings=unreachable_settings)
    with pytest.raises(CorruptCopyError, match="staging"):
        client_for("staging", settings=unreachable_settings, last_known_good=copy_path(client_home))


def test_unreachable_with_a_corrupted_copy_fails(
    client_for: ClientFor, unreachable_settings: Settings, client_home: Path
) -> None:
    fill(client_for)
    path = copy_path(client_home)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x20
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptCopyError, match="checksum"):
        client_for("prod", settings=unreachable_settings)


def test_a_reachable_store_ignores_a_corrupted_copy_and_replaces_it(
    client_for: ClientFor, client_home: Path
) -> None:
    path = copy_path(client_home)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage")
    client = client_for("prod")
    client.wait_for(client.set("router", "default", {"max_retries": 2}).position)
    client.close()
    loaded = LastKnownGood(path).load("prod")
    assert loaded is not None
    assert loaded[1]["router", "default"].stored == {"max_retries": 2}


def test_catching_up_once_the_store_answers(
    client_for: ClientFor,
    make_settings: Callable[..., Settings],
    client_home: Path,
    database_url: str,
    gate: Gate,
    write: Write,
) -> None:
    fill(client_for)
    behind_gate = make_settings(
        home=client_home, database_url=gated_url(database_url, gate), connect_timeout=1
    )
    client = client_for("prod", settings=behind_gate)
    assert client.status().stale
    assert not client.status().connected
    # written while the client cannot see the store
    missed = write("set", "prod", "router", "default", {"max_retries": 8}).position
    seen: list[int] = []
    client.on_change(lambda change: seen.append(change.position))
    time.sleep(0.5)
    assert client.get("router") == RouterConfig(max_retries=6)
    gate.open()
    client.wait_for(missed, timeout=15)
    assert client.get("router") == RouterConfig(max_retries=8)
    eventually(lambda: client.status().connected, 10, "connected")
    status = client.status()
    assert (status.stale, status.connected, status.last_error) == (False, True, None)
    later = write("set", "prod", "router", "default", {"max_retries": 9}).position
    client.wait_for(later)
    assert client.get("router") == RouterConfig(max_retries=9)
    eventually(lambda: seen == [missed, later], 5, "both changes delivered")
    assert client.set("cache", "new", {}).version == 1  # writes work again
    client.close()  # before the gate closes


def test_connect_does_not_touch_the_process_environment(
    client_for: ClientFor,
) -> None:
    before = dict(os.environ)
    client_for("prod", environ={"CONDUIT__ROUTER__MAX_RETRIES": "4"})
    assert dict(os.environ) == before


def test_a_client_closed_twice_is_harmless(client_settings: Settings, client_home: Path) -> None:
    client = connect("prod", settings=client_settings, environ={})
    client.wait_for(client.set("router", "default", {"max_retries": 2}).position)
    client.close()
    client.close()
    assert copy_path(client_home).exists()
