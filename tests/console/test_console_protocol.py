"""The console's protocol over plain HTTP: sign-in and sign-out, the session cookie, CSRF,
a revoked, expired or idle session, the sign-in throttle, security headers, and the
separation from the bearer-token API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.areas.access_token import hash_token
from domain.entry import Provenance
from infrastructure.auth import TokenService, token_address
from infrastructure.console.security import COOKIE, CSP, LOGIN_COOKIE
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, csrf_of, sign_in
from tests.infrastructure.http.conftest import SETUP, Headers, TokenMaker

HOSTILE = "<script>alert(1)</script>"


def _sessions(db: psycopg.Connection[Any], schema: str) -> list[tuple[Any, ...]]:
    query = SQL("SELECT id, token_name, token_hash, csrf FROM {}.cc_console_sessions")
    return db.execute(query.format(Identifier(schema))).fetchall()


def _set_cookie(answer: Any, name: str) -> str:
    headers = [h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, answer.headers
    return str(headers[0])


def test_pages_need_a_session_not_a_bearer_token(client: TestClient, admin: Headers) -> None:
    answer = client.get("/ui/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login"
    # The sign-in form keeps where to go back to (a page's redirect sends ?next=...).
    form = client.get("/ui/login", params={"next": "/ui/audit?env=prod"})
    assert '<input type="hidden" name="next" value="/ui/audit?env=prod">' in form.text
    # The API's bearer token opens no page: the console only knows its own session.
    assert client.get("/ui/", headers=admin, follow_redirects=False).status_code == 303
    assert client.get("/ui/login").status_code == 200


def test_sign_in_sets_a_strict_session_cookie_that_is_not_the_token(
    client: TestClient, admin: Headers, db: psycopg.Connection[Any], schema: str
) -> None:
    token = bearer(admin)
    form = client.get("/ui/login")
    answer = client.post(
        "/ui/login",
        data={"csrf": csrf_of(form.text), "token": token, "next": "/ui/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/"
    cookie = _set_cookie(answer, COOKIE)
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags
    assert "samesite=strict" in flags
    assert "path=/ui" in flags
    value = cookie.split(";")[0].removeprefix(f"{COOKIE}=")
    assert len(value) >= 40
    assert token not in cookie
    assert token.split(".")[-1] not in cookie
    assert token not in answer.headers.get("location", "")
    # The table holds neither the cookie's value nor the token.
    rows = _sessions(db, schema)
    assert len(rows) == 1
    assert rows[0][1] == "root-admin"
    assert rows[0][2] == hash_token(token)
    assert value not in repr(rows)
    assert token not in repr(rows)
    page = client.get("/ui/")
    assert page.status_code == 200
    assert "root-admin" in page.text
    assert "admin · every environment" in page.text
    assert token not in page.text


def test_sign_out_ends_the_session_on_the_server(
    client: TestClient, admin: Headers, db: psycopg.Connection[Any], schema: str
) -> None:
    csrf = sign_in(client, bearer(admin))
    cookie = client.cookies.get(COOKIE, path="/ui")
    assert cookie
    answer = client.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?signed_out=true"
    assert "Max-Age=0" in _set_cookie(answer, COOKIE)
    assert _sessions(db, schema) == []
    # The old cookie, replayed, opens nothing.
    client.cookies.set(COOKIE, cookie, path="/ui")
    assert client.get("/ui/", follow_redirects=False).status_code == 303
    assert "You are signed out." in client.get("/ui/login?signed_out=true").text


def test_a_wrong_token_is_refused_without_being_echoed(
    client: TestClient, admin: Headers, db: psycopg.Connection[Any], schema: str
) -> None:
    wrong = bearer(admin)[:-6] + "AAAAAA"
    for attempt in (wrong, "not-a-token <b>x</b>", ""):
        form = client.get("/ui/login")
        answer = client.post("/ui/login", data={"csrf": csrf_of(form.text), "token": attempt})
        assert answer.status_code == 401
        assert "That token was not accepted" in answer.text
        assert f"{COOKIE}=" not in answer.headers.get("set-cookie", "")
        if attempt:
            assert attempt not in answer.text
            assert "AAAAAA" not in answer.text
    assert _sessions(db, schema) == []


def test_failed_sign_ins_are_throttled_per_address(client: TestClient, admin: Headers) -> None:
    csrf = csrf_of(client.get("/ui/login").text)
    for _ in range(10):
        answer = client.post("/ui/login", data={"csrf": csrf, "token": "cct_x.wrong"})
        assert answer.status_code == 401
    # The eleventh try within the minute is refused before the token is even looked at.
    blocked = client.post("/ui/login", data={"csrf": csrf, "token": bearer(admin)})
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == "60"
    assert "Too many failed sign-ins" in blocked.text
    assert f"{COOKIE}=" not in blocked.headers.get("set-cookie", "")


def test_sign_in_without_its_csrf_value_is_refused(
    client: TestClient, admin: Headers, db: psycopg.Connection[Any], schema: str
) -> None:
    client.get("/ui/login")  # sets the double-submit cookie
    token = bearer(admin)
    for data in ({"token": token}, {"token": token, "csrf": "forged-value-of-the-right-size-xxxx"}):
        answer = client.post("/ui/login", data=data, follow_redirects=False)
        assert answer.status_code == 403
        assert f"{COOKIE}=" not in answer.headers.get("set-cookie", "")
    # The right value but no cookie (another site's form cannot send ours).
    csrf = csrf_of(client.get("/ui/login").text)
    client.cookies.delete(LOGIN_COOKIE, path="/ui")
    answer = client.post("/ui/login", data={"token": token, "csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 403
    assert _sessions(db, schema) == []


def test_a_post_without_the_csrf_token_is_refused_and_does_nothing(
    client: TestClient, admin: Headers, db: psycopg.Connection[Any], schema: str
) -> None:
    csrf = sign_in(client, bearer(admin))
    refusals = [
        client.post("/ui/logout", follow_redirects=False),
        client.post("/ui/logout", data={"csrf": ""}, follow_redirects=False),
        client.post("/ui/logout", data={"csrf": csrf[:-1] + "x"}, follow_redirects=False),
        client.post("/ui/logout", headers={"X-CSRF-Token": "nope"}, follow_redirects=False),
        # The right token from another site (as the browser reports it).
        client.post(
            "/ui/logout",
            data={"csrf": csrf},
            headers={"Sec-Fetch-Site": "cross-site"},
            follow_redirects=False,
        ),
    ]
    for answer in refusals:
        assert answer.status_code == 403
        assert "did not come from this console" in answer.text
        assert answer.headers["content-security-policy"] == CSP
    assert len(_sessions(db, schema)) == 1
    assert client.get("/ui/", follow_redirects=False).status_code == 200
    # The header form (what console.js sends for htmx requests) is accepted.
    done = client.post("/ui/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert _sessions(db, schema) == []


def test_a_revoked_token_ends_its_sessions(
    client: TestClient,
    make_token: TokenMaker,
    tokens: TokenService,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    writer = make_token("writer", name="ops-writer")
    sign_in(client, bearer(writer))
    tokens.revoke("ops-writer", provenance=SETUP)
    answer = client.get("/ui/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login"
    assert _sessions(db, schema) == []
    # An htmx request is told where to go instead of swapping in the sign-in page.
    htmx = client.get("/ui/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401
    assert htmx.headers["hx-redirect"] == "/ui/login"


def test_an_expired_token_ends_its_sessions(
    client: TestClient,
    tokens: TokenService,
    store: ConfigStore,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    issued = tokens.create(
        "short-lived",
        role="reader",
        provenance=SETUP,
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    sign_in(client, issued.token)
    # The token expires: its stored expiry moves to the past (as time passing would).
    address: Address = token_address("short-lived")
    stored = store.get(address).stored
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    store.set(address, {**stored, "expires_at": past}, provenance=SETUP)
    answer = client.get("/ui/", follow_redirects=False)
    assert answer.status_code == 303
    assert _sessions(db, schema) == []


def test_idle_and_old_sessions_end(
    client: TestClient, admin: Headers, db: psycopg.Connection[Any], schema: str
) -> None:
    table = Identifier(schema, "cc_console_sessions")
    sign_in(client, bearer(admin))
    db.execute(SQL("UPDATE {} SET last_seen = now() - interval '13 hours'").format(table))
    assert client.get("/ui/", follow_redirects=False).status_code == 303
    sign_in(client, bearer(admin))
    db.execute(SQL("UPDATE {} SET expires_at = now() - interval '1 second'").format(table))
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_the_api_never_takes_the_console_cookie(client: TestClient, admin: Headers) -> None:
    sign_in(client, bearer(admin))
    cookie = client.cookies.get(COOKIE, path="/ui")
    assert cookie
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    assert client.get("/v1/envs/default/entries", headers=headers).status_code == 401
    write = client.put(
        "/v1/envs/default/entries/global_setting/motd", json={"value": "x"}, headers=headers
    )
    assert write.status_code == 401
    # Nor is the console in the API's OpenAPI document.
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]


def test_next_never_leaves_the_console(client: TestClient, admin: Headers) -> None:
    token = bearer(admin)
    for target, expected in (
        ("//evil.example/ui/", "/ui/"),
        ("https://evil.example/", "/ui/"),
        ("/ui/audit?env=prod", "/ui/audit?env=prod"),
        ("/v1/tokens", "/ui/"),
        ("/ui/\\evil", "/ui/"),
    ):
        csrf = csrf_of(client.get("/ui/login").text)
        answer = client.post(
            "/ui/login", data={"csrf": csrf, "token": token, "next": target}, follow_redirects=False
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == expected


def test_a_hostile_reason_is_escaped_on_the_dashboard(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    provenance = Provenance.checked(
        actor="mallory", reason=HOSTILE, source="cli", correlation_id="x"
    )
    store.set(Address("prod", "global_setting", "motd"), {"value": HOSTILE}, provenance=provenance)
    sign_in(client, bearer(admin))
    html = client.get("/ui/").text
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "global_setting/motd" in html


def test_a_scoped_token_sees_only_its_environments(
    client: TestClient, make_token: TokenMaker, store: ConfigStore
) -> None:
    for env in ("prod", "staging"):
        store.set(Address(env, "global_setting", "motd"), {"value": env}, provenance=SETUP)
    reader = make_token("reader", scopes=["staging:global_setting"], name="staging-reader")
    sign_in(client, bearer(reader))
    html = client.get("/ui/").text
    assert "reader · staging:global_setting" in html
    assert "/ui/envs/staging/areas" in html
    assert "/ui/envs/prod/" not in html
