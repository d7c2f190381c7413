"""``/ui/diagnostics``: projections and mirror for everyone; cluster, its check, the
settings (secrets masked) and recent errors for admins only."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from infrastructure.auth import TokenService
from infrastructure.console.diagnostics_data import (
    RecentErrors,
    database_url_text,
    mask_text,
    redis_url_text,
    settings_rows,
)
from infrastructure.http.app import create_app
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore
from tests.console.conftest import bearer, sign_in
from tests.console.html_checks import assert_console_page
from tests.infrastructure.http.conftest import Headers, TokenMaker

SECRET_KEY = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY"
AUDIT_KEY = "YXVkaXQta2V5LWF1ZGl0LWtleS1hdWRpdC1rZXktMTI"
RETIRED = "cmV0aXJlZC1rZXktcmV0aXJlZC1rZXktcmV0aXJlZC0x"
DB_PASSWORD = "db-Pa55word-xyz"
REDIS_PASSWORD = "redis-Pa55-abc"
REDIS_PASSWORD_WITH_AT = "p@ss/w0rd-Redis"  # not percent-encoded, as people paste it
TOKEN = "cct_admin.SuperSecretTokenText123"


def settings() -> Settings:
    return Settings(
        database_url=f"postgresql://conduit:{DB_PASSWORD}@db.example:5433/config",
        secret_key=SECRET_KEY,
        audit_key=AUDIT_KEY,
        retired_secret_keys=RETIRED,
        redis_url=f"redis://user:{REDIS_PASSWORD}@cache.example:6380/0",
    )


#: ``served(settings)`` -> a client of an app built as ``serve`` builds it, and its ring.
Served = Callable[[Settings], tuple[TestClient, RecentErrors]]


@pytest.fixture
def served(store: ConfigStore, tokens: TokenService) -> Iterator[Served]:
    """Apps given what ``serve`` gives them: its settings and the ring of recent errors."""
    with ExitStack() as stack:

        def make(shown: Settings) -> tuple[TestClient, RecentErrors]:
            ring = RecentErrors()
            app = create_app(
                store=store, tokens=tokens, follow=False, settings=shown, recent_errors=ring
            )
            return stack.enter_context(TestClient(app, raise_server_exceptions=False)), ring

        yield make


def with_state(served: Served) -> TestClient:
    """A client of an app with :func:`settings` and a few warnings and errors logged."""
    client, ring = served(settings())
    logger = logging.getLogger("conduit_config.test")
    logger.addHandler(ring)
    try:
        logger.warning("a token %s leaked? sealed enc:v1:k1:abc== too", TOKEN)
        logger.error("<script>alert(1)</script> went wrong")
        logger.info("not kept")
    finally:
        logger.removeHandler(ring)
    return client


def test_admin_sees_settings_masked_and_recent_errors(served: Served, admin: Headers) -> None:
    client = with_state(served)
    sign_in(client, bearer(admin))
    answer = client.get("/ui/diagnostics")
    assert answer.status_code == 200
    assert_console_page(answer)
    html = answer.text
    for secret in (SECRET_KEY, AUDIT_KEY, RETIRED, DB_PASSWORD, REDIS_PASSWORD, TOKEN, "abc=="):
        assert secret not in html, secret
    assert "CONDUIT_CONFIG_SECRET_KEY" in html and "******** (set)" in html
    assert "db.example:5433/config as conduit (password hidden)" in html
    assert "redis://cache.example:6380/0 (password hidden)" in html
    assert "CONDUIT_CONFIG_READY_MAX_LAG" in html
    assert "cct_******** leaked? sealed enc:******** too" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; went wrong" in html
    assert "not kept" not in html
    assert 'data-indicator="projections"' in html
    assert "Run cluster check" in html


def test_cluster_check_runs_the_same_code(client: TestClient, admin: Headers) -> None:
    sign_in(client, bearer(admin))
    html = client.get("/ui/diagnostics?check=true").text
    # No instance joined (this app does not follow the log): nothing to compare.
    assert 'data-check="inconsistent"' in html
    assert "No live instance reports a digest." in html


def test_non_admins_see_no_settings_cluster_or_log(served: Served, make_token: TokenMaker) -> None:
    client = with_state(served)
    for role, scopes in (("reader", []), ("writer", []), ("admin", ["prod"])):
        sign_in(client, bearer(make_token(role, scopes=scopes)))
        html = client.get("/ui/diagnostics?check=true").text
        assert "CONDUIT_CONFIG" not in html
        assert "Settings in effect" not in html
        assert "went wrong" not in html
        assert "Run cluster check" not in html
        assert 'data-indicator="projections"' in html
        client.cookies.clear()


def test_masking_rules() -> None:
    assert mask_text("x cct_abc.def y") == "x cct_******** y"
    assert mask_text('"enc:v1:kid:AAAA"') == '"enc:********"'
    assert mask_text("host=h password=hunter2 user=u") == "host=h password=******** user=u"
    assert "hunter2" not in database_url_text("host=h password=hunter2 user=u dbname=d")
    assert database_url_text("postgresql://h/d") == "h:5432/d"
    hidden = "h:5432/d as u (password hidden)"
    assert database_url_text("postgresql://u:p%40ss@h/d?password=x") == hidden
    assert redis_url_text("redis://:pw@h:1/2") == "redis://h:1/2 (password hidden)"
    rows = {r.variable: r.shown for r in settings_rows(Settings())}
    assert rows["CONDUIT_CONFIG_SECRET_KEY"] == "(unset)"
    assert rows["CONDUIT_CONFIG_DATABASE_URL"] == "(unset)"


def test_the_ring_keeps_the_last_hundred() -> None:
    ring = RecentErrors()
    logger = logging.getLogger("conduit_config.ringtest")
    logger.addHandler(ring)
    try:
        for n in range(150):
            logger.warning("problem %d", n)
    finally:
        logger.removeHandler(ring)
    # A broken format string keeps its template (other handlers are not involved here).
    ring.emit(logging.makeLogRecord({"msg": "bad %d %d", "args": (1,), "levelname": "ERROR"}))
    lines = ring.lines()
    assert len(lines) == 100
    assert lines[0].message == "bad %d %d"
    assert lines[1].message == "problem 149" and lines[-1].message == "problem 51"


def test_a_redis_password_with_an_at_sign_is_not_shown(served: Served, admin: Headers) -> None:
    client, _ = served(
        Settings(redis_url=f"redis://:{REDIS_PASSWORD_WITH_AT}@cache.example:6379/0")
    )
    sign_in(client, bearer(admin))
    html = client.get("/ui/diagnostics").text
    assert "CONDUIT_CONFIG_REDIS_URL" in html
    assert "w0rd" not in html  # the tail of the password after its "@"
