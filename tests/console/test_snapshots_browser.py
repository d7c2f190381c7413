"""In Chromium, against a real ``conduit-config serve``: create a snapshot, change the
environment, restore it (the dry run first, then the apply), and a restore refused
because the environment moved after its dry run; the area page at 390 px."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import Console, signed_in

ENTRY = "/v1/envs/prod/entries/global_setting"


def _set(console: Console, key: str, text: str) -> None:
    with console.api() as api:
        answer = api.put(f"{ENTRY}/{key}", json={"value": text})
        assert answer.status_code in (200, 201), answer.text


def _value(console: Console, key: str) -> Any:
    with console.api() as api:
        answer = api.get(f"{ENTRY}/{key}")
        return answer.json()["value"]["value"] if answer.status_code == 200 else answer.status_code


def _snapshot(page: Any, name: str) -> None:
    page.goto("/ui/envs/prod/snapshots")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Reason").fill("<script>alert(1)</script> before the change")
    page.get_by_role("button", name="Create snapshot").click()
    page.wait_for_url("**/snapshots?created=*")
    row = page.get_by_role("row").filter(has_text=name)
    assert "<script>alert(1)</script> before the change" in row.inner_text()


def test_restore_dry_run_then_apply(page: Any, console: Console) -> None:
    _set(console, "motd", "before")
    signed_in(page, console.admin_token)
    _snapshot(page, "pre-release")
    _set(console, "motd", "after")
    _set(console, "extra", "new")
    page.goto("/ui/envs/prod/snapshots")
    page.get_by_label("To snapshot").select_option("pre-release")
    page.get_by_role("button", name="Preview restore").click()
    page.wait_for_url("**/restore?to_snapshot=pre-release*")
    summary = page.get_by_role("status").filter(has_text="Dry run at log position")
    assert "2 entries would change" in summary.inner_text()
    assert page.get_by_role("table").filter(has_text="global_setting/extra").is_visible()
    assert _value(console, "motd") == "after"  # the dry run wrote nothing
    page.get_by_label("Reason").fill("back to the release")
    page.get_by_role("button", name="Apply restore").click()
    done = page.locator("#restore-done")
    assert "Applied 2 changes atomically" in done.inner_text()
    assert _value(console, "motd") == "before"
    assert _value(console, "extra") == 404


def test_a_moved_environment_is_refused(page: Any, console: Console) -> None:
    _set(console, "motd", "before")
    signed_in(page, console.admin_token)
    _snapshot(page, "pre-release")
    _set(console, "motd", "after")
    page.goto("/ui/envs/prod/restore?to_snapshot=pre-release")
    page.get_by_label("Reason").fill("too late")
    _set(console, "motd", "meanwhile")  # someone else writes after the dry run
    page.get_by_role("button", name="Apply restore").click()
    alert = page.get_by_role("alert")
    assert "nothing was applied" in alert.inner_text()
    assert _value(console, "motd") == "meanwhile"
    assert page.get_by_label("Reason").input_value() == "too late"
    page.get_by_role("button", name="Apply restore").click()  # the new dry run applies
    assert "Applied 1 change atomically" in page.locator("#restore-done").inner_text()
    assert _value(console, "motd") == "before"


def test_area_page_at_390_px(page: Any, console: Console) -> None:
    _set(console, "motd", "hello")
    page.set_viewport_size({"width": 390, "height": 844})
    signed_in(page, console.admin_token)
    page.goto("/ui/envs/prod/areas")
    page.get_by_role("link", name="global_setting").click()
    page.wait_for_url("**/areas/global_setting")
    assert page.get_by_role("link", name="motd").is_visible()
    page.get_by_label("Key contains").fill("mo")
    page.get_by_label("Key contains").press("Enter")
    page.wait_for_url("**/areas/global_setting?q=mo")
    assert page.get_by_role("link", name="motd").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
