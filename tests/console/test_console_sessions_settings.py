"""The console's session idle time, lifetime and sign-in throttle come from the settings
(through ``HttpOptions``), and a browser signing in again leaves no session behind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from psycopg.sql import SQL, Identifier

from infrastructure.console.security import COOKIE
from infrastructure.http.app import HttpOptions
from infrastructure.settings import load_settings
from tests.console.conftest import bearer, csrf_of, sign_in
from tests.infrastructure.http.conftest import ClientMaker, Headers, TokenMaker


def _rows(db: psycopg.Connection[Any], schema: str, token_name: str) -> list[tuple[Any, ...]]:
    query = SQL("SELECT id, expires_at - created_at FROM {} WHERE token_name = %s")
    return db.execute(
        query.format(Identifier(schema, "cc_console_sessions")), (token_name,)
    ).fetchall()


def _age_last_seen(db: psycopg.Connection[Any], schema: str, minutes: int) -> None:
    statement = SQL("UPDATE {} SET last_seen = now() - make_interval(mins => %s)")
    db.execute(statement.format(Identifier(schema, "cc_console_sessions")), (minutes,))


def test_the_settings_reach_the_server_options() -> None:
    options = HttpOptions.from_settings(
        load_settings(console_idle_minutes=30, console_lifetime_hours=2, console_signin_failures=3)
    )
    assert options.console_idle == timedelta(minutes=30)
    assert options.console_lifetime == timedelta(hours=2)
    assert options.console_signin_failures == 3
    # The defaults are the console's behaviour before these were settings.
    defaults = HttpOptions.from_settings(load_settings())
    assert defaults.console_idle == timedelta(hours=12)
    assert defaults.console_lifetime == timedelta(days=7)
    assert defaults.console_signin_failures == 10


def test_the_idle_time_is_the_configured_one(
    make_client: ClientMaker, admin: Headers, db: psycopg.Connection[Any], schema: str
) -> None:
    client: TestClient = make_client(console_idle=timedelta(minutes=30))
    sign_in(client, bearer(admin))
    _age_last_seen(db, schema, 29)
    assert client.get("/ui/", follow_redirects=False).status_code == 200
    _age_last_seen(db, schema, 31)  # far inside the default 12 hours
    answer = client.get("/ui/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login"


def test_the_lifetime_is_the_configured_one(
    make_client: ClientMaker, admin: Headers, db: psycopg.Connection[Any], schema: str
) -> None:
    client: TestClient = make_client(console_lifetime=timedelta(hours=2))
    sign_in(client, bearer(admin))
    assert [row[1] for row in _rows(db, schema, "root-admin")] == [timedelta(hours=2)]


def test_the_default_lifetime_is_seven_days(
    client: TestClient, admin: Headers, db: psycopg.Connection[Any], schema: str
) -> None:
    sign_in(client, bearer(admin))
    assert [row[1] for row in _rows(db, schema, "root-admin")] == [timedelta(days=7)]


def test_the_sign_in_throttle_is_the_configured_one(
    make_client: ClientMaker, admin: Headers
) -> None:
    client: TestClient = make_client(console_signin_failures=3)
    csrf = csrf_of(client.get("/ui/login").text)
    statuses = [
        client.post("/ui/login", data={"csrf": csrf, "token": "cct_x.wrong"}).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 401]
    blocked = client.post("/ui/login", data={"csrf": csrf, "token": bearer(admin)})
    assert blocked.status_code == 429
    assert f"{COOKIE}=" not in blocked.headers.get("set-cookie", "")


def test_signing_in_again_ends_the_old_session(
    client: TestClient, admin: Headers, db: psycopg.Connection[Any], schema: str
) -> None:
    sign_in(client, bearer(admin))
    old = client.cookies.get(COOKIE, path="/ui")
    assert old
    sign_in(client, bearer(admin))  # the browser still sends its live cookie
    new = client.cookies.get(COOKIE, path="/ui")
    assert new and new != old
    assert len(_rows(db, schema, "root-admin")) == 1
    assert client.get("/ui/", follow_redirects=False).status_code == 200
    # The old cookie, replayed, opens nothing.
    client.cookies.set(COOKIE, old, path="/ui")
    answer = client.get("/ui/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login"


def test_signing_in_with_another_token_ends_the_first_ones_session(
    client: TestClient,
    admin: Headers,
    make_token: TokenMaker,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    sign_in(client, bearer(admin))
    sign_in(client, bearer(make_token("reader", name="ops-reader")))
    assert _rows(db, schema, "root-admin") == []
    assert len(_rows(db, schema, "ops-reader")) == 1
    assert "ops-reader" in client.get("/ui/").text


def test_a_failed_sign_in_keeps_the_live_session(
    client: TestClient, admin: Headers, db: psycopg.Connection[Any], schema: str
) -> None:
    sign_in(client, bearer(admin))
    csrf = csrf_of(client.get("/ui/login").text)
    wrong = client.post("/ui/login", data={"csrf": csrf, "token": "cct_x.wrong"})
    assert wrong.status_code == 401
    assert len(_rows(db, schema, "root-admin")) == 1
    assert client.get("/ui/", follow_redirects=False).status_code == 200
