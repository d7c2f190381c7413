"""The client runtime over HTTP: it loads the state from a real server, follows the
change stream across a server restart, writes through the API, and starts from its
last-known-good copy while the server is down."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from domain.address import Address
from domain.areas import FeatureFlag, RouterConfig
from domain.entry import Provenance
from infrastructure.auth import TokenService
from infrastructure.client import LiveChange, connect
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore
from tests.infrastructure.http import test_server
from tests.infrastructure.http.server_support import Server

WHO = Provenance(actor="writer", source="cli", correlation_id="http-client")
serve = test_server.serve  # a real `conduit-config serve` on this test's schema


def flag(key: str) -> Address:
    return Address("prod", "feature_flag", key)


def wait_until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_follows_a_server_across_its_restart(
    serve: Any, store: ConfigStore, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    token = TokenService(store=store).create("svc", role="writer", provenance=WHO).token
    store.set(flag("a"), {"rollout_percent": 1}, provenance=WHO)
    server: Server = serve()
    copy = tmp_path / "prod.json"
    seen: list[tuple[int, str, int]] = []
    with connect(
        "prod",
        settings=make_settings(),
        url=server.url,
        token=token,
        environ={},
        last_known_good=copy,
    ) as client:
        flags = client.manager(FeatureFlag)
        assert flags.get("a") == FeatureFlag(rollout_percent=1)
        client.on_change(lambda c: seen.append((c.position, c.key, c.version)))
        written = client.set("feature_flag", "b", {"enabled": True}, reason="via http")
        client.wait_for(written.position, 10)
        assert store.history(flag("b"))[0].reason == "via http"
        assert store.history(flag("b"))[0].actor == "svc"  # the token's name
        port = int(server.url.rsplit(":", 1)[1])
        server.terminate()
        for i in range(5):  # written while the server is down
            store.set(flag("a"), {"rollout_percent": 10 + i}, provenance=WHO)
        serve(port)
        last = store.set(flag("c"), {"enabled": False}, provenance=WHO)
        client.wait_for(last.position, 20)
        assert flags.get("a") == FeatureFlag(rollout_percent=14)
        assert client.manager(RouterConfig).current == RouterConfig()  # singleton defaults
        wait_until(lambda: client.status().connected)
    positions = [p for p, _, _ in seen]
    assert positions == sorted(set(positions))  # once each, in order
    assert [(k, v) for _, k, v in seen] == [("b", 1)] + [("a", v) for v in range(2, 7)] + [("c", 1)]
    assert copy.exists()


def test_starts_from_its_copy_while_the_server_is_down(
    serve: Any, store: ConfigStore, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    token = TokenService(store=store).create("svc", role="reader", provenance=WHO).token
    store.set(flag("a"), {"rollout_percent": 7}, provenance=WHO)
    server: Server = serve()
    copy = tmp_path / "prod.json"
    options: dict[str, Any] = {"settings": make_settings(), "environ": {}, "token": token}
    with connect("prod", url=server.url, last_known_good=copy, **options):
        pass
    server.terminate()
    with connect("prod", url=server.url, last_known_good=copy, **options) as client:
        status = client.status()
        assert status.stale and not status.connected and status.last_error
        assert client.manager(FeatureFlag).get("a") == FeatureFlag(rollout_percent=7)
        seen: list[LiveChange] = []
        client.on_change(seen.append)
        serve(int(server.url.rsplit(":", 1)[1]))
        last = store.set(flag("a"), {"rollout_percent": 8}, provenance=WHO)
        client.wait_for(last.position, 20)
        assert client.manager(FeatureFlag).get("a") == FeatureFlag(rollout_percent=8)
        wait_until(lambda: client.status().connected and not client.status().stale)
    assert [(c.key, c.version) for c in seen] == [("a", 2)]
