"""Narrow screens (390 px, a phone) with the longest legal names: no page scrolls
sideways; long environments, keys, snapshot names and actors wrap. In Chromium."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import Console, signed_in

LONG_ENV = "e" + "n" * 60  # names may be 100 characters; these are well within
LONG_KEY = "k" + "y" * 99
LONG_SNAPSHOT = "s" + "n" * 60
LONG_ACTOR = "a" + "c" * 99
NARROW = {"width": 390, "height": 844}


def _seed_long_names(console: Console) -> None:
    token = console.token(LONG_ACTOR, "admin")
    headers = {"Authorization": f"Bearer {token}"}
    entry = f"/v1/envs/{LONG_ENV}/entries/feature_flag/{LONG_KEY}"
    with console.api() as api:
        first = api.put(entry, json={"description": "one"}, headers=headers)
        assert first.status_code == 201, first.text
        snap = api.post(
            f"/v1/envs/{LONG_ENV}/snapshots", json={"name": LONG_SNAPSHOT}, headers=headers
        )
        assert snap.status_code == 201, snap.text
        second = api.put(entry, json={"description": "two"}, headers={**headers, "If-Match": '"1"'})
        assert second.status_code == 200, second.text


def test_no_main_page_scrolls_sideways_at_390_px_with_the_longest_names(
    browser: Any, console: Console
) -> None:
    _seed_long_names(console)
    context = browser.new_context(base_url=console.url, viewport=NARROW)
    context.set_default_timeout(15_000)
    try:
        page = signed_in(context.new_page(), console.admin_token)
        env = f"/ui/envs/{LONG_ENV}"
        entry = f"{env}/entries/feature_flag/{LONG_KEY}"
        urls = [
            f"{env}/areas",
            f"{env}/areas/feature_flag",
            entry,
            f"{entry}/history",
            f"{entry}/rollback?to_version=1",
            f"{env}/compare?mode=versions&area=feature_flag&key={LONG_KEY}",
            f"{env}/compare?mode=points&from={LONG_SNAPSHOT}",
            f"{env}/snapshots",
            f"{env}/snapshots/{LONG_SNAPSHOT}/delete",
            f"{env}/scheduled",
            "/ui/audit",
            "/ui/diagnostics",
        ]
        wide = {}
        for url in urls:
            answer = page.goto(url)
            assert answer is not None and answer.status == 200, url
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > NARROW["width"]:
                wide[url.replace(LONG_ENV, "ENV").replace(LONG_KEY, "KEY")] = width
        assert wide == {}
    finally:
        context.close()
