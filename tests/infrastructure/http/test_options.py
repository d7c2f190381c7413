"""The server's options come from the settings only: ``HttpOptions()`` holds the
settings' defaults, :meth:`HttpOptions.from_settings` carries every setting to its option,
and ``CONDUIT_CONFIG_CONNECT_TIMEOUT`` reaches the read cache's log follower."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import timedelta

from infrastructure.auth import TokenService
from infrastructure.http.app import HttpOptions, create_app
from infrastructure.http.services import services_of
from infrastructure.settings import DEFAULTS, Settings
from infrastructure.store import ConfigStore
from tests.infrastructure.options_support import fields_differing

#: Every setting an option is taken from, none at its default.
CHANGED = Settings(
    http_require_if_match=True,
    http_max_body_bytes=2048,
    ready_max_lag=5,
    http_read_cache_size=7,
    instance_timeout_seconds=3.5,
    console_idle_minutes=30,
    console_lifetime_hours=2,
    console_signin_failures=4,
    connect_timeout=3,
)


def test_the_defaults_are_the_settings_defaults() -> None:
    assert fields_differing(HttpOptions(), HttpOptions.from_settings(DEFAULTS)) == []


def test_each_setting_reaches_its_option() -> None:
    options = HttpOptions.from_settings(CHANGED)
    assert asdict(options) == {
        "require_if_match": True,
        "max_body_bytes": 2048,
        "ready_max_lag": 5,
        "read_cache_size": 7,
        "instance_timeout_seconds": 3.5,
        "console_idle": timedelta(minutes=30),
        "console_lifetime": timedelta(hours=2),
        "console_signin_failures": 4,
        "connect_timeout": 3,
    }
    # Each option is a setting's: none is left at its default.
    assert fields_differing(options, HttpOptions()) == [f.name for f in fields(HttpOptions)]


def test_the_connect_timeout_reaches_the_read_cache(
    store: ConfigStore, tokens: TokenService
) -> None:
    options = HttpOptions.from_settings(Settings(connect_timeout=3))
    app = create_app(store=store, tokens=tokens, options=options, follow=False)
    assert services_of(app).readcache.connect_timeout == 3
    served = create_app(store=store, tokens=tokens, follow=False)
    assert services_of(served).readcache.connect_timeout == Settings().connect_timeout
