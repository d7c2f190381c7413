"""Returning after a session ended elsewhere: an htmx action or a polled fragment from a
dead session sends the user to sign in and then back to the page it was made from
(``HX-Current-URL``), never to the bare fragment. Over HTTP and in Chromium."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.console.conftest import Console, signed_in
from tests.infrastructure.http.conftest import Headers

EDITOR = "/ui/envs/prod/entries/provider/openai"


def test_an_htmx_action_after_signing_out_elsewhere_returns_to_the_page_not_a_fragment(
    browser: Any, console: Console
) -> None:
    with console.api() as api:
        value = {"provider_type": "openai", "keys": [{"name": "main", "api_key": "sk-x-123456"}]}
        assert api.put("/v1/envs/prod/entries/provider/openai", json=value).status_code == 201
    writer = console.token("two-tabs", "writer")
    context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        editor = signed_in(context.new_page(), writer)
        editor.goto(EDITOR)
        other = context.new_page()
        other.goto("/ui/")
        other.get_by_role("button", name="Sign out").click()
        other.wait_for_url("**/ui/login**")
        editor.get_by_role("button", name="Add an item to Keys").click()
        editor.wait_for_url("**/ui/login**")
        editor.get_by_label("API token").fill(writer)
        editor.get_by_role("button", name="Sign in").click()
        editor.wait_for_load_state()
        assert "/item" not in editor.url  # not the bare fragment of one list item
        assert editor.locator("link[rel=stylesheet]").count() >= 1
        assert editor.get_by_role("heading", level=1).count() == 1
    finally:
        context.close()


def test_a_polled_fragment_sends_a_dead_session_back_to_its_page(
    client: TestClient, admin: Headers
) -> None:
    answer = client.get(
        "/ui/dashboard/status",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/ui/"},
    )
    assert answer.status_code == 401
    target = answer.headers["HX-Redirect"]
    assert target.startswith("/ui/login")
    assert "dashboard%2Fstatus" not in target, target  # signing in must not land on it
