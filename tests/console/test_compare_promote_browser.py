"""In Chromium against a real ``conduit-config serve``: a writer compares staging with
prod, promotes the plan shown with a reason, and the API then has staging's values in
prod; a reader of both sees the same plan without the Promote button."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import Console, signed_in


def _set(console: Console, env: str, key: str, text: str) -> None:
    with console.api() as api:
        answer = api.put(f"/v1/envs/{env}/entries/global_setting/{key}", json={"value": text})
        assert answer.status_code in (200, 201), answer.text


def test_a_writer_promotes_from_the_compare_page(page: Any, console: Console) -> None:
    _set(console, "prod", "motd", "prod text")
    _set(console, "staging", "motd", "staging text")
    _set(console, "staging", "banner", "new")
    signed_in(page, console.token("promoter", "writer"))
    page.goto("/ui/envs/prod/compare?mode=envs")
    page.get_by_label("Source environment").select_option("staging")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/compare?mode=envs&source=staging*")
    assert "2 entries differ" in page.get_by_role("status").first.inner_text()
    page.get_by_label("Reason").fill("release 42")
    page.get_by_role("button", name="Promote staging into prod").click()
    done = page.locator("#promote-done")
    done.wait_for()
    assert "2 changes applied atomically" in done.inner_text()
    assert page.get_by_role("button", name="Promote staging into prod").count() == 0
    with console.api() as api:
        motd = api.get("/v1/envs/prod/entries/global_setting/motd").json()
        history = api.get("/v1/envs/prod/entries/global_setting/motd/history").json()
    assert motd["value"]["value"] == "staging text"
    last = history["items"][-1]
    assert (last["actor"], last["source"], last["reason"]) == ("promoter", "console", "release 42")


def test_a_reader_sees_the_plan_without_the_button(page: Any, console: Console) -> None:
    _set(console, "prod", "motd", "prod text")
    _set(console, "staging", "motd", "staging text")
    signed_in(page, console.token("looker", "reader"))
    page.goto("/ui/envs/prod/compare?mode=envs&source=staging")
    assert "1 entry differs" in page.get_by_role("status").first.inner_text()
    assert page.get_by_role("button", name="Promote staging into prod").count() == 0
    assert page.get_by_label("Reason").count() == 0
