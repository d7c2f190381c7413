"""In Chromium with JavaScript off (so no htmx), against a real ``conduit-config serve``:
a refused edit comes back as a whole page whose secret input is empty with a note beside
it to type the secret again (the typed text is nowhere in the page); typed again, the
edit previews and saves with the new secret."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.console.conftest import Console, signed_in

OLD = "sk-stored-before-0123456789"
TYPED = "sk-typed-in-the-browser-42"
EDITOR = "/ui/envs/prod/entries/provider/openai"
API = "/v1/envs/prod/entries/provider/openai"


@pytest.fixture
def no_js(browser: Any, console: Console) -> Iterator[Any]:
    """A page of a fresh context with JavaScript disabled."""
    context = browser.new_context(
        base_url=console.url, viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_refused_edit_without_htmx_asks_for_the_secret_again(
    no_js: Any, console: Console
) -> None:
    value = {"provider_type": "openai", "keys": [{"name": "main", "api_key": OLD}]}
    with console.api() as api:
        assert api.put(API, json=value).status_code == 201
    page = signed_in(no_js, console.admin_token)
    page.goto(EDITOR)
    secret = page.locator("#f-keys-0-api_key")
    secret.fill(TYPED)
    page.get_by_label("Base url").fill("not a url")
    page.get_by_role("button", name="Preview").click()
    page.locator("#error-summary").wait_for()
    assert TYPED not in page.content() and OLD not in page.content()
    assert secret.input_value() == ""
    note = page.locator("#retype-keys-0-api_key")
    assert note.is_visible() and "Type this secret again" in note.inner_text()
    assert "retype-keys-0-api_key" in (secret.get_attribute("aria-describedby") or "")
    secret.fill(TYPED)
    page.get_by_label("Base url").fill("https://api.example.com")
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("heading", name="Stored change").wait_for()
    assert page.locator("#preview-retype").is_visible()  # the new page lost it again
    page.locator("#f-keys-0-api_key").fill(TYPED)
    page.get_by_label("Reason", exact=True).fill("rotate")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/entries/provider/openai?done=saved&version=2")
    with console.api() as api:
        shown = api.get(API, params={"reveal": "true"}).json()
    assert shown["value"]["keys"][0]["api_key"] == TYPED
    assert shown["value"]["base_url"] == "https://api.example.com"
