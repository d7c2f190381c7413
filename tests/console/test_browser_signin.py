"""In Chromium, against a real ``conduit-config serve``: sign-in and sign-out, a wrong
token, a revoked token's session, the session cookie as the browser keeps it, hostile
text rendered inert, no CSP violation, and the layout at 390 px."""

from __future__ import annotations

from typing import Any

from infrastructure.console.security import COOKIE, CSP
from tests.console.conftest import Console, signed_in

HOSTILE = "<script>alert(1)</script>"


def _csp_violations(page: Any) -> list[str]:
    """Console messages of the page that report something the CSP blocked (filled as
    the page runs)."""
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


def test_sign_in_and_sign_out(page: Any, console: Console) -> None:
    violations = _csp_violations(page)
    answer = page.goto("/ui/")
    assert answer.headers["content-security-policy"] == CSP
    assert page.url.endswith("/ui/login")
    signed_in(page, console.admin_token)
    badge = page.locator(".badge")
    assert "admin" in badge.inner_text()
    assert "every environment" in badge.inner_text()
    # htmx and console.js are served from the package and run under the CSP.
    assert page.evaluate("typeof htmx") == "object"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/ui/login?signed_out=true")
    assert page.get_by_role("status").filter(has_text="You are signed out.").is_visible()
    page.goto("/ui/")
    assert "/ui/login" in page.url
    assert violations == []
    assert console.admin_token not in console.server.output
    assert f"console: {console.url}/ui/" in console.server.output


def test_a_wrong_token_shows_an_error_without_echoing_it(page: Any, console: Console) -> None:
    wrong = console.admin_token[:-8] + "WRONGxyz"
    page.goto("/ui/login")
    page.get_by_label("API token").fill(wrong)
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    assert "not accepted" in alert.inner_text()
    assert page.get_by_label("API token").input_value() == ""
    assert wrong not in page.content()
    assert "WRONGxyz" not in page.content()
    assert [c for c in page.context.cookies() if c["name"] == COOKIE] == []
    assert "WRONGxyz" not in console.server.output


def test_the_session_cookie_is_http_only_strict_and_not_the_token(
    page: Any, console: Console
) -> None:
    signed_in(page, console.admin_token)
    cookies = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert len(cookies) == 1
    cookie = cookies[0]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/ui"
    assert cookie["value"] != console.admin_token
    assert console.admin_token.split(".")[-1] not in cookie["value"]
    assert page.evaluate("document.cookie") == ""  # nothing readable by script
    assert console.admin_token not in page.url


def test_a_revoked_tokens_session_ends(page: Any, console: Console) -> None:
    writer = console.token("ops-writer", "writer", ["prod"])
    signed_in(page, writer)
    assert "writer · prod" in page.locator(".badge").inner_text()
    with console.api() as api:
        assert api.delete("/v1/tokens/ops-writer").status_code == 204
    page.goto("/ui/")
    assert "/ui/login" in page.url
    assert page.get_by_label("API token").is_visible()


def test_hostile_text_renders_inert(page: Any, console: Console) -> None:
    with console.api() as api:
        answer = api.put(
            "/v1/envs/prod/entries/global_setting/motd",
            json={"value": HOSTILE},
            headers={"X-Change-Reason": HOSTILE},
        )
        assert answer.status_code == 201, answer.text
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    violations = _csp_violations(page)
    signed_in(page, console.admin_token)
    reason = page.locator("q.reason").first
    assert reason.inner_text() == HOSTILE
    assert page.locator("main script").count() == 0
    assert dialogs == []
    assert violations == []


def test_readable_at_390_px(page: Any, console: Console) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/ui/login")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    signed_in(page, console.admin_token)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert page.get_by_role("navigation", name="Main").is_visible()


def test_keyboard_sign_in(page: Any, console: Console) -> None:
    page.goto("/ui/login")
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.type(console.admin_token)
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
