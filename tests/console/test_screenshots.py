"""Every main page of the console in Chromium, against a real ``conduit-config serve``
filled with realistic data (``tests/console/showcase.py``): each page is checked for its
heading and a row of that data. With ``CONDUIT_CONFIG_SCREENSHOTS=1`` each is also saved
as a PNG into ``docs/console/`` (1280 px wide, the visible part of the page; the
dashboard also at 390 px). Without it nothing is written, so a test run leaves the tree
clean.

    CONDUIT_CONFIG_SCREENSHOTS=1 pytest tests/console/test_screenshots.py
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.console.conftest import Console, signed_in
from tests.console.showcase import SNAPSHOT, fill

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
WANTED = os.environ.get("CONDUIT_CONFIG_SCREENSHOTS") == "1"
PROD = "/ui/envs/prod"


def _shoot(page: Any, name: str, focus: str | None = None) -> None:
    """Save the visible part of ``page`` as ``docs/console/NAME.png`` when asked to,
    scrolled so that ``focus`` (a selector) is in view."""
    if focus is not None:
        page.locator(focus).first.scroll_into_view_if_needed()
    if WANTED:
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=False)


def _heading(page: Any, text: str) -> None:
    heading = page.get_by_role("heading", level=1)
    assert text in heading.inner_text(), heading.inner_text()


def _row(page: Any, *texts: str) -> None:
    """A table row of the page holds every one of ``texts``."""
    row = page.get_by_role("row")
    for text in texts:
        row = row.filter(has_text=text)
    assert row.count() >= 1, f"no row with {texts}"


def _dashboard(page: Any) -> None:
    page.goto("/ui/")
    _heading(page, "Dashboard")
    prod = page.locator('article[data-environment="prod"]')
    assert prod.locator('[data-count="provider"]').inner_text() == "3"
    assert "widen the rollout to 25%" in prod.inner_text() or "pin the endpoint" in (
        prod.inner_text()
    )
    _shoot(page, "dashboard")


def _areas(page: Any) -> None:
    page.goto(f"{PROD}/areas")
    _heading(page, "Areas of prod")
    _row(page, "model_deployment")
    _shoot(page, "areas")


def _area(page: Any) -> None:
    page.goto(f"{PROD}/areas/feature_flag")
    _heading(page, "feature_flag in prod")
    _row(page, "legacy-billing", "deleted")
    _row(page, "new-ui", "scheduled change pending")
    _shoot(page, "area")


def _editor_and_preview(page: Any) -> None:
    page.goto(f"{PROD}/entries/provider/openai")
    _heading(page, "provider/openai")
    assert page.get_by_label("Base url").input_value() == "https://api.openai.com/v1"
    assert "sk-showcase" not in page.content()  # secrets stay on the server
    _shoot(page, "editor")
    page.get_by_label("Base url").fill("https://eu.api.openai.com/v1")
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("heading", name="Stored change").wait_for()
    assert "https://eu.api.openai.com/v1" in page.locator("#preview").inner_text()
    _shoot(page, "editor-preview", "#preview")


def _history(page: Any) -> None:
    page.goto(f"{PROD}/entries/router/default/history?from=1&to=3")
    _heading(page, "History of router/default")
    _row(page, "INC-4121: fall back when groq is down", "bob")
    changed = page.locator("table.diff-table tr.diff-changed").first
    assert '"simple"' in changed.inner_text() and '"leastcost"' in changed.inner_text()
    _shoot(page, "history")


def _compare(page: Any) -> None:
    page.goto(f"{PROD}/compare?mode=envs&source=staging")
    _heading(page, "Compare prod")
    summaries = page.locator("details.compare-entry summary").all_inner_texts()
    assert "feature_flag/voice-mode create" in summaries, summaries
    _shoot(page, "compare")


def _snapshots(page: Any) -> None:
    page.goto(f"{PROD}/snapshots")
    _heading(page, "Snapshots of prod")
    _row(page, SNAPSHOT, "state shipped with release 2026-11")
    _shoot(page, "snapshots")
    page.get_by_label("To snapshot").select_option(SNAPSHOT)
    page.get_by_role("button", name="Preview restore").click()
    page.wait_for_url(f"**/restore?to_snapshot={SNAPSHOT}*")
    _heading(page, "Restore prod to")
    summary = page.get_by_role("status").filter(has_text="Dry run at log position")
    assert "3 entries would change" in summary.inner_text(), summary.inner_text()
    undelete = page.get_by_role("table").filter(has_text="feature_flag/legacy-billing")
    assert "undelete" in undelete.inner_text(), undelete.inner_text()
    _shoot(page, "restore-dry-run")


def _audit(page: Any) -> None:
    page.goto("/ui/audit?env=prod")
    _heading(page, "Audit trail")
    _row(page, "feature_flag", "billing v2 is live", "alice")
    _shoot(page, "audit")


def _diagnostics(page: Any) -> None:
    page.goto("/ui/diagnostics")
    _heading(page, "Diagnostics")
    _row(page, "current")
    _row(page, "CONDUIT_CONFIG_SECRET_KEY", "set")
    _shoot(page, "diagnostics")


def _scheduled(page: Any) -> None:
    page.goto(f"{PROD}/scheduled")
    _heading(page, "Scheduled changes in prod")
    _row(page, "feature_flag/new-ui", "next rollout step", "alice")
    _shoot(page, "scheduled")


def _narrow_dashboard(page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/ui/")
    _heading(page, "Dashboard")
    assert page.locator('article[data-environment="staging"]').is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shoot(page, "dashboard-390")


PAGES: list[Callable[[Any], None]] = [
    _dashboard,
    _areas,
    _area,
    _editor_and_preview,
    _history,
    _compare,
    _snapshots,
    _audit,
    _diagnostics,
    _scheduled,
    _narrow_dashboard,
]


def test_every_main_page_with_realistic_data(page: Any, console: Console) -> None:
    fill(console)
    signed_in(page, console.admin_token)
    for visit in PAGES:
        visit(page)
