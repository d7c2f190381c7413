"""The console's session settings: their defaults, and an idle time longer than the
lifetime refused at start-up naming both variables."""

from __future__ import annotations

import pytest

from domain.errors import SettingsError
from infrastructure.settings import load_settings

IDLE, LIFETIME = "CONDUIT_CONFIG_CONSOLE_IDLE_MINUTES", "CONDUIT_CONFIG_CONSOLE_LIFETIME_HOURS"


def test_defaults_are_twelve_hours_seven_days_and_ten_failures() -> None:
    settings = load_settings()
    assert settings.console_idle_minutes == 720
    assert settings.console_lifetime_hours == 168
    assert settings.console_signin_failures == 10


def test_an_idle_time_longer_than_the_lifetime_is_refused_naming_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(IDLE, "121")
    monkeypatch.setenv(LIFETIME, "2")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert message == (
        f"invalid settings: {IDLE} (121) is longer than {LIFETIME} (2 h);"
        " a session's idle time must fit in its lifetime"
    )


def test_an_idle_time_equal_to_the_lifetime_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IDLE, "120")
    monkeypatch.setenv(LIFETIME, "2")
    settings = load_settings()
    assert (settings.console_idle_minutes, settings.console_lifetime_hours) == (120, 2)
