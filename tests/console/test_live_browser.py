"""In Chromium, against a real ``serve``: a change made through the API while the
dashboard is open updates it; a change of the entry open in the editor shows the live
banner; neither page breaks its CSP."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.console.conftest import Console, signed_in
from tests.console.test_live import put


def _violations(page: Any) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return found


def _live(page: Any) -> None:
    """Wait until the page's change stream is open (it starts at the log head then)."""
    expect(page.locator("html")).to_have_attribute("data-live", "open")


def test_the_dashboard_follows_changes(page: Any, console: Console) -> None:
    violations = _violations(page)
    put(console, "prod", "feature_flag", "one", {"enabled": True})
    signed_in(page, console.admin_token)
    count = page.locator('[data-environment="prod"] [data-count="feature_flag"]')
    expect(count).to_have_text("1")
    _live(page)
    put(console, "prod", "feature_flag", "two", {"enabled": True})
    expect(count).to_have_text("2")
    put(console, "staging", "router", "default", {"max_retries": 1})
    expect(page.locator('[data-environment="staging"] [data-count="router"]')).to_have_text("1")
    last = page.locator('[data-environment="prod"] .changes li').first
    expect(last).to_contain_text("feature_flag/two")
    assert violations == []


def test_the_editor_announces_a_change_made_elsewhere(page: Any, console: Console) -> None:
    violations = _violations(page)
    put(console, "prod", "feature_flag", "alpha", {"enabled": True})
    signed_in(page, console.admin_token)
    page.goto("/ui/envs/prod/entries/feature_flag/alpha")
    holder = page.locator('[data-live-entry="feature_flag/alpha"]')
    expect(holder).to_have_attribute("data-live-version", "1")
    notice = page.locator("#live-notice")
    expect(notice).to_be_hidden()
    _live(page)
    put(console, "prod", "feature_flag", "other", {"enabled": True})  # not this entry
    put(console, "prod", "feature_flag", "alpha", {"enabled": False})
    expect(notice).to_be_visible()
    expect(notice).to_have_text(
        "feature_flag/alpha changed elsewhere to version 2 by admin: reload to see it"
    )
    expect(holder).to_have_attribute("data-stale", "true")
    assert violations == []
