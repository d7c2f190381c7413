"""In Chromium, against a real ``conduit-config serve``: an entry's history with two
versions compared by keyboard, a rollback previewed then applied with a hostile reason
(shown as text), a rollback refused because the entry moved after its preview, and the
compare page's environment-against-environment tab, also at 390 px."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import Console, signed_in

MOTD = "/v1/envs/{env}/entries/global_setting/{key}"
HISTORY = "/ui/envs/prod/entries/global_setting/motd/history"
HOSTILE = "<script>alert(1)</script> back to one"


def _set(console: Console, text: str, *, env: str = "prod", key: str = "motd") -> None:
    with console.api() as api:
        answer = api.put(
            MOTD.format(env=env, key=key),
            json={"value": text},
            headers={"X-Change-Reason": f"set {text}"},
        )
        assert answer.status_code in (200, 201), answer.text


def _value(console: Console, *, env: str = "prod", key: str = "motd") -> Any:
    with console.api() as api:
        answer = api.get(MOTD.format(env=env, key=key))
        assert answer.status_code == 200, answer.text
        return answer.json()["value"]["value"], answer.json()["version"]


def _watch(page: Any) -> list[str]:
    """What goes wrong on ``page`` as it runs: CSP violations, script errors, failed
    answers (but the browser's own favicon request)."""
    problems: list[str] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            problems.append(message.text)

    def on_response(answer: Any) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", on_response)
    return problems


def test_rollback_from_history_with_preview_and_reason(page: Any, console: Console) -> None:
    for text in ("one", "two", "three"):
        _set(console, text)
    problems = _watch(page)
    signed_in(page, console.admin_token)
    page.goto(HISTORY)
    rows = page.locator("table.history-table tbody tr")
    assert rows.count() == 3
    assert "set three" in rows.first.inner_text()
    # Compare versions 1 and 3 with the keyboard only.
    page.get_by_label("From version").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    page.wait_for_url("**/history?from=1&to=3*")
    diff = page.locator("table.diff-table tr.diff-changed")
    assert '"one"' in diff.inner_text() and '"three"' in diff.inner_text()
    # Roll back to version 1: preview, reason, apply.
    page.get_by_role("link", name="Roll back to this (version 1)").click()
    page.wait_for_url("**/rollback?to_version=1")
    preview = page.locator("table.diff-table tr.diff-changed")
    assert '"three"' in preview.inner_text() and '"one"' in preview.inner_text()
    assert _value(console) == ("three", 3)  # the preview wrote nothing
    page.get_by_label("Reason").fill(HOSTILE)
    page.get_by_role("button", name="Roll back to version 1").click()
    page.wait_for_url("**/history?rolled=4*")
    assert "the entry is now version 4" in page.get_by_role("status").first.inner_text()
    assert _value(console) == ("one", 4)
    newest = page.locator("table.history-table tbody tr").first
    assert HOSTILE in newest.inner_text()  # shown as text, never run
    assert "console" in newest.inner_text()
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems == []


def test_a_rollback_after_another_change_writes_nothing(page: Any, console: Console) -> None:
    for text in ("one", "two"):
        _set(console, text)
    signed_in(page, console.admin_token)
    page.goto("/ui/envs/prod/entries/global_setting/motd/rollback?to_version=1")
    _set(console, "someone else's")
    page.get_by_label("Reason").fill("mine")
    page.get_by_role("button", name="Roll back to version 1").click()
    alert = page.get_by_role("alert")
    assert "Nothing was written" in alert.inner_text()
    assert _value(console) == ("someone else's", 3)
    assert page.get_by_label("Reason").input_value() == "mine"


def test_compare_environment_against_environment(page: Any, console: Console) -> None:
    _set(console, "prod text")
    _set(console, "staging text", env="staging")
    _set(console, "only in staging", env="staging", key="banner")
    problems = _watch(page)
    signed_in(page, console.admin_token)
    page.goto("/ui/envs/prod/compare")
    page.get_by_label("Source environment").select_option("staging")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/compare?mode=envs&source=staging*")
    assert "2 entries differ, in 1 area" in page.get_by_role("status").first.inner_text()
    entries = page.locator("details.compare-entry summary")
    assert sorted(entries.all_inner_texts()) == [
        "global_setting/banner create",
        "global_setting/motd update at version 1",
    ]
    assert "staging text" in page.locator("details.compare-entry").nth(1).inner_text() or (
        "staging text" in page.locator("details.compare-entry").first.inner_text()
    )
    assert _value(console) == ("prod text", 1)  # a preview writes nothing
    page.set_viewport_size({"width": 390, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    assert problems == []
