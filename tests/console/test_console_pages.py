"""Every console answer carries the CSP and security headers, and no page holds anything
inline that the CSP would block."""

from __future__ import annotations

from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.console.security import CSP
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, csrf_of, sign_in
from tests.console.html_checks import assert_console_page, inline_code
from tests.infrastructure.http.conftest import SETUP, Headers


def test_the_checker_finds_inline_code() -> None:
    assert inline_code('<p>ok</p><script src="/ui/static/console.js"></script>') == []
    found = inline_code(
        "<script>alert(1)</script><img src=x onerror=alert(1)><p style='color:red'>"
        '<a href="javascript:alert(1)">x</a><style>p{}</style>'
    )
    assert found == [
        "<script> without src",
        "script text inside <script>",
        "<img onerror=...>",
        "<p style=...>",
        "<a href=javascript:...>",
        "<style> element",
    ]


def test_pages_before_sign_in(client: TestClient, admin: Headers) -> None:
    assert_console_page(client.get("/ui/login"))
    assert_console_page(client.get("/ui/login?signed_out=true"))
    csrf = csrf_of(client.get("/ui/login").text)
    wrong = client.post("/ui/login", data={"csrf": csrf, "token": "cct_x.y"})
    assert wrong.status_code == 401
    assert_console_page(wrong)
    refused = client.post("/ui/login", data={"token": bearer(admin)})
    assert refused.status_code == 403
    assert_console_page(refused)
    redirect = client.get("/ui/", follow_redirects=False)
    assert redirect.headers["content-security-policy"] == CSP


def test_pages_after_sign_in(client: TestClient, admin: Headers, store: ConfigStore) -> None:
    store.set(Address("prod", "global_setting", "motd"), {"value": "hi"}, provenance=SETUP)
    sign_in(client, bearer(admin))
    dashboard = client.get("/ui/")
    assert dashboard.status_code == 200
    assert_console_page(dashboard)
    assert 'href="/ui/envs/prod/areas/global_setting"' in dashboard.text
    missing = client.get("/ui/no-such-page")
    assert missing.status_code == 404
    assert_console_page(missing)
    assert "There is no such page." in missing.text
    refused = client.post("/ui/logout")
    assert refused.status_code == 403
    assert_console_page(refused)


def test_static_files_come_from_the_package(client: TestClient) -> None:
    for name, kind in (
        ("htmx.min.js", "javascript"),
        ("console.js", "javascript"),
        ("console.css", "text/css"),
        ("htmx.LICENSE", ""),
    ):
        answer = client.get(f"/ui/static/{name}")
        assert answer.status_code == 200, name
        assert kind in answer.headers["content-type"]
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert "Zero-Clause BSD" in client.get("/ui/static/htmx.LICENSE").text
    assert client.get("/ui/static/../security.py").status_code == 404
    assert client.get("/ui/static/%2e%2e/security.py").status_code == 404


def test_a_huge_form_is_refused_not_crashed(client: TestClient, admin: Headers) -> None:
    sign_in(client, bearer(admin))
    body = "&".join(f"f{i}=1" for i in range(10_001))
    answer = client.post(
        "/ui/logout",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 400
    assert_console_page(answer)
    # A JSON API route still takes JSON only.
    api = client.put(
        "/v1/envs/default/entries/global_setting/motd",
        content="value=x",
        headers={"Content-Type": "application/x-www-form-urlencoded", **admin},
    )
    assert api.status_code == 415
