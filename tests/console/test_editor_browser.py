"""The entry editor in Chromium against a real ``conduit-config serve``: an invalid edit
shows its field error, then a valid one its preview and is saved; a conflicting write
from another writer while the page is open is shown and nothing is overwritten; a
reader gets the page without write controls and the server refuses its POST."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import Console, signed_in

SECRET = "sk-browser-secret-0123456789"
EDITOR = "/ui/envs/prod/entries/provider/openai"
API = "/v1/envs/prod/entries/provider/openai"


def _seed(console: Console) -> None:
    value = {"provider_type": "openai", "keys": [{"name": "main", "api_key": SECRET}]}
    with console.api() as api:
        answer = api.put(API, json=value)
        assert answer.status_code == 201, answer.text


def test_an_invalid_edit_shows_the_field_error_then_a_valid_one_is_previewed_and_saved(
    page: Any, console: Console
) -> None:
    _seed(console)
    signed_in(page, console.admin_token)
    page.goto(EDITOR)
    assert SECRET not in page.content()
    page.get_by_label("Base url").fill("not a url")
    page.get_by_role("button", name="Preview").click()
    error = page.locator("#err-base_url")
    error.wait_for()
    assert "URL" in error.inner_text() or "url" in error.inner_text()
    field = page.get_by_label("Base url")
    assert field.get_attribute("aria-invalid") == "true"
    assert "err-base_url" in (field.get_attribute("aria-describedby") or "")
    assert page.get_by_role("alert").filter(has_text="nothing was saved").is_visible()
    field.fill("https://api.example.com")
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("heading", name="Stored change").wait_for()
    assert page.locator("#error-summary").count() == 0
    assert page.locator("#editor-form .field-error").count() == 0
    assert "https://api.example.com" in page.locator("#preview").inner_text()
    page.get_by_label("Reason", exact=True).fill("new endpoint")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/entries/provider/openai?done=saved&version=2")
    assert page.get_by_role("status").filter(has_text="Saved version 2.").is_visible()
    assert SECRET not in page.content()
    with console.api() as api:
        stored = api.get(API, params={"stored": "true"}).json()
        history = api.get(API + "/history").json()
    assert stored["value"]["base_url"] == "https://api.example.com"
    last = history["items"][-1]
    assert (last["source"], last["reason"]) == ("console", "new endpoint")


def test_a_conflicting_edit_from_another_writer_is_shown_and_not_overwritten(
    page: Any, console: Console
) -> None:
    _seed(console)
    writer = console.token("editor-writer", "writer")
    signed_in(page, writer)
    page.goto(EDITOR)
    page.get_by_label("Base url").fill("https://mine.example.com")
    with console.api() as api:  # another writer, while the page is open
        theirs = {"provider_type": "groq", "keys": [{"name": "main", "api_key": "********"}]}
        answer = api.put(API, json=theirs, headers={"If-Match": '"1"', "X-Change-Reason": "theirs"})
        assert answer.status_code == 200, answer.text
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("heading", name="Stored change").wait_for()
    assert "now version 2" in page.locator("#preview").inner_text()
    page.get_by_role("button", name="Save").click()
    conflict = page.locator("#conflict")
    conflict.wait_for()
    text = conflict.inner_text()
    assert "someone else changed this entry" in text
    assert "now version 2" in text and "theirs" in text
    assert "groq" in text  # their change
    assert page.get_by_label("Base url").input_value() == "https://mine.example.com"
    with console.api() as api:
        now = api.get(API).json()
    assert now["version"] == 2 and now["value"]["provider_type"] == "groq"
    assert now["value"].get("base_url") is None


def test_a_reader_sees_the_entry_but_cannot_edit_it(page: Any, console: Console) -> None:
    _seed(console)
    reader = console.token("editor-reader", "reader")
    signed_in(page, reader)
    page.goto(EDITOR)
    assert "Read-only" in page.locator("#editor-form").inner_text()
    assert page.get_by_role("button", name="Preview").count() == 0
    assert page.get_by_role("button", name="Save").count() == 0
    assert page.get_by_role("button", name="Delete this entry").count() == 0
    assert page.get_by_label("Base url").is_disabled()
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = page.request.post(
        EDITOR + "/save",
        form={"csrf": csrf, "version": "1", "mode": "form", "provider_type": "groq"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status == 403
    with console.api() as api:
        assert api.get(API).json()["version"] == 1
